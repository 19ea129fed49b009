/**
 * Compression (RFC 4253 §6.2; OpenSSH PROTOCOL §1.2 zlib@openssh.com) through the in-memory
 * pair: where each direction starts, data across rekeys, and what a hostile stream gets: a
 * decompression bomb and corrupt zlib data are protocol errors (reason 6, compression error).
 * The zlib streams are also cross-checked against node:zlib, the zlib OpenSSH links, flushed per
 * packet the way packet.c does it.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COMPRESSION_YES } from '../src/compress/registry.js';
import { zlibCompression } from '../src/compress/zlib.js';
import { DisconnectReason, ProtocolError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { SshWriter } from '../src/protocol/wire.js';
import { MAX_PACKET_LENGTH } from '../src/transport/packet.js';
import { expectProtocolError } from './support/expect-protocol-error.js';
import { noise } from './support/noise.js';
import type { FakeServer } from './support/fake-server.js';
import { Pair, type PairOptions } from './support/pair.js';

const text = (n: number) => new TextEncoder().encode('All work and no play makes Jack a dull boy. '.repeat(Math.ceil(n / 44))).subarray(0, n);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const debugMessage = (m: string) => new SshWriter(64).byte(MSG.DEBUG).boolean(false).string(m).string('').toBytes();
const ignore = (n: number) => new SshWriter(n + 16).byte(MSG.IGNORE).string(new Uint8Array(n)).toBytes();

/** A pair whose client offers `compression`, authenticated; the server says hello right after USERAUTH_SUCCESS. */
function authed(compression: string[], options: PairOptions = {}): Pair {
  const p = new Pair({
    ...options,
    client: { algorithms: { compression }, compression: zlibCompression, ...options.client },
    server: {
      // The success and a DEBUG go out in one flight: the client must switch between the two packets.
      authHook: (_req, server) => {
        server.answerAuth({ kind: 'success' });
        server.send(debugMessage('hello after success'));
        return { kind: 'handled' };
      },
      ...options.server,
    },
  }).start();
  expect(p.client.isAuthenticated).toBe(true);
  return p;
}

const wireBytes = (parts: Uint8Array[]) => parts.reduce((a, b) => a + b.length, 0);
const logs = (p: Pair) => p.eventsOf('log').map((e) => e.message);

describe('zlib@openssh.com: delayed compression', () => {
  it('negotiates from the -C list and starts exactly at USERAUTH_SUCCESS, both ways', () => {
    const p = authed([...COMPRESSION_YES]);
    expect(p.client.info.negotiated?.compressionClientToServer).toBe('zlib@openssh.com');
    expect(p.client.info.negotiated?.compressionServerToClient).toBe('zlib@openssh.com');
    // Client → server: everything up to and including the last USERAUTH_REQUEST went uncompressed.
    const requests = p.server.receivedOfType(MSG.USERAUTH_REQUEST);
    expect(requests.length).toBeGreaterThan(0);
    expect(p.server.received.filter((r) => r.seq <= requests.at(-1)!.seq && r.epoch > 0).every((r) => !r.compressed)).toBe(true);
    // Server → client: the DEBUG right behind USERAUTH_SUCCESS in the same flight was compressed and read.
    const l = logs(p);
    expect(l).toContain('server debug: hello after success');
    expect(l.indexOf('Enabling compression at level 6.')).toBeGreaterThan(l.findIndex((m) => m.startsWith('Authenticated using')));
    expect(p.server.compressionStarts).toEqual({ out: 1, in: 1 });
    // The first client packet after success arrives compressed.
    const ch = p.openChannel();
    expect(p.server.receivedOfType(MSG.CHANNEL_OPEN)[0]!.compressed).toBe(true);
    expect(p.server.channelForClient(ch)).toBeDefined();
  });

  it('carries text and random data both ways across rekeys, each rekey restarting the streams', () => {
    const p = authed([...COMPRESSION_YES]);
    const ch = p.openChannel({ window: 64 * 1024 * 1024, maxPacket: 32 * 1024 });
    const sch = p.server.channelForClient(ch)!;
    const down = [text(2 * 1024 * 1024), noise(300 * 1024, 5), text(512 * 1024)];
    const up = [text(1024 * 1024), noise(200 * 1024, 9), text(256 * 1024)];
    const wireBefore = wireBytes(p.clientWire);
    for (let i = 0; i < down.length; i++) {
      p.server.write(sch.id, down[i]!);
      p.client.channelWrite(ch, up[i]!);
      p.pump();
      p.server.rekey();
      p.pump();
    }
    const concat = (parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
      let o = 0;
      for (const x of parts) {
        out.set(x, o);
        o += x.length;
      }
      return out;
    };
    expect(same(p.clientData(ch), concat(down))).toBe(true);
    expect(same(concat(sch.received), concat(up))).toBe(true);
    expect(p.client.info.kexCount).toBe(4);
    // OpenSSH packet.c ssh_set_newkeys: a fresh stream per direction at each NEWKEYS after auth.
    expect(p.server.compressionStarts).toEqual({ out: 4, in: 4 });
    // The text went over the wire compressed: far less than the 1.25 MiB of text written.
    const sent = wireBytes(p.clientWire) - wireBefore;
    expect(sent).toBeLessThan(200 * 1024 + 120 * 1024);
    expect(p.closedError).toBeUndefined();
  });

  it('byte-at-a-time delivery decompresses the same', () => {
    const p = authed([...COMPRESSION_YES], { chunk: 1 });
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, text(20_000));
    p.pump();
    expect(same(p.clientData(ch), text(20_000))).toBe(true);
  });

  it('a server without compression: none, nothing compressed', () => {
    const p = authed([...COMPRESSION_YES], { server: { lists: { compressionClientToServer: ['none'], compressionServerToClient: ['none'] } } });
    expect(p.client.info.negotiated?.compressionClientToServer).toBe('none');
    p.openChannel();
    expect(p.server.received.some((r) => r.compressed)).toBe(false);
    expect(p.server.compressionStarts).toEqual({ out: 0, in: 0 });
  });

  it('by default the client offers none only', () => {
    const p = authed(['none']);
    expect(p.server.clientKexInits[0]!.compressionClientToServer).toEqual(['none']);
    expect(p.client.info.negotiated?.compressionServerToClient).toBe('none');
    expect(logs(p)).not.toContain('Enabling compression at level 6.');
  });
});

describe('zlib: compression from NEWKEYS', () => {
  it('compresses from the first packet after NEWKEYS, user authentication included', () => {
    const p = authed(['zlib', 'none']);
    expect(p.client.info.negotiated?.compressionClientToServer).toBe('zlib');
    const afterKex = p.server.received.filter((r) => r.epoch > 0);
    expect(afterKex.length).toBeGreaterThan(0);
    expect(afterKex.every((r) => r.compressed)).toBe(true);
    expect(p.server.receivedOfType(MSG.SERVICE_REQUEST)[0]!.compressed).toBe(true);
    expect(logs(p)).toContain('server debug: hello after success');
    // USERAUTH_SUCCESS does not restart a stream that already runs.
    expect(p.server.compressionStarts).toEqual({ out: 1, in: 1 });
  });
});

describe('hostile compressed data', () => {
  const closedWith = (p: Pair) => {
    const e = p.closedError;
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  };

  it('a decompression bomb (a small packet inflating past 256 KiB) is a ProtocolError', () => {
    const p = authed([...COMPRESSION_YES]);
    // Just under the cap is fine.
    p.server.send(ignore(MAX_PACKET_LENGTH - 64));
    p.pump();
    expect(p.closedError).toBeUndefined();
    const before = wireBytes(p.serverWire);
    p.server.send(ignore(16 * 1024 * 1024));
    p.pump();
    // 16 MiB of zeros travel in well under one 256 KiB packet.
    expect(wireBytes(p.serverWire) - before).toBeLessThan(MAX_PACKET_LENGTH);
    const e = closedWith(p);
    expect(e.code).toBe('ERR_PACKET_TOO_LARGE');
    expect(e.reason).toBe(DisconnectReason.COMPRESSION_ERROR);
    expect(e.message).toMatch(/expands beyond 262144 bytes/);
    // The DISCONNECT went out, itself compressed, and the server read it.
    expect(p.server.disconnects[0]?.reason).toBe(DisconnectReason.COMPRESSION_ERROR);
  });

  const corrupt = (server: FakeServer, bytes: Uint8Array) => server.encoder.setCompression({ deflate: () => bytes });

  it('corrupt data in the middle of the stream is a ProtocolError', () => {
    const p = authed([...COMPRESSION_YES]);
    // All ones: whatever bit the previous partial flush ended on, the next block header reads
    // BTYPE 11, reserved (RFC 1951 §3.2.3).
    corrupt(p.server, new Uint8Array(16).fill(0xff));
    p.server.send(debugMessage('never read'));
    p.pump();
    const e = closedWith(p);
    expect(e.code).toBe('ERR_MALFORMED_PACKET');
    expect(e.reason).toBe(DisconnectReason.COMPRESSION_ERROR);
    expect(e.message).toMatch(/^decompression failed: invalid zlib data from the server/);
    expect(logs(p)).not.toContain('server debug: never read');
  });

  it('a bad zlib header at the start of the stream is a ProtocolError', () => {
    const p = new Pair({ client: { algorithms: { compression: ['zlib', 'none'] }, compression: zlibCompression } });
    p.client.start();
    p.server.start();
    p.pump();
    // The next server packet is the first of its zlib stream: a header whose check fails (RFC 1950 §2.2).
    corrupt(p.server, Uint8Array.of(0x78, 0x9d, 0x00, 0x00));
    p.server.send(debugMessage('x'));
    p.pump();
    expect(closedWith(p).reason).toBe(DisconnectReason.COMPRESSION_ERROR);
  });

  it('a compressed packet that decompresses to nothing is a ProtocolError', () => {
    const p = authed([...COMPRESSION_YES]);
    const real = zlibCompression.deflater(6);
    real.deflate(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 0)); // the header, so the next flush stands alone
    corrupt(p.server, Uint8Array.of(0x00, 0x00, 0x00, 0xff, 0xff)); // an empty stored block only
    p.server.send(debugMessage('x'));
    p.pump();
    expect(closedWith(p).code).toBe('ERR_MALFORMED_PACKET');
  });
});

describe('the zlib streams against node:zlib (the zlib OpenSSH links)', () => {
  const packets = [text(100), text(100_000), noise(5000, 3), Uint8Array.of(94), text(40_000), noise(70_000, 4)];

  it('our deflate, flushed per packet, inflates packet by packet in zlib (Z_SYNC_FLUSH, as packet.c)', () => {
    const d = zlibCompression.deflater(6);
    const inflate = zlib.createInflate();
    const sent: Uint8Array[] = [];
    for (const payload of packets) {
      sent.push(d.deflate(payload));
      // Each prefix of the stream decodes to exactly the payloads so far: nothing is held back.
      const got = zlib.inflateSync(Buffer.concat(sent), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      expect(got.length).toBe(packets.slice(0, sent.length).reduce((a, b) => a + b.length, 0));
    }
    inflate.destroy();
  });

  it("zlib's deflate with Z_PARTIAL_FLUSH per packet (as packet.c) inflates packet by packet in ours", async () => {
    const deflate = zlib.createDeflate({ level: 6 });
    const inflater = zlibCompression.inflater();
    for (const payload of packets) {
      const chunks: Buffer[] = [];
      const onData = (c: Buffer) => chunks.push(c);
      deflate.on('data', onData);
      deflate.write(payload);
      await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_PARTIAL_FLUSH, () => resolve()));
      deflate.off('data', onData);
      expect(same(inflater.inflate(Buffer.concat(chunks), MAX_PACKET_LENGTH), payload)).toBe(true);
    }
    deflate.destroy();
  });

  it('inflate checks the cap as it goes, not after the whole packet', () => {
    const d = zlibCompression.deflater(6);
    const bomb = d.deflate(new Uint8Array(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(MAX_PACKET_LENGTH);
    const inflater = zlibCompression.inflater();
    const t = performance.now();
    expectProtocolError(() => inflater.inflate(bomb, MAX_PACKET_LENGTH), 'ERR_PACKET_TOO_LARGE', DisconnectReason.COMPRESSION_ERROR);
    // Stopped early: far quicker than inflating 64 MiB.
    expect(performance.now() - t).toBeLessThan(500);
  });
});
