/**
 * A peer's bytes as text for the log, every byte kept. ssh(1) logs such bytes as they came
 * (log.c do_log escapes each byte with strnvis), so a log line built from them must let the
 * escaping see the exact bytes: valid UTF-8 is decoded, and each byte that is not part of a valid
 * UTF-8 sequence becomes the lone surrogate U+DC00 + byte (U+DC80..U+DCFF, Python's
 * "surrogateescape"), which no decoded text can hold. src/node/log-vis.ts escapes those as the
 * byte itself.
 */

/** The first of the code units standing for an undecodable byte 0x80..0xff (U+DC00 + byte). */
export const RAW_BYTE_BASE = 0xdc00;

/**
 * Stands in a log message for a backslash that is already vis(3) notation (escapeCharText's
 * `\^A`, as ssh -G prints it), which the log's escaping (src/node/log-vis.ts) writes once instead
 * of doubling it: a lone surrogate, which no decoded text can hold.
 */
export const LOG_BACKSLASH = '\uDFFE';

// ignoreBOM: a U+FEFF the peer sent is text like any other, not a mark to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * `bytes` as a string for a log message: ASCII and valid UTF-8 as text, any other byte as
 * U+DC00 + byte.
 *
 * @example
 * textForLog(new Uint8Array([0x63, 0xc3, 0xa9, 0xff])); // 'cé\udcff'
 */
export function textForLog(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // Some bytes are not UTF-8: character by character below.
  }
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    // The shortest decodable run from a byte >= 0x80 is one character of 2 to 4 bytes (the
    // decoder refuses what RFC 3629 §4 does: overlong forms, surrogates, past U+10FFFF).
    let n = 2;
    for (; n <= 4; n++) {
      try {
        out += utf8.decode(bytes.subarray(i, i + n));
        break;
      } catch {
        // not (yet) a whole character
      }
    }
    if (n > 4) {
      out += String.fromCharCode(RAW_BYTE_BASE + b);
      n = 1;
    }
    i += n;
  }
  return out;
}

/**
 * The bytes `text` stands for: UTF-8, each U+DC80..U+DCFF ({@link textForLog}) as the byte it
 * keeps, as ssh's fprintf(3) writes an argument it was given.
 *
 * @example
 * textBytes('\udce9x'); // Uint8Array [0xe9, 0x78]
 */
export function textBytes(text: string): Uint8Array {
  if (!/[\udc80-\udcff]/.test(text)) return encoder.encode(text);
  const out: number[] = [];
  for (const ch of text) out.push(...charBytes(ch));
  return Uint8Array.from(out);
}

/**
 * The byte a lone U+DC80..U+DCFF ({@link textForLog}) keeps, or undefined for any other
 * character (or longer text).
 *
 * @example
 * rawByteOf('\udce9'); // 0xe9
 * rawByteOf('é'); // undefined
 */
export function rawByteOf(ch: string): number | undefined {
  const c = ch.charCodeAt(0);
  return ch.length === 1 && c >= RAW_BYTE_BASE + 0x80 && c <= RAW_BYTE_BASE + 0xff ? c - RAW_BYTE_BASE : undefined;
}

/** The bytes one character of such a text stands for: the byte it keeps ({@link rawByteOf}), else its UTF-8. */
export function charBytes(ch: string): Uint8Array {
  const raw = rawByteOf(ch);
  return raw === undefined ? encoder.encode(ch) : Uint8Array.of(raw);
}

/** Each UTF-8 byte of `ch` as `\ooo` (vis(3) with VIS_OCTAL | VIS_ALL). */
function octal(ch: string): string {
  const bytes = charBytes(ch);
  let out = '';
  for (const b of bytes) out += `\\${(b >> 6).toString(8)}${((b >> 3) & 7).toString(8)}${(b & 7).toString(8)}`;
  return out;
}

/**
 * `text` (a lone U+DC80..U+DCFF standing for a byte that was not UTF-8, see textForLog) as ssh's
 * fmprintf prints it under a UTF-8 locale (`utf8` true) or the C locale. In UTF-8, a character
 * wcwidth(3) gives -1 is escaped: control characters, lone surrogates (the bytes that were not
 * UTF-8) and code points with no character assigned. The CLI prints a server's banner with it
 * (its locale from src/node/terminal-text.ts), the library a DisconnectError's message.
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
