/**
 * The command line's bytes as ssh(1) sees them. Node decodes argv as UTF-8 and turns each byte
 * that is no part of a valid sequence into U+FFFD, so `-e $'\xe9'` (one byte, which ssh.c takes as
 * its escape character) arrives as a character that stands for no byte at all. On Linux the bytes
 * are still in /proc/self/cmdline; an argument that lost bytes is rebuilt from them, its
 * undecodable bytes as src/log-text.ts's U+DC00 + byte (the log escapes those as the bytes, and
 * keywords.ts escapeCharValue takes one as its byte).
 */

import { readFileSync } from 'node:fs';
import { textBytes, textForLog } from '../log-text.js';

const lossy = new TextDecoder('utf-8');

/**
 * The environment variable through which the -f copy (background.ts) is given the arguments
 * {@link commandLineArgs} rebuilt (JSON), as its own command line holds U+FFFD's UTF-8 instead.
 */
export const RAW_ARGS_ENV = 'PURE_SSH_ARGS';

/** The environment entry that hands `args` to the -f copy: only when one holds a byte that is no UTF-8. */
export function rawArgsEnv(args: readonly string[]): Record<string, string> {
  return args.some((a) => /[\udc80-\udcff]/.test(a)) ? { [RAW_ARGS_ENV]: JSON.stringify(args) } : {};
}

/**
 * `args` (process.argv after the script) with each argument holding U+FFFD rebuilt from the
 * process's own command line bytes. Kept as given where /proc/self/cmdline is absent (not Linux),
 * or where its last arguments do not decode to `args` exactly (another runtime's arrangement):
 * nothing is guessed.
 *
 * @example
 * commandLineArgs(process.argv.slice(2)); // ['-e', '\udce9', 'h'] for `-e $'\xe9' h`
 */
export function commandLineArgs(
  args: readonly string[],
  cmdline: () => Uint8Array = () => readFileSync('/proc/self/cmdline'),
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const given = env[RAW_ARGS_ENV];
  delete env[RAW_ARGS_ENV];
  if (!args.some((a) => a.includes('\ufffd'))) return [...args];
  // The -f copy (background.ts): spawn(2)'s arguments are UTF-8, so the first process hands its
  // arguments over here, checked against the ones given as /proc's would be.
  if (given !== undefined) {
    try {
      const parsed: unknown = JSON.parse(given);
      if (Array.isArray(parsed) && parsed.length === args.length && parsed.every((a, i) => typeof a === 'string' && lossy.decode(textBytes(a)) === args[i])) return parsed as string[];
    } catch {
      // not ours: the bytes below
    }
  }
  let raw: Uint8Array[];
  try {
    const bytes = cmdline();
    raw = [];
    // NUL-separated, each argument ended by its NUL.
    for (let start = 0, i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        raw.push(bytes.subarray(start, i));
        start = i + 1;
      }
    }
  } catch {
    return [...args];
  }
  if (raw.length < args.length) return [...args];
  const mine = raw.slice(raw.length - args.length);
  if (mine.some((b, i) => lossy.decode(b) !== args[i])) return [...args];
  return args.map((a, i) => (a.includes('\ufffd') ? textForLog(mine[i]!) : a));
}
