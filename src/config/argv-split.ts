/**
 * The argument splitting OpenSSH applies to every ssh_config(5) line and `-o` value after its
 * keyword (misc.c argv_split with terminate_on_comment, as readconf.c process_config_line_depth
 * calls it since OpenSSH 8.7).
 *
 * Rules, as ssh_config(5) states them ("Arguments may optionally be enclosed in double quotes
 * (") in order to represent arguments containing spaces") and as argv_split implements them:
 * - arguments are separated by spaces and tabs outside quotes;
 * - `"` or `'` opens a quoted run anywhere in an argument, closed by the same character; the
 *   quote characters are dropped (`a"b c"d` is the one argument `ab cd`);
 * - a backslash before `'`, `"` or `\` (and before a space outside quotes) escapes it; any other
 *   backslash is kept as it is (`C:\x` stays `C:\x`);
 * - a `#` at the start of an argument, outside quotes, ends the line (a trailing comment);
 * - a quote left open is an error (readconf.c: "invalid quotes").
 */

/**
 * Split `s` (the text after the keyword) into arguments.
 * Returns null when a quote is left open; an empty array for an empty or comment-only text.
 */
export function argvSplit(s: string): string[] | null {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\\') {
        const next = s[i + 1];
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          arg += next;
          i++;
        } else {
          arg += ch; // an unrecognised escape keeps its backslash
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return null;
    args.push(arg);
  }
  return args;
}
