/**
 * The SSH transport layer (RFC 4253), sans-IO: the packet loop, dispatch of what arrives,
 * queueing while a key exchange blocks sending, the rekey limits, and close. The identification
 * exchange is ./version.ts, the key exchange and every strict-kex rule ./handshake.ts, packet
 * framing ./packet.ts. Bytes go in through {@link Transport.receive}, bytes come out of
 * {@link Transport.takeOutput}; the layers above talk to it through {@link TransportHandler},
 * {@link Transport.send} and, for the bulk path, {@link Transport.sendChannelData}.
 */
import type { AlgorithmPreferences } from '../algorithms.js';
import { rekeyLimitBytes } from '../cipher/cipher.js';
import type { CompressionProvider, CompressionTotals } from '../compress/compressor.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { pureCryptoProvider } from '../crypto/pure.js';
import { ConnectionLostError, DisconnectError, DisconnectReason, InternalError, ProtocolError, SshError, UsageError } from '../errors.js';
import type { FingerprintHash } from '../keys/fingerprint.js';
import { MSG, decodeMessage, encodeDisconnect, encodeUnimplemented, messageName } from '../protocol/messages.js';
import { utf8 } from '../protocol/wire.js';
import { Handshake } from './handshake.js';
import type { Negotiated } from './kexinit.js';
import { PacketDecoder, PacketEncoder } from './packet.js';
import { DEFAULT_CLIENT_VERSION, VersionReader, checkClientVersion } from './version.js';

export { PURE_SSH_VERSION, DEFAULT_CLIENT_VERSION } from './version.js';

/**
 * RFC 4253 §9 and OpenSSH packet.c: by default the rekey volume follows the cipher's block size
 * (cipher.ts rekeyLimitBytes: 1 GiB for chacha20-poly1305, 64 GiB for AES); this is the
 * smallest of them, kept for callers that want a fixed figure.
 */
export const DEFAULT_REKEY_BYTES = 2 ** 30;
/** RFC 4344 §3.1 / OpenSSH: and after 2^31 packets in any case. */
export const DEFAULT_REKEY_PACKETS = 2 ** 31;

export interface TransportOptions {
  /** Cryptographically secure random bytes (injected: the core has no RNG of its own). */
  random: (n: number) => Uint8Array;
  algorithms: AlgorithmPreferences;
  /** Symmetric primitives (default: pure TypeScript). */
  crypto?: CryptoProvider;
  /** zlib streams for compression: required when `algorithms.compression` names a zlib method. */
  compression?: CompressionProvider;
  clientVersion?: string;
  /**
   * Start a key exchange after this many bytes in either direction; it can only lower the
   * cipher's own limit (cipher.ts rekeyLimitBytes). Absent or 0: the cipher's limit.
   */
  rekeyBytes?: number;
  /** ... or after this many packets (absent or 0: 2^31). */
  rekeyPackets?: number;
  /**
   * Zero copy on input: `receive()` takes ownership of the caller's buffers and decrypts them in
   * place, and events hand out views into them. Only for transports that never reuse a buffer
   * they passed in. Default false: the caller may reuse its buffer as soon as `receive()`
   * returns; packets are read out of it without writing to it, and only what must outlive the
   * call is copied (the tail of an incomplete packet, payloads of in-place ciphers).
   */
  borrowInput?: boolean;
  /**
   * Reuse output buffers: the caller reports each buffer {@link Transport.takeOutput} returned,
   * in order, with {@link Transport.outputWritten} once its write completed (a Node socket's
   * write callback), and the packet encoder refills written chunks instead of allocating new ones.
   * Only for writers whose completion means the bytes were copied out (a socket: the kernel has
   * them), not one that keeps the buffer after (a PassThrough). Default false: every buffer
   * returned stays valid for good.
   */
  recycleOutput?: boolean;
  /**
   * How the host key's fingerprint is written, in the `Server host key:` line and
   * {@link TransportHandler.hostKey}'s `fingerprint` (ssh_config(5) FingerprintHash). Default
   * SHA256 (keys/fingerprint.ts); the others are passed in, so a bundle without them carries none.
   */
  fingerprintHash?: FingerprintHash;
  /**
   * Send the identification line alone and, once the server's has been read, end with this
   * error, sending nothing more (no KEXINIT, no DISCONNECT): a failure ssh(1) meets between its
   * banner exchange and its KEXINIT, where it leaves through fatal() (sshconnect2.c ssh_kex2's
   * for a HostKeyAlgorithms list kex_assemble_names refuses).
   */
  failAfterVersion?: SshError;
}

/** What the transport tells the layers above it. */
export interface TransportHandler {
  /** The server's host key, its signature over H already verified. Answer with accept/reject. */
  hostKey(info: { algorithm: string; keyBlob: Uint8Array; fingerprint: string }): void;
  /** The first key exchange finished both ways: services may be requested. */
  ready(): void;
  /** A message for a layer above (SERVICE_ACCEPT and numbers >= 50). Return false if unknown. */
  message(payload: Uint8Array): boolean;
  /**
   * Optional, the data path: SSH_MSG_CHANNEL_DATA (RFC 4254 §5.2) as `buf[start, end)`, read in
   * place (the memory is never reused, as `message`'s payloads). Return false, having done
   * nothing, to have it go to `message` as a payload instead (e.g. a malformed one, whose error
   * `message` words).
   */
  channelData?(buf: Uint8Array, start: number, end: number): boolean;
  /** A key exchange ended (our NEWKEYS is out): queued traffic may flow again. */
  resumed(): void;
  /** RFC 8308 EXT_INFO; `first`: the connection's first (the one after the server's NEWKEYS). */
  extInfo(extensions: Map<string, Uint8Array>, first: boolean): void;
  /** Diagnostics for -v (never secrets); `level` is ssh's debug level (2, 3), 1 when absent. */
  log(message: string, level?: 2 | 3): void;
  /** The transport closed: `error` unless it was a clean close we asked for. */
  closed(error: SshError | undefined): void;
}

/** What the transport knows about the connection (for `-v`, tests and applications). */
export interface TransportInfo {
  clientVersion: string;
  serverVersion: string | undefined;
  negotiated: Negotiated | undefined;
  strictKex: boolean;
  sessionId: Uint8Array | undefined;
  kexCount: number;
  hostKey: Uint8Array | undefined;
  /**
   * The server's signature over the session identifier from the first key exchange's reply
   * (RFC 4253 §8), kept for ssh-agent's session-bind@openssh.com (OpenSSH PROTOCOL.agent §1).
   */
  hostKeySignature: Uint8Array | undefined;
  /** The crypto provider in use (`pure` or `node`). */
  cryptoProvider: string;
  /** Byte totals of the zlib streams last started per direction (ssh -v's "compress outgoing/incoming" lines). */
  compression: CompressionTotals;
}

type Phase = 'version' | 'running' | 'closed';

/** Client side of the SSH transport layer. */
export class Transport {
  private phase: Phase = 'version';
  /** EXT_INFO messages taken (RFC 8308 §2.4: at most two). */
  private extInfoReceived = 0;
  private readonly encoder: PacketEncoder;
  private readonly decoder: PacketDecoder;
  private readonly handshake: Handshake;
  private readonly version: VersionReader;
  private readonly clientVersion: string;
  private readonly crypto: CryptoProvider;
  private preamble: Uint8Array[] = [];
  /** Payloads held while a key exchange blocks sending (RFC 4253 §7.1). */
  private queued: Uint8Array[] = [];

  constructor(
    private readonly options: TransportOptions,
    private readonly handler: TransportHandler,
  ) {
    this.clientVersion = options.clientVersion ?? DEFAULT_CLIENT_VERSION;
    checkClientVersion(this.clientVersion);
    this.crypto = options.crypto ?? pureCryptoProvider;
    this.encoder = new PacketEncoder(options.random);
    if (options.recycleOutput) this.encoder.recycle();
    // Not borrowing: the caller's bytes are lent for the duration of receive() (see receive).
    this.decoder = new PacketDecoder(options.borrowInput ? 'borrow' : 'transient');
    this.version = new VersionReader((m) => handler.log(m));
    this.handshake = new Handshake(
      {
        random: options.random,
        crypto: this.crypto,
        algorithms: options.algorithms,
        clientVersion: this.clientVersion,
        compression: options.compression,
        fingerprintHash: options.fingerprintHash,
      },
      this.encoder,
      this.decoder,
      {
        hostKey: (info) => handler.hostKey(info),
        resumed: () => {
          // Traffic queued during the exchange may flow now (RFC 4253 §7.1).
          const queued = this.queued;
          this.queued = [];
          for (const p of queued) this.encoder.writePayload(p);
          handler.resumed();
        },
        finished: (first) => {
          if (first) handler.ready();
          else handler.log(`rekey done (key exchange #${this.handshake.kexCount})`);
        },
        log: (m, level) => handler.log(m, level),
      },
    );
  }

  /** Send our identification and our KEXINIT at once (no waiting for the server's, PROTOCOL.md). */
  start(): void {
    // RFC 4253 §4.2: identification string terminated by CR LF.
    this.preamble.push(utf8(this.clientVersion + '\r\n'));
    this.handler.log(`crypto provider: ${this.crypto.name}`);
    if (!this.options.failAfterVersion) this.handshake.start();
  }

  /** See {@link Handshake.prepareKex}: the client's kex key pair made ahead of the server's KEXINIT. */
  prepareKex(): boolean {
    if (this.phase === 'closed') return false;
    try {
      return this.handshake.prepareKex();
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  get info(): TransportInfo {
    const h = this.handshake;
    return {
      clientVersion: this.clientVersion,
      serverVersion: this.version.serverVersion,
      negotiated: h.negotiated,
      strictKex: h.strictKex,
      sessionId: h.sessionId,
      kexCount: h.kexCount,
      hostKey: h.hostKeyBlob,
      hostKeySignature: h.hostKeySignature,
      cryptoProvider: this.crypto.name,
      compression: h.compressionTotals,
    };
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** True while outgoing non-kex traffic must wait (our KEXINIT sent, our NEWKEYS not yet). */
  get sendBlocked(): boolean {
    return this.phase === 'closed' || this.handshake.sendBlocked;
  }

  /** Bytes received and not yet processed (diagnostics / tests). */
  get bufferedInput(): number {
    return this.decoder.buffered;
  }

  /** Whether {@link takeOutput} has bytes. */
  get outputPending(): boolean {
    return this.preamble.length > 0 || this.encoder.pending;
  }

  /**
   * Bytes to write to the socket, in order, or null. With `recycleOutput`, each stays valid until
   * reported by {@link outputWritten}.
   */
  takeOutput(): Uint8Array[] | null {
    const packets = this.encoder.take();
    if (this.preamble.length === 0) return packets;
    const out = this.preamble;
    this.preamble = [];
    this.preambleWriting += out.length;
    if (packets) out.push(...packets);
    return out;
  }

  /** Buffers from {@link takeOutput} written before the encoder's (the identification line). */
  private preambleWriting = 0;

  /**
   * With `recycleOutput`: the oldest buffer {@link takeOutput} returned and not yet reported was
   * written (`ok`), or its write failed (`ok` false: reuse stops, since the order is lost).
   */
  outputWritten(ok = true): void {
    if (this.preambleWriting > 0 && ok) {
      this.preambleWriting--;
      return;
    }
    this.encoder.written(ok);
  }

  /**
   * Send a message. During a key exchange, messages of the layers above are queued until our
   * NEWKEYS is out (RFC 4253 §7.1); transport messages go straight out.
   */
  send(payload: Uint8Array): void {
    if (this.phase === 'closed') return;
    const type = payload[0]!;
    if (type >= 50 && this.sendBlocked) {
      this.queued.push(payload);
      return;
    }
    this.encoder.writePayload(payload);
    this.checkLimits();
  }

  /**
   * The bulk path: SSH_MSG_CHANNEL_DATA (RFC 4254 §5.2) framed straight from `data[from, from +
   * length)`. Only while {@link sendBlocked} is false; returns false (nothing sent) otherwise.
   */
  sendChannelData(recipient: number, data: Uint8Array, from: number, length: number): boolean {
    if (this.sendBlocked) return false;
    this.encoder.writeChannelData(recipient, data, from, length);
    this.checkLimits();
    return true;
  }

  /** Feed bytes from the socket. Errors close the transport (reported through `closed`). */
  receive(data: Uint8Array): void {
    if (this.phase === 'closed') return;
    try {
      if (this.phase === 'version') {
        const rest = this.version.feed(data);
        if (rest === undefined) return;
        const failed = this.options.failAfterVersion;
        if (failed) return this.shut(failed);
        this.handshake.setServerVersion(this.version.serverVersion!);
        this.phase = 'running';
        data = rest;
      }
      this.decoder.push(data);
      this.pump();
    } catch (err) {
      this.fail(err);
    } finally {
      // Without borrowInput the caller may reuse its buffer once we return.
      this.decoder.release();
    }
  }

  /** Accept the host key offered through `handler.hostKey` (first key exchange). */
  acceptHostKey(): void {
    try {
      this.handshake.acceptHostKey();
      this.pump();
    } catch (err) {
      if (err instanceof UsageError) throw err;
      this.fail(err);
    }
  }

  /**
   * Refuse the host key: the connection is closed with `error`, after a DISCONNECT unless
   * `disconnect` is false (ssh(1)'s fatal(): nothing more is sent, the TCP connection closes).
   */
  rejectHostKey(error: SshError, disconnect = true): void {
    if (!this.handshake.awaitingVerdict) return;
    // RFC 4253 §11.1: reason 9, host key not verifiable.
    if (disconnect) this.close(DisconnectReason.HOST_KEY_NOT_VERIFIABLE, 'host key verification failed', error);
    else this.shut(error);
  }

  /**
   * The user authentication layer accepted USERAUTH_SUCCESS (called while it is dispatched):
   * delayed compression starts with the next packet each way (OpenSSH PROTOCOL §1.2).
   */
  userauthSuccess(): void {
    this.handshake.userauthSuccess();
  }

  /**
   * Packets sent plus received since each direction's keys last changed (the counters NEWKEYS
   * resets): OpenSSH packet.c ssh_packet_need_rekeying starts no rekey while both are 0.
   */
  get packetsSinceNewKeys(): number {
    return this.encoder.counters.packets + this.decoder.counters.packets;
  }

  /** Start a key exchange now (RFC 4253 §9); a no-op while one is under way. */
  rekey(): void {
    if (this.phase === 'running') this.handshake.start();
  }

  /**
   * Send DISCONNECT (RFC 4253 §11.1) and close. `error` is what the layers above are told
   * (undefined for a clean, requested close).
   */
  close(reason: number = DisconnectReason.BY_APPLICATION, description = 'disconnected by user', error?: SshError): void {
    if (this.phase === 'closed') return;
    // A DISCONNECT can always be sent, even during a key exchange (RFC 4253 §7.1 lists it).
    this.encoder.writePayload(encodeDisconnect(reason, description));
    this.shut(error);
  }

  /** A DISCONNECT queued, the end left to {@link connectionLost} (ClientCore.queueDisconnect). */
  queueDisconnect(reason: number, description: string): void {
    if (this.phase === 'closed') return;
    this.encoder.writePayload(encodeDisconnect(reason, description));
  }

  /** The socket went away under us. */
  connectionLost(error: SshError): void {
    if (this.phase === 'closed') return;
    // OpenSSH packet.c: a CBC packet that failed was logged at once; the discard was cut short.
    const discarding = this.decoder.discarding;
    if (discarding !== null && error instanceof ConnectionLostError) error.discarding ??= discarding;
    this.shut(error);
  }

  dispose(): void {
    this.handshake.dispose();
    this.encoder.dispose();
    this.decoder.dispose();
  }

  private shut(error: SshError | undefined): void {
    this.phase = 'closed';
    this.queued = [];
    this.handler.closed(error);
  }

  private pump(): void {
    const d = this.decoder;
    while (this.phase === 'running' && !this.handshake.awaitingVerdict) {
      // The volume received is looked at per packet (checkLimits): a batch of many packets from
      // one read would otherwise carry the exchange up to a whole batch past RekeyLimit
      // (OpenSSH's client loop looks after each read of at most a few packets).
      if (d.counters.bytes >= this.recvLimit.bytes) this.checkLimits();
      const buf = d.nextInPlace();
      if (buf === null) break;
      const start = d.payloadStart;
      const end = d.payloadEnd;
      // The data path reads CHANNEL_DATA where it lies: one view fewer per message.
      if (buf[start] === MSG.CHANNEL_DATA && this.handler.channelData !== undefined) {
        if (!this.handshake.screen(MSG.CHANNEL_DATA)) continue;
        if (this.handshake.sessionId !== undefined && this.handshake.kexCount > 0 && this.handler.channelData(buf, start, end)) continue;
        this.route(buf.subarray(start, end), MSG.CHANNEL_DATA);
        continue;
      }
      this.dispatch(buf.subarray(start, end));
    }
    this.checkLimits();
  }

  /**
   * RFC 4253 §9: rekey after the cipher's volume limit or the packet limit, either direction.
   * Runs after every packet sent and every batch received (and within a batch once the volume
   * received reaches its limit): the limits are worked out once per
   * cipher (block size), not per packet. OpenSSH packet.c ssh_packet_need_rekeying: never before
   * authentication, and at least one packet either way per key exchange, so a tiny RekeyLimit
   * still makes progress.
   */
  private checkLimits(): void {
    if (this.phase !== 'running' || this.handshake.inProgress || !this.handshake.authenticated) return;
    if (this.packetsSinceNewKeys === 0) return;
    const s = this.encoder.counters;
    const r = this.decoder.counters;
    const packets = usableLimit(this.options.rekeyPackets) ?? DEFAULT_REKEY_PACKETS;
    if (
      s.bytes >= this.volumeLimit(this.sendLimit, this.encoder.blockSize) ||
      r.bytes >= this.volumeLimit(this.recvLimit, this.decoder.blockSize) ||
      s.packets >= packets ||
      r.packets >= packets
    ) {
      this.handshake.start();
    }
  }

  /** Each direction's volume limit, bytes, and the block size it was worked out for. */
  private readonly sendLimit = { blockSize: -1, bytes: 0 };
  private readonly recvLimit = { blockSize: -1, bytes: 0 };

  /** `limit` for a cipher of `blockSize`: RekeyLimit's volume or the cipher's, the smaller. */
  private volumeLimit(limit: { blockSize: number; bytes: number }, blockSize: number): number {
    if (blockSize !== limit.blockSize) {
      limit.blockSize = blockSize;
      // Never above the cipher's own limit, whatever rekeyBytes is (NaN must not switch it off).
      limit.bytes = Math.min(usableLimit(this.options.rekeyBytes) ?? Infinity, rekeyLimitBytes(blockSize));
    }
    return limit.bytes;
  }

  private dispatch(payload: Uint8Array): void {
    const type = payload[0]!;
    // RFC 4250 §4.1.1 leaves 0 unassigned and 192–255 to local use: never valid from a peer.
    // OpenSSH's packet.c (ssh_packet_read_poll2) refuses them at any time, before any other check,
    // with this DISCONNECT text; before this, after the key exchange they got UNIMPLEMENTED.
    if (type === 0 || type >= 192) throw new ProtocolError(`Invalid ssh2 packet type: ${type}`);
    if (!this.handshake.screen(type)) return;
    this.route(payload, type);
  }

  /** {@link dispatch} once the handshake has screened the message. */
  private route(payload: Uint8Array, type: number): void {
    if (type >= 20 && type <= 49) {
      // Only the message the exchange waits for reaches it; any other is logged, answered
      // UNIMPLEMENTED (RFC 4253 §11.4) and dropped, or ends the connection, as ssh(1) 9.2
      // (Handshake.refusal).
      const refusal = this.handshake.refusal(type);
      if (refusal === undefined) return this.handshake.receive(payload);
      this.handler.log(`${refusal}: type ${type} seq ${this.decoder.lastSeq}`);
      this.send(encodeUnimplemented(this.decoder.lastSeq));
      return;
    }

    switch (type) {
      case MSG.DISCONNECT: {
        const m = decodeMessage(payload);
        if (m?.type !== MSG.DISCONNECT) return;
        return this.shut(new DisconnectError(m.reason, m.description));
      }
      case MSG.IGNORE:
        decodeMessage(payload);
        return;
      case MSG.DEBUG: {
        const m = decodeMessage(payload);
        if (m?.type === MSG.DEBUG) this.handler.log(`server debug: ${m.message}`);
        return;
      }
      case MSG.UNIMPLEMENTED: {
        const m = decodeMessage(payload);
        if (m?.type === MSG.UNIMPLEMENTED) this.handler.log(`server did not implement our packet ${m.seq}`);
        return;
      }
      case MSG.EXT_INFO: {
        // RFC 8308 §2.4: only after the server's first NEWKEYS or just before USERAUTH_SUCCESS.
        // One before that NEWKEYS came in the clear, with no MAC, whoever wrote it: never acted
        // on (below, as any other number then; OpenSSH 10 kex.c kex_input_newkeys is where its
        // handler is set). After USERAUTH_SUCCESS it is no longer expected (below: as ssh, a
        // protocol error).
        if (!this.handshake.newKeysReceived || this.handshake.authenticated) break;
        // OpenSSH 10 kex.c kex_input_ext_info: at most two from a server, those two occasions;
        // a third is dispatch_protocol_error's (logged, UNIMPLEMENTED, not fatal).
        if (++this.extInfoReceived > 2) {
          this.handler.log('too many SSH2_MSG_EXT_INFO messages sent by peer');
          this.handler.log(`dispatch_protocol_error: type ${type} seq ${this.decoder.lastSeq}`);
          this.send(encodeUnimplemented(this.decoder.lastSeq));
          return;
        }
        const m = decodeMessage(payload);
        if (m?.type === MSG.EXT_INFO) this.handler.extInfo(m.extensions, this.extInfoReceived === 1);
        return;
      }
    }

    if (this.handshake.sessionId === undefined || this.handshake.kexCount === 0) {
      // OpenSSH kex.c kex_reset_dispatch: until the first exchange completes, a transport message
      // (1–19, RFC 4250 §4.1.2) that is not the exchange's is kex_protocol_error's: logged at
      // ERROR, answered UNIMPLEMENTED (RFC 4253 §11.4), and otherwise ignored, when the exchange
      // is not strict. A strict one never gets here (Handshake.screen throws during the exchange,
      // and before the server's KEXINIT counts the packet, which that KEXINIT then refuses:
      // OpenSSH PROTOCOL §1.9). Numbers from 50 have no handler yet: ssh(1) ends there too.
      if (type < 20) {
        this.handler.log(`kex_protocol_error: type ${type} seq ${this.decoder.lastSeq}`);
        this.send(encodeUnimplemented(this.decoder.lastSeq));
        return;
      }
      throw new ProtocolError(`unexpected ${messageName(type)} before the first key exchange completed`);
    }
    if (!this.handshake.authenticated) {
      // OpenSSH sshconnect2.c ssh_userauth2: until USERAUTH_SUCCESS every number has
      // input_userauth_error (fatal) but SERVICE_ACCEPT, EXT_INFO (above) and the user
      // authentication ones (RFC 4250 §4.1.2: 50–79) the method in progress takes.
      if ((type === MSG.SERVICE_ACCEPT || (type >= 50 && type <= 79)) && this.handler.message(payload)) return;
      throw new ProtocolError(`bad message during authentication: type ${type}`);
    }
    // RFC 4254: after authentication the connection protocol (80–127) is all the client takes.
    if (type >= 80 && type <= 127 && this.handler.message(payload)) return;
    // RFC 4253 §11.4: UNIMPLEMENTED for the rest, logged as ssh(1) 9.2 does (clientloop.c
    // client_init_dispatch: dispatch_protocol_error, INFO; Handshake.afterAuthenticationRefusal).
    this.handler.log(`${this.handshake.afterAuthenticationRefusal(type)}: type ${type} seq ${this.decoder.lastSeq}`);
    this.send(encodeUnimplemented(this.decoder.lastSeq));
  }

  private fail(err: unknown): void {
    if (this.phase === 'closed') return;
    const error =
      err instanceof SshError
        ? err
        : new InternalError(`internal error while processing the server's data: ${(err as Error)?.message ?? err}`, {
            cause: err,
          });
    const reason = error instanceof ProtocolError ? error.reason : DisconnectReason.PROTOCOL_ERROR;
    this.close(reason, error.message.slice(0, 200), error);
  }
}

/**
 * A rekey limit (bytes or packets) as given: a positive number, or undefined for the default
 * (absent, 0 as OpenSSH's RekeyLimit 0, and anything not a positive number, such as NaN, which
 * would otherwise make every `count >= limit` comparison false and so switch rekeying off).
 */
function usableLimit(v: number | undefined): number | undefined {
  return typeof v === 'number' && v > 0 ? v : undefined;
}
