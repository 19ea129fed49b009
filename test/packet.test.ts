import { describe, expect, it } from 'vitest';
import { ChaCha20Poly1305Cipher } from '../src/cipher/chacha20-poly1305.js';
import type { PacketCipher } from '../src/cipher/cipher.js';
import { NoneCipher } from '../src/cipher/cipher.js';
import { ProtocolError } from '../src/errors.js';
import { MAX_PACKET_LENGTH, PacketDecoder, PacketEncoder } from '../src/transport/packet.js';
import { concatBytes, readUint32, writeUint32 } from '../src/protocol/wire.js';
import { seededRandom } from './support/fake-server.js';
import { pureTsCryptoProvider } from '../src/crypto/pure.js';
import { SLAB_MAX_CARVE, slabBytes } from '../src/crypto/slab.js';

type CipherKind = 'none' | 'chacha';
const KEY = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);
const makeCipher = (k: CipherKind): PacketCipher => (k === 'none' ? new NoneCipher() : new ChaCha20Poly1305Cipher(KEY));

function pairOf(kind: CipherKind, seed = 3): { enc: PacketEncoder; dec: PacketDecoder } {
  const enc = new PacketEncoder(seededRandom(seed));
  const dec = new PacketDecoder();
  if (kind === 'chacha') {
    enc.setCipher(makeCipher(kind));
    dec.setCipher(makeCipher(kind));
  }
  return { enc, dec };
}

function wire(enc: PacketEncoder): Uint8Array {
  return concatBytes(...(enc.take() ?? []));
}

function drain(dec: PacketDecoder): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = dec.next(); p !== null; p = dec.next()) out.push(p.slice());
  return out;
}

function feed(dec: PacketDecoder, bytes: Uint8Array, sizes: (remaining: number) => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, Math.min(sizes(bytes.length - i), bytes.length - i));
    dec.push(bytes.slice(i, i + n));
    i += n;
    out.push(...drain(dec));
  }
  return out;
}

/** Fast exact comparison (vitest's deep equality is slow on large byte arrays). */
function expectSame(got: Uint8Array[], want: Uint8Array[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Buffer.from(g).equals(Buffer.from(want[i]!)), `payload ${i}`).toBe(true));
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 4095, 4096, 32768, 65536];

describe.each(['none', 'chacha'] as CipherKind[])('PacketEncoder → PacketDecoder (%s)', (kind) => {
  const rnd = seededRandom(99);
  const payloads = SIZES.map((n) => {
    const p = rnd(n);
    p[0] = 94;
    return p;
  });

  it('round-trips many sizes fed whole', () => {
    const { enc, dec } = pairOf(kind);
    for (const p of payloads) enc.writePayload(p);
    dec.push(wire(enc));
    expectSame(drain(dec), payloads);
    expect(dec.buffered).toBe(0);
  });

  it('round-trips fed one byte at a time', () => {
    const { enc, dec } = pairOf(kind);
    const small = payloads.filter((p) => p.length <= 4096);
    for (const p of small) enc.writePayload(p);
    expectSame(feed(dec, wire(enc), () => 1), small);
  });

  it('round-trips in random splits (20 seeds)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { enc, dec } = pairOf(kind, seed);
      for (const p of payloads) enc.writePayload(p);
      const r = seededRandom(seed * 13);
      expectSame(feed(dec, wire(enc), () => 1 + (r(2)[0]! | (r(1)[0]! << 8)) % 9000), payloads);
    }
  });

  it('writeParts frames CHANNEL_DATA identical to the generic path', () => {
    const { enc, dec } = pairOf(kind);
    const data = rnd(500);
    enc.writeParts(Uint8Array.of(94, 1, 2, 3, 4, 0, 0, 1, 44), data, 100, 300);
    dec.push(wire(enc));
    const [p] = drain(dec);
    expect(p![0]).toBe(94);
    expect(readUint32(p!, 1)).toBe(0x01020304);
    expect(readUint32(p!, 5)).toBe(300);
    expect(p!.subarray(9)).toEqual(data.subarray(100, 400));
  });

  it('writeChannelData frames the same bytes as writeParts, for part or all of the data', () => {
    const data = rnd(500);
    for (const [from, length] of [
      [0, 500],
      [100, 300],
      [0, 1],
      [499, 1],
    ] as const) {
      const a = pairOf(kind, 7);
      const b = pairOf(kind, 7);
      for (let i = 0; i < 3; i++) {
        a.enc.writeParts(Uint8Array.of(94, 0, 0, 0, 9, length >>> 24, length >>> 16, length >>> 8, length), data, from, length);
        b.enc.writeChannelData(9, data, from, length);
      }
      const wa = wire(a.enc);
      expect(wire(b.enc)).toEqual(wa);
      b.dec.push(wa);
      const got = drain(b.dec);
      expect(got.length).toBe(3);
      for (const p of got) expect(p.subarray(9)).toEqual(data.subarray(from, from + length));
    }
  });

  it('padding: >= 4 bytes and a multiple of the block size (length excluded for chacha)', () => {
    for (let n = 1; n <= 64; n++) {
      const { enc: enc2 } = pairOf(kind);
      enc2.writePayload(new Uint8Array(n).fill(2));
      const w = wire(enc2);
      if (kind === 'none') {
        const packetLength = readUint32(w, 0);
        const padding = w[4]!;
        expect(padding).toBeGreaterThanOrEqual(4);
        expect(padding).toBeLessThan(4 + 8);
        expect((4 + packetLength) % 8).toBe(0); // RFC 4253 §6: the length field counts
        expect(packetLength).toBe(1 + n + padding);
        expect(w.length).toBe(4 + packetLength);
      } else {
        // PROTOCOL.chacha20poly1305: packet_length % 8 == 0 (length field excluded); 16-byte tag.
        const packetLength = w.length - 4 - 16;
        expect(packetLength % 8).toBe(0);
        const padding = packetLength - 1 - n;
        expect(padding).toBeGreaterThanOrEqual(4);
        expect(padding).toBeLessThan(4 + 8);
      }
    }
  });

  it('sequence numbers wrap at 2^32 (RFC 4253 §6.4)', () => {
    const { enc, dec } = pairOf(kind);
    enc.seq = 0xfffffffe;
    dec.seq = 0xfffffffe;
    const ps = [Uint8Array.of(2, 1), Uint8Array.of(2, 2), Uint8Array.of(2, 3), Uint8Array.of(2, 4)];
    for (const p of ps) enc.writePayload(p);
    expect(enc.seq).toBe(2);
    expect(enc.wrapped).toBe(true);
    dec.push(wire(enc));
    const seqs: number[] = [];
    const got: Uint8Array[] = [];
    for (let p = dec.next(); p; p = dec.next()) {
      got.push(p.slice());
      seqs.push(dec.lastSeq);
    }
    expect(got).toEqual(ps);
    expect(seqs).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
    expect(dec.wrapped).toBe(true);
  });

  it('counters count packets and bytes', () => {
    const { enc, dec } = pairOf(kind);
    enc.writePayload(new Uint8Array(10).fill(2));
    enc.writePayload(new Uint8Array(20).fill(2));
    expect(enc.counters.packets).toBe(2);
    dec.push(wire(enc));
    drain(dec);
    expect(dec.counters).toEqual(enc.counters);
  });
});

describe('length checks before allocation (OpenSSH PACKET_MAX_SIZE)', () => {
  for (const [len, code] of [
    [0, 'ERR_MALFORMED_PACKET'],
    [4, 'ERR_MALFORMED_PACKET'],
    [MAX_PACKET_LENGTH + 4, 'ERR_PACKET_TOO_LARGE'],
    [0xfffffff4, 'ERR_PACKET_TOO_LARGE'],
  ] as const) {
    it(`length ${len} is rejected as soon as its 4 bytes arrive (whole and byte by byte)`, () => {
      const head = new Uint8Array(4);
      writeUint32(head, 0, len);
      const dec = new PacketDecoder();
      dec.push(head.slice());
      const e = caught(() => dec.next());
      expect(e).toBeInstanceOf(ProtocolError);
      expect((e as ProtocolError).code).toBe(code);
      const dec2 = new PacketDecoder();
      let e2: unknown;
      for (let i = 0; i < 4 && !e2; i++) {
        dec2.push(head.slice(i, i + 1));
        e2 = caught(() => dec2.next());
        if (i < 3) expect(e2).toBeUndefined();
      }
      expect((e2 as ProtocolError).code).toBe(code);
    });
  }

  it('the largest allowed length is accepted (waits for more bytes)', () => {
    const dec = new PacketDecoder();
    const head = new Uint8Array(4);
    writeUint32(head, 0, MAX_PACKET_LENGTH - 4); // + 4 is a multiple of 8
    dec.push(head);
    expect(dec.next()).toBeNull();
  });

  it('a length that is not a block multiple is rejected', () => {
    const dec = new PacketDecoder();
    const head = new Uint8Array(4);
    writeUint32(head, 0, 13);
    dec.push(head);
    expect((caught(() => dec.next()) as ProtocolError).code).toBe('ERR_MALFORMED_PACKET');
  });

  it('padding < 4 is rejected', () => {
    const dec = new PacketDecoder();
    const pkt = new Uint8Array(16);
    writeUint32(pkt, 0, 12);
    pkt[4] = 3;
    dec.push(pkt);
    expect((caught(() => dec.next()) as ProtocolError).code).toBe('ERR_MALFORMED_PACKET');
  });

  it('padding that eats the whole payload is rejected', () => {
    const dec = new PacketDecoder();
    const pkt = new Uint8Array(16);
    writeUint32(pkt, 0, 12);
    pkt[4] = 11;
    dec.push(pkt);
    expect((caught(() => dec.next()) as ProtocolError).code).toBe('ERR_MALFORMED_PACKET');
  });
});

describe('chacha20-poly1305 packets built in the WebAssembly engine\'s memory (PacketCipher.stage)', () => {
  it('every writer puts the same bytes on the wire as the TypeScript cipher, with a decoder on the same module between packets', () => {
    // The default provider's engine builds small packets in its own memory; the TypeScript-only
    // provider has no engine, so its packets are built and sealed in the chunk.
    const staged = new PacketEncoder(seededRandom(5));
    const plain = new PacketEncoder(seededRandom(5));
    staged.setCipher(new ChaCha20Poly1305Cipher(KEY));
    plain.setCipher(new ChaCha20Poly1305Cipher(KEY, pureTsCryptoProvider));
    expect(new ChaCha20Poly1305Cipher(KEY).stage?.(100)).toBeInstanceOf(Uint8Array);
    expect(new ChaCha20Poly1305Cipher(KEY, pureTsCryptoProvider).stage?.(100)).toBeUndefined();
    // A receiver on the engine's shared module opens packets between the sends.
    const peer = new PacketEncoder(seededRandom(6));
    peer.setCipher(new ChaCha20Poly1305Cipher(KEY));
    const dec = new PacketDecoder();
    dec.setCipher(new ChaCha20Poly1305Cipher(KEY));
    const data = new Uint8Array(70000).map((_, i) => (i * 13 + 7) & 0xff);
    const got: Uint8Array[] = [];
    for (const n of [0, 1, 7, 8, 100, 240, 1000, 4096, 20000, 65536]) {
      for (const e of [staged, plain]) {
        e.writePayload(data.subarray(1, 1 + Math.max(1, n)));
        e.writeParts(Uint8Array.of(94, 0, 0, 0, 3), data, 5, n);
        e.writeChannelData(3, data, 2, n);
        e.writeChannelData(3, data.subarray(0, n), 0, n);
      }
      peer.writePayload(data.subarray(0, Math.max(1, n)));
      dec.push(wire(peer));
      got.push(...drain(dec));
      expect(Buffer.from(wire(staged)).equals(Buffer.from(wire(plain))), `payloads of ${n}`).toBe(true);
    }
    expect(got.length).toBe(10);
    expect(Buffer.from(got[4]!).equals(Buffer.from(data.subarray(0, 100)))).toBe(true);
  });
});

describe('chacha20-poly1305 small packets opened into a slab (PacketCipher.openInSlab)', () => {
  it('the decoder reads a small packet from the slab itself (no view per packet); payloads stay intact as more packets and a large one follow', () => {
    const enc = new PacketEncoder(seededRandom(8));
    enc.setCipher(new ChaCha20Poly1305Cipher(KEY));
    // The transport's read: one reused buffer, lent for the call ('transient').
    const dec = new PacketDecoder('transient');
    dec.setCipher(new ChaCha20Poly1305Cipher(KEY));
    const sizes = [1, 9 + 64, 100, 3000, SLAB_MAX_CARVE - 40, SLAB_MAX_CARVE + 100, 20000, 64, 73];
    const sent = sizes.map((n, i) => new Uint8Array(n).map((_, j) => (j * 7 + i * 31 + 1) & 0xff));
    for (const p of sent) enc.writePayload(p);
    const bytes = wire(enc);
    const read = new Uint8Array(bytes.length + 10);
    read.set(bytes, 3);
    dec.push(read.subarray(3, 3 + bytes.length));
    const views: Uint8Array[] = [];
    const inSlab: boolean[] = [];
    for (let buf = dec.nextInPlace(); buf !== null; buf = dec.nextInPlace()) {
      inSlab.push(buf === slabBytes());
      views.push(buf.subarray(dec.payloadStart, dec.payloadEnd));
    }
    dec.release();
    read.fill(0xee);
    // Packets up to a carve's limit came out of the slab whole; the larger ones in arrays of their own.
    // RFC 4253 §6 with PROTOCOL.chacha20poly1305: padding of 4..11 to a multiple of 8, length excluded.
    const packetLength = (n: number) => 1 + n + ((8 - ((1 + n) % 8)) % 8 < 4 ? (8 - ((1 + n) % 8)) % 8 + 8 : (8 - ((1 + n) % 8)) % 8);
    expect(inSlab).toEqual(sizes.map((n) => packetLength(n) <= SLAB_MAX_CARVE));
    expect(inSlab.filter((x) => x).length).toBe(7);
    expect(views.map((v) => Buffer.from(v).toString('hex'))).toEqual(sent.map((p) => Buffer.from(p).toString('hex')));
  });

  it('a flipped bit in a small packet is ERR_MAC, and nothing of it is handed out', () => {
    const enc = new PacketEncoder(seededRandom(9));
    enc.setCipher(new ChaCha20Poly1305Cipher(KEY));
    enc.writePayload(Uint8Array.of(94, 0, 0, 0, 1, 0, 0, 0, 2, 7, 8));
    const bad = wire(enc);
    bad[9]! ^= 0x10;
    const dec = new PacketDecoder();
    dec.setCipher(new ChaCha20Poly1305Cipher(KEY));
    dec.push(bad);
    expect((caught(() => dec.nextInPlace()) as ProtocolError).code).toBe('ERR_MAC');
  });

  it('is offered only where the WebAssembly engine opens the packet (none for the TypeScript cipher, none above a carve)', () => {
    const ts = new ChaCha20Poly1305Cipher(KEY, pureTsCryptoProvider);
    expect(ts.openInSlab(0, new Uint8Array(64), 0, 28)).toBe(-1);
    const wasm = new ChaCha20Poly1305Cipher(KEY);
    expect(wasm.openInSlab(0, new Uint8Array(SLAB_MAX_CARVE + 64), 0, SLAB_MAX_CARVE + 8)).toBe(-1);
  });
});

describe('TestFlippedByteNeverAccepted (chacha20-poly1305)', () => {
  it('flipping any single bit of an encrypted stream yields ERR_MAC or a length error, never wrong content', () => {
    const { enc } = pairOf('chacha');
    const payloads = [Uint8Array.of(94, 1, 2, 3, 4, 5), new Uint8Array(40).fill(94), Uint8Array.of(2, 9)];
    for (const p of payloads) enc.writePayload(p);
    const stream = wire(enc);
    for (let i = 0; i < stream.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = stream.slice();
        bad[i]! ^= bit;
        const dec = new PacketDecoder();
        dec.setCipher(new ChaCha20Poly1305Cipher(KEY));
        dec.push(bad);
        const got: Uint8Array[] = [];
        let err: unknown;
        try {
          for (let p = dec.next(); p; p = dec.next()) got.push(p.slice());
        } catch (e) {
          err = e;
        }
        // Whatever was accepted must be an exact prefix of what was sent.
        got.forEach((g, k) => expect(g).toEqual(payloads[k]));
        if (err === undefined) {
          // Only a corrupted length can leave the decoder waiting; it must then never have returned all.
          expect(got.length).toBeLessThan(payloads.length);
        } else {
          expect(err).toBeInstanceOf(ProtocolError);
          expect(['ERR_MAC', 'ERR_PACKET_TOO_LARGE', 'ERR_MALFORMED_PACKET']).toContain((err as ProtocolError).code);
        }
      }
    }
  });

  it('a wrong sequence number is a MAC error (nonce binds the position)', () => {
    const { enc, dec } = pairOf('chacha');
    enc.writePayload(Uint8Array.of(94, 1));
    dec.seq = 1;
    dec.push(wire(enc));
    const e = caught(() => dec.next());
    // The length decrypts under the wrong nonce too: either error is acceptable, content never.
    expect(e).toBeInstanceOf(ProtocolError);
  });

  it('a flipped tag byte is ERR_MAC with reason MAC_ERROR', () => {
    const { enc, dec } = pairOf('chacha');
    enc.writePayload(Uint8Array.of(94, 1, 2));
    const w = wire(enc);
    w[w.length - 1]! ^= 1;
    dec.push(w);
    const e = caught(() => dec.next()) as ProtocolError;
    expect(e.code).toBe('ERR_MAC');
    expect(e.reason).toBe(5);
  });
});
