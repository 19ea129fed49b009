/**
 * Unsigned big integers over native BigInt, for finite-field Diffie-Hellman (RFC 4253 §8,
 * RFC 4419) and RSA (RFC 8017). One copy for the whole library.
 *
 * BigInt arithmetic is not constant time: these functions suit public-key operations whose
 * timing OpenSSH's own BIGNUM code does not hide either, not secret-dependent hot paths.
 */

/** An unsigned big-endian byte string as a BigInt (empty → 0n). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return hex.length === 0 ? 0n : BigInt('0x' + hex);
}

/**
 * `n` (≥ 0) as unsigned big-endian bytes: the minimal length, or left-padded with zeros to
 * `length` bytes. Throws a RangeError when `n` is negative or does not fit in `length`.
 */
export function bigIntToBytes(n: bigint, length?: number): Uint8Array {
  if (n < 0n) throw new RangeError('bigIntToBytes: negative value');
  let hex = n === 0n ? '' : n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const size = hex.length / 2;
  if (length !== undefined && size > length) throw new RangeError(`bigIntToBytes: value needs ${size} bytes, more than ${length}`);
  const out = new Uint8Array(length ?? size);
  const off = out.length - size;
  for (let i = 0; i < size; i++) out[off + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Number of significant bits of `n` ≥ 0 (OpenSSL's BN_num_bits): 0n → 0. */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Window width of {@link modPow}: 16 precomputed powers. */
const WINDOW = 4;

/**
 * base^exp mod m for exp ≥ 0 and m > 1, left to right over fixed 4-bit windows (HAC
 * Algorithm 14.82): about a quarter fewer multiplications than square-and-multiply.
 */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m <= 1n) throw new RangeError('modPow: modulus must be greater than 1');
  if (exp < 0n) throw new RangeError('modPow: negative exponent');
  const b = ((base % m) + m) % m;
  const table: bigint[] = [1n, b];
  for (let i = 2; i < 1 << WINDOW; i++) table.push((table[i - 1]! * b) % m);
  const bits = exp.toString(2);
  const digits = bits.padStart(Math.ceil(bits.length / WINDOW) * WINDOW, '0');
  let r = 1n;
  for (let i = 0; i < digits.length; i += WINDOW) {
    for (let k = 0; k < WINDOW; k++) r = (r * r) % m;
    const d = parseInt(digits.slice(i, i + WINDOW), 2);
    if (d !== 0) r = (r * table[d]!) % m;
  }
  return r;
}
