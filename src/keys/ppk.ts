/**
 * PuTTY private key files, PPK versions 2 and 3 (PuTTY manual, appendix C "PPK file format"):
 * a text header, the public blob in clear, the private blob (plain or AES-256-CBC encrypted),
 * and a MAC over both: HMAC-SHA-1 with SHA-1 key derivation in v2 (PuTTY 0.52–0.74), HMAC-SHA-256
 * with Argon2 key derivation in v3 (PuTTY 0.75+). Argon2 comes from ./extra-key-decryption.ts (the
 * context's `extra`), so that web bundles that do not opt in leave it and blake2 out.
 */
import { cbc } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Decode } from '../protocol/base64.js';
import { SshReader, SshWriter, concatBytes, constantTimeEqual, utf8 } from '../protocol/wire.js';
import { ECDSA_CURVES, readEcdsaPpk } from './ecdsa.js';
import { SSH_ED25519, readEd25519Ppk } from './ed25519.js';
import { keyBlobType } from './hostkey.js';
import type { Argon2Flavour } from './extra-key-decryption.js';
import { extraDecryptionMissing, passphraseNeeded, wrongPassphrase, type KeyFileContext, type KeyFileText, type ParsedKeyFile } from './key-file.js';
import { SSH_RSA, readRsaPpk } from './rsa.js';
import { keyFormatError, type SigningKey } from './signing.js';

const ARGON2_FLAVOURS: readonly string[] = ['Argon2id', 'Argon2i', 'Argon2d'] satisfies Argon2Flavour[];

/** The header lines of a PPK file, in the order PuTTY writes and reads them (appendix C.2). */
class PpkLines {
  private i = 0;
  constructor(private readonly lines: string[]) {}

  /** The value of the next line, which must be `name: value`. */
  field(name: string): string {
    const line = this.lines[this.i++];
    if (line === undefined || !line.startsWith(`${name}:`)) {
      throw keyFormatError(`PuTTY key file: expected a "${name}:" line${line === undefined ? ', found the end' : ''}`);
    }
    // Appendix C.2: "Name: value"; an empty comment may have lost its space to an editor.
    const value = line.slice(name.length + 1);
    return value.startsWith(' ') ? value.slice(1) : value;
  }

  number(name: string): number {
    const v = this.field(name);
    if (!/^\d{1,9}$/.test(v)) throw keyFormatError(`PuTTY key file: ${name} "${v}" is not a number`);
    return Number(v);
  }

  /** `<name>-Lines: N` then N lines of base64 (appendix C.2). */
  base64Block(name: string): Uint8Array {
    const n = this.number(`${name}-Lines`);
    if (this.i + n > this.lines.length) throw keyFormatError(`PuTTY key file: ${name}-Lines says ${n}, the file ends first`);
    const text = this.lines.slice(this.i, this.i + n).join('');
    this.i += n;
    try {
      return base64Decode(text);
    } catch (cause) {
      throw keyFormatError(`PuTTY key file: invalid base64 in the ${name.toLowerCase()} key lines`, cause);
    }
  }

  end(): void {
    if (this.lines.slice(this.i).some((l) => l.trim() !== '')) throw keyFormatError('PuTTY key file: unexpected lines after Private-MAC');
  }
}

function fromHex(s: string, what: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw keyFormatError(`PuTTY key file: ${what} is not hex`);
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Key material for the private blob and the MAC (appendix C.4; C.5.1 for v2). */
interface PpkKeys {
  cipherKey: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array;
}

/** v2 (appendix C.5.1): key = SHA-1(0 || pass) || SHA-1(1 || pass), first 32 bytes; IV zero. */
function v2Keys(passphrase: Uint8Array, encrypted: boolean): PpkKeys {
  const seq = (n: number) => sha1(concatBytes(new Uint8Array([0, 0, 0, n]), passphrase));
  const cipherKey = encrypted ? concatBytes(seq(0), seq(1)).subarray(0, 32) : new Uint8Array(0);
  // v2: the MAC key is SHA-1("putty-private-key-file-mac-key" || passphrase), "" if unencrypted.
  const macKey = sha1(concatBytes(utf8('putty-private-key-file-mac-key'), encrypted ? passphrase : new Uint8Array(0)));
  return { cipherKey, iv: new Uint8Array(16), macKey };
}

/** The v3 `Key-Derivation` and `Argon2-*` header lines (appendix C.2) of an encrypted file. */
interface PpkArgon2 {
  flavour: Argon2Flavour;
  m: number;
  t: number;
  p: number;
  salt: Uint8Array;
}

/** The most memory a `.ppk` file's Argon2 may ask for, in KiB (1 GiB). */
const ARGON2_MAX_MEMORY_KIB = 1 << 20;

function readArgon2Params(lines: PpkLines): PpkArgon2 {
  const flavour = lines.field('Key-Derivation');
  if (!ARGON2_FLAVOURS.includes(flavour)) {
    throw keyFormatError(`PuTTY key file: Key-Derivation "${flavour}" is not supported (${ARGON2_FLAVOURS.join(', ')})`);
  }
  const m = lines.number('Argon2-Memory');
  const t = lines.number('Argon2-Passes');
  const p = lines.number('Argon2-Parallelism');
  // RFC 9106 §3.1: p lanes (1..2^24-1), t passes >= 1, m >= 8p KiB. The memory a hostile file may
  // ask for is capped before anything is allocated, at 1 GiB (PuTTY's default is 8 MiB; @noble's
  // own limit is also 1 GiB, but it would fail later, with an untyped error).
  if (p < 1 || p > 0xffffff || t < 1 || m < 8 * p) {
    throw keyFormatError(`PuTTY key file: Argon2 parameters out of range (memory ${m} KiB, passes ${t}, parallelism ${p})`);
  }
  if (m > ARGON2_MAX_MEMORY_KIB) {
    throw keyFormatError(`PuTTY key file: Argon2-Memory ${m} KiB is over pure-ssh's limit of ${ARGON2_MAX_MEMORY_KIB} KiB (1 GiB)`);
  }
  const salt = fromHex(lines.field('Argon2-Salt'), 'Argon2-Salt');
  return { flavour: flavour as Argon2Flavour, m, t, p, salt };
}

/**
 * v3 (appendix C.4): Argon2 → cipher key (32) || IV (16) || MAC key (32); all empty if unencrypted
 * (or without `ctx.extra`, which parsePpk refuses first: the MAC could then never verify).
 */
function v3Keys(kdf: PpkArgon2 | undefined, passphrase: Uint8Array | undefined, ctx: KeyFileContext): PpkKeys {
  if (!kdf || !passphrase || !ctx.extra) return { cipherKey: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
  // Appendix C.4: Argon2 (version 0x13) with no secret key or associated data; tag length 80.
  const { flavour, m, t, p, salt } = kdf;
  const out = ctx.extra.argon2(flavour, passphrase, salt, { t, m, p, dkLen: 80 });
  return { cipherKey: out.subarray(0, 32), iv: out.subarray(32, 48), macKey: out.subarray(48, 80) };
}

function readPrivateBlob(keyType: string, blob: Uint8Array, publicKeyBlob: Uint8Array, ctx: KeyFileContext): SigningKey {
  // Appendix C.3: the private fields only; random padding may follow and is ignored.
  const r = new SshReader(blob);
  if (keyType === SSH_ED25519) return readEd25519Ppk(r, publicKeyBlob, ctx.crypto);
  if (ECDSA_CURVES.has(keyType)) return readEcdsaPpk(keyType, r, publicKeyBlob, ctx.crypto);
  if (keyType === SSH_RSA) return readRsaPpk(r, publicKeyBlob);
  throw keyFormatError(`key type "${keyType}" is not supported (supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)`);
}

/**
 * Parse a PuTTY `.ppk` file (versions 2 and 3). Throws KeyError: ERR_KEY_ENCRYPTED for an
 * encrypted key without a passphrase, ERR_KEY_PASSPHRASE when the MAC does not verify under the
 * passphrase given, ERR_KEY_FORMAT for anything malformed or unsupported.
 */
export function parsePpk(file: KeyFileText, ctx: KeyFileContext): ParsedKeyFile {
  const all = file.text.trimStart().split(/\r\n|\r|\n/);
  const lines = new PpkLines(all);
  const head = /^PuTTY-User-Key-File-(\d+): (.*)$/.exec(all[0] ?? '');
  if (!head) throw keyFormatError('not a PuTTY key file (no "PuTTY-User-Key-File-N:" first line)');
  const version = Number(head[1]);
  if (version !== 2 && version !== 3) {
    throw keyFormatError(`PuTTY key file version ${version} is not supported (2 and 3 are); re-save it with a current puttygen`);
  }
  const format = `PuTTY PPK v${version}`;
  const algorithm = lines.field(`PuTTY-User-Key-File-${version}`);
  const encryption = lines.field('Encryption');
  if (encryption !== 'none' && encryption !== 'aes256-cbc') {
    throw keyFormatError(`${format}: Encryption "${encryption}" is not supported (none, aes256-cbc)`);
  }
  const encrypted = encryption !== 'none';
  const comment = lines.field('Comment');
  const publicKeyBlob = lines.base64Block('Public');
  const blobType = keyBlobType(publicKeyBlob);
  if (blobType !== algorithm) throw keyFormatError(`${format}: header says ${algorithm}, the public key is ${blobType}`);

  const kdf = version === 3 && encrypted ? readArgon2Params(lines) : undefined;
  const stored = lines.base64Block('Private');
  const mac = fromHex(lines.field('Private-MAC'), 'Private-MAC');
  lines.end();
  // As the 3DES files: refused before a passphrase is asked for, since none would help.
  if (kdf && !ctx.extra) throw extraDecryptionMissing(format, `aes256-cbc with ${kdf.flavour} key derivation`);
  const passphrase = encrypted && ctx.passphrase?.length ? ctx.passphrase : undefined;
  if (encrypted && !passphrase) throw passphraseNeeded(ctx, format, version === 3 ? 'aes256-cbc, Argon2' : 'aes256-cbc');
  const keys = version === 2 ? v2Keys(passphrase ?? new Uint8Array(0), encrypted) : v3Keys(kdf, passphrase, ctx);

  let privateBlob = stored;
  if (encrypted) {
    // Appendix C.2: the encrypted blob is padded to the AES block size.
    if (stored.length === 0 || stored.length % 16 !== 0) throw keyFormatError(`${format}: private blob is not a whole number of AES blocks`);
    privateBlob = cbc(keys.cipherKey, keys.iv, { disablePadding: true }).decrypt(stored);
  }
  try {
    // Appendix C.2: the MAC covers algorithm, encryption, comment, public blob and the plaintext
    // private blob (with its padding), each as an SSH string.
    const macData = new SshWriter()
      .string(algorithm)
      .string(encryption)
      .string(file.bytesOf(comment))
      .string(publicKeyBlob)
      .string(privateBlob)
      .toBytes();
    const expected = hmac(version === 3 ? sha256 : sha1, keys.macKey, macData);
    macData.fill(0);
    if (!constantTimeEqual(expected, mac)) {
      if (encrypted) throw wrongPassphrase(ctx, format, 'the MAC does not verify');
      throw keyFormatError(`${format}: the MAC does not verify (the file was damaged or edited)`);
    }
    return { key: readPrivateBlob(algorithm, privateBlob, publicKeyBlob, ctx), comment, format: 'ppk' };
  } finally {
    if (encrypted) privateBlob.fill(0);
    keys.cipherKey.fill(0);
    keys.macKey.fill(0);
  }
}
