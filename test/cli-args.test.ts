import { describe, it, expect } from 'vitest';
import {
  ConfigError,
  USAGE,
  expandTokens,
  parseForwardSpec,
  resolveCommandLine,
  type CliEnvironment,
  type ResolvedConfig,
} from '../src/config/cli-args.js';

function env(files: Record<string, string> = {}, extra: Partial<CliEnvironment> = {}): CliEnvironment {
  return {
    env: {},
    home: '/home/joe',
    localUser: 'joe',
    fs: { readFile: (p) => files[p], listDir: () => [] },
    ...extra,
  };
}

function resolve(argv: string[], files: Record<string, string> = {}): ResolvedConfig {
  const out = resolveCommandLine(argv, env(files));
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

describe('usage text', () => {
  // OpenSSH 10's usage (ssh.c usage()): the flags, then the options with an argument; -Q aside.
  const OPENSSH10_FLAGS = '46AaCfGgKkMNnqsTtVvXxYy';
  const OPENSSH10_WITH_ARG: Record<string, string> = {
    B: 'eth0', b: '127.0.0.1', c: 'aes128-ctr', D: '1080', E: '/tmp/pure-ssh-usage.log', e: 'none', F: 'none', I: 'p11.so',
    i: '/tmp/id', J: 'jump', L: '1:h:2', l: 'joe', m: 'hmac-sha2-256', O: 'check', o: 'Port=22', P: 'tag', p: '22',
    R: '1:h:2', S: '/tmp/ctl', W: 'h:1', w: '1',
  };
  /** Whether pure-ssh's parser takes `-X` (errors other than "not supported" count as taken). */
  const accepted = (letter: string): boolean => {
    const arg = OPENSSH10_WITH_ARG[letter];
    try {
      resolveCommandLine(['-N', `-${letter}`, ...(arg === undefined ? [] : [arg]), 'h'], env());
      return true;
    } catch (err) {
      return !/not supported/.test((err as Error).message);
    }
  };

  it("lists exactly the options of OpenSSH 10's usage that pure-ssh accepts (-P tag among them), in ssh's order", () => {
    const flags = /^usage: pure-ssh \[-([0-9A-Za-z]+)\]/.exec(USAGE)![1]!;
    expect(flags).toBe([...OPENSSH10_FLAGS].filter(accepted).join(''));
    const withArg = [...USAGE.split('\n       pure-ssh [-Q')[0]!.matchAll(/\[-([A-Za-z]) /g)].map((m) => m[1]).join('');
    expect(withArg).toBe(Object.keys(OPENSSH10_WITH_ARG).filter(accepted).join(''));
    expect(USAGE).toContain('[-P tag]');
    // -e takes every escape character ssh takes (no session reads it): ssh's words for it.
    expect(USAGE).toContain('[-E log_file] [-e escape_char] [-F configfile]');
    // OpenSSH 10: `ssh [-Q query_option]` on a line of its own.
    expect(USAGE.endsWith('\n       pure-ssh [-Q query_option]\n')).toBe(true);
    // ssh wraps its usage within 80 columns.
    for (const line of USAGE.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});

describe('-L forwarding specifications (readconf.c parse_forward)', () => {
  it('port:host:hostport listens on the default (loopback) address', () => {
    expect(parseForwardSpec('63333:localhost:5432')).toEqual({
      listen: { port: 63333 },
      to: { host: 'localhost', port: 5432 },
    });
  });

  it('bind_address:port:host:hostport', () => {
    expect(parseForwardSpec('127.0.0.2:8080:db.internal:80')).toEqual({
      listen: { bindAddress: '127.0.0.2', port: 8080 },
      to: { host: 'db.internal', port: 80 },
    });
  });

  it('an empty bind address and * both mean all interfaces (kept as given)', () => {
    expect(parseForwardSpec(':8080:h:80')!.listen).toEqual({ bindAddress: '', port: 8080 });
    expect(parseForwardSpec('*:8080:h:80')!.listen).toEqual({ bindAddress: '*', port: 8080 });
  });

  it('IPv6 addresses in brackets, on both sides', () => {
    expect(parseForwardSpec('[::1]:8080:[fe80::1]:80')).toEqual({
      listen: { bindAddress: '::1', port: 8080 },
      to: { host: 'fe80::1', port: 80 },
    });
    expect(parseForwardSpec('8080:[2001:db8::5]:443')).toEqual({
      listen: { port: 8080 },
      to: { host: '2001:db8::5', port: 443 },
    });
  });

  it('port:remote_socket and bind:port:remote_socket (direct-streamlocal)', () => {
    expect(parseForwardSpec('5432:/var/run/postgresql/.s.PGSQL.5432')).toEqual({
      listen: { port: 5432 },
      to: { path: '/var/run/postgresql/.s.PGSQL.5432' },
    });
    expect(parseForwardSpec('localhost:5432:/run/pg.sock')).toEqual({
      listen: { bindAddress: 'localhost', port: 5432 },
      to: { path: '/run/pg.sock' },
    });
  });

  it('local_socket:host:hostport and local_socket:remote_socket', () => {
    expect(parseForwardSpec('/tmp/l.sock:localhost:5432')).toEqual({
      listen: { path: '/tmp/l.sock' },
      to: { host: 'localhost', port: 5432 },
    });
    expect(parseForwardSpec('/tmp/l.sock:/run/r.sock')).toEqual({
      listen: { path: '/tmp/l.sock' },
      to: { path: '/run/r.sock' },
    });
  });

  it('the / separator of ssh before 6.7 is refused, as ssh 9 refuses it', () => {
    expect(parseForwardSpec('8080/localhost/80')).toBeNull();
    expect(parseForwardSpec('1.2.3.4/8080/h/80')).toBeNull();
    expect(errorOf(() => resolveCommandLine(['-N', '-L', '8080/h/80', 'host'], env())).message).toBe("Bad local forwarding specification '8080/h/80'");
  });

  it('listening port 0 only for -R / RemoteForward (readconf.c parse_forward), with ssh 9.2\'s messages', () => {
    expect(parseForwardSpec('0:127.0.0.1:22')).toBeNull();
    expect(parseForwardSpec('0:127.0.0.1:22', true)!.listen).toEqual({ port: 0 });
    for (const [args, message] of [
      [['-L', '0:h:22'], "Bad local forwarding specification '0:h:22'"],
      [['-L', 'localhost:0:h:22'], "Bad local forwarding specification 'localhost:0:h:22'"],
      [['-D', '0'], "Bad dynamic forwarding specification '0'"],
      [['-D', 'localhost:0'], "Bad dynamic forwarding specification 'localhost:0'"],
      [['-o', 'LocalForward 0 h:22'], 'command-line line 0: Bad forwarding specification.'],
      [['-o', 'DynamicForward 0'], 'command-line line 0: Bad forwarding specification.'],
    ] as const) {
      const e = errorOf(() => resolveCommandLine(['-N', ...args, 'host'], env()));
      expect(e.message, args.join(' ')).toBe(message);
      expect(e.exitCode).toBe(255);
    }
    const c = resolve(['-N', '-R', '0:h:22', '-o', 'RemoteForward 0 h:23', 'host']);
    expect(c.remoteForwards.map((f) => f.listen)).toEqual([{ port: 0 }, { port: 0 }]);
  });

  it('the same -L, -R or -D twice is one forward (readconf.c add_local_forward / add_remote_forward)', () => {
    const c = resolve(['-N', '-L', '5:h:22', '-L', '5:h:22', '-o', 'LocalForward 5 h:22', '-L', '6:h:22',
      '-R', '7:h:22', '-R', '7:h:22', '-D', '1080', '-D', '1080', 'host']);
    expect(c.localForwards.map((f) => f.listen)).toEqual([{ port: 5 }, { port: 6 }]);
    expect(c.remoteForwards).toHaveLength(1);
    expect(c.dynamicForwards).toEqual([{ port: 1080 }]);
  });

  it.each([
    'bad',
    '8080',
    '8080:host',
    '8080:host:0',
    '8080:host:port',
    '70000:host:80',
    'a:b:c:d:e',
    '8080::80',
    '[::1:8080:h:80',
    '[::1]x:8080:h:80',
    '1:2:3:4:5',
    '',
    '-1:h:80',
  ])('rejects %j', (spec) => {
    expect(parseForwardSpec(spec)).toBeNull();
  });

  it('a bad -L on the command line is the ssh error, exit 255', () => {
    const e = errorOf(() => resolveCommandLine(['-N', '-L', '8080:nohostport', 'host'], env()));
    expect(e.message).toBe("Bad local forwarding specification '8080:nohostport'");
    expect(e.exitCode).toBe(255);
  });

  it('several -L accumulate in order, then LocalForward from the config', () => {
    const c = resolve(['-N', '-L', '1:a:1', '-L2:b:2', 'h'], { '/home/joe/.ssh/config': 'LocalForward 3 c:3\n' });
    expect(c.localForwards.map((f) => (f.to as { host: string }).host)).toEqual(['a', 'b', 'c']);
  });
});

describe('argument parsing (ssh(1) getopt)', () => {
  it('no arguments and -h print usage (exit 255 in cli.ts)', () => {
    expect(resolveCommandLine([], env()).kind).toBe('usage');
    // ssh.c's optstring has no `h`: getopt's complaint comes first, as for any unknown letter.
    expect(resolveCommandLine(['-h'], env())).toEqual({ kind: 'usage', message: 'unknown option -- h' });
    expect(resolveCommandLine(['-N'], env()).kind).toBe('usage');
  });

  it('-V wins at once', () => {
    expect(resolveCommandLine(['-V'], env()).kind).toBe('version');
  });

  it('unknown flags give usage with getopt\'s message', () => {
    const out = resolveCommandLine(['-z', 'host'], env());
    expect(out).toEqual({ kind: 'usage', message: 'unknown option -- z' });
    expect(resolveCommandLine(['-p'], env())).toEqual({ kind: 'usage', message: 'option requires an argument -- p' });
  });

  it('combined flags, attached values and -vvv', () => {
    const c = resolve(['-Nvvv', '-p2222', '-ljoe2', '-L8080:h:80', 'host']);
    expect(c.port).toBe(2222);
    expect(c.user).toBe('joe2');
    expect(c.logLevel).toBe('DEBUG3');
    expect(resolve(['-Nv', 'host']).logLevel).toBe('DEBUG1');
    expect(resolve(['-Nq', 'host']).logLevel).toBe('QUIET');
  });

  it('user@host, ssh:// URIs, and the first of -l, -o User and user@ winning (ssh.c `if (options.user == NULL)`)', () => {
    expect(resolve(['-N', 'alice@Example.COM'])).toMatchObject({ user: 'alice', host: 'example.com', port: 22 });
    expect(resolve(['-N', 'ssh://bob@h.example:2200'])).toMatchObject({ user: 'bob', host: 'h.example', port: 2200 });
    // misc.c parse_uri: valid_domain refuses an IPv6 address; ssh prints its usage alone.
    expect(resolveCommandLine(['-N', 'ssh://[::1]:2201'], env())).toEqual({ kind: 'usage', message: undefined });
    expect(resolve(['-N', 'a@b', '-l', 'c']).user).toBe('a');
    expect(resolve(['-N', '-l', 'c', 'a@b']).user).toBe('c');
    // break20 F3: the last -l used to win, and -l used to beat -o User.
    expect(resolve(['-N', '-l', 'a', '-l', 'b', 'h']).user).toBe('a');
    expect(resolve(['-N', '-o', 'User=x', '-l', 'y', 'h']).user).toBe('x');
    expect(resolve(['-N', '-l', 'y', '-o', 'User=x', 'h']).user).toBe('y');
    expect(resolve(['-N', '-p', '1', 'ssh://h:2']).port).toBe(1);
  });

  it('options may follow the destination', () => {
    const c = resolve(['host', '-N', '-L', '1:a:2', '-o', 'Port=2022']);
    expect(c.port).toBe(2022);
    expect(c.localForwards).toHaveLength(1);
  });

  it('a remote command is an error where ssh would run it, exit 255', () => {
    const e = errorOf(() => resolveCommandLine(['-L', '1:a:2', 'host', 'ls', '-l'], env()));
    expect(e.exitCode).toBe(255);
    expect(e.message).toMatch(/remote commands are not supported \(got 'ls -l'\)/);
  });

  // break38 F15: ssh.c's -N and -W set SessionType none, and ssh_session2 opens no session, so
  // the command words are never used; ssh says nothing of them, pure-ssh a -v line.
  it('a remote command with -N, -W or SessionType none is taken and not run, with a -v line', () => {
    for (const args of [['-N'], ['-W', 'a:1'], ['-o', 'SessionType=none', '-L', '1:a:2']]) {
      const c = resolve([...args, 'host', 'ls', '-l']);
      expect(c.notes, args.join(' ')).toContain("remote command 'ls -l' not run: no session is opened (-N, -W or SessionType none), as by ssh");
    }
    expect(resolve(['-N', 'host']).notes.some((n) => n.startsWith('remote command'))).toBe(false);
  });

  it('without -N: -L continues with a warning; nothing to do is an error', () => {
    expect(resolve(['-L', '1:a:2', 'host']).warnNoShell).toBe(true);
    expect(resolve(['-N', '-L', '1:a:2', 'host']).warnNoShell).toBe(false);
    expect(errorOf(() => resolveCommandLine(['host'], env())).message).toMatch(/shells are not supported/);
  });

  it('unsupported ssh flags are refused by name, never skipped', () => {
    expect(errorOf(() => resolveCommandLine(['-N', '-A', 'host'], env())).message).toBe(
      'pure-ssh: option -A is not supported yet (agent forwarding)',
    );
    for (const [flag, what] of [
      ['-A', 'agent forwarding'], ['-X', 'X11 forwarding'],
      ['-t', 'pseudo-terminals'],
      ['-Z', 'listing the keys to offer'], ['-s', 'subsystems'],
    ] as const) {
      const args = ['-N', flag, 'host'];
      expect(errorOf(() => resolveCommandLine(args, env())).message).toBe(`pure-ssh: option ${flag} is not supported yet (${what})`);
    }
    expect(errorOf(() => resolveCommandLine(['-1', 'host'], env())).message).toBe('SSH protocol v.1 is no longer supported');
    // Flags asking for what pure-ssh does anyway (no pty, stdin, X11, agent, delegation; protocol 2).
    expect(resolve(['-NTnxak2', 'host']).host).toBe('host');
    // -e: any escape character ssh takes (break38 F13); the last -e counts, and -v says it has no
    // effect (no session reads it). `none` asks for what pure-ssh does: no line.
    expect(resolve(['-N', '-e', 'none', 'host']).notes.some((n) => n.startsWith('-e'))).toBe(false);
    expect(resolve(['-N', '-e', '~', '-e', 'none', 'host']).options.escapeChar).toEqual({ value: 'none', where: '-e' });
    const e = resolve(['-N', '-e', 'none', '-e', '~', 'host']);
    expect(e.options.escapeChar).toEqual({ value: 0x7e, where: '-e' });
    expect(e.notes).toContain('-e ~ has no effect: it applies to sessions, and pure-ssh opens none, like ssh -N');
  });

  it('-p rejects bad ports like ssh', () => {
    expect(errorOf(() => resolveCommandLine(['-p', '0', 'host'], env())).message).toBe("Bad port '0'");
  });

  it('-4/-6, -g and -c', () => {
    const c = resolve(['-N4g', '-c', 'chacha20-poly1305@openssh.com', 'h']);
    expect(c.addressFamily).toBe('inet');
    expect(c.gatewayPorts).toBe(true);
    expect(c.algorithms.cipher).toBe('chacha20-poly1305@openssh.com');
    expect(resolve(['-N6', 'h']).addressFamily).toBe('inet6');
  });
});

describe('-o options', () => {
  it('both -o forms, case-insensitive keywords', () => {
    const c = resolve(['-N', '-o', 'port=2022', '-o', 'USER alice', '-o', 'ConnectTimeout = 7', 'h']);
    expect(c).toMatchObject({ port: 2022, user: 'alice', connectTimeout: 7 });
  });

  it('a quote left open: "invalid quotes", as ssh -o says', () => {
    expect(errorOf(() => resolveCommandLine(['-o', "User 'a", 'h'], env())).message).toBe('command-line line 0: invalid quotes');
  });

  it('unknown keyword: OpenSSH\'s message, exit 255', () => {
    const e = errorOf(() => resolveCommandLine(['-o', 'Foo=bar', 'h'], env()));
    expect(e.message).toBe('command-line: line 0: Bad configuration option: foo');
    expect(e.exitCode).toBe(255);
  });

  it('known but unsupported OpenSSH keywords are an error on the command line, naming the option', () => {
    const e = errorOf(() => resolveCommandLine(['-o', 'ControlMaster=auto', '-N', 'h'], env()));
    expect(e.message).toBe(
      'command-line line 0: unsupported option "ControlMaster": pure-ssh does not implement it yet ' +
        '(connections are not shared: each run makes its own)',
    );
    expect(e.exitCode).toBe(255);
    expect(errorOf(() => resolveCommandLine(['-o', 'BindAddress=127.0.0.2', '-N', 'h'], env())).message).toMatch(
      /^command-line line 0: unsupported option "BindAddress": /,
    );
    // A value asking for what pure-ssh does anyway is fine.
    expect(resolve(['-o', 'ControlMaster=no', '-o', 'ProxyJump=none', '-o', 'ForwardAgent=no', '-N', 'h']).host).toBe('h');
    expect(errorOf(() => resolveCommandLine(['-o', 'Host=x', '-N', 'h'], env())).message).toBe(
      'Host directive not supported as a command-line option',
    );
  });

  it('first value obtained wins, between -p and -o Port too (ssh.c: -p only when options.port is unset)', () => {
    expect(resolve(['-N', '-o', 'Port=1', '-o', 'Port=2', 'h']).port).toBe(1);
    // OpenSSH 9.2: `ssh -G -o Port=5 -p 6 h` prints `port 5`; `-p 6 -o Port=5` prints `port 6`.
    expect(resolve(['-N', '-o', 'Port=1', '-p', '3', 'h']).port).toBe(1);
    expect(resolve(['-N', '-p', '3', '-o', 'Port=1', 'h']).port).toBe(3);
    expect(resolve(['-N', '-p', '3', '-p', '4', 'h']).port).toBe(3);
    // A later -p is not even checked (ssh.c skips a2port once the port is set).
    expect(resolve(['-N', '-p', '3', '-p', 'bad', 'h']).port).toBe(3);
  });

  it('-p and Port read the number as misc.c a2port (strtonum): leading spaces and a sign are allowed', () => {
    expect(resolve(['-N', '-p', ' 22', 'h']).port).toBe(22);
    expect(resolve(['-N', '-p', '+2022', 'h']).port).toBe(2022);
    expect(resolve(['-N', '-o', 'Port +23', 'h']).port).toBe(23);
    expect(resolve(['-N', '-o', 'Port " 24"', 'h']).port).toBe(24);
    expect(() => resolve(['-N', '-p', '22 ', 'h'])).toThrow("Bad port '22 '");
    expect(() => resolve(['-N', '-p', '-0', 'h'])).toThrow("Bad port '-0'");
    expect(() => resolve(['-N', '-o', 'Port -1', 'h'])).toThrow("command-line line 0: Bad port '-1'.");
    expect(() => resolve(['-N', '-o', 'Port 65536', 'h'])).toThrow("command-line line 0: Bad port '65536'.");
  });

  it('StrictHostKeyChecking values, off = no', () => {
    for (const [v, want] of [['yes', 'yes'], ['no', 'no'], ['off', 'no'], ['accept-new', 'accept-new'], ['ask', 'ask']]) {
      expect(resolve(['-N', '-o', `StrictHostKeyChecking=${v}`, 'h']).strictHostKeyChecking).toBe(want);
    }
    expect(resolve(['-N', 'h']).strictHostKeyChecking).toBe('ask');
    expect(() => resolve(['-N', '-o', 'StrictHostKeyChecking=maybe', 'h'])).toThrow(/unsupported option "maybe"/);
  });

  it('UserKnownHostsFile is a list; /dev/null works; the global files follow', () => {
    const c = resolve(['-N', '-o', 'UserKnownHostsFile=/dev/null ~/kh', 'h']);
    expect(c.knownHostsFiles).toEqual(['/dev/null', '/home/joe/kh', '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    const d = resolve(['-N', 'h']);
    expect(d.knownHostsFiles.slice(0, 2)).toEqual(['/home/joe/.ssh/known_hosts', '/home/joe/.ssh/known_hosts2']);
  });

  it('numbers, times, flags', () => {
    const c = resolve([
      '-N', '-o', 'ServerAliveInterval=1m', '-o', 'ServerAliveCountMax=5', '-o', 'BatchMode=yes',
      '-o', 'PasswordAuthentication=no', '-o', 'PubkeyAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
      '-o', 'NumberOfPasswordPrompts=1', '-o', 'ExitOnForwardFailure=yes', '-o', 'HashKnownHosts=yes',
      '-o', 'GatewayPorts=yes', '-o', 'IdentitiesOnly=yes', 'h',
    ]);
    expect(c).toMatchObject({
      serverAliveInterval: 60, serverAliveCountMax: 5, batchMode: true, passwordAuthentication: false,
      pubkeyAuthentication: false, kbdInteractiveAuthentication: false, numberOfPasswordPrompts: 1,
      exitOnForwardFailure: true, hashKnownHosts: true, gatewayPorts: true,
    });
    expect(() => resolve(['-N', '-o', 'BatchMode=maybe', 'h'])).toThrow('command-line line 0: unsupported option "maybe".');
    expect(() => resolve(['-N', '-o', 'ServerAliveCountMax=x', 'h'])).toThrow(/integer value invalid/);
  });

  it('algorithm lists are kept as given (+/-/^ applied by the library)', () => {
    const c = resolve(['-N', '-o', 'Ciphers=^chacha20-poly1305@openssh.com', '-o', 'KexAlgorithms=-sntrup*', '-o', 'HostKeyAlgorithms=+ssh-rsa', 'h']);
    expect(c.algorithms).toEqual({ cipher: '^chacha20-poly1305@openssh.com', kex: '-sntrup*', hostKey: '+ssh-rsa' });
  });

  it('MACs and -m reach the resolved config as given, like Ciphers and -c (names OpenSSH knows; what pure-ssh implements is checked by the library)', () => {
    // Deliberately independent of which MAC names pure-ssh implements.
    expect(resolve(['-N', '-m', 'hmac-sha2-256-etm@openssh.com', 'h']).algorithms.mac).toBe('hmac-sha2-256-etm@openssh.com');
    expect(resolve(['-N', '-o', 'MACs=^umac-128-etm@openssh.com', 'h']).algorithms.mac).toBe('^umac-128-etm@openssh.com');
    expect(resolve(['-N', '-omacs -hmac-sha1*', 'h']).algorithms.mac).toBe('-hmac-sha1*');
    expect(resolve(['-N', 'h']).algorithms.mac).toBeUndefined();
    const files = { '/home/joe/.ssh/config': 'Host h\n  MACs +hmac-sha2-512\n' };
    expect(resolve(['-N', 'h'], files).algorithms.mac).toBe('+hmac-sha2-512');
    // ssh.c assigns -c and -m directly: the last one wins, and they beat -o and the files.
    const c = resolve(
      ['-N', '-o', 'MACs=hmac-sha1', '-m', 'hmac-md5', '-m', 'hmac-sha2-256', '-c', 'aes128-ctr', '-o', 'Ciphers=aes256-ctr', '-c', '3des-cbc', 'h'],
      files,
    );
    expect(c.algorithms).toMatchObject({ mac: 'hmac-sha2-256', cipher: '3des-cbc' });
    // Names OpenSSH does not know are refused at once, as ssh.c does.
    expect(() => resolve(['-N', '-m', 'b', 'h'])).toThrow("Unknown mac type 'b'");
    expect(() => resolve(['-N', '-c', 'z', 'h'])).toThrow("Unknown cipher type 'z'");
    expect(() => resolve(['-N', '-o', 'MACs', 'h'])).toThrow('command-line line 0: no argument after keyword "macs"');
  });

  it('the + - ^ list forms pass through from config files too, for every algorithm keyword', () => {
    const files = {
      '/home/joe/.ssh/config':
        'Host h\n  Ciphers ^chacha20-poly1305@openssh.com\n  KexAlgorithms -ecdh-*\n  HostKeyAlgorithms +ssh-rsa\n  MACs -hmac-md5*\n',
    };
    expect(resolve(['-N', 'h'], files).algorithms).toEqual({
      cipher: '^chacha20-poly1305@openssh.com', kex: '-ecdh-*', hostKey: '+ssh-rsa', mac: '-hmac-md5*',
    });
  });

  it('a single-valued keyword with more arguments is an error, not a silent truncation', () => {
    expect(() => resolve(['-N', '-o', 'Ciphers aes128-ctr aes256-ctr', 'h'])).toThrow(
      'command-line line 0: keyword ciphers extra arguments at end of line',
    );
    const files = { '/home/joe/.ssh/config': 'Port 22\nUser a b\n' };
    expect(() => resolve(['-N', 'h'], files)).toThrow('/home/joe/.ssh/config line 2: keyword user extra arguments at end of line\n/home/joe/.ssh/config: terminating, 1 bad configuration options');
  });

  it('ClearAllForwardings drops the forwards of every source', () => {
    const files = { '/home/joe/.ssh/config': 'LocalForward 3 c:3\nClearAllForwardings yes\n' };
    const c = resolve(['-N', '-L', '1:a:1', 'h'], files);
    expect(c.localForwards).toEqual([]);
    // readconf.c clear_forwardings says nothing, under -v either.
    expect(c.notes.filter((n) => n.includes('ClearAllForwardings'))).toEqual([]);
    expect(resolve(['-N', '-L', '1:a:1', '-o', 'ClearAllForwardings=no', 'h']).localForwards).toHaveLength(1);
  });

  it('SessionType none is -N; subsystem is refused; default needs -N or a forward', () => {
    expect(resolve(['-o', 'SessionType=none', 'h']).warnNoShell).toBe(false);
    expect(resolve(['h'], { '/home/joe/.ssh/config': 'SessionType none\n' }).warnNoShell).toBe(false);
    expect(() => resolve(['-o', 'SessionType=subsystem', 'h'])).toThrow(
      /^command-line line 0: unsupported option "SessionType subsystem": /,
    );
    expect(() => resolve(['-o', 'SessionType=default', 'h'])).toThrow(/shells are not supported/);
    expect(() => resolve(['-o', 'SessionType=maybe', 'h'])).toThrow('command-line line 0: unsupported option "maybe".');
  });

  it('RefuseConnection ends with its message when it applies (OpenSSH 10)', () => {
    const files = { '/home/joe/.ssh/config': 'Host old\n  RefuseConnection "use new.example instead"\n' };
    expect(() => resolve(['-N', 'old'], files)).toThrow(
      new ConfigError('/home/joe/.ssh/config line 2: RefuseConnection: use new.example instead', 255, true),
    );
    expect(resolve(['-N', 'new'], files).host).toBe('new');
  });

  it('LocalForward via -o', () => {
    const c = resolve(['-o', 'LocalForward 127.0.0.1:9000 db:5432', 'h']);
    expect(c.localForwards).toEqual([{ listen: { bindAddress: '127.0.0.1', port: 9000 }, to: { host: 'db', port: 5432 } }]);
    expect(() => resolve(['-o', 'LocalForward 9000', 'h'])).toThrow('command-line line 0: Missing target argument.');
  });

  it('LogLevel, and -v overriding it', () => {
    expect(resolve(['-N', '-o', 'LogLevel=VERBOSE', 'h']).logLevel).toBe('VERBOSE');
    expect(resolve(['-N', '-o', 'LogLevel=debug', 'h']).logLevel).toBe('DEBUG1');
    expect(resolve(['-N', '-o', 'LogLevel=ERROR', '-v', 'h']).logLevel).toBe('DEBUG1');
    expect(() => resolve(['-N', '-o', 'LogLevel=LOUD', 'h'])).toThrow(/log level/);
  });

  it('RekeyLimit: sizes, default, and the time part', () => {
    expect(resolve(['-N', '-o', 'RekeyLimit=1G', 'h']).rekeyLimit).toBe(1024 ** 3);
    expect(resolve(['-N', '-o', 'RekeyLimit=500M', 'h']).rekeyLimit).toBe(500 * 1024 ** 2);
    expect(resolve(['-N', '-o', 'RekeyLimit=default', 'h']).rekeyLimit).toBeUndefined();
    // readconf.c oRekeyLimit: 0 is the default too (`ssh -G -o RekeyLimit=0` prints "rekeylimit 0 0").
    expect(resolve(['-N', '-o', 'RekeyLimit=0', 'h']).rekeyLimit).toBeUndefined();
    const c = resolve(['-N', '-o', 'RekeyLimit 1G 1h', 'h']);
    expect(c.rekeyLimit).toBe(1024 ** 3);
    expect(c.rekeyLimitSeconds).toBe(3600);
    expect(c.notes.join('\n')).not.toMatch(/ignored/);
    expect(() => resolve(['-N', '-o', 'RekeyLimit=lots', 'h'])).toThrow("command-line line 0: Bad number 'lots': Invalid argument");
  });
});

describe('defaults and precedence', () => {
  it('OpenSSH defaults', () => {
    const c = resolve(['-N', 'h']);
    expect(c).toMatchObject({
      port: 22, user: 'joe', hostName: 'h', strictHostKeyChecking: 'ask', batchMode: false,
      numberOfPasswordPrompts: 3, serverAliveInterval: 0, serverAliveCountMax: 3, logLevel: 'INFO',
      exitOnForwardFailure: false, addressFamily: 'any',
    });
    // readconf.c fill_default_options' order (OpenSSH 9.2 and 10).
    expect(c.identityFiles).toEqual(
      ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((n) => ({ path: `/home/joe/.ssh/${n}`, explicit: false })),
    );
  });

  it('-i replaces the default identities, command line first then config', () => {
    const c = resolve(['-N', '-i', '~/k1', '-i', '/abs/k2', 'h'], { '/home/joe/.ssh/config': 'IdentityFile ~/.ssh/k3_%r\n' });
    expect(c.identityFiles.map((f) => f.path)).toEqual(['/home/joe/k1', '/abs/k2', '/home/joe/.ssh/k3_joe']);
    expect(c.identityFiles.every((f) => f.explicit)).toBe(true);
  });

  it('command line beats ~/.ssh/config, which beats /etc/ssh/ssh_config', () => {
    const files = {
      '/home/joe/.ssh/config': 'Host h\n  Port 2001\n  User fromuser\n',
      '/etc/ssh/ssh_config': 'Host *\n  Port 3001\n  User fromsys\n  ConnectTimeout 9\n',
    };
    expect(resolve(['-N', '-p', '1001', 'h'], files)).toMatchObject({ port: 1001, user: 'fromuser', connectTimeout: 9 });
    expect(resolve(['-N', 'h'], files)).toMatchObject({ port: 2001 });
    expect(resolve(['-N', 'other'], files)).toMatchObject({ port: 3001, user: 'fromsys' });
  });

  it('-F replaces both files; -F none reads nothing; a missing -F file is fatal', () => {
    const files = { '/home/joe/.ssh/config': 'Port 2001\n', '/tmp/alt': 'Port 4001\n' };
    expect(resolve(['-N', '-F', '/tmp/alt', 'h'], files).port).toBe(4001);
    expect(resolve(['-N', '-F', 'none', 'h'], files).port).toBe(22);
    expect(errorOf(() => resolveCommandLine(['-N', '-F', '/nope', 'h'], env(files))).message).toMatch(
      /Can't open user config file \/nope/,
    );
  });

  it('HostName with %h, and tokens in IdentityFile', () => {
    const c = resolve(['-N', 'web'], { '/home/joe/.ssh/config': 'Host web\n HostName %h.example.com\n IdentityFile %d/.ssh/%h_%p\n' });
    expect(c.hostName).toBe('web.example.com');
    expect(c.identityFiles[0]!.path).toBe('/home/joe/.ssh/web.example.com_22');
    expect(expandTokens('%%%u', { home: '/h', host: 'x', originalHost: 'x', port: 1, user: 'r', localUser: 'l' })).toBe('%l');
  });
});
