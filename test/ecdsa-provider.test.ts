/**
 * ECDSA signing keys through the node:crypto provider (CryptoProvider.ecdsa): the public half and
 * the signatures agree with @noble/curves, the key checks (d in [1, n−1], halves matching) hold
 * on both paths, and the constants the fast path relies on (the group orders and the known
 * answers in node/crypto-provider.ts) are noble's.
 */
import { randomBytes } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import type { EcdsaCurveName } from '../src/crypto/provider.js';
import { ECDSA_CURVES, ecdsaKeyFromScalar, ecdsaSignatures } from '../src/keys/ecdsa.js';
import { NODE_EC_CURVES, nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { SshReader } from '../src/protocol/wire.js';

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
