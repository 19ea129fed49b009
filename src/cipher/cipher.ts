/**
 * The per-direction packet protection interface (RFC 4253 §6, §6.3, §6.4) and the initial
 * "none" cipher used before the first NEWKEYS.
 *
 * A packet in a buffer is `uint32 packet_length || padding_length || payload || padding || mac`.
 * Ciphers work in place on that buffer, so the packet path allocates nothing per packet.
 * Reading is two-phase, like russh's OpeningKey: {@link PacketCipher.decryptLength} first (to know
 * how many bytes to wait for), then {@link PacketCipher.open}, which verifies before it decrypts.
 */
import { readUint32 } from '../protocol/wire.js';

export interface PacketCipher {
  /** Algorithm name as negotiated, e.g. "chacha20-poly1305@openssh.com". */
  readonly name: string;
  /** Padding multiple: packet_length + 4 (or + 0 when the length is excluded) rounds up to it; at least 8. */
  readonly blockSize: number;
  /** Bytes of MAC/tag that follow each packet. */
  readonly macLength: number;
  /**
   * True when padding is computed over `padding_length || payload || padding` only, excluding the
   * 4-byte length (chacha20-poly1305@openssh.com, AES-GCM); false for classic ciphers where the
   * length field counts (RFC 4253 §6).
   */
  readonly excludesLength: boolean;
  /**
   * Encrypt in place `buf[off, off + 4 + packetLength)` (length field included, plaintext on entry)
   * and write the tag to `buf[off + 4 + packetLength, + macLength)`.
   */
  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void;
  /** Phase 1: the packet_length from the 4 bytes at `buf[off]`, without modifying the buffer. */
  decryptLength(seq: number, buf: Uint8Array, off: number): number;
  /**
   * Phase 2: verify the tag at `buf[off + 4 + packetLength]` over the whole packet, throwing a
   * ProtocolError with code ERR_MAC on mismatch (nothing decrypted), then decrypt
   * `buf[off + 4, off + 4 + packetLength)` in place.
   */
  open(seq: number, buf: Uint8Array, off: number, packetLength: number): void;
  /** Wipe key material. */
  dispose(): void;
}

/** The "none" cipher and MAC in force until the first NEWKEYS (RFC 4253 §6.3, §6.4). */
export class NoneCipher implements PacketCipher {
  readonly name = 'none';
  readonly blockSize = 8;
  readonly macLength = 0;
  readonly excludesLength = false;
  seal(): void {}
  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    return readUint32(buf, off);
  }
  open(): void {}
  dispose(): void {}
}
