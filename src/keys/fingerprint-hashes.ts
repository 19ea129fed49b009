/**
 * The digests ssh_config(5) FingerprintHash may name, for the Node side (fingerprint.ts has the
 * formats and SHA-256, all the core carries): OpenSSH's manual says `md5` or `sha256`, and its
 * readconf.c takes any name digest.c knows (ssh_digest_alg_by_name, without case).
 */
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha384, sha512 } from '@noble/hashes/sha2.js';
import { SHA256_FINGERPRINT, type FingerprintHash } from './fingerprint.js';

/** The names FingerprintHash takes, as written in ssh_config (compared without case). */
export type FingerprintHashName = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASHES: Record<FingerprintHashName, FingerprintHash> = {
  md5: { name: 'MD5', digest: md5 },
  sha1: { name: 'SHA1', digest: sha1 },
  sha256: SHA256_FINGERPRINT,
  sha384: { name: 'SHA384', digest: sha384 },
  sha512: { name: 'SHA512', digest: sha512 },
};

/**
 * The digest named `name` (digest.c ssh_digest_alg_by_name: strcasecmp), or undefined.
 *
 * @example
 * ```ts
 * keyFingerprint(blob, fingerprintHashNamed('md5')); // "MD5:3b:a4:..."
 * ```
 */
export function fingerprintHashNamed(name: string): FingerprintHash | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(HASHES, key) ? HASHES[key as FingerprintHashName] : undefined;
}
