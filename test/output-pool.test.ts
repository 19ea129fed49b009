/**
 * Issue 14 (memory): the packet encoder's output chunks are reused once written, never before.
 * A chunk handed to a socket must keep its bytes until the socket reports the write done; the
 * pool holds at most OUTPUT_POOL_CHUNKS; without the opt-in nothing is ever reused; no byte is
 * lost or reordered whatever order the writes complete in (they complete in order on a socket).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultAlgorithms } from '../src/algorithms.js';
import { ChaCha20Poly1305Cipher } from '../src/cipher/chacha20-poly1305.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { concatBytes } from '../src/protocol/wire.js';
import { FIRST_OUTPUT_CHUNK, OUTPUT_CHUNK, OUTPUT_POOL_CHUNKS, PacketDecoder, PacketEncoder } from '../src/transport/packet.js';
import { Transport } from '../src/transport/transport.js';
import { seededRandom } from './support/fake-server.js';

const KEY = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);

function encoder(recycle: boolean): PacketEncoder {
  const enc = new PacketEncoder(seededRandom(5));
  enc.setCipher(new ChaCha20Poly1305Cipher(KEY, nodeCryptoProvider));
  if (recycle) enc.recycle();
  return enc;
}

/** A payload of `n` bytes whose content depends on `i` (so a reused buffer shows). */
function payload(i: number, n: number): Uint8Array {
  const p = seededRandom(1000 + i)(n);
  p[0] = 94;
  return p;
}

/** Everything the views hold now, as one copy per view. */
const snapshot = (views: Uint8Array[]) => views.map((v) => v.slice());

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Decodes `wire` (copies of what was sent) and returns the payloads. */
function decodeAll(wire: Uint8Array[]): Uint8Array[] {
  const dec = new PacketDecoder();
  dec.setCipher(new ChaCha20Poly1305Cipher(KEY));
  const out: Uint8Array[] = [];
  for (const w of wire) {
    dec.push(w);
    for (let p = dec.next(); p !== null; p = dec.next()) out.push(p.slice());
  }
  return out;
}

describe('PacketEncoder output pool (issue 14)', () => {
  it('a chunk being written is never refilled: views keep their bytes until reported written', () => {
    const enc = encoder(true);
    const held: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    // ~10 chunks' worth of 32 KiB packets, taken after each packet, none reported written.
    for (let i = 0; i < 80; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      const views = enc.take()!;
      held.push(...views);
      copies.push(...snapshot(views));
    }
    expect(enc.spareChunks).toBe(0);
    held.forEach((v, i) => expect(Buffer.from(v).equals(Buffer.from(copies[i]!)), `view ${i}`).toBe(true));
    // All of it decodes to what was sent.
    const got = decodeAll(copies);
    expect(got.length).toBe(80);
    got.forEach((g, i) => expect(sha(g)).toBe(sha(payload(i, 32 * 1024))));
  });

  it('chunks come back once every view of them is written, at most OUTPUT_POOL_CHUNKS, and are refilled', () => {
    const enc = encoder(true);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 80; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      out.push(...enc.take()!);
    }
    const buffers = new Set(out.map((v) => v.buffer));
    expect(buffers.size).toBeGreaterThan(OUTPUT_POOL_CHUNKS);
    const wire = snapshot(out);
    // Report all but the last view: the chunk of an unreported view stays out of the pool.
    for (let i = 0; i < out.length - 1; i++) enc.written();
    expect(enc.spareChunks).toBe(OUTPUT_POOL_CHUNKS);
    const last = out[out.length - 1]!;
    const lastCopy = last.slice();
    // New packets go into pooled chunks (no new allocation) and never into the one still being written.
    const next: Uint8Array[] = [];
    for (let i = 80; i < 100; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      next.push(...enc.take()!);
    }
    expect(next.every((v) => buffers.has(v.buffer))).toBe(true);
    expect(Buffer.from(last).equals(Buffer.from(lastCopy))).toBe(true);
    const got = decodeAll([...wire, ...snapshot(next)]);
    expect(got.length).toBe(100);
    got.forEach((g, i) => expect(sha(g), `payload ${i}`).toBe(sha(payload(i, 32 * 1024))));
  });

  it('the current chunk is not pooled while packets still go into it', () => {
    const enc = encoder(true);
    enc.writePayload(payload(0, 100));
    const [a] = enc.take()!;
    enc.written();
    expect(enc.spareChunks).toBe(0);
    enc.writePayload(payload(1, 100));
    const [b] = enc.take()!;
    // Same chunk (from its start again, since all of it was written: see the tests below).
    expect(b!.buffer).toBe(a!.buffer);
    expect(enc.spareChunks).toBe(0);
  });

  it('without recycle() nothing is reused, whatever written() says', () => {
    const enc = encoder(false);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      out.push(...enc.take()!);
      enc.written();
    }
    const copies = snapshot(out);
    for (let i = 40; i < 80; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      enc.take();
    }
    expect(enc.spareChunks).toBe(0);
    out.forEach((v, i) => expect(Buffer.from(v).equals(Buffer.from(copies[i]!))).toBe(true));
  });

  it('a failed write stops reuse for good (the order of reports is no longer known)', () => {
    const enc = encoder(true);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      out.push(...enc.take()!);
    }
    enc.written(false);
    for (let i = 1; i < out.length; i++) enc.written();
    expect(enc.spareChunks).toBe(0);
    const copies = snapshot(out);
    for (let i = 40; i < 80; i++) {
      enc.writePayload(payload(i, 32 * 1024));
      enc.take();
      enc.written();
    }
    out.forEach((v, i) => expect(Buffer.from(v).equals(Buffer.from(copies[i]!))).toBe(true));
  });

  it('chunks start small and double to full size: an idle connection holds 16 KiB, not 256', () => {
    const enc = encoder(true);
    // The byte length of each chunk in the order the encoder took them up.
    const chunks: number[] = [];
    let last: ArrayBufferLike | undefined;
    const copies: Uint8Array[] = [];
    const sent: Uint8Array[] = [];
    // Each write reported one packet late (a socket with a write in flight), so the current
    // chunk never holds nothing unwritten and fills up (a chunk all written starts over instead).
    let inFlight = 0;
    for (let i = 0; i < 700; i++) {
      const p = payload(i, 1000);
      sent.push(p);
      enc.writePayload(p);
      for (const v of enc.take()!) {
        if (v.buffer !== last) chunks.push(v.buffer.byteLength);
        last = v.buffer;
        copies.push(v.slice());
        if (inFlight++ > 0) (enc.written(), inFlight--);
      }
    }
    while (inFlight-- > 0) enc.written();
    expect(FIRST_OUTPUT_CHUNK).toBe(16 * 1024);
    expect(chunks.slice(0, 5)).toEqual([16, 32, 64, 128, 256].map((k) => k * 1024));
    // Then full chunks only (here the one written chunk, taken back from the pool each time).
    expect(chunks.slice(5).every((n) => n === OUTPUT_CHUNK)).toBe(true);
    expect(decodeAll(copies).map(sha)).toEqual(sent.map(sha));
  });

  it('packets larger than a chunk get their own buffer, never pooled', () => {
    const enc = encoder(true);
    // The largest packet allowed (MAX_PACKET_LENGTH) does not fit a chunk with its length and tag.
    enc.writePayload(payload(0, OUTPUT_CHUNK - 10));
    const views = enc.take()!;
    expect(views[0]!.buffer.byteLength).toBeGreaterThan(OUTPUT_CHUNK);
    const copies = snapshot(views);
    for (const _ of views) enc.written();
    enc.writePayload(payload(1, 100));
    enc.take();
    expect(enc.spareChunks).toBe(0);
    expect(decodeAll(copies).map(sha)).toEqual([sha(payload(0, OUTPUT_CHUNK - 10))]);
  });
});

describe('Transport.outputWritten (issue 14)', () => {
  it('the identification line is reported first and releases no packet chunk', () => {
    const t = new Transport(
      { random: seededRandom(2), algorithms: defaultAlgorithms(), recycleOutput: true },
      {
        hostKey: () => {},
        ready: () => {},
        message: () => true,
        resumed: () => {},
        extInfo: () => {},
        log: () => {},
        closed: () => {},
      },
    );
    t.start();
    const out = t.takeOutput()!;
    // Version line + KEXINIT: two buffers, reported in order; nothing pooled (the chunk is current).
    expect(out.length).toBe(2);
    expect(new TextDecoder().decode(out[0]!)).toMatch(/^SSH-2\.0-/);
    const kexinit = out[1]!.slice();
    t.outputWritten();
    t.outputWritten();
    expect(Buffer.from(out[1]!).equals(Buffer.from(kexinit))).toBe(true);
    t.dispose();
  });
});

describe('the current chunk starts over once all it holds was written (issue 14)', () => {
  it('a request/response exchange\'s packets of one length go out through one view, each packed only after the one before was reported written', () => {
    const enc = encoder(true);
    const wire: Uint8Array[] = [];
    const views = new Set<Uint8Array>();
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) {
      const p = payload(i, 100);
      sent.push(sha(p));
      enc.writePayload(p);
      const out = enc.take()!;
      expect(out.length).toBe(1);
      views.add(out[0]!);
      wire.push(out[0]!.slice());
      enc.written();
    }
    expect(views.size).toBe(1);
    // Not yet reported written: the next packets go after it, and its bytes stay.
    for (let i = 6; i < 9; i++) sent.push(sha(payload(i, 100)));
    enc.writePayload(payload(6, 100));
    const a = enc.take()![0]!;
    const aBytes = a.slice();
    enc.writePayload(payload(7, 100));
    const b = enc.take()![0]!;
    expect(b).not.toBe(a);
    expect(b.byteOffset).toBeGreaterThan(a.byteOffset);
    expect(Buffer.from(a).equals(Buffer.from(aBytes))).toBe(true);
    wire.push(aBytes, b.slice());
    enc.written();
    enc.written();
    // Both written: the start again, and the view of that length there once more.
    enc.writePayload(payload(8, 100));
    const c = enc.take()![0]!;
    expect(views.has(c)).toBe(true);
    wire.push(c.slice());
    enc.written();
    expect(decodeAll(wire).map(sha)).toEqual(sent);
  });

  it('without recycle() the chunk never starts over', () => {
    const enc = encoder(false);
    enc.writePayload(payload(0, 100));
    const a = enc.take()![0]!;
    const aBytes = a.slice();
    enc.written();
    enc.writePayload(payload(1, 100));
    const b = enc.take()![0]!;
    expect(b).not.toBe(a);
    expect(Buffer.from(a).equals(Buffer.from(aBytes))).toBe(true);
  });
});

describe('wire bytes are what was written, whatever the pool does', () => {
  it('1,000 packets of random sizes through a recycling encoder decode to the same payloads', () => {
    const enc = encoder(true);
    const rnd = seededRandom(77);
    const wire: Uint8Array[] = [];
    const sent: string[] = [];
    const inFlight: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = 1 + (rnd(2)[0]! << 8 | rnd(1)[0]!) % 40000;
      const p = payload(i, n);
      sent.push(sha(p));
      enc.writePayload(p);
      if (i % 3 === 0) {
        const views = enc.take() ?? [];
        inFlight.push(...views);
      }
      // A socket finishing its writes a few at a time, in order: copy at completion (the
      // kernel's copy), then report.
      const done = rnd(1)[0]! % 4;
      for (let k = 0; k < done && inFlight.length > 0; k++) {
        wire.push(inFlight.shift()!.slice());
        enc.written();
      }
    }
    inFlight.push(...(enc.take() ?? []));
    for (const v of inFlight) (wire.push(v.slice()), enc.written());
    expect(decodeAll(wire).map(sha)).toEqual(sent);
    expect(enc.spareChunks).toBeLessThanOrEqual(OUTPUT_POOL_CHUNKS);
    expect(concatBytes(...wire).length).toBeGreaterThan(10 * OUTPUT_CHUNK);
  });
});
