/**
 * GHASH and the block-function AES-GCM (crypto/ghash.ts) that the runtime provider uses for short
 * packets: the GCM specification's test cases, and every length around the small-packet limit
 * against OpenSSL's GCM (node:crypto) and @noble/ciphers, with a flipped tag or ciphertext bit
 * refused without touching the buffer.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { BlockGcm } from '../src/crypto/ghash.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { expectGcmVectors } from './support/gcm-vectors.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function blockGcm(key: Uint8Array): BlockGcm {
  const ecb = createCipheriv(`aes-${key.length * 8}-ecb` as 'aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  return new BlockGcm((blocks) => ecb.update(blocks));
}

/** OpenSSL's AES-GCM over the same layout: AAD || text || tag. */
function opensslSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, text: Uint8Array): string {
  const c = createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(aad);
  const out = Buffer.concat([c.update(text), c.final()]);
  return toHex(aad) + out.toString('hex') + c.getAuthTag().toString('hex');
}

describe('BlockGcm (GHASH with 8-bit tables over an AES block function)', () => {
  it('the GCM specification test cases 2 and 4: seal, open, a bad tag refused untouched', () => {
    expectGcmVectors(blockGcm);
  });

  it('every length 0..600 with 4-byte AAD (the SSH layout) and odd AAD lengths: OpenSSL and noble agree', () => {
    for (const keyLength of [16, 32]) {
      const key = new Uint8Array(randomBytes(keyLength));
      const g = blockGcm(key);
      for (let n = 0; n <= 600; n++) {
        const aadLength = n % 7 === 0 ? (n % 33) : 4;
        const iv = new Uint8Array(randomBytes(12));
        const plain = new Uint8Array(randomBytes(aadLength + n));
        const at = n % 5;
        const buf = new Uint8Array(at + aadLength + n + 16);
        buf.set(plain, at);
        g.seal(iv, buf, at, at + aadLength, at + aadLength + n);
        const sealed = toHex(buf.subarray(at));
        expect(sealed, `n=${n} aad=${aadLength}`).toBe(opensslSeal(key, iv, plain.subarray(0, aadLength), plain.subarray(aadLength)));
        const noble = gcm(key, iv, plain.subarray(0, aadLength)).encrypt(plain.subarray(aadLength));
        expect(toHex(buf.subarray(at + aadLength)), `noble n=${n}`).toBe(toHex(noble));
        const flipped = buf.slice();
        flipped[at + aadLength + (n > 0 ? n - 1 : 0)]! ^= 0x80;
        const before = toHex(flipped);
        expect(g.open(iv, flipped, at, at + aadLength, at + aadLength + n)).toBe(false);
        expect(toHex(flipped)).toBe(before);
        expect(g.open(iv, buf, at, at + aadLength, at + aadLength + n)).toBe(true);
        expect(toHex(buf.subarray(at))).toBe(toHex(plain) + toHex(buf.subarray(at + aadLength + n)));
      }
    }
  });

  it('packets with IVs counted as RFC 5647 §7.1 (the batched keystream), across a carry and back', () => {
    const key = new Uint8Array(randomBytes(16));
    const g = blockGcm(key);
    const iv = hex('0011223344556677889affff');
    const step = (v: Uint8Array) => {
      for (let i = 11; i >= 4; i--) {
        v[i] = (v[i]! + 1) & 0xff;
        if (v[i] !== 0) break;
      }
    };
    for (let p = 0; p < 40; p++) {
      // Mostly in order, sometimes repeated or skipped: the batch must notice either.
      const n = [16, 80, 256, 48, 0, 300][p % 6]!;
      const plain = new Uint8Array(randomBytes(4 + n));
      const buf = new Uint8Array(4 + n + 16);
      buf.set(plain);
      g.seal(iv, buf, 0, 4, 4 + n);
      expect(toHex(buf), `packet ${p}`).toBe(opensslSeal(key, iv, plain.subarray(0, 4), plain.subarray(4)));
      expect(g.open(iv, buf, 0, 4, 4 + n)).toBe(true);
      expect(toHex(buf.subarray(0, 4 + n))).toBe(toHex(plain));
      if (p % 13 !== 5) step(iv);
      if (p % 17 === 3) step(iv);
    }
  });

  it('the runtime provider seals short and long packets alike and opens them across the limit', () => {
    const key = new Uint8Array(randomBytes(16));
    for (const n of [16, 240, 256, 272, 512, 4096]) {
      const iv = new Uint8Array(randomBytes(12));
      const plain = new Uint8Array(randomBytes(4 + n));
      const buf = new Uint8Array(4 + n + 16);
      buf.set(plain);
      nodeCryptoProvider.aesGcm(key.slice()).seal(iv, buf, 0, 4, 4 + n);
      expect(toHex(buf), `n=${n}`).toBe(opensslSeal(key, iv, plain.subarray(0, 4), plain.subarray(4)));
      expect(nodeCryptoProvider.aesGcm(key.slice()).open(iv, buf, 0, 4, 4 + n)).toBe(true);
      expect(toHex(buf.subarray(0, 4 + n))).toBe(toHex(plain));
    }
  });
});
