/**
 * ecdsa-sha2-nistp256/384/521 keys (RFC 5656): public blob, signature verification, private keys
 * from OpenSSH key files, SEC1 / PKCS#8 DER (RFC 5915, RFC 5480) and PuTTY files, and signing.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import type { CryptoProvider, EcdsaCurveName } from '../crypto/provider.js';
import { SshReader, SshWriter, constantTimeEqual, fromUtf8 } from '../protocol/wire.js';
import { DerReader, DerTag, contextTag } from './der.js';
import {
  decodeSignatureBlob,
  keyFormatError,
  markSshReason,
  readKeyBlob,
  signingKey,
  unsignedMpint,
  type HostKeyAlgorithm,
  type SigningKey,
} from './signing.js';

type Curve = typeof p256;

/** One NIST curve as SSH names it (RFC 5656 §6.1) and as X.509 does (RFC 5480 §2.1.1.1). */
export interface EcdsaCurve {
  /** Key type and signature algorithm: `ecdsa-sha2-[identifier]` (RFC 5656 §3.1, §6.2). */
  readonly keyType: string;
  /** RFC 5656 §6.1 curve identifier, e.g. `nistp256`. */
  readonly identifier: EcdsaCurveName;
  readonly curve: Curve;
  /** Bytes of a field element and of the private scalar (32, 48, 66). */
  readonly scalarBytes: number;
  /** RFC 5480 §2.1.1.1 namedCurve OID. */
  readonly oid: string;
}

// RFC 5656 §6.2.1: the hash follows the curve size (noble's curves prehash with exactly these).
const CURVES: EcdsaCurve[] = [
  {
    keyType: 'ecdsa-sha2-nistp256',
    identifier: 'nistp256',
    curve: p256,
    scalarBytes: 32,
    oid: '1.2.840.10045.3.1.7',
  },
  {
    keyType: 'ecdsa-sha2-nistp384',
    identifier: 'nistp384',
    curve: p384,
    scalarBytes: 48,
    oid: '1.3.132.0.34',
  },
  {
    keyType: 'ecdsa-sha2-nistp521',
    identifier: 'nistp521',
    curve: p521,
    scalarBytes: 66,
    oid: '1.3.132.0.35',
  },
];

/** The supported curves by key type (`ecdsa-sha2-nistp256`, ...). */
export const ECDSA_CURVES: ReadonlyMap<string, EcdsaCurve> = new Map(CURVES.map((c) => [c.keyType, c]));

/** RFC 5480 §2.1.1: id-ecPublicKey, the PKCS#8 / SPKI algorithm OID of EC keys. */
export const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';

/** The curve with RFC 5480 namedCurve `oid`, or a KeyError naming the unsupported curve. */
export function ecdsaCurveByOid(oid: string): EcdsaCurve {
  const c = CURVES.find((x) => x.oid === oid);
  if (!c) throw keyFormatError(`EC curve ${oid} is not supported (supported: NIST P-256, P-384, P-521)`);
  return c;
}

function curveOf(keyType: string): EcdsaCurve {
  const c = ECDSA_CURVES.get(keyType);
  if (!c) throw new Error(`${keyType} is not an ECDSA key type`);
  return c;
}

/**
 * The point Q of an `ecdsa-sha2-*` blob (RFC 5656 §3.1: string type, string identifier,
 * string Q), which must be an uncompressed point of the right size (SEC1 §2.3.3), and with
 * `onCurve` a point of the curve (SEC1 §3.2.2.1, as OpenSSH's sshbuf_get_eckey →
 * EC_POINT_oct2point checks on loading a key). Throws if not, marked with ssh(1)'s reason where
 * it has its own (ssh-ecdsa.c ssh_ecdsa_deserialize_public, sshbuf-getput-crypto.c get_ec).
 */
export function decodeEcdsaPublicKey(keyType: string, keyBlob: Uint8Array, onCurve = false): Uint8Array {
  const c = curveOf(keyType);
  const r = readKeyBlob(keyType, keyBlob);
  const id = fromUtf8(r.string('curve identifier'));
  const q = r.string('ecdsa point');
  r.end(`${keyType} key blob`);
  // RFC 5656 §3.1: the identifier must match the key type's curve (SSH_ERR_EC_CURVE_MISMATCH).
  if (id !== c.identifier) throw markSshReason(new Error(`${keyType} key names curve ${id}`), 'elliptic curve does not match');
  // get_ec: an empty point is SSH_ERR_ECPOINT_TOO_LARGE.
  if (q.length === 0) throw markSshReason(new Error(`${keyType} point is empty`), 'elliptic curve point is too large');
  // SEC1 §2.3.3 uncompressed point (0x04 || X || Y), the only form OpenSSH sends.
  if (q.length !== 1 + 2 * c.scalarBytes || q[0] !== 4) throw new Error(`${keyType} point is not uncompressed`);
  if (onCurve) {
    try {
      c.curve.Point.fromBytes(q);
    } catch {
      throw new Error(`${keyType} point is not on the curve`);
    }
  }
  return q;
}

/** RFC 5656 §3.1: `string "ecdsa-sha2-[identifier]" || string [identifier] || string Q`. */
export function encodeEcdsaPublicKey(keyType: string, q: Uint8Array): Uint8Array {
  return new SshWriter().string(keyType).string(curveOf(keyType).identifier).string(q).toBytes();
}

/** Copy a non-negative mpint body into `out[off, off + size)` right-aligned; false if it does not fit. */
function putUnsigned(mpint: Uint8Array, out: Uint8Array, off: number, size: number): boolean {
  // RFC 4251 §5: a set top bit means negative.
  if (mpint.length > 0 && (mpint[0]! & 0x80) !== 0) return false;
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  const n = mpint.length - i;
  if (n > size) return false;
  out.set(mpint.subarray(i), off + size - n);
  return true;
}

function ecdsaSignature(c: EcdsaCurve): HostKeyAlgorithm {
  const { keyType, curve, scalarBytes, identifier } = c;
  return {
    name: keyType,
    keyType,
    verify(keyBlob, signatureBlob, data, crypto?: CryptoProvider) {
      const q = decodeEcdsaPublicKey(keyType, keyBlob);
      const body = decodeSignatureBlob(keyType, signatureBlob);
      // RFC 5656 §3.1.2: the signature body is mpint r || mpint s.
      const sr = new SshReader(body);
      const rr = sr.mpint('ecdsa r');
      const ss = sr.mpint('ecdsa s');
      sr.end('ecdsa signature');
      const compact = new Uint8Array(2 * scalarBytes);
      if (!putUnsigned(rr, compact, 0, scalarBytes) || !putUnsigned(ss, compact, scalarBytes, scalarBytes)) return false;
      // The runtime's verification when the provider has it (checked on first use against a
      // known signature with a high S, a changed one and a point off the curve): a few ms in a
      // fresh process, against 75-170 ms for noble's first NIST-curve verification. Both say
      // false for a point off the curve and for r or s outside [1, n−1] (SEC1 §4.1.4 step 1).
      const runtime = crypto?.ecdsaVerifier?.(identifier);
      if (runtime) return runtime.verify(q, data, compact);
      // RFC 5656 §6.2.1 hashes the data; OpenSSH may produce high-S signatures, so no lowS rule.
      return curve.verify(compact, data, q, { prehash: true, lowS: false, format: 'compact' });
    },
  };
}

/** ecdsa-sha2-nistp256/384/521 signature verification (RFC 5656 §3.1.2, §6.2.1), in that order. */
export const ecdsaSignatures: readonly HostKeyAlgorithm[] = CURVES.map(ecdsaSignature);

/**
 * An ECDSA signing key from its private scalar `d` (big-endian, at most the curve's size). `d` is
 * copied; it must be in [1, n−1], and when `expectedQ` is given it must be d·G, or a KeyError
 * ERR_KEY_FORMAT says the halves disagree. Q is computed, and signatures made, with `crypto`'s
 * ECDSA when it has one (the runtime's: a few ms in a fresh process against ~100 ms for
 * @noble/curves' first NIST-curve multiplication, bench/results/startup.md), else with noble.
 */
export function ecdsaKeyFromScalar(keyType: string, d: Uint8Array, expectedQ?: Uint8Array, crypto?: CryptoProvider): SigningKey {
  const c = curveOf(keyType);
  const { curve, scalarBytes, identifier } = c;
  if (d.length > scalarBytes) throw keyFormatError(`${keyType} private scalar is too large (corrupted key file)`);
  const secret = new Uint8Array(scalarBytes);
  secret.set(d, scalarBytes - d.length);
  let q: Uint8Array;
  try {
    // SEC1 §3.2.1: d must be in [1, n−1]; noble and the provider throw otherwise.
    const runtime = crypto?.ecdsa?.(identifier);
    q = runtime ? runtime.publicKey(secret) : curve.getPublicKey(secret, false);
  } catch (cause) {
    secret.fill(0);
    throw keyFormatError(`${keyType} private scalar is invalid (corrupted key file)`, cause);
  }
  if (expectedQ && !constantTimeEqual(q, expectedQ)) {
    secret.fill(0);
    throw keyFormatError(`${keyType} private and public halves do not match (corrupted key file)`);
  }
  return signingKey({
    keyType,
    publicKeyBlob: encodeEcdsaPublicKey(keyType, q),
    signatureAlgorithms: [keyType],
    signBody(_algorithm, data, crypto) {
      // The runtime's ECDSA (its own random k, as OpenSSH's through libcrypto), or noble's with a
      // deterministic k (RFC 6979), since this core has no RNG; compact = r || s, fixed width.
      const runtime = crypto?.ecdsa?.(identifier);
      const rs = runtime ? runtime.sign(secret, data) : curve.sign(data, secret, { prehash: true });
      // RFC 5656 §3.1.2: the signature blob is mpint r, mpint s.
      return new SshWriter().mpint(rs.subarray(0, scalarBytes)).mpint(rs.subarray(scalarBytes)).toBytes();
    },
    wipe: () => secret.fill(0),
  });
}

/**
 * The ecdsa fields of an OpenSSH private key (PROTOCOL.key §3, draft-miller-ssh-agent §3.2.2):
 * `string curve identifier`, `string Q`, `mpint d`.
 */
export function readEcdsaOpenSsh(keyType: string, r: SshReader, crypto?: CryptoProvider): SigningKey {
  const c = curveOf(keyType);
  const id = String.fromCharCode(...r.string('curve name'));
  // ssh-ecdsa.c ssh_ecdsa_deserialize_public: another curve than the type's is SSH_ERR_EC_CURVE_MISMATCH.
  if (id !== c.identifier) throw markSshReason(keyFormatError(`${keyType} key names curve "${id}"`), 'elliptic curve does not match');
  const q = r.string('ecdsa public point');
  return ecdsaKeyFromScalar(keyType, scalarBytesOf(r.mpint('ecdsa private scalar'), c), q, crypto);
}

/** The PuTTY private blob of an ECDSA key (PuTTY manual, appendix C.3.3): `mpint d`. */
export function readEcdsaPpk(keyType: string, r: SshReader, publicKeyBlob: Uint8Array, crypto?: CryptoProvider): SigningKey {
  const c = curveOf(keyType);
  return ecdsaKeyFromScalar(keyType, scalarBytesOf(r.mpint('ecdsa private scalar'), c), decodeEcdsaPublicKey(keyType, publicKeyBlob), crypto);
}

function scalarBytesOf(mpint: Uint8Array, c: EcdsaCurve): Uint8Array {
  const d = unsignedMpint(mpint, `${c.keyType} private scalar`);
  try {
    return numberToBytesBE(d, c.scalarBytes);
  } catch (cause) {
    throw keyFormatError(`${c.keyType} private scalar is too large (corrupted key file)`, cause);
  }
}

/**
 * An ECDSA key from a DER ECPrivateKey (SEC1 §C.4, RFC 5915 §3):
 * `SEQUENCE { version 1, privateKey OCTET STRING, [0] namedCurve OID OPTIONAL,
 * [1] publicKey BIT STRING OPTIONAL }`. Inside PKCS#8 the curve comes from the
 * AlgorithmIdentifier (`pkcs8CurveOid`); when both name it, they must agree.
 */
export function ecdsaKeyFromSec1(der: Uint8Array, pkcs8CurveOid?: string, crypto?: CryptoProvider): SigningKey {
  const r = new DerReader(der, 'ECPrivateKey');
  const seq = r.sequence('ECPrivateKey');
  r.end('ECPrivateKey');
  // RFC 5915 §3: ecPrivkeyVer1 = 1.
  const version = seq.smallInteger('version');
  if (version !== 1) throw keyFormatError(`ECPrivateKey version ${version} is not supported`);
  const d = seq.octetString('privateKey');
  const params = seq.optional(contextTag(0, true), 'parameters');
  const publicKey = seq.optional(contextTag(1, true), 'publicKey');
  seq.end('ECPrivateKey');
  let oid = pkcs8CurveOid;
  if (params) {
    // RFC 5480 §2.1.1: ECParameters ::= CHOICE { namedCurve OID, ... }; only named curves.
    const p = new DerReader(params, 'ECPrivateKey parameters');
    const named = p.peekTag() === DerTag.OBJECT_IDENTIFIER ? p.objectIdentifier('namedCurve') : undefined;
    if (!named) throw keyFormatError('ECPrivateKey has explicit curve parameters; only named curves are supported');
    p.end('parameters');
    if (oid !== undefined && oid !== named) throw keyFormatError(`ECPrivateKey names curve ${named}, its PKCS#8 wrapper ${oid}`);
    oid = named;
  }
  if (oid === undefined) throw keyFormatError('ECPrivateKey does not name its curve');
  const c = ecdsaCurveByOid(oid);
  let q: Uint8Array | undefined;
  if (publicKey) {
    const p = new DerReader(publicKey, 'ECPrivateKey publicKey');
    q = p.bitString('publicKey');
    p.end('publicKey');
  }
  return ecdsaKeyFromScalar(c.keyType, d, q, crypto);
}
