/**
 * Which received payloads sit alone in an ArrayBuffer the core owns outright, so that a consumer
 * which is the only holder of the data once it is handed out (the CLI's own forwarders) may free
 * that memory as soon as it is done with it, instead of waiting for V8 to collect it
 * (src/node/array-buffer-release.ts).
 *
 * {@link PacketDecoder} marks the plaintext of a packet a cipher decrypted out of place
 * (`PacketCipher.open` with `outOfPlace`: "a new buffer the caller owns") when that plaintext is
 * all of its ArrayBuffer: offset 0 and the buffer's whole length. That is node:crypto's result
 * for one packet (Node's CipherBase::Update allocates a backing store per call and shrinks it to
 * the output). It also marks the private copy of one packet it makes for an in-place cipher (a
 * slice of lent input, or a fresh buffer the packet was assembled in). Never marked: slab carves
 * (src/crypto/slab.ts: many packets share one 8 KiB buffer), the socket's read buffer and the
 * decoder's reused reassembly buffer (packets are read or decrypted from them, never handed out),
 * input the caller pushed (`borrow`, or `copy`'s copy of a whole read, which holds several
 * packets), Node's 8 KiB Buffer pool (never a whole buffer), and a decompressed payload. The core hands out one view of a marked buffer, the
 * CHANNEL_DATA data (RFC 4254 §5.2), and keeps none: a consumer that took the mark with
 * {@link takeExclusive} holds the only reference to those bytes once it dropped its own.
 *
 * Only payloads of {@link EXCLUSIVE_MIN_BYTES} or more are marked and taken: smaller ones are what
 * slabs serve (never marked, so a look-up in the WeakSet would only find nothing), and what a
 * small buffer of an in-place cipher's own holds is little memory, left to the collector. The
 * per-message path of a request/response protocol so pays one length comparison each way, not
 * a typed array's `buffer` (a call V8 does not inline) and a WeakSet look-up: in callgrind of
 * `pgbench -S -c 4` through -L, ~400 instructions per transaction of ~37k.
 *
 * Off unless {@link markExclusivePayloads} turned it on (the CLI does, src/node/cli.ts): then one
 * WeakSet insertion per large packet. The core's promise that the buffers it hands out are never
 * reused or changed stays: only a consumer that took the mark may detach, and a library user's
 * 'data' listener never does.
 */
import { SLAB_MAX_CARVE } from '../crypto/slab.js';

let marked: WeakSet<ArrayBufferLike> | null = null;

/**
 * The smallest payload (and packet plaintext) marked and taken: the largest slab carve. A payload
 * is shorter than the plaintext it is in, so every payload of this size or more was marked if its
 * buffer was the packet's own.
 */
export const EXCLUSIVE_MIN_BYTES = SLAB_MAX_CARVE;

/** Start (or stop) marking exclusive payloads. */
export function markExclusivePayloads(on: boolean): void {
  marked = on ? new WeakSet() : null;
}

/** Whether payloads are being marked. */
export function markingExclusivePayloads(): boolean {
  return marked !== null;
}

/**
 * The decoder's check (see the module comment): `plain` is a cipher's out-of-place result for
 * one packet; its ArrayBuffer is marked when `plain` spans all of it.
 */
export function markIfExclusive(plain: Uint8Array): void {
  const m = marked;
  if (m === null || plain.length < EXCLUSIVE_MIN_BYTES) return;
  const ab = plain.buffer;
  if (plain.byteOffset === 0 && plain.byteLength === ab.byteLength && plain.byteLength > 0) m.add(ab);
}

/**
 * The ArrayBuffer of `chunk` (a view of a received payload) when the decoder marked it exclusive,
 * unmarking it: the caller now answers for it alone. Undefined otherwise (always for a chunk
 * shorter than {@link EXCLUSIVE_MIN_BYTES}).
 */
export function takeExclusive(chunk: Uint8Array): ArrayBufferLike | undefined {
  const m = marked;
  if (m === null || chunk.length < EXCLUSIVE_MIN_BYTES) return undefined;
  const ab = chunk.buffer;
  return m.delete(ab) ? ab : undefined;
}
