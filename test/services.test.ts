/** src/node/services.ts: getservbyname(name, "tcp") from a services(5) file, as misc.c a2port uses it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServices, tcpServicePort } from '../src/node/services.js';
import { parsePort, setServicePortLookup } from '../src/config/options.js';

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
