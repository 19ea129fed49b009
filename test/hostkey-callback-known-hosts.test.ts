/**
 * knownHosts and verifyHostKey together (tester tlib's finding 2): known_hosts speaks first. A
 * changed or revoked key is refused whatever the callback says (ssh_config(5): even with
 * StrictHostKeyChecking=no); a listed key is shown to the callback, which may refuse it; a key
 * known_hosts does not list is the callback's to decide, and nothing is written. Node and web
 * clients, against sshd 9.2.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { HostKeyError, UsageError } from '../src/errors.js';
import { connect as webConnect } from '../src/web/index.js';
import { connectTo } from './harness/client.js';
import { suiteDir } from './harness/home.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/runners.js';

describeInterop('knownHosts + verifyHostKey: the known_hosts verdict first', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('hk-cb-');
  /** known_hosts with another ed25519 key for the server's [host]:port: a changed key. */
  let changed: string;
  /** known_hosts with the server's key @revoked. */
  let revoked: string;
  let otherKeyLine: string;
  beforeAll(async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    const other = readFileSync(join(dir, 'other.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    otherKeyLine = `[${sshd.host}]:${sshd.port} ${other}`;
    changed = join(dir, 'changed');
    writeFileSync(changed, otherKeyLine + '\n');
    revoked = join(dir, 'revoked');
    writeFileSync(revoked, `@revoked * ${sshd.hostKeys[0]!.publicKey}\n`);
  });

  it('a changed key is refused though the callback accepts everything, and the callback is not asked', async () => {
    for (const accept of [() => true, () => {}]) {
      let asked = 0;
      const err = await connectTo(sshd, { knownHosts: changed, verifyHostKey: () => (asked++, accept()) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyError);
      expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_CHANGED');
      expect((err as HostKeyError).file).toBe(changed);
      expect(asked).toBe(0);
    }
  });

  it('a revoked key is refused though the callback accepts', async () => {
    const err = await connectTo(sshd, { knownHosts: revoked, verifyHostKey: () => true }).catch((e: unknown) => e);
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_REVOKED');
  });

  it('a key known_hosts does not list (missing file) is the callback\'s: accepted, nothing written', async () => {
    const missing = join(dir, 'missing');
    const seen: string[] = [];
    const ssh = await connectTo(sshd, { knownHosts: missing, verifyHostKey: (info) => void seen.push(info.fingerprint) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^SHA256:/);
    await ssh.close();
    expect(() => readFileSync(missing)).toThrow();
    const err = await connectTo(sshd, { knownHosts: missing, verifyHostKey: () => false }).catch((e: unknown) => e);
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_REJECTED');
  });

  it('a listed key is shown to the callback, which may still refuse it', async () => {
    let asked = 0;
    const ssh = await connectTo(sshd, { verifyHostKey: () => void asked++ });
    expect(asked).toBe(1);
    await ssh.close();
    const err = await connectTo(sshd, { verifyHostKey: () => false }).catch((e: unknown) => e);
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_REJECTED');
  });

  it('strictHostKeyChecking with verifyHostKey is a UsageError (the callback decides unknown keys)', async () => {
    const err = await connectTo(sshd, { strictHostKeyChecking: 'no', verifyHostKey: () => true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/strictHostKeyChecking \("no"\).*verifyHostKey/);
  });

  it('web client: a changed key is refused though the callback accepts; an unlisted key is the callback\'s', async () => {
    const base = { host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey };
    let asked = 0;
    const err = await webConnect({ ...base, transport: dialNodeWeb(sshd.port), knownHosts: otherKeyLine + '\n', verifyHostKey: () => (asked++, true) }).catch(
      (e: unknown) => e,
    );
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_CHANGED');
    expect(asked).toBe(0);
    const ssh = await webConnect({ ...base, transport: dialNodeWeb(sshd.port), knownHosts: '', verifyHostKey: () => (asked++, true) });
    expect(asked).toBe(1);
    await ssh.close();
  });
});
