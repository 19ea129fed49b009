/**
 * The route options on the command line and in config files, without a network: -J/ProxyJump
 * lists, ProxyCommand tokens, which of the two wins, -W, -f, -E (ssh.c and readconf.c rules).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, jumpHostArgv, parseJumpSpec, proxyCommandToRun, resolveCommandLine, type CliEnvironment, type ResolvedConfig } from '../src/config/cli-args.js';

function env(files: Record<string, string> = {}): CliEnvironment {
  return { env: {}, home: '/home/joe', localUser: 'joe', fs: { readFile: (p) => files[p], listDir: () => [] } };
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

describe('ProxyJump lists (readconf.c parse_jump)', () => {
  it('ssh.c: the last hop being the destination (same port and user) is "jumphost loop via HOST"', () => {
    const cfg = { '/cfg': 'Host a\n  ProxyJump a\n' };
    expect(errorOf(() => resolve(['-N', '-F', '/cfg', 'a'], cfg)).message).toBe('jumphost loop via a');
    expect(errorOf(() => resolve(['-N', '-J', 'x,joe@a:22', 'joe@a'])).message).toBe('jumphost loop via a');
    // Another port or user is another connection (its own configuration may loop later).
    expect(resolve(['-N', '-J', 'a:2222', 'a']).proxy).toMatchObject({ kind: 'jump' });
    expect(resolve(['-N', '-J', 'bob@a', 'a']).proxy).toMatchObject({ kind: 'jump' });
  });

  it('[user@]host[:port], IPv6 in brackets, ssh:// URIs, none', () => {
    expect(parseJumpSpec('alice@gw:2222,[::1]:22,ssh://bob@inner:23,plain')).toEqual([
      { user: 'alice', host: 'gw', port: 2222 },
      { user: undefined, host: '::1', port: 22 },
      { user: 'bob', host: 'inner', port: 23 },
      { user: undefined, host: 'plain', port: undefined },
    ]);
    expect(parseJumpSpec('NONE')).toBe('none');
    for (const bad of ['', 'a,,b', 'gw:0', 'gw:99999', '@gw', 'a:b:c', 'gw:x']) expect(parseJumpSpec(bad), bad).toBeNull();
  });

  it('-J: one only, never with ProxyCommand, a bad list is "Invalid -J argument"', () => {
    expect(resolve(['-N', '-J', 'a@gw:2,b', 'h']).proxy).toEqual({
      kind: 'jump',
      hops: [{ user: 'a', host: 'gw', port: 2 }, { user: undefined, host: 'b', port: undefined }],
      extra: 'a@gw:2',
    });
    const single = 'Only a single -J option is permitted (use commas to separate multiple jump hops)';
    expect(errorOf(() => resolve(['-N', '-J', 'a', '-J', 'b', 'h'])).message).toBe(single);
    // ssh.c: -J after -o ProxyJump (none included) is a second one; after ProxyCommand none, a ProxyCommand.
    // (OpenSSH 9.2: `ssh -G -o ProxyJump=a -J b h` fails so; pure-ssh kept `a` and dropped `b`.)
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyJump=a', '-J', 'b', 'h'])).message).toBe(single);
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyJump=none', '-J', 'b', 'h'])).message).toBe(single);
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyCommand=none', '-J', 'b', 'h'])).message).toBe('Cannot specify -J with ProxyCommand');
    // A host name with a space is refused, in -J and in files, and from the command line named as
    // OpenSSH 10.1's readconf.c parse_jump names it ("invalid hostname"; 9.2 and 10.0 silently
    // jump through "a" for `-J 'a b'` or `-J 'a b,c'`, misc.c's rtrim bug, and through a host
    // named `"a` for `ProxyJump "a b"` in a file). -o takes the rest of the line, quotes and all.
    expect(errorOf(() => resolve(['-N', '-J', 'a b', 'h'])).message).toBe('parse_jump: invalid hostname "a b"\nInvalid -J argument');
    expect(errorOf(() => resolve(['-N', '-J', 'a, b', 'h'])).message).toBe('parse_jump: invalid hostname " b"\nInvalid -J argument');
    expect(errorOf(() => resolve(['-N', '-J', ' a', 'h'])).message).toBe('parse_jump: invalid hostname " a"\nInvalid -J argument');
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyJump "a b"', 'h'])).message).toBe('parse_jump: invalid hostname ""a b""\ncommand-line line 0: Invalid ProxyJump ""a b""');
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyJump=x,a b', 'h'])).message).toBe('parse_jump: invalid hostname "a b"\ncommand-line line 0: Invalid ProxyJump "x,a b"');
    expect(errorOf(() => resolve(['-N', 'h'], { '/home/joe/.ssh/config': 'ProxyJump "a b"\n' })).message).toMatch(/line 1: Invalid ProxyJump "a b"/);
    // Trailing blanks and a `#` comment end the value, in every OpenSSH.
    expect(resolve(['-N', '-J', 'a:2 #c', 'h']).proxy).toEqual({ kind: 'jump', hops: [{ user: undefined, host: 'a', port: 2 }] });
    expect(resolve(['-N', '-o', 'ProxyJump=x,a#c', 'h']).proxy).toMatchObject({ kind: 'jump', extra: 'x' });
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyCommand=nc %h %p', '-J', 'b', 'h'])).message).toBe('Cannot specify -J with ProxyCommand');
    expect(errorOf(() => resolve(['-N', '-J', 'gw:0', 'h'])).message).toBe('Invalid -J argument');
    expect(errorOf(() => resolve(['-N', '-o', 'ProxyJump=a:b:c', 'h'])).message).toBe('command-line line 0: Invalid ProxyJump "a:b:c"');
    expect(resolve(['-N', '-J', 'none', 'h']).proxy).toBeUndefined();
  });

  it('the first of ProxyJump and ProxyCommand obtained wins; -J beats the config; none counts', () => {
    const cfg = { '/home/joe/.ssh/config': 'Host h\n  ProxyCommand nc %h %p\n  ProxyJump gw\nHost *\n  ProxyJump other\n' };
    expect(resolve(['-N', 'h'], cfg).proxy).toEqual({ kind: 'command', command: 'nc %h %p' });
    expect(resolve(['-N', '-J', 'x', 'h'], cfg).proxy).toEqual({ kind: 'jump', hops: [{ user: undefined, host: 'x', port: undefined }] });
    expect(resolve(['-N', '-o', 'ProxyJump=none', 'h'], cfg).proxy).toBeUndefined();
    expect(resolve(['-N', '-o', 'ProxyCommand=none', 'h'], cfg).proxy).toBeUndefined();
    expect(resolve(['-N', 'k'], cfg).proxy).toEqual({ kind: 'jump', hops: [{ user: undefined, host: 'other', port: undefined }] });
  });

  it('the last hop is resolved like `ssh -l u -p P -J rest -F file -v -W [%h]:%p last` (ssh.c)', () => {
    const c = resolve(['-N', '-v', '-F', '/cfg', '-J', 'a,u@b:7', 'h'], { '/cfg': '' });
    expect(c.notes).toContain("Setting implicit ProxyCommand from ProxyJump: pure-ssh -l u -p 7 -J a -F /cfg -v -W '[%h]:%p' b");
    expect(jumpHostArgv(c.proxy?.kind === 'jump' ? c.proxy.hops : [], c, c)).toEqual(['-l', 'u', '-p', '7', '-J', 'a', '-F', '/cfg', '-v', '-W', '[h]:22', 'b']);
    // The hop's own User and Port come from its Host block when the list does not name them.
    const files = { '/cfg': 'Host b\n  User hopper\n  Port 2200\n  HostName 10.1.2.3\n' };
    const hop = resolve(jumpHostArgv([{ host: 'a' }, { host: 'b' }], { configFile: '/cfg', verbose: 0 }, { hostName: '::1', port: 2222 }), files);
    expect(hop).toMatchObject({ host: 'b', hostName: '10.1.2.3', user: 'hopper', port: 2200, stdioForward: { host: '::1', port: 2222 } });
    expect(hop.proxy).toEqual({ kind: 'jump', hops: [{ user: undefined, host: 'a', port: undefined }] });
  });
});

describe('ProxyCommand tokens (sshconnect.c expand_proxy_command)', () => {
  it('%h %p %r %n %% expanded once connecting; others are percent_expand errors then, not while resolving', () => {
    const files = { '/home/joe/.ssh/config': 'Host db\n  HostName 10.0.0.9\n  User dba\n  Port 2222\n  ProxyCommand ssh -W %h:%p gw -o User=%r -o Tag=%n%%\n' };
    expect(resolve(['-N', 'db'], files).proxy).toEqual({ kind: 'command', command: 'ssh -W %h:%p gw -o User=%r -o Tag=%n%%' });
    expect(proxyCommandToRun(resolve(['-N', 'db'], files))).toBe('ssh -W 10.0.0.9:2222 gw -o User=dba -o Tag=db%');
    const unknown = resolve(['-N', '-o', 'ProxyCommand=nc %d', 'h']);
    expect(errorOf(() => proxyCommandToRun(unknown)).message).toBe('vdollar_percent_expand: unknown key %d\npercent_expand: failed');
    // A quoted argument holding spaces reaches /bin/sh quoted.
    expect(proxyCommandToRun(resolve(['-N', '-o', 'ProxyCommand=sh -c "exec nc %h %p"', 'h']))).toBe('sh -c "exec nc h 22"');
    expect(proxyCommandToRun(resolve(['-N', '-J', 'gw', 'h']))).toBeUndefined();
  });
});

describe('-W, -f, -E, -n, -T', () => {
  it('-W host:port implies no session; a bad spec is ssh\'s message', () => {
    expect(resolve(['-W', 'db:5432', 'gw'])).toMatchObject({ stdioForward: { host: 'db', port: 5432 }, warnNoShell: false });
    expect(resolve(['-W', '[::1]:22', 'gw']).stdioForward).toEqual({ host: '::1', port: 22 });
    expect(errorOf(() => resolve(['-W', 'db', 'gw'])).message).toBe("Bad stdio forwarding specification 'db'");
    // A bare port names no host: ssh forwards nothing, a -N -T session (ssh.c stdio_forward_host NULL).
    expect(resolve(['-W', '22', 'gw'])).toMatchObject({ stdioForward: undefined, warnNoShell: false });
    expect(resolve(['-W', '22', '-W', 'db:5432', 'gw']).stdioForward).toEqual({ host: 'db', port: 5432 });
    expect(errorOf(() => resolve(['-W', 'a:1', '-W', 'b:2', 'gw'])).message).toBe('stdio forward already specified');
  });

  it('-f needs -N (no command to run otherwise); ForkAfterAuthentication in a file; -E is opened as written (ssh.c log_redirect_stderr_to: no ~, no tokens)', () => {
    expect(resolve(['-f', '-N', 'h']).forkAfterAuthentication).toBe(true);
    expect(resolve(['-N', 'h'], { '/home/joe/.ssh/config': 'ForkAfterAuthentication yes\n' }).forkAfterAuthentication).toBe(true);
    expect(errorOf(() => resolve(['-f', '-L', '1:a:2', 'h'])).message).toBe('Cannot fork into background without a command to execute.');
    // ssh.c main checks -f before anything else about the session, and before -G prints.
    expect(errorOf(() => resolve(['-f', 'h'])).message).toBe('Cannot fork into background without a command to execute.');
    expect(errorOf(() => resolve(['-o', 'ForkAfterAuthentication=yes', 'h'])).message).toBe('Cannot fork into background without a command to execute.');
    expect(errorOf(() => resolveCommandLine(['-G', '-f', 'h'], env())).message).toBe('Cannot fork into background without a command to execute.');
    expect(resolveCommandLine(['-G', '-f', '-N', 'h'], env()).kind).toBe('dump');
    expect(resolve(['-N', '-E', '~/ssh.log', '-nT', 'h']).logFile).toBe('~/ssh.log');
    expect(resolve(['-N', '-E', '%d/ssh.log', '-nT', 'h']).logFile).toBe('%d/ssh.log');
    expect(resolve(['-N', '-o', 'PureSshReconnect=yes', 'h']).reconnect).toBe(true);
  });
});
