/**
 * PKCS#8 private keys: PrivateKeyInfo / OneAsymmetricKey (RFC 5208 §5, RFC 5958 §2) holding an
 * RSA (RFC 8017 §A.1), EC (RFC 5915, RFC 5480) or Ed25519 (RFC 8410 §7) key, and
 * EncryptedPrivateKeyInfo (RFC 5208 §6) with PBES2 (RFC 8018 §6.2): PBKDF2 with HMAC-SHA-1 or
 * SHA-2, or scrypt (RFC 7914 §7), then AES-CBC or DES-EDE3-CBC; or with the PKCS#12 PBE
 * pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 Appendix C). That is what `ssh-keygen -m PKCS8`,
 * `openssl pkcs8 -topk8` (-v2, -v1 PBE-SHA1-3DES, -scrypt) and `openssl genrsa -des3` write.
 * Everything but PBKDF2 with AES goes through ./extra-key-decryption.ts. (Single DES is refused,
 * as ssh 9.2's OpenSSL 3 refuses it.)
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { DerReader, DerTag, MalformedDerError, algorithmIdentifier, bitStringOctets, contextTag } from './der.js';
import { EC_PUBLIC_KEY_OID, ecdsaKeyFromSec1 } from './ecdsa.js';
import { ED25519_OID, ed25519KeyFromPkcs8 } from './ed25519.js';
import { aesCbcPkcs7Decrypt } from './key-ciphers.js';
import type { ExtraKeyDecryption } from './extra-key-decryption.js';
import { extraDecryptionMissing, parseDecrypted, passphraseNeeded, wrongPassphrase, type KeyFileContext } from './key-file.js';
import { RSA_ENCRYPTION_OID, rsaKeyFromPkcs1 } from './rsa.js';
import { keyFormatError, markLibcrypto, type SigningKey } from './signing.js';

/** RFC 3279 §2.3.2: id-dsa, the PKCS#8 algorithm OID of DSA keys (not supported). */
export const DSA_OID = '1.2.840.10040.4.1';

/** Names for OIDs a key file may carry that this library does not take, for the error message. */
const UNSUPPORTED_KEY_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  [DSA_OID]: 'DSA',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
};

/** The fields of a DER PrivateKeyInfo / OneAsymmetricKey, read by {@link readPrivateKeyInfo}. */
export interface PrivateKeyInfo {
  /** privateKeyAlgorithm's OID, e.g. rsaEncryption. */
  readonly oid: string;
  /** privateKeyAlgorithm's parameters, still to be read. */
  readonly params: DerReader;
  readonly privateKey: Uint8Array;
  /** RFC 5958 §2 v2's publicKey, when present. */
  readonly publicKey: Uint8Array | undefined;
}

/**
 * The structure of a DER PrivateKeyInfo / OneAsymmetricKey (RFC 5958 §2):
 * `SEQUENCE { version 0|1, privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING,
 * [0] attributes OPTIONAL, [1] publicKey BIT STRING OPTIONAL }`, the key inside not yet read.
 * Throws KeyError ERR_KEY_FORMAT (MalformedDerError for DER that is no PrivateKeyInfo).
 */
export function readPrivateKeyInfo(der: Uint8Array): PrivateKeyInfo {
  const r = new DerReader(der, 'PKCS#8 PrivateKeyInfo');
  const seq = r.sequence('PrivateKeyInfo');
  r.end('PrivateKeyInfo');
  // RFC 5958 §2: v1 (0) without, v2 (1) with the optional public key.
  const version = seq.smallInteger('version');
  if (version > 1) throw keyFormatError(`PKCS#8 version ${version} is not supported`);
  const { oid, params } = algorithmIdentifier(seq, 'privateKeyAlgorithm');
  const privateKey = seq.octetString('privateKey');
  // RFC 5958 §2: attributes [0] IMPLICIT SET (constructed), publicKey [1] IMPLICIT BIT STRING.
  seq.optional(contextTag(0, true), 'attributes');
  const publicKeyBits = seq.optional(contextTag(1, false), 'publicKey');
  seq.end('PrivateKeyInfo');
  const publicKey = publicKeyBits ? bitStringOctets(publicKeyBits, 'PKCS#8 publicKey') : undefined;
  return { oid, params, privateKey, publicKey };
}

/**
 * {@link readPrivateKeyInfo} of `der`, or undefined when `der` is not one at all (its DER has
 * another shape), so that a caller may try another structure.
 */
export function privateKeyInfoOrUndefined(der: Uint8Array): PrivateKeyInfo | undefined {
  try {
    return readPrivateKeyInfo(der);
  } catch (err) {
    if (err instanceof MalformedDerError) return undefined;
    throw err;
  }
}

/**
 * The key inside a DER PrivateKeyInfo / OneAsymmetricKey (see {@link readPrivateKeyInfo}). An
 * Ed25519 or ECDSA key's public half is computed with `crypto`'s Ed25519 or ECDSA when it has one.
 */
export function keyFromPkcs8(der: Uint8Array, crypto?: CryptoProvider): SigningKey {
  return keyFromPrivateKeyInfo(readPrivateKeyInfo(der), crypto);
}

/** The key a {@link readPrivateKeyInfo} result holds (`crypto` as in {@link keyFromPkcs8}). */
export function keyFromPrivateKeyInfo(info: PrivateKeyInfo, crypto?: CryptoProvider): SigningKey {
  const { oid, params, privateKey, publicKey } = info;
  switch (oid) {
    case RSA_ENCRYPTION_OID:
      // RFC 8017 §A.1: the parameters are NULL (some writers leave them out).
      if (params.peekTag() !== undefined) params.null('rsaEncryption parameters');
      params.end('rsaEncryption parameters');
      return rsaKeyFromPkcs1(privateKey);
    case EC_PUBLIC_KEY_OID: {
      // RFC 5480 §2.1.1: the parameters name the curve.
      const curve = params.objectIdentifier('namedCurve');
      params.end('ecPublicKey parameters');
      try {
        return ecdsaKeyFromSec1(privateKey, curve, crypto);
      } catch (err) {
        // ssh 9.2 (OpenSSL 3): damaged DER in the wrapped ECPrivateKey fails in the EC decoder,
        // whose error sshkey.c translate_libcrypto_error leaves as "error in libcrypto".
        throw err instanceof MalformedDerError ? markLibcrypto(err) : err;
      }
    }
    case ED25519_OID:
      // RFC 8410 §3: the parameters MUST be absent.
      params.end('Ed25519 parameters');
      return ed25519KeyFromPkcs8(privateKey, publicKey, crypto);
    default: {
      const name = UNSUPPORTED_KEY_ALGORITHMS[oid];
      throw keyFormatError(
        `PKCS#8 key algorithm ${name ? `${name} (${oid})` : oid} is not supported (supported: RSA, ECDSA P-256/384/521, Ed25519)`,
      );
    }
  }
}

// RFC 8018 §A.2, §A.4, §B.1.1–B.1.2, §B.2.5: the PBES2 identifiers.
const PBES2_OID = '1.2.840.113549.1.5.13';
const PBKDF2_OID = '1.2.840.113549.1.5.12';
const PRFS: Record<string, { name: string; hash: CHash }> = {
  '1.2.840.113549.2.7': { name: 'HMAC-SHA-1', hash: sha1 },
  '1.2.840.113549.2.8': { name: 'HMAC-SHA-224', hash: sha224 },
  '1.2.840.113549.2.9': { name: 'HMAC-SHA-256', hash: sha256 },
  '1.2.840.113549.2.10': { name: 'HMAC-SHA-384', hash: sha384 },
  '1.2.840.113549.2.11': { name: 'HMAC-SHA-512', hash: sha512 },
};
// RFC 8018 §B.2.2, §B.2.5 / NIST CSOR: the PBES2 ciphers (key length; the IV is the parameters,
// 16 bytes for AES, 8 for DES-EDE3).
const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'AES-128-CBC', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'AES-192-CBC', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'AES-256-CBC', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'DES-EDE3-CBC', keyLength: 24 },
};
const UNSUPPORTED_ENCRYPTION: Record<string, string> = {
  '1.3.14.3.2.7': 'DES-CBC',
  '1.2.840.113549.3.2': 'RC2-CBC',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC',
};

const FORMAT = 'PKCS#8';

function unsupportedEncryption(oid: string, extra: ExtraKeyDecryption | undefined): Error {
  // Without ./extra-key-decryption.ts, scrypt (RFC 7914 §7) and the PKCS#12 PBE land here too.
  if (!extra) return extraDecryptionMissing(FORMAT, oid);
  const name = UNSUPPORTED_ENCRYPTION[oid];
  return keyFormatError(
    `${FORMAT} encryption ${name ? `${name} (${oid})` : oid} is not supported (supported: PBES2, PKCS#12 PBE-SHA1-3DES); ` +
      `re-encrypt a copy with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in <file> -out <copy>`,
  );
}

/** How an EncryptedPrivateKeyInfo is protected: the key (and, for PKCS#12 PBE, IV) derivation and the cipher. */
interface Protection {
  /** For messages, e.g. "PBES2, PBKDF2 HMAC-SHA-256 × 2048, AES-128-CBC". */
  detail: string;
  cipher: string;
  derive(passphrase: Uint8Array): { key: Uint8Array; iv: Uint8Array };
  encrypted: Uint8Array;
}

/** RFC 5208 §6 EncryptedPrivateKeyInfo with RFC 8018 §A.4 PBES2-params, or what `extra` reads. */
function readProtection(der: Uint8Array, extra: ExtraKeyDecryption | undefined): Protection {
  const r = new DerReader(der, 'PKCS#8 EncryptedPrivateKeyInfo');
  const seq = r.sequence('EncryptedPrivateKeyInfo');
  r.end('EncryptedPrivateKeyInfo');
  const scheme = algorithmIdentifier(seq, 'encryptionAlgorithm');
  const encrypted = seq.octetString('encryptedData');
  seq.end('EncryptedPrivateKeyInfo');
  if (scheme.oid !== PBES2_OID) {
    const pbe = extra?.pbe(scheme.oid, scheme.params);
    if (!pbe) throw unsupportedEncryption(scheme.oid, extra);
    return { ...pbe, encrypted };
  }
  const pbes2 = scheme.params.sequence('PBES2-params');
  scheme.params.end('PBES2 parameters');
  const kdf = algorithmIdentifier(pbes2, 'keyDerivationFunc');
  const enc = algorithmIdentifier(pbes2, 'encryptionScheme');
  pbes2.end('PBES2-params');
  const cipher = CIPHERS[enc.oid];
  if (!cipher) throw unsupportedEncryption(enc.oid, extra);
  const des = cipher.name.startsWith('DES');
  if (des && !extra) throw extraDecryptionMissing(FORMAT, cipher.name);
  const iv = enc.params.octetString('IV');
  enc.params.end('IV');
  if (iv.length !== (des ? 8 : 16)) throw keyFormatError(`${FORMAT}: ${cipher.name} IV of ${iv.length} bytes`);
  const withIv = (k: { detail: string; derive(passphrase: Uint8Array): Uint8Array }): Protection => ({
    detail: `PBES2, ${k.detail}, ${cipher.name}`,
    cipher: cipher.name,
    derive: (passphrase) => ({ key: k.derive(passphrase), iv }),
    encrypted,
  });
  if (kdf.oid !== PBKDF2_OID) {
    const other = extra?.pbes2Kdf(kdf.oid, kdf.params, cipher.keyLength);
    if (!other) throw unsupportedEncryption(kdf.oid, extra);
    return withIv(other);
  }

  const p = kdf.params.sequence('PBKDF2-params');
  kdf.params.end('PBKDF2 parameters');
  // RFC 8018 §A.2: salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier }.
  if (p.peekTag() !== DerTag.OCTET_STRING) throw keyFormatError(`${FORMAT}: PBKDF2 salt from "otherSource" is not supported`);
  const salt = p.octetString('salt');
  const iterations = p.smallInteger('iterationCount');
  if (iterations < 1) throw keyFormatError(`${FORMAT}: PBKDF2 iteration count 0`);
  if (p.peekTag() === DerTag.INTEGER) {
    const keyLength = p.smallInteger('keyLength');
    if (keyLength !== cipher.keyLength) throw keyFormatError(`${FORMAT}: PBKDF2 keyLength ${keyLength} for ${cipher.name}`);
  }
  // RFC 8018 §A.2: prf DEFAULT algid-hmacWithSHA1.
  let prf = PRFS['1.2.840.113549.2.7']!;
  if (p.peekTag() === DerTag.SEQUENCE) {
    const alg = algorithmIdentifier(p, 'prf');
    if (alg.params.peekTag() !== undefined) alg.params.null('prf parameters');
    alg.params.end('prf parameters');
    const known = PRFS[alg.oid];
    if (!known) throw keyFormatError(`${FORMAT}: PBKDF2 PRF ${alg.oid} is not supported (supported: HMAC-SHA-1, HMAC-SHA-2)`);
    prf = known;
  }
  p.end('PBKDF2-params');
  return withIv({
    detail: `PBKDF2 ${prf.name} × ${iterations}`,
    derive: (passphrase) => pbkdf2(prf.hash, passphrase, salt, { c: iterations, dkLen: cipher.keyLength }),
  });
}

/**
 * Decrypt an EncryptedPrivateKeyInfo (RFC 8018 §6.2.2 PBES2 decryption, or RFC 7292 Appendix C
 * PKCS#12 PBE: derive the key, CBC-decrypt, check the PKCS#7 padding) and read the key inside.
 * Throws KeyError ERR_KEY_ENCRYPTED without a passphrase, ERR_KEY_PASSPHRASE when the padding or
 * the decrypted structure is wrong.
 */
export function keyFromEncryptedPkcs8(der: Uint8Array, ctx: KeyFileContext): SigningKey {
  const pr = readProtection(der, ctx.extra);
  if (!ctx.passphrase?.length) throw passphraseNeeded(ctx, FORMAT, pr.detail);
  const { key, iv } = pr.derive(ctx.passphrase);
  const plain = pr.cipher.startsWith('AES') ? aesCbcPkcs7Decrypt(key, iv, pr.encrypted) : ctx.extra!.desEde3Cbc(key, iv, pr.encrypted, ctx.crypto);
  key.fill(0);
  if (!plain) throw wrongPassphrase(ctx, FORMAT, `${pr.detail}: bad padding after decryption`);
  try {
    return parseDecrypted(ctx, FORMAT, () => keyFromPkcs8(plain, ctx.crypto));
  } finally {
    plain.fill(0);
  }
}
