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
import type { CompressionProvider } from './compress/compressor.js';
import type { CryptoProvider } from './crypto/provider.js';
import { pureCryptoProvider } from './crypto/pure.js';
import { defaultAlgorithms } from './algorithms.js';
import type { ChannelOptions, DirectTcpipParams } from './connection/connection.js';
import { Connection } from './connection/connection.js';
import type { WindowAutoTuneOptions } from './connection/window-tuning.js';
import { encodeStreamlocalForward, encodeTcpipForward, GlobalRequestName } from './connection/global-requests.js';
import { ConnectionLostError, DisconnectReason, ProtocolError, SshError, TimeoutError, UsageError } from './errors.js';
import { WEAK_KEX_WARNING, type ClientEvent } from './events.js';
import { kexMethods } from './kex/registry.js';
import { keyBlobType } from './keys/hostkey.js';
import type { PrivateKey } from './keys/privatekey.js';
import type { TransportInfo } from './transport/transport.js';
import { Transport } from './transport/transport.js';
import type { AuthOptions } from './auth/userauth.js';
import { offersPubkeyHostbound, offersVersionZero, PUBKEY_HOSTBOUND_EXTENSION, UserAuth } from './auth/userauth.js';
import type { AuthIdentity } from './auth/identity.js';
import { fromUtf8 } from './protocol/wire.js';
import { encodeIgnore } from './protocol/messages.js';
import { checkNumericOptions, show } from './option-check.js';

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
  /**
   * zlib streams (RFC 4253 §6.2), e.g. `zlibCompression` from `pure-ssh/compress-zlib`; needed
   * when `algorithms.compression` lists a zlib method. Injected so that a bundle without
   * compression does not carry zlib.
   */
  compression?: CompressionProvider;
  clientVersion?: string;
  /**
   * RekeyLimit's amount in bytes: 0 or absent = the cipher's own limit, else a whole number
   * >= 16 (as ssh_config), which can only lower it. Out-of-range numeric options are
   * UsageErrors naming the option (option-check.ts).
   */
  rekeyBytes?: number;
  /** A key exchange after this many packets: a whole number >= 1; 0 or absent: 2^31. */
  rekeyPackets?: number;
  /**
   * Zero copy on input (see TransportOptions.borrowInput): `receive()` then owns the buffers it
   * is given and events are views into them. Default false: a transport may reuse its read
   * buffer (a BYOB reader, a `Deno.Conn.read(buf)` loop, Node's `onread`) once `receive()`
   * returns; the core copies only what it keeps, and never writes into the caller's bytes.
   */
  borrowInput?: boolean;
  /**
   * Reuse output buffers (see TransportOptions.recycleOutput): the adapter then reports every
   * buffer {@link ClientCore.takeOutput} returned, in order, with {@link ClientCore.outputWritten}
   * once its socket write completed. Default false: every returned buffer stays valid for good.
   */
  recycleOutput?: boolean;
  /**
   * The clock, in milliseconds (any monotonic or wall clock: `Date.now`, `performance.now`).
   * Required when one of the timers below is on; the core never reads a clock of its own
   * (aioquic's shape: the adapter arms one timer at {@link ClientCore.getTimer} and calls
   * {@link ClientCore.handleTimer} when it fires).
   */
  now?: () => number;
  /**
   * ssh_config(5) ConnectTimeout, in ms, counted from {@link ClientCore.start} to the server's
   * host key (the time a person takes to answer a prompt is not counted). 0 or absent: off.
   */
  connectTimeout?: number;
  /**
   * ssh(1)'s scope of ConnectTimeout, in ms: counted from {@link ClientCore.start} until the
   * server's identification line has arrived (OpenSSH kex.c kex_exchange_identification waits
   * with what is left of ConnectTimeout after the TCP connect); the key exchange and
   * authentication are not timed. On expiry the connection ends with a TimeoutError
   * (ERR_BANNER_TIMEOUT) "Connection timed out during banner exchange". 0 or absent: off.
   */
  bannerTimeout?: number;
  /** ssh_config(5) ServerAliveInterval, in ms, from authentication on. 0 or absent: off. */
  keepaliveInterval?: number;
  /** ssh_config(5) ServerAliveCountMax (default 3). */
  keepaliveCountMax?: number;
  /**
   * What to add to `now()` to read OpenSSH's monotime() clock in ms (Linux: CLOCK_BOOTTIME,
   * CLOCK_MONOTONIC's twin). When given, keepalives fall on that clock's whole seconds as
   * clientloop.c schedules them (server_alive_time = monotime() + ServerAliveInterval, in whole
   * seconds): between interval − 1 s and interval after the last read, as ssh(1) sends them.
   * Absent, or an interval that is not whole seconds: exactly the interval after it.
   */
  monotimeOffset?: number;
  /** ssh_config(5) RekeyLimit's time part, in ms: a key exchange this long after the last one. */
  rekeyTime?: number;
  /** The server's name and port, used in timeout messages only (ssh(1) wording). */
  host?: string;
  port?: number;
  /**
   * Receive-window auto-tuning (connection/window-tuning.ts): windows grow with the measured
   * bandwidth-delay product, up to `max` bytes for all channels together (default 32 MiB), the
   * growth beyond the initial windows taken from `budget`, shared with other connections
   * (default the process's `sharedWindowBudget`, 64 MiB).
   * It acts only with a clock: `now` above, or the time given to {@link ClientCore.channelConsumed}
   * (which must then be on the same clock). false: OpenSSH's fixed 2 MiB windows.
   */
  windowAutoTune?: WindowAutoTuneOptions | false;
  /**
   * Initial receive window of each channel, bytes (RFC 4254 §5.1; default 2 MiB, OpenSSH's
   * CHAN_TCP_WINDOW_DEFAULT): what a channel may buffer for a slow reader before auto-tuning
   * grows it, and so the floor of a process's memory per open channel.
   */
  channelWindow?: number;
  /**
   * false: a host key refused ({@link ClientCore.rejectHostKey}) and an authentication left with
   * no method to try end the connection without SSH_MSG_DISCONNECT (RFC 4253 §11.1 reasons 9
   * and 14), as ssh(1) leaves through fatal() (sshconnect2.c verify_host_key_callback,
   * ssh_userauth2's "Permission denied"): the server sees the TCP connection close. Default
   * true: the DISCONNECT tells the server why.
   */
  disconnectOnRefusal?: boolean;
  /** See TransportOptions.failAfterVersion (transport/transport.ts). */
  failAfterVersion?: SshError;
}

type Stage = 'handshake' | 'auth' | 'authenticated' | 'closed';

/**
 * A read from the socket up to this many bytes is "small" (a few control packets, such as a
 * WINDOW_ADJUST or an EOF): TCP delays its ACK, where a read of full segments is ACKed at once.
 */
const SMALL_READ = 1024;
/**
 * IGNOREs answering small reads after our EOF, per EOF we send: the first one or two are what
 * frees the server's EOF; a server that keeps a half-closed channel busy with small writes gets no
 * IGNORE per write beyond these (OpenSSH's ssh sends none).
 */
const IGNORES_PER_EOF = 4;
/** Cap on the unused allowance of {@link IGNORES_PER_EOF} across many EOFs. */
const MAX_EOF_IGNORES = 64;

/** The whole client protocol engine. */
export class ClientCore {
  private readonly transport: Transport;
  private readonly userauth: UserAuth;
  private readonly connection: Connection;
  /**
   * Events not yet taken: slots eventHead..eventTail-1. The array is kept and its slots reused
   * (a taken slot is cleared, so nothing outlives its event): neither `length = 0` (a V8 runtime
   * call, ~400 instructions) nor a new array that grows again per batch of messages.
   */
  private readonly events: (ClientEvent | undefined)[] = [];
  private eventHead = 0;
  private eventTail = 0;
  private stage: Stage = 'handshake';
  private serverSigAlgs: string[] | undefined;
  private pingSupported = false;
  /** The server's EXT_INFO offered publickey-hostbound@openssh.com version "0" (OpenSSH PROTOCOL §"publickey-hostbound"). */
  private pubkeyHostbound = false;
  private closeError: SshError | undefined;
  private readonly timers: CoreTimers;
  /** The `now` option: the clock of window tuning's RTT samples (undefined: none given). */
  private readonly clock: (() => number) | undefined;

  /** ClientCoreOptions.disconnectOnRefusal. */
  private readonly disconnectOnRefusal: boolean;

  constructor(options: ClientCoreOptions) {
    if (!options.username) throw new UsageError('a username is required');
    checkNumericOptions(options);
    this.disconnectOnRefusal = options.disconnectOnRefusal !== false;
    this.timers = new CoreTimers(options);
    this.clock = options.now;
    const crypto = options.crypto ?? pureCryptoProvider;
    const algorithms = { ...defaultAlgorithms(crypto.name), ...options.algorithms };
    const emit = (e: ClientEvent): void => this.queueEvent(e);
    const log = (message: string, level?: 2 | 3) => emit(level ? { type: 'log', message, level } : { type: 'log', message });
    this.transport = new Transport(
      {
        random: options.random,
        algorithms,
        crypto,
        compression: options.compression,
        borrowInput: options.borrowInput,
        recycleOutput: options.recycleOutput,
        clientVersion: options.clientVersion,
        rekeyBytes: options.rekeyBytes,
        rekeyPackets: options.rekeyPackets,
        fingerprintHash: options.fingerprintHash,
        failAfterVersion: options.failAfterVersion,
      },
      {
        hostKey: ({ algorithm, keyBlob, fingerprint }) => {
          // ssh(1): ConnectTimeout covers reaching the server, not the host key prompt.
          this.timers.connectDeadline = undefined;
          this.timers.userWait(1);
          emit({ type: 'host-key', algorithm, keyType: keyBlobType(keyBlob), keyBlob, fingerprint });
        },
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
        channelData: (buf, start, end) => this.connection.receiveChannelData(buf, start, end),
        resumed: () => this.connection.flushAll(),
        extInfo: (ext, first) => {
          // OpenSSH 10 kex.c kex_ext_info_client_parse / kex_ext_info_check_ver: a NUL in
          // server-sig-algs, or in a value it checks, is SSH_ERR_INVALID_FORMAT (fatal).
          for (const name of ['server-sig-algs', ...(first ? EXT_INFO_FIRST_ONLY : [])]) {
            if (ext.get(name)?.includes(0)) throw new ProtocolError(`SSH2_MSG_EXT_INFO: ${name} value contains nul byte`, { code: 'ERR_MALFORMED_PACKET' });
          }
          const sigAlgs = ext.get('server-sig-algs');
          if (sigAlgs) this.serverSigAlgs = fromUtf8(sigAlgs).split(',');
          // Only the first EXT_INFO's, and only version "0" (kex_ext_info_client_parse); the
          // flags are never cleared.
          if (first && offersPubkeyHostbound(ext)) this.pubkeyHostbound = true;
          if (first && offersVersionZero(ext, 'ping@openssh.com')) this.pingSupported = true;
          for (const line of extInfoLines(ext)) log(line);
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
      hostBoundKey: () => (this.pubkeyHostbound ? this.transport.info.hostKey : undefined),
      serverSigAlgs: () => this.serverSigAlgs,
      banner: (message) => emit({ type: 'banner', message }),
      keyboardInteractiveInfo: (name, instruction) => emit({ type: 'keyboard-interactive-info', name, instruction }),
      passwordNeeded: (prompt, retry, method, kbd) => {
        this.timers.userWait(1);
        emit({ type: 'password-needed', prompt, retry, method, ...kbd });
      },
      signRequest: (r) => {
        this.timers.userWait(1);
        emit({ type: 'sign-request', ...r });
      },
      keyRequest: (r) => {
        this.timers.userWait(1);
        emit({ type: 'key-request', ...r });
      },
      success: () => {
        // OpenSSH PROTOCOL §1.2: zlib@openssh.com starts right after USERAUTH_SUCCESS, both ways.
        this.transport.userauthSuccess();
        this.stage = 'authenticated';
        this.connection.activate();
        this.timers.authenticated();
        emit({ type: 'authenticated' });
      },
      failure: (error) => {
        // RFC 4253 §11.1 reason 14: no more authentication methods available.
        // Without it (disconnectOnRefusal false), nothing more is sent: the TCP connection closes.
        if (this.disconnectOnRefusal) this.transport.close(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, 'no more authentication methods', error);
        else this.transport.connectionLost(error);
      },
      log,
    });
    this.connection = new Connection(this.transport, emit, options.windowAutoTune, options.now, options.channelWindow);
  }

  /**
   * Queue our identification and KEXINIT; the ConnectTimeout counts from `startedAt` (on the `now`
   * clock; default now), e.g. when the adapter began opening the transport the core runs over.
   */
  start(startedAt?: number): void {
    this.timers.started(startedAt);
    this.transport.start();
  }

  /**
   * Optional, after {@link start} and once its output is on the wire: make the ephemeral key
   * pair of our first-preference kex method now, while the server's KEXINIT is on its way, so
   * that it is not made after the KEXINIT arrives (ML-KEM-768 keygen costs milliseconds). Used
   * only if that method is negotiated, wiped otherwise; never carried to a rekey. Returns whether
   * a key pair was made (false when the exchange has moved on or the method's key depends on the
   * negotiated ciphers, as the finite-field groups' does). RFC 4253 §7.1 is unaffected: nothing
   * is sent before negotiation.
   */
  prepareKex(): boolean {
    return this.transport.prepareKex();
  }

  /** Feed bytes received from the server. The core takes ownership (decrypts in place). */
  receive(data: Uint8Array): void {
    this.timers.received();
    const wasOpening = this.connection.pendingOpens > 0;
    this.transport.receive(data);
    // The banner's deadline ends with the server's identification line (kex.c).
    if (this.timers.bannerDeadline !== undefined && this.transport.info.serverVersion !== undefined) this.timers.bannerDeadline = undefined;
    // packet.c ssh_packet_set_timeout: before the session, every wait for the server's next
    // packet is limited to ServerAliveInterval × ServerAliveCountMax.
    if (this.timers.packetTimeout && this.stage !== 'authenticated' && this.transport.info.serverVersion !== undefined) this.timers.serverHeard();
    if (this.timers.rekeyTime) {
      this.timers.kexSeen(this.transport.info.kexCount);
      // packet.c ssh_packet_read_poll2 checks after each packet read: past the time, a packet
      // received after an idle stretch starts the rekey at once.
      if (this.timers.rekeyOverdue) this.rekeyForTime();
    }
    // While we wait for an open confirmation, answer what the server sent with a few bytes (RFC
    // 4253 §11.2 IGNORE) so our TCP ACK leaves at once: sshd sends small packets after
    // authentication (hostkeys-00, DEBUG) and Nagle would hold its confirmation behind our delayed
    // ACK for ~40 ms. The read that carries the confirmation is answered too: a server-first
    // endpoint's first bytes (a greeting) follow the confirmation at once, and sshd's Nagle held
    // them behind our delayed ACK of it (40 ms of the first forwarded byte on loopback, seen with
    // tcpdump; ssh(1) waits the same). The same after our EOF, until the server's EOF or CLOSE: its
    // WINDOW_ADJUST for our last data sits unacknowledged, and its EOF (once the forwarded socket
    // ends) waited behind our delayed ACK: 40-45 ms at the end of most uploads. Only for small
    // reads there: a download after our EOF arrives in full segments, which TCP acknowledges at
    // once, and needs no IGNORE per read. Cheapest checks first: this runs for every read.
    const eofs = this.connection.eofsSent;
    const answered = this.connection.eofsAnswered;
    if (eofs !== this.eofsSeen || answered !== this.eofsAnsweredSeen) {
      // The allowance is for the channels still waiting: what answered channels left unused is
      // dropped, not spent on a later channel's chatty server.
      this.eofIgnores = Math.min(
        MAX_EOF_IGNORES,
        this.eofIgnores + IGNORES_PER_EOF * (eofs - this.eofsSeen),
        IGNORES_PER_EOF * (eofs - answered),
      );
      this.eofsSeen = eofs;
      this.eofsAnsweredSeen = answered;
    }
    const opening = wasOpening || this.connection.pendingOpens > 0;
    if (
      (opening || (data.length <= SMALL_READ && this.eofIgnores > 0 && this.connection.awaitingPeerEof)) &&
      this.stage === 'authenticated' &&
      !this.transport.outputPending &&
      !this.transport.sendBlocked
    ) {
      this.transport.send(encodeIgnore());
      if (!opening) this.eofIgnores--;
    }
  }
  /** EOFs seen sent and answered (Connection.eofsSent, eofsAnswered) and the IGNOREs the waiting ones still allow (see IGNORES_PER_EOF). */
  private eofsSeen = 0;
  private eofsAnsweredSeen = 0;
  private eofIgnores = 0;

  /**
   * When the adapter must call {@link handleTimer}: an absolute time in ms on the `now` clock,
   * or undefined when no timer is due (aioquic's get_timer). Ask again after each call in.
   */
  getTimer(): number | undefined {
    if (this.stage === 'closed') return undefined;
    return this.timers.next();
  }

  /**
   * The timer from {@link getTimer} fired (early or late calls are fine): ConnectTimeout closes
   * with a TimeoutError (ERR_TIMEOUT), ServerAliveCountMax unanswered probes with
   * ERR_KEEPALIVE_TIMEOUT; otherwise a keepalive or a rekey may be queued. Then drain events and output.
   */
  handleTimer(now: number = this.timers.now()): void {
    if (this.stage === 'closed') return;
    const action = this.timers.fire(now);
    if (action === 'connect-timeout') {
      const t = this.timers;
      this.transport.connectionLost(connectTimedOut(t.host, t.port, t.connectTimeout));
    } else if (action === 'banner-timeout') {
      // kex.c kex_exchange_identification: what ssh(1) logs when no identification line came in time.
      this.transport.connectionLost(new TimeoutError('Connection timed out during banner exchange', 'ERR_BANNER_TIMEOUT'));
    } else if (action === 'packet-timeout') {
      // packet.c sshpkt_fatal, SSH_ERR_CONN_TIMEOUT.
      const t = this.timers;
      this.transport.connectionLost(new TimeoutError(`Connection to ${t.host} port ${t.port} timed out`, 'ERR_PACKET_TIMEOUT'));
    } else if (action === 'keepalive-timeout') {
      this.transport.connectionLost(new TimeoutError(`Timeout, server ${this.timers.host} not responding.`, 'ERR_KEEPALIVE_TIMEOUT'));
    } else {
      if (action.keepalive) this.sendKeepalive();
      if (action.rekey) this.rekeyForTime();
    }
  }

  /**
   * RekeyLimit's time has passed. OpenSSH packet.c ssh_packet_need_rekeying rekeys only after
   * authentication and once a packet has gone either way under the current keys: an idle
   * connection is re-keyed once, not every interval. Until then clientloop.c checks again at
   * least every second (ssh_packet_get_rekey_timeout) and after each packet read (see receive).
   */
  private rekeyForTime(): void {
    if (this.stage !== 'authenticated' || this.transport.packetsSinceNewKeys === 0) {
      this.timers.rekeyDeferred();
      return;
    }
    this.timers.rekeyStarted();
    this.queueEvent({ type: 'log', message: 'rekeying: RekeyLimit time reached' });
    this.transport.rekey();
  }

  /** Bytes to write to the server, or null. */
  takeOutput(): Uint8Array[] | null {
    return this.transport.takeOutput();
  }

  /**
   * With `recycleOutput`: the oldest buffer from {@link takeOutput} not yet reported is written
   * (`ok`), or its write failed (`ok` false). Until then the core does not reuse it.
   */
  outputWritten(ok = true): void {
    this.transport.outputWritten(ok);
  }

  /** Whether {@link takeOutput} has bytes. */
  get outputPending(): boolean {
    return this.transport.outputPending;
  }

  /** The next event, or undefined when there are none. */
  nextEvent(): ClientEvent | undefined {
    const head = this.eventHead++;
    if (head >= this.eventTail) return void (this.eventHead = this.eventTail = 0);
    const e = this.events[head];
    this.events[head] = undefined;
    return e;
  }

  /** Appends an event for {@link nextEvent} (into a slot the queue reuses). */
  private queueEvent(e: ClientEvent): void {
    this.events[this.eventTail++] = e;
  }

  get isAuthenticated(): boolean {
    return this.stage === 'authenticated';
  }

  /**
   * Whether the `none` request that asks the server for its authentication methods (RFC 4252
   * §5.2) is on its way and unanswered: time the server spends on it (sshd 9.2: 5-10 ms) that
   * an adapter may use to load local key files (see src/node/client.ts ExternalSigner.prepare).
   */
  get awaitingAuthMethods(): boolean {
    return this.stage === 'auth' && this.userauth.awaitingMethods;
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

  /**
   * Before {@link acceptHostKey}: the identities to offer (after `privateKeys`), replacing the
   * `identities` given. An embedder with an ssh-agent lists its keys here once the host key is
   * trusted and the agent bound to the session, as ssh(1) does (OpenSSH sshconnect2.c
   * pubkey_prepare, PROTOCOL.agent §1).
   */
  replaceIdentities(identities: readonly AuthIdentity[]): void {
    this.userauth.replaceIdentities(identities);
  }

  acceptHostKey(): void {
    this.timers.userWait(-1);
    this.transport.acceptHostKey();
  }

  rejectHostKey(error: SshError): void {
    this.timers.userWait(-1);
    this.transport.rejectHostKey(error, this.disconnectOnRefusal);
  }

  /** Answer `password-needed`; null gives up on that method. */
  providePassword(password: string | null): void {
    this.timers.userWait(-1);
    this.userauth.providePassword(password);
  }

  /**
   * Answer `sign-request` `id`: the signature blob (RFC 4253 §6.6: `string format || string
   * signature`, as an agent's SSH_AGENT_SIGN_RESPONSE holds it), or null with a reason a person
   * can read (e.g. `agent refused operation`); the next key or method is then tried, and the
   * reason ends up in the AuthenticationError if nothing else works. Null without a reason: the
   * key could not be loaded (no or a wrong passphrase) and the caller reports it (the Node
   * client, in `identitiesSkipped`); no "signing failed" line, as ssh(1) has none then.
   * `reported`: the caller has said why in a line of its own (the Node client's ssh(1) words,
   * `sign_and_send_pubkey: signing failed ...` or `Load key "PATH": ...`), so the core keeps the
   * reason for the AuthenticationError without a "signing failed" log line of its own.
   * Anything else (a string, undefined: a custom signer's bug) ends authentication with a
   * UsageError.
   */
  provideSignature(id: number, signature: Uint8Array | null, reason?: string, opts?: { reported?: boolean }): void {
    this.timers.userWait(-1);
    this.userauth.provideSignature(id, signature, reason, opts);
  }

  /**
   * Answer `key-request` `id`: the identity's private key, which the core signs with once and
   * then disposes of, or null with a reason a person can read (no passphrase given); the next
   * key or method is then tried.
   */
  provideKey(id: number, key: PrivateKey | null, reason?: string): void {
    this.timers.userWait(-1);
    this.userauth.provideKey(id, key, reason);
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
   * our window and maximum packet size (ssh(1)'s 2 MiB and 32 KiB if omitted).
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

  /**
   * Write to a channel. True if all bytes were packetized now; otherwise wait for `channel-drain`.
   * `lent`: `data` is reused by the caller after the call (e.g. a socket's read buffer); the core
   * then copies whatever it cannot packetize at once. Default false: the core keeps `data` as is.
   */
  channelWrite(channel: number, data: Uint8Array, lent = false): boolean {
    return this.connection.write(channel, data, lent);
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
   * Report that `n` received bytes were consumed locally (drives WINDOW_ADJUST). `now`, in ms on
   * the `now` option's clock (read from it when omitted), lets the window auto-tune (see
   * `windowAutoTune`).
   */
  channelConsumed(channel: number, n: number, now: number | undefined = this.clock?.()): void {
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

  /** See Connection.reserveChannelNumber: a number no channel on the wire will take. */
  reserveChannelNumber(): number {
    return this.connection.reserveChannelNumber();
  }

  get reservedChannels(): number {
    return this.connection.reservedChannels;
  }

  releaseChannelNumber(id: number): void {
    this.connection.releaseChannelNumber(id);
  }

  /** The receive windows of all channels, bytes (see Connection.receiveWindows). */
  get receiveWindows(): { windows: number; committed: number; borrowed: number } {
    return this.connection.receiveWindows;
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

  /**
   * OpenSSH PROTOCOL §2.2 no-more-sessions@openssh.com, without want_reply: the server refuses
   * every "session" channel opened on this connection from now on (sshd serverloop.c, "Possible
   * attack: attempt to open a session after additional sessions disabled"), so a client taken
   * over later cannot start a shell through it. False (nothing sent) before authentication or
   * once the transport is closed.
   */
  sendNoMoreSessions(): boolean {
    if (this.stage !== 'authenticated' || this.transport.isClosed) return false;
    this.connection.globalRequest(GlobalRequestName.NO_MORE_SESSIONS, false);
    return true;
  }

  /** Keepalives (and other global requests) not answered yet. */
  get outstandingKeepalives(): number {
    return this.connection.outstandingGlobalRequests;
  }

  /** Start a key exchange now (RFC 4253 §9). */
  rekey(): void {
    this.transport.rekey();
  }

  /**
   * Disconnect cleanly (RFC 4253 §11.1, reason 11 by application): queues SSH_MSG_DISCONNECT and
   * ends the connection (a 'closed' event). Write what {@link takeOutput} then returns before
   * closing the transport, or the server never sees the DISCONNECT.
   */
  disconnect(description = 'disconnected by user'): void {
    this.transport.close(DisconnectReason.BY_APPLICATION, description);
  }

  /**
   * Queue SSH2_MSG_DISCONNECT (RFC 4253 §11.1, by application) without ending the connection:
   * the caller writes it, then ends with {@link connectionLost}, worded by that write's outcome
   * (ssh(1) sends it once the server's connection ended, clientloop.c client_loop).
   */
  queueDisconnect(description = 'disconnected by user'): void {
    this.transport.queueDisconnect(DisconnectReason.BY_APPLICATION, description);
  }

  /** The socket closed or failed. */
  connectionLost(error: SshError): void {
    this.transport.connectionLost(error);
  }

  dispose(): void {
    this.transport.dispose();
  }
}

/** ConnectTimeout expired (the web adapter's while its transport opens too). */
export function connectTimedOut(host: string, port: number, ms: number): TimeoutError {
  return new TimeoutError(`ssh: connect to host ${host} port ${port}: Connection timed out during handshake (ConnectTimeout ${ms} ms)`);
}

/** packet.c ssh_packet_get_rekey_timeout: once RekeyLimit's time has passed, ssh polls every second. */
const REKEY_RECHECK_MS = 1000;

type TimerAction = 'connect-timeout' | 'banner-timeout' | 'packet-timeout' | 'keepalive-timeout' | { keepalive: boolean; rekey: boolean };

/**
 * The core's deadlines (ConnectTimeout, ServerAlive*, RekeyLimit time), all on the injected clock.
 * ssh_config(5): ServerAliveInterval probes only after that long without hearing from the server
 * (and that long after the previous probe); anything received resets the count of unanswered
 * probes (packet.c resets keep_alive_timeouts per packet read); ServerAliveCountMax unanswered
 * ends it, on the next check.
 */
class CoreTimers {
  readonly now: () => number;
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  private readonly bannerTimeout: number;
  private readonly interval: number;
  private readonly countMax: number;
  readonly rekeyTime: number;
  connectDeadline: number | undefined;
  bannerDeadline: number | undefined;
  /** ServerAliveInterval × ServerAliveCountMax (packet.c ssh_packet_set_timeout), 0: off. */
  readonly packetTimeout: number;
  private packetDeadline: number | undefined;
  /** Host key, password and signature questions not answered yet: ssh is not reading then. */
  private userWaits = 0;
  private packetArmed = false;
  private keepaliveAt: number | undefined;
  private readonly monotimeOffset: number | undefined;
  private rekeyAt: number | undefined;
  private lastReceived = 0;
  private unanswered = 0;
  private kexCount = 0;

  constructor(o: ClientCoreOptions) {
    this.connectTimeout = positive(o.connectTimeout, 'connectTimeout');
    this.bannerTimeout = positive(o.bannerTimeout, 'bannerTimeout');
    this.interval = positive(o.keepaliveInterval, 'keepaliveInterval');
    this.rekeyTime = positive(o.rekeyTime, 'rekeyTime');
    this.countMax = o.keepaliveCountMax ?? 3;
    this.monotimeOffset = o.monotimeOffset;
    this.packetTimeout = this.countMax > 0 ? this.interval * this.countMax : 0;
    this.host = o.host ?? 'server';
    this.port = o.port ?? 22;
    const clock = o.now;
    if (!clock && (this.connectTimeout || this.bannerTimeout || this.interval || this.rekeyTime)) {
      throw new UsageError('connectTimeout, bannerTimeout, keepaliveInterval and rekeyTime need a clock: pass now (e.g. () => Date.now())');
    }
    this.now = clock ?? (() => 0);
  }

  started(now = this.now()): void {
    this.lastReceived = now;
    if (this.connectTimeout) this.connectDeadline = now + this.connectTimeout;
    if (this.bannerTimeout) this.bannerDeadline = now + this.bannerTimeout;
  }

  authenticated(): void {
    this.connectDeadline = undefined;
    this.bannerDeadline = undefined;
    this.packetDeadline = undefined;
    this.packetArmed = false;
    if (this.interval) this.keepaliveAt = this.aliveAt(this.now());
  }

  /**
   * clientloop.c schedule_server_alive_check: ServerAliveInterval after `t`, counted from the
   * start of monotime()'s whole second when the clock is known (ClientCoreOptions.monotimeOffset)
   * and the interval is whole seconds, all ServerAliveInterval can say. A finer interval counts
   * from `t` itself: rounded down, it could fall at or before `t` and burst probes.
   */
  private aliveAt(t: number): number {
    const off = this.monotimeOffset;
    if (off === undefined || this.interval % 1000 !== 0) return t + this.interval;
    return Math.floor((t + off) / 1000) * 1000 - off + this.interval;
  }

  /**
   * Before the session: a packet came (or the user answered), the wait for the next one starts
   * (packet.c ssh_packet_read_seqnr polls with the whole timeout per read).
   */
  serverHeard(): void {
    this.packetArmed = true;
    this.packetDeadline = this.userWaits > 0 ? undefined : this.now() + this.packetTimeout;
  }

  /** A question for the user asked (+1) or answered (-1): no packet timeout while one is open. */
  userWait(delta: 1 | -1): void {
    this.userWaits = Math.max(0, this.userWaits + delta);
    // Only between the server's banner (serverHeard) and authentication.
    if (!this.packetTimeout || !this.packetArmed) return;
    this.packetDeadline = this.userWaits > 0 ? undefined : this.now() + this.packetTimeout;
  }

  received(): void {
    this.unanswered = 0;
    // Only ServerAliveInterval reads it: no clock call per packet without it.
    if (this.interval) this.lastReceived = this.now();
  }

  /** RekeyLimit time counts from the end of the last key exchange, whoever started it. */
  kexSeen(kexCount: number): void {
    if (kexCount === this.kexCount) return;
    this.kexCount = kexCount;
    this.rekeyOverdue = false;
    if (this.rekeyTime) this.rekeyAt = this.now() + this.rekeyTime;
  }

  /** RekeyLimit's time has passed but the rekey waits (see ClientCore.rekeyForTime). */
  rekeyOverdue = false;

  /** The time-based rekey waits: look again in a second, as clientloop.c's poll timeout does. */
  rekeyDeferred(): void {
    this.rekeyOverdue = true;
    this.rekeyAt = this.now() + REKEY_RECHECK_MS;
  }

  /** The time-based rekey started: no deadline until it completes (kexSeen). */
  rekeyStarted(): void {
    this.rekeyOverdue = false;
    this.rekeyAt = undefined;
  }

  /** The earliest deadline. Asked after every call into the core: no allocation, no clock. */
  next(): number | undefined {
    let t = this.connectDeadline;
    const b = this.bannerDeadline;
    if (b !== undefined && (t === undefined || b < t)) t = b;
    const p = this.packetDeadline;
    if (p !== undefined && (t === undefined || p < t)) t = p;
    const k = this.keepaliveAt;
    if (k !== undefined && (t === undefined || k < t)) t = k;
    const r = this.rekeyAt;
    if (r !== undefined && (t === undefined || r < t)) t = r;
    return t;
  }

  fire(now: number): TimerAction {
    if (this.connectDeadline !== undefined && now >= this.connectDeadline) return 'connect-timeout';
    if (this.bannerDeadline !== undefined && now >= this.bannerDeadline) return 'banner-timeout';
    if (this.packetDeadline !== undefined && now >= this.packetDeadline) return 'packet-timeout';
    const action = { keepalive: false, rekey: false };
    if (this.keepaliveAt !== undefined && now >= this.keepaliveAt) {
      // clientloop.c schedule_server_alive_check: the check is due ServerAliveInterval after
      // the last read from the server or the last probe sent, whichever is later (not on a grid
      // from authentication): a connection that keeps hearing from the server sends none.
      const quietUntil = this.aliveAt(this.lastReceived);
      if (quietUntil > now) {
        this.keepaliveAt = quietUntil;
      } else {
        // server_alive_check: count the probe first; more than ServerAliveCountMax unanswered ends it.
        if (++this.unanswered > this.countMax) return 'keepalive-timeout';
        action.keepalive = true;
        this.keepaliveAt = this.aliveAt(now);
      }
    }
    if (this.rekeyAt !== undefined && now >= this.rekeyAt) action.rekey = true;
    return action;
  }
}

/** A time option in ms, 0 when off (its range is checked by checkNumericOptions). */
function positive(v: number | undefined, name: string): number {
  if (v === undefined || v === 0) return 0;
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${name} must be a number of milliseconds >= 0 (0 = off), got ${show(v)}`);
  return v;
}

/** The extensions OpenSSH 10 takes from the first EXT_INFO only (kex_ext_info_client_parse). */
const EXT_INFO_FIRST_ONLY = [PUBKEY_HOSTBOUND_EXTENSION, 'ping@openssh.com'];

/**
 * ssh(1)'s -v lines for a received EXT_INFO (RFC 8308 §2.3), OpenSSH 9.2 kex.c kex_input_ext_info:
 * the values of the extensions it uses (server-sig-algs, publickey-hostbound@openssh.com; and
 * ping@openssh.com, which pure-ssh uses as OpenSSH 9.5+ does), the others named "unrecognised".
 * The value is printed as ssh prints a C string, a stray byte shown rather than fatal.
 */
function extInfoLines(ext: ReadonlyMap<string, Uint8Array>): string[] {
  const lines = ['SSH2_MSG_EXT_INFO received'];
  for (const [name, value] of ext) {
    const used = name === 'server-sig-algs' || name === PUBKEY_HOSTBOUND_EXTENSION || name === 'ping@openssh.com';
    lines.push(`kex_input_ext_info: ${name}${used ? `=<${new TextDecoder().decode(value)}>` : ' (unrecognised)'}`);
  }
  return lines;
}
