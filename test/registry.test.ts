/**
 * Tests generated from the registries (Go's TestKexes / TestPacketCiphers, russh's registry
 * asserts): every registered cipher, every MAC (with a cipher that uses it) and every key
 * exchange goes through the in-memory pair — handshake, data both ways, a rekey, a
 * byte-at-a-time feed, a flipped bit — on the pure and the runtime crypto providers, crossed.
 * A new algorithm is tested here the moment its registry row exists.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_CATEGORIES, defaultAlgorithms, supportedAlgorithms } from '../src/algorithms.js';
import { PURE_SSH_ALGORITHMS } from '../src/config/openssh-names.js';
import { rekeyLimitBytes } from '../src/cipher/cipher.js';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import { InternalError, SshError } from '../src/errors.js';
import { kexMethods } from '../src/kex/registry.js';
import { macAlgorithms } from '../src/mac/registry.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { PacketDecoder, PacketEncoder } from '../src/transport/packet.js';
import { newDirection } from '../src/transport/keys.js';
import { negotiatedFor } from './support/negotiated.js';
import { seededRandom } from './support/fake-server.js';
import { Pair } from './support/pair.js';

const PROVIDERS: [string, CryptoProvider, CryptoProvider][] = [
  ['pure/pure', pureCryptoProvider, pureCryptoProvider],
  ['node client/pure server', nodeCryptoProvider, pureCryptoProvider],
  ['pure client/node server', pureCryptoProvider, nodeCryptoProvider],
];

/**
 * The (cipher, MAC) pairs to run. Cipher and MAC are independent parts joined in one place
 * (cipher/with-mac.ts), so every part is covered without the full product: AEAD ciphers alone;
 * every other cipher with one MAC of each placement (encrypt-then-MAC and encrypt-and-MAC); every
 * MAC with a stream mode (CTR) and a chained mode (CBC).
 */
function suites(): { cipher: string; mac: string | undefined }[] {
  const out = new Map<string, { cipher: string; mac: string | undefined }>();
  const add = (cipher: string, mac: string | undefined) => out.set(`${cipher} ${mac}`, { cipher, mac });
  const macs = [...macAlgorithms.values()];
  const etm = macs.find((m) => m.etm)!.name;
  const plain = macs.find((m) => !m.etm)!.name;
  for (const c of cipherAlgorithms.values()) {
    if (c.aead) add(c.name, undefined);
    else (add(c.name, etm), add(c.name, plain));
  }
  for (const m of macs) (add('aes128-ctr', m.name), add('aes128-cbc', m.name));
  return [...out.values()];
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed: number) => seededRandom(seed)(n);

function pairFor(cipher: string, mac: string | undefined, client: CryptoProvider, server: CryptoProvider, chunk?: number): Pair {
  return new Pair({
    client: { algorithms: { cipher: [cipher], mac: mac ? [mac] : defaultAlgorithms().mac }, crypto: client },
    server: { crypto: server },
    chunk,
  });
}

/** Data both ways through a channel; returns nothing, asserts hashes. */
function roundTrip(p: Pair, size: number, seed: number): void {
  const ch = p.openChannel();
  const up = bytes(size, seed);
  p.client.channelWrite(ch, up);
  p.pump();
  const sch = p.server.channelForClient(ch)!;
  const got = new Uint8Array(sch.received.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of sch.received) (got.set(b, o), (o += b.length));
  expect(sha(got)).toBe(sha(up));
  const down = bytes(size, seed + 1);
  p.server.write(sch.id, down);
  p.pump();
  const recv = p.clientData(ch);
  p.client.channelConsumed(ch, recv.length);
  p.pump();
  expect(sha(recv)).toBe(sha(down));
}

describe('registries', () => {
  it("the command line's configuration reading knows the same names, in the same order (config/openssh-names.ts)", () => {
    const s = supportedAlgorithms();
    expect(PURE_SSH_ALGORITHMS).toEqual({ ciphers: s.cipher, macs: s.mac, kexAlgorithms: s.kex, hostKeyAlgorithms: s.hostKey });
  });

  it('supportedAlgorithms() lists exactly the registries', () => {
    const s = supportedAlgorithms();
    expect(s.cipher).toEqual([...cipherAlgorithms.keys()]);
    expect(s.mac).toEqual([...macAlgorithms.keys()]);
    expect(s.kex).toEqual([...kexMethods.keys()]);
    for (const [name, row] of [...cipherAlgorithms, ...macAlgorithms, ...kexMethods]) expect(row?.name, name).toBe(name);
  });

  it('defaults hold no legacy algorithm, on either provider, and every category is non-empty', () => {
    for (const provider of ['pure', 'node']) {
      const d = defaultAlgorithms(provider);
      for (const { key } of ALGORITHM_CATEGORIES) expect(d[key].length, key).toBeGreaterThan(0);
      for (const c of d.cipher) expect(cipherAlgorithms.get(c)?.legacy, c).toBe(false);
      for (const k of d.kex) expect(kexMethods.get(k)?.legacy, k).toBe(false);
      expect(d.cipher).not.toContain('aes128-cbc');
    }
  });

  // Issue 8 case 4: asyncssh, paramiko and Twisted require an agreed MAC even for AEAD ciphers.
  it('our KEXINIT always offers real MAC names, even when only AEAD ciphers are configured', () => {
    const p = new Pair({ client: { algorithms: { cipher: ['aes128-gcm@openssh.com'] } } }).start();
    const ours = p.server.clientKexInits[0]!;
    expect(ours.macClientToServer.length).toBeGreaterThan(0);
    expect(ours.macServerToClient).toEqual(ours.macClientToServer);
    for (const m of ours.macClientToServer) expect(macAlgorithms.has(m), m).toBe(true);
  });

  it('rekey volume follows the block size as OpenSSH computes it (RFC 4344 §3.2)', () => {
    expect(rekeyLimitBytes(8)).toBe(2 ** 30);
    expect(rekeyLimitBytes(16)).toBe(2 ** 36);
  });
});

describe('every cipher and MAC through the pair (both providers, crossed)', () => {
  for (const { cipher, mac } of suites()) {
    const label = mac ? `${cipher} + ${mac}` : cipher;
    for (const [pname, cp, sp] of PROVIDERS) {
      it(`${label} [${pname}]: handshake, 64 KiB both ways, rekey, again`, () => {
        const p = pairFor(cipher, mac, cp, sp).start();
        expect(p.client.isAuthenticated, String(p.closedError)).toBe(true);
        const n = p.client.info.negotiated!;
        expect(n.cipherClientToServer).toBe(cipher);
        expect(n.cipherServerToClient).toBe(cipher);
        expect(n.macClientToServer).toBe(mac);
        roundTrip(p, 64 * 1024 + 17, 3);
        p.client.rekey();
        p.pump();
        expect(p.client.info.kexCount).toBe(2);
        roundTrip(p, 40_000, 9);
        expect(p.closedError).toBeUndefined();
      });
    }

    it(`${label}: one byte at a time`, () => {
      const p = pairFor(cipher, mac, pureCryptoProvider, pureCryptoProvider, 1).start();
      expect(p.client.isAuthenticated).toBe(true);
      roundTrip(p, 3000, 5);
    });

    // A CBC cipher with a MAC over the plaintext (not encrypt-then-MAC) fails in discard mode.
    const discards = cipher.endsWith('-cbc') && mac !== undefined && !mac.endsWith('-etm@openssh.com');
    it(`${label}: a flipped bit after the handshake ends in a protocol error, never accepted data`, () => {
      for (const bit of [0, 7, 40, 200]) {
        const p = pairFor(cipher, mac, pureCryptoProvider, pureCryptoProvider).start();
        const ch = p.openChannel();
        const sch = p.server.channelForClient(ch)!;
        p.toClient = (b) => {
          const c = b.slice();
          if (bit >> 3 < c.length) c[bit >> 3]! ^= 1 << (bit & 7);
          p.toClient = undefined;
          return c;
        };
        p.server.sendData(sch.id, bytes(500, bit));
        p.pump();
        if (discards) {
          // OpenSSH packet.c's discard mode (src/transport/packet.ts): no failure until 256 KiB
          // counted from the bad packet have arrived, and nothing of them delivered.
          expect(p.closedError, `bit ${bit}`).toBeUndefined();
          for (let i = 0; i < 9; i++) p.server.sendData(sch.id, bytes(32 * 1024, i));
          p.pump();
        }
        expect(p.clientData(ch).length, `bit ${bit}`).toBe(0);
        const err = p.closedError;
        expect(err, `bit ${bit}`).toBeInstanceOf(SshError);
        expect(err).not.toBeInstanceOf(InternalError);
        if (discards) expect((err as SshError).code).toBe('ERR_MAC');
      }
    });
  }
});

describe('every key exchange through the pair', () => {
  for (const name of kexMethods.keys()) {
    it(`${name}: handshake, rekey, byte-at-a-time`, () => {
      const p = new Pair({ client: { algorithms: { kex: [name] } } }).start();
      expect(p.client.info.negotiated?.kex).toBe(name);
      expect(p.client.info.strictKex).toBe(true);
      p.client.rekey();
      p.pump();
      expect(p.client.info.kexCount).toBe(2);
      const slow = new Pair({ client: { algorithms: { kex: [name] } }, chunk: 1 }).start();
      expect(slow.client.isAuthenticated).toBe(true);
    });
  }
});

describe('packet protection at sequence-number edges (RFC 4253 §6.4)', () => {
  for (const { cipher, mac } of suites()) {
    const label = mac ? `${cipher} + ${mac}` : cipher;
    it(`${label}: seal/open round trips across the 2^32 wrap, on both providers crossed`, () => {
      const negotiated = negotiatedFor({ cipher, mac });
      const secrets = { hash: 'sha256' as const, sharedSecret: bytes(36, 1), exchangeHash: bytes(32, 2), sessionId: bytes(32, 3) };
      for (const [a, b] of [
        [pureCryptoProvider, nodeCryptoProvider],
        [nodeCryptoProvider, pureCryptoProvider],
      ] as const) {
        const enc = new PacketEncoder(seededRandom(4));
        const dec = new PacketDecoder();
        enc.setCipher(newDirection('client-to-server', negotiated, secrets, a, true));
        dec.setCipher(newDirection('client-to-server', negotiated, secrets, b, false));
        enc.seq = dec.seq = 0xfffffffe;
        const payloads = [1, 17, 300, 33_000, 0].map((n, i) => Uint8Array.of(94, ...bytes(n, 10 + i)));
        for (const pl of payloads) enc.writePayload(pl);
        for (const chunk of enc.take() ?? []) dec.push(chunk);
        for (const pl of payloads) expect(sha(dec.next()!)).toBe(sha(pl));
        expect(dec.next()).toBeNull();
        expect(enc.seq).toBe(3);
        expect(dec.seq).toBe(3);
      }
    });
  }
});
