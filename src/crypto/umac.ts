/**
 * UMAC (RFC 4418) with 64- and 128-bit tags, as OpenSSH's umac-64@openssh.com,
 * umac-128@openssh.com and their -etm@openssh.com forms use it.
 *
 * Tag = UHASH(K, M) xor PDF(K, Nonce) (RFC 4418 §4.1). UHASH runs `tagLength / 4` independent
 * iterations of three layers: L1 NH over 1024-byte chunks, L2 POLY modulo 2^64 - 59 over the chunk
 * hashes (with the ramp to 2^128 - 159 past 2^24 bytes), L3 an inner product modulo 2^36 - 5. The
 * PDF and the key derivation are AES-128 (@noble/ciphers).
 *
 * In SSH (OpenSSH mac.c): the message is the packet alone (no sequence number in front, unlike
 * RFC 4253 §6.4's HMAC input), the nonce is the 32-bit sequence number as a big-endian uint64, and
 * the key is the first 16 bytes derived for the MAC (RFC 4253 §7.2).
 *
 * Arithmetic is exact in doubles: NH splits one factor of each 32x32-bit product into 16-bit
 * halves so that 32 products sum below 2^53, POLY64 and L3 work in 16- and 18-bit limbs, and only
 * the POLY128 ramp (messages over 16 MiB, never an SSH packet) uses BigInt. Up to 16 MiB, `mac()`
 * allocates no buffers: message words are read through one cached Int32Array view per ArrayBuffer
 * (or copied into scratch when misaligned). Cross-checked in test/umac.test.ts against the RFC 4418
 * appendix vectors and tags computed by OpenSSH's own umac.c / umac128.c.
 */
import { ctr, ecb } from '@noble/ciphers/aes.js';
import { UsageError } from '../errors.js';
import { LITTLE_ENDIAN, WordViews } from './chacha20.js';

// RFC 4418 §3.1: AES-128, so BLOCKLEN = KEYLEN = 16 bytes.
const BLOCKLEN = 16;
const KEYLEN = 16;
// RFC 4418 §5.2.1: NH consumes the message in chunks of 1024 bytes (the L1 key length).
const L1_KEY_LEN = 1024;
// RFC 4418 §5.3.1: POLY64 takes the first 2^17 bytes of L1 output (2^14 chunks, 16 MiB of message);
// the rest goes through POLY128.
const POLY64_CHUNKS = 16384;
// 32 NH products of < 2^48 each stay below 2^53: flush the double accumulators every 8 blocks.
const NH_FLUSH_BLOCKS = 8;
// PDF blocks computed per AES call (see pdfXor): noble's per-call cost is ~20 blocks' worth.
const PDF_BATCH = 16;

const TWO16 = 65536;
const TWO18 = 262144;
const TWO32 = 4294967296;
const TWO36 = 68719476736;
// RFC 4418 §5.4.1: p36 = 2^36 - 5.
const P36 = TWO36 - 5;
// RFC 4418 §5.3.2: p64 = 2^64 - 59, so 2^64 ≡ 59; offset = 59, marker = p64 - 1.
const P64_OFFSET = 59;
// RFC 4418 §5.3.2: p128 = 2^128 - 159; offset = 159, marker = p128 - 1.
const P128 = (1n << 128n) - 159n;
// RFC 4418 §5.3.1: POLY128's maxwordrange is 2^128 - 2^96.
const MAXWORD128 = (1n << 128n) - (1n << 96n);

function be32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function le32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/**
 * RFC 4418 §3.2.1 KDF(K, index, numbytes): AES_K(uint2str(index, 8) || uint2str(i, 8)) for
 * i = 1, 2, ..., truncated to `numbytes`: AES-CTR's keystream from the counter block
 * (index || 1), which is what @noble/ciphers' ctr computes (with its own, already bundled, code
 * instead of noble's `unsafe` raw-block API, which would bring its CMAC and SIV along).
 */
function kdf(key: Uint8Array, index: number, numbytes: number): Uint8Array {
  const counter = new Uint8Array(BLOCKLEN);
  counter[7] = index;
  counter[15] = 1;
  return ctr(key, counter).encrypt(new Uint8Array(numbytes));
}

/**
 * Add NH (RFC 4418 §5.2.2) of `blocks` 32-byte blocks to the 64-bit sum `acc[a]` (high word),
 * `acc[a + 1]` (low word), mod 2^64. The message words are `w[wi, wi + 8·blocks)` (already
 * ENDIAN-SWAPped, i.e. read little-endian) and the key words `k[ki, ...)`.
 *
 * Each product (m_i + k_i mod 2^32)·(m_{i+4} + k_{i+4} mod 2^32) is taken as x·(y mod 2^16) and
 * x·(y >> 16), both < 2^48, summed in two doubles that stay exact for 8 blocks (32 products).
 */
function nhBlocks(w: Int32Array, wi: number, blocks: number, k: Int32Array, ki: number, acc: Float64Array, a: number): void {
  while (blocks > 0) {
    const n = blocks < NH_FLUSH_BLOCKS ? blocks : NH_FLUSH_BLOCKS;
    blocks -= n;
    let lo = 0;
    let hi = 0;
    for (let b = 0; b < n; b++, wi += 8, ki += 8) {
      const x0 = (w[wi]! + k[ki]!) >>> 0;
      const y0 = w[wi + 4]! + k[ki + 4]!;
      const x1 = (w[wi + 1]! + k[ki + 1]!) >>> 0;
      const y1 = w[wi + 5]! + k[ki + 5]!;
      const x2 = (w[wi + 2]! + k[ki + 2]!) >>> 0;
      const y2 = w[wi + 6]! + k[ki + 6]!;
      const x3 = (w[wi + 3]! + k[ki + 3]!) >>> 0;
      const y3 = w[wi + 7]! + k[ki + 7]!;
      lo += x0 * (y0 & 0xffff) + x1 * (y1 & 0xffff) + x2 * (y2 & 0xffff) + x3 * (y3 & 0xffff);
      hi += x0 * (y0 >>> 16) + x1 * (y1 >>> 16) + x2 * (y2 >>> 16) + x3 * (y3 >>> 16);
    }
    // acc += lo + hi·2^16 (mod 2^64), split at bit 32.
    const loHi = Math.floor(lo / TWO32);
    const hiHi = Math.floor(hi / TWO16);
    const low = acc[a + 1]! + (lo - loHi * TWO32) + (hi - hiHi * TWO16) * TWO16;
    const carry = Math.floor(low / TWO32);
    acc[a + 1] = low - carry * TWO32;
    acc[a] = (acc[a]! + loHi + hiHi + carry) >>> 0;
  }
}

/**
 * y = k·y + m (mod p64), RFC 4418 §5.3.2, on y as four 16-bit limbs `y[i, i + 4)` (least
 * significant first; kept < 2^64 + 2^27, not fully reduced) and k as limbs `k[j, j + 4)`
 * (k < 2^57 after the §5.3.1 mask, so limbs 1 and 3 are < 2^9). m = mHi·2^32 + mLo.
 */
function poly64Step(y: Float64Array, i: number, k: Float64Array, j: number, mHi: number, mLo: number): void {
  const y0 = y[i]!, y1 = y[i + 1]!, y2 = y[i + 2]!, y3 = y[i + 3]!;
  const k0 = k[j]!, k1 = k[j + 1]!, k2 = k[j + 2]!, k3 = k[j + 3]!;
  // Limbs of weight 2^64, 2^80, 2^96 fold back times 59 (2^64 ≡ 59 mod p64).
  let d0 = y0 * k0 + P64_OFFSET * (y1 * k3 + y2 * k2 + y3 * k1) + (mLo & 0xffff);
  let d1 = y0 * k1 + y1 * k0 + P64_OFFSET * (y2 * k3 + y3 * k2) + (mLo >>> 16);
  let d2 = y0 * k2 + y1 * k1 + y2 * k0 + P64_OFFSET * (y3 * k3) + (mHi & 0xffff);
  let d3 = y0 * k3 + y1 * k2 + y2 * k1 + y3 * k0 + (mHi >>> 16);
  let c = Math.floor(d0 / TWO16);
  d0 -= c * TWO16;
  d1 += c;
  c = Math.floor(d1 / TWO16);
  d1 -= c * TWO16;
  d2 += c;
  c = Math.floor(d2 / TWO16);
  d2 -= c * TWO16;
  d3 += c;
  c = Math.floor(d3 / TWO16);
  d3 -= c * TWO16;
  d0 += P64_OFFSET * c;
  c = Math.floor(d0 / TWO16);
  d0 -= c * TWO16;
  d1 += c;
  y[i] = d0;
  y[i + 1] = d1;
  y[i + 2] = d2;
  y[i + 3] = d3;
}

/** Reduce the limbs `y[i, i + 4)` to the canonical residue mod p64, each limb < 2^16. */
function poly64Final(y: Float64Array, i: number): void {
  let d0 = y[i]!, d1 = y[i + 1]!, d2 = y[i + 2]!, d3 = y[i + 3]!;
  while (d0 >= TWO16 || d1 >= TWO16 || d2 >= TWO16 || d3 >= TWO16) {
    let c = Math.floor(d0 / TWO16);
    d0 -= c * TWO16;
    d1 += c;
    c = Math.floor(d1 / TWO16);
    d1 -= c * TWO16;
    d2 += c;
    c = Math.floor(d2 / TWO16);
    d2 -= c * TWO16;
    d3 += c;
    c = Math.floor(d3 / TWO16);
    d3 -= c * TWO16;
    d0 += P64_OFFSET * c;
  }
  // Now y < 2^64; p64 = 0xffffffffffffffc5.
  if (d3 === 0xffff && d2 === 0xffff && d1 === 0xffff && d0 >= 0xffc5) {
    d0 -= 0xffc5;
    d1 = d2 = d3 = 0;
  }
  y[i] = d0;
  y[i + 1] = d1;
  y[i + 2] = d2;
  y[i + 3] = d3;
}

/** RFC 4418 §5.3.2 POLY step for wordbits = 128, with the marker for words ≥ maxwordrange. */
function poly128Step(y: bigint, k: bigint, m: bigint): bigint {
  if (m >= MAXWORD128) {
    y = (k * y + (P128 - 1n)) % P128;
    return (k * y + (m - 159n)) % P128;
  }
  return (k * y + m) % P128;
}

/**
 * RFC 4418 UMAC with a 16-byte key and an 8-byte nonce, tag length 8 (UMAC-64,
 * umac-64@openssh.com) or 16 (UMAC-128, umac-128@openssh.com). One instance per key; `mac()` may be
 * called any number of times.
 *
 * @example
 * ```ts
 * const umac = new Umac(key16, 8);
 * const nonce = new Uint8Array(8);
 * new DataView(nonce.buffer).setUint32(4, seq); // OpenSSH: big-endian uint64 sequence number
 * umac.mac(packet, 0, packet.length, nonce, tag, 0);
 * ```
 */
export class Umac {
  /** Tag length in bytes: 8 or 16. */
  readonly tagLength: 8 | 16;
  // RFC 4418 §5.1: iters = taglen / 4 UHASH iterations.
  private readonly iters: number;
  // RFC 4418 §5.1: L1Key as big-endian 32-bit words, 1024 + 16·(iters - 1) bytes; iteration j
  // starts at word 4j.
  private readonly l1Key: Int32Array;
  // RFC 4418 §5.3.1: k64 (masked) as four 16-bit limbs per iteration.
  private readonly k64: Float64Array;
  // RFC 4418 §5.3.1: k128 (masked) as 16 big-endian bytes per iteration, for the POLY128 ramp.
  private readonly k128: Uint8Array;
  // RFC 4418 §5.4.1: L3Key1 words mod p36, split as high 18 bits / low 18 bits, 16 numbers per iteration.
  private readonly l3Key1: Float64Array;
  // RFC 4418 §5.4.1: L3Key2, one 32-bit word per iteration.
  private readonly l3Key2: Uint32Array;
  // RFC 4418 §3.3.1: the PDF key K' = KDF(K, 0, 16).
  private readonly pdfKey: Uint8Array;
  // PDF_BATCH input blocks Nonce' || 0^64 for consecutive Nonce' values (step 2 for UMAC-64, whose
  // two sequence numbers differing only in the low bit share a block, as in OpenSSH's umac.c) and
  // their AES outputs; the first Nonce' as two 32-bit halves, and how many outputs are valid.
  private readonly pdfIn = new Uint8Array(BLOCKLEN * PDF_BATCH);
  private readonly pdfOut = new Uint8Array(BLOCKLEN * PDF_BATCH);
  private pdfHi = 0;
  private pdfLo = 0;
  private pdfCount = 0;
  // Per iteration: NH sum (high, low word) of the current chunk.
  private readonly nh: Float64Array;
  // Per iteration: POLY64 accumulator as four 16-bit limbs.
  private readonly poly: Float64Array;
  // Chunk words for misaligned messages, big-endian hosts and the zero-padded final block.
  private readonly scratch = new Int32Array(L1_KEY_LEN / 4);
  private readonly views = new WordViews();
  private disposed = false;

  /**
   * @param key the 16-byte UMAC key (RFC 4418 §3.1 KEYLEN); copied, not kept.
   * @param tagLength 8 for UMAC-64 or 16 for UMAC-128.
   * @throws UsageError on another key or tag length.
   */
  constructor(key: Uint8Array, tagLength: 8 | 16) {
    if (!(key instanceof Uint8Array) || key.length !== KEYLEN) {
      throw new UsageError(`UMAC needs a ${KEYLEN}-byte key, got ${key?.length ?? 0} bytes`);
    }
    if (tagLength !== 8 && tagLength !== 16) {
      throw new UsageError(`UMAC tag length must be 8 (umac-64) or 16 (umac-128), got ${String(tagLength)}`);
    }
    this.tagLength = tagLength;
    const iters = (this.iters = tagLength / 4);

    // RFC 4418 §5.1: L1Key = KDF(K, 1, 1024 + (iters - 1)·16).
    const l1 = kdf(key, 1, L1_KEY_LEN + (iters - 1) * 16);
    this.l1Key = new Int32Array(l1.length / 4);
    for (let i = 0; i < this.l1Key.length; i++) this.l1Key[i] = be32(l1, 4 * i);

    // RFC 4418 §5.1: L2Key = KDF(K, 2, iters·24); §5.3.1: k64 = str2uint(K[1..8]) & 0x01ffffff01ffffff,
    // k128 = str2uint(K[9..24]) & 0x01ffffff01ffffff01ffffff01ffffff.
    const l2 = kdf(key, 2, iters * 24);
    this.k64 = new Float64Array(4 * iters);
    this.k128 = new Uint8Array(16 * iters);
    for (let j = 0; j < iters; j++) {
      const hi = be32(l2, 24 * j) & 0x01ffffff;
      const lo = be32(l2, 24 * j + 4) & 0x01ffffff;
      this.k64.set([lo & 0xffff, lo >>> 16, hi & 0xffff, hi >>> 16], 4 * j);
      for (let b = 0; b < 16; b++) this.k128[16 * j + b] = l2[24 * j + 8 + b]! & ((b & 3) === 0 ? 0x01 : 0xff);
    }

    // RFC 4418 §5.1: L3Key1 = KDF(K, 3, iters·64), L3Key2 = KDF(K, 4, iters·4); §5.4.1: each 8-byte
    // piece of L3Key1 is taken mod p36.
    const l3a = kdf(key, 3, iters * 64);
    this.l3Key1 = new Float64Array(16 * iters);
    for (let i = 0; i < 8 * iters; i++) {
      const hi = be32(l3a, 8 * i);
      const lo = be32(l3a, 8 * i + 4);
      // hi·2^32 = (hi >> 4)·2^36 + (hi & 15)·2^32 ≡ 5·(hi >> 4) + (hi & 15)·2^32 (mod p36).
      let v = 5 * (hi >>> 4) + (hi & 15) * TWO32 + lo;
      while (v >= P36) v -= P36;
      const vh = Math.floor(v / TWO18);
      this.l3Key1[2 * i] = vh;
      this.l3Key1[2 * i + 1] = v - vh * TWO18;
    }
    const l3b = kdf(key, 4, iters * 4);
    this.l3Key2 = new Uint32Array(iters);
    for (let j = 0; j < iters; j++) this.l3Key2[j] = be32(l3b, 4 * j);

    // RFC 4418 §3.3.1: K' = KDF(K, 0, KEYLEN) keys the PDF's AES.
    this.pdfKey = kdf(key, 0, KEYLEN);

    this.nh = new Float64Array(2 * iters);
    this.poly = new Float64Array(4 * iters);
    for (const b of [l1, l2, l3a, l3b]) b.fill(0);
  }

  /**
   * Write the tag of `msg[off, off + len)` under the 8-byte `nonce` to `out[outOff, outOff + tagLength)`
   * (RFC 4418 §4.1: UHASH(K, M, taglen) xor PDF(K, Nonce, taglen)).
   *
   * Allocates no buffers for messages up to 2^24 bytes. For SSH, `nonce` is the packet sequence number
   * as a big-endian uint64 and the message is the packet (ETM: length and ciphertext) without the
   * sequence number.
   * @throws UsageError on a disposed instance, a nonce that is not 8 bytes, or ranges outside the buffers.
   */
  mac(msg: Uint8Array, off: number, len: number, nonce: Uint8Array, out: Uint8Array, outOff: number): void {
    if (this.disposed) throw new UsageError('UMAC: used after dispose()');
    if (nonce.length !== 8) throw new UsageError(`UMAC (OpenSSH) needs an 8-byte nonce, got ${nonce.length} bytes`);
    if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > msg.length) {
      throw new UsageError(`UMAC: message range [${off}, ${off + len}) is outside a ${msg.length}-byte buffer`);
    }
    if (!Number.isInteger(outOff) || outOff < 0 || outOff + this.tagLength > out.length) {
      throw new UsageError(`UMAC: no room for a ${this.tagLength}-byte tag at ${outOff} in a ${out.length}-byte buffer`);
    }
    const iters = this.iters;
    const nh = this.nh;
    const poly = this.poly;

    // RFC 4418 §5.1: a message no longer than the L1 key skips L2: B = zeroes(8) || L1-HASH(M).
    if (len <= L1_KEY_LEN) {
      this.nhChunk(msg, off, len);
      for (let j = 0; j < iters; j++) {
        const hi = nh[2 * j]!;
        const lo = nh[2 * j + 1]!;
        this.l3(j, 0, 0, 0, 0, hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff, out, outOff);
      }
    } else {
      // RFC 4418 §5.3.2: POLY starts from y = 1.
      poly.fill(0);
      for (let j = 0; j < iters; j++) poly[4 * j] = 1;
      // POLY128 state per iteration, its key, and the first half of its next 16-byte word (-1: none).
      let ramp: bigint[] | null = null;
      const k128: bigint[] = [];
      const pending: bigint[] = [];
      const end = off + len;
      for (let pos = off, chunk = 1; pos < end; pos += L1_KEY_LEN, chunk++) {
        this.nhChunk(msg, pos, Math.min(L1_KEY_LEN, end - pos));
        if (chunk <= POLY64_CHUNKS) {
          for (let j = 0; j < iters; j++) {
            const hi = nh[2 * j]!;
            const lo = nh[2 * j + 1]!;
            // RFC 4418 §5.3.2: a word ≥ maxwordrange = 2^64 - 2^32 goes in as marker, then m - offset.
            if (hi === 0xffffffff) {
              poly64Step(poly, 4 * j, this.k64, 4 * j, 0xffffffff, 0xffffffc4);
              // m - 59 with the borrow out of the low word (hi is all ones, so it cannot underflow).
              if (lo >= P64_OFFSET) poly64Step(poly, 4 * j, this.k64, 4 * j, hi, lo - P64_OFFSET);
              else poly64Step(poly, 4 * j, this.k64, 4 * j, hi - 1, lo + TWO32 - P64_OFFSET);
            } else {
              poly64Step(poly, 4 * j, this.k64, 4 * j, hi, lo);
            }
          }
          continue;
        }
        // RFC 4418 §5.3.1: past 2^17 bytes of L1 output, POLY128 over uint2str(y64, 16) || M_2.
        if (ramp === null) {
          ramp = [];
          for (let j = 0; j < iters; j++) {
            poly64Final(poly, 4 * j);
            k128.push(this.k128Of(j));
            ramp.push(poly128Step(1n, k128[j]!, this.limbsToBigint(4 * j)));
            pending.push(-1n);
          }
        }
        for (let j = 0; j < iters; j++) {
          const a = (BigInt(nh[2 * j]!) << 32n) | BigInt(nh[2 * j + 1]!);
          // M_2's 16-byte words are pairs of 8-byte NH outputs.
          if (pending[j]! < 0n) {
            pending[j] = a;
          } else {
            ramp[j] = poly128Step(ramp[j]!, k128[j]!, (pending[j]! << 64n) | a);
            pending[j] = -1n;
          }
        }
      }
      for (let j = 0; j < iters; j++) {
        if (ramp === null) {
          poly64Final(poly, 4 * j);
          const p = 4 * j;
          this.l3(j, 0, 0, 0, 0, poly[p + 3]!, poly[p + 2]!, poly[p + 1]!, poly[p]!, out, outOff);
          continue;
        }
        // RFC 4418 §5.3.1: M_2 || 0x80, zero-padded to a multiple of 16 bytes.
        const half = pending[j]!;
        const last = half >= 0n ? (half << 64n) | (0x80n << 56n) : 0x80n << 120n;
        const y = poly128Step(ramp[j]!, k128[j]!, last);
        const w = (s: bigint) => Number((y >> s) & 0xffffn);
        this.l3(j, w(112n), w(96n), w(80n), w(64n), w(48n), w(32n), w(16n), w(0n), out, outOff);
      }
    }
    this.pdfXor(nonce, out, outOff);
  }

  /** Wipe the derived keys, the cached pad and scratch; the instance is unusable afterwards. */
  dispose(): void {
    this.disposed = true;
    this.l1Key.fill(0);
    this.k64.fill(0);
    this.k128.fill(0);
    this.l3Key1.fill(0);
    this.l3Key2.fill(0);
    this.pdfKey.fill(0);
    this.pdfIn.fill(0);
    this.pdfOut.fill(0);
    this.pdfCount = 0;
    this.nh.fill(0);
    this.poly.fill(0);
    this.scratch.fill(0);
    this.views.clear();
  }

  /**
   * RFC 4418 §5.2.1: NH of one chunk `msg[pos, pos + n)` (0 ≤ n ≤ 1024) plus its bit length, for
   * every iteration, into `this.nh`. The chunk is ENDIAN-SWAPped (words read little-endian) and
   * zero-padded to a positive multiple of 32 bytes.
   */
  private nhChunk(msg: Uint8Array, pos: number, n: number): void {
    const nh = this.nh;
    const key = this.l1Key;
    const iters = this.iters;
    nh.fill(0);
    const full = n >>> 5;
    let done = 0;
    if (LITTLE_ENDIAN && ((msg.byteOffset + pos) & 3) === 0 && full > 0) {
      const w = this.views.of(msg.buffer);
      const wi = (msg.byteOffset + pos) >>> 2;
      for (let j = 0; j < iters; j++) nhBlocks(w, wi, full, key, 4 * j, nh, 2 * j);
      done = full << 5;
    }
    // The rest (all of it when misaligned), and the final partial block zero-padded; an empty
    // message still hashes one block of zeros.
    const rest = n - done;
    if (rest > 0 || n === 0) {
      const blocks = (rest + 31) >>> 5 || 1;
      const sc = this.scratch;
      const start = pos + done;
      const whole = rest >>> 2;
      for (let i = 0; i < whole; i++) sc[i] = le32(msg, start + 4 * i);
      for (let i = whole; i < blocks * 8; i++) sc[i] = 0;
      for (let b = whole * 4; b < rest; b++) sc[whole] |= msg[start + b]! << ((b & 3) << 3);
      const ki = done >>> 2;
      for (let j = 0; j < iters; j++) nhBlocks(sc, 0, blocks, key, ki + 4 * j, nh, 2 * j);
    }
    // RFC 4418 §5.2.1: + uint2str(bitlength(M_i), 8), mod 2^64.
    const bits = n * 8;
    for (let j = 0; j < iters; j++) {
      const low = nh[2 * j + 1]! + bits;
      if (low >= TWO32) {
        nh[2 * j + 1] = low - TWO32;
        nh[2 * j] = (nh[2 * j]! + 1) >>> 0;
      } else {
        nh[2 * j + 1] = low;
      }
    }
  }

  /**
   * RFC 4418 §5.4.1 L3-HASH for iteration `j` on the eight big-endian 16-bit words m1..m8 of the
   * 16-byte L2 output: (Σ m_i·k_i mod p36) mod 2^32, xor L3Key2, written big-endian to `out`.
   */
  private l3(
    j: number,
    m1: number,
    m2: number,
    m3: number,
    m4: number,
    m5: number,
    m6: number,
    m7: number,
    m8: number,
    out: Uint8Array,
    outOff: number,
  ): void {
    const k = this.l3Key1;
    const o = 16 * j;
    // k_i = kh·2^18 + kl with kh, kl < 2^18: both sums stay below 2^37.
    const sh =
      m1 * k[o]! + m2 * k[o + 2]! + m3 * k[o + 4]! + m4 * k[o + 6]! +
      m5 * k[o + 8]! + m6 * k[o + 10]! + m7 * k[o + 12]! + m8 * k[o + 14]!;
    const sl =
      m1 * k[o + 1]! + m2 * k[o + 3]! + m3 * k[o + 5]! + m4 * k[o + 7]! +
      m5 * k[o + 9]! + m6 * k[o + 11]! + m7 * k[o + 13]! + m8 * k[o + 15]!;
    // sh·2^18 = a·2^36 + b·2^18 ≡ 5a + b·2^18 (mod p36).
    const a = Math.floor(sh / TWO18);
    let v = 5 * a + (sh - a * TWO18) * TWO18 + sl;
    const t = Math.floor(v / TWO36);
    v = v - t * TWO36 + 5 * t;
    if (v >= P36) v -= P36;
    const y = ((v >>> 0) ^ this.l3Key2[j]!) >>> 0;
    const at = outOff + 4 * j;
    out[at] = y >>> 24;
    out[at + 1] = y >>> 16;
    out[at + 2] = y >>> 8;
    out[at + 3] = y;
  }

  /**
   * RFC 4418 §3.3.1 PDF: AES_K'(Nonce' || zeroes) where, for 8-byte tags, Nonce' is the nonce with
   * its low bit cleared and that bit picks which half of the AES output is the pad. XORs the pad
   * into `out[outOff, outOff + tagLength)`.
   */
  private pdfXor(nonce: Uint8Array, out: Uint8Array, outOff: number): void {
    const step = this.tagLength === 8 ? 2 : 1;
    const index = step === 2 ? nonce[7]! & 1 : 0;
    const hi = be32(nonce, 0);
    const lo = (be32(nonce, 4) - index) >>> 0;
    let k = ((lo - this.pdfLo) >>> 0) / step;
    if (hi !== this.pdfHi || k >= this.pdfCount) {
      // SSH's nonces are consecutive sequence numbers (OpenSSH mac.c), so AES the next PDF_BATCH
      // Nonce' values in one call: noble's per-call cost (key schedule, checks) dwarfs one block's.
      const b = this.pdfIn;
      // Block j is (hi, lo + j·step mod 2^32), the nonce the lookup above expects at k = j (SSH's
      // 32-bit sequence number wraps to 0 with the high half unchanged).
      for (let j = 0, l = lo; j < PDF_BATCH; j++) {
        b[16 * j] = hi >>> 24;
        b[16 * j + 1] = hi >>> 16;
        b[16 * j + 2] = hi >>> 8;
        b[16 * j + 3] = hi;
        b[16 * j + 4] = l >>> 24;
        b[16 * j + 5] = l >>> 16;
        b[16 * j + 6] = l >>> 8;
        b[16 * j + 7] = l;
        l = (l + step) >>> 0;
      }
      ecb(this.pdfKey, { disablePadding: true }).encrypt(b, this.pdfOut);
      this.pdfHi = hi;
      this.pdfLo = lo;
      this.pdfCount = PDF_BATCH;
      k = 0;
    }
    const from = BLOCKLEN * k + index * this.tagLength;
    for (let i = 0; i < this.tagLength; i++) out[outOff + i] ^= this.pdfOut[from + i]!;
  }

  private k128Of(j: number): bigint {
    let k = 0n;
    for (let b = 0; b < 16; b++) k = (k << 8n) | BigInt(this.k128[16 * j + b]!);
    return k;
  }

  private limbsToBigint(i: number): bigint {
    const p = this.poly;
    return (BigInt(p[i + 3]!) << 48n) | (BigInt(p[i + 2]!) << 32n) | (BigInt(p[i + 1]!) << 16n) | BigInt(p[i]!);
  }
}
