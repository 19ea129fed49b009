/**
 * V8's `gc` function for the CLI's own process (src/node/array-buffer-cap.ts), without
 * `--expose-gc` on node's command line. Node-only (node:v8, node:vm): the library and the
 * node:crypto provider never import it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gc } from './array-buffer-cap.js';

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
