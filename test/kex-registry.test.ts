/**
 * Every registered key-exchange method through the in-memory Pair (Go's "every algorithm through
 * the pair" tests; STYLE.md move 5): a handshake with strict kex and EXT_INFO, client- and
 * server-initiated rekeys carrying channel data, a byte-at-a-time feed, the WarnWeakCrypto
 * event; and, per method family, malformed server values (wrong length, invalid point, f out of
 * range, a bad group) rewritten into the server's real reply on the wire, each of which must end
 * the connection with a ProtocolError of reason KEY_EXCHANGE_FAILED.
 */
import { describe, expect, it } from 'vitest';
import { DisconnectReason, ProtocolError } from '../src/errors.js';
import { WEAK_KEX_WARNING } from '../src/events.js';
import { DEFAULT_KEX, kexMethods } from '../src/kex/registry.js';
import { MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18, OAKLEY_GROUP_2, type ModpGroup } from '../src/kex/modp-groups.js';
import { bigIntToBytes } from '../src/crypto/bigint.js';
import { mpintBody, SshReader, SshWriter } from '../src/protocol/wire.js';
import { FakeServer } from './support/fake-server.js';
import { rewriteServerPacket, withServerValue } from './support/clear-packets.js';
import { Pair } from './support/pair.js';

const ALL = [...kexMethods.values()];

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return b;
}
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function pairFor(kex: string, extra: ConstructorParameters<typeof Pair>[0] = {}): Pair {
  return new Pair({ ...extra, client: { ...extra.client, algorithms: { kex: [kex], ...extra.client?.algorithms } }, server: { extInfo: true, ...extra.server } });
}

/**
 * AES-128-GCM needs 16 key bytes (OpenSSH we_need): a 512-bit DH exponent and a 3072-bit group
 * exchange request (the fake server answers with RFC 3526 group 16) instead of chacha20-poly1305's
 * 1024 bits and 8192, which the main test per method covers. Keeps the many short pairs fast.
 */
const LIGHT = { client: { algorithms: { cipher: ['aes128-gcm@openssh.com'] } } };

/** Channel data both ways across whatever exchanges happened; asserts nothing was lost. */
function roundTrip(p: Pair, seed: number): void {
  const ch = p.openChannel();
  const sch = p.server.channelForClient(ch)!;
  p.onEvent = (e, pair) => {
    if (e.type === 'channel-data') pair.client.channelConsumed(e.channel, e.data.length);
  };
  const up = bytes(40_000, seed);
  const down = bytes(30_000, seed + 1);
  p.client.channelWrite(ch, up);
  p.server.write(sch.id, down);
  p.pump();
  expect(same(FakeServer.joined(sch), up)).toBe(true);
  expect(same(p.clientData(ch), down)).toBe(true);
}

describe('the registry', () => {
  it("defaults are OpenSSH 10.0's KexAlgorithms order (myproposal.h KEX_CLIENT_KEX), with sntrup761", () => {
    expect(DEFAULT_KEX).toEqual([
      'mlkem768x25519-sha256',
      'sntrup761x25519-sha512',
      'sntrup761x25519-sha512@openssh.com',
      'curve25519-sha256',
      'curve25519-sha256@libssh.org',
      'ecdh-sha2-nistp256',
      'ecdh-sha2-nistp384',
      'ecdh-sha2-nistp521',
      'diffie-hellman-group-exchange-sha256',
      'diffie-hellman-group16-sha512',
      'diffie-hellman-group18-sha512',
      'diffie-hellman-group14-sha256',
    ]);
  });

  it('legacy methods (SHA-1, the 1024-bit group) are registered but never default', () => {
    const legacy = ALL.filter((m) => m.legacy).map((m) => m.name);
    expect(legacy.sort()).toEqual(['diffie-hellman-group-exchange-sha1', 'diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1']);
    for (const name of legacy) expect(DEFAULT_KEX).not.toContain(name);
  });

  it('only the hybrids are post-quantum', () => {
    for (const m of ALL) expect(m.postQuantum, m.name).toBe(/^(mlkem|sntrup)/.test(m.name));
  });
});

describe.each(ALL.map((m) => [m.name, m] as const))('%s through the pair', (name, method) => {
  it(`handshake (strict kex, EXT_INFO), ${method.postQuantum ? 'no weak-kex warning' : 'one weak-kex warning'}, client- and server-initiated rekeys with channel data`, () => {
    const p = pairFor(name).start();
    expect(p.client.isAuthenticated).toBe(true);
    const info = p.client.info;
    expect(info.negotiated?.kex).toBe(name);
    expect(info.strictKex).toBe(true);
    expect(info.serverSigAlgs).toEqual(['ssh-ed25519', 'rsa-sha2-256']);
    expect(info.sessionId?.length).toBe({ sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[method.hash]);
    expect(info.sessionId).toEqual(p.server.sessionId);
    const sessionId = info.sessionId;

    // WarnWeakCrypto (OpenSSH 10.1): once, after the first exchange, before authentication.
    if (method.postQuantum) {
      expect(p.eventsOf('warning')).toEqual([]);
    } else {
      expect(p.eventsOf('warning')).toEqual([{ type: 'warning', code: 'weak-kex', message: WEAK_KEX_WARNING }]);
      const types = p.events.map((e) => e.type);
      expect(types.indexOf('warning')).toBeLessThan(types.indexOf('authenticated'));
    }

    roundTrip(p, 1);
    p.client.rekey();
    p.pump();
    roundTrip(p, 3);
    p.server.rekey();
    p.pump();
    roundTrip(p, 5);
    expect(p.client.info.kexCount).toBe(3);
    expect(p.server.newKeysReceived).toBe(3);
    // RFC 4253 §7.2: the session id stays the first exchange's H.
    expect(p.client.info.sessionId).toEqual(sessionId);
    expect(p.eventsOf('warning')).toHaveLength(method.postQuantum ? 0 : 1);
    expect(p.server.violations).toEqual([]);
    expect(p.client.isClosed).toBe(false);
  });

  it('every byte delivered separately', () => {
    const p = pairFor(name, { ...LIGHT, chunk: 1 }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.negotiated?.kex).toBe(name);
  });
});

// ---- malformed server values, rewritten into the server's real reply ----

const mpintOf = (n: bigint) => mpintBody(bigIntToBytes(n));
const GROUPS: Record<string, ModpGroup> = { 1: OAKLEY_GROUP_2, 14: MODP_GROUP_14, 16: MODP_GROUP_16, 18: MODP_GROUP_18 };

interface Malformation {
  what: string;
  type: number;
  mutate: (payload: Uint8Array) => Uint8Array;
}

/** What can be wrong with each family's server values; every registered method must have a family. */
function malformations(name: string): Malformation[] | undefined {
  const reply = (what: string, f: (v: Uint8Array) => Uint8Array): Malformation => ({ what, type: 31, mutate: withServerValue(f) });
  const truncated = reply('wrong length (one byte short)', (v) => v.subarray(0, v.length - 1));
  const lengthened = reply('wrong length (one byte more)', (v) => Buffer.concat([v, Uint8Array.of(9)]));
  if (/^curve25519/.test(name)) {
    return [truncated, lengthened, reply('a low-order point (all zero)', (v) => new Uint8Array(v.length))];
  }
  if (/^ecdh-sha2-nistp/.test(name)) {
    return [
      truncated,
      reply('a point not on the curve (y changed)', (v) => {
        v[v.length - 1]! ^= 1;
        return v;
      }),
      reply('a compressed point', (v) => Buffer.concat([Uint8Array.of(2 + (v[v.length - 1]! & 1)), v.subarray(1, 1 + (v.length - 1) / 2)])),
      reply('the point at infinity (0x00)', () => Uint8Array.of(0)),
    ];
  }
  if (/^(mlkem|sntrup)/.test(name)) {
    return [truncated, lengthened, reply('a low-order X25519 part', (v) => Buffer.concat([v.subarray(0, v.length - 32), new Uint8Array(32)]))];
  }
  const fixed = /^diffie-hellman-group(\d+)-/.exec(name);
  if (fixed) {
    const p = GROUPS[fixed[1]!]!.p;
    return [
      reply('f = 0', () => new Uint8Array(0)),
      reply('f = 1', () => mpintOf(1n)),
      reply('f = p − 1', () => mpintOf(p - 1n)),
      reply('f = p', () => mpintOf(p)),
      reply('f = 2^k (fewer than 4 bits set)', () => mpintOf(1n << 100n)),
      reply('f negative', () => Uint8Array.of(0x80, 1)),
    ];
  }
  if (/^diffie-hellman-group-exchange-/.test(name)) {
    const group = (what: string, pg: () => [bigint, bigint]): Malformation => ({
      what,
      type: 31,
      mutate: () => {
        const [gp, gg] = pg();
        return new SshWriter(1100).byte(31).string(mpintOf(gp)).string(mpintOf(gg)).toBytes();
      },
    });
    const gexReply = (what: string, f: (p: bigint) => Uint8Array): Malformation => ({
      what,
      type: 33,
      mutate: (payload) => {
        const r = new SshReader(payload, 1);
        const hostKey = r.string();
        r.string();
        const sig = r.string();
        // The fake server picks group 16 for this client's request (aes128-gcm → n 3072).
        return new SshWriter(2000).byte(33).string(hostKey).string(f(MODP_GROUP_16.p)).string(sig).toBytes();
      },
    });
    return [
      group('a 1024-bit group (below min 2048)', () => [OAKLEY_GROUP_2.p, 2n]),
      group('an even p', () => [MODP_GROUP_14.p + 1n, 2n]),
      group('g = 1', () => [MODP_GROUP_14.p, 1n]),
      group('g = p − 1', () => [MODP_GROUP_14.p, MODP_GROUP_14.p - 1n]),
      gexReply('f = 1', () => mpintOf(1n)),
      gexReply('f = p − 1', (p) => mpintOf(p - 1n)),
      gexReply('f = p + 1', (p) => mpintOf(p + 1n)),
    ];
  }
  return undefined;
}

describe('malformed server values end in ProtocolError KEY_EXCHANGE_FAILED', () => {
  it('every registered method has malformation cases', () => {
    for (const m of ALL) expect(malformations(m.name), m.name).toBeDefined();
  });

  for (const m of ALL) {
    for (const bad of malformations(m.name) ?? []) {
      it(`${m.name}: ${bad.what}`, () => {
        const p = pairFor(m.name, LIGHT);
        rewriteServerPacket(p, bad.type, bad.mutate);
        p.start();
        expect(p.client.isAuthenticated).toBe(false);
        const err = p.closedError;
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).reason).toBe(DisconnectReason.KEY_EXCHANGE_FAILED);
        // RFC 4253 §11.1: the client told the server why.
        expect(p.server.disconnects.map((d) => d.reason)).toEqual([DisconnectReason.KEY_EXCHANGE_FAILED]);
      });
    }
  }
});
