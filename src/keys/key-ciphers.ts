/**
 * Ciphers that protect private key files: the names OpenSSH accepts in an openssh-key-v1
 * "ciphername" (OpenSSH cipher.c; `ssh-keygen -Z`), and the AES-CBC decryption with PKCS#7
 * padding that the PEM and PKCS#8 formats use. Decryption only: this library reads key files,
 * it does not write them. AES comes from @noble/ciphers; ChaCha20 and Poly1305 are the transport's
 * own (../crypto/chacha20.ts, ../crypto/poly1305.ts), so a bundle carries one copy of each.
 */
import { cbc, ctr, gcm } from '@noble/ciphers/aes.js';
import { ChaCha20 } from '../crypto/chacha20.js';
import { poly1305Into } from '../crypto/poly1305.js';
import { constantTimeEqual } from '../protocol/wire.js';

/** One openssh-key-v1 cipher: sizes (bytes) as in OpenSSH's cipher table, and its decryption. */
export interface KeyFileCipher {
  readonly name: string;
  readonly keyLength: number;
  readonly ivLength: number;
  /** The private section's length must be a multiple of this (PROTOCOL.key §3 padding). */
  readonly blockSize: number;
  /** Bytes of authentication tag after the encrypted section (AEAD ciphers), else 0. */
  readonly tagLength: number;
  /** The plaintext, or undefined when the tag does not verify (a wrong passphrase). */
  decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | undefined;
}

function aesCtr(bits: number): KeyFileCipher {
  // RFC 4344 §4: the IV is the initial 128-bit big-endian counter.
  return {
    name: `aes${bits}-ctr`,
    keyLength: bits / 8,
    ivLength: 16,
    blockSize: 16,
    tagLength: 0,
    decrypt: (key, iv, ciphertext) => ctr(key, iv).decrypt(ciphertext),
  };
}

function aesCbc(bits: number): KeyFileCipher {
  // RFC 4253 §6.3: aes*-cbc; the key file section is block-aligned, so no padding layer.
  return {
    name: `aes${bits}-cbc`,
    keyLength: bits / 8,
    ivLength: 16,
    blockSize: 16,
    tagLength: 0,
    decrypt: (key, iv, ciphertext) => cbc(key, iv, { disablePadding: true }).decrypt(ciphertext),
  };
}

function aesGcm(bits: number): KeyFileCipher {
  // OpenSSH PROTOCOL §1.6 / RFC 5647: 12-byte nonce (the first invocation uses the IV as is),
  // 16-byte tag; a key file has no additional authenticated data.
  return {
    name: `aes${bits}-gcm@openssh.com`,
    keyLength: bits / 8,
    ivLength: 12,
    blockSize: 16,
    tagLength: 16,
    decrypt(key, iv, ciphertext, tag) {
      const sealed = new Uint8Array(ciphertext.length + tag.length);
      sealed.set(ciphertext);
      sealed.set(tag, ciphertext.length);
      try {
        return gcm(key, iv).decrypt(sealed);
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * chacha20-poly1305@openssh.com applied to a key file (OpenSSH PROTOCOL.chacha20poly1305, with
 * sequence number 0 and no length field): 64 key bytes of which only the first 32 (K_2, the
 * "main" key) are used; Poly1305 key = K_2 keystream block 0, payload from block 1, tag over the
 * ciphertext.
 */
const chacha20Poly1305: KeyFileCipher = {
  name: 'chacha20-poly1305@openssh.com',
  keyLength: 64,
  ivLength: 0,
  blockSize: 8,
  tagLength: 16,
  decrypt(key, _iv, ciphertext, tag) {
    const k2 = new ChaCha20(key, 0);
    const nonce = new Uint8Array(8);
    const polyKey = new Uint8Array(32);
    const mac = new Uint8Array(16);
    k2.keystream(nonce, 0, polyKey, 0, 32);
    poly1305Into(polyKey, 0, ciphertext, 0, ciphertext.length, mac, 0);
    polyKey.fill(0);
    // PROTOCOL.chacha20poly1305: verify the tag before decrypting anything.
    let plain: Uint8Array | undefined;
    if (constantTimeEqual(mac, tag)) {
      plain = ciphertext.slice();
      k2.xor(nonce, 1, plain, 0, plain.length);
    }
    k2.dispose();
    return plain;
  },
};

const NONE: KeyFileCipher = {
  name: 'none',
  keyLength: 0,
  ivLength: 0,
  // PROTOCOL.key §3 / OpenSSH cipher.c: "none" pads to 8.
  blockSize: 8,
  tagLength: 0,
  decrypt: (_key, _iv, ciphertext) => ciphertext,
};

/** openssh-key-v1 ciphers by name ("3des-cbc" is in ./extra-key-decryption.ts, to keep DES out of web bundles). */
export const KEY_FILE_CIPHERS: ReadonlyMap<string, KeyFileCipher> = new Map(
  [
    NONE,
    aesCtr(128),
    aesCtr(192),
    aesCtr(256),
    aesCbc(128),
    aesCbc(192),
    aesCbc(256),
    aesGcm(128),
    aesGcm(256),
    chacha20Poly1305,
  ].map((c) => [c.name, c]),
);

/**
 * AES-CBC decryption with PKCS#7 padding (RFC 8018 §6.1.1 step 4, RFC 1423 §1.1), as encrypted
 * PEM and PKCS#8 files use it. Returns the unpadded plaintext, or undefined when the padding is
 * invalid, which with these formats almost always means a wrong passphrase.
 */
export function aesCbcPkcs7Decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return undefined;
  return pkcs7Unpad(cbc(key, iv, { disablePadding: true }).decrypt(ciphertext), 16);
}

/**
 * `plain` without its PKCS#7 padding (RFC 8018 §6.1.1: 1..blockSize bytes, each holding the
 * padding length), or undefined (and `plain` wiped) when the padding is invalid. No padding
 * oracle to fear here: the file is local and the passphrase the user's.
 */
export function pkcs7Unpad(plain: Uint8Array, blockSize: number): Uint8Array | undefined {
  const pad = plain[plain.length - 1] ?? 0;
  let bad = pad === 0 || pad > blockSize;
  for (let i = 1; i <= pad && !bad; i++) bad = plain[plain.length - i] !== pad;
  if (bad) {
    plain.fill(0);
    return undefined;
  }
  return plain.subarray(0, plain.length - pad);
}
