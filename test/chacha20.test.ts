import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chacha20orig } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { ChaCha20, LITTLE_ENDIAN, ViewCache, WordViews } from '../src/crypto/chacha20.js';
import { UsageError } from '../src/errors.js';
import { openssl } from './harness/chacha20-reference.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const rand = (n: number) => new Uint8Array(randomBytes(n));


/** `data` placed at `off` inside a larger buffer that is itself a view at `viewOff` of an ArrayBuffer. */
function placed(data: Uint8Array, viewOff: number, off: number): Uint8Array {
  const backing = new Uint8Array(viewOff + off + data.length + 7);
  backing.fill(0xa5);
  const view = backing.subarray(viewOff);
  view.set(data, off);
  return view;
}

describe('ChaCha20 (original 64-bit counter / 64-bit nonce variant)', () => {
  it('this host is little-endian, so the word path is what the other tests exercise', () => {
    expect(LITTLE_ENDIAN).toBe(true);
  });

  for (const v of vectors('chacha20.json').vectors) {
    it(`${v.name}, in place at aligned and misaligned offsets`, () => {
      const pt = hex(v.plaintext);
      for (const [viewOff, off] of [[0, 0], [0, 1], [3, 0], [2, 2], [0, 4]] as const) {
        const buf = placed(pt, viewOff, off);
        new ChaCha20(hex(v.key)).xor(hex(v.nonce8), v.counter, buf, off, off + pt.length);
        expect(toHex(buf.subarray(off, off + pt.length))).toBe(v.ciphertext);
      }
    });
  }

  it('matches noble chacha20orig and OpenSSL on random keys, nonces, counters, lengths and offsets', () => {
    for (let i = 0; i < 120; i++) {
      const key = rand(32);
      const nonce = rand(8);
      const len = i < 40 ? i * 7 : randomInt(0, 70001);
      const counter = randomInt(0, 1 << 30);
      const pt = rand(len);
      const viewOff = randomInt(0, 4);
      const off = randomInt(0, 9);
      const buf = placed(pt, viewOff, off);
      const before = buf.slice();
      new ChaCha20(key).xor(nonce, counter, buf, off, off + len);
      const ct = toHex(buf.subarray(off, off + len));
      expect(ct).toBe(toHex(chacha20orig(key, nonce, pt, undefined, counter)));
      expect(ct).toBe(toHex(openssl(key, nonce, BigInt(counter), pt)));
      // Nothing outside [off, off + len) changes.
      expect(toHex(buf.subarray(0, off))).toBe(toHex(before.subarray(0, off)));
      expect(toHex(buf.subarray(off + len))).toBe(toHex(before.subarray(off + len)));
    }
  });

  // noble's chacha20orig refuses to cross 2^32 blocks ("counter overflow"), so OpenSSL is the reference here.
  it('carries the 64-bit block counter from 0xffffffff into the high word (checked against OpenSSL)', () => {
    for (const start of [0xfffffff0, 0xffffffff, 0x1_00000000, 0x1_fffffffe]) {
      for (const off of [0, 1, 4, 6]) {
        const key = rand(32);
        const nonce = rand(8);
        const len = 64 * 20 + randomInt(0, 64);
        const pt = rand(len);
        const buf = placed(pt, 0, off);
        new ChaCha20(key).xor(nonce, start, buf, off, off + len);
        expect(toHex(buf.subarray(off, off + len))).toBe(toHex(openssl(key, nonce, BigInt(start), pt)));
      }
    }
  });

  it('crossing 2^32 is the same as continuing from 2^32 (the carry sits at a block boundary)', () => {
    const key = rand(32);
    const nonce = rand(8);
    const c = new ChaCha20(key);
    const whole = new Uint8Array(256);
    c.xor(nonce, 0xfffffffe, whole, 0, 256);
    const tail = new Uint8Array(128);
    c.xor(nonce, 0x1_00000000, tail, 0, 128);
    expect(toHex(whole.subarray(128))).toBe(toHex(tail));
    // Without the carry, block 2^32 would repeat block 0's keystream.
    const block0 = new Uint8Array(64);
    c.xor(nonce, 0, block0, 0, 64);
    expect(toHex(tail.subarray(0, 64))).not.toBe(toHex(block0));
  });

  it('splitting a stream at block boundaries gives the same keystream as one call', () => {
    const key = rand(32);
    const nonce = rand(8);
    const c = new ChaCha20(key);
    const one = rand(64 * 300 + 17);
    const split = one.slice();
    c.xor(nonce, 5, one, 0, one.length);
    let pos = 0;
    let block = 5;
    for (const blocks of [1, 0, 3, 256, 40]) {
      const end = Math.min(pos + blocks * 64, split.length);
      c.xor(nonce, block, split, pos, end);
      pos = end;
      block += blocks;
    }
    c.xor(nonce, block, split, pos, split.length);
    expect(toHex(split)).toBe(toHex(one));
  });

  it('is its own inverse and works through Node Buffer pool slices (arbitrary byteOffset)', () => {
    const key = rand(32);
    const nonce = rand(8);
    const c = new ChaCha20(key);
    for (const len of [0, 1, 63, 64, 65, 4095, 16383, 16384, 16385, 40000]) {
      const pooled = Buffer.from(rand(len + 3)); // small Buffers share one ArrayBuffer
      const view = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length);
      const orig = view.slice();
      c.xor(nonce, 1, view, 3, 3 + len);
      if (len >= 8) expect(toHex(view)).not.toBe(toHex(orig));
      c.xor(nonce, 1, view, 3, 3 + len);
      expect(toHex(view)).toBe(toHex(orig));
    }
  });

  it('keystream() writes the bytes xor() would XOR in, for any count up to 64 and across the 2^32 carry', () => {
    const key = rand(32);
    const nonce = rand(8);
    const c = new ChaCha20(key);
    for (const counter of [0, 1, 7, 0xffffffff, 0x1_00000000]) {
      for (const n of [0, 1, 4, 31, 32, 33, 63, 64]) {
        const expected = new Uint8Array(64);
        c.xor(nonce, counter, expected, 0, 64);
        const out = rand(n + 10);
        const before = out.slice();
        c.keystream(nonce, counter, out, 5, n);
        expect(toHex(out.subarray(5, 5 + n))).toBe(toHex(expected.subarray(0, n)));
        expect(toHex(out.subarray(0, 5))).toBe(toHex(before.subarray(0, 5)));
        expect(toHex(out.subarray(5 + n))).toBe(toHex(before.subarray(5 + n)));
      }
    }
    expect(() => c.keystream(new Uint8Array(12), 0, new Uint8Array(64), 0, 32)).toThrow(/8-byte nonce/);
    expect(() => c.keystream(nonce, 0, new Uint8Array(64), 0, 65)).toThrow(UsageError);
    expect(() => c.keystream(nonce, 0, new Uint8Array(40), 10, 32)).toThrow(UsageError);
    expect(() => c.keystream(nonce, -1, new Uint8Array(64), 0, 32)).toThrow(UsageError);
  });

  it('a short tail after whole blocks, aligned or not, matches OpenSSL (the tail is XORed word by word when aligned)', () => {
    const key = rand(32);
    const nonce = rand(8);
    const c = new ChaCha20(key);
    for (let len = 0; len <= 200; len++) {
      for (const off of [0, 1, 2, 3, 4]) {
        const pt = rand(len);
        const buf = placed(pt, 0, off);
        const before = buf.slice();
        c.xor(nonce, 3, buf, off, off + len);
        expect(toHex(buf.subarray(off, off + len))).toBe(toHex(openssl(key, nonce, 3n, pt)));
        expect(toHex(buf.subarray(off + len))).toBe(toHex(before.subarray(off + len)));
      }
    }
  });

  it('keystreamWords() and keystreamWord0() give the keystream bytes as little-endian words', () => {
    const c = new ChaCha20(rand(32));
    const nonce = rand(8);
    for (const counter of [0, 5, 0xffffffff]) {
      const bytes = new Uint8Array(64);
      c.keystream(nonce, counter, bytes, 0, 64);
      const le = (i: number) => (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) | 0;
      const w = new Int32Array(17).fill(-1);
      c.keystreamWords(nonce, counter, w, 16);
      for (let i = 0; i < 16; i++) expect(w[i]).toBe(le(4 * i));
      expect(w[16]).toBe(-1);
      const part = new Int32Array(3).fill(-1);
      c.keystreamWords(nonce, counter, part, 2);
      expect([...part]).toEqual([le(0), le(4), -1]);
      expect(c.keystreamWord0(nonce, counter)).toBe(le(0));
    }
    expect(() => c.keystreamWords(nonce, 0, new Int32Array(4), 5)).toThrow(UsageError);
    expect(() => c.keystreamWords(nonce, 0, new Int32Array(32), 17)).toThrow(UsageError);
    expect(() => c.keystreamWord0(new Uint8Array(7), 0)).toThrow(/8-byte nonce/);
  });

  it('xorToSlab() returns what xor() computes, in fresh memory, leaving the source alone', () => {
    const key = rand(32);
    const nonce = rand(8);
    const c = new ChaCha20(key);
    const outs: Uint8Array[] = [];
    for (let len = 0; len <= 300; len += 7) {
      for (const off of [0, 1, 2, 3, 4, 8]) {
        const pt = rand(len);
        const src = placed(pt, 3, off);
        const before = src.slice();
        const out = c.xorToSlab(nonce, 9, src, off, off + len);
        expect(toHex(out)).toBe(toHex(openssl(key, nonce, 9n, pt)));
        expect(toHex(src)).toBe(toHex(before));
        outs.push(out);
      }
    }
    // Beyond a slab's largest carve: its own array, still right.
    const big = rand(5000);
    expect(toHex(c.xorToSlab(nonce, 2, big, 4, 4996))).toBe(toHex(openssl(key, nonce, 2n, big.subarray(4, 4996))));
    // No two results share memory: overwriting each leaves every other as it was.
    outs.forEach((o, i) => o.fill(i % 251));
    outs.forEach((o, i) => expect(o.every((b) => b === i % 251)).toBe(true));
    expect(() => c.xorToSlab(nonce, 0, new Uint8Array(8), 4, 9)).toThrow(UsageError);
  });

  it('uses only the 32 key bytes at keyOff', () => {
    const material = rand(70);
    const nonce = rand(8);
    const a = new Uint8Array(100);
    const b = new Uint8Array(100);
    new ChaCha20(material, 33).xor(nonce, 0, a, 0, 100);
    new ChaCha20(material.slice(33, 65)).xor(nonce, 0, b, 0, 100);
    expect(toHex(a)).toBe(toHex(b));
  });

  it('rejects a short key, a wrong nonce length, a bad range and a counter past 2^53', () => {
    expect(() => new ChaCha20(new Uint8Array(31))).toThrow(UsageError);
    expect(() => new ChaCha20(new Uint8Array(40), 9)).toThrow(UsageError);
    const c = new ChaCha20(rand(32));
    const buf = new Uint8Array(10);
    expect(() => c.xor(new Uint8Array(12), 0, buf, 0, 10)).toThrow(/8-byte nonce/);
    expect(() => c.xor(new Uint8Array(8), 0, buf, 5, 11)).toThrow(UsageError);
    expect(() => c.xor(new Uint8Array(8), 0, buf, 6, 5)).toThrow(UsageError);
    expect(() => c.xor(new Uint8Array(8), -1, buf, 0, 10)).toThrow(UsageError);
    expect(() => c.xor(new Uint8Array(8), 1.5, buf, 0, 10)).toThrow(UsageError);
    expect(() => c.xor(new Uint8Array(8), Number.MAX_SAFE_INTEGER, buf, 0, 10)).toThrow(UsageError);
  });

  it('dispose wipes the key: the keystream afterwards is that of the all-zero key', () => {
    const nonce = rand(8);
    const c = new ChaCha20(rand(32));
    c.dispose();
    const a = new Uint8Array(64);
    c.xor(nonce, 0, a, 0, 64);
    const b = new Uint8Array(64);
    new ChaCha20(new Uint8Array(32)).xor(nonce, 0, b, 0, 64);
    expect(toHex(a)).toBe(toHex(b));
  });
});

describe('ViewCache (one remembered view)', () => {
  it('answers for each array in turn, not for the one before', () => {
    const c = new ViewCache();
    const byteOffsetOf = (b: Uint8Array) => c.offsetOf(b);
    const wordsOf = (b: Uint8Array, end: number) => c.wordsOf(b, end);
    const ab = new ArrayBuffer(64);
    const a = new Uint8Array(ab, 8, 16);
    const b = new Uint8Array(ab, 20, 16);
    const other = new Uint8Array(32);
    expect(byteOffsetOf(a)).toBe(8);
    expect(byteOffsetOf(b)).toBe(20);
    expect(byteOffsetOf(a)).toBe(8);
    expect(wordsOf(a, 16).buffer).toBe(ab);
    expect(wordsOf(other, 32).buffer).toBe(other.buffer);
    expect(byteOffsetOf(other)).toBe(0);
  });

  it('a view of a resizable ArrayBuffer that shrank and grew again gets words that cover it', () => {
    type Resizable = ArrayBuffer & { resize(n: number): void };
    const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(64, {
      maxByteLength: 256,
    });
    const c = new ViewCache();
    const view = new Uint8Array(ab); // length-tracking
    expect(c.wordsOf(view, 64).length).toBe(16);
    ab.resize(8);
    ab.resize(200);
    const w = c.wordsOf(view, 200);
    expect(w.length).toBe(50);
    w[49] = 0x01020304;
    expect(view[196]).toBe(LITTLE_ENDIAN ? 4 : 1);
  });
});

describe('WordViews', () => {
  it('reuses the view for the same buffer and makes a new one for another', () => {
    const v = new WordViews();
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    const va = v.of(a.buffer);
    expect(v.of(a.subarray(8).buffer)).toBe(va);
    expect(v.of(b.buffer)).not.toBe(va);
    expect(va.length).toBe(16);
  });

  it('follows a resizable ArrayBuffer that grew', () => {
    // ES2024 API (Node 20 has it); typed by hand because tsconfig's lib is ES2022.
    type Resizable = ArrayBuffer & { resize(n: number): void };
    const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(16, {
      maxByteLength: 64,
    });
    const v = new WordViews();
    expect(v.of(ab).length).toBe(4);
    ab.resize(40);
    expect(v.of(ab).length).toBe(10);
  });
});
