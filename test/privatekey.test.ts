import { createHmac, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { loadIdentityFile } from '../src/node/identity-file.js';
import { parsePrivateKey, parsePublicKeyFile, parsePublicKeyLine, type PrivateKey } from '../src/keys/privatekey.js';
import { sshKeyParseReason } from '../src/keys/signing.js';
import { decodePublicKeyBlob } from '../src/keys/hostkey.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const data = new TextEncoder().encode('session id || userauth request');

/** The public key from ssh-keygen's .pub file, as a node:crypto KeyObject (independent of our parser). */
function nodePublicKey(pubLine: string): KeyObject {
  const blob = Buffer.from(pubLine.split(' ')[1]!, 'base64');
  const r = new SshReader(new Uint8Array(blob));
  const type = Buffer.from(r.string()).toString();
  const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const unsigned = (b: Uint8Array) => (b[0] === 0 ? b.subarray(1) : b);
  if (type === 'ssh-ed25519') {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(r.string()) }, format: 'jwk' });
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const crv = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' }[Buffer.from(r.string()).toString()]!;
    const q = r.string();
    const len = (q.length - 1) / 2;
    return createPublicKey({
      key: { kty: 'EC', crv, x: b64url(q.subarray(1, 1 + len)), y: b64url(q.subarray(1 + len)) },
      format: 'jwk',
    });
  }
  const e = unsigned(r.string());
  const n = unsigned(r.string());
  return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
}

/** Split an RFC 4253 §6.6 signature blob. */
function splitSignature(blob: Uint8Array): { alg: string; sig: Uint8Array } {
  const r = new SshReader(blob);
  const alg = Buffer.from(r.string()).toString();
  const sig = r.string();
  r.end();
  return { alg, sig };
}

function expectCode(fn: () => unknown, code: string, messageParts: (string | RegExp)[] = []): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
  for (const part of messageParts) expect((err as Error).message).toMatch(part);
}

/** Rebuild the armour around modified key bytes. */
function rearmour(raw: Uint8Array): string {
  const b64 = Buffer.from(raw).toString('base64').replace(/(.{70})/g, '$1\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function unarmour(text: string): Uint8Array {
  const body = text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Offset of the private section (after its uint32 length) in an unencrypted key. */
function privateSectionOffset(raw: Uint8Array): number {
  const r = new SshReader(raw, 15);
  r.string();
  r.string();
  r.string();
  r.uint32();
  r.string();
  r.uint32();
  return r.offset;
}

describe('parsePrivateKey: ssh-ed25519', () => {
  const pub = fixture('id_ed25519.pub');
  const key = parsePrivateKey(fixture('id_ed25519'), 'id_ed25519');

  it('reads type, comment and a public blob equal to the .pub file', () => {
    expect(key.keyType).toBe('ssh-ed25519');
    expect(key.comment).toBe('alice@example');
    expect(key.signatureAlgorithms).toEqual(['ssh-ed25519']);
    expect(Buffer.from(key.publicKeyBlob).toString('base64')).toBe(pub.split(' ')[1]);
  });

  it('accepts bytes as well as text', () => {
    const k = parsePrivateKey(new Uint8Array(readFileSync(join(fixtures, 'id_ed25519'))));
    expect(k.publicKeyBlob).toEqual(key.publicKeyBlob);
  });

  it('makes signatures that node:crypto verifies with the .pub key', () => {
    const { alg, sig } = splitSignature(key.sign('ssh-ed25519', data));
    expect(alg).toBe('ssh-ed25519');
    expect(sig.length).toBe(64);
    expect(verify(null, data, nodePublicKey(pub), sig)).toBe(true);
    expect(verify(null, new TextEncoder().encode('other'), nodePublicKey(pub), sig)).toBe(false);
  });

  it('refuses other algorithms, and signing after dispose', () => {
    const k = parsePrivateKey(fixture('id_ed25519'));
    expectCode(() => k.sign('rsa-sha2-256', data), 'ERR_USAGE');
    k.dispose();
    expectCode(() => k.sign('ssh-ed25519', data), 'ERR_USAGE', [/disposed/]);
  });
});

describe('parsePrivateKey: refusals', () => {
  it('an encrypted key without a passphrase → ERR_KEY_ENCRYPTED naming the file, cipher and the way out', () => {
    expectCode(() => parsePrivateKey(fixture('id_ed25519_encrypted'), '/home/joe/.ssh/id_enc'), 'ERR_KEY_ENCRYPTED', [
      '/home/joe/.ssh/id_enc is encrypted',
      'aes256-ctr/bcrypt',
      'a passphrase is needed',
      'ssh-agent',
    ]);
    // An empty passphrase is no passphrase (OpenSSH private2_decrypt).
    expectCode(() => parsePrivateKey(fixture('id_ed25519_encrypted'), { passphrase: '' }), 'ERR_KEY_ENCRYPTED');
  });

  it('an encrypted key with its passphrase decrypts; a wrong one → ERR_KEY_PASSPHRASE in ssh(1)\'s words', () => {
    const pass = new TextEncoder().encode('secret');
    const k = parsePrivateKey(fixture('id_ed25519_encrypted'), { passphrase: pass, source: 'enc' });
    expect(Buffer.from(k.publicKeyBlob).toString('base64')).toBe(fixture('id_ed25519_encrypted.pub').split(' ')[1]);
    expect(k.format).toBe('openssh');
    expect(Buffer.from(pass).toString()).toBe('secret'); // the caller's bytes are left alone
    expectCode(() => parsePrivateKey(fixture('id_ed25519_encrypted'), { passphrase: 'Secret', source: 'enc' }), 'ERR_KEY_PASSPHRASE', [
      'enc: incorrect passphrase supplied to decrypt private key',
      /check integers/,
    ]);
  });

  it('mismatched checkints in an unencrypted key → ERR_KEY_FORMAT', () => {
    const raw = unarmour(fixture('id_ed25519'));
    raw[privateSectionOffset(raw)]! ^= 0x01;
    expectCode(() => parsePrivateKey(rearmour(raw), 'k1'), 'ERR_KEY_FORMAT', ['k1', /check integers/]);
  });

  it('padding 1, 2, 3… is accepted, any other padding → ERR_KEY_FORMAT', () => {
    const raw = unarmour(fixture('id_ed25519'));
    const start = privateSectionOffset(raw);
    // checkint×2, string "ssh-ed25519", string pk, string sk(64), string comment: then padding.
    const r = new SshReader(raw, start + 8);
    for (let i = 0; i < 4; i++) r.string();
    const content = raw.subarray(start, r.offset);
    const withPadding = (pad: number[]) => {
      const w = new SshWriter().raw(raw.subarray(0, start - 4));
      w.string(new Uint8Array([...content, ...pad]));
      return rearmour(w.toBytes());
    };
    const n = 8 - (content.length % 8) || 8;
    const good = Array.from({ length: n }, (_, i) => i + 1);
    expect(parsePrivateKey(withPadding(good)).comment).toBe('alice@example');
    const bad = [...good];
    bad[n - 1] = 0x40;
    expectCode(() => parsePrivateKey(withPadding(bad), 'k2'), 'ERR_KEY_FORMAT', ['k2', /padding/]);
  });

  it('a private half that does not match the public half → ERR_KEY_FORMAT', () => {
    const raw = unarmour(fixture('id_ed25519'));
    // checkint×2, string "ssh-ed25519" (4+11), string pk (4+32), string sk: flip a seed byte.
    raw[privateSectionOffset(raw) + 8 + 15 + 36 + 4]! ^= 0x01;
    expectCode(() => parsePrivateKey(rearmour(raw), 'k3'), 'ERR_KEY_FORMAT', ['k3', /do not match/]);
  });

  it('a truncated key → ERR_KEY_FORMAT, not a protocol error', () => {
    const raw = unarmour(fixture('id_ed25519'));
    expectCode(() => parsePrivateKey(rearmour(raw.subarray(0, 120)), 'k4'), 'ERR_KEY_FORMAT', ['k4']);
  });

  it('a PEM RSA key (PKCS#1) is read too, with the public key of its .pub file', () => {
    const k = parsePrivateKey(fixture('id_rsa_pem'), 'id_rsa_pem');
    expect(k.format).toBe('pkcs1');
    expect(Buffer.from(k.publicKeyBlob).toString('base64')).toBe(fixture('id_rsa_pem.pub').split(' ')[1]);
  });

  it('a .pub file or garbage → ERR_KEY_FORMAT', () => {
    expectCode(() => parsePrivateKey(fixture('id_ed25519.pub'), 'x.pub'), 'ERR_KEY_FORMAT', ['x.pub', /public key/]);
    expectCode(() => parsePrivateKey('hello', 'junk'), 'ERR_KEY_FORMAT', ['junk', /not a private key file/]);
  });

  it('an unknown key type → ERR_KEY_FORMAT naming the type', () => {
    const raw = unarmour(fixture('id_ed25519'));
    const off = privateSectionOffset(raw) + 8 + 4;
    raw.set(new TextEncoder().encode('ssh-ed25518'), off);
    expectCode(() => parsePrivateKey(rearmour(raw), 'k5'), 'ERR_KEY_FORMAT', ['k5', 'ssh-ed25518']);
  });
});

describe('parsePrivateKey: ecdsa and rsa', () => {
  for (const [file, alg, hash] of [
    ['id_ecdsa256', 'ecdsa-sha2-nistp256', 'sha256'],
    ['id_ecdsa384', 'ecdsa-sha2-nistp384', 'sha384'],
    ['id_ecdsa521', 'ecdsa-sha2-nistp521', 'sha512'],
  ] as const) {
    it(`${alg}: public blob from .pub, RFC 5656 signature verifies`, () => {
      const pub = fixture(`${file}.pub`);
      const key = parsePrivateKey(fixture(file), file);
      expect(key.keyType).toBe(alg);
      expect(key.signatureAlgorithms).toEqual([alg]);
      expect(Buffer.from(key.publicKeyBlob).toString('base64')).toBe(pub.split(' ')[1]);
      const { alg: sigAlg, sig } = splitSignature(key.sign(alg, data));
      expect(sigAlg).toBe(alg);
      // RFC 5656 §3.1.2: mpint r, mpint s.
      const r = new SshReader(sig);
      const rr = r.mpint();
      const ss = r.mpint();
      r.end();
      const len = { sha256: 32, sha384: 48, sha512: 66 }[hash];
      const fixed = (b: Uint8Array) => {
        const u = b[0] === 0 ? b.subarray(1) : b;
        const out = new Uint8Array(len);
        out.set(u, len - u.length);
        return out;
      };
      const p1363 = Buffer.concat([fixed(rr), fixed(ss)]);
      expect(verify(hash, data, { key: nodePublicKey(pub), dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
      expect(verify(hash, Buffer.from('x'), { key: nodePublicKey(pub), dsaEncoding: 'ieee-p1363' }, p1363)).toBe(false);
    });
  }

  let rsa: PrivateKey;
  it('ssh-rsa: public blob from .pub, rsa-sha2-512, -256 and (SHA-1) ssh-rsa signatures verify', () => {
    const pub = fixture('id_rsa.pub');
    rsa = parsePrivateKey(fixture('id_rsa'), 'id_rsa');
    expect(rsa.keyType).toBe('ssh-rsa');
    expect(rsa.comment).toBe('rsa2048');
    // SHA-1 ssh-rsa last: used only when PubkeyAcceptedAlgorithms names it (userauth.ts).
    expect(rsa.signatureAlgorithms).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(Buffer.from(rsa.publicKeyBlob).toString('base64')).toBe(pub.split(' ')[1]);
    for (const [alg, hash] of [
      ['rsa-sha2-512', 'sha512'],
      ['rsa-sha2-256', 'sha256'],
      // RFC 4253 §6.6 SHA-1, made only when asked (PubkeyAcceptedAlgorithms names ssh-rsa).
      ['ssh-rsa', 'sha1'],
    ] as const) {
      const { alg: sigAlg, sig } = splitSignature(rsa.sign(alg, data));
      expect(sigAlg).toBe(alg);
      expect(sig.length).toBe(256);
      expect(verify(hash, data, nodePublicKey(pub), sig)).toBe(true);
    }
    expectCode(() => rsa.sign('ssh-dss', data), 'ERR_USAGE');
  });
});

describe('parsePublicKeyLine', () => {
  const pub = fixture('id_ed25519.pub').trim();

  it('reads a .pub line', () => {
    const k = parsePublicKeyLine(pub);
    expect(k.keyType).toBe('ssh-ed25519');
    expect(k.comment).toBe('alice@example');
    expect(Buffer.from(k.keyBlob).toString('base64')).toBe(pub.split(' ')[1]);
  });

  it('skips authorized_keys options, even with quoted spaces', () => {
    const k = parsePublicKeyLine(`command="echo a b",no-pty ${pub}`);
    expect(k.keyType).toBe('ssh-ed25519');
    expect(k.comment).toBe('alice@example');
  });

  it('rejects a type word that disagrees with the blob, and garbage', () => {
    const [, b64] = pub.split(' ');
    expectCode(() => parsePublicKeyLine(`ssh-rsa ${b64}`), 'ERR_KEY_FORMAT');
    expectCode(() => parsePublicKeyLine('nothing here'), 'ERR_KEY_FORMAT');
  });

  it('decodes the blob strictly, as OpenSSH sshkey_read (sshkey_from_blob): exact fields, nothing after them, a type ssh knows; each with ssh\'s reason', () => {
    const raw = Buffer.from(pub.split(' ')[1]!, 'base64');
    const line = (type: string, blob: Uint8Array) => `${type} ${Buffer.from(blob).toString('base64')}`;
    /** decodePublicKeyBlob's reason for the line's blob, which parsePublicKeyLine must then refuse. */
    const reasonOf = (text: string) => {
      const blob = Buffer.from(text.split(' ')[1]!, 'base64');
      try {
        decodePublicKeyBlob(blob);
      } catch (err) {
        expectCode(() => parsePublicKeyLine(text), 'ERR_KEY_FORMAT');
        return sshKeyParseReason(err);
      }
      expect(parsePublicKeyLine(text).keyType).toBe(text.split(' ')[0]);
      return 'parsed';
    };
    const pk = raw.subarray(19);
    const cases: [string, string][] = [
      [line('ssh-ed25519', Buffer.concat([raw, Buffer.alloc(1)])), 'invalid format'],
      [line('ssh-ed25519', new SshWriter().string('ssh-ed25519').string(pk.subarray(0, 31)).toBytes()), 'invalid format'],
      [line('ssh-ed25519', Buffer.concat([new SshWriter().string('ssh-ed25519').toBytes(), Buffer.from([0, 0, 0, 33]), pk])), 'incomplete message'],
      [line('ssh-ed25518', new SshWriter().string('ssh-ed25518').string(pk).toBytes()), 'unknown or unsupported key type'],
      [line('ecdsa-sha2-nistp256', new SshWriter().string('ecdsa-sha2-nistp256').string('nistp384').string(new Uint8Array(65)).toBytes()), 'elliptic curve does not match'],
      // 0x04 || 0 || 0 is no point of P-256.
      [line('ecdsa-sha2-nistp256', new SshWriter().string('ecdsa-sha2-nistp256').string('nistp256').string(Uint8Array.of(4, ...new Uint8Array(64))).toBytes()), 'invalid format'],
      [line('ssh-rsa', new SshWriter().string('ssh-rsa').mpint(Uint8Array.of(1, 0, 1)).mpint(Uint8Array.of(0xc3, ...new Uint8Array(95).fill(7))).toBytes()), 'Invalid key length'],
      // DSA: ssh reads it; pure-ssh checks its framing (four mpints) and takes it by its name.
      [line('ssh-dss', new SshWriter().string('ssh-dss').string('p').string('q').string('g').string('y').toBytes()), 'parsed'],
    ];
    for (const [text, reason] of cases) expect(reasonOf(text), text).toBe(reason);
  });

  it('an RSA private key under 1024 bits is marked with ssh\'s reason, "Invalid key length" (sshkey_check_rsa_length), in PKCS#1 and PKCS#8', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 768 });
    for (const type of ['pkcs1', 'pkcs8'] as const) {
      const pem = privateKey.export({ type, format: 'pem' }) as string;
      let reason: string | undefined;
      try {
        parsePrivateKey(pem);
      } catch (err) {
        expect((err as { code?: string }).code).toBe('ERR_KEY_FORMAT');
        reason = sshKeyParseReason(err);
      }
      expect(reason, type).toBe('Invalid key length');
    }
  });

  it('parsePublicKeyFile: the first line that holds a key (sshkey_try_load_public reads on past a damaged one)', () => {
    const [type, b64] = pub.split(' ');
    const bad = `${type} ${Buffer.concat([Buffer.from(b64!, 'base64'), Buffer.alloc(1)]).toString('base64')} bad`;
    expect(parsePublicKeyFile(`# comment\n${bad}\n${pub}\n`).comment).toBe('alice@example');
    expectCode(() => parsePublicKeyFile(`${bad}\n`), 'ERR_KEY_FORMAT');
    expectCode(() => parsePublicKeyFile(`-----BEGIN OPENSSH PRIVATE KEY-----\n${pub}\n`), 'ERR_KEY_FORMAT');
  });
});

describe('loadIdentityFile', () => {
  // git checks the fixtures out readable by others (0644), which ssh's permission rule refuses.
  const fixtureFile = { allowUnprotectedKeyFiles: true };

  it('loads a key file', async () => {
    const key = await loadIdentityFile(join(fixtures, 'id_ed25519'), fixtureFile);
    expect(key.comment).toBe('alice@example');
  });

  it('expands ~/ to the home directory', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pure-ssh-home-'));
    writeFileSync(join(home, 'my_key'), fixture('id_ed25519'), { mode: 0o600 });
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const key = await loadIdentityFile('~/my_key');
      expect(key.keyType).toBe('ssh-ed25519');
    } finally {
      process.env.HOME = saved;
    }
  });

  it('a missing file → ERR_PRIVATE_KEY naming the path', async () => {
    const missing = join(tmpdir(), 'pure-ssh-no-such-key');
    await expect(loadIdentityFile(missing)).rejects.toMatchObject({
      code: 'ERR_PRIVATE_KEY',
      message: expect.stringContaining(missing),
    });
  });

  it('an encrypted file → ERR_KEY_ENCRYPTED naming the path; with its passphrase it loads', async () => {
    const path = join(fixtures, 'id_ed25519_encrypted');
    await expect(loadIdentityFile(path, fixtureFile)).rejects.toMatchObject({
      code: 'ERR_KEY_ENCRYPTED',
      source: path,
      message: expect.stringContaining(path),
    });
    const key = await loadIdentityFile(path, { ...fixtureFile, passphrase: 'secret' });
    expect(key.keyType).toBe('ssh-ed25519');
    await expect(loadIdentityFile(path, { ...fixtureFile, passphrase: 'nope' })).rejects.toMatchObject({ code: 'ERR_KEY_PASSPHRASE' });
  });
});

/**
 * An ssh-ed25519 key's public half is recomputed from its seed at load and compared with the
 * file's (OpenSSH, PKCS#8 v2, PuTTY): with the provider's Ed25519 when it has one (node:crypto,
 * src/node/crypto-provider.ts), else with @noble/curves. Either way a file whose halves disagree
 * is refused at load with the same KeyError.
 */
describe('parsePrivateKey: an ssh-ed25519 public half checked with the provider or noble', () => {
  const HALVES = 'ssh-ed25519 private and public halves do not match (corrupted key file)';
  const raw = unarmour(fixture('id_ed25519'));
  // checkint×2, string "ssh-ed25519" (4+11), string pk (4+32), string sk (4+64): k || ENC(A).
  const skAt = privateSectionOffset(raw) + 8 + 15 + 36 + 4;
  const seed = raw.slice(skAt, skAt + 32);
  const pk = raw.slice(skAt + 32, skAt + 64);
  const blob = new SshWriter().string('ssh-ed25519').string(pk).toBytes();
  const otherSeed = seed.map((b, i) => (i === 0 ? b ^ 1 : b));

  /** OpenSSH format with `s` as the seed (the public key fields unchanged). */
  const openssh = (s: Uint8Array) => {
    const copy = raw.slice();
    copy.set(s, skAt);
    return rearmour(copy);
  };
  /** PKCS#8 v2 (RFC 5958 §2, RFC 8410 §7): version 1, id-Ed25519, the seed, [1] publicKey. */
  const pkcs8 = (s: Uint8Array) => {
    const der = Buffer.concat([
      Buffer.from('3051020101300506032b657004220420', 'hex'),
      s,
      Buffer.from('812100', 'hex'),
      pk,
    ]);
    return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
  };
  /** An unencrypted PuTTY v3 file (PuTTY manual appendix C: MAC = HMAC-SHA-256 with an empty key). */
  const ppk = (s: Uint8Array) => {
    const priv = new SshWriter().string(s).toBytes();
    const mac = createHmac('sha256', Buffer.alloc(0))
      .update(new SshWriter().string('ssh-ed25519').string('none').string('k').string(blob).string(priv).toBytes())
      .digest('hex');
    return [
      'PuTTY-User-Key-File-3: ssh-ed25519',
      'Encryption: none',
      'Comment: k',
      'Public-Lines: 1',
      Buffer.from(blob).toString('base64'),
      'Private-Lines: 1',
      Buffer.from(priv).toString('base64'),
      `Private-MAC: ${mac}`,
      '',
    ].join('\n');
  };

  /** nodeCryptoProvider, counting the calls of its Ed25519 publicKey. */
  function countingNode(): { provider: CryptoProvider; calls: () => number } {
    let n = 0;
    const ed = nodeCryptoProvider.ed25519!;
    const provider: CryptoProvider = Object.create(nodeCryptoProvider, {
      ed25519: { value: { ...ed, publicKey: (s: Uint8Array) => (n++, ed.publicKey(s)) } },
    });
    return { provider, calls: () => n };
  }

  it('the node provider has a runtime Ed25519 here; the pure one has none (noble computes it)', () => {
    expect(nodeCryptoProvider.ed25519).toBeDefined();
    expect(pureCryptoProvider.ed25519).toBeUndefined();
  });

  for (const [format, make] of [
    ['OpenSSH', openssh],
    ['PKCS#8 v2', pkcs8],
    ['PuTTY v3', ppk],
  ] as const) {
    it(`${format}: loads with either provider (and none), the node one computing the public half once`, () => {
      for (const crypto of [undefined, pureCryptoProvider, nodeCryptoProvider]) {
        const key = parsePrivateKey(make(seed), { source: 'k', crypto });
        expect(Buffer.from(key.publicKeyBlob).toString('hex')).toBe(Buffer.from(blob).toString('hex'));
        key.dispose();
      }
      const { provider, calls } = countingNode();
      parsePrivateKey(make(seed), { source: 'k', crypto: provider }).dispose();
      expect(calls()).toBe(1);
    });

    it(`${format}: halves that disagree → ERR_KEY_FORMAT at load, with the node provider, the pure one and none`, () => {
      const { provider, calls } = countingNode();
      for (const crypto of [undefined, pureCryptoProvider, nodeCryptoProvider, provider]) {
        expectCode(() => parsePrivateKey(make(otherSeed), { source: 'k6', crypto }), 'ERR_KEY_FORMAT', [`k6: ${HALVES}`]);
      }
      expect(calls()).toBe(1);
    });
  }

  it('loadIdentityFile with the node provider refuses a file whose halves disagree, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-halves-'));
    const path = join(dir, 'id_ed25519');
    try {
      writeFileSync(path, openssh(otherSeed), { mode: 0o600 });
      for (const crypto of [nodeCryptoProvider, pureCryptoProvider]) {
        await expect(loadIdentityFile(path, { crypto })).rejects.toMatchObject({ code: 'ERR_KEY_FORMAT', message: `${path}: ${HALVES}` });
      }
      writeFileSync(path, openssh(seed), { mode: 0o600 });
      expect((await loadIdentityFile(path, { crypto: nodeCryptoProvider })).publicKeyBlob).toEqual(blob);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
