/**
 * ⌊2^bits · π⌋ (src/crypto/pi.ts, the Chudnovskys' series by binary splitting) against Machin's
 * formula computed here term by term, at the sizes the project uses and around them. The
 * constants built from it are checked against their published values elsewhere: Blowfish's
 * initial state through OpenBSD's bcrypt_pbkdf vectors (test/keyformats.test.ts), the MODP
 * primes against RFC 2409 / 3526 (test/kex-vectors.test.ts).
 */
import { expect, it } from 'vitest';
import { piBits } from '../src/crypto/pi.js';

/** Machin: π = 16·atan(1/5) − 4·atan(1/239), fixed point with 64 guard bits. */
function machin(bits: number): bigint {
  const guard = 64n;
  const one = 1n << (BigInt(bits) + guard);
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    for (let term = one / x, n = 1n, sign = 1n; term !== 0n; term /= x * x, n += 2n, sign = -sign) sum += (sign * term) / n;
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> guard;
}

it('equals Machin\'s formula at the sizes used (MODP primes, Blowfish\'s 1042 words) and at odd sizes', () => {
  expect(piBits(0)).toBe(3n);
  expect(piBits(32) >> 0n).toBe(0x3243f6a88n);
  for (const bits of [1, 2, 31, 47, 48, 53, 94, 100, 1000, 1918, 3070, 4094, 6142, 8190, 33344, 33345]) {
    expect(piBits(bits), `${bits} bits`).toBe(machin(bits));
  }
});
