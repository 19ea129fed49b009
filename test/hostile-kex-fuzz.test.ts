/**
 * break32: fuzz's invariant (test/fuzz.test.ts) applied to every registered key exchange method,
 * the newer ones in particular (group exchange, fixed DH groups, NIST ECDH, sntrup761 and ML-KEM
 * hybrids): a recorded handshake's server kex messages (between its KEXINIT and its NEWKEYS, in the
 * clear) get 1–4 random byte changes and are replayed into a fresh client with the same seed. The
 * client must never throw out of receive(), and if it closes, with an SshError that is not an
 * InternalError (a TypeError/RangeError from a parser would be a bug).
 */
import { describe, expect, it } from 'vitest';
import { ClientCore } from '../src/client-core.js';
import type { ClientEvent } from '../src/events.js';
import { InternalError, SshError } from '../src/errors.js';
import { kexMethods } from '../src/kex/registry.js';
import { concatBytes } from '../src/protocol/wire.js';
import { seededRandom } from './support/fake-server.js';
import { Pair, fixtureKey } from './support/pair.js';

const KEY = fixtureKey();
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

function replay(kex: string, stream: Uint8Array, oneByte: boolean, label: string): void {
  const client = new ClientCore({
    username: 'alice',
    random: seededRandom(1),
    privateKeys: [KEY],
    algorithms: { kex: [kex], cipher: LIGHT_CIPHER },
  });
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
  const closed = events.find((e) => e.type === 'closed') as Extract<ClientEvent, { type: 'closed' }> | undefined;
  if (!closed) return;
  expect(closed.error, label).toBeInstanceOf(SshError);
  expect(closed.error, `${label}: ${closed.error?.message}`).not.toBeInstanceOf(InternalError);
  const cause = closed.error!.cause as { code?: string } | undefined;
  if (cause instanceof TypeError || cause instanceof RangeError) {
    expect(cause.code, `${label}: ${closed.error!.message}`).toBe('ERR_ENCODING_INVALID_ENCODED_DATA');
  }
}

describe('mutated server kex messages, every method', () => {
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
        replay(name, m, false, `${name} mutation ${i}`);
      }
    }, 120_000);
  }
});
