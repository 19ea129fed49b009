/**
 * ssh -W host:port writing to a pipe its reader empties slowly: once the channel closes, every
 * byte received must still reach stdout before the CLI exits. The CLI used to exit as soon as
 * the channel closed, dropping what Node still held for the full pipe (the last few KiB of a
 * download through `pure-ssh -W ... | slow-reader`). Real sshd, real CLI process, sha256 checked.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeInteropWithHome('pure-ssh -W: the tail of the data reaches a slow stdout pipe', () => {
  let sshd: SshdHandle;
  let source: net.Server;
  const payload = randomBytes(8 * 1024 * 1024);

  beforeAll(async () => {
    sshd = await startSshd();
    // Sends the payload and closes: the channel closes right after its last data.
    source = net.createServer((s) => s.end(payload));
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), new Promise((r) => source?.close(r))]);
  });

  it('all bytes, in order, through a shell pipe read late (five runs)', async () => {
    const port = (source.address() as net.AddressInfo).port;
    for (let run = 0; run < 5; run++) {
      // A shell pipe (Node's own stdio 'pipe' is a socket pair, which Node writes differently)
      // to a reader that starts late: Node queues what the full pipe cannot take.
      const cmd = [process.execPath, CLI, '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-W', `127.0.0.1:${port}`, `${sshd.user}@${sshd.host}`]
        .map((a) => `'${a}'`).join(' ');
      const child = spawn('sh', ['-c', `${cmd} | (sleep 0.3; cat)`], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(processHome()) });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d));
      const chunks: Buffer[] = [];
      const ended = new Promise<void>((r) => child.stdout!.on('end', r));
      child.stdout!.on('data', (d: Buffer) => chunks.push(d));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      await ended;
      const got = Buffer.concat(chunks);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(got.length).toBe(payload.length);
      expect(sha(got)).toBe(sha(payload));
    }
  }, 120_000);
});
