/**
 * aes128-ctr, aes192-ctr, aes256-ctr (RFC 4344 §4): AES in counter mode, the IV from the KDF is
 * the initial 128-bit big-endian counter, and the key stream runs on across packets. Used with a
 * separate MAC (./with-mac.ts).
 */
import type { CipherAlgorithm } from './cipher.js';
import { CipherWithMac } from './with-mac.js';
import { UsageError } from '../errors.js';

function ctrRow(bits: 128 | 192 | 256): CipherAlgorithm {
  const name = `aes${bits}-ctr`;
  return {
    name,
    keyLength: bits / 8,
    ivLength: 16,
    blockSize: 16,
    aead: false,
    legacy: false,
    create(key, iv, mac, crypto) {
      if (!mac) throw new UsageError(`${name} needs a MAC`);
      return new CipherWithMac(name, 16, crypto.aesCtr(key, iv), mac);
    },
  };
}

/** The AES-CTR rows. */
export const aesCtrAlgorithms: readonly CipherAlgorithm[] = [ctrRow(128), ctrRow(192), ctrRow(256)];
