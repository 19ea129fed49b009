/**
 * Streamlined NTRU Prime sntrup761, the post-quantum half of the key exchanges
 * sntrup761x25519-sha512 and sntrup761x25519-sha512@openssh.com.
 *
 * Written from the specification "NTRU Prime: round 3" (2020-10-07), sections "Parameter space",
 * "Streamlined NTRU Prime Core", "Encodings" and the Streamlined NTRU Prime KEM (hash confirmation,
 * implicit rejection), parameters p = 761, q = 4591, w = 286. It is byte-for-byte compatible with
 * OpenSSH's sntrup761.c (SUPERCOP's portable reference C): same encodings, hash prefixes, randomness
 * consumption and implicit-rejection secret; test/sntrup761.test.ts checks known answers made by
 * that C code with a fixed RNG, and the NIST KAT digests PQClean and liboqs publish for it.
 *
 * Randomness is injected: `random(n)` must return n cryptographically secure bytes. The draws, in
 * order, are those of OpenSSH: keygen takes 4·761 bytes per candidate g (repeated in the rare
 * case g is not invertible mod 3), then 4·761 bytes for f, then 191 bytes for ρ (the
 * implicit-rejection input); encapsulate takes 4·761 bytes for r. The buffers `random` returns are
 * wiped after use.
 *
 * Constant time, as far as JavaScript allows: in keygen, encapsulate and decapsulate no branch and
 * no array index depends on secret data (f, g, 1/g, r, ρ, or whether a ciphertext is valid). The
 * inversions run a fixed 2p − 1 divstep iterations with masked swaps, each over a number of
 * coefficients that depends on the step number only; the sort of Short_fromlist is a fixed
 * bitonic network with masked min/max; products are a fixed Karatsuba/schoolbook schedule; the
 * weight check, the re-encryption comparison and the implicit-rejection selection are masks. Not
 * constant time: the keygen retry when g is not invertible (as in the reference, the retry reveals
 * only a discarded candidate), and decoding of public keys and ciphertexts (public data) with `%`
 * and division. Not guaranteed by the language: V8 may compile any of this to code with
 * secret-dependent timing (JIT tiers, deoptimisation, typed-array stores), and SHA-512 is
 * @noble/hashes'. No BigInt is used; integer arithmetic stays in int32 (Math.imul, shifts, and
 * plain `*` where both factors are non-negative and the product below 2^30).
 *
 * Speed (bench/README.md "Start-up"): the client runs keygen on the critical path of a fresh
 * process, so the hot loops are small monomorphic functions over typed arrays that V8 optimizes
 * within the first few divsteps, and their arithmetic keeps to small integers (a product -0 or a
 * value past 2^30 would put V8 on doubles or heap numbers).
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { UsageError } from '../errors.js';

// Spec "Parameter space": sntrup761 is p = 761, q = 4591, w = 286.
const p = 761;
const q = 4591;
const w = 286;
// Elements of F_q are represented in [-q12, q12].
const q12 = (q - 1) / 2;

// Spec "Encodings": Small elements take 2 bits each, ⌈p/4⌉ bytes.
const SMALL_BYTES = 191;
// Spec "Encodings": Rq_encode of p values in [0, q) and Rounded_encode of p values in [0, (q+2)/3).
const RQ_BYTES = 1158;
const ROUNDED_BYTES = 1007;
// Spec "Hashing": every Hash_b output is the first 32 bytes of SHA-512(b || input).
const HASH_BYTES = 32;
const PUBLIC_KEY_BYTES = RQ_BYTES;
// Spec KEM: ciphertext = Rounded_encode(c) || HashConfirm(r, pk).
const CIPHERTEXT_BYTES = ROUNDED_BYTES + HASH_BYTES;
// Spec KEM: secret key = Small_encode(f) || Small_encode(1/g) || pk || ρ || Hash_4(pk).
const SECRET_KEY_BYTES = 2 * SMALL_BYTES + PUBLIC_KEY_BYTES + SMALL_BYTES + HASH_BYTES;
// One uniform 32-bit word per coefficient for Short_random and Small_random.
const RANDOM_LIST_BYTES = 4 * p;
// Modulus of a rounded coefficient's encoding: (q + 2) / 3 = 1531.
const ROUNDED_M = (q + 2) / 3;
// Bitonic sorting needs a power of two; 761 words are padded to 1024 with a word above all of them.
const SORT_N = 1024;

// ---- arithmetic mod 3 and mod q (spec "Parameter space": R/3 and R/q) ----

/** x mod 3 in {-1, 0, 1} for |x| < 2^14 (inputs here stay below 2300), without division (10923 ≈ 2^15/3). */
function f3Freeze(x: number): number {
  return x - 3 * ((Math.imul(10923, x) + 16384) >> 15);
}

/**
 * x mod q in [-q12, q12] for |x| < 2^27 (checked exhaustively), without division: three Barrett-style steps with
 * 14 ≈ 2^16/q, 228 ≈ 2^20/q and 58470 ≈ 2^28/q (the last one rounding).
 */
function fqFreeze(x: number): number {
  x -= Math.imul(q, Math.imul(14, x) >> 16);
  x -= Math.imul(q, Math.imul(228, x) >> 20);
  return x - Math.imul(q, (Math.imul(58470, x) + 0x8000000) >> 28);
}

/** a^(q-2) = 1/a in F_q (Fermat); the exponent is public, so square-and-multiply is constant time. */
function fqRecip(a: number): number {
  let result = 1;
  let base = a;
  for (let e = q - 2; e > 0; e >>= 1) {
    if (e & 1) result = fqFreeze(Math.imul(result, base));
    base = fqFreeze(Math.imul(base, base));
  }
  return result;
}

/** -1 if x ≠ 0, else 0, for int32 x. */
function nonzeroMask(x: number): number {
  return (x | -x) >> 31;
}

// ---- polynomials in R = Z[x]/(x^p - x - 1) ----

// Products are taken on p coefficients padded to 768 = 8·96: three Karatsuba levels over a 96×96
// schoolbook (27 small products, 43% of the schoolbook's 761^2 multiplications).
const MUL_N = 768;
const MUL_LEVELS = 3;

/**
 * out[o + i + j] += a[ao + i]·b[bo + j] for i, j < n: the schoolbook base case. Every coefficient
 * is touched whatever the values, so the time does not depend on a or b. One small monomorphic
 * loop, so that V8 optimizes it early in a fresh process.
 */
function schoolbookAdd(out: Int32Array, o: number, a: Int16Array, ao: number, b: Int8Array, bo: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const ai = a[ao + i]!;
    const oi = o + i;
    for (let j = 0; j < n; j++) out[oi + j] += Math.imul(ai, b[bo + j]!);
  }
}

/**
 * out[o ..] += A·B for the n coefficients of a and b from ao and bo (n a multiple of
 * 2^levels), by Karatsuba: with A = A0 + A1·x^h and B = B0 + B1·x^h, A·B = P0 + (P1 - P0 - P2)·x^h +
 * P2·x^2h where P0 = A0·B0, P2 = A1·B1, P1 = (A0 + A1)(B0 + B1). The bounds hold for the callers'
 * inputs: |a| ≤ q12 so the sums of a stay below 2^3·q12 < 2^15 (Int16Array), |b| ≤ 1 so those of b
 * below 2^3 (Int8Array), and every product coefficient below 2^31.
 */
function karatsubaAdd(out: Int32Array, o: number, a: Int16Array, ao: number, b: Int8Array, bo: number, n: number, levels: number): void {
  if (levels === 0) {
    schoolbookAdd(out, o, a, ao, b, bo, n);
    return;
  }
  const h = n >> 1;
  const aSum = new Int16Array(h);
  const bSum = new Int8Array(h);
  for (let i = 0; i < h; i++) {
    aSum[i] = a[ao + i]! + a[ao + h + i]!;
    bSum[i] = b[bo + i]! + b[bo + h + i]!;
  }
  const p0 = new Int32Array(2 * h - 1);
  const p1 = new Int32Array(2 * h - 1);
  const p2 = new Int32Array(2 * h - 1);
  karatsubaAdd(p0, 0, a, ao, b, bo, h, levels - 1);
  karatsubaAdd(p2, 0, a, ao + h, b, bo + h, h, levels - 1);
  karatsubaAdd(p1, 0, aSum, 0, bSum, 0, h, levels - 1);
  for (let i = 0; i < 2 * h - 1; i++) {
    const lo = p0[i]!;
    const hi = p2[i]!;
    out[o + i] += lo;
    out[o + h + i] += p1[i]! - lo - hi;
    out[o + 2 * h + i] += hi;
  }
  aSum.fill(0);
  bSum.fill(0);
  p0.fill(0);
  p1.fill(0);
  p2.fill(0);
}

/**
 * f·g mod x^p - x - 1 as unreduced integer coefficients (p of them, below 2^31 in magnitude), for
 * |f| ≤ q12 and g small. Spec "Parameter space": x^p = x + 1, so x^(p+k) folds onto x^k and x^(k+1).
 */
function multiply(f: Int16Array, g: Int8Array): Int32Array {
  const a = new Int16Array(MUL_N);
  const b = new Int8Array(MUL_N);
  a.set(f);
  b.set(g);
  const fg = new Int32Array(2 * MUL_N - 1);
  karatsubaAdd(fg, 0, a, 0, b, 0, MUL_N, MUL_LEVELS);
  for (let i = p; i < 2 * p - 1; i++) fg[i - p] += fg[i]!;
  for (let i = p; i < 2 * p - 1; i++) fg[i - p + 1] += fg[i]!;
  a.fill(0);
  b.fill(0);
  return fg;
}

/** h = f·g in R/q, for f in R/q and g small. */
function rqMultSmall(h: Int16Array, f: Int16Array, g: Int8Array): void {
  const fg = multiply(f, g);
  for (let i = 0; i < p; i++) h[i] = fqFreeze(fg[i]!);
  fg.fill(0);
}

/** h = f·g in R/3, for f and g small (f widened to Int16Array so that one multiply serves both rings). */
function r3Mult(h: Int8Array, f: Int8Array, g: Int8Array): void {
  const f16 = Int16Array.from(f);
  const fg = multiply(f16, g);
  for (let i = 0; i < p; i++) h[i] = f3Freeze(fg[i]!);
  fg.fill(0);
  f16.fill(0);
}

// ---- reciprocals: constant-time divsteps (Bernstein–Yang), shared shape of r3Recip and rqRecip3 ----
//
// Both run 2p - 1 steps on f = x^p - x - 1 and g = the input, both reversed (coefficient i is that
// of x^(p-i)), with Bezout coefficients v (of f) and r (of g): each step multiplies v by x, swaps
// (f, v) with (g, r) under a mask when delta > 0 and g(0) ≠ 0, cancels g's constant term with f's
// (and r with v alike), then divides g by x. Two public bounds keep the loops short, independent
// of the data: (1) v and r start as 0 and a constant and gain at most one coefficient per step, so
// before step n they are zero from index n on; (2) coefficient i of f or g first reaches index 0
// after i more steps, so at step n only indices below 2p - 1 - n can still affect f(0), g(0) and
// delta, which are all the remaining steps read of f and g; the rest is left stale. Each step is a
// call to a small loop-only function, which V8 optimizes within the first few steps of a fresh
// process instead of interpreting a large function until on-stack replacement.

/** Coefficients of f and g that step n still needs: 2p - 1 - n, at most the p + 1 they have. */
function divstepLength(n: number): number {
  return Math.min(p + 1, 2 * p - 1 - n);
}

// R/3 elements in the inversion are bit-sliced: coefficient i is bit i % 32 of word i / 32 in two
// planes, "m" (nonzero) and "s" (negative, only where m is set): 1 = (1, 0), -1 = (1, 1), 0 = (0, 0).
const R3_WORDS = (p + 1 + 31) >> 5;

/** Coefficient i of a bit-sliced vector as -1, 0 or 1. */
function r3Get(m: Int32Array, s: Int32Array, i: number): number {
  const bit = i & 31;
  const nz = (m[i >> 5]! >>> bit) & 1;
  return nz - 2 * (nz & (s[i >> 5]! >>> bit));
}

/** Set coefficient i (initially 0) to c in {-1, 0, 1}. */
function r3Set(m: Int32Array, s: Int32Array, i: number, c: number): void {
  m[i >> 5] |= (c & 1) << (i & 31);
  s[i >> 5] |= ((c >>> 31) & 1) << (i & 31);
}

/**
 * One divstep's f and g words in R/3: swap under `swap`, g += sign·f, g /= x, 32 coefficients a
 * word, over the first `words` words (the word after them counts as 0: its coefficients no longer
 * matter). sign = (signM, signS) is -g(0)·f(0) as all-ones or all-zero masks.
 *
 * In F_3, where exactly one of g and c = sign·f is nonzero the sum is that one (sign s_g ^ s_c,
 * the other's s being 0); where both are nonzero with equal signs it is their negation
 * (1 + 1 = -1); else 0.
 */
function r3StepFG(fm: Int32Array, fs: Int32Array, gm: Int32Array, gs: Int32Array, swap: number, signM: number, signS: number, words: number): void {
  let prevM = 0;
  let prevS = 0;
  for (let k = 0; k < words; k++) {
    let am = fm[k]!;
    let as = fs[k]!;
    let bm = gm[k]!;
    let bs = gs[k]!;
    let t = swap & (am ^ bm);
    am ^= t;
    bm ^= t;
    t = swap & (as ^ bs);
    as ^= t;
    bs ^= t;
    fm[k] = am;
    fs[k] = as;
    const cm = am & signM;
    const one = bm ^ cm;
    const d = bs ^ ((as ^ signS) & cm);
    const same = bm & cm & ~d;
    const nm = one | same;
    const ns = (one & d) | (same & ~bs);
    // Division by x: bit 0 of word k (g's constant term, 0 after the elimination) moves out.
    if (k > 0) {
      gm[k - 1] = (prevM >>> 1) | (nm << 31);
      gs[k - 1] = (prevS >>> 1) | (ns << 31);
    }
    prevM = nm;
    prevS = ns;
  }
  gm[words - 1] = prevM >>> 1;
  gs[words - 1] = prevS >>> 1;
}

/**
 * One divstep's v and r words in R/3: v *= x, swap under `swap`, r += sign·v, over the first
 * `words` words (those holding indices up to the step number; the bit shifted out of the last one
 * is 0, and what moves past index p is never read: the result uses indices below p).
 */
function r3StepVR(vm: Int32Array, vs: Int32Array, rm: Int32Array, rs: Int32Array, swap: number, signM: number, signS: number, words: number): void {
  let carryM = 0;
  let carryS = 0;
  for (let k = 0; k < words; k++) {
    const om = vm[k]!;
    const os = vs[k]!;
    let am = (om << 1) | carryM;
    let as = (os << 1) | carryS;
    carryM = om >>> 31;
    carryS = os >>> 31;
    let bm = rm[k]!;
    let bs = rs[k]!;
    let t = swap & (am ^ bm);
    am ^= t;
    bm ^= t;
    t = swap & (as ^ bs);
    as ^= t;
    bs ^= t;
    vm[k] = am;
    vs[k] = as;
    const cm = am & signM;
    const one = bm ^ cm;
    const d = bs ^ ((as ^ signS) & cm);
    const same = bm & cm & ~d;
    rm[k] = one | same;
    rs[k] = (one & d) | (same & ~bs);
  }
}

/**
 * out = 1/input in R/3; returns 0 if input is invertible, -1 if not (then out is garbage).
 * The divsteps above, bit-sliced, so a step is a few word operations per 32 coefficients.
 */
function r3Recip(out: Int8Array, input: Int8Array): number {
  const fm = new Int32Array(R3_WORDS);
  const fs = new Int32Array(R3_WORDS);
  const gm = new Int32Array(R3_WORDS);
  const gs = new Int32Array(R3_WORDS);
  const vm = new Int32Array(R3_WORDS);
  const vs = new Int32Array(R3_WORDS);
  const rm = new Int32Array(R3_WORDS);
  const rs = new Int32Array(R3_WORDS);
  r3Set(rm, rs, 0, 1);
  r3Set(fm, fs, 0, 1);
  r3Set(fm, fs, p - 1, -1);
  r3Set(fm, fs, p, -1);
  for (let i = 0; i < p; i++) r3Set(gm, gs, p - 1 - i, input[i]!);
  let delta = 1;
  for (let n = 0; n < 2 * p - 1; n++) {
    const g0m = gm[0]! & 1;
    const f0m = fm[0]! & 1;
    // sign = -g(0)·f(0): nonzero when both are, negative when their signs agree.
    const signM = -(g0m & f0m);
    const signS = -((gs[0]! ^ fs[0]! ^ 1) & 1) & signM;
    const swap = (-delta >> 31) & -g0m;
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    r3StepVR(vm, vs, rm, rs, swap, signM, signS, Math.min(R3_WORDS, (n >> 5) + 1));
    r3StepFG(fm, fs, gm, gs, swap, signM, signS, (divstepLength(n) + 31) >> 5);
  }
  // f(0) is now ±1 (when invertible): out = v/f(0), reversed back.
  const scale = r3Get(fm, fs, 0);
  for (let i = 0; i < p; i++) out[i] = Math.imul(scale, r3Get(vm, vs, p - 1 - i));
  const result = nonzeroMask(delta);
  for (const a of [fm, fs, gm, gs, vm, vs, rm, rs]) a.fill(0);
  return result;
}

/**
 * One divstep's f and g in R/q from index 1 to `length` - 1: swap under `swap`, then
 * g ← (f0·g - g0·f)·2^-16 / x, with f0 and g0 the constant terms after the swap. Index `length` - 1
 * of the new g is set to 0 (it is g's top coefficient while the length is p + 1, and no longer
 * matters after).
 *
 * Coefficient i of f and of g share word i of `fg`: f + q in the low 16 bits, g + q in the high
 * ones (both in (0, 2q), so the word stays below 2^30): one load and one store per index, and the
 * masked swap is a masked exchange of the two halves. With values plus q and f0, g0 passed as
 * F, G in [0, q), every product has non-negative factors: plain `*` never yields -0 and always
 * stays a small integer, which keeps V8's integer fast paths both while it still interprets this
 * loop (no Math.imul call) and once it optimizes it (a -0 would switch the multiplications to
 * doubles). x = F·(g + q) - G·(f + q) + C with C = q·(G - F) is f0·g - g0·f mod q, |x| < 3q^2. The
 * reduction is Montgomery's, signed: m ≡ x/q mod 2^16 ((x mod 2^16)·15631 < 2^30, 15631 =
 * q^-1 mod 2^16), so x - m·q is an exact multiple of 2^16, and the result is in (-q, q) for
 * |x| < q·2^15.
 */
function rqStepFG(fg: Int32Array, swap: number, F: number, G: number, C: number, length: number): void {
  let fPrev = fg[0]! & 0xffff;
  for (let i = 1; i < length; i++) {
    let w = fg[i]!;
    w ^= swap & (w ^ ((w >>> 16) | ((w & 0xffff) << 16)));
    const fi = w & 0xffff;
    const x = (F * (w >>> 16) - G * fi + C) | 0;
    const m = (((x & 0xffff) * 15631) << 16) >> 16;
    fg[i - 1] = fPrev | ((((x - m * 4591) >> 16) + 4591) << 16);
    fPrev = fi;
  }
  fg[length - 1] = fPrev | (4591 << 16);
}

/**
 * One divstep's v and r in R/q, indices 0 to `last`: v *= x, swap, r ← (f0·r - g0·v)·2^-16.
 * Packed and offset as f and g in {@link rqStepFG}: v + q low, r + q high.
 */
function rqStepVR(vr: Int32Array, swap: number, F: number, G: number, C: number, last: number): void {
  let vPrev = 4591;
  for (let i = 0; i <= last; i++) {
    const w = vr[i]!;
    let vi = vPrev;
    vPrev = w & 0xffff;
    let ri = w >>> 16;
    const t = swap & (vi ^ ri);
    vi ^= t;
    ri ^= t;
    const x = (F * ri - G * vi + C) | 0;
    const m = (((x & 0xffff) * 15631) << 16) >> 16;
    vr[i] = vi | ((((x - m * 4591) >> 16) + 4591) << 16);
  }
}

/**
 * out = 1/(3·input) in R/q (always exists: q is prime and x^p - x - 1 is irreducible mod q).
 * The divsteps above, with the elimination g ← f(0)·g - g(0)·f in F_q; (g, r) are scaled
 * together by 2^-16 at every step (Montgomery reduction instead of a full one), which rescales
 * their linear relation only: the final division by f(0) cancels it. Coefficients are kept plus q,
 * two to a word (see {@link rqStepFG}).
 */
function rqRecip3(out: Int16Array, input: Int8Array): void {
  const fg = new Int32Array(p + 1);
  const vr = new Int32Array(p + 1);
  const packed = (lo: number, hi: number) => (lo + q) | ((hi + q) << 16);
  for (let i = 0; i <= p; i++) {
    // f = x^p - x - 1 reversed; g = the input reversed (g(p) = 0); v = 0; r = 1/3.
    const fi = i === 0 ? 1 : i >= p - 1 ? -1 : 0;
    fg[i] = packed(fi, i < p ? input[p - 1 - i]! : 0);
    vr[i] = packed(0, i === 0 ? fqRecip(3) : 0);
  }
  let delta = 1;
  for (let n = 0; n < 2 * p - 1; n++) {
    const w0 = fg[0]!;
    let f0 = (w0 & 0xffff) - q;
    let g0 = (w0 >>> 16) - q;
    const swap = (-delta >> 31) & nonzeroMask(g0);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    const t = swap & (f0 ^ g0);
    f0 ^= t;
    g0 ^= t;
    fg[0] = f0 + q;
    const F = f0 + (q & (f0 >> 31));
    const G = g0 + (q & (g0 >> 31));
    const C = Math.imul(q, G - F);
    rqStepVR(vr, swap, F, G, C, Math.min(n, p));
    rqStepFG(fg, swap, F, G, C, divstepLength(n));
  }
  const scale = fqRecip((fg[0]! & 0xffff) - q);
  for (let i = 0; i < p; i++) out[i] = fqFreeze(Math.imul(scale, (vr[p - 1 - i]! & 0xffff) - q));
  fg.fill(0);
  vr.fill(0);
}

// ---- sampling (spec "Parameter space": Short and Small; Short_fromlist) ----

/** The i-th little-endian 32-bit word of b. */
function word(b: Uint8Array, i: number): number {
  const o = 4 * i;
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/**
 * Ascending order at (i, i + d) in x, for every i in [lo, hi), without a branch on the values:
 * the signed-overflow-safe sign of x[i + d] - x[i] decides a masked exchange.
 */
function compareExchange(x: Int32Array, lo: number, hi: number, d: number): void {
  for (let i = lo; i < hi; i++) {
    const a = x[i]!;
    const b = x[i + d]!;
    let t = (b - a) | 0;
    t ^= (a ^ b) & (t ^ b);
    t = (t >> 31) & (a ^ b);
    x[i] = a ^ t;
    x[i + d] = b ^ t;
  }
}

/**
 * Ascending order at (lo + i, hi - i) for i in [0, (hi - lo + 1) / 2): the first merge stage of a
 * block of the bitonic network written with every comparator ascending (the block's second half
 * is compared in reverse instead of being sorted descending). Same masked exchange as above.
 */
function compareExchangeMirrored(x: Int32Array, lo: number, hi: number): void {
  for (let i = lo, l = hi; i < l; i++, l--) {
    const a = x[i]!;
    const b = x[l]!;
    let t = (b - a) | 0;
    t ^= (a ^ b) & (t ^ b);
    t = (t >> 31) & (a ^ b);
    x[i] = a ^ t;
    x[l] = b ^ t;
  }
}

/**
 * Spec "Short_fromlist": the first w of p 32-bit words get their low bit cleared (they become ±1),
 * the others get low bits 01 (they become 0); sorting the words then shuffles these by the random
 * high bits, giving a uniform element of Short (exactly w nonzero coefficients ±1).
 * Sorting is a bitonic network over 1024 words (a fixed sequence of compare-exchanges), compared
 * as unsigned via the sign-bit flip. A sort's result does not depend on the network, so this one
 * matches the reference's.
 */
function shortFromList(out: Int8Array, random: Uint8Array): void {
  const L = new Int32Array(SORT_N);
  for (let i = 0; i < w; i++) L[i] = (word(random, i) & ~1) ^ 0x80000000;
  for (let i = w; i < p; i++) L[i] = ((word(random, i) & ~3) | 1) ^ 0x80000000;
  // Padding 0xffffffff is above every real word (whose bit 0 or bit 1 is clear).
  for (let i = p; i < SORT_N; i++) L[i] = 0x7fffffff;
  for (let k = 2; k <= SORT_N; k <<= 1) {
    for (let base = 0; base < SORT_N; base += k) compareExchangeMirrored(L, base, base + k - 1);
    for (let j = k >> 2; j > 0; j >>= 1) {
      for (let base = 0; base < SORT_N; base += 2 * j) compareExchange(L, base, base + j, j);
    }
  }
  for (let i = 0; i < p; i++) out[i] = (L[i]! & 3) - 1;
  L.fill(0);
}

/** Calls the injected RNG and checks what it returned. */
function draw(random: (n: number) => Uint8Array, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new UsageError(`sntrup761: random(${n}) must return ${n} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
  return bytes;
}

/** Spec KEM key generation and encapsulation: a uniform Short element from 4p random bytes. */
function shortRandom(out: Int8Array, random: (n: number) => Uint8Array): void {
  const bytes = draw(random, RANDOM_LIST_BYTES);
  shortFromList(out, bytes);
  bytes.fill(0);
}

/** Spec KEM key generation: a uniform Small element, each coefficient ⌊3·(word mod 2^30) / 2^30⌋ - 1. */
function smallRandom(out: Int8Array, random: (n: number) => Uint8Array): void {
  const bytes = draw(random, RANDOM_LIST_BYTES);
  for (let i = 0; i < p; i++) out[i] = (((word(bytes, i) & 0x3fffffff) * 3) >>> 30) - 1;
  bytes.fill(0);
}

// ---- encodings (spec "Encodings": Encode/Decode, Small, Rq, Rounded) ----

/**
 * Spec "Encode": (R, M) with 0 ≤ R[i] < M[i] ≤ 2^14 to bytes. Pairs are merged into one
 * integer below M[i]·M[i+1]; whole bytes are emitted while the merged modulus is ≥ 2^14; the
 * remaining pairs recurse (here: loop). Every branch depends on M only, never on R.
 */
function encode(out: Uint8Array, R: Uint32Array, M: Uint32Array): void {
  let pos = 0;
  let len = R.length;
  while (len > 1) {
    const half = (len + 1) >> 1;
    const R2 = new Uint32Array(half);
    const M2 = new Uint32Array(half);
    let i = 0;
    for (; i < len - 1; i += 2) {
      const m0 = M[i]!;
      let r = R[i]! + R[i + 1]! * m0;
      let m = M[i + 1]! * m0;
      while (m >= 16384) {
        out[pos++] = r & 255;
        r >>>= 8;
        m = (m + 255) >>> 8;
      }
      R2[i >> 1] = r;
      M2[i >> 1] = m;
    }
    if (i < len) {
      R2[i >> 1] = R[i]!;
      M2[i >> 1] = M[i]!;
    }
    R.fill(0);
    R = R2;
    M = M2;
    len = half;
  }
  let r = R[0]!;
  let m = M[0]!;
  while (m > 1) {
    out[pos++] = r & 255;
    r >>>= 8;
    m = (m + 255) >>> 8;
  }
  R.fill(0);
}

/**
 * Spec "Decode": the inverse of {@link encode} for moduli M, reading from S at `at`; values out of
 * range are reduced mod M[i] (every byte string decodes). For public data only: it uses `%`.
 */
function decode(S: Uint8Array, at: number, M: Uint32Array): Uint32Array {
  const len = M.length;
  const out = new Uint32Array(len);
  if (len === 1) {
    const m = M[0]!;
    if (m === 1) out[0] = 0;
    else if (m <= 256) out[0] = S[at]! % m;
    else out[0] = (S[at]! | (S[at + 1]! << 8)) % m;
    return out;
  }
  const half = (len + 1) >> 1;
  const M2 = new Uint32Array(half);
  const bottomR = new Uint32Array(len >> 1);
  const bottomT = new Uint32Array(len >> 1);
  let i = 0;
  for (; i < len - 1; i += 2) {
    const m = M[i]! * M[i + 1]!;
    if (m > 256 * 16383) {
      bottomT[i >> 1] = 65536;
      bottomR[i >> 1] = S[at]! | (S[at + 1]! << 8);
      at += 2;
      M2[i >> 1] = (((m + 255) >>> 8) + 255) >>> 8;
    } else if (m >= 16384) {
      bottomT[i >> 1] = 256;
      bottomR[i >> 1] = S[at]!;
      at += 1;
      M2[i >> 1] = (m + 255) >>> 8;
    } else {
      bottomT[i >> 1] = 1;
      bottomR[i >> 1] = 0;
      M2[i >> 1] = m;
    }
  }
  if (i < len) M2[i >> 1] = M[i]!;
  const R2 = decode(S, at, M2);
  for (i = 0; i < len - 1; i += 2) {
    // < 2^16 + 2^16·2^12: exact in a double, so % and / are exact integer operations.
    const r = bottomR[i >> 1]! + bottomT[i >> 1]! * R2[i >> 1]!;
    const r0 = r % M[i]!;
    out[i] = r0;
    out[i + 1] = ((r - r0) / M[i]!) % M[i + 1]!;
  }
  if (i < len) out[i] = R2[i >> 1]!;
  return out;
}

/** Spec "Small encoding": four coefficients + 1 per byte, low bits first; the last byte holds one. */
function smallEncode(s: Uint8Array, at: number, f: Int8Array): void {
  for (let i = 0; i < p >> 2; i++) {
    const o = 4 * i;
    s[at + i] = (f[o]! + 1) | ((f[o + 1]! + 1) << 2) | ((f[o + 2]! + 1) << 4) | ((f[o + 3]! + 1) << 6);
  }
  s[at + (p >> 2)] = f[p - 1]! + 1;
}

/** Inverse of {@link smallEncode}; like the reference, bits 11 decode to 2 (never produced by keygen). */
function smallDecode(f: Int8Array, s: Uint8Array, at: number): void {
  for (let i = 0; i < p >> 2; i++) {
    const x = s[at + i]!;
    const o = 4 * i;
    f[o] = (x & 3) - 1;
    f[o + 1] = ((x >> 2) & 3) - 1;
    f[o + 2] = ((x >> 4) & 3) - 1;
    f[o + 3] = ((x >> 6) & 3) - 1;
  }
  f[p - 1] = (s[at + (p >> 2)]! & 3) - 1;
}

/** Spec "Rq encoding": each coefficient + q12 in [0, q), Encode with all moduli q. */
function rqEncode(s: Uint8Array, r: Int16Array): void {
  const R = new Uint32Array(p);
  for (let i = 0; i < p; i++) R[i] = r[i]! + q12;
  encode(s, R, new Uint32Array(p).fill(q));
}

/** Inverse of {@link rqEncode} (public keys). */
function rqDecode(r: Int16Array, s: Uint8Array): void {
  const R = decode(s, 0, new Uint32Array(p).fill(q));
  for (let i = 0; i < p; i++) r[i] = R[i]! - q12;
}

/** Spec "Rounded encoding": coefficients are multiples of 3; (c + q12)/3 in [0, 1531) (10923 ≈ 2^15/3). */
function roundedEncode(s: Uint8Array, r: Int16Array): void {
  const R = new Uint32Array(p);
  for (let i = 0; i < p; i++) R[i] = Math.imul(r[i]! + q12, 10923) >>> 15;
  encode(s, R, new Uint32Array(p).fill(ROUNDED_M));
}

/** Inverse of {@link roundedEncode} (ciphertexts). */
function roundedDecode(r: Int16Array, s: Uint8Array): void {
  const R = decode(s, 0, new Uint32Array(p).fill(ROUNDED_M));
  for (let i = 0; i < p; i++) r[i] = R[i]! * 3 - q12;
}

// ---- hashing (spec "Hashing": Hash_b(x) = first 32 bytes of SHA-512(b || x)) ----

function hashPrefix(b: number, ...parts: Uint8Array[]): Uint8Array {
  const h = sha512.create().update(Uint8Array.of(b));
  for (const part of parts) h.update(part);
  const digest = h.digest();
  const out = digest.slice(0, HASH_BYTES);
  digest.fill(0);
  return out;
}

// ---- Streamlined NTRU Prime Core (spec "Streamlined NTRU Prime Core") ----

/** Spec Core Encrypt + KEM "Hide": c = Rounded_encode(Round(h·r)) || HashConfirm; r_enc = Small_encode(r). */
function hide(c: Uint8Array, rEnc: Uint8Array, r: Int8Array, pk: Uint8Array, cache: Uint8Array): void {
  smallEncode(rEnc, 0, r);
  const h = new Int16Array(p);
  rqDecode(h, pk);
  const hr = new Int16Array(p);
  rqMultSmall(hr, h, r);
  // Spec "Round": the nearest multiple of 3 of each coefficient.
  for (let i = 0; i < p; i++) hr[i] = hr[i]! - f3Freeze(hr[i]!);
  roundedEncode(c, hr);
  hr.fill(0);
  // Spec KEM: HashConfirm(r, pk) = Hash_2(Hash_3(r_enc) || Hash_4(pk)); Hash_4(pk) is the cache.
  c.set(hashPrefix(2, hashPrefix(3, rEnc), cache), ROUNDED_BYTES);
}

/**
 * Spec Core Decrypt: e = 3·f·c in R/3, r = e/g; if r does not have weight w, (1,…,1,0,…,0) instead,
 * selected with a mask.
 */
function decrypt(r: Int8Array, c: Int16Array, f: Int8Array, ginv: Int8Array): void {
  const cf = new Int16Array(p);
  rqMultSmall(cf, c, f);
  const e = new Int8Array(p);
  for (let i = 0; i < p; i++) e[i] = f3Freeze(fqFreeze(3 * cf[i]!));
  const ev = new Int8Array(p);
  r3Mult(ev, e, ginv);
  let weight = 0;
  for (let i = 0; i < p; i++) weight += ev[i]! & 1;
  const mask = nonzeroMask(weight - w);
  for (let i = 0; i < w; i++) r[i] = ((ev[i]! ^ 1) & ~mask) ^ 1;
  for (let i = w; i < p; i++) r[i] = ev[i]! & ~mask;
  cf.fill(0);
  e.fill(0);
  ev.fill(0);
}

function checkLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new UsageError(`sntrup761: ${what} must be ${length} bytes, got ${got}`);
  }
}

/**
 * Streamlined NTRU Prime sntrup761 KEM, compatible with OpenSSH's sntrup761.c.
 *
 * - `keygen(random)`: a key pair; the public key (1158 bytes) goes to the server, the secret key
 *   (1763 bytes: f, 1/g, the public key, ρ, Hash_4(pk)) stays here.
 * - `encapsulate(publicKey, random)`: the server side; a 1039-byte ciphertext and the 32-byte
 *   shared secret.
 * - `decapsulate(cipherText, secretKey)`: the 32-byte shared secret. A ciphertext that does not
 *   re-encrypt to itself yields the implicit-rejection secret Hash_0(Hash_3(ρ) || ciphertext)
 *   instead of an error, as the KEM specifies.
 *
 * `random(n)` returns n cryptographically secure random bytes (injected: the core has no RNG).
 * Wrong lengths throw {@link UsageError}.
 *
 * @example
 * const { publicKey, secretKey } = sntrup761.keygen(randomBytes);
 * const { cipherText, sharedSecret } = sntrup761.encapsulate(publicKey, randomBytes);
 * sntrup761.decapsulate(cipherText, secretKey); // equals sharedSecret
 */
export const sntrup761 = {
  publicKeyLength: 1158 as const,
  secretKeyLength: 1763 as const,
  cipherTextLength: 1039 as const,
  sharedSecretLength: 32 as const,

  keygen(random: (n: number) => Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
    const g = new Int8Array(p);
    const ginv = new Int8Array(p);
    // Spec Core KeyGen: g uniform in Small, retried until invertible in R/3 (the retry is public).
    for (;;) {
      smallRandom(g, random);
      if (r3Recip(ginv, g) === 0) break;
    }
    const f = new Int8Array(p);
    shortRandom(f, random);
    const finv3 = new Int16Array(p);
    rqRecip3(finv3, f);
    // Spec Core KeyGen: h = g/(3f) in R/q.
    const h = new Int16Array(p);
    rqMultSmall(h, finv3, g);
    const publicKey = new Uint8Array(PUBLIC_KEY_BYTES);
    rqEncode(publicKey, h);
    const secretKey = new Uint8Array(SECRET_KEY_BYTES);
    smallEncode(secretKey, 0, f);
    smallEncode(secretKey, SMALL_BYTES, ginv);
    secretKey.set(publicKey, 2 * SMALL_BYTES);
    const rho = draw(random, SMALL_BYTES);
    secretKey.set(rho, 2 * SMALL_BYTES + PUBLIC_KEY_BYTES);
    rho.fill(0);
    secretKey.set(hashPrefix(4, publicKey), 2 * SMALL_BYTES + PUBLIC_KEY_BYTES + SMALL_BYTES);
    g.fill(0);
    ginv.fill(0);
    f.fill(0);
    finv3.fill(0);
    return { publicKey, secretKey };
  },

  encapsulate(publicKey: Uint8Array, random: (n: number) => Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
    checkLength('public key', publicKey, PUBLIC_KEY_BYTES);
    const cache = hashPrefix(4, publicKey);
    const r = new Int8Array(p);
    shortRandom(r, random);
    const cipherText = new Uint8Array(CIPHERTEXT_BYTES);
    const rEnc = new Uint8Array(SMALL_BYTES);
    hide(cipherText, rEnc, r, publicKey, cache);
    // Spec KEM: session key Hash_1(Hash_3(r_enc) || ciphertext).
    const sharedSecret = hashPrefix(1, hashPrefix(3, rEnc), cipherText);
    r.fill(0);
    rEnc.fill(0);
    return { cipherText, sharedSecret };
  },

  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
    checkLength('ciphertext', cipherText, CIPHERTEXT_BYTES);
    checkLength('secret key', secretKey, SECRET_KEY_BYTES);
    const pkAt = 2 * SMALL_BYTES;
    const rhoAt = pkAt + PUBLIC_KEY_BYTES;
    const cacheAt = rhoAt + SMALL_BYTES;
    const f = new Int8Array(p);
    const ginv = new Int8Array(p);
    smallDecode(f, secretKey, 0);
    smallDecode(ginv, secretKey, SMALL_BYTES);
    const c = new Int16Array(p);
    roundedDecode(c, cipherText);
    const r = new Int8Array(p);
    decrypt(r, c, f, ginv);
    // Spec KEM Decap: re-encrypt and compare (hash confirmation included) without branching.
    const cnew = new Uint8Array(CIPHERTEXT_BYTES);
    const rEnc = new Uint8Array(SMALL_BYTES);
    hide(cnew, rEnc, r, secretKey.subarray(pkAt, rhoAt), secretKey.subarray(cacheAt, cacheAt + HASH_BYTES));
    let diff = 0;
    for (let i = 0; i < CIPHERTEXT_BYTES; i++) diff |= cipherText[i]! ^ cnew[i]!;
    // 0 if equal, -1 if not: bit 8 of diff - 1 is set exactly when diff = 0.
    const mask = (((diff - 1) >> 8) & 1) - 1;
    // Spec KEM implicit rejection: r_enc becomes ρ and the prefix Hash_1 becomes Hash_0.
    for (let i = 0; i < SMALL_BYTES; i++) rEnc[i] = rEnc[i]! ^ (mask & (rEnc[i]! ^ secretKey[rhoAt + i]!));
    const sharedSecret = hashPrefix(1 + mask, hashPrefix(3, rEnc), cipherText);
    f.fill(0);
    ginv.fill(0);
    r.fill(0);
    rEnc.fill(0);
    cnew.fill(0);
    return sharedSecret;
  },
};
