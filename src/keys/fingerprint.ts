/**
 * Key fingerprints as OpenSSH writes them (sshkey.c sshkey_fingerprint): `SHA256:` and unpadded
 * base64 of the digest (SSH_FP_DEFAULT for every hash but MD5), `MD5:` and colon-separated hex
 * for MD5, and the "random art" picture ssh_config(5) VisualHostKey draws (SSH_FP_RANDOMART).
 *
 * The digest comes in as a {@link FingerprintHash}, so that the core carries SHA-256 only and a
 * bundle that never asks for MD5 (ssh_config(5) FingerprintHash) does not carry it either:
 * `fingerprint-hashes.ts` has the others, for the Node side.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Encode } from '../protocol/base64.js';
import { SshReader, fromUtf8 } from '../protocol/wire.js';

/** A digest for fingerprints and its name as OpenSSH prints it (digest.c ssh_digest_alg_name). */
export interface FingerprintHash {
  /** `SHA256`, `MD5`, `SHA1`, `SHA384` or `SHA512`. */
  readonly name: string;
  digest(data: Uint8Array): Uint8Array;
}

/** OpenSSH's default FingerprintHash (SSH_FP_HASH_DEFAULT). */
export const SHA256_FINGERPRINT: FingerprintHash = { name: 'SHA256', digest: sha256 };

/**
 * The fingerprint of a key blob (hashed whole: pass a certificate's plain key, as sshkey.c
 * sshkey_fingerprint_raw does with `force_plain`), as ssh-keygen -l and ssh's messages write it.
 *
 * @example
 * ```ts
 * keyFingerprint(blob); // "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
 * keyFingerprint(blob, md5Hash); // "MD5:3b:a4:..."
 * ```
 */
export function keyFingerprint(blob: Uint8Array, hash: FingerprintHash = SHA256_FINGERPRINT): string {
  const digest = hash.digest(blob);
  // sshkey.c sshkey_fingerprint, SSH_FP_DEFAULT: fingerprint_hex for MD5, else fingerprint_b64.
  if (hash.name === 'MD5') return `MD5:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(':')}`;
  return `${hash.name}:${base64Encode(digest, false)}`;
}

/** sshkey.c FLDBASE: the picture is (2·8+1) × (8+1) cells, its start in the middle. */
const FIELD_X = 17;
const FIELD_Y = 9;
/** What a cell shows, by how often the walk came by; the last two mark its start and end. */
const SYMBOLS = ' .o+=*BOX@%&#/^SE';

/**
 * The "random art" of a digest (sshkey.c fingerprint_randomart, Perrig and Song's hash
 * visualization): a walk from the middle of the field, one diagonal step per two bits of each byte
 * (low bits first: bit 0 right or left, bit 1 down or up), held at the walls; each cell shows how
 * often it was visited, `S` the start and `E` the end. `title` goes in the top border (`[ED25519
 * 256]`), `[hashName]` in the bottom one. Lines joined by "\n", none after the last.
 */
export function randomArt(digest: Uint8Array, hashName: string, title: string): string {
  const field = new Uint8Array(FIELD_X * FIELD_Y);
  const last = SYMBOLS.length - 1;
  let x = FIELD_X >> 1;
  let y = FIELD_Y >> 1;
  for (const byte of digest) {
    for (let b = 0, input = byte; b < 4; b++, input >>= 2) {
      x = Math.min(Math.max(x + (input & 1 ? 1 : -1), 0), FIELD_X - 1);
      y = Math.min(Math.max(y + (input & 2 ? 1 : -1), 0), FIELD_Y - 1);
      // Counting stops short of the two marks.
      const cell = y * FIELD_X + x;
      if (field[cell]! < last - 2) field[cell] = field[cell]! + 1;
    }
  }
  field[(FIELD_Y >> 1) * FIELD_X + (FIELD_X >> 1)] = last - 1;
  field[y * FIELD_X + x] = last;
  // The label in the middle of a border, one dash more after it than before when they differ.
  const border = (label: string): string => {
    const before = (FIELD_X - label.length) >> 1;
    return `+${'-'.repeat(before)}${label}${'-'.repeat(Math.max(FIELD_X - before - label.length, 0))}+`;
  };
  const rows: string[] = [border(title)];
  for (let row = 0; row < FIELD_Y; row++) {
    let line = '|';
    for (let col = 0; col < FIELD_X; col++) line += SYMBOLS[field[row * FIELD_X + col]!]!;
    rows.push(`${line}|`);
  }
  rows.push(border(`[${hashName}]`.slice(0, FIELD_X - 1)));
  return rows.join('\n');
}

/**
 * The top border's label for a key (sshkey.c fingerprint_randomart): `[TYPE BITS]`, or `[TYPE]`
 * when that does not fit in the 17 columns (`[ED25519-CERT]`). `type` is OpenSSH's short name
 * (`ED25519`, `RSA-CERT`); `bits` its sshkey_size.
 */
export function randomArtTitle(type: string, bits: number): string {
  // snprintf into title[FLDSIZE_X]: the long form when its length is at most 17 (17 itself is
  // truncated to 16), the short form otherwise, cut to 16 likewise.
  const long = `[${type} ${bits}]`;
  return (long.length <= FIELD_X ? long : `[${type}]`).slice(0, FIELD_X - 1);
}

/**
 * sshkey.c sshkey_size of a plain public key blob: an RSA modulus's or a DSA prime's bits, the
 * ECDSA curve's size, 256 for Ed25519 (and the FIDO forms); 0 for a blob it cannot read.
 */
export function publicKeyBits(blob: Uint8Array): number {
  try {
    const r = new SshReader(blob);
    const type = fromUtf8(r.string('key type'));
    if (type === 'ssh-rsa') {
      r.string('rsa e');
      return mpintBits(r.string('rsa n'));
    }
    if (type === 'ssh-dss') return mpintBits(r.string('dsa p'));
    if (type.endsWith('ssh-ed25519') || type.startsWith('sk-ssh-ed25519')) return 256;
    const curve = /nistp(256|384|521)/.exec(type);
    if (curve) return Number(curve[1]);
  } catch {
    // A key the exchange verified cannot fail here; an unreadable one has no size.
  }
  return 0;
}

/** Bits of an mpint's magnitude (BN_num_bits): its leading zero byte and zero bits not counted. */
function mpintBits(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}
