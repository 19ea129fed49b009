/**
 * `~user` in file names (misc.c tilde_expand through getpwnam), at each place ssh(1) expands
 * them and with its messages: the pure functions (tokens.ts tildeExpand, include.ts globTilde),
 * the CLI's getpwnam (src/node/user-home.ts), the built `pure-ssh -G` next to `ssh -G`, and a
 * connection to sshd next to ssh's.
 *
 * The CLI runs are under nss_wrapper (test/harness/home.ts) with a passwd file that also holds a
 * user of the test's own, `tildeuser`, whose home is a temporary directory: what getpwnam answers
 * is then the test's, for pure-ssh and ssh alike, and a name outside the file has no entry.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globTilde, expandIncludePath } from '../src/config/include.js';
import { ConfigError } from '../src/config/options.js';
import { tildeExpand } from '../src/config/tokens.js';
import { resolveCommandLine, type CliEnvironment } from '../src/config/cli-args.js';
import { passwdHomeOf, userHome } from '../src/node/user-home.js';
import { expandHome } from '../src/node/identity-file.js';
import { UsageError } from '../src/errors.js';
import { cliEnv, describeInteropWithHome, describeWithHome } from './harness/home.js';
import { inCI, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-tilde-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The user the nss_wrapper passwd file adds, and its home. */
const TILDE_USER = 'tildeuser';
const tildeHome = join(dir, 'tilde-home');
const NO_USER = 'nosuchuser-pure-ssh';

/** cliEnv(home) with {@link TILDE_USER} added to its passwd file, then `extra`. */
function envWithUser(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = cliEnv(home, extra);
  appendFileSync(env.NSS_WRAPPER_PASSWD!, `${TILDE_USER}:x:54321:54321:tilde test user:${tildeHome}:/bin/sh\n`);
  return env;
}

describe('tildeExpand (misc.c tilde_expand)', () => {
  const homes: Record<string, string> = { joe: '/home/joe', slash: '/srv/slash/', empty: '' };
  const lookup = (name: string) => homes[name];

  it('~ and ~/ are the current user\'s home with one `/` after it; the slashes after ~ or ~user are dropped', () => {
    expect(tildeExpand('~', '/root', lookup)).toBe('/root/');
    expect(tildeExpand('~/', '/root', lookup)).toBe('/root/');
    expect(tildeExpand('~/.ssh/id', '/root', lookup)).toBe('/root/.ssh/id');
    expect(tildeExpand('~//x//y', '/root', lookup)).toBe('/root/x//y');
    expect(tildeExpand('~/x', '/', lookup)).toBe('/x');
    expect(tildeExpand('~joe', '/root', lookup)).toBe('/home/joe/');
    expect(tildeExpand('~joe/', '/root', lookup)).toBe('/home/joe/');
    expect(tildeExpand('~joe///k', '/root', lookup)).toBe('/home/joe/k');
    expect(tildeExpand('~slash/k', '/root', lookup)).toBe('/srv/slash/k');
    // An empty pw_dir: "/" and the rest.
    expect(tildeExpand('~empty/k', '/root', lookup)).toBe('/k');
    // Only a leading ~.
    for (const p of ['/a/~joe', 'a~', '', '%d/~']) expect(tildeExpand(p, '/root', lookup)).toBe(p);
  });

  it('a user getpwnam does not know: "tilde_expand: No such user USER", exit 255; no lookup: no user', () => {
    const err = (() => {
      try {
        tildeExpand('~bob/x', '/root', lookup);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('tilde_expand: No such user bob');
    expect((err as ConfigError).exitCode).toBe(255);
    expect(() => tildeExpand('~joe', '/root')).toThrow('tilde_expand: No such user joe');
    expect(tildeExpand('~/x', '/root')).toBe('/root/x');
  });

  it('a result of PATH_MAX (4096) bytes or more: "tilde_expand: Path too long"', () => {
    expect(tildeExpand(`~/${'a'.repeat(4096 - 7)}`, '/root')).toHaveLength(4095);
    expect(() => tildeExpand(`~/${'a'.repeat(4096 - 6)}`, '/root')).toThrow('tilde_expand: Path too long');
  });
});

describe('Include\'s ~ (glob(3) GLOB_TILDE)', () => {
  const lookup = (name: string) => (name === 'joe' ? '/home/joe' : undefined);

  it('~ is $HOME (the passwd home when HOME is unset or empty), ~user that user\'s home, an unknown ~user stays as written', () => {
    expect(globTilde('~/inc', '/pw', '/env', lookup)).toBe('/env/inc');
    expect(globTilde('~/inc', '/pw', '', lookup)).toBe('/pw/inc');
    expect(globTilde('~/inc', '/pw', undefined, lookup)).toBe('/pw/inc');
    expect(globTilde('~', '/pw', '/env', lookup)).toBe('/env');
    expect(globTilde('~joe/inc', '/pw', '/env', lookup)).toBe('/home/joe/inc');
    expect(globTilde('~joe', '/pw', '/env', lookup)).toBe('/home/joe');
    expect(globTilde('~bob/inc', '/pw', '/env', lookup)).toBe('~bob/inc');
  });

  it('relative paths of a user configuration are under ~/.ssh, so under $HOME too', () => {
    const o = { home: '/pw', dir: '~/.ssh', userConfig: true, envHome: '/env', userHome: lookup };
    expect(expandIncludePath('conf.d/a', o)).toEqual(['/env/.ssh/conf.d/a']);
    expect(expandIncludePath('~joe/a', o)).toEqual(['/home/joe/a']);
    expect(() => expandIncludePath('~joe/a', { ...o, dir: '/etc/ssh', userConfig: false })).toThrow('bad include path ~joe/a.');
  });
});

describe('the CLI\'s getpwnam (src/node/user-home.ts)', () => {
  it('reads a passwd(5) text: exact names, the sixth field', () => {
    const text = 'root:x:0:0:root:/root:/bin/bash\nbad:line\njoe:x:1000:1000:Joe,,,:/home/joe:/bin/sh\n';
    expect(passwdHomeOf(text, 'joe')).toBe('/home/joe');
    expect(passwdHomeOf(text, 'root')).toBe('/root');
    expect(passwdHomeOf(text, 'Joe')).toBeUndefined();
    expect(passwdHomeOf(text, 'bad')).toBeUndefined();
  });

  it('asks the system as getpwnam does: /etc/passwd\'s root; a uid is not a name', () => {
    const fromFile = passwdHomeOf(readFileSync('/etc/passwd', 'utf8'), 'root');
    expect(fromFile).toBeDefined();
    expect(userHome('root')).toBe(fromFile);
    // getent passwd 0 answers with getpwuid(0); getpwnam("0") has no entry.
    expect(userHome('0')).toBeUndefined();
    expect(userHome(NO_USER)).toBeUndefined();
  });
});

describe('the library\'s expandHome (identity files, known_hosts)', () => {
  it('~user/FILE is that user\'s home; an unknown user is a UsageError naming the path, never a relative ./~user', () => {
    const root = userHome('root')!;
    expect(expandHome('~root/.ssh/id')).toBe(`${root}/.ssh/id`);
    expect(expandHome('~root')).toBe(root);
    expect(() => expandHome(`~${NO_USER}/kh`)).toThrow(UsageError);
    expect(() => expandHome(`~${NO_USER}/kh`)).toThrow(`~${NO_USER}/kh: tilde_expand: No such user ${NO_USER}`);
    expect(expandHome('/a/~root')).toBe('/a/~root');
  });
});

/** Exit status, stdout and stderr lines (ssh's notice about its stdin dropped, `\r` too). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    status: r.status,
    stdout: r.stdout.split('\n').filter((l) => l !== ''),
    stderr: r.stderr.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('Pseudo-terminal will not be allocated')),
  };
}
type Out = ReturnType<typeof run>;
const lines = (o: Out, keyword: string) => o.stdout.filter((l) => l.startsWith(`${keyword} `));

(sshClientAvailable() || inCI() ? describeWithHome : describe.skip)('pure-ssh -G and ssh -G with ~user', () => {
  const home = join(dir, 'g-home');
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    env = envWithUser(home);
    mkdirSync(tildeHome, { recursive: true });
    writeFileSync(join(tildeHome, 'key'), 'not a key, but there\n');
  });

  /** Same status and messages, the same `keyword` lines; returns pure-ssh's output. */
  function same(args: string[], keyword?: string, runEnv: NodeJS.ProcessEnv = env): Out {
    const a = run(process.execPath, [CLI, '-G', ...args], runEnv);
    const b = run(SSH_CLIENT_PATH, ['-G', ...args], runEnv);
    expect({ status: a.status, stderr: a.stderr }, args.join(' ')).toEqual({ status: b.status, stderr: b.stderr });
    if (keyword !== undefined) expect(lines(a, keyword), args.join(' ')).toEqual(lines(b, keyword));
    return a;
  }

  it('-i ~user/FILE is expanded while the options are read; an unknown user ends ssh there, exit 255', () => {
    const ok = same(['-F', 'none', '-i', `~${TILDE_USER}/key`, '-i', `~${TILDE_USER}//missing`, 'h'], 'identityfile');
    expect(ok.status).toBe(0);
    expect(lines(ok, 'identityfile')).toEqual([`identityfile ${tildeHome}/key`]);
    expect(ok.stderr).toEqual([`Warning: Identity file ${tildeHome}/missing not accessible: No such file or directory.`]);
    // The unknown user comes first: nothing after it is read (not even the bad -p).
    const bad = same(['-F', 'none', '-i', `~${NO_USER}/k`, '-p', 'x', 'h']);
    expect(bad).toMatchObject({ status: 255, stderr: [`tilde_expand: No such user ${NO_USER}`] });
    // -q does not hide it: ssh's log is not set up yet.
    expect(same(['-F', 'none', '-q', '-i', `~${NO_USER}`, 'h']).stderr).toEqual([`tilde_expand: No such user ${NO_USER}`]);
    // ~ alone is the home with a trailing slash.
    expect(lines(same(['-F', 'none', '-i', '~', 'h'], 'identityfile'), 'identityfile')).toEqual([`identityfile ${home}/`]);
  });

  it('UserKnownHostsFile and IdentityAgent are expanded before -G prints: an unknown user fails -G (silently with -q)', () => {
    const ok = same(['-F', 'none', '-o', `UserKnownHostsFile ~${TILDE_USER}/kh ~${TILDE_USER} ~//kh2`, 'h'], 'userknownhostsfile');
    expect(lines(ok, 'userknownhostsfile')).toEqual([`userknownhostsfile ${tildeHome}/kh ${tildeHome}/ ${home}/kh2`]);
    for (const o of [`UserKnownHostsFile ~${NO_USER}/kh`, `IdentityAgent ~${NO_USER}/agent`]) {
      expect(same(['-F', 'none', '-o', o, 'h']), o).toMatchObject({ status: 255, stderr: [`tilde_expand: No such user ${NO_USER}`] });
      expect(same(['-F', 'none', '-q', '-o', o, 'h']), o).toMatchObject({ status: 255, stderr: [] });
      expect(same(['-F', 'none', '-o', 'LogLevel FATAL', '-o', o, 'h']), o).toMatchObject({ status: 255, stderr: [] });
    }
    expect(same(['-F', 'none', '-o', `IdentityAgent ~${TILDE_USER}/agent`, 'h']).status).toBe(0);
  });

  it('IdentityFile, CertificateFile and GlobalKnownHostsFile are expanded only once connected: -G prints them as written', () => {
    for (const [o, keyword] of [
      ['IdentityFile', 'identityfile'],
      ['CertificateFile', 'certificatefile'],
      ['GlobalKnownHostsFile', 'globalknownhostsfile'],
    ] as const) {
      const a = same(['-F', 'none', '-o', `${o} ~${NO_USER}/f`, 'h'], keyword);
      expect(a.status, o).toBe(0);
      expect(lines(a, keyword), o).toEqual([`${keyword} ~${NO_USER}/f`]);
    }
  });

  it('-F is opened as written, ~ and all', () => {
    const a = same(['-F', `~${TILDE_USER}/config`, 'h']);
    expect(a).toMatchObject({ status: 255, stderr: [`Can't open user config file ~${TILDE_USER}/config: No such file or directory`] });
    same(['-F', '~/config', 'h']);
  });

  it('Include: ~user is that user\'s home, an unknown ~user matches nothing; ~ and relative paths follow $HOME', () => {
    const envHome = join(dir, 'env-home');
    mkdirSync(join(envHome, '.ssh'), { recursive: true });
    writeFileSync(join(tildeHome, 'inc'), 'Port 2201\n');
    writeFileSync(join(envHome, 'inc'), 'User from-env-home\n');
    writeFileSync(join(envHome, '.ssh', 'rel'), 'ConnectTimeout 17\n');
    const config = join(dir, 'include.conf');
    writeFileSync(config, `Include ~${NO_USER}/inc ~${TILDE_USER}/inc ~/inc rel\n`);
    const runEnv = { ...env, HOME: envHome };
    const a = same(['-F', config, 'h'], 'port', runEnv);
    expect(a.status).toBe(0);
    expect(lines(a, 'port')).toEqual(['port 2201']);
    expect(lines(a, 'user')).toEqual(['user from-env-home']);
    same(['-F', config, 'h'], 'user', runEnv);
    same(['-F', config, 'h'], 'connecttimeout', runEnv);
  });
});

describe('resolveCommandLine without a getpwnam (CliEnvironment.userHome unset)', () => {
  it('~user is no user; ~ is still the home', () => {
    const cenv: CliEnvironment = { env: {}, home: '/home/joe', localUser: 'joe', fs: { readFile: () => undefined } };
    expect(() => resolveCommandLine(['-G', '-o', 'UserKnownHostsFile ~joe/kh', 'h'], cenv)).toThrow('tilde_expand: No such user joe');
    const out = resolveCommandLine(['-G', '-o', 'UserKnownHostsFile ~/kh', 'h'], cenv);
    expect(out.kind === 'dump' && out.config.knownHostsFiles[0]).toBe('/home/joe/kh');
    const later = resolveCommandLine(['-G', '-o', 'IdentityFile ~joe/k', 'h'], cenv);
    expect(later.kind === 'dump' && later.config.connectedError?.message).toBe('tilde_expand: No such user joe');
  });
});

describeInteropWithHome('~user against sshd, beside ssh', () => {
  let sshd: SshdHandle;
  const home = join(dir, 'c-home');
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sshd = await startSshd();
    env = envWithUser(home);
    mkdirSync(tildeHome, { recursive: true });
    copyFileSync(sshd.clientKeyPath, join(tildeHome, 'id'));
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  const args = (extra: string[]) => [
    '-F', 'none', '-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', ...extra, '-l', sshd.user,
  ];

  it('IdentityFile ~user/KEY logs in with that user\'s key', () => {
    const b = run(SSH_CLIENT_PATH, [...args(['-o', `IdentityFile=~${TILDE_USER}/id`]), '127.0.0.1', 'true'], env);
    expect(b.status, b.stderr.join('\n')).toBe(0);
    // -W to a closed port: authenticated, then the channel is refused (exit 255 after it).
    const a = run(process.execPath, [CLI, '-v', ...args(['-o', `IdentityFile=~${TILDE_USER}/id`, '-W', '127.0.0.1:1']), '127.0.0.1'], env);
    expect(a.stderr.join('\n')).toContain(`Authenticated to 127.0.0.1`);
    expect(a.stderr.join('\n')).toContain(`Server accepts key: ${tildeHome}/id`);
  }, 30_000);

  it('IdentityFile, CertificateFile, GlobalKnownHostsFile ~unknown/...: the connection is made, then ssh\'s message, exit 255', async () => {
    for (const o of [`IdentityFile=~${NO_USER}/id`, `CertificateFile=~${NO_USER}/c`, `GlobalKnownHostsFile=~${NO_USER}/g`]) {
      const before = sshd.logs().length;
      const a = run(process.execPath, [CLI, '-N', ...args(['-o', o]), '127.0.0.1'], env);
      const b = run(SSH_CLIENT_PATH, [...args(['-o', o]), '127.0.0.1', 'true'], env);
      expect({ status: a.status, stderr: a.stderr }, o).toEqual({ status: b.status, stderr: b.stderr });
      expect(a).toMatchObject({ status: 255, stderr: [`tilde_expand: No such user ${NO_USER}`] });
      // Both connected before failing: sshd saw two connections closed before the banner exchange.
      // kex.c kex_exchange_identification: EOF, or a reset when sshd's own identification line
      // reached a client already gone (its read or, at DEBUG, its write fails): which one depends
      // on how soon after the connect the client exits.
      const closedEarly = () => sshd.logs().slice(before).match(/kex_exchange_identification: (Connection closed by remote host|read: Connection reset by peer|write: (Broken pipe|Connection reset by peer))/g)?.length ?? 0;
      // (Up to 15 s: sshd re-executes itself per connection, slow on a loaded machine; a CI-like
      // run of 12 files at once once took over 5 s.)
      for (let i = 0; i < 300 && closedEarly() < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(closedEarly(), `${o}: sshd's log:\n${sshd.logs().slice(before)}`).toBeGreaterThanOrEqual(2);
    }
    // A port nobody listens on: the connect error, not the user.
    const closed = ['-F', 'none', '-p', '1', '-o', `IdentityFile=~${NO_USER}/id`, '127.0.0.1'];
    const a = run(process.execPath, [CLI, '-N', ...closed], env);
    const b = run(SSH_CLIENT_PATH, [...closed, 'true'], env);
    expect({ status: a.status, stderr: a.stderr }).toEqual({ status: b.status, stderr: b.stderr });
    expect(a.stderr).toEqual(['ssh: connect to host 127.0.0.1 port 1: Connection refused']);
  }, 60_000);
});
