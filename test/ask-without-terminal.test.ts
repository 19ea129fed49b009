/**
 * strictHostKeyChecking 'ask' in a process with no terminal (tester tlib's finding 10j): the
 * refusal said it twice ("no terminal to ask (no terminal available to ask the question)").
 * A child in a session of its own (setsid(1): no controlling terminal, stdin a pipe) connects to
 * sshd 9.2 with an empty known_hosts file; the key is refused, said once, and nothing is written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const LIB = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describeInterop("strictHostKeyChecking 'ask' without a terminal", () => {
  let sshd: SshdHandle;
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(LIB)) throw new Error(`${LIB} is missing: run \`npm run build\` first`);
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'ask-notty-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the unknown key with one "no terminal to ask"', () => {
    const known = join(dir, 'known_hosts');
    writeFileSync(known, '');
    const script = join(dir, 'ask.mjs');
    writeFileSync(
      script,
      `import { connect } from ${JSON.stringify(LIB)};
const o = ${JSON.stringify({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: known, strictHostKeyChecking: 'ask' })};
try { await (await connect(o)).close(); console.log('CONNECTED'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`,
    );
    // setsid(1): a session of its own, so /dev/tty cannot be opened; stdin a pipe, not a TTY.
    const r = spawnSync('setsid', ['-w', process.execPath, script], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
    const out = JSON.parse(r.stdout.trim()) as { code: string; message: string };
    expect(out.code).toBe('ERR_HOST_KEY_UNKNOWN');
    expect(out.message).toMatch(/^No matching host key for \[127\.0\.0\.1\]:\d+ \(ssh-ed25519 SHA256:\S+\) and no terminal to ask\. Host key verification failed\.$/);
    expect(out.message.match(/terminal/g)).toHaveLength(1);
    expect(readFileSync(known, 'utf8')).toBe('');
  });
});
