/**
 * PEM private keys (RFC 7468 textual encoding): `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY`
 * (SEC1), `PRIVATE KEY` and `ENCRYPTED PRIVATE KEY` (PKCS#8), as `ssh-keygen -m PEM|PKCS8` and
 * OpenSSL write them, including OpenSSL's legacy encryption of the first two (RFC 1421 §4.6
 * `Proc-Type: 4,ENCRYPTED` and `DEK-Info` headers, key from EVP_BytesToKey with MD5; AES-CBC,
 * or DES-EDE3-CBC as `openssl rsa -traditional -des3` writes).
 */
import { md5 } from '@noble/hashes/legacy.js';
import { base64Decode } from '../protocol/base64.js';
import { EC_PUBLIC_KEY_OID, ecdsaKeyFromSec1 } from './ecdsa.js';
import { aesCbcPkcs7Decrypt } from './key-ciphers.js';
import {
  extraDecryptionMissing,
  parseDecrypted,
  passphraseNeeded,
  wrongPassphrase,
  type KeyFileContext,
  type ParsedKeyFile,
  type PrivateKeyFormat,
} from './key-file.js';
import { DSA_OID, keyFromEncryptedPkcs8, keyFromPkcs8, keyFromPrivateKeyInfo, privateKeyInfoOrUndefined } from './pkcs8.js';
import { RSA_ENCRYPTION_OID, rsaKeyFromPkcs1 } from './rsa.js';
import { keyFormatError, libcryptoKeyError, type SigningKey } from './signing.js';

/** One PEM block: its label, RFC 1421 headers (names lower-cased) and decoded body. */
export interface PemBlock {
  readonly label: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/**
 * The first block of `text` labelled "... PRIVATE KEY", or else its first block (RFC 7468 §2:
 * text around the blocks is ignored, so OpenSSL's "EC PARAMETERS" block before a key is skipped).
 * Undefined when there is no block at all.
 */
export function readPem(text: string): PemBlock | undefined {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let first: RegExpExecArray | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    first ??= m;
    if (m[1]!.endsWith('PRIVATE KEY')) return decodeBlock(m[1]!, m[2]!);
  }
  return first ? decodeBlock(first[1]!, first[2]!) : undefined;
}

function decodeBlock(label: string, inner: string): PemBlock {
  const lines = inner.split(/\r\n|\r|\n/);
  const headers = new Map<string, string>();
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  // RFC 1421 §4.4: "Name: value" header lines (continued by leading white space), then a blank line.
  if (i < lines.length && /^[A-Za-z-]+:/.test(lines[i]!)) {
    while (i < lines.length && lines[i]!.trim() !== '') {
      let line = lines[i++]!;
      while (i < lines.length && /^[ \t]/.test(lines[i]!) && lines[i]!.trim() !== '') line += lines[i++]!.trim();
      const colon = line.indexOf(':');
      if (colon < 0) throw keyFormatError(`PEM "${label}": malformed header line`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  let body: Uint8Array;
  try {
    body = base64Decode(lines.slice(i).join('').replace(/\s+/g, ''));
  } catch (cause) {
    // OpenSSL PEM_read_bio fails before any decoder: ssh(1) says "error in libcrypto".
    throw libcryptoKeyError(`PEM "${label}": invalid base64 body`, cause);
  }
  // Likewise for armour around nothing (OpenSSL PEM_read_bio: no data).
  if (body.length === 0) throw libcryptoKeyError(`PEM "${label}": empty body`);
  return { label, headers, body };
}

/**
 * OpenSSL's legacy PEM ciphers (DEK-Info names) and their key lengths; the IV is a block (16
 * bytes, 8 for DES-EDE3, which goes through ./extra-key-decryption.ts). DES-CBC is refused, as
 * ssh 9.2's OpenSSL 3 refuses it (single DES is in its legacy provider).
 */
const DEK_CIPHERS: Record<string, number> = { 'AES-128-CBC': 16, 'AES-192-CBC': 24, 'AES-256-CBC': 32, 'DES-EDE3-CBC': 24 };

/**
 * OpenSSL's EVP_BytesToKey with MD5 and one iteration, as PEM_do_header uses it:
 * D_i = MD5(D_{i−1} || passphrase || salt), key = D_1 || D_2 || …, salt = the IV's first 8 bytes.
 */
function evpBytesToKey(passphrase: Uint8Array, salt: Uint8Array, keyLength: number): Uint8Array {
  const key = new Uint8Array(keyLength);
  let prev = new Uint8Array(0);
  for (let off = 0; off < keyLength; off += 16) {
    const input = new Uint8Array(prev.length + passphrase.length + salt.length);
    input.set(prev);
    input.set(passphrase, prev.length);
    input.set(salt, prev.length + passphrase.length);
    prev.fill(0);
    prev = md5(input);
    input.fill(0);
    key.set(prev.subarray(0, Math.min(16, keyLength - off)), off);
  }
  prev.fill(0);
  return key;
}

/**
 * The DER inside a legacy-encrypted PEM block (RFC 1421 §4.6.1.1 `Proc-Type: 4,ENCRYPTED`,
 * §4.6.1.3 `DEK-Info: cipher,IV-in-hex`), decrypted; the body as is when there is no Proc-Type.
 */
function legacyDecrypt(block: PemBlock, format: string, ctx: KeyFileContext): { der: Uint8Array; decrypted: boolean } {
  const procType = block.headers.get('proc-type');
  if (procType === undefined) return { der: block.body, decrypted: false };
  if (procType.replace(/\s+/g, '') !== '4,ENCRYPTED') throw keyFormatError(`PEM Proc-Type "${procType}" is not supported`);
  const dek = /^([A-Za-z0-9-]+)\s*,\s*([0-9A-Fa-f]+)$/.exec(block.headers.get('dek-info') ?? '');
  if (!dek) throw keyFormatError('encrypted PEM key without a valid DEK-Info header');
  const cipher = dek[1]!.toUpperCase();
  const keyLength = DEK_CIPHERS[cipher];
  if (keyLength === undefined) {
    throw keyFormatError(
      `PEM encryption ${cipher} is not supported (supported: ${Object.keys(DEK_CIPHERS).join(', ')}); ` +
        `convert a copy to the OpenSSH format with: ssh-keygen -p -f <copy>`,
    );
  }
  const des = cipher.startsWith('DES');
  const ivLength = des ? 8 : 16;
  if (des && !ctx.extra) throw extraDecryptionMissing(format, cipher);
  const detail = `legacy PEM encryption ${cipher}`;
  if (!ctx.passphrase?.length) throw passphraseNeeded(ctx, format, detail);
  const iv = Uint8Array.from(dek[2]!.match(/../g) ?? [], (h) => parseInt(h, 16));
  if (dek[2]!.length !== ivLength * 2) throw keyFormatError(`DEK-Info IV for ${cipher} must be ${ivLength} bytes`);
  // PEM_do_header: the salt is the IV's first 8 bytes (all of a DES IV).
  const key = evpBytesToKey(ctx.passphrase, iv.subarray(0, 8), keyLength);
  const der = des ? ctx.extra!.desEde3Cbc(key, iv, block.body, ctx.crypto) : aesCbcPkcs7Decrypt(key, iv, block.body);
  key.fill(0);
  if (!der) throw wrongPassphrase(ctx, format, `${detail}: bad padding after decryption`);
  return { der, decrypted: true };
}

const LABELS: Record<string, { format: PrivateKeyFormat; name: string }> = {
  'RSA PRIVATE KEY': { format: 'pkcs1', name: 'PKCS#1 PEM' },
  'EC PRIVATE KEY': { format: 'sec1', name: 'SEC1 PEM' },
  'PRIVATE KEY': { format: 'pkcs8', name: 'PKCS#8' },
  'ENCRYPTED PRIVATE KEY': { format: 'pkcs8', name: 'PKCS#8' },
};

/**
 * The labels that name a key type, and that type's PKCS#8 algorithm (RFC 8017 §A.1
 * rsaEncryption, RFC 5480 §2.1.1 id-ecPublicKey, RFC 3279 §2.3.2 id-dsa). OpenSSL 3's decoder
 * (PEM_read_bio_PrivateKey, which ssh 9.2 calls) takes a PrivateKeyInfo under such a label as
 * well as the type's own structure, when its algorithm is that type; of another algorithm, the
 * decoder fails: ssh's "error in libcrypto".
 */
const TYPED_LABELS: Record<string, string> = {
  'RSA PRIVATE KEY': RSA_ENCRYPTION_OID,
  'EC PRIVATE KEY': EC_PUBLIC_KEY_OID,
  'DSA PRIVATE KEY': DSA_OID,
};

/** The human name of a PEM label's format, e.g. "PKCS#1 PEM", for messages. */
export function pemFormatName(label: string): string {
  return LABELS[label]?.name ?? `PEM "${label}"`;
}

/**
 * Parse a PEM private key block. Throws KeyError: ERR_KEY_ENCRYPTED without a passphrase for an
 * encrypted one, ERR_KEY_PASSPHRASE when the passphrase is wrong, ERR_KEY_FORMAT otherwise.
 *
 * Which structure each label holds is OpenSSL 3's rule, as ssh 9.2 reads them: `RSA PRIVATE
 * KEY` PKCS#1, `EC PRIVATE KEY` SEC1, either one (and `DSA PRIVATE KEY`) a PKCS#8 PrivateKeyInfo
 * of its own type too ({@link TYPED_LABELS}); `PRIVATE KEY` a PrivateKeyInfo; `ENCRYPTED PRIVATE
 * KEY` an EncryptedPrivateKeyInfo, or a PrivateKeyInfo in the clear.
 */
export function parsePemPrivateKey(block: PemBlock, ctx: KeyFileContext): ParsedKeyFile {
  const known = LABELS[block.label];
  if (!known) {
    // A DSA PrivateKeyInfo under its own label is a DSA key all the same: not supported.
    if (TYPED_LABELS[block.label] !== undefined) typedPkcs8(block.label, block.body, ctx);
    throw unsupportedLabel(block.label);
  }
  let key: SigningKey;
  let format = known.format;
  if (block.label === 'ENCRYPTED PRIVATE KEY') {
    const info = privateKeyInfoOrUndefined(block.body);
    key = info ? keyFromPrivateKeyInfo(info, ctx.crypto) : keyFromEncryptedPkcs8(block.body, ctx);
  } else {
    const parse = (der: Uint8Array): SigningKey => {
      if (block.label === 'PRIVATE KEY') return keyFromPkcs8(der, ctx.crypto);
      const wrapped = typedPkcs8(block.label, der, ctx);
      if (wrapped) {
        format = 'pkcs8';
        return wrapped;
      }
      return block.label === 'RSA PRIVATE KEY' ? rsaKeyFromPkcs1(der) : ecdsaKeyFromSec1(der, undefined, ctx.crypto);
    };
    const { der, decrypted } = legacyDecrypt(block, known.name, ctx);
    try {
      key = decrypted ? parseDecrypted(ctx, known.name, () => parse(der)) : parse(der);
    } finally {
      if (decrypted) der.fill(0);
    }
  }
  // PEM key formats carry no comment.
  return { key, comment: '', format };
}

/**
 * The key of a PrivateKeyInfo under a {@link TYPED_LABELS} label whose type is its algorithm;
 * undefined when `der` is no PrivateKeyInfo. Of another algorithm: OpenSSL's decoder error.
 */
function typedPkcs8(label: string, der: Uint8Array, ctx: KeyFileContext): SigningKey | undefined {
  const info = privateKeyInfoOrUndefined(der);
  if (!info) return undefined;
  if (info.oid !== TYPED_LABELS[label]) throw libcryptoKeyError(`PEM "${label}" around a PKCS#8 ${info.oid} key`);
  return keyFromPrivateKeyInfo(info, ctx.crypto);
}

function unsupportedLabel(label: string): Error {
  if (label === 'DSA PRIVATE KEY') return keyFormatError('DSA (ssh-dss) keys are not supported (OpenSSH dropped them too)');
  // OpenSSL finds no private key decoder for the label: ssh(1) says "error in libcrypto".
  if (/PUBLIC KEY|CERTIFICATE/.test(label)) {
    return libcryptoKeyError(`is a PEM "${label}", not a private key; give the private key file`);
  }
  return libcryptoKeyError(`PEM "${label}" is not a supported private key (supported: RSA PRIVATE KEY, EC PRIVATE KEY, PRIVATE KEY, ENCRYPTED PRIVATE KEY, OPENSSH PRIVATE KEY)`);
}
