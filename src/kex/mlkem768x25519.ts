/**
 * mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex §2; OpenSSH 9.9+, OpenSSH 10's
 * default): ML-KEM-768 (FIPS 203) from @noble/post-quantum beside X25519, K = SHA-256(K_mlkem ||
 * K_x25519) as a string, SHA-256 exchange hash. Client sends 1184 + 32 bytes, server answers
 * 1088 + 32 (./kem-hybrid.ts).
 */
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import type { KexMethod } from './kex.js';
import { kexgenMethod } from './kexgen.js';
import { kemX25519Agreement, type Kem } from './kem-hybrid.js';

/** The method's name in KEXINIT. */
export const KEX_MLKEM768X25519 = 'mlkem768x25519-sha256';

/** FIPS 203 §8 Table 3, ML-KEM-768: encapsulation key 1184, ciphertext 1088, shared secret 32 bytes. */
export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;

/** Runs `fn` on secret random bytes, then wipes them. */
function withWiped<T>(secret: Uint8Array, fn: (secret: Uint8Array) => T): T {
  try {
    return fn(secret);
  } finally {
    secret.fill(0);
  }
}

/**
 * ML-KEM-768 as a {@link Kem}: key generation from a 64-byte seed d || z (FIPS 203 §7.1
 * ML-KEM.KeyGen), encapsulation from a 32-byte message m (§7.2, which also runs the
 * encapsulation-key modulus check and throws on a bad key). Decapsulation rejects implicitly
 * (§7.3): a corrupted ciphertext yields an unrelated secret, so H and the host key signature
 * disagree and the exchange fails there.
 */
export const mlkem768: Kem = {
  publicKeyLength: MLKEM768_PUBLIC_KEY_LENGTH,
  cipherTextLength: MLKEM768_CIPHERTEXT_LENGTH,
  keygen: (random) => withWiped(random(64), (seed) => ml_kem768.keygen(seed)),
  encapsulate: (publicKey, random) => withWiped(random(32), (m) => ml_kem768.encapsulate(publicKey, m)),
  decapsulate: (cipherText, secretKey) => ml_kem768.decapsulate(cipherText, secretKey),
};

/** The registry row. */
export const mlkem768x25519Method: KexMethod = kexgenMethod({
  name: KEX_MLKEM768X25519,
  hash: 'sha256',
  postQuantum: true,
  agreement: kemX25519Agreement(KEX_MLKEM768X25519, mlkem768, 'sha256'),
});
