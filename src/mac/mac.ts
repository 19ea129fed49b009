/**
 * The MAC interface (RFC 4253 §6.4) and its two placements: encrypt-and-MAC, where the MAC covers
 * `uint32 sequence_number || unencrypted packet` (RFC 4253 §6.4), and encrypt-then-MAC
 * (`-etm@openssh.com`, OpenSSH PROTOCOL §1.5), where the length is sent in the clear and the MAC
 * covers `uint32 sequence_number || packet_length || ciphertext`. AEAD ciphers ignore the MAC.
 */
import type { CryptoProvider } from '../crypto/provider.js';

/** A keyed MAC for one direction. */
export interface Mac {
  /** The negotiated name, e.g. "hmac-sha2-256-etm@openssh.com". */
  readonly name: string;
  /** Encrypt-then-MAC (OpenSSH PROTOCOL §1.5) rather than encrypt-and-MAC (RFC 4253 §6.4). */
  readonly etm: boolean;
  /** Bytes of MAC appended to each packet. */
  readonly length: number;
  /** The MAC of `uint32 seq || buf[start, end)` into `out[outOff, outOff + length)`. */
  compute(seq: number, buf: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void;
  /** Wipe the key. */
  dispose(): void;
}

/** A negotiable MAC (one registry row per name). */
export interface MacAlgorithm {
  readonly name: string;
  /** Integrity key length from the KDF (letters E and F, RFC 4253 §7.2). */
  readonly keyLength: number;
  /** Bytes on the wire per packet. */
  readonly length: number;
  /** Encrypt-then-MAC (OpenSSH PROTOCOL §1.5). */
  readonly etm: boolean;
  create(key: Uint8Array, crypto: CryptoProvider): Mac;
}

/** The sequence number as the 4 bytes every SSH MAC starts with (RFC 4253 §6.4), into `scratch`. */
export function seqBytes(seq: number, scratch: Uint8Array): Uint8Array {
  scratch[0] = seq >>> 24;
  scratch[1] = seq >>> 16;
  scratch[2] = seq >>> 8;
  scratch[3] = seq;
  return scratch;
}
