/**
 * Issue 8 case 2: the sans-IO core must not keep views into the caller's buffer. A transport
 * that reuses its read buffer (a `Deno.Conn.read(buf)` loop, a BYOB reader, a ring buffer)
 * overwrites what it passed to `receive()` as soon as the call returns; the data delivered must
 * still be right. Zero copy stays available as the explicit `borrowInput` opt-in.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ClientCore } from '../src/client-core.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import type { ClientEvent } from '../src/events.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { FakeServer, seededRandom } from './support/fake-server.js';
import { fixtureKey } from './support/pair.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Run a session where every byte reaches the client through ONE reused buffer, scribbled over after each receive(). */
function sessionThroughReusedBuffer(
  cipher: string,
  borrowInput: boolean,
  size: number,
  crypto?: CryptoProvider,
): { sent: string; got: string; lentBytesWritten: boolean } {
  const key = fixtureKey();
  const client = new ClientCore({
    username: 'alice',
    random: seededRandom(3),
    privateKeys: [key],
    algorithms: { cipher: [cipher] },
    borrowInput,
    crypto,
  });
  const server = new FakeServer({ random: seededRandom(4), authorizedKeys: [key.publicKeyBlob] });
  const ring = new Uint8Array(1500);
  const received: Uint8Array[] = [];
  let lentBytesWritten = false;
  let channel = -1;
  const drain = () => {
    for (let e: ClientEvent | undefined; (e = client.nextEvent()); ) {
      if (e.type === 'host-key') client.acceptHostKey();
      if (e.type === 'channel-data') {
        received.push(e.data); // kept as given: the core must own what it hands out
        client.channelConsumed(e.channel, e.data.length);
      }
    }
  };
  const pump = () => {
    for (let round = 0; round < 100_000; round++) {
      drain();
      let moved = false;
      for (const b of client.takeOutput() ?? []) (server.receive(b.slice()), (moved = true));
      for (const b of server.takeOutput()) {
        moved = true;
        for (let i = 0; i < b.length; i += ring.length) {
          const n = Math.min(ring.length, b.length - i);
          ring.set(b.subarray(i, i + n));
          client.receive(ring.subarray(0, n));
          // Without borrowInput the bytes are only lent: the core must not have written to them.
          if (!borrowInput && Buffer.compare(ring.subarray(0, n), b.subarray(i, i + n)) !== 0) lentBytesWritten = true;
          ring.fill(0xa5); // the transport reuses its buffer at once
          drain();
        }
      }
      if (!moved) return;
    }
  };
  client.start();
  server.start();
  pump();
  channel = client.openDirectTcpip({ host: 'localhost', port: 5432, originatorAddress: '127.0.0.1', originatorPort: 1 });
  pump();
  const data = seededRandom(9)(size);
  server.write(server.channelForClient(channel)!.id, data);
  pump();
  const all = new Uint8Array(received.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const r of received) (all.set(r, o), (o += r.length));
  return { sent: sha(data), got: sha(all), lentBytesWritten };
}

describe('the core owns the bytes it keeps (issue 8 case 2)', () => {
  for (const cipher of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes128-ctr']) {
    it(`${cipher}: a transport that overwrites its read buffer after every receive() still gets hash-correct data`, () => {
      const r = sessionThroughReusedBuffer(cipher, false, 300_000);
      expect(r.got).toBe(r.sent);
      expect(r.lentBytesWritten).toBe(false);
    });
  }

  // node:crypto decrypts into new memory: the core reads packets straight out of the lent buffer
  // (never writing to it) and hands out OpenSSL's output; a packet split across reads is
  // reassembled in a buffer the core reuses.
  for (const cipher of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes128-cbc']) {
    it(`${cipher} through node:crypto: a reused read buffer still gets hash-correct data`, () => {
      const r = sessionThroughReusedBuffer(cipher, false, 300_000, nodeCryptoProvider);
      expect(r.got).toBe(r.sent);
      expect(r.lentBytesWritten).toBe(false);
    });
  }

  it('borrowInput is a real opt-in: with a reused buffer it breaks, which is why it is not the default', () => {
    let intact = false;
    try {
      const r = sessionThroughReusedBuffer('chacha20-poly1305@openssh.com', true, 300_000);
      intact = r.got === r.sent;
    } catch {
      // the session broke down (here already during the handshake)
    }
    expect(intact).toBe(false);
  });
});
