/**
 * Server host key signatures (RFC 4253 §6.6) as a registry keyed by signature algorithm name,
 * so a new key type plugs in here without touching the key exchange.
 *
 * Supported: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256/384/521 (RFC 5656 §3.1),
 * rsa-sha2-256/512 (RFC 8332).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { base64Encode } from '../protocol/base64.js';
import { modPow } from '../crypto/bigint.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { SshReader, constantTimeEqual, fromUtf8 } from '../protocol/wire.js';

/** One signature algorithm over one kind of host key blob. */
export interface HostKeyAlgorithm {
  /** Signature algorithm name as negotiated in KEXINIT, e.g. 'ssh-ed25519', 'rsa-sha2-256'. */
  readonly name: string;
  /** Key blob type (the blob's first string), e.g. 'ssh-ed25519', 'ssh-rsa'. */
  readonly keyType: string;
  /**
   * True iff `signatureBlob` is a valid signature of `data` under `keyBlob`. May throw on a
   * malformed blob; {@link verifyHostKeySignature} turns any throw into a ProtocolError.
   */
  verify(keyBlob: Uint8Array, signatureBlob: Uint8Array, data: Uint8Array): boolean;
}

/** The signature blob's `string name, string body` (RFC 4253 §6.6), checked against `name`. */
function signatureBody(name: string, signatureBlob: Uint8Array): Uint8Array {
  const r = new SshReader(signatureBlob);
  const sigName = fromUtf8(r.string('signature format'));
  // RFC 8332 §3, RFC 8709 §6: the signature format must be the negotiated algorithm.
  if (sigName !== name) throw new Error(`signature is ${sigName}, expected ${name}`);
  const body = r.string('signature');
  r.end('signature blob');
  return body;
}

/** A key blob reader positioned after its type string, which must be `keyType`. */
function keyReader(keyType: string, keyBlob: Uint8Array): SshReader {
  const r = new SshReader(keyBlob);
  const type = fromUtf8(r.string('key type'));
  if (type !== keyType) throw new Error(`key is ${type}, expected ${keyType}`);
  return r;
}

const ed25519Algorithm: HostKeyAlgorithm = {
  name: 'ssh-ed25519',
  keyType: 'ssh-ed25519',
  verify(keyBlob, signatureBlob, data) {
    const r = keyReader(this.keyType, keyBlob);
    const pk = r.string('ed25519 key');
    r.end('ssh-ed25519 key blob');
    const sig = signatureBody(this.name, signatureBlob);
    // RFC 8709 §4, §6: 32-byte key, 64-byte signature.
    if (pk.length !== 32 || sig.length !== 64) return false;
    // RFC 8032 §5.1.7 strict checks (canonical S, no ZIP 215 leniency), as OpenSSH's ref10.
    return ed25519.verify(sig, data, pk, { zip215: false });
  },
};

type Ecdsa = typeof p256;

/** ecdsa-sha2-<curve> (RFC 5656 §3.1): hash is SHA-256/384/512 by curve size (§6.2.1). */
function ecdsaAlgorithm(curveName: string, curve: Ecdsa, fieldBytes: number): HostKeyAlgorithm {
  const name = `ecdsa-sha2-${curveName}`;
  return {
    name,
    keyType: name,
    verify(keyBlob, signatureBlob, data) {
      const r = keyReader(name, keyBlob);
      // RFC 5656 §3.1: string identifier (the curve name), then string Q.
      const id = fromUtf8(r.string('curve identifier'));
      const q = r.string('ecdsa point');
      r.end(`${name} key blob`);
      if (id !== curveName) return false;
      // SEC1 §2.3.3 uncompressed point (0x04 || X || Y), the only form OpenSSH sends.
      if (q.length !== 1 + 2 * fieldBytes || q[0] !== 4) return false;
      const body = signatureBody(name, signatureBlob);
      // RFC 5656 §3.1.2: the signature body is mpint r || mpint s.
      const sr = new SshReader(body);
      const rr = sr.mpint('ecdsa r');
      const ss = sr.mpint('ecdsa s');
      sr.end('ecdsa signature');
      const compact = new Uint8Array(2 * fieldBytes);
      if (!putUnsigned(rr, compact, 0, fieldBytes) || !putUnsigned(ss, compact, fieldBytes, fieldBytes)) return false;
      // RFC 5656 §6.2.1 hashes the data; OpenSSH may produce high-S signatures, so no lowS rule.
      return curve.verify(compact, data, q, { prehash: true, lowS: false, format: 'compact' });
    },
  };
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

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}


// OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE, and SSHBUF_MAX_BIGNUM (16384 bits).
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 16384;

// RFC 8017 §9.2 note 1: DER DigestInfo prefixes.
const DIGEST_INFO_SHA256 = new Uint8Array([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
]);
const DIGEST_INFO_SHA512 = new Uint8Array([
  0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
]);

/** rsa-sha2-256/512 (RFC 8332 §3): RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2) over an ssh-rsa key. */
function rsaAlgorithm(name: string, hash: (d: Uint8Array) => Uint8Array, digestInfo: Uint8Array): HostKeyAlgorithm {
  return {
    name,
    keyType: 'ssh-rsa',
    verify(keyBlob, signatureBlob, data) {
      const r = keyReader('ssh-rsa', keyBlob);
      // RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n.
      const eBytes = r.mpint('rsa e');
      const nBytes = r.mpint('rsa n');
      r.end('ssh-rsa key blob');
      if ((eBytes.length > 0 && (eBytes[0]! & 0x80) !== 0) || (nBytes.length > 0 && (nBytes[0]! & 0x80) !== 0)) {
        return false;
      }
      const n = toBigInt(nBytes);
      const e = toBigInt(eBytes);
      const bits = n.toString(2).length;
      if (n === 0n || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) return false;
      if (e < 3n || (e & 1n) === 0n || e >= n) return false;
      const k = (bits + 7) >> 3;
      const sig = signatureBody(name, signatureBlob);
      // RFC 8332 §3 / RFC 8017 §8.2.2 step 1: length k; OpenSSH also accepts a shorter,
      // left-zero-stripped signature, which it pads.
      if (sig.length > k || sig.length === 0) return false;
      const s = toBigInt(sig);
      // RFC 8017 §5.2.2: the signature representative must be < n.
      if (s >= n) return false;
      const m = modPow(s, e, n);
      // RFC 8017 §9.2 EMSA-PKCS1-v1_5: 00 01 FF..FF 00 || DigestInfo || H, built and compared whole.
      const h = hash(data);
      const tLen = digestInfo.length + h.length;
      if (k < tLen + 11) return false;
      const expected = new Uint8Array(k);
      expected[1] = 0x01;
      expected.fill(0xff, 2, k - tLen - 1);
      expected.set(digestInfo, k - tLen);
      expected.set(h, k - h.length);
      const em = new Uint8Array(k);
      let v = m;
      for (let i = k - 1; i >= 0; i--) {
        em[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      return constantTimeEqual(em, expected);
    },
  };
}

const ALL: HostKeyAlgorithm[] = [
  ed25519Algorithm,
  ecdsaAlgorithm('nistp256', p256, 32),
  ecdsaAlgorithm('nistp384', p384, 48),
  ecdsaAlgorithm('nistp521', p521, 66),
  rsaAlgorithm('rsa-sha2-512', sha512, DIGEST_INFO_SHA512),
  rsaAlgorithm('rsa-sha2-256', sha256, DIGEST_INFO_SHA256),
];

/** Every supported host key signature algorithm, by its negotiated name. */
export const hostKeyAlgorithms: ReadonlyMap<string, HostKeyAlgorithm> = new Map(ALL.map((a) => [a.name, a]));

/**
 * Our server_host_key_algorithms preference (RFC 4253 §7.1), in OpenSSH's client order among the
 * plain (non-certificate) types: Ed25519, then ECDSA, then RSA with SHA-2 (never SHA-1 ssh-rsa).
 */
export const DEFAULT_HOST_KEY_ALGORITHMS: string[] = [
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

/**
 * Check the server's signature of the exchange hash (RFC 4253 §8: the client MUST verify it).
 * Throws a ProtocolError (code ERR_HOST_KEY_SIGNATURE, reason KEY_EXCHANGE_FAILED) when the
 * signature is wrong, either blob is malformed, the signature names another algorithm than the
 * negotiated `algorithm`, or the key is not of the type that algorithm uses.
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
): void {
  const alg = hostKeyAlgorithms.get(algorithm);
  if (!alg) throw signatureError(`unsupported host key algorithm ${algorithm}`);
  let ok: boolean;
  try {
    ok = alg.verify(keyBlob, signatureBlob, data);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw signatureError(`host key signature (${algorithm}) could not be checked: ${detail}`, cause);
  }
  if (!ok) {
    throw signatureError(
      `host key signature (${algorithm}) does not verify for key ${fingerprintSha256(keyBlob)}: ` +
        `the server did not prove it holds the key`,
    );
  }
}

/** The type name a public key blob starts with (RFC 4253 §6.6), e.g. 'ssh-ed25519'. */
export function keyBlobType(blob: Uint8Array): string {
  return fromUtf8(new SshReader(blob).string('key type'));
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
