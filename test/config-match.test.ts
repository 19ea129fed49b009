/**
 * ssh_config Match, Include, %-tokens and "the first value wins", through the pure resolver
 * (files, directory listings and Match exec injected).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveCommandLine, type CliEnvironment, type ResolvedConfig } from '../src/config/cli-args.js';
import { expandIncludePath, globMatch } from '../src/config/include.js';
import { matchPatternList } from '../src/config/match.js';
import { connectionHash, percentExpand } from '../src/config/tokens.js';

function env(files: Record<string, string>, extra: Partial<CliEnvironment> = {}): CliEnvironment {
  const dirs = new Map<string, Set<string>>();
  for (const p of Object.keys(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') || '/';
      if (!dirs.has(dir)) dirs.set(dir, new Set());
      dirs.get(dir)!.add(parts[i]!);
    }
  }
  return {
    // $HOME set apart from the passwd entry's home: ~ and %d take the latter, ${HOME} the former.
    env: { HOME: '/env/home', SOCKDIR: '/run/joe' },
    home: '/home/joe',
    localUser: 'joe',
    uid: 1000,
    localHostName: 'box.example.net',
    fs: { readFile: (p) => files[p], listDir: (d) => (dirs.has(d) ? [...dirs.get(d)!] : undefined) },
    ...extra,
  };
}

function resolve(argv: string[], files: Record<string, string>, extra: Partial<CliEnvironment> = {}): ResolvedConfig {
  const out = resolveCommandLine(['-N', '-F', '/cfg', ...argv], env(files, extra));
  if (out.kind !== 'run') throw new Error(`expected run, got ${out.kind}`);
  return out.config;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('Match criteria (readconf.c match_cfg_line)', () => {
  it('host matches HostName with %h expanded; originalhost the name typed', () => {
    const cfg = 'Host db\n  HostName %h.corp.example\nMatch host *.corp.example originalhost db\n  Port 2201\nMatch host db\n  User never\n';
    const c = resolve(['db'], { '/cfg': cfg });
    expect(c).toMatchObject({ hostName: 'db.corp.example', port: 2201 });
    expect(c.user).toBe('joe');
  });

  it('user sees the remote user obtained so far (or the local one); localuser the local one; case-sensitive', () => {
    const cfg = 'Match user alice\n  Port 1\nMatch user joe localuser joe\n  Port 2\nMatch user JOE\n  Port 3\n';
    expect(resolve(['alice@h'], { '/cfg': cfg }).port).toBe(1);
    expect(resolve(['h'], { '/cfg': cfg }).port).toBe(2);
  });

  it('negation, pattern lists, criteria ANDed', () => {
    const cfg = 'Match !host a*,b* user joe\n  Port 10\nMatch host a1\n  Port 11\n';
    expect(resolve(['c1'], { '/cfg': cfg }).port).toBe(10);
    expect(resolve(['a1'], { '/cfg': cfg }).port).toBe(11);
    expect(matchPatternList('web1', 'web*,!web1', false)).toBe(false);
    expect(matchPatternList('WEB2', 'web*', true)).toBe(true);
    expect(matchPatternList('WEB2', 'web*', false)).toBe(false);
  });

  it('exec: tokens expanded, 0 = match, only run while earlier criteria hold, its status negatable', () => {
    const ran: string[] = [];
    const exec = (cmd: string) => {
      ran.push(cmd);
      return cmd.startsWith('ok') ? 0 : 1;
    };
    const cfg =
      'Match exec "ok %h %p %r %n %u %d %i %L %l %k %%"\n  Port 5\n' +
      'Match host nomatch exec "never"\n  User x\n' +
      'Match !exec "fail"\n  ConnectTimeout 9\n';
    const c = resolve(['-l', 'bob', 'srv'], { '/cfg': cfg }, { exec });
    expect(c).toMatchObject({ port: 5, connectTimeout: 9, user: 'bob' });
    expect(ran).toEqual(['ok srv 22 bob srv joe /home/joe 1000 box box.example.net srv %', 'fail']);
    expect(errorOf(() => resolve(['h'], { '/cfg': 'Match exec "x"\n' }, { exec: () => -1 })).message).toBe(
      `/cfg line 1: match exec 'x' error`,
    );
  });

  it('final and canonical: false in the first pass, true in the second, which only fills what is still unset', () => {
    const cfg =
      'Host short\n  HostName long.example\n' +
      'Host long.example\n  User from-final-pass\n  IdentityFile ~/.ssh/final\n' +
      'Match !final\n  Port 1\n  IdentityFile ~/.ssh/first\n' +
      'Match final\n  Port 2\n  ConnectTimeout 3\n  IdentityFile ~/.ssh/first\n' +
      'Match canonical all\n  ServerAliveInterval 4\n';
    const c = resolve(['short'], { '/cfg': cfg });
    expect(c).toMatchObject({ hostName: 'long.example', port: 1, connectTimeout: 3, serverAliveInterval: 4, user: 'from-final-pass' });
    // Cumulative keywords do not repeat a value read in both passes (readconf.c add_identity_file).
    expect(c.identityFiles.map((f) => f.path)).toEqual(['/home/joe/.ssh/first', '/home/joe/.ssh/final']);
    expect(c.notes).toContain('re-parsing configuration');
    // Without Match final, one pass: "Match canonical" never holds.
    expect(resolve(['h'], { '/cfg': 'Match canonical\n  Port 7\n' }).port).toBe(22);
  });

  it('errors name the file and line', () => {
    const e = (text: string) => errorOf(() => resolve(['h'], { '/cfg': text })).message;
    expect(e('Port 1\nMatch\n')).toBe('/cfg line 2: no argument after keyword "match"\n/cfg: terminating, 1 bad configuration options');
    expect(e('Match user\n')).toBe("/cfg line 1: missing argument for Match 'user'\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options");
    expect(e('Match host h user joe all\n')).toBe("/cfg line 1: 'all' cannot be combined with other Match attributes\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options");
    // Without a way to list the interfaces (the pure resolver, no `interfaces`), localnetwork is an error.
    expect(e('Match localnetwork 10.0.0.0/8\n')).toMatch(/^\/cfg line 1: unsupported option "Match localnetwork"/);
    expect(e('Match localnetwork 10.0.0.1/8\n')).toBe('Inconsistent mask length for network "10.0.0.1/8"\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options');
    const ifs = () => [{ name: 'lo', family: 'IPv4' as const, address: '127.0.0.1' }, { name: 'eth0', family: 'IPv6' as const, address: 'fd00::2' }];
    expect(resolve(['h'], { '/cfg': 'Match localnetwork fd00::/8\nPort 7\n' }, { interfaces: ifs }).port).toBe(7);
    expect(resolve(['h'], { '/cfg': 'Match localnetwork 10.0.0.0/8\nPort 7\n' }, { interfaces: ifs }).port).toBe(22);
  });
});

describe('Include (readconf.c oInclude)', () => {
  it('globs in any path component, sorted; relative paths under ~/.ssh for user files, /etc/ssh for the system one', () => {
    const listDir = (d: string) =>
      ({ '/x': ['b', 'a', '.hidden'], '/x/a': ['c.conf', 'd.txt'], '/x/b': ['a.conf'], '/x/.hidden': ['z.conf'] })[d];
    expect(expandIncludePath('/x/*/*.conf', { home: '/h', dir: '/h/.ssh', userConfig: true, listDir })).toEqual(['/x/a/c.conf', '/x/b/a.conf']);
    expect(expandIncludePath('conf.d/a', { home: '/h', dir: '/h/.ssh', userConfig: true })).toEqual(['/h/.ssh/conf.d/a']);
    expect(expandIncludePath('~/inc', { home: '/h', dir: '/h/.ssh', userConfig: true })).toEqual(['/h/inc']);
    expect(expandIncludePath('conf.d/a', { home: '/h', dir: '/etc/ssh', userConfig: false })).toEqual(['/etc/ssh/conf.d/a']);
    expect(() => expandIncludePath('~/inc', { home: '/h', dir: '/etc/ssh', userConfig: false })).toThrow('bad include path ~/inc.');
    expect(globMatch('a1.conf', '[a-c]?.conf')).toBe(true);
    expect(globMatch('d1.conf', '[!a-c]?.conf')).toBe(true);
    expect(globMatch('.x', '*')).toBe(false);
  });

  it('an included file starts in the including block state and cannot change it; inactive blocks parse only', () => {
    const files = {
      '/cfg': 'Host h\n  Include /inc/*.conf\n  User after-include\nHost other\n  Include /bad/*.conf\n',
      '/inc/1.conf': 'Port 3\nHost nothing\n  ConnectTimeout 1\n',
      '/bad/1.conf': 'Port 9\n',
    };
    const c = resolve(['h'], files);
    expect(c).toMatchObject({ port: 3, user: 'after-include', connectTimeout: 0 });
    // A bad line in an include of an inactive block is still an error (readconf.c reads it).
    expect(errorOf(() => resolve(['h'], { ...files, '/bad/1.conf': 'Frobnicate 1\n' })).message).toBe('/bad/1.conf: line 1: Bad configuration option: frobnicate\n/bad/1.conf: terminating, 1 bad configuration options');
  });

  it('recursion stops at depth 16', () => {
    const e = errorOf(() => resolve(['h'], { '/cfg': 'Include /cfg\n' }));
    expect(e.message).toBe('/cfg line 1: Too many recursive configuration includes');
  });
});

describe('%-tokens and ${VAR} (ssh_config(5) TOKENS, ENVIRONMENT VARIABLES)', () => {
  it('IdentityFile, CertificateFile, UserKnownHostsFile and socket forward paths', () => {
    const cfg =
      'HostName real.example\nUser rem\nPort 2222\nHostKeyAlias Alias\n' +
      'IdentityFile ~/.ssh/%h_%r_%p\nCertificateFile ${HOME}/c_%n_%k\n' +
      'UserKnownHostsFile %d/kh_%C\nLocalForward ${SOCKDIR}/%h.sock /run/%r.sock\n';
    const c = resolve(['Nick'], { '/cfg': cfg });
    expect(c.identityFiles).toEqual([{ path: '/home/joe/.ssh/real.example_rem_2222', explicit: true }]);
    expect(c.certificateFiles).toEqual(['/env/home/c_Nick_alias']);
    expect(c.knownHostsFiles[0]).toBe(`/home/joe/kh_${connectionHash('box.example.net', 'real.example', '2222', 'rem')}`);
    expect(c.localForwards[0]).toEqual({ listen: { path: '/run/joe/real.example.sock' }, to: { path: '/run/rem.sock' } });
    expect(c.hostKeyAlias).toBe('alias');
  });

  it('unknown tokens and unset variables are errors; HostName accepts only %h', () => {
    // misc.c vdollar_percent_expand's error_f() line, then its caller's fatal. IdentityFile is
    // expanded once connected (ssh.c load_public_identity_files): -G prints it as written.
    expect(resolve(['h'], { '/cfg': 'IdentityFile ~/%z\n' }).connectedError?.message).toBe('vdollar_percent_expand: unknown key %z\npercent_dollar_expand: failed');
    expect(resolve(['h'], { '/cfg': 'IdentityFile ${NOPE}/k\n' }).connectedError?.message).toBe(
      'vdollar_percent_expand: env var ${NOPE} has no value\ninvalid environment variable expansion',
    );
    expect(errorOf(() => resolve(['h'], { '/cfg': 'UserKnownHostsFile /x/${NOPE}/${NOPE2}\n' })).message).toBe(
      'vdollar_percent_expand: env var ${NOPE} has no value\nvdollar_percent_expand: env var ${NOPE2} has no value\ninvalid environment variable expansion',
    );
    expect(errorOf(() => resolve(['h'], { '/cfg': 'HostName %r.example\n' })).message).toBe('vdollar_percent_expand: unknown key %r\npercent_expand: failed');
    expect(percentExpand('100%%', {})).toBe('100%');
    expect(percentExpand('${X}', { h: 'x' })).toBe('${X}'); // without an environment, ${} is literal
  });
});

describe('the first value obtained wins', () => {
  it('single-valued keywords: command line, then the first matching block', () => {
    const cfg = 'Host h\n  Port 1\n  User a\nHost *\n  Port 2\n  User b\n  ConnectTimeout 3\n';
    expect(resolve(['-o', 'Port=9', 'h'], { '/cfg': cfg })).toMatchObject({ port: 9, user: 'a', connectTimeout: 3 });
  });

  it('cumulative keywords add up in order, without duplicates', () => {
    const cfg =
      'IdentityFile ~/a\nIdentityFile ~/b\nIdentityFile ~/a\n' +
      'CertificateFile ~/c1\nCertificateFile ~/c1\n' +
      'LocalForward 1 h:1\nLocalForward 1 h:1\nRemoteForward 2 h:2\nRemoteForward 2 h:2\nDynamicForward 3\nDynamicForward 3\n';
    const c = resolve(['-i', '~/cli', 'h'], { '/cfg': cfg });
    expect(c.identityFiles.map((f) => f.path)).toEqual(['/home/joe/cli', '/home/joe/a', '/home/joe/b']);
    expect(c.certificateFiles).toEqual(['/home/joe/c1']);
    expect(c.localForwards).toHaveLength(1);
    expect(c.remoteForwards).toHaveLength(1);
    expect(c.dynamicForwards).toHaveLength(1);
  });

  it('UserKnownHostsFile and GlobalKnownHostsFile: the first line, all its files', () => {
    const c = resolve(['h'], { '/cfg': 'UserKnownHostsFile /a /b\nUserKnownHostsFile /c\nGlobalKnownHostsFile none\n' });
    expect(c.knownHostsFiles).toEqual(['/a', '/b']);
  });
});
