/**
 * Issue 14: the V8 flags the CLI sets for the login and once it forwards (src/node/v8-tuning.ts),
 * seen by their effects in this process (a forked test worker of its own): nothing is optimized
 * during the login and a hot function is soon after, the young generation stops growing,
 * a scavenge frees the ArrayBuffers it finds dead before it returns, a full collection compacts
 * the old generation until the ArrayBuffer cap's first one and no longer after it, and the code
 * cache, which
 * V8 ties to the flags in force, is made and checked under V8's defaults through the hook the
 * bin uses (src/node/cli-bin.cts).
 */
import { execFileSync } from 'node:child_process';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CHECK_BYTES, disableArrayBufferCap, enableArrayBufferCap, noteArrayBufferBytes } from '../src/node/array-buffer-cap.js';
import { takeGc } from '../src/node/v8-gc.js';
import { FORWARDING_FLAGS, tuneV8ForForwarding, tuneV8ForLogin, V8_DEFAULTS_HOOK } from '../src/node/v8-tuning.js';

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

/** V8's %GetOptimizationStatus (runtime/runtime-test.cc), compiled with natives syntax on only meanwhile. */
function optimizationStatus(): (f: unknown) => number {
  setFlagsFromString('--allow-natives-syntax');
  try {
    return new Function('f', 'return %GetOptimizationStatus(f)') as (f: unknown) => number;
  } finally {
    setFlagsFromString('--no-allow-natives-syntax');
  }
}
/** OptimizationStatus::kTurboFanned (V8 11.3: after kIsFunction, kNeverOptimize, kAlwaysOptimize, kMaybeDeopted, kOptimized, kMaglevved). */
const TURBOFANNED = 1 << 6;

/** Calls of the test function during the login and after (~200 bytes of bytecode run each). */
const CALLS_LOGIN = 150;
const CALLS_FORWARDING = 60;

/** Calls `f` until `done()` or `ms` have passed, letting V8's compiler thread finish meanwhile. */
async function runUntil(f: (x: number) => number, done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) {
    for (let i = 0; i < 10_000; i++) f(i);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Old-space bytes one full collection gives back after 16 MiB of small objects were moved to the
 * old generation and every other one dropped: each of their pages half empty, which a full
 * collection without compaction keeps committed.
 */
function halfEmptyPagesGivenBack(): number {
  let objs: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, pad: [i, i, i, i, i, i, i, i, i, i] }));
  gc();
  gc();
  const kept = objs.filter((_, i) => i % 2 === 0);
  objs = undefined;
  const before = oldSpaceCommitted();
  gc();
  const given = before - oldSpaceCommitted();
  expect(kept.length).toBe(100_000);
  return given;
}

describe.runIf(knownV8)('V8 flags while forwarding (issue 14)', () => {
  it('before: a code cache made here is good for a fresh node', () => {
    expect(acceptedByFreshNode(source, cacheFor(source))).toBe(true);
    expect(Object.keys(FORWARDING_FLAGS)).toEqual([
      'interrupt-budget',
      'semi-space-growth-factor',
      'concurrent-array-buffer-sweeping',
      'ticks-before-optimization',
      'compact-on-every-full-gc',
      'turbo-loop-peeling',
      'max-inlined-bytecode-size-cumulative',
    ]);
  });

  it('login: a function counts its ticks at the forwarding budget, and is optimized within a few calls once forwarding', async () => {
    const status = optimizationStatus();
    tuneV8ForLogin();
    // Over 81 bytes of bytecode: not optimized for being small (max-bytecode-size-for-early-opt).
    const warm = new Function('x', 'let s = 0; for (let i = 0; i < 4; i++) { s += (x + i) * 3; s ^= i << 2; s = (s + x) | 0; } return s + (x & 7) * 5 - (x >> 1);') as (x: number) => number;
    // A few ticks of 8 KiB during the login, far from TurboFan's 24 (by default, half of one tick of 66 KiB).
    for (let i = 0; i < CALLS_LOGIN; i++) warm(i);
    await runUntil(() => 0, () => false, 100);
    expect(status(warm) & TURBOFANNED).toBe(0);
    // A code cache made through the hook during the login is good for the next process too.
    const underDefaults = (globalThis as Record<symbol, unknown>)[V8_DEFAULTS_HOOK] as <T>(fn: () => T) => T;
    expect(acceptedByFreshNode(source, underDefaults(() => cacheFor(source)))).toBe(true);
    tuneV8ForForwarding();
    // One more tick: marked at once, as the ticks counted during the login are enough. Without
    // the login's flags the function would still be using up its first 66 KiB here.
    for (let i = 0; i < CALLS_FORWARDING; i++) warm(i);
    await runUntil(() => 0, () => (status(warm) & TURBOFANNED) !== 0, 3000);
    expect(status(warm) & TURBOFANNED).not.toBe(0);
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
    expect(halfEmptyPagesGivenBack()).toBeGreaterThan(4 * MiB);
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

  it('after the cap\'s first full collection, later ones do not compact (no 3-4 MiB of new pages for their length)', () => {
    enableArrayBufferCap(gc);
    try {
      // The first look runs the one compacting collection (array-buffer-cap.ts), then the flags change.
      noteArrayBufferBytes(CHECK_BYTES);
      expect(halfEmptyPagesGivenBack()).toBeLessThan(1 * MiB);
    } finally {
      disableArrayBufferCap();
    }
  });
});
