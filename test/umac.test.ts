import { createCipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Umac } from '../src/crypto/umac.js';
import { UsageError } from '../src/errors.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const shake = (seed: Uint8Array, n: number) => new Uint8Array(createHash('shake128', { outputLength: n }).update(seed).digest());

/** `unit` repeated to `length` bytes (RFC 4418 Appendix: 'a' * 2^10, 'abc' * 500, ...). */
function repeated(unit: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const u = hex(unit);
  if (u.length > 0) for (let i = 0; i < length; i++) out[i] = u[i % u.length]!;
  return out;
}

function tag(umac: Umac, msg: Uint8Array, nonce: Uint8Array): string {
  const out = new Uint8Array(umac.tagLength);
  umac.mac(msg, 0, msg.length, nonce, out, 0);
  return toHex(out);
}

/** `data` at `off` inside a view that starts `viewOff` bytes into its ArrayBuffer, with junk around it. */
function placed(data: Uint8Array, viewOff: number, off: number): Uint8Array {
  const backing = new Uint8Array(viewOff + off + data.length + 7).fill(0xa5);
  const view = backing.subarray(viewOff);
  view.set(data, off);
  return view;
}

interface OpensshItem {
  nonce: string;
  seed?: string;
  length?: number;
  message?: string;
  tag: string;
}
interface OpensshGroup {
  name: string;
  tagLength: 8 | 16;
  key: string;
  items: OpensshItem[];
}

const itemMessage = (it: OpensshItem) => (it.message !== undefined ? hex(it.message) : shake(hex(it.seed!), it.length!));

describe('UMAC, RFC 4418 Appendix vectors', () => {
  const v = vectors('umac.json');
  const key = hex(v.key);
  const nonce = hex(v.nonce);
  const u64 = new Umac(key, 8);
  const u128 = new Umac(key, 16);
  for (const row of [...v.vectors, ...v.extra]) {
    it(row.name, () => {
      const msg = repeated(row.unit, row.length);
      expect(tag(u64, msg, nonce)).toBe(row.umac64);
      const t128 = tag(u128, msg, nonce);
      // RFC 4418 prints UMAC-96; UMAC-128 runs the same first three UHASH iterations and PDF block.
      if (row.umac96 !== undefined) expect(t128.slice(0, 24)).toBe(row.umac96);
      expect(t128).toBe(row.umac128);
    });
  }
});

describe('UMAC against OpenSSH umac.c / umac128.c', () => {
  const v = vectors('umac-openssh.json');
  const groups = v.groups as OpensshGroup[];

  it('has a few hundred vectors for both tag lengths, up to 256 KiB', () => {
    const items = groups.flatMap((g) => g.items.map((it) => ({ g, n: itemMessage(it).length })));
    expect(items.length).toBeGreaterThanOrEqual(300);
    expect(new Set(groups.map((g) => g.tagLength))).toEqual(new Set([8, 16]));
    expect(Math.max(...items.map((x) => x.n))).toBe(262144);
  });

  it('every tag, one instance per group in order (as a session uses it)', () => {
    let n = 0;
    for (const g of groups) {
      const umac = new Umac(hex(g.key), g.tagLength);
      for (const it of g.items) {
        expect(tag(umac, itemMessage(it), hex(it.nonce)), `${g.name} #${n}`).toBe(it.tag);
        n++;
      }
      umac.dispose();
    }
  });

  it('every tag again from misaligned views, in reverse order, with the tag written mid-buffer', () => {
    for (const g of groups) {
      const umac = new Umac(hex(g.key), g.tagLength);
      for (const it of [...g.items].reverse()) {
        const data = itemMessage(it);
        const viewOff = randomInt(0, 4);
        const off = randomInt(0, 9);
        const buf = placed(data, viewOff, off);
        const before = buf.slice();
        const out = new Uint8Array(g.tagLength + 7).fill(0x5a);
        umac.mac(buf, off, data.length, hex(it.nonce), out, 3);
        expect(toHex(out.subarray(3, 3 + g.tagLength))).toBe(it.tag);
        expect(toHex(out.subarray(0, 3)) + toHex(out.subarray(3 + g.tagLength))).toBe('5a'.repeat(7));
        expect(toHex(buf)).toBe(toHex(before));
      }
    }
  });

  it('the crafted vectors really drive POLY64 through its marker branch (L1 word >= 2^64 - 2^32)', () => {
    const crafted = groups.filter((g) => g.name.startsWith('crafted'));
    expect(crafted.length).toBe(2);
    for (const g of crafted) {
      const l1Key = kdfOpenssl(hex(g.key), 1, 1024);
      for (const it of g.items) {
        const msg = hex(it.message!);
        let markers = 0;
        for (let pos = 0; pos < msg.length; pos += 1024) {
          const chunk = msg.subarray(pos, Math.min(pos + 1024, msg.length));
          if (l1Word(l1Key, chunk) >= (1n << 64n) - (1n << 32n)) markers++;
        }
        expect(markers).toBe(1);
      }
    }
  });
});

/** RFC 4418 §3.2.1 KDF with OpenSSL's AES-128-ECB, independent of the implementation under test. */
function kdfOpenssl(key: Uint8Array, index: number, numbytes: number): Uint8Array {
  const blocks = Buffer.alloc(Math.ceil(numbytes / 16) * 16);
  for (let i = 0; i < blocks.length / 16; i++) {
    blocks[16 * i + 7] = index;
    blocks.writeUInt32BE(i + 1, 16 * i + 12);
  }
  const c = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return new Uint8Array(c.update(blocks)).subarray(0, numbytes);
}

/** RFC 4418 §5.2.1/§5.2.2 in BigInt: NH(K, chunk zero-padded, ENDIAN-SWAPped) + bitlength, mod 2^64. */
function l1Word(key: Uint8Array, chunk: Uint8Array): bigint {
  const padded = new Uint8Array(Math.max(32, Math.ceil(chunk.length / 32) * 32));
  padded.set(chunk);
  const m = Buffer.from(padded);
  const k = Buffer.from(key);
  let y = 0n;
  for (let i = 0; i < padded.length / 4; i += 8) {
    for (let j = 0; j < 4; j++) {
      const a = (m.readUInt32LE(4 * (i + j)) + k.readUInt32BE(4 * (i + j))) % 2 ** 32;
      const b = (m.readUInt32LE(4 * (i + j + 4)) + k.readUInt32BE(4 * (i + j + 4))) % 2 ** 32;
      y += BigInt(a) * BigInt(b);
    }
  }
  return (y + BigInt(chunk.length * 8)) % (1n << 64n);
}

describe('UMAC instance behaviour', () => {
  it('reuses the PDF block for nonces differing in the low bit without changing any tag (UMAC-64)', () => {
    const key = new Uint8Array(randomBytes(16));
    const shared = new Umac(key, 8);
    const nonces = [0, 1, 2, 3, 3, 2, 1, 0, 7, 6, 0xfffffffe, 0xffffffff].map((seq) => {
      const n = new Uint8Array(8);
      new DataView(n.buffer).setUint32(4, seq);
      return n;
    });
    const msg = new Uint8Array(randomBytes(100));
    for (const nonce of nonces) expect(tag(shared, msg, nonce)).toBe(tag(new Umac(key, 8), msg, nonce));
    // The two halves of one AES block give different pads.
    expect(tag(shared, msg, nonces[0]!)).not.toBe(tag(shared, msg, nonces[1]!));
  });

  it('UMAC-64 and UMAC-128 share their first 8 bytes only through the hash, not the pad', () => {
    const key = new Uint8Array(randomBytes(16));
    const nonce = new Uint8Array(randomBytes(8));
    nonce[7] = nonce[7]! & 0xfe; // index 0: UMAC-64's pad is the first half of the same AES block
    const msg = new Uint8Array(randomBytes(3000));
    expect(tag(new Umac(key, 16), msg, nonce).slice(0, 16)).toBe(tag(new Umac(key, 8), msg, nonce));
  });

  it('a changed byte, nonce or key changes the tag', () => {
    const key = new Uint8Array(randomBytes(16));
    const nonce = new Uint8Array(randomBytes(8));
    for (const len of [1, 31, 32, 1024, 1025, 5000]) {
      const msg = new Uint8Array(randomBytes(len));
      for (const t of [8, 16] as const) {
        const base = tag(new Umac(key, t), msg, nonce);
        const flipped = msg.slice();
        flipped[randomInt(0, len)]! ^= 1 << randomInt(0, 8);
        expect(tag(new Umac(key, t), flipped, nonce)).not.toBe(base);
        const n2 = nonce.slice();
        n2[0]! ^= 0x80;
        expect(tag(new Umac(key, t), msg, n2)).not.toBe(base);
        const k2 = key.slice();
        k2[15]! ^= 1;
        expect(tag(new Umac(k2, t), msg, nonce)).not.toBe(base);
      }
    }
  });

  it('does not keep a reference to the caller key', () => {
    const key = new Uint8Array(randomBytes(16));
    const umac = new Umac(key, 16);
    const msg = new Uint8Array(randomBytes(200));
    const nonce = new Uint8Array(8);
    const before = tag(umac, msg, nonce);
    key.fill(0);
    expect(tag(umac, msg, nonce)).toBe(before);
  });

  it('dispose() zeroes every derived key and the cached pad, and the instance refuses further use', () => {
    const umac = new Umac(new Uint8Array(randomBytes(16)), 8);
    tag(umac, new Uint8Array(2000), new Uint8Array(8));
    umac.dispose();
    const fields = umac as unknown as Record<string, unknown>;
    for (const name of ['l1Key', 'k64', 'k128', 'l3Key1', 'l3Key2', 'pdfKey', 'pdfIn', 'pdfOut', 'nh', 'poly', 'scratch']) {
      const arr = fields[name] as ArrayLike<number>;
      expect(arr.length, name).toBeGreaterThan(0);
      expect(Array.from(arr).every((x) => x === 0), name).toBe(true);
    }
    expect(() => umac.mac(new Uint8Array(1), 0, 1, new Uint8Array(8), new Uint8Array(8), 0)).toThrow(/after dispose/);
  });

  it('rejects bad keys, tag lengths, nonces and ranges with a UsageError', () => {
    const usage = (fn: () => unknown, re: RegExp) => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('ERR_USAGE');
      expect((err as Error).message).toMatch(re);
    };
    usage(() => new Umac(new Uint8Array(32), 8), /16-byte key, got 32/);
    usage(() => new Umac(new Uint8Array(16), 12 as 8), /tag length must be 8 .* or 16 .*got 12/);
    const umac = new Umac(new Uint8Array(16), 16);
    const msg = new Uint8Array(10);
    const out = new Uint8Array(16);
    usage(() => umac.mac(msg, 0, 10, new Uint8Array(16), out, 0), /8-byte nonce, got 16/);
    usage(() => umac.mac(msg, 4, 7, new Uint8Array(8), out, 0), /\[4, 11\) is outside a 10-byte buffer/);
    usage(() => umac.mac(msg, -1, 1, new Uint8Array(8), out, 0), /outside/);
    usage(() => umac.mac(msg, 0, 10, new Uint8Array(8), out, 1), /no room for a 16-byte tag at 1 in a 16-byte buffer/);
  });
});
