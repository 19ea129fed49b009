/**
 * GHASH and AES-GCM built on an AES block function (NIST SP 800-38D §6.4, §7), for short
 * messages: the runtime's node:crypto seals each GCM packet with a new OpenSSL context (the
 * cipher looked up, the key expanded: ~4 µs warm, ~10 µs on a cold process), which dominates the
 * cost of a small SSH packet. Here the key is expanded once (a long-lived AES-ECB context makes
 * the counter blocks' keystream) and GHASH runs in TypeScript with an 8-bit table per key
 * (Shoup's method, as in the GCM specification by McGrew & Viega, §4.1), so a 100-byte packet
 * costs one ECB call and a few table lookups per byte. Large packets stay with OpenSSL's GCM,
 * whose carry-less multiply beats any table. Cross-checked against node:crypto, @noble/ciphers
 * and the GCM specification's test cases in test/provider.test.ts.
 */

/**
 * Encrypts whole 16-byte blocks of `blocks` with the GCM key (AES, ECB: each block on its own)
 * and returns the result (same length, a new array or a view the caller may keep until the next call).
 */
export type AesBlocks = (blocks: Uint8Array) => Uint8Array;

/** SP 800-38D §6.3: R = 11100001 || 0^120, the reduction of x^128 (bit 0 is the leftmost). */
const R = 0xe1000000;

/**
 * GHASH_H (SP 800-38D §6.4) with a 256-entry table of byte·H and a 256-entry reduction table,
 * elements held as four big-endian 32-bit words (word 0 holds bits 0..31, bit 0 the coefficient
 * of x^0).
 */
export class Ghash {
  /** M[b] = b·H for each byte b as the first byte of an element (4 words per entry). */
  private readonly m = new Uint32Array(256 * 4);
  /** The 8 bits shifted out of an element multiplied by x^8, reduced: XORed into word 0. */
  private static readonly reduce = Ghash.reductionTable();
  /** Y, the running hash. */
  private y0 = 0;
  private y1 = 0;
  private y2 = 0;
  private y3 = 0;

  /** @param h the hash subkey H = AES_K(0^128), 16 bytes. */
  constructor(h: Uint8Array) {
    const m = this.m;
    // The byte 0x80 is x^0, so M[0x80] = H; each lower bit is one more factor x.
    let a = readWord(h, 0);
    let b = readWord(h, 4);
    let c = readWord(h, 8);
    let d = readWord(h, 12);
    for (let bit = 0x80; bit > 0; bit >>>= 1) {
      m[bit * 4] = a;
      m[bit * 4 + 1] = b;
      m[bit * 4 + 2] = c;
      m[bit * 4 + 3] = d;
      // Multiply by x: shift towards higher degrees, reduce what leaves x^127.
      const carry = d & 1;
      d = (d >>> 1) | (c << 31);
      c = (c >>> 1) | (b << 31);
      b = (b >>> 1) | (a << 31);
      a = (a >>> 1) ^ (carry ? R : 0);
    }
    // Linearity: M[i ^ j] = M[i] ^ M[j].
    for (let i = 2; i < 256; i <<= 1) {
      for (let j = 1; j < i; j++) {
        for (let k = 0; k < 4; k++) m[(i + j) * 4 + k] = m[i * 4 + k]! ^ m[j * 4 + k]!;
      }
    }
  }

  private static reductionTable(): Uint32Array {
    // For the byte b leaving position 15, b·x^128 reduced lands in the first 16 bits.
    const t = new Uint32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      let a = 0;
      let b = 0;
      let c = 0;
      let d = byte;
      for (let i = 0; i < 8; i++) {
        const carry = d & 1;
        d = (d >>> 1) | (c << 31);
        c = (c >>> 1) | (b << 31);
        b = (b >>> 1) | (a << 31);
        a = (a >>> 1) ^ (carry ? R : 0);
      }
      t[byte] = a;
    }
    return t;
  }

  /** Start a new hash (Y_0 = 0). */
  reset(): void {
    this.y0 = this.y1 = this.y2 = this.y3 = 0;
  }

  /** Absorb `buf[start, end)`, zero-padded to a whole block (SP 800-38D §7.1 step 5: A and C each padded). */
  update(buf: Uint8Array, start: number, end: number): void {
    let i = start;
    for (; i + 16 <= end; i += 16) {
      this.block(readWord(buf, i), readWord(buf, i + 4), readWord(buf, i + 8), readWord(buf, i + 12));
    }
    if (i < end) {
      const last = new Uint8Array(16);
      last.set(buf.subarray(i, end));
      this.block(readWord(last, 0), readWord(last, 4), readWord(last, 8), readWord(last, 12));
    }
  }

  /** Absorb the length block `[len(A)]64 || [len(C)]64` (in bits) and write the hash to `out[at, at + 16)`. */
  finish(aadBytes: number, textBytes: number, out: Uint8Array, at: number): void {
    // Lengths of SSH packets fit in 32 bits of bytes; the high words carry the bits above 2^32.
    this.block(Math.floor(aadBytes / 0x20000000), (aadBytes * 8) >>> 0, Math.floor(textBytes / 0x20000000), (textBytes * 8) >>> 0);
    writeWord(out, at, this.y0);
    writeWord(out, at + 4, this.y1);
    writeWord(out, at + 8, this.y2);
    writeWord(out, at + 12, this.y3);
  }

  /** Y = (Y ^ X)·H, Horner's rule over the 16 bytes from the last (SP 800-38D §6.4, with the table). */
  private block(x0: number, x1: number, x2: number, x3: number): void {
    const m = this.m;
    const red = Ghash.reduce;
    const w0 = this.y0 ^ x0;
    const w1 = this.y1 ^ x1;
    const w2 = this.y2 ^ x2;
    const w3 = this.y3 ^ x3;
    let z0 = 0;
    let z1 = 0;
    let z2 = 0;
    let z3 = 0;
    for (let i = 15; i >= 0; i--) {
      const w = i < 4 ? w0 : i < 8 ? w1 : i < 12 ? w2 : w3;
      const byte = (w >>> ((3 - (i & 3)) * 8)) & 0xff;
      // Z·x^8: shift one byte towards higher degrees, the byte leaving x^127 reduced into word 0.
      const out = z3 & 0xff;
      z3 = (z3 >>> 8) | (z2 << 24);
      z2 = (z2 >>> 8) | (z1 << 24);
      z1 = (z1 >>> 8) | (z0 << 24);
      z0 = (z0 >>> 8) ^ red[out]!;
      const e = byte * 4;
      z0 ^= m[e]!;
      z1 ^= m[e + 1]!;
      z2 ^= m[e + 2]!;
      z3 ^= m[e + 3]!;
    }
    this.y0 = z0;
    this.y1 = z1;
    this.y2 = z2;
    this.y3 = z3;
  }

  /** Wipe the key-dependent table. */
  dispose(): void {
    this.m.fill(0);
    this.reset();
  }
}

/**
 * AES-GCM (SP 800-38D §7.1, §7.2) with 12-byte IVs and 16-byte tags from an AES block function
 * and GHASH, for short inputs; the same interface shape as the providers' AesGcm.
 *
 * SSH's IVs are predictable (RFC 5647 §7.1: the last 8 bytes count packets), so the keystream
 * of {@link BATCH} packets of up to {@link BATCH_BYTES} bytes is made by one call of the block
 * function and used while the IVs come in that order; anything else is computed on its own.
 */
export class BlockGcm {
  private readonly ghash: Ghash;
  /** Counter blocks for one block-function call; grown as needed. */
  private counters = new Uint8Array(BATCH * BATCH_STRIDE);
  /**
   * The batch's counter blocks as words: the block numbers (bytes 12..15 of each block) are set
   * once, only the IV words change per batch (three stores per block, native byte order).
   */
  private readonly batchCounters = new Uint32Array(BATCH * BATCH_STRIDE / 4);
  private readonly ivWords = new Uint32Array(3);
  private readonly ivBytes = new Uint8Array(this.ivWords.buffer);
  private readonly tag = new Uint8Array(16);
  /** Keystream of the batch: per packet E(J0) then the first blocks of text. */
  private batch: Uint8Array | null = null;
  /** Next unused packet of the batch, and the IV it was made for. */
  private batchNext = BATCH;
  private readonly batchIv = new Uint8Array(12);

  constructor(private readonly aes: AesBlocks) {
    const bytes = new Uint8Array(this.batchCounters.buffer);
    for (let p = 0; p < BATCH; p++) fillCounters(bytes, p * BATCH_STRIDE, new Uint8Array(12), BATCH_STRIDE / 16);
    // SP 800-38D §6.4: H = CIPH_K(0^128).
    const h = aes(new Uint8Array(16)).slice(0, 16);
    this.ghash = new Ghash(h);
    h.fill(0);
  }

  /** Encrypt `buf[start, end)` in place, `buf[aadStart, start)` as AAD, the tag to `buf[end, end + 16)`. */
  seal(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): void {
    const ks = this.keystream(iv, end - start);
    const at = this.ksAt;
    for (let i = start, k = at + 16; i < end; i++, k++) buf[i] ^= ks[k]!;
    this.computeTag(ks, at, buf, aadStart, start, end, buf, end);
  }

  /** Verify the tag at `buf[end, end + 16)`; only then decrypt in place. False: `buf` untouched. */
  open(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): boolean {
    const ks = this.keystream(iv, end - start);
    const at = this.ksAt;
    const tag = this.tag;
    this.computeTag(ks, at, buf, aadStart, start, end, tag, 0);
    // Constant time: every byte compared whatever the first difference.
    let diff = 0;
    for (let i = 0; i < 16; i++) diff |= tag[i]! ^ buf[end + i]!;
    if (diff !== 0) return false;
    for (let i = start, k = at + 16; i < end; i++, k++) buf[i] ^= ks[k]!;
    return true;
  }

  /** Where in the array {@link keystream} returned this message's E(J0) starts. */
  private ksAt = 0;

  /** E(J0) then the keystream for `length` bytes (at {@link ksAt} in the array returned). */
  private keystream(iv: Uint8Array, length: number): Uint8Array {
    if (length <= BATCH_BYTES) {
      if (this.batchNext >= BATCH || !sameIv(iv, this.batchIv)) this.makeBatch(iv);
      this.ksAt = this.batchNext * BATCH_STRIDE;
      this.batchNext++;
      nextIv(this.batchIv);
      return this.batch!;
    }
    const blocks = 1 + ((length + 15) >>> 4);
    if (this.counters.length < blocks * 16) this.counters = new Uint8Array(blocks * 16);
    fillCounters(this.counters, 0, iv, blocks);
    this.ksAt = 0;
    return this.aes(this.counters.subarray(0, blocks * 16));
  }

  /** The keystream of the next BATCH packets from `iv` on, in one call of the block function. */
  private makeBatch(iv: Uint8Array): void {
    const c = this.batchCounters;
    const w = this.ivWords;
    const ivBytes = this.ivBytes;
    ivBytes.set(iv);
    for (let p = 0; p < BATCH; p++) {
      const a = w[0]!;
      const b = w[1]!;
      const d = w[2]!;
      for (let o = (p * BATCH_STRIDE) >>> 2, end = o + (BATCH_STRIDE >>> 2); o < end; o += 4) {
        c[o] = a;
        c[o + 1] = b;
        c[o + 2] = d;
      }
      nextIv(ivBytes);
    }
    this.batch?.fill(0);
    this.batch = this.aes(new Uint8Array(c.buffer));
    this.batchIv.set(iv);
    this.batchNext = 0;
  }

  /** Tag = GHASH(A, C) ^ E(J0) (SP 800-38D §7.1 steps 5-6), E(J0) at `ks[ksAt, ksAt + 16)`. */
  private computeTag(ks: Uint8Array, ksAt: number, buf: Uint8Array, aadStart: number, start: number, end: number, out: Uint8Array, at: number): void {
    const g = this.ghash;
    g.reset();
    if (start > aadStart) g.update(buf, aadStart, start);
    g.update(buf, start, end);
    g.finish(start - aadStart, end - start, out, at);
    for (let i = 0; i < 16; i++) out[at + i] ^= ks[ksAt + i]!;
  }

  dispose(): void {
    this.ghash.dispose();
    this.counters.fill(0);
    this.batchCounters.fill(0);
    this.ivWords.fill(0);
    this.tag.fill(0);
    this.batch?.fill(0);
    this.batch = null;
    this.batchNext = BATCH;
  }
}

/** Packets whose keystream one block-function call makes (see {@link BlockGcm}). */
const BATCH = 8;
/** Text bytes per packet covered by the batch: the runtime provider's small-packet limit. */
export const BATCH_BYTES = 256;
/** Bytes of keystream per packet in the batch: E(J0) and the text's blocks. */
const BATCH_STRIDE = 16 + BATCH_BYTES;

/** SP 800-38D §7.1 step 2: J0 = IV || 0^31 || 1 for a 96-bit IV, then inc32 per block. */
function fillCounters(c: Uint8Array, at: number, iv: Uint8Array, blocks: number): void {
  for (let b = 0; b < blocks; b++) {
    const o = at + b * 16;
    c.set(iv, o);
    writeWord(c, o + 12, b + 1);
  }
}

/** RFC 5647 §7.1: the invocation counter, the IV's last 8 bytes, a 64-bit big-endian integer. */
function nextIv(iv: Uint8Array): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = (iv[i]! + 1) & 0xff;
    if (iv[i] !== 0) break;
  }
}

function sameIv(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readWord(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function writeWord(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}
