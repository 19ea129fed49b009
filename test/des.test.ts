/**
 * src/crypto/des.ts (TDEA-CBC decryption for key files) against NIST's known answers
 * (vectors/des.json) and against OpenSSL's des-ede3-cbc on random keys, IVs and lengths; and the
 * PKCS#12 KDF's BMPString password (src/keys/pkcs12-kdf.ts).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tdeaCbcDecrypt, tdeaEncryptBlock } from '../src/crypto/des.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { extraKeyDecryption } from '../src/keys/extra-key-decryption.js';
import { pkcs12Password } from '../src/keys/pkcs12-kdf.js';

interface Kat {
  key: string;
  plaintext: string;
  ciphertext: string;
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/des.json', import.meta.url), 'utf8')) as { singleDes: Kat[]; tdeaEcb: Kat[] };
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** ECB decryption of each block: CBC with a zero IV, one block at a time. */
function ecbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 8) out.set(tdeaCbcDecrypt(key, new Uint8Array(8), data.subarray(i, i + 8)), i);
  return out;
}

describe('TDEA (FIPS 46-3 / SP 800-67)', () => {
  it('NIST SP 800-20 single-DES known answers (K1 = K2 = K3), both directions', () => {
    for (const v of vectors.singleDes) {
      const key = hex(v.key + v.key + v.key);
      expect(toHex(tdeaEncryptBlock(key, hex(v.plaintext))), v.key).toBe(v.ciphertext);
      expect(toHex(ecbDecrypt(key, hex(v.ciphertext))), v.key).toBe(v.plaintext);
    }
  });

  it('SP 800-67 Appendix B three-key example', () => {
    for (const v of vectors.tdeaEcb) {
      const key = hex(v.key);
      const pt = hex(v.plaintext);
      const ct = new Uint8Array(pt.length);
      for (let i = 0; i < pt.length; i += 8) ct.set(tdeaEncryptBlock(key, pt.subarray(i, i + 8)), i);
      expect(toHex(ct)).toBe(v.ciphertext);
      expect(toHex(ecbDecrypt(key, ct))).toBe(v.plaintext);
    }
  });

  it('the vectors agree with OpenSSL (a transcription error fails here)', () => {
    for (const v of [...vectors.singleDes.map((k) => ({ ...k, key: k.key.repeat(3) })), ...vectors.tdeaEcb]) {
      const c = createCipheriv('des-ede3', Buffer.from(v.key, 'hex'), null).setAutoPadding(false);
      expect(Buffer.concat([c.update(hex(v.plaintext)), c.final()]).toString('hex')).toBe(v.ciphertext);
    }
  });

  it('CBC decryption equals OpenSSL des-ede3-cbc on random keys, IVs and lengths; the provider path too', () => {
    for (let i = 0; i < 64; i++) {
      const key = randomBytes(24);
      const iv = randomBytes(8);
      const plain = randomBytes(8 * (1 + (i % 40)));
      const c = createCipheriv('des-ede3-cbc', key, iv).setAutoPadding(false);
      const ct = new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
      expect(toHex(tdeaCbcDecrypt(key, iv, ct))).toBe(plain.toString('hex'));
      expect(toHex(nodeCryptoProvider.desEde3CbcDecrypt!(key, iv, ct)!)).toBe(plain.toString('hex'));
    }
  });

  it('extraKeyDecryption.desEde3Cbc strips PKCS#7 padding and says undefined when it is wrong', () => {
    const key = randomBytes(24);
    const iv = randomBytes(8);
    const plain = randomBytes(21);
    const c = createCipheriv('des-ede3-cbc', key, iv);
    const ct = new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
    for (const crypto of [undefined, nodeCryptoProvider]) {
      expect(toHex(extraKeyDecryption.desEde3Cbc(key, iv, ct, crypto)!)).toBe(plain.toString('hex'));
      const other = Buffer.from(key);
      other[0]! ^= 0x02;
      const wrong = extraKeyDecryption.desEde3Cbc(other, iv, ct, crypto);
      // A wrong key gives random padding: valid with probability about 1/256 per run of this line.
      if (wrong) expect(toHex(wrong)).not.toBe(plain.toString('hex'));
      expect(extraKeyDecryption.desEde3Cbc(key, iv, ct.subarray(0, 20), crypto)).toBeUndefined();
    }
  });

  it('refuses a key that is not 24 bytes', () => {
    expect(() => tdeaCbcDecrypt(new Uint8Array(8), new Uint8Array(8), new Uint8Array(8))).toThrow(RangeError);
  });
});

describe('PKCS#12 BMPString password (RFC 7292 Appendix B.1)', () => {
  it('UTF-16BE with a two-byte terminator; a non-BMP character as a surrogate pair; non-UTF-8 bytes one per character', () => {
    expect(toHex(pkcs12Password(new TextEncoder().encode('ab')))).toBe('006100620000');
    expect(toHex(pkcs12Password(new TextEncoder().encode('é😀')))).toBe('00e9d83dde000000');
    expect(toHex(pkcs12Password(new Uint8Array([0xff, 0x41])))).toBe('00ff00410000');
  });
});
