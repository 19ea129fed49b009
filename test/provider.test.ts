/**
 * The crypto providers (crypto/provider.ts): the published vectors (NIST SP 800-38A CTR and CBC,
 * the GCM specification's test cases, RFC 4231 / RFC 2202 HMAC) on both, and a property test that
 * the pure and the runtime provider produce identical bytes for every primitive, at random
 * lengths and offsets, with the keystream or chaining running on across calls as SSH uses it.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import type { CryptoProvider, HashName } from '../src/crypto/provider.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import * as nodeCryptoEntry from '../src/node/crypto-provider.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { ED25519_TEST2_MAULED_SIGNATURE } from '../src/node/ed25519-self-test.js';
import { curve25519GenerateKeyPair, curve25519SharedSecret } from '../src/kex/curve25519.js';
import { ed25519KeyFromSeed, ed25519Signature, encodeEd25519PublicKey } from '../src/keys/ed25519.js';
import { encodeSignatureBlob } from '../src/keys/signing.js';
import { ProtocolError } from '../src/errors.js';
import { expectGcmVectors } from './support/gcm-vectors.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const PROVIDERS: [string, CryptoProvider][] = [
  ['pure', pureCryptoProvider],
  ['node', nodeCryptoProvider],
];

describe.each(PROVIDERS)('%s provider: published vectors', (_name, cp) => {
  it('AES-CTR (SP 800-38A F.5), in one call and block by block', () => {
    for (const v of vectors('aes.json').ctr) {
      const whole = hex(v.plaintext);
      cp.aesCtr(hex(v.key), hex(v.counter)).update(whole, 0, whole.length);
      expect(toHex(whole), v.name).toBe(v.ciphertext);
      const pieces = hex(v.plaintext);
      const s = cp.aesCtr(hex(v.key), hex(v.counter));
      for (let i = 0; i < pieces.length; i += 16) s.update(pieces, i, i + 16);
      expect(toHex(pieces), v.name).toBe(v.ciphertext);
    }
  });

  it('AES-CBC (SP 800-38A F.2), both directions, chaining across calls', () => {
    for (const v of vectors('aes.json').cbc) {
      const buf = hex(v.plaintext);
      const enc = cp.aesCbc(hex(v.key), hex(v.iv), true);
      enc.update(buf, 0, 32);
      enc.update(buf, 32, buf.length);
      expect(toHex(buf), v.name).toBe(v.ciphertext);
      const dec = cp.aesCbc(hex(v.key), hex(v.iv), false);
      dec.update(buf, 0, 16);
      dec.update(buf, 16, buf.length);
      expect(toHex(buf), v.name).toBe(v.plaintext);
    }
  });

  it('AES-GCM (the GCM specification test cases): seal, open, and a bad tag refused untouched', () => {
    expectGcmVectors((key) => cp.aesGcm(key));
  });

  it('HMAC (RFC 4231, RFC 2202)', () => {
    for (const v of vectors('hmac.json').hmac) {
      const data = hex(v.data);
      const m = cp.hmac(v.hash as HashName, hex(v.key));
      const out = new Uint8Array(m.length + 3);
      m.compute(data.subarray(0, 3), data, 3, data.length, out, 3);
      expect(toHex(out.subarray(3)), `${v.name} ${v.hash}`).toBe(v.mac);
    }
  });
});

describe('pure and runtime providers produce identical bytes (property)', () => {
  const rnd = (n: number) => new Uint8Array(randomBytes(n));
  const blocks = () => 16 * (1 + Math.floor(Math.random() * 40));

  it('AES-CTR and AES-CBC streams over random call sequences, every key size', () => {
    for (let trial = 0; trial < 30; trial++) {
      for (const keyLen of [16, 24, 32]) {
        const key = rnd(keyLen);
        const iv = rnd(16);
        if (trial % 5 === 0) iv.fill(0xff, 8); // the counter carries across 64 bits
        const streams = [
          [pureCryptoProvider.aesCtr(key, iv), nodeCryptoProvider.aesCtr(key, iv)],
          [pureCryptoProvider.aesCbc(key, iv, true), nodeCryptoProvider.aesCbc(key, iv, true)],
          [pureCryptoProvider.aesCbc(key, iv, false), nodeCryptoProvider.aesCbc(key, iv, false)],
        ];
        for (const [a, b] of streams) {
          for (let call = 0; call < 4; call++) {
            const n = blocks();
            const off = Math.floor(Math.random() * 7);
            const x = new Uint8Array(n + off + 5);
            x.set(rnd(x.length));
            const y = x.slice();
            a!.update(x, off, off + n);
            b!.update(y, off, off + n);
            expect(toHex(x)).toBe(toHex(y));
          }
        }
      }
    }
  });

  it('AES-CTR agrees with OpenSSL across a 2^64 counter carry', () => {
    const key = rnd(16);
    const iv = hex('0000000000000001ffffffffffffffff');
    const data = rnd(64);
    const ref = createCipheriv('aes-128-ctr', key, iv).update(data);
    const mine = data.slice();
    const s = pureCryptoProvider.aesCtr(key, iv);
    s.update(mine, 0, 16);
    s.update(mine, 16, 64);
    expect(toHex(mine)).toBe(ref.toString('hex'));
  });

  it('AES-GCM seal and open cross over, HMAC and ChaCha20 agree', () => {
    for (let trial = 0; trial < 40; trial++) {
      const key = rnd(trial % 2 ? 32 : 16);
      const iv = rnd(12);
      const n = Math.floor(Math.random() * 3000);
      const buf = new Uint8Array(4 + n + 16);
      buf.set(rnd(4 + n));
      const copy = buf.slice();
      pureCryptoProvider.aesGcm(key).seal(iv, buf, 0, 4, 4 + n);
      nodeCryptoProvider.aesGcm(key).seal(iv, copy, 0, 4, 4 + n);
      expect(toHex(buf)).toBe(toHex(copy));
      expect(nodeCryptoProvider.aesGcm(key).open(iv, copy, 0, 4, 4 + n)).toBe(true);
      for (const h of ['sha1', 'sha256', 'sha512'] as const) {
        const k = rnd(h === 'sha1' ? 20 : h === 'sha256' ? 32 : 64);
        const a = new Uint8Array(64);
        const b = new Uint8Array(64);
        pureCryptoProvider.hmac(h, k).compute(buf.subarray(0, 4), buf, 4, 4 + n, a, 0);
        nodeCryptoProvider.hmac(h, k).compute(buf.subarray(0, 4), buf, 4, 4 + n, b, 0);
        expect(toHex(a)).toBe(toHex(b));
        const ref = createHmac(h, k).update(buf.subarray(0, 4 + n)).digest('hex');
        expect(toHex(a.subarray(0, ref.length / 2))).toBe(ref);
      }
      const ck = rnd(32);
      const nonce = rnd(8);
      const x = rnd(n + 10);
      const y = x.slice();
      pureCryptoProvider.chacha20(ck).xor(nonce, 1 + (trial % 3), x, 3, 3 + n);
      nodeCryptoProvider.chacha20(ck).xor(nonce, 1 + (trial % 3), y, 3, 3 + n);
      expect(toHex(x)).toBe(toHex(y));
    }
  });
});

/**
 * X25519 and Ed25519 from node:crypto (the Node adapter's provider carries them so that a fresh
 * process does not build noble's base-point tables): the RFC vectors, the same bytes as noble
 * for random keys, low-order points and a non-canonical S refused.
 */
describe('node provider: X25519 and Ed25519 from node:crypto', () => {
  const x = nodeCryptoProvider.x25519!;
  const ed = nodeCryptoProvider.ed25519!;
  const rnd = (n: number) => new Uint8Array(randomBytes(n));

  it('is present on Node (its known-answer checks pass)', () => {
    expect(x).toBeDefined();
    expect(ed).toBeDefined();
  });

  it('X25519: RFC 7748 §5.2 and §6.1 vectors, through curve25519.ts with the provider', () => {
    const v = vectors('x25519.json');
    for (const t of v.scalarMult) expect(toHex(curve25519SharedSecret(hex(t.scalar), hex(t.u), nodeCryptoProvider)), t.name).toBe(t.out);
    const alice = curve25519GenerateKeyPair(hex(v.dh.alicePrivate), nodeCryptoProvider);
    const bob = curve25519GenerateKeyPair(hex(v.dh.bobPrivate), nodeCryptoProvider);
    expect(toHex(alice.publicKey)).toBe(v.dh.alicePublic);
    expect(toHex(bob.publicKey)).toBe(v.dh.bobPublic);
    expect(toHex(curve25519SharedSecret(alice.privateKey, bob.publicKey, nodeCryptoProvider))).toBe(v.dh.shared);
  });

  it('X25519: the same bytes as noble for random keys (RFC 7748 §5 clamping included)', () => {
    for (let i = 0; i < 50; i++) {
      const a = rnd(32);
      const peer = x25519.getPublicKey(rnd(32));
      expect(toHex(x.publicKey(a))).toBe(toHex(x25519.getPublicKey(a)));
      expect(toHex(x.sharedSecret(a, peer))).toBe(toHex(x25519.getSharedSecret(a, peer)));
    }
  });

  it('X25519: a low-order server key is a ProtocolError (RFC 7748 §6.1 all-zero result)', () => {
    // u = 0, u = 1 and the order-8 point of RFC 7748 §7's discussion (as libsodium's blocklist).
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    ];
    for (const u of lowOrder) {
      expect(() => curve25519SharedSecret(rnd(32), hex(u), nodeCryptoProvider), u).toThrow(ProtocolError);
      expect(() => curve25519SharedSecret(rnd(32), hex(u)), u).toThrow(ProtocolError);
    }
  });

  it('Ed25519: RFC 8032 §7.1 vectors and the same bytes as noble for random seeds and messages', () => {
    for (const v of vectors('ed25519.json').vectors) {
      expect(toHex(ed.publicKey(hex(v.secret))), v.name).toBe(v.public);
      expect(toHex(ed.sign(hex(v.secret), hex(v.message))), v.name).toBe(v.signature);
      expect(ed.verify(hex(v.public), hex(v.signature), hex(v.message)), v.name).toBe(true);
    }
    for (let i = 0; i < 30; i++) {
      const seed = rnd(32);
      const msg = rnd(i * 7);
      const sig = ed.sign(seed, msg);
      expect(toHex(sig)).toBe(toHex(ed25519.sign(msg, seed)));
      const pk = ed.publicKey(seed);
      expect(ed.verify(pk, sig, msg)).toBe(true);
      const bad = sig.slice();
      bad[i % 64]! ^= 1 << (i % 8);
      expect(ed.verify(pk, bad, msg)).toBe(false);
      expect(ed25519.verify(bad, msg, pk, { zip215: false })).toBe(false);
    }
  });

  it('Ed25519: a non-canonical S (S + L) is refused by both, as RFC 8032 §5.1.7 and OpenSSH do', () => {
    const v = vectors('ed25519.json').vectors[0];
    const sig = hex(v.signature);
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const s = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex')) + L;
    sig.set(Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse(), 32);
    expect(ed.verify(hex(v.public), sig, hex(v.message))).toBe(false);
    expect(ed25519.verify(sig, hex(v.message), hex(v.public), { zip215: false })).toBe(false);
  });

  it("Ed25519: the provider's start-up check refuses RFC 8032 TEST 2 with S + L (the constant is that signature)", () => {
    const v = vectors('ed25519.json').vectors.find((x: { message: string }) => x.message === '72');
    const sig = hex(v.signature);
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const s = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex')) + L;
    sig.set(Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse(), 32);
    expect(toHex(sig)).toBe(ED25519_TEST2_MAULED_SIGNATURE);
    expect(ed25519.verify(sig, hex(v.message), hex(v.public), { zip215: false })).toBe(false);
    // A test vector, not API: `pure-ssh/node-crypto` (this module) does not export it.
    expect(Object.keys(nodeCryptoEntry)).not.toContain('ED25519_TEST2_MAULED_SIGNATURE');
  });

  it('Ed25519: a public key of small order (or its non-canonical encodings) verifies nothing, as in noble\'s strict verification', () => {
    // Under A = the identity, R = [S]B is a "signature" of every message for any S: OpenSSL
    // accepted it (the node provider said true where the pure one said false).
    const S = 777n;
    const sig = new Uint8Array(64);
    sig.set(ed25519.Point.BASE.multiply(S).toBytes());
    sig.set(Buffer.from(S.toString(16).padStart(64, '0'), 'hex').reverse(), 32);
    const msg = new TextEncoder().encode('any message at all');
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(ed.verify(identity, sig, msg)).toBe(false);
    expect(ed25519.verify(sig, msg, identity, { zip215: false })).toBe(false);
    // Every point of order 1, 2, 4 or 8 (the torsion subgroup, [L]T = 0), both sign bits, and
    // y = p, p + 1: refused by both, whatever the signature.
    const order8 = ed25519.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
    const torsion = new Set<string>();
    for (let k = 1n; k <= 8n; k++) torsion.add(toHex(order8.multiply(k).toBytes()));
    expect(torsion.size).toBe(8);
    const encodings = [...torsion, 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'];
    for (const e of encodings) {
      for (const signBit of [0, 0x80]) {
        const a = hex(e);
        a[31] = (a[31]! & 0x7f) | signBit;
        expect(ed.verify(a, sig, msg), toHex(a)).toBe(false);
      }
    }
    // A key of large order still verifies through the provider.
    const seed = randomBytes(32);
    expect(ed.verify(ed25519.getPublicKey(seed), ed25519.sign(msg, seed), msg)).toBe(true);
  });

  it('ssh-ed25519 keys: the public key of a seed (computed without noble tables, or by node:crypto) matches noble; signatures and host key checks agree with and without the provider', () => {
    for (let i = 0; i < 20; i++) {
      const seed = rnd(32);
      const key = ed25519KeyFromSeed(seed);
      const blob = encodeEd25519PublicKey(ed25519.getPublicKey(seed));
      expect(toHex(key.publicKeyBlob)).toBe(toHex(blob));
      expect(toHex(ed25519KeyFromSeed(seed, undefined, nodeCryptoProvider).publicKeyBlob)).toBe(toHex(blob));
      const data = rnd(100);
      const viaNode = key.sign('ssh-ed25519', data, nodeCryptoProvider);
      expect(toHex(viaNode)).toBe(toHex(key.sign('ssh-ed25519', data)));
      expect(toHex(viaNode)).toBe(toHex(encodeSignatureBlob('ssh-ed25519', ed25519.sign(data, seed))));
      expect(ed25519Signature.verify(blob, viaNode, data, nodeCryptoProvider)).toBe(true);
      expect(ed25519Signature.verify(blob, viaNode, data)).toBe(true);
      data[0]! ^= 1;
      expect(ed25519Signature.verify(blob, viaNode, data, nodeCryptoProvider)).toBe(false);
      expect(ed25519Signature.verify(blob, viaNode, data)).toBe(false);
    }
    // The halves of a corrupted key file still disagree at load.
    const seed = rnd(32);
    const other = ed25519.getPublicKey(rnd(32));
    expect(() => ed25519KeyFromSeed(seed, other)).toThrow(/halves do not match/);
    expect(() => ed25519KeyFromSeed(seed, other, nodeCryptoProvider)).toThrow(/halves do not match/);
    expect(() => ed25519KeyFromSeed(seed, other, pureCryptoProvider)).toThrow(/halves do not match/);
    expect(ed25519KeyFromSeed(seed, ed25519.getPublicKey(seed), nodeCryptoProvider).keyType).toBe('ssh-ed25519');
  });
});
