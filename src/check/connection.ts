/**
 * A probe-capable SSH transport for pure-ssh-check: the packet layer of src/transport (framing,
 * MAC/AEAD, sequence numbers) driven step by step, so a probe can send exactly the bytes it needs
 * (an IGNORE in the middle of a key exchange, a packet with a stale sequence number, a broken
 * MAC) and see what the server does. The client core is not used here: it would refuse to send
 * any of that.
 *
 * No sockets and no timers: bytes move through an injected {@link ProbeLink}, which also owns
 * the clock (each read has a budget in milliseconds).
 */
import type { PacketCipher } from '../cipher/cipher.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SshError } from '../errors.js';
import type { Random } from '../kex/kex.js';
import { MSG } from '../protocol/messages.js';
import { SshReader, utf8 } from '../protocol/wire.js';
import { PacketDecoder, PacketEncoder } from '../transport/packet.js';
import { VersionReader } from '../transport/version.js';

/** A byte stream to the server under test (a TCP socket in the Node adapter). */
export interface ProbeLink {
  write(bytes: Uint8Array): void;
  /**
   * The next bytes from the server: `null` once the server closed the stream, `'timeout'` when
   * nothing arrived within `timeoutMs` milliseconds.
   */
  read(timeoutMs: number): Promise<Uint8Array | null | 'timeout'>;
  /** Close the stream (idempotent). */
  close(): void;
}

/** Opens a fresh link to the server: every probe runs on its own connection. */
export type LinkFactory = () => Promise<ProbeLink>;

/** What came back from the server. */
export type Incoming =
  | { kind: 'packet'; type: number; payload: Uint8Array; seq: number }
  /** RFC 4253 §11.1 SSH_MSG_DISCONNECT. */
  | { kind: 'disconnect'; reason: number; description: string }
  /** The stream closed without a DISCONNECT. */
  | { kind: 'closed' }
  | { kind: 'timeout' }
  /** What the server sent could not be read (bad MAC, bad length): a broken peer. */
  | { kind: 'broken'; error: SshError };

/** True when the server ended the connection (DISCONNECT or close). */
export function isTermination(e: Incoming): boolean {
  return e.kind === 'disconnect' || e.kind === 'closed';
}

/** A wait's budget as `-t` gives it: `5 s`, `0.5 s`. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * One-line description of what arrived, for a finding's detail; with the wait's budget a
 * timeout reads `no answer within 5 s`.
 */
export function describeIncoming(e: Incoming, timeoutMs?: number): string {
  switch (e.kind) {
    case 'packet':
      return `message ${e.type}`;
    case 'disconnect':
      return `DISCONNECT (reason ${e.reason}) "${e.description}"`;
    case 'closed':
      return 'connection closed';
    case 'timeout':
      return timeoutMs === undefined ? 'no answer' : `no answer within ${seconds(timeoutMs)}`;
    case 'broken':
      return `unreadable reply (${e.error.message})`;
  }
}

/** A connection whose every packet the probe chooses. */
export class ProbeConnection {
  readonly encoder: PacketEncoder;
  readonly decoder = new PacketDecoder();
  private readonly version = new VersionReader(() => {});
  private pendingAfterVersion: Uint8Array | undefined;
  private ended: Incoming | undefined;
  /** V_S without CR LF, once read. */
  serverVersion: string | undefined;

  constructor(
    readonly link: ProbeLink,
    readonly random: Random,
    readonly crypto: CryptoProvider,
  ) {
    this.encoder = new PacketEncoder(random);
  }

  /** RFC 4253 §4.2: our identification line. */
  sendVersion(clientVersion: string): void {
    this.link.write(utf8(clientVersion + '\r\n'));
  }

  /** Frame, protect and send one payload under the keys in force. */
  send(payload: Uint8Array): number {
    const seq = this.encoder.seq;
    this.encoder.writePayload(payload);
    this.flush();
    return seq;
  }

  /** Send raw bytes (a hand-made packet). */
  sendBytes(bytes: Uint8Array): void {
    this.flush();
    this.link.write(bytes);
  }

  /**
   * Frame a payload and hand it to `mutate` before it goes out (flip a MAC byte, ...). The
   * sequence number advances as for any packet.
   */
  sendMutated(payload: Uint8Array, mutate: (packet: Uint8Array) => void): void {
    this.flush();
    this.encoder.writePayload(payload);
    const parts = this.encoder.take() ?? [];
    let n = 0;
    for (const p of parts) n += p.length;
    const packet = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
      packet.set(p, off);
      off += p.length;
    }
    mutate(packet);
    this.link.write(packet);
  }

  private flush(): void {
    const out = this.encoder.take();
    if (out) for (const b of out) this.link.write(b);
  }

  /** Switch the sending side to new keys (after our NEWKEYS, RFC 4253 §7.3). */
  setSendCipher(cipher: PacketCipher): void {
    this.encoder.setCipher(cipher);
  }

  /** Switch the receiving side (after the server's NEWKEYS). */
  setReceiveCipher(cipher: PacketCipher): void {
    this.decoder.setCipher(cipher);
  }

  /** Read the server's identification line (RFC 4253 §4.2) within `timeoutMs`. */
  async readVersion(timeoutMs: number): Promise<Incoming | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.serverVersion === undefined) {
      const data = await this.link.read(Math.max(1, deadline - Date.now()));
      if (data === 'timeout') return { kind: 'timeout' };
      if (data === null) return { kind: 'closed' };
      let rest: Uint8Array | undefined;
      try {
        rest = this.version.feed(data);
      } catch (error) {
        return { kind: 'broken', error: error as SshError };
      }
      if (rest !== undefined) {
        this.serverVersion = this.version.serverVersion;
        if (rest.length > 0) this.decoder.push(rest);
      }
    }
    return undefined;
  }

  /**
   * The next packet within `timeoutMs`, or how the connection ended. A DISCONNECT is reported
   * as such; after a termination every further call reports it again.
   */
  async next(timeoutMs: number): Promise<Incoming> {
    if (this.ended) return this.ended;
    if (this.serverVersion === undefined) {
      const v = await this.readVersion(timeoutMs);
      if (v) return this.end(v);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let payload: Uint8Array | null;
      try {
        payload = this.decoder.next();
      } catch (error) {
        if (error instanceof SshError) return this.end({ kind: 'broken', error });
        throw error;
      }
      if (payload !== null) {
        const type = payload[0]!;
        if (type === MSG.DISCONNECT) {
          try {
            const r = new SshReader(payload, 1);
            return this.end({ kind: 'disconnect', reason: r.uint32(), description: r.utf8() });
          } catch {
            return this.end({ kind: 'disconnect', reason: 0, description: '(malformed DISCONNECT)' });
          }
        }
        return { kind: 'packet', type, payload: payload.slice(), seq: this.decoder.lastSeq };
      }
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout' };
      const data = await this.link.read(left);
      if (data === 'timeout') return { kind: 'timeout' };
      if (data === null) return this.end({ kind: 'closed' });
      this.decoder.push(data);
    }
  }

  private end(e: Incoming): Incoming {
    if (e.kind !== 'timeout') this.ended = e;
    return e;
  }

  close(): void {
    this.link.close();
    this.encoder.dispose();
    this.decoder.dispose();
  }
}
