/**
 * A ClientCore and a FakeServer joined by an in-memory link (h11's ConnectionPair, Go's
 * mempipe): `pump()` moves bytes both ways until neither side has anything to say. All
 * randomness is seeded, so a run is reproducible byte for byte.
 */
import { readFileSync } from 'node:fs';
import { ClientCore, type ClientCoreOptions } from '../../src/client-core.js';
import type { ClientEvent } from '../../src/events.js';
import { parsePrivateKey, type PrivateKey } from '../../src/keys/privatekey.js';
import { FakeServer, seededRandom, type FakeServerOptions } from './fake-server.js';

/** The alice@example ed25519 test key from test/fixtures. */
export function fixtureKey(): PrivateKey {
  return parsePrivateKey(readFileSync(new URL('../fixtures/id_ed25519', import.meta.url), 'utf8'), 'id_ed25519');
}

export interface PairOptions {
  client?: Partial<ClientCoreOptions>;
  server?: FakeServerOptions;
  /** Accept the host key automatically (default true). */
  autoAccept?: boolean;
  /** Split every transfer into pieces of at most this many bytes (default: whole). */
  chunk?: number;
  seed?: number;
}

/** Client + server + link. */
export class Pair {
  readonly client: ClientCore;
  readonly server: FakeServer;
  /** Every event the client emitted, in order. */
  readonly events: ClientEvent[] = [];
  /** Bytes the client wrote, in order (for wire-level assertions). */
  readonly clientWire: Uint8Array[] = [];
  private readonly autoAccept: boolean;
  /** Split every delivery into pieces of at most this many bytes (undefined: whole). */
  chunk: number | undefined;
  /** Every byte the server wrote, in order (a recording to replay into a fresh client). */
  readonly serverWire: Uint8Array[] = [];
  /** Transform client→server bytes (e.g. to drop or corrupt). */
  toServer: ((b: Uint8Array) => Uint8Array | null) | undefined;
  /** Transform server→client bytes. */
  toClient: ((b: Uint8Array) => Uint8Array | null) | undefined;
  /** Called for every client event as it is drained (to react, e.g. consume data). */
  onEvent: ((e: ClientEvent, pair: Pair) => void) | undefined;

  constructor(options: PairOptions = {}) {
    const seed = options.seed ?? 1;
    const key = options.client?.privateKeys ?? [fixtureKey()];
    this.client = new ClientCore({
      username: 'alice',
      random: seededRandom(seed),
      privateKeys: key,
      ...options.client,
    });
    this.server = new FakeServer({
      random: seededRandom(seed * 7919 + 1),
      authorizedKeys: key.map((k) => k.publicKeyBlob),
      ...options.server,
    });
    this.autoAccept = options.autoAccept ?? true;
    this.chunk = options.chunk;
  }

  /** Start both sides and pump. */
  start(): this {
    this.client.start();
    this.server.start();
    this.pump();
    return this;
  }

  private deliver(to: 'client' | 'server', bytes: Uint8Array): void {
    const step = this.chunk ?? bytes.length;
    for (let i = 0; i < bytes.length; i += Math.max(1, step)) {
      const piece = bytes.slice(i, i + Math.max(1, step));
      if (to === 'client') this.client.receive(piece);
      else this.server.receive(piece);
    }
  }

  /** Drain client events (recording them, auto-accepting the host key). */
  drainEvents(): void {
    for (let e = this.client.nextEvent(); e; e = this.client.nextEvent()) {
      this.events.push(e);
      if (e.type === 'host-key' && this.autoAccept) this.client.acceptHostKey();
      this.onEvent?.(e, this);
    }
  }

  /** Move bytes both ways until quiet (bounded: throws if it never settles). */
  pump(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.drainEvents();
      let moved = false;
      for (const b of this.client.takeOutput() ?? []) {
        this.clientWire.push(b.slice());
        const t = this.toServer ? this.toServer(b.slice()) : b.slice();
        if (t && t.length > 0) {
          moved = true;
          this.deliver('server', t);
        }
      }
      for (const b of this.server.takeOutput()) {
        this.serverWire.push(b.slice());
        const t = this.toClient ? this.toClient(b) : b;
        if (t && t.length > 0) {
          moved = true;
          this.deliver('client', t);
        }
      }
      this.drainEvents();
      if (!moved) return;
    }
    throw new Error('pair did not settle');
  }

  /** Events of one type. */
  eventsOf<T extends ClientEvent['type']>(type: T): Extract<ClientEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<ClientEvent, { type: T }>[];
  }

  /** The closed event's error, if the client closed. */
  get closedError(): Error | undefined {
    const c = this.eventsOf('closed');
    return c.length > 0 ? c[0]!.error : undefined;
  }

  /** Data received by the client on `channel`, concatenated. */
  clientData(channel: number): Uint8Array {
    const parts = this.eventsOf('channel-data').filter((e) => e.channel === channel);
    const n = parts.reduce((a, p) => a + p.data.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p.data, o);
      o += p.data.length;
    }
    return out;
  }

  /** Start, authenticate, and open one direct-tcpip channel confirmed by the server. */
  openChannel(opts?: { window?: number; maxPacket?: number }): number {
    const id = this.client.openDirectTcpip({ host: 'localhost', port: 5432, originatorAddress: '127.0.0.1', originatorPort: 50000 }, opts);
    this.pump();
    return id;
  }
}
