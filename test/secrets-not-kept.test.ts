/**
 * The password and the key passphrase are not kept where util.inspect or JSON.stringify of the
 * client would show them (tester tlib's finding 9: `console.log(ssh)` printed both, and the
 * private key text). The core keeps the password in an ES private field and drops it once
 * authentication is over, as ssh(1) frees its copy (sshconnect2.c userauth_passwd). Node and
 * web clients against sshd 9.2, logged in by password.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import type { CipherAlgorithm } from '../src/cipher/cipher.js';
import { macAlgorithms } from '../src/mac/registry.js';
import type { MacAlgorithm } from '../src/mac/mac.js';
import { connect, type SshClient } from '../src/index.js';
import { connect as webConnect } from '../src/web/index.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/runners.js';

const PASSPHRASE = 'PASSPHRASE-not-to-be-shown';

/**
 * The keys and IVs the session's ciphers and MACs are created with (RFC 4253 §7.2's six), taken
 * by wrapping the registry rows' create(): copies, made before the client could wipe them.
 */
const sessionKeys: Uint8Array[] = [];
const restore: (() => void)[] = [];
beforeEach(() => {
  sessionKeys.length = 0;
  for (const row of [...cipherAlgorithms.values(), ...macAlgorithms.values()]) {
    const r = row as { create: (...a: unknown[]) => unknown };
    const create = r.create;
    r.create = function (this: unknown, ...args: unknown[]) {
      for (const a of args.slice(0, 'ivLength' in row ? 2 : 1)) if (a instanceof Uint8Array) sessionKeys.push(a.slice());
      return create.apply(this, args);
    };
    restore.push(() => (r.create = create));
  }
});
afterEach(() => {
  for (const undo of restore.splice(0)) undo();
});

/**
 * Whether `shown` holds the first 8 bytes of `key`, as util.inspect prints a Uint8Array
 * (decimal), a Buffer (hex), or JSON.stringify an object of numbers. `numbers`: every decimal
 * number in `shown`, in order, as `,n,n,...,n,` ({@link decimalRuns}), made once per view (the
 * view runs to megabytes and is searched for each of the session's keys).
 */
function holdsKey(shown: string, numbers: string, key: Uint8Array): boolean {
  const head = [...key.subarray(0, 8)];
  if (numbers.includes(`,${head.join(',')},`)) return true;
  return shown.includes(head.map((b) => b.toString(16).padStart(2, '0')).join(' '));
}

/** The decimal numbers in `shown`, comma-separated and framed by commas, for {@link holdsKey}. */
function decimalRuns(shown: string): string {
  return `,${(shown.match(/\d+/g) ?? []).join(',')},`;
}

/** Every cipher and MAC key in view of `client` (none once F2 of break25 is fixed). */
function keysShown(client: object): number {
  const shown = views(client);
  const numbers = decimalRuns(shown);
  return sessionKeys.filter((k) => k.length >= 8 && holdsKey(shown, numbers, k)).length;
}

const keyedLogins: { cipher: string; mac?: string }[] = [
  { cipher: 'aes128-gcm@openssh.com' },
  { cipher: 'chacha20-poly1305@openssh.com' },
  { cipher: 'aes256-ctr', mac: 'hmac-sha2-256-etm@openssh.com' },
  { cipher: 'aes128-ctr', mac: 'umac-64-etm@openssh.com' },
  { cipher: 'aes192-ctr', mac: 'hmac-sha1' },
];
/** The pure TypeScript provider keeps every key schedule in plain JavaScript objects. */
const pureLogins: { cipher: string; mac?: string }[] = [
  { cipher: 'aes128-gcm@openssh.com' },
  { cipher: 'aes256-ctr', mac: 'hmac-sha2-512-etm@openssh.com' },
];

/** Everything a careless log line could print of `client`. */
function views(client: object): string {
  let json: string;
  try {
    json = JSON.stringify(client);
  } catch (e) {
    json = `(JSON.stringify threw ${(e as Error).message})`;
  }
  return inspect(client, { depth: Infinity, showHidden: true, getters: true, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity }) + '\n' + json;
}

describeInterop('secrets are not kept in view on the client', () => {
  const sshd = sshdSuite({ password: true });

  it('Node: password, passphrase and private key text are shown by neither util.inspect nor JSON.stringify', async () => {
    const { user, password } = sshd.password!;
    const ssh: SshClient = await connect({
      host: sshd.host,
      port: sshd.port,
      username: user,
      knownHosts: sshd.knownHostsPath,
      password,
      passphrase: PASSPHRASE,
      // A key the server does not take for this user's login is still read; the password logs in.
      privateKey: sshd.clientKey,
    });
    try {
      const shown = views(ssh);
      expect(shown).toContain(String(sshd.port));
      expect(shown).not.toContain(password);
      expect(shown).not.toContain(PASSPHRASE);
      expect(shown).not.toContain('BEGIN OPENSSH PRIVATE KEY');
    } finally {
      await ssh.close();
    }
  });

  it('web: the same for the web client', async () => {
    const { user, password } = sshd.password!;
    const ssh = await webConnect({
      transport: dialNodeWeb(sshd.port),
      host: sshd.host,
      port: sshd.port,
      username: user,
      knownHosts: sshd.hostKeyLines.join('\n'),
      password,
      passphrase: PASSPHRASE,
    });
    try {
      const shown = views(ssh);
      expect(shown).toContain(user);
      expect(shown).not.toContain(password);
      expect(shown).not.toContain(PASSPHRASE);
    } finally {
      await ssh.close();
    }
  });

  for (const { cipher, mac, pure } of [...keyedLogins, ...pureLogins.map((l) => ({ ...l, pure: true }))] as { cipher: string; mac?: string; pure?: boolean }[]) {
    it(`Node: no live cipher or MAC key in view (${cipher}${mac ? ` + ${mac}` : ''}${pure ? ', pure provider' : ''})`, async () => {
      const ssh = await connect({
        ...(pure ? { crypto: 'pure' as const } : {}),
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        knownHosts: sshd.knownHostsPath,
        privateKey: sshd.clientKey,
        algorithms: { cipher, ...(mac ? { mac } : {}) },
      });
      try {
        expect(sessionKeys.length).toBe(mac ? 6 : 4);
        expect(keysShown(ssh)).toBe(0);
      } finally {
        await ssh.close();
      }
    });
  }

  it('web: no live cipher key in view', async () => {
    const ssh = await webConnect({
      transport: dialNodeWeb(sshd.port),
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      knownHosts: sshd.hostKeyLines.join('\n'),
      privateKey: sshd.clientKey,
    });
    try {
      expect(sessionKeys.length).toBeGreaterThanOrEqual(4);
      expect(keysShown(ssh)).toBe(0);
    } finally {
      await ssh.close();
    }
  });
});
