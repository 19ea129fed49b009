/**
 * How pure-ssh/web reads its transport (src/web/coalesce.ts): a readable byte stream through a
 * BYOB reader into one large buffer (all queued bytes in one read, as workerd's sockets need),
 * any other stream through the coalescing reader; both hand over every byte in order.
 */
import { expect, it } from 'vitest';
import { chunkReader, type ChunkReader } from '../src/web/coalesce.js';

const KiB = 1024;
const pieces = (n: number, size: number) => Array.from({ length: n }, (_, i) => new Uint8Array(size).fill(i + 1));

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

async function drain(r: ChunkReader): Promise<{ sizes: number[]; bytes: Uint8Array }> {
  const sizes: number[] = [];
  const kept: Uint8Array[] = [];
  for (let c = await r.read(); c !== null; c = await r.read()) {
    sizes.push(c.length);
    // The chunk is valid until the next read only: copy what we keep, as the core does.
    kept.push(c.slice());
  }
  return { sizes, bytes: concat(kept) };
}

it('a byte stream is read with BYOB: 16 queued 4 KiB pieces arrive in one read, in order', async () => {
  const parts = pieces(16, 4 * KiB);
  const stream = new ReadableStream({
    type: 'bytes',
    start(c) {
      for (const p of parts) c.enqueue(p.slice());
      c.close();
    },
  });
  const { sizes, bytes } = await drain(chunkReader(stream as ReadableStream<Uint8Array>));
  expect(sizes).toEqual([64 * KiB]);
  expect(Buffer.compare(bytes, concat(parts))).toBe(0);
});

it('a byte stream larger than the buffer comes in buffer-sized reads, nothing lost', async () => {
  const parts = pieces(100, 8 * KiB);
  let i = 0;
  const stream = new ReadableStream({
    type: 'bytes',
    pull(c) {
      // A burst at a time, as a socket delivers.
      for (let k = 0; k < 40 && i < parts.length; k++) c.enqueue(parts[i++]!.slice());
      if (i === parts.length) c.close();
    },
  });
  const { sizes, bytes } = await drain(chunkReader(stream as ReadableStream<Uint8Array>));
  expect(Math.max(...sizes)).toBe(256 * KiB);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(800 * KiB);
  expect(Buffer.compare(bytes, concat(parts))).toBe(0);
});

it('a default stream (WebSocket frames, Duplex.toWeb) is coalesced: queued chunks merge, order kept', async () => {
  const parts = pieces(16, 4 * KiB);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
  const { sizes, bytes } = await drain(chunkReader(stream));
  expect(sizes.length).toBeLessThan(16);
  expect(Buffer.compare(bytes, concat(parts))).toBe(0);
});
