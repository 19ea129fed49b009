/**
 * A server's text made safe for the terminal as ssh(1) prints a USERAUTH_BANNER (sshconnect2.c
 * input_userauth_banner → utf8.c fmprintf → vasnmprintf): a character the locale can print passes
 * as it is (a backslash too, unlike the log's strnvis), as do `\n`, `\r` and `\t`; every byte of
 * any other character, and each byte that is not a character of the locale's charset, becomes
 * `\ooo` (vis VIS_OCTAL | VIS_ALL). Under a UTF-8 locale that escapes control characters and bytes
 * that are not UTF-8; under the C locale (ASCII), every byte from 0x80 as well.
 */

import { terminalText } from '../log-text.js';

// The escaping itself lives beside textForLog, as the library's errors use it too (DisconnectError).
export { terminalText };

/**
 * Whether ssh would run with a UTF-8 LC_CTYPE in `env` (misc.c msetlocale: setlocale(LC_CTYPE,
 * "") reads LC_ALL, then LC_CTYPE, then LANG). A name whose codeset is not UTF-8, or none, is
 * the C locale's ASCII. Unlike setlocale(3), a UTF-8 locale that is not installed counts as one.
 */
export function utf8Locale(env: NodeJS.ProcessEnv): boolean {
  const name = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /\.utf-?8(@|$)/i.test(name);
}
