/**
 * An in-memory SSH SERVER for tests (never shipped): enough of RFC 4253/4252/4254 to drive
 * ClientCore through a whole session byte for byte, built from the same core pieces
 * (PacketEncoder/PacketDecoder, and every kex method, cipher and MAC from the registries) plus an ed25519 host key.
 * Every step can be made to misbehave through {@link FakeServerOptions} hooks, so the client's
 * reaction to a broken or hostile peer can be tested without a network.
 */
import { createServer, type Server } from 'node:net';
import { PUBLICKEY_HOSTBOUND } from '../../src/auth/userauth.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { cipherAlgorithms } from '../../src/cipher/registry.js';
import { COMPRESSION_LEVEL, compressionAlgorithms, type CompressionAlgorithm } from '../../src/compress/registry.js';
import { zlibCompression } from '../../src/compress/zlib.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { pureCryptoProvider } from '../../src/crypto/pure.js';
import { exchangeHash, type KexServer } from '../../src/kex/kex.js';
import { kexMethods } from '../../src/kex/registry.js';
import { verifyHostKeySignature } from '../../src/keys/hostkey.js';
import { macAlgorithms } from '../../src/mac/registry.js';
import { KEX_STRICT_CLIENT, KEX_STRICT_SERVER } from '../../src/transport/handshake.js';
import { newDirection, type ExchangeSecrets } from '../../src/transport/keys.js';
import {
  decodeKexInit,
  encodeKexInit,
  negotiate,
  type AlgorithmLists,
  type KexInit,
  type Negotiated,
} from '../../src/transport/kexinit.js';
import { MSG } from '../../src/protocol/messages.js';
import { PacketDecoder, PacketEncoder } from '../../src/transport/packet.js';
import { SshReader, SshWriter, fromUtf8 } from '../../src/protocol/wire.js';

/** Deterministic PRNG (xorshift32 over a seed) shaped like the core's `random` parameter. */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 0x9e3779b9;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}

/** An ed25519 key pair as SSH blobs. */
export interface Ed25519Key {
  secret: Uint8Array;
  blob: Uint8Array;
  /** `string "ssh-ed25519" || string sig` over `data` (RFC 8709 §6). */
  sign(data: Uint8Array): Uint8Array;
}

/** An ed25519 host key from a 32-byte seed (RFC 8709). */
export function ed25519Key(seed: Uint8Array): Ed25519Key {
  const secret = seed.slice(0, 32);
  const pub = ed25519.getPublicKey(secret);
  const blob = new SshWriter(64).string('ssh-ed25519').string(pub).toBytes();
  return {
    secret,
    blob,
    sign: (data) => new SshWriter(96).string('ssh-ed25519').string(ed25519.sign(data, secret)).toBytes(),
  };
}


/** A USERAUTH_REQUEST as the server saw it (RFC 4252 §5). */
export interface AuthRequest {
  user: string;
  service: string;
  method: string;
  /** publickey: algorithm, key blob, whether the signature verified (undefined: no signature). */
  algorithm?: string;
  keyBlob?: Uint8Array;
  signatureValid?: boolean;
  /** publickey-hostbound-v00@openssh.com: the host key the request names. */
  hostKeyBlob?: Uint8Array;
  /** password (keyboard-interactive-response: the first answer) */
  password?: string;
  /** keyboard-interactive-response: every answer, in order. */
  answers?: string[];
}

/** What the server answers to an auth request. */
export type AuthVerdict =
  | { kind: 'success' }
  | { kind: 'failure'; methods: string[]; partial?: boolean }
  /** The hook sent something itself (e.g. PASSWD_CHANGEREQ, INFO_REQUEST). */
  | { kind: 'handled' };

/** A channel as the server sees it. */
export interface ServerChannel {
  /** The server's id for the channel. */
  id: number;
  /** The client's id (recipient channel in what the server sends). */
  clientId: number;
  type: string;
  openData: Uint8Array;
  /** What the server granted the client (window left, max packet). */
  localWindow: number;
  localMaxPacket: number;
  /** The client's window / max packet, for server → client data. */
  clientWindow: number;
  clientMaxPacket: number;
  received: Uint8Array[];
  /** Sizes of every CHANNEL_DATA received. */
  packetSizes: number[];
  eofReceived: boolean;
  closeReceived: number;
  eofSent: boolean;
  closeSent: boolean;
  /** Server → client data waiting for the client's window. */
  outgoing: Uint8Array[];
  /** Every WINDOW_ADJUST the client sent. */
  adjusts: number[];
}

export interface FakeServerOptions {
  random?: (n: number) => Uint8Array;
  /** The server's symmetric primitives (default pure); a test may pair providers. */
  crypto?: CryptoProvider;
  hostKey?: Ed25519Key;
  /** Host key presented from the second key exchange on (host key change on rekey). */
  rekeyHostKey?: Ed25519Key;
  version?: string;
  /** Lines before the identification (RFC 4253 §4.2). */
  preVersionLines?: string[];
  /** Offer kex-strict-s-v00@openssh.com in the first KEXINIT (default true). */
  strict?: boolean;
  /**
   * A fault: under strict kex, keep the receiving sequence number running across NEWKEYS
   * (OpenSSH PROTOCOL, strict kex b, broken); the sending one is still reset.
   */
  keepReceiveSequence?: boolean;
  /** Override name-lists of the server's KEXINIT. */
  lists?: Partial<AlgorithmLists>;
  /** Set first_kex_packet_follows in the server's KEXINIT. */
  firstKexPacketFollows?: boolean;
  /** Payloads to send right after the first guessed KEXINIT (the wrongly guessed packet). */
  guessedPackets?: Uint8Array[];
  /** Payloads sent before the server's first KEXINIT (strict: fatal). */
  beforeKexInit?: Uint8Array[];
  /** Payloads sent between ECDH_REPLY and NEWKEYS of the FIRST exchange. */
  beforeNewKeys?: Uint8Array[];
  /** Corrupt the host key signature. */
  badSignature?: boolean;
  /** Send EXT_INFO (server-sig-algs) after the first NEWKEYS. */
  extInfo?: boolean;
  /** More extensions for that EXT_INFO after server-sig-algs (RFC 8308 §2.3), e.g. ping@openssh.com. */
  extInfoExtra?: [name: string, value: string][];
  /** Methods allowed (answered to `none` and failures). */
  authMethods?: string[];
  /** Accepted publickey blobs. */
  authorizedKeys?: Uint8Array[];
  password?: string;
  /**
   * keyboard-interactive: the prompts of the INFO_REQUEST sent (default one echo-off
   * `Password: `; a prompt given as bytes is sent as they are); the answers succeed when there is
   * one per prompt and the first is `password`.
   */
  kbdPrompts?: { prompt: string | Uint8Array; echo: boolean }[];
  /** Methods that all must succeed (partial success in between), e.g. ['publickey', 'password']. */
  requireAll?: string[];
  /** Banner sent on SERVICE_ACCEPT. */
  banner?: string;
  /** Replaces the default auth policy; return undefined to fall back to it. */
  authHook?: (req: AuthRequest, server: FakeServer) => AuthVerdict | undefined;
  /** Channel open policy: confirm with window/maxPacket, or fail with reason. Default: confirm. */
  openPolicy?: (
    type: string,
    data: Uint8Array,
  ) => { window: number; maxPacket: number } | { reason: number; description: string } | 'defer';
  /** Grant window back as soon as data arrives (default true). */
  autoAdjust?: boolean;
  /** Answer channel EOF with EOF and CLOSE with CLOSE (default true). */
  autoClose?: boolean;
  /**
   * Global requests from the client (RFC 4254 §4): answer now (`data`: request-specific reply
   * data, e.g. a tcpip-forward's bound port), or 'defer' to answer later with answerGlobal().
   * Default (or undefined): REQUEST_FAILURE.
   */
  globalPolicy?: (name: string, data: Uint8Array, server: FakeServer) => { success: boolean; data?: Uint8Array } | 'defer' | undefined;
  /** Any packet: return true to swallow it before default handling. */
  onPacket?: (payload: Uint8Array, seq: number, server: FakeServer) => boolean;
}

type KexState = {
  ourKexInit: Uint8Array;
  theirKexInit?: Uint8Array;
  theirs?: KexInit;
  negotiated?: Negotiated;
  method?: KexServer;
  replied: boolean;
  newKeysReceived: boolean;
  newKeysSent: boolean;
  inKeys?: ExchangeSecrets;
};

/** A received packet, with the sequence number the server decoded it under. */
export interface Received {
  seq: number;
  payload: Uint8Array;
  /** How many key exchanges had completed (server's NEWKEYS received) when it arrived. */
  epoch: number;
  /** It arrived compressed (RFC 4253 §6.2). */
  compressed: boolean;
}

/** The server side of one SSH connection, in memory. */
export class FakeServer {
  readonly options: FakeServerOptions;
  readonly random: (n: number) => Uint8Array;
  readonly crypto: CryptoProvider;
  readonly hostKey: Ed25519Key;
  readonly version: string;
  readonly encoder: PacketEncoder;
  readonly decoder = new PacketDecoder();
  clientVersion: string | undefined;
  private versionBuf: number[] = [];
  private out: Uint8Array[] = [];
  private started = false;
  strict = false;
  private firstKex = true;
  kex: KexState | undefined;
  sessionId: Uint8Array | undefined;
  /** Client KEXINITs, decoded, in order. */
  readonly clientKexInits: KexInit[] = [];
  /** NEWKEYS received from the client. */
  newKeysReceived = 0;
  newKeysSent = 0;
  readonly received: Received[] = [];
  readonly authRequests: AuthRequest[] = [];
  authenticated = false;
  private partialDone: string[] = [];
  readonly channels: (ServerChannel | undefined)[] = [];
  readonly globalReplies: number[] = [];
  /** Every global request the client sent, in order. */
  readonly globalRequests: { name: string; wantReply: boolean; data: Uint8Array }[] = [];
  /** Deferred global requests still waiting for answerGlobal(), oldest first. */
  readonly deferredGlobals: { name: string; data: Uint8Array }[] = [];
  /** Server-initiated opens the client answered (CHANNEL_OPEN_CONFIRMATION), by server id. */
  readonly openConfirmations: { recipient: number; sender: number; window: number; maxPacket: number }[] = [];
  readonly unimplemented: number[] = [];
  readonly disconnects: { reason: number; description: string }[] = [];
  readonly openFailures: { recipient: number; reason: number; description: string }[] = [];
  /** Protocol violations the server noticed in the client's behaviour. */
  readonly violations: string[] = [];
  /** Payloads held while the server's own key exchange blocks sending. */
  private queued: Uint8Array[] = [];
  private kbdPending = false;
  closed = false;
  /** RFC 4253 §6.2: the compression of the keys in force, per direction. */
  private compressionOut: CompressionAlgorithm | undefined;
  private compressionIn: CompressionAlgorithm | undefined;
  /** OpenSSH packet.c after_authentication: USERAUTH_SUCCESS was sent. */
  private afterAuthentication = false;
  /** zlib streams started, per direction (a new one at each NEWKEYS once running, as OpenSSH does). */
  readonly compressionStarts = { out: 0, in: 0 };

  constructor(options: FakeServerOptions = {}) {
    this.options = options;
    this.random = options.random ?? seededRandom(0x5eed);
    this.crypto = options.crypto ?? pureCryptoProvider;
    this.hostKey = options.hostKey ?? ed25519Key(new Uint8Array(32).fill(7));
    this.version = options.version ?? 'SSH-2.0-FakeSSH_1.0';
    this.encoder = new PacketEncoder(this.random);
  }

  /** Identification (with any pre-lines) and the server's first KEXINIT. */
  start(): void {
    if (this.started) return;
    this.started = true;
    let pre = '';
    for (const l of this.options.preVersionLines ?? []) pre += l + '\r\n';
    this.out.push(new TextEncoder().encode(pre + this.version + '\r\n'));
    for (const p of this.options.beforeKexInit ?? []) this.encoder.writePayload(p);
    this.startKex();
  }

  /** Bytes for the client, in order. */
  takeOutput(): Uint8Array[] {
    const pk = this.encoder.take();
    const out = this.out;
    this.out = [];
    if (pk) out.push(...pk);
    return out;
  }

  /** Send a payload now (bypassing the kex queue: the hook decides). */
  sendRaw(payload: Uint8Array): void {
    this.encoder.writePayload(payload);
  }

  /** Raw bytes straight onto the wire. */
  writeBytes(bytes: Uint8Array): void {
    const pk = this.encoder.take();
    if (pk) this.out.push(...pk);
    this.out.push(bytes);
  }

  /** Send a non-kex payload; queued while the server's key exchange is under way. */
  send(payload: Uint8Array): void {
    if (this.kex && !this.kex.newKeysSent) this.queued.push(payload);
    else this.writeOut(payload);
  }

  private writeOut(payload: Uint8Array): void {
    this.encoder.writePayload(payload);
    // OpenSSH packet.c: the server starts delayed compression right after sending USERAUTH_SUCCESS.
    if (payload[0] === MSG.USERAUTH_SUCCESS && !this.afterAuthentication) {
      this.afterAuthentication = true;
      if (!this.encoder.compressing) this.startCompression('out', this.compressionOut);
      if (!this.decoder.decompressing) this.startCompression('in', this.compressionIn);
    }
  }

  /** OpenSSH packet.c ssh_set_newkeys: each NEWKEYS starts the direction's stream afresh. */
  private installCompression(direction: 'out' | 'in', name: string): CompressionAlgorithm {
    const algorithm = compressionAlgorithms.get(name)!;
    if (direction === 'out') this.encoder.setCompression(null);
    else this.decoder.setCompression(null);
    this.startCompression(direction, algorithm);
    return algorithm;
  }

  private startCompression(direction: 'out' | 'in', algorithm: CompressionAlgorithm | undefined): void {
    if (!algorithm?.zlib || (algorithm.delayed && !this.afterAuthentication)) return;
    if (direction === 'out') this.encoder.setCompression(zlibCompression.deflater(COMPRESSION_LEVEL));
    else this.decoder.setCompression(zlibCompression.inflater());
    this.compressionStarts[direction]++;
  }

  get inKex(): boolean {
    return this.kex !== undefined;
  }

  /** Server-initiated key exchange (RFC 4253 §9). */
  rekey(): void {
    if (!this.kex) this.startKex();
  }

  receive(data: Uint8Array): void {
    if (this.closed) return;
    this.start();
    let i = 0;
    if (this.clientVersion === undefined) {
      for (; i < data.length; i++) {
        const c = data[i]!;
        if (c === 0x0a) {
          let line = this.versionBuf;
          if (line[line.length - 1] === 0x0d) line = line.slice(0, -1);
          this.clientVersion = String.fromCharCode(...line);
          i++;
          break;
        }
        this.versionBuf.push(c);
      }
      if (this.clientVersion === undefined) return;
    }
    this.decoder.push(data.slice(i));
    for (;;) {
      const payload = this.decoder.next();
      if (payload === null) break;
      const seq = this.decoder.lastSeq;
      const copy = payload.slice();
      this.received.push({ seq, payload: copy, epoch: this.newKeysReceived, compressed: this.decoder.decompressing });
      if (this.options.onPacket?.(copy, seq, this)) continue;
      this.dispatch(copy, seq);
      if (this.closed) return;
    }
  }

  /** Payloads of a given type the server received. */
  receivedOfType(type: number): Received[] {
    return this.received.filter((r) => r.payload[0] === type);
  }

  // ---- transport ----

  private kexInitPayload(): Uint8Array {
    const o = this.options;
    // Built from the same registries as the client: every algorithm we implement, by default
    // the client's preference decides (RFC 4253 §7.1).
    const kex = [...kexMethods.keys()];
    if (this.firstKex && (o.strict ?? true)) kex.push(KEX_STRICT_SERVER);
    const lists: AlgorithmLists = {
      kex,
      hostKey: ['ssh-ed25519'],
      cipherClientToServer: [...cipherAlgorithms.keys()],
      cipherServerToClient: [...cipherAlgorithms.keys()],
      macClientToServer: [...macAlgorithms.keys()],
      macServerToClient: [...macAlgorithms.keys()],
      compressionClientToServer: [...compressionAlgorithms.keys()],
      compressionServerToClient: [...compressionAlgorithms.keys()],
      languagesClientToServer: [],
      languagesServerToClient: [],
      ...o.lists,
    };
    if (o.lists?.kex && this.firstKex && (o.strict ?? true) && !lists.kex.includes(KEX_STRICT_SERVER)) {
      lists.kex = [...lists.kex, KEX_STRICT_SERVER];
    }
    return encodeKexInit(this.random(16), lists, this.firstKex && !!o.firstKexPacketFollows);
  }

  private startKex(): void {
    const payload = this.kexInitPayload();
    this.kex = { ourKexInit: payload, replied: false, newKeysReceived: false, newKeysSent: false };
    this.encoder.writePayload(payload);
    if (this.firstKex && this.options.firstKexPacketFollows) {
      for (const p of this.options.guessedPackets ?? []) this.encoder.writePayload(p);
    }
  }

  private dispatch(payload: Uint8Array, seq: number): void {
    const type = payload[0]!;
    if (this.kex && this.strict && this.firstKex && type !== MSG.KEXINIT && !(type >= 30 && type <= 49) && type !== MSG.NEWKEYS && type !== MSG.DISCONNECT) {
      this.violations.push(`strict kex: client sent message ${type} during the initial key exchange`);
    }
    switch (type) {
      case MSG.KEXINIT:
        return this.onKexInit(payload);
      case MSG.NEWKEYS:
        return this.onNewKeys();
      case MSG.DISCONNECT: {
        const r = new SshReader(payload, 1);
        this.disconnects.push({ reason: r.uint32(), description: r.utf8() });
        this.closed = true;
        return;
      }
      case MSG.IGNORE:
      case MSG.DEBUG:
        return;
      case MSG.UNIMPLEMENTED:
        this.unimplemented.push(new SshReader(payload, 1).uint32());
        return;
      case MSG.SERVICE_REQUEST: {
        const name = new SshReader(payload, 1).utf8();
        this.send(new SshWriter(32).byte(MSG.SERVICE_ACCEPT).string(name).toBytes());
        if (this.options.banner !== undefined) {
          this.send(new SshWriter(64).byte(MSG.USERAUTH_BANNER).string(this.options.banner).string('').toBytes());
        }
        return;
      }
      case MSG.USERAUTH_REQUEST:
        return this.onAuthRequest(payload);
      case MSG.USERAUTH_INFO_RESPONSE:
        return this.onInfoResponse(payload);
    }
    if (type >= 30 && type <= 49) return this.onKexMessage(payload);
    if (type >= 80 && type <= 100) return this.onConnection(payload);
    this.violations.push(`unexpected message ${type} (seq ${seq})`);
  }

  private onKexInit(payload: Uint8Array): void {
    const decoded = decodeKexInit(payload);
    this.clientKexInits.push(decoded);
    if (!this.kex) this.startKex();
    const k = this.kex!;
    k.theirKexInit = payload;
    k.theirs = decoded;
    if (this.firstKex) {
      this.strict = (this.options.strict ?? true) && decoded.kex.includes(KEX_STRICT_CLIENT);
    }
    // RFC 4253 §7.1: the client's order decides; the same negotiation as the client's.
    try {
      k.negotiated = negotiate(decoded, decodeKexInit(k.ourKexInit), (c) => cipherAlgorithms.get(c)?.aead ?? false);
    } catch {
      return; // no common algorithm: the client notices it too and disconnects
    }
    k.method = kexMethods.get(k.negotiated.kex)!.server(this.random, this.crypto);
  }

  private onKexMessage(payload: Uint8Array): void {
    const k = this.kex;
    if (!k || !k.theirKexInit || !k.method || !k.negotiated) {
      this.violations.push(`kex message ${payload[0]} outside a key exchange`);
      return;
    }
    const hostKey = !this.firstKex && this.options.rekeyHostKey ? this.options.rekeyHostKey : this.hostKey;
    const method = kexMethods.get(k.negotiated.kex)!;
    const step = k.method.receive(payload, {
      hostKeyBlob: hostKey.blob,
      sign: (h) => {
        let sig = hostKey.sign(h);
        if (this.options.badSignature) {
          sig = sig.slice();
          sig[sig.length - 1]! ^= 0x01;
        }
        return sig;
      },
      exchangeHash: (fields, K) =>
        exchangeHash(method.hash, this.crypto, {
          clientVersion: this.clientVersion!,
          serverVersion: this.version,
          clientKexInit: k.theirKexInit!,
          serverKexInit: k.ourKexInit,
          hostKeyBlob: hostKey.blob,
        }, fields, K),
    });
    this.encoder.writePayload(step.send);
    if (!step.done) return;
    const h = step.done.exchangeHash;
    this.sessionId ??= h;
    if (this.firstKex) for (const p of this.options.beforeNewKeys ?? []) this.encoder.writePayload(p);
    const secrets: ExchangeSecrets = { hash: method.hash, sharedSecret: step.done.sharedSecret, exchangeHash: h, sessionId: this.sessionId };
    k.inKeys = secrets;
    k.replied = true;
    this.encoder.writePayload(Uint8Array.of(MSG.NEWKEYS));
    // RFC 4253 §7.2: the server seals server-to-client (B/D/F) and opens client-to-server.
    this.encoder.setCipher(newDirection('server-to-client', k.negotiated, secrets, this.crypto, true));
    if (this.strict) this.encoder.resetSequence();
    this.compressionOut = this.installCompression('out', k.negotiated.compressionServerToClient);
    k.newKeysSent = true;
    this.newKeysSent++;
    const queued = this.queued;
    this.queued = [];
    if (this.firstKex && this.options.extInfo) {
      const extra = this.options.extInfoExtra ?? [];
      const w = new SshWriter(64).byte(MSG.EXT_INFO).uint32(1 + extra.length).string('server-sig-algs').string('ssh-ed25519,rsa-sha2-256');
      for (const [name, value] of extra) w.string(name).string(value);
      this.encoder.writePayload(w.toBytes());
    }
    for (const p of queued) this.writeOut(p);
    this.kexMaybeDone();
  }

  private onNewKeys(): void {
    const k = this.kex;
    if (!k || !k.inKeys || !k.negotiated) {
      this.violations.push('NEWKEYS outside a key exchange');
      return;
    }
    this.decoder.setCipher(newDirection('client-to-server', k.negotiated, k.inKeys, this.crypto, false));
    if (this.strict && !this.options.keepReceiveSequence) this.decoder.resetSequence();
    this.compressionIn = this.installCompression('in', k.negotiated.compressionClientToServer);
    k.newKeysReceived = true;
    this.newKeysReceived++;
    this.kexMaybeDone();
  }

  private kexMaybeDone(): void {
    const k = this.kex!;
    if (!k.newKeysReceived || !k.newKeysSent) return;
    this.kex = undefined;
    this.firstKex = false;
    for (const ch of this.channels) if (ch) this.flush(ch);
  }

  // ---- userauth (RFC 4252) ----

  private onAuthRequest(payload: Uint8Array): void {
    const r = new SshReader(payload, 1);
    const req: AuthRequest = { user: r.utf8(), service: r.utf8(), method: r.utf8() };
    if (req.method === 'publickey' || req.method === PUBLICKEY_HOSTBOUND) {
      const hasSig = r.boolean();
      req.algorithm = r.utf8();
      req.keyBlob = r.string().slice();
      // OpenSSH PROTOCOL §"publickey-hostbound": the server's host key follows the key.
      if (req.method === PUBLICKEY_HOSTBOUND) req.hostKeyBlob = r.string().slice();
      if (hasSig) {
        const signedEnd = r.offset;
        const sig = r.string();
        // RFC 4252 §7: the signature covers string session_id || the request up to the key blob.
        const signed = new SshWriter(256).string(this.sessionId!).raw(payload.subarray(0, signedEnd)).toBytes();
        try {
          verifyHostKeySignature(req.algorithm, req.keyBlob, sig, signed);
          req.signatureValid = true;
        } catch {
          req.signatureValid = false;
        }
      }
    } else if (req.method === 'password') {
      r.boolean();
      req.password = r.utf8();
    }
    this.authRequests.push(req);
    const verdict = this.options.authHook?.(req, this) ?? this.defaultAuth(req);
    this.answerAuth(verdict);
  }

  /** Send the answer to an auth request. */
  answerAuth(verdict: AuthVerdict): void {
    if (verdict.kind === 'handled') return;
    if (verdict.kind === 'success') {
      this.authenticated = true;
      this.send(Uint8Array.of(MSG.USERAUTH_SUCCESS));
      return;
    }
    this.send(
      new SshWriter(64)
        .byte(MSG.USERAUTH_FAILURE)
        .nameList(verdict.methods)
        .boolean(!!verdict.partial)
        .toBytes(),
    );
  }

  private methodOk(req: AuthRequest): boolean {
    const o = this.options;
    switch (req.method) {
      case 'publickey':
      case PUBLICKEY_HOSTBOUND:
        return (
          req.signatureValid === true &&
          // The first key exchange's host key (sshd auth2-pubkey.c: ssh->kex->initial_hostkey).
          (req.method === 'publickey' || req.hostKeyBlob?.join() === this.hostKey.blob.join()) &&
          (o.authorizedKeys ?? []).some((b) => b.length === req.keyBlob!.length && b.every((x, i) => x === req.keyBlob![i]))
        );
      case 'password':
        return o.password !== undefined && req.password === o.password;
      default:
        return false;
    }
  }

  private defaultAuth(req: AuthRequest): AuthVerdict {
    const methods = () => (this.options.authMethods ?? ['publickey']).filter((m) => !this.partialDone.includes(m));
    if (req.method === 'keyboard-interactive' && methods().includes('keyboard-interactive')) {
      // RFC 4256 §3.2: one echo-off prompt (or kbdPrompts).
      this.kbdPending = true;
      const prompts = this.options.kbdPrompts ?? [{ prompt: 'Password: ', echo: false }];
      const w = new SshWriter(64).byte(MSG.USERAUTH_60).string('').string('').string('').uint32(prompts.length);
      for (const p of prompts) w.string(p.prompt).boolean(p.echo);
      this.send(w.toBytes());
      return { kind: 'handled' };
    }
    // sshd auth2.c: the host-bound method is the publickey method under another name.
    const method = req.method === PUBLICKEY_HOSTBOUND ? 'publickey' : req.method;
    if (!methods().includes(method) || !this.methodOk(req)) return { kind: 'failure', methods: methods() };
    return this.succeeded(method);
  }

  private succeeded(method: string): AuthVerdict {
    const all = this.options.requireAll;
    if (all) {
      this.partialDone.push(method);
      if (all.some((m) => !this.partialDone.includes(m))) {
        return { kind: 'failure', methods: all.filter((m) => !this.partialDone.includes(m)), partial: true };
      }
    }
    return { kind: 'success' };
  }

  private onInfoResponse(payload: Uint8Array): void {
    const r = new SshReader(payload, 1);
    const n = r.uint32();
    const answers: string[] = [];
    for (let i = 0; i < n; i++) answers.push(r.utf8());
    this.authRequests.push({ user: '', service: '', method: 'keyboard-interactive-response', password: answers[0], answers });
    if (!this.kbdPending) {
      this.violations.push('INFO_RESPONSE without INFO_REQUEST');
      return;
    }
    this.kbdPending = false;
    const ok = n === (this.options.kbdPrompts?.length ?? 1) && this.options.password !== undefined && answers[0] === this.options.password;
    this.answerAuth(ok ? this.succeeded('keyboard-interactive') : { kind: 'failure', methods: this.options.authMethods ?? [] });
  }

  // ---- connection (RFC 4254) ----

  private onConnection(payload: Uint8Array): void {
    const type = payload[0]!;
    const r = new SshReader(payload, 1);
    if (type === MSG.GLOBAL_REQUEST) {
      const name = r.utf8();
      const wantReply = r.boolean();
      const data = r.rest().slice();
      this.globalRequests.push({ name, wantReply, data });
      const verdict = this.options.globalPolicy?.(name, data, this);
      if (verdict === 'defer') {
        if (wantReply) this.deferredGlobals.push({ name, data });
        return;
      }
      if (wantReply) this.replyGlobal(verdict?.success ?? false, verdict?.data);
      return;
    }
    if (type === MSG.CHANNEL_OPEN_CONFIRMATION) {
      const c = { recipient: r.uint32(), sender: r.uint32(), window: r.uint32(), maxPacket: r.uint32() };
      this.openConfirmations.push(c);
      const ch = this.channels[c.recipient];
      if (!ch || ch.clientId !== -1) {
        this.violations.push(`open confirmation for server channel ${c.recipient}, which is not opening`);
        return;
      }
      ch.clientId = c.sender;
      ch.clientWindow = c.window;
      ch.clientMaxPacket = c.maxPacket;
      this.flush(ch);
      return;
    }
    if (type === MSG.REQUEST_SUCCESS || type === MSG.REQUEST_FAILURE) {
      this.globalReplies.push(type);
      return;
    }
    if (type === MSG.CHANNEL_OPEN) {
      const chType = r.utf8();
      const clientId = r.uint32();
      const window = r.uint32();
      const maxPacket = r.uint32();
      const data = r.rest().slice();
      const policy = this.options.openPolicy?.(chType, data) ?? { window: 2 * 1024 * 1024, maxPacket: 32768 };
      let id = this.channels.indexOf(undefined);
      if (id < 0) id = this.channels.length;
      const ch: ServerChannel = {
        id,
        clientId,
        type: chType,
        openData: data,
        localWindow: 0,
        localMaxPacket: 0,
        clientWindow: window,
        clientMaxPacket: maxPacket,
        received: [],
        packetSizes: [],
        eofReceived: false,
        closeReceived: 0,
        eofSent: false,
        closeSent: false,
        outgoing: [],
        adjusts: [],
      };
      if (policy === 'defer') {
        this.channels[id] = ch;
        return;
      }
      if ('reason' in policy) {
        this.send(
          new SshWriter(64)
            .byte(MSG.CHANNEL_OPEN_FAILURE)
            .uint32(clientId)
            .uint32(policy.reason)
            .string(policy.description)
            .string('')
            .toBytes(),
        );
        return;
      }
      this.channels[id] = ch;
      this.confirm(ch, policy.window, policy.maxPacket);
      return;
    }
    if (type === MSG.CHANNEL_OPEN_FAILURE) {
      const f = { recipient: r.uint32(), reason: r.uint32(), description: r.utf8() };
      this.openFailures.push(f);
      // A server-initiated open the client refused: the slot is free again.
      if (this.channels[f.recipient]?.clientId === -1) this.channels[f.recipient] = undefined;
      return;
    }
    const recipient = r.uint32();
    const ch = this.channels[recipient];
    if (!ch) {
      this.violations.push(`message ${type} for unknown server channel ${recipient}`);
      return;
    }
    if (ch.closeReceived > 0) this.violations.push(`message ${type} after CLOSE on channel ${recipient}`);
    switch (type) {
      case MSG.CHANNEL_DATA: {
        const data = r.string();
        if (ch.eofReceived) this.violations.push(`data after EOF on channel ${recipient}`);
        // RFC 4254 §5.2: never beyond the window nor above the maximum packet size.
        if (data.length > ch.localMaxPacket) {
          this.violations.push(`channel ${recipient}: ${data.length} bytes > max packet ${ch.localMaxPacket}`);
        }
        if (data.length > ch.localWindow) {
          this.violations.push(`channel ${recipient}: ${data.length} bytes > window ${ch.localWindow}`);
        }
        ch.localWindow -= data.length;
        ch.received.push(data.slice());
        ch.packetSizes.push(data.length);
        if (this.options.autoAdjust ?? true) this.adjustWindow(ch.id, data.length);
        return;
      }
      case MSG.CHANNEL_WINDOW_ADJUST: {
        const n = r.uint32();
        ch.adjusts.push(n);
        ch.clientWindow += n;
        this.flush(ch);
        return;
      }
      case MSG.CHANNEL_EOF:
        ch.eofReceived = true;
        if ((this.options.autoClose ?? true) && !ch.eofSent) this.sendEof(ch.id);
        return;
      case MSG.CHANNEL_CLOSE:
        ch.closeReceived++;
        if ((this.options.autoClose ?? true) && !ch.closeSent) this.sendClose(ch.id);
        if (ch.closeSent) this.channels[ch.id] = undefined;
        return;
      default:
        return;
    }
  }

  /** REQUEST_SUCCESS (with optional request-specific data) or REQUEST_FAILURE. */
  replyGlobal(success: boolean, data?: Uint8Array): void {
    if (!success) {
      this.send(Uint8Array.of(MSG.REQUEST_FAILURE));
      return;
    }
    const w = new SshWriter(8 + (data?.length ?? 0)).byte(MSG.REQUEST_SUCCESS);
    if (data) w.raw(data);
    this.send(w.toBytes());
  }

  /** Answer the oldest deferred global request. */
  answerGlobal(success: boolean, data?: Uint8Array): void {
    if (!this.deferredGlobals.shift()) throw new Error('no deferred global request');
    this.replyGlobal(success, data);
  }

  /**
   * Server-initiated CHANNEL_OPEN (RFC 4254 §5.1), e.g. forwarded-tcpip. Returns the server's
   * channel id; `clientId` stays -1 until the client confirms (see openConfirmations / openFailures).
   */
  openChannel(type: string, data: Uint8Array, window = 2 * 1024 * 1024, maxPacket = 32768): number {
    let id = this.channels.indexOf(undefined);
    if (id < 0) id = this.channels.length;
    this.channels[id] = {
      id,
      clientId: -1,
      type,
      openData: data,
      localWindow: window,
      localMaxPacket: maxPacket,
      clientWindow: 0,
      clientMaxPacket: 0,
      received: [],
      packetSizes: [],
      eofReceived: false,
      closeReceived: 0,
      eofSent: false,
      closeSent: false,
      outgoing: [],
      adjusts: [],
    };
    this.send(new SshWriter(64 + data.length).byte(MSG.CHANNEL_OPEN).string(type).uint32(id).uint32(window).uint32(maxPacket).raw(data).toBytes());
    return id;
  }

  /** Confirm a (deferred) channel open. */
  confirm(ch: ServerChannel, window: number, maxPacket: number): void {
    ch.localWindow = window;
    ch.localMaxPacket = maxPacket;
    this.send(
      new SshWriter(32)
        .byte(MSG.CHANNEL_OPEN_CONFIRMATION)
        .uint32(ch.clientId)
        .uint32(ch.id)
        .uint32(window)
        .uint32(maxPacket)
        .toBytes(),
    );
  }

  /** Fail a deferred channel open. */
  refuse(ch: ServerChannel, reason: number, description: string): void {
    this.channels[ch.id] = undefined;
    this.send(
      new SshWriter(64).byte(MSG.CHANNEL_OPEN_FAILURE).uint32(ch.clientId).uint32(reason).string(description).string('').toBytes(),
    );
  }

  /** Give the client `n` more bytes of window. */
  adjustWindow(id: number, n: number): void {
    const ch = this.channels[id]!;
    ch.localWindow += n;
    this.send(new SshWriter(16).byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(ch.clientId).uint32(n).toBytes());
  }

  /** Server → client data, respecting the client's window and max packet. */
  write(id: number, data: Uint8Array): void {
    const ch = this.channels[id]!;
    ch.outgoing.push(data.slice());
    this.flush(ch);
  }

  /** Bytes the server still holds for the client's window. */
  pendingFor(id: number): number {
    return this.channels[id]!.outgoing.reduce((n, b) => n + b.length, 0);
  }

  private flush(ch: ServerChannel): void {
    if (this.kex && !this.kex.newKeysSent) return;
    while (ch.outgoing.length > 0 && ch.clientWindow > 0) {
      const buf = ch.outgoing[0]!;
      const n = Math.min(buf.length, ch.clientWindow, ch.clientMaxPacket);
      this.sendData(ch.id, buf.subarray(0, n));
      ch.clientWindow -= n;
      if (n === buf.length) ch.outgoing.shift();
      else ch.outgoing[0] = buf.subarray(n);
    }
  }

  /** Raw CHANNEL_DATA, no window checks (to test the client's enforcement). */
  sendData(id: number, data: Uint8Array): void {
    const ch = this.channels[id]!;
    this.send(new SshWriter(16 + data.length).byte(MSG.CHANNEL_DATA).uint32(ch.clientId).string(data).toBytes());
  }

  sendEof(id: number): void {
    const ch = this.channels[id]!;
    ch.eofSent = true;
    this.send(new SshWriter(8).byte(MSG.CHANNEL_EOF).uint32(ch.clientId).toBytes());
  }

  sendClose(id: number): void {
    const ch = this.channels[id]!;
    ch.closeSent = true;
    this.send(new SshWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(ch.clientId).toBytes());
  }

  /** The server's view of a channel by the CLIENT's channel number. */
  channelForClient(clientId: number): ServerChannel | undefined {
    return this.channels.find((c) => c && c.clientId === clientId);
  }

  /** Concatenated data received on a channel. */
  static joined(ch: ServerChannel): Uint8Array {
    const n = ch.received.reduce((a, b) => a + b.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const b of ch.received) {
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  /** DISCONNECT (RFC 4253 §11.1). */
  disconnect(reason: number, description: string): void {
    this.encoder.writePayload(
      new SshWriter(64).byte(MSG.DISCONNECT).uint32(reason).string(description).string('en').toBytes(),
    );
  }
}

/** The text of a name-list field, for assertions. */
export function text(bytes: Uint8Array): string {
  return fromUtf8(bytes);
}

/**
 * A TCP server on a free loopback port whose every connection is served by its own FakeServer
 * (`make()`): its output written as it comes, the connection ended once it closed, destroyed on
 * what it cannot parse. It writes only when the client sends: a test whose server speaks
 * unprompted keeps `flush` from `served(fake, flush)` and calls it after making the fake send.
 */
export async function fakeOnTcp(
  make: () => FakeServer,
  served?: (fake: FakeServer, flush: () => void) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const fake = make();
    const flush = () => {
      for (const b of fake.takeOutput()) socket.write(b);
      if (fake.closed) socket.end();
    };
    served?.(fake, flush);
    fake.start();
    flush();
    socket.on('data', (d: Buffer) => {
      try {
        fake.receive(new Uint8Array(d));
      } catch {
        socket.destroy();
      }
      flush();
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}
