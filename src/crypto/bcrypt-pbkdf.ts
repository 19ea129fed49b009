/**
 * bcrypt_pbkdf (OpenBSD bcrypt_pbkdf(3)): the KDF of passphrase-protected OpenSSH private keys
 * (OpenSSH PROTOCOL.key §2, kdfname "bcrypt"). PBKDF2's structure with a Blowfish-based hash
 * ("bcrypt_hash": eksblowfish keyed by SHA-512 of the passphrase and of the salt), and output
 * bytes spread over the key with a stride instead of laid out block after block.
 *
 * No npm package fits the dependency rules (the one ssh2 uses depends on tweetnacl), so it lives
 * here, checked against OpenBSD's regression vectors (vectors/bcrypt-pbkdf.json) and against keys
 * written by `ssh-keygen -a N` (test/keyformats.test.ts). Off the packet path: written for
 * clarity first, with the Blowfish rounds unrolled only where the time goes.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { piBits } from './pi.js';

// Blowfish (Schneier, "Description of a New Variable-Length Key, 64-Bit Block Cipher", 1993):
// 16 rounds, an 18-word P-array and four 256-word S-boxes.
const ROUNDS = 16;
const P_WORDS = ROUNDS + 2;
const S_WORDS = 4 * 256;

// Words are held as signed 32-bit integers (Int32Array): the same bits as uint32, and each a small
// integer to V8, so the code that runs before the JIT has optimized it allocates no heap numbers
// (uint32 words above 2^31 did: the first bcrypt_hash took 50–90 ms instead of 4).
let initialState: Int32Array | undefined;

/**
 * Blowfish's initial P-array then S-boxes: the fractional part of π in hex, 1042 words
 * (Schneier 1993, "Initialize first the P-array and then the four S-boxes, in order, with a fixed
 * string. This string consists of the hexadecimal digits of pi"). Computed once, on first use,
 * from π's binary digits (./pi.ts, shared with the MODP primes), rather than transcribed.
 */
function blowfishInitialState(): Int32Array {
  if (initialState) return initialState;
  const words = P_WORDS + S_WORDS;
  const bits = words * 32;
  let fraction = piBits(bits) - (3n << BigInt(bits));
  const state = new Int32Array(words);
  for (let i = words - 1; i >= 0; i--) {
    state[i] = Number(fraction & 0xffffffffn);
    fraction >>= 32n;
  }
  initialState = state;
  return state;
}

/** Blowfish state: the P-array and the four S-boxes, as separate views of one allocation. */
interface BlowfishState {
  readonly all: Int32Array;
  readonly p: Int32Array;
  readonly s0: Int32Array;
  readonly s1: Int32Array;
  readonly s2: Int32Array;
  readonly s3: Int32Array;
}

function newState(): BlowfishState {
  const all = blowfishInitialState().slice();
  const box = (i: number) => all.subarray(P_WORDS + 256 * i, P_WORDS + 256 * (i + 1));
  return { all, p: all.subarray(0, P_WORDS), s0: box(0), s1: box(1), s2: box(2), s3: box(3) };
}

/**
 * Encipher the 64-bit block data[i], data[i + 1] (xL, xR) in place (Schneier 1993: 16 Feistel
 * rounds, F(x) = ((S0[a] + S1[b]) ^ S2[c]) + S3[d] over x's bytes a..d, additions mod 2^32).
 */
function encipher(st: BlowfishState, data: Int32Array, i: number): void {
  const { p, s0, s1, s2, s3 } = st;
  let l = data[i]!;
  let r = data[i + 1]!;
  for (let j = 0; j < ROUNDS; j += 2) {
    l ^= p[j]!;
    r ^= ((((s0[l >>> 24]! + s1[(l >>> 16) & 0xff]!) | 0) ^ s2[(l >>> 8) & 0xff]!) + s3[l & 0xff]!) ^ p[j + 1]!;
    l ^= ((((s0[r >>> 24]! + s1[(r >>> 16) & 0xff]!) | 0) ^ s2[(r >>> 8) & 0xff]!) + s3[r & 0xff]!) | 0;
  }
  data[i] = r ^ p[ROUNDS + 1]!;
  data[i + 1] = l ^ p[ROUNDS]!;
}

/**
 * `count` big-endian 32-bit words read cyclically from `data` (OpenBSD's Blowfish_stream2word,
 * called `count` times from the start).
 */
function cyclicWords(data: Uint8Array, count: number): Int32Array {
  const words = new Int32Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    let w = 0;
    for (let j = 0; j < 4; j++) {
      if (pos >= data.length) pos = 0;
      w = (w << 8) | data[pos++]!;
    }
    words[i] = w;
  }
  return words;
}

/** The words ExpandKey mixes in without a salt: zeros. */
const NO_SALT = new Int32Array(P_WORDS + S_WORDS);

/**
 * The eksblowfish key schedule step (Provos–Mazières, "A Future-Adaptable Password Scheme", 1999,
 * ExpandKey): XOR the key's words (`keyWords`, P_WORDS of them, read cyclically from the key)
 * into P, then re-encrypt the whole state in CBC-like fashion, mixing in the salt's words
 * (`saltWords`, one per state word, read cyclically from the salt): ExpandKey(state, salt, key);
 * with {@link NO_SALT} it is ExpandKey(state, 0, key).
 */
function expandKey(st: BlowfishState, keyWords: Int32Array, saltWords: Int32Array): void {
  const { all, p, s0, s1, s2, s3 } = st;
  for (let i = 0; i < P_WORDS; i++) p[i] = p[i]! ^ keyWords[i]!;
  let xl = 0;
  let xr = 0;
  // encipher() inlined: 521 encryptions per call, 129 calls per bcrypt_hash (~60% of the time saved).
  for (let i = 0; i < P_WORDS + S_WORDS; i += 2) {
    let l = xl ^ saltWords[i]!;
    let r = xr ^ saltWords[i + 1]!;
    for (let j = 0; j < ROUNDS; j += 2) {
      l ^= p[j]!;
      r ^= ((((s0[l >>> 24]! + s1[(l >>> 16) & 0xff]!) | 0) ^ s2[(l >>> 8) & 0xff]!) + s3[l & 0xff]!) ^ p[j + 1]!;
      l ^= ((((s0[r >>> 24]! + s1[(r >>> 16) & 0xff]!) | 0) ^ s2[(r >>> 8) & 0xff]!) + s3[r & 0xff]!) | 0;
    }
    xl = r ^ p[ROUNDS + 1]!;
    xr = l ^ p[ROUNDS]!;
    all[i] = xl;
    all[i + 1] = xr;
  }
}

// bcrypt_pbkdf(3): the 256-bit "magic" bcrypt_hash encrypts (bcrypt's is "OrpheanBeholderScryDoubt").
const MAGIC = new TextEncoder().encode('OxychromaticBlowfishSwatDynamite');
const HASH_BYTES = MAGIC.length;

/**
 * bcrypt_hash(SHA512(pass), SHA512(salt)) → 32 bytes (bcrypt_pbkdf(3)): eksblowfish with 64
 * rounds of expansion, then the magic string encrypted 64 times in ECB mode; the output words are
 * stored little-endian (OpenBSD's byte order for this hash).
 */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array, out: Uint8Array): void {
  const st = newState();
  const passWords = cyclicWords(sha2pass, P_WORDS);
  const saltKeyWords = cyclicWords(sha2salt, P_WORDS);
  expandKey(st, passWords, cyclicWords(sha2salt, P_WORDS + S_WORDS));
  for (let i = 0; i < 64; i++) {
    expandKey(st, saltKeyWords, NO_SALT);
    expandKey(st, passWords, NO_SALT);
  }
  const cdata = cyclicWords(MAGIC, HASH_BYTES / 4);
  for (let round = 0; round < 64; round++) {
    for (let i = 0; i < cdata.length; i += 2) encipher(st, cdata, i);
  }
  for (let i = 0; i < cdata.length; i++) {
    const w = cdata[i]!;
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = w >>> 24;
  }
  st.all.fill(0);
  cdata.fill(0);
  passWords.fill(0);
  saltKeyWords.fill(0);
}

/**
 * Derive `keyLength` bytes from `passphrase` and `salt` with `rounds` iterations
 * (OpenBSD bcrypt_pbkdf(3), as OpenSSH uses it for key files: PROTOCOL.key §2).
 *
 * Throws a RangeError for inputs bcrypt_pbkdf(3) refuses: an empty passphrase or salt,
 * `rounds` < 1, `keyLength` < 1 or > 1024, a salt over 1 MiB.
 *
 * @example
 * ```ts
 * // aes256-ctr key (32) || IV (16), as ssh-keygen derives them for `-a 16`:
 * const keyIv = bcryptPbkdf(utf8('passphrase'), salt, 16, 48);
 * ```
 */
export function bcryptPbkdf(passphrase: Uint8Array, salt: Uint8Array, rounds: number, keyLength: number): Uint8Array {
  // bcrypt_pbkdf(3) "nothing crazy" limits: the key at most 32·32 bytes, the salt at most 2^20.
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`bcrypt_pbkdf: rounds must be ≥ 1 (got ${rounds})`);
  if (passphrase.length === 0 || salt.length === 0) throw new RangeError('bcrypt_pbkdf: empty passphrase or salt');
  if (!Number.isInteger(keyLength) || keyLength < 1 || keyLength > HASH_BYTES * HASH_BYTES) {
    throw new RangeError(`bcrypt_pbkdf: key length must be 1..${HASH_BYTES * HASH_BYTES} (got ${keyLength})`);
  }
  if (salt.length > 1 << 20) throw new RangeError('bcrypt_pbkdf: salt longer than 1 MiB');

  // bcrypt_pbkdf(3): output byte i of block `count` goes to key[i·stride + count − 1].
  const stride = Math.ceil(keyLength / HASH_BYTES);
  const perBlock = Math.ceil(keyLength / stride);
  const key = new Uint8Array(keyLength);
  const sha2pass = sha512(passphrase);
  const countSalt = new Uint8Array(salt.length + 4);
  countSalt.set(salt);
  const out = new Uint8Array(HASH_BYTES);
  const tmp = new Uint8Array(HASH_BYTES);
  for (let count = 1; (count - 1) < stride; count++) {
    // PBKDF2 (RFC 8018 §5.2): the block index, big-endian, after the salt.
    new DataView(countSalt.buffer).setUint32(salt.length, count);
    let sha2salt = sha512(countSalt);
    bcryptHash(sha2pass, sha2salt, tmp);
    out.set(tmp);
    for (let i = 1; i < rounds; i++) {
      sha2salt.fill(0);
      sha2salt = sha512(tmp);
      bcryptHash(sha2pass, sha2salt, tmp);
      for (let j = 0; j < HASH_BYTES; j++) out[j] = out[j]! ^ tmp[j]!;
    }
    sha2salt.fill(0);
    for (let i = 0; i < perBlock; i++) {
      const dest = i * stride + count - 1;
      if (dest >= keyLength) break;
      key[dest] = out[i]!;
    }
  }
  sha2pass.fill(0);
  countSalt.fill(0);
  out.fill(0);
  tmp.fill(0);
  return key;
}
