/**
 * User keys: the OpenSSH private key format (OpenSSH PROTOCOL.key, "openssh-key-v1") and public
 * key lines (sshd(8) "AUTHORIZED_KEYS FILE FORMAT", `.pub` files). Sans-IO: text or bytes in, a
 * signing object out; reading files lives in `src/node/identity-file.ts`.
 *
 * Supported: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256/384/521 (RFC 5656), ssh-rsa with
 * rsa-sha2-256/512 signatures (RFC 8332). Unencrypted keys only.
 */
import { base64Decode } from '../protocol/base64.js';
import { KeyError, SshError } from '../errors.js';
import { keyBlobType } from './hostkey.js';
import { ECDSA_CURVES, readEcdsaOpenSsh } from './ecdsa.js';
import { SSH_ED25519, readEd25519OpenSsh } from './ed25519.js';
import { SSH_RSA, readRsaOpenSsh } from './rsa.js';
import type { SigningKey } from './signing.js';
import { SshReader, constantTimeEqual } from '../protocol/wire.js';

/** A private key that can sign SSH user authentication requests. */
export interface PrivateKey extends SigningKey {
  /** The comment stored with the key (often `user@host`). */
  readonly comment: string;
}

// PROTOCOL.key: the armour lines around the base64 body.
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
// PROTOCOL.key: AUTH_MAGIC, NUL-terminated.
const AUTH_MAGIC = 'openssh-key-v1\0';
// PROTOCOL.key: unencrypted keys are padded to the "none" cipher's block size, 8.
const NONE_BLOCK_SIZE = 8;

function keyError(source: string, message: string, cause?: unknown): SshError {
  return new SshError('ERR_PRIVATE_KEY', `${source}: ${message}`, cause === undefined ? undefined : { cause });
}

function toText(input: string | Uint8Array): string {
  if (typeof input === 'string') return input;
  // Key files are ASCII armour; latin1 keeps any stray byte visible instead of throwing.
  let s = '';
  for (let i = 0; i < input.length; i += 8192) s += String.fromCharCode(...input.subarray(i, i + 8192));
  return s;
}

/** Say what a non-OpenSSH key file is and how to convert it, instead of "bad format". */
function describeForeignFormat(text: string, source: string): SshError | undefined {
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (pem && pem[1] !== 'OPENSSH PRIVATE KEY') {
    const kind = pem[1]!;
    const encrypted = kind.includes('ENCRYPTED') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
    return keyError(
      source,
      `is a PEM "${kind}" key${encrypted ? ' (encrypted)' : ''}; only the OpenSSH key format is supported. ` +
        `Convert a copy with: ssh-keygen -p -f <copy> (it rewrites the key in the OpenSSH format)`,
    );
  }
  if (/^PuTTY-User-Key-File-/m.test(text)) {
    return keyError(source, 'is a PuTTY .ppk key; export it in the OpenSSH format (puttygen <file> -O private-openssh-new)');
  }
  if (/^\s*(ssh-|ecdsa-|sk-)\S+\s+AAAA/.test(text)) {
    return keyError(source, 'is a public key; give the private key file (usually the same name without .pub)');
  }
  return undefined;
}

/**
 * Parse an unencrypted OpenSSH private key (`ssh-keygen` output since OpenSSH 7.8).
 * `source` names the file in error messages.
 *
 * Throws SshError `ERR_PRIVATE_KEY_ENCRYPTED` for passphrase-protected keys and `ERR_PRIVATE_KEY`
 * for anything else that is wrong (other formats, corruption, unsupported key types).
 *
 * @example
 * const key = parsePrivateKey(readFileSync('id_ed25519', 'utf8'), 'id_ed25519');
 * const sigBlob = key.sign(key.signatureAlgorithms[0], data);
 */
export function parsePrivateKey(text: string | Uint8Array, source = 'private key'): PrivateKey {
  const armoured = toText(text);
  const begin = armoured.indexOf(BEGIN);
  const end = armoured.indexOf(END);
  if (begin < 0 || end < begin) {
    throw describeForeignFormat(armoured, source) ?? keyError(source, `not an OpenSSH private key (no "${BEGIN}" line)`);
  }
  let raw: Uint8Array;
  try {
    raw = base64Decode(armoured.slice(begin + BEGIN.length, end).replace(/\s+/g, ''));
  } catch (cause) {
    throw keyError(source, 'invalid base64 inside the OpenSSH private key armour', cause);
  }
  try {
    return parseKeyV1(raw, source);
  } catch (err) {
    if (err instanceof SshError && (err.code === 'ERR_PRIVATE_KEY' || err.code === 'ERR_PRIVATE_KEY_ENCRYPTED')) throw err;
    if (err instanceof KeyError) throw keyError(source, err.message, err);
    // SshReader raises ProtocolError on truncation: that means a damaged file here, not a peer.
    throw keyError(source, `corrupted OpenSSH private key (${err instanceof Error ? err.message : String(err)})`, err);
  } finally {
    raw.fill(0);
  }
}

function latin(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function parseKeyV1(raw: Uint8Array, source: string): PrivateKey {
  const r = new SshReader(raw);
  if (raw.length < AUTH_MAGIC.length || latin(r.raw(AUTH_MAGIC.length)) !== AUTH_MAGIC) {
    throw keyError(source, 'not an openssh-key-v1 private key (bad magic)');
  }
  // PROTOCOL.key: string ciphername, string kdfname, string kdfoptions, uint32 N.
  const cipher = latin(r.string('ciphername'));
  const kdf = latin(r.string('kdfname'));
  r.string('kdfoptions');
  if (cipher !== 'none') {
    throw new SshError(
      'ERR_PRIVATE_KEY_ENCRYPTED',
      `${source} is encrypted with a passphrase (${cipher}/${kdf}); encrypted keys are not supported yet: ` +
        `decrypt a copy with ssh-keygen -p -N "" -f <copy>, or use ssh-agent`,
    );
  }
  if (kdf !== 'none') throw keyError(source, `kdf "${kdf}" with cipher "none" is not a valid combination`);
  const nkeys = r.uint32();
  // OpenSSH sshkey_private_deserialize: files hold exactly one key.
  if (nkeys !== 1) throw keyError(source, `holds ${nkeys} keys; exactly one is supported`);
  const headerPublic = r.string('public key').slice();
  const priv = r.string('private section');
  r.end('private key file');

  // PROTOCOL.key: the private list is padded to the cipher block size.
  if (priv.length % NONE_BLOCK_SIZE !== 0) {
    throw keyError(source, `private section length ${priv.length} is not a multiple of ${NONE_BLOCK_SIZE} (corrupted)`);
  }
  const p = new SshReader(priv);
  // PROTOCOL.key: two equal random checkints; with encryption they detect a wrong passphrase,
  // here they can only differ if the file is damaged.
  if (p.uint32() !== p.uint32()) throw keyError(source, 'check integers do not match (corrupted key file)');

  const keyType = latin(p.string('key type'));
  const key = parsePrivateFields(keyType, p, source);
  const commentBytes = p.string('comment');
  let comment: string;
  try {
    comment = new TextDecoder('utf-8', { fatal: true }).decode(commentBytes);
  } catch {
    comment = latin(commentBytes);
  }
  // PROTOCOL.key: padding bytes are 1, 2, 3, ... (OpenSSH checks the pattern, not the count).
  const padding = p.rest();
  if (padding.some((b, i) => b !== ((i + 1) & 0xff))) {
    key.dispose();
    throw keyError(source, 'bad padding after the private key (corrupted key file)');
  }
  if (!constantTimeEqual(key.publicKeyBlob, headerPublic)) {
    key.dispose();
    throw keyError(source, 'the private key does not match the public key stored with it (corrupted key file)');
  }
  return { ...key, comment };
}

function parsePrivateFields(keyType: string, p: SshReader, source: string): SigningKey {
  if (keyType === SSH_ED25519) return readEd25519OpenSsh(p);
  if (ECDSA_CURVES.has(keyType)) return readEcdsaOpenSsh(keyType, p);
  if (keyType === SSH_RSA) return readRsaOpenSsh(p);
  throw keyError(
    source,
    `key type "${keyType}" is not supported (supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)`,
  );
}

/**
 * Parse one public key line: `[options] keytype base64 [comment]` as in `.pub` files and
 * authorized_keys (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"). Options, if any, are skipped.
 * The key type word must agree with the type inside the blob.
 *
 * @example
 * parsePublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... joe@laptop').comment; // 'joe@laptop'
 */
export function parsePublicKeyLine(line: string): { keyType: string; keyBlob: Uint8Array; comment: string } {
  const text = line.trim();
  // Find "type base64" where the blob's own type equals the word before it; options before the
  // key may contain quoted spaces, so try each position rather than splitting blindly.
  const re = /(?:^|[ \t])([^ \t]+)[ \t]+([A-Za-z0-9+/]+={0,2})(?=[ \t]|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const keyType = m[1]!;
    let keyBlob: Uint8Array;
    let blobType: string;
    try {
      keyBlob = base64Decode(m[2]!);
      blobType = keyBlobType(keyBlob);
    } catch {
      re.lastIndex = m.index + 1;
      continue;
    }
    if (blobType !== keyType) {
      re.lastIndex = m.index + 1;
      continue;
    }
    const comment = text.slice(m.index + m[0].length).trim();
    return { keyType, keyBlob, comment };
  }
  throw new SshError('ERR_PRIVATE_KEY', `not a public key line: ${JSON.stringify(text.slice(0, 60))}`);
}
