/**
 * Freeing an ArrayBuffer's memory the moment its bytes are no longer needed, instead of when V8
 * next collects it (issue 14).
 *
 * node:crypto returns every result in a new Buffer (`Cipher.update()` has no output argument):
 * one per packet each way of a bulk transfer. Its memory (malloc'd, outside V8's heap) goes back
 * to glibc only when a collection finds the JSArrayBuffer dead; a plaintext that waited for a slow
 * local reader outlives two scavenges, is promoted, and waits for a full collection. glibc keeps
 * the high-water mark of what piled up meanwhile, which is what made the CLI's RSS grow with the
 * machine's load (README "Memory").
 *
 * Detaching an ArrayBuffer frees its backing store at once: ECMA-262 (ES2024)
 * ArrayBuffer.prototype.transfer (#sec-arraybuffer.prototype.transfer, ArrayBufferCopyAndDetach)
 * with a new length of 0 performs DetachArrayBuffer on the buffer and returns a new empty one; V8
 * does exactly that for length 0 (builtins-arraybuffer.cc ArrayBufferTransfer, "Case 1":
 * JSArrayBuffer::Detach, which drops the buffer's BackingStore reference), so with no other
 * reference the store is freed before the call returns. A buffer with a detach key or not
 * detachable (a WebAssembly memory) throws a TypeError instead, and is left alone.
 * Measured on Node 20 (V8 11.3) with 32 KiB results of `Decipher.update()` kept referenced:
 * glibc's main heap stays at 2.7 MiB over 256 MiB made, against 257.8 MiB without detaching;
 * 0.1–0.25 µs per call, free() included, and in a decrypt loop less CPU in all (memory reused warm
 * instead of fresh pages after each collection: 22 → 7 µs per 32 KiB).
 *
 * On Node ≥ 22 (V8 ≥ 11.4) `ArrayBuffer.prototype.transfer` is standard and is used as it is. On
 * Node 20 V8 has it behind `--harmony-rab-gsab-transfer`, which decides only whether a context's
 * `ArrayBuffer.prototype` gets the function when the context is made: the flag is set while one
 * fresh `vm` context is made and cleared again (as ./v8-gc.ts does for `gc`), so the flags in
 * force afterwards, whose hash V8's code cache checks, are the ones the process started with, and
 * the main context's ArrayBuffer.prototype never has it. The builtin works on any context's
 * ArrayBuffers.
 *
 * What may be detached is decided by those who know no one else holds the memory:
 * - {@link releaseScratch}: a node:crypto result the caller copied out and drops (the runtime
 *   provider's seal path, src/node/crypto-provider.ts), when it spans its whole ArrayBuffer (a
 *   runtime that carves results from a pool of its own is left alone);
 * - {@link releaseWritten}: a received payload the CLI's forwarders (forward.ts, stdio-forward.ts)
 *   wrote to a local socket, once the kernel has it, when the packet decoder marked its buffer as
 *   the packet's alone (src/transport/exclusive-payload.ts). Data handed to a library user's
 *   'data' listener or stream is never detached.
 *
 * The first detach also invalidates V8's ArrayBufferDetaching protector (js-array-buffer.cc
 * JSArrayBuffer::Detach): optimized code that assumed no buffer is ever detached is deoptimized
 * once and checks from then on. Measured with it, CLI client CPU per GiB (bench, alternated with
 * the code before, quiet machine): download 4.12 / 3.72 → 4.00 / 3.44 s, upload 5.76 / 5.92 →
 * 3.80 / 3.40 s; peak RSS 63.8 / 63.3 → 62.5 / 62.6 and 61.1 / 61.5 → 60.1 / 60.1 MiB (README
 * "Memory" for the loaded machine).
 *
 * Only the CLI turns it on ({@link enableArrayBufferRelease}, src/node/cli.ts): a library must not
 * set V8 flags or change its host's buffers. Off, both functions return at once. This module
 * imports only the core's marks: the node:crypto provider, which also runs in Bun, Deno and
 * workerd, calls it.
 */
import { markExclusivePayloads, takeExclusive } from '../transport/exclusive-payload.js';

/** ArrayBuffer.prototype.transfer, called with `this` the buffer to detach and a new length of 0. */
export type Transfer = (this: ArrayBufferLike, newLength?: number) => ArrayBuffer;

let transfer: Transfer | undefined;

/** Buffers detached so far (diagnostics, tests). */
export let releasedBuffers = 0;

/**
 * Detach what {@link releaseScratch} and {@link releaseWritten} are given from now on, with
 * `t` (./v8-gc.ts takeTransfer); also turns on the decoder's marks. False without a `t`.
 */
export function enableArrayBufferRelease(t: Transfer | undefined): boolean {
  if (typeof t !== 'function') return false;
  transfer = t;
  markExclusivePayloads(true);
  return true;
}

/** Turn it off (tests). */
export function disableArrayBufferRelease(): void {
  transfer = undefined;
  markExclusivePayloads(false);
}

/** Whether buffers are being detached. */
export function releasingArrayBuffers(): boolean {
  return transfer !== undefined;
}

function detach(t: Transfer, ab: ArrayBufferLike): void {
  try {
    t.call(ab, 0);
    releasedBuffers++;
  } catch {
    // Not detachable (a detach key, a WebAssembly memory): left to the collector.
  }
}

/**
 * `buf` is a runtime crypto result whose bytes the caller has copied and drops now: its memory
 * is freed at once when it is all of its ArrayBuffer.
 */
export function releaseScratch(buf: Uint8Array): void {
  const t = transfer;
  if (t === undefined) return;
  const ab = buf.buffer;
  if (buf.byteOffset === 0 && buf.byteLength === ab.byteLength && ab.byteLength > 0) detach(t, ab);
}

/**
 * The ArrayBuffer of `chunk`, a received payload the caller is about to write to a local socket,
 * when it may be detached once written (the decoder marked it; the mark is taken, so it is
 * detached at most once); undefined otherwise. The caller passes it to {@link detachWritten}
 * once the write is done, and only if it is the chunk's only consumer.
 */
export function releasableAfterWrite(chunk: Uint8Array): ArrayBufferLike | undefined {
  return transfer === undefined ? undefined : takeExclusive(chunk);
}

/** Detach `ab` from {@link releasableAfterWrite}: its write completed. */
export function detachWritten(ab: ArrayBufferLike): void {
  const t = transfer;
  if (t !== undefined) detach(t, ab);
}

/** {@link releasableAfterWrite} and {@link detachWritten} at once, for a chunk already written. */
export function releaseWritten(chunk: Uint8Array): void {
  const t = transfer;
  if (t === undefined) return;
  const ab = takeExclusive(chunk);
  if (ab !== undefined) detach(t, ab);
}
