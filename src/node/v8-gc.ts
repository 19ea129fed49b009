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
 * V8's `gc`: `--expose-gc` is set only while a fresh context is made (its global gets `gc`), then
 * cleared, so the flags in force afterwards (which V8's code cache checks) are the ones the
 * process started with, and the main context's global never has `gc`. Undefined where V8 refuses.
 */
export function takeGc(): Gc | undefined {
  if (process.execArgv.some((a) => /^--expose[-_]gc$/.test(a))) return (globalThis as { gc?: Gc }).gc;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * ECMA-262 ArrayBuffer.prototype.transfer for ./array-buffer-release.ts: the main context's own
 * where the runtime has it (Node ≥ 22, V8 ≥ 11.4, where it is standard); on Node 20 (V8 11.3, where
 * it is behind `--harmony-rab-gsab-transfer`) the one of a fresh context made while that flag is
 * set, then cleared, as {@link takeGc} does: the flags in force afterwards, which V8's code cache
 * checks, are the ones the process started with, and the main context's ArrayBuffer.prototype
 * stays as it was. The function works on the main context's buffers. Undefined where V8 refuses.
 */
export function takeTransfer(): Transfer | undefined {
  const own = (ArrayBuffer.prototype as { transfer?: unknown }).transfer;
  if (typeof own === 'function') return own as Transfer;
  try {
    setFlagsFromString('--harmony-rab-gsab-transfer');
    const t = runInNewContext('ArrayBuffer.prototype.transfer') as unknown;
    return typeof t === 'function' ? (t as Transfer) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-harmony-rab-gsab-transfer');
  }
}

/**
 * {@link takeGc} and {@link takeTransfer} from one fresh context where both need one (Node 20
 * without `--expose-gc`): one flag change and one context instead of two (a context stays alive
 * as long as a function of it is kept, ~150 KiB of V8 heap, measured; the CLI keeps both).
 */
export function takeGcAndTransfer(): { gc: Gc | undefined; transfer: Transfer | undefined } {
  const own = (ArrayBuffer.prototype as { transfer?: unknown }).transfer;
  if (typeof own === 'function') return { gc: takeGc(), transfer: own as Transfer };
  if (process.execArgv.some((a) => /^--expose[-_]gc$/.test(a))) return { gc: takeGc(), transfer: takeTransfer() };
  try {
    setFlagsFromString('--expose-gc');
    setFlagsFromString('--harmony-rab-gsab-transfer');
    const [gc, transfer] = runInNewContext('[typeof gc === "function" ? gc : undefined, ArrayBuffer.prototype.transfer]') as [unknown, unknown];
    return {
      gc: typeof gc === 'function' ? (gc as Gc) : undefined,
      transfer: typeof transfer === 'function' ? (transfer as Transfer) : undefined,
    };
  } catch {
    return { gc: undefined, transfer: undefined };
  } finally {
    setFlagsFromString('--no-harmony-rab-gsab-transfer');
    setFlagsFromString('--no-expose-gc');
  }
}
