/**
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305), the transport's hot path.
 *
 * Where the crypto provider has an engine for it (WebAssembly, ../crypto/chacha20-poly1305-wasm.ts)
 * each packet is one call into the engine, except that a payload of at least the provider's
 * `nativeFrom` bytes is encrypted by the runtime's ChaCha20 (OpenSSL) and only authenticated by
 * the engine. Otherwise ChaCha20 is the specialised original-variant implementation in
 * ../crypto/chacha20.ts (or the runtime's, for the payload) and Poly1305 the allocation-free one
 * in ../crypto/poly1305.ts. This file is only the SSH construction. Cross-checked against noble,
 * OpenSSL and the RFC 8439 vectors in test/chacha20.test.ts, test/cipher.test.ts and
 * test/chacha20-poly1305-wasm.test.ts.
 */
import type { CipherAlgorithm, PacketCipher } from './cipher.js';
import { ChaCha20, LITTLE_ENDIAN, ViewCache } from '../crypto/chacha20.js';
import { poly1305Into } from '../crypto/poly1305.js';
import type { ChaCha20Stream, ChaChaPolyEngine, CryptoProvider } from '../crypto/provider.js';
import { pureCryptoProvider } from '../crypto/pure.js';
import { carve, copyToSlab, SLAB_MAX_CARVE, slabBytes } from '../crypto/slab.js';
import { UsageError } from '../errors.js';
import { keysOutOfView } from './out-of-view.js';
import { macError, rangesEqual } from './with-mac.js';

/**
 * chacha20-poly1305@openssh.com for one direction of the transport.
 *
 * Packets whose address is a multiple of 4 are processed in place, reading and XORing 32-bit
 * words. A received packet can sit at any offset inside a socket chunk; such a packet is copied
 * once into aligned scratch, verified and decrypted there, and the plaintext copied back.
 *
 * @example
 * ```ts
 * const c = new ChaCha20Poly1305Cipher(key64); // from deriveKey(..., 'C', ..., 64)
 * c.seal(seq, buf, 0, packetLength);
 * ```
 */
export class ChaCha20Poly1305Cipher implements PacketCipher {
  readonly name = 'chacha20-poly1305@openssh.com';
  // PROTOCOL.chacha20poly1305: padding to 8 bytes, over everything but the length field.
  readonly blockSize = 8;
  readonly macLength = 16;
  readonly excludesLength = true;
  readonly lengthBytes = 4;
  /** With a runtime ChaCha20 that writes new memory (node:crypto), received payloads are decrypted out of place. */
  readonly outOfPlace: boolean;

  // PROTOCOL.chacha20poly1305: K_2 = first 32 bytes (payload + Poly1305 key), K_1 = last 32 (length).
  // The payload goes through the provider (a runtime ChaCha20 pays off on large packets); the
  // length and the Poly1305 key are one block each per packet, which our ChaCha20 computes for
  // less than any runtime call costs (node:crypto's own provider hands such short ranges back to
  // it too), so those two are always ours.
  private readonly main: ChaCha20Stream;
  private readonly header: ChaCha20 | undefined;
  private readonly polyKeyStream: ChaCha20 | undefined;
  // PROTOCOL.chacha20poly1305: nonce = sequence number as a big-endian uint64; the high half is
  // always 0 because seq is a uint32.
  private readonly nonce = new Uint8Array(8);
  /** The Poly1305 key; on a little-endian host written as words through {@link polyKeyWords}. */
  private readonly polyKeyWords = new Int32Array(8);
  private readonly polyKey = new Uint8Array(this.polyKeyWords.buffer);
  private readonly tag = new Uint8Array(16);
  /** `byteOffset` and the word view of the packet buffers seen (see ViewCache). */
  private readonly views = new ViewCache();
  // Aligned scratch for misaligned received packets; grows to the largest such packet seen.
  private scratch = new Uint8Array(0);
  private scratchWords = new Int32Array(0);

  /** The provider's engine (one call per packet), when it has one; then there is no header or polyKeyStream (the key stays in the engine). */
  private readonly engine: ChaChaPolyEngine | undefined;
  /** Where {@link stage}'s memory holds the packet (the engine's). */
  readonly stageAt: number;
  /** Payload bytes from which {@link main} (native) encrypts and the engine only authenticates. */
  private readonly nativeFrom: number;

  constructor(key: Uint8Array, crypto: CryptoProvider = pureCryptoProvider) {
    if (key.length !== 64) {
      throw new UsageError(`chacha20-poly1305@openssh.com needs a 64-byte key, got ${key.length}`);
    }
    this.main = crypto.chacha20(key.subarray(0, 32));
    this.engine = crypto.chachaPoly?.(key);
    if (this.engine === undefined) {
      this.polyKeyStream = new ChaCha20(key, 0);
      this.header = new ChaCha20(key, 32);
    }
    this.nativeFrom = this.main.nativeFrom ?? Infinity;
    this.stageAt = this.engine?.stageAt ?? 0;
    // The engine decrypts into its own memory, so its plaintext is copied out to fresh memory anyway.
    this.outOfPlace = this.engine !== undefined || this.main.xorCopy !== undefined;
  }

  private setNonce(seq: number): void {
    const n = this.nonce;
    n[4] = seq >>> 24;
    n[5] = seq >>> 16;
    n[6] = seq >>> 8;
    n[7] = seq;
  }

  // PROTOCOL.chacha20poly1305: the Poly1305 key is K_2's keystream block 0, first 32 bytes.
  private makePolyKey(): void {
    // Words on a little-endian host, where the key's bytes are then the keystream's.
    if (LITTLE_ENDIAN) this.polyKeyStream!.keystreamWords(this.nonce, 0, this.polyKeyWords, 8);
    else this.polyKeyStream!.keystream(this.nonce, 0, this.polyKey, 0, 32);
  }

  /**
   * An Int32Array over `buf`'s memory, for word access to `buf[off, end)` (see WordViews), when
   * `buf[off]` is 4-byte aligned on a little-endian host; else undefined. `byteOffset` and
   * `buffer` are looked up through a ViewCache (the encoder seals packet after packet into one
   * output chunk; a socket read holds several packets).
   */
  private wordsFor(buf: Uint8Array, off: number, end: number): Int32Array | undefined {
    if (!LITTLE_ENDIAN || ((this.views.offsetOf(buf) + off) & 3) !== 0) return undefined;
    return this.views.wordsOf(buf, end);
  }

  /** K_1's keystream block 0 for the current nonce, bytes 0–3 as a little-endian word: the length's (see below). */
  private lengthKeystream(): number {
    return this.header!.keystreamWord0(this.nonce, 0);
  }

  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void {
    const engine = this.engine;
    if (engine !== undefined && packetLength < this.nativeFrom) return engine.seal(seq, buf, off, packetLength);
    this.setNonce(seq);
    const end = off + 4 + packetLength;
    // PROTOCOL.chacha20poly1305: length under K_1 at block counter 0 (XORed here from the
    // keystream: xor() would look up the alignment of a 4-byte range it does not need).
    const ks = engine !== undefined ? engine.lengthKeystream(seq) : this.lengthKeystream();
    buf[off] ^= ks;
    buf[off + 1] ^= ks >>> 8;
    buf[off + 2] ^= ks >>> 16;
    buf[off + 3] ^= ks >>> 24;
    // PROTOCOL.chacha20poly1305: payload under K_2 from block counter 1 (with an engine, a payload
    // this long by the runtime's ChaCha20, the tag by the engine).
    this.main.xor(this.nonce, 1, buf, off + 4, end);
    if (engine !== undefined) return engine.mac(seq, buf, off, 4 + packetLength);
    this.makePolyKey();
    // PROTOCOL.chacha20poly1305: the tag covers the encrypted length and payload, and follows them.
    const words = this.wordsFor(buf, off, end);
    poly1305Into(this.polyKey, 0, buf, off, end, buf, end, words, words === undefined ? undefined : this.views.offsetOf(buf));
  }

  /** The engine's memory for a packet it seals alone (see PacketCipher.stage); else undefined. */
  stage(packetLength: number): Uint8Array | undefined {
    const engine = this.engine;
    return engine !== undefined && packetLength < this.nativeFrom ? engine.stage(packetLength) : undefined;
  }

  sealStaged(seq: number, packetLength: number, out: Uint8Array, outOff: number): void {
    this.engine!.sealStaged(seq, packetLength, out, outOff);
  }

  decryptLength(seq: number, buf: Uint8Array, off: number): number {
    let ks: number;
    if (this.engine !== undefined) ks = this.engine.lengthKeystream(seq);
    else {
      this.setNonce(seq);
      ks = this.lengthKeystream();
    }
    // PROTOCOL.chacha20poly1305: length under K_1 at block counter 0; RFC 4253 §6: uint32, big-endian.
    return (((buf[off]! ^ (ks & 0xff)) << 24) | ((buf[off + 1]! ^ ((ks >>> 8) & 0xff)) << 16) | ((buf[off + 2]! ^ ((ks >>> 16) & 0xff)) << 8) | (buf[off + 3]! ^ (ks >>> 24))) >>> 0;
  }

  /**
   * {@link open} for a packet the engine opens whole (see there), its plaintext copied into a
   * slab carve: the carve's offset in `slabBytes()`; -1 for any other packet (nothing done).
   */
  openInSlab(seq: number, buf: Uint8Array, off: number, packetLength: number): number {
    const engine = this.engine;
    if (engine === undefined || packetLength > SLAB_MAX_CARVE || (packetLength >= this.nativeFrom && this.main.xorCopy !== undefined)) return -1;
    if (!engine.open(seq, buf, off, packetLength)) throw macError(seq, true);
    const at = carve(packetLength);
    slabBytes().set(engine.plaintext(packetLength), at);
    return at;
  }

  open(seq: number, buf: Uint8Array, off: number, packetLength: number): Uint8Array | undefined {
    const engine = this.engine;
    if (engine !== undefined) {
      // PROTOCOL.chacha20poly1305: verify (in constant time, in the engine) before decrypting.
      if (packetLength < this.nativeFrom || this.main.xorCopy === undefined) {
        if (!engine.open(seq, buf, off, packetLength)) throw macError(seq, true);
        const plain = engine.plaintext(packetLength);
        return copyToSlab(plain, 0, plain.length);
      }
      if (!engine.verify(seq, buf, off, 4 + packetLength)) throw macError(seq, true);
      this.setNonce(seq);
      return this.main.xorCopy(this.nonce, 1, buf, off + 4, off + 4 + packetLength);
    }
    this.setNonce(seq);
    this.makePolyKey();
    const end = off + 4 + packetLength;
    const words = this.wordsFor(buf, off, end);
    if (words !== undefined) {
      poly1305Into(this.polyKey, 0, buf, off, end, this.tag, 0, words, this.views.offsetOf(buf));
      this.verify(seq, buf, end);
      // PROTOCOL.chacha20poly1305: payload under K_2 from block counter 1.
      if (this.main.xorCopy) return this.main.xorCopy(this.nonce, 1, buf, off + 4, end);
      this.main.xor(this.nonce, 1, buf, off + 4, end);
      return undefined;
    }
    const n = 4 + packetLength;
    if (this.scratch.length < n) {
      this.scratch = new Uint8Array(n);
      this.scratchWords = new Int32Array(this.scratch.buffer);
    }
    const s = this.scratch;
    s.set(buf.subarray(off, end));
    poly1305Into(this.polyKey, 0, s, 0, n, this.tag, 0, this.scratchWords);
    this.verify(seq, buf, end);
    if (this.main.xorCopy) return this.main.xorCopy(this.nonce, 1, s, 4, n);
    this.main.xor(this.nonce, 1, s, 4, n);
    buf.set(s.subarray(4, n), off + 4);
    return undefined;
  }

  // PROTOCOL.chacha20poly1305: verify (in constant time) before decrypting anything.
  private verify(seq: number, buf: Uint8Array, at: number): void {
    if (!rangesEqual(this.tag, 0, buf, at, 16)) throw macError(seq, true);
  }

  dispose(): void {
    this.engine?.dispose();
    this.main.dispose();
    this.polyKeyStream?.dispose();
    this.header?.dispose();
    this.polyKey.fill(0);
    this.tag.fill(0);
    this.scratch.fill(0);
    this.views.clear();
  }
}
keysOutOfView(ChaCha20Poly1305Cipher);

/** The registry row (PROTOCOL.chacha20poly1305: 64 bytes of key, K_2 || K_1, no IV). */
export const chacha20Poly1305Algorithm: CipherAlgorithm = {
  name: 'chacha20-poly1305@openssh.com',
  keyLength: 64,
  ivLength: 0,
  blockSize: 8,
  aead: true,
  legacy: false,
  create: (key, _iv, _mac, crypto) => new ChaCha20Poly1305Cipher(key, crypto),
};
