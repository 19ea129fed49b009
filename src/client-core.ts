/**
 * The sans-IO SSH client core: transport (RFC 4253), user authentication (RFC 4252) and the
 * connection protocol (RFC 4254) composed into one state machine. No sockets, timers, clock or
 * RNG: bytes in through {@link ClientCore.receive}, bytes out of {@link ClientCore.takeOutput},
 * events out of {@link ClientCore.nextEvent} (h11's receive_data / next_event shape).
 *
 * @example
 * ```ts
 * const core = new ClientCore({ username: 'joe', random, privateKeys: [key] });
 * core.start();
 * socket.on('data', (d) => { core.receive(d); pump(); });
 * function pump() {
 *   for (const chunk of core.takeOutput() ?? []) socket.write(chunk);
 *   for (let e; (e = core.nextEvent()); ) if (e.type === 'host-key') core.acceptHostKey();
 * }
 * ```
 */
import type { AlgorithmPreferences } from './algorithms.js';
import type { CryptoProvider } from './crypto/provider.js';
import { pureCryptoProvider } from './crypto/pure.js';
import { defaultAlgorithms } from './algorithms.js';
import type { ChannelOptions, DirectTcpipParams } from './connection/connection.js';
import { Connection } from './connection/connection.js';
import type { WindowAutoTuneOptions } from './connection/window-tuning.js';
import { encodeStreamlocalForward, encodeTcpipForward, GlobalRequestName } from './connection/global-requests.js';
import { ConnectionLostError, DisconnectReason, SshError, UsageError } from './errors.js';
import { WEAK_KEX_WARNING, type ClientEvent } from './events.js';
import { kexMethods } from './kex/registry.js';
import { keyBlobType } from './keys/hostkey.js';
import type { PrivateKey } from './keys/privatekey.js';
import type { TransportInfo } from './transport/transport.js';
import { Transport } from './transport/transport.js';
import type { AuthOptions } from './auth/userauth.js';
import { UserAuth } from './auth/userauth.js';
import { fromUtf8 } from './protocol/wire.js';
import { encodeIgnore } from './protocol/messages.js';

/** Options of the core: who we are (RFC 4252, see {@link AuthOptions}) plus transport tuning. */
export interface ClientCoreOptions extends AuthOptions {
  /** Cryptographically secure random bytes. */
  random: (n: number) => Uint8Array;
  algorithms?: Partial<AlgorithmPreferences>;
  /**
   * The symmetric primitives (crypto/provider.ts). Default: pure TypeScript on every runtime;
   * the Node adapter passes node:crypto's where available. The default algorithm order follows it.
   */
  crypto?: CryptoProvider;
  clientVersion?: string;
  rekeyBytes?: number;
  rekeyPackets?: number;
  /**
   * Zero copy on input (see TransportOptions.borrowInput): `receive()` then owns the buffers it
   * is given and events are views into them. Default false: every byte received is copied once,
   * so a transport may reuse its read buffer (a BYOB reader, a `Deno.Conn.read(buf)` loop).
   */
  borrowInput?: boolean;
  /**
   * Receive-window auto-tuning (connection/window-tuning.ts): windows grow with the measured
   * bandwidth-delay product, up to `max` bytes for all channels together (default 32 MiB).
   * It acts only when {@link ClientCore.channelConsumed} is given the time. false: OpenSSH's
   * fixed 2 MiB windows.
   */
  windowAutoTune?: WindowAutoTuneOptions | false;
}

type Stage = 'handshake' | 'auth' | 'authenticated' | 'closed';

/** The whole client protocol engine. */
export class ClientCore {
  private readonly transport: Transport;
  private readonly userauth: UserAuth;
  private readonly connection: Connection;
  private readonly events: ClientEvent[] = [];
  private eventHead = 0;
  private stage: Stage = 'handshake';
  private serverSigAlgs: string[] | undefined;
  private pingSupported = false;
  private closeError: SshError | undefined;

  constructor(options: ClientCoreOptions) {
    if (!options.username) throw new UsageError('a username is required');
    const crypto = options.crypto ?? pureCryptoProvider;
    const algorithms = { ...defaultAlgorithms(crypto.name), ...options.algorithms };
    const emit = (e: ClientEvent) => this.events.push(e);
    const log = (message: string) => emit({ type: 'log', message });
    this.transport = new Transport(
      {
        random: options.random,
        algorithms,
        crypto,
        borrowInput: options.borrowInput,
        clientVersion: options.clientVersion,
        rekeyBytes: options.rekeyBytes,
        rekeyPackets: options.rekeyPackets,
      },
      {
        hostKey: ({ algorithm, keyBlob, fingerprint }) =>
          emit({ type: 'host-key', algorithm, keyType: keyBlobType(keyBlob), keyBlob, fingerprint }),
        ready: () => {
          // OpenSSH 10.1 sshconnect.c ssh_login: after the first key exchange, before userauth.
          const kex = this.transport.info.negotiated?.kex;
          if (kex && !kexMethods.get(kex)?.postQuantum) emit({ type: 'warning', code: 'weak-kex', message: WEAK_KEX_WARNING });
          this.stage = 'auth';
          this.userauth.start();
        },
        message: (payload) => {
          const type = payload[0]!;
          if (type >= 80) return this.connection.handle(payload);
          return this.userauth.handle(payload);
        },
        resumed: () => this.connection.flushAll(),
        extInfo: (ext) => {
          const sigAlgs = ext.get('server-sig-algs');
          if (sigAlgs) this.serverSigAlgs = fromUtf8(sigAlgs).split(',');
          if (ext.has('ping@openssh.com')) this.pingSupported = true;
          log(`EXT_INFO: ${[...ext.keys()].join(', ')}`);
        },
        log,
        closed: (error) => {
          this.stage = 'closed';
          this.closeError = error;
          this.connection.abortAll(error ?? new ConnectionLostError('the connection was closed', { code: 'ERR_CONNECTION_CLOSED' }));
          emit({ type: 'closed', error });
        },
      },
    );
    this.userauth = new UserAuth(options, {
      send: (p) => this.transport.send(p),
      sessionId: () => this.transport.info.sessionId!,
      serverSigAlgs: () => this.serverSigAlgs,
      banner: (message) => emit({ type: 'banner', message }),
      passwordNeeded: (prompt) => emit({ type: 'password-needed', prompt }),
      success: () => {
        this.stage = 'authenticated';
        this.connection.activate();
        emit({ type: 'authenticated' });
      },
      failure: (error) =>
        // RFC 4253 §11.1 reason 14: no more authentication methods available.
        this.transport.close(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, 'no more authentication methods', error),
      log,
    });
    this.connection = new Connection(this.transport, emit, options.windowAutoTune);
  }

  /** Queue our identification and KEXINIT. */
  start(): void {
    this.transport.start();
  }

  /** Feed bytes received from the server. The core takes ownership (decrypts in place). */
  receive(data: Uint8Array): void {
    this.transport.receive(data);
    // While we wait for an open confirmation, answer what the server sent with a few bytes
    // (RFC 4253 §11.2 IGNORE) so our TCP ACK leaves at once: sshd sends small packets after
    // authentication (hostkeys-00, DEBUG) and Nagle would hold its confirmation behind our
    // delayed ACK for ~40 ms.
    if (this.stage === 'authenticated' && !this.transport.outputPending && !this.transport.sendBlocked && this.connection.pendingOpens > 0) {
      this.transport.send(encodeIgnore());
    }
  }

  /** Bytes to write to the server, or null. */
  takeOutput(): Uint8Array[] | null {
    return this.transport.takeOutput();
  }

  /** Whether {@link takeOutput} has bytes. */
  get outputPending(): boolean {
    return this.transport.outputPending;
  }

  /** The next event, or undefined when there are none. */
  nextEvent(): ClientEvent | undefined {
    if (this.eventHead >= this.events.length) {
      if (this.eventHead > 0) {
        this.events.length = 0;
        this.eventHead = 0;
      }
      return undefined;
    }
    return this.events[this.eventHead++];
  }

  get isAuthenticated(): boolean {
    return this.stage === 'authenticated';
  }

  get isClosed(): boolean {
    return this.stage === 'closed';
  }

  /** Why the connection closed (undefined while open or after a requested close). */
  get error(): SshError | undefined {
    return this.closeError;
  }

  /** Negotiated algorithms, versions, session id. */
  get info(): TransportInfo & { serverSigAlgs: string[] | undefined; pingSupported: boolean } {
    return { ...this.transport.info, serverSigAlgs: this.serverSigAlgs, pingSupported: this.pingSupported };
  }

  acceptHostKey(): void {
    this.transport.acceptHostKey();
  }

  rejectHostKey(error: SshError): void {
    this.transport.rejectHostKey(error);
  }

  /** Answer `password-needed`; null gives up on that method. */
  providePassword(password: string | null): void {
    this.userauth.providePassword(password);
  }

  /** RFC 4254 §7.2: open a direct-tcpip channel; returns its local number. */
  openDirectTcpip(params: DirectTcpipParams, opts?: ChannelOptions): number {
    return this.connection.openDirectTcpip(params, opts);
  }

  /** OpenSSH direct-streamlocal@openssh.com: a Unix socket on the server. */
  openDirectStreamlocal(socketPath: string, opts?: ChannelOptions): number {
    return this.connection.openDirectStreamlocal(socketPath, opts);
  }

  /**
   * Accept a server-initiated channel (`channel-open-request`): RFC 4254 §5.1 confirmation with
   * our window and maximum packet size (OpenSSH's defaults if omitted).
   */
  acceptChannel(channel: number, opts?: ChannelOptions): void {
    this.connection.acceptChannel(channel, opts);
  }

  /** Refuse a server-initiated channel: RFC 4254 §5.1 reason code (ChannelOpenFailureReason) and text. */
  rejectChannel(channel: number, reason: number, description: string): void {
    this.connection.rejectChannel(channel, reason, description);
  }

  /**
   * Send a global request (RFC 4254 §4). With `wantReply`, returns the id carried by the matching
   * `global-reply` event (replies are paired with requests in order); otherwise undefined.
   */
  globalRequest(name: string, wantReply: boolean, data?: Uint8Array): number | undefined {
    return this.connection.globalRequest(name, wantReply, data);
  }

  /**
   * RFC 4254 §7.1 tcpip-forward: ask the server to listen on `address`:`port` (`'localhost'`
   * loopback, `''` all addresses; port 0 = the server picks, see decodeTcpipForwardReply) and to
   * open a forwarded-tcpip channel per connection. Returns the request id of the reply.
   */
  requestTcpipForward(address: string, port: number): number {
    return this.connection.globalRequest(GlobalRequestName.TCPIP_FORWARD, true, encodeTcpipForward(address, port))!;
  }

  /** RFC 4254 §7.1 cancel-tcpip-forward (the bound port); returns the request id of the reply. */
  cancelTcpipForward(address: string, port: number): number {
    return this.connection.globalRequest(GlobalRequestName.CANCEL_TCPIP_FORWARD, true, encodeTcpipForward(address, port))!;
  }

  /** OpenSSH PROTOCOL §2.4 streamlocal-forward@openssh.com: listen on a Unix socket on the server. */
  requestStreamlocalForward(socketPath: string): number {
    return this.connection.globalRequest(GlobalRequestName.STREAMLOCAL_FORWARD, true, encodeStreamlocalForward(socketPath))!;
  }

  /** OpenSSH PROTOCOL §2.4 cancel-streamlocal-forward@openssh.com. */
  cancelStreamlocalForward(socketPath: string): number {
    return this.connection.globalRequest(GlobalRequestName.CANCEL_STREAMLOCAL_FORWARD, true, encodeStreamlocalForward(socketPath))!;
  }

  /** Write to a channel. True if all bytes were packetized now; otherwise wait for `channel-drain`. */
  channelWrite(channel: number, data: Uint8Array): boolean {
    return this.connection.write(channel, data);
  }

  /** EOF after queued data (RFC 4254 §5.3). */
  channelEnd(channel: number): void {
    this.connection.end(channel);
  }

  /** CLOSE the channel (RFC 4254 §5.3). */
  channelClose(channel: number): void {
    this.connection.close(channel);
  }

  /**
   * Report that `n` received bytes were consumed locally (drives WINDOW_ADJUST). `now`, in ms
   * on a monotonic clock, lets the window auto-tune (see `windowAutoTune`).
   */
  channelConsumed(channel: number, n: number, now?: number): void {
    this.connection.consumed(channel, n, now);
  }

  channelPendingBytes(channel: number): number {
    return this.connection.pendingBytes(channel);
  }

  channelStats(channel: number): { bytesSent: number; bytesReceived: number } | undefined {
    return this.connection.stats(channel);
  }

  get channelCount(): number {
    return this.connection.channelCount;
  }

  /** The socket is congested (true) or drained (false): holds channel data meanwhile. */
  setOutputPaused(paused: boolean): void {
    this.connection.setOutputPaused(paused);
  }

  /**
   * OpenSSH keepalive@openssh.com global request with want_reply (ServerAliveInterval). Returns
   * the request id of its `global-reply` (undefined before authentication: nothing is sent).
   */
  sendKeepalive(): number | undefined {
    if (this.stage !== 'authenticated') return undefined;
    return this.connection.globalRequest(GlobalRequestName.KEEPALIVE, true);
  }

  /** Keepalives (and other global requests) not answered yet. */
  get outstandingKeepalives(): number {
    return this.connection.outstandingGlobalRequests;
  }

  /** Start a key exchange now (RFC 4253 §9). */
  rekey(): void {
    this.transport.rekey();
  }

  /** Disconnect cleanly (RFC 4253 §11.1, reason 11 by application). */
  disconnect(description = 'disconnected by user'): void {
    this.transport.close(DisconnectReason.BY_APPLICATION, description);
  }

  /** The socket closed or failed. */
  connectionLost(error: SshError): void {
    this.transport.connectionLost(error);
  }

  dispose(): void {
    this.transport.dispose();
  }
}
