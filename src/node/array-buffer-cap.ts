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
 * grew by a cap over what the last one left alive: that growth is the garbage it lets pile up. The
 * hot paths that make such garbage call {@link noteArrayBufferBytes} with their byte counts (a
 * counter, no call into V8); every {@link CHECK_BYTES} the real figure
 * (`process.memoryUsage().arrayBuffers`, ~10 µs) is compared with the live figure plus the cap. A
 * scavenge of a heap whose young objects are nearly all dead costs about half a millisecond; what
 * stays alive (bytes in flight to a slow local reader, the packet encoder's output chunks) becomes
 * the next baseline, so live data never makes it scavenge in a loop, and never eats into the
 * allowance for garbage either.
 *
 * Only the CLI turns it on (its own process, as src/node/v8-tuning.ts): it needs V8's `gc`
 * function (./v8-gc.ts), which a library must not take from its host. Off: {@link noteArrayBufferBytes}
 * is a counter and a comparison. This module imports nothing: the node:crypto provider, which
 * also runs in Bun, Deno and workerd (no node:v8 there), calls it.
 */
/**
 * ArrayBuffer memory, bytes, that may grow past what the last scavenge left alive before the CLI
 * asks for the next one. 1 MiB over the live figure. The cap was first an absolute 8 MiB of
 * ArrayBuffers, which let the garbage depend on what was live: a 256 MiB download kept ~4 MiB
 * alive (the 2 MiB channel window of plaintext queued to the local socket, the read buffer,
 * output chunks), so 4 MiB of garbage, 53 scavenges; an upload kept 1.4 MiB alive, so 7.3 MiB of
 * garbage, 36 scavenges, and glibc's main heap as much larger. Measured as an absolute figure, 6
 * MiB cost up to 0.4 s more CPU per GiB in downloads and 4 MiB scavenged at every check in an
 * upload (the buffers queued for the SSH socket alone are near 4 MiB); over the live figure the
 * download scavenges as before and the upload as often as the download. 4 MiB over the live
 * figure, then 2 (bench/tools/rss-peak.ts, 256 MiB, 4 runs each, --trace-gc): glibc's main heap
 * at the peak 6.6 → 4.6 MiB, anonymous RSS outside the thread arenas 21.6 → 19.4 MiB (download)
 * and 21.8 → 19.5 (upload); scavenges per process 85 → 152, at a median 0.3 ms each about 20 ms
 * more CPU per 256 MiB (~2 %, under the runs' spread); the full collections stayed at the one
 * the cap asks for, and old space used at the peak at 5.9–6.3 MiB (nothing in
 * flight was promoted for lack of garbage between scavenges). 3 MiB saved half as much. Then 2 → 1
 * MiB (rss-peak.ts, 1 GiB, the size issue 14 names, 5 interleaved runs each, quiet machine): a
 * download's peak RSS 61.0 (59.4–61.5) → 58.7 (58.5–59.5) MiB, glibc's main heap at the peak 6.3
 * → 3.3, CPU per GiB 1.93 → 1.94 s; with the bench's hashing reader (`--hash`, 4 runs) 61.0 →
 * 60.4 MiB (ranges overlap: its peak comes in the first 250 ms, with the backlog); an upload's
 * 58.3 → 58.2 MiB, CPU 2.51 → 2.61 s/GiB (ranges overlap).
 */
export const DEFAULT_ARRAY_BUFFER_CAP = 1 * 1024 * 1024;

/** Bytes noted between two looks at the real ArrayBuffer figure. */
export const CHECK_BYTES = 1024 * 1024;

/** V8's `gc` function (the `--expose-gc` extension). */
export type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;
let cap = 0;
/** ArrayBuffer memory alive, bytes: the lowest figure seen since the last scavenge (or since enabling). */
let live = 0;
/** Bytes noted since the last scavenge the cap ran (or since it was enabled). */
let noted = 0;
/** Bytes noted when the real figure is next looked at. */
let nextLook = CHECK_BYTES;

/**
 * The first look at the real figure after {@link enableArrayBufferCap} (once {@link CHECK_BYTES}
 * or a quarter of the cap was noted: the first MiB of traffic) runs a full collection (`gc()`
 * without options) whatever the figure. What start-up and login left in V8's old generation is
 * garbage no scavenge frees, and a forwarding process, whose old generation hardly grows, may
 * never run a full collection of its own (none in a 256 MiB download, `--trace-gc`): above all
 * the bin's two file buffers (src/node/cli-bin.cts reads the bundle and its code cache into
 * WebAssembly memories, 1.1 and 0.8 MB, which V8 puts in the old generation), then the key
 * exchange's and the CLI's start-up objects (old space at a download's peak: 6.2–7.2 MiB used
 * without, 6.2–6.3 with). At the peak of a 256 MiB download (bench/tools/rss-peak.ts, 6 runs
 * each): anonymous RSS outside glibc's thread arenas 23.4 → 21.1 MiB, for one collection of
 * 7–13 ms at the first MiB of traffic (the bench's warm-up), not at start-up. `gc({ type:
 * 'major' })` is not enough: in V8 11.3 it left the dead WebAssembly memories mapped (measured).
 */
let fullCollectionDue = false;

/**
 * What the first look's full collection left: the process's own ArrayBuffers, before any
 * backlog. A buffer alive at two scavenges in a row (bytes in flight to a slow local reader: the
 * bench's, which hashes what it reads, or any reader slower than the server) is moved to V8's
 * old generation with its JSArrayBuffer, and its memory is freed only by a full collection,
 * which V8 starts for external memory only after 64 MiB more of it (heap.cc
 * external_memory_limit). The figure a scavenge leaves then counts those dead buffers as live,
 * and it crept up: in the bench's 256 MiB downloads on a loaded machine, 0.9 -> 5.8 -> 9.2 -> 11
 * MiB within a second, up to 20-40 MiB, peak ArrayBuffer memory 17-69 MiB and peak RSS 78-135
 * MiB (a debug log of each look, 3 runs). When a scavenge left more than twice the cap above
 * this base, the cap runs a full collection instead ({@link capFullCollections}), at most once
 * per {@link FULL_COLLECTION_BYTES} noted: a backlog that is really alive stays above the base
 * however often it collects, and a full collection (compacting, src/node/v8-tuning.ts) costs
 * 10-50 ms. Twice the cap: a live backlog comes and goes by up to the channel window (2 MiB)
 * plus a socket read.
 */
let base = 0;

/** Bytes noted, at least, between two of the full collections {@link base} describes. */
export const FULL_COLLECTION_BYTES = 32 * 1024 * 1024;

/** Bytes noted since the last full collection. */
let sinceFull = 0;

/** Collections run by the cap so far, scavenges and full ones (diagnostics, tests). */
export let capScavenges = 0;

/** Full collections run by the cap after the first, for dead buffers in the old generation (see `base`). */
export let capFullCollections = 0;

/**
 * Cap the ArrayBuffer memory left for V8 to collect at about `bytes` over what is alive (see the
 * module comment), collecting with `collect` (./v8-gc.ts takeGc). Returns false without one (the
 * cap stays off). `collect` may also be `{ take }`, a function that gives it: it is then called at
 * the first look (the first MiB of traffic), not now, so that taking V8's `gc` (a fresh context,
 * ~1.7 ms) is not on the way from login to the first forwarded byte; if it gives nothing the cap
 * turns itself off there. Nothing is measured here either: that first look runs a full collection
 * and takes the live figure and the base from what it leaves.
 */
export function enableArrayBufferCap(
  collect: Gc | { take: () => Gc | undefined } | undefined,
  bytes: number = DEFAULT_ARRAY_BUFFER_CAP,
): boolean {
  if (typeof collect === 'function') {
    gc = collect;
    takeLater = undefined;
  } else if (collect !== undefined && typeof collect.take === 'function') {
    gc = undefined;
    takeLater = collect.take;
  } else return false;
  cap = bytes;
  sinceFull = 0;
  noted = 0;
  nextLook = Math.max(CHECK_BYTES, cap / 4);
  fullCollectionDue = true;
  return true;
}

/** What gives V8's `gc` at the first look, when {@link enableArrayBufferCap} was given `{ take }`. */
let takeLater: (() => Gc | undefined) | undefined;

/** Run once the first look's full collection is done (see {@link onFirstFullCollection}). */
let afterFirst: (() => void) | undefined;

/**
 * `fn` runs right after the first look's full collection: src/node/v8-tuning.ts turns V8's
 * compaction at every full collection off there, which that one collection needs (it gives back
 * the pages start-up left part-empty) and the later ones do not: each compacting collection
 * first moves the live objects to new pages, and the V8 heap's RSS rose by 3–4 MiB for its
 * length, a download's peak when it came at the top of the main heap (bench/tools/rss-peak.ts,
 * loaded machine).
 */
export function onFirstFullCollection(fn: () => void): void {
  afterFirst = fn;
}

/** See {@link scavengeByTraffic}. */
let byTraffic = false;

/**
 * Also scavenge once {@link noteArrayBufferBytes} noted the cap's worth of bytes since the last
 * scavenge, whatever the real figure. For the CLI once it frees node:crypto's results as soon as
 * they are done with (./array-buffer-release.ts): the ArrayBuffer figure then hardly grows and the
 * cap alone would stop scavenging; V8 would scavenge only once the young generation is full, and
 * every page of its semi-spaces would be resident. Measured (bench/tools/rss-peak.ts, 256 MiB
 * upload, 2 alternated runs): V8 heap pages at the peak 7.5 → 9.3 MiB and peak RSS 58.8 → 61.3
 * MiB without this; the scavenges the cap ran before (one per ~1.7 MiB of traffic) kept the
 * objects between two in a few pages.
 */
export function scavengeByTraffic(on: boolean): void {
  byTraffic = on;
}

/** Turn the cap off (tests). */
export function disableArrayBufferCap(): void {
  cap = 0;
  byTraffic = false;
}

/**
 * `n` bytes of short-lived ArrayBuffer memory were just made (a node:crypto result). Cheap: the
 * real figure is looked at every {@link CHECK_BYTES}, and only once a quarter of the cap was noted
 * since the last scavenge: where V8 frees the dead ArrayBuffers a scavenge found on a background
 * thread, the figure lags just after one, and bytes in flight (to a slow local reader) must not live
 * through two scavenges in a row, which would move them to the old generation, freed only by a
 * full collection.
 */
export function noteArrayBufferBytes(n: number): void {
  noted += n;
  if (noted < nextLook) return;
  nextLook = noted + CHECK_BYTES;
  if (cap === 0) return;
  if (gc === undefined) {
    const take = takeLater;
    takeLater = undefined;
    gc = take?.();
    if (gc === undefined) {
      cap = 0;
      return;
    }
  }
  let full = false;
  if (fullCollectionDue) {
    fullCollectionDue = false;
    gc();
    afterFirst?.();
    // The first look's collection: what it leaves is the base (see `base`).
    sinceFull = 0;
    live = base = process.memoryUsage().arrayBuffers;
  } else {
    const now = process.memoryUsage().arrayBuffers;
    // Where a helper thread frees the dead buffers after the scavenge (V8's default; the CLI frees
    // them inside it, src/node/v8-tuning.ts), the figure taken just after it still counts them:
    // the lowest figure seen since is the live one, or the garbage allowed would grow by the
    // lagging part at every scavenge.
    if (now < live) live = now;
    if (now < live + cap && !(byTraffic && noted >= cap)) return;
    // What the last collection left, more than twice the cap above the base: dead buffers in
    // the old generation, which only a full collection frees (see `base`).
    full = live > base + 2 * cap && sinceFull >= FULL_COLLECTION_BYTES;
    if (full) {
      gc();
      capFullCollections++;
    } else gc({ type: 'minor' });
  }
  live = process.memoryUsage().arrayBuffers;
  if (full) sinceFull = 0;
  else sinceFull += noted;
  capScavenges++;
  noted = 0;
  nextLook = Math.max(CHECK_BYTES, cap / 4);
}
