import { describe, expect, it } from 'vitest';
import { Channel, ChannelTable } from '../src/connection/channel.js';
import { ChannelOpenError, DisconnectError, ProtocolError, UsageError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { SshReader, SshWriter, concatBytes } from '../src/protocol/wire.js';
import { FakeServer } from './support/fake-server.js';
import { Pair } from './support/pair.js';

function bytes(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
}
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function authed(server: ConstructorParameters<typeof Pair>[0] = {}): Pair {
  const p = new Pair(server).start();
  expect(p.client.isAuthenticated).toBe(true);
  return p;
}

describe('channel open (RFC 4254 §5.1, §7.2)', () => {
  it('confirm: direct-tcpip with host, port and originator; channel-open event', () => {
    const p = authed();
    const ch = p.client.openDirectTcpip({ host: 'localhost', port: 5432, originatorAddress: '127.0.0.1', originatorPort: 50123 });
    p.pump();
    expect(p.eventsOf('channel-open')).toEqual([{ type: 'channel-open', channel: ch, window: expect.any(Number), maxPacket: expect.any(Number) }]);
    const sch = p.server.channelForClient(ch)!;
    expect(sch.type).toBe('direct-tcpip');
    const r = new SshReader(sch.openData);
    expect([r.utf8(), r.uint32(), r.utf8(), r.uint32()]).toEqual(['localhost', 5432, '127.0.0.1', 50123]);
    r.end();
    // OpenSSH's 2 MiB window; 128 KiB packets, so that sshd moves more per turn of its loop (channel.ts).
    expect(sch.clientWindow).toBe(2 * 1024 * 1024);
    expect(sch.clientMaxPacket).toBe(128 * 1024);
  });

  it('failure: ChannelOpenError with OpenSSH wording; other channels unaffected', () => {
    let n = 0;
    const p = authed({
      server: {
        openPolicy: () => (n++ === 0 ? { reason: 1, description: 'open failed' } : { window: 1000, maxPacket: 100 }),
      },
    });
    const bad = p.openChannel();
    const good = p.openChannel();
    const failed = p.eventsOf('channel-open-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.channel).toBe(bad);
    expect(failed[0]!.error).toBeInstanceOf(ChannelOpenError);
    expect(failed[0]!.error.message).toBe(`channel ${bad}: open failed: administratively prohibited: open failed`);
    expect((failed[0]!.error as ChannelOpenError).reason).toBe(1);
    expect(p.eventsOf('channel-open').map((e) => e.channel)).toEqual([good]);
    expect(p.client.isClosed).toBe(false);
  });

  it('connect failed (reason 2) wording', () => {
    const p = authed({ server: { openPolicy: () => ({ reason: 2, description: 'Connection refused' }) } });
    p.openChannel();
    expect(p.eventsOf('channel-open-failed')[0]!.error.message).toBe('channel 0: open failed: connect failed: Connection refused');
  });

  it('opening before authentication is a UsageError', () => {
    const p = new Pair();
    p.client.start();
    expect(() => p.client.openDirectTcpip({ host: 'h', port: 1 })).toThrow(UsageError);
  });

  it('an open that is never answered does not block other channels', () => {
    let n = 0;
    const p = authed({ server: { openPolicy: () => (n++ === 0 ? 'defer' : { window: 1000, maxPacket: 100 }) } });
    const slow = p.openChannel();
    const fast = p.openChannel();
    p.client.channelWrite(fast, bytes(50));
    p.pump();
    expect(p.eventsOf('channel-open').map((e) => e.channel)).toEqual([fast]);
    expect(same(FakeServer.joined(p.server.channelForClient(fast)!), bytes(50))).toBe(true);
    void slow;
  });

  it('channel ids are reused lowest-first', () => {
    const p = authed();
    const ids = [p.openChannel(), p.openChannel(), p.openChannel()];
    expect(ids).toEqual([0, 1, 2]);
    p.client.channelClose(1);
    p.pump();
    expect(p.eventsOf('channel-closed').map((e) => e.channel)).toEqual([1]);
    expect(p.openChannel()).toBe(1);
    expect(p.openChannel()).toBe(3);
  });
});

describe('flow control: sending (RFC 4254 §5.2)', () => {
  it("never exceeds the peer's window (100) or max packet (30)", () => {
    const p = authed({ server: { openPolicy: () => ({ window: 100, maxPacket: 30 }) } });
    const ch = p.openChannel();
    const data = bytes(1000);
    p.client.channelWrite(ch, data);
    p.pump();
    const sch = p.server.channelForClient(ch)!;
    expect(p.server.violations).toEqual([]);
    expect(Math.max(...sch.packetSizes)).toBeLessThanOrEqual(30);
    expect(same(FakeServer.joined(sch), data)).toBe(true);
    expect(p.eventsOf('channel-drain').length).toBeGreaterThanOrEqual(1);
  });

  it('a slow consumer stalls the sender at the window, without losing bytes', () => {
    const p = authed({ server: { openPolicy: () => ({ window: 100, maxPacket: 30 }), autoAdjust: false } });
    const ch = p.openChannel();
    const data = bytes(1000, 5);
    expect(p.client.channelWrite(ch, data)).toBe(false);
    p.pump();
    const sch = p.server.channelForClient(ch)!;
    expect(FakeServer.joined(sch).length).toBe(100);
    expect(p.client.channelPendingBytes(ch)).toBe(900);
    expect(p.eventsOf('channel-drain')).toHaveLength(0);
    p.server.adjustWindow(sch.id, 45);
    p.pump();
    expect(FakeServer.joined(sch).length).toBe(145);
    expect(sch.packetSizes.slice(-2)).toEqual([30, 15]);
    for (let i = 0; i < 100 && p.client.channelPendingBytes(ch) > 0; i++) {
      p.server.adjustWindow(sch.id, 77);
      p.pump();
    }
    expect(same(FakeServer.joined(sch), data)).toBe(true);
    expect(p.server.violations).toEqual([]);
    expect(p.eventsOf('channel-drain')).toHaveLength(1);
  });

  it('a write within the window goes out at once (true, nothing queued, no channel-drain); later writes keep their order behind a partial one', () => {
    const p = authed({ server: { openPolicy: () => ({ window: 100, maxPacket: 30 }), autoAdjust: false } });
    const ch = p.openChannel();
    const a = bytes(40, 1);
    const b = bytes(90, 2);
    const c = bytes(25, 3);
    expect(p.client.channelWrite(ch, a)).toBe(true);
    expect(p.client.channelPendingBytes(ch)).toBe(0);
    p.pump();
    expect(p.eventsOf('channel-drain')).toHaveLength(0);
    // 60 bytes of window left: b goes out in part, c waits behind it.
    expect(p.client.channelWrite(ch, b)).toBe(false);
    expect(p.client.channelWrite(ch, c)).toBe(false);
    expect(p.client.channelPendingBytes(ch)).toBe(30 + 25);
    p.pump();
    const sch = p.server.channelForClient(ch)!;
    p.server.adjustWindow(sch.id, 1000);
    p.pump();
    expect(same(FakeServer.joined(sch), concatBytes(a, b, c))).toBe(true);
    expect(p.client.channelPendingBytes(ch)).toBe(0);
    expect(p.eventsOf('channel-drain')).toHaveLength(1);
    expect(p.server.violations).toEqual([]);
  });

  it('EOF waits for queued data', () => {
    const p = authed({ server: { openPolicy: () => ({ window: 10, maxPacket: 10 }), autoAdjust: false, autoClose: false } });
    const ch = p.openChannel();
    p.client.channelWrite(ch, bytes(25));
    p.client.channelEnd(ch);
    p.pump();
    const sch = p.server.channelForClient(ch)!;
    expect(sch.eofReceived).toBe(false);
    p.server.adjustWindow(sch.id, 100);
    p.pump();
    expect(sch.eofReceived).toBe(true);
    expect(FakeServer.joined(sch).length).toBe(25);
    expect(() => p.client.channelWrite(ch, bytes(1))).toThrow(UsageError);
  });

  it('window adjust overflowing 2^32 is a protocol error', () => {
    const p = authed();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.server.send(new SshWriter().byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(sch.clientId).uint32(0xffffffff).toBytes());
    p.pump();
    expect(p.eventsOf('closed')[0]!.error).toBeInstanceOf(ProtocolError);
  });
});

describe('flow control: receiving (OpenSSH channel_check_window thresholds)', () => {
  it('no WINDOW_ADJUST until data is consumed, even with the window exhausted', () => {
    const p = authed();
    const ch = p.openChannel({ window: 1000, maxPacket: 100 });
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, bytes(1500));
    p.pump();
    expect(p.clientData(ch).length).toBe(1000);
    expect(sch.adjusts).toEqual([]);
    expect(p.server.pendingFor(sch.id)).toBe(500);
    p.client.channelConsumed(ch, 1000);
    p.pump();
    expect(sch.adjusts).toEqual([1000]);
    expect(same(p.clientData(ch), bytes(1500))).toBe(true);
  });

  it('adjusts once more than 3 max packets are owed', () => {
    const p = authed();
    const ch = p.openChannel({ window: 1000, maxPacket: 100 });
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, bytes(300));
    p.pump();
    p.client.channelConsumed(ch, 300);
    p.pump();
    expect(sch.adjusts).toEqual([]); // owed 300 = 3 packets, window 700 >= half
    p.server.write(sch.id, bytes(100));
    p.pump();
    p.client.channelConsumed(ch, 100);
    p.pump();
    expect(sch.adjusts).toEqual([400]);
  });

  it('adjusts once the free window falls below half', () => {
    const p = authed();
    const ch = p.openChannel({ window: 1000, maxPacket: 400 });
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, bytes(500));
    p.pump();
    p.client.channelConsumed(ch, 500);
    p.pump();
    expect(sch.adjusts).toEqual([]); // window 500: not below half; owed 500 <= 1200
    p.server.write(sch.id, bytes(1));
    p.pump();
    p.client.channelConsumed(ch, 1);
    p.pump();
    expect(sch.adjusts).toEqual([501]);
  });

  it('only consumed bytes are granted', () => {
    const p = authed();
    const ch = p.openChannel({ window: 1000, maxPacket: 100 });
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, bytes(800));
    p.pump();
    p.client.channelConsumed(ch, 350);
    p.pump();
    expect(sch.adjusts).toEqual([350]);
  });

  it('the server exceeding our window is a protocol error', () => {
    const p = authed();
    const ch = p.openChannel({ window: 100, maxPacket: 100 });
    const sch = p.server.channelForClient(ch)!;
    p.server.sendData(sch.id, bytes(60));
    p.server.sendData(sch.id, bytes(41));
    p.pump();
    const err = p.eventsOf('closed')[0]!.error!;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/received 41 bytes with 40 bytes of window/);
    expect(p.clientData(ch).length).toBe(60);
  });

  it('the server exceeding our max packet is a protocol error', () => {
    const p = authed();
    const ch = p.openChannel({ window: 1000, maxPacket: 100 });
    p.server.sendData(p.server.channelForClient(ch)!.id, bytes(101));
    p.pump();
    expect(p.eventsOf('closed')[0]!.error).toBeInstanceOf(ProtocolError);
  });
});

describe('EOF and CLOSE (RFC 4254 §5.3)', () => {
  it('client EOF then client CLOSE; the server answers both', () => {
    const p = authed();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.client.channelEnd(ch);
    p.pump();
    expect(sch.eofReceived).toBe(true);
    expect(p.eventsOf('channel-eof')).toEqual([{ type: 'channel-eof', channel: ch }]);
    p.client.channelClose(ch);
    p.pump();
    expect(sch.closeReceived).toBe(1);
    expect(p.eventsOf('channel-closed')).toEqual([{ type: 'channel-closed', channel: ch, error: undefined }]);
    expect(p.client.channelCount).toBe(0);
  });

  it('server EOF then server CLOSE: half-close event, CLOSE answered exactly once', () => {
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, bytes(10));
    p.server.sendEof(sch.id);
    p.pump();
    const types = p.events.filter((e) => 'channel' in e && e.channel === ch).map((e) => e.type);
    expect(types).toEqual(['channel-open', 'channel-data', 'channel-eof']);
    // After the server's EOF we may still write (half-close).
    p.client.channelWrite(ch, bytes(5));
    p.pump();
    expect(FakeServer.joined(sch).length).toBe(5);
    p.server.sendClose(sch.id);
    p.pump();
    expect(sch.closeReceived).toBe(1);
    expect(p.eventsOf('channel-closed')).toHaveLength(1);
    p.client.channelClose(ch); // a late local close must not send a second CLOSE
    p.pump();
    expect(p.server.receivedOfType(MSG.CHANNEL_CLOSE)).toHaveLength(1);
  });

  it('client CLOSE first, server CLOSE later: nothing sent on the channel after CLOSE', () => {
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.client.channelWrite(ch, bytes(10));
    p.client.channelClose(ch);
    p.pump();
    expect(p.eventsOf('channel-closed')).toHaveLength(0); // waiting for the server's CLOSE
    expect(() => p.client.channelWrite(ch, bytes(1))).toThrow(UsageError);
    p.server.write(sch.id, bytes(10)); // data in flight before the server saw our CLOSE
    p.server.sendClose(sch.id);
    p.pump();
    expect(p.eventsOf('channel-closed')).toHaveLength(1);
    expect(p.server.violations).toEqual([]);
    expect(p.server.receivedOfType(MSG.CHANNEL_CLOSE)).toHaveLength(1);
  });

  it('TestNoWindowAdjustAfterClose: consuming data that arrived after our CLOSE sends nothing on the channel', () => {
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel({ window: 1000, maxPacket: 100 });
    const sch = p.server.channelForClient(ch)!;
    p.server.write(sch.id, bytes(500)); // in flight when we close
    p.client.channelClose(ch);
    p.pump();
    expect(p.clientData(ch).length).toBe(500);
    // The adapter reports what it consumed; our CLOSE is out, so no WINDOW_ADJUST may follow it
    // (RFC 4254 §5.3; OpenSSH's channel_check_window skips channels with CHAN_CLOSE_SENT).
    p.client.channelConsumed(ch, 500);
    p.pump();
    expect(sch.adjusts).toEqual([]);
    expect(p.server.violations).toEqual([]);
  });

  it('close while the open is in flight: CLOSE goes out right after the confirmation', () => {
    const p = authed({ server: { openPolicy: () => 'defer', autoClose: false } });
    const ch = p.openChannel();
    p.client.channelClose(ch);
    p.pump();
    expect(p.server.receivedOfType(MSG.CHANNEL_CLOSE)).toHaveLength(0);
    const sch = p.server.channels.find((c) => c !== undefined)!;
    p.server.confirm(sch, 1000, 100);
    p.pump();
    expect(p.server.receivedOfType(MSG.CHANNEL_CLOSE)).toHaveLength(1);
    expect(p.server.receivedOfType(MSG.CHANNEL_DATA)).toHaveLength(0);
  });

  it('TestCloseForUnconfirmedChannel: a CLOSE for a channel still opening never makes us send to recipient 0xffffffff', () => {
    const p = authed({ server: { openPolicy: () => 'defer' } });
    const ch = p.openChannel();
    // The server knows our id from CHANNEL_OPEN, but it has not confirmed: there is no remote id yet.
    p.server.send(new SshWriter().byte(MSG.CHANNEL_CLOSE).uint32(ch).toBytes());
    p.pump();
    const closes = p.server.receivedOfType(MSG.CHANNEL_CLOSE).map((r) => new SshReader(r.payload, 1).uint32());
    expect(closes).not.toContain(0xffffffff);
    expect(p.server.violations).toEqual([]);
  });

  it('a message for an unknown channel is a protocol error', () => {
    const p = authed();
    p.server.send(new SshWriter().byte(MSG.CHANNEL_DATA).uint32(42).string('x').toBytes());
    p.pump();
    expect(p.eventsOf('closed')[0]!.error).toBeInstanceOf(ProtocolError);
  });

  it('a CHANNEL_DATA whose string length does not match the packet is refused with the decoder message (the in-place data path falls back)', () => {
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.server.send(new SshWriter().byte(MSG.CHANNEL_DATA).uint32(sch.clientId).uint32(5).raw(bytes(3)).toBytes());
    p.pump();
    const err = p.eventsOf('closed')[0]!.error;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/channel data|SSH_MSG_CHANNEL_DATA/i);
    expect(p.eventsOf('channel-data')).toEqual([]);
  });

  it('data after the server EOF is a protocol error', () => {
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.server.sendEof(sch.id);
    p.server.sendData(sch.id, bytes(3));
    p.pump();
    expect(p.eventsOf('closed')[0]!.error).toBeInstanceOf(ProtocolError);
  });
});

describe('global requests and server-initiated channels (RFC 4254 §4, §5.1)', () => {
  it('want_reply → REQUEST_FAILURE; no reply without want_reply', () => {
    const p = authed();
    p.server.send(new SshWriter().byte(MSG.GLOBAL_REQUEST).string('keepalive@openssh.com').boolean(true).toBytes());
    p.server.send(new SshWriter().byte(MSG.GLOBAL_REQUEST).string('hostkeys-00@openssh.com').boolean(false).string('blob').toBytes());
    p.pump();
    expect(p.server.globalReplies).toEqual([MSG.REQUEST_FAILURE]);
    expect(p.client.isClosed).toBe(false);
  });

  it('keepalive from the client: reply counted', () => {
    const p = authed();
    p.client.sendKeepalive();
    expect(p.client.outstandingKeepalives).toBe(1);
    p.pump();
    expect(p.client.outstandingKeepalives).toBe(0);
    expect(p.eventsOf('global-reply')).toEqual([
      { type: 'global-reply', id: 1, name: 'keepalive@openssh.com', success: false, data: new Uint8Array(0) },
    ]);
  });

  it('a server CHANNEL_OPEN is refused (administratively prohibited)', () => {
    const p = authed();
    p.server.send(
      new SshWriter().byte(MSG.CHANNEL_OPEN).string('forwarded-tcpip').uint32(77).uint32(1000).uint32(100).string('x').uint32(1).string('y').uint32(2).toBytes(),
    );
    p.pump();
    expect(p.server.openFailures).toHaveLength(1);
    expect(p.server.openFailures[0]).toMatchObject({ recipient: 77, reason: 1 });
    expect(p.client.isClosed).toBe(false);
  });

  it('CHANNEL_REQUEST with want_reply gets CHANNEL_FAILURE', () => {
    const p = authed();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.server.send(new SshWriter().byte(MSG.CHANNEL_REQUEST).uint32(sch.clientId).string('eow@openssh.com').boolean(true).toBytes());
    p.pump();
    expect(p.server.receivedOfType(MSG.CHANNEL_FAILURE)).toHaveLength(1);
  });
});

describe('abortAll when the connection dies', () => {
  it('every channel, open or opening, ends with the error', () => {
    let n = 0;
    const p = authed({ server: { openPolicy: () => (n++ < 2 ? { window: 1000, maxPacket: 100 } : 'defer') } });
    const a = p.openChannel();
    const b = p.openChannel();
    const c = p.openChannel();
    p.server.disconnect(11, 'shutting down');
    p.pump();
    const closed = p.eventsOf('closed')[0]!.error as DisconnectError;
    expect(closed).toBeInstanceOf(DisconnectError);
    const perChannel = p.eventsOf('channel-closed').filter((e) => e.error !== undefined);
    expect(perChannel.map((e) => e.channel).sort()).toEqual([a, b]);
    for (const e of perChannel) expect(e.error).toBe(closed);
    const failed = p.eventsOf('channel-open-failed');
    expect(failed.map((e) => e.channel)).toEqual([c]);
    expect(failed[0]!.error).toBe(closed);
    expect(p.client.channelCount).toBe(0);
  });

  it('connectionLost ends channels with that error', () => {
    const p = authed();
    const a = p.openChannel();
    p.client.connectionLost(new DisconnectError(10, 'gone'));
    p.drainEvents();
    expect(p.eventsOf('channel-closed')[0]).toMatchObject({ channel: a });
    expect(p.eventsOf('channel-closed')[0]!.error).toBeInstanceOf(DisconnectError);
  });
});

describe('prompt ACKs while an open is pending', () => {
  // sshd sends small packets after authentication (hostkeys-00, DEBUG); with Nagle on its side,
  // its OPEN_CONFIRMATION then waits for our delayed ACK (~40 ms) unless we answer something.
  const debugMsg = () => new SshWriter(32).byte(MSG.DEBUG).boolean(false).string('key options').string('').toBytes();

  it('TestIgnoreAnswersPacketsWhileOpenPending: an IGNORE follows a packet received during a pending open', () => {
    const p = authed({ server: { openPolicy: () => 'defer' } });
    p.client.openDirectTcpip({ host: 'db', port: 5432 });
    p.pump();
    const before = p.server.receivedOfType(MSG.IGNORE).length;
    p.server.send(debugMsg());
    p.pump();
    expect(p.server.receivedOfType(MSG.IGNORE).length).toBe(before + 1);
  });

  it('TestIgnoreAnswersTheOpenConfirmation: the read carrying OPEN_CONFIRMATION is answered too, then nothing more', () => {
    // A server-first endpoint's greeting follows the confirmation at once; sshd's Nagle held it
    // behind our delayed ACK of the confirmation (40 ms to the first forwarded byte).
    const p = authed({ server: { openPolicy: () => 'defer' } });
    const ch = p.client.openDirectTcpip({ host: 'db', port: 5432 });
    p.pump();
    const ignores = () => p.server.receivedOfType(MSG.IGNORE).length;
    const before = ignores();
    p.server.confirm(p.server.channelForClient(ch)!, 65536, 32768);
    p.pump();
    expect(ignores()).toBe(before + 1);
    // Open and idle: the server's small packets are not answered any more.
    p.server.send(debugMsg());
    p.pump();
    expect(ignores()).toBe(before + 1);
  });

  it("TestIgnoreAnswersPacketsAfterOurEof: after our EOF, until the server's EOF or CLOSE, an IGNORE answers each packet received", () => {
    // sshd's WINDOW_ADJUST for our last data sits unacknowledged; its EOF (sent once the
    // forwarded socket ends) would wait behind our delayed ACK: 40-45 ms at the end of uploads.
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel();
    const ignores = () => p.server.receivedOfType(MSG.IGNORE).length;
    p.client.channelWrite(ch, bytes(1000));
    p.pump();
    const open = ignores();
    p.server.send(debugMsg());
    p.pump();
    expect(ignores()).toBe(open);
    p.client.channelEnd(ch);
    p.pump();
    const ended = ignores();
    p.server.send(debugMsg());
    p.pump();
    p.server.send(debugMsg());
    p.pump();
    expect(ignores()).toBe(ended + 2);
    // A download after our EOF: data comes in full segments, acknowledged at once; no IGNORE.
    p.server.sendData(p.server.channelForClient(ch)!.id, bytes(8192));
    p.pump();
    expect(ignores()).toBe(ended + 2);
    p.server.sendEof(p.server.channelForClient(ch)!.id);
    p.pump();
    p.server.send(debugMsg());
    p.pump();
    expect(ignores()).toBe(ended + 2);
  });

  it('TestIgnoresAfterEofAreBounded: a server that keeps a half-closed channel busy with small packets gets 4 IGNOREs per EOF we sent, then none', () => {
    const p = authed({ server: { autoClose: false } });
    const ch = p.openChannel();
    const ignores = () => p.server.receivedOfType(MSG.IGNORE).length;
    p.client.channelEnd(ch);
    p.pump();
    const ended = ignores();
    for (let i = 0; i < 20; i++) {
      p.server.send(debugMsg());
      p.pump();
    }
    expect(ignores()).toBe(ended + 4);
    // A second channel's EOF brings 4 more.
    const ch2 = p.openChannel();
    p.client.channelEnd(ch2);
    p.pump();
    const ended2 = ignores();
    for (let i = 0; i < 20; i++) {
      p.server.send(debugMsg());
      p.pump();
    }
    expect(ignores()).toBe(ended2 + 4);
  });

  it("TestEofIgnoreAllowanceNotCarriedOver: channels whose server answered our EOF at once leave no allowance for a later half-closed channel's chatty server", () => {
    const p = authed({ server: { autoClose: false } });
    const ignores = () => p.server.receivedOfType(MSG.IGNORE).length;
    // Short-lived forwards: our EOF, the server's EOF and CLOSE straight back (their 4 unused).
    for (let i = 0; i < 10; i++) {
      const ch = p.openChannel();
      p.client.channelEnd(ch);
      p.pump();
      const id = p.server.channelForClient(ch)!.id;
      p.server.sendEof(id);
      p.server.sendClose(id);
      p.pump();
    }
    const ch = p.openChannel();
    p.client.channelEnd(ch);
    p.pump();
    const ended = ignores();
    for (let i = 0; i < 30; i++) {
      p.server.send(debugMsg());
      p.pump();
    }
    expect(ignores()).toBe(ended + 4);
  });

  it('sends nothing extra when no open is pending', () => {
    const p = authed();
    const before = p.server.received.length;
    p.server.send(debugMsg());
    p.pump();
    expect(p.server.received.length).toBe(before);
  });
});

describe('ChannelTable', () => {
  it('counts its channels through allocations, releases (twice over) and reused slots', () => {
    const t = new ChannelTable();
    const make = (id: number) => new Channel(id, 'direct-tcpip');
    const [a, b, c] = [t.allocate(make), t.allocate(make), t.allocate(make)];
    expect(t.size).toBe(3);
    t.release(b.id);
    t.release(b.id);
    expect(t.size).toBe(2);
    expect(t.allocate(make).id).toBe(b.id);
    t.release(c.id);
    t.release(a.id);
    expect(t.size).toBe(1);
    expect([...t].length).toBe(1);
  });

  it('a reserved number (a listener of the CLI\'s, as ssh numbers them) is skipped, never a channel, never released', () => {
    const t = new ChannelTable();
    const make = (id: number) => new Channel(id, 'direct-tcpip');
    const a = t.allocate(make);
    expect([t.reserve(), t.reserve()]).toEqual([1, 2]);
    expect(t.reserved).toBe(2);
    t.release(a.id);
    // The lowest free number is taken again; the held ones are not.
    expect(t.allocate(make).id).toBe(0);
    expect(t.allocate(make).id).toBe(3);
    t.release(1);
    expect(t.get(1)).toBeUndefined();
    expect(t.allocate(make).id).toBe(4);
    expect(t.size).toBe(3);
    expect([...t].map((c) => c.id)).toEqual([0, 3, 4]);
  });
});

describe('RekeyLimit within one read (RFC 4253 §9)', () => {
  // The volume received is looked at per packet: a read carrying many packets starts the key
  // exchange once the limit is reached, not only after the whole read (which let a download run a
  // read's worth past RekeyLimit each time).
  it('a batch of 16 packets of 1 KiB under a 4 KiB limit: KEXINIT goes out within the batch', () => {
    const p = authed({ client: { rekeyBytes: 4096 } });
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    for (let i = 0; i < 16; i++) p.server.sendData(sch.id, bytes(1024, i));
    const batch = concatBytes(...p.server.takeOutput());
    p.drainEvents();
    const before = p.events.length;
    p.client.receive(batch);
    p.drainEvents();
    const after = p.events.slice(before);
    const kexinit = after.findIndex((e) => e.type === 'log' && e.message === 'rekeying: SSH2_MSG_KEXINIT sent');
    expect(kexinit).toBeGreaterThan(0);
    // 4 KiB of 1 KiB packets (each a little more on the wire): the exchange starts by the fifth.
    expect(after.slice(0, kexinit).filter((e) => e.type === 'channel-data').length).toBeLessThanOrEqual(4);
    expect(after.filter((e) => e.type === 'channel-data')).toHaveLength(16);
  });
});

describe('channel numbers held by the caller (Connection.reserveChannelNumber)', () => {
  it('the next open carries the number after them on the wire; a server message to a held number is refused', () => {
    const p = authed();
    expect([p.client.reserveChannelNumber(), p.client.reserveChannelNumber()]).toEqual([0, 1]);
    const id = p.client.openDirectTcpip({ host: 'db', port: 5432 });
    expect(id).toBe(2);
    p.pump();
    // The server saw sender channel 2 (RFC 4254 §5.1).
    expect(p.server.channelForClient(2)?.type).toBe('direct-tcpip');
    expect(p.server.channelForClient(0)).toBeUndefined();
    expect(p.client.reservedChannels).toBe(2);
    expect(p.client.channelCount).toBe(1);
    // CHANNEL_DATA to a held number: no such channel of ours (RFC 4254 §5.2), a protocol error.
    p.server.send(new SshWriter(32).byte(MSG.CHANNEL_DATA).uint32(0).string(new Uint8Array([1])).toBytes());
    p.pump();
    expect(p.closedError).toBeInstanceOf(ProtocolError);
  });
});
