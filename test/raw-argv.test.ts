/**
 * src/node/raw-argv.ts: an argument Node decoded with U+FFFD is rebuilt from the command line's
 * bytes (/proc/self/cmdline), its undecodable bytes as U+DC00 + byte; nothing is guessed when the
 * bytes do not line up with the arguments.
 */
import { expect, it } from 'vitest';
import { commandLineArgs, rawArgsEnv, RAW_ARGS_ENV } from '../src/node/raw-argv.js';

const cmdline = (...args: (string | number[])[]) => () =>
  Uint8Array.from(args.flatMap((a) => [...(typeof a === 'string' ? new TextEncoder().encode(a) : a), 0]));

it('rebuilds only the arguments that lost bytes, from the last entries of the command line', () => {
  const bytes = cmdline('node', '--enable-source-maps', '/x/cli.cjs', '-e', [0xe9], 'h\u00e9', [0x61, 0xff, 0x62]);
  expect(commandLineArgs(['-e', '\ufffd', 'h\u00e9', 'a\ufffdb'], bytes)).toEqual(['-e', '\udce9', 'h\u00e9', 'a\udcffb']);
  // A U+FFFD typed as such (valid UTF-8) stays one.
  expect(commandLineArgs(['\ufffd'], cmdline('node', 'cli', '\ufffd'))).toEqual(['\ufffd']);
});

it('keeps the arguments as given when the bytes are not there or do not match them', () => {
  expect(commandLineArgs(['-e', '\ufffd'], () => { throw new Error('ENOENT'); })).toEqual(['-e', '\ufffd']);
  expect(commandLineArgs(['-e', '\ufffd'], cmdline('node', 'cli', '-E', [0xe9]))).toEqual(['-e', '\ufffd']);
  expect(commandLineArgs(['a', 'b', '\ufffd'], cmdline([0xe9]))).toEqual(['a', 'b', '\ufffd']);
  // Nothing lost: /proc is not read at all.
  expect(commandLineArgs(['-e', '~'], () => { throw new Error('read'); })).toEqual(['-e', '~']);
});

it('the -f copy is handed the rebuilt arguments (its own are UTF-8 only), checked against the ones it was given', () => {
  const rebuilt = ['-e', '\udce9', 'h'];
  const env: NodeJS.ProcessEnv = { ...rawArgsEnv(rebuilt) };
  expect(commandLineArgs(['-e', '\ufffd', 'h'], () => new Uint8Array(), env)).toEqual(rebuilt);
  expect(env[RAW_ARGS_ENV]).toBeUndefined();
  // Arguments that do not match them: not taken.
  expect(commandLineArgs(['-E', '\ufffd', 'h'], () => new Uint8Array(), { ...rawArgsEnv(rebuilt) })).toEqual(['-E', '\ufffd', 'h']);
  expect(rawArgsEnv(['-e', '~'])).toEqual({});
});
