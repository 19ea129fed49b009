/**
 * Base64 (RFC 4648 §4) without Buffer, for fingerprints, known_hosts and key files in the
 * sans-IO core.
 */
import { ProtocolError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/**
 * Standard base64 (RFC 4648 §4). `pad: false` drops the trailing `=`, as `ssh-keygen -l` does for
 * SHA256 fingerprints.
 *
 * @example
 * ```ts
 * base64Encode(new Uint8Array([1, 2, 3, 4])); // "AQIDBA=="
 * ```
 */
export function base64Encode(bytes: Uint8Array, pad = true): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

/**
 * Decode standard base64 (RFC 4648 §4); padding is optional, whitespace is not accepted.
 * Invalid input raises a ProtocolError (code ERR_MALFORMED_PACKET), since it comes from files or
 * peers we do not control.
 */
export function base64Decode(text: string): Uint8Array {
  let end = text.length;
  // RFC 4648 §4: at most two '=' at the end.
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if ((end & 3) === 1 || (end !== text.length && ((text.length & 3) !== 0))) {
    throw new ProtocolError('invalid base64: bad length', { code: 'ERR_MALFORMED_PACKET' });
  }
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) throw new ProtocolError('invalid base64: unexpected character', { code: 'ERR_MALFORMED_PACKET' });
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  // RFC 4648 §3.5: leftover bits must be zero (canonical encoding).
  if ((acc & ((1 << bits) - 1)) !== 0) {
    throw new ProtocolError('invalid base64: non-zero trailing bits', { code: 'ERR_MALFORMED_PACKET' });
  }
  return out;
}
