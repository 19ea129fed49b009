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

// ignoreBOM: a U+FEFF the peer sent is text like any other, not a mark to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `bytes` as a string for a log message: ASCII and valid UTF-8 as text, any other byte as
 * U+DC00 + byte.
 *
 * @example
 * textForLog(new Uint8Array([0x63, 0xc3, 0xa9, 0xff])); // 'cé\udcff'
 */
export function textForLog(bytes: Uint8Array): string {
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
