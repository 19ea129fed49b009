/**
 * OpenSSH certificates (OpenSSH PROTOCOL.certkeys): a public key, its validity and principals,
 * signed by a certificate authority (CA). Decoding is strict and always verifies the CA's
 * signature (as OpenSSH's cert_parse() does), so a {@link Certificate} in hand is authentic; what
 * it is good for (host or user, which names, when) is decided by {@link checkCertificateAuthority}
 * against an injected clock. Host key signatures made with a certificate's key are verified by the
 * `*-cert-v01@openssh.com` entries of {@link certificateHostKeyAlgorithms}; a private key is
 * paired with its certificate for user authentication by {@link certifiedKey}.
 *
 * Sans-IO: blobs in, no clock read here (callers pass the time).
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { KeyError, UsageError } from '../errors.js';
import { base64Decode, base64Encode } from '../protocol/base64.js';
import { globMatch } from '../protocol/glob.js';
import { SshReader, SshWriter, constantTimeEqual, fromUtf8 } from '../protocol/wire.js';
import { decodeEcdsaPublicKey, ecdsaSignatures } from './ecdsa.js';
import { decodeEd25519PublicKey, ed25519Signature } from './ed25519.js';
import { keyFingerprint, type FingerprintHash } from './fingerprint.js';
import type { PrivateKey } from './privatekey.js';
import { decodeRsaPublicKey, rsaPublicKeyBits, rsaSignatures, sshRsaSha1Signature } from './rsa.js';
import type { HostKeyAlgorithm } from './signing.js';

/** PROTOCOL.certkeys: the certificate `type` field. */
export const SSH2_CERT_TYPE_USER = 1;
/** PROTOCOL.certkeys: the certificate `type` field. */
export const SSH2_CERT_TYPE_HOST = 2;

/** PROTOCOL.certkeys: `valid before` of a certificate that never expires. */
const FOREVER = 0xffffffffffffffffn;
// OpenSSH sshkey.h SSHKEY_CERT_MAX_PRINCIPALS.
const MAX_PRINCIPALS = 256;
const CERT_SUFFIX = '-cert-v01@openssh.com';

/** One certificate key type: its name, the plain key inside, and how that key is laid out. */
interface CertKeyType {
  /** e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  certType: string;
  /** The certified key's plain type, e.g. `ssh-ed25519`. */
  keyType: string;
  /** How many SSH strings/mpints the public key takes after the nonce (PROTOCOL.certkeys). */
  keyFields: number;
  /** Checks the plain public key blob; throws when malformed. */
  check(plainBlob: Uint8Array): void;
}

// PROTOCOL.certkeys "Certified keys": the fields after the nonce are the plain key's own.
const CERT_KEY_TYPES: readonly CertKeyType[] = [
  { certType: `ssh-ed25519${CERT_SUFFIX}`, keyType: 'ssh-ed25519', keyFields: 1, check: (b) => void decodeEd25519PublicKey(b) },
  ...['nistp256', 'nistp384', 'nistp521'].map((c) => ({
    certType: `ecdsa-sha2-${c}${CERT_SUFFIX}`,
    keyType: `ecdsa-sha2-${c}`,
    keyFields: 2, // string curve, string public_key
    check: (b: Uint8Array) => void decodeEcdsaPublicKey(`ecdsa-sha2-${c}`, b, true),
  })),
  // mpint e, mpint n (mpints are framed like strings).
  { certType: `ssh-rsa${CERT_SUFFIX}`, keyType: 'ssh-rsa', keyFields: 2, check: (b) => void decodeRsaPublicKey(b) },
];

const CERT_BY_TYPE: ReadonlyMap<string, CertKeyType> = new Map(CERT_KEY_TYPES.map((t) => [t.certType, t]));

/**
 * The plain key types this library reads, by name, with their layout and strict check (the ones
 * certificates certify): ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa.
 */
export const PLAIN_KEY_TYPES: ReadonlyMap<string, Pick<CertKeyType, 'keyFields' | 'check'>> = new Map(CERT_KEY_TYPES.map((t) => [t.keyType, t]));

/**
 * Signature algorithm names of certificate keys and the plain algorithm that makes the actual
 * signature (OpenSSH PROTOCOL.certkeys; RFC 8332 names for RSA), in OpenSSH's default
 * HostKeyAlgorithms order. SHA-1 `ssh-rsa-cert-v01@openssh.com` is not offered (OpenSSH 8.8+).
 */
const CERT_SIGNATURE_ALGORITHMS: ReadonlyMap<string, { certType: string; plain: string }> = new Map([
  [`ssh-ed25519${CERT_SUFFIX}`, { certType: `ssh-ed25519${CERT_SUFFIX}`, plain: 'ssh-ed25519' }],
  [`ecdsa-sha2-nistp256${CERT_SUFFIX}`, { certType: `ecdsa-sha2-nistp256${CERT_SUFFIX}`, plain: 'ecdsa-sha2-nistp256' }],
  [`ecdsa-sha2-nistp384${CERT_SUFFIX}`, { certType: `ecdsa-sha2-nistp384${CERT_SUFFIX}`, plain: 'ecdsa-sha2-nistp384' }],
  [`ecdsa-sha2-nistp521${CERT_SUFFIX}`, { certType: `ecdsa-sha2-nistp521${CERT_SUFFIX}`, plain: 'ecdsa-sha2-nistp521' }],
  [`rsa-sha2-512${CERT_SUFFIX}`, { certType: `ssh-rsa${CERT_SUFFIX}`, plain: 'rsa-sha2-512' }],
  [`rsa-sha2-256${CERT_SUFFIX}`, { certType: `ssh-rsa${CERT_SUFFIX}`, plain: 'rsa-sha2-256' }],
]);

/**
 * `ssh-rsa-cert-v01@openssh.com`: an RSA certificate whose holder signs with SHA-1 `ssh-rsa`
 * (PROTOCOL.certkeys; RFC 4253 §6.6). Off by default as in OpenSSH 8.8+, used only when a user
 * lists it (ssh_config(5) HostKeyAlgorithms / PubkeyAcceptedAlgorithms `+ssh-rsa-cert-v01@openssh.com`).
 * The CA's own signature is still held to {@link CA_SIGNATURE_ALGORITHMS}.
 */
const LEGACY_CERT_SIGNATURE_ALGORITHMS: ReadonlyMap<string, { certType: string; plain: string }> = new Map([
  [`ssh-rsa${CERT_SUFFIX}`, { certType: `ssh-rsa${CERT_SUFFIX}`, plain: 'ssh-rsa' }],
]);

/** Both tables: what a name maps to once the user enabled it. */
const ANY_CERT_SIGNATURE_ALGORITHMS: ReadonlyMap<string, { certType: string; plain: string }> = new Map([
  ...CERT_SIGNATURE_ALGORITHMS,
  ...LEGACY_CERT_SIGNATURE_ALGORITHMS,
]);

/** The certificate host key algorithms in OpenSSH's preference order (ssh_config(5) HostKeyAlgorithms). */
export const CERTIFICATE_HOST_KEY_ALGORITHMS: readonly string[] = [...CERT_SIGNATURE_ALGORITHMS.keys()];

/**
 * The signature algorithms a CA may sign certificates with: OpenSSH 8.2+'s default
 * CASignatureAlgorithms (ssh_config(5)), i.e. everything but SHA-1 `ssh-rsa`.
 */
const CA_SIGNATURE_ALGORITHMS: ReadonlyMap<string, HostKeyAlgorithm> = new Map(
  [ed25519Signature, ...ecdsaSignatures, ...rsaSignatures].map((a) => [a.name, a]),
);

/**
 * Every CA signature algorithm pure-ssh verifies: {@link CA_SIGNATURE_ALGORITHMS} and SHA-1
 * `ssh-rsa`, which decodes only for host certificates (`parseCertificate(blob, { sha1Ca: true })`),
 * where ssh_config(5) CASignatureAlgorithms then decides ({@link checkCertificateAuthority}).
 */
const ANY_CA_SIGNATURE_ALGORITHMS: ReadonlyMap<string, HostKeyAlgorithm> = new Map([
  ...CA_SIGNATURE_ALGORITHMS,
  [sshRsaSha1Signature.name, sshRsaSha1Signature],
]);

/**
 * The signature algorithms OpenSSH 9.2 knows (sshkey_alg_list(0, 1, 1): plain key types and the
 * RSA signature-only names, no certificate types; `ssh -Q sig`), in its order: what
 * CASignatureAlgorithms' names and patterns are matched against (readconf.c
 * fill_default_options, kex_assemble_names()).
 */
const OPENSSH_SIGNATURE_ALGORITHMS: readonly string[] = [
  'ssh-ed25519', 'sk-ssh-ed25519@openssh.com', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ecdsa-sha2-nistp256@openssh.com', 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-dss', 'ssh-rsa',
  'rsa-sha2-256', 'rsa-sha2-512',
];

/**
 * OpenSSH's default CASignatureAlgorithms (myproposal.h SSH_ALLOWED_CA_SIGALGS, 9.2 and 10.0):
 * the FIDO (`sk-*`) names included, SHA-1 `ssh-rsa` not.
 */
export const DEFAULT_CA_SIGNATURE_ALGORITHMS: readonly string[] = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com', 'rsa-sha2-512', 'rsa-sha2-256',
];

/** kex.c kex_names_cat(): `b`'s names appended to `a`'s, each once. */
function namesCat(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** A CASignatureAlgorithms name: not negated, and a signature algorithm OpenSSH knows or a certificate type (or a pattern matching one). */
function knownSignatureName(n: string): boolean {
  return n[0] !== '!' && OPENSSH_SIGNATURE_ALGORITHMS.some((k) => globMatch(k, n) || globMatch(k + CERT_SUFFIX, n));
}

function badSignatureName(n: string, hint: string): UsageError {
  return new UsageError(`CASignatureAlgorithms: bad name "${n}" (known: ${OPENSSH_SIGNATURE_ALGORITHMS.join(',')}${hint})`);
}

/** Each name of `list`, in its order, expanded against every signature algorithm ssh knows (each once). */
function expandSignatureNames(list: readonly string[]): string[] {
  let out: string[] = [];
  for (const n of list) out = namesCat(out, OPENSSH_SIGNATURE_ALGORITHMS.filter((k) => globMatch(k, n)));
  return out;
}

/**
 * ssh_config(5) CASignatureAlgorithms applied as ssh(1) does (readconf.c fill_default_options,
 * kex.c kex_assemble_names()): undefined or `''` is the default
 * ({@link DEFAULT_CA_SIGNATURE_ALGORITHMS}); `+list` appends to it, `-list` removes what its
 * patterns match from it (possibly everything: no certificate is then accepted), `^list` puts
 * first; any other list replaces it. Names and `*`/`?` patterns are matched against the
 * signature algorithms OpenSSH knows; a certificate type (`ssh-ed25519-cert-v01@openssh.com`)
 * matches none and adds nothing, as in ssh. An array is an exact list (empty: no CA signature
 * algorithm is accepted).
 *
 * Throws UsageError for a name OpenSSH does not know (neither a signature
 * algorithm nor a certificate type, nor a pattern matching one), a negated name (`!`, which
 * kex_assemble_names refuses), or a list other than `-list` that leaves nothing.
 *
 * @example
 * applyCaSignatureSpec('-rsa-sha2-*'); // ['ssh-ed25519', 'ecdsa-sha2-nistp256', ...] without RSA
 */
export function applyCaSignatureSpec(spec: string | readonly string[] | undefined): string[] {
  if (spec !== undefined && typeof spec !== 'string') {
    // An exact list (the CLI's, already applied; a library caller's): taken as it is, each name
    // or pattern expanded against the algorithms ssh knows. Empty refuses every CA signature, as
    // a `-` list that removed everything does in ssh; never the default (it was: `[]` joined to
    // '' read as "unset", so `-*` accepted what ssh refuses).
    for (const n of spec) if (!knownSignatureName(n)) throw badSignatureName(n, '');
    return expandSignatureNames(spec);
  }
  const raw = spec ?? '';
  if (raw === '') return [...DEFAULT_CA_SIGNATURE_ALGORITHMS];
  const op = raw[0] === '+' || raw[0] === '-' || raw[0] === '^' ? raw[0] : '';
  const names = raw.slice(op.length).split(',');
  // readconf.c checks the names of every list but a `-` one (sshkey_names_valid2).
  for (const n of op === '-' ? [] : names) if (n !== '' && !knownSignatureName(n)) throw badSignatureName(n, '; -LIST removes');
  const def = DEFAULT_CA_SIGNATURE_ALGORITHMS;
  // kex_assemble_names: `-` filters the default by the patterns and is done (match_filter_denylist).
  if (op === '-') return def.filter((k) => !names.some((n) => globMatch(k, n)));
  const list = op === '+' ? namesCat(def, names) : op === '^' ? namesCat(names, def) : names;
  const out = expandSignatureNames(list);
  if (out.length === 0) throw new UsageError(`CASignatureAlgorithms: no CA signature algorithm in "${raw}"`);
  return out;
}

/**
 * The plain key type a certificate type certifies (`ssh-rsa-cert-v01@openssh.com` → `ssh-rsa`;
 * OpenSSH sshkey_type_plain()); other types are returned unchanged.
 */
export function certifiedKeyType(type: string): string {
  return CERT_BY_TYPE.get(type)?.keyType ?? type;
}

/** True when `type` names a certificate key type (`*-cert-v01@openssh.com`). */
export function isCertificateType(type: string): boolean {
  return type.endsWith(CERT_SUFFIX);
}

/**
 * The plain signature algorithm behind a certificate one (`rsa-sha2-256-cert-v01@openssh.com` →
 * `rsa-sha2-256`); other names are returned unchanged. server-sig-algs (RFC 8308 §3.1) lists only
 * plain names, so this is what a client compares with it.
 */
export function plainSignatureAlgorithm(algorithm: string): string {
  return ANY_CERT_SIGNATURE_ALGORITHMS.get(algorithm)?.plain ?? algorithm;
}

/** One critical option or extension (PROTOCOL.certkeys): a name and its raw data string. */
export interface CertificateOption {
  name: string;
  /** The option's data (itself an SSH string for the options OpenSSH defines; may be empty). */
  data: Uint8Array;
}

/** A decoded, signature-checked certificate (PROTOCOL.certkeys). */
export interface Certificate {
  /** The whole certificate blob, as sent on the wire and stored in `-cert.pub` files. */
  blob: Uint8Array;
  /** e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  certType: string;
  /** The certified key's plain type, e.g. `ssh-ed25519`. */
  keyType: string;
  nonce: Uint8Array;
  /** The certified key as a plain public key blob (RFC 4253 §6.6). */
  publicKeyBlob: Uint8Array;
  serial: bigint;
  /** {@link SSH2_CERT_TYPE_USER} (1) or {@link SSH2_CERT_TYPE_HOST} (2). */
  type: number;
  keyId: string;
  /** Names (hosts) or user names the certificate is valid for; empty means none (OpenSSH refuses). */
  validPrincipals: string[];
  /** Seconds since the epoch, inclusive. */
  validAfter: bigint;
  /** Seconds since the epoch, exclusive; 2^64−1 for "forever". */
  validBefore: bigint;
  criticalOptions: CertificateOption[];
  extensions: CertificateOption[];
  reserved: Uint8Array;
  /** The CA's public key blob (a plain key: a certificate may not sign certificates). */
  signatureKey: Uint8Array;
  /** The CA's signature blob (RFC 4253 §6.6 framing). */
  signature: Uint8Array;
  /** The algorithm the CA signed with, e.g. `ssh-ed25519`, `rsa-sha2-512`. */
  signatureAlgorithm: string;
}

function certError(message: string, cause?: unknown): KeyError {
  return new KeyError('ERR_KEY_FORMAT', `certificate: ${message}`, cause === undefined ? undefined : { cause });
}

/** PROTOCOL.certkeys: critical options and extensions are a sequence of (string name, string data). */
function readOptions(section: Uint8Array, what: string): CertificateOption[] {
  const r = new SshReader(section);
  const out: CertificateOption[] = [];
  while (r.remaining > 0) {
    const name = fromUtf8(r.string(`${what} name`));
    const data = r.string(`${what} data`);
    // PROTOCOL.certkeys: each name at most once, in lexical order.
    const prev = out[out.length - 1];
    if (prev && prev.name >= name) throw certError(`${what} "${name}" is repeated or out of order`);
    out.push({ name, data: data.slice() });
  }
  return out;
}

function cstring(bytes: Uint8Array, what: string): string {
  // OpenSSH sshbuf_get_cstring(): no embedded NUL.
  if (bytes.includes(0)) throw certError(`${what} contains a NUL byte`);
  return fromUtf8(bytes);
}

/**
 * Decode a certificate blob (PROTOCOL.certkeys) strictly and verify its CA signature:
 * `string type, string nonce, <plain key fields>, uint64 serial, uint32 type, string key id,
 * string valid principals, uint64 valid after, uint64 valid before, string critical options,
 * string extensions, string reserved, string signature key, string signature`, nothing after.
 *
 * Throws KeyError `ERR_KEY_FORMAT` (message starting "certificate:") when a field is malformed,
 * the type is unknown, the CA key is itself a certificate or unsupported, the CA signed with an
 * algorithm outside OpenSSH's default CASignatureAlgorithms (SHA-1 `ssh-rsa` is refused, as
 * OpenSSH 8.2+ does, unless `sha1Ca`), or the signature does not verify.
 *
 * `sha1Ca`: also verify a CA signature made with SHA-1 `ssh-rsa` (OpenSSH's cert_parse() verifies
 * any; the host key check then holds the certificate's {@link Certificate.signatureAlgorithm} to
 * CASignatureAlgorithms, whose default refuses it: {@link checkCertificateAuthority}). For host
 * certificates; a user certificate signed so is refused on loading, as servers refuse it.
 *
 * `crypto`: a provider whose primitives (its runtime Ed25519) verify the CA signature instead of
 * noble's. A blob whose CA signature verified is remembered (the last
 * {@link VERIFIED_CERTIFICATES_KEPT}, by its bytes): one host certificate is decoded several times
 * per key exchange (the signature check, the fingerprint, ssh -v's lines, the known_hosts check)
 * and its signature is checked once. The algorithm rules above apply at every call.
 *
 * @example
 * const cert = parseCertificate(blob);
 * cert.keyId; // "web1 host key"
 */
export function parseCertificate(blob: Uint8Array, options: ParseCertificateOptions = {}): Certificate {
  try {
    return decode(blob, options.sha1Ca === true, options.crypto);
  } catch (err) {
    if (err instanceof KeyError) throw err;
    throw certError((err as Error).message, err);
  }
}

/** Options of {@link parseCertificate}. */
export interface ParseCertificateOptions {
  /** Also accept a CA signature made with SHA-1 `ssh-rsa` (host certificates only). */
  sha1Ca?: boolean;
  /** The connection's crypto provider: its runtime Ed25519, if any, verifies the CA signature. */
  crypto?: CryptoProvider;
}

/** How many certificate blobs {@link parseCertificate} remembers as verified. */
export const VERIFIED_CERTIFICATES_KEPT = 16;
// Blobs (base64) whose CA signature verified, oldest first. A blob is the signed data and the
// signature together, so the same bytes verify the same way whoever checks them (noble and the
// runtime's Ed25519 are both strict: RFC 8032 §5.1.7, a non-canonical S refused, and a CA key of
// small order, src/node/crypto-provider.ts ED25519_SMALL_ORDER).
const verifiedCertificates = new Set<string>();


function decode(blob: Uint8Array, sha1Ca: boolean, crypto: CryptoProvider | undefined): Certificate {
  const r = new SshReader(blob);
  const certType = fromUtf8(r.string('certificate type'));
  const kt = CERT_BY_TYPE.get(certType);
  if (!kt) throw certError(`unsupported certificate type "${certType}"`);
  const nonce = r.string('nonce').slice();
  const keyStart = r.offset;
  for (let i = 0; i < kt.keyFields; i++) r.string('public key field');
  // The plain key blob: its type name, then the same fields as in the certificate.
  const publicKeyBlob = new SshWriter().string(kt.keyType).raw(blob.subarray(keyStart, r.offset)).toBytes();
  kt.check(publicKeyBlob);
  const serial = r.uint64();
  const type = r.uint32();
  const keyId = cstring(r.string('key id'), 'key id');
  const principalsSection = r.string('valid principals');
  const validAfter = r.uint64();
  const validBefore = r.uint64();
  const critical = r.string('critical options');
  const exts = r.string('extensions');
  // PROTOCOL.certkeys: "reserved" is ignored in this version.
  const reserved = r.string('reserved').slice();
  const signatureKey = r.string('signature key').slice();
  // PROTOCOL.certkeys: the signature covers everything from the type string up to here.
  const signedLength = r.offset;
  const signature = r.string('signature').slice();
  r.end('certificate');

  if (type !== SSH2_CERT_TYPE_USER && type !== SSH2_CERT_TYPE_HOST) throw certError(`unknown certificate type ${type}`);
  const validPrincipals: string[] = [];
  const pr = new SshReader(principalsSection);
  while (pr.remaining > 0) {
    if (validPrincipals.length >= MAX_PRINCIPALS) throw certError(`more than ${MAX_PRINCIPALS} principals`);
    validPrincipals.push(cstring(pr.string('principal'), 'principal'));
  }
  const criticalOptions = readOptions(critical, 'critical option');
  const extensions = readOptions(exts, 'extension');

  const caType = fromUtf8(new SshReader(signatureKey).string('signature key type'));
  // OpenSSH sshkey_type_is_valid_ca(): a certificate cannot be a CA.
  if (isCertificateType(caType)) throw certError('the signature key is itself a certificate');
  const sr = new SshReader(signature);
  const sigAlg = fromUtf8(sr.string('signature algorithm'));
  const verifier = (sha1Ca ? ANY_CA_SIGNATURE_ALGORITHMS : CA_SIGNATURE_ALGORITHMS).get(sigAlg);
  if (!verifier) {
    throw certError(
      sigAlg === 'ssh-rsa'
        ? 'the CA signed it with ssh-rsa (RSA with SHA-1), which OpenSSH 8.2 and later refuse (CASignatureAlgorithms); re-sign it with ssh-keygen -t rsa-sha2-512'
        : `the CA signature algorithm "${sigAlg}" is not supported`,
    );
  }
  if (verifier.keyType !== caType) throw certError(`a ${caType} CA key cannot make ${sigAlg} signatures`);
  const seen = base64Encode(blob);
  if (!verifiedCertificates.has(seen)) {
    let ok: boolean;
    try {
      ok = verifier.verify(signatureKey, signature, blob.subarray(0, signedLength), crypto);
    } catch (cause) {
      throw certError(`the CA signature could not be checked: ${(cause as Error).message}`, cause);
    }
    if (!ok) throw certError(`the CA signature does not verify (CA ${caType} ${fingerprint(signatureKey)})`);
    // Remembered as verified, the oldest forgotten past VERIFIED_CERTIFICATES_KEPT.
    if (verifiedCertificates.size >= VERIFIED_CERTIFICATES_KEPT) verifiedCertificates.delete(verifiedCertificates.values().next().value!);
    verifiedCertificates.add(seen);
  }

  return {
    blob: blob.slice(),
    certType,
    keyType: kt.keyType,
    nonce,
    publicKeyBlob,
    serial,
    type,
    keyId,
    validPrincipals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    reserved,
    signatureKey,
    signature,
    signatureAlgorithm: sigAlg,
  };
}

/**
 * Parse a certificate file line (`ssh-ed25519-cert-v01@openssh.com AAAA... comment`, what
 * `ssh-keygen -s` writes to `KEY-cert.pub`). Throws KeyError ERR_KEY_FORMAT naming `source`.
 * `crypto`: as for {@link parseCertificate}, the provider whose Ed25519 verifies the CA signature.
 */
export function parseCertificateFile(text: string, source = 'certificate', options: { crypto?: CryptoProvider } = {}): Certificate {
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const m = line ? /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s|$)/.exec(line) : null;
  if (!m) throw certError(`${source} is not a certificate file (expected "TYPE BASE64 [comment]")`);
  if (!isCertificateType(m[1]!)) {
    // A public key line names its type (ssh-ed25519, ecdsa-sha2-..., sk-..., rsa-sha2-...);
    // other text (`not a key`) is no key at all.
    if (!/^(ssh|ecdsa|sk|rsa|x509v3)-/.test(m[1]!)) throw certError(`${source} is not a certificate file (expected "TYPE BASE64 [comment]")`);
    throw certError(`${source} holds a ${m[1]} key, not a certificate`);
  }
  let blob: Uint8Array;
  try {
    blob = base64Decode(m[2]!);
  } catch (cause) {
    throw certError(`${source}: invalid base64`, cause);
  }
  try {
    const cert = parseCertificate(blob, { crypto: options.crypto });
    if (cert.certType !== m[1]) throw certError(`type "${m[1]}" does not match the certificate's own "${cert.certType}"`);
    return cert;
  } catch (err) {
    throw certError(`${source}: ${(err as Error).message.replace(/^certificate: /, '')}`, err);
  }
}

/** What {@link checkCertificateAuthority} checks the certificate for. */
export interface CertificateCheck {
  /** A host certificate (true) or a user certificate (false). */
  wantHost: boolean;
  /** The current time in seconds since the epoch (injected: this core has no clock). */
  now: number;
  /** The name that must be among the principals (exact match); omit to skip that check. */
  name?: string;
  /**
   * ssh_config(5) CASignatureAlgorithms, applied ({@link applyCaSignatureSpec}): the algorithms
   * the CA may have signed a host certificate with. Omit to skip that check (user certificates:
   * ssh(1) checks only host certificates against it, sshconnect.c check_host_key).
   */
  caSignatureAlgorithms?: readonly string[];
}

/**
 * Is the certificate good for this use now? Returns undefined when it is, else OpenSSH's reason
 * (sshkey_cert_check_authority() and sshkey_cert_check_host() wording, e.g. "Certificate
 * invalid: expired"). Host certificates must carry no critical option (PROTOCOL.certkeys defines
 * none for hosts, and an unknown critical option must be refused), and, when
 * `caSignatureAlgorithms` is given, be signed with one of them ("Certificate signed with
 * disallowed algorithm").
 */
export function checkCertificateAuthority(cert: Certificate, check: CertificateCheck): string | undefined {
  if (check.wantHost && cert.type !== SSH2_CERT_TYPE_HOST) return 'Certificate invalid: not a host certificate';
  if (!check.wantHost && cert.type !== SSH2_CERT_TYPE_USER) return 'Certificate invalid: not a user certificate';
  const now = BigInt(Math.max(0, Math.floor(check.now)));
  if (now < cert.validAfter) return 'Certificate invalid: not yet valid';
  if (now >= cert.validBefore) return 'Certificate invalid: expired';
  if (cert.validPrincipals.length === 0) return 'Certificate lacks principal list';
  // OpenSSH 9.2 check_host_key(): exact comparison for host names (no wildcard principals).
  if (check.name !== undefined && !cert.validPrincipals.includes(check.name)) {
    return 'Certificate invalid: name is not a listed principal';
  }
  if (check.wantHost && cert.criticalOptions.length > 0) return 'Certificate contains unsupported critical options';
  // sshkey.c sshkey_cert_check_host(), last: sshkey_check_cert_sigtype() (match_pattern_list on
  // the CA signature's algorithm name).
  if (check.caSignatureAlgorithms !== undefined && !check.caSignatureAlgorithms.includes(cert.signatureAlgorithm)) {
    return 'Certificate signed with disallowed algorithm';
  }
  return undefined;
}

function fingerprint(blob: Uint8Array, hash?: FingerprintHash): string {
  return keyFingerprint(blob, hash);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** OpenSSH format_absolute_time(): local time as `%Y-%m-%dT%H:%M:%S`. */
function absoluteTime(seconds: bigint): string {
  const d = new Date(Number(seconds) * 1000);
  if (Number.isNaN(d.getTime())) return 'UNKNOWN-TIME';
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}` +
    `T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/**
 * The validity interval as OpenSSH prints it (sshkey_format_cert_validity()): `forever`,
 * `before T`, `after T` or `from T to T`, in local time.
 */
export function formatCertificateValidity(cert: Certificate): string {
  if (cert.validAfter === 0n && cert.validBefore === FOREVER) return 'forever';
  if (cert.validAfter === 0n) return `before ${absoluteTime(cert.validBefore)}`;
  if (cert.validBefore === FOREVER) return `after ${absoluteTime(cert.validAfter)}`;
  return `from ${absoluteTime(cert.validAfter)} to ${absoluteTime(cert.validBefore)}`;
}

/**
 * ssh -v's line for a host certificate (sshconnect.c verify_host_key()): `Server host
 * certificate: TYPE FP, serial N ID "ID" CA CATYPE CAFP valid VALIDITY`; the fingerprints are
 * of the certified key and of the CA key, in `hash` (ssh_config(5) FingerprintHash; default SHA256).
 */
export function describeHostCertificate(cert: Certificate, hash?: FingerprintHash): string {
  const caType = fromUtf8(new SshReader(cert.signatureKey).string('signature key type'));
  return (
    `Server host certificate: ${cert.certType} ${fingerprint(cert.publicKeyBlob, hash)}, serial ${cert.serial} ` +
    `ID "${cert.keyId}" CA ${caType} ${fingerprint(cert.signatureKey, hash)} valid ${formatCertificateValidity(cert)}`
  );
}

/**
 * `*-cert-v01@openssh.com` host key algorithms: the key blob is a certificate (its CA signature
 * checked on decoding), and the exchange hash signature is made by the certified key with the
 * plain algorithm (PROTOCOL.certkeys), e.g. `rsa-sha2-256` inside `rsa-sha2-256-cert-v01`.
 * Whether the CA is trusted for this host is the host key verifier's decision.
 */
function certificateHostKeyAlgorithm(name: string, certType: string, inner: HostKeyAlgorithm): HostKeyAlgorithm {
  return {
    name,
    keyType: certType,
    verify(keyBlob: Uint8Array, signatureBlob: Uint8Array, data: Uint8Array, crypto?: CryptoProvider): boolean {
      // The CA's signature algorithm is CASignatureAlgorithms' to judge, at the host key check.
      const cert = parseCertificate(keyBlob, { sha1Ca: true, crypto });
      if (cert.certType !== certType) throw new Error(`key is ${cert.certType}, expected ${certType}`);
      return inner.verify(cert.publicKeyBlob, signatureBlob, data, crypto);
    },
  };
}

export const certificateHostKeyAlgorithms: readonly HostKeyAlgorithm[] = [...CERT_SIGNATURE_ALGORITHMS].map(
  ([name, { certType, plain }]) => certificateHostKeyAlgorithm(name, certType, CA_SIGNATURE_ALGORITHMS.get(plain)!),
);

/** `ssh-rsa-cert-v01@openssh.com` (see {@link LEGACY_CERT_SIGNATURE_ALGORITHMS}): only when listed by the user. */
export const legacyCertificateHostKeyAlgorithms: readonly HostKeyAlgorithm[] = [...LEGACY_CERT_SIGNATURE_ALGORITHMS].map(
  ([name, { certType }]) => certificateHostKeyAlgorithm(name, certType, sshRsaSha1Signature),
);

/** A private key paired with its user certificate: offers the certificate, signs with the key. */
export interface CertifiedKey extends PrivateKey {
  readonly certificate: Certificate;
  /** Where the certificate came from (its file), for messages. */
  readonly certificateSource: string;
  /**
   * Why the server may have refused it, for the authentication error: OpenSSH's reason when a
   * local check finds one (expired, not yet valid), else the certificate's principals and
   * validity, since the server never says why.
   */
  refusalDetail(): string;
}

/** True for keys built by {@link certifiedKey}. */
export function isCertifiedKey(key: PrivateKey): key is CertifiedKey {
  return (key as Partial<CertifiedKey>).certificate !== undefined;
}

/**
 * Pair `key` with its user certificate (OpenSSH CertificateFile, `KEY-cert.pub`). The
 * publickey request then names the certificate algorithm (`ssh-ed25519-cert-v01@openssh.com`,
 * `rsa-sha2-512-cert-v01@openssh.com`, ...) and carries the certificate blob, and the signature
 * is the plain key's (PROTOCOL.certkeys). `now` (seconds since the epoch) is only used to explain
 * a refusal. `dispose()` disposes `key` too.
 *
 * Throws KeyError ERR_KEY_FORMAT when the certificate is not a user certificate or certifies
 * another key.
 */
export function certifiedKey(
  key: PrivateKey,
  cert: Certificate,
  options: { source?: string; now?: () => number } = {},
): CertifiedKey {
  const source = options.source ?? `certificate "${cert.keyId}"`;
  if (cert.type !== SSH2_CERT_TYPE_USER) throw certError(`${source} is a host certificate, not a user certificate`);
  if (!constantTimeEqual(cert.publicKeyBlob, key.publicKeyBlob)) {
    throw certError(`${source} certifies key ${fingerprint(cert.publicKeyBlob)}, not ${fingerprint(key.publicKeyBlob)}`);
  }
  const byPlain = new Map([...ANY_CERT_SIGNATURE_ALGORITHMS].filter(([, v]) => v.certType === cert.certType).map(([k, v]) => [v.plain, k]));
  const signatureAlgorithms = key.signatureAlgorithms.flatMap((a) => (byPlain.has(a) ? [byPlain.get(a)!] : []));
  return {
    keyType: cert.certType,
    publicKeyBlob: cert.blob,
    signatureAlgorithms,
    comment: key.comment,
    format: key.format,
    certificate: cert,
    certificateSource: source,
    sign(algorithm: string, data: Uint8Array, crypto?: CryptoProvider): Uint8Array {
      const plain = ANY_CERT_SIGNATURE_ALGORITHMS.get(algorithm);
      if (!plain || !signatureAlgorithms.includes(algorithm)) return key.sign(algorithm, data, crypto);
      // PROTOCOL.certkeys: the signature is the certified key's, under the plain algorithm name.
      return key.sign(plain.plain, data, crypto);
    },
    dispose: () => key.dispose(),
    refusalDetail: () => certificateRefusalDetail(cert, source, options.now),
  };
}

/**
 * Why the server may have refused user certificate `cert` (from `source`), for the
 * authentication error (see {@link CertifiedKey.refusalDetail}): OpenSSH's reason when a local
 * check by `now` (seconds since the epoch) finds one, else its principals and validity.
 */
export function certificateRefusalDetail(cert: Certificate, source: string, now?: () => number): string {
  const what = `certificate ${source} (ID "${cert.keyId}", serial ${cert.serial})`;
  const local = now ? checkCertificateAuthority(cert, { wantHost: false, now: now() }) : undefined;
  const facts = `principals: ${cert.validPrincipals.join(',') || 'none'}; valid ${formatCertificateValidity(cert)}`;
  if (local) return `The ${what} was refused: ${local} (${facts}).`;
  return `The server refused the ${what} without saying why (${facts}); check its principals against the user name and the server's AuthorizedPrincipalsFile, and that the server trusts its CA (TrustedUserCAKeys).`;
}

/** OpenSSH's short type name with `-CERT` (sshkey_type()), e.g. `ED25519-CERT`. */
export function certificateShortType(cert: Certificate): string {
  const base = cert.keyType === 'ssh-ed25519' ? 'ED25519' : cert.keyType === 'ssh-rsa' ? 'RSA' : 'ECDSA';
  return `${base}-CERT`;
}

/** ssh -v's "Offering public key" text for a certified key: `SOURCE ED25519-CERT FP` (FP in `hash`, FingerprintHash). */
export function describeCertifiedKey(key: CertifiedKey, hash?: FingerprintHash): string {
  return `${key.certificateSource} ${certificateShortType(key.certificate)} ${fingerprint(key.certificate.publicKeyBlob, hash)}`;
}

/** A certificate and where it came from (a file path, for messages). */
export interface CertificateSource {
  certificate: Certificate;
  source: string;
}

/**
 * Pair user certificates with the private keys they certify, as ssh(1)'s pubkey_prepare() does:
 * the certified keys first (in certificate order), then every plain key. A certificate without
 * its private key, or that is not a user certificate, is skipped and reported through `skipped`.
 * `now` (seconds since the epoch) only explains refusals (see {@link certifiedKey});
 * `fingerprintHash` is the messages' (ssh_config(5) FingerprintHash, SHA256 by default).
 */
export function withCertificates(
  keys: readonly PrivateKey[],
  certificates: readonly CertificateSource[],
  options: { now?: () => number; skipped?: (message: string) => void; fingerprintHash?: FingerprintHash } = {},
): PrivateKey[] {
  const certified: PrivateKey[] = [];
  for (const { certificate, source } of certificates) {
    if (certificate.type !== SSH2_CERT_TYPE_USER) {
      // sshconnect2.c pubkey_prepare(): "ignoring certificate %s: not a user certificate".
      options.skipped?.(`ignoring certificate ${source}: not a user certificate`);
      continue;
    }
    const key = keys.find((k) => constantTimeEqual(k.publicKeyBlob, certificate.publicKeyBlob));
    if (!key) {
      options.skipped?.(`ignoring certificate ${source}: no private key for ${certificate.keyType} ${fingerprint(certificate.publicKeyBlob, options.fingerprintHash)} among the identities`);
      continue;
    }
    certified.push(certifiedKey(key, certificate, { source, now: options.now }));
  }
  return [...certified, ...keys];
}

/**
 * ssh_config(5) RequiredRSASize (sshkey.c sshkey_check_rsa_length): whether an RSA key or RSA
 * certificate (its RFC 4253 §6.6 blob) has a modulus under `minBits` or OpenSSH's floor of 1024
 * bits (SSH_RSA_MINIMUM_MODULUS_SIZE). Keys of other types, and blobs that are not keys, never are.
 */
export function rsaKeyTooShort(keyBlob: Uint8Array, minBits: number | undefined): boolean {
  let bits: number;
  try {
    const type = fromUtf8(new SshReader(keyBlob).string());
    // The certified key's size whatever the CA signed with (sshkey.c sshkey_check_rsa_length
    // counts KEY_RSA_CERT by its key): a SHA-1 CA signature is for CASignatureAlgorithms to judge.
    const blob = type === 'ssh-rsa-cert-v01@openssh.com' ? parseCertificate(keyBlob, { sha1Ca: true }).publicKeyBlob : type === 'ssh-rsa' ? keyBlob : undefined;
    if (blob === undefined) return false;
    bits = rsaPublicKeyBits(blob);
  } catch {
    return false;
  }
  return bits < 1024 || (minBits !== undefined && minBits > 0 && bits < minBits);
}
