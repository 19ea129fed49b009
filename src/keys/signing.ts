/**
 * What every key type shares: the framing of public key and signature blobs (RFC 4253 §6.6), the
 * verifier and signer shapes, and the errors key material raises. Each key algorithm family lives
 * in its own file (`ed25519.ts`, `ecdsa.ts`, `rsa.ts`) and builds on these; `hostkey.ts` and
 * `privatekey.ts` assemble them into the host key registry and the key file parsers.
 */
import { bytesToNumberBE } from '@noble/curves/utils.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { KeyError, UsageError } from '../errors.js';
import { SshReader, SshWriter, fromUtf8 } from '../protocol/wire.js';

/** One signature algorithm over one kind of public key blob. */
export interface HostKeyAlgorithm {
  /** Signature algorithm name as negotiated in KEXINIT, e.g. 'ssh-ed25519', 'rsa-sha2-256'. */
  readonly name: string;
  /** Key blob type (the blob's first string), e.g. 'ssh-ed25519', 'ssh-rsa'. */
  readonly keyType: string;
  /**
   * True iff `signatureBlob` is a valid signature of `data` under `keyBlob`. May throw on a
   * malformed blob; `verifyHostKeySignature` turns any throw into a ProtocolError. `crypto`: a
   * provider whose primitives (e.g. its `ed25519`) may be used instead of @noble/curves'.
   */
  verify(keyBlob: Uint8Array, signatureBlob: Uint8Array, data: Uint8Array, crypto?: CryptoProvider): boolean;
}

/** The signing half of a private key, as each key type file builds it. */
export interface SigningKey {
  /** The key's type as in its public blob, e.g. `ssh-ed25519`, `ssh-rsa`. */
  readonly keyType: string;
  /** The public key blob (RFC 4253 §6.6), as sent in USERAUTH_REQUEST "publickey". */
  readonly publicKeyBlob: Uint8Array;
  /** Signature algorithms this key can make, most preferred first (e.g. `['ssh-ed25519']`). */
  readonly signatureAlgorithms: string[];
  /**
   * Sign `data` with `algorithm` (one of {@link signatureAlgorithms}). Returns the signature
   * blob: `string algorithm || string signature` (RFC 4253 §6.6). Throws UsageError for another
   * algorithm or after {@link dispose}. `crypto` as for {@link HostKeyAlgorithm.verify}.
   */
  sign(algorithm: string, data: Uint8Array, crypto?: CryptoProvider): Uint8Array;
  /** Wipe the secret key material this object holds; `sign` fails afterwards. */
  dispose(): void;
}

/** A public key blob reader positioned after its type string, which must be `keyType` (RFC 4253 §6.6). */
export function readKeyBlob(keyType: string, keyBlob: Uint8Array): SshReader {
  const r = new SshReader(keyBlob);
  const type = fromUtf8(r.string('key type'));
  if (type !== keyType) throw new Error(`key is ${type}, expected ${keyType}`);
  return r;
}

/** RFC 4253 §6.6: `string signature format identifier || string signature blob`. */
export function encodeSignatureBlob(algorithm: string, signature: Uint8Array): Uint8Array {
  return new SshWriter(signature.length + algorithm.length + 8).string(algorithm).string(signature).toBytes();
}

/** The body of a signature blob (RFC 4253 §6.6), whose format name must be `algorithm`. */
export function decodeSignatureBlob(algorithm: string, signatureBlob: Uint8Array): Uint8Array {
  const r = new SshReader(signatureBlob);
  const sigName = fromUtf8(r.string('signature format'));
  // RFC 8332 §3, RFC 8709 §6: the signature format must be the negotiated algorithm.
  if (sigName !== algorithm) throw new Error(`signature is ${sigName}, expected ${algorithm}`);
  const body = r.string('signature');
  r.end('signature blob');
  return body;
}

/**
 * A key material problem found below the file format (bad field, halves that disagree). Carries
 * no file name: `parsePrivateKey` adds it, and the format.
 */
export function keyFormatError(message: string, cause?: unknown): KeyError {
  return new KeyError('ERR_KEY_FORMAT', message, cause === undefined ? undefined : { cause });
}

/**
 * A file in which ssh(1) 9.2 finds no key its parsers start on, so that its last resort, OpenSSL's
 * PEM_read_bio_PrivateKey, fails with a decoder error that OpenSSH sshkey.c translate_libcrypto_error
 * leaves as SSH_ERR_LIBCRYPTO_ERROR ("error in libcrypto"), not SSH_ERR_INVALID_FORMAT: no PEM
 * armour, an unknown PEM label, a PEM body that is no base64 or empty, and an OpenSSH armour that
 * sshkey_parse_private2 refuses with SSH_ERR_INVALID_FORMAT (no END line, bad base64, bad magic),
 * which sshkey_parse_private_fileblob_type hands to the PEM parser; and damaged DER inside a
 * PKCS#8 file's ECPrivateKey (OpenSSL's EC decoder). Other key material that is damaged inside a
 * PEM key is OpenSSL's ASN.1 error, "invalid format" ({@link keyFormatError}).
 */
export function libcryptoKeyError(message: string, cause?: unknown): KeyError {
  return markLibcrypto(keyFormatError(message, cause));
}

/**
 * ssh(1)'s reason (ssherr.c ssh_err) in `Load key "PATH": REASON` for a key file it cannot load:
 * SSH_ERR_INVALID_FORMAT, SSH_ERR_LIBCRYPTO_ERROR ({@link libcryptoKeyError}), what
 * sshkey.c sshkey_from_blob says of a public key blob it refuses, and what private2_decrypt and
 * sshkey_private_deserialize say of an OpenSSH key file ({@link markSshReason}):
 * SSH_ERR_KEY_UNKNOWN_CIPHER, SSH_ERR_INTERNAL_ERROR.
 */
export type SshKeyParseReason =
  | 'invalid format'
  | 'error in libcrypto'
  | 'incomplete message'
  | 'string is too large'
  | 'unknown or unsupported key type'
  | 'elliptic curve does not match'
  | 'elliptic curve point is too large'
  | 'Invalid key length'
  | 'key encrypted using unsupported cipher'
  | 'unexpected internal error';

/** The errors marked with ssh(1)'s reason, and their rewraps ({@link keepSshReason}). */
const sshReasons = new WeakMap<object, SshKeyParseReason>();

/** Mark `err` as one ssh(1) reports with `reason` (see {@link SshKeyParseReason}); returns it. */
export function markSshReason<E extends Error>(err: E, reason: SshKeyParseReason): E {
  sshReasons.set(err, reason);
  return err;
}

/** Mark `err` as ssh's "error in libcrypto" case (see {@link libcryptoKeyError}); returns it. */
export function markLibcrypto<E extends Error>(err: E): E {
  return markSshReason(err, 'error in libcrypto');
}

/** Copy {@link markSshReason}'s mark from `from` to `to`, for errors rewrapped with a file name. */
export function keepSshReason<E extends Error>(from: unknown, to: E): E {
  const reason = sshReasons.get(from as object);
  return reason ? markSshReason(to, reason) : to;
}

/**
 * ssh(1)'s reason in `Load key "PATH": REASON` for a key file it cannot parse (ssherr.c): the
 * one {@link markSshReason} gave, else "invalid format".
 */
export function sshKeyParseReason(err: unknown): SshKeyParseReason {
  return sshReasons.get(err as object) ?? 'invalid format';
}

/** An RFC 4251 §5 mpint that must not be negative (every key field is), as a bigint. */
export function unsignedMpint(body: Uint8Array, what: string): bigint {
  // RFC 4251 §5: two's complement, so a set top bit means negative.
  if (body.length > 0 && (body[0]! & 0x80) !== 0) throw keyFormatError(`${what} is negative`);
  return bytesToNumberBE(body);
}

/** What a key type file supplies to {@link signingKey}. */
export interface SignerSpec {
  keyType: string;
  publicKeyBlob: Uint8Array;
  signatureAlgorithms: string[];
  /** The signature body (RFC 4253 §6.6 "signature blob") of `data` under `algorithm`. */
  signBody(algorithm: string, data: Uint8Array, crypto?: CryptoProvider): Uint8Array;
  /** Overwrite the secret material (noble's `clean`): called once, by dispose(). */
  wipe(): void;
}

/**
 * The {@link SigningKey} object around a key type's signer: checks the algorithm and the disposed
 * state, frames the signature blob, and wipes once.
 */
export function signingKey(spec: SignerSpec): SigningKey {
  const { keyType, signatureAlgorithms } = spec;
  let live = true;
  return {
    keyType,
    publicKeyBlob: spec.publicKeyBlob,
    signatureAlgorithms,
    sign(algorithm: string, data: Uint8Array, crypto?: CryptoProvider): Uint8Array {
      if (!live) throw new UsageError(`this ${keyType} private key was disposed`);
      if (!signatureAlgorithms.includes(algorithm)) {
        throw new UsageError(
          `a ${keyType} key cannot make "${algorithm}" signatures (it makes ${signatureAlgorithms.join(', ')})`,
        );
      }
      return encodeSignatureBlob(algorithm, spec.signBody(algorithm, data, crypto));
    },
    dispose(): void {
      if (!live) return;
      live = false;
      spec.wipe();
    },
  };
}
