import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { DisconnectReason, ProtocolError } from '../src/errors.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import { KEX_CURVE25519, curve25519GenerateKeyPair, curve25519SharedSecret } from '../src/kex/curve25519.js';
import { deriveKey as deriveEncoded, encodeSharedMpint, exchangeHash, type KdfLetter } from '../src/kex/kex.js';
import { SshWriter } from '../src/protocol/wire.js';
import { expectProtocolError } from './support/expect-protocol-error.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** curve25519-sha256's H through the generic exchange hash: Q_C and Q_S as strings, K as an mpint (RFC 8731 §3.1). */
function exchangeHashCurve25519(p: {
  clientVersion: string;
  serverVersion: string;
  clientKexInit: Uint8Array;
  serverKexInit: Uint8Array;
  hostKeyBlob: Uint8Array;
  clientPublic: Uint8Array;
  serverPublic: Uint8Array;
  sharedSecret: Uint8Array;
}): Uint8Array {
  const fields = new SshWriter(80).string(p.clientPublic).string(p.serverPublic).toBytes();
  return exchangeHash('sha256', pureCryptoProvider, p, fields, encodeSharedMpint(p.sharedSecret));
}

/** The KDF with K given raw, encoded as the classical methods do (an mpint). */
function deriveKey(
  hash: (d: Uint8Array) => Uint8Array,
  rawK: Uint8Array,
  H: Uint8Array,
  letter: KdfLetter,
  sid: Uint8Array,
  length: number,
): Uint8Array {
  return deriveEncoded(hash, encodeSharedMpint(rawK), H, letter, sid, length);
}

// Independent, deliberately naive RFC 4251 §5 encoders on Buffer and node:crypto.
const sshString = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (b.length >>> (24 - 8 * i)) & 0xff)), b]);
function sshMpint(unsigned: Buffer): Buffer {
  let n = BigInt('0x' + (unsigned.toString('hex') || '0'));
  if (n === 0n) return sshString(Buffer.alloc(0));
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  let body = Buffer.from(h, 'hex');
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return sshString(body);
}
function nodeDerive(hashName: string, K: Buffer, H: Buffer, letter: string, sid: Buffer, length: number): Buffer {
  const k = sshMpint(K);
  let out = createHash(hashName).update(Buffer.concat([k, H, Buffer.from(letter), sid])).digest();
  while (out.length < length) {
    out = Buffer.concat([out, createHash(hashName).update(Buffer.concat([k, H, out])).digest()]);
  }
  return out.subarray(0, length);
}

function expectKexFailure(fn: () => unknown): void {
  expectProtocolError(fn, 'ERR_PROTOCOL', DisconnectReason.KEY_EXCHANGE_FAILED);
}

describe('curve25519 (RFC 7748 vectors)', () => {
  const x = vectors('x25519.json');

  it('lists both method names', () => {
    expect(KEX_CURVE25519).toEqual(['curve25519-sha256', 'curve25519-sha256@libssh.org']);
  });

  for (const v of x.scalarMult) {
    it(v.name, () => {
      expect(toHex(curve25519SharedSecret(hex(v.scalar), hex(v.u)))).toBe(v.out);
    });
  }

  it('RFC 7748 §5.2 iterated: 1 and 1000 iterations', () => {
    let k: Uint8Array = hex(x.iterated.start);
    let u: Uint8Array = hex(x.iterated.start);
    for (let i = 1; i <= 1000; i++) {
      const next = curve25519SharedSecret(k, u);
      u = k;
      k = next;
      if (i === 1) expect(toHex(k)).toBe(x.iterated.after1);
    }
    expect(toHex(k)).toBe(x.iterated.after1000);
  });

  it('RFC 7748 §6.1 Diffie-Hellman through the key pair API', () => {
    const alice = curve25519GenerateKeyPair(hex(x.dh.alicePrivate));
    const bob = curve25519GenerateKeyPair(hex(x.dh.bobPrivate));
    expect(toHex(alice.publicKey)).toBe(x.dh.alicePublic);
    expect(toHex(bob.publicKey)).toBe(x.dh.bobPublic);
    expect(toHex(curve25519SharedSecret(alice.privateKey, bob.publicKey))).toBe(x.dh.shared);
    expect(toHex(curve25519SharedSecret(bob.privateKey, alice.publicKey))).toBe(x.dh.shared);
  });

  it('copies the random input (caller may wipe it)', () => {
    const r = new Uint8Array(randomBytes(32));
    const kp = curve25519GenerateKeyPair(r);
    const pub = toHex(kp.publicKey);
    r.fill(0);
    expect(toHex(curve25519GenerateKeyPair(kp.privateKey).publicKey)).toBe(pub);
  });

  it('rejects low-order server keys (all-zero shared secret) with KEY_EXCHANGE_FAILED', () => {
    const priv = new Uint8Array(randomBytes(32));
    // u = 0 and u = 1 are low-order points; any scalar sends them to zero.
    expectKexFailure(() => curve25519SharedSecret(priv, new Uint8Array(32)));
    const one = new Uint8Array(32);
    one[0] = 1;
    expectKexFailure(() => curve25519SharedSecret(priv, one));
    // A point of order 8 (RFC 7748 §7 / libsodium's blocklist).
    expectKexFailure(() =>
      curve25519SharedSecret(priv, hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')),
    );
  });

  it('rejects a server key that is not 32 bytes', () => {
    const priv = new Uint8Array(randomBytes(32));
    expectKexFailure(() => curve25519SharedSecret(priv, new Uint8Array(31)));
    expectKexFailure(() => curve25519SharedSecret(priv, new Uint8Array(33).fill(9)));
  });
});

describe('exchange hash (RFC 8731 §3.1)', () => {
  const v = vectors('kdf.json').exchangeHash[0];
  const input = {
    clientVersion: v.clientVersion,
    serverVersion: v.serverVersion,
    clientKexInit: hex(v.clientKexInit),
    serverKexInit: hex(v.serverKexInit),
    hostKeyBlob: hex(v.hostKeyBlob),
    clientPublic: hex(v.clientPublic),
    serverPublic: hex(v.serverPublic),
    sharedSecret: hex(v.sharedSecret),
  };

  it('matches the vector and an independent node:crypto computation', () => {
    const independent = createHash('sha256')
      .update(
        Buffer.concat([
          sshString(Buffer.from(v.clientVersion)),
          sshString(Buffer.from(v.serverVersion)),
          sshString(Buffer.from(v.clientKexInit, 'hex')),
          sshString(Buffer.from(v.serverKexInit, 'hex')),
          sshString(Buffer.from(v.hostKeyBlob, 'hex')),
          sshString(Buffer.from(v.clientPublic, 'hex')),
          sshString(Buffer.from(v.serverPublic, 'hex')),
          sshMpint(Buffer.from(v.sharedSecret, 'hex')),
        ]),
      )
      .digest('hex');
    expect(independent).toBe(v.hash);
    expect(toHex(exchangeHashCurve25519(input))).toBe(v.hash);
  });

  it('encodes K as an mpint: leading zeros stripped, 0x00 added for a set top bit', () => {
    for (const first of [[0x00, 0x00, 0x7f], [0x00, 0x80], [0xff], [0x01]]) {
      const k = new Uint8Array(32).fill(0x5a);
      k.set(first);
      const independent = createHash('sha256')
        .update(
          Buffer.concat([
            ...[v.clientVersion, v.serverVersion].map((s: string) => sshString(Buffer.from(s))),
            ...[v.clientKexInit, v.serverKexInit, v.hostKeyBlob, v.clientPublic, v.serverPublic].map((s: string) =>
              sshString(Buffer.from(s, 'hex')),
            ),
            sshMpint(Buffer.from(k)),
          ]),
        )
        .digest('hex');
      expect(toHex(exchangeHashCurve25519({ ...input, sharedSecret: k }))).toBe(independent);
    }
  });

  it('depends on every input', () => {
    const base = toHex(exchangeHashCurve25519(input));
    const variants = [
      { ...input, clientVersion: input.clientVersion + 'x' },
      { ...input, serverVersion: input.serverVersion + 'x' },
      { ...input, clientKexInit: input.clientKexInit.subarray(1) },
      { ...input, serverKexInit: input.serverKexInit.subarray(1) },
      { ...input, hostKeyBlob: input.hostKeyBlob.subarray(1) },
      { ...input, clientPublic: input.serverPublic, serverPublic: input.clientPublic },
      { ...input, sharedSecret: input.sharedSecret.map((b, i) => (i === 31 ? b ^ 1 : b)) },
    ];
    for (const x of variants) expect(toHex(exchangeHashCurve25519(x))).not.toBe(base);
  });
});

describe('deriveKey (RFC 4253 §7.2)', () => {
  const letters: KdfLetter[] = ['A', 'B', 'C', 'D', 'E', 'F'];
  for (const v of vectors('kdf.json').derive) {
    it(`${v.name}: vector and independent node:crypto computation agree`, () => {
      const hash = v.hash === 'sha512' ? sha512 : sha256;
      for (const L of letters) {
        const independent = nodeDerive(
          v.hash,
          Buffer.from(v.sharedSecret, 'hex'),
          Buffer.from(v.exchangeHash, 'hex'),
          L,
          Buffer.from(v.sessionId, 'hex'),
          v.length,
        ).toString('hex');
        expect(independent).toBe(v.keys[L]);
        const got = deriveKey(hash, hex(v.sharedSecret), hex(v.exchangeHash), L, hex(v.sessionId), v.length);
        expect(got.length).toBe(v.length);
        expect(toHex(got)).toBe(v.keys[L]);
      }
    });
  }

  it('the first block is HASH(mpint K || H || letter || session_id); shorter keys are prefixes', () => {
    for (let i = 0; i < 20; i++) {
      const K = new Uint8Array(randomBytes(32));
      if (i % 3 === 0) K[0] = 0;
      if (i % 3 === 1) K[0]! |= 0x80;
      const H = new Uint8Array(randomBytes(32));
      const sid = i % 2 ? H : new Uint8Array(randomBytes(32));
      const long = deriveKey(sha256, K, H, 'C', sid, 64);
      const expected = nodeDerive('sha256', Buffer.from(K), Buffer.from(H), 'C', Buffer.from(sid), 64);
      expect(toHex(long)).toBe(expected.toString('hex'));
      expect(toHex(deriveKey(sha256, K, H, 'C', sid, 12))).toBe(toHex(long.subarray(0, 12)));
      expect(toHex(deriveKey(sha256, K, H, 'D', sid, 64))).not.toBe(toHex(long));
    }
  });
});
