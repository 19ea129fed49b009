/**
 * V8's `gc` function for the CLI's own process (src/node/array-buffer-cap.ts), without
 * `--expose-gc` on node's command line, and ArrayBuffer.prototype.transfer on Node 20
 * (src/node/array-buffer-release.ts). Node-only (node:v8, node:vm): the library and the
 * node:crypto provider never import it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gc } from './array-buffer-cap.js';
import type { Transfer } from './array-buffer-release.js';

/**
 * Evaluates `expression` in a fresh context made while V8's `flags` are set (names without
 * `--`), then clears them again: the flags in force afterwards, which V8's code cache checks, are
 * the ones the process started with, and the main context is left as it was. Undefined where V8
 * refuses.
 */
function fromFreshContext(flags: readonly string[], expression: string): unknown {
  try {
    for (const f of flags) setFlagsFromString(`--${f}`);
    return runInNewContext(expression);
  } catch {
    return undefined;
  } finally {
    for (const f of flags) setFlagsFromString(`--no-${f}`);
  }
}

const exposedGc = (): boolean => process.execArgv.some((a) => /^--expose[-_]gc$/.test(a));
const fn = <T>(v: unknown): T | undefined => (typeof v === 'function' ? (v as T) : undefined);

/**
 * V8's `gc`: `--expose-gc` is set only while a fresh context is made (its global gets `gc`), then
 * cleared ({@link fromFreshContext}), and the main context's global never has `gc`. Undefined
 * where V8 refuses.
 */
export function takeGc(): Gc | undefined {
  if (exposedGc()) return (globalThis as { gc?: Gc }).gc;
  return fn<Gc>(fromFreshContext(['expose-gc'], 'gc'));
}

/**
 * ECMA-262 ArrayBuffer.prototype.transfer for ./array-buffer-release.ts: the main context's own
 * where the runtime has it (Node ≥ 22, V8 ≥ 11.4, where it is standard); on Node 20 (V8 11.3, where
 * it is behind `--harmony-rab-gsab-transfer`) the one of a fresh context made while that flag is
 * set ({@link fromFreshContext}): the main context's ArrayBuffer.prototype stays as it was. The
 * function works on the main context's buffers. Undefined where V8 refuses.
 */
export function takeTransfer(): Transfer | undefined {
  const own = fn<Transfer>((ArrayBuffer.prototype as { transfer?: unknown }).transfer);
  return own ?? fn<Transfer>(fromFreshContext(['harmony-rab-gsab-transfer'], 'ArrayBuffer.prototype.transfer'));
}

/**
 * {@link takeGc} and {@link takeTransfer} from one fresh context where both need one (Node 20
 * without `--expose-gc`): one flag change and one context instead of two (a context stays alive
 * as long as a function of it is kept, ~150 KiB of V8 heap, measured; the CLI keeps both).
 */
export function takeGcAndTransfer(): { gc: Gc | undefined; transfer: Transfer | undefined } {
  if (typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function' || exposedGc()) {
    return { gc: takeGc(), transfer: takeTransfer() };
  }
  const both = fromFreshContext(['expose-gc', 'harmony-rab-gsab-transfer'], '[typeof gc === "function" ? gc : undefined, ArrayBuffer.prototype.transfer]');
  const [gc, transfer] = Array.isArray(both) ? (both as unknown[]) : [];
  return { gc: fn<Gc>(gc), transfer: fn<Transfer>(transfer) };
}
