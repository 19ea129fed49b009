/**
 * The key-file protections that OpenSSL writes and OpenSSH reads but the other parsers leave to
 * this module: DES-EDE3-CBC (legacy PEM `DEK-Info`, PKCS#8 PBES2, as
 * `openssl genrsa -des3` writes; 3des-cbc in the OpenSSH format, `ssh-keygen -Z 3des-cbc`), the PKCS#12 PBE with SHA-1 and 3DES (RFC 7292 Appendix C,
 * `openssl pkcs8 -v1 PBE-SHA1-3DES`) and scrypt as PBES2's key derivation (RFC 7914 §7,
 * `openssl pkcs8 -scrypt`); and Argon2 (RFC 9106), the key derivation of an encrypted PuTTY PPK v3
 * file (PuTTY 0.75+'s default; its code and blake2 are 4.5 KiB of a gzipped web bundle).
 *
 * Kept apart so that `pure-ssh/web` bundles stay small: `parsePrivateKey` of `pure-ssh` and
 * `pure-ssh/core` (and so the Node adapter and the CLI) always use it; a web build opts in with
 * `extraKeyDecryption` from `pure-ssh/key-decryption`, given to `parsePrivateKey` or `connect()`.
 * Everything here is pure TypeScript (../crypto/des.ts, ./pkcs12-kdf.ts, @noble/hashes' scrypt and
 * argon2);
 * the crypto provider's OpenSSL 3DES is used where it has one.
 *
 * @example
 * ```ts
 * import { connect, parsePrivateKey } from 'pure-ssh/web';
 * import { extraKeyDecryption } from 'pure-ssh/key-decryption';
 * const key = parsePrivateKey(pemText, { passphrase, extraKeyDecryption });
 * ```
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { argon2d, argon2i, argon2id } from '@noble/hashes/argon2.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { tdeaCbcDecrypt } from '../crypto/des.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { DerReader } from './der.js';
import { pkcs7Unpad, type KeyFileCipher } from './key-ciphers.js';
import { PKCS12_IV_ID, PKCS12_KEY_ID, pkcs12Kdf, pkcs12Password } from './pkcs12-kdf.js';
import { keyFormatError } from './signing.js';

/** A key derivation read from a file: how it is described in messages, and the derivation. */
export interface KeyDerivation {
  /** e.g. "scrypt N=16384 r=8 p=1". */
  readonly detail: string;
  derive(passphrase: Uint8Array): Uint8Array;
}

/** A whole password-based encryption scheme (PBES1-style: key and IV both from the KDF). */
export interface PbeScheme {
  /** e.g. "PKCS#12 PBE, SHA-1 × 2048, DES-EDE3-CBC". */
  readonly detail: string;
  /** The cipher's name as ./pkcs8.ts names its PBES2 ciphers ("DES-EDE3-CBC"). */
  readonly cipher: string;
  derive(passphrase: Uint8Array): { key: Uint8Array; iv: Uint8Array };
}

/** Argon2's cost parameters as a PPK v3 header gives them (PuTTY manual appendix C.2). */
export interface Argon2Params {
  /** Memory in KiB (`Argon2-Memory`). */
  readonly m: number;
  /** Passes (`Argon2-Passes`). */
  readonly t: number;
  /** Parallelism (`Argon2-Parallelism`). */
  readonly p: number;
  /** Output length in bytes. */
  readonly dkLen: number;
}

/** The Argon2 variants by the names a PPK v3 `Key-Derivation` line uses (appendix C.2). */
export type Argon2Flavour = 'Argon2id' | 'Argon2i' | 'Argon2d';

/**
 * What the OpenSSH, PEM, PKCS#8 and PuTTY parsers call for the protections above
 * ({@link extraKeyDecryption} is the implementation). Without one they refuse such files with
 * ERR_KEY_FORMAT naming this module.
 */
export interface ExtraKeyDecryption {
  /**
   * DES-EDE3-CBC decryption (24-byte key, 8-byte IV) with the PKCS#7 padding (RFC 8018 §6.1.1
   * step 4) checked and removed; undefined when the padding is bad.
   */
  desEde3Cbc(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, crypto?: CryptoProvider): Uint8Array | undefined;
  /** An openssh-key-v1 cipher that ./key-ciphers.ts leaves out ("3des-cbc"), by name; undefined if unknown. */
  keyFileCipher(name: string): KeyFileCipher | undefined;
  /** A PBES2 key derivation other than PBKDF2, by OID, deriving `keyLength` bytes; undefined if unknown. */
  pbes2Kdf(oid: string, params: DerReader, keyLength: number): KeyDerivation | undefined;
  /** A PKCS#8 encryption algorithm other than PBES2, by OID; undefined if unknown. */
  pbe(oid: string, params: DerReader): PbeScheme | undefined;
  /** Argon2 (RFC 9106, version 0x13) with no secret or associated data, as PPK v3 uses it (appendix C.4). */
  argon2(flavour: Argon2Flavour, passphrase: Uint8Array, salt: Uint8Array, params: Argon2Params): Uint8Array;
}

const ARGON2 = { Argon2id: argon2id, Argon2i: argon2i, Argon2d: argon2d } as const;

// RFC 7914 §7: id-scrypt.
const SCRYPT_OID = '1.3.6.1.4.1.11591.4.11';
// RFC 7292 Appendix C: pbeWithSHAAnd3-KeyTripleDES-CBC.
const PKCS12_SHA1_3DES_OID = '1.2.840.113549.1.12.1.3';

/**
 * OpenSSL 3's ceiling on scrypt's memory when it decrypts a PKCS#8 file (crypto/evp/pbe_scrypt.c
 * SCRYPT_MAX_MEM): 32 MiB, which `openssl pkcs8 -scrypt`'s default N = 16384, r = 8 (16 MiB) fits
 * and N = 32768, r = 8 does not (OpenSSL refuses to write that one, ssh 9.2 to read it).
 */
export const SCRYPT_MAX_MEMORY = 32 * 1024 * 1024;

/**
 * Why OpenSSL 3 refuses these scrypt parameters (providers/implementations/kdfs/scrypt.c: N a
 * power of two ≥ 2, r, p ≥ 1, p·r < 2^30, N < 2^(16r), and V's 128·r·(N + 2) bytes plus B's
 * 128·r·p within {@link SCRYPT_MAX_MEMORY}), or undefined when it accepts them. So a hostile file
 * cannot make us allocate more than that.
 */
export function scryptLimitError(N: number, r: number, p: number): string | undefined {
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x >= 1)) return 'N, r and p must be positive integers';
  if (N < 2 || N > 2 ** 32 || !Number.isInteger(Math.log2(N))) return `N = ${N} is not a power of two from 2 to 2^32`;
  if (p * r >= 2 ** 30) return `p·r = ${p * r} is not below 2^30`;
  if (16 * r <= 63 && N >= 2 ** (16 * r)) return `N = ${N} is not below 2^(16·r)`;
  const memory = 128 * r * (N + 2) + 128 * r * p;
  if (memory > SCRYPT_MAX_MEMORY) return `they need ${Math.ceil(memory / 2 ** 20)} MiB, over OpenSSL's limit of 32 MiB`;
  return undefined;
}

/** RFC 7914 §7 scrypt-params, checked against {@link scryptLimitError} before any allocation. */
function scryptKdf(params: DerReader, keyLength: number): KeyDerivation {
  // scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter INTEGER (1..MAX), blockSize
  // INTEGER (1..MAX), parallelizationParameter INTEGER (1..MAX), keyLength INTEGER (1..MAX) OPTIONAL }.
  const seq = params.sequence('scrypt-params');
  params.end('scrypt parameters');
  const salt = seq.octetString('salt');
  const N = seq.smallInteger('costParameter');
  const r = seq.smallInteger('blockSize');
  const p = seq.smallInteger('parallelizationParameter');
  if (seq.peekTag() !== undefined) {
    const length = seq.smallInteger('keyLength');
    if (length !== keyLength) throw keyFormatError(`PKCS#8: scrypt keyLength ${length} for a ${keyLength}-byte key`);
  }
  seq.end('scrypt-params');
  const detail = `scrypt N=${N} r=${r} p=${p}`;
  const why = scryptLimitError(N, r, p);
  if (why) throw keyFormatError(`PKCS#8: ${detail} refused: ${why}`);
  // noble counts 128·r·(N + p + 1) bytes, below OpenSSL's count that was just checked.
  return { detail, derive: (passphrase) => scrypt(passphrase, salt, { N, r, p, dkLen: keyLength, maxmem: SCRYPT_MAX_MEMORY }) };
}

/** RFC 7292 Appendix C pbeWithSHAAnd3-KeyTripleDES-CBC: key and IV from the B.2 KDF with SHA-1. */
function pkcs12Sha1TripleDes(params: DerReader): PbeScheme {
  // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }.
  const seq = params.sequence('pkcs-12PbeParams');
  params.end('PKCS#12 PBE parameters');
  const salt = seq.octetString('salt');
  const iterations = seq.smallInteger('iterations');
  seq.end('pkcs-12PbeParams');
  if (iterations < 1) throw keyFormatError('PKCS#8: PKCS#12 PBE iteration count 0');
  return {
    detail: `PKCS#12 PBE, SHA-1 × ${iterations}, DES-EDE3-CBC`,
    cipher: 'DES-EDE3-CBC',
    derive(passphrase) {
      const password = pkcs12Password(passphrase);
      const key = pkcs12Kdf(sha1, password, salt, PKCS12_KEY_ID, iterations, 24);
      const iv = pkcs12Kdf(sha1, password, salt, PKCS12_IV_ID, iterations, 8);
      password.fill(0);
      return { key, iv };
    },
  };
}

/**
 * 3des-cbc in an openssh-key-v1 file (OpenSSH cipher.c: 24-byte key, 8-byte IV and blocks; RFC 4253
 * §6.3), which `ssh-keygen -Z 3des-cbc` writes; the private section is block-aligned, no padding.
 */
const tripleDesCbc: KeyFileCipher = {
  name: '3des-cbc',
  keyLength: 24,
  ivLength: 8,
  blockSize: 8,
  tagLength: 0,
  decrypt: (key, iv, ciphertext) => tdeaCbcDecrypt(key, iv, ciphertext),
};

/** The implementation of {@link ExtraKeyDecryption}. */
export const extraKeyDecryption: ExtraKeyDecryption = {
  desEde3Cbc(key, iv, ciphertext, crypto) {
    if (ciphertext.length === 0 || ciphertext.length % 8 !== 0) return undefined;
    const plain = crypto?.desEde3CbcDecrypt?.(key, iv, ciphertext) ?? tdeaCbcDecrypt(key, iv, ciphertext);
    return pkcs7Unpad(plain, 8);
  },
  keyFileCipher: (name) => (name === '3des-cbc' ? tripleDesCbc : undefined),
  pbes2Kdf: (oid, params, keyLength) => (oid === SCRYPT_OID ? scryptKdf(params, keyLength) : undefined),
  pbe: (oid, params) => (oid === PKCS12_SHA1_3DES_OID ? pkcs12Sha1TripleDes(params) : undefined),
  argon2: (flavour, passphrase, salt, params) => ARGON2[flavour](passphrase, salt, params),
};
