/**
 * The terminal's locale as ssh(1) reads it, which decides how a server's text is escaped for the
 * terminal (terminalText in src/log-text.ts: under a UTF-8 locale control characters and bytes
 * that are not UTF-8 become `\ooo`; under the C locale every byte from 0x80 as well).
 */

/**
 * Whether ssh would run with a UTF-8 LC_CTYPE in `env` (misc.c msetlocale: setlocale(LC_CTYPE,
 * "") reads LC_ALL, then LC_CTYPE, then LANG). A name whose codeset is not UTF-8, or none, is
 * the C locale's ASCII. Unlike setlocale(3), a UTF-8 locale that is not installed counts as one.
 */
export function utf8Locale(env: NodeJS.ProcessEnv): boolean {
  const name = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /\.utf-?8(@|$)/i.test(name);
}
