/**
 * -v with SSH_AUTH_SOCK naming a socket that is not there: ssh 9.2's line (sshconnect2.c
 * get_agent_identities, authfd.c ssh_get_authentication_socket), and the key file still logs in.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli, type CliClient } from './harness/proc.js';

async function stderrOf(client: CliClient, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return (await startCli(client, args, { env }).done).stderr.replace(/\r/g, '');
}

describeInteropWithHome('CLI: an agent socket that is missing, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  it('-v: get_agent_identities: ssh_get_authentication_socket: No such file or directory', async () => {
    const env = cliEnv(home, { SSH_AUTH_SOCK: join(sshd.dir, 'no-agent.sock') });
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-v', '-W', '127.0.0.1:1', sshd.target];
    const line = 'debug1: get_agent_identities: ssh_get_authentication_socket: No such file or directory\n';
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const err = await stderrOf(client, args, env);
      expect(err, client).toContain(line);
      expect(err, client).toContain('Authenticated to ');
    }
  }, 60_000);
});
