/**
 * How ssh(1) makes a log message safe for a terminal before writing it to stderr or the -E file
 * (log.c do_log: strnvis(3) with VIS_SAFE | VIS_OCTAL). Printable ASCII, space, tab, newline,
 * backspace, bell and carriage return pass; a backslash is doubled; every other byte (control
 * characters, DEL, and each byte of a UTF-8 character, whatever the locale) becomes `\ooo`.
 * Checked against /usr/bin/ssh 9.2: `-o Port="a<01>é"` prints `Bad port 'a\001\303\251'.`
 *
 * Each line it logs ends with "\r\n" (log.c do_log writes `"%s\r\n"` to its stderr descriptor),
 * on a terminal or not, and in the -E file alike; what ssh.c prints with a plain fprintf(stderr)
 * (usage, -V, the -p/-c/-m/-L/-R/-D/-W/-e argument errors, the -i and -E file messages) ends
 * with "\n" only. Checked with `ssh ... 2>&1 | cat -A` on /usr/bin/ssh 9.2.
 */

import { charBytes, LOG_BACKSLASH, RAW_BYTE_BASE } from '../log-text.js';

/**
 * openbsd-compat/vis.c isvisible() under VIS_SAFE (VIS_SP, VIS_TAB and VIS_NL unset), in the C
 * locale's isgraph: the bytes written as they are.
 */
function visible(b: number): boolean {
  return (b > 0x20 && b < 0x7f) || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x08 || b === 0x07 || b === 0x0d;
}

/** Byte `b` as strnvis(VIS_SAFE | VIS_OCTAL) writes it: as is, `\\` for a backslash, else `\ooo`. */
function visByte(b: number): string {
  if (b === 0x5c) return '\\\\';
  if (visible(b)) return String.fromCharCode(b);
  return `\\${(b >> 6).toString(8)}${((b >> 3) & 7).toString(8)}${(b & 7).toString(8)}`;
}

/**
 * `text` as ssh's log would show it: a JavaScript string's UTF-8 bytes, escaped, where a lone
 * U+DC80..U+DCFF stands for the byte it keeps (src/log-text.ts: a peer's byte that was not
 * UTF-8), so the escaping sees the bytes the peer sent, and LOG_BACKSLASH is one backslash.
 *
 * @example
 * visLogText('a\u0001b\\c'); // 'a\\001b\\\\c'
 * visLogText('x\udcff'); // 'x\\377'
 */
export function visLogText(text: string): string {
  // The common case (printable ASCII, no backslash) needs no copy.
  if (!/[^\x20-\x5b\x5d-\x7e\t\n]/.test(text)) return text;
  let out = '';
  // Iterating by code point leaves a lone surrogate on its own.
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c < 0x80) out += visByte(c);
    else if (ch === LOG_BACKSLASH) out += '\\';
    else for (const b of charBytes(ch)) out += visByte(b);
  }
  return out;
}

/**
 * The first `max` bytes of `text` as a peer sent them (C's `%.Ns` on the server's string: packet.c
 * cuts a DISCONNECT's text at 400 bytes and a DEBUG message at 900), a lone U+DC80..U+DCFF
 * counting as its one byte; a character cut in two keeps its leading bytes as such surrogates,
 * which {@link visLogText} escapes as the bytes they are.
 *
 * @example
 * cutBytes('caf\u00e9', 4); // 'caf\udcc3'
 */
export function cutBytes(text: string, max: number): string {
  if (text.length * 3 <= max) return text;
  let out = '';
  let n = 0;
  for (const ch of text) {
    const bytes = charBytes(ch);
    if (n + bytes.length <= max) {
      out += ch;
      n += bytes.length;
      continue;
    }
    for (const b of bytes.slice(0, max - n)) out += String.fromCharCode(b < 0x80 ? b : RAW_BYTE_BASE + b);
    break;
  }
  return out;
}

/**
 * Stands in a message for a newline inside what ssh logs with ONE call (a server's text): a lone
 * surrogate, which no decoded text can hold, so it never collides with a character of the text.
 */
const INNER_NEWLINE = '\uDFFF';

/**
 * `text` (a server's DEBUG, DISCONNECT or channel-open-failure text) marked as logged by ssh in
 * one call: {@link logLines} keeps its newlines as they are and ends only the last line with
 * "\r\n" (log.c do_log: VIS_SAFE leaves `\n` alone, one `\r\n` per call).
 *
 * @example
 * logLines(`Remote: ${oneLogCall('a\nb')}`); // 'Remote: a\nb\r\n'
 */
export function oneLogCall(text: string): string {
  return text.includes('\n') ? text.replaceAll('\n', INNER_NEWLINE) : text;
}

/** One ssh log call's text escaped, its inner newlines ({@link oneLogCall}) back as `\n`. */
function visCall(line: string): string {
  return line.includes(INNER_NEWLINE) ? line.split(INNER_NEWLINE).map(visLogText).join('\n') : visLogText(line);
}

/**
 * The bytes ssh's log writes for `message`: each line escaped ({@link visLogText}) and ended with
 * "\r\n". A `\n` in `message` separates lines that ssh logs with one call each (pure-ssh builds
 * some messages, such as the changed-host-key block, as one string), so every line gets the
 * log's ending; text marked with {@link oneLogCall} keeps its newlines inside one line.
 *
 * @example
 * logLines('Host key verification failed.'); // 'Host key verification failed.\r\n'
 */
export function logLines(message: string): string {
  if (!message.includes('\n')) return `${visCall(message)}\r\n`;
  return message
    .split('\n')
    .map((l) => `${visCall(l)}\r\n`)
    .join('');
}
