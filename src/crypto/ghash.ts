/**
 * GHASH and AES-GCM built on an AES block function (NIST SP 800-38D §6.4, §7), for short
 * messages: the runtime's node:crypto seals each GCM packet with a new OpenSSL context (the
 * cipher looked up, the key expanded: ~4 µs warm, ~10 µs on a cold process), which dominates the
 * cost of a small SSH packet. Here the key is expanded once (a long-lived AES-ECB context makes
 * the counter blocks' keystream) and GHASH runs in TypeScript. Large packets stay with OpenSSL's
 * GCM, whose carry-less multiply instruction beats any portable one.
 *
 * Constant time. GHASH's secrets are the hash subkey H and the running hash Y, and nothing here
 * branches on them or uses them to pick a memory address (no tables indexed by data, unlike the
 * 4- and 8-bit table methods of the GCM specification, whose lookups leak H and Y through the
 * cache). The field multiplication (SP 800-38D §6.3) is made of integer multiplications with
 * holes: a carry-less product is the integer product without carries, so each 16-bit operand is
 * split into three masks of the bits at positions ≡ 0, 1, 2 (mod 3); two such masks have at most
 * 6 bits each, so any column of their integer product counts at most 6 < 8 one-bits and its
 * carries stay inside the two columns above it, which belong to the other residues and are
 * masked away. Nine Math.imul (a 32×32 → low 32-bit multiply, its 16×16 products exact) give
 * one 16×16 carry-less product; Karatsuba makes a 128×128 product of 27 of them. This assumes
 * what every constant-time integer multiplication does: that the CPU's multiplier takes the same
 * time whatever its operands (true of the 32-bit multiply on x86-64 and ARM64 cores) and that
 * Math.imul, bitwise operators and typed-array accesses at public offsets compile to plain
 * instructions, which V8, JavaScriptCore and SpiderMonkey do for int32 values.
 *
 * Aggregated reduction: GHASH is Horner's rule, Y_i = (Y_{i-1} ^ X_i)·H, which is also
 * X_1·H^n ^ X_2·H^(n-1) ^ … ^ X_n·H; with H^1..H^18 kept (their masked limbs: plain values, each
 * read at an offset that depends only on the block's position in the message) the blocks of a
 * small SSH packet (4 bytes of AAD, up to {@link BATCH_BYTES} of text, the length block) are
 * multiplied, summed unreduced and reduced once. The work depends on the lengths only: a word
 * of zero padding (known from the lengths) is left out, never a word found to be zero.
 * Cross-checked against node:crypto, @noble/ciphers and the GCM specification's test cases, and
 * the multiplication against a bit-by-bit one
 * (SP 800-38D §6.3 Algorithm 1), in test/ghash.test.ts and test/provider.test.ts.
 */

/**
 * Encrypts whole 16-byte blocks of `blocks` with the GCM key (AES, ECB: each block on its own)
 * and returns the result (same length, a new array or a view the caller may keep until the next call).
 */
export type AesBlocks = (blocks: Uint8Array) => Uint8Array;

/** A 32×32 → low 32-bit integer multiplication; held once, which spares the interpreter a lookup per product. */
const imul = Math.imul;
/** The bits of a 16-bit limb at positions ≡ 0, 1, 2 (mod 3). */
const M0 = 0x9249;
const M1 = 0x2492;
const M2 = 0x4924;
/** The columns ≡ 0, 1, 2 (mod 3) of a 16×16 product (31 bits: columns 0..30). */
const N0 = 0x49249249;
const N1 = 0x12492492;
const N2 = 0x24924924;
/** Masked limbs per power of H: 9 Karatsuba operands of 32 bits, 3 limbs of 16 bits each, 3 masks each. */
const LIMBS = 81;
/**
 * For each Karatsuba operand (see {@link Ghash.block}), the words of the block it is made of
 * (bit k: word k), so that an operand made only of zero padding is skipped.
 */
const OPERAND_WORDS = [0b1000, 0b0100, 0b1100, 0b0010, 0b0001, 0b0011, 0b1010, 0b0101, 0b1111] as const;

/**
 * GHASH_H (SP 800-38D §6.4). Elements are held as four big-endian 32-bit words in GCM's
 * bit order (§6.3: bit 0, the leftmost, is the coefficient of x^0), so read as a 128-bit integer
 * an element is its polynomial with the bits reversed; a carry-less product of two such integers
 * is the reversed product, one bit short of 256 (see {@link Ghash.fold}).
 *
 * Use: {@link begin} with the number of blocks, {@link update} for the data, then {@link finish}
 * (GCM's length block and the result) or {@link digest} (the bare hash). Errors: `Error` when
 * more or fewer blocks come than announced.
 */
export class Ghash {
  /** For H^1..H^POWERS: the masked limbs of the 9 Karatsuba operands (see {@link split}). */
  private readonly powers = new Int32Array(POWERS * LIMBS);
  /** Powers of H computed so far (the others on first need: a short first message costs less). */
  private ready = 0;
  /** The 27 16×16 carry-less products of the current group, summed. */
  private readonly acc = new Int32Array(27);
  /** A block's 9 Karatsuba operands of 32 bits. */
  private readonly ops = new Int32Array(9);
  /** The 9 32×32 products (low, high word), then the 3 64×64 ones (4 words each). */
  private readonly wide = new Int32Array(18 + 12);
  /** A zero-padded last block. */
  private readonly last = new Uint8Array(16);
  /** Y, the running hash, as of the last reduction; carried into the next group's first block. */
  private y0 = 0;
  private y1 = 0;
  private y2 = 0;
  private y3 = 0;
  /** Blocks announced by {@link begin} not yet absorbed, and those of the current group. */
  private left = 0;
  private group = 0;
  /** No block absorbed since {@link begin}: Y is still 0 (§6.4 step 2). */
  private fresh = true;

  /** @param h the hash subkey H = AES_K(0^128), 16 bytes. */
  constructor(h: Uint8Array) {
    this.split(0, readWord(h, 0), readWord(h, 4), readWord(h, 8), readWord(h, 12));
    this.ready = 1;
  }

  /** Start a new hash (Y_0 = 0, SP 800-38D §6.4 step 2) of `blocks` blocks (at least 1). */
  begin(blocks: number): void {
    const need = Math.min(blocks, POWERS);
    // H^(k+1) = H^k·H: H^k as one block through the group of H^1.
    for (let k = this.ready; k < need; k++) {
      this.y0 = this.y1 = this.y2 = this.y3 = 0;
      this.left = 1;
      this.group = 0;
      this.fresh = true;
      const w = this.wide;
      this.unsplit(k - 1, w);
      this.block(w[0]!, w[1]!, w[2]!, w[3]!, 0b1111);
      this.split(k, this.y0, this.y1, this.y2, this.y3);
      this.ready = k + 1;
    }
    this.y0 = this.y1 = this.y2 = this.y3 = 0;
    this.left = blocks;
    this.group = 0;
    this.fresh = true;
  }

  /** Absorb `buf[start, end)`, zero-padded to a whole block (SP 800-38D §7.1 step 5: A and C each padded). */
  update(buf: Uint8Array, start: number, end: number): void {
    let i = start;
    for (; i + 16 <= end; i += 16) {
      this.block(readWord(buf, i), readWord(buf, i + 4), readWord(buf, i + 8), readWord(buf, i + 12), 0b1111);
    }
    if (i < end) {
      const last = this.last;
      last.fill(0);
      last.set(buf.subarray(i, end));
      // The words past the data are padding: zero whatever the data.
      this.block(readWord(last, 0), readWord(last, 4), readWord(last, 8), readWord(last, 12), (1 << ((end - i + 3) >>> 2)) - 1);
      last.fill(0);
    }
  }

  /** Absorb the length block `[len(A)]64 || [len(C)]64` (in bits, SP 800-38D §7.1 step 5) and write the hash to `out[at, at + 16)`. */
  finish(aadBytes: number, textBytes: number, out: Uint8Array, at: number): void {
    // Lengths of SSH packets fit in 32 bits of bytes; the high words carry the bits above 2^32.
    const a0 = Math.floor(aadBytes / 0x20000000);
    const c0 = Math.floor(textBytes / 0x20000000);
    this.block(a0, (aadBytes * 8) | 0, c0, (textBytes * 8) | 0, (a0 === 0 ? 0 : 0b0001) | 0b0010 | (c0 === 0 ? 0 : 0b0100) | 0b1000);
    this.digest(out, at);
  }

  /** Write Y_m, the hash of all the blocks announced, to `out[at, at + 16)`. */
  digest(out: Uint8Array, at: number): void {
    if (this.left !== 0) throw new Error(`GHASH: ${this.left} announced blocks not absorbed`);
    writeWord(out, at, this.y0);
    writeWord(out, at + 4, this.y1);
    writeWord(out, at + 8, this.y2);
    writeWord(out, at + 12, this.y3);
  }

  /**
   * Add X·H^g to the group's sum, g the number of blocks left in the group (the group's first
   * block is X ^ Y: Horner's rule, SP 800-38D §6.4 step 3); reduce when the group is complete.
   * `live` (bit k for word k) says which words may be non-zero: the others are zero padding, known
   * from the lengths alone, and the products made only of them are skipped, so the time taken
   * depends on the lengths and never on the data.
   */
  private block(x0: number, x1: number, x2: number, x3: number, live: number): void {
    if (this.left === 0) throw new Error('GHASH: more blocks than announced');
    // Groups of POWERS blocks, the first one shorter: the last block of the message gets H^1.
    if (this.group === 0) {
      this.group = ((this.left - 1) % POWERS) + 1;
      if (!this.fresh) {
        x0 ^= this.y0;
        x1 ^= this.y1;
        x2 ^= this.y2;
        x3 ^= this.y3;
        live = 0b1111;
      }
    }
    this.fresh = false;
    // Karatsuba over the 128-bit integer x0‖x1‖x2‖x3: halves (x2‖x3 low, x0‖x1 high, their
    // sum), then each half's 32-bit halves and their sum; split() orders H^g's limbs alike.
    const ops = this.ops;
    karatsubaOperands(ops, x0, x1, x2, x3);
    const h = this.powers;
    const acc = this.acc;
    for (let i = 0, j = 0, p = (this.group - 1) * LIMBS; i < 9; i++, j += 3, p += 9) {
      if ((live & OPERAND_WORDS[i]) === 0) continue;
      // The operand's 16-bit halves and their sum, each against H^g's.
      const lo = ops[i]! & 0xffff;
      const hi = ops[i]! >>> 16;
      acc[j] ^= clmul16(lo, h, p);
      acc[j + 1] ^= clmul16(hi, h, p + 3);
      acc[j + 2] ^= clmul16(lo ^ hi, h, p + 6);
    }
    this.left--;
    if (--this.group === 0) this.fold();
  }

  /**
   * Y = the group's sum of products, reduced: Karatsuba's recombination, then modulo
   * x^128 + x^7 + x^2 + x + 1 (SP 800-38D §6.3: R = 11100001 || 0^120).
   */
  private fold(): void {
    const acc = this.acc;
    const w = this.wide;
    // 32×32 products (low word, high word) from their three 16×16 ones.
    for (let j = 0, o = 0; j < 27; j += 3, o += 2) {
      const lo = acc[j]!;
      const hi = acc[j + 1]!;
      const m = acc[j + 2]! ^ lo ^ hi;
      w[o] = lo ^ (m << 16);
      w[o + 1] = hi ^ (m >>> 16);
    }
    acc.fill(0);
    // 64×64 products (words least significant first) from their three 32×32 ones.
    for (let t = 0; t < 3; t++) {
      const o = t * 6;
      const m0 = w[o + 4]! ^ w[o]! ^ w[o + 2]!;
      const m1 = w[o + 5]! ^ w[o + 1]! ^ w[o + 3]!;
      w[18 + t * 4] = w[o]!;
      w[19 + t * 4] = w[o + 1]! ^ m0;
      w[20 + t * 4] = w[o + 2]! ^ m1;
      w[21 + t * 4] = w[o + 3]!;
    }
    // The 255-bit product p7..p0 from the low halves' product, the high halves' and the sums'.
    const m0 = w[26]! ^ w[18]! ^ w[22]!;
    const m1 = w[27]! ^ w[19]! ^ w[23]!;
    const m2 = w[28]! ^ w[20]! ^ w[24]!;
    const m3 = w[29]! ^ w[21]! ^ w[25]!;
    const p0 = w[18]!;
    const p1 = w[19]!;
    const p2 = w[20]! ^ m0;
    const p3 = w[21]! ^ m1;
    const p4 = w[22]! ^ m2;
    const p5 = w[23]! ^ m3;
    const p6 = w[24]!;
    const p7 = w[25]!;
    // Bit k of the product of two reversed elements is the coefficient of x^(254-k): shifted
    // left by one, the high 128 bits are x^0..x^127 in GCM's order, the low 128 bits (l0..l3)
    // x^128..x^255, the part to reduce.
    const z0 = (p7 << 1) | (p6 >>> 31);
    const z1 = (p6 << 1) | (p5 >>> 31);
    const z2 = (p5 << 1) | (p4 >>> 31);
    const z3 = (p4 << 1) | (p3 >>> 31);
    const l1 = (p2 << 1) | (p1 >>> 31);
    const l2 = (p1 << 1) | (p0 >>> 31);
    const l3 = p0 << 1;
    // x^128 = x^7 + x^2 + x + 1: L·x^128 = L ^ L·x ^ L·x^2 ^ L·x^7, a multiplication by x being a
    // shift right in this order. The bits shifted out (x^128..x^133) fold back the same way, in
    // the top 7 bits of the first word, from where they no longer overflow.
    const l0 = ((p3 << 1) | (p2 >>> 31)) ^ (l3 << 31) ^ (l3 << 30) ^ (l3 << 25);
    this.y0 = z0 ^ l0 ^ (l0 >>> 1) ^ (l0 >>> 2) ^ (l0 >>> 7);
    this.y1 = z1 ^ l1 ^ (l1 >>> 1) ^ (l1 >>> 2) ^ (l1 >>> 7) ^ (l0 << 31) ^ (l0 << 30) ^ (l0 << 25);
    this.y2 = z2 ^ l2 ^ (l2 >>> 1) ^ (l2 >>> 2) ^ (l2 >>> 7) ^ (l1 << 31) ^ (l1 << 30) ^ (l1 << 25);
    this.y3 = z3 ^ l3 ^ (l3 >>> 1) ^ (l3 >>> 2) ^ (l3 >>> 7) ^ (l2 << 31) ^ (l2 << 30) ^ (l2 << 25);
  }

  /** Keep H^(k+1)'s operands as block() reads them: 9 Karatsuba operands × 3 limbs × 3 masks. */
  private split(k: number, h0: number, h1: number, h2: number, h3: number): void {
    const ops = this.ops;
    karatsubaOperands(ops, h0, h1, h2, h3);
    const out = this.powers;
    for (let j = 0, p = k * LIMBS; j < 9; j++, p += 9) {
      const lo = ops[j]! & 0xffff;
      const hi = ops[j]! >>> 16;
      const mid = lo ^ hi;
      out[p] = lo & M0;
      out[p + 1] = lo & M1;
      out[p + 2] = lo & M2;
      out[p + 3] = hi & M0;
      out[p + 4] = hi & M1;
      out[p + 5] = hi & M2;
      out[p + 6] = mid & M0;
      out[p + 7] = mid & M1;
      out[p + 8] = mid & M2;
    }
  }

  /** H^(k+1)'s four words back from its limbs (operands 4, 3, 1, 0: x0, x1, x2, x3) into `out[0..4)`. */
  private unsplit(k: number, out: Int32Array): void {
    const h = this.powers;
    const word = (p: number) => (h[p]! | h[p + 1]! | h[p + 2]!) | ((h[p + 3]! | h[p + 4]! | h[p + 5]!) << 16);
    const base = k * LIMBS;
    out[0] = word(base + 4 * 9);
    out[1] = word(base + 3 * 9);
    out[2] = word(base + 9);
    out[3] = word(base);
  }

  /** Wipe H's powers and every intermediate value. */
  dispose(): void {
    this.powers.fill(0);
    this.ready = 0;
    this.acc.fill(0);
    this.ops.fill(0);
    this.wide.fill(0);
    this.y0 = this.y1 = this.y2 = this.y3 = 0;
    this.left = 0;
    this.group = 0;
  }
}

/**
 * The carry-less product of the 16-bit `x` and the 16-bit limb masked at `h[p, p + 3)` (its bits
 * ≡ 0, 1, 2 mod 3), 31 bits. Nine integer products of one residue class by another: each column of
 * one of them sums at most 6 one-bits, so its count fits in the column and the two above it, of
 * the other classes; a column's bit, the XOR of its classes' products, is kept by its mask.
 */
function clmul16(x: number, h: Int32Array, p: number): number {
  const a0 = x & M0;
  const a1 = x & M1;
  const a2 = x & M2;
  const b0 = h[p]!;
  const b1 = h[p + 1]!;
  const b2 = h[p + 2]!;
  return (
    ((imul(a0, b0) ^ imul(a1, b2) ^ imul(a2, b1)) & N0) |
    ((imul(a0, b1) ^ imul(a1, b0) ^ imul(a2, b2)) & N1) |
    ((imul(a0, b2) ^ imul(a1, b1) ^ imul(a2, b0)) & N2)
  );
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
    g.begin(blocksOf(start - aadStart) + blocksOf(end - start) + 1);
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
/**
 * Powers of H kept, the most blocks reduced at once: an SSH packet of up to {@link BATCH_BYTES}
 * (its 4 bytes of AAD, its text, the length block) in one reduction.
 */
const POWERS = BATCH_BYTES / 16 + 2;

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

/** SP 800-38D §7.1 step 5: A and C are each padded to whole blocks. */
function blocksOf(bytes: number): number {
  return (bytes + 15) >>> 4;
}

/** A big-endian word as a signed 32-bit integer (what the bitwise operators and Int32Array hold). */
function readWord(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

function writeWord(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/**
 * The nine 32-bit operands of a two-level Karatsuba product of the 128-bit integer w0‖w1‖w2‖w3
 * (w0 most significant), into `ops`: the low half's words and their sum (w3, w2, w2⊕w3), the
 * high half's (w1, w0, w0⊕w1), then the halves' sum (w1⊕w3, w0⊕w2) and its words' sum. The
 * block and each power of H are laid out alike, so operand i of one meets operand i of the other.
 */
function karatsubaOperands(ops: Int32Array, w0: number, w1: number, w2: number, w3: number): void {
  ops[0] = w3;
  ops[1] = w2;
  ops[2] = w2 ^ w3;
  ops[3] = w1;
  ops[4] = w0;
  ops[5] = w0 ^ w1;
  const s0 = w0 ^ w2;
  const s1 = w1 ^ w3;
  ops[6] = s1;
  ops[7] = s0;
  ops[8] = s0 ^ s1;
}
