/**
 * The fixed finite-field groups SSH uses (generator 2 for all): the 1024-bit Oakley Group 2 of
 * RFC 2409 §6.2 (diffie-hellman-group1-sha1, RFC 4253 §8.1) and the MODP groups 14, 16 and 18 of
 * RFC 3526 §3, §5, §7 (RFC 4253 §8.2, RFC 8268). Each prime is computed, on first use, from the
 * formula the RFCs give for it (the binary digits of π, ../crypto/pi.ts, and the RFC's offset) instead of carried as
 * its hexadecimal value (3.5 KiB of digits that gzip cannot shrink, in every browser bundle);
 * test/kex-vectors.test.ts checks each against OpenSSL's copy (node:crypto getDiffieHellman).
 */
import { piBits } from '../crypto/pi.js';

/** A prime-order-subgroup DH group: safe prime p and generator g. */
export interface ModpGroup {
  /** The RFC's name for the group. */
  readonly name: string;
  /** Size of p in bits. */
  readonly bits: number;
  readonly p: bigint;
  readonly g: bigint;
}

/**
 * RFC 2409 §6.2, RFC 3526: "The prime is: 2^bits − 2^(bits−64) − 1 + 2^64 · { [2^(bits−130) pi] +
 * offset }", generator 2. p is computed when first read, then kept.
 */
function group(name: string, bits: number, offset: bigint): ModpGroup {
  let p: bigint | undefined;
  const n = BigInt(bits);
  return {
    name,
    bits,
    g: 2n,
    get p(): bigint {
      return (p ??= (1n << n) - (1n << (n - 64n)) - 1n + ((piBits(bits - 130) + offset) << 64n));
    },
  };
}

/** RFC 2409 §6.2: the Second Oakley Group, 1024 bits. */
export const OAKLEY_GROUP_2 = group('Oakley Group 2', 1024, 129093n);

/** RFC 3526 §3: 2048-bit MODP Group (id 14). */
export const MODP_GROUP_14 = group('MODP Group 14', 2048, 124476n);

/** RFC 3526 §5: 4096-bit MODP Group (id 16). */
export const MODP_GROUP_16 = group('MODP Group 16', 4096, 240904n);

/** RFC 3526 §7: 8192-bit MODP Group (id 18). */
export const MODP_GROUP_18 = group('MODP Group 18', 8192, 4743158n);
