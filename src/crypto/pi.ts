/**
 * The binary digits of π, for the constants that are defined by them: Blowfish's initial state
 * (bcrypt-pbkdf.ts) and the Oakley/MODP primes (../kex/modp-groups.ts). Computing them costs a few
 * milliseconds once, and saves carrying kilobytes of hexadecimal digits in every bundle.
 */

/**
 * ⌊2^bits · π⌋ (a BigInt of bits + 2 bits), from Machin's formula π = 16·atan(1/5) − 4·atan(1/239)
 * in fixed point with 32 guard bits: each of the series' terms (about bits / 3.5 in all) is
 * truncated by less than one unit of the last guard bit, so the error stays far below 2^32.
 * About 3 ms for 8 062 bits, 25 ms for Blowfish's 33 344.
 */
export function piBits(bits: number): bigint {
  const guard = 32n;
  const one = 1n << (BigInt(bits) + guard);
  // atan(1/x) = Σ (−1)^k / ((2k+1)·x^(2k+1)).
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    const x2 = x * x;
    for (let term = one / x, n = 1n, sign = 1n; term !== 0n; term /= x2, n += 2n, sign = -sign) sum += (sign * term) / n;
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> guard;
}
