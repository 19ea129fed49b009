/**
 * -L / -D with a bind address that does not resolve: channels.c channel_setup_fwd_listener_tcpip
 * says `channel_setup_fwd_listener_tcpip: getaddrinfo(ADDR): Name or service not known` (gai
 * error, the name cut at 64 bytes) and binds nothing, then ssh.c `Could not request local
 * forwarding.`. pure-ssh printed Node's `bind [ADDR]:P: getaddrinfo ENOTFOUND ADDR` and an extra
 * `cannot listen to port` line. Both clients beside each other against one sshd, with
 * ExitOnForwardFailure (they exit 255 after the lines); needs `npm run build` first.
 */
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

describeInteropWithHome('-L / -D bind address that does not resolve: ssh\'s getaddrinfo line', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });

  async function run(client: CliClient, forward: string[]): Promise<{ code: number | null; stderr: string }> {
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ExitOnForwardFailure=yes',
      '-N', ...forward, sshd.target,
    ];
    const { code, stderr } = await startCli(client, args, { env: cliEnv(home) }).done;
    return { code, stderr };
  }

  it('-L and -D, a bad address and a long one (cut at 64 bytes)', async () => {
    const port = await freePort();
    const long = `${'x'.repeat(70)}.invalid`;
    for (const forward of [['-L', `127.0.0.9x:${port}:127.0.0.1:1`], ['-D', `127.0.0.9x:${port}`], ['-L', `${long}:${port}:127.0.0.1:1`]]) {
      const theirs = await run('ssh', forward);
      const ours = await run('pure-ssh', forward);
      const addr = forward[1]!.split(':')[0]!.slice(0, 64);
      expect(theirs, forward.join(' ')).toEqual({
        code: 255,
        stderr: `channel_setup_fwd_listener_tcpip: getaddrinfo(${addr}): Name or service not known\r\nCould not request local forwarding.\r\n`,
      });
      expect(ours, forward.join(' ')).toEqual(theirs);
    }
  });
});
