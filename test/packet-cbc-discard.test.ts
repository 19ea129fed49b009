/**
 * CBC with an encrypt-and-MAC MAC: the reader's discard mode, as OpenSSH's packet.c
 * (ssh_packet_start_discard / ssh_packet_stop_discard). A packet that fails (bad length, length
 * not a block multiple, MAC mismatch) ends the connection only once PACKET_MAX_SIZE (256 KiB)
 * bytes counted from its first byte have arrived, so the time of the failure does not reveal the
 * decrypted length field (Albrecht, Paterson, Watson 2009, CVE-2008-5161); the MAC is then
 * computed over 256 KiB less what the failed check already MACed; nothing is delivered meanwhile.
 * CTR, and CBC with an encrypt-then-MAC MAC, fail at once (packet.c: no discard mode there).
 */
import { describe, expect, it } from 'vitest';
import { aesCbcAlgorithms } from '../src/cipher/aes-cbc.js';
import { aesCtrAlgorithms } from '../src/cipher/aes-ctr.js';
import type { PacketCipher } from '../src/cipher/cipher.js';
import { pureTsCryptoProvider } from '../src/crypto/pure.js';
import type { ProtocolError } from '../src/errors.js';
import type { Mac } from '../src/mac/mac.js';
import { macAlgorithms } from '../src/mac/registry.js';
import { writeUint32 } from '../src/protocol/wire.js';
import { DiscardedPacketError, MAX_PACKET_LENGTH, PacketDecoder, type InputOwnership } from '../src/transport/packet.js';

const KEY = new Uint8Array(32).map((_, i) => (i * 29 + 7) & 0xff);
const IV = new Uint8Array(16).map((_, i) => (i * 13 + 1) & 0xff);
const MAC_KEY = new Uint8Array(32).map((_, i) => (i * 17 + 3) & 0xff);

/** A MAC that records how many bytes each compute() covered. */
function spy(mac: Mac, macLog: number[]): Mac {
  return {
    name: mac.name,
    etm: mac.etm,
    length: mac.length,
    compute(seq, buf, start, end, out, outOff) {
      macLog.push(end - start);
      mac.compute(seq, buf, start, end, out, outOff);
    },
    dispose: () => mac.dispose(),
  };
}

type Kind = 'cbc' | 'cbc-etm' | 'ctr';

/** Both ends of one direction; the reader's MAC is spied on. */
function pair(kind: Kind): { seal: PacketCipher; open: PacketCipher; macLog: number[] } {
  const macName = kind === 'cbc-etm' ? 'hmac-sha2-256-etm@openssh.com' : 'hmac-sha2-256';
  const alg = kind === 'ctr' ? aesCtrAlgorithms.find((a) => a.name === 'aes128-ctr')! : aesCbcAlgorithms.find((a) => a.name === 'aes128-cbc')!;
  const mac = () => macAlgorithms.get(macName)!.create(MAC_KEY, pureTsCryptoProvider);
  const macLog: number[] = [];
  return {
    seal: alg.create(KEY.subarray(0, 16), IV, mac(), pureTsCryptoProvider, true),
    open: alg.create(KEY.subarray(0, 16), IV, spy(mac(), macLog), pureTsCryptoProvider, false),
    macLog,
  };
}

/**
 * A sealed packet whose length field says `lengthField` while `bytes` (a block multiple, 4 bytes
 * of length included) are encrypted and MACed, padding_length 4: lets a test send any length.
 */
function packet(c: PacketCipher, seq: number, bytes: number, lengthField = bytes - 4, fill = 0x41): Uint8Array {
  const buf = new Uint8Array(bytes + c.macLength).fill(fill);
  writeUint32(buf, 0, lengthField);
  buf[4] = 4;
  buf[5] = 94; // a message number above the transport's
  c.seal(seq, buf, 0, bytes - 4);
  return buf;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Push `bytes` in `step`-byte pieces, draining after each; payloads out, or the error thrown. */
function feed(dec: PacketDecoder, bytes: Uint8Array, step: number): { payloads: Uint8Array[]; error?: unknown } {
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    dec.push(bytes.slice(i, i + step));
    try {
      for (let p = dec.next(); p !== null; p = dec.next()) payloads.push(p.slice());
    } catch (error) {
      return { payloads, error };
    }
  }
  return { payloads };
}

/** Good packets (a stream the reader would accept if it read them). */
function goodPackets(c: PacketCipher, fromSeq: number, bytes: number): Uint8Array {
  const out: Uint8Array[] = [];
  let n = 0;
  for (let seq = fromSeq; n < bytes; seq++) {
    const p = packet(c, seq, 1024, 1020, seq & 0xff);
    out.push(p);
    n += p.length;
  }
  return concat(...out).subarray(0, bytes);
}

describe('CBC + encrypt-and-MAC: discard mode (OpenSSH packet.c ssh_packet_start_discard)', () => {
  const failures: [string, (c: PacketCipher) => { bad: Uint8Array; detected: string; macAlready: (bad: Uint8Array) => number }][] = [
    // packet.c: length < 5 or > PACKET_MAX_SIZE: logit "Bad packet length %u.", nothing MACed yet.
    ['a bad length', (c) => ({ bad: packet(c, 1, 64, 0x10000000), detected: 'Bad packet length 268435456.', macAlready: () => 0 })],
    ['a length of 4', (c) => ({ bad: packet(c, 1, 64, 4), detected: 'Bad packet length 4.', macAlready: () => 0 })],
    // packet.c: 4 + length - block not a block multiple: "padding error: need %d block %d mod %d".
    ['a length not a block multiple', (c) => ({ bad: packet(c, 1, 64, 21), detected: 'padding error: need 9 block 16 mod 9', macAlready: () => 0 })],
    ['a length shorter than a block', (c) => ({ bad: packet(c, 1, 64, 5), detected: 'padding error: need -7 block 16 mod 9', macAlready: () => 0 })],
    // packet.c: "Corrupted MAC on input.", the MAC having covered the whole decrypted packet.
    [
      'a MAC mismatch',
      (c) => {
        const bad = packet(c, 1, 4096);
        bad[2000]! ^= 1;
        return { bad, detected: 'Corrupted MAC on input.', macAlready: () => 4096 };
      },
    ],
  ];

  for (const [what, make] of failures) {
    for (const input of ['copy', 'borrow', 'transient'] as InputOwnership[]) {
      it(`${what} (${input} input): nothing until 256 KiB from the packet's start arrived, then ERR_MAC; nothing delivered`, () => {
        const { seal, open, macLog } = pair('cbc');
        const dec = new PacketDecoder(input);
        dec.setCipher(open);
        const first = packet(seal, 0, 64);
        const { bad, detected, macAlready } = make(seal);
        // What follows would decode: the discard drops it undecrypted.
        const after = goodPackets(seal, 2, MAX_PACKET_LENGTH);
        const stream = concat(first, bad, after);
        const upTo = first.length + MAX_PACKET_LENGTH - 1;
        const before = feed(dec, stream.subarray(0, upTo), 997);
        expect(before.error).toBeUndefined();
        expect(before.payloads.length).toBe(1);
        expect(dec.discarding).toBe(detected);
        const macsBefore = macLog.length;
        // The last byte of the count.
        dec.push(stream.slice(upTo, upTo + 1));
        let thrown: unknown;
        try {
          dec.next();
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(DiscardedPacketError);
        const err = thrown as DiscardedPacketError;
        expect(err.code).toBe('ERR_MAC');
        expect(err.detected).toBe(detected);
        expect(err.afterRead).toBe(true);
        expect(dec.discarding).toBeNull();
        // ssh_packet_stop_discard: one MAC over PACKET_MAX_SIZE less what was MACed already.
        expect(macLog.slice(macsBefore)).toEqual([MAX_PACKET_LENGTH - macAlready(bad)]);
        // It stays failed.
        expect(() => dec.next()).toThrow(DiscardedPacketError);
      });
    }
  }

  it('a bad length with the 256 KiB already received: fails in the same call (not after a read)', () => {
    const { seal, open } = pair('cbc');
    const dec = new PacketDecoder();
    dec.setCipher(open);
    const bad = packet(seal, 0, 64, 0x7fffffff);
    dec.push(concat(bad, goodPackets(seal, 1, MAX_PACKET_LENGTH)));
    const err = (() => {
      try {
        dec.next();
      } catch (e) {
        return e as DiscardedPacketError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DiscardedPacketError);
    expect(err!.detected).toBe('Bad packet length 2147483647.');
    expect(err!.afterRead).toBe(false);
  });

  it('the connection closing during the discard: no error from the reader, the failed check still known', () => {
    const { seal, open } = pair('cbc');
    const dec = new PacketDecoder();
    dec.setCipher(open);
    const r = feed(dec, concat(packet(seal, 0, 64, 0x10000000), goodPackets(seal, 1, 100_000)), 4096);
    expect(r.error).toBeUndefined();
    expect(r.payloads).toEqual([]);
    expect(dec.discarding).toBe('Bad packet length 268435456.');
    expect(dec.buffered).toBe(0);
  });

  for (const kind of ['ctr', 'cbc-etm'] as const) {
    it(`${kind === 'ctr' ? 'aes128-ctr + hmac-sha2-256' : 'aes128-cbc + hmac-sha2-256-etm'}: a bad length or MAC fails at once (no discard mode)`, () => {
      for (const corrupt of ['length', 'mac'] as const) {
        const { seal, open } = pair(kind);
        const dec = new PacketDecoder();
        dec.setCipher(open);
        // EtM encrypts all but the length: that part is the block multiple.
        const size = kind === 'cbc-etm' ? 4100 : 4096;
        const bad = packet(seal, 0, size, corrupt === 'length' ? 0x10000000 : size - 4);
        if (corrupt === 'mac') bad[2000]! ^= 1;
        const r = feed(dec, bad, bad.length);
        expect(r.error).toBeDefined();
        expect(r.error).not.toBeInstanceOf(DiscardedPacketError);
        expect((r.error as ProtocolError).code).toBe(corrupt === 'mac' ? 'ERR_MAC' : 'ERR_PACKET_TOO_LARGE');
      }
    });
  }
});
