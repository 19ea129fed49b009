/**
 * An empty destination (`''`, `user@`) and a command with no session (-N, -W, SessionType none),
 * beside ssh 9.2 and sshd 9.2 (break38 F10, F15).
 *
 * ssh.c main: only a missing destination is usage(); `''` and `user@` keep the host name "", so
 * `Host *` applies, a HostName makes it connect, and without one resolve_host fails
 * (`ssh: Could not resolve hostname : Name or service not known`, exit 255). pure-ssh took both
 * for usage errors. With -N, -W or SessionType none ssh opens no session, so the command words
 * are never used; pure-ssh refused them ("remote commands are not supported ... use -N" with -N
 * given). Needs `npm run build`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

const CLIENTS: CliClient[] = ['ssh', 'pure-ssh'];

describeInteropWithHome('an empty destination and a command without a session, beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-empty-destination-');
  const sshd = sshdSuite({ builtCli: true });

  /** A configuration for sshd's user, key and known_hosts; `hostName` under `Host *` when given. */
  async function config(name: string, hostName?: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, [
      'Host *', ...(hostName === undefined ? [] : [`  HostName ${hostName}`]), `  Port ${sshd.port}`, `  User ${sshd.user}`,
      `  IdentityFile ${sshd.clientKeyPath}`, '  IdentitiesOnly yes', '  IdentityAgent none',
      `  UserKnownHostsFile ${sshd.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  BatchMode yes', '',
    ].join('\n'));
    return path;
  }

  /** Both clients with `args`: exit code, stderr, and whether stdout starts with sshd's banner (-W). */
  async function both(args: string[]): Promise<Record<string, { code: number | null; stderr: string; banner: boolean }>> {
    const seen: Record<string, { code: number | null; stderr: string; banner: boolean }> = {};
    for (const client of CLIENTS) {
      const r = await startCli(client, args, { env: cliEnv(home), stdout: 'pipe' }).done;
      seen[client] = { code: r.code, stderr: r.stderr, banner: r.stdout.startsWith('SSH-2.0-OpenSSH') };
    }
    return seen;
  }

  it("'' and user@ with a HostName connect (-W reaches sshd); without one, ssh's resolve_host line, exit 255", async () => {
    const named = await config('hostname.conf', sshd.host);
    for (const dest of ['', `${sshd.user}@`]) {
      const seen = await both(['-F', named, '-W', `${sshd.host}:${sshd.port}`, dest]);
      expect(seen.ssh, dest).toEqual({ code: 0, stderr: '', banner: true });
      expect(seen['pure-ssh'], dest).toEqual(seen.ssh);
    }
    const plain = await config('plain.conf');
    for (const args of [['-N', ''], ['-W', `${sshd.host}:${sshd.port}`, 'x@'], ['-q', '-N', '']]) {
      const seen = await both(['-F', plain, ...args]);
      const said = args[0] === '-q' ? '' : 'ssh: Could not resolve hostname : Name or service not known\r\n';
      expect(seen.ssh, args.join(' ')).toEqual({ code: 255, stderr: said, banner: false });
      expect(seen['pure-ssh'], args.join(' ')).toEqual(seen.ssh);
    }
  }, 90_000);

  it("'' through -J: the hop's channel to \"\" fails as ssh's; through a ProxyCommand pure-ssh refuses (ssh records the key under an empty name)", async () => {
    const plain = await config('jump.conf');
    const seen = await both(['-F', plain, '-J', `${sshd.host}:${sshd.port}`, '-W', `${sshd.host}:${sshd.port}`, '']);
    expect(seen.ssh.code).toBe(255);
    expect(seen.ssh.stderr).toContain('channel 0: open failed: connect failed: Name or service not known');
    expect(seen['pure-ssh']).toEqual(seen.ssh);
    const r = await startCli('pure-ssh', ['-F', plain, '-o', `ProxyCommand=nc ${sshd.host} ${sshd.port}`, '-W', `${sshd.host}:${sshd.port}`, ''], { env: cliEnv(home) }).done;
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 255,
      stderr: "pure-ssh: no host name to check the server's host key under (the destination is empty); set HostName or give a destination\r\n",
    });
  }, 90_000);

  it('a command with -W or SessionType none is not used: the stdio forward runs as ssh\'s does, and -v says so', async () => {
    const plain = await config('command.conf');
    for (const extra of [[], ['-o', 'SessionType=none']]) {
      const args = ['-F', plain, ...extra, '-W', `${sshd.host}:${sshd.port}`, sshd.host, 'echo', 'hi'];
      const seen = await both(args);
      expect(seen.ssh, args.join(' ')).toEqual({ code: 0, stderr: '', banner: true });
      expect(seen['pure-ssh'], args.join(' ')).toEqual(seen.ssh);
    }
    const v = await startCli('pure-ssh', ['-v', '-F', plain, '-W', `${sshd.host}:${sshd.port}`, sshd.host, 'echo', 'hi'], { env: cliEnv(home), stdout: 'pipe' }).done;
    expect(v.code).toBe(0);
    expect(v.stderr).toContain("debug1: remote command 'echo hi' not run: no session is opened (-N, -W or SessionType none), as by ssh\r\n");
    // -N: authenticated, then no session (stopped at ssh's -v line).
    const n = await startCli('pure-ssh', ['-v', '-F', plain, '-N', sshd.host, 'echo', 'hi'], { env: cliEnv(home), until: /Authenticated to / }).done;
    expect(n.stderr).toMatch(/Authenticated to /);
    expect(n.stderr).not.toMatch(/remote commands are not supported/);
  }, 90_000);
});
