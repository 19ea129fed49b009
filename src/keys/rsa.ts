/**
 * ssh-rsa keys: public blob (RFC 4253 §6.6), rsa-sha2-256/512 signatures (RFC 8332) made and
 * verified with RSASSA-PKCS1-v1_5 (RFC 8017 §8.2), private keys from OpenSSH key files, PKCS#1
 * DER (RFC 8017 §A.1.2) and PuTTY files. SHA-1 "ssh-rsa" signatures (RFC 4253 §6.6) are only
 * verified, and only through {@link sshRsaSha1Signature}, which no default registry holds.
 */
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
// RFC 8017 §5.1.2 RSASP1 and §5.2.2 RSAVP1 are modular exponentiations: one shared modPow.
import { modPow } from '../crypto/bigint.js';
import { UsageError } from '../errors.js';
import { SshWriter, constantTimeEqual, type SshReader } from '../protocol/wire.js';
import { DerReader } from './der.js';
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

/** The key type of RSA public key blobs (RFC 4253 §6.6). */
export const SSH_RSA = 'ssh-rsa';

/** RFC 8017 §A.1: rsaEncryption, the PKCS#8 / SPKI algorithm OID of RSA keys. */
export const RSA_ENCRYPTION_OID = '1.2.840.113549.1.1.1';

// OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE, and SSHBUF_MAX_BIGNUM (16384 bits).
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 16384;
/** OpenSSL rsa.h: above this modulus size the public exponent is limited to RSA_MAX_PUBEXP_BITS. */
const RSA_SMALL_MODULUS_BITS = 3072;
const RSA_MAX_PUBEXP_BITS = 64;

/** RSASSA-PKCS1-v1_5 per signature algorithm: the hash and its DER DigestInfo prefix (RFC 8017 §9.2 note 1). */
const PKCS1_HASHES = {
  // RFC 8332 §3.
  'rsa-sha2-512': { hash: sha512, hashName: 'sha512', digestInfo: hex('3051300d060960864801650304020305000440') },
  'rsa-sha2-256': { hash: sha256, hashName: 'sha256', digestInfo: hex('3031300d060960864801650304020105000420') },
  // RFC 4253 §6.6: "ssh-rsa" signs with SHA-1.
  'ssh-rsa': { hash: sha1, hashName: 'sha1', digestInfo: hex('3021300906052b0e03021a05000414') },
} as const;
type RsaSignatureName = keyof typeof PKCS1_HASHES;

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * EMSA-PKCS1-v1_5 (RFC 8017 §9.2): `0x00 0x01 PS(0xff…, ≥ 8) 0x00 DigestInfo H(data)`, `k`
 * bytes long; undefined when the modulus is too short for the digest.
 */
function emsaPkcs1v15(algorithm: RsaSignatureName, data: Uint8Array, k: number): Uint8Array | undefined {
  const { hash, digestInfo } = PKCS1_HASHES[algorithm];
  const h = hash(data);
  const tLen = digestInfo.length + h.length;
  // RFC 8017 §9.2 step 3: "intended encoded message length too short" below tLen + 11.
  if (k < tLen + 11) return undefined;
  const em = new Uint8Array(k);
  em[1] = 0x01;
  em.fill(0xff, 2, k - tLen - 1);
  em.set(digestInfo, k - tLen);
  em.set(h, k - h.length);
  return em;
}

/** An RSA public key: exponent and modulus, and the modulus size in bytes (RFC 8017 §3.1). */
export interface RsaPublicKey {
  readonly e: bigint;
  readonly n: bigint;
  readonly k: number;
}

/**
 * The public key of an ssh-rsa blob (RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n), checked
 * as OpenSSH does: 1024..16384-bit modulus, odd e ≥ 3 below n, and with a modulus over 3072 bits
 * an exponent of at most 64 bits (OpenSSL's rsa_ossl_public_decrypt, through which OpenSSH
 * verifies: OPENSSL_RSA_SMALL_MODULUS_BITS, OPENSSL_RSA_MAX_PUBEXP_BITS; a 16,382-bit e would cost
 * seconds of CPU per signature check). Throws if malformed or weak.
 */
export function decodeRsaPublicKey(keyBlob: Uint8Array): RsaPublicKey {
  const r = readKeyBlob(SSH_RSA, keyBlob);
  const e = unsignedMpint(r.mpint('rsa e'), 'rsa e');
  const n = unsignedMpint(r.mpint('rsa n'), 'rsa n');
  r.end('ssh-rsa key blob');
  const bits = bitLength(n);
  const range = `RSA modulus of ${bits} bits (${RSA_MIN_BITS}..${RSA_MAX_BITS} accepted)`;
  // sshkey.c sshkey_check_rsa_length: SSH_ERR_KEY_LENGTH under SSH_RSA_MINIMUM_MODULUS_SIZE.
  if (bits < RSA_MIN_BITS) throw markSshReason(new Error(range), 'Invalid key length');
  if (bits > RSA_MAX_BITS) throw new Error(range);
  if (e < 3n || (e & 1n) === 0n || e >= n) throw new Error('RSA public exponent is invalid');
  if (bits > RSA_SMALL_MODULUS_BITS && bitLength(e) > RSA_MAX_PUBEXP_BITS) {
    throw new Error(`RSA public exponent of ${bitLength(e)} bits with a ${bits}-bit modulus (at most ${RSA_MAX_PUBEXP_BITS} bits over ${RSA_SMALL_MODULUS_BITS}, as OpenSSL)`);
  }
  return { e, n, k: (bits + 7) >> 3 };
}

/**
 * The modulus size in bits of an `ssh-rsa` public key blob (RFC 4253 §6.6), without the checks of
 * {@link decodeRsaPublicKey}: for ssh_config(5) RequiredRSASize (sshkey.c sshkey_check_rsa_length).
 */
export function rsaPublicKeyBits(keyBlob: Uint8Array): number {
  const r = readKeyBlob(SSH_RSA, keyBlob);
  unsignedMpint(r.mpint('rsa e'), 'rsa e');
  return bitLength(unsignedMpint(r.mpint('rsa n'), 'rsa n'));
}

/** RFC 4253 §6.6: `string "ssh-rsa" || mpint e || mpint n`. */
export function encodeRsaPublicKey(e: bigint, n: bigint): Uint8Array {
  return new SshWriter().string(SSH_RSA).mpint(unsigned(e)).mpint(unsigned(n)).toBytes();
}

function unsigned(v: bigint): Uint8Array {
  return numberToBytesBE(v, Math.max(1, Math.ceil(bitLength(v) / 8)));
}

function rsaSignature(name: RsaSignatureName): HostKeyAlgorithm {
  return {
    name,
    keyType: SSH_RSA,
    verify(keyBlob, signatureBlob, data) {
      const { e, n, k } = decodeRsaPublicKey(keyBlob);
      const sig = decodeSignatureBlob(name, signatureBlob);
      // RFC 8332 §3 / RFC 8017 §8.2.2 step 1: length k; OpenSSH also accepts a shorter,
      // left-zero-stripped signature, which it pads.
      if (sig.length > k || sig.length === 0) return false;
      const s = bytesToNumberBE(sig);
      // RFC 8017 §5.2.2: the signature representative must be < n.
      if (s >= n) return false;
      const expected = emsaPkcs1v15(name, data, k);
      if (!expected) return false;
      // RFC 8017 §8.2.2 step 3-4: re-encode and compare whole, not parse the decrypted block.
      return constantTimeEqual(numberToBytesBE(modPow(s, e, n), k), expected);
    },
  };
}

/** rsa-sha2-512 and rsa-sha2-256 verification (RFC 8332 §3), in OpenSSH's preference order. */
export const rsaSignatures: readonly HostKeyAlgorithm[] = [rsaSignature('rsa-sha2-512'), rsaSignature('rsa-sha2-256')];

/**
 * Legacy "ssh-rsa" verification: RSASSA-PKCS1-v1_5 with SHA-1 (RFC 4253 §6.6). SHA-1 is broken
 * for signatures (OpenSSH 8.8 disabled it by default); only for servers that offer nothing else,
 * behind `verifyHostKeySignature(..., { legacyRsaSha1: true })`.
 */
export const sshRsaSha1Signature: HostKeyAlgorithm = rsaSignature('ssh-rsa');

/** The private fields an RSA key is built from (RFC 8017 §3.2, two primes). */
export interface RsaPrivateFields {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  /** q⁻¹ mod p (RFC 8017 `qInv`, OpenSSH `iqmp`). */
  iqmp: bigint;
}

/**
 * An RSA signing key (rsa-sha2-512 and rsa-sha2-256, RFC 8332) from its private fields, which
 * must be consistent (n = p·q, e·d ≡ 1 mod p−1 and q−1, q·iqmp ≡ 1 mod p), or a KeyError
 * ERR_KEY_FORMAT says which file is damaged. Keys under 1024 bits are refused, as OpenSSH does.
 */
export function rsaKey(fields: RsaPrivateFields): SigningKey {
  let { d, p, q, iqmp } = fields;
  const { n, e } = fields;
  const bits = bitLength(n);
  // sshkey.c sshkey_check_rsa_length: SSH_ERR_KEY_LENGTH under SSH_RSA_MINIMUM_MODULUS_SIZE.
  if (bits < RSA_MIN_BITS) throw markSshReason(keyFormatError(`RSA key is shorter than ${RSA_MIN_BITS} bits`), 'Invalid key length');
  if (bits > RSA_MAX_BITS) throw keyFormatError(`RSA key is longer than ${RSA_MAX_BITS} bits`);
  if (
    p < 2n || q < 2n || p * q !== n || e < 3n || (e & 1n) === 0n ||
    (e * d) % (p - 1n) !== 1n || (e * d) % (q - 1n) !== 1n || (iqmp * q) % p !== 1n
  ) {
    throw keyFormatError('ssh-rsa private key fields are inconsistent (corrupted key file)');
  }
  // RFC 8017 §3.2: the CRT exponents dP, dQ.
  let dp = d % (p - 1n);
  let dq = d % (q - 1n);
  const k = (bits + 7) >> 3;
  return signingKey({
    keyType: SSH_RSA,
    publicKeyBlob: encodeRsaPublicKey(e, n),
    // RFC 8332 §3 SHA-2 first; SHA-1 "ssh-rsa" (RFC 4253 §6.6) last: public key authentication
    // uses it only when PubkeyAcceptedAlgorithms names it (off by default since OpenSSH 8.8).
    signatureAlgorithms: ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
    signBody(algorithm, data, crypto) {
      const em = emsaPkcs1v15(algorithm as RsaSignatureName, data, k);
      if (!em) throw new UsageError('RSA modulus too short for this digest');
      const m = bytesToNumberBE(em);
      // The runtime's RSA when the provider has it, used only once s^e mod n gives back EM (RFC
      // 8017 §8.2.2 step 2's check; PKCS#1 v1.5 is deterministic, so it is the signature below).
      if (crypto?.rsaSign) {
        const fields = { n: unsigned(n), e: unsigned(e), d: unsigned(d), p: unsigned(p), q: unsigned(q), dp: unsigned(dp), dq: unsigned(dq), qi: unsigned(iqmp) };
        let s: Uint8Array | undefined;
        try {
          s = crypto.rsaSign(fields, PKCS1_HASHES[algorithm as RsaSignatureName].hashName, data);
        } finally {
          for (const v of Object.values(fields)) v.fill(0);
        }
        if (s?.length === k && modPow(bytesToNumberBE(s), e, n) === m) return s;
      }
      // RFC 8017 §5.1.2 RSASP1, second form (CRT): about 4x faster than m^d mod n.
      const m1 = modPow(m, dp, p);
      const m2 = modPow(m, dq, q);
      const h = (iqmp * ((m1 - m2 + p) % p)) % p;
      const s = m2 + h * q;
      // A fault in the CRT path would leak a factor of n: check before releasing the signature.
      if (modPow(s, e, n) !== m) throw new UsageError('RSA signature self-check failed');
      // RFC 8332 §3: the signature is I2OSP(s, k), k = modulus length in bytes.
      return numberToBytesBE(s, k);
    },
    wipe() {
      // BigInts cannot be overwritten in place; drop the references at least.
      d = dp = dq = iqmp = p = q = 0n;
    },
  });
}

/**
 * The ssh-rsa fields of an OpenSSH private key (PROTOCOL.key §3, draft-miller-ssh-agent §3.2.1):
 * `mpint n, mpint e, mpint d, mpint iqmp, mpint p, mpint q`.
 */
export function readRsaOpenSsh(r: SshReader): SigningKey {
  const n = unsignedMpint(r.mpint('rsa n'), 'rsa n');
  const e = unsignedMpint(r.mpint('rsa e'), 'rsa e');
  const d = unsignedMpint(r.mpint('rsa d'), 'rsa d');
  const iqmp = unsignedMpint(r.mpint('rsa iqmp'), 'rsa iqmp');
  const p = unsignedMpint(r.mpint('rsa p'), 'rsa p');
  const q = unsignedMpint(r.mpint('rsa q'), 'rsa q');
  return rsaKey({ n, e, d, p, q, iqmp });
}

/**
 * The PuTTY private blob of an ssh-rsa key (PuTTY manual, appendix C.3.1): `mpint d, mpint p,
 * mpint q, mpint iqmp`; e and n come from the public blob.
 */
export function readRsaPpk(r: SshReader, publicKeyBlob: Uint8Array): SigningKey {
  const { e, n } = decodeRsaPublicKey(publicKeyBlob);
  const d = unsignedMpint(r.mpint('rsa d'), 'rsa d');
  const p = unsignedMpint(r.mpint('rsa p'), 'rsa p');
  const q = unsignedMpint(r.mpint('rsa q'), 'rsa q');
  const iqmp = unsignedMpint(r.mpint('rsa iqmp'), 'rsa iqmp');
  return rsaKey({ n, e, d, p, q, iqmp });
}

/**
 * An RSA key from a DER RSAPrivateKey (PKCS#1, RFC 8017 §A.1.2): `SEQUENCE { version 0, n, e, d,
 * p, q, dP, dQ, qInv }`. Multi-prime keys (version 1) are refused.
 */
export function rsaKeyFromPkcs1(der: Uint8Array): SigningKey {
  const r = new DerReader(der, 'RSAPrivateKey');
  const seq = r.sequence('RSAPrivateKey');
  r.end('RSAPrivateKey');
  // RFC 8017 §A.1.2: version 0 = two-prime, 1 = multi-prime.
  const version = seq.smallInteger('version');
  if (version !== 0) throw keyFormatError(`RSAPrivateKey version ${version} (multi-prime RSA) is not supported`);
  const int = (what: string) => bytesToNumberBE(seq.unsignedInteger(what));
  const n = int('modulus');
  const e = int('publicExponent');
  const d = int('privateExponent');
  const p = int('prime1');
  const q = int('prime2');
  // dP and dQ are recomputed from d by rsaKey(), which checks d against p and q.
  seq.unsignedInteger('exponent1');
  seq.unsignedInteger('exponent2');
  const iqmp = int('coefficient');
  seq.end('RSAPrivateKey');
  return rsaKey({ n, e, d, p, q, iqmp });
}
