/**
 * Server host key signatures (RFC 4253 §6.6) as a registry keyed by signature algorithm name,
 * built from the key type files, so a new key type plugs in here without touching the key exchange.
 *
 * Supported: ssh-ed25519 (RFC 8709, `ed25519.ts`), ecdsa-sha2-nistp256/384/521 (RFC 5656 §3.1,
 * `ecdsa.ts`), rsa-sha2-256/512 (RFC 8332, `rsa.ts`), and their OpenSSH certificate forms
 * `*-cert-v01@openssh.com` (PROTOCOL.certkeys, `certificate.ts`); SHA-1 "ssh-rsa" only on
 * explicit request.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { base64Encode } from '../protocol/base64.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { SshReader, fromUtf8 } from '../protocol/wire.js';
import { ecdsaSignatures } from './ecdsa.js';
import { keyFingerprint, type FingerprintHash } from './fingerprint.js';
import { ed25519Signature } from './ed25519.js';
import { decodeRsaPublicKey, encodeRsaPublicKey, rsaSignatures, sshRsaSha1Signature } from './rsa.js';
import {
  CERTIFICATE_HOST_KEY_ALGORITHMS,
  PLAIN_KEY_TYPES,
  certifiedKeyType,
  certificateHostKeyAlgorithms,
  describeHostCertificate,
  isCertificateType,
  legacyCertificateHostKeyAlgorithms,
  parseCertificate,
} from './certificate.js';
import { keyFormatError, markSshReason, sshKeyParseReason, type HostKeyAlgorithm, type SshKeyParseReason } from './signing.js';

export type { HostKeyAlgorithm } from './signing.js';

const ALL: HostKeyAlgorithm[] = [ed25519Signature, ...ecdsaSignatures, ...rsaSignatures, ...certificateHostKeyAlgorithms];

/** Every supported host key signature algorithm, by its negotiated name. */
export const hostKeyAlgorithms: ReadonlyMap<string, HostKeyAlgorithm> = new Map(ALL.map((a) => [a.name, a]));

/**
 * Algorithms verified only when the caller asks for them ({@link VerifyHostKeyOptions}): today
 * "ssh-rsa", RSA with SHA-1 (RFC 4253 §6.6), and its certificate form
 * "ssh-rsa-cert-v01@openssh.com" (PROTOCOL.certkeys), which OpenSSH 8.8+ no longer accepts by
 * default. ssh_config(5) HostKeyAlgorithms enables them when named (`+ssh-rsa`): they are never
 * in {@link DEFAULT_HOST_KEY_ALGORITHMS}.
 */
export const legacyHostKeyAlgorithms: ReadonlyMap<string, HostKeyAlgorithm> = new Map(
  [sshRsaSha1Signature, ...legacyCertificateHostKeyAlgorithms].map((a) => [a.name, a]),
);

/**
 * Our server_host_key_algorithms preference (RFC 4253 §7.1), OpenSSH 9.2/10's default
 * (myproposal.h KEX_DEFAULT_PK_ALG) without the FIDO `sk-*` types, which we cannot verify: the
 * certificate types first, then the plain ones; Ed25519, ECDSA, then RSA with SHA-2 (never SHA-1
 * ssh-rsa). ssh(1) reorders it by what known_hosts holds for the host (sshconnect2.c
 * order_hostkeyalgs(), see algorithms.ts orderHostKeyAlgorithms), and a certificate whose CA is
 * not trusted for the host is checked as its plain key (sshconnect.c check_host_key()).
 */
export const DEFAULT_HOST_KEY_ALGORITHMS: string[] = [
  ...CERTIFICATE_HOST_KEY_ALGORITHMS,
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

function signatureError(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, {
    code: 'ERR_HOST_KEY_SIGNATURE',
    reason: DisconnectReason.KEY_EXCHANGE_FAILED,
    cause,
  });
}

/** Options of {@link verifyHostKeySignature}. */
export interface VerifyHostKeyOptions {
  /**
   * Also accept "ssh-rsa" signatures (RSA with SHA-1, RFC 4253 §6.6). Off by default: SHA-1
   * signatures can be forged at a cost within reach (SHA-1 chosen-prefix collisions, 2020).
   */
  legacyRsaSha1?: boolean;
  /** The connection's crypto provider: its runtime Ed25519, if any, verifies instead of noble's. */
  crypto?: CryptoProvider;
}

/**
 * Check the server's signature of the exchange hash (RFC 4253 §8: the client MUST verify it).
 * Throws a ProtocolError (code ERR_HOST_KEY_SIGNATURE, reason KEY_EXCHANGE_FAILED) when the
 * signature is wrong, either blob is malformed, the signature names another algorithm than the
 * negotiated `algorithm`, or the key is not of the type that algorithm uses.
 *
 * The legacy algorithms ({@link legacyHostKeyAlgorithms}) count as unsupported unless
 * `options.legacyRsaSha1` is set.
 *
 * @example
 * ```ts
 * verifyHostKeySignature('ssh-ed25519', reply.hostKeyBlob, reply.signature, exchangeHash);
 * ```
 */
export function verifyHostKeySignature(
  algorithm: string,
  keyBlob: Uint8Array,
  signatureBlob: Uint8Array,
  data: Uint8Array,
  options: VerifyHostKeyOptions = {},
): void {
  const alg =
    hostKeyAlgorithms.get(algorithm) ?? (options.legacyRsaSha1 ? legacyHostKeyAlgorithms.get(algorithm) : undefined);
  if (!alg) throw signatureError(`unsupported host key algorithm ${algorithm}`);
  let ok: boolean;
  try {
    ok = alg.verify(keyBlob, signatureBlob, data, options.crypto);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw signatureError(`host key signature (${algorithm}) could not be checked: ${detail}`, cause);
  }
  if (!ok) {
    throw signatureError(
      `host key signature (${algorithm}) does not verify for key ${hostKeyFingerprint(keyBlob)}: ` +
        `the server did not prove it holds the key`,
    );
  }
}

/** The type name a public key blob starts with (RFC 4253 §6.6), e.g. 'ssh-ed25519'. */
export function keyBlobType(blob: Uint8Array): string {
  return fromUtf8(new SshReader(blob).string('key type'));
}

/**
 * Key types ssh(1) 9.2 reads that this library signs and verifies with none of (sshkey.c
 * keyimpls): the number of fields of DSA (mpint p, q, g, y) and FIDO keys (the plain key's, then
 * string application), checked for their framing only. XMSS keys and the certificates of these
 * ({@link FOREIGN_KEY_TYPE}) are taken by their name.
 */
const FOREIGN_KEY_FIELDS: ReadonlyMap<string, number> = new Map([['ssh-dss', 4], ['sk-ssh-ed25519@openssh.com', 2], ['sk-ecdsa-sha2-nistp256@openssh.com', 3]]);
const FOREIGN_KEY_TYPE = /^(ssh-dss|sk-ssh-ed25519|sk-ecdsa-sha2-nistp256|ssh-xmss)[-@]/;

/**
 * Whether ssh(1) 9.2 knows the key type `type` by its full name (sshkey.c keyimpls,
 * sshkey_type_from_name): the plain types this library reads, the certificates of them
 * ({@link certifiedKeyType}), and the ones it does not read ({@link FOREIGN_KEY_FIELDS},
 * {@link FOREIGN_KEY_TYPE}).
 */
export function sshKnowsKeyType(type: string): boolean {
  return PLAIN_KEY_TYPES.has(type) || FOREIGN_KEY_FIELDS.has(type) || FOREIGN_KEY_TYPE.test(type) || certifiedKeyType(type) !== type;
}

/**
 * Decode a public key blob (RFC 4253 §6.6) strictly, as OpenSSH sshkey.c sshkey_from_blob does
 * when it reads a `.pub` file or the public key an OpenSSH private key file stores in the clear:
 * a type it knows, exactly its fields (an Ed25519 key of 32 bytes, an ECDSA point of the named
 * curve and on it, an RSA modulus of 1024 bits or more), nothing after them; a certificate
 * decoded whole, its CA signature verified (SHA-1 too, as cert_parse). The types ssh reads and
 * this library does not ({@link FOREIGN_KEY_FIELDS}) are checked for their framing, or taken by their name. Returns the
 * key type and the blob as OpenSSH holds the key once decoded (sshkey_to_blob, for the offer, the
 * fingerprint and sshkey_equal_public): an `ssh-rsa` key's mpints re-encoded minimally
 * (sshbuf-getput-basic.c sshbuf_get_bignum2_bytes_direct trims leading zeros), so a `.pub` or a
 * key file header whose e or n carries a leading 00 names the same key as its private half; any
 * other blob (fixed-size fields, certificates kept verbatim) as given.
 * Throws KeyError ERR_KEY_FORMAT marked with ssh's reason (sshKeyParseReason):
 * "unknown or unsupported key type", "incomplete message" for a string cut short (an mpint is
 * "invalid format": ssh-rsa.c and ssh-dss.c say so of any bad one), "elliptic curve does not
 * match", "elliptic curve point is too large", "Invalid key length", else "invalid format".
 *
 * @example
 * ```ts
 * decodePublicKeyBlob(blob); // { type: 'ssh-ed25519', blob }
 * ```
 */
export function decodePublicKeyBlob(blob: Uint8Array): { type: string; blob: Uint8Array } {
  const fail = (reason: SshKeyParseReason, why: string, cause?: unknown) => markSshReason(keyFormatError(`public key: ${why}`, cause), reason);
  const r = new SshReader(blob);
  let type: string;
  try {
    type = fromUtf8(r.string('key type'));
  } catch (cause) {
    throw fail('invalid format', 'no type', cause);
  }
  const plain = PLAIN_KEY_TYPES.get(type);
  const fields = plain?.keyFields ?? FOREIGN_KEY_FIELDS.get(type) ?? (FOREIGN_KEY_TYPE.test(type) ? 0 : undefined);
  if (!sshKnowsKeyType(type)) throw fail('unknown or unsupported key type', type);
  try {
    for (let i = 0; i < (fields ?? 0); i++) r.string('key field');
  } catch (cause) {
    throw fail(type === 'ssh-rsa' || type === 'ssh-dss' ? 'invalid format' : 'incomplete message', 'cut short', cause);
  }
  try {
    if (fields === undefined) parseCertificate(blob, { sha1Ca: true });
    else if (plain) plain.check(blob);
    else if (fields > 0) r.end(type);
  } catch (cause) {
    throw fail(sshKeyParseReason(cause), (cause as Error).message, cause);
  }
  if (type !== 'ssh-rsa') return { type, blob };
  const { e, n } = decodeRsaPublicKey(blob);
  return { type, blob: encodeRsaPublicKey(e, n) };
}

/**
 * The key's fingerprint as `ssh-keygen -l` prints it: "SHA256:" + unpadded base64 of
 * SHA-256(blob).
 *
 * @example
 * ```ts
 * fingerprintSha256(hostKeyBlob); // "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
 * ```
 */
export function fingerprintSha256(blob: Uint8Array): string {
  return 'SHA256:' + base64Encode(sha256(blob), false);
}

/**
 * A host key's fingerprint as OpenSSH shows it: {@link fingerprintSha256} of the blob (or in
 * `hash`, ssh_config(5) FingerprintHash), or for a certificate of the key it certifies (sshkey.c
 * sshkey_fingerprint_raw() hashes a certificate's plain key, `force_plain`), so a renewed
 * certificate keeps its key's fingerprint. A blob that does not parse as a certificate is hashed whole.
 */
export function hostKeyFingerprint(blob: Uint8Array, hash?: FingerprintHash): string {
  return keyFingerprint(plainHostKey(blob), hash);
}

/**
 * The plain key of a host key blob: a certificate's certified key (sshkey.c to_blob with
 * `force_plain`), any other blob, or one that does not parse as a certificate, as it is.
 */
export function plainHostKey(blob: Uint8Array): Uint8Array {
  try {
    if (isCertificateType(keyBlobType(blob))) return parseCertificate(blob, { sha1Ca: true }).publicKeyBlob;
  } catch {
    // Not a well-formed certificate: its bytes are all there is to name it by.
  }
  return blob;
}

/**
 * ssh -v's line for the server's host key (sshconnect.c verify_host_key()): `Server host key:
 * TYPE FP` (the key type, `ssh-rsa` also under rsa-sha2-512), or for a certificate `Server host certificate: TYPE FP, serial N ID "..." CA ...`,
 * where FP is the certified key's fingerprint (OpenSSH fingerprints certificates by their key),
 * in `hash` (ssh_config(5) FingerprintHash; default SHA256).
 */
export function describeServerHostKey(algorithm: string, keyBlob: Uint8Array, hash?: FingerprintHash): string {
  let type: string;
  try {
    type = keyBlobType(keyBlob);
  } catch {
    type = '';
  }
  if (isCertificateType(type)) {
    try {
      return describeHostCertificate(parseCertificate(keyBlob, { sha1Ca: true }), hash);
    } catch {
      // Already verified by the key exchange; a failure here only loses the detail.
    }
  }
  // kex ECDH/DH reply's debug line names the key (sshkey_ssh_name: `ssh-rsa`), not the signature
  // algorithm negotiated (`rsa-sha2-512`).
  return `Server host key: ${type || algorithm} ${keyFingerprint(keyBlob, hash)}`;
}

/**
 * ssh -vv's lines after {@link describeServerHostKey} for a host certificate (sshconnect.c
 * verify_host_key(), debug2): `Server host certificate hostname: NAME`, one per principal. None
 * for a plain key.
 */
export function serverHostCertificateNames(keyBlob: Uint8Array): string[] {
  try {
    if (!isCertificateType(keyBlobType(keyBlob))) return [];
    return parseCertificate(keyBlob, { sha1Ca: true }).validPrincipals.map((p) => `Server host certificate hostname: ${p}`);
  } catch {
    // Already verified by the key exchange; a failure here only loses the detail.
    return [];
  }
}
