/**
 * Poly1305 (RFC 8439 §2.5), specialised for the packet path: {@link poly1305Into} writes the tag
 * into caller-owned memory and allocates nothing (noble's incremental Poly1305 copies its input on
 * every `update()` and allocates a state per key), and processes four blocks per step with the
 * precomputed powers r..r⁴. Cross-checked against noble, OpenSSL and the RFC 8439 vectors in
 * test/chacha20.test.ts and test/cipher.test.ts.
 *
 * The work is split into small functions, each with one job and one loop, rather than one large
 * function: V8 optimises a function after an amount of interpreted work that grows with its
 * bytecode size, and code after a loop that an on-stack-replaced (OSR) compile has no type
 * feedback for deoptimises on every call. The single large function this replaced was OSR-compiled
 * during a bulk transfer and then deoptimised on every later small packet (measured: ~1,400
 * deoptimisations over 1,000 64-byte round trips after a 2 MiB warm-up, when the bulk data came
 * before any short packet).
 */
import { LITTLE_ENDIAN } from './chacha20.js';

// Poly1305's state lives in six 22-bit limbs (radix 2^22, 132 bits) held in doubles: products of
// limbs stay below 2^53 and are exact, which int32 arithmetic (no 64-bit multiply) cannot offer.
const LIMB = 4194304;
const INV_LIMB = 1 / LIMB;
const MASK22 = 0x3fffff;
// 2^132 = 2^2 · 2^130 ≡ 4 · 5 = 20 (mod 2^130 - 5): the factor for limb products that wrap.
const WRAP = 20;
// RFC 8439 §2.5: every full 16-byte block gets bit 128 set, which is bit 18 of limb 5.
const HIBIT = 1 << 18;
// Messages of at least this many whole blocks absorb four blocks per step; shorter ones one at a
// time, where computing r², r³, r⁴ would cost more than it saves (measured on Node 20).
const POWERS_MIN_BLOCKS = 16;
// Misaligned messages are copied through this many bytes of aligned scratch.
const BOUNCE_BYTES = 2048;

// Module scratch, so a call allocates nothing (JavaScript runs one call at a time; wiped after each):
// R = r, r², r³, r⁴ as 6 limbs each; H = the accumulator's 6 limbs.
const R = new Float64Array(24);
const H = new Float64Array(6);
// One block's words: the final partial block, padded (RFC 8439 §2.5).
const PAD = new Int32Array(4);
const PAD8 = new Uint8Array(PAD.buffer);
const BOUNCE = new Int32Array(BOUNCE_BYTES / 4);
const BOUNCE8 = new Uint8Array(BOUNCE.buffer);

function le32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** R[0, 6) = r from `key[keyOff, keyOff + 16)`, clamped (RFC 8439 §2.5), in radix 2^22. */
function clampR(key: Uint8Array, keyOff: number): void {
  // RFC 8439 §2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff
  const k0 = le32(key, keyOff) & 0x0fffffff;
  const k1 = le32(key, keyOff + 4) & 0x0ffffffc;
  const k2 = le32(key, keyOff + 8) & 0x0ffffffc;
  const k3 = le32(key, keyOff + 12) & 0x0ffffffc;
  R[0] = k0 & MASK22;
  R[1] = ((k0 >>> 22) | (k1 << 10)) & MASK22;
  R[2] = ((k1 >>> 12) | (k2 << 20)) & MASK22;
  R[3] = (k2 >>> 2) & MASK22;
  R[4] = ((k2 >>> 24) | (k3 << 8)) & MASK22;
  R[5] = k3 >>> 14;
}

/**
 * R[o, o + 6) = R[x, x + 6) · R[y, y + 6) mod p, fully carried (limbs < 2^22 except limb 1, which
 * may exceed it by a small carry). Operands have limbs < 2^22 + 2^11, so sums of six products with
 * the factor 20 are < 2^51.
 */
function mulPowers(x: number, y: number, o: number): void {
  const P = R;
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
 * Absorb `steps` four-block steps from `w[i, i + 16·steps)` (little-endian words) into H, as
 * h ← (h + m1)·r⁴ + m2·r³ + m3·r² + m4·r (Horner's rule regrouped), which needs one carry per four
 * blocks instead of one per block and gives the CPU four independent products. R must hold r..r⁴.
 *
 * Bounds (all exact in doubles): limbs of h are < 2^22 + 2^13.1 after each step and of a message
 * block < 2^22, so h + m1 < 2^23.001; limbs of the powers of r are < 2^22.001, so a wrapped
 * multiplier 20·u < 2^26.33. The largest sum, limb 0 (five wrapped terms), is then below
 * 2^45 + 4·2^49.33 + 2^48.5 (the h term) + 2·1.47·2^50 (the r³ and r² terms) + 1.06·2^50 (r,
 * whose clamped top limb is < 2^14) < 7.3·10^15 < 2^53.
 * The carry is done on all six limbs at once, twice, rather than as one serial chain: the first
 * pass leaves limbs < 2^22 + 2^32.1 (limb 0 takes 20 times limb 5's carry) and each carry < 2^31
 * (so `| 0` truncates exactly), the second leaves limbs < 2^22 + 2^13.1.
 */
function blocks4(w: Int32Array, i: number, steps: number): void {
  const P = R;
  const r0 = P[0]!, r1 = P[1]!, r2 = P[2]!, r3 = P[3]!, r4 = P[4]!, r5 = P[5]!;
  const u0 = P[6]!, u1 = P[7]!, u2 = P[8]!, u3 = P[9]!, u4 = P[10]!, u5 = P[11]!;
  const v0 = P[12]!, v1 = P[13]!, v2 = P[14]!, v3 = P[15]!, v4 = P[16]!, v5 = P[17]!;
  const z0 = P[18]!, z1 = P[19]!, z2 = P[20]!, z3 = P[21]!, z4 = P[22]!, z5 = P[23]!;
  // r = r, r² = u, r³ = v, r⁴ = z; s*, t*, e*, y* are their limbs times 20 for the wrapped products.
  const s1 = WRAP * r1, s2 = WRAP * r2, s3 = WRAP * r3, s4 = WRAP * r4, s5 = WRAP * r5;
  const t1 = WRAP * u1, t2 = WRAP * u2, t3 = WRAP * u3, t4 = WRAP * u4, t5 = WRAP * u5;
  const e1 = WRAP * v1, e2 = WRAP * v2, e3 = WRAP * v3, e4 = WRAP * v4, e5 = WRAP * v5;
  const y1 = WRAP * z1, y2 = WRAP * z2, y3 = WRAP * z3, y4 = WRAP * z4, y5 = WRAP * z5;
  let h0 = H[0]!, h1 = H[1]!, h2 = H[2]!, h3 = H[3]!, h4 = H[4]!, h5 = H[5]!;
  for (let n = 0; n < steps; n++, i += 16) {
    let d0: number, d1: number, d2: number, d3: number, d4: number, d5: number;
    {
      const w0 = w[i]!, w1 = w[i + 1]!, w2 = w[i + 2]!, w3 = w[i + 3]!;
      const m0 = h0 + (w0 & MASK22);
      const m1 = h1 + (((w0 >>> 22) | (w1 << 10)) & MASK22);
      const m2 = h2 + (((w1 >>> 12) | (w2 << 20)) & MASK22);
      const m3 = h3 + ((w2 >>> 2) & MASK22);
      const m4 = h4 + (((w2 >>> 24) | (w3 << 8)) & MASK22);
      const m5 = h5 + ((w3 >>> 14) | HIBIT);
      d0 = m0 * z0 + m1 * y5 + m2 * y4 + m3 * y3 + m4 * y2 + m5 * y1;
      d1 = m0 * z1 + m1 * z0 + m2 * y5 + m3 * y4 + m4 * y3 + m5 * y2;
      d2 = m0 * z2 + m1 * z1 + m2 * z0 + m3 * y5 + m4 * y4 + m5 * y3;
      d3 = m0 * z3 + m1 * z2 + m2 * z1 + m3 * z0 + m4 * y5 + m5 * y4;
      d4 = m0 * z4 + m1 * z3 + m2 * z2 + m3 * z1 + m4 * z0 + m5 * y5;
      d5 = m0 * z5 + m1 * z4 + m2 * z3 + m3 * z2 + m4 * z1 + m5 * z0;
    }
    {
      const w0 = w[i + 4]!, w1 = w[i + 5]!, w2 = w[i + 6]!, w3 = w[i + 7]!;
      const m0 = w0 & MASK22;
      const m1 = ((w0 >>> 22) | (w1 << 10)) & MASK22;
      const m2 = ((w1 >>> 12) | (w2 << 20)) & MASK22;
      const m3 = (w2 >>> 2) & MASK22;
      const m4 = ((w2 >>> 24) | (w3 << 8)) & MASK22;
      const m5 = (w3 >>> 14) | HIBIT;
      d0 += m0 * v0 + m1 * e5 + m2 * e4 + m3 * e3 + m4 * e2 + m5 * e1;
      d1 += m0 * v1 + m1 * v0 + m2 * e5 + m3 * e4 + m4 * e3 + m5 * e2;
      d2 += m0 * v2 + m1 * v1 + m2 * v0 + m3 * e5 + m4 * e4 + m5 * e3;
      d3 += m0 * v3 + m1 * v2 + m2 * v1 + m3 * v0 + m4 * e5 + m5 * e4;
      d4 += m0 * v4 + m1 * v3 + m2 * v2 + m3 * v1 + m4 * v0 + m5 * e5;
      d5 += m0 * v5 + m1 * v4 + m2 * v3 + m3 * v2 + m4 * v1 + m5 * v0;
    }
    {
      const w0 = w[i + 8]!, w1 = w[i + 9]!, w2 = w[i + 10]!, w3 = w[i + 11]!;
      const m0 = w0 & MASK22;
      const m1 = ((w0 >>> 22) | (w1 << 10)) & MASK22;
      const m2 = ((w1 >>> 12) | (w2 << 20)) & MASK22;
      const m3 = (w2 >>> 2) & MASK22;
      const m4 = ((w2 >>> 24) | (w3 << 8)) & MASK22;
      const m5 = (w3 >>> 14) | HIBIT;
      d0 += m0 * u0 + m1 * t5 + m2 * t4 + m3 * t3 + m4 * t2 + m5 * t1;
      d1 += m0 * u1 + m1 * u0 + m2 * t5 + m3 * t4 + m4 * t3 + m5 * t2;
      d2 += m0 * u2 + m1 * u1 + m2 * u0 + m3 * t5 + m4 * t4 + m5 * t3;
      d3 += m0 * u3 + m1 * u2 + m2 * u1 + m3 * u0 + m4 * t5 + m5 * t4;
      d4 += m0 * u4 + m1 * u3 + m2 * u2 + m3 * u1 + m4 * u0 + m5 * t5;
      d5 += m0 * u5 + m1 * u4 + m2 * u3 + m3 * u2 + m4 * u1 + m5 * u0;
    }
    {
      const w0 = w[i + 12]!, w1 = w[i + 13]!, w2 = w[i + 14]!, w3 = w[i + 15]!;
      const m0 = w0 & MASK22;
      const m1 = ((w0 >>> 22) | (w1 << 10)) & MASK22;
      const m2 = ((w1 >>> 12) | (w2 << 20)) & MASK22;
      const m3 = (w2 >>> 2) & MASK22;
      const m4 = ((w2 >>> 24) | (w3 << 8)) & MASK22;
      const m5 = (w3 >>> 14) | HIBIT;
      d0 += m0 * r0 + m1 * s5 + m2 * s4 + m3 * s3 + m4 * s2 + m5 * s1;
      d1 += m0 * r1 + m1 * r0 + m2 * s5 + m3 * s4 + m4 * s3 + m5 * s2;
      d2 += m0 * r2 + m1 * r1 + m2 * r0 + m3 * s5 + m4 * s4 + m5 * s3;
      d3 += m0 * r3 + m1 * r2 + m2 * r1 + m3 * r0 + m4 * s5 + m5 * s4;
      d4 += m0 * r4 + m1 * r3 + m2 * r2 + m3 * r1 + m4 * r0 + m5 * s5;
      d5 += m0 * r5 + m1 * r4 + m2 * r3 + m3 * r2 + m4 * r1 + m5 * r0;
    }
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
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
}

/**
 * Absorb `blocks` 16-byte blocks from `w[i, i + 4·blocks)` into H, one at a time:
 * h ← (h + m)·r (RFC 8439 §2.5). `hibit` is {@link HIBIT} for full blocks and 0 for the final
 * partial block, whose 1 byte the caller has already placed after the message (RFC 8439 §2.5).
 * Bounds as in {@link blocks4}, with one product per limb pair.
 */
function blocks1(w: Int32Array, i: number, blocks: number, hibit: number): void {
  const r0 = R[0]!, r1 = R[1]!, r2 = R[2]!, r3 = R[3]!, r4 = R[4]!, r5 = R[5]!;
  const s1 = WRAP * r1, s2 = WRAP * r2, s3 = WRAP * r3, s4 = WRAP * r4, s5 = WRAP * r5;
  let h0 = H[0]!, h1 = H[1]!, h2 = H[2]!, h3 = H[3]!, h4 = H[4]!, h5 = H[5]!;
  for (let n = 0; n < blocks; n++, i += 4) {
    const a0 = w[i]!, a1 = w[i + 1]!, a2 = w[i + 2]!, a3 = w[i + 3]!;
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
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
}

/** Absorb `blocks` whole blocks of words at `w[i)`: four at a time when R holds the powers. */
function absorb(w: Int32Array, i: number, blocks: number, powers: boolean): void {
  if (powers && blocks >= 4) {
    const steps = blocks >>> 2;
    blocks4(w, i, steps);
    i += 16 * steps;
    blocks &= 3;
  }
  if (blocks > 0) blocks1(w, i, blocks, HIBIT);
}

/**
 * The tag: h fully reduced mod p, plus s = `key[keyOff + 16, keyOff + 32)`, mod 2^128, written
 * little-endian to `out[outOff, outOff + 16)` (RFC 8439 §2.5). Limbs of H are integers below
 * 2^22 + 2^13.1 (see {@link blocks4}), so this runs in int32 arithmetic.
 */
function finish(key: Uint8Array, keyOff: number, out: Uint8Array, outOff: number): void {
  let h0 = H[0]! | 0, h1 = H[1]! | 0, h2 = H[2]! | 0, h3 = H[3]! | 0, h4 = H[4]! | 0, h5 = H[5]! | 0;
  // Carry serially and fold bits >= 130 (bit 20 of limb 5 up) back in as 2^130 ≡ 5, twice; the
  // second fold adds at most 5, which the third carry absorbs, leaving h < 2^130, limbs < 2^22.
  for (let round = 0; round < 3; round++) {
    h1 += h0 >>> 22;
    h0 &= MASK22;
    h2 += h1 >>> 22;
    h1 &= MASK22;
    h3 += h2 >>> 22;
    h2 &= MASK22;
    h4 += h3 >>> 22;
    h3 &= MASK22;
    h5 += h4 >>> 22;
    h4 &= MASK22;
    if (round === 2) break;
    h0 += (h5 >>> 20) * 5;
    h5 &= 0xfffff;
  }
  // g = h + 5 - 2^130 is >= 0 exactly when h >= p, and is then the reduced value.
  let g0 = h0 + 5;
  let g1 = h1 + (g0 >>> 22);
  g0 &= MASK22;
  let g2 = h2 + (g1 >>> 22);
  g1 &= MASK22;
  let g3 = h3 + (g2 >>> 22);
  g2 &= MASK22;
  let g4 = h4 + (g3 >>> 22);
  g3 &= MASK22;
  const g5 = h5 + (g4 >>> 22) - (1 << 20);
  g4 &= MASK22;
  // Select without a data-dependent branch: mask is all ones when g5 >= 0.
  const useG = ~(g5 >> 31);
  const keepH = ~useG;
  const f0 = (h0 & keepH) | (g0 & useG);
  const f1 = (h1 & keepH) | (g1 & useG);
  const f2 = (h2 & keepH) | (g2 & useG);
  const f3 = (h3 & keepH) | (g3 & useG);
  const f4 = (h4 & keepH) | (g4 & useG);
  const f5 = (h5 & keepH) | (g5 & 0xfffff & useG);

  // Repack into 32-bit words (mod 2^128) and add s (RFC 8439 §2.5), carrying 16 bits at a time so
  // every intermediate stays a small integer.
  const o0 = f0 | (f1 << 22);
  const o1 = (f1 >>> 10) | (f2 << 12);
  const o2 = (f2 >>> 20) | (f3 << 2) | (f4 << 24);
  const o3 = (f4 >>> 8) | (f5 << 14);
  let c = 0;
  c = addWord(out, outOff, o0, le32(key, keyOff + 16), c);
  c = addWord(out, outOff + 4, o1, le32(key, keyOff + 20), c);
  c = addWord(out, outOff + 8, o2, le32(key, keyOff + 24), c);
  addWord(out, outOff + 12, o3, le32(key, keyOff + 28), c);
}

/** out[at, at + 4) = (a + b + carry) mod 2^32, little-endian; returns the carry out (0 or 1). */
function addWord(out: Uint8Array, at: number, a: number, b: number, carry: number): number {
  const lo = (a & 0xffff) + (b & 0xffff) + carry;
  const hi = (a >>> 16) + (b >>> 16) + (lo >>> 16);
  out[at] = lo;
  out[at + 1] = lo >>> 8;
  out[at + 2] = hi;
  out[at + 3] = hi >>> 8;
  return hi >>> 16;
}

/**
 * Poly1305 (RFC 8439 §2.5) of `msg[start, end)` under the one-time `key[keyOff, keyOff + 32)`,
 * written to `out[outOff, outOff + 16)` (which may follow the message in the same buffer).
 * Allocates nothing when the message is not 4-byte aligned; when it is, it makes one Int32Array
 * view unless the caller passes `words` (an Int32Array over the whole of `msg.buffer`, see
 * {@link WordViews}) to read the message 32 bits at a time, and then may pass `msg.byteOffset`
 * it knows (`msgByteOffset`: reading it is a call into the runtime).
 *
 * Arithmetic is modulo p = 2^130 - 5 in radix 2^22; see {@link blocks4} for the bounds.
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
  msgByteOffset?: number,
): void {
  clampR(key, keyOff);
  zero(H, 6);
  const full = (end - start) >>> 4;
  const powers = full >= POWERS_MIN_BLOCKS;
  if (powers) {
    mulPowers(0, 0, 6);
    mulPowers(6, 0, 12);
    mulPowers(6, 6, 18);
  }
  let pos = start;
  if (full > 0) {
    // Read once, or given: `byteOffset` is a call into the runtime on every access.
    const byteOffset = msgByteOffset ?? msg.byteOffset;
    if (LITTLE_ENDIAN && ((byteOffset + start) & 3) === 0) {
      const w = words ?? new Int32Array(msg.buffer, 0, msg.buffer.byteLength >>> 2);
      absorb(w, (byteOffset + start) >>> 2, full, powers);
      pos += 16 * full;
    } else {
      // Word reads need 4-byte alignment (and little-endian words): copy through aligned scratch.
      const stop = start + 16 * full;
      while (pos < stop) {
        const n = Math.min(stop - pos, BOUNCE_BYTES);
        loadWords(msg, pos, n);
        absorb(BOUNCE, 0, n >>> 4, powers);
        pos += n;
      }
    }
  }
  if (pos < end) {
    // RFC 8439 §2.5: the final short block gets a 1 byte right after the message, then zeros.
    const n = end - pos;
    for (let i = 0; i < n; i++) PAD8[i] = msg[pos + i]!;
    PAD8[n] = 1;
    for (let i = n + 1; i < 16; i++) PAD8[i] = 0;
    if (!LITTLE_ENDIAN) for (let i = 0; i < 4; i++) PAD[i] = le32(PAD8, 4 * i);
    blocks1(PAD, 0, 1, 0);
    zero(PAD, 4);
  }
  finish(key, keyOff, out, outOff);
  // Leave no key material or state in module scratch.
  zero(R, powers ? 24 : 6);
  zero(H, 6);
}

/** a[0, n) = 0 (a loop the JIT inlines; `fill` is a builtin call). */
function zero(a: Float64Array | Int32Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] = 0;
}

/** BOUNCE[0, n / 4) = the little-endian words of `msg[pos, pos + n)` (n a multiple of 16). */
function loadWords(msg: Uint8Array, pos: number, n: number): void {
  if (LITTLE_ENDIAN) {
    BOUNCE8.set(msg.subarray(pos, pos + n));
    return;
  }
  for (let i = 0; i < n; i += 4) BOUNCE[i >>> 2] = le32(msg, pos + i);
}
