/**
 * The pure-ssh CLI's V8 settings once the connection forwards data ({@link FORWARDING_FLAGS}):
 * an earlier tier-up, a young generation that stops growing, and ArrayBuffers freed within the
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
 * Only for the CLI's own process (the library leaves its host's V8 alone), only on the V8 whose
 * defaults are known (they are restored before the code cache is written, whose validity V8
 * ties to the flags in force), and never over one of these flags given on node's command line.
 */
import { setFlagsFromString } from 'node:v8';

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
  // Every full collection also compacts the old generation: the one ./array-buffer-cap.ts runs
  // at the first MiB of traffic (V8 itself hardly runs any while forwarding) then gives back the
  // pages start-up left part-empty: V8 heap at a 256 MiB download's peak 10.7 -> 10.0 MiB
  // resident (old space 7.0-7.3 -> 6.8-7.0 committed for the same 6.2 used; 6 runs each), for a
  // longer pause of that one collection (15-20 -> 20-50 ms on a loaded 2-core machine,
  // --trace-gc). Read at each full collection (heap/mark-compact.cc).
  'compact-on-every-full-gc': true,
};

/** V8's defaults for {@link FORWARDING_FLAGS} by V8 minor version (`node --v8-options`). */
const V8_DEFAULTS: Readonly<Record<string, Readonly<Record<string, number | boolean>>>> = {
  '11.3': {
    'interrupt-budget': 66 * 1024,
    'semi-space-growth-factor': 2,
    'concurrent-array-buffer-sweeping': true,
    'compact-on-every-full-gc': false,
  },
};

function flagText(name: string, value: number | boolean): string {
  return typeof value === 'boolean' ? `--${value ? '' : 'no-'}${name}` : `--${name}=${value}`;
}

/**
 * The flags to set while forwarding and the defaults to restore, as setFlagsFromString text;
 * undefined on a V8 whose defaults are not known. A flag given on node's command line is left
 * as it is.
 */
function tuning(): { forwarding: string; defaults: string } | undefined {
  const minor = /^(\d+\.\d+)\./.exec(process.versions.v8)?.[1];
  const known = minor === undefined ? undefined : V8_DEFAULTS[minor];
  if (known === undefined) return undefined;
  const given = (name: string) => {
    const re = new RegExp(`^--(no-)?${name.replace(/-/g, '[-_]')}(=|$)`);
    return process.execArgv.some((a) => re.test(a));
  };
  const names = Object.keys(FORWARDING_FLAGS).filter((n) => known[n] !== undefined && !given(n));
  if (names.length === 0) return undefined;
  return {
    forwarding: names.map((n) => flagText(n, FORWARDING_FLAGS[n]!)).join(' '),
    defaults: names.map((n) => flagText(n, known[n]!)).join(' '),
  };
}

let tuned = false;

/**
 * The key under which {@link tuneV8ForForwarding} leaves, on globalThis, a function that runs
 * its argument under V8's default flags: the bin (cli-bin.cts, outside the bundle) makes the
 * code cache with it, since V8 rejects a cache made under other flags.
 */
export const V8_DEFAULTS_HOOK = Symbol.for('pure-ssh.v8-defaults');

/**
 * The connection is up: optimize the hot paths sooner (see the module comment). No-op elsewhere.
 * At exit V8's default comes back before any other exit listener runs (cli-bin.cts writes the
 * code cache in one), and the bin's timed cache write runs under the default through
 * {@link V8_DEFAULTS_HOOK}, so that a cache written either way is valid for the next process.
 */
export function tuneV8ForForwarding(): void {
  const t = tuned ? undefined : tuning();
  if (t === undefined) return;
  tuned = true;
  const { forwarding, defaults } = t;
  let exiting = false;
  setFlagsFromString(forwarding);
  (globalThis as Record<symbol, unknown>)[V8_DEFAULTS_HOOK] = <T>(fn: () => T): T => {
    setFlagsFromString(defaults);
    try {
      return fn();
    } finally {
      if (!exiting) setFlagsFromString(forwarding);
    }
  };
  process.prependOnceListener('exit', () => {
    exiting = true;
    setFlagsFromString(defaults);
  });
}
