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
import { KeyError } from '../errors.js';
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
import { canonicalPublicKeyBlob, decodePublicKeyBlob } from './hostkey.js';

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
  const cipherName = latin(r.string('ciphername'));
  const kdfName = latin(r.string('kdfname'));
  const kdfOptions = r.string('kdfoptions');
  const nkeys = r.uint32();
  // OpenSSH sshkey.c private2_decrypt: files hold exactly one key. Its SSH_ERR_INVALID_FORMAT
  // (here and below) sends sshkey_parse_private_fileblob_type on to the PEM parser, whose failure
  // ssh(1) reports as "error in libcrypto" (libcryptoKeyError).
  if (nkeys !== 1) throw libcryptoKeyError(`holds ${nkeys} keys; exactly one is supported`);
  // private2_decrypt reads the public key with sshkey_froms, strictly (decodePublicKeyBlob): one
  // cut short is SSH_ERR_MESSAGE_INCOMPLETE; its SSH_ERR_INVALID_FORMAT sends ssh on to the PEM
  // parser ("error in libcrypto"); its other errors are said as they are.
  let headerPublic: Uint8Array;
  try {
    headerPublic = r.string('public key').slice();
  } catch (cause) {
    throw markSshReason(keyFormatError('public key cut short (corrupted)', cause), 'incomplete message');
  }
  try {
    decodePublicKeyBlob(headerPublic);
  } catch (err) {
    throw sshKeyParseReason(err) === 'invalid format' ? markLibcrypto(err as Error) : err;
  }
  // sshkey_equal compares the decoded keys: an RSA mpint's leading zeros in the header do not count.
  headerPublic = canonicalPublicKeyBlob(headerPublic);
  const sectionLength = r.uint32();
  const cipher = KEY_FILE_CIPHERS.get(cipherName) ?? ctx.extra?.keyFileCipher(cipherName);
  if (!cipher) {
    if (cipherName === '3des-cbc') throw extraDecryptionMissing(OPENSSH, cipherName);
    throw keyFormatError(`cipher "${cipherName}" is not supported; re-encrypt a copy with: ssh-keygen -p -Z aes256-ctr -f <copy>`);
  }
  // private2_decrypt: the private section and the tag must be there (SSH_ERR_INVALID_FORMAT), and
  // nothing after them.
  if (r.remaining < cipher.tagLength || r.remaining - cipher.tagLength < sectionLength) {
    throw libcryptoKeyError(`private section needs ${sectionLength} bytes and a ${cipher.tagLength}-byte tag, ${r.remaining} left (corrupted)`);
  }
  const section = r.raw(sectionLength, 'private section');
  const tag = r.raw(cipher.tagLength, 'authentication tag');
  if (r.remaining !== 0) throw libcryptoKeyError(`${r.remaining} unexpected trailing bytes after the private key (corrupted)`);
  // PROTOCOL.key §2, §5: kdf "bcrypt", or "none" with cipher "none".
  if (kdfName !== 'none' && kdfName !== 'bcrypt') throw keyFormatError(`KDF "${kdfName}" is not supported (bcrypt)`);
  if (kdfName === 'none' && cipherName !== 'none') throw libcryptoKeyError(`kdf "none" with cipher "${cipherName}" is not a valid combination`);
  // PROTOCOL.key §3: the private list is padded to the cipher's block size.
  if (section.length < cipher.blockSize || section.length % cipher.blockSize !== 0) {
    throw libcryptoKeyError(`private section length ${section.length} is not a multiple of ${cipher.blockSize} (corrupted)`);
  }
  const encrypted = kdfName === 'bcrypt';
  let plain = section;
  if (encrypted) {
    const how = `${cipherName}/${kdfName}`;
    if (!ctx.passphrase?.length) throw passphraseNeeded(ctx, OPENSSH, how);
    // PROTOCOL.key §2: kdfoptions = string salt, uint32 rounds.
    const k = new SshReader(kdfOptions);
    const salt = k.string('bcrypt salt');
    const rounds = k.uint32();
    k.end('bcrypt kdfoptions');
    // PROTOCOL.key §4: the KDF yields the cipher's key then its IV.
    const keyIv = bcryptPbkdf(ctx.passphrase, salt, rounds, cipher.keyLength + cipher.ivLength);
    const decrypted = cipher.decrypt(keyIv.subarray(0, cipher.keyLength), keyIv.subarray(cipher.keyLength), section, tag);
    keyIv.fill(0);
    // OpenSSH private2_decrypt: an integrity failure here means a wrong passphrase.
    if (!decrypted) throw wrongPassphrase(ctx, OPENSSH, `${how}: the authentication tag does not verify`);
    plain = decrypted;
  }
  try {
    return parsePrivateList(plain, headerPublic, encrypted ? `${cipherName}/${kdfName}` : undefined, ctx);
  } finally {
    if (encrypted) plain.fill(0);
  }
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
  const keyType = latin(p.string('key type'));
  const key = readKeyFields(keyType, p, ctx);
  try {
    const commentBytes = p.string('comment');
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
  throw keyFormatError(`key type "${keyType}" is not supported (supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)`);
}
