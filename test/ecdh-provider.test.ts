/**
 * ECDH on the NIST curves through the node:crypto provider (CryptoProvider.ecdh), which the
 * ecdh-sha2-nistp256/384/521 key exchanges use when it is there (RFC 5656 §4): the public keys
 * and shared secrets are @noble/curves', the peer's point is validated as noble validates it
 * (SEC1 §3.2.2), the exchange makes the same bytes from the same random input on both providers
 * and agrees with a peer on the other, and the check on first use refuses a runtime that gets
 * it wrong.
 */
import { randomBytes } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import type { CryptoProvider, EcdhCurveOps, EcdhKeyPair, EcdsaCurveName } from '../src/crypto/provider.js';
import { kexMethods } from '../src/kex/registry.js';
import { NODE_EC_CURVES, ecdhWorks, nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { seededRandom } from './support/fake-server.js';
import { Pair } from './support/pair.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const NOBLE = { nistp256: p256, nistp384: p384, nistp521: p521 } as const;
const CURVES = Object.keys(NOBLE) as EcdsaCurveName[];

/** The big-endian bytes of `v` at `size` (more if it does not fit). */
function be(v: bigint, size: number): Uint8Array {
  let h = v.toString(16);
  h = h.padStart(Math.max(2 * size, h.length + (h.length % 2)), '0');
  return hex(h);
}

/** A random scalar in [1, n−1] at the curve's size. */
function randomScalar(curve: EcdsaCurveName): Uint8Array {
  const size = NODE_EC_CURVES[curve].size;
  const n = NOBLE[curve].Point.Fn.ORDER;
  return be((BigInt('0x' + randomBytes(size + 8).toString('hex')) % (n - 1n)) + 1n, size);
}

/** The key pair seed (noble's length) that FIPS 186-5 A.2.1's reduction maps to the scalar `d`: d − 1. */
function seedFor(curve: EcdsaCurveName, d: Uint8Array): Uint8Array {
  return be(BigInt('0x' + toHex(d)) - 1n, NOBLE[curve].lengths.seed!);
}

/** `base` with its ECDH counted: key pairs made and shared secrets computed, per curve. */
function countingEcdh(base: CryptoProvider): { crypto: CryptoProvider; keyPairs: EcdsaCurveName[]; shared: EcdsaCurveName[] } {
  const keyPairs: EcdsaCurveName[] = [];
  const shared: EcdsaCurveName[] = [];
  const crypto: CryptoProvider = Object.create(base, {
    ecdh: {
      value(curve: EcdsaCurveName): EcdhCurveOps | undefined {
        const ops = base.ecdh?.(curve);
        if (!ops) return undefined;
        return {
          keyPair(seed) {
            keyPairs.push(curve);
            const kp = ops.keyPair(seed);
            return { publicKey: kp.publicKey, sharedX: (peer) => (shared.push(curve), kp.sharedX(peer)), dispose: () => kp.dispose() };
          },
        };
      },
    },
  });
  return { crypto, keyPairs, shared };
}

describe.each(CURVES)('ECDH on %s through node:crypto', (curve) => {
  const noble = NOBLE[curve];
  const { size } = NODE_EC_CURVES[curve];
  const p = noble.Point.Fp.ORDER;
  const n = noble.Point.Fn.ORDER;
  const kex = `ecdh-sha2-${curve}`;

  it('the provider has it (its check on first use passed on this Node)', () => {
    expect(nodeCryptoProvider.ecdh?.(curve)).toBeDefined();
  });

  it("the scalar from a seed is noble's randomSecretKey (FIPS 186-5 A.2.1), the seed as long as noble's", () => {
    const ops = nodeCryptoProvider.ecdh!(curve)!;
    // ecdh-nistp.ts asks the random source for 1.5 × size bytes, noble's lengths.seed.
    expect(noble.lengths.seed).toBe(size + Math.ceil(size / 2));
    const seeds = [new Uint8Array(noble.lengths.seed!), new Uint8Array(noble.lengths.seed!).fill(0xff), be(n - 2n, noble.lengths.seed!), be(n - 1n, noble.lengths.seed!)];
    for (let i = 0; i < 6; i++) seeds.push(randomBytes(noble.lengths.seed!));
    for (const seed of seeds) expect(toHex(ops.keyPair(seed).publicKey)).toBe(toHex(noble.getPublicKey(noble.utils.randomSecretKey(seed), false)));
    // Seed 0 gives d = 1, so Q = G.
    expect(toHex(ops.keyPair(seeds[0]!).publicKey)).toBe(toHex(noble.Point.BASE.toBytes(false)));
  });

  it("public keys and shared x-coordinates are noble's, both ways", () => {
    const ops = nodeCryptoProvider.ecdh!(curve)!;
    for (let i = 0; i < 6; i++) {
      const a = randomScalar(curve);
      const b = randomScalar(curve);
      const pair = ops.keyPair(seedFor(curve, a));
      expect(toHex(pair.publicKey)).toBe(toHex(noble.getPublicKey(a, false)));
      const expected = toHex(noble.getSharedSecret(b, pair.publicKey, true).subarray(1));
      expect(toHex(pair.sharedX(noble.getPublicKey(b, false)))).toBe(expected);
      expect(toHex(noble.getSharedSecret(a, noble.getPublicKey(b, false), true).subarray(1))).toBe(expected);
      pair.dispose();
      expect(() => pair.sharedX(noble.getPublicKey(b, false))).toThrow(/after dispose/);
    }
    // Extremes of the scalar range: 1 (Q = G) and n − 1 (Q = −G, the same x).
    const g = noble.Point.BASE.toBytes(false);
    expect(toHex(ops.keyPair(seedFor(curve, be(1n, size))).publicKey)).toBe(toHex(g));
    expect(toHex(ops.keyPair(seedFor(curve, be(n - 1n, size))).sharedX(g))).toBe(toHex(g.subarray(1, 1 + size)));
  });

  it('a seed shorter than the size + 8 bytes (too little extra randomness) or over 1024 bytes is refused', () => {
    const ops = nodeCryptoProvider.ecdh!(curve)!;
    for (const bad of [new Uint8Array(0), randomBytes(size), randomBytes(size + 7), randomBytes(1025)]) expect(() => ops.keyPair(bad)).toThrow(RangeError);
    expect(() => ops.keyPair(randomBytes(size + 8))).not.toThrow();
  });

  it('SEC1 §3.2.2: points off the curve, with a coordinate ≥ p, not uncompressed or of the wrong size are refused, as noble refuses them', () => {
    const ops = nodeCryptoProvider.ecdh!(curve)!;
    const d = randomScalar(curve);
    const pair = ops.keyPair(seedFor(curve, d));
    const q = noble.getPublicKey(randomScalar(curve), false);
    const { x, y } = noble.Point.fromBytes(q).toAffine();
    const point = (px: bigint, py: bigint) => Uint8Array.of(4, ...be(px, size), ...be(py, size));
    const bad: [string, Uint8Array][] = [
      ['y changed', point(x, y ^ 1n)],
      ['x = p', point(p, y)],
      ['y = p', point(x, p)],
      ['(0, 0)', point(0n, 0n)],
    ];
    // Encodings noble's decoder takes (or refuses) but RFC 5656 §3.1 does not allow (the kex
    // refuses them before noble sees them): the provider itself refuses them.
    const malformed: [string, Uint8Array][] = [
      ['hybrid form 0x06', Uint8Array.of(6, ...q.subarray(1))],
      ['compressed', noble.getPublicKey(d, true)],
      ['a byte short', q.subarray(0, q.length - 1)],
      ['a byte long', Uint8Array.of(...q, 0)],
      ['the infinity encoding', Uint8Array.of(0)],
    ];
    // P-521: 66-byte coordinates hold x + p and y + p (the same point, encoded out of range).
    if (be(x + p, size).length === size) bad.push(['x + p', point(x + p, y)]);
    if (be(y + p, size).length === size) bad.push(['y + p', point(x, y + p)]);
    for (const [what, peer] of bad) {
      expect(() => noble.getSharedSecret(d, peer, true), `noble, ${what}`).toThrow();
      expect(() => pair.sharedX(peer), `provider, ${what}`).toThrow();
    }
    for (const [what, peer] of malformed) expect(() => pair.sharedX(peer), `provider, ${what}`).toThrow();
    expect(toHex(pair.sharedX(q))).toBe(toHex(noble.getSharedSecret(d, q, true).subarray(1)));
  });

  it(`${kex}: the same client value from the same random bytes on both providers; the provider's ECDH is used`, () => {
    const method = kexMethods.get(kex)!;
    const { crypto, keyPairs, shared } = countingEcdh(nodeCryptoProvider);
    for (let seed = 1; seed <= 3; seed++) {
      const viaPure = method.client(seededRandom(seed), pureCryptoProvider);
      const viaNode = method.client(seededRandom(seed), crypto);
      expect(toHex(viaNode.start())).toBe(toHex(viaPure.start()));
      viaPure.dispose();
      viaNode.dispose();
    }
    expect(keyPairs).toEqual([curve, curve, curve]);
    expect(shared).toEqual([]);
  });

  it(`${kex} in a handshake: our client on the node provider with a server on the pure one, and the other way round`, () => {
    for (const side of ['client', 'server'] as const) {
      const { crypto, keyPairs, shared } = countingEcdh(nodeCryptoProvider);
      const algorithms = { kex: [kex], cipher: ['aes128-gcm@openssh.com'] };
      const pair = new Pair({
        client: { algorithms, crypto: side === 'client' ? crypto : pureCryptoProvider },
        server: { crypto: side === 'server' ? crypto : pureCryptoProvider },
      }).start();
      expect(pair.client.isAuthenticated, side).toBe(true);
      expect(pair.client.info.negotiated?.kex).toBe(kex);
      expect(keyPairs, side).toEqual([curve]);
      expect(shared, side).toEqual([curve]);
    }
  });

  it('the check on first use refuses a runtime that gets ECDH wrong', () => {
    const known = NODE_EC_CURVES[curve];
    const ops = nodeCryptoProvider.ecdh!(curve)!;
    expect(ecdhWorks(known, ops)).toBe(true);
    /** The real key pair with its answers changed by `sharedX` and `publicKey`. */
    const changed = (sharedX: (kp: EcdhKeyPair, peer: Uint8Array) => Uint8Array, publicKey = (q: Uint8Array) => q): EcdhCurveOps => ({
      keyPair(seed) {
        const kp = ops.keyPair(seed);
        return { publicKey: publicKey(kp.publicKey), sharedX: (peer) => sharedX(kp, peer), dispose: () => kp.dispose() };
      },
    });
    expect(ecdhWorks(known, changed((kp, peer) => kp.sharedX(peer)))).toBe(true);
    // A point off the curve accepted (here: answered as if it were the known point).
    expect(ecdhWorks(known, changed((kp) => kp.sharedX(hex(known.knownQ))))).toBe(false);
    // A wrong secret, a wrong public key.
    const flipFirst = (b: Uint8Array) => b.map((v, i) => (i === 0 ? v ^ 1 : v));
    expect(ecdhWorks(known, changed((kp, peer) => flipFirst(kp.sharedX(peer))))).toBe(false);
    expect(ecdhWorks(known, changed((kp, peer) => kp.sharedX(peer), (q) => q.map((v, i) => (i === q.length - 1 ? v ^ 1 : v))))).toBe(false);
    // A secret of the wrong size (its first byte dropped).
    expect(ecdhWorks(known, changed((kp, peer) => kp.sharedX(peer).subarray(1)))).toBe(false);
    // Throws.
    expect(ecdhWorks(known, { keyPair: () => { throw new Error('no'); } })).toBe(false);
  });
});
