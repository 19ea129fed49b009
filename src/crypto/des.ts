/**
 * Triple DES, TDEA keying option 1 (three independent keys, NIST SP 800-67 Rev. 2 §3) over DES
 * (FIPS 46-3), decryption in CBC mode (SP 800-38A §6.2), written from the standards' tables.
 *
 * Used only to decrypt private key files that OpenSSL protected with DES-EDE3-CBC (legacy PEM
 * `DEK-Info`, PKCS#8 PBES2 and PKCS#12 PBE); never on the SSH packet path, where 3des-cbc is not
 * offered. Decryption only: this library writes no key files. Single DES (DEK-Info DES-CBC) is
 * left out: ssh 9.2's OpenSSL 3 cannot read it either (it lives in OpenSSL's legacy provider).
 *
 * Side channels: the S-box and permutation lookups below index tables with key-dependent values,
 * so their cache footprint depends on the key. That is acceptable here and only here: the cipher
 * runs once, locally, on a file the user loads, over a few kilobytes, with a key derived from the
 * passphrase by a salted KDF; an attacker able to time this process's cache accesses during that
 * millisecond already shares the machine that holds the key file. OpenSSL's own DES
 * (`des_enc.c`, SPtrans tables) makes the same trade. The runtime's OpenSSL is used instead where
 * the crypto provider offers it (../node/crypto-provider.ts `desEde3CbcDecrypt`).
 */

// FIPS 46-3 p. 10: the initial permutation IP (bit numbers 1..64, bit 1 = most significant).
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];
// FIPS 46-3 p. 10: IP^-1 is the inverse of IP.
const IP_INV = new Array<number>(64);
for (let i = 0; i < 64; i++) IP_INV[IP[i]! - 1] = i + 1;

// FIPS 46-3 p. 13: the permutation P applied to the S-boxes' 32 output bits.
const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];

// FIPS 46-3 pp. 13–14: S1..S8, each 4 rows of 16 hex digits.
const S =
  'e4d12fb83a6c5907' + '0f74e2d1a6cb9538' + '41e8d62bfc973a50' + 'fc8249175b3ea06d' +
  'f18e6b34972dc05a' + '3d47f28ec01a69b5' + '0e7ba4d158c6932f' + 'd8a13f42b67c05e9' +
  'a09e63f51dc7b428' + 'd709346a285ecbf1' + 'd6498f30b12c5ae7' + '1ad069874fe3b52c' +
  '7de3069a1285bc4f' + 'd8b56f03472c1ae9' + 'a690cb7df13e5284' + '3f06a1d8945bc72e' +
  '2c417ab6853fd0e9' + 'eb2c47d150fa3986' + '421bad78f9c5630e' + 'b8c71e2d6f09a453' +
  'c1af92680d34e75b' + 'af427c9561de0b38' + '9ef528c3704a1db6' + '432c95fabe17608d' +
  '4b2ef08d3c975a61' + 'd0b7491ae35c2f86' + '14bdc37eaf680592' + '6bd814a7950fe23c' +
  'd2846fb1a93e50c7' + '1fd8a374c56b0e92' + '7b419ce206adf358' + '21e74a8dfc90356b';

// FIPS 46-3 Appendix 1 (KS): permuted choice 1 (C0 then D0), the left shifts, permuted choice 2.
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/** Bit `n` (1-based, 1 = most significant) of the 64-bit value hi || lo. */
const bit64 = (hi: number, lo: number, n: number): number => (n <= 32 ? hi >>> (32 - n) : lo >>> (64 - n)) & 1;

/** hi || lo permuted by `table` (FIPS 46-3 notation: output bit i is input bit table[i]). */
function permute64(hi: number, lo: number, table: readonly number[]): [number, number] {
  let a = 0;
  let b = 0;
  for (let i = 0; i < 32; i++) {
    a = (a << 1) | bit64(hi, lo, table[i]!);
    b = (b << 1) | bit64(hi, lo, table[i + 32]!);
  }
  return [a >>> 0, b >>> 0];
}

/**
 * SP[i][x]: the 32-bit P(S-box output) contribution of S-box i (0..7) for the 6-bit input x
 * (FIPS 46-3 p. 12: row = first and last bits, column = the middle four), built on first use.
 */
let SP: Uint32Array[] | undefined;
function spTables(): Uint32Array[] {
  if (SP) return SP;
  SP = [];
  for (let i = 0; i < 8; i++) {
    const t = new Uint32Array(64);
    for (let x = 0; x < 64; x++) {
      const row = ((x >> 4) & 2) | (x & 1);
      const col = (x >> 1) & 15;
      const s = parseInt(S[i * 64 + row * 16 + col]!, 16) << (28 - 4 * i);
      let out = 0;
      for (let j = 0; j < 32; j++) out = (out << 1) | ((s >>> (32 - P[j]!)) & 1);
      t[x] = out >>> 0;
    }
    SP.push(t);
  }
  return SP;
}

/**
 * The 16 round keys of an 8-byte DES key (FIPS 46-3 Appendix 1; parity bits ignored), each as
 * its eight 6-bit groups, round 1 first.
 */
function keySchedule(key: Uint8Array, off: number): Uint8Array {
  const hi = ((key[off]! << 24) | (key[off + 1]! << 16) | (key[off + 2]! << 8) | key[off + 3]!) >>> 0;
  const lo = ((key[off + 4]! << 24) | (key[off + 5]! << 16) | (key[off + 6]! << 8) | key[off + 7]!) >>> 0;
  const cd = new Uint8Array(56);
  for (let i = 0; i < 56; i++) cd[i] = bit64(hi, lo, PC1[i]!);
  const ks = new Uint8Array(16 * 8);
  const rotated = new Uint8Array(56);
  for (let round = 0; round < 16; round++) {
    // C and D (28 bits each) rotate left independently.
    for (let s = 0; s < SHIFTS[round]!; s++) {
      for (let half = 0; half < 56; half += 28) {
        for (let i = 0; i < 28; i++) rotated[half + i] = cd[half + ((i + 1) % 28)]!;
      }
      cd.set(rotated);
    }
    for (let g = 0; g < 8; g++) {
      let v = 0;
      for (let j = 0; j < 6; j++) v = (v << 1) | cd[PC2[g * 6 + j]! - 1]!;
      ks[round * 8 + g] = v;
    }
  }
  cd.fill(0);
  rotated.fill(0);
  return ks;
}

/** The cipher function f(R, K) (FIPS 46-3 p. 11): E, XOR with the round key, S-boxes, P. */
function f(r: number, ks: Uint8Array, round: number, sp: Uint32Array[]): number {
  let out = 0;
  for (let g = 0; g < 8; g++) {
    // E: group g is input bits 4g .. 4g+5 (1-based, bit 0 meaning bit 32), i.e. r rotated so that
    // bit 4g leads, top six bits.
    const rot = (4 * g + 31) % 32;
    const e = (((r << rot) | (r >>> (32 - rot))) >>> 26) & 63;
    out ^= sp[g]![e ^ ks[round * 8 + g]!]!;
  }
  return out;
}

/** One DES block (FIPS 46-3 pp. 9–10), decryption: the round keys in reverse order. */
function desDecryptBlock(ks: Uint8Array, hi: number, lo: number, sp: Uint32Array[]): [number, number] {
  let [l, r] = permute64(hi, lo, IP);
  for (let round = 15; round >= 0; round--) {
    const t = (l ^ f(r, ks, round, sp)) >>> 0;
    l = r;
    r = t;
  }
  // The preoutput is R16 L16.
  return permute64(r, l, IP_INV);
}

/** One DES block, encryption (TDEA's middle step, and the known-answer tests). */
function desEncryptBlock(ks: Uint8Array, hi: number, lo: number, sp: Uint32Array[]): [number, number] {
  let [l, r] = permute64(hi, lo, IP);
  for (let round = 0; round < 16; round++) {
    const t = (l ^ f(r, ks, round, sp)) >>> 0;
    l = r;
    r = t;
  }
  return permute64(r, l, IP_INV);
}

function readBlock(buf: Uint8Array, off: number): [number, number] {
  return [
    ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0,
    ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0,
  ];
}

function writeBlock(buf: Uint8Array, off: number, hi: number, lo: number): void {
  buf[off] = hi >>> 24;
  buf[off + 1] = hi >>> 16;
  buf[off + 2] = hi >>> 8;
  buf[off + 3] = hi;
  buf[off + 4] = lo >>> 24;
  buf[off + 5] = lo >>> 16;
  buf[off + 6] = lo >>> 8;
  buf[off + 7] = lo;
}

/** The three round-key sets of a 24-byte TDEA key K1 || K2 || K3. */
function tdeaKeys(key: Uint8Array): Uint8Array[] {
  if (key.length !== 24) throw new RangeError(`TDEA key must be 24 bytes, got ${key.length}`);
  return [keySchedule(key, 0), keySchedule(key, 8), keySchedule(key, 16)];
}

/**
 * TDEA-CBC decryption (SP 800-38A §6.2; SP 800-67 §3.1: plaintext = D_K1(E_K2(D_K3(ciphertext))))
 * of whole 8-byte blocks with a 24-byte key K1 || K2 || K3; no padding is removed. Returns a new
 * buffer.
 *
 * @example
 * const plain = tdeaCbcDecrypt(key24, iv8, ciphertext); // then check and strip the PKCS#7 padding
 */
export function tdeaCbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (iv.length !== 8) throw new RangeError(`TDEA-CBC IV must be 8 bytes, got ${iv.length}`);
  if (ciphertext.length % 8 !== 0) throw new RangeError('TDEA-CBC ciphertext must be a multiple of 8 bytes');
  const sp = spTables();
  const [k1, k2, k3] = tdeaKeys(key) as [Uint8Array, Uint8Array, Uint8Array];
  const out = new Uint8Array(ciphertext.length);
  let [prevHi, prevLo] = readBlock(iv, 0);
  for (let off = 0; off < ciphertext.length; off += 8) {
    const [cHi, cLo] = readBlock(ciphertext, off);
    let [hi, lo] = desDecryptBlock(k3, cHi, cLo, sp);
    [hi, lo] = desEncryptBlock(k2, hi, lo, sp);
    [hi, lo] = desDecryptBlock(k1, hi, lo, sp);
    writeBlock(out, off, (hi ^ prevHi) >>> 0, (lo ^ prevLo) >>> 0);
    prevHi = cHi;
    prevLo = cLo;
  }
  for (const ks of [k1, k2, k3]) ks.fill(0);
  return out;
}

/**
 * TDEA encryption of one 8-byte block, E_K3(D_K2(E_K1(P))) (SP 800-67 §3.1), for the known-answer
 * tests (single DES is K1 = K2 = K3).
 */
export function tdeaEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const sp = spTables();
  const [k1, k2, k3] = tdeaKeys(key) as [Uint8Array, Uint8Array, Uint8Array];
  let [hi, lo] = readBlock(block, 0);
  [hi, lo] = desEncryptBlock(k1, hi, lo, sp);
  [hi, lo] = desDecryptBlock(k2, hi, lo, sp);
  [hi, lo] = desEncryptBlock(k3, hi, lo, sp);
  const out = new Uint8Array(8);
  writeBlock(out, 0, hi, lo);
  return out;
}
