/**
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305), the transport's hot path.
 *
 * ChaCha20 comes from @noble/ciphers (`chacha20orig`, the original 64-bit-nonce variant, run in
 * place). Poly1305 is computed here by {@link poly1305Into} because noble's incremental Poly1305
 * copies its whole input on every `update()` (a 32 KiB allocation per packet) and allocates a
 * fresh state per key; this one writes into caller-owned scratch and allocates nothing. It is
 * cross-checked against noble and the RFC 8439 vectors in test/cipher.test.ts.
 */
import { chacha20orig } from '@noble/ciphers/chacha.js';
import type { PacketCipher } from './cipher.js';
import { DisconnectReason, ProtocolError, UsageError } from './errors.js';
import { readUint32 } from './wire.js';

// 2^22: Poly1305 state is kept in six 22-bit limbs held in doubles, so every partial product
// sum stays below 2^53 and is exact (see poly1305Into).
const LIMB = 4194304;
const INV_LIMB = 1 / LIMB;
const MASK22 = 0x3fffff;

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/**
 * Poly1305 (RFC 8439 §2.5) of `msg[start, end)` under the one-time `key[keyOff, keyOff + 32)`,
 * written to `out[outOff, outOff + 16)`. Allocates nothing.
 *
 * Arithmetic is modulo p = 2^130 - 5 in radix 2^22 (six limbs, 132 bits), using 2^132 ≡ 20 (mod p)
 * to fold the high half of each product. Limbs stay < 2^23 + 2^13 and 20·r_j < 2^26.4, so a limb
 * product sum is < 6 · 2^49.4 < 2^53: exact in IEEE doubles.
 */
export function poly1305Into(
  key: Uint8Array,
  keyOff: number,
  msg: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOff: number,
): void {
  // RFC 8439 §2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff (clamp)
  const k0 = le32(key, keyOff) & 0x0fffffff;
  const k1 = le32(key, keyOff + 4) & 0x0ffffffc;
  const k2 = le32(key, keyOff + 8) & 0x0ffffffc;
  const k3 = le32(key, keyOff + 12) & 0x0ffffffc;
  const r0 = k0 & MASK22;
  const r1 = ((k0 >>> 22) | (k1 << 10)) & MASK22;
  const r2 = ((k1 >>> 12) | (k2 << 20)) & MASK22;
  const r3 = (k2 >>> 2) & MASK22;
  const r4 = ((k2 >>> 24) | (k3 << 8)) & MASK22;
  const r5 = k3 >>> 14;
  const s1 = 20 * r1;
  const s2 = 20 * r2;
  const s3 = 20 * r3;
  const s4 = 20 * r4;
  const s5 = 20 * r5;

  let h0 = 0;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let h5 = 0;

  let pos = start;
  while (pos < end) {
    let w0: number;
    let w1: number;
    let w2: number;
    let w3: number;
    // RFC 8439 §2.5: each block gets a 1 appended: bit 128 for full blocks, right after the
    // last byte for the final short one.
    let hibit: number;
    if (end - pos >= 16) {
      w0 = le32(msg, pos);
      w1 = le32(msg, pos + 4);
      w2 = le32(msg, pos + 8);
      w3 = le32(msg, pos + 12);
      hibit = 1 << 18;
      pos += 16;
    } else {
      w0 = w1 = w2 = w3 = 0;
      const n = end - pos;
      for (let i = 0; i <= n; i++) {
        const v = i < n ? msg[pos + i]! : 1;
        const sh = (i & 3) * 8;
        switch (i >> 2) {
          case 0: w0 |= v << sh; break;
          case 1: w1 |= v << sh; break;
          case 2: w2 |= v << sh; break;
          default: w3 |= v << sh;
        }
      }
      w0 >>>= 0;
      w1 >>>= 0;
      w2 >>>= 0;
      w3 >>>= 0;
      hibit = 0;
      pos = end;
    }
    h0 += w0 & MASK22;
    h1 += ((w0 >>> 22) | (w1 << 10)) & MASK22;
    h2 += ((w1 >>> 12) | (w2 << 20)) & MASK22;
    h3 += (w2 >>> 2) & MASK22;
    h4 += ((w2 >>> 24) | (w3 << 8)) & MASK22;
    h5 += (w3 >>> 14) | hibit;

    // h *= r (mod p): terms with i + j >= 6 wrap around with a factor 20.
    let d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;

    let c = Math.floor(d0 * INV_LIMB);
    h0 = d0 - c * LIMB;
    d1 += c;
    c = Math.floor(d1 * INV_LIMB);
    h1 = d1 - c * LIMB;
    d2 += c;
    c = Math.floor(d2 * INV_LIMB);
    h2 = d2 - c * LIMB;
    d3 += c;
    c = Math.floor(d3 * INV_LIMB);
    h3 = d3 - c * LIMB;
    d4 += c;
    c = Math.floor(d4 * INV_LIMB);
    h4 = d4 - c * LIMB;
    d5 += c;
    c = Math.floor(d5 * INV_LIMB);
    h5 = d5 - c * LIMB;
    h0 += c * 20;
    c = Math.floor(h0 * INV_LIMB);
    h0 -= c * LIMB;
    h1 += c;
  }

  // Full carry, then fold bits >= 130 back in (2^130 ≡ 5), leaving h < 2^130 + small.
  let c = Math.floor(h1 * INV_LIMB);
  h1 -= c * LIMB;
  h2 += c;
  c = Math.floor(h2 * INV_LIMB);
  h2 -= c * LIMB;
  h3 += c;
  c = Math.floor(h3 * INV_LIMB);
  h3 -= c * LIMB;
  h4 += c;
  c = Math.floor(h4 * INV_LIMB);
  h4 -= c * LIMB;
  h5 += c;
  for (let round = 0; round < 2; round++) {
    // h5 holds bits 110..131; bits from 130 up sit at h5 >> 20.
    c = Math.floor(h5 / 1048576);
    h5 -= c * 1048576;
    h0 += c * 5;
    c = Math.floor(h0 * INV_LIMB);
    h0 -= c * LIMB;
    h1 += c;
    c = Math.floor(h1 * INV_LIMB);
    h1 -= c * LIMB;
    h2 += c;
    c = Math.floor(h2 * INV_LIMB);
    h2 -= c * LIMB;
    h3 += c;
    c = Math.floor(h3 * INV_LIMB);
    h3 -= c * LIMB;
    h4 += c;
    c = Math.floor(h4 * INV_LIMB);
    h4 -= c * LIMB;
    h5 += c;
  }
  // Now h < 2^130. Compute g = h + 5 - 2^130; if g >= 0 then h >= p and the result is g.
  let g0 = h0 + 5;
  c = Math.floor(g0 * INV_LIMB);
  g0 -= c * LIMB;
  let g1 = h1 + c;
  c = Math.floor(g1 * INV_LIMB);
  g1 -= c * LIMB;
  let g2 = h2 + c;
  c = Math.floor(g2 * INV_LIMB);
  g2 -= c * LIMB;
  let g3 = h3 + c;
  c = Math.floor(g3 * INV_LIMB);
  g3 -= c * LIMB;
  let g4 = h4 + c;
  c = Math.floor(g4 * INV_LIMB);
  g4 -= c * LIMB;
  const g5 = h5 + c - 1048576;
  // Select without a data-dependent branch: mask is all ones when g5 >= 0.
  const useG = ((g5 >= 0 ? 1 : 0) * -1) | 0;
  const keepH = ~useG;
  h0 = (h0 & keepH) | (g0 & useG);
  h1 = (h1 & keepH) | (g1 & useG);
  h2 = (h2 & keepH) | (g2 & useG);
  h3 = (h3 & keepH) | (g3 & useG);
  h4 = (h4 & keepH) | (g4 & useG);
  h5 = (h5 & keepH) | ((g5 & 0xfffff) & useG);

  // Repack into 32-bit words (mod 2^128) and add s = key[16..32) (RFC 8439 §2.5).
  const t0 = (h0 | (h1 << 22)) >>> 0;
  const t1 = ((h1 >>> 10) | (h2 << 12)) >>> 0;
  const t2 = ((h2 >>> 20) | (h3 << 2) | (h4 << 24)) >>> 0;
  const t3 = ((h4 >>> 8) | (h5 << 14)) >>> 0;
  let f = t0 + le32(key, keyOff + 16);
  const o0 = f >>> 0;
  f = t1 + le32(key, keyOff + 20) + (f > 0xffffffff ? 1 : 0);
  const o1 = f >>> 0;
  f = t2 + le32(key, keyOff + 24) + (f > 0xffffffff ? 1 : 0);
  const o2 = f >>> 0;
  f = t3 + le32(key, keyOff + 28) + (f > 0xffffffff ? 1 : 0);
  const o3 = f >>> 0;
  writeLe32(out, outOff, o0);
  writeLe32(out, outOff + 4, o1);
  writeLe32(out, outOff + 8, o2);
  writeLe32(out, outOff + 12, o3);
}

function writeLe32(b: Uint8Array, i: number, v: number): void {
  b[i] = v;
  b[i + 1] = v >>> 8;
  b[i + 2] = v >>> 16;
  b[i + 3] = v >>> 24;
}

/**
 * chacha20-poly1305@openssh.com for one direction of the transport.
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

  // PROTOCOL.chacha20poly1305: K_2 = first 32 bytes (payload + Poly1305 key), K_1 = last 32 (length).
  private readonly mainKey: Uint8Array;
  private readonly headerKey: Uint8Array;
  // Nonce = sequence number as a big-endian uint64; the high half is always 0 (seq is uint32).
  private readonly nonce = new Uint8Array(8);
  private readonly zeros32 = new Uint8Array(32);
  private readonly polyKey = new Uint8Array(32);
  private readonly tag = new Uint8Array(16);
  private readonly lenScratch = new Uint8Array(4);

  constructor(key: Uint8Array) {
    if (key.length !== 64) {
      throw new UsageError(`chacha20-poly1305@openssh.com needs a 64-byte key, got ${key.length}`);
    }
    this.mainKey = key.slice(0, 32);
    this.headerKey = key.slice(32, 64);
  }

  private setNonce(seq: number): void {
    const n = this.nonce;
    n[4] = seq >>> 24;
    n[5] = seq >>> 16;
    n[6] = seq >>> 8;
    n[7] = seq;
  }

  // PROTOCOL.chacha20poly1305: the Poly1305 key is K_2's keystream block 0, first 32 bytes.
  private computeTag(buf: Uint8Array, off: number, packetLength: number): void {
    chacha20orig(this.mainKey, this.nonce, this.zeros32, this.polyKey, 0);
    poly1305Into(this.polyKey, 0, buf, off, off + 4 + packetLength, this.tag, 0);
  }

  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void {
    this.setNonce(seq);
    const len = buf.subarray(off, off + 4);
    // PROTOCOL.chacha20poly1305: length under K_1 at block counter 0.
    chacha20orig(this.headerKey, this.nonce, len, len, 0);
    const payload = buf.subarray(off + 4, off + 4 + packetLength);
    // PROTOCOL.chacha20poly1305: payload under K_2 from block counter 1.
    chacha20orig(this.mainKey, this.nonce, payload, payload, 1);
    this.computeTag(buf, off, packetLength);
    buf.set(this.tag, off + 4 + packetLength);
  }

  decryptLength(seq: number, buf: Uint8Array, off: number): number {
    this.setNonce(seq);
    chacha20orig(this.headerKey, this.nonce, buf.subarray(off, off + 4), this.lenScratch, 0);
    return readUint32(this.lenScratch, 0);
  }

  open(seq: number, buf: Uint8Array, off: number, packetLength: number): void {
    this.setNonce(seq);
    this.computeTag(buf, off, packetLength);
    // PROTOCOL.chacha20poly1305: verify (constant time) before decrypting anything.
    const t = this.tag;
    const at = off + 4 + packetLength;
    let diff = 0;
    for (let i = 0; i < 16; i++) diff |= t[i]! ^ buf[at + i]!;
    if (diff !== 0) {
      throw new ProtocolError(`Corrupted MAC on input: message authentication code mismatch (packet ${seq})`, {
        code: 'ERR_MAC',
        reason: DisconnectReason.MAC_ERROR,
      });
    }
    const payload = buf.subarray(off + 4, off + 4 + packetLength);
    chacha20orig(this.mainKey, this.nonce, payload, payload, 1);
  }

  dispose(): void {
    this.mainKey.fill(0);
    this.headerKey.fill(0);
    this.polyKey.fill(0);
    this.tag.fill(0);
    this.lenScratch.fill(0);
  }
}
