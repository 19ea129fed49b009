/**
 * %-tokens and ${VAR} that do not expand, beside ssh 9.2 against a real sshd: misc.c
 * vdollar_percent_expand's error_f() line, then the caller's fatal (`percent_expand: failed`,
 * `percent_dollar_expand: failed`, or ssh.c's `invalid environment variable expansion` for a
 * variable that is not set). IdentityFile is expanded once connected (ssh.c
 * load_public_identity_files), so `-G` prints it as written and exits 0. pure-ssh printed one
 * line of its own (`percent_expand: unknown key %z in "..."`) and failed -G; for ProxyCommand still
 * so until break17 F5, and it had no %k. Needs `npm run build`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

describeInteropWithHome('tokens and ${VAR} that do not expand: ssh 9.2\'s lines', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });

  async function run(client: CliClient, config: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const file = join(sshd.dir, 'expand-config');
    await writeFile(file, `Host *\n  ${config}\n`);
    const env = cliEnv(home);
    delete env.NOPE_VAR;
    const { code, stdout, stderr } = await startCli(client, ['-F', file, ...args], { env, stdout: 'pipe' }).done;
    return { code, stdout, stderr };
  }

  const connect = () => ['-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-N', sshd.target];

  it('IdentityFile with %z: -G prints it (exit 0); connecting fails with the two lines', async () => {
    for (const args of [['-G', 'h'], connect()]) {
      const theirs = await run('ssh', 'IdentityFile ~/.ssh/id_%z', args);
      const ours = await run('pure-ssh', 'IdentityFile ~/.ssh/id_%z', args);
      if (args[0] === '-G') {
        expect(theirs.code).toBe(0);
        expect(ours.stdout.split('\n').filter((l) => l.startsWith('identityfile'))).toEqual(theirs.stdout.split('\n').filter((l) => l.startsWith('identityfile')));
      } else expect(theirs.stderr).toBe('vdollar_percent_expand: unknown key %z\r\npercent_dollar_expand: failed\r\n');
      expect({ code: ours.code, stderr: ours.stderr }).toEqual({ code: theirs.code, stderr: theirs.stderr });
    }
  });

  it('IdentityFile and UserKnownHostsFile with an unset ${VAR}, LocalForward with %z', async () => {
    const cases: [string, string[]][] = [
      ['IdentityFile /tmp/${NOPE_VAR}/id', connect()],
      ['UserKnownHostsFile /tmp/${NOPE_VAR}/kh', ['-N', '-G', 'h']],
      ['LocalForward /tmp/%z.sock 127.0.0.1:1', connect()],
    ];
    for (const [config, args] of cases) {
      const theirs = await run('ssh', config, args);
      const ours = await run('pure-ssh', config, args);
      expect(theirs.code, config).toBe(255);
      expect(theirs.stderr, config).toContain('vdollar_percent_expand: ');
      expect({ code: ours.code, stderr: ours.stderr }, config).toEqual({ code: theirs.code, stderr: theirs.stderr });
    }
  });

  it('ProxyCommand: an unknown %-token and a lone % fail with the two lines; %k is HostKeyAlias, else the host as given', async () => {
    const cases: [string, string[]][] = [
      ['ProxyCommand nc %z %p', connect()],
      ['ProxyCommand nc %h %', connect()],
      // The command says what %k, %n and %h became, then ends: both clients' lines follow.
      ['ProxyCommand sh -c "echo k=%k n=%n h=%h >&2"', connect()],
      ['ProxyCommand sh -c "echo k=%k n=%n h=%h >&2"', ['-o', 'HostKeyAlias=Alias.Example', ...connect()]],
    ];
    for (const [config, args] of cases) {
      const theirs = await run('ssh', config, args);
      const ours = await run('pure-ssh', config, args);
      expect(theirs.code, config).toBe(255);
      expect({ code: ours.code, stderr: ours.stderr }, config).toEqual({ code: theirs.code, stderr: theirs.stderr });
    }
  });

  // sshconnect.c expand_proxy_command runs in ssh_proxy_connect, after ssh.c main's -G dump and
  // its -vvv UserKnownHostsFile lines: pure-ssh expanded it while reading the configuration (-G
  // exit 255, the two lines before the debug3 ones).
  it('ProxyCommand with %Z or %C: -G prints it as written (exit 0); -vvv fails after the UserKnownHostsFile lines', async () => {
    for (const config of ['ProxyCommand nc %Z %h', 'ProxyCommand nc %C %h']) {
      // A name, not an address: a ProxyCommand's host is never resolved.
      for (const args of [['-G', 'h'], ['-vvv', '-N', 'h']]) {
        const theirs = await run('ssh', config, args);
        const ours = await run('pure-ssh', config, args);
        if (args[0] === '-G') {
          expect(theirs.code, config).toBe(0);
          const line = (out: string) => out.split('\n').filter((l) => l.startsWith('proxycommand '));
          expect(line(theirs.stdout), config).toEqual([`proxycommand ${config.slice('ProxyCommand '.length)}`]);
          expect({ code: ours.code, line: line(ours.stdout), stderr: ours.stderr }, config).toEqual({ code: 0, line: line(theirs.stdout), stderr: theirs.stderr });
          continue;
        }
        // The first line is each client's version.
        const from = (err: string) => err.split('\r\n').slice(1);
        expect(theirs.code, config).toBe(255);
        expect(from(theirs.stderr).slice(-3), config).toEqual([expect.stringMatching(/^vdollar_percent_expand: unknown key %[ZC]$/), 'percent_expand: failed', '']);
        expect({ code: ours.code, lines: from(ours.stderr) }, config).toEqual({ code: theirs.code, lines: from(theirs.stderr) });
      }
    }
  });
});
