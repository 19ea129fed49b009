/**
 * Numeric host addresses (src/config/numeric-address.ts): ssh.c rewrites an address into
 * getnameinfo(3)'s numeric form before connecting, whatever CanonicalizeHostname says. The pure
 * parser and printer against RFC 4291 / RFC 5952 examples, then the built CLI's `-G` hostname
 * against OpenSSH's `ssh -G` (glibc's getaddrinfo and getnameinfo) for the same destinations.
 * Needs `npm run build` and /usr/bin/ssh (CI=true: a missing ssh fails).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, formatIpv6, isAddress, parseIpv4, parseIpv6 } from '../src/config/numeric-address.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

const SSH = SSH_CLIENT_PATH;
const haveSsh = sshClientAvailable();

describe('numeric addresses (inet_aton, RFC 4291 §2.2, RFC 5952 §4)', () => {
  it('IPv4: one to four parts, decimal, octal (leading 0) or hex (0x); the last part fills the rest', () => {
    expect(canonicalAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('127.1')).toBe('127.0.0.1');
    expect(canonicalAddress('0x7f.1')).toBe('127.0.0.1');
    expect(canonicalAddress('0177.0.0.01')).toBe('127.0.0.1');
    expect(canonicalAddress('2130706433')).toBe('127.0.0.1');
    expect(canonicalAddress('10.65535')).toBe('10.0.255.255');
    expect(parseIpv4('256.0.0.1')).toBeUndefined();
    expect(parseIpv4('1.2.3.4.5')).toBeUndefined();
    expect(parseIpv4('08.1.1.1')).toBeUndefined(); // 8 is not an octal digit
    expect(parseIpv4('1.2.65536')).toBeUndefined();
    expect(parseIpv4('web')).toBeUndefined();
  });

  it('IPv6: groups, ::, embedded IPv4; printed lowercase, shortest, longest zero run compressed', () => {
    expect(canonicalAddress('::0001')).toBe('::1');
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalAddress('2001:DB8:0:0:8:800:200C:417A')).toBe('2001:db8::8:800:200c:417a');
    expect(canonicalAddress('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalAddress('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(canonicalAddress('2001:db8::1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('::ffff:7f00:1')).toBe('::ffff:127.0.0.1');
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('::ffff:127.0.0.1');
    expect(canonicalAddress('::')).toBe('::');
    expect(canonicalAddress('fe80::0001%lo')).toBe('fe80::1%lo');
    expect(formatIpv6([1, 0, 0, 0, 0, 0, 0, 0])).toBe('1::');
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIpv6('::01.2.3.4')).toBeUndefined();
    expect(parseIpv6('12345::')).toBeUndefined();
  });

  it('AddressFamily limits what counts (resolve_addr hints.ai_family); names are not addresses', () => {
    expect(canonicalAddress('::0001', 'inet')).toBeUndefined();
    expect(canonicalAddress('0x7f.1', 'inet6')).toBeUndefined();
    expect(isAddress('web.example')).toBe(false);
    expect(isAddress('0x7f.1')).toBe(true);
    expect(isAddress('1.2.3.4.5')).toBe(true); // digits and dots only: is_addr_fast
  });
});

(haveSsh ? describeWithHome : describe.skip)('pure-ssh -G hostname for numeric destinations is ssh -G\'s', () => {
  // The passwd home of every ssh and pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
  const home = suiteHome();
  function hostname(cmd: string, args: string[]): { status: number | null; line: string | undefined } {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: r.status, line: r.stdout.split('\n').find((l) => l.startsWith('hostname ')) };
  }
  const cases: string[][] = [
    ['127.0.0.1'], ['127.1'], ['0x7f.1'], ['0177.0.0.01'], ['2130706433'], ['::0001'], ['0:0:0:0:0:0:0:1'],
    ['2001:DB8:0:0:8:800:200C:417A'], ['::ffff:7f00:1'], ['[::0001]'], ['-4', '::0001'], ['-6', '0x7f.1'],
    ['1.2.3.4.5'], ['Web.Example'],
    // resolve_canonicalize() rewrites only when strcasecmp() sees a difference: case alone is kept.
    ['FE80::1'], ['ABCD::'], ['::FFFF:1.2.3.4'], ['FE80::1%lo'], ['::Ffff:7F00:1'], ['FE80::0001'],
  ];
  it.each(cases)('%s', (...argv) => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const args = ['-G', '-F', 'none', ...argv];
    const theirs = hostname(SSH, args);
    const ours = hostname(process.execPath, [CLI, ...args]);
    expect(ours).toEqual(theirs);
  });
});
