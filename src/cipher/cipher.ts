/**
 * The per-direction packet protection interface (RFC 4253 §6, §6.3, §6.4), the cipher registry
 * row, and the initial "none" cipher used before the first NEWKEYS.
 *
 * A packet in a buffer is `uint32 packet_length || padding_length || payload || padding || mac`.
 * Ciphers work in place on that buffer, so the packet path allocates nothing per packet.
 * Reading is two-phase, like russh's OpeningKey: {@link PacketCipher.decryptLength} first (to know
 * how many bytes to wait for), then {@link PacketCipher.open}, which verifies before it decrypts
 * wherever the construction allows (AEAD and encrypt-then-MAC; encrypt-and-MAC can only verify
 * the plaintext).
 */
import type { CryptoProvider } from '../crypto/provider.js';
import type { Mac } from '../mac/mac.js';
import { readUint32 } from '../protocol/wire.js';

export interface PacketCipher {
  /** Algorithm name as negotiated, e.g. "chacha20-poly1305@openssh.com" or "aes128-ctr+hmac-sha2-256". */
  readonly name: string;
  /** Padding multiple: packet_length + 4 (or + 0 when the length is excluded) rounds up to it; at least 8. */
  readonly blockSize: number;
  /** Bytes of MAC/tag that follow each packet. */
  readonly macLength: number;
  /**
   * True when padding is computed over `padding_length || payload || padding` only, excluding the
   * 4-byte length: the length is sent in the clear or separately keyed (AEAD ciphers and
   * encrypt-then-MAC; OpenSSH packet.c's `aadlen`). False for encrypt-and-MAC (RFC 4253 §6).
   */
  readonly excludesLength: boolean;
  /**
   * Bytes from the start of a packet that {@link decryptLength} needs: 4 when the length is in
   * the clear or separately keyed, the cipher block size for encrypt-and-MAC (the first block is
   * decrypted to learn the length, as OpenSSH's packet.c does).
   */
  readonly lengthBytes: number;
  /**
   * Encrypt in place `buf[off, off + 4 + packetLength)` (length field included, plaintext on entry)
   * and write the tag to `buf[off + 4 + packetLength, + macLength)`.
   */
  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void;
  /**
   * Optional, for a cipher that encrypts in memory of its own (chacha20-poly1305's WebAssembly
   * engine): that memory, for the caller to build the plaintext packet of `packetLength` in at
   * `at` (length field included) and then call {@link sealStaged}, with no other call to the
   * cipher between; undefined when this packet goes through {@link seal}. One copy less than
   * {@link seal}, which copies the packet in and the sealed packet out.
   */
  stage?(packetLength: number): Uint8Array | undefined;
  /** Where {@link stage}'s memory holds the packet. */
  readonly stageAt?: number;
  /** Seal the packet {@link stage}d; its ciphertext and tag go to `out[outOff, outOff + 4 + packetLength + macLength)`. */
  sealStaged?(seq: number, packetLength: number, out: Uint8Array, outOff: number): void;
  /**
   * Phase 1: the packet_length from the first {@link lengthBytes} bytes at `buf[off]`. A cipher
   * whose length is encrypted with the payload (encrypt-and-MAC) decrypts those bytes in place;
   * the others leave the buffer untouched.
   */
  decryptLength(seq: number, buf: Uint8Array, off: number): number;
  /**
   * True when {@link open} leaves `buf` untouched and returns the plaintext in a new buffer: the
   * runtime's primitives (node:crypto) write their output to new memory anyway, so decrypting
   * "in place" would only add a copy back. False: {@link open} decrypts in place.
   */
  readonly outOfPlace: boolean;
  /**
   * Phase 2: verify the tag at `buf[off + 4 + packetLength]`, throwing a ProtocolError with code
   * ERR_MAC on mismatch, and decrypt the rest of `buf[off + 4, off + 4 + packetLength)`: in place
   * (returns undefined), or, when {@link outOfPlace}, into a new buffer the caller owns, holding
   * that plaintext from index 0 (`padding_length || payload || padding`).
   */
  open(seq: number, buf: Uint8Array, off: number, packetLength: number): Uint8Array | undefined;
  /**
   * Optional, for an {@link outOfPlace} cipher whose small plaintexts go to a slab
   * (crypto/slab.ts): {@link open} into a carve of the current slab, returning the plaintext's
   * offset in `slabBytes()` instead of a view of it; -1 (nothing done) when this packet must go
   * through {@link open}. The caller reads the packet from the slab itself and makes only the
   * view it hands out (a typed array per received packet less: V8 does not inline their
   * construction).
   */
  openInSlab?(seq: number, buf: Uint8Array, off: number, packetLength: number): number;
  /**
   * True for a CBC cipher with an encrypt-and-MAC MAC (RFC 4253 §6.4): a packet that fails
   * (bad length, length not a block multiple, MAC mismatch) must not end the connection at once,
   * or the time of the failure tells the peer's attacker how many bytes the decrypted length asked
   * for (Albrecht, Paterson, Watson 2009, CVE-2008-5161). OpenSSH packet.c ssh_packet_start_discard
   * then reads on up to PACKET_MAX_SIZE bytes first; {@link PacketDecoder} does the same.
   */
  readonly discardOnError?: boolean;
  /**
   * With {@link discardOnError}: compute and drop the MAC of `uint32 seq || buf[0, n)`, so that
   * the MAC work done for a failed packet is the same whatever its length (OpenSSH packet.c
   * ssh_packet_stop_discard). The result is thrown away.
   */
  discardMac?(seq: number, buf: Uint8Array, n: number): void;
  /** Wipe key material. */
  dispose(): void;
}

/** A negotiable cipher (RFC 4253 §6.3): one registry row per name. */
export interface CipherAlgorithm {
  readonly name: string;
  /** Key bytes from the KDF (letters C and D, RFC 4253 §7.2). */
  readonly keyLength: number;
  /** IV bytes from the KDF (letters A and B). */
  readonly ivLength: number;
  /** The cipher's block size: padding multiple and the rekey limit (RFC 4344 §3.2). */
  readonly blockSize: number;
  /** AEAD: integrity built in, the negotiated MAC is not used (RFC 5647 §5.1, PROTOCOL.chacha20poly1305). */
  readonly aead: boolean;
  /** Off by default; enabled only with `+` (OpenSSH keeps the CBC modes available but not offered). */
  readonly legacy: boolean;
  /**
   * The protection of one direction; `mac` is undefined exactly when {@link aead} is true.
   * `sending` says which side of it this is (CBC encrypts or decrypts; the others do not care).
   */
  create(key: Uint8Array, iv: Uint8Array, mac: Mac | undefined, crypto: CryptoProvider, sending: boolean): PacketCipher;
}

/**
 * Bytes after which a key must be renewed, from the cipher's block size, as OpenSSH's packet.c
 * computes it: 2^(2·blocksize bits / 8) blocks for 16-byte blocks (RFC 4344 §3.2: AES, 64 GiB),
 * 2^30 bytes for smaller blocks (chacha20-poly1305: 1 GiB).
 */
export function rekeyLimitBytes(blockSize: number): number {
  return blockSize >= 16 ? 2 ** (2 * blockSize) * blockSize : 2 ** 30;
}

/** The "none" cipher and MAC in force until the first NEWKEYS (RFC 4253 §6.3, §6.4). */
export class NoneCipher implements PacketCipher {
  readonly name = 'none';
  readonly blockSize = 8;
  readonly macLength = 0;
  readonly excludesLength = false;
  readonly lengthBytes = 4;
  readonly outOfPlace = false;
  seal(): void {}
  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    return readUint32(buf, off);
  }
  open(): undefined {
    return undefined;
  }
  dispose(): void {}
}
