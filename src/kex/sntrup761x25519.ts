/**
 * sntrup761x25519-sha512 and its older name sntrup761x25519-sha512@openssh.com
 * (draft-ietf-sshm-ntruprime-ssh; OpenSSH 8.5+, the default of OpenSSH 9.0 to 9.9): Streamlined NTRU
 * Prime sntrup761 beside X25519, K = SHA-512(K_sntrup || K_x25519) as a string, SHA-512 exchange
 * hash. Client sends 1158 + 32 bytes, server answers 1039 + 32 (./kem-hybrid.ts).
 *
 * The sntrup761 primitive is passed in (src/crypto/sntrup761.ts exports one whose shape is
 * {@link Kem}), so this file has no dependency on it:
 *
 * @example
 * ```ts
 * import { sntrup761 } from '../crypto/sntrup761.js';
 * const rows = sntrup761x25519Methods(sntrup761); // both names, for the registry
 * ```
 */
import { UsageError } from '../errors.js';
import type { KexMethod } from './kex.js';
import { kexgenMethod } from './kexgen.js';
import { kemX25519Agreement, type Kem } from './kem-hybrid.js';

/** draft-ietf-sshm-ntruprime-ssh §2: both names denote the same method; the @openssh.com one came first. */
export const KEX_SNTRUP761X25519 = ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'];

/** sntrup761 sizes (NTRU Prime round 3 parameters): public key 1158, ciphertext 1039 bytes. */
export const SNTRUP761_PUBLIC_KEY_LENGTH = 1158;
export const SNTRUP761_CIPHERTEXT_LENGTH = 1039;

/**
 * The two registry rows over an sntrup761 implementation. Throws a UsageError when `sntrup761`
 * does not have sntrup761's sizes (a wrong primitive must not reach the wire).
 */
export function sntrup761x25519Methods(sntrup761: Kem): KexMethod[] {
  if (
    sntrup761.publicKeyLength !== SNTRUP761_PUBLIC_KEY_LENGTH ||
    sntrup761.cipherTextLength !== SNTRUP761_CIPHERTEXT_LENGTH
  ) {
    throw new UsageError(
      `sntrup761: expected public key ${SNTRUP761_PUBLIC_KEY_LENGTH} and ciphertext ${SNTRUP761_CIPHERTEXT_LENGTH} bytes, ` +
        `got ${sntrup761.publicKeyLength} and ${sntrup761.cipherTextLength}`,
    );
  }
  return KEX_SNTRUP761X25519.map((name) =>
    kexgenMethod({ name, hash: 'sha512', postQuantum: true, agreement: kemX25519Agreement(name, sntrup761, 'sha512') }),
  );
}
