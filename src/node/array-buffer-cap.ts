/**
 * A cap on the ArrayBuffer memory a forwarding process lets pile up between garbage collections.
 *
 * node:crypto returns every result in a new Buffer (`Cipher.update()` has no output argument), and
 * a socket's 'data' hands out a new Buffer per read, so a bulk transfer makes ArrayBuffers at the
 * rate it moves bytes, nearly all of them garbage within microseconds. Their memory (malloc'd,
 * outside the V8 heap) is freed only when a scavenge finds their JSArrayBuffer objects dead, and
 * V8 11.3 (Node 20) asks for one on account of that memory only once the young ArrayBuffers add up
 * to 2 × its largest semi-space, a compile-time 32 MiB on x64 (heap.cc AllocateExternalBackingStore;
 * no flag moves it). The objects themselves are tiny, so the young generation rarely fills first:
 * a 256 MiB download saw 8 scavenges, all for external memory pressure, each after ~32 MiB. glibc
 * keeps what was freed for reuse, so RSS stays at that high-water mark (bench `download`: 38 MiB
 * of peak ArrayBuffers, 106 MiB of RSS).
 *
 * {@link enableArrayBufferCap} makes the process run a scavenge itself once the ArrayBuffer memory
 * grew by a cap since the last one. The hot paths that make such garbage call
 * {@link noteArrayBufferBytes} with their byte counts (a counter, no call into V8); every
 * {@link CHECK_BYTES} the real figure (`process.memoryUsage().arrayBuffers`, ~10 µs) is compared
 * with the cap. A scavenge of a heap whose young objects are nearly all dead costs well under a
 * millisecond; what stays alive (bytes in flight to a slow local reader) raises the next mark, so
 * live data never makes it scavenge in a loop.
 *
 * Only the CLI turns it on (its own process, as src/node/v8-tuning.ts): it needs V8's `gc`
 * function (./v8-gc.ts), which a library must not take from its host. Off: {@link noteArrayBufferBytes}
 * is a counter and a comparison. This module imports nothing: the node:crypto provider, which
 * also runs in Bun, Deno and workerd (no node:v8 there), calls it.
 */
/**
 * ArrayBuffer memory, bytes, past which the CLI asks for a scavenge. 8 MiB, measured against 6
 * and 4 with the dead buffers freed inside the scavenge (src/node/v8-tuning.ts): 6 MiB kept the
 * main heap 1–2 MiB smaller but, in 512 MiB downloads interleaved with 8, cost up to 0.4 s more
 * CPU per GiB in two runs of three (117 cap scavenges per 256 MiB upload instead of 58); 4 MiB
 * scavenged at every check in an upload (254 per 256 MiB: the buffers queued for the SSH socket
 * alone are near 4 MiB) and moved more to the old generation.
 */
export const DEFAULT_ARRAY_BUFFER_CAP = 8 * 1024 * 1024;

/** Bytes noted between two looks at the real ArrayBuffer figure. */
export const CHECK_BYTES = 1024 * 1024;

/** V8's `gc` function (the `--expose-gc` extension). */
export type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;
let cap = 0;
/** Bytes noted since the last scavenge the cap ran (or since it was enabled). */
let noted = 0;
/** Bytes noted when the real figure is next looked at. */
let nextLook = CHECK_BYTES;

/** Scavenges run by the cap so far (diagnostics, tests). */
export let capScavenges = 0;

/**
 * Cap the ArrayBuffer memory left for V8 to collect at about `bytes` (see the module comment),
 * collecting with `collect` (./v8-gc.ts takeGc). Returns false without one (the cap stays off).
 */
export function enableArrayBufferCap(collect: Gc | undefined, bytes: number = DEFAULT_ARRAY_BUFFER_CAP): boolean {
  if (typeof collect !== 'function') return false;
  gc = collect;
  cap = bytes;
  noted = 0;
  nextLook = Math.max(CHECK_BYTES, cap / 4);
  return true;
}

/** Turn the cap off (tests). */
export function disableArrayBufferCap(): void {
  cap = 0;
}

/**
 * `n` bytes of short-lived ArrayBuffer memory were just made (a node:crypto result). Cheap: the
 * real figure is looked at every {@link CHECK_BYTES}, and only once a quarter of the cap was noted
 * since the last scavenge: V8 frees the dead ArrayBuffers a scavenge found on a background thread,
 * so the figure lags just after one, and bytes in flight (to a slow local reader) must not live
 * through two scavenges in a row, which would move them to the old generation, freed only by a
 * full collection.
 */
export function noteArrayBufferBytes(n: number): void {
  noted += n;
  if (noted < nextLook) return;
  nextLook = noted + CHECK_BYTES;
  if (cap === 0 || gc === undefined) return;
  if (process.memoryUsage().arrayBuffers < cap) return;
  gc({ type: 'minor' });
  capScavenges++;
  noted = 0;
  nextLook = Math.max(CHECK_BYTES, cap / 4);
}
