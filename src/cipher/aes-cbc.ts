/**
 * aes128-cbc, aes192-cbc, aes256-cbc (RFC 4253 §6.3): AES in CBC mode with the chaining running
 * on across packets. Legacy: OpenSSH keeps them available but does not offer them (CBC with
 * encrypt-and-MAC is open to plaintext recovery, CVE-2008-5161), so they are enabled only with
 * `+`, e.g. `-c +aes128-cbc`.
 */
import type { CipherAlgorithm } from './cipher.js';
import { CipherWithMac } from './with-mac.js';
import { UsageError } from '../errors.js';

function cbcRow(bits: 128 | 192 | 256): CipherAlgorithm {
  const name = `aes${bits}-cbc`;
  return {
    name,
    keyLength: bits / 8,
    ivLength: 16,
    blockSize: 16,
    aead: false,
    legacy: true,
    create(key, iv, mac, crypto, sending) {
      if (!mac) throw new UsageError(`${name} needs a MAC`);
      return new CipherWithMac(name, 16, crypto.aesCbc(key, iv, sending), mac, true);
    },
  };
}

/** The AES-CBC rows. */
export const aesCbcAlgorithms: readonly CipherAlgorithm[] = [cbcRow(128), cbcRow(192), cbcRow(256)];
