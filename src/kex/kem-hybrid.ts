/**
 * The post-quantum/traditional hybrids: a key-encapsulation mechanism run side by side with
 * X25519 in the one-round exchange of ./kexgen.ts (draft-ietf-sshm-mlkem-hybrid-kex §2 for
 * mlkem768x25519-sha256; draft-ietf-sshm-ntruprime-ssh for sntrup761x25519-sha512; the same
 * shape in OpenSSH's kexmlkem768x25519.c and kexsntrup761x25519.c):
 *
 * - the client sends C_INIT = KEM public key || X25519 public key (32);
 * - the server encapsulates to the KEM key and answers S_REPLY = ciphertext || X25519 public key;
 * - K = HASH(K_kem || K_x25519), both raw, encoded as a **string** (not an mpint) in H and the KDF.
 *
 * The KEM arrives as an object ({@link Kem}), so a method file is one line of parameters.
 */
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { curve25519GenerateKeyPair, curve25519SharedSecret } from './curve25519.js';
import { encodeSharedString, type Random } from './kex.js';
import type { KeyAgreement } from './kexgen.js';

/** X25519 public keys are 32 bytes (RFC 7748 §6.1). */
const X25519_LENGTH = 32;

/**
 * A key-encapsulation mechanism as the hybrids use it. Randomness is injected (the core has no
 * RNG of its own); every length is in bytes. `decapsulate` may throw on malformed input;
 * `encapsulate` throws on a public key it refuses (e.g. FIPS 203 §7.2's modulus check).
 */
export interface Kem {
  readonly publicKeyLength: number;
  readonly cipherTextLength: number;
  keygen(random: Random): { publicKey: Uint8Array; secretKey: Uint8Array };
  encapsulate(publicKey: Uint8Array, random: Random): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, { reason: DisconnectReason.KEY_EXCHANGE_FAILED, cause });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** K = string HASH(K_kem || K_x25519); wipes both inputs. */
function combine(crypto: CryptoProvider, hash: HashName, kemSecret: Uint8Array, x25519Secret: Uint8Array): Uint8Array {
  const digest = crypto.hash(hash, kemSecret, x25519Secret);
  kemSecret.fill(0);
  x25519Secret.fill(0);
  const k = encodeSharedString(digest);
  digest.fill(0);
  return k;
}

/**
 * A {@link KeyAgreement} for `kem` + X25519 with K hashed by `hash`. `label` (the method's name)
 * goes into error messages. Malformed server values (wrong length, a low-order X25519 key, a
 * ciphertext the KEM refuses) are a ProtocolError with reason KEY_EXCHANGE_FAILED.
 */
export function kemX25519Agreement(label: string, kem: Kem, hash: HashName): KeyAgreement {
  const clientLength = kem.publicKeyLength + X25519_LENGTH;
  const serverLength = kem.cipherTextLength + X25519_LENGTH;
  return {
    // The KEM and X25519 keys have fixed sizes: nothing depends on the negotiated ciphers.
    negotiationFree: true,
    client(random, crypto) {
      const kemKeys = kem.keygen(random);
      const x = curve25519GenerateKeyPair(random(X25519_LENGTH), crypto);
      const dispose = () => {
        kemKeys.secretKey.fill(0);
        x.privateKey.fill(0);
      };
      return {
        // C_INIT: the KEM public key first, then the X25519 key.
        publicValue: concat(kemKeys.publicKey, x.publicKey),
        finish(serverValue) {
          if (serverValue.length !== serverLength) {
            throw kexFailed(`${label}: server reply is ${serverValue.length} bytes, expected ${serverLength}`);
          }
          // S_REPLY: the KEM ciphertext first, then the X25519 key.
          const cipherText = serverValue.subarray(0, kem.cipherTextLength);
          const x25519Secret = curve25519SharedSecret(x.privateKey, serverValue.subarray(kem.cipherTextLength), crypto);
          let kemSecret: Uint8Array;
          try {
            kemSecret = kem.decapsulate(cipherText, kemKeys.secretKey);
          } catch (cause) {
            x25519Secret.fill(0);
            throw kexFailed(`${label}: the server's ciphertext was refused`, cause);
          }
          return combine(crypto, hash, kemSecret, x25519Secret);
        },
        dispose,
      };
    },
    server(clientValue, random, crypto) {
      if (clientValue.length !== clientLength) {
        throw kexFailed(`${label}: client init is ${clientValue.length} bytes, expected ${clientLength}`);
      }
      let encapsulated: { cipherText: Uint8Array; sharedSecret: Uint8Array };
      try {
        encapsulated = kem.encapsulate(clientValue.subarray(0, kem.publicKeyLength), random);
      } catch (cause) {
        throw kexFailed(`${label}: the client's public key was refused`, cause);
      }
      const x = curve25519GenerateKeyPair(random(X25519_LENGTH), crypto);
      const x25519Secret = curve25519SharedSecret(x.privateKey, clientValue.subarray(kem.publicKeyLength), crypto);
      x.privateKey.fill(0);
      return {
        publicValue: concat(encapsulated.cipherText, x.publicKey),
        sharedSecret: combine(crypto, hash, encapsulated.sharedSecret, x25519Secret),
      };
    },
  };
}
