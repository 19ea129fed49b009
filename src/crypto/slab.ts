/**
 * Fresh memory for small, short-lived byte arrays (the plaintext of a small received packet,
 * decrypted out of place), carved from 8 KiB slabs. Each `new Uint8Array(n)` of more than a few
 * dozen bytes is its own ArrayBuffer with an off-heap backing store: an allocator call, a V8
 * extension to sweep and external-memory accounting, measured at several hundred nanoseconds per
 * packet on the `-L` echo path (perf: BackingStore::Allocate, malloc, AppendArrayBufferExtension
 * under the GCM open of every received packet). A carve is a view of a slab instead.
 *
 * Carved memory is never handed out twice: a full slab is dropped, not refilled, and lives on
 * only while a view of it is referenced. So a carve has the guarantee of `new Uint8Array(n)`
 * (memory no one else writes), which is what PacketDecoder promises of its payloads. A view that
 * is kept pins at most one slab beside the bytes it holds (views are carved in order). That is
 * why slabs are small, the size of Node's Buffer pool (`Buffer.poolSize`, whose carves are also
 * at most half of it): a caller who keeps one small payload in a thousand pins 8 KiB for it,
 * not 64; a new slab every ~80 echo-sized packets costs nothing measurable.
 */

/** Bytes per slab. */
export const SLAB_BYTES = 8 * 1024;
/** Larger requests get their own array: a slab is meant to serve many. */
export const SLAB_MAX_CARVE = 4 * 1024;

let slab = new Uint8Array(0);
/** The slab's memory as 32-bit words, made once per slab (not per carve). */
let words = new Int32Array(0);
let used = 0;

/**
 * Reserve `n` (at most {@link SLAB_MAX_CARVE}) bytes of fresh memory: their offset in
 * {@link slabBytes} (a multiple of 8; word access stays aligned), valid until the next call. For
 * a caller that writes the bytes itself (e.g. ChaCha20 decrypting straight into the slab) and
 * makes the one view it hands out, rather than copying into a view made here.
 */
export function carve(n: number): number {
  if (n > SLAB_MAX_CARVE) throw new RangeError(`slab carve of ${n} bytes (at most ${SLAB_MAX_CARVE})`);
  if (used + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    words = new Int32Array(slab.buffer);
    used = 0;
  }
  const at = used;
  used = (used + n + 7) & ~7;
  return at;
}

/** The slab the last {@link carve} came from. */
export function slabBytes(): Uint8Array {
  return slab;
}

/** {@link slabBytes} as 32-bit words (host order). */
export function slabWords(): Int32Array {
  return words;
}

/**
 * A copy of `src[start, end)` in fresh memory: a view of a slab for up to {@link SLAB_MAX_CARVE}
 * bytes, its own array above. Views start at a multiple of 8 bytes (word access stays aligned).
 */
export function copyToSlab(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > SLAB_MAX_CARVE) return src.slice(start, end);
  const at = carve(n);
  const s = slab;
  // A whole source is copied as it is: a view of it would be another typed array per call.
  s.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
  return s.subarray(at, at + n);
}
