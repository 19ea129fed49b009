/**
 * crypto/slab.ts: small copies carved from shared slabs must behave like `slice()`: the same
 * bytes, memory no other carve shares (a payload handed to a stream is never overwritten by a
 * later packet), aligned starts; large copies get arrays of their own.
 */
import { describe, expect, it } from 'vitest';
import { SLAB_BYTES, SLAB_MAX_CARVE, carve, copyToSlab, slabBytes, slabWords } from '../src/crypto/slab.js';

describe('copyToSlab', () => {
  it('copies like slice, never hands out the same bytes twice, and starts views on 8-byte boundaries', () => {
    const src = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
    const carves: { view: Uint8Array; from: number }[] = [];
    // Enough to fill several slabs, with odd sizes.
    for (let i = 0, total = 0; total < 3 * SLAB_BYTES; i++) {
      const from = i % 97;
      const n = 1 + ((i * 613) % 700);
      const view = copyToSlab(src, from, from + n);
      expect(view).toEqual(src.slice(from, from + n));
      expect(view.byteOffset % 8).toBe(0);
      carves.push({ view, from });
      total += n;
    }
    // Overwrite every carve: none may change another.
    for (const c of carves) c.view.fill(0xee);
    for (const c of carves) expect(c.view.every((b) => b === 0xee)).toBe(true);
    const bySlab = new Map<ArrayBufferLike, { a: number; b: number }[]>();
    for (const { view } of carves) {
      const list = bySlab.get(view.buffer) ?? [];
      list.push({ a: view.byteOffset, b: view.byteOffset + view.length });
      bySlab.set(view.buffer, list);
    }
    expect(bySlab.size).toBeGreaterThan(2);
    for (const list of bySlab.values()) {
      list.sort((x, y) => x.a - y.a);
      for (let i = 1; i < list.length; i++) expect(list[i]!.a).toBeGreaterThanOrEqual(list[i - 1]!.b);
    }
    // The source is left alone.
    expect(src[5]).toBe((5 * 31 + 7) & 0xff);
  });

  it('gives a large copy its own array', () => {
    const src = new Uint8Array(SLAB_MAX_CARVE + 1).fill(9);
    const a = copyToSlab(src, 0, src.length);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(src.length);
    expect(a).toEqual(src);
  });

  it('carve() reserves aligned bytes of the current slab that no later carve or copy overlaps', () => {
    const seen: { slab: Uint8Array; a: number; b: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const n = 1 + ((i * 389) % 300);
      const at = i % 2 === 0 ? carve(n) : -1;
      if (at >= 0) {
        const slab = slabBytes();
        expect(at % 8).toBe(0);
        expect(at + n).toBeLessThanOrEqual(slab.length);
        expect(slabWords().buffer).toBe(slab.buffer);
        seen.push({ slab, a: at, b: at + n });
      } else {
        const v = copyToSlab(new Uint8Array(n), 0, n);
        seen.push({ slab: new Uint8Array(v.buffer), a: v.byteOffset, b: v.byteOffset + n });
      }
    }
    for (let i = 1; i < seen.length; i++) {
      const p = seen[i - 1]!;
      const q = seen[i]!;
      if (p.slab.buffer === q.slab.buffer) expect(q.a).toBeGreaterThanOrEqual(p.b);
    }
    expect(() => carve(SLAB_MAX_CARVE + 1)).toThrow(RangeError);
  });
});
