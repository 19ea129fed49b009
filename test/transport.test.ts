import { describe, expect, it } from 'vitest';
import { DisconnectError, HostKeyError, ProtocolError, SshError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { SshReader, SshWriter, concatBytes } from '../src/protocol/wire.js';
import { FakeServer, ed25519Key } from './support/fake-server.js';
import { Pair } from './support/pair.js';

const IGNORE = new SshWriter().byte(MSG.IGNORE).string('x').toBytes();
const DEBUG = new SshWriter().byte(MSG.DEBUG).boolean(false).string('hello').string('').toBytes();

function closedWith(p: Pair): SshError {
  const closed = p.eventsOf('closed');
  expect(closed, 'expected the client to close').toHaveLength(1);
  const e = closed[0]!.error;
  expect(e).toBeInstanceOf(SshError);
  return e!;
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return b;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('handshake against the fake server', () => {
  it('reaches authenticated with publickey (ed25519 fixture key), strict kex on', () => {
    const p = new Pair().start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.eventsOf('host-key')[0]).toMatchObject({ algorithm: 'ssh-ed25519', keyType: 'ssh-ed25519' });
    expect(p.eventsOf('authenticated')).toHaveLength(1);
    expect(p.client.info.strictKex).toBe(true);
    expect(p.client.info.serverVersion).toBe('SSH-2.0-FakeSSH_1.0');
    expect(p.client.info.sessionId).toEqual(p.server.sessionId);
    expect(p.client.info.negotiated?.cipherClientToServer).toBe('chacha20-poly1305@openssh.com');
    expect(p.server.authRequests.map((r) => r.method)).toEqual(['none', 'publickey']);
    expect(p.server.authRequests[1]!.signatureValid).toBe(true);
    expect(p.server.violations).toEqual([]);
  });

  it('the first KEXINIT carries ext-info-c and kex-strict-c-v00@openssh.com', () => {
    const p = new Pair().start();
    expect(p.server.clientKexInits[0]!.kex).toContain('ext-info-c');
    expect(p.server.clientKexInits[0]!.kex).toContain('kex-strict-c-v00@openssh.com');
  });

  it('sends identification and KEXINIT before hearing from the server', () => {
    const p = new Pair();
    p.client.start();
    const out = concatBytes(...(p.client.takeOutput() ?? []));
    const text = Buffer.from(out).toString('latin1');
    expect(text.startsWith('SSH-2.0-pure_ssh_')).toBe(true);
    const eol = text.indexOf('\r\n');
    expect(out[eol + 2 + 5]).toBe(MSG.KEXINIT);
  });

  it('works with every byte delivered separately', () => {
    const p = new Pair({ chunk: 1 }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('EXT_INFO server-sig-algs is kept (RFC 8308)', () => {
    const p = new Pair({ server: { extInfo: true } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.serverSigAlgs).toEqual(['ssh-ed25519', 'rsa-sha2-256']);
  });
});

describe('identification (RFC 4253 §4.2)', () => {
  it('lines before SSH-2.0- are accepted', () => {
    const p = new Pair({ server: { preVersionLines: ['Welcome to the machine', '', 'second line'] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('SSH-1.99 is accepted as 2.0', () => {
    const p = new Pair({ server: { version: 'SSH-1.99-OldServer' } }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  // Issue 8 case 5: RFC 4253 §4.2 limits the identification, not the lines before it; OpenSSH
  // accepts lines up to 8192 bytes (ssh.h SSH_MAX_BANNER_LEN) and 1024 of them.
  it('lines before the identification longer than 255 bytes are accepted, as OpenSSH does', () => {
    const p = new Pair({ server: { preVersionLines: ['x'.repeat(254), 'y'.repeat(300), 'z'.repeat(8192)] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('a line before the identification longer than 8192 bytes is rejected with a clear message', () => {
    const p = new Pair({ server: { preVersionLines: ['x'.repeat(9000)] } }).start();
    const e = closedWith(p);
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e.message).toMatch(/longer than 8192 bytes before its identification; is this an SSH server\?/);
  });

  // kex.c checks `n >= 1024` before reading each line: 1,023 lines then the identification
  // connect, 1,024 do not (ssh 9.2 refuses them; pure-ssh connected, a tester's finding).
  it('1,023 lines before the identification are accepted, 1,024 are not (as ssh 9.2)', () => {
    const ok = new Pair({ server: { preVersionLines: Array.from({ length: 1023 }, () => 'l') } }).start();
    expect(ok.client.isAuthenticated).toBe(true);
    const p = new Pair({ server: { preVersionLines: Array.from({ length: 1024 }, () => 'l') } }).start();
    expect(closedWith(p).message).toBe('kex_exchange_identification: No SSH version received in first 1024 lines from server');
  });

  it('more than 1024 lines before the identification are rejected', () => {
    const p = new Pair({ server: { preVersionLines: Array.from({ length: 1025 }, () => 'l') } }).start();
    expect(closedWith(p).message).toBe('kex_exchange_identification: No SSH version received in first 1024 lines from server');
  });

  // RFC 4253 §4.2 asks servers for 255 printable bytes; ssh(1) 9.2 (kex.c) takes any line up to
  // 8192 bytes without a NUL, and so does pure-ssh (a fresh tester's finding: it refused both).
  it('an identification line longer than 255 bytes, or with a control character, is accepted as ssh(1) accepts it', () => {
    for (const version of ['SSH-2.0-' + 'v'.repeat(260), 'SSH-2.0-' + 'w'.repeat(8000), 'SSH-2.0-Odd\x01Server']) {
      const p = new Pair({ server: { version } }).start();
      expect(p.client.isAuthenticated, version.slice(0, 20)).toBe(true);
    }
  });

  it('SSH-1.5 is rejected: protocol version not supported (reason 8 sent)', () => {
    const p = new Pair({ server: { version: 'SSH-1.5-Ancient' } }).start();
    const e = closedWith(p);
    expect(e.message).toMatch(/Protocol major versions differ: server sent "SSH-1.5-Ancient"/);
    expect((e as ProtocolError).reason).toBe(8);
    expect(p.server.disconnects[0]?.reason).toBe(8);
  });
});

// Issue 8 case 3: libssh 0.10 servers end their lists with a comma ("...,aes128-ctr,").
describe('a server KEXINIT with empty names (libssh 0.10)', () => {
  it('connects, skipping the empty names, and says so under -v', () => {
    const p = new Pair({
      server: {
        lists: {
          cipherClientToServer: ['aes128-ctr', ''],
          cipherServerToClient: ['aes128-ctr', ''],
          macClientToServer: ['hmac-sha2-256', ''],
          macServerToClient: ['hmac-sha2-256', ''],
        },
      },
    }).start();
    expect(p.client.isAuthenticated, String(p.closedError)).toBe(true);
    expect(p.client.info.negotiated?.cipherClientToServer).toBe('aes128-ctr');
    const logs = p.eventsOf('log').map((e) => e.message);
    expect(logs.some((m) => /skipped empty names in cipherClientToServer/.test(m))).toBe(true);
  });
});

describe('strict key exchange (Terrapin, OpenSSH PROTOCOL §1.9)', () => {
  for (const [name, msg] of [
    ['IGNORE', IGNORE],
    ['DEBUG', DEBUG],
  ] as const) {
    it(`TestTerrapin${name}BeforeNewKeys: ${name} before NEWKEYS from a strict server is fatal`, () => {
      const p = new Pair({ server: { beforeNewKeys: [msg] } }).start();
      const e = closedWith(p);
      expect(e.code).toBe('ERR_STRICT_KEX');
      expect(p.client.isAuthenticated).toBe(false);
      expect(p.server.disconnects).toHaveLength(1);
    });

    it(`the same ${name} from a NON-strict server is fine`, () => {
      const p = new Pair({ server: { strict: false, beforeNewKeys: [msg] } }).start();
      expect(p.client.info.strictKex).toBe(false);
      expect(p.client.isAuthenticated).toBe(true);
    });
  }

  it("a strict server whose KEXINIT is not its first packet is fatal", () => {
    const p = new Pair({ server: { beforeKexInit: [IGNORE] } }).start();
    const e = closedWith(p);
    expect(e.code).toBe('ERR_STRICT_KEX');
    expect(e.message).toMatch(/KEXINIT was not its first packet/);
  });

  const SERVICE_ACCEPT = new SshWriter().byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBytes();

  it("a non-strict server's SERVICE_ACCEPT before its KEXINIT: kex_protocol_error, UNIMPLEMENTED, and on (kex.c)", () => {
    const p = new Pair({ server: { strict: false, beforeKexInit: [SERVICE_ACCEPT] } }).start();
    expect(p.client.info.strictKex).toBe(false);
    expect(p.client.isAuthenticated).toBe(true);
    const unimplemented = p.server.received.filter((r) => r.payload[0] === MSG.UNIMPLEMENTED);
    expect(unimplemented.map((r) => [...r.payload])).toEqual([[MSG.UNIMPLEMENTED, 0, 0, 0, 0]]);
    expect(p.events).toContainEqual({ type: 'log', message: 'kex_protocol_error: type 6 seq 0' });
  });

  it("the same during a non-strict exchange (before NEWKEYS), with the packet's sequence number", () => {
    const p = new Pair({ server: { strict: false, beforeNewKeys: [SERVICE_ACCEPT] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.events).toContainEqual({ type: 'log', message: 'kex_protocol_error: type 6 seq 2' });
  });

  // kex.c kex_reset_dispatch: 20–49 are kex_protocol_error's too, but for the one the exchange
  // waits for (ssh 9.2 beside pure-ssh: test/cli-kex-protocol-error.test.ts).
  const stray = (type: number) => Uint8Array.of(type, 0, 0, 0, 0);
  const unimplementedSeqs = (p: Pair) => p.server.received.filter((r) => r.payload[0] === MSG.UNIMPLEMENTED).map((r) => new SshReader(r.payload, 1).uint32());

  for (const type of [MSG.NEWKEYS, MSG.KEX_ECDH_INIT, MSG.KEX_ECDH_REPLY, 34, 49]) {
    it(`a non-strict server's message ${type} before its KEXINIT: kex_protocol_error, UNIMPLEMENTED, and on`, () => {
      const p = new Pair({ server: { strict: false, beforeKexInit: [stray(type)] } }).start();
      expect(p.client.isAuthenticated, String(p.closedError)).toBe(true);
      expect(unimplementedSeqs(p)).toEqual([0]);
      expect(p.events).toContainEqual({ type: 'log', message: `kex_protocol_error: type ${type} seq 0` });
    });

    it(`a strict server's message ${type} before its KEXINIT: the same, then the KEXINIT is refused`, () => {
      const p = new Pair({ server: { beforeKexInit: [stray(type)] } }).start();
      expect(closedWith(p).message).toMatch(/KEXINIT was not its first packet/);
      expect(unimplementedSeqs(p)).toEqual([0]);
      expect(p.server.newKeysReceived).toBe(0);
    });
  }

  /** A server that sends `payload` when the client's first kex method message arrives (before its reply). */
  const beforeReply = (payload: Uint8Array, strict: boolean) => {
    let sent = false;
    return new Pair({
      server: {
        strict,
        onPacket(p, _seq, server) {
          if (!sent && p[0] === MSG.KEX_ECDH_INIT) {
            sent = true;
            server.sendRaw(payload);
          }
          return false;
        },
      },
    }).start();
  };

  for (const type of [MSG.KEXINIT, MSG.NEWKEYS, MSG.KEX_ECDH_INIT, 32, 49]) {
    it(`message ${type} after the KEXINITs, before the reply: not strict, kex_protocol_error and on; strict, the end`, () => {
      const p = beforeReply(stray(type), false);
      expect(p.client.isAuthenticated, String(p.closedError)).toBe(true);
      expect(unimplementedSeqs(p)).toEqual([1]);
      expect(p.events).toContainEqual({ type: 'log', message: `kex_protocol_error: type ${type} seq 1` });
      const q = beforeReply(stray(type), true);
      const e = closedWith(q);
      expect(e.code).toBe('ERR_STRICT_KEX');
      expect(e.message).toMatch(new RegExp(`unexpected message ${type} \\(seq 1\\) during the initial key exchange$`));
      expect(unimplementedSeqs(q)).toEqual([]);
      expect(q.client.isAuthenticated).toBe(false);
    });
  }

  for (const type of [MSG.KEXINIT, MSG.KEX_ECDH_REPLY, 49]) {
    it(`message ${type} after the reply, before the server's NEWKEYS: not strict, kex_protocol_error and on; strict, the end`, () => {
      const reply = type === MSG.KEX_ECDH_REPLY ? new SshWriter().byte(type).string('a').string('b').string('c').toBytes() : stray(type);
      const p = new Pair({ server: { strict: false, beforeNewKeys: [reply] } }).start();
      expect(p.client.isAuthenticated, String(p.closedError)).toBe(true);
      expect(unimplementedSeqs(p)).toEqual([2]);
      expect(p.events).toContainEqual({ type: 'log', message: `kex_protocol_error: type ${type} seq 2` });
      const q = new Pair({ server: { beforeNewKeys: [reply] } }).start();
      expect(closedWith(q).code).toBe('ERR_STRICT_KEX');
      expect(q.client.isAuthenticated).toBe(false);
    });
  }

  it('group exchange: a REPLY before the GROUP, or a second GROUP, is kex_protocol_error; the exchange goes on (kexgexc.c)', () => {
    // RFC 4419 §5: GROUP 31, INIT 32, REPLY 33, REQUEST 34.
    for (const [type, at] of [[33, 34], [31, 32]] as const) {
      let sent = false;
      const p = new Pair({
        client: { algorithms: { kex: ['diffie-hellman-group-exchange-sha256'], cipher: ['aes128-gcm@openssh.com'] } },
        server: {
          strict: false,
          onPacket(payload, _seq, server) {
            if (!sent && payload[0] === at) {
              sent = true;
              server.sendRaw(stray(type));
            }
            return false;
          },
        },
      }).start();
      expect(p.client.isAuthenticated, String(p.closedError)).toBe(true);
      expect(p.client.info.negotiated?.kex).toBe('diffie-hellman-group-exchange-sha256');
      expect(p.events.filter((e) => e.type === 'log' && e.message.startsWith('kex_protocol_error:'))).toHaveLength(1);
      expect(p.events).toContainEqual({ type: 'log', message: `kex_protocol_error: type ${type} seq ${at === 34 ? 1 : 2}` });
    }
  });

  it('after authentication, a stray NEWKEYS resets the receiving sequence number under strict kex (packet.c), and only then', () => {
    for (const strict of [false, true]) {
      const p = new Pair({ server: { strict }, client: { algorithms: { cipher: ['chacha20-poly1305@openssh.com'] } } }).start();
      const seq = p.server.encoder.seq;
      p.server.send(stray(MSG.NEWKEYS));
      p.pump();
      expect(p.server.unimplemented).toEqual([seq]);
      expect(p.events).toContainEqual({ type: 'log', message: `dispatch_protocol_error: type 21 seq ${seq}` });
      // The server goes on counting: under strict kex the client no longer reads it, as ssh 9.2.
      p.openChannel();
      expect(p.client.isClosed).toBe(strict);
    }
  });

  it('a kex message during authentication is fatal (sshconnect2.c input_userauth_error)', () => {
    let sent = false;
    const p = new Pair({
      server: {
        onPacket(payload, _seq, server) {
          if (!sent && payload[0] === MSG.SERVICE_REQUEST) {
            sent = true;
            server.sendRaw(stray(MSG.NEWKEYS));
          }
          return false;
        },
      },
    }).start();
    expect(closedWith(p).message).toBe('bad message during authentication: type 21');
    expect(p.client.isAuthenticated).toBe(false);
  });

  it('after a rekey, a stray NEWKEYS is kex_protocol_error (kex_reset_dispatch) and changes no keys (not strict)', () => {
    const p = new Pair({ server: { strict: false } }).start();
    p.client.rekey();
    p.pump();
    expect(p.server.newKeysReceived).toBe(2);
    const seq = p.server.encoder.seq;
    p.server.send(stray(MSG.NEWKEYS));
    p.pump();
    expect(p.server.unimplemented).toEqual([seq]);
    expect(p.events).toContainEqual({ type: 'log', message: `kex_protocol_error: type 21 seq ${seq}` });
    // Keys unchanged: traffic still flows both ways.
    p.openChannel();
    expect(p.eventsOf('channel-open')).toHaveLength(1);
    expect(p.client.isClosed).toBe(false);
  });

  it('a SERVICE_ACCEPT before the KEXINIT of a strict server stays fatal (Terrapin)', () => {
    const p = new Pair({ server: { beforeKexInit: [SERVICE_ACCEPT] } }).start();
    const e = closedWith(p);
    expect(e.code).toBe('ERR_STRICT_KEX');
    expect(e.message).toMatch(/KEXINIT was not its first packet/);
    expect(p.client.isAuthenticated).toBe(false);
  });

  it('a SERVICE_ACCEPT during a strict exchange stays fatal', () => {
    const p = new Pair({ server: { beforeNewKeys: [SERVICE_ACCEPT] } }).start();
    expect(closedWith(p).code).toBe('ERR_STRICT_KEX');
  });

  it('an EXT_INFO before the first NEWKEYS of a non-strict server is not acted on', () => {
    const ext = new SshWriter().byte(MSG.EXT_INFO).uint32(1).string('server-sig-algs').string('ssh-ed25519').toBytes();
    const p = new Pair({ server: { strict: false, beforeKexInit: [ext] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.events).toContainEqual({ type: 'log', message: 'kex_protocol_error: type 7 seq 0' });
    expect(p.events.some((e) => e.type === 'log' && e.message.includes('server-sig-algs'))).toBe(false);
  });

  it('a channel message before the first exchange completed stays fatal, strict or not (ssh ends too)', () => {
    const eof = new SshWriter().byte(MSG.CHANNEL_EOF).uint32(0).toBytes();
    const p = new Pair({ server: { strict: false, beforeKexInit: [eof] } }).start();
    expect(closedWith(p).message).toBe('unexpected SSH_MSG_CHANNEL_EOF before the first key exchange completed');
  });

  it('a non-strict server may send IGNORE before its KEXINIT', () => {
    const p = new Pair({ server: { strict: false, beforeKexInit: [IGNORE] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it("TestStrictKexSeqReset: the client's first packet after NEWKEYS has seq 0 in strict mode", () => {
    const p = new Pair().start();
    const after = p.server.received.filter((r) => r.epoch === 1);
    expect(after[0]!.payload[0]).toBe(MSG.SERVICE_REQUEST);
    expect(after[0]!.seq).toBe(0);
    // And the client accepted the server's reset too (else its MAC check would have failed).
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('sequence numbers are NOT reset in non-strict mode', () => {
    const p = new Pair({ server: { strict: false } }).start();
    const before = p.server.received.filter((r) => r.epoch === 0).length;
    const after = p.server.received.filter((r) => r.epoch === 1);
    expect(before).toBe(3); // KEXINIT, ECDH_INIT, NEWKEYS
    expect(after[0]!.seq).toBe(3);
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('the strict client sends nothing but kex messages before NEWKEYS', () => {
    const p = new Pair().start();
    expect(p.server.received.filter((r) => r.epoch === 0).map((r) => r.payload[0])).toEqual([
      MSG.KEXINIT,
      MSG.KEX_ECDH_INIT,
      MSG.NEWKEYS,
    ]);
  });

  it('sequence number wrap during the initial strict exchange is fatal', () => {
    const p = new Pair();
    // Reach into the transport: the decoder starts 2 packets short of 2^32.
    (p.client as unknown as { transport: { decoder: { seq: number } } }).transport.decoder.seq = 0xfffffffe;
    p.server.encoder.seq = 0xfffffffe;
    p.start();
    expect(closedWith(p).code).toBe('ERR_STRICT_KEX');
  });

  it('TestStrictKexMarkerOnlyInFirstKexInit: the second KEXINIT has neither ext-info-c nor kex-strict-c', () => {
    const p = new Pair().start();
    p.client.rekey();
    p.pump();
    expect(p.server.clientKexInits).toHaveLength(2);
    expect(p.server.clientKexInits[1]!.kex).not.toContain('ext-info-c');
    expect(p.server.clientKexInits[1]!.kex).not.toContain('kex-strict-c-v00@openssh.com');
    expect(p.server.newKeysReceived).toBe(2);
    expect(p.client.isClosed).toBe(false);
  });

  it('a kex-strict-s marker in a LATER server KEXINIT does not turn strict mode on', () => {
    const p = new Pair({ server: { strict: false } }).start();
    expect(p.client.info.strictKex).toBe(false);
    p.server.options.lists = { kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'] };
    p.server.rekey();
    p.pump();
    expect(p.client.info.strictKex).toBe(false);
    expect(p.server.newKeysReceived).toBe(2);
    // Had the client reset its sequence numbers, the server's MAC check would have failed here.
    const ch = p.openChannel();
    expect(p.eventsOf('channel-open')).toHaveLength(1);
    const last = p.server.received[p.server.received.length - 1]!;
    expect(last.seq).toBeGreaterThan(0);
    void ch;
  });
});

describe('rekeying (RFC 4253 §9)', () => {
  it('server-initiated rekey in the middle of channel traffic loses nothing either way', () => {
    const p = new Pair().start();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.onEvent = (e, pair) => {
      if (e.type === 'channel-data') pair.client.channelConsumed(e.channel, e.data.length);
    };
    const up = bytes(200_000, 1);
    const down = bytes(150_000, 2);
    for (let i = 0; i < 10; i++) {
      p.client.channelWrite(ch, up.subarray(i * 20_000, (i + 1) * 20_000));
      p.server.write(sch.id, down.subarray(i * 15_000, (i + 1) * 15_000));
      if (i === 4) p.server.rekey(); // KEXINIT crosses data in flight both ways
      if (i % 3 === 0) p.pump();
    }
    p.pump();
    expect(p.server.newKeysReceived).toBe(2);
    expect(p.client.info.kexCount).toBe(2);
    expect(same(FakeServer.joined(sch), up)).toBe(true);
    expect(same(p.clientData(ch), down)).toBe(true);
    expect(p.server.violations).toEqual([]);
    expect(p.client.isClosed).toBe(false);
  });

  it('client-initiated rekey after rekeyBytes (64 KiB): NEWKEYS counted, data intact', () => {
    const p = new Pair({ client: { rekeyBytes: 64 * 1024 } }).start();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    const up = bytes(1024 * 1024, 3);
    for (let i = 0; i < up.length; i += 50_000) {
      p.client.channelWrite(ch, up.subarray(i, i + 50_000));
      p.pump();
    }
    p.pump();
    expect(same(FakeServer.joined(sch), up)).toBe(true);
    // ~1 MiB / 64 KiB of traffic: many exchanges, each started by the client.
    expect(p.server.newKeysReceived).toBeGreaterThanOrEqual(10);
    expect(p.server.clientKexInits.length).toBe(p.server.newKeysReceived);
    expect(p.server.violations).toEqual([]);
  });

  it('channel data written during a key exchange is queued and released after NEWKEYS', () => {
    const p = new Pair().start();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    const mark = p.server.received.length;
    p.client.rekey();
    const data = bytes(5000, 9);
    p.client.channelWrite(ch, data);
    p.client.channelEnd(ch);
    p.pump();
    const types = p.server.received.slice(mark).map((r) => r.payload[0]);
    const kexinit = types.indexOf(MSG.KEXINIT);
    const newkeys = types.indexOf(MSG.NEWKEYS);
    expect(kexinit).toBe(0);
    expect(newkeys).toBeGreaterThan(kexinit);
    // RFC 4253 §7.1: nothing of the connection layer between our KEXINIT and our NEWKEYS.
    expect(types.slice(kexinit, newkeys).every((t) => t! < 50)).toBe(true);
    expect(types.slice(newkeys)).toContain(MSG.CHANNEL_DATA);
    expect(same(FakeServer.joined(sch), data)).toBe(true);
    expect(sch.eofReceived).toBe(true);
  });

  it('both sides start a rekey at the same moment: one exchange, traffic continues', () => {
    const p = new Pair().start();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.client.rekey();
    p.server.rekey();
    p.client.channelWrite(ch, bytes(3000, 4));
    p.pump();
    expect(p.server.clientKexInits).toHaveLength(2);
    expect(p.server.newKeysReceived).toBe(2);
    expect(p.client.info.kexCount).toBe(2);
    expect(same(FakeServer.joined(sch), bytes(3000, 4))).toBe(true);
    expect(p.client.isClosed).toBe(false);
  });

  it('inbound bytes alone also trigger a client rekey after rekeyBytes', () => {
    const p = new Pair({ client: { rekeyBytes: 32 * 1024 } }).start();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    p.onEvent = (e, pair) => {
      if (e.type === 'channel-data') pair.client.channelConsumed(e.channel, e.data.length);
    };
    const down = bytes(200_000, 6);
    for (let i = 0; i < down.length; i += 20_000) {
      p.server.write(sch.id, down.subarray(i, i + 20_000));
      p.pump();
    }
    expect(same(p.clientData(ch), down)).toBe(true);
    expect(p.server.clientKexInits.length).toBeGreaterThanOrEqual(4);
  });

  it('TestRekeyAtOneGiBMark: crossing the default 1 GiB limit mid-write rekeys without losing data', () => {
    const p = new Pair().start();
    const ch = p.openChannel();
    const sch = p.server.channelForClient(ch)!;
    // Pretend 1 GiB minus a little has gone out under the current keys.
    const t = (p.client as unknown as { transport: { encoder: { counters: { bytes: number } } } }).transport;
    t.encoder.counters.bytes = 2 ** 30 - 5000;
    const data = bytes(100_000, 8);
    p.client.channelWrite(ch, data);
    p.pump();
    expect(p.server.clientKexInits).toHaveLength(2);
    expect(same(FakeServer.joined(sch), data)).toBe(true);
    expect(t.encoder.counters.bytes).toBeLessThan(2 ** 30);
  });

  it('2^31 packets also trigger a rekey', () => {
    const p = new Pair().start();
    const t = (p.client as unknown as { transport: { decoder: { counters: { packets: number } } } }).transport;
    t.decoder.counters.packets = 2 ** 31 - 1;
    p.server.send(new SshWriter().byte(MSG.IGNORE).string('').toBytes());
    p.pump();
    expect(p.server.clientKexInits).toHaveLength(2);
  });

  it('a host key that changes on rekey is fatal', () => {
    const p = new Pair({ server: { rekeyHostKey: ed25519Key(new Uint8Array(32).fill(9)) } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    p.server.rekey();
    p.pump();
    const e = closedWith(p);
    expect(e.code).toBe('ERR_HOST_KEY_CHANGED');
    expect(p.server.disconnects[0]?.reason).toBe(9);
  });
});

describe('host key verdicts and errors', () => {
  it('host key rejected by the embedder: DISCONNECT reason 9 sent and a closed event with that error', () => {
    const p = new Pair({ autoAccept: false });
    const err = new HostKeyError('unknown', { host: 'foo.com', keyType: 'ssh-ed25519', fingerprint: 'SHA256:x' });
    p.onEvent = (e, pair) => {
      if (e.type === 'host-key') pair.client.rejectHostKey(err);
    };
    p.start();
    expect(p.server.disconnects).toHaveLength(1);
    expect(p.server.disconnects[0]!.reason).toBe(9);
    expect(closedWith(p)).toBe(err);
    expect(p.server.authRequests).toHaveLength(0);
  });

  it('nothing but the transport proceeds while the host key awaits a verdict', () => {
    const p = new Pair({ autoAccept: false }).start();
    expect(p.eventsOf('host-key')).toHaveLength(1);
    expect(p.server.newKeysReceived).toBe(0);
    p.client.acceptHostKey();
    p.pump();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('a bad host key signature → ERR_HOST_KEY_SIGNATURE, before any host-key event', () => {
    const p = new Pair({ server: { badSignature: true } }).start();
    expect(closedWith(p).code).toBe('ERR_HOST_KEY_SIGNATURE');
    expect(p.eventsOf('host-key')).toHaveLength(0);
    expect(p.server.disconnects[0]?.reason).toBe(3);
  });

  it('DISCONNECT from the server → DisconnectError with the reason and text verbatim', () => {
    const p = new Pair().start();
    const text = 'Too many sessions: «ünïcode» stays';
    p.server.disconnect(2, text);
    p.pump();
    const e = closedWith(p);
    expect(e).toBeInstanceOf(DisconnectError);
    expect((e as DisconnectError).reason).toBe(2);
    expect((e as DisconnectError).description).toBe(text);
    expect(e.message).toBe(`Disconnected by server (protocol error): ${text}`);
    // We do not answer a DISCONNECT with one.
    expect(p.server.disconnects).toHaveLength(0);
  });

  // Tester break18 F4: the server's escape sequences reached every terminal err.message was
  // printed to (colours, a title, a screen clear, OSC 8 links); the CLI escaped them as ssh does.
  it('DISCONNECT text with control characters: escaped in the message (\\033 ...), raw in description', () => {
    const p = new Pair().start();
    const text = 'go away \u001b[31mred\u001b[0m \u001b]8;;http://x\u0007link\u001b]8;;\u0007 \u0000\u007f\u009b2J «ü» \\ end';
    p.server.disconnect(2, text);
    p.pump();
    const e = closedWith(p) as DisconnectError;
    expect(e).toBeInstanceOf(DisconnectError);
    expect(e.description).toBe(text);
    expect(e.message).toBe(
      'Disconnected by server (protocol error): go away \\033[31mred\\033[0m \\033]8;;http://x\\007link\\033]8;;\\007 \\000\\177\\302\\2332J «ü» \\ end',
    );
    expect(e.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('disconnect() sends DISCONNECT reason 11 and closes without an error', () => {
    const p = new Pair().start();
    const ch = p.openChannel();
    p.client.disconnect('bye now');
    p.pump();
    expect(p.server.disconnects).toEqual([{ reason: 11, description: 'bye now' }]);
    expect(p.eventsOf('closed')).toEqual([{ type: 'closed', error: undefined }]);
    expect(p.eventsOf('channel-closed')[0]).toMatchObject({ channel: ch });
    expect(p.client.isClosed).toBe(true);
  });

  it('DISCONNECT during the key exchange is reported the same way', () => {
    const p = new Pair({ server: { strict: false, beforeNewKeys: [new SshWriter().byte(1).uint32(3).string('kex bye').string('').toBytes()] } }).start();
    const e = closedWith(p) as DisconnectError;
    expect(e).toBeInstanceOf(DisconnectError);
    expect(e.description).toBe('kex bye');
  });

  for (const type of [0, 192, 255]) {
    it(`message ${type}, never valid (RFC 4250 §4.1.1; OpenSSH packet.c): the connection ends with "Invalid ssh2 packet type"`, () => {
      const p = new Pair().start();
      p.server.send(Uint8Array.of(type, 1, 2, 3));
      p.pump();
      const e = closedWith(p);
      expect(e).toBeInstanceOf(ProtocolError);
      expect((e as ProtocolError).message).toBe(`Invalid ssh2 packet type: ${type}`);
      expect(p.server.unimplemented).toEqual([]);
    });
  }

  for (const type of [8, 19, 150, 191]) {
    it(`unknown message ${type} → UNIMPLEMENTED with its sequence number`, () => {
      const p = new Pair().start();
      const seq = p.server.encoder.seq;
      p.server.send(Uint8Array.of(type, 1, 2, 3));
      p.pump();
      expect(p.server.unimplemented).toEqual([seq]);
      expect(p.client.isClosed).toBe(false);
    });
  }

  it("a kex message outside a key exchange after authentication: dispatch_protocol_error, UNIMPLEMENTED, and on (clientloop.c)", () => {
    const p = new Pair().start();
    const seq = p.server.encoder.seq;
    p.server.send(new SshWriter().byte(MSG.KEX_ECDH_REPLY).string('a').string('b').string('c').toBytes());
    p.pump();
    expect(p.client.isClosed).toBe(false);
    expect(p.server.unimplemented).toEqual([seq]);
    expect(p.events).toContainEqual({ type: 'log', message: `dispatch_protocol_error: type 31 seq ${seq}` });
  });
});

describe('first_kex_packet_follows (RFC 4253 §7.1)', () => {
  const bogusReply = new SshWriter().byte(MSG.KEX_ECDH_REPLY).string('junk').string('junk').string('junk').toBytes();

  it('a wrong guess: the next kex packet is ignored', () => {
    const p = new Pair({
      server: {
        firstKexPacketFollows: true,
        lists: { kex: ['curve25519-sha256@libssh.org', 'curve25519-sha256'] },
        guessedPackets: [bogusReply],
      },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  // OpenSSH dispatch_skip_packets skips the next packet dispatched, whatever its number; outside a
  // strict first exchange packet.c consumes IGNORE/DEBUG/UNIMPLEMENTED/DISCONNECT before dispatch.
  for (const [what, guessed, strict] of [
    ['a NEWKEYS, not strict', new Uint8Array([21]), false],
    ['a NEWKEYS, strict', new Uint8Array([21]), true],
    ['a KEXINIT, not strict', new Uint8Array([20, ...new Uint8Array(16)]), false],
    ['an IGNORE, strict (every packet is dispatched then)', new Uint8Array([2, 0, 0, 0, 0]), true],
  ] as const) {
    it(`a wrong guess whose guessed packet is ${what}: ignored, as ssh 9.2 ignores it`, () => {
      const p = new Pair({
        server: { strict, firstKexPacketFollows: true, lists: { kex: ['curve25519-sha256@libssh.org', 'curve25519-sha256'] }, guessedPackets: [guessed] },
      }).start();
      expect(p.client.isAuthenticated).toBe(true);
    });
  }

  it('a wrong guess, not strict: an IGNORE before the guessed packet is not the packet ignored', () => {
    const p = new Pair({
      server: {
        strict: false,
        firstKexPacketFollows: true,
        lists: { kex: ['curve25519-sha256@libssh.org', 'curve25519-sha256'] },
        guessedPackets: [new Uint8Array([2, 0, 0, 0, 0]), bogusReply],
      },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('a right guess: the next kex packet is NOT ignored (here, a bogus reply is fatal)', () => {
    // RFC 4253 §7.1: right when both sides list the same kex method and the same host key
    // algorithm first (the client's default list puts certificate types first, as ssh's).
    const p = new Pair({
      client: { algorithms: { kex: ['curve25519-sha256'], hostKey: ['ssh-ed25519'] } },
      server: { firstKexPacketFollows: true, lists: { kex: ['curve25519-sha256'] }, guessedPackets: [bogusReply] },
    }).start();
    expect(p.client.isAuthenticated).toBe(false);
    expect(closedWith(p)).toBeInstanceOf(ProtocolError);
  });
});

describe('negotiation failure', () => {
  it('no common cipher closes with NegotiationError naming both lists', () => {
    const p = new Pair({
      client: { algorithms: { cipher: ['chacha20-poly1305@openssh.com'] } },
      server: { lists: { cipherServerToClient: ['aes128-ctr'] } },
    }).start();
    const e = closedWith(p);
    expect(e.code).toBe('ERR_NEGOTIATION');
    expect(e.message).toMatch(/cipher \(server to client\).*Server offers: aes128-ctr/);
    expect(p.server.disconnects).toHaveLength(1);
  });
});
