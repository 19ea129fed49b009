/**
 * ForwardAgent naming a socket path that does not exist, beside ssh 9.2 against a real sshd.
 * ssh.c main stat(2)s the path (after `~`, %-tokens and ${VAR}) before it connects and error()s
 * `Cannot forward agent socket path "PATH": STRERROR`, then goes on; with ExitOnForwardFailure
 * (yes by default for -W, so for every ProxyJump hop) it exits 255 there. pure-ssh forwards no
 * agent and only skipped the line (-v): it said nothing and connected, even through a hop whose
 * configuration ssh's hop process ends on. Needs `npm run build`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

const CLIENTS: CliClient[] = ['ssh', 'pure-ssh'];

describeInteropWithHome('ForwardAgent with a missing socket path, beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-forward-agent-path-');
  const sshd = sshdSuite({ builtCli: true });
  const config = join(dir, 'ssh_config');
  const write = () =>
    writeFile(config, [
      'Host jump', '  ForwardAgent /nonexistent/jump.sock',
      'Host dest', '  ForwardAgent ~/nope-%n.sock',
      'Host *', `  HostName ${sshd.host}`, `  Port ${sshd.port}`, `  User ${sshd.user}`, `  IdentityFile ${sshd.clientKeyPath}`,
      '  IdentitiesOnly yes', '  IdentityAgent none', `  UserKnownHostsFile ${sshd.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes', '  BatchMode yes', '',
    ].join('\n'));

  async function run(client: CliClient, args: string[]): Promise<{ code: number | null; stderr: string; banner: boolean }> {
    const r = await startCli(client, ['-F', config, ...args], { env: cliEnv(home), stdout: 'pipe' }).done;
    return { code: r.code, stderr: r.stderr, banner: r.stdout.startsWith('SSH-2.0-OpenSSH') };
  }

  async function both(args: string[]): Promise<Record<string, unknown>> {
    await write();
    const seen: Record<string, unknown> = {};
    for (const client of CLIENTS) seen[client] = await run(client, args);
    return seen;
  }

  it('the ERROR line before connecting, then the connection goes on (exit 0); -q silences it', async () => {
    const w = ['-o', 'ExitOnForwardFailure=no', '-W', `127.0.0.1:${sshd.port}`, 'dest'];
    const seen = await both(w);
    expect(seen.ssh).toEqual({ code: 0, stderr: `Cannot forward agent socket path "${home}/nope-dest.sock": No such file or directory\r\n`, banner: true });
    expect(seen['pure-ssh']).toEqual(seen.ssh);
    const quiet = await both(['-q', ...w]);
    expect(quiet.ssh).toEqual({ code: 0, stderr: '', banner: true });
    expect(quiet['pure-ssh']).toEqual(quiet.ssh);
  }, 60_000);

  it('ExitOnForwardFailure (-W\'s default): exit 255 after the line, nothing connected', async () => {
    const seen = await both(['-W', `127.0.0.1:${sshd.port}`, 'dest']);
    expect(seen.ssh).toEqual({ code: 255, stderr: `Cannot forward agent socket path "${home}/nope-dest.sock": No such file or directory\r\n`, banner: false });
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);

  it('a ProxyJump hop is a -W: its process says the line and ends, and the destination never connects', async () => {
    const seen = await both(['-J', 'jump', '-N', 'other']);
    expect((seen.ssh as { code: number }).code).toBe(255);
    expect((seen.ssh as { stderr: string }).stderr).toMatch(/^Cannot forward agent socket path "\/nonexistent\/jump\.sock": No such file or directory\r\n/);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
