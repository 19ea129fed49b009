/**
 * `[user@]host[:port]` splitting (src/config/destination.ts) for the destination argument and
 * -J hops, case by case against OpenSSH's own `ssh -G -F none` (which parses without connecting):
 * where ssh accepts, pure-ssh must print the same user, hostname, port and proxyjump lines; where
 * it refuses, so must pure-ssh. The few deliberate differences are listed with ssh's answer
 * asserted too, so a change on either side shows. CI=true: a missing /usr/bin/ssh fails.
 */
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { resolveCommandLine, type CliEnvironment } from '../src/config/cli-args.js';
import { splitUserHostPort } from '../src/config/destination.js';
import { dumpConfig } from '../src/config/dump.js';
import { SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

const SSH = SSH_CLIENT_PATH;
const haveSsh = sshClientAvailable();

const KEYWORDS = ['user', 'hostname', 'port', 'proxyjump'];

// The passwd home of every ssh and pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
const home = suiteHome();

/** The user/hostname/port/proxyjump lines of `ssh -G -F none ARGS`, or null when ssh refuses. */
function sshLines(args: string[]): string[] | null {
  const r = spawnSync(SSH, ['-G', '-F', 'none', ...args], { encoding: 'utf8', env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) return null;
  return r.stdout.split('\n').filter((l) => KEYWORDS.includes(l.split(' ')[0]!));
}

const cenv: CliEnvironment = { env: {}, home, localUser: userInfo().username, fs: { readFile: () => undefined, listDir: () => [] } };

/** The same lines from pure-ssh's resolver and -G printer, or null when it refuses. */
function ourLines(args: string[]): string[] | null {
  let out;
  try {
    out = resolveCommandLine(['-G', '-F', 'none', ...args], cenv);
  } catch {
    return null;
  }
  if (out.kind !== 'dump') return null;
  const none = { cipher: [], mac: [], kex: [], hostKey: [], pubkeyAccepted: [] };
  return dumpConfig(out.config, none).filter((l) => KEYWORDS.includes(l.split(' ')[0]!));
}

/** Destinations both parse alike: ssh(1) DESTINATION, plain and ssh://. */
const DESTINATIONS = [
  // Plain `[user@]hostname`: the last `@` ends the user; no port, so `::1` and `[::1]:22` are names.
  '::1',
  '[::1]',
  '[::1]:2222',
  'a@b@host',
  'alice@Example.COM',
  'us%40er@host',
  // ssh://: the first `@` ends the percent-decoded user; `+` is a blank (misc.c urldecode).
  'ssh://bob@h.example:2200',
  'ssh://us%40er@host',
  'ssh://u+s%20t@host',
  'ssh://host/',
  'ssh://host:22/',
  'ssh://host:',
  'ssh://host:+2022',
  'ssh://host:00022',
  'ssh://Host.Example.',
  'ssh://127.0.0.1:23',
  'ssh://[h.example]:23',
  'ssh://ho_st',
  // Refused by both.
  'ssh://a@b@host',
  'ssh://us%zzer@host',
  'ssh://us%4@host',
  'ssh://@host',
  'ssh://;x@host',
  'ssh://host/path',
  'ssh://host:22/path',
  'ssh://host?x',
  'ssh://h%41st',
  'ssh://-host',
  'ssh://_host',
  'ssh://a..b',
  'ssh://host:0',
  'ssh://host:65536',
  'ssh://host:x1',
  'ssh://::1',
  'ssh://fe80::1',
  'ssh://[::1',
  'ssh://[h]x',
  // misc.c parse_uri: valid_domain refuses an IPv6 address, brackets or not.
  'ssh://[::1]:2201',
  'ssh://[::1]',
  'ssh://u@[fe80::1]/',
  '@host',
];

/** -J values both parse alike (ssh -G prints the last hop as parsed: user, [numeric] host, port). */
const JUMPS = [
  '[::1]',
  '[::1]:2222',
  'a@b@host',
  'a@b@host:23',
  'us%40er@host',
  'ssh://us%40er@host',
  'ssh://u+s@host:24',
  'ssh://host/',
  'ssh://host:25/',
  'host:',
  'host:+22',
  '1.2.3.4:7',
  'x,[::1]:5',
  'x,a@b@host',
  'u@gw:2,10.0.0.1',
  'a/b@host',
  // The hops before the last are printed as written (parse_jump's jump_extra), the last parsed.
  'j:0022,k',
  'J:80,K:010',
  'ssh://u@j:22/,ssh://v@k:23',
  'a:+22,b:0022,c',
  '[::1]:22,1.2.3.4',
  // Refused by both.
  '::1',
  'fe80::1:22',
  'ssh://a@b@host',
  'ssh://us%zzer@host',
  'ssh://h%41st',
  'ssh://host/path',
  'host/',
  '[::1]/',
  '[::1]x',
  'ssh://[::1]:2201',
  'x,ssh://[::1]',
  'a:b:c',
  'gw:0',
  'gw:65536',
  '@gw',
  'x,,y',
  'x,@y',
];

(haveSsh ? describeWithHome : describe.skip)('[user@]host[:port] as /usr/bin/ssh -G splits it', () => {
  it.each(DESTINATIONS)('destination %s', (dest) => {
    expect(ourLines([dest])).toEqual(sshLines([dest]));
  });

  it.each(JUMPS)('-J %s', (jump) => {
    expect(ourLines(['-J', jump, 'target'])).toEqual(sshLines(['-J', jump, 'target']));
  });

  it('the refused cases are refused, the accepted ones carry what the table says', () => {
    expect(ourLines(['ssh://us%40er@host'])).toEqual(['user us@er', 'hostname host', 'port 22']);
    expect(ourLines(['ssh://u+s%20t@host'])![0]).toBe('user u s t');
    expect(ourLines(['ssh://a@b@host'])).toBeNull();
    expect(ourLines(['-J', 'a@b@host:23', 'target'])).toContain('proxyjump a@b@host:23');
    expect(ourLines(['-J', 'u@gw:2,10.0.0.1', 'target'])).toContain('proxyjump u@gw:2,[10.0.0.1]');
    expect(ourLines(['-J', '::1', 'target'])).toBeNull();
  });

  it('deliberate differences: what ssh does, and what pure-ssh does instead', () => {
    // draft-ietf-secsh-scp-sftp-ssh-uri §3.2 connection parameters: ssh drops them (a
    // ;fingerprint= would go unchecked); pure-ssh refuses and names them.
    const params = 'ssh://user;fingerprint=SHA256:abc@host:2200';
    expect(sshLines([params])).toEqual(expect.arrayContaining(['user user', 'hostname host', 'port 2200']));
    expect(ourLines([params])).toBeNull();
    expect(resolveCommandLine([params], cenv)).toMatchObject({
      kind: 'usage',
      message: `invalid ssh:// destination '${params}': connection parameters (";fingerprint=SHA256:abc") are not supported`,
    });
    expect(sshLines(['-J', params, 'target'])).toContain('proxyjump user@host:2200');
    expect(ourLines(['-J', params, 'target'])).toBeNull();

    // Service names as ports (getservbyname): ssh reads /etc/services, pure-ssh wants the number.
    expect(sshLines(['ssh://host:ssh'])).toContain('port 22');
    expect(ourLines(['ssh://host:ssh'])).toBeNull();
    expect(sshLines(['-J', 'host:ssh', 'target'])).toContain('proxyjump host:22');
    expect(ourLines(['-J', 'host:ssh', 'target'])).toBeNull();

    // A blank in a hop: ssh 9.2 and 10.0 keep what precedes it (misc.c rtrim cuts at the first
    // blank, fixed in 10.1), dropping the hops after it; pure-ssh refuses the value, naming the
    // hop as 10.1's parse_jump does.
    expect(sshLines(['-J', 'a b', 'target'])).toContain('proxyjump a');
    expect(sshLines(['-J', 'a b,c', 'target'])).toContain('proxyjump a');
    expect(ourLines(['-J', 'a b', 'target'])).toBeNull();
    // What parse_jump trims (a `#` comment, trailing blanks) is trimmed alike.
    for (const hops of ['gw:2222 ', 'gw#comment', 'a,b #c d', 'a,b\t']) {
      expect(ourLines(['-J', hops, 'target']), hops).toEqual(sshLines(['-J', hops, 'target']));
      expect(ourLines(['-J', hops, 'target']), hops).not.toBeNull();
    }

    // No host after the user: ssh goes on with an empty name, and so does pure-ssh (break38 F10).
    expect(sshLines(['user@'])).toContain('hostname ');
    expect(ourLines(['user@'])).toEqual(sshLines(['user@']));
  });
});

/** ssh -G -F none ARGS: its error lines when it fails, else null. */
function sshRefusal(args: string[]): string[] | null {
  const r = spawnSync(SSH, ['-G', '-F', 'none', ...args], { encoding: 'utf8', env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0) return null;
  return r.stderr.split(/\r?\n/).filter((l) => l !== '');
}

/** pure-ssh's ConfigError lines for the same, else null. */
function ourRefusal(args: string[]): string[] | null {
  try {
    resolveCommandLine(['-G', '-F', 'none', ...args], cenv);
    return null;
  } catch (err) {
    return (err as Error).message.split('\n');
  }
}

(haveSsh ? describeWithHome : describe.skip)('names from the command line that would reach %h / %r (CVE-2023-51385), as /usr/bin/ssh refuses them', () => {
  it.each([
    [['-l', '-x', 'h']],
    [['x;y@h']],
    [['--', '-h']],
    [["a'b"]],
    [['h$(id)']],
    [['h,i']],
    [['-o', 'User=x|y', 'h']],
    [['ssh://-x@h']],
    [['u\\@h']],
    [['a -b@h']],
    [['-J', '-host', 't']],
    [['-J', 'a;b', 't']],
    [['-J', 'x;y@h', 't']],
    [['-J', 'ok,-bad', 't']],
    [['-J', 'bad;1,bad;2', 't']],
    [['-J', 'ssh://-x@h', 't']],
  ])('%j is refused in ssh\'s words', (args) => {
    const theirs = sshRefusal(args);
    expect(theirs).not.toBeNull();
    expect(ourRefusal(args)).toEqual(theirs);
  });

  it('what ssh lets through, pure-ssh lets through', () => {
    for (const args of [['a b@h'], ['a-b@h-1'], ['-J', 'u.x@gw_1,b', 't'], ['h.example']]) {
      expect(sshRefusal(args), args.join(' ')).toBeNull();
      expect(ourRefusal(args), args.join(' ')).toBeNull();
    }
    expect(ourLines(['a b@h'])![0]).toBe('user a b');
  });
});

describe('splitUserHostPort', () => {
  it('the three forms', () => {
    expect(splitUserHostPort('a@b@h', 'destination')).toEqual({ user: 'a@b', host: 'h' });
    expect(splitUserHostPort('h:22', 'destination')).toEqual({ host: 'h:22' });
    expect(splitUserHostPort('a@b@h:22', 'hop')).toEqual({ user: 'a@b', host: 'h', port: 22 });
    expect(splitUserHostPort('[fe80::1]:22', 'hop')).toEqual({ host: 'fe80::1', port: 22 });
    expect(splitUserHostPort('ssh://b%40x@h.example:22/', 'destination')).toEqual({ user: 'b@x', host: 'h.example', port: 22 });
    expect(splitUserHostPort('ssh://b%40x@h.example:22/', 'hop')).toEqual({ user: 'b@x', host: 'h.example', port: 22 });
  });

  it('says why it refuses', () => {
    expect(splitUserHostPort('@h', 'destination')).toEqual({ error: 'empty user name' });
    expect(splitUserHostPort('u@', 'destination')).toEqual({ user: 'u', host: '' });
    expect(splitUserHostPort('u@', 'hop')).toEqual({ error: 'empty host name' });
    expect(splitUserHostPort('::1', 'hop')).toEqual({ error: 'empty host name' });
    expect(splitUserHostPort('h:ssh', 'hop')).toEqual({ error: 'bad port "ssh"' }); // no services(5) look-up installed: numeric only
    expect(splitUserHostPort('h:0', 'hop')).toEqual({ error: 'bad port "0"' });
    expect(splitUserHostPort('h/', 'hop')).toEqual({ error: '"/" after the host' });
    expect(splitUserHostPort('ssh://h/x', 'hop')).toEqual({ error: 'a path ("/x") is not allowed' });
    expect(splitUserHostPort('ssh://u%ff@h', 'hop')).toEqual({ error: 'bad percent escape in user "u%ff"' });
    expect(splitUserHostPort('ssh://u%00v@h', 'hop')).toEqual({ error: 'bad percent escape in user "u%00v"' });
    expect(splitUserHostPort('ssh://h%41', 'hop')).toEqual({ error: 'domain name "h%41" contains invalid characters' });
    expect(splitUserHostPort('ssh://[x y]', 'destination')).toEqual({ error: 'domain name "x y" contains invalid characters' });
    expect(splitUserHostPort('ssh://[::1]:22', 'destination')).toEqual({ error: 'an IPv6 address ("::1") is not allowed' });
    expect(splitUserHostPort('a b', 'hop')).toEqual({ error: 'blank in a jump host' });
  });

  it('percent-decodes UTF-8 users', () => {
    expect(splitUserHostPort('ssh://j%C3%B6rg@h', 'destination')).toEqual({ user: 'jörg', host: 'h' });
    expect(splitUserHostPort('ssh://jörg@h', 'destination')).toEqual({ user: 'jörg', host: 'h' });
  });
});
