/**
 * ssh_config(5) RekeyLimit's time part (`RekeyLimit default 1`): the client starts a key
 * exchange when that much time has passed, from the core's timer, against the real sshd and
 * through the built CLI. Also `-G` prints it as ssh does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectTo } from './harness/client.js';
import { cliEnv, itWithHome, suiteHome } from './harness/home.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const CLI = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));

describeInterop('RekeyLimit time', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(() => sshd?.stop());
  // The passwd home of every pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
  const home = suiteHome();

  it('library: rekeyTime starts key exchanges on time with no traffic', async () => {
    const ssh = await connectTo(sshd, { rekeyTime: 400 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(ssh.info.kexCount).toBeGreaterThanOrEqual(3);
    await ssh.close();
  });

  itWithHome('CLI: -o "RekeyLimit default 1" rekeys every second (-v says so); -G prints the time part', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const args = ['-v', '-N', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'RekeyLimit=default 1', `${sshd.user}@127.0.0.1`];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // Two rekeys one second apart after authentication; the wait is counted from the
    // authentication line, not from process start (start-up time varies with the machine's load).
    const rekeys = () => err.match(/rekey done/g)?.length ?? 0;
    const deadline = Date.now() + 15_000;
    let authenticatedAt: number | undefined;
    while (Date.now() < deadline && rekeys() < 2) {
      if (authenticatedAt === undefined && /Authenticated to /.test(err)) authenticatedAt = Date.now();
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    expect(rekeys(), err).toBeGreaterThanOrEqual(2);
    // Every second: two rekeys well within 4 s of authentication (the default limit is 1 hour).
    expect(authenticatedAt).toBeDefined();
    expect(Date.now() - authenticatedAt!).toBeLessThan(4000);
    const g = spawn(process.execPath, [CLI, '-G', '-F', 'none', '-o', 'RekeyLimit=1G 1h', 'example.com'], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(home) });
    let out = '';
    g.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((r) => g.on('exit', r));
    expect(out).toMatch(/^rekeylimit 1073741824 3600$/m);
  }, 30_000);
});
