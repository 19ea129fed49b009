/**
 * ECDSA through the node:crypto provider (CryptoProvider.ecdsa): the public half and the
 * signatures agree with @noble/curves, the key checks (d in [1, n−1], halves matching) hold on
 * both paths, and the constants the fast path relies on (the group orders and the known answers
 * in node/crypto-provider.ts) are noble's. Signature verification (CryptoProvider.ecdsaVerifier,
 * used by the host key and CA signature checks) gives noble's answer on signatures made either
 * way, high S included, and on the inputs it must refuse; its check on first use refuses a
 * runtime that verifies wrongly.
 */
import { randomBytes } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import type { CryptoProvider, EcdsaCurveName, EcdsaVerifier } from '../src/crypto/provider.js';
import { ECDSA_CURVES, ecdsaKeyFromScalar, ecdsaSignatures, encodeEcdsaPublicKey } from '../src/keys/ecdsa.js';
import { verifyHostKeySignature } from '../src/keys/hostkey.js';
import { NODE_EC_CURVES, ecdsaVerifierWorks, nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const NOBLE = { nistp256: p256, nistp384: p384, nistp521: p521 } as const;
const KEY_TYPES = [...ECDSA_CURVES.keys()];

/** A random scalar in [1, n−1] at the curve's size. */
function randomScalar(curve: EcdsaCurveName): Uint8Array {
  const c = NOBLE[curve];
  const size = NODE_EC_CURVES[curve].size;
  const n = c.Point.Fn.ORDER;
  const v = (BigInt('0x' + randomBytes(size + 8).toString('hex')) % (n - 1n)) + 1n;
  return hex(v.toString(16).padStart(2 * size, '0'));
}

describe.each(KEY_TYPES)('%s through node:crypto', (keyType) => {
  const c = ECDSA_CURVES.get(keyType)!;
  const curve = c.identifier;
  const noble = NOBLE[curve];

  it("the group order and the provider's known answer are noble's", () => {
    const known = NODE_EC_CURVES[curve];
    expect(BigInt('0x' + known.order)).toBe(noble.Point.Fn.ORDER);
    expect(known.order).toHaveLength(2 * c.scalarBytes);
    expect(toHex(noble.getPublicKey(hex(known.knownD), false))).toBe(known.knownQ);
  });

  it('the provider has the curve (its known-answer check passes on this Node)', () => {
    expect(nodeCryptoProvider.ecdsa?.(curve)).toBeDefined();
  });

  it('public half and signatures: the same key as noble computes, signatures noble and the host key check accept', () => {
    for (let i = 0; i < 8; i++) {
      const d = randomScalar(curve);
      const viaNode = ecdsaKeyFromScalar(keyType, d, undefined, nodeCryptoProvider);
      const viaNoble = ecdsaKeyFromScalar(keyType, d);
      expect(toHex(viaNode.publicKeyBlob)).toBe(toHex(viaNoble.publicKeyBlob));
      // The halves check runs on the provider's Q too.
      expect(() => ecdsaKeyFromScalar(keyType, d, noble.getPublicKey(d, false), nodeCryptoProvider)).not.toThrow();
      const data = randomBytes(100);
      const blob = viaNode.sign(keyType, data, nodeCryptoProvider);
      const verifier = ecdsaSignatures.find((a) => a.name === keyType)!;
      expect(verifier.verify(viaNode.publicKeyBlob, blob, data)).toBe(true);
      expect(verifier.verify(viaNode.publicKeyBlob, blob, randomBytes(100))).toBe(false);
      // RFC 5656 §3.1.2: string algorithm, string (mpint r, mpint s).
      const r = new SshReader(blob);
      expect(Buffer.from(r.string()).toString()).toBe(keyType);
      r.string();
      r.end('signature blob');
      viaNode.dispose();
      viaNoble.dispose();
    }
  });

  it('a scalar outside [1, n−1] or halves that disagree: refused on the provider path as on noble\'s', () => {
    const n = noble.Point.Fn.ORDER;
    const at = (v: bigint) => hex(v.toString(16).padStart(2 * c.scalarBytes, '0'));
    for (const bad of [0n, n, n + 1n]) {
      if (bad.toString(16).length > 2 * c.scalarBytes) continue;
      expect(() => ecdsaKeyFromScalar(keyType, at(bad), undefined, nodeCryptoProvider)).toThrow(/private scalar is invalid/);
      expect(() => ecdsaKeyFromScalar(keyType, at(bad))).toThrow(/private scalar is invalid/);
    }
    const top = ecdsaKeyFromScalar(keyType, at(n - 1n), undefined, nodeCryptoProvider);
    expect(toHex(top.publicKeyBlob)).toBe(toHex(ecdsaKeyFromScalar(keyType, at(n - 1n)).publicKeyBlob));
    const other = noble.getPublicKey(randomScalar(curve), false);
    expect(() => ecdsaKeyFromScalar(keyType, randomScalar(curve), other, nodeCryptoProvider)).toThrow(/halves do not match/);
  });
});

/** The big-endian bytes of `v` at `size` (more if it does not fit). */
function be(v: bigint, size: number): Uint8Array {
  let h = v.toString(16);
  h = h.padStart(Math.max(2 * size, h.length + (h.length % 2)), '0');
  return hex(h);
}

/** RFC 5656 §3.1.2 signature blob: string type, string (mpint r, mpint s). */
function signatureBlob(keyType: string, r: bigint, s: bigint): Uint8Array {
  const size = ECDSA_CURVES.get(keyType)!.scalarBytes;
  const body = new SshWriter().mpint(be(r, size)).mpint(be(s, size)).toBytes();
  return new SshWriter().string(keyType).string(body).toBytes();
}

/** nodeCryptoProvider with its ECDSA verification counted (per curve). */
function countingVerify(): { crypto: CryptoProvider; calls: EcdsaCurveName[] } {
  const calls: EcdsaCurveName[] = [];
  const crypto: CryptoProvider = Object.create(nodeCryptoProvider, {
    ecdsaVerifier: {
      value(curve: EcdsaCurveName): EcdsaVerifier | undefined {
        const v = nodeCryptoProvider.ecdsaVerifier!(curve)!;
        return { verify: (q, data, rs) => (calls.push(curve), v.verify(q, data, rs)) };
      },
    },
  });
  return { crypto, calls };
}

describe.each(KEY_TYPES)('%s verification through node:crypto', (keyType) => {
  const c = ECDSA_CURVES.get(keyType)!;
  const curve = c.identifier;
  const noble = NOBLE[curve];
  const n = noble.Point.Fn.ORDER;
  const p = noble.Point.Fp.ORDER;
  const size = c.scalarBytes;
  const verifier = ecdsaSignatures.find((a) => a.name === keyType)!;
  const rsOf = (sig: Uint8Array) => [BigInt('0x' + toHex(sig.subarray(0, size))), BigInt('0x' + toHex(sig.subarray(size)))] as const;

  it('the known signature is RFC 6979\'s of "sample" (noble\'s, a high S) and the ECDH known answer is noble\'s', () => {
    const known = NODE_EC_CURVES[curve];
    const sample = new TextEncoder().encode('sample');
    expect(toHex(noble.sign(sample, hex(known.knownD), { prehash: true, lowS: false }))).toBe(known.knownSig);
    expect(noble.verify(hex(known.knownSig), sample, hex(known.knownQ), { prehash: true, lowS: true })).toBe(false);
    expect(noble.verify(hex(known.knownSig), sample, hex(known.knownQ), { prehash: true, lowS: false })).toBe(true);
    expect(toHex(noble.getSharedSecret(hex(known.knownD), hex(known.knownQ), true).subarray(1))).toBe(known.knownSharedX);
  });

  it("the provider's ECDSA verifies (its check on first use passed on this Node)", () => {
    expect(nodeCryptoProvider.ecdsaVerifier?.(curve)).toBeDefined();
  });

  it("noble's signatures (low and high S) and the provider's: the same answers on both paths, the provider's verification used", () => {
    const { crypto, calls } = countingVerify();
    for (let i = 0; i < 6; i++) {
      const d = randomScalar(curve);
      const q = noble.getPublicKey(d, false);
      const keyBlob = encodeEcdsaPublicKey(keyType, q);
      const data = randomBytes(64 + i);
      const [r, s] = rsOf(noble.sign(data, d, { prehash: true, lowS: true }));
      const viaNode = ecdsaKeyFromScalar(keyType, d, q, nodeCryptoProvider);
      const ownBlob = viaNode.sign(keyType, data, nodeCryptoProvider);
      viaNode.dispose();
      const cases: [string, Uint8Array, Uint8Array, boolean][] = [
        ['low S', signatureBlob(keyType, r, s), data, true],
        // OpenSSH's libcrypto signs with either S and ssh-ecdsa.c accepts both.
        ['high S', signatureBlob(keyType, r, n - s), data, true],
        ["the provider's own", ownBlob, data, true],
        ['other data', signatureBlob(keyType, r, s), randomBytes(64), false],
        ['r + 1', signatureBlob(keyType, r + 1n, s), data, false],
        ['s − 1', signatureBlob(keyType, r, s - 1n), data, false],
      ];
      for (const [what, sig, signed, expected] of cases) {
        expect(verifier.verify(keyBlob, sig, signed), `noble, ${what}`).toBe(expected);
        expect(verifier.verify(keyBlob, sig, signed, crypto), `provider, ${what}`).toBe(expected);
      }
      // The host key check itself goes through the provider too.
      const before = calls.length;
      expect(() => verifyHostKeySignature(keyType, keyBlob, signatureBlob(keyType, r, n - s), data, { crypto })).not.toThrow();
      expect(calls.length).toBe(before + 1);
    }
    expect(calls).toHaveLength(6 * 6 + 6);
    expect(new Set(calls)).toEqual(new Set([curve]));
  });

  it('r or s of 0, n or above, a point off the curve, with a coordinate ≥ p or at (0, 0): refused on both paths', () => {
    const { crypto, calls } = countingVerify();
    const d = randomScalar(curve);
    const q = noble.getPublicKey(d, false);
    const data = randomBytes(32);
    const [r, s] = rsOf(noble.sign(data, d, { prehash: true }));
    const point = (x: bigint, y: bigint) => encodeEcdsaPublicKey(keyType, Uint8Array.of(4, ...be(x, size), ...be(y, size)));
    const { x, y } = noble.Point.fromBytes(q).toAffine();
    const good = encodeEcdsaPublicKey(keyType, q);
    const refused: [string, Uint8Array, Uint8Array][] = [
      ['r = 0', good, signatureBlob(keyType, 0n, s)],
      ['s = 0', good, signatureBlob(keyType, r, 0n)],
      ['r = n', good, signatureBlob(keyType, n, s)],
      ['s = n', good, signatureBlob(keyType, r, n)],
      ['r = n − 1', good, signatureBlob(keyType, n - 1n, s)],
      ['y changed', point(x, y ^ 1n), signatureBlob(keyType, r, s)],
      ['x = p', point(p, y), signatureBlob(keyType, r, s)],
      ['(0, 0)', point(0n, 0n), signatureBlob(keyType, r, s)],
    ];
    // Where r + n still fits the curve's size (P-521 with its 66 bytes, and P-384 when r is small).
    if (be(r + n, size).length === size) refused.push(['r + n', good, signatureBlob(keyType, r + n, s)]);
    // P-521: 66-byte coordinates hold x + p and y + p (the same point, encoded out of range).
    if (be(x + p, size).length === size) refused.push(['x + p', point(x + p, y), signatureBlob(keyType, r, s)]);
    if (be(y + p, size).length === size) refused.push(['y + p', point(x, y + p), signatureBlob(keyType, r, s)]);
    expect(verifier.verify(good, signatureBlob(keyType, r, s), data, crypto)).toBe(true);
    for (const [what, key, sig] of refused) {
      expect(verifier.verify(key, sig, data), `noble, ${what}`).toBe(false);
      expect(verifier.verify(key, sig, data, crypto), `provider, ${what}`).toBe(false);
    }
    expect(calls).toHaveLength(1 + refused.length);
  });

  it('wrong lengths: refused (or thrown as malformed) the same on both paths', () => {
    const { crypto } = countingVerify();
    const d = randomScalar(curve);
    const q = noble.getPublicKey(d, false);
    const data = randomBytes(32);
    const [r, s] = rsOf(noble.sign(data, d, { prehash: true }));
    const good = encodeEcdsaPublicKey(keyType, q);
    // r wider than the curve: false before any curve arithmetic.
    const wide = signatureBlob(keyType, r + (1n << BigInt(8 * size)), s);
    expect(verifier.verify(good, wide, data)).toBe(false);
    expect(verifier.verify(good, wide, data, crypto)).toBe(false);
    // A point one byte short, or compressed: the blob is malformed (a throw, which the host key
    // check reports as a signature error).
    for (const key of [encodeEcdsaPublicKey(keyType, q.subarray(0, q.length - 1)), encodeEcdsaPublicKey(keyType, noble.getPublicKey(d, true))]) {
      expect(() => verifier.verify(key, signatureBlob(keyType, r, s), data)).toThrow(/not uncompressed/);
      expect(() => verifier.verify(key, signatureBlob(keyType, r, s), data, crypto)).toThrow(/not uncompressed/);
    }
    // The provider's operation alone says false to any length but the curve's.
    const v = nodeCryptoProvider.ecdsaVerifier!(curve)!;
    const rs = Uint8Array.of(...be(r, size), ...be(s, size));
    expect(v.verify(q, data, rs)).toBe(true);
    expect(v.verify(q, data, rs.subarray(1))).toBe(false);
    expect(v.verify(q, data, Uint8Array.of(...rs, 0))).toBe(false);
    expect(v.verify(q.subarray(1), data, rs)).toBe(false);
    expect(v.verify(new Uint8Array(0), data, rs)).toBe(false);
  });

  it('the check on first use refuses a runtime whose verification accepts too much or too little', () => {
    const known = NODE_EC_CURVES[curve];
    const v = nodeCryptoProvider.ecdsaVerifier!(curve)!;
    expect(ecdsaVerifierWorks(known, v)).toBe(true);
    const with_ = (verify: EcdsaVerifier['verify']): EcdsaVerifier => ({ verify });
    // Everything verifies.
    expect(ecdsaVerifierWorks(known, with_(() => true))).toBe(false);
    // Nothing verifies.
    expect(ecdsaVerifierWorks(known, with_(() => false))).toBe(false);
    // A high S refused (OpenSSH accepts it; the known signature has one).
    expect(ecdsaVerifierWorks(known, with_((q, data, rs) => rsOf(rs)[1] <= n / 2n && v.verify(q, data, rs)))).toBe(false);
    // The point not checked: verified under another key.
    expect(ecdsaVerifierWorks(known, with_((_q, data, rs) => v.verify(hex(known.knownQ), data, rs)))).toBe(false);
    // Throws.
    expect(ecdsaVerifierWorks(known, with_(() => { throw new Error('no'); }))).toBe(false);
  });
});
