/**
 * Poly1305 (RFC 8439 §2.5), specialised for the packet path: {@link poly1305Into} writes the tag
 * into caller-owned memory and allocates nothing (noble's incremental Poly1305 copies its input on
 * every `update()` and allocates a state per key), and processes four blocks per step with the
 * precomputed powers r..r⁴. Cross-checked against noble, OpenSSL and the RFC 8439 vectors in
 * test/chacha20.test.ts and test/cipher.test.ts.
 */
import { LITTLE_ENDIAN } from './chacha20.js';

// Poly1305's state lives in six 22-bit limbs (radix 2^22, 132 bits) held in doubles: products of
// limbs stay below 2^53 and are exact, which int32 arithmetic (no 64-bit multiply) cannot offer.
const LIMB = 4194304;
const INV_LIMB = 1 / LIMB;
const MASK22 = 0x3fffff;
// 2^132 = 2^2 · 2^130 ≡ 4 · 5 = 20 (mod 2^130 - 5): the factor for limb products that wrap.
const WRAP = 20;
// The top limb holds bits 110..131; bits from 130 up are h5 / 2^20.
const TOP = 1048576;
// RFC 8439 §2.5: every full 16-byte block gets bit 128 set, which is bit 18 of limb 5.
const HIBIT = 1 << 18;

// r, r², r³, r⁴ as limbs (6 each), computed once per message; module scratch, so no allocation.
const powers = new Float64Array(24);

function le32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/**
 * powers[o, o + 6) = powers[x, x + 6) · powers[y, y + 6) mod p, fully carried (limbs < 2^22 except
 * limb 1, which may exceed it by a small carry). Operands have limbs < 2^22 + 2^11, so sums of six
 * products with the factor 20 are < 2^51.
 */
function mulPowers(x: number, y: number, o: number): void {
  const P = powers;
  const a0 = P[x]!, a1 = P[x + 1]!, a2 = P[x + 2]!, a3 = P[x + 3]!, a4 = P[x + 4]!, a5 = P[x + 5]!;
  const b0 = P[y]!, b1 = P[y + 1]!, b2 = P[y + 2]!, b3 = P[y + 3]!, b4 = P[y + 4]!, b5 = P[y + 5]!;
  let d0 = a0 * b0 + WRAP * (a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1);
  let d1 = a0 * b1 + a1 * b0 + WRAP * (a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2);
  let d2 = a0 * b2 + a1 * b1 + a2 * b0 + WRAP * (a3 * b5 + a4 * b4 + a5 * b3);
  let d3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + WRAP * (a4 * b5 + a5 * b4);
  let d4 = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0 + WRAP * (a5 * b5);
  let d5 = a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0;
  let c = Math.floor(d0 * INV_LIMB);
  d0 -= c * LIMB;
  d1 += c;
  c = Math.floor(d1 * INV_LIMB);
  d1 -= c * LIMB;
  d2 += c;
  c = Math.floor(d2 * INV_LIMB);
  d2 -= c * LIMB;
  d3 += c;
  c = Math.floor(d3 * INV_LIMB);
  d3 -= c * LIMB;
  d4 += c;
  c = Math.floor(d4 * INV_LIMB);
  d4 -= c * LIMB;
  d5 += c;
  c = Math.floor(d5 * INV_LIMB);
  d5 -= c * LIMB;
  d0 += c * WRAP;
  c = Math.floor(d0 * INV_LIMB);
  d0 -= c * LIMB;
  d1 += c;
  P[o] = d0;
  P[o + 1] = d1;
  P[o + 2] = d2;
  P[o + 3] = d3;
  P[o + 4] = d4;
  P[o + 5] = d5;
}

/**
 * Poly1305 (RFC 8439 §2.5) of `msg[start, end)` under the one-time `key[keyOff, keyOff + 32)`,
 * written to `out[outOff, outOff + 16)` (which may follow the message in the same buffer).
 * Allocates nothing when the message is not 4-byte aligned; when it is, it makes one Int32Array
 * view unless the caller passes `words` (an Int32Array over the whole of `msg.buffer`, see
 * {@link WordViews}) to read the message 32 bits at a time.
 *
 * Arithmetic is modulo p = 2^130 - 5 in radix 2^22. Four blocks are absorbed per step, as
 * h ← (h + m1)·r⁴ + m2·r³ + m3·r² + m4·r (Horner's rule regrouped), which needs one carry per four
 * blocks instead of one per block and gives the CPU four independent products.
 * Bounds (all exact in doubles): limbs of h are < 2^22 + 2^13.1 after each step and of a message
 * block < 2^22, so h + m1 < 2^23.001; limbs of the powers of r are < 2^22.001, so a wrapped
 * multiplier 20·u < 2^26.33. The largest sum, limb 0 (five wrapped terms), is then below
 * 2^45 + 4·2^49.33 + 2^48.5 (the h term) + 2·1.47·2^50 (the r³ and r² terms) + 1.06·2^50 (r,
 * whose clamped top limb is < 2^14) < 7.3·10^15 < 2^53.
 * The carry is done on all six limbs at once, twice, rather than as one serial chain: the first
 * pass leaves limbs < 2^22 + 2^32.1 (limb 0 takes 20 times limb 5's carry) and each carry < 2^31
 * (so `| 0` truncates exactly), the second leaves limbs < 2^22 + 2^13.1.
 */
export function poly1305Into(
  key: Uint8Array,
  keyOff: number,
  msg: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOff: number,
  words?: Int32Array,
): void {
  const aligned = LITTLE_ENDIAN && ((msg.byteOffset + start) & 3) === 0 && end - start >= 16;
  let w: Int32Array | null = null;
  if (aligned) w = words ?? new Int32Array(msg.buffer, 0, msg.buffer.byteLength >>> 2);
  const byteOffset = msg.byteOffset;

  // RFC 8439 §2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff (clamp)
  const k0 = le32(key, keyOff) & 0x0fffffff;
  const k1 = le32(key, keyOff + 4) & 0x0ffffffc;
  const k2 = le32(key, keyOff + 8) & 0x0ffffffc;
  const k3 = le32(key, keyOff + 12) & 0x0ffffffc;
  const r0 = k0 & MASK22;
  const r1 = ((k0 >>> 22) | (k1 << 10)) & MASK22;
  const r2 = ((k1 >>> 12) | (k2 << 20)) & MASK22;
  const r3 = (k2 >>> 2) & MASK22;
  const r4 = ((k2 >>> 24) | (k3 << 8)) & MASK22;
  const r5 = k3 >>> 14;
  const s1 = WRAP * r1;
  const s2 = WRAP * r2;
  const s3 = WRAP * r3;
  const s4 = WRAP * r4;
  const s5 = WRAP * r5;

  let h0 = 0;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let h5 = 0;
  let pos = start;

  if (end - pos >= 64) {
    const P = powers;
    P[0] = r0;
    P[1] = r1;
    P[2] = r2;
    P[3] = r3;
    P[4] = r4;
    P[5] = r5;
    mulPowers(0, 0, 6);
    mulPowers(6, 0, 12);
    mulPowers(6, 6, 18);
    // r² = u, r³ = v, r⁴ = z; the t*, e*, y* are their limbs times 20 for the wrapped products.
    const u0 = P[6]!, u1 = P[7]!, u2 = P[8]!, u3 = P[9]!, u4 = P[10]!, u5 = P[11]!;
    const v0 = P[12]!, v1 = P[13]!, v2 = P[14]!, v3 = P[15]!, v4 = P[16]!, v5 = P[17]!;
    const z0 = P[18]!, z1 = P[19]!, z2 = P[20]!, z3 = P[21]!, z4 = P[22]!, z5 = P[23]!;
    const t1 = WRAP * u1, t2 = WRAP * u2, t3 = WRAP * u3, t4 = WRAP * u4, t5 = WRAP * u5;
    const e1 = WRAP * v1, e2 = WRAP * v2, e3 = WRAP * v3, e4 = WRAP * v4, e5 = WRAP * v5;
    const y1 = WRAP * z1, y2 = WRAP * z2, y3 = WRAP * z3, y4 = WRAP * z4, y5 = WRAP * z5;
    P.fill(0);

    while (end - pos >= 64) {
      let a0: number, a1: number, a2: number, a3: number;
      let b0: number, b1: number, b2: number, b3: number;
      let c0: number, c1: number, c2: number, c3: number;
      let f0: number, f1: number, f2: number, f3: number;
      if (w !== null) {
        const i = (byteOffset + pos) >>> 2;
        a0 = w[i]!;
        a1 = w[i + 1]!;
        a2 = w[i + 2]!;
        a3 = w[i + 3]!;
        b0 = w[i + 4]!;
        b1 = w[i + 5]!;
        b2 = w[i + 6]!;
        b3 = w[i + 7]!;
        c0 = w[i + 8]!;
        c1 = w[i + 9]!;
        c2 = w[i + 10]!;
        c3 = w[i + 11]!;
        f0 = w[i + 12]!;
        f1 = w[i + 13]!;
        f2 = w[i + 14]!;
        f3 = w[i + 15]!;
      } else {
        a0 = le32(msg, pos);
        a1 = le32(msg, pos + 4);
        a2 = le32(msg, pos + 8);
        a3 = le32(msg, pos + 12);
        b0 = le32(msg, pos + 16);
        b1 = le32(msg, pos + 20);
        b2 = le32(msg, pos + 24);
        b3 = le32(msg, pos + 28);
        c0 = le32(msg, pos + 32);
        c1 = le32(msg, pos + 36);
        c2 = le32(msg, pos + 40);
        c3 = le32(msg, pos + 44);
        f0 = le32(msg, pos + 48);
        f1 = le32(msg, pos + 52);
        f2 = le32(msg, pos + 56);
        f3 = le32(msg, pos + 60);
      }
      pos += 64;
      // h + m1, to be multiplied by r⁴.
      h0 += a0 & MASK22;
      h1 += ((a0 >>> 22) | (a1 << 10)) & MASK22;
      h2 += ((a1 >>> 12) | (a2 << 20)) & MASK22;
      h3 += (a2 >>> 2) & MASK22;
      h4 += ((a2 >>> 24) | (a3 << 8)) & MASK22;
      h5 += (a3 >>> 14) | HIBIT;
      // m2 (by r³), m3 (by r²), m4 (by r).
      const b0_ = b0 & MASK22;
      const b1_ = ((b0 >>> 22) | (b1 << 10)) & MASK22;
      const b2_ = ((b1 >>> 12) | (b2 << 20)) & MASK22;
      const b3_ = (b2 >>> 2) & MASK22;
      const b4_ = ((b2 >>> 24) | (b3 << 8)) & MASK22;
      const b5_ = (b3 >>> 14) | HIBIT;
      const c0_ = c0 & MASK22;
      const c1_ = ((c0 >>> 22) | (c1 << 10)) & MASK22;
      const c2_ = ((c1 >>> 12) | (c2 << 20)) & MASK22;
      const c3_ = (c2 >>> 2) & MASK22;
      const c4_ = ((c2 >>> 24) | (c3 << 8)) & MASK22;
      const c5_ = (c3 >>> 14) | HIBIT;
      const f0_ = f0 & MASK22;
      const f1_ = ((f0 >>> 22) | (f1 << 10)) & MASK22;
      const f2_ = ((f1 >>> 12) | (f2 << 20)) & MASK22;
      const f3_ = (f2 >>> 2) & MASK22;
      const f4_ = ((f2 >>> 24) | (f3 << 8)) & MASK22;
      const f5_ = (f3 >>> 14) | HIBIT;
      // Limb products with i + j >= 6 wrap around with the factor 20 (the y, e, t, s multipliers).
      let d0 =
        (h0 * z0 + h1 * y5 + h2 * y4 + h3 * y3 + h4 * y2 + h5 * y1) +
        (b0_ * v0 + b1_ * e5 + b2_ * e4 + b3_ * e3 + b4_ * e2 + b5_ * e1) +
        (c0_ * u0 + c1_ * t5 + c2_ * t4 + c3_ * t3 + c4_ * t2 + c5_ * t1) +
        (f0_ * r0 + f1_ * s5 + f2_ * s4 + f3_ * s3 + f4_ * s2 + f5_ * s1);
      let d1 =
        (h0 * z1 + h1 * z0 + h2 * y5 + h3 * y4 + h4 * y3 + h5 * y2) +
        (b0_ * v1 + b1_ * v0 + b2_ * e5 + b3_ * e4 + b4_ * e3 + b5_ * e2) +
        (c0_ * u1 + c1_ * u0 + c2_ * t5 + c3_ * t4 + c4_ * t3 + c5_ * t2) +
        (f0_ * r1 + f1_ * r0 + f2_ * s5 + f3_ * s4 + f4_ * s3 + f5_ * s2);
      let d2 =
        (h0 * z2 + h1 * z1 + h2 * z0 + h3 * y5 + h4 * y4 + h5 * y3) +
        (b0_ * v2 + b1_ * v1 + b2_ * v0 + b3_ * e5 + b4_ * e4 + b5_ * e3) +
        (c0_ * u2 + c1_ * u1 + c2_ * u0 + c3_ * t5 + c4_ * t4 + c5_ * t3) +
        (f0_ * r2 + f1_ * r1 + f2_ * r0 + f3_ * s5 + f4_ * s4 + f5_ * s3);
      let d3 =
        (h0 * z3 + h1 * z2 + h2 * z1 + h3 * z0 + h4 * y5 + h5 * y4) +
        (b0_ * v3 + b1_ * v2 + b2_ * v1 + b3_ * v0 + b4_ * e5 + b5_ * e4) +
        (c0_ * u3 + c1_ * u2 + c2_ * u1 + c3_ * u0 + c4_ * t5 + c5_ * t4) +
        (f0_ * r3 + f1_ * r2 + f2_ * r1 + f3_ * r0 + f4_ * s5 + f5_ * s4);
      let d4 =
        (h0 * z4 + h1 * z3 + h2 * z2 + h3 * z1 + h4 * z0 + h5 * y5) +
        (b0_ * v4 + b1_ * v3 + b2_ * v2 + b3_ * v1 + b4_ * v0 + b5_ * e5) +
        (c0_ * u4 + c1_ * u3 + c2_ * u2 + c3_ * u1 + c4_ * u0 + c5_ * t5) +
        (f0_ * r4 + f1_ * r3 + f2_ * r2 + f3_ * r1 + f4_ * r0 + f5_ * s5);
      let d5 =
        (h0 * z5 + h1 * z4 + h2 * z3 + h3 * z2 + h4 * z1 + h5 * z0) +
        (b0_ * v5 + b1_ * v4 + b2_ * v3 + b3_ * v2 + b4_ * v1 + b5_ * v0) +
        (c0_ * u5 + c1_ * u4 + c2_ * u3 + c3_ * u2 + c4_ * u1 + c5_ * u0) +
        (f0_ * r5 + f1_ * r4 + f2_ * r3 + f3_ * r2 + f4_ * r1 + f5_ * r0);
      // Two parallel carry passes (see the bounds above); `| 0` is floor for these non-negative
      // values below 2^31 and cheaper than Math.floor.
      let q0 = (d0 * INV_LIMB) | 0;
      let q1 = (d1 * INV_LIMB) | 0;
      let q2 = (d2 * INV_LIMB) | 0;
      let q3 = (d3 * INV_LIMB) | 0;
      let q4 = (d4 * INV_LIMB) | 0;
      let q5 = (d5 * INV_LIMB) | 0;
      d0 = d0 - q0 * LIMB + q5 * WRAP;
      d1 = d1 - q1 * LIMB + q0;
      d2 = d2 - q2 * LIMB + q1;
      d3 = d3 - q3 * LIMB + q2;
      d4 = d4 - q4 * LIMB + q3;
      d5 = d5 - q5 * LIMB + q4;
      q0 = (d0 * INV_LIMB) | 0;
      q1 = (d1 * INV_LIMB) | 0;
      q2 = (d2 * INV_LIMB) | 0;
      q3 = (d3 * INV_LIMB) | 0;
      q4 = (d4 * INV_LIMB) | 0;
      q5 = (d5 * INV_LIMB) | 0;
      h0 = d0 - q0 * LIMB + q5 * WRAP;
      h1 = d1 - q1 * LIMB + q0;
      h2 = d2 - q2 * LIMB + q1;
      h3 = d3 - q3 * LIMB + q2;
      h4 = d4 - q4 * LIMB + q3;
      h5 = d5 - q5 * LIMB + q4;
    }
  }

  // The last zero to four blocks, one at a time: h ← (h + m)·r. The final short block gets its
  // 1 right after the last byte instead of at bit 128 (RFC 8439 §2.5).
  while (pos < end) {
    let a0: number, a1: number, a2: number, a3: number;
    let hibit = HIBIT;
    if (end - pos >= 16) {
      if (w !== null) {
        const i = (byteOffset + pos) >>> 2;
        a0 = w[i]!;
        a1 = w[i + 1]!;
        a2 = w[i + 2]!;
        a3 = w[i + 3]!;
      } else {
        a0 = le32(msg, pos);
        a1 = le32(msg, pos + 4);
        a2 = le32(msg, pos + 8);
        a3 = le32(msg, pos + 12);
      }
      pos += 16;
    } else {
      a0 = a1 = a2 = a3 = 0;
      const n = end - pos;
      for (let i = 0; i <= n; i++) {
        const v = i < n ? msg[pos + i]! : 1;
        const sh = (i & 3) * 8;
        switch (i >> 2) {
          case 0: a0 |= v << sh; break;
          case 1: a1 |= v << sh; break;
          case 2: a2 |= v << sh; break;
          default: a3 |= v << sh;
        }
      }
      hibit = 0;
      pos = end;
    }
    h0 += a0 & MASK22;
    h1 += ((a0 >>> 22) | (a1 << 10)) & MASK22;
    h2 += ((a1 >>> 12) | (a2 << 20)) & MASK22;
    h3 += (a2 >>> 2) & MASK22;
    h4 += ((a2 >>> 24) | (a3 << 8)) & MASK22;
    h5 += (a3 >>> 14) | hibit;
    let d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;
    let q0 = (d0 * INV_LIMB) | 0;
    let q1 = (d1 * INV_LIMB) | 0;
    let q2 = (d2 * INV_LIMB) | 0;
    let q3 = (d3 * INV_LIMB) | 0;
    let q4 = (d4 * INV_LIMB) | 0;
    let q5 = (d5 * INV_LIMB) | 0;
    d0 = d0 - q0 * LIMB + q5 * WRAP;
    d1 = d1 - q1 * LIMB + q0;
    d2 = d2 - q2 * LIMB + q1;
    d3 = d3 - q3 * LIMB + q2;
    d4 = d4 - q4 * LIMB + q3;
    d5 = d5 - q5 * LIMB + q4;
    q0 = (d0 * INV_LIMB) | 0;
    q1 = (d1 * INV_LIMB) | 0;
    q2 = (d2 * INV_LIMB) | 0;
    q3 = (d3 * INV_LIMB) | 0;
    q4 = (d4 * INV_LIMB) | 0;
    q5 = (d5 * INV_LIMB) | 0;
    h0 = d0 - q0 * LIMB + q5 * WRAP;
    h1 = d1 - q1 * LIMB + q0;
    h2 = d2 - q2 * LIMB + q1;
    h3 = d3 - q3 * LIMB + q2;
    h4 = d4 - q4 * LIMB + q3;
    h5 = d5 - q5 * LIMB + q4;
  }

  let c: number;
  // Fully reduce: carry serially and fold bits >= 130 back in (2^130 ≡ 5), twice; the second fold
  // adds at most 5, which one more serial carry absorbs, leaving h < 2^130 with limbs < 2^22.
  for (let round = 0; round < 3; round++) {
    c = Math.floor(h0 * INV_LIMB);
    h0 -= c * LIMB;
    h1 += c;
    c = Math.floor(h1 * INV_LIMB);
    h1 -= c * LIMB;
    h2 += c;
    c = Math.floor(h2 * INV_LIMB);
    h2 -= c * LIMB;
    h3 += c;
    c = Math.floor(h3 * INV_LIMB);
    h3 -= c * LIMB;
    h4 += c;
    c = Math.floor(h4 * INV_LIMB);
    h4 -= c * LIMB;
    h5 += c;
    if (round === 2) break;
    c = Math.floor(h5 / TOP);
    h5 -= c * TOP;
    h0 += c * 5;
  }
  // Now h < 2^130 with every limb < 2^22. g = h + 5 - 2^130 is >= 0 exactly when h >= p, and is
  // then the reduced value.
  let g0 = h0 + 5;
  c = Math.floor(g0 * INV_LIMB);
  g0 -= c * LIMB;
  let g1 = h1 + c;
  c = Math.floor(g1 * INV_LIMB);
  g1 -= c * LIMB;
  let g2 = h2 + c;
  c = Math.floor(g2 * INV_LIMB);
  g2 -= c * LIMB;
  let g3 = h3 + c;
  c = Math.floor(g3 * INV_LIMB);
  g3 -= c * LIMB;
  let g4 = h4 + c;
  c = Math.floor(g4 * INV_LIMB);
  g4 -= c * LIMB;
  const g5 = h5 + c - TOP;
  // Select without a data-dependent branch: mask is all ones when g5 >= 0.
  const useG = ~(g5 >> 31);
  const keepH = ~useG;
  const f0 = (h0 & keepH) | (g0 & useG);
  const f1 = (h1 & keepH) | (g1 & useG);
  const f2 = (h2 & keepH) | (g2 & useG);
  const f3 = (h3 & keepH) | (g3 & useG);
  const f4 = (h4 & keepH) | (g4 & useG);
  const f5 = (h5 & keepH) | (g5 & 0xfffff & useG);

  // Repack into 32-bit words (mod 2^128) and add s = key[16..32) (RFC 8439 §2.5).
  const o0 = (f0 | (f1 << 22)) >>> 0;
  const o1 = ((f1 >>> 10) | (f2 << 12)) >>> 0;
  const o2 = ((f2 >>> 20) | (f3 << 2) | (f4 << 24)) >>> 0;
  const o3 = ((f4 >>> 8) | (f5 << 14)) >>> 0;
  // Sums are < 2^33 in doubles; the carry into the next word is floor(sum / 2^32), without a branch.
  let sum = o0 + (le32(key, keyOff + 16) >>> 0);
  writeLe32(out, outOff, sum);
  sum = o1 + (le32(key, keyOff + 20) >>> 0) + Math.floor(sum / 4294967296);
  writeLe32(out, outOff + 4, sum);
  sum = o2 + (le32(key, keyOff + 24) >>> 0) + Math.floor(sum / 4294967296);
  writeLe32(out, outOff + 8, sum);
  sum = o3 + (le32(key, keyOff + 28) >>> 0) + Math.floor(sum / 4294967296);
  writeLe32(out, outOff + 12, sum);
}

function writeLe32(b: Uint8Array, i: number, v: number): void {
  b[i] = v;
  b[i + 1] = v >>> 8;
  b[i + 2] = v >>> 16;
  b[i + 3] = v >>> 24;
}
