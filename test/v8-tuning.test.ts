/**
 * Issue 14: the V8 flags the CLI sets once it forwards (src/node/v8-tuning.ts), seen by their
 * effects in this process (a forked test worker of its own): the young generation stops growing,
 * a scavenge frees the ArrayBuffers it finds dead before it returns, a full collection compacts
 * the old generation, and the code cache, which
 * V8 ties to the flags in force, is made and checked under V8's defaults through the hook the
 * bin uses (src/node/cli-bin.cts).
 */
import { execFileSync } from 'node:child_process';
import { getHeapSpaceStatistics } from 'node:v8';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { takeGc } from '../src/node/v8-gc.js';
import { FORWARDING_FLAGS, tuneV8ForForwarding, V8_DEFAULTS_HOOK } from '../src/node/v8-tuning.js';

const gc = takeGc()!;
const MiB = 1024 * 1024;
const knownV8 = process.versions.v8.startsWith('11.3.');

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
}

function oldSpaceCommitted(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.physical_space_size;
}

/** Short-lived objects, a few surviving each scavenge: what makes V8 grow its young generation. */
function churn(): void {
  let keep: object[] = [];
  for (let i = 0; i < 3e6; i++) {
    keep.push({ i });
    if (keep.length > 50_000) keep = [];
  }
}

/** ArrayBuffer bytes right after a scavenge that finds `n` MiB of them dead. */
function afterScavenge(n: number): number {
  for (let i = 0; i < n * 4; i++) new Uint8Array(256 * 1024).fill(1);
  gc({ type: 'minor' });
  return process.memoryUsage().arrayBuffers;
}

/** V8's code cache for `source`, made under the flags in force now. */
function cacheFor(source: string): Buffer {
  const s = new Script(source);
  s.runInThisContext();
  return s.createCachedData();
}

/** Whether a fresh node (V8's default flags, as the next CLI process starts) takes `cache` for `source`. */
function acceptedByFreshNode(source: string, cache: Buffer): boolean {
  const code = `const { Script } = require('node:vm'); const s = new Script(${JSON.stringify(source)}, { cachedData: Buffer.from(process.argv[1], 'base64') }); process.stdout.write(String(!s.cachedDataRejected));`;
  return execFileSync(process.execPath, ['-e', code, cache.toString('base64')], { encoding: 'utf8' }) === 'true';
}

const source = 'function double(x) { return x * 2 } double(21)';

describe.runIf(knownV8)('V8 flags while forwarding (issue 14)', () => {
  it('before: a code cache made here is good for a fresh node', () => {
    expect(acceptedByFreshNode(source, cacheFor(source))).toBe(true);
    expect(Object.keys(FORWARDING_FLAGS)).toEqual([
      'interrupt-budget',
      'semi-space-growth-factor',
      'concurrent-array-buffer-sweeping',
      'compact-on-every-full-gc',
    ]);
  });

  it('after: the young generation keeps its size, dead ArrayBuffers are freed within the scavenge', () => {
    gc({ type: 'major' });
    tuneV8ForForwarding();
    const young = newSpaceBytes();
    churn();
    expect(newSpaceBytes()).toBe(young);
    // With the sweeping on a helper thread most of 32 MiB would still be counted here.
    expect(afterScavenge(32)).toBeLessThan(4 * MiB);
  });

  it('after: a full collection compacts the old generation, giving back the pages it leaves part-empty', () => {
    // 16 MiB of small objects moved to the old generation, then every other one dropped: each of
    // their pages half empty, which a full collection without compaction keeps committed.
    let objs: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, pad: [i, i, i, i, i, i, i, i, i, i] }));
    gc();
    gc();
    const kept = objs.filter((_, i) => i % 2 === 0);
    objs = undefined;
    const before = oldSpaceCommitted();
    gc();
    expect(before - oldSpaceCommitted()).toBeGreaterThan(4 * MiB);
    expect(kept.length).toBe(100_000);
  });

  it('the code cache is made under the defaults through the hook (cli-bin.cts), and only then good for the next process', () => {
    // The flags in force are part of a cache's validity (V8 keeps their hash in it).
    expect(acceptedByFreshNode(source, cacheFor(source))).toBe(false);
    const underDefaults = (globalThis as Record<symbol, unknown>)[V8_DEFAULTS_HOOK] as <T>(fn: () => T) => T;
    expect(typeof underDefaults).toBe('function');
    expect(acceptedByFreshNode(source, underDefaults(() => cacheFor(source)))).toBe(true);
    // The forwarding flags are back in force afterwards.
    expect(acceptedByFreshNode(source, cacheFor(source))).toBe(false);
  });
});
