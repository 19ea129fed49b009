/**
 * A jump host whose own Host block says ForkAfterAuthentication yes, beside ssh 9.2 and sshd 9.2.
 * ssh runs the hop as `ssh -W` (its ProxyJump's ProxyCommand), which forks once authenticated
 * (ssh.c fork_postauth: daemon(1, 1); its stderr /dev/null unless -v): ssh's SIGHUP at exit
 * (sshconnect.c ssh_kill_proxy_command) reaches the parent that already exited, and the forked
 * hop leaves at its standard input's end without a word at its LogLevel (VERBOSE here); with -v,
 * `forking to background`, then `stdio forwarding: done` (clientloop.c client_cleanup_stdio_fwd).
 * pure-ssh said the SIGHUP'd hop's `Killed by signal 1.` (and under -v its channel's free line).
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { deliverSignal, startCli, waitForListen, type CliClient, type CliResult } from './harness/proc.js';
import { sshdSuite, type SshdHandle } from './harness/sshd.js';

const CLIENTS: CliClient[] = ['ssh', 'pure-ssh'];

/** An ssh_config Host block logging in to `sshd` with its key and pinned host key. */
function hostBlock(names: string, sshd: SshdHandle): string {
  return [
    `Host ${names}`, `  HostName ${sshd.host}`, `  Port ${sshd.port}`, `  User ${sshd.user}`, `  IdentityFile ${sshd.clientKeyPath}`,
    `  UserKnownHostsFile ${sshd.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  BatchMode yes', '',
  ].join('\n');
}

describeInteropWithHome('a jump host with ForkAfterAuthentication, beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-fork-hop-');
  const sshd = sshdSuite({ builtCli: true });
  const config = join(dir, 'ssh_config');
  const write = () => writeFile(config, 'Host jf\n  ForkAfterAuthentication yes\n  LogLevel VERBOSE\nHost nokey\n  PubkeyAuthentication no\n' +
    hostBlock('jf bastion nokey', sshd) + 'Host *\n  IdentitiesOnly yes\n  IdentityAgent none\n');

  /** `args` run by `client` to its end; -N runs are sent SIGTERM once their -L port listens. */
  async function run(client: CliClient, args: string[]): Promise<CliResult> {
    const port = args.includes('-L') ? await freePort() : undefined;
    const argv = ['-F', config, ...args.map((a) => a.replace('PORT', String(port)))];
    const cli = startCli(client, argv, { env: cliEnv(home) });
    if (port !== undefined) {
      await waitForListen(cli, port);
      deliverSignal(cli.child, 'SIGTERM');
    }
    return cli.done;
  }

  it('its LogLevel VERBOSE: "Authenticated to" before the fork, then nothing, no "Killed by signal 1." (-W\'s end, SIGTERM, a refused login)', async () => {
    await write();
    const authenticated = `Authenticated to 127.0.0.1 ([127.0.0.1]:${sshd.port}) using "publickey".\r\n`;
    const cases: [string[], number, string][] = [
      [['-W', `127.0.0.1:${sshd.port}`, '-J', 'jf', 'bastion'], 0, authenticated],
      [['-N', '-J', 'jf', '-L', `127.0.0.1:PORT:127.0.0.1:${sshd.port}`, 'bastion'], 0, authenticated],
      [['-N', '-J', 'jf', 'nokey'], 255, `${authenticated}root@127.0.0.1: Permission denied (publickey).\r\n`],
    ];
    for (const [args, code, stderr] of cases) {
      const seen: Record<string, unknown> = {};
      for (const client of CLIENTS) {
        const r = await run(client, args);
        seen[client] = { code: r.code, stderr: r.stderr };
      }
      expect(seen, args.join(' ')).toEqual({ ssh: { code, stderr }, 'pure-ssh': { code, stderr } });
    }
  }, 90_000);

  it('-v: the hop says "forking to background" after its -W line and, at the end, "stdio forwarding: done" where it was killed without the fork', async () => {
    await write();
    const pick = (stderr: string) =>
      stderr.split('\r\n').filter((l) => /^(debug1: (channel_connect_stdio_fwd|forking to background|stdio forwarding: done|channel 0: free)|Killed by signal)/.test(l));
    const seen: Record<string, string[]> = {};
    for (const client of CLIENTS) {
      const r = await run(client, ['-v', '-W', `127.0.0.1:${sshd.port}`, '-J', 'jf', 'bastion']);
      expect(r.code, r.stderr).toBe(0);
      seen[client] = pick(r.stderr);
    }
    const fwd = `debug1: channel_connect_stdio_fwd: 127.0.0.1:${sshd.port}`;
    // The hop's lines, the command's, then the hop's last (its standard input ended with the command).
    expect(seen.ssh).toEqual([fwd, 'debug1: forking to background', fwd, 'debug1: stdio forwarding: done', 'debug1: stdio forwarding: done']);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
