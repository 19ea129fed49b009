/**
 * A reader that goes away early: `pure-ssh -W ... | head -c 5` (stdout) and
 * `pure-ssh -vvv ... 2>&1 >FILE | head -c 5` (the log). ssh(1) ignores SIGPIPE: a failed write
 * to stdout closes that side of the channel only (channels.c chan_write_failed), failed log
 * writes are dropped, and it exits 0. pure-ssh died on Node's unhandled 'error' event (write
 * EPIPE, a stack trace, exit 1). Real sshd, real CLI process through a shell pipe.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeInteropWithHome('pure-ssh -W: stdout or stderr closed by its reader', () => {
  let sshd: SshdHandle;
  let source: net.Server;
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-epipe-'));
  // Far more than a pipe holds: the writes go on after `head` has exited.
  const payload = randomBytes(16 * 1024 * 1024);

  beforeAll(async () => {
    sshd = await startSshd();
    source = net.createServer((s) => s.on('error', () => {}).end(payload));
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([sshd?.stop(), new Promise((r) => source?.close(r))]);
  });

  /** Runs `pure-ssh ARGS REDIRECTIONS | head -c 5` in sh: pure-ssh's exit status and what else it printed. */
  const run = async (flags: string[], redirect: string): Promise<{ code: number; err: string; head: string }> => {
    const port = (source.address() as net.AddressInfo).port;
    const cmd = [process.execPath, CLI, ...flags, '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-W', `127.0.0.1:${port}`, `${sshd.user}@${sshd.host}`].map((a) => `'${a}'`).join(' ');
    // bash for PIPESTATUS: pure-ssh's own status, not head's.
    const child = spawn('bash', ['-c', `${cmd} </dev/null ${redirect} | head -c 5; exit \${PIPESTATUS[0]}`], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(processHome()) });
    let err = '';
    let head = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.setEncoding('latin1').on('data', (d: string) => (head += d));
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    return { code, err, head };
  };

  it('stdout: exits 0 quietly, as ssh does', async () => {
    const r = await run([], '2>&2');
    expect(r.head.length).toBe(5);
    expect(r.err).not.toMatch(/EPIPE|Error/);
    expect(r.err).toBe('');
    expect(r.code, r.err).toBe(0);
  }, 30_000);

  it('stderr (-vvv log): the log is dropped, the data all reaches stdout, exit 0', async () => {
    const out = join(dir, 'out');
    const r = await run(['-vvv'], `2>&1 >'${out}'`);
    expect(r.head.length).toBe(5);
    expect(r.code, r.err).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(payload));
  }, 30_000);
});
