/**
 * The pure-ssh CLI's V8 settings for the login ({@link LOGIN_FLAGS}) and once the connection
 * forwards data ({@link FORWARDING_FLAGS}): an earlier tier-up, a young generation that stops growing, and ArrayBuffers freed within the
 * scavenge that finds them dead. The first in detail:
 *
 * V8 optimizes a function (TurboFan) after it has run about 3 + size/150 "interrupt budgets" of
 * its own bytecode, 66 KiB a budget in V8 11.3 (Node 20). The forwarding path is many small
 * functions, each run once or twice per message, so a new tunnel carries its first few thousand
 * messages through the interpreter and the baseline compiler at 2–4× the CPU per message: in the
 * bench's `latency` scenario the first 1,000 echo round trips cost 150–200 µs of CPU each, the
 * next 1,000 80–110 µs (OpenSSH's ssh: 30 µs). An eighth of the budget (8 KiB; 64, 16, 8, 4 and
 * 2 KiB measured) optimizes them within the first few hundred messages. It is set only once the
 * connection is up: from the start, it also optimizes the key exchange's one-off code early and
 * costs ~30 ms more CPU before the first forwarded byte.
 *
 * That budget is a function's own, though, set from the flag only when the function's count runs
 * out: the transport's functions (packet read, decrypt, dispatch, write), already run through
 * the login at the default, kept up to 66 KiB of it to use up first, so that `receive`, say,
 * ticked for the first time ~430 round trips into the bench's echo (`--trace-opt-verbose`), and
 * TurboFan took a third of the hot path only during the first 1,000 round trips, 300–950 in. So
 * the login runs with the 8 KiB budget already ({@link LOGIN_FLAGS}), with 8 times the ticks
 * before TurboFan so that it optimizes as by default: the functions count their ticks, and those
 * hot since the key exchange are marked at their next tick once forwarding. Measured with
 * bench/tools/cold-curve.ts (40 interleaved runs, 2 cores at load 6–8), first 1,000 round trips,
 * with FORWARDING_FLAGS' two ticks: paired median round trip −6.0 µs of ~105 (28 of 40 runs
 * faster), main-thread CPU −2.7 µs per round trip, all threads −3.1; the next 1,000 unchanged
 * (−0.3 µs). Start-up (spawn to the first forwarded byte, `--startup`, 25–40 interleaved runs):
 * main-thread CPU +2.2 ms of ~80 with curve25519, +1.2 ms of ~120 with sntrup761x25519 (paired
 * medians), within the noise, once Node's own modules the login loads are loaded first
 * ({@link loadLoginModules}; without, +3.7 ms).
 *
 * Only for the CLI's own process (the library leaves its host's V8 alone), only on the V8 whose
 * defaults are known (they are restored before the code cache is written, whose validity V8
 * ties to the flags in force), and never over one of these flags given on node's command line.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { onFirstFullCollection } from './array-buffer-cap.js';

/** The interrupt budget while forwarding, bytes of bytecode. */
export const FORWARDING_INTERRUPT_BUDGET = 8 * 1024;

/**
 * The V8 flags the CLI sets once forwarding, by name (without `--`), as `--name=value` (a
 * number) or `--name` / `--no-name` (a boolean). Each comment says why.
 */
export const FORWARDING_FLAGS: Readonly<Record<string, number | boolean>> = {
  // See the module comment.
  'interrupt-budget': FORWARDING_INTERRUPT_BUDGET,
  // V8's young generation doubles (up to 16 MiB per semi-space) each time as much as its size
  // has survived scavenges since it last grew, however little survives each one: through a
  // transfer, with the scavenges of ./array-buffer-cap.ts, the CLI's went from 2 to 4 and 8
  // MiB per semi-space (both committed), with nothing to show for it but fewer scavenges. Read
  // by V8 at each growth (heap/new-spaces.cc Grow); 1 keeps the size reached at login.
  'semi-space-growth-factor': 1,
  // The ArrayBuffers a scavenge found dead are freed inside it, not later on a helper thread:
  // ./array-buffer-cap.ts then sees their memory gone as soon as it collected, instead of
  // counting it for a few more MiB of traffic, and glibc gets them back before the next
  // node:crypto results are allocated. Read at each sweep (heap/array-buffer-sweeper.cc).
  'concurrent-array-buffer-sweeping': false,
  // Two ticks instead of V8's 3 (plus one per 150 bytes of bytecode) before TurboFan takes a
  // function: with the login's ticks counted (LOGIN_FLAGS), the last of the forwarding path's
  // functions (channel data, the -L socket's side, first run after the login) were optimized
  // 230–420 round trips into a new tunnel instead of 540–950 (bench/tools/cold-curve.ts
  // --stdout with --trace-opt). Read at each tick.
  'ticks-before-optimization': 2,
  // Every full collection also compacts the old generation: the one ./array-buffer-cap.ts runs
  // at the first MiB of traffic (V8 itself hardly runs any while forwarding) then gives back the
  // pages start-up left part-empty: V8 heap at a 256 MiB download's peak 10.7 -> 10.0 MiB
  // resident (old space 7.0-7.3 -> 6.8-7.0 committed for the same 6.2 used; 6 runs each), for a
  // longer pause of that one collection (15-20 -> 20-50 ms on a loaded 2-core machine,
  // --trace-gc). Read at each full collection (heap/mark-compact.cc).
  'compact-on-every-full-gc': true,
  // Smaller TurboFan compiles, for RSS (issue 14): each compile job's zone memory is malloc'd on
  // the V8 worker thread that runs it, and glibc keeps what a worker's arena reached for that
  // thread (bench/README.md "Memory"). The forwarding path's compiles all start within the
  // first few hundred messages, on up to four workers at once, so the peak RSS of a transfer
  // held 1.5-7 MiB of such arenas, depending on how the jobs overlapped. Measured with
  // --trace-zone-stats under --no-concurrent-recompilation (one job at a time, 64 MiB
  // download): poly1305's blocks4, the largest, 3.45 -> 2.29 MiB of zone; the ten largest
  // jobs 15.3 -> 13.3 MiB. Peak RSS of a 256 MiB download (bench/tools/rss-peak.ts, 5
  // interleaved runs, both flags): thread arenas at the peak, median 3.7 -> 1.5 MiB, peak RSS
  // median 62.7 -> 61.5, highest 65.5 -> 62.1. CPU of the cipher path unchanged (seal + open
  // of 32 KiB and of 64-byte packets, 3 interleaved runs each, within +-5 %).
  // No loop peeling: TurboFan's copy of each innermost loop's first iteration doubled the graph
  // of blocks4's and chacha20's block loops (turbo-loop-peeling, read per compile job).
  'turbo-loop-peeling': false,
  // Half V8's budget of bytecode inlined into one function in total (920 bytes by default).
  'max-inlined-bytecode-size-cumulative': 460,
};

/**
 * Once ./array-buffer-cap.ts ran its first full collection (the compacting one, see
 * `compact-on-every-full-gc` above), the later full collections it runs (for a slow reader's
 * dead buffers in the old generation) do not compact: compacting moves the live objects to new
 * pages first, and the V8 heap's RSS rose by 3–4 MiB for the length of each, which made a
 * download's peak on a loaded machine (bench/tools/rss-peak.ts --hash beside a CPU hog).
 */
export const STEADY_FLAGS: Readonly<Record<string, number | boolean>> = {
  'compact-on-every-full-gc': false,
};

/**
 * The V8 flags the CLI sets for the login (key exchange, authentication), as
 * {@link FORWARDING_FLAGS}; one not in that table goes back to V8's default once forwarding.
 */
export const LOGIN_FLAGS: Readonly<Record<string, number | boolean>> = {
  // See the module comment: each function's budget is the forwarding one from the start...
  'interrupt-budget': FORWARDING_INTERRUPT_BUDGET,
  // ...but TurboFan takes a function after as much of its bytecode as with V8's defaults: 3
  // budgets of 66 KiB plus one per 150 bytes of bytecode is 24 of 8 KiB plus one per 19 bytes.
  // Nothing then optimizes sooner than by default (from the start, the 8 KiB budget alone cost
  // ~30 ms of CPU before the first forwarded byte, see above), and nothing later: the key
  // exchange's own loops (sntrup761's in TypeScript) kept from TurboFan for the whole login cost
  // +230 ms. Read at each tick (tiering-manager.cc ShouldOptimize).
  'ticks-before-optimization': 24,
  'bytecode-size-allowance-per-tick': 19,
  // Not even on a function's first tick for being small (V8 does so for one under 81 bytes of
  // bytecode when no inline cache changed since the last tick: 8 times as soon at 8 KiB).
  'max-bytecode-size-for-early-opt': 0,
};

/** V8's defaults for {@link LOGIN_FLAGS} and {@link FORWARDING_FLAGS} by V8 minor version (`node --v8-options`). */
const V8_DEFAULTS: Readonly<Record<string, Readonly<Record<string, number | boolean>>>> = {
  '11.3': {
    'interrupt-budget': 66 * 1024,
    'semi-space-growth-factor': 2,
    'concurrent-array-buffer-sweeping': true,
    'ticks-before-optimization': 3,
    'bytecode-size-allowance-per-tick': 150,
    'max-bytecode-size-for-early-opt': 81,
    'compact-on-every-full-gc': false,
    'turbo-loop-peeling': true,
    'max-inlined-bytecode-size-cumulative': 920,
  },
};

function flagText(name: string, value: number | boolean): string {
  return typeof value === 'boolean' ? `--${value ? '' : 'no-'}${name}` : `--${name}=${value}`;
}

/**
 * The flags to set for the login, while forwarding, and the defaults to restore, as
 * setFlagsFromString text; undefined on a V8 whose defaults are not known. A flag given on
 * node's command line is left as it is.
 */
function tuning(): { login: string; forwarding: string; steady: string; defaults: string } | undefined {
  const minor = /^(\d+\.\d+)\./.exec(process.versions.v8)?.[1];
  const known = minor === undefined ? undefined : V8_DEFAULTS[minor];
  if (known === undefined) return undefined;
  const given = (name: string) => {
    const re = new RegExp(`^--(no-)?${name.replace(/-/g, '[-_]')}(=|$)`);
    return process.execArgv.some((a) => re.test(a));
  };
  const ours = (table: Readonly<Record<string, number | boolean>>) => Object.keys(table).filter((n) => known[n] !== undefined && !given(n));
  const text = (names: string[], value: (n: string) => number | boolean) => names.map((n) => flagText(n, value(n))).join(' ');
  const login = ours(LOGIN_FLAGS);
  const forwarding = ours(FORWARDING_FLAGS);
  const all = [...new Set([...login, ...forwarding])];
  if (all.length === 0) return undefined;
  return {
    login: text(login, (n) => LOGIN_FLAGS[n]!),
    // The login's flags not in the forwarding table are set back to V8's default.
    forwarding: text(all, (n) => FORWARDING_FLAGS[n] ?? known[n]!),
    steady: text(all, (n) => (n in STEADY_FLAGS ? STEADY_FLAGS[n]! : (FORWARDING_FLAGS[n] ?? known[n]!))),
    defaults: text(all, (n) => known[n]!),
  };
}

/**
 * Node's own modules that the CLI's login loads (process.moduleLoadList, the bench's login):
 * loaded before the login's flags are set. Node compiles its modules from a code cache of its
 * own, which V8 ties to the flags in force: these, loaded under other flags, were compiled from
 * source, ~4 ms more CPU before the first forwarded byte. One missing here costs only that.
 */
function loadLoginModules(listens: boolean): void {
  const require = createRequire(import.meta.url);
  for (const m of ['node:readline', 'node:readline/promises', 'node:fs/promises', 'node:tty', 'node:perf_hooks']) require(m);
  // net.Server's listen() loads node:cluster (six modules) to ask whether this is a worker:
  // 4.0-6.4 ms of CPU under the login's flags, 1.6-1.8 from Node's cache (10 alternated runs,
  // loaded 2-core machine), so a -L or -D tunnel loads it here.
  if (listens) require('node:cluster');
  void (require('node:fs') as typeof import('node:fs')).ReadStream; // internal/fs/streams
  void globalThis.crypto; // internal/crypto/webcrypto
  void process.stderr;
}

/** Where the CLI is: nothing set yet, the login's flags, the forwarding ones, those after the first full collection. */
let phase: 'none' | 'login' | 'forwarding' | 'steady' = 'none';

/**
 * The key under which the CLI leaves, on globalThis, a function that runs its argument under
 * V8's default flags: the bin (cli-bin.cts, outside the bundle) makes the code cache with it,
 * since V8 rejects a cache made under other flags.
 */
export const V8_DEFAULTS_HOOK = Symbol.for('pure-ssh.v8-defaults');

/**
 * Sets `next`'s flags; the first time, also the hook ({@link V8_DEFAULTS_HOOK}) and V8's
 * defaults back at exit, before any other exit listener runs (cli-bin.cts writes the code cache
 * in one).
 */
function enter(next: 'login' | 'forwarding' | 'steady'): void {
  const t = tuning();
  if (t === undefined) return;
  const first = phase === 'none';
  phase = next;
  setFlagsFromString(t[next]);
  if (!first) return;
  let exiting = false;
  (globalThis as Record<symbol, unknown>)[V8_DEFAULTS_HOOK] = <T>(fn: () => T): T => {
    setFlagsFromString(t.defaults);
    try {
      return fn();
    } finally {
      if (!exiting) setFlagsFromString(t[phase as 'login' | 'forwarding' | 'steady']);
    }
  };
  process.prependOnceListener('exit', () => {
    exiting = true;
    setFlagsFromString(t.defaults);
  });
}

/**
 * The login is about to start (the CLI calls this once the TCP connect is issued, before the
 * client's modules load: connect-host.ts `RouteContext.connecting`): the forwarding budget, with
 * V8's default pace of optimization (see the module comment). `listens`: the CLI will open a
 * local listener (-L, -D). No-op once called, or after {@link tuneV8ForForwarding}, or where
 * that one is.
 */
export function tuneV8ForLogin(listens = false): void {
  if (phase !== 'none' || tuning() === undefined) return;
  loadLoginModules(listens);
  enter('login');
}

/**
 * The connection is up: optimize the hot paths sooner (see the module comment). No-op elsewhere.
 * At exit V8's default comes back before any other exit listener runs (cli-bin.cts writes the
 * code cache in one), and the bin's timed cache write runs under the default through
 * {@link V8_DEFAULTS_HOOK}, so that a cache written either way is valid for the next process.
 */
export function tuneV8ForForwarding(): void {
  if (phase !== 'forwarding' && phase !== 'steady') enter('forwarding');
  onFirstFullCollection(() => {
    if (phase === 'forwarding') enter('steady');
  });
}
