/**
 * Cheap bulk data for the throughput scenarios: a block of the harness's deterministic bytes
 * repeated, written straight from one buffer. Generating fresh pseudo-random bytes for a GiB
 * costs about as much CPU as OpenSSH's whole client, and on a 2-core machine the load generator
 * must not be what limits the fastest tool.
 *
 * The period is a prime, so block boundaries never line up with SSH packet, window or socket
 * buffer sizes; a lost, duplicated or reordered piece still changes the sha256 (the byte count
 * is checked separately).
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { deterministicChunks } from '../test/harness/net.js';

/** Bytes before the pattern repeats (a prime just under 1 MiB). */
export const PATTERN_PERIOD = 1_048_573;
/** Largest single write; big writes keep the generator's per-call cost negligible. */
const WRITE_SIZE = 256 * 1024;

const blocks = new Map<number, Buffer>();

/** The repeated block for `seed`. */
export function patternBlock(seed: number): Buffer {
  let block = blocks.get(seed);
  if (!block) {
    block = Buffer.concat([...deterministicChunks(PATTERN_PERIOD, seed)]);
    blocks.set(seed, block);
  }
  return block;
}

/** Calls `fn` with the successive pieces (views into the block) of `n` pattern bytes. */
function forEachPiece(n: number, seed: number, fn: (piece: Buffer) => void | boolean): void {
  const block = patternBlock(seed);
  let offset = 0;
  let left = n;
  while (left > 0) {
    const size = Math.min(WRITE_SIZE, left, PATTERN_PERIOD - offset);
    fn(block.subarray(offset, offset + size));
    offset = (offset + size) % PATTERN_PERIOD;
    left -= size;
  }
}

/** sha256 (hex) of `n` pattern bytes for `seed`. */
export function patternSha256(n: number, seed: number): string {
  const hash = createHash('sha256');
  forEachPiece(n, seed, (p) => {
    hash.update(p);
  });
  return hash.digest('hex');
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/** Writes `n` pattern bytes to `out` with backpressure, then ends it. */
export async function writePattern(out: Writable, n: number, seed: number, onProgress?: (written: number) => void): Promise<void> {
  const block = patternBlock(seed);
  let offset = 0;
  let left = n;
  while (left > 0) {
    if (out.destroyed) throw new Error('stream destroyed while writing');
    const size = Math.min(WRITE_SIZE, left, PATTERN_PERIOD - offset);
    const more = out.write(block.subarray(offset, offset + size));
    offset = (offset + size) % PATTERN_PERIOD;
    left -= size;
    onProgress?.(n - left);
    if (!more) await drained(out);
  }
  out.end();
}
