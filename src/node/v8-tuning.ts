/**
 * The pure-ssh CLI's one V8 setting: an earlier tier-up once the connection forwards data.
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
 * default is known (the default is restored before the code cache is written, whose validity V8
 * ties to the flags in force), and never over an `--interrupt-budget` given on node's command line.
 */
import { setFlagsFromString } from 'node:v8';

/** The interrupt budget while forwarding, bytes of bytecode. */
export const FORWARDING_INTERRUPT_BUDGET = 8 * 1024;

/** V8's default interrupt budget by V8 minor version (`node --v8-options`). */
const DEFAULT_INTERRUPT_BUDGET: Readonly<Record<string, number>> = { '11.3': 66 * 1024 };

function defaultBudget(): number | undefined {
  if (process.execArgv.some((a) => /^--interrupt[-_]budget(=|$)/.test(a))) return undefined;
  const minor = /^(\d+\.\d+)\./.exec(process.versions.v8)?.[1];
  return minor === undefined ? undefined : DEFAULT_INTERRUPT_BUDGET[minor];
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
  const d = defaultBudget();
  if (d === undefined || tuned) return;
  tuned = true;
  const forwarding = `--interrupt-budget=${FORWARDING_INTERRUPT_BUDGET}`;
  const defaults = `--interrupt-budget=${d}`;
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
