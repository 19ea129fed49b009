/**
 * -v with SSH_AUTH_SOCK naming a socket that is not there: ssh 9.2's line (sshconnect2.c
 * get_agent_identities, authfd.c ssh_get_authentication_socket), and the key file still logs in.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

function stderrOf(cmd: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => execFile(cmd[0]!, cmd.slice(1), { env, timeout: 20_000 }, (_err, _out, stderr) => resolve(stderr.replace(/\r/g, ''))));
}

describeInteropWithHome('CLI: an agent socket that is missing, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('-v: get_agent_identities: ssh_get_authentication_socket: No such file or directory', async () => {
    const env = cliEnv(home, { SSH_AUTH_SOCK: join(sshd.dir, 'no-agent.sock') });
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-v', '-W', '127.0.0.1:1', sshd.target];
    const line = 'debug1: get_agent_identities: ssh_get_authentication_socket: No such file or directory\n';
    for (const cmd of [[sshd.openssh.ssh], [process.execPath, CLI]]) {
      const err = await stderrOf([...cmd, ...args], env);
      expect(err, cmd[0]).toContain(line);
      expect(err, cmd[0]).toContain('Authenticated to ');
    }
  }, 60_000);
});
