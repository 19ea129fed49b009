/**
 * User private keys: {@link parsePrivateKey} recognises the file format and returns a signing
 * object. This file holds the OpenSSH format ("openssh-key-v1", OpenSSH PROTOCOL.key), plain
 * or encrypted with a passphrase (bcrypt_pbkdf and any cipher `ssh-keygen -Z` offers; 3des-cbc
 * through ./extra-key-decryption.ts);
 * `pem.ts` and `pkcs8.ts` read PKCS#1, SEC1 and PKCS#8 (plain and encrypted), `ppk.ts` PuTTY's
 * format (v3's Argon2 through ./extra-key-decryption.ts). Sans-IO: text or bytes in; reading files lives in `src/node/identity-file.ts`.
 *
 * Key types: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256/384/521 (RFC 5656), ssh-rsa with
 * rsa-sha2-256/512 signatures (RFC 8332).
 */
import { bcryptPbkdf } from '../crypto/bcrypt-pbkdf.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { KeyError, ProtocolError } from '../errors.js';
import { base64Decode } from '../protocol/base64.js';
import { SshReader, constantTimeEqual, utf8 } from '../protocol/wire.js';
import { ECDSA_CURVES, readEcdsaOpenSsh } from './ecdsa.js';
import { SSH_ED25519, readEd25519OpenSsh } from './ed25519.js';
import type { ExtraKeyDecryption } from './extra-key-decryption.js';
import { KEY_FILE_CIPHERS } from './key-ciphers.js';
import {
  extraDecryptionMissing,
  keyFileText,
  passphraseNeeded,
  wrongPassphrase,
  type KeyFileContext,
  ENCRYPTED_KEY_HINT_WEB,
  type ParsedKeyFile,
  type PrivateKeyFormat,
} from './key-file.js';
import { parsePemPrivateKey, pemFormatName, readPem } from './pem.js';
import { parsePpk } from './ppk.js';
import { SSH_RSA, readRsaOpenSsh } from './rsa.js';
import { keepSshReason, keyFormatError, libcryptoKeyError, markLibcrypto, markSshReason, sshKeyParseReason, type SigningKey } from './signing.js';
import { decodePublicKeyBlob, sshKnowsKeyType } from './hostkey.js';

export type { PrivateKeyFormat } from './key-file.js';
export { parsePublicKeyFile, parsePublicKeyLine, type PublicKeyFileEntry } from './publickey-file.js';

/** A private key that can sign SSH user authentication requests. */
export interface PrivateKey extends SigningKey {
  /** The comment stored with the key (often `user@host`; '' for formats without one, like PEM). */
  readonly comment: string;
  /** The file format the key was read from; absent for keys that did not come from a file. */
  readonly format?: PrivateKeyFormat;
}

/** Options of {@link parsePrivateKey}. */
export interface ParsePrivateKeyOptions {
  /**
   * The passphrase of an encrypted key (a string is UTF-8 encoded, as ssh-keygen reads it from
   * a terminal). Ignored for unencrypted keys. The caller's bytes are not modified.
   */
  passphrase?: string | Uint8Array;
  /** Names the key in error messages, e.g. its path. Default "private key". */
  source?: string;
  /**
   * The provider whose Ed25519 (when it has one, e.g. the Node adapter's node:crypto) computes
   * an ssh-ed25519 key's public half to check it against the file's; without one @noble/curves
   * does. The check and its error are the same either way.
   */
  crypto?: CryptoProvider;
  /**
   * Reads PEM and PKCS#8 files protected with DES-EDE3-CBC, the PKCS#12 PBE (PBE-SHA1-3DES) or
   * scrypt, OpenSSH files under 3des-cbc and encrypted PuTTY PPK v3 files (Argon2 key derivation):
   * `extraKeyDecryption` from `pure-ssh/key-decryption`. The
   * `pure-ssh` and `pure-ssh/core` exports of parsePrivateKey pass it by default; the
   * `pure-ssh/web` one leaves it out of the bundle unless given (such files are then refused with
   * ERR_KEY_FORMAT saying so).
   */
  extraKeyDecryption?: ExtraKeyDecryption;
}

// PROTOCOL.key §1: the armour lines around the base64 body.
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
// PROTOCOL.key §1: AUTH_MAGIC, NUL-terminated.
const AUTH_MAGIC = 'openssh-key-v1\0';
const OPENSSH = 'OpenSSH private key';

/**
 * Parse a private key file: OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`), PEM PKCS#1
 * (`RSA PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`,
 * RSA/EC/Ed25519; PBES2 with PBKDF2 or scrypt and AES-CBC or 3DES, PKCS#12 PBE-SHA1-3DES),
 * legacy-encrypted PEM (`Proc-Type: 4,ENCRYPTED`, AES-CBC or DES-EDE3-CBC), or PuTTY `.ppk`
 * v2/v3. The second argument may be the options, or just the source name.
 *
 * Throws {@link KeyError}, whose message names the source and format:
 * - `ERR_KEY_ENCRYPTED`: the key is encrypted and no passphrase was given (the message says to
 *   give the passphrase option; this export is pure-ssh/web's, so it names no ssh-agent);
 * - `ERR_KEY_PASSPHRASE`: the passphrase is wrong (check integers, MAC, tag or padding say so);
 * - `ERR_KEY_FORMAT`: not a private key, malformed, or an unsupported type, cipher or KDF.
 *
 * @example
 * const key = parsePrivateKey(readFileSync('id_ed25519'), { passphrase: 'correct horse', source: 'id_ed25519' });
 * const sigBlob = key.sign(key.signatureAlgorithms[0], data);
 */
export function parsePrivateKey(input: string | Uint8Array, options?: string | ParsePrivateKeyOptions): PrivateKey {
  return parsePrivateKeyFor(input, options, ENCRYPTED_KEY_HINT_WEB);
}

/**
 * {@link parsePrivateKey}, its ERR_KEY_ENCRYPTED message ending in `encryptedKeyHint`: what the
 * runtime that parses offers instead (this module's export is pure-ssh/web's; the Node adapter's
 * is ./parse-private-key.ts).
 */
export function parsePrivateKeyFor(input: string | Uint8Array, options: string | ParsePrivateKeyOptions | undefined, encryptedKeyHint: string): PrivateKey {
  const opts = typeof options === 'string' ? { source: options } : (options ?? {});
  const source = opts.source ?? 'private key';
  const given = opts.passphrase;
  // A copy we own and wipe, whatever the caller passed.
  const passphrase = given === undefined ? undefined : typeof given === 'string' ? utf8(given) : given.slice();
  const ctx: KeyFileContext = { source, passphrase, crypto: opts.crypto, extra: opts.extraKeyDecryption, encryptedKeyHint };
  const file = keyFileText(input);
  const { text } = file;
  let formatName = 'private key';
  try {
    let parsed: ParsedKeyFile;
    if (text.includes(BEGIN)) {
      formatName = OPENSSH;
      parsed = parseOpenSsh(text, ctx);
    } else if (/^PuTTY-User-Key-File-/.test(text.trimStart())) {
      formatName = 'PuTTY key file';
      parsed = parsePpk(file, ctx);
    } else {
      const pem = readPem(text);
      if (!pem) throw notAPrivateKey(text);
      formatName = pemFormatName(pem.label);
      parsed = parsePemPrivateKey(pem, ctx);
    }
    const { key, comment, format } = parsed;
    return { ...key, comment, format };
  } catch (err) {
    throw withSource(err, source, formatName);
  } finally {
    passphrase?.fill(0);
  }
}

/** Say what a file that is no private key is, instead of "bad format". */
function notAPrivateKey(text: string): KeyError {
  if (/^\s*(ssh-|ecdsa-|sk-)\S+\s+AAAA/.test(text) || text.includes('---- BEGIN SSH2 PUBLIC KEY ----')) {
    return libcryptoKeyError('is a public key; give the private key file (usually the same name without .pub)');
  }
  if (text.includes('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----')) {
    return libcryptoKeyError('is an ssh.com (SECSH) private key; convert a copy with: ssh-keygen -i -f <file> > <copy>');
  }
  return libcryptoKeyError(
    'not a private key file (supported: OpenSSH, PEM PKCS#1/SEC1/PKCS#8, PuTTY .ppk); ' +
      `no "${BEGIN}", "-----BEGIN ... PRIVATE KEY-----" or "PuTTY-User-Key-File-" line`,
  );
}

/** Every error out of the parsers as a KeyError naming the file and format. */
function withSource(err: unknown, source: string, format: string): KeyError {
  if (err instanceof KeyError) {
    if (err.source !== undefined) return err;
    return keepSshReason(err, new KeyError(err.code, `${source}: ${err.message}`, { source, format: err.format ?? format, cause: err.cause ?? err }));
  }
  // SshReader raises ProtocolError on truncation: that means a damaged file here, not a peer.
  const detail = err instanceof Error ? err.message : String(err);
  return new KeyError('ERR_KEY_FORMAT', `${source}: corrupted ${format} (${detail})`, { source, format, cause: err });
}

function latin(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function parseOpenSsh(text: string, ctx: KeyFileContext): ParsedKeyFile {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END, begin);
  // OpenSSH sshkey.c private2_uudecode: SSH_ERR_INVALID_FORMAT, so ssh tries PEM: libcrypto's error.
  if (end < 0) throw libcryptoKeyError(`no "${END}" line`);
  let raw: Uint8Array;
  try {
    raw = base64Decode(text.slice(begin + BEGIN.length, end).replace(/\s+/g, ''));
  } catch (cause) {
    throw libcryptoKeyError('invalid base64 inside the OpenSSH private key armour', cause);
  }
  try {
    return parseKeyV1(raw, ctx);
  } finally {
    raw.fill(0);
  }
}

function parseKeyV1(raw: Uint8Array, ctx: KeyFileContext): ParsedKeyFile {
  const r = new SshReader(raw);
  if (raw.length < AUTH_MAGIC.length || latin(r.raw(AUTH_MAGIC.length)) !== AUTH_MAGIC) {
    throw libcryptoKeyError('not an openssh-key-v1 private key (bad magic)');
  }
  // PROTOCOL.key §1: string ciphername, string kdfname, string kdfoptions, uint32 N,
  // string publickey1..N, string encrypted private list (then the AEAD tag, OpenSSH sshkey.c).
  // The checks below run in OpenSSH sshkey.c private2_decrypt's order, so that the first damage
  // found is the one ssh(1) reports (a magic without its NUL reads the cipher name's length from
  // the wrong offset: "incomplete message").
  const cipherName = latin(sshbufCString(r, 'ciphername'));
  const kdfName = latin(sshbufCString(r, 'kdfname'));
  const kdfOptions = sshbufString(r, 'kdfoptions');
  const nkeys = sshbufU32(r, 'nkeys');
  // OpenSSH sshkey.c private2_decrypt: files hold exactly one key. Its SSH_ERR_INVALID_FORMAT
  // (here and below) sends sshkey_parse_private_fileblob_type on to the PEM parser, whose failure
  // ssh(1) reports as "error in libcrypto" (libcryptoKeyError).
  if (nkeys !== 1) throw libcryptoKeyError(`holds ${nkeys} keys; exactly one is supported`);
  // private2_decrypt reads the public key with sshkey_froms, strictly (decodePublicKeyBlob): one
  // cut short is SSH_ERR_MESSAGE_INCOMPLETE; its SSH_ERR_INVALID_FORMAT sends ssh on to the PEM
  // parser ("error in libcrypto"); its other errors are said as they are. sshkey_equal compares
  // the decoded keys: the key as ssh holds it (an RSA mpint's leading zeros in the header do not count).
  let headerPublic: Uint8Array;
  try {
    headerPublic = decodePublicKeyBlob(sshbufString(r, 'public key').slice()).blob;
  } catch (err) {
    throw sshKeyParseReason(err) === 'invalid format' ? markLibcrypto(err as Error) : err;
  }
  const sectionLength = sshbufU32(r, 'private section length');
  const cipher = KEY_FILE_CIPHERS.get(cipherName) ?? ctx.extra?.keyFileCipher(cipherName);
  // private2_decrypt: an unknown cipher or KDF is SSH_ERR_KEY_UNKNOWN_CIPHER.
  if (!cipher) {
    if (cipherName === '3des-cbc') throw extraDecryptionMissing(OPENSSH, cipherName);
    throw unknownCipher(`cipher "${cipherName}" is not supported; re-encrypt a copy with: ssh-keygen -p -Z aes256-ctr -f <copy>`);
  }
  // PROTOCOL.key §2, §5: kdf "bcrypt", or "none" with cipher "none".
  if (kdfName !== 'none' && kdfName !== 'bcrypt') throw unknownCipher(`KDF "${kdfName}" is not supported (bcrypt)`);
  if (kdfName === 'none' && cipherName !== 'none') throw libcryptoKeyError(`kdf "none" with cipher "${cipherName}" is not a valid combination`);
  const encrypted = kdfName === 'bcrypt';
  const how = `${cipherName}/${kdfName}`;
  if (encrypted && !ctx.passphrase?.length) throw passphraseNeeded(ctx, OPENSSH, how);
  // PROTOCOL.key §3: the private list is padded to the cipher's block size.
  if (sectionLength < cipher.blockSize || sectionLength % cipher.blockSize !== 0) {
    throw libcryptoKeyError(`private section length ${sectionLength} is not a multiple of ${cipher.blockSize} (corrupted)`);
  }
  let keyIv: Uint8Array | undefined;
  if (encrypted) {
    // PROTOCOL.key §2: kdfoptions = string salt, uint32 rounds.
    const k = new SshReader(kdfOptions);
    const salt = sshbufString(k, 'bcrypt salt');
    const rounds = sshbufU32(k, 'bcrypt rounds');
    k.end('bcrypt kdfoptions');
    // PROTOCOL.key §4: the KDF yields the cipher's key then its IV. bcrypt_pbkdf refusing its
    // arguments (no rounds, no salt) is SSH_ERR_INVALID_FORMAT to private2_decrypt.
    try {
      keyIv = bcryptPbkdf(ctx.passphrase!, salt, rounds, cipher.keyLength + cipher.ivLength);
    } catch (cause) {
      throw libcryptoKeyError(`bcrypt KDF options refused: ${(cause as Error).message}`, cause);
    }
  }
  try {
    // private2_decrypt: the private section and the tag must be there (SSH_ERR_INVALID_FORMAT), and
    // nothing after them.
    if (r.remaining < cipher.tagLength || r.remaining - cipher.tagLength < sectionLength) {
      throw libcryptoKeyError(`private section needs ${sectionLength} bytes and a ${cipher.tagLength}-byte tag, ${r.remaining} left (corrupted)`);
    }
    const section = r.raw(sectionLength, 'private section');
    const tag = r.raw(cipher.tagLength, 'authentication tag');
    let plain = section;
    if (keyIv) {
      const decrypted = cipher.decrypt(keyIv.subarray(0, cipher.keyLength), keyIv.subarray(cipher.keyLength), section, tag);
      // OpenSSH private2_decrypt: an integrity failure here means a wrong passphrase.
      if (!decrypted) throw wrongPassphrase(ctx, OPENSSH, `${how}: the authentication tag does not verify`);
      plain = decrypted;
    }
    if (r.remaining !== 0) {
      if (encrypted) plain.fill(0);
      throw libcryptoKeyError(`${r.remaining} unexpected trailing bytes after the private key (corrupted)`);
    }
    try {
      return parsePrivateList(plain, headerPublic, encrypted ? how : undefined, ctx);
    } finally {
      if (encrypted) plain.fill(0);
    }
  } finally {
    keyIv?.fill(0);
  }
}

/** sshbuf.h SSHBUF_SIZE_MAX: the longest string sshbuf reads is 4 bytes shorter. */
const SSHBUF_SIZE_MAX = 0x8000000;

/**
 * A string read as OpenSSH sshbuf-getput-basic.c sshbuf_peek_string_direct does, failing with its
 * reason: a length over SSHBUF_SIZE_MAX − 4 is SSH_ERR_STRING_TOO_LARGE, fewer bytes than it says
 * SSH_ERR_MESSAGE_INCOMPLETE.
 */
function sshbufString(r: SshReader, what: string): Uint8Array {
  const length = r.remaining >= 4 ? new DataView(r.buf.buffer, r.buf.byteOffset + r.offset, 4).getUint32(0) : undefined;
  try {
    return r.string(what);
  } catch (cause) {
    const reason = length !== undefined && length > SSHBUF_SIZE_MAX - 4 ? 'string is too large' : 'incomplete message';
    throw markSshReason(keyFormatError(`${what} cut short (corrupted)`, cause), reason);
  }
}

/** sshbuf_get_cstring: {@link sshbufString}, and a NUL inside is SSH_ERR_INVALID_FORMAT ("error in libcrypto" after the PEM fallback). */
function sshbufCString(r: SshReader, what: string): Uint8Array {
  const s = sshbufString(r, what);
  if (s.includes(0)) throw libcryptoKeyError(`a NUL inside the ${what} (corrupted)`);
  return s;
}

/** sshbuf_get_u32: fewer than 4 bytes left is SSH_ERR_MESSAGE_INCOMPLETE. */
function sshbufU32(r: SshReader, what: string): number {
  try {
    return r.uint32();
  } catch (cause) {
    throw markSshReason(keyFormatError(`${what} cut short (corrupted)`, cause), 'incomplete message');
  }
}

/** OpenSSH sshkey.c private2_decrypt's SSH_ERR_KEY_UNKNOWN_CIPHER, in ssh(1)'s words "key encrypted using unsupported cipher". */
function unknownCipher(message: string): KeyError {
  return markSshReason(keyFormatError(message), 'key encrypted using unsupported cipher');
}

/** PROTOCOL.key §3: checkints, the key, its comment, padding 1, 2, 3, … */
function parsePrivateList(plain: Uint8Array, headerPublic: Uint8Array, encryption: string | undefined, ctx: KeyFileContext): ParsedKeyFile {
  const p = new SshReader(plain);
  // PROTOCOL.key §3: two equal random checkints; they detect a wrong passphrase, and in an
  // unencrypted file can only differ if it is damaged.
  if (p.uint32() !== p.uint32()) {
    if (encryption) throw wrongPassphrase(ctx, OPENSSH, `${encryption}: the check integers differ`);
    throw keyFormatError('check integers do not match (corrupted key file)');
  }
  const keyType = latin(sshbufCString(p, 'key type'));
  const fieldsAt = p.offset;
  let key: SigningKey;
  try {
    key = readKeyFields(keyType, p, ctx);
  } catch (err) {
    throw privateFieldsError(err, keyType, plain, fieldsAt, headerPublic);
  }
  try {
    const commentBytes = sshbufCString(p, 'comment');
    let comment: string;
    try {
      comment = new TextDecoder('utf-8', { fatal: true }).decode(commentBytes);
    } catch {
      comment = latin(commentBytes);
    }
    // PROTOCOL.key §3: padding bytes are 1, 2, 3, ... (OpenSSH checks the pattern, not the count).
    // sshkey.c private2_check_padding and the envelope check: SSH_ERR_INVALID_FORMAT, "error in
    // libcrypto" to ssh(1) (see nkeys above).
    if (p.rest().some((b, i) => b !== ((i + 1) & 0xff))) throw libcryptoKeyError('bad padding after the private key (corrupted key file)');
    if (!constantTimeEqual(key.publicKeyBlob, headerPublic)) {
      throw libcryptoKeyError('the private key does not match the public key stored with it (corrupted key file)');
    }
    return { key, comment, format: 'openssh' };
  } catch (err) {
    key.dispose();
    throw err;
  }
}

/** The key type's fields (PROTOCOL.key §3: "encoded using the same rules as used for SSH agent"). */
function readKeyFields(keyType: string, p: SshReader, ctx: KeyFileContext): SigningKey {
  if (keyType === SSH_ED25519) return readEd25519OpenSsh(p, ctx.crypto);
  if (ECDSA_CURVES.has(keyType)) return readEcdsaOpenSsh(keyType, p, ctx.crypto);
  if (keyType === SSH_RSA) return readRsaOpenSsh(p);
  const err = keyFormatError(`key type "${keyType}" is not supported (supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)`);
  // sshkey.c sshkey_private_deserialize: a type ssh(1) does not know has no sshkey_impl, and that
  // is its SSH_ERR_INTERNAL_ERROR.
  throw sshKnowsKeyType(keyType) ? err : markSshReason(err, 'unexpected internal error');
}

/**
 * ssh(1)'s reason for the private fields of `keyType` at `at` in `plain` that the key type's
 * reader refused with `err` (sshkey.c sshkey_private_deserialize, then sshkey_parse_private2's
 * envelope check): a field cut short is sshbuf's SSH_ERR_MESSAGE_INCOMPLETE; public fields
 * (Ed25519 pk; ECDSA curve, Q; RSA n, e) unlike the clear public key are the envelope mismatch,
 * SSH_ERR_INVALID_FORMAT ("error in libcrypto" after the PEM fallback), whatever check of this
 * library's found the damage first. Otherwise `err` as it is: a reason of its own, or a check
 * stricter than ssh's (halves that disagree, inconsistent RSA fields), "invalid format".
 */
function privateFieldsError(err: unknown, keyType: string, plain: Uint8Array, at: number, headerPublic: Uint8Array): unknown {
  // SshReader's only refusal on these reads is a truncation: the first field (each one is
  // string-framed) that sshbuf cannot read says why.
  if (err instanceof ProtocolError) {
    const fields = new SshReader(plain, at);
    try {
      for (;;) sshbufString(fields, 'key field');
    } catch (cut) {
      return keepSshReason(cut, keyFormatError(`private key fields cut short (${err.message})`, err));
    }
  }
  if (!(err instanceof KeyError) || sshKeyParseReason(err) !== 'invalid format') return err;
  const count = keyType === SSH_ED25519 ? 1 : ECDSA_CURVES.has(keyType) || keyType === SSH_RSA ? 2 : 0;
  try {
    const priv = new SshReader(plain, at);
    const inFile = Array.from({ length: count }, () => priv.string('key field'));
    const clear = new SshReader(headerPublic);
    if (latin(clear.string('key type')) !== keyType) return markLibcrypto(err);
    const inClear = Array.from({ length: count }, () => clear.string('key field'));
    // PROTOCOL.key §3 (the agent's encoding): RSA's private fields begin n, e; its public blob is e, n.
    if (keyType === SSH_RSA) inClear.reverse();
    return inFile.some((field, i) => !constantTimeEqual(field, inClear[i]!)) ? markLibcrypto(err) : err;
  } catch {
    return err;
  }
}
