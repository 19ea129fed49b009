import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  formatKnownHostsLine,
  hostKeyOrderHints,
  hostMatches,
  knownHostKeyTypes,
  parseKnownHosts,
  type KnownHostsEntry,
} from '../src/keys/knownhosts.js';
import { knownHostsVerifier, type HostKeyInfo } from '../src/node/known-hosts-file.js';
import { orderHostKeyAlgorithms } from '../src/algorithms.js';
import { DEFAULT_HOST_KEY_ALGORITHMS } from '../src/keys/hostkey.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const pubLine = (name: string) => readFileSync(join(fixtures, name), 'utf8').trim().split(' ');
const [typeA, b64A] = pubLine('host_a.pub') as [string, string];
const [, b64B] = pubLine('host_b.pub') as [string, string];
const [typeE, b64E] = pubLine('host_ecdsa.pub') as [string, string];
const blob = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const keyA = blob(b64A);
const keyB = blob(b64B);
const keyE = blob(b64E);

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
// In CI (CI=true) a missing ssh-keygen fails these tests instead of skipping them.
const haveKeygen = existsSync(SSH_KEYGEN) || process.env.CI === 'true';
const tmp = () => mkdtempSync(join(tmpdir(), 'pure-ssh-kh-'));

function one(line: string): KnownHostsEntry {
  const { entries, errors } = parseKnownHosts(line, 'kh');
  expect(errors).toEqual([]);
  expect(entries.length).toBe(1);
  return entries[0]!;
}

describe('parseKnownHosts', () => {
  it('reads plain, marked and hashed lines and skips comments and blanks', () => {
    const text = [
      '# a comment',
      '',
      `   example.com,192.0.2.1 ${typeA} ${b64A} some comment here`,
      `@revoked * ${typeA} ${b64B}`,
      `@cert-authority *.corp.example ${typeE} ${b64E}`,
      `|1|${Buffer.alloc(20, 1).toString('base64')}|${Buffer.alloc(20, 2).toString('base64')} ${typeA} ${b64A}`,
      `[gw.example]:2222\t${typeA}\t${b64A}\r`,
    ].join('\n');
    const { entries, errors } = parseKnownHosts(text, 'KH');
    expect(errors).toEqual([]);
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5, 6, 7]);
    expect(entries[0]).toMatchObject({
      file: 'KH',
      hosts: { patterns: ['example.com', '192.0.2.1'] },
      keyType: 'ssh-ed25519',
      comment: 'some comment here',
    });
    expect(entries[0]!.keyBlob).toEqual(keyA);
    expect(entries[0]!.marker).toBeUndefined();
    expect(entries[1]!.marker).toBe('@revoked');
    expect(entries[2]!.marker).toBe('@cert-authority');
    expect(entries[2]!.keyType).toBe(typeE);
    expect(entries[3]!.hosts.hashed!.salt).toEqual(new Uint8Array(20).fill(1));
    expect(entries[3]!.hosts.patterns).toBeUndefined();
    expect(entries[4]!.hosts.patterns).toEqual(['[gw.example]:2222']);
    expect(entries[4]!.comment).toBeUndefined();
  });

  it('reports bad lines with their number and keeps the good ones', () => {
    const text = [
      `good.example ${typeA} ${b64A}`,
      `@bogus host ${typeA} ${b64A}`,
      `onlyhost`,
      `host ${typeA}`,
      `host ${typeA} !!!notbase64!!!`,
      `host ssh-rsa ${b64A}`,
      `|1|AAAA|BBBB ${typeA} ${b64A}`,
      `|2|x|y ${typeA} ${b64A}`,
      `host 1024 35 12345`,
      `@revoked @revoked host ${typeA} ${b64A}`,
      `host ${typeA} ${Buffer.from('garbage').toString('base64')}`,
    ].join('\n');
    const { entries, errors } = parseKnownHosts(text, 'kh');
    expect(entries.map((e) => e.line)).toEqual([1]);
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(errors[0]!.message).toMatch(/marker/);
    expect(errors[4]!.message).toMatch(/does not match/);
  });
});

describe('hostMatches', () => {
  it('plain names, case-insensitively', () => {
    const e = one(`Example.COM,other ${typeA} ${b64A}`);
    expect(hostMatches(e, 'example.com', 22)).toBe(true);
    expect(hostMatches(e, 'EXAMPLE.com', 22)).toBe(true);
    expect(hostMatches(e, 'other', 22)).toBe(true);
    expect(hostMatches(e, 'example.org', 22)).toBe(false);
    expect(hostMatches(e, 'example.com', 2222)).toBe(false);
  });

  it('[host]:port for a port other than 22', () => {
    const e = one(`[example.com]:2222 ${typeA} ${b64A}`);
    expect(hostMatches(e, 'example.com', 2222)).toBe(true);
    expect(hostMatches(e, 'example.com', 22)).toBe(false);
    expect(hostMatches(e, 'example.com', 2223)).toBe(false);
    expect(hostMatches(one(`[::1]:2200 ${typeA} ${b64A}`), '::1', 2200)).toBe(true);
  });

  it('wildcards * and ?', () => {
    const e = one(`*.example.com,host? ${typeA} ${b64A}`);
    expect(hostMatches(e, 'a.example.com', 22)).toBe(true);
    expect(hostMatches(e, 'a.b.example.com', 22)).toBe(true);
    expect(hostMatches(e, 'example.com', 22)).toBe(false);
    expect(hostMatches(e, 'host1', 22)).toBe(true);
    expect(hostMatches(e, 'host12', 22)).toBe(false);
    expect(hostMatches(one(`[*.example.com]:* ${typeA} ${b64A}`), 'x.example.com', 2222)).toBe(true);
  });

  it('a matching negated pattern excludes the line', () => {
    const e = one(`*.example.com,!bad.example.com ${typeA} ${b64A}`);
    expect(hostMatches(e, 'good.example.com', 22)).toBe(true);
    expect(hostMatches(e, 'bad.example.com', 22)).toBe(false);
    expect(hostMatches(e, 'BAD.example.com', 22)).toBe(false);
    // A negation alone never makes a positive match.
    expect(hostMatches(one(`!bad ${typeA} ${b64A}`), 'good', 22)).toBe(false);
  });
});

describe('checkHostKey', () => {
  const text = [
    `alpha ${typeA} ${b64A}`, // 1
    `beta ${typeA} ${b64A}`, // 2
    `beta ${typeA} ${b64B}`, // 3: a second key for beta: rotation
    `gamma ${typeA} ${b64B}`, // 4
    `delta ${typeE} ${b64E}`, // 5
    `@cert-authority *.corp ${typeA} ${b64B}`, // 6
    `@revoked nothing-matches-this ${typeE} ${b64E}`, // 7
  ].join('\n');
  const { entries } = parseKnownHosts(text, '/home/joe/.ssh/known_hosts');

  it('match when a line for the host holds the exact key', () => {
    expect(checkHostKey(entries, 'alpha', 22, keyA)).toMatchObject({ status: 'match', entry: { line: 1 } });
  });

  it('several lines for one host: any exact key match wins over a differing one', () => {
    expect(checkHostKey(entries, 'beta', 22, keyB)).toMatchObject({ status: 'match', entry: { line: 3 } });
    expect(checkHostKey(entries, 'beta', 22, keyA)).toMatchObject({ status: 'match', entry: { line: 2 } });
  });

  it('changed: same type, other bytes, reporting the offending file and line', () => {
    const r = checkHostKey(entries, 'gamma', 22, keyA);
    expect(r.status).toBe('changed');
    if (r.status !== 'changed') return;
    expect(r.entry.file).toBe('/home/joe/.ssh/known_hosts');
    expect(r.entry.line).toBe(4);
  });

  it('a known key of another type only is a change too (OpenSSH 9.2 says HOST IDENTIFICATION HAS CHANGED)', () => {
    // Otherwise a man in the middle could offer a key type the user never recorded.
    expect(checkHostKey(entries, 'delta', 22, keyA)).toMatchObject({ status: 'changed', entry: { line: 5 } });
  });

  it('changed prefers to report a line of the same key type', () => {
    const { entries: two } = parseKnownHosts(`h ${typeE} ${b64E}\nh ${typeA} ${b64B}\n`, 'f');
    expect(checkHostKey(two, 'h', 22, keyA)).toMatchObject({ status: 'changed', entry: { line: 2 } });
  });

  it('knownHostKeyTypes lists the recorded types for the host, for host key algorithm ordering', () => {
    expect(knownHostKeyTypes(entries, 'beta', 22)).toEqual(['ssh-ed25519']);
    expect(knownHostKeyTypes(entries, 'delta', 22)).toEqual([typeE]);
    expect(knownHostKeyTypes(entries, 'db.corp', 22)).toEqual([]);
  });

  // sshconnect2.c order_hostkeyalgs(), on the lines hostfile.c load_hostkeys() loads for one name.
  it('hostKeyOrderHints: the name as ssh loads it, never port-less; a type whose first line is @revoked does not count', () => {
    const { entries: kh } = parseKnownHosts(
      `h ${typeA} ${b64A}\n[h]:2222 ${typeE} ${b64E}\n@cert-authority *.corp ${typeA} ${b64B}\n` +
        `r ${typeA} ${b64A}\nr ${typeA} ${b64B}\n@revoked r ${typeA} ${b64A}\nr ${typeE} ${b64E}\n`,
      'f',
    );
    expect(hostKeyOrderHints(kh, 'h', 22)).toEqual({ keyTypes: ['ssh-ed25519'], certAuthority: false });
    expect(hostKeyOrderHints(kh, 'h', 2222)).toEqual({ keyTypes: [typeE], certAuthority: false });
    expect(hostKeyOrderHints(kh, 'db.corp', 22)).toEqual({ keyTypes: [], certAuthority: true });
    expect(hostKeyOrderHints(kh, 'r', 22)).toEqual({ keyTypes: [typeE], certAuthority: false });
  });

  it('orderHostKeyAlgorithms: as order_hostkeyalgs() (kept when the first type is known, else CA and known types first)', () => {
    const d = DEFAULT_HOST_KEY_ALGORITHMS;
    expect(orderHostKeyAlgorithms(d, { keyTypes: ['ssh-ed25519', 'ssh-rsa'], certAuthority: true }).algorithms).toEqual(d);
    const rsa = orderHostKeyAlgorithms(d, { keyTypes: ['ssh-rsa'], certAuthority: false });
    expect(rsa.algorithms.slice(0, 4)).toEqual(['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-512', 'rsa-sha2-256']);
    expect(rsa.note).toBe('order_hostkeyalgs: prefer hostkeyalgs: rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-256');
    const ca = orderHostKeyAlgorithms(d, { keyTypes: ['ecdsa-sha2-nistp384'], certAuthority: true }).algorithms;
    expect(ca.slice(0, 7)).toEqual([...d.slice(0, 6), 'ecdsa-sha2-nistp384']);
    expect(orderHostKeyAlgorithms(['ssh-ed25519', 'rsa-sha2-256'], { keyTypes: [], certAuthority: true })).toEqual({
      algorithms: ['ssh-ed25519', 'rsa-sha2-256'],
      note: 'order_hostkeyalgs: no algorithms matched; accept original',
    });
  });

  it('unknown host', () => {
    expect(checkHostKey(entries, 'zeta', 22, keyA)).toEqual({ status: 'unknown', name: 'zeta', triedWithoutPort: false });
    expect(checkHostKey(entries, 'zeta', 2222, keyA)).toEqual({ status: 'unknown', name: '[zeta]:2222', triedWithoutPort: true });
  });

  // sshconnect.c check_host_key(): "checking without port identifier" → "found matching key w/out port".
  it('another port: a key recorded without the port matches when [host]:port names no key', () => {
    expect(checkHostKey(entries, 'alpha', 2222, keyA)).toMatchObject({
      status: 'match', entry: { line: 1 }, name: 'alpha', triedWithoutPort: true,
    });
    expect(checkHostKey(entries, 'ALPHA', 2222, keyA)).toMatchObject({ status: 'match', name: 'alpha' });
    // Several keys under the plain name: any exact one.
    expect(checkHostKey(entries, 'beta', 2200, keyB)).toMatchObject({ status: 'match', entry: { line: 3 } });
  });

  it('another port: a different key under the plain name leaves the host unknown, never changed (OpenSSH ROQUIET)', () => {
    expect(checkHostKey(entries, 'gamma', 2222, keyA)).toEqual({ status: 'unknown', name: '[gamma]:2222', triedWithoutPort: true });
    expect(checkHostKey(entries, 'delta', 2222, keyA)).toMatchObject({ status: 'unknown', triedWithoutPort: true });
  });

  it('another port: a [host]:port line decides alone, match or change, without the plain name', () => {
    const { entries: both } = parseKnownHosts(`[h]:2222 ${typeA} ${b64B}\nh ${typeA} ${b64A}\n[k]:2222 ${typeA} ${b64A}\nk ${typeA} ${b64B}\n`, 'f');
    expect(checkHostKey(both, 'h', 2222, keyA)).toMatchObject({ status: 'changed', entry: { line: 1 }, name: '[h]:2222', triedWithoutPort: false });
    expect(checkHostKey(both, 'k', 2222, keyA)).toMatchObject({ status: 'match', entry: { line: 3 }, triedWithoutPort: false });
    // Port 22 has no second lookup: the plain name is the only one.
    expect(checkHostKey(both, 'nobody', 22, keyA).triedWithoutPort).toBe(false);
  });

  it('another port: hashed plain names and a @cert-authority-only [host]:port also fall back to the plain name', () => {
    const salt = new Uint8Array(20).fill(7);
    const hashed = formatKnownHostsLine('hidden.example', 22, keyA, { hashed: true, salt });
    const { entries: h } = parseKnownHosts(`${hashed}\n@cert-authority [ca.example]:2222 ${typeA} ${b64B}\nca.example ${typeA} ${b64A}\n`, 'f');
    expect(checkHostKey(h, 'hidden.example', 2222, keyA)).toMatchObject({ status: 'match', entry: { line: 1 }, name: 'hidden.example' });
    expect(checkHostKey(h, 'ca.example', 2222, keyA)).toMatchObject({ status: 'match', entry: { line: 3 }, triedWithoutPort: true });
    expect(checkHostKey(h, 'ca.example', 2222, keyB)).toMatchObject({ status: 'cert-authority-only', name: '[ca.example]:2222' });
  });

  // Stricter than OpenSSH 9.2, which only honours @revoked lines whose patterns match the host;
  // sshd(8) says a revoked key "must not ever be accepted".
  it('@revoked applies to the key whatever the host patterns, and wins over a match', () => {
    const r = checkHostKey(entries, 'delta', 22, keyE);
    expect(r).toMatchObject({ status: 'revoked', entry: { line: 7 } });
  });

  it('@cert-authority for the host is recognised but reported as unsupported', () => {
    expect(checkHostKey(entries, 'db.corp', 22, keyA)).toMatchObject({
      status: 'cert-authority-only',
      entry: { line: 6 },
    });
  });
});

describe('formatKnownHostsLine', () => {
  it('host or [host]:port, key type, base64 key; parses back', () => {
    expect(formatKnownHostsLine('Example.com', 22, keyA)).toBe(`example.com ${typeA} ${b64A}`);
    const line = formatKnownHostsLine('example.com', 2222, keyA);
    expect(line).toBe(`[example.com]:2222 ${typeA} ${b64A}`);
    const e = one(line);
    expect(hostMatches(e, 'example.com', 2222)).toBe(true);
    expect(e.keyBlob).toEqual(keyA);
  });

  it('hashed form matches back, and needs a 20-byte salt', () => {
    const salt = new Uint8Array(20).map((_, i) => i * 7);
    const line = formatKnownHostsLine('example.com', 2222, keyA, { hashed: true, salt });
    expect(line.startsWith(`|1|${Buffer.from(salt).toString('base64')}|`)).toBe(true);
    const e = one(line);
    expect(hostMatches(e, 'example.com', 2222)).toBe(true);
    expect(hostMatches(e, 'EXAMPLE.com', 2222)).toBe(true);
    expect(hostMatches(e, 'example.com', 22)).toBe(false);
    expect(() => formatKnownHostsLine('h', 22, keyA, { hashed: true })).toThrow(/salt/);
  });

  it.skipIf(!haveKeygen)('ssh-keygen -F finds our hashed and plain lines', () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    const salt = new Uint8Array(20).fill(9);
    writeFileSync(
      file,
      formatKnownHostsLine('hashed.example', 2222, keyA, { hashed: true, salt }) +
        '\n' +
        formatKnownHostsLine('plain.example', 22, keyB) +
        '\n',
    );
    const found = execFileSync(SSH_KEYGEN, ['-F', '[hashed.example]:2222', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(b64A);
    expect(execFileSync(SSH_KEYGEN, ['-F', 'plain.example', '-f', file], { encoding: 'utf8' })).toContain(b64B);
  });

  it.skipIf(!haveKeygen)('lines hashed by ssh-keygen -H match the same hosts', () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `one.example,two.example ${typeA} ${b64A}\n[three.example]:2022 ${typeE} ${b64E}\n`);
    execFileSync(SSH_KEYGEN, ['-H', '-f', file], { stdio: 'ignore' });
    const { entries, errors } = parseKnownHosts(readFileSync(file, 'utf8'), file);
    expect(errors).toEqual([]);
    // ssh-keygen -H writes one hashed line per name.
    expect(entries.length).toBe(3);
    expect(entries.every((e) => e.hosts.hashed !== undefined)).toBe(true);
    expect(checkHostKey(entries, 'one.example', 22, keyA).status).toBe('match');
    expect(checkHostKey(entries, 'two.example', 22, keyA).status).toBe('match');
    expect(checkHostKey(entries, 'two.example', 22, keyB).status).toBe('changed');
    expect(checkHostKey(entries, 'three.example', 2022, keyE).status).toBe('match');
    expect(checkHostKey(entries, 'three.example', 22, keyE).status).toBe('unknown');
  });
});

function info(host: string, port: number, keyBlob: Uint8Array, keyType = typeA): HostKeyInfo {
  const fingerprint = 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
  return { host, port, algorithm: keyType, keyType, keyBlob, fingerprint };
}

describe('knownHostsVerifier', () => {
  it("'yes' (the default) refuses an unknown host and accepts a known one", async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `known ${typeA} ${b64A}\n`);
    const verify = knownHostsVerifier({ files: [file] });
    await expect(verify(info('known', 22, keyA))).resolves.toBeUndefined();
    await expect(verify(info('stranger', 22, keyA))).rejects.toMatchObject({ code: 'ERR_HOST_KEY_UNKNOWN' });
    expect(readFileSync(file, 'utf8')).toBe(`known ${typeA} ${b64A}\n`);
  });

  it("'accept-new' creates ~/.ssh (0700) and the file (0666 less the umask, as fopen \"a\"), adds the key, logs OpenSSH's warning", async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    const file = join(dir, 'sub', '.ssh', 'known_hosts');
    const logs: string[] = [];
    const verify = knownHostsVerifier({ files: [file], mode: 'accept-new', log: (l) => logs.push(l), userSshDir: join(dir, 'sub', '.ssh') });
    const old = process.umask(0o022);
    try {
      await verify(info('new.example', 2222, keyA));
    } finally {
      process.umask(old);
    }
    expect(readFileSync(file, 'utf8')).toBe(`[new.example]:2222 ${typeA} ${b64A}\n`);
    // hostfile.c add_host_to_hostfile: fopen(filename, "a").
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'sub', '.ssh')).mode & 0o777).toBe(0o700);
    expect(logs).toEqual([
      // hostfile.c load_hostkeys: the file not there yet.
      `load_hostkeys: fopen ${file}: No such file or directory`,
      'checking without port identifier',
      "Warning: Permanently added '[new.example]:2222' (ED25519) to the list of known hosts.",
    ]);
    // Now known: accepted without another line; a different key is a change.
    await verify(info('new.example', 2222, keyA));
    expect(readFileSync(file, 'utf8').split('\n').length).toBe(2);
    await expect(verify(info('new.example', 2222, keyB))).rejects.toMatchObject({
      code: 'ERR_HOST_KEY_CHANGED',
      file,
      line: 1,
    });
  });

  it("'accept-new' makes no other directory (hostfile.c hostfile_create_user_ssh_dir): the key accepted, not recorded", async () => {
    const dir = tmp();
    const userSshDir = join(dir, '.ssh');
    for (const file of [join(dir, 'missing', 'known_hosts'), join(userSshDir, 'sub', 'known_hosts')]) {
      const logs: string[] = [];
      const verify = knownHostsVerifier({ files: [file], mode: 'accept-new', log: (l) => logs.push(l), userSshDir });
      await expect(verify(info('new.example', 22, keyA))).resolves.toBeUndefined();
      expect(logs).toEqual([`load_hostkeys: fopen ${file}: No such file or directory`, `Failed to add the host to the list of known hosts (${file}).`]);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('reads every file, adds to the first, and keeps a missing final newline intact', async () => {
    const dir = tmp();
    const user = join(dir, 'known_hosts');
    const global = join(dir, 'ssh_known_hosts');
    writeFileSync(user, `other ${typeA} ${b64B}`);
    writeFileSync(global, `# system\nsys.example ${typeA} ${b64A}\n`);
    const verify = knownHostsVerifier({ files: [user, global, join(dir, 'missing')], mode: 'no' });
    await verify(info('sys.example', 22, keyA));
    await verify(info('added.example', 22, keyA));
    expect(readFileSync(user, 'utf8')).toBe(`other ${typeA} ${b64B}\nadded.example ${typeA} ${b64A}\n`);
    await expect(verify(info('sys.example', 22, keyB))).rejects.toMatchObject({ file: global, line: 2 });
  });

  it('a changed key is refused in every mode, naming file, line and fingerprint', async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `# header\nhost.example ${typeA} ${b64A}\n`);
    for (const mode of ['yes', 'accept-new', 'no', 'ask'] as const) {
      const verify = knownHostsVerifier({ files: [file], mode, prompt: async () => 'yes' });
      const i = info('host.example', 22, keyB);
      const err = await Promise.resolve(verify(i)).then(
        () => undefined,
        (e: unknown) => e as Error & { code: string; line: number },
      );
      expect(err?.code, mode).toBe('ERR_HOST_KEY_CHANGED');
      expect(err!.message).toContain(`${file}:2`);
      expect(err!.message).toContain(i.fingerprint);
    }
    expect(readFileSync(file, 'utf8')).toBe(`# header\nhost.example ${typeA} ${b64A}\n`);
  });

  it('a revoked key is refused even in mode no', async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `@revoked * ${typeA} ${b64A}\n`);
    const verify = knownHostsVerifier({ files: [file], mode: 'no' });
    await expect(verify(info('any', 22, keyA))).rejects.toMatchObject({ code: 'ERR_HOST_KEY_REVOKED', line: 1 });
  });

  it("'ask' shows OpenSSH's question, re-asks on other answers, adds on yes", async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    const questions: string[] = [];
    const answers = ['maybe', 'YES'];
    const i = info('ask.example', 22, keyA);
    const verify = knownHostsVerifier({
      files: [file],
      mode: 'ask',
      prompt: async (q) => {
        questions.push(q);
        return answers.shift()!;
      },
    });
    await verify(i);
    expect(questions).toEqual([
      // No address in the info (as through a proxy command): sshconnect.c's placeholder.
      "The authenticity of host 'ask.example (<no hostip for proxy command>)' can't be established.\n" +
        `ED25519 key fingerprint is ${i.fingerprint}.\n` +
        'This key is not known by any other names.\n' +
        'Are you sure you want to continue connecting (yes/no/[fingerprint])? ',
      "Please type 'yes', 'no' or the fingerprint: ",
    ]);
    expect(readFileSync(file, 'utf8')).toBe(`ask.example ${typeA} ${b64A}\n`);
  });

  // sshconnect.c check_host_key (HOST_NEW): '%s (%s)', the known_hosts name (the alias if any) and
  // the address with the port connected to ([a]:p unless 22).
  it("'ask' names the address beside the host, with the real port even under a HostKeyAlias", async () => {
    const file = join(tmp(), 'known_hosts');
    const asked: string[] = [];
    const prompt = async (q: string) => (asked.push(q.split('\n')[0]!), 'yes');
    await knownHostsVerifier({ files: [file], mode: 'ask', prompt })({ ...info('localhost', 2222, keyA), address: '127.0.0.1' });
    await knownHostsVerifier({ files: [file], mode: 'ask', prompt })({ ...info('v6.example', 22, keyB), address: '::1' });
    await knownHostsVerifier({ files: [file], mode: 'ask', prompt, hostKeyAlias: 'alias' })({ ...info('localhost', 2200, keyB), address: '::1' });
    expect(asked).toEqual([
      "The authenticity of host '[localhost]:2222 ([127.0.0.1]:2222)' can't be established.",
      "The authenticity of host 'v6.example (::1)' can't be established.",
      "The authenticity of host 'alias ([::1]:2200)' can't be established.",
    ]);
  });

  it("'ask' accepts the pasted fingerprint, lists other names, refuses on no", async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `alias.example ${typeA} ${b64A}\n`);
    let asked = '';
    const byFingerprint = knownHostsVerifier({
      files: [file],
      mode: 'ask',
      hashKnownHosts: true,
      prompt: async (q) => {
        asked = q;
        return ` ${info('x', 22, keyA).fingerprint} `;
      },
    });
    await byFingerprint(info('real.example', 22, keyA));
    expect(asked).toContain(`This host key is known by the following other names/addresses:\n    ${file}:1: alias.example\n`);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBe(2);
    expect(lines[1]!.startsWith('|1|')).toBe(true);
    expect(checkHostKey(parseKnownHosts(lines[1]!, 'f').entries, 'real.example', 22, keyA).status).toBe('match');

    const refuse = knownHostsVerifier({ files: [file], mode: 'ask', prompt: async () => 'no' });
    await expect(refuse(info('other.example', 22, keyB))).rejects.toMatchObject({ code: 'ERR_HOST_KEY_REJECTED' });
    const noTty = knownHostsVerifier({
      files: [file],
      mode: 'ask',
      prompt: () => Promise.reject(new Error('no terminal')),
    });
    await expect(noTty(info('other.example', 22, keyB))).rejects.toMatchObject({ code: 'ERR_HOST_KEY_UNKNOWN' });
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBe(2);
  });

  // sshconnect.c confirm(): leading blanks skipped, the answer ends at the first blank; an empty
  // one (read_passphrase's "" for Ctrl-D, no terminal, a failed askpass) is no.
  it("'ask' reads the answer as OpenSSH's confirm(): up to a blank, an empty one refuses", async () => {
    const file = join(tmp(), 'known_hosts');
    const asked: string[] = [];
    const ask = (answers: string[]) => knownHostsVerifier({ files: [file], mode: 'ask', prompt: async (q) => (asked.push(q), answers.shift()!) });
    await expect(ask([''])(info('empty.example', 22, keyA))).rejects.toMatchObject({ code: 'ERR_HOST_KEY_REJECTED' });
    await expect(ask(['\tno thanks'])(info('no.example', 22, keyA))).rejects.toMatchObject({ code: 'ERR_HOST_KEY_REJECTED' });
    expect(asked).toHaveLength(2);
    expect(existsSync(file)).toBe(false);
    await ask([' Yes please\n'])(info('yes.example', 22, keyA));
    expect(readFileSync(file, 'utf8')).toBe(`yes.example ${typeA} ${b64A}\n`);
  });

  it.skipIf(!haveKeygen)('a hashed line we append is found by ssh-keygen -F', async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    const verify = knownHostsVerifier({ files: [file], mode: 'accept-new', hashKnownHosts: true });
    await verify(info('127.0.0.1', 2022, keyA));
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('|1|')).toBe(true);
    expect(text).not.toContain('127.0.0.1');
    expect(execFileSync(SSH_KEYGEN, ['-F', '[127.0.0.1]:2022', '-f', file], { encoding: 'utf8' })).toContain(b64A);
  });

  it('another port, key recorded without it: accepted with OpenSSH\'s debug lines, nothing written', async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    const text = `example.com ${typeA} ${b64A}\n`;
    writeFileSync(file, text);
    const logs: string[] = [];
    for (const mode of ['yes', 'accept-new', 'ask'] as const) {
      logs.length = 0;
      const verify = knownHostsVerifier({ files: [file], mode, log: (l) => logs.push(l), prompt: async () => 'no' });
      await verify(info('example.com', 2222, keyA));
      expect(logs, mode).toEqual([
        'checking without port identifier',
        "Host 'example.com' is known and matches the ED25519 host key.",
        `Found key in ${file}:1`,
        'found matching key w/out port',
      ]);
    }
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('another port, a different key without it: unknown, so refused by yes and added as [host]:port by accept-new', async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `example.com ${typeA} ${b64B}\n`);
    await expect(knownHostsVerifier({ files: [file] })(info('example.com', 2222, keyA))).rejects.toMatchObject({
      code: 'ERR_HOST_KEY_UNKNOWN',
    });
    await knownHostsVerifier({ files: [file], mode: 'accept-new' })(info('example.com', 2222, keyA));
    expect(readFileSync(file, 'utf8')).toBe(`example.com ${typeA} ${b64B}\n[example.com]:2222 ${typeA} ${b64A}\n`);
    // On port 22 the same line is a change.
    await expect(knownHostsVerifier({ files: [file], mode: 'no' })(info('example.com', 22, keyA))).rejects.toMatchObject({
      code: 'ERR_HOST_KEY_CHANGED',
    });
  });

  it('bad lines are skipped and logged, good lines still count', async () => {
    const dir = tmp();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `broken line\nok.example ${typeA} ${b64A}\n`);
    const logs: string[] = [];
    const verify = knownHostsVerifier({ files: [file], log: (l) => logs.push(l) });
    await verify(info('ok.example', 22, keyA));
    expect(logs.length).toBe(3);
    expect(logs[0]).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:1: `));
    expect(logs.slice(1)).toEqual([`Host 'ok.example' is known and matches the ED25519 host key.`, `Found key in ${file}:2`]);
  });
});
