/**
 * The PKCS#12 password-based key derivation (RFC 7292 Appendix B.2), as PKCS#8 files encrypted
 * with the PKCS#12 PBE schemes use it (RFC 7292 Appendix C, e.g. `openssl pkcs8 -topk8 -v1
 * PBE-SHA1-3DES`): the key and the IV each come from the passphrase as a BMPString, with a
 * diversifier byte of their own.
 */
import type { CHash } from '@noble/hashes/utils.js';

/** RFC 7292 Appendix B.3: the diversifier ID for key material and for IVs. */
export const PKCS12_KEY_ID = 1;
export const PKCS12_IV_ID = 2;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * RFC 7292 Appendix B.1: the password as a BMPString, big-endian UTF-16 with two zero bytes at the
 * end. Bytes that are not UTF-8 are taken one byte per character, as OpenSSL's
 * OPENSSL_utf82uni falls back to OPENSSL_asc2uni.
 */
export function pkcs12Password(passphrase: Uint8Array): Uint8Array {
  let units: ArrayLike<number>;
  try {
    const s = utf8Decoder.decode(passphrase);
    const u = new Uint16Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    units = u;
  } catch {
    units = passphrase;
  }
  const out = new Uint8Array(units.length * 2 + 2);
  for (let i = 0; i < units.length; i++) {
    out[2 * i] = units[i]! >> 8;
    out[2 * i + 1] = units[i]! & 0xff;
  }
  return out;
}

/** `src` repeated to fill `length` bytes (RFC 7292 B.2 steps 2–3; empty when `src` is). */
function fill(src: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(src.length === 0 ? 0 : length);
  for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
  return out;
}

/**
 * RFC 7292 Appendix B.2: `n` bytes of key material of kind `id` ({@link PKCS12_KEY_ID},
 * {@link PKCS12_IV_ID}) from `password` (already a BMPString, {@link pkcs12Password}), `salt`
 * and `iterations`, with `hash` (u = its output length, v = its block length).
 *
 * @example
 * const key = pkcs12Kdf(sha1, pkcs12Password(utf8('pass')), salt, PKCS12_KEY_ID, 2048, 24);
 */
export function pkcs12Kdf(hash: CHash, password: Uint8Array, salt: Uint8Array, id: number, iterations: number, n: number): Uint8Array {
  const u = hash.outputLen;
  const v = hash.blockLen;
  // Steps 1–4: D = v bytes of ID; I = S || P, each stretched to a multiple of v bytes.
  const d = new Uint8Array(v).fill(id);
  const s = fill(salt, v * Math.ceil(salt.length / v));
  const p = fill(password, v * Math.ceil(password.length / v));
  const i = new Uint8Array(s.length + p.length);
  i.set(s);
  i.set(p, s.length);
  p.fill(0);
  const out = new Uint8Array(n);
  const b = new Uint8Array(v);
  // Steps 5–8.
  for (let off = 0; off < n; off += u) {
    // 6a: A = H^r(D || I).
    let a = hash.create().update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) {
      const next = hash(a);
      a.fill(0);
      a = next;
    }
    out.set(a.subarray(0, Math.min(u, n - off)), off);
    if (off + u >= n) {
      a.fill(0);
      break;
    }
    // 6b–6c: B = A repeated to v bytes; each v-byte block I_j = (I_j + B + 1) mod 2^(8v).
    for (let k = 0; k < v; k++) b[k] = a[k % u]!;
    a.fill(0);
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i[j + k]! + b[k]! + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  i.fill(0);
  b.fill(0);
  return out;
}
