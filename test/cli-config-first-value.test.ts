/**
 * Real connections beside ssh 9.2 where the way the configuration is matched decides the route,
 * the user or whether the run is refused (break20 F1, F2, F3, F9):
 *
 * - `Host` patterns are matched word by word, case-sensitively, as typed (readconf.c match_pattern;
 *   no comma lists): a `Host target` or `Host web1,web2` block sending its host to a closed port
 *   must not apply to `Target` or `web1`, which ssh connects through `Host *`.
 * - `-o User=x -l y` and `-l x -l y` log in as x (ssh.c `if (options.user == NULL)`).
 * - a refused keyword's later `Host *` line is inert once the host's own block set the value
 *   pure-ssh honours (readconf.c keeps the first value).
 * - RemoteCommand is unused with -N, -W and on a ProxyJump hop (ssh.c opens no session there).
 *
 * pure-ssh got each of these wrong before: a refused run, a closed port or another user.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli } from './harness/proc.js';

describeInteropWithHome('CLI: Host matching, -l and first values in real connections, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  /** A config whose `Host *` block reaches the suite's sshd as root; `head` goes before it. */
  const config = (name: string, head: string): string => {
    const path = join(sshd.dir, `${name}.conf`);
    writeFileSync(
      path,
      `${head}\nHost *\n  HostName ${sshd.host}\n  Port ${sshd.port}\n  User root\n  IdentityFile ${sshd.clientKeyPath}\n` +
        `  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile ${sshd.knownHostsPath}\n` +
        '  GlobalKnownHostsFile /dev/null\n',
    );
    return path;
  };

  /** Whether `client` authenticates with `args` (-v, stopped once it has), and its last words if not. */
  const attempt = async (client: 'ssh' | 'pure-ssh', args: string[]) => {
    const r = await startCli(client, ['-v', ...args], { env: cliEnv(home), until: /Authenticated to /, killAfterMs: 20_000 }).done;
    const authenticated = /Authenticated to /.test(r.stderr);
    const lines = r.stderr.replace(/\r/g, '').split('\n').filter((l) => l !== '' && !l.startsWith('debug'));
    return { authenticated, said: authenticated ? '' : (lines.at(-1) ?? '') };
  };

  const bothConnect = async (runs: string[][]) => {
    for (const args of runs) {
      const theirs = await attempt('ssh', args);
      expect(theirs, `ssh ${args.join(' ')}`).toEqual({ authenticated: true, said: '' });
      expect(await attempt('pure-ssh', args), `pure-ssh ${args.join(' ')}`).toEqual(theirs);
    }
  };

  it('Host patterns as typed and one word each: `Target` and `web1` are not sent to the closed port of `Host target` / `Host web1,web2`', async () => {
    const cfg = config('host-match', 'Host target\n  Port 1\nHost web1,web2\n  Port 1\nHost Mixed\n  Port 1\n');
    await bothConnect([
      ['-F', cfg, '-N', 'Target'],
      ['-F', cfg, '-N', 'web1'],
      ['-F', cfg, '-N', 'mixed'],
    ]);
    // The same block does apply as written: both are refused at port 1.
    const theirs = await attempt('ssh', ['-F', cfg, '-N', 'target']);
    expect(theirs.authenticated).toBe(false);
    expect(theirs.said).toMatch(/port 1: Connection refused/);
    expect(await attempt('pure-ssh', ['-F', cfg, '-N', 'target'])).toEqual(theirs);
  }, 120_000);

  it('-o User=root -l nobody and -l root -l nobody log in as root', async () => {
    const args = (extra: string[]) => [...sshd.clientArgs, '-N', ...extra, sshd.host];
    await bothConnect([args(['-o', 'User=root', '-l', 'nobody']), args(['-l', 'root', '-l', 'nobody'])]);
  }, 120_000);

  it('a host\'s own `CheckHostIP no` (and other values pure-ssh honours) before `Host *`\'s refused ones: ssh\'s first value, the run goes on', async () => {
    const head = ['Host direct', '  CheckHostIP no', '  VerifyHostKeyDNS no', '  RemoteCommand none', '  PermitLocalCommand no', 'Host *',
      '  CheckHostIP yes', '  VerifyHostKeyDNS yes', '  RemoteCommand uptime', '  PermitLocalCommand yes'].join('\n');
    const cfg = config('first-value', head);
    await bothConnect([['-F', cfg, '-N', 'direct'], ['-F', cfg, '-W', `${sshd.host}:${sshd.port}`, 'direct']]);
    // Without the host's own block the refused values are the ones obtained: refused at their lines.
    const r = await startCli('pure-ssh', ['-F', cfg, '-N', 'other'], { env: cliEnv(home) }).done;
    expect(r.code).toBe(255);
    const said = r.stderr.replace(/\r/g, '');
    for (const [line, name] of [[7, 'CheckHostIP'], [8, 'VerifyHostKeyDNS'], [10, 'PermitLocalCommand']] as const) {
      expect(said).toContain(`${cfg} line ${line}: unsupported option "${name}": `);
    }
    expect(said).toContain(`${cfg}: terminating, 3 bad configuration options\n`);
  }, 120_000);

  it('RemoteCommand with -N, -W, SessionType none and on a ProxyJump hop: unused, as by ssh; refused where a session would run it', async () => {
    const cfg = config('remote-command', `Host rc\n  RequestTTY yes\n  RemoteCommand tmux new -A -s main\nHost via-rc\n  ProxyJump rc\n`);
    await bothConnect([
      ['-F', cfg, '-N', 'rc'],
      ['-F', cfg, '-W', `${sshd.host}:${sshd.port}`, 'rc'],
      ['-F', cfg, '-o', 'SessionType=none', 'rc'],
      ['-F', cfg, '-N', 'via-rc'],
    ]);
    // With a session (no -N): ssh would run the command; pure-ssh refuses it, naming the line
    // (not its "remote shells are not supported", nor with -f ssh's "Cannot fork into background").
    for (const extra of [[], ['-f'], ['-L', '54321:127.0.0.1:1']]) {
      const r = await startCli('pure-ssh', ['-F', cfg, ...extra, 'rc'], { env: cliEnv(home) }).done;
      expect(r.code, extra.join(' ')).toBe(255);
      expect(r.stderr.replace(/\r/g, ''), extra.join(' ')).toBe(
        `${cfg} line 3: unsupported option "RemoteCommand": pure-ssh does not implement it yet (it asks for a command on the server, and pure-ssh only forwards ports)\n`,
      );
    }
  }, 120_000);
});
