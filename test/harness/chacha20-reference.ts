/**
 * Reference implementations the ChaCha20 tests compare against.
 */
import { createCipheriv } from 'node:crypto';

/**
 * The original ChaCha20 via OpenSSL: its 16-byte IV is the state's words 12-15, i.e. the 64-bit
 * little-endian block counter followed by the 8-byte nonce.
 */
export function openssl(key: Uint8Array, nonce8: Uint8Array, counter: bigint, data: Uint8Array): Uint8Array {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64LE(counter, 0);
  Buffer.from(nonce8).copy(iv, 8);
  return new Uint8Array(createCipheriv('chacha20', key, iv).update(data));
}
