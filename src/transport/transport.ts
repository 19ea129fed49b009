/**
 * The SSH transport layer state machine (RFC 4253), sans-IO: identification exchange, key
 * exchange and rekeying, strict kex (OpenSSH PROTOCOL §1.9), EXT_INFO (RFC 8308) and the
 * generic transport messages. Bytes go in through {@link Transport.receive}, bytes come out of
 * {@link Transport.takeOutput}; everything above the transport talks to it through
 * {@link TransportHandler} and {@link Transport.send}.
 *
 * Every state transition of the key exchange lives in this file (h11's "Rule 1").
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { AlgorithmPreferences } from '../algorithms.js';
import { cipherAlgorithms } from '../algorithms.js';
import {
  DisconnectError,
  DisconnectReason,
  ProtocolError,
  SshError,
  UsageError,
} from '../errors.js';
import { fingerprintSha256, verifyHostKeySignature } from '../keys/hostkey.js';
import {
  curve25519GenerateKeyPair,
  curve25519SharedSecret,
  deriveKey,
  exchangeHashCurve25519,
} from '../kex/curve25519.js';
import type { KexInit, Negotiated } from './kexinit.js';
import { decodeKexInit, encodeKexInit, guessWasWrong, negotiate } from './kexinit.js';
import {
  MSG,
  decodeMessage,
  encodeDisconnect,
  encodeKexEcdhInit,
  encodeNewKeys,
  encodeUnimplemented,
  messageName,
} from '../protocol/messages.js';
import { PacketDecoder, PacketEncoder } from './packet.js';
import { constantTimeEqual, utf8 } from '../protocol/wire.js';

/** The version this build announces (RFC 4253 §4.2 softwareversion). */
export const PURE_SSH_VERSION = '0.1.0';
export const DEFAULT_CLIENT_VERSION = `SSH-2.0-pure_ssh_${PURE_SSH_VERSION}`;

/** RFC 4253 §9 and PROTOCOL.md: rekey after 1 GiB with chacha20-poly1305 (block size 8 → 2^30). */
export const DEFAULT_REKEY_BYTES = 2 ** 30;
/** RFC 4344 §3.1 / OpenSSH: and after 2^31 packets in any case. */
export const DEFAULT_REKEY_PACKETS = 2 ** 31;

// RFC 4253 §4.2: lines before the version line, each at most 255 bytes; OpenSSH caps their number.
const MAX_BANNER_LINE = 255;
const MAX_PRE_BANNER_LINES = 1024;

const KEX_STRICT_CLIENT = 'kex-strict-c-v00@openssh.com';
const KEX_STRICT_SERVER = 'kex-strict-s-v00@openssh.com';
const EXT_INFO_CLIENT = 'ext-info-c';

export interface TransportOptions {
  /** Cryptographically secure random bytes (injected: the core has no RNG of its own). */
  random: (n: number) => Uint8Array;
  algorithms: AlgorithmPreferences;
  clientVersion?: string;
  /** Start a key exchange after this many bytes in either direction (default 1 GiB). */
  rekeyBytes?: number;
  /** ... or after this many packets (default 2^31). */
  rekeyPackets?: number;
}

/** What the transport tells the layers above it. */
export interface TransportHandler {
  /** The server's host key, its signature over H already verified. Answer with accept/reject. */
  hostKey(info: { algorithm: string; keyBlob: Uint8Array; fingerprint: string }): void;
  /** The first key exchange finished both ways: services may be requested. */
  ready(): void;
  /** A message for a layer above (SERVICE_ACCEPT and numbers >= 50). Return false if unknown. */
  message(payload: Uint8Array): boolean;
  /** A key exchange ended (our NEWKEYS is out): queued traffic may flow again. */
  resumed(): void;
  /** RFC 8308 EXT_INFO. */
  extInfo(extensions: Map<string, Uint8Array>): void;
  /** Diagnostics for -v (never secrets). */
  log(message: string): void;
  /** The transport closed: `error` unless it was a clean close we asked for. */
  closed(error: SshError | undefined): void;
}

interface KexContext {
  ourKexInit: Uint8Array;
  ours: KexInit;
  theirKexInit?: Uint8Array;
  theirs?: KexInit;
  negotiated?: Negotiated;
  ecdhPrivate?: Uint8Array;
  ecdhPublic?: Uint8Array;
  /** Keys derived, waiting for the host key verdict or our NEWKEYS. */
  pending?: { outgoing: () => void; incoming: () => void };
  newKeysSent: boolean;
  newKeysReceived: boolean;
}

type Phase =
  | { kind: 'version' } // reading the server's identification line
  | { kind: 'kex'; ctx: KexContext } // a key exchange is under way
  | { kind: 'verifying'; ctx: KexContext } // waiting for the host key verdict (input paused)
  | { kind: 'open' } // keys in force, no exchange under way
  | { kind: 'closed' };

export interface TransportInfo {
  clientVersion: string;
  serverVersion: string | undefined;
  negotiated: Negotiated | undefined;
  strictKex: boolean;
  sessionId: Uint8Array | undefined;
  kexCount: number;
  hostKey: Uint8Array | undefined;
}

/** Client side of the SSH transport layer. */
export class Transport {
  private phase: Phase = { kind: 'version' };
  private readonly encoder: PacketEncoder;
  private readonly decoder = new PacketDecoder();
  private readonly clientVersion: string;
  private serverVersion: string | undefined;
  private versionBuf: number[] = [];
  private preBannerLines = 0;
  private preamble: Uint8Array[] = [];
  private sessionId: Uint8Array | undefined;
  private hostKeyBlob: Uint8Array | undefined;
  private negotiated: Negotiated | undefined;
  private strict = false;
  private firstKex = true;
  private packetsBeforeServerKexInit = 0;
  private ignoreNextKexPacket = false;
  private kexCount = 0;
  /** Payloads held while a key exchange blocks sending (RFC 4253 §7.1). */
  private queued: Uint8Array[] = [];
  private readonly rekeyBytes: number;
  private readonly rekeyPackets: number;

  constructor(
    private readonly options: TransportOptions,
    private readonly handler: TransportHandler,
  ) {
    this.encoder = new PacketEncoder(options.random);
    this.clientVersion = options.clientVersion ?? DEFAULT_CLIENT_VERSION;
    if (!this.clientVersion.startsWith('SSH-2.0-') || /[\r\n]/.test(this.clientVersion)) {
      throw new UsageError(`client version must start with "SSH-2.0-" and be one line: ${this.clientVersion}`);
    }
    this.rekeyBytes = options.rekeyBytes ?? DEFAULT_REKEY_BYTES;
    this.rekeyPackets = options.rekeyPackets ?? DEFAULT_REKEY_PACKETS;
  }

  /** Send our identification and our KEXINIT at once (no waiting for the server's, PROTOCOL.md). */
  start(): void {
    // RFC 4253 §4.2: identification string terminated by CR LF.
    this.preamble.push(utf8(this.clientVersion + '\r\n'));
    this.startKex();
  }

  get info(): TransportInfo {
    return {
      clientVersion: this.clientVersion,
      serverVersion: this.serverVersion,
      negotiated: this.negotiated,
      strictKex: this.strict,
      sessionId: this.sessionId,
      kexCount: this.kexCount,
      hostKey: this.hostKeyBlob,
    };
  }

  get isClosed(): boolean {
    return this.phase.kind === 'closed';
  }

  /** True while outgoing non-kex traffic must wait (our KEXINIT sent, our NEWKEYS not yet). */
  get sendBlocked(): boolean {
    const p = this.phase;
    if (p.kind === 'open') return false;
    if (p.kind === 'kex' || p.kind === 'verifying') return !p.ctx.newKeysSent;
    return true;
  }

  /** The encoder, for the connection layer's zero-copy CHANNEL_DATA path. Check sendBlocked first. */
  get packets(): PacketEncoder {
    return this.encoder;
  }

  /** Bytes received and not yet processed (diagnostics / tests). */
  get bufferedInput(): number {
    return this.decoder.buffered;
  }

  /** Whether {@link takeOutput} has bytes. */
  get outputPending(): boolean {
    return this.preamble.length > 0 || this.encoder.pending;
  }

  /** Bytes to write to the socket, in order, or null. */
  takeOutput(): Uint8Array[] | null {
    const packets = this.encoder.take();
    if (this.preamble.length === 0) return packets;
    const out = this.preamble;
    this.preamble = [];
    if (packets) out.push(...packets);
    return out;
  }

  /**
   * Send a message. During a key exchange, messages of the layers above are queued until our
   * NEWKEYS is out (RFC 4253 §7.1); transport messages go straight out.
   */
  send(payload: Uint8Array): void {
    if (this.phase.kind === 'closed') return;
    const type = payload[0]!;
    if (type >= 50 && this.sendBlocked) {
      this.queued.push(payload);
      return;
    }
    this.encoder.writePayload(payload);
    this.afterSend();
  }

  /** Call after writing packets directly to {@link packets}: checks the rekey limits. */
  afterSend(): void {
    if (this.phase.kind === 'open' && this.limitsReached()) this.startKex();
  }

  /** Feed bytes from the socket. Errors close the transport (reported through `closed`). */
  receive(data: Uint8Array): void {
    if (this.phase.kind === 'closed') return;
    try {
      if (this.phase.kind === 'version') {
        data = this.readVersion(data);
        if (this.phase.kind === 'version') return;
      }
      this.decoder.push(data);
      this.pump();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Accept the host key offered through `handler.hostKey` (first key exchange). */
  acceptHostKey(): void {
    const p = this.phase;
    if (p.kind !== 'verifying') throw new UsageError('no host key is waiting for a verdict');
    this.phase = { kind: 'kex', ctx: p.ctx };
    try {
      this.sendNewKeys(p.ctx);
      this.pump();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Refuse the host key: the connection is closed with `error`. */
  rejectHostKey(error: SshError): void {
    if (this.phase.kind !== 'verifying') return;
    // RFC 4253 §11.1: reason 9, host key not verifiable.
    this.close(DisconnectReason.HOST_KEY_NOT_VERIFIABLE, 'host key verification failed', error);
  }

  /** Start a key exchange now (RFC 4253 §9); a no-op while one is under way. */
  rekey(): void {
    if (this.phase.kind === 'open') this.startKex();
  }

  /**
   * Send DISCONNECT (RFC 4253 §11.1) and close. `error` is what the layers above are told
   * (undefined for a clean, requested close).
   */
  close(reason: number = DisconnectReason.BY_APPLICATION, description = 'disconnected by user', error?: SshError): void {
    if (this.phase.kind === 'closed') return;
    // A DISCONNECT can always be sent, even during a key exchange (RFC 4253 §7.1 lists it).
    this.encoder.writePayload(encodeDisconnect(reason, description));
    this.phase = { kind: 'closed' };
    this.queued = [];
    this.handler.closed(error);
  }

  /** The socket went away under us. */
  connectionLost(error: SshError): void {
    if (this.phase.kind === 'closed') return;
    this.phase = { kind: 'closed' };
    this.queued = [];
    this.handler.closed(error);
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
  }

  // ---- identification (RFC 4253 §4.2) ----

  private readVersion(data: Uint8Array): Uint8Array {
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      if (c !== 0x0a) {
        // RFC 4253 §4.2: 255 characters including CR LF.
        if (this.versionBuf.length >= MAX_BANNER_LINE - 1) {
          throw new ProtocolError(
            `the server's identification (or a line before it) is longer than ${MAX_BANNER_LINE} bytes; is this an SSH server?`,
          );
        }
        this.versionBuf.push(c);
        continue;
      }
      let line = this.versionBuf;
      this.versionBuf = [];
      if (line[line.length - 1] === 0x0d) line = line.slice(0, -1);
      const text = String.fromCharCode(...line);
      if (text.startsWith('SSH-')) {
        // RFC 4253 §5.1: 1.99 means a server that also speaks 2.0.
        if (!text.startsWith('SSH-2.0-') && !text.startsWith('SSH-1.99-')) {
          throw new ProtocolError(`Protocol major versions differ: server sent "${text}", pure-ssh speaks SSH-2.0`, {
            reason: DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
          });
        }
        if (line.some((b) => b < 0x20 || b > 0x7e)) {
          throw new ProtocolError('the server identification string contains non-printable characters');
        }
        this.serverVersion = text;
        this.handler.log(`Remote protocol version 2.0, remote software version ${text.split('-').slice(2).join('-')}`);
        this.phase = this.phase.kind === 'version' && this.kexCtx ? { kind: 'kex', ctx: this.kexCtx } : { kind: 'open' };
        return data.subarray(i + 1);
      }
      if (++this.preBannerLines > MAX_PRE_BANNER_LINES) {
        throw new ProtocolError(`the server sent more than ${MAX_PRE_BANNER_LINES} lines before its identification`);
      }
      this.handler.log(`server banner line: ${text}`);
    }
    return data.subarray(data.length);
  }

  /** The key exchange started by start() before the server's version arrived. */
  private kexCtx: KexContext | undefined;

  // ---- packets ----

  private pump(): void {
    while (this.phase.kind !== 'closed' && this.phase.kind !== 'verifying') {
      const payload = this.decoder.next();
      if (payload === null) break;
      this.dispatch(payload);
    }
    if (this.phase.kind === 'open' && this.limitsReached()) this.startKex();
  }

  private limitsReached(): boolean {
    const s = this.encoder.counters;
    const r = this.decoder.counters;
    return (
      s.bytes >= this.rekeyBytes ||
      r.bytes >= this.rekeyBytes ||
      s.packets >= this.rekeyPackets ||
      r.packets >= this.rekeyPackets
    );
  }

  private get inInitialStrictKex(): boolean {
    return this.strict && this.firstKex;
  }

  private dispatch(payload: Uint8Array): void {
    const type = payload[0]!;
    const phase = this.phase;
    const ctx = phase.kind === 'kex' ? phase.ctx : undefined;

    if (this.firstKex && ctx && !ctx.theirs && type !== MSG.KEXINIT) this.packetsBeforeServerKexInit++;

    // OpenSSH PROTOCOL §1.9: during the initial strict exchange a wrapped sequence number is fatal.
    if (this.inInitialStrictKex && this.decoder.wrapped) {
      throw new ProtocolError('sequence number wrapped during the initial strict key exchange', {
        code: 'ERR_STRICT_KEX',
      });
    }

    if (type >= 20 && type <= 49) {
      if (!ctx) {
        if (type === MSG.KEXINIT) {
          // RFC 4253 §9: the server starts a key exchange; answer with ours at once.
          this.startKex();
          const next = this.phase;
          if (next.kind === 'kex') this.onKexInit(next.ctx, payload);
          return;
        }
        throw new ProtocolError(`unexpected ${messageName(type)} outside a key exchange`);
      }
      if (this.ignoreNextKexPacket && type !== MSG.KEXINIT && type !== MSG.NEWKEYS) {
        // RFC 4253 §7.1: the server's guessed packet was wrong; ignore it.
        this.ignoreNextKexPacket = false;
        return;
      }
      switch (type) {
        case MSG.KEXINIT:
          return this.onKexInit(ctx, payload);
        case MSG.KEX_ECDH_REPLY:
          return this.onEcdhReply(ctx, payload);
        case MSG.NEWKEYS:
          return this.onNewKeys(ctx, payload);
        default:
          throw new ProtocolError(`unexpected ${messageName(type)} during key exchange`, {
            reason: DisconnectReason.KEY_EXCHANGE_FAILED,
          });
      }
    }

    if (type === MSG.DISCONNECT) {
      const m = decodeMessage(payload);
      if (m?.type !== MSG.DISCONNECT) return;
      const err = new DisconnectError(m.reason, m.description);
      this.phase = { kind: 'closed' };
      this.queued = [];
      this.handler.closed(err);
      return;
    }

    // OpenSSH PROTOCOL §1.9: until the first NEWKEYS, a strict exchange accepts nothing else.
    if (this.inInitialStrictKex) {
      throw new ProtocolError(
        `strict key exchange violation: ${messageName(type)} received during the initial key exchange`,
        { code: 'ERR_STRICT_KEX' },
      );
    }

    switch (type) {
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
        // RFC 8308 §2.4: only after NEWKEYS (first packet) or just before USERAUTH_SUCCESS.
        if (this.sessionId === undefined) throw new ProtocolError('EXT_INFO before the first NEWKEYS');
        const m = decodeMessage(payload);
        if (m?.type === MSG.EXT_INFO) this.handler.extInfo(m.extensions);
        return;
      }
    }

    if (this.sessionId === undefined) {
      throw new ProtocolError(`unexpected ${messageName(type)} before the first key exchange completed`);
    }
    if (type === MSG.SERVICE_ACCEPT || type >= 50) {
      if (this.handler.message(payload)) return;
    }
    // RFC 4253 §11.4: reply UNIMPLEMENTED to message numbers we do not know.
    this.send(encodeUnimplemented(this.decoder.lastSeq));
  }

  // ---- key exchange (RFC 4253 §7, RFC 8731) ----

  private startKex(): void {
    const { algorithms } = this.options;
    // OpenSSH PROTOCOL §1.9 / RFC 8308 §2.1: the markers go in the FIRST KEXINIT only.
    const kex = this.firstKex ? [...algorithms.kex, EXT_INFO_CLIENT, KEX_STRICT_CLIENT] : [...algorithms.kex];
    const lists = {
      kex,
      hostKey: algorithms.hostKey,
      cipherClientToServer: algorithms.cipher,
      cipherServerToClient: algorithms.cipher,
      macClientToServer: algorithms.mac,
      macServerToClient: algorithms.mac,
      compressionClientToServer: algorithms.compression,
      compressionServerToClient: algorithms.compression,
      languagesClientToServer: [],
      languagesServerToClient: [],
    };
    const payload = encodeKexInit(this.options.random(16), lists);
    const ctx: KexContext = { ourKexInit: payload, ours: decodeKexInit(payload), newKeysSent: false, newKeysReceived: false };
    this.encoder.writePayload(payload);
    if (this.phase.kind === 'version') this.kexCtx = ctx;
    else this.phase = { kind: 'kex', ctx };
    if (!this.firstKex) this.handler.log('rekeying: SSH2_MSG_KEXINIT sent');
  }

  private onKexInit(ctx: KexContext, payload: Uint8Array): void {
    if (ctx.theirs) throw new ProtocolError('a second KEXINIT during one key exchange');
    const theirs = decodeKexInit(payload);
    ctx.theirKexInit = payload.slice();
    ctx.theirs = theirs;
    if (this.firstKex) {
      // OpenSSH PROTOCOL §1.9: strict iff both sides offered it in their first KEXINIT.
      this.strict = theirs.kex.includes(KEX_STRICT_SERVER);
      if (this.strict && this.packetsBeforeServerKexInit > 0) {
        throw new ProtocolError('strict key exchange violation: the server\'s KEXINIT was not its first packet', {
          code: 'ERR_STRICT_KEX',
        });
      }
    }
    const negotiated = negotiate(ctx.ours, theirs, (c) => cipherAlgorithms.get(c)?.aead ?? false);
    ctx.negotiated = negotiated;
    this.ignoreNextKexPacket = guessWasWrong(ctx.ours, theirs);
    this.handler.log(
      `kex: algorithm: ${negotiated.kex}; host key algorithm: ${negotiated.hostKey}; ` +
        `cipher: ${negotiated.cipherClientToServer} (c2s), ${negotiated.cipherServerToClient} (s2c); ` +
        `compression: ${negotiated.compressionClientToServer}` +
        (this.firstKex ? `; strict kex: ${this.strict ? 'on' : 'off (server does not support it)'}` : ''),
    );
    // RFC 8731 §3.1: the client's ephemeral X25519 key.
    const kp = curve25519GenerateKeyPair(this.options.random(32));
    ctx.ecdhPrivate = kp.privateKey;
    ctx.ecdhPublic = kp.publicKey;
    this.encoder.writePayload(encodeKexEcdhInit(kp.publicKey));
  }

  private onEcdhReply(ctx: KexContext, payload: Uint8Array): void {
    if (!ctx.negotiated || !ctx.ecdhPrivate || !ctx.ecdhPublic || ctx.pending) {
      throw new ProtocolError('unexpected KEX_ECDH_REPLY', { reason: DisconnectReason.KEY_EXCHANGE_FAILED });
    }
    const m = decodeMessage(payload);
    if (m?.type !== MSG.KEX_ECDH_REPLY) throw new ProtocolError('malformed KEX_ECDH_REPLY');
    const negotiated = ctx.negotiated;
    const sharedSecret = curve25519SharedSecret(ctx.ecdhPrivate, m.serverPublic);
    ctx.ecdhPrivate.fill(0);
    const h = exchangeHashCurve25519({
      clientVersion: this.clientVersion,
      serverVersion: this.serverVersion!,
      clientKexInit: ctx.ourKexInit,
      serverKexInit: ctx.theirKexInit!,
      hostKeyBlob: m.hostKey,
      clientPublic: ctx.ecdhPublic,
      serverPublic: m.serverPublic,
      sharedSecret,
    });
    // RFC 4253 §8: the server proves possession of the host key by signing H.
    verifyHostKeySignature(negotiated.hostKey, m.hostKey, m.signature, h);
    // RFC 4253 §7.2: the first exchange hash is the session identifier, forever.
    const sessionId = this.sessionId ?? h;
    const derive = (letter: 'A' | 'B' | 'C' | 'D', length: number) =>
      deriveKey(sha256, sharedSecret, h, letter, sessionId, length);
    const c2s = cipherAlgorithms.get(negotiated.cipherClientToServer)!;
    const s2c = cipherAlgorithms.get(negotiated.cipherServerToClient)!;
    // RFC 4253 §7.2: A/B IVs, C/D encryption keys (E/F MAC keys: none with AEAD ciphers).
    const outIv = derive('A', c2s.ivLength);
    const outKey = derive('C', c2s.keyLength);
    const inIv = derive('B', s2c.ivLength);
    const inKey = derive('D', s2c.keyLength);
    sharedSecret.fill(0);
    ctx.pending = {
      outgoing: () => {
        this.encoder.setCipher(c2s.create(outKey, outIv));
        outKey.fill(0);
      },
      incoming: () => {
        this.decoder.setCipher(s2c.create(inKey, inIv));
        inKey.fill(0);
      },
    };
    const fingerprint = fingerprintSha256(m.hostKey);
    if (this.sessionId === undefined) {
      this.sessionId = h;
      this.hostKeyBlob = m.hostKey.slice();
      this.phase = { kind: 'verifying', ctx };
      this.handler.log(`Server host key: ${negotiated.hostKey} ${fingerprint}`);
      this.handler.hostKey({ algorithm: negotiated.hostKey, keyBlob: this.hostKeyBlob, fingerprint });
      return;
    }
    // A rekey must present the key we verified at connect time.
    if (!this.hostKeyBlob || !constantTimeEqual(this.hostKeyBlob, m.hostKey)) {
      throw new ProtocolError(`the server's host key changed during a rekey (now ${fingerprint})`, {
        code: 'ERR_HOST_KEY_CHANGED',
        reason: DisconnectReason.HOST_KEY_NOT_VERIFIABLE,
      });
    }
    this.sendNewKeys(ctx);
  }

  private sendNewKeys(ctx: KexContext): void {
    // RFC 4253 §7.3: NEWKEYS goes out under the old keys; everything after under the new ones.
    this.encoder.writePayload(encodeNewKeys());
    ctx.pending!.outgoing();
    ctx.newKeysSent = true;
    // OpenSSH PROTOCOL §1.9: strict mode resets the sequence number after every NEWKEYS.
    if (this.strict) {
      this.encoder.seq = 0;
      this.encoder.wrapped = false;
    }
    this.kexDoneMaybe(ctx);
    // Traffic queued during the exchange may flow now (RFC 4253 §7.1).
    const queued = this.queued;
    this.queued = [];
    for (const p of queued) this.encoder.writePayload(p);
    this.handler.resumed();
  }

  private onNewKeys(ctx: KexContext, payload: Uint8Array): void {
    if (!ctx.pending) throw new ProtocolError('NEWKEYS before the key exchange reply', { reason: DisconnectReason.KEY_EXCHANGE_FAILED });
    if (payload.length !== 1) throw new ProtocolError('malformed NEWKEYS', { code: 'ERR_MALFORMED_PACKET' });
    ctx.pending.incoming();
    ctx.newKeysReceived = true;
    if (this.strict) {
      this.decoder.seq = 0;
      this.decoder.wrapped = false;
    }
    this.kexDoneMaybe(ctx);
  }

  private kexDoneMaybe(ctx: KexContext): void {
    if (!ctx.newKeysSent || !ctx.newKeysReceived) return;
    this.negotiated = ctx.negotiated;
    this.kexCount++;
    this.phase = { kind: 'open' };
    this.ignoreNextKexPacket = false;
    if (this.firstKex) {
      this.firstKex = false;
      this.handler.ready();
    } else {
      this.handler.log(`rekey done (key exchange #${this.kexCount})`);
    }
  }

  private fail(err: unknown): void {
    if (this.phase.kind === 'closed') return;
    const error =
      err instanceof SshError
        ? err
        : new ProtocolError(`internal error while processing the server's data: ${(err as Error)?.message ?? err}`, {
            cause: err,
          });
    const reason = error instanceof ProtocolError ? error.reason : DisconnectReason.PROTOCOL_ERROR;
    this.close(reason, error.message.slice(0, 200), error);
  }
}

