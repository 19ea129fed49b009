import { describe, it, expect } from 'vitest';
import {
  ConfigError,
  emptyOptions,
  hostMatches,
  parseBytes,
  parseTime,
  readConfig,
  splitConfigLine,
  type SshOptions,
} from '../src/config/ssh-config.js';
import { scanScaled } from '../src/config/scan-scaled.js';

function read(text: string, host: string, more: Record<string, string> = {}, dirs: Record<string, string[]> = {}) {
  const o: SshOptions = emptyOptions();
  const notes: string[] = [];
  const files: Record<string, string> = { '/cfg': text, ...more };
  readConfig(o, '/cfg', {
    host,
    fs: { readFile: (p) => files[p], listDir: (d) => dirs[d] },
    includeDir: '/home/joe/.ssh',
    home: '/home/joe',
    note: (m) => notes.push(m),
  });
  return { o, notes };
}

describe('ssh_config line syntax', () => {
  it('keyword and arguments, = optional, quotes, comments', () => {
    expect(splitConfigLine('  Port 22')).toEqual({ keyword: 'Port', args: ['22'], rest: '22', bare: false });
    expect(splitConfigLine('Port=22')).toEqual({ keyword: 'Port', args: ['22'], rest: '22', bare: false });
    expect(splitConfigLine('Port = 22')).toEqual({ keyword: 'Port', args: ['22'], rest: '22', bare: false });
    expect(splitConfigLine('IdentityFile "/a b/key"  # mine')).toEqual({ keyword: 'IdentityFile', args: ['/a b/key'], rest: '"/a b/key"  # mine', bare: false });
    expect(splitConfigLine("User 'a b'")).toEqual({ keyword: 'User', args: ['a b'], rest: "'a b'", bare: false });
    expect(splitConfigLine('# comment')).toBeNull();
    expect(splitConfigLine('   ')).toBeNull();
    // misc.c strdelim: the keyword also ends at a quote, whose text up to the next one it takes.
    expect(splitConfigLine('Us"er" joe')).toEqual({ keyword: 'User', args: ['joe'], rest: 'joe', bare: false });
    expect(splitConfigLine('"User"joe')).toEqual({ keyword: 'User', args: ['joe'], rest: 'joe', bare: false });
    expect(splitConfigLine('"" joe')).toEqual({ keyword: 'joe', args: [], rest: '', bare: true });
    expect(splitConfigLine('""')).toBeNull();
    expect(splitConfigLine('Port \f')).toEqual({ keyword: 'Port', args: [], rest: '', bare: true });
    expect(() => splitConfigLine('"User joe')).toThrow('invalid quotes');
  });

  it('a quote left open is "invalid quotes" (misc.c argv_split), in an inactive block too; closed or escaped ones pass (compared with ssh -G)', () => {
    for (const line of ["User 'a", 'User a"b', "ProxyCommand echo 'x", "User a#'", "User a\\\\'b", "User 'a b' 'c"]) {
      expect(() => read(`Host *\n  ${line}\n`, 'h'), line).toThrow('/cfg line 2: invalid quotes');
      expect(() => read(`Host nothere\n  ${line}\n`, 'h'), line).toThrow('/cfg line 2: invalid quotes');
    }
    for (const line of ["User a\\'b", 'User a # it\'s', "ProxyCommand sh -c 'echo \"hi\"'", 'IdentityFile C:\\x']) {
      expect(() => read(`Host nothere\n  ${line}\n`, 'h'), line).not.toThrow();
    }
  });
});

describe('Host matching (ssh_config(5) PATTERNS)', () => {
  it('wildcards, words and negation; case-sensitive, no comma lists (readconf.c match_pattern per word)', () => {
    expect(hostMatches(['*.example.com'], 'db.example.com')).toBe(true);
    expect(hostMatches(['*.example.com'], 'example.com')).toBe(false);
    expect(hostMatches(['db?'], 'db1')).toBe(true);
    expect(hostMatches(['db?'], 'db12')).toBe(false);
    expect(hostMatches(['a', 'c'], 'c')).toBe(true);
    // break20 F2: `Host web1,web2` is one pattern (ssh goes to web1 itself, not to this block).
    expect(hostMatches(['a', 'b,c'], 'c')).toBe(false);
    expect(hostMatches(['web1,web2'], 'web1')).toBe(false);
    expect(hostMatches(['web1,web2'], 'web1,web2')).toBe(true);
    expect(hostMatches(['*', '!bastion'], 'bastion')).toBe(false);
    expect(hostMatches(['*', '!bastion'], 'web')).toBe(true);
    // A negation alone never selects anything.
    expect(hostMatches(['!bastion'], 'web')).toBe(false);
    // break20 F2: as typed on both sides (`Host MyServer` is not applied for `myserver`).
    expect(hostMatches(['WEB'], 'web')).toBe(false);
    expect(hostMatches(['web'], 'WEB')).toBe(false);
    expect(hostMatches(['MyServer'], 'MyServer')).toBe(true);
    expect(hostMatches(['*', '!bastion'], 'Bastion')).toBe(true);
    expect(hostMatches(['my*'], 'MYSERVER')).toBe(false);
    expect(hostMatches(['a.b'], 'axb')).toBe(false);
  });
});

describe('reading files', () => {
  const text = [
    '# global part',
    'ConnectTimeout 5',
    'Host db',
    '  HostName db.internal',
    '  User dbuser',
    '  Port 2222',
    'Host * !db',
    '  User everyone',
    'Host *',
    '  Port 22',
    '  User last',
    '  IdentityFile ~/.ssh/a',
    '  IdentityFile ~/.ssh/b',
    '',
  ].join('\n');

  it('applies matching blocks in order, first value wins, lists accumulate', () => {
    const { o } = read(text, 'db');
    expect(o).toMatchObject({ connectTimeout: 5, hostName: 'db.internal', user: 'dbuser', port: 2222 });
    expect(o.identityFiles).toEqual(['~/.ssh/a', '~/.ssh/b']);
    const other = read(text, 'web').o;
    expect(other).toMatchObject({ user: 'everyone', port: 22 });
    expect(other.hostName).toBeUndefined();
  });

  it('unknown keywords are an error naming file and line, even in a block that does not match', () => {
    expect(() => read('Host nothere\n  Bogus yes\n', 'web')).toThrow(ConfigError);
    expect(() => read('Host nothere\n  Bogus yes\n', 'web')).toThrow('/cfg: line 2: Bad configuration option: bogus');
  });

  it('bad values are errors too', () => {
    expect(() => read('Port abc\n', 'h')).toThrow("/cfg line 1: Bad port 'abc'.");
    // readconf.c: an empty algorithm list after + or ^ (it was taken as "the defaults").
    expect(() => read('Ciphers +\n', 'h')).toThrow("/cfg line 1: Bad SSH2 cipher spec '+'.");
    expect(() => read('Ciphers ^\n', 'h')).toThrow("/cfg line 1: Bad SSH2 cipher spec '^'.");
    expect(() => read('MACs +\n', 'h')).toThrow("/cfg line 1: Bad SSH2 MAC spec '+'.");
    expect(() => read('KexAlgorithms +\n', 'h')).toThrow("/cfg line 1: Bad SSH2 KexAlgorithms '+'.");
    expect(() => read('HostKeyAlgorithms +\n', 'h')).toThrow("/cfg line 1: Bad key types '+'.");
    expect(read('Ciphers aes128-ctr,,aes256-ctr\n', 'h').o.ciphers).toBe('aes128-ctr,,aes256-ctr');
  });

  it('harmless OpenSSH keywords pure-ssh does not implement are skipped with a note giving the reason', () => {
    const { o, notes } = read('ForwardAgent yes\nControlMaster auto\nControlPath ~/.ssh/cm-%r@%h:%p\nPort 2\n', 'h');
    expect(o.port).toBe(2);
    expect(notes).toContain(
      '/cfg line 1: ignoring unsupported option "ForwardAgent": agent forwarding is requested on a session, and pure-ssh opens none, like ssh -N',
    );
    expect(notes.join('\n')).toMatch(/line 2: ignoring unsupported option "ControlMaster": connections are not shared/);
  });

  it('keywords that change the route, host key check or authentication are errors naming file and line', () => {
    expect(() => read('Host *\n  User u\n  BindAddress 127.0.0.2\n', 'h')).toThrow(
      new ConfigError(
        '/cfg line 3: unsupported option "BindAddress": pure-ssh does not implement it yet ' +
          '(it sets the local address the connection leaves from)' +
          '\n/cfg: terminating, 1 bad configuration options',
        255,
        true,
      ),
    );
    expect(() => read('kbdinteractivedevices pam\n', 'h')).toThrow(/^\/cfg line 1: unsupported option "KbdInteractiveDevices": /);
    expect(() => read('BindAddress 127.0.0.2\n', 'h')).toThrow(/line 1: unsupported option "BindAddress"/);
    // Only when the line applies: a bind address set for other hosts does not stop this one.
    expect(read('Host gw-only\n  BindAddress 127.0.0.2\nHost *\n  Port 3\n', 'h').o.port).toBe(3);
    // "none" asks for the direct connection pure-ssh makes anyway.
    expect(read('ProxyJump none\nProxyCommand none\nPort 4\n', 'h').o.port).toBe(4);
  });
  it('IgnoreUnknown lets a file carry keywords nobody knows', () => {
    const { o } = read('IgnoreUnknown Frobnicate,Zap*\nFrobnicate yes\nZapIt 1\nPort 7\n', 'h');
    expect(o.port).toBe(7);
  });

  it('Match all applies; unknown criteria are errors naming file and line', () => {
    const { o } = read('Match all\n  User u\n', 'h');
    expect(o.user).toBe('u');
    // OpenSSH 10's Match version: against pure-ssh's own release (pure-ssh_VERSION).
    expect(read('Port 1\nMatch version 10*\n  User v\n', 'h').o.user).toBeUndefined();
    expect(read('Match version pure-ssh_*\n  User v\n', 'h').o.user).toBe('v');
    expect(() => read('Match frob x\n', 'h')).toThrow(new ConfigError('Unsupported Match attribute frob\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options', 255, true));
    expect(() => read('Match all user x\n', 'h')).toThrow(new ConfigError("/cfg line 1: 'all' cannot be combined with other Match attributes\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options", 255, true));
    expect(() => read('Match\n', 'h')).toThrow(new ConfigError('/cfg line 1: no argument after keyword "match"\n/cfg: terminating, 1 bad configuration options', 255, true));
    expect(() => read('Match # nothing\n', 'h')).toThrow(new ConfigError('One or more attributes required for Match\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options', 255, true));
    expect(() => read('Match host\n', 'h')).toThrow(new ConfigError("/cfg line 1: missing argument for Match 'host'\n/cfg line 1: Bad Match condition\n/cfg: terminating, 1 bad configuration options", 255, true));
    // Without a way to run commands (the pure reader's default), a Match exec reached is an error.
    expect(() => read('Match exec true\n', 'h')).toThrow('/cfg line 1: unsupported option "Match exec": commands cannot be run here');
  });

  it('Include: relative to ~/.ssh, globs, only inside active blocks', () => {
    const { o } = read(
      'Host h\n  Include conf.d/*.conf\nHost other\n  Include /etc/never\n',
      'h',
      { '/home/joe/.ssh/conf.d/a.conf': 'Port 11\n', '/home/joe/.ssh/conf.d/b.conf': 'Port 12\nUser fromb\n' },
      { '/home/joe/.ssh/conf.d': ['b.conf', 'a.conf', 'x.txt'] },
    );
    expect(o).toMatchObject({ port: 11, user: 'fromb' });
  });

  it('LocalForward lines', () => {
    const { o } = read('LocalForward 63333 localhost:5432\nLocalForward [::1]:1 /run/s.sock\n', 'h');
    expect(o.localForwards).toEqual([
      { listen: { port: 63333 }, to: { host: 'localhost', port: 5432 } },
      { listen: { bindAddress: '::1', port: 1 }, to: { path: '/run/s.sock' } },
    ]);
    expect(() => read('LocalForward 63333\n', 'h')).toThrow(/line 1: Missing target argument\./);
  });
});

describe('value formats', () => {
  it('times (misc.c convtime)', () => {
    expect(parseTime('30')).toBe(30);
    expect(parseTime('1m30s')).toBe(90);
    expect(parseTime('2h')).toBe(7200);
    expect(parseTime('1x')).toBe(-1);
    expect(parseTime('')).toBe(-1);
    // OpenSSH 10.0: no sign, each part and the sum at most INT_MAX.
    expect(parseTime('+5')).toBe(-1);
    expect(parseTime('1h5')).toBe(3605);
    expect(parseTime('2147483647')).toBe(2147483647);
    expect(parseTime('2147483647s1s')).toBe(-1);
    expect(parseTime('36000000h')).toBe(-1);
    expect(parseTime('m')).toBe(-1);
  });

  it('byte sizes', () => {
    expect(parseBytes('1G')).toBe(2 ** 30);
    expect(parseBytes('500M')).toBe(500 * 2 ** 20);
    expect(parseBytes('64K')).toBe(65536);
    expect(parseBytes('1T')).toBe(2 ** 40);
    expect(parseBytes('1.5M')).toBe(1572864);
    expect(parseBytes('-1')).toBe(-1);
    expect(parseBytes('1KB')).toBe(-1);
  });

  it('scan_scaled (fmt_scaled.c): fractions, signs, range, as OpenSSH 9.2 and 10.0 read them', () => {
    expect(scanScaled('1.5M')).toBe(1572864n);
    expect(scanScaled(' +1.5k')).toBe(1536n);
    expect(scanScaled('1.5')).toBe(1n);
    expect(scanScaled('M')).toBe(0n);
    expect(scanScaled('1M-x')).toBe(1048576n);
    expect(scanScaled('1Mx')).toBe('EINVAL');
    expect(scanScaled('--1')).toBe('EINVAL');
    expect(scanScaled('1..5M')).toBe('EINVAL');
    expect(scanScaled('-1.5M')).toBe(-1572864n);
    expect(scanScaled('7E')).toBe(7n * 2n ** 60n);
    expect(scanScaled('7.9999E')).toBe(7n * 2n ** 60n);
    expect(scanScaled('1.123456789012345678901234M')).toBe(1178029n);
    expect(scanScaled('9223372036854775807')).toBe(2n ** 63n - 1n);
    expect(scanScaled('8E')).toBe('ERANGE');
    expect(scanScaled('99999999999999999999')).toBe('ERANGE');
    expect(scanScaled('1.9999999999999999999M')).toBe('ERANGE');
  });
});
