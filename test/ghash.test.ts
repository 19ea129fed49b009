/**
 * GHASH and the block-function AES-GCM (crypto/ghash.ts) that the runtime provider uses for short
 * packets: the field multiplication against SP 800-38D §6.3's bit-by-bit algorithm (edge values,
 * dense bit patterns, random operands), GHASH over up to 40 blocks (several reduction groups)
 * against Horner's rule with that multiplication, the GCM specification's test cases, and every
 * length around the small-packet limit against OpenSSL's GCM (node:crypto) and @noble/ciphers,
 * with a flipped tag or ciphertext bit refused without touching the buffer.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { BlockGcm, Ghash } from '../src/crypto/ghash.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { expectGcmVectors } from './support/gcm-vectors.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function blockGcm(key: Uint8Array): BlockGcm {
  const ecb = createCipheriv(`aes-${key.length * 8}-ecb` as 'aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  return new BlockGcm((blocks) => ecb.update(blocks));
}

/** OpenSSL's AES-GCM over the same layout: AAD || text || tag. */
function opensslSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, text: Uint8Array): string {
  const c = createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(aad);
  const out = Buffer.concat([c.update(text), c.final()]);
  return toHex(aad) + out.toString('hex') + c.getAuthTag().toString('hex');
}

/** SP 800-38D §6.3 Algorithm 1, bit by bit (bit 0, the leftmost, is x^0), as a reference. */
function gfMulReference(x: Uint8Array, y: Uint8Array): Uint8Array {
  const R = 0xe1n << 120n;
  const X = BigInt('0x' + toHex(x));
  let V = BigInt('0x' + toHex(y));
  let Z = 0n;
  for (let i = 0; i < 128; i++) {
    if ((X >> BigInt(127 - i)) & 1n) Z ^= V;
    V = V & 1n ? (V >> 1n) ^ R : V >> 1n;
  }
  return hex(Z.toString(16).padStart(32, '0'));
}

/** X·H through the constant-time GHASH: one block, Y_1 = X_1·H (SP 800-38D §6.4). */
function gfMul(x: Uint8Array, h: Uint8Array): Uint8Array {
  const g = new Ghash(h);
  g.begin(1);
  g.update(x, 0, 16);
  const out = new Uint8Array(16);
  g.digest(out, 0);
  return out;
}

const block = (fill: (i: number) => number) => Uint8Array.from({ length: 16 }, (_, i) => fill(i));

describe('GF(2^128) multiplication and GHASH (SP 800-38D §6.3, §6.4), constant-time', () => {
  const edges: Array<[string, Uint8Array]> = [
    ['0', new Uint8Array(16)],
    ['1', block((i) => (i === 0 ? 0x80 : 0))],
    ['x', block((i) => (i === 0 ? 0x40 : 0))],
    ['x^31', block((i) => (i === 3 ? 0x01 : 0))],
    ['x^32', block((i) => (i === 4 ? 0x80 : 0))],
    ['x^64', block((i) => (i === 8 ? 0x80 : 0))],
    ['x^127', block((i) => (i === 15 ? 0x01 : 0))],
    ['x^7+x^2+x+1', block((i) => (i === 0 ? 0xe1 : 0))],
    ['all ones', block(() => 0xff)],
    // Limbs whose halves differ: Karatsuba's sums are all ones there, the densest columns.
    ['ffff0000...', block((i) => ((i >> 1) & 1 ? 0 : 0xff))],
    ['0000ffff...', block((i) => ((i >> 1) & 1 ? 0xff : 0))],
    ['ffffffff00000000...', block((i) => ((i >> 2) & 1 ? 0 : 0xff))],
    ['first half ones', block((i) => (i < 8 ? 0xff : 0))],
    ['second half ones', block((i) => (i < 8 ? 0 : 0xff))],
    ['aa...', block(() => 0xaa)],
    ['49 24 92...', block((i) => [0x49, 0x24, 0x92][i % 3]!)],
  ];

  it('edge values: every pair against the bit-by-bit multiplication', () => {
    for (const [xn, x] of edges) {
      for (const [hn, h] of edges) expect(toHex(gfMul(x, h)), `${xn} · ${hn}`).toBe(toHex(gfMulReference(x, h)));
    }
    expect(toHex(gfMul(edges[1]![1], edges[6]![1]))).toBe(toHex(edges[6]![1]));
    // x · x^127 = x^128 = x^7 + x^2 + x + 1 (SP 800-38D §6.3: R).
    expect(toHex(gfMul(edges[2]![1], edges[6]![1]))).toBe('e1000000000000000000000000000000');
  });

  it('random operands and random dense bytes: against the bit-by-bit multiplication', () => {
    const dense = [0x00, 0xff, 0x0f, 0xf0, 0xaa, 0x55, 0x7f, 0xfe];
    for (let i = 0; i < 300; i++) {
      const x = new Uint8Array(randomBytes(16));
      const h = new Uint8Array(randomBytes(16));
      if (i % 2 === 1) {
        for (let k = 0; k < 16; k++) {
          x[k] = dense[x[k]! & 7]!;
          h[k] = dense[h[k]! & 7]!;
        }
      }
      expect(toHex(gfMul(x, h)), `${toHex(x)} · ${toHex(h)}`).toBe(toHex(gfMulReference(x, h)));
    }
  });

  it('GHASH of 1..40 blocks (reductions grouped by powers of H) equals Horner with the reference', () => {
    const h = new Uint8Array(randomBytes(16));
    const g = new Ghash(h);
    for (let n = 1; n <= 40; n++) {
      const data = new Uint8Array(randomBytes(16 * n));
      if (n % 5 === 0) data.fill(0xff);
      let y: Uint8Array = new Uint8Array(16);
      for (let b = 0; b < n; b++) {
        const x = y.map((v, k) => v ^ data[16 * b + k]!);
        y = gfMulReference(x, h);
      }
      g.begin(n);
      // In two uneven pieces: the groups of blocks do not follow update() calls.
      const cut = 16 * (n >> 1);
      g.update(data, 0, cut);
      g.update(data, cut, data.length);
      const out = new Uint8Array(16);
      g.digest(out, 0);
      expect(toHex(out), `n=${n}`).toBe(toHex(y));
    }
  });

  it('more blocks than announced, or fewer, is an error rather than a wrong hash', () => {
    const g = new Ghash(new Uint8Array(randomBytes(16)));
    g.begin(1);
    expect(() => g.update(new Uint8Array(32), 0, 32)).toThrow(/more blocks than announced/);
    g.begin(2);
    g.update(new Uint8Array(16), 0, 16);
    expect(() => g.digest(new Uint8Array(16), 0)).toThrow(/1 announced blocks not absorbed/);
  });
});

describe('BlockGcm (constant-time GHASH over an AES block function)', () => {
  it('the GCM specification test cases 2 and 4: seal, open, a bad tag refused untouched', () => {
    expectGcmVectors(blockGcm);
  });

  it('every length 0..600 with 4-byte AAD (the SSH layout) and odd AAD lengths: OpenSSL and noble agree', () => {
    for (const keyLength of [16, 32]) {
      const key = new Uint8Array(randomBytes(keyLength));
      const g = blockGcm(key);
      for (let n = 0; n <= 600; n++) {
        const aadLength = n % 7 === 0 ? (n % 33) : 4;
        const iv = new Uint8Array(randomBytes(12));
        const plain = new Uint8Array(randomBytes(aadLength + n));
        const at = n % 5;
        const buf = new Uint8Array(at + aadLength + n + 16);
        buf.set(plain, at);
        g.seal(iv, buf, at, at + aadLength, at + aadLength + n);
        const sealed = toHex(buf.subarray(at));
        expect(sealed, `n=${n} aad=${aadLength}`).toBe(opensslSeal(key, iv, plain.subarray(0, aadLength), plain.subarray(aadLength)));
        const noble = gcm(key, iv, plain.subarray(0, aadLength)).encrypt(plain.subarray(aadLength));
        expect(toHex(buf.subarray(at + aadLength)), `noble n=${n}`).toBe(toHex(noble));
        const flipped = buf.slice();
        flipped[at + aadLength + (n > 0 ? n - 1 : 0)]! ^= 0x80;
        const before = toHex(flipped);
        expect(g.open(iv, flipped, at, at + aadLength, at + aadLength + n)).toBe(false);
        expect(toHex(flipped)).toBe(before);
        expect(g.open(iv, buf, at, at + aadLength, at + aadLength + n)).toBe(true);
        expect(toHex(buf.subarray(at))).toBe(toHex(plain) + toHex(buf.subarray(at + aadLength + n)));
      }
    }
  });

  it('AAD of 1..48 bytes with texts around one reduction group (18 blocks): a partial AAD block may start a group', () => {
    // 17..31 bytes of AAD and 16 text blocks make 19 blocks: the second group starts at the
    // AAD's partial block, which then carries Y in and is hashed whole.
    const key = new Uint8Array(randomBytes(32));
    const g = blockGcm(key);
    for (let aadLength = 1; aadLength <= 48; aadLength++) {
      for (const n of [0, 1, 15, 16, 17, 225, 240, 241, 255, 256, 257, 272, 288, 304, 560]) {
        const iv = new Uint8Array(randomBytes(12));
        const plain = new Uint8Array(randomBytes(aadLength + n));
        const buf = new Uint8Array(aadLength + n + 16);
        buf.set(plain);
        g.seal(iv, buf, 0, aadLength, aadLength + n);
        expect(toHex(buf), `aad=${aadLength} n=${n}`).toBe(opensslSeal(key, iv, plain.subarray(0, aadLength), plain.subarray(aadLength)));
        expect(g.open(iv, buf, 0, aadLength, aadLength + n)).toBe(true);
      }
    }
  });

  it('packets with IVs counted as RFC 5647 §7.1 (the batched keystream), across a carry and back', () => {
    const key = new Uint8Array(randomBytes(16));
    const g = blockGcm(key);
    const iv = hex('0011223344556677889affff');
    const step = (v: Uint8Array) => {
      for (let i = 11; i >= 4; i--) {
        v[i] = (v[i]! + 1) & 0xff;
        if (v[i] !== 0) break;
      }
    };
    for (let p = 0; p < 40; p++) {
      // Mostly in order, sometimes repeated or skipped: the batch must notice either.
      const n = [16, 80, 256, 48, 0, 300][p % 6]!;
      const plain = new Uint8Array(randomBytes(4 + n));
      const buf = new Uint8Array(4 + n + 16);
      buf.set(plain);
      g.seal(iv, buf, 0, 4, 4 + n);
      expect(toHex(buf), `packet ${p}`).toBe(opensslSeal(key, iv, plain.subarray(0, 4), plain.subarray(4)));
      expect(g.open(iv, buf, 0, 4, 4 + n)).toBe(true);
      expect(toHex(buf.subarray(0, 4 + n))).toBe(toHex(plain));
      if (p % 13 !== 5) step(iv);
      if (p % 17 === 3) step(iv);
    }
  });

  it('the runtime provider seals short and long packets alike and opens them across the limit', () => {
    const key = new Uint8Array(randomBytes(16));
    for (const n of [16, 240, 256, 272, 512, 4096]) {
      const iv = new Uint8Array(randomBytes(12));
      const plain = new Uint8Array(randomBytes(4 + n));
      const buf = new Uint8Array(4 + n + 16);
      buf.set(plain);
      nodeCryptoProvider.aesGcm(key.slice()).seal(iv, buf, 0, 4, 4 + n);
      expect(toHex(buf), `n=${n}`).toBe(opensslSeal(key, iv, plain.subarray(0, 4), plain.subarray(4)));
      expect(nodeCryptoProvider.aesGcm(key.slice()).open(iv, buf, 0, 4, 4 + n)).toBe(true);
      expect(toHex(buf.subarray(0, 4 + n))).toBe(toHex(plain));
    }
  });
});
