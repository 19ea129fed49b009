/**
 * A server's text made safe for the terminal as ssh(1) prints a USERAUTH_BANNER (sshconnect2.c
 * input_userauth_banner → utf8.c fmprintf → vasnmprintf): a character the locale can print passes
 * as it is (a backslash too, unlike the log's strnvis), as do `\n`, `\r` and `\t`; every byte of
 * any other character, and each byte that is not a character of the locale's charset, becomes
 * `\ooo` (vis VIS_OCTAL | VIS_ALL). Under a UTF-8 locale that escapes control characters and bytes
 * that are not UTF-8; under the C locale (ASCII), every byte from 0x80 as well.
 */

import { RAW_BYTE_BASE } from '../log-text.js';

const encoder = new TextEncoder();

/**
 * Whether ssh would run with a UTF-8 LC_CTYPE in `env` (misc.c msetlocale: setlocale(LC_CTYPE,
 * "") reads LC_ALL, then LC_CTYPE, then LANG). A name whose codeset is not UTF-8, or none, is
 * the C locale's ASCII. Unlike setlocale(3), a UTF-8 locale that is not installed counts as one.
 */
export function utf8Locale(env: NodeJS.ProcessEnv): boolean {
  const name = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /\.utf-?8(@|$)/i.test(name);
}

/** Each UTF-8 byte of `ch` as `\ooo` (vis(3) with VIS_OCTAL | VIS_ALL). */
function octal(ch: string): string {
  const c = ch.charCodeAt(0);
  const bytes = ch.length === 1 && c >= RAW_BYTE_BASE + 0x80 && c <= RAW_BYTE_BASE + 0xff ? [c - RAW_BYTE_BASE] : encoder.encode(ch);
  let out = '';
  for (const b of bytes) out += `\\${(b >> 6).toString(8)}${((b >> 3) & 7).toString(8)}${(b & 7).toString(8)}`;
  return out;
}

/**
 * `text` (a lone U+DC80..U+DCFF standing for a byte that was not UTF-8, src/log-text.ts) as ssh's
 * fmprintf prints it under a UTF-8 locale (`utf8` true) or the C locale. In UTF-8, a character
 * wcwidth(3) gives -1 is escaped: control characters, lone surrogates (the bytes that were not
 * UTF-8) and code points with no character assigned.
 *
 * @example
 * terminalText('caf\u00e9\udcff\u001b[1m\\', true); // 'caf\u00e9\\377\\033[1m\\'
 * terminalText('caf\u00e9', false); // 'caf\\303\\251'
 */
export function terminalText(text: string, utf8: boolean): string {
  const unsafe = utf8 ? /[^\P{C}\p{Cf}\p{Co}\t\n\r]/u : /[^\x20-\x7e\t\n\r]/;
  if (!unsafe.test(text)) return text;
  let out = '';
  for (const ch of text) out += unsafe.test(ch) ? octal(ch) : ch;
  return out;
}
