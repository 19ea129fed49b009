/**
 * The GCM specification's test cases (vectors/aes.json, `gcm`) run through any AES-GCM with the
 * provider interface's shape (crypto/provider.ts AesGcm): seal, a flipped tag bit refused with the
 * buffer untouched, then open. Shared by the provider tests and the block-function GCM's tests.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { AesGcm } from '../../src/crypto/provider.js';

interface GcmVector {
  name: string;
  key: string;
  iv: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The `gcm` cases of vectors/aes.json. */
export const gcmVectors: readonly GcmVector[] = JSON.parse(readFileSync(new URL('../../vectors/aes.json', import.meta.url), 'utf8')).gcm;

/** Checks every case with a fresh `make(key)`, laid out as AAD || text || tag. */
export function expectGcmVectors(make: (key: Uint8Array) => Pick<AesGcm, 'seal' | 'open'>): void {
  for (const v of gcmVectors) {
    const aad = hex(v.aad);
    const pt = hex(v.plaintext);
    const buf = new Uint8Array(aad.length + pt.length + 16);
    buf.set(aad);
    buf.set(pt, aad.length);
    const g = make(hex(v.key));
    g.seal(hex(v.iv), buf, 0, aad.length, aad.length + pt.length);
    expect(toHex(buf.subarray(aad.length, aad.length + pt.length)), v.name).toBe(v.ciphertext);
    expect(toHex(buf.subarray(aad.length + pt.length)), v.name).toBe(v.tag);
    const bad = buf.slice();
    bad[bad.length - 1]! ^= 1;
    expect(g.open(hex(v.iv), bad, 0, aad.length, aad.length + pt.length)).toBe(false);
    expect(toHex(bad.subarray(aad.length, aad.length + pt.length))).toBe(v.ciphertext);
    expect(g.open(hex(v.iv), buf, 0, aad.length, aad.length + pt.length)).toBe(true);
    expect(toHex(buf.subarray(aad.length, aad.length + pt.length)), v.name).toBe(v.plaintext);
  }
}
