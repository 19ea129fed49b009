/**
 * "Unable to negotiate … Their offer: …" names the server's whole key exchange list, as ssh 9.2's
 * kex.c does, its pseudo-algorithms included (kex-strict-s-v00@openssh.com; OpenSSH 10 also
 * sends ext-info-s).
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

function stderrOf(cmd: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => execFile(cmd[0]!, cmd.slice(1), { env, timeout: 20_000 }, (_e, _o, stderr) => resolve(stderr.replace(/\r/g, ''))));
}

describeInteropWithHome('CLI: no common key exchange method, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd({ config: { KexAlgorithms: 'diffie-hellman-group14-sha1' } });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('the same line as ssh', async () => {
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-N', sshd.target];
    const ssh = await stderrOf([sshd.openssh.ssh, ...args], cliEnv(home));
    const ours = await stderrOf([process.execPath, CLI, ...args], cliEnv(home));
    const line = (s: string) => s.split('\n').find((l) => l.startsWith('Unable to negotiate'));
    expect(line(ssh)).toContain('Their offer: diffie-hellman-group14-sha1,kex-strict-s-v00@openssh.com');
    expect(line(ours)).toBe(line(ssh));
  }, 60_000);
});
