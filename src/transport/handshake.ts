/**
 * The key-exchange state machine (RFC 4253 §7–§9) and every strict-kex rule (OpenSSH PROTOCOL
 * §1.9, Terrapin / CVE-2023-48795) in one file (h11's "Rule 1"). Its states carry their data, so
 * an impossible combination cannot be represented (russh's ClientKexState):
 *
 *   idle ──start()──▶ sent-kexinit ──their KEXINIT──▶ exchanging ──reply──▶ verifying (first kex)
 *                                                                  └───────▶ newkeys ◀── verdict
 *   newkeys ──both NEWKEYS──▶ idle
 *
 * The method itself (x25519, ECDH, DH, ML-KEM hybrid, ...) is a {@link KexMethod} from the
 * registry; this file never knows which one runs.
 */
import type { AlgorithmPreferences } from '../algorithms.js';
import { cipherAlgorithms } from '../cipher/registry.js';
import type { CompressionProvider, CompressionTotals, PayloadDeflater, PayloadInflater } from '../compress/compressor.js';
import { COMPRESSION_LEVEL, compressionAlgorithms, type CompressionAlgorithm } from '../compress/registry.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { DisconnectReason, InternalError, ProtocolError, UsageError } from '../errors.js';
import type { KexClient, KexMethod, Random } from '../kex/kex.js';
import { exchangeHash } from '../kex/kex.js';
import { kexToPrepare, versionGuidesPreparation } from '../kex/prepare-guess.js';
import { kexMethods } from '../kex/registry.js';
import type { FingerprintHash } from '../keys/fingerprint.js';
import { describeServerHostKey, hostKeyFingerprint, serverHostCertificateNames, verifyHostKeySignature } from '../keys/hostkey.js';
import { MSG, encodeNewKeys, messageName } from '../protocol/messages.js';
import { constantTimeEqual } from '../protocol/wire.js';
import type { KexInit, Negotiated } from './kexinit.js';
import { decodeKexInit, encodeKexInit, guessWasWrong, kexInitProposalLines, negotiate } from './kexinit.js';
import { newDirection, type ExchangeSecrets } from './keys.js';
import type { PacketDecoder, PacketEncoder } from './packet.js';

/** OpenSSH PROTOCOL §1.9: the strict-kex markers. */
export const KEX_STRICT_CLIENT = 'kex-strict-c-v00@openssh.com';
export const KEX_STRICT_SERVER = 'kex-strict-s-v00@openssh.com';
/** RFC 8308 §2.1: we accept EXT_INFO. */
export const EXT_INFO_CLIENT = 'ext-info-c';

/** Our KEXINIT as sent. */
interface Sent {
  payload: Uint8Array;
  decoded: KexInit;
}

/** Keys derived and ready to switch on, per direction. */
interface PendingKeys {
  negotiated: Negotiated;
  secrets: ExchangeSecrets;
}

/** A client half made before negotiation (see {@link Handshake.prepareKex}); belongs to one exchange. */
interface Prepared {
  method: KexMethod;
  client: KexClient;
}

type KexState =
  | { kind: 'idle' }
  | { kind: 'sent-kexinit'; ours: Sent; prepared?: Prepared; prepareOnVersion?: true }
  | { kind: 'exchanging'; ours: Sent; theirs: Uint8Array; negotiated: Negotiated; method: KexMethod; client: KexClient }
  | { kind: 'verifying'; keys: PendingKeys }
  | { kind: 'newkeys'; keys: PendingKeys; sent: boolean; received: boolean };

/** What the handshake tells the transport. */
export interface HandshakeHost {
  /** The server's host key for the first exchange, its signature over H verified: a verdict is due. */
  hostKey(info: { algorithm: string; keyBlob: Uint8Array; fingerprint: string }): void;
  /** Our NEWKEYS is out: traffic queued during the exchange may flow. */
  resumed(): void;
  /** Both NEWKEYS done; `first` for the initial exchange. */
  finished(first: boolean): void;
  /** A diagnostic line; `level` is ssh's debug level (log.c debug2, debug3), 1 when absent. */
  log(message: string, level?: 2 | 3): void;
}

/** Options of the handshake. */
export interface HandshakeOptions {
  random: Random;
  crypto: CryptoProvider;
  algorithms: AlgorithmPreferences;
  clientVersion: string;
  /**
   * zlib streams for compression (../compress/zlib.ts on pako). Injected, so a bundle without
   * compression leaves zlib out; required when `algorithms.compression` names a zlib method.
   */
  compression?: CompressionProvider;
  /** How the host key's fingerprint is written (ssh_config(5) FingerprintHash); default SHA256. */
  fingerprintHash?: FingerprintHash;
}

/** The client side of key exchange and re-exchange over one transport. */
export class Handshake {
  /**
   * An ES private field: while an exchange runs it holds our ephemeral private key, the shared
   * secret and the keys to come, which util.inspect and JSON.stringify of the client must not
   * show (break25 F2; out-of-view.ts for the ciphers in force).
   */
  #state: KexState = { kind: 'idle' };
  /** OpenSSH PROTOCOL §1.9: decided by the server's first KEXINIT. */
  private strict = false;
  private firstKex = true;
  /** Packets the server sent before its first KEXINIT (strict kex forbids any). */
  private packetsBeforeKexInit = 0;
  /** RFC 4253 §7.1: the server guessed wrong; drop its next kex packet. */
  private ignoreNextKexPacket = false;
  private serverVersion: string | undefined;
  sessionId: Uint8Array | undefined;
  hostKeyBlob: Uint8Array | undefined;
  /**
   * The server's signature blob over the session identifier, from the reply of the first key
   * exchange only (OpenSSH kex.h initial_sig): what session-bind@openssh.com hands an ssh-agent
   * (OpenSSH PROTOCOL.agent §1). Rekeys never replace it.
   */
  hostKeySignature: Uint8Array | undefined;
  negotiated: Negotiated | undefined;
  kexCount = 0;
  /**
   * The server's first NEWKEYS was received: its packets are protected from here on, and EXT_INFO
   * may come (RFC 8308 §2.4; OpenSSH 10 kex.c kex_input_newkeys sets its handler only then).
   */
  newKeysReceived = false;
  /** RFC 4253 §6.2: the compression of the keys in force, per direction (set at each NEWKEYS). */
  private compressionOut: CompressionAlgorithm | undefined;
  private compressionIn: CompressionAlgorithm | undefined;
  /** OpenSSH packet.c after_authentication: USERAUTH_SUCCESS was received. */
  private afterAuthentication = false;
  /** A rekey after authentication sent its NEWKEYS (OpenSSH kex.c kex_send_newkeys: kex_reset_dispatch). */
  private rekeyedAfterAuthentication = false;

  /** USERAUTH_SUCCESS was received (OpenSSH packet.c after_authentication). */
  get authenticated(): boolean {
    return this.afterAuthentication;
  }

  constructor(
    private readonly options: HandshakeOptions,
    private readonly encoder: PacketEncoder,
    private readonly decoder: PacketDecoder,
    private readonly host: HandshakeHost,
  ) {
    // Refuse up front rather than at NEWKEYS: offering zlib without the means to run it.
    const zlib = options.algorithms.compression.filter((n) => compressionAlgorithms.get(n)?.zlib);
    if (zlib.length > 0 && !options.compression) {
      throw new UsageError(
        `compression ${zlib.join(',')} needs a compression provider: pass \`compression\` (e.g. zlibCompression from 'pure-ssh/compress-zlib')`,
      );
    }
  }

  /** Strict kex in force (OpenSSH PROTOCOL §1.9). */
  get strictKex(): boolean {
    return this.strict;
  }

  /** A key exchange is under way. */
  get inProgress(): boolean {
    return this.#state.kind !== 'idle';
  }

  /** Input must pause: the first host key awaits the application's verdict. */
  get awaitingVerdict(): boolean {
    return this.#state.kind === 'verifying';
  }

  /** RFC 4253 §7.1: from our KEXINIT to our NEWKEYS, only kex messages may be sent. */
  get sendBlocked(): boolean {
    const s = this.#state;
    if (s.kind === 'idle') return false;
    if (s.kind === 'newkeys') return !s.sent;
    return true;
  }

  /** The server's identification line arrived (V_S of H). */
  setServerVersion(version: string): void {
    this.serverVersion = version;
    const s = this.#state;
    if (s.kind === 'sent-kexinit' && s.prepareOnVersion) {
      s.prepareOnVersion = undefined;
      this.makePrepared(s);
    }
  }

  /** Send our KEXINIT (RFC 4253 §7.1, §9); a no-op while an exchange is under way. */
  start(): void {
    if (this.#state.kind !== 'idle') return;
    const { algorithms } = this.options;
    // OpenSSH PROTOCOL §1.9 / RFC 8308 §2.1: the markers go in the FIRST KEXINIT only.
    const kex = this.firstKex ? [...algorithms.kex, EXT_INFO_CLIENT, KEX_STRICT_CLIENT] : [...algorithms.kex];
    const payload = encodeKexInit(this.options.random(16), {
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
    });
    this.#state = { kind: 'sent-kexinit', ours: { payload, decoded: decodeKexInit(payload) } };
    this.encoder.writePayload(payload);
    if (!this.firstKex) this.host.log('rekeying: SSH2_MSG_KEXINIT sent');
  }

  /**
   * Make the client's ephemeral key pair for the kex method negotiation will likely pick, while
   * the server's KEXINIT is on its way (an optional call, for the time between our KEXINIT
   * leaving and theirs arriving; sshd spends tens of ms there). The method is a guess from the
   * server's version line (kex/prepare-guess.ts: our first preference, or what OpenSSH 9.0–9.8
   * would negotiate with our list), so before that line has arrived the key pair is made when it
   * does (in {@link setServerVersion}). Only between {@link start} and the server's KEXINIT, and
   * only for a method whose key does not depend on the negotiated ciphers
   * ({@link KexMethod.preparable}). The key belongs to this exchange only: used if the server's
   * KEXINIT negotiates that method, otherwise wiped and a fresh one made for the method
   * negotiated; a later exchange (rekey) never sees it. Nothing is sent: the message goes out
   * only after negotiation, as RFC 4253 §7.1 orders (we never set first_kex_packet_follows).
   * Returns whether a key pair was made, or will be when the server's version line arrives.
   */
  prepareKex(): boolean {
    const s = this.#state;
    if (s.kind !== 'sent-kexinit' || s.prepared || s.prepareOnVersion) return false;
    const ours = this.options.algorithms.kex;
    if (this.serverVersion === undefined && versionGuidesPreparation(ours)) {
      if (!ours.some((name) => kexMethods.get(name)?.preparable)) return false;
      s.prepareOnVersion = true;
      // The provider's lazy set-up (node:crypto's X25519 known-answer checks, ~5 ms in a fresh
      // process) runs now, in this wait, rather than after the version line, closer to the KEXINIT.
      void this.options.crypto.x25519;
      return true;
    }
    return this.makePrepared(s);
  }

  private makePrepared(s: Extract<KexState, { kind: 'sent-kexinit' }>): boolean {
    const ours = this.options.algorithms.kex;
    const name = kexToPrepare(ours, this.serverVersion);
    const method = name === undefined ? undefined : kexMethods.get(name);
    if (!method?.preparable) return false;
    if (name !== ours[0]) this.host.log(`kex: making a ${name} key pair: the first of ours that ${this.serverVersion} offers by default`);
    s.prepared = { method, client: method.client(this.options.random, this.options.crypto) };
    return true;
  }

  /**
   * Every packet from the server passes here first, for the rules that depend on where in the
   * exchange we are. Throws ProtocolError (ERR_STRICT_KEX) on a strict-kex violation. Returns
   * false when the packet must be dropped (a wrong first_kex_packet_follows guess).
   */
  screen(type: number): boolean {
    // OpenSSH PROTOCOL §1.9: during the initial strict exchange a wrapped sequence number is fatal.
    if (this.strict && this.firstKex && this.decoder.wrapped) {
      throw new ProtocolError('sequence number wrapped during the initial strict key exchange', { code: 'ERR_STRICT_KEX' });
    }
    if (this.firstKex && this.#state.kind === 'sent-kexinit' && type !== MSG.KEXINIT) this.packetsBeforeKexInit++;
    // RFC 4253 §7.1: the server's guessed packet was wrong: "the next packet MUST be silently
    // ignored", whatever its number (OpenSSH dispatch.c dispatch_skip_packets: the next packet
    // dispatched). Outside a strict first exchange OpenSSH's packet.c consumes DISCONNECT, IGNORE,
    // UNIMPLEMENTED and DEBUG before dispatch, so they are not that packet; during one, every
    // packet is dispatched (PROTOCOL §1.9), IGNORE included.
    if (this.ignoreNextKexPacket && (type > MSG.DEBUG || (this.strict && this.firstKex))) {
      this.ignoreNextKexPacket = false;
      return false;
    }
    if (type >= 20 && type <= 49) return true;
    if (type === MSG.DISCONNECT) return true;
    // OpenSSH PROTOCOL §1.9: until the first NEWKEYS, a strict exchange accepts nothing else.
    if (this.strict && this.firstKex) throw this.strictViolation(type);
    return true;
  }

  /**
   * OpenSSH kex.c kex_protocol_error under strict key exchange (the 9.2 backport as 9.6): any
   * packet the initial exchange has no handler for ends the connection.
   */
  private strictViolation(type: number): ProtocolError {
    return new ProtocolError(
      `strict key exchange violation: unexpected message ${type} (seq ${this.decoder.lastSeq}) during the initial key exchange`,
      { code: 'ERR_STRICT_KEX' },
    );
  }

  /**
   * A key-exchange message (20–49) the exchange does not wait for now: what ssh(1) 9.2 does with
   * it, from the handler its dispatch table has for the number at this point. Returns undefined
   * for the message the exchange waits for (then {@link receive} it), or the name of the handler
   * that logs it, answers UNIMPLEMENTED (RFC 4253 §11.4) and drops it; throws where ssh ends.
   *
   * - KEXINIT is taken when ours waits for the server's, or when no exchange is under way except
   *   during authentication (kex.c kex_input_kexinit; ssh itself never starts one there, and our
   *   caller's rekey() may); NEWKEYS once ours is out (kex_send_newkeys); 30–49 the one the
   *   method waits for ({@link KexClient.expects}). Nothing else can change keys, so nothing
   *   else is acted on.
   * - During the first exchange every other number is kex_protocol_error's (kex_reset_dispatch
   *   from kex_setup): fatal once the server's KEXINIT made it strict (OpenSSH PROTOCOL §1.9);
   *   before that KEXINIT, or when not strict, logged and ignored.
   * - Between the first exchange and USERAUTH_SUCCESS, sshconnect2.c ssh_userauth2 has
   *   input_userauth_error for them all: fatal.
   * - After authentication, clientloop.c client_init_dispatch's dispatch_protocol_error, until a
   *   rekey sends its NEWKEYS (kex_reset_dispatch, kex_protocol_error's from then on); a KEXINIT
   *   during an exchange is kex_protocol_error's from the one that started it.
   */
  refusal(type: number): 'kex_protocol_error' | 'dispatch_protocol_error' | undefined {
    const s = this.#state;
    const waited =
      type === MSG.KEXINIT
        ? s.kind === 'sent-kexinit' || (s.kind === 'idle' && (this.firstKex || this.afterAuthentication))
        : type === MSG.NEWKEYS
          ? s.kind === 'newkeys' && !s.received
          : s.kind === 'exchanging' && s.client.expects(type);
    if (waited) return undefined;
    // packet.c ssh_packet_read_poll2: under strict kex every NEWKEYS resets the receiving sequence
    // number, due or not (before any handler): a server that goes on counting fails at its next
    // packet, as with ssh. No key changes.
    if (type === MSG.NEWKEYS && this.strict) this.decoder.resetSequence();
    if (this.firstKex) {
      if (this.strict) throw this.strictViolation(type);
      return 'kex_protocol_error';
    }
    if (!this.afterAuthentication) throw new ProtocolError(`bad message during authentication: type ${type}`);
    if (s.kind === 'newkeys' || (type === MSG.KEXINIT && s.kind === 'exchanging') || this.rekeyedAfterAuthentication) return 'kex_protocol_error';
    return 'dispatch_protocol_error';
  }

  /**
   * A message ssh(1) 9.2 has no handler for once authenticated (clientloop.c
   * client_init_dispatch): the name of the handler that logs it and answers UNIMPLEMENTED.
   * dispatch_protocol_error's, but for a transport number (1–49, RFC 4250 §4.1.2) once a rekey
   * sent its NEWKEYS: kex.c kex_reset_dispatch gives those to kex_protocol_error.
   */
  afterAuthenticationRefusal(type: number): 'kex_protocol_error' | 'dispatch_protocol_error' {
    if (type < 50 && (this.#state.kind === 'newkeys' || this.rekeyedAfterAuthentication)) return 'kex_protocol_error';
    return 'dispatch_protocol_error';
  }

  /** A key-exchange message (RFC 4250 §4.1.2: 20–49) from the server. */
  receive(payload: Uint8Array): void {
    const type = payload[0]!;
    if (type === MSG.KEXINIT) {
      // RFC 4253 §9: the server starts an exchange; answer with our KEXINIT at once.
      if (this.#state.kind === 'idle') this.start();
      return this.onKexInit(payload);
    }
    if (type === MSG.NEWKEYS) return this.onNewKeys(payload);
    const s = this.#state;
    if (s.kind === 'idle') throw new ProtocolError(`unexpected ${messageName(type)} outside a key exchange`);
    if (s.kind !== 'exchanging') {
      throw new ProtocolError(`unexpected ${messageName(type)} during key exchange`, {
        reason: DisconnectReason.KEY_EXCHANGE_FAILED,
      });
    }
    const step = s.client.receive(payload);
    if ('send' in step) {
      this.encoder.writePayload(step.send);
      return;
    }
    this.onReply(s, step.reply);
  }

  private onKexInit(payload: Uint8Array): void {
    const s = this.#state;
    if (s.kind !== 'sent-kexinit') throw new ProtocolError('a second KEXINIT during one key exchange');
    const theirs = decodeKexInit(payload);
    // OpenSSH kex.c kex_choose_conf: both proposals at debug2, before negotiating (so a failed
    // negotiation shows them too), at every exchange.
    this.host.log('local client KEXINIT proposal', 2);
    for (const line of kexInitProposalLines(s.ours.payload)) this.host.log(line, 2);
    this.host.log('peer server KEXINIT proposal', 2);
    for (const line of kexInitProposalLines(payload)) this.host.log(line, 2);
    if (theirs.emptyNamesIn.length > 0) {
      this.host.log(`server KEXINIT: skipped empty names in ${theirs.emptyNamesIn.join(', ')}`);
    }
    if (this.firstKex) {
      // OpenSSH PROTOCOL §1.9: strict iff the server's first KEXINIT offers it (we always do).
      this.strict = theirs.kex.includes(KEX_STRICT_SERVER);
      if (this.strict && this.packetsBeforeKexInit > 0) {
        throw new ProtocolError("strict key exchange violation: the server's KEXINIT was not its first packet", {
          code: 'ERR_STRICT_KEX',
        });
      }
    }
    let negotiated: ReturnType<typeof negotiate>;
    // kex.c kex_choose_conf logs each choice as it makes it: a failed negotiation shows those made
    // before the failing one (the method and host key algorithm before a cipher, and so on).
    const choices: string[] = [];
    try {
      negotiated = negotiate(s.ours.decoded, theirs, (c) => cipherAlgorithms.get(c)?.aead ?? false, (line) => choices.push(line));
    } catch (err) {
      for (const line of choices) this.host.log(line);
      throw err;
    }
    this.ignoreNextKexPacket = guessWasWrong(s.ours.decoded, theirs);
    // kex.c kex_choose_conf, at debug1 as ssh(1): the method, the host key algorithm, strict kex
    // (debug3 when on; ours at debug1 when the server does not offer it), then each direction's
    // cipher, MAC and compression, the server's first (a client's MODE_IN).
    for (const line of choices.slice(0, 2)) this.host.log(line);
    if (this.firstKex) {
      if (this.strict) this.host.log('kex_choose_conf: will use strict KEX ordering', 3);
      else this.host.log('kex: strict kex: off (the server does not offer it)');
    }
    for (const line of choices.slice(2)) this.host.log(line);
    // Which code computes chacha20-poly1305 (WebAssembly, or TypeScript and why): asked only once
    // it is negotiated, since the answer compiles the WebAssembly module.
    const chachaPoly = 'chacha20-poly1305@openssh.com';
    if ((negotiated.cipherClientToServer === chachaPoly || negotiated.cipherServerToClient === chachaPoly) && this.options.crypto.chachaPolyImpl !== undefined) {
      this.host.log(`${chachaPoly}: ${this.options.crypto.chachaPolyImpl}`);
    }
    const method = kexMethods.get(negotiated.kex);
    if (!method) throw new UsageError(`negotiated a key exchange method that is not registered: ${negotiated.kex}`);
    let client: KexClient;
    if (s.prepared && s.prepared.method === method) {
      client = s.prepared.client;
      this.host.log(`kex: using the ${method.name} key pair made while waiting for the server's KEXINIT`);
    } else {
      if (s.prepared) {
        s.prepared.client.dispose();
        this.host.log(`kex: discarded the prepared ${s.prepared.method.name} key pair (negotiated ${method.name})`);
      }
      client = method.client(this.options.random, this.options.crypto, negotiated);
    }
    s.prepared = undefined;
    this.#state = { kind: 'exchanging', ours: s.ours, theirs: payload.slice(), negotiated, method, client };
    this.encoder.writePayload(client.start());
  }

  private onReply(s: Extract<KexState, { kind: 'exchanging' }>, reply: import('../kex/kex.js').KexReply): void {
    const { negotiated, method } = s;
    const crypto = this.options.crypto;
    const h = exchangeHash(
      method.hash,
      crypto,
      {
        clientVersion: this.options.clientVersion,
        serverVersion: this.serverVersion!,
        clientKexInit: s.ours.payload,
        serverKexInit: s.theirs,
        hostKeyBlob: reply.hostKeyBlob,
      },
      reply.exchangeFields,
      reply.sharedSecret,
    );
    // RFC 4253 §8: the server proves possession of the host key by signing H.
    // SHA-1 ssh-rsa (RFC 4253 §6.6) only when the user listed it in our offer (ssh_config(5)
    // HostKeyAlgorithms `+ssh-rsa`); negotiation picks from our list, so this holds whenever it won.
    const legacyRsaSha1 = this.options.algorithms.hostKey.includes(negotiated.hostKey);
    verifyHostKeySignature(negotiated.hostKey, reply.hostKeyBlob, reply.signature, h, { crypto, legacyRsaSha1 });
    // RFC 4253 §7.2: the first exchange hash is the session identifier, forever.
    const sessionId = this.sessionId ?? h;
    const keys: PendingKeys = { negotiated, secrets: { hash: method.hash, sharedSecret: reply.sharedSecret, exchangeHash: h, sessionId } };
    const fingerprint = hostKeyFingerprint(reply.hostKeyBlob, this.options.fingerprintHash);
    if (this.sessionId === undefined) {
      this.sessionId = h;
      this.hostKeyBlob = reply.hostKeyBlob;
      // OpenSSH PROTOCOL.agent §1: the first exchange's signature binds an agent to this session.
      this.hostKeySignature = reply.signature.slice();
      this.#state = { kind: 'verifying', keys };
      this.host.log(describeServerHostKey(negotiated.hostKey, reply.hostKeyBlob, this.options.fingerprintHash));
      for (const line of serverHostCertificateNames(reply.hostKeyBlob)) this.host.log(line, 2);
      this.host.hostKey({ algorithm: negotiated.hostKey, keyBlob: reply.hostKeyBlob, fingerprint });
      return;
    }
    // A rekey must present the key we verified at connect time.
    if (!this.hostKeyBlob || !constantTimeEqual(this.hostKeyBlob, reply.hostKeyBlob)) {
      throw new ProtocolError(`the server's host key changed during a rekey (now ${fingerprint})`, {
        code: 'ERR_HOST_KEY_CHANGED',
        reason: DisconnectReason.HOST_KEY_NOT_VERIFIABLE,
      });
    }
    this.sendNewKeys(keys, false);
  }

  /** The application accepted the first host key: our NEWKEYS goes out. */
  acceptHostKey(): void {
    const s = this.#state;
    if (s.kind !== 'verifying') throw new UsageError('no host key is waiting for a verdict');
    this.sendNewKeys(s.keys, false);
  }

  private sendNewKeys(keys: PendingKeys, received: boolean): void {
    // RFC 4253 §7.3: NEWKEYS goes out under the old keys; everything after under the new ones.
    this.encoder.writePayload(encodeNewKeys());
    if (this.afterAuthentication) this.rekeyedAfterAuthentication = true;
    this.encoder.setCipher(newDirection('client-to-server', keys.negotiated, keys.secrets, this.options.crypto, true));
    // OpenSSH PROTOCOL §1.9: strict mode resets the sequence number after every NEWKEYS.
    if (this.strict) this.encoder.resetSequence();
    this.compressionOut = this.installCompression('out', keys.negotiated.compressionClientToServer);
    this.#state = { kind: 'newkeys', keys, sent: true, received };
    this.host.resumed();
    this.doneMaybe();
  }

  private onNewKeys(payload: Uint8Array): void {
    const s = this.#state;
    if (s.kind === 'newkeys' && !s.received) {
      // kex.c kex_input_newkeys: sshpkt_get_end (SSH_ERR_UNEXPECTED_TRAILING_DATA).
      if (payload.length !== 1) throw new ProtocolError(`malformed NEWKEYS: ${payload.length - 1} unexpected trailing bytes`, { code: 'ERR_MALFORMED_PACKET' });
      this.decoder.setCipher(newDirection('server-to-client', s.keys.negotiated, s.keys.secrets, this.options.crypto, false));
      if (this.strict) this.decoder.resetSequence();
      this.compressionIn = this.installCompression('in', s.keys.negotiated.compressionServerToClient);
      s.received = true;
      this.newKeysReceived = true;
      this.doneMaybe();
      return;
    }
    throw new ProtocolError('NEWKEYS before the key exchange reply', { reason: DisconnectReason.KEY_EXCHANGE_FAILED });
  }

  /**
   * USERAUTH_SUCCESS arrived (the transport calls this before handing it on): delayed
   * compression (zlib@openssh.com) starts in both directions with the next packet, and at every
   * later NEWKEYS (OpenSSH packet.c ssh_packet_enable_delayed_compress, on the client at receipt).
   */
  userauthSuccess(): void {
    if (this.afterAuthentication) return;
    this.afterAuthentication = true;
    if (this.compressionOut && !this.encoder.compressing) this.startCompression('out', this.compressionOut);
    if (this.compressionIn && !this.decoder.decompressing) this.startCompression('in', this.compressionIn);
  }

  /**
   * RFC 4253 §6.2: the keys just switched on in one direction carry their compression method.
   * OpenSSH (packet.c ssh_set_newkeys) starts a fresh zlib stream at each NEWKEYS that has one
   * running, so the dictionary carries across packets but not across key exchanges.
   */
  private installCompression(direction: 'out' | 'in', name: string): CompressionAlgorithm {
    const algorithm = compressionAlgorithms.get(name);
    if (!algorithm) throw new UsageError(`negotiated a compression method that is not registered: ${name}`);
    if (direction === 'out') this.encoder.setCompression(null);
    else this.decoder.setCompression(null);
    this.startCompression(direction, algorithm);
    return algorithm;
  }

  /**
   * The zlib streams last started per direction: OpenSSH packet.c ssh_packet_close's -v lines
   * count the stream in force at the end (each NEWKEYS that turns compression on starts a new one).
   */
  private lastDeflater: PayloadDeflater | undefined;
  private lastInflater: PayloadInflater | undefined;

  /**
   * Byte totals of the zlib streams last started, per direction (undefined: never compressed), as
   * OpenSSH packet.c ssh_packet_close reports them: raw is the payload side, compressed the wire side.
   */
  get compressionTotals(): CompressionTotals {
    const totals = (raw: number | undefined, compressed: number | undefined) => (raw === undefined || compressed === undefined ? undefined : { raw, compressed });
    return {
      outgoing: this.lastDeflater && totals(this.lastDeflater.totalIn, this.lastDeflater.totalOut),
      incoming: this.lastInflater && totals(this.lastInflater.totalOut, this.lastInflater.totalIn),
    };
  }

  private startCompression(direction: 'out' | 'in', algorithm: CompressionAlgorithm): void {
    // OpenSSH PROTOCOL §1.2: zlib@openssh.com waits for USERAUTH_SUCCESS; zlib starts at NEWKEYS.
    if (!algorithm.zlib || (algorithm.delayed && !this.afterAuthentication)) return;
    const provider = this.options.compression;
    // The constructor refused zlib in our list without a provider, and we only negotiate our own.
    if (!provider) throw new InternalError(`compression ${algorithm.name} negotiated without a provider`);
    if (direction === 'out') {
      this.lastDeflater = provider.deflater(COMPRESSION_LEVEL);
      this.encoder.setCompression(this.lastDeflater);
      this.host.log(`Enabling compression at level ${COMPRESSION_LEVEL}.`);
    } else {
      this.lastInflater = provider.inflater();
      this.decoder.setCompression(this.lastInflater);
      this.host.log(`Enabling decompression (${algorithm.name}).`);
    }
  }

  private doneMaybe(): void {
    const s = this.#state;
    if (s.kind !== 'newkeys' || !s.sent || !s.received) return;
    s.keys.secrets.sharedSecret.fill(0);
    this.negotiated = s.keys.negotiated;
    this.kexCount++;
    this.#state = { kind: 'idle' };
    this.ignoreNextKexPacket = false;
    const first = this.firstKex;
    this.firstKex = false;
    this.host.finished(first);
  }

  /** Wipe ephemeral secrets of an exchange in flight. */
  dispose(): void {
    const s = this.#state;
    if (s.kind === 'exchanging') s.client.dispose();
    if (s.kind === 'sent-kexinit') s.prepared?.client.dispose();
    if (s.kind === 'verifying' || s.kind === 'newkeys') s.keys.secrets.sharedSecret.fill(0);
  }
}
