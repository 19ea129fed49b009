/**
 * Global request replies paired with their requests in order (RFC 4254 §4), tcpip-forward's
 * bound port (§7.1), and server-initiated channels answered accept/reject (§5.1, §7.2; OpenSSH
 * PROTOCOL §2.4), on the in-memory pair.
 */
import { describe, expect, it } from 'vitest';
import { encodeForwardedStreamlocal, encodeForwardedTcpip } from '../src/connection/channel-types.js';
import { decodeTcpipForwardReply } from '../src/connection/global-requests.js';
import { ProtocolError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';
import { Pair } from './support/pair.js';

function authed(server: ConstructorParameters<typeof Pair>[0] = {}): Pair {
  const p = new Pair(server).start();
  expect(p.client.isAuthenticated).toBe(true);
  return p;
}

const port = (n: number) => new SshWriter(4).uint32(n).toBytes();

describe('global request replies are matched in order (RFC 4254 §4)', () => {
  it('a keepalive and a tcpip-forward for port 0 in flight at once: each reply to its own request', () => {
    const p = authed({ server: { globalPolicy: () => 'defer' } });
    const ka = p.client.sendKeepalive()!;
    const fwd = p.client.requestTcpipForward('localhost', 0);
    const ka2 = p.client.sendKeepalive()!;
    p.pump();
    expect(p.server.deferredGlobals.map((g) => g.name)).toEqual(['keepalive@openssh.com', 'tcpip-forward', 'keepalive@openssh.com']);
    expect(p.client.outstandingKeepalives).toBe(3);
    // sshd answers keepalives with FAILURE and a port-0 tcpip-forward with SUCCESS + the port.
    p.server.answerGlobal(false);
    p.server.answerGlobal(true, port(40123));
    p.server.answerGlobal(false);
    p.pump();
    const replies = p.eventsOf('global-reply');
    expect(replies.map((r) => [r.id, r.name, r.success])).toEqual([
      [ka, 'keepalive@openssh.com', false],
      [fwd, 'tcpip-forward', true],
      [ka2, 'keepalive@openssh.com', false],
    ]);
    expect(new Set([ka, fwd, ka2]).size).toBe(3);
    expect(decodeTcpipForwardReply(replies[1]!.data, 0)).toBe(40123);
    expect(p.client.outstandingKeepalives).toBe(0);
  });

  it('the reply data of the right request: a refused forward first, then a granted one', () => {
    const p = authed({ server: { globalPolicy: () => 'defer' } });
    const a = p.client.requestTcpipForward('localhost', 8080);
    const b = p.client.requestTcpipForward('', 0);
    p.pump();
    p.server.answerGlobal(false);
    p.server.answerGlobal(true, port(5555));
    p.pump();
    const [ra, rb] = p.eventsOf('global-reply');
    expect(ra).toMatchObject({ id: a, success: false });
    expect(rb).toMatchObject({ id: b, success: true });
    expect(decodeTcpipForwardReply(rb!.data, 0)).toBe(5555);
    const sent = p.server.globalRequests.map((g) => {
      const r = new SshReader(g.data);
      return [g.name, g.wantReply, r.utf8(), r.uint32()];
    });
    expect(sent).toEqual([
      ['tcpip-forward', true, 'localhost', 8080],
      ['tcpip-forward', true, '', 0],
    ]);
  });

  it('a reply nobody asked for is dropped, as ssh(1) 9.2 drops it (clientloop.c client_global_request_reply), and the next request still gets its own (break27 #7)', () => {
    const p = authed({ server: { globalPolicy: (name: string) => (name.includes('forward') ? { success: true } : undefined) } });
    p.server.send(Uint8Array.of(MSG.REQUEST_SUCCESS));
    p.server.send(Uint8Array.of(MSG.REQUEST_FAILURE));
    p.pump();
    expect(p.closedError).toBeUndefined();
    p.client.requestTcpipForward('localhost', 8080);
    p.pump();
    expect(p.closedError).toBeUndefined();
    expect(p.eventsOf('global-reply').map((e) => e.success)).toEqual([true]);
  });

  it('a port-0 reply without the port is a protocol error', () => {
    const p = authed({ server: { globalPolicy: () => ({ success: true }) } });
    p.client.requestTcpipForward('localhost', 0);
    p.pump();
    expect(p.closedError).toBeInstanceOf(ProtocolError);
  });
});

describe('server-initiated channels (RFC 4254 §5.1, §7.2)', () => {
  const granted = { server: { globalPolicy: (name: string) => (name.includes('forward') ? { success: true } : undefined) } };

  it('forwarded-tcpip for a granted forward: channel-open-request, accept, data both ways, close', () => {
    const p = authed(granted);
    p.client.requestTcpipForward('localhost', 8080);
    p.pump();
    const sid = p.server.openChannel(
      'forwarded-tcpip',
      encodeForwardedTcpip({ address: 'localhost', port: 8080, originatorAddress: '127.0.0.1', originatorPort: 50123 }),
      1000,
      100,
    );
    p.pump();
    const [req] = p.eventsOf('channel-open-request');
    expect(req).toMatchObject({
      channelType: 'forwarded-tcpip',
      params: { channelType: 'forwarded-tcpip', params: { address: 'localhost', port: 8080, originatorAddress: '127.0.0.1', originatorPort: 50123 } },
      initialWindow: 1000,
      maxPacket: 100,
    });
    // Nothing answered yet: the server waits.
    expect(p.server.openConfirmations).toHaveLength(0);
    p.client.acceptChannel(req!.channel, { window: 4096, maxPacket: 1024 });
    p.pump();
    expect(p.server.openConfirmations).toEqual([{ recipient: sid, sender: req!.channel, window: 4096, maxPacket: 1024 }]);
    // Our writes respect the server's max packet (100) and window (1000).
    p.client.channelWrite(req!.channel, new Uint8Array(250).fill(7));
    p.server.write(sid, new TextEncoder().encode('hello'));
    p.pump();
    const sch = p.server.channels[sid]!;
    expect(sch.packetSizes).toEqual([100, 100, 50]);
    expect(new TextDecoder().decode(p.clientData(req!.channel))).toBe('hello');
    p.client.channelClose(req!.channel);
    p.pump();
    expect(p.eventsOf('channel-closed').map((e) => e.channel)).toEqual([req!.channel]);
    expect(p.server.violations).toEqual([]);
  });

  it("accepted without options: ssh(1)'s 2 MiB window and 32 KiB maximum packet, not the 128 KiB our own opens ask for", () => {
    // sshd appends one CHANNEL_DATA of up to our maximum per channel per pass of its loop: with
    // 100 busy -R connections, 128 KiB packets queued 12.8 MiB per pass (channel.ts
    // DEFAULT_ACCEPT_MAX_PACKET).
    const p = authed(granted);
    p.client.requestTcpipForward('localhost', 8080);
    p.client.requestStreamlocalForward('/tmp/granted.sock');
    p.pump();
    p.server.openChannel('forwarded-tcpip', encodeForwardedTcpip({ address: 'localhost', port: 8080, originatorAddress: '127.0.0.1', originatorPort: 50123 }));
    p.server.openChannel('forwarded-streamlocal@openssh.com', encodeForwardedStreamlocal({ socketPath: '/tmp/granted.sock' }));
    p.pump();
    const reqs = p.eventsOf('channel-open-request');
    expect(reqs).toHaveLength(2);
    for (const r of reqs) p.client.acceptChannel(r.channel);
    p.pump();
    expect(p.server.openConfirmations.map((c) => [c.window, c.maxPacket])).toEqual([
      [2 * 1024 * 1024, 32 * 1024],
      [2 * 1024 * 1024, 32 * 1024],
    ]);
    // The server sends at most that much per CHANNEL_DATA (RFC 4254 §5.2).
    const sid = p.server.openConfirmations[0]!.recipient;
    expect(p.server.channels[sid]!.clientMaxPacket).toBe(32 * 1024);
    // A channel we open still asks for 128 KiB.
    const own = p.openChannel();
    expect(p.server.channels.find((c) => c?.clientId === own && c.type === 'direct-tcpip')?.clientMaxPacket).toBe(128 * 1024);
    expect(p.server.violations).toEqual([]);
  });

  it('our own opens ask for 128 KiB while fewer than 8 channels are open, 32 KiB from the 9th on', () => {
    // The same sshd pass with many busy -L channels (channel.ts LARGE_PACKET_CHANNELS).
    const p = authed(granted);
    const ids = Array.from({ length: 10 }, () => p.openChannel());
    const asked = (id: number) => p.server.channels.find((c) => c?.clientId === id && c.type === 'direct-tcpip')?.clientMaxPacket;
    expect(ids.map(asked)).toEqual([...Array(8).fill(128 * 1024), 32 * 1024, 32 * 1024]);
    // Once channels are gone, the next open asks for 128 KiB again.
    for (const id of ids.slice(0, 5)) p.client.channelClose(id);
    p.pump();
    expect(p.client.channelCount).toBe(5);
    expect(asked(p.openChannel())).toBe(128 * 1024);
    // An explicit maxPacket is kept whatever the count.
    for (let i = 0; i < 4; i++) p.openChannel();
    expect(p.client.channelCount).toBe(10);
    expect(asked(p.openChannel({ maxPacket: 65536 }))).toBe(65536);
    expect(p.server.violations).toEqual([]);
  });

  it('reject answers CHANNEL_OPEN_FAILURE with the reason and text given', () => {
    const p = authed(granted);
    p.client.requestTcpipForward('', 9000);
    p.pump();
    const sid = p.server.openChannel('forwarded-tcpip', encodeForwardedTcpip({ address: '', port: 9000, originatorAddress: '::1', originatorPort: 1 }));
    p.pump();
    const [req] = p.eventsOf('channel-open-request');
    p.client.rejectChannel(req!.channel, 2, 'Connection refused');
    p.pump();
    expect(p.server.openFailures).toEqual([{ recipient: sid, reason: 2, description: 'Connection refused' }]);
    expect(p.client.channelCount).toBe(0);
    expect(() => p.client.acceptChannel(req!.channel)).toThrow(/not a server-initiated open/);
  });

  it('opens nobody asked for are refused in the core with reason 1 "open failed", as OpenSSH does', () => {
    const p = authed(granted);
    p.client.requestTcpipForward('localhost', 8080);
    p.client.requestStreamlocalForward('/tmp/granted.sock');
    p.pump();
    const opens = [
      ['forwarded-tcpip', encodeForwardedTcpip({ address: 'localhost', port: 8081, originatorAddress: '127.0.0.1', originatorPort: 1 })],
      ['forwarded-tcpip', encodeForwardedTcpip({ address: '0.0.0.0', port: 8080, originatorAddress: '127.0.0.1', originatorPort: 1 })],
      ['forwarded-streamlocal@openssh.com', encodeForwardedStreamlocal({ socketPath: '/tmp/other.sock' })],
      ['x11', new SshWriter().string('127.0.0.1').uint32(6000).toBytes()],
      ['auth-agent@openssh.com', new Uint8Array(0)],
    ] as const;
    for (const [type, data] of opens) p.server.openChannel(type, data);
    p.pump();
    expect(p.eventsOf('channel-open-request')).toHaveLength(0);
    expect(p.server.openFailures.map((f) => [f.reason, f.description])).toEqual(opens.map(() => [1, 'open failed']));
    // The granted socket path is reported.
    p.server.openChannel('forwarded-streamlocal@openssh.com', encodeForwardedStreamlocal({ socketPath: '/tmp/granted.sock' }));
    p.pump();
    expect(p.eventsOf('channel-open-request').map((e) => e.params)).toEqual([
      { channelType: 'forwarded-streamlocal@openssh.com', params: { socketPath: '/tmp/granted.sock' } },
    ]);
    expect(p.client.isClosed).toBe(false);
  });

  it('a refused or cancelled forward grants nothing', () => {
    let grant = false;
    const p = authed({ server: { globalPolicy: () => ({ success: grant }) } });
    p.client.requestTcpipForward('localhost', 7000);
    p.pump();
    grant = true;
    p.client.requestTcpipForward('localhost', 7001);
    p.pump();
    p.client.cancelTcpipForward('localhost', 7001);
    p.pump();
    for (const port of [7000, 7001]) {
      p.server.openChannel('forwarded-tcpip', encodeForwardedTcpip({ address: 'localhost', port, originatorAddress: '127.0.0.1', originatorPort: 1 }));
    }
    p.pump();
    expect(p.eventsOf('channel-open-request')).toHaveLength(0);
    expect(p.server.openFailures).toHaveLength(2);
  });

  it('the bound port of a port-0 forward is the one matched', () => {
    const p = authed({ server: { globalPolicy: () => ({ success: true, data: port(41000) }) } });
    p.client.requestTcpipForward('localhost', 0);
    p.pump();
    p.server.openChannel('forwarded-tcpip', encodeForwardedTcpip({ address: 'localhost', port: 41000, originatorAddress: '127.0.0.1', originatorPort: 2 }));
    p.pump();
    expect(p.eventsOf('channel-open-request')).toHaveLength(1);
  });

  it('malformed forwarded-tcpip data is a protocol error (trailing bytes)', () => {
    const p = authed(granted);
    p.client.requestTcpipForward('localhost', 8080);
    p.pump();
    const data = new SshWriter().raw(encodeForwardedTcpip({ address: 'localhost', port: 8080, originatorAddress: 'x', originatorPort: 1 })).byte(0).toBytes();
    p.server.openChannel('forwarded-tcpip', data);
    p.pump();
    expect(p.closedError).toBeInstanceOf(ProtocolError);
  });

  it('the connection dying ends an unanswered open with an error', () => {
    const p = authed(granted);
    p.client.requestTcpipForward('localhost', 8080);
    p.pump();
    p.server.openChannel('forwarded-tcpip', encodeForwardedTcpip({ address: 'localhost', port: 8080, originatorAddress: '127.0.0.1', originatorPort: 1 }));
    p.pump();
    const [req] = p.eventsOf('channel-open-request');
    p.server.disconnect(11, 'bye');
    p.pump();
    const closed = p.eventsOf('channel-closed');
    expect(closed.map((e) => e.channel)).toEqual([req!.channel]);
    expect(closed[0]!.error).toBeDefined();
  });
});
