/** src/node/services.ts: getservbyname(name, "tcp") from a services(5) file, as misc.c a2port uses it. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServices, tcpServicePort } from '../src/node/services.js';
import { parsePort, setServicePortLookup } from '../src/config/options.js';
import { CLI } from './support/cli-run.js';
import { SSH_CLIENT_PATH, inCI, sshClientAvailable } from './harness/sshd.js';

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-services-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('services(5) look-up', () => {
  it('reads tcp names and aliases, first entry wins, comments and udp-only entries skipped', () => {
    const ports = parseServices(
      '# comment\nssh\t\t22/tcp\t\t# SSH\nhttp 80/tcp www www-http # web\ndomain 53/udp\nhttp 8000/tcp\n  \nbad\nodd 70000/tcp\n',
    );
    expect(ports.get('ssh')).toBe(22);
    expect(ports.get('www')).toBe(80);
    expect(ports.get('http')).toBe(80);
    expect(ports.get('domain')).toBeUndefined();
    expect(ports.get('SSH')).toBeUndefined();
    expect(ports.get('#')).toBeUndefined();
    expect(ports.get('odd')).toBe(70000 % 65536);
  });

  it('reads the port as glibc does (strtoul base 0), as ssh -p NAME shows against a bind-mounted /etc/services', () => {
    const ports = parseServices(
      ['o 010/tcp', 'h 0x50/tcp', 'H 0X1f/tcp', 'p +5/tcp', 'ph +0x10/tcp', 'w 65537/tcp', 'max 4294967295/tcp', 'big 4294967296/tcp',
        'neg -1/tcp', 'e 08/tcp', 'x 0x/tcp', 'f 1e2/tcp', 'g 22abc/tcp', 'pp ++5/tcp', 'e 9/tcp'].join('\n'),
    );
    expect(Object.fromEntries(ports)).toEqual({ o: 8, h: 80, H: 31, p: 5, ph: 16, w: 1, max: 65535, e: 9 });
  });

  it('a missing file means no names: numeric ports only', () => {
    const file = join(dir, 'services');
    writeFileSync(file, 'myservice 2222/tcp\n');
    expect(tcpServicePort('myservice', file)).toBe(2222);
    expect(tcpServicePort('myservice', join(dir, 'missing'))).toBeUndefined();
  });

  it('parsePort falls back to the installed look-up only for what is not a number 0-65535', () => {
    const asked: string[] = [];
    setServicePortLookup((name) => {
      asked.push(name);
      return name === 'ssh' ? 22 : undefined;
    });
    try {
      expect(parsePort('ssh')).toBe(22);
      expect(parsePort('2222')).toBe(2222);
      expect(parsePort('99999')).toBe(-1);
      expect(parsePort('nope')).toBe(-1);
      expect(asked).toEqual(['ssh', '99999', 'nope']);
    } finally {
      setServicePortLookup(undefined);
    }
    expect(parsePort('ssh')).toBe(-1);
  });
});

/**
 * The same odd entries seen by ssh itself: a copy of /etc/services with them appended is
 * bind-mounted over /etc/services in a private mount namespace (unshare -m, as root), and
 * `ssh -G -p NAME` and the built `pure-ssh -G -p NAME` must print the same port or error.
 * Needs `npm run build`, root and unshare(1).
 */
const asRoot = process.getuid?.() === 0;
if (!asRoot && inCI()) throw new Error('services.test.ts compares with ssh -G under unshare -m: needs root');
(sshClientAvailable() && asRoot ? describe : describe.skip)('services(5) ports against ssh -G', () => {
  it('010, 0x50, +5, 70000, 08, -1, 2^32 as /usr/bin/ssh reads them through glibc', () => {
    const entries = ['o 010/tcp', 'h 0x50/tcp', 'p +5/tcp', 'w 70000/tcp', 'e 08/tcp', 'n -1/tcp', 'big 4294967296/tcp', 'max 4294967295/tcp', 'x 0x/tcp'];
    const file = join(dir, 'services-odd');
    copyFileSync('/etc/services', file);
    appendFileSync(file, `${entries.join('\n')}\n`);
    const names = entries.map((e) => e.split(' ')[0]!);
    const script = `mount --bind "$0" /etc/services || exit 99
for n in ${names.join(' ')}; do
  echo "ssh $n $("${SSH_CLIENT_PATH}" -F none -p $n -G h 2>&1 | grep -E '^port |Bad port')"
  echo "ours $n $("${process.execPath}" "${CLI}" -F none -p $n -G h 2>&1 | grep -E '^port |Bad port')"
done`;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trim().split('\n');
    const of = (who: string) => out.filter((l) => l.startsWith(`${who} `)).map((l) => l.slice(who.length + 1));
    expect(of('ours')).toEqual(of('ssh'));
    expect(of('ssh')).toContain('o port 8');
    expect(of('ssh')).toContain('h port 80');
    expect(of('ssh')).toContain("e Bad port 'e'");
  });
});
