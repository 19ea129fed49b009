/**
 * The binary digits of π, for the constants that are defined by them: Blowfish's initial state
 * (bcrypt-pbkdf.ts) and the Oakley/MODP primes (../kex/modp-groups.ts). Computing them costs a few
 * milliseconds once, and saves carrying kilobytes of hexadecimal digits in every bundle.
 */

/**
 * ⌊2^bits · π⌋ (a BigInt of bits + 2 bits), from the Chudnovskys' series (D. V. and G. V.
 * Chudnovsky, 1988)
 *
 *   1/π = 12 · Σ_k (−1)^k (6k)! (13591409 + 545140134·k) / ((3k)! (k!)^3 · 640320^(3k + 3/2)),
 *
 * summed exactly by binary splitting (Haible and Papanikolaou, "Fast multiprecision evaluation of
 * series of rational numbers", 1998) and divided out in fixed point with 32 guard bits. Each term
 * adds log2(640320³ / 1728) ≈ 47.11 bits, so bits / 47 terms leave an error below 2^−(bits + 32);
 * the square root and the division truncate by less than one unit of the last guard bit each.
 * About 0.5–3 ms for the MODP primes (1 918–8 190 bits), 3–5 ms for Blowfish's 33 344 (Machin's
 * formula, π = 16·atan(1/5) − 4·atan(1/239), term by term, took 45–90 ms for those).
 */
export function piBits(bits: number): bigint {
  const guard = 32;
  const scale = bits + guard;
  const terms = Math.ceil(scale / 47.11) + 1;
  const { q, t } = chudnovsky(0, terms);
  // π = 426880·√10005 · Q(0, N) / T(0, N); √10005 with `scale` fraction bits (10005 has 14 bits).
  const sqrt10005 = isqrt(10005n << BigInt(2 * scale), 2 * scale + 14);
  return ((426880n * sqrt10005 * q) / t) >> BigInt(guard);
}

// 640320³ / 24: the series' Q(k) = k³ · 640320³ / 24 (the 1728 = 12³ split as 24 · 72 into P's factors).
const C3_OVER_24 = 10939058860032000n;

/**
 * P, Q and T of terms a..b − 1 (binary splitting): for one term k, P(k) = (6k − 5)(2k − 1)(6k − 1),
 * Q(k) = k³ · 640320³ / 24, T(k) = (−1)^k · P(k) · (13591409 + 545140134·k), and P = Q = 1,
 * T = 13591409 for k = 0; two halves combine as P = P₁P₂, Q = Q₁Q₂, T = T₁Q₂ + P₁T₂.
 */
function chudnovsky(a: number, b: number): { p: bigint; q: bigint; t: bigint } {
  if (b - a === 1) {
    if (a === 0) return { p: 1n, q: 1n, t: 13591409n };
    const k = BigInt(a);
    const p = (6n * k - 5n) * (2n * k - 1n) * (6n * k - 1n);
    const t = p * (13591409n + 545140134n * k);
    return { p, q: k * k * k * C3_OVER_24, t: a % 2 === 1 ? -t : t };
  }
  const m = (a + b) >>> 1;
  const left = chudnovsky(a, m);
  const right = chudnovsky(m, b);
  return { p: left.p * right.p, q: left.q * right.q, t: left.t * right.q + left.p * right.t };
}

/**
 * ⌊√n⌋ for n of exactly `length` bits: the root of n's top half, shifted, then one Newton step
 * (which about doubles the correct bits), then corrected by at most a unit or two.
 */
function isqrt(n: bigint, length: number): bigint {
  let x: bigint;
  if (length <= 52) {
    x = BigInt(Math.floor(Math.sqrt(Number(n))));
  } else {
    const s = Math.floor(length / 4);
    x = isqrt(n >> BigInt(2 * s), length - 2 * s) << BigInt(s);
    x = (x + n / x) >> 1n;
  }
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}
