/**
 * Public key files: OpenSSH's one-line form (`.pub` files and authorized_keys lines, sshd(8)
 * "AUTHORIZED_KEYS FILE FORMAT") and the SSH2 public key file format of RFC 4716 (what puttygen
 * and ssh-keygen -e write). A client reads them to offer a key before it decrypts the private
 * half. Sans-IO: text in, blob out.
 */
import { KeyError } from '../errors.js';
import { base64Decode } from '../protocol/base64.js';
import { decodePublicKeyBlob } from './hostkey.js';

/** A public key as read from a file. */
export interface PublicKeyFileEntry {
  /** The key type, e.g. `ssh-ed25519` (the blob's own first string). */
  keyType: string;
  /** The public key blob (RFC 4253 §6.6). */
  keyBlob: Uint8Array;
  /** The comment, or '' when the file has none. */
  comment: string;
}

function formatError(message: string): KeyError {
  return new KeyError('ERR_KEY_FORMAT', message, { format: 'public key' });
}

/**
 * Parse one public key line: `[options] keytype base64 [comment]` as in `.pub` files and
 * authorized_keys (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"). Options, if any, are skipped.
 * The key type word must agree with the type inside the blob, which is decoded strictly
 * (decodePublicKeyBlob: exact fields, nothing after them, as OpenSSH's sshkey_read). Throws
 * KeyError ERR_KEY_FORMAT.
 *
 * @example
 * parsePublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... joe@laptop').comment; // 'joe@laptop'
 */
export function parsePublicKeyLine(line: string): PublicKeyFileEntry {
  const text = line.trim();
  // Find "type base64" where the blob's own type equals the word before it; options before the
  // key may contain quoted spaces, so try each position rather than splitting blindly.
  const re = /(?:^|[ \t])([^ \t]+)[ \t]+([A-Za-z0-9+/]+={0,2})(?=[ \t]|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const keyType = m[1]!;
    let decoded: { type: string; blob: Uint8Array };
    try {
      decoded = decodePublicKeyBlob(base64Decode(m[2]!));
    } catch {
      re.lastIndex = m.index + 1;
      continue;
    }
    if (decoded.type !== keyType) {
      re.lastIndex = m.index + 1;
      continue;
    }
    const comment = text.slice(m.index + m[0].length).trim();
    // sshkey_read keeps the decoded key, not the bytes: an RSA mpint's leading zeros go.
    return { keyType, keyBlob: decoded.blob, comment };
  }
  throw formatError(`not a public key line: ${JSON.stringify(text.slice(0, 60))}`);
}

// RFC 4716 §3.2: the begin and end markers.
const RFC4716_BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----';
const RFC4716_END = '---- END SSH2 PUBLIC KEY ----';

/**
 * Parse an RFC 4716 "SSH2 public key" file (§3): the markers, `Header-tag: value` lines (a
 * trailing backslash continues a value, §3.3), then the base64 key body. The `Comment` header
 * (quotes removed) becomes the comment.
 */
function parseRfc4716(text: string): PublicKeyFileEntry {
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trim());
  const begin = lines.indexOf(RFC4716_BEGIN);
  const end = lines.indexOf(RFC4716_END, begin + 1);
  if (begin < 0 || end < 0) throw formatError(`RFC 4716 public key without its "${RFC4716_END}" line`);
  let comment = '';
  let i = begin + 1;
  // RFC 4716 §3.3: headers come first; a line holding ':' is a header.
  while (i < end && lines[i]!.includes(':')) {
    let header = lines[i++]!;
    while (header.endsWith('\\') && i < end) header = header.slice(0, -1) + lines[i++]!;
    const colon = header.indexOf(':');
    const tag = header.slice(0, colon).trim();
    const value = header.slice(colon + 1).trim();
    // RFC 4716 §3.3.2: the Comment value may be in double quotes (puttygen escapes quotes
    // inside with a backslash).
    if (tag.toLowerCase() === 'comment') comment = /^".*"$/.test(value) ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
  }
  let decoded: { type: string; blob: Uint8Array };
  try {
    decoded = decodePublicKeyBlob(base64Decode(lines.slice(i, end).join('')));
  } catch (cause) {
    throw new KeyError('ERR_KEY_FORMAT', 'RFC 4716 public key: invalid key body', { format: 'public key', cause });
  }
  return { keyType: decoded.type, keyBlob: decoded.blob, comment };
}

/**
 * Parse a public key file: an OpenSSH `.pub` file (`keytype base64 [comment]`: the first line
 * that holds a key, as OpenSSH authfile.c sshkey_try_load_public reads it, blank and `#` lines
 * skipped, stopping at a `-----BEGIN` line) or an RFC 4716 `---- BEGIN SSH2 PUBLIC KEY ----`
 * file. Throws KeyError ERR_KEY_FORMAT for anything else.
 *
 * @example
 * const { keyType, keyBlob } = parsePublicKeyFile(readFileSync('id_ed25519.pub', 'utf8'));
 */
export function parsePublicKeyFile(text: string): PublicKeyFileEntry {
  if (text.includes(RFC4716_BEGIN)) return parseRfc4716(text);
  let first: unknown;
  for (const line of text.split(/\r\n|\r|\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (t.startsWith('-----BEGIN')) break;
    try {
      return parsePublicKeyLine(t);
    } catch (err) {
      first ??= err;
    }
  }
  throw first ?? formatError('empty public key file');
}
