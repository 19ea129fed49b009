/**
 * h11's fuzz invariant for the client core: whatever the server sends, garbage or mutated
 * packets, before or after the handshake, fed whole or one byte at a time, the core never throws
 * out of receive(), never hangs, and if it closes, the closed event carries an SshError that is
 * not an internal error (a TypeError/RangeError wrapped by the catch-all would mean a bug).
 */
import { describe, expect, it } from 'vitest';
import type { AlgorithmPreferences } from '../src/algorithms.js';
import { ClientCore } from '../src/client-core.js';
import { kexMethods } from '../src/kex/registry.js';
import type { ClientEvent } from '../src/events.js';
import { InternalError, SshError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { PacketEncoder } from '../src/transport/packet.js';
import { SshWriter, concatBytes } from '../src/protocol/wire.js';
import { seededRandom } from './support/fake-server.js';
import { Pair, fixtureKey } from './support/pair.js';

const KEY = fixtureKey();

function checkInvariant(events: ClientEvent[], label: string): void {
  const closedAt = events.findIndex((e) => e.type === 'closed');
  if (closedAt < 0) return;
  const closed = events[closedAt] as Extract<ClientEvent, { type: 'closed' }>;
  expect(closed.error, label).toBeInstanceOf(SshError);
  // The transport's catch-all turns stray exceptions into an InternalError: that is a bug.
  expect(closed.error, label).not.toBeInstanceOf(InternalError);
  expect(closed.error!.message, label).not.toMatch(/^internal error/);
  // A TypeError/RangeError cause is a bug unless it is the UTF-8 decoder's (wire.ts fromUtf8).
  const cause = closed.error!.cause as { code?: string } | undefined;
  if (cause instanceof TypeError || cause instanceof RangeError) {
    expect(cause.code, `${label}: ${closed.error!.message}`).toBe('ERR_ENCODING_INVALID_ENCODED_DATA');
  }
  expect(events.slice(closedAt + 1), `${label}: events after closed`).toEqual([]);
  expect(events.filter((e) => e.type === 'closed'), label).toHaveLength(1);
}

/**
 * A fresh client (same seed as the recording, and its `algorithms`) fed `stream` whole or in
 * 1-byte pieces.
 */
function replay(stream: Uint8Array, oneByte: boolean, label: string, algorithms?: Partial<AlgorithmPreferences>): ClientCore {
  const client = new ClientCore({ username: 'alice', random: seededRandom(1), privateKeys: [KEY], algorithms });
  client.start();
  const events: ClientEvent[] = [];
  const drain = () => {
    for (let e = client.nextEvent(); e; e = client.nextEvent()) {
      events.push(e);
      if (e.type === 'host-key') client.acceptHostKey();
    }
  };
  const step = oneByte ? 1 : stream.length;
  for (let i = 0; i < stream.length; i += step) {
    expect(() => client.receive(stream.slice(i, i + step)), label).not.toThrow();
    drain();
    client.takeOutput();
  }
  drain();
  checkInvariant(events, label);
  return client;
}

describe('fuzz: before and during the handshake (replayed recording)', () => {
  const rec = new Pair().start();
  expect(rec.client.isAuthenticated).toBe(true);
  const stream = concatBytes(...rec.serverWire);

  it('the unmodified recording replays to authenticated (baseline)', () => {
    expect(replay(stream, false, 'baseline').isAuthenticated).toBe(true);
    expect(replay(stream, true, 'baseline 1-byte').isAuthenticated).toBe(true);
  });

  it('mutated recordings: 1-4 random byte changes, fed whole and byte by byte', () => {
    const r = seededRandom(2024);
    for (let i = 0; i < 160; i++) {
      const m = stream.slice();
      const n = 1 + (r(1)[0]! % 4);
      // Bias toward the unencrypted start (identification, KEXINIT, ECDH_REPLY) where parsing happens.
      const region = i % 2 === 0 ? Math.min(m.length, 700) : m.length;
      for (let k = 0; k < n; k++) {
        const at = ((r(1)[0]! << 8) | r(1)[0]!) % region;
        m[at] = r(1)[0]!;
      }
      replay(m, i % 8 === 0, `mutation ${i}`);
    }
  });

  it('truncations and insertions of the recording', () => {
    const r = seededRandom(7);
    for (let i = 0; i < 40; i++) {
      const at = ((r(1)[0]! << 8) | r(1)[0]!) % stream.length;
      replay(stream.subarray(0, at), false, `truncated at ${at}`);
      const ins = concatBytes(stream.subarray(0, at), r(1 + (r(1)[0]! % 16)), stream.subarray(at));
      replay(ins, false, `insertion at ${at}`);
    }
  });

  it('pure garbage after a valid identification line, and garbage instead of one', () => {
    const r = seededRandom(99);
    for (let i = 0; i < 60; i++) {
      const junk = r(1 + ((r(1)[0]! << 4) % 3000));
      replay(concatBytes(new TextEncoder().encode('SSH-2.0-X\r\n'), junk), i % 5 === 0, `garbage ${i}`);
      replay(junk, false, `no identification ${i}`);
    }
  });

  it('well-framed (none cipher) packets of random types and bodies before KEXINIT completes', () => {
    const r = seededRandom(31337);
    for (let i = 0; i < 150; i++) {
      const enc = new PacketEncoder(seededRandom(i));
      const count = 1 + (r(1)[0]! % 3);
      for (let k = 0; k < count; k++) {
        const body = r(r(1)[0]! % 200);
        const type = k === 0 && i % 3 === 0 ? MSG.KEXINIT : r(1)[0]!;
        enc.writePayload(concatBytes(Uint8Array.of(type), body));
      }
      const out = concatBytes(new TextEncoder().encode('SSH-2.0-X\r\n'), ...(enc.take() ?? []));
      replay(out, i % 10 === 0, `framed ${i}`);
    }
  });
});

const LIGHT_CIPHER = ['aes128-gcm@openssh.com'];

/** [start, end) of the server's kex messages after its KEXINIT, up to (excluding) NEWKEYS. */
function kexRegion(stream: Uint8Array): [number, number] {
  let off = stream.indexOf(0x0a) + 1;
  let start = -1;
  while (off + 5 < stream.length) {
    const len = new DataView(stream.buffer, stream.byteOffset + off).getUint32(0);
    const type = stream[off + 5]!;
    if (type === 21) return [start, off];
    if (type !== 20 && start < 0) start = off;
    off += 4 + len;
  }
  throw new Error('no NEWKEYS in the recording');
}

/**
 * The invariant for every registered key exchange method, the newer ones in particular (group
 * exchange, fixed DH groups, NIST ECDH, sntrup761 and ML-KEM hybrids; break32): the server's kex
 * messages of a recorded handshake (after its KEXINIT, before its NEWKEYS, in the clear) get 1–4
 * random byte changes.
 */
describe('fuzz: mutated server kex messages, every method', () => {
  for (const name of kexMethods.keys()) {
    it(name, () => {
      const rec = new Pair({ client: { algorithms: { kex: [name], cipher: LIGHT_CIPHER } } }).start();
      expect(rec.client.isAuthenticated).toBe(true);
      const stream = concatBytes(...rec.serverWire);
      const [start, end] = kexRegion(stream);
      const r = seededRandom(name.length * 977);
      const rounds = name.includes('group-exchange') || /group1[68]/.test(name) ? 12 : 40;
      for (let i = 0; i < rounds; i++) {
        const m = stream.slice();
        const n = 1 + (r(1)[0]! % 4);
        for (let k = 0; k < n; k++) {
          const at = start + (((r(1)[0]! << 16) | (r(1)[0]! << 8) | r(1)[0]!) % (end - start));
          m[at] = r(1)[0]!;
        }
        replay(m, false, `${name} mutation ${i}`, { kex: [name], cipher: LIGHT_CIPHER });
      }
    }, 120_000);
  }
});

/** Valid-looking payloads to mutate after authentication (channel 0 is open on both sides). */
function seeds(clientId: number): Uint8Array[] {
  const w = () => new SshWriter();
  return [
    w().byte(MSG.CHANNEL_DATA).uint32(clientId).string('hello').toBytes(),
    w().byte(MSG.CHANNEL_EXTENDED_DATA).uint32(clientId).uint32(1).string('err').toBytes(),
    w().byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(clientId).uint32(1000).toBytes(),
    w().byte(MSG.CHANNEL_EOF).uint32(clientId).toBytes(),
    w().byte(MSG.CHANNEL_CLOSE).uint32(clientId).toBytes(),
    w().byte(MSG.CHANNEL_REQUEST).uint32(clientId).string('exit-status').boolean(true).uint32(0).toBytes(),
    w().byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(clientId).uint32(0).uint32(100).uint32(100).toBytes(),
    w().byte(MSG.CHANNEL_OPEN_FAILURE).uint32(clientId).uint32(2).string('no').string('').toBytes(),
    w().byte(MSG.CHANNEL_OPEN).string('x11').uint32(3).uint32(10).uint32(10).toBytes(),
    w().byte(MSG.GLOBAL_REQUEST).string('keepalive@openssh.com').boolean(true).toBytes(),
    w().byte(MSG.REQUEST_SUCCESS).uint32(5).toBytes(),
    w().byte(MSG.USERAUTH_FAILURE).nameList(['password']).boolean(false).toBytes(),
    w().byte(MSG.USERAUTH_BANNER).string('hi').string('').toBytes(),
    w().byte(MSG.USERAUTH_60).string('').string('').string('').uint32(1).string('P').boolean(false).toBytes(),
    w().byte(MSG.EXT_INFO).uint32(1).string('server-sig-algs').string('ssh-ed25519').toBytes(),
    w().byte(MSG.DEBUG).boolean(true).string('dbg').string('').toBytes(),
    w().byte(MSG.DISCONNECT).uint32(2).string('bye').string('').toBytes(),
    w().byte(MSG.UNIMPLEMENTED).uint32(3).toBytes(),
    w().byte(MSG.KEX_ECDH_REPLY).string('a').string('b').string('c').toBytes(),
    w().byte(MSG.NEWKEYS).toBytes(),
    w().byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBytes(),
  ];
}

function mutate(p: Uint8Array, r: (n: number) => Uint8Array): Uint8Array {
  const kind = r(1)[0]! % 4;
  const m = p.slice();
  if (kind === 0 && m.length > 1) {
    const at = 1 + (r(1)[0]! % (m.length - 1));
    m[at] = r(1)[0]!;
    return m;
  }
  if (kind === 1) return m.subarray(0, 1 + (r(1)[0]! % m.length));
  if (kind === 2) return concatBytes(m, r(1 + (r(1)[0]! % 8)));
  // Length fields to extremes.
  const at = 1 + (r(1)[0]! % Math.max(1, m.length - 1));
  for (let k = 0; k < 4 && at + k < m.length; k++) m[at + k] = 0xff;
  return m;
}

describe('fuzz: after the handshake (properly encrypted payloads)', () => {
  it('mutated and random payloads into an authenticated client with an open channel', () => {
    const r = seededRandom(4242);
    let closedCount = 0;
    for (let i = 0; i < 180; i++) {
      const p = new Pair({ seed: 1 + (i % 3) }).start();
      const ch = p.openChannel();
      p.client.channelWrite(ch, Uint8Array.of(1, 2, 3));
      p.pump();
      const sch = p.server.channelForClient(ch)!;
      const all = seeds(sch.clientId);
      const n = 1 + (r(1)[0]! % 3);
      for (let k = 0; k < n; k++) {
        const payload =
          i % 4 === 3 ? concatBytes(Uint8Array.of(r(1)[0]!), r(r(1)[0]! % 64)) : mutate(all[r(1)[0]! % all.length]!, r);
        p.server.sendRaw(payload);
      }
      p.chunk = i % 6 === 0 ? 1 : undefined;
      expect(() => p.pump(), `case ${i}`).not.toThrow();
      checkInvariant(p.events, `case ${i}`);
      if (p.client.isClosed) closedCount++;
      else {
        // Still alive: the channel keeps working or was closed cleanly by the peer.
        expect(p.client.isAuthenticated).toBe(true);
      }
    }
    // The corpus must exercise both outcomes.
    expect(closedCount).toBeGreaterThan(10);
    expect(closedCount).toBeLessThan(180);
  });

  it('corrupted ciphertext after the handshake always ends in ERR_MAC or a length error', () => {
    const r = seededRandom(5);
    for (let i = 0; i < 30; i++) {
      const p = new Pair().start();
      const ch = p.openChannel();
      const sch = p.server.channelForClient(ch)!;
      p.server.write(sch.id, new Uint8Array(200).fill(0x41));
      const out = concatBytes(...p.server.takeOutput());
      out[r(1)[0]! % out.length]! ^= 1 << (r(1)[0]! % 8);
      p.client.receive(out);
      p.drainEvents();
      checkInvariant(p.events, `flip ${i}`);
      const closed = p.eventsOf('closed')[0];
      expect(closed, `flip ${i}`).toBeDefined();
      expect(['ERR_MAC', 'ERR_PACKET_TOO_LARGE', 'ERR_MALFORMED_PACKET']).toContain(closed!.error!.code);
      // Nothing that failed authentication was delivered.
      expect(p.clientData(ch).every((b) => b === 0x41)).toBe(true);
    }
  });
});
