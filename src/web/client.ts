/**
 * The runtime-neutral adapter: runs the sans-IO {@link ClientCore} over any WHATWG byte stream
 * pair `{ readable, writable }` (Deno.connect, Cloudflare's connect(), WebSocketStream, a
 * WebSocket through {@link webSocketStreams}, Node's web streams). Web APIs only: streams,
 * crypto.getRandomValues, setTimeout. One timer, armed at the core's getTimer().
 */
import { knownHostsThenCallback, settleHostKey } from '../keys/host-key-verdict.js';
import type { AlgorithmPreferences } from '../algorithms.js';
import { ALGORITHM_CATEGORIES, applyAlgorithmSpec, applyPubkeyAcceptedSpec, defaultAlgorithms, orderHostKeyAlgorithms, ordersHostKeyAlgorithms } from '../algorithms.js';
import { ClientCore, connectTimedOut } from '../client-core.js';
import type { DirectTcpipParams } from '../connection/connection.js';
import type { CompressionProvider } from '../compress/compressor.js';
import { runtimeCipherOrderNote } from '../cipher/registry.js';
import { COMPRESSION_NO, COMPRESSION_YES } from '../compress/registry.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { pureCryptoProvider } from '../crypto/pure.js';
import { ConnectionLostError, SshError, UsageError } from '../errors.js';
import type { ClientEvent } from '../events.js';
import type { Signer } from '../auth/signer.js';
import { isCertificateType } from '../keys/certificate.js';
import { keyBlobType } from '../keys/hostkey.js';
import type { ExtraKeyDecryption } from '../keys/extra-key-decryption.js';
import { parsePrivateKey, type PrivateKey } from '../keys/privatekey.js';
import { concatBytes, constantTimeEqual } from '../protocol/wire.js';
import type { TransportInfo } from '../transport/transport.js';
import { chunkReader, type ChunkReader } from './coalesce.js';
import { WebChannel } from './channel.js';
import { knownHostsFromText, knownHostsTextVerifier, orderHints, type WebHostKeyVerifier } from './host-key.js';
import { webRandom } from './random.js';
import { sockets, WebSocketClosedError } from './websocket.js';
import { MAX_TIMER_DELAY_MS, setLongTimeout, type LongTimeout } from '../long-timeout.js';
import { checkAlgorithmLists, checkNumericOptions, checkOptionKeys, checkOptionTypes, checkSigners, show } from '../option-check.js';
import { NODE_ONLY_OPTIONS, WEB_CONNECT_OPTIONS } from './option-table.js';
import { abortedBySignal, askUser, guardHooks, untilAborted } from '../user-callback.js';
import { keyboardInteractiveInfoLine, SIGNER_DECLINED } from '../auth/userauth.js';
import { closedByRemoteHost, closedDuringKexOrAuth, KEX_IDENTIFICATION_CLOSED } from '../quit-message.js';

/** A bidirectional byte stream, e.g. `Deno.connect()`'s conn or `connect()` from cloudflare:sockets. */
export interface ByteStreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /**
   * Optional: turn off Nagle's algorithm (TCP_NODELAY), as `Deno.TcpConn` has. When present,
   * {@link connect} calls `setNoDelay(true)` before the first byte, as ssh(1) and sshd(8) do on
   * their socket (OpenSSH packet.c, `ssh_packet_set_interactive` / `apply_qos`): with Nagle on,
   * a small packet sent while earlier bytes are unacknowledged (a CHANNEL_OPEN after an upload,
   * an EOF, a WINDOW_ADJUST, a keystroke) waits for the server's delayed ACK, about 40 ms on
   * Linux. Transports without it (Cloudflare's sockets, WebSockets, Node's `Duplex.toWeb`) are
   * left as they are; with Node, pass `noDelay: true` to `net.connect`.
   */
  setNoDelay?: (noDelay?: boolean) => void;
}

/** Options of {@link connect}. A host key decision is required: knownHosts or verifyHostKey. */
export interface WebConnectOptions {
  /** The byte stream to the server (or a promise of it, e.g. a WebSocket still opening). */
  transport: ByteStreamPair | Promise<ByteStreamPair>;
  /** The server's name as known_hosts knows it (and for messages). */
  host: string;
  /** Default 22 (for known_hosts and messages; the transport is already connected). */
  port?: number;
  username: string;
  /** Private key(s): key file text or bytes (OpenSSH, PEM, PKCS#8, PuTTY .ppk), or parsed keys. */
  privateKey?: string | Uint8Array | PrivateKey | (string | Uint8Array | PrivateKey)[];
  /** Passphrase for encrypted keys among privateKey. */
  passphrase?: string | Uint8Array;
  /**
   * Reads PEM and PKCS#8 keys protected with 3DES (DES-EDE3-CBC), PKCS#12 PBE or scrypt, OpenSSH
   * keys under 3des-cbc and encrypted PuTTY PPK v3 keys (Argon2) among privateKey
   * (`openssl genrsa -des3`, `openssl pkcs8 -scrypt`, puttygen 0.75+): pass `extraKeyDecryption` from
   * `pure-ssh/key-decryption`. Left out by default to keep the bundle small.
   */
  extraKeyDecryption?: ExtraKeyDecryption;
  /**
   * Keys that sign elsewhere (a WebAuthn-backed key, a KMS, a hardware token): offered after
   * `privateKey`; the core asks for each signature as an event and never holds the key. See
   * {@link Signer}.
   */
  signers?: Signer[];
  password?: string;
  /**
   * Asked when the server wants a password or a keyboard-interactive answer (RFC 4256) and none
   * was given (or it failed): return it or a promise of it; null or undefined gives that method
   * up. A throw or rejection ends connect() with an SshError ERR_ABORTED (`cause`: its error).
   * `context` as in the Node client: `retry` is true when the server refused the same method's
   * previous answer, `method` the method asking; for keyboard-interactive, one call per prompt of
   * a request, in order, with the prompt's `echo` flag and its `index` among `count` prompts.
   */
  askPassword?: (
    prompt: string,
    context: { retry: boolean; method: 'password' | 'keyboard-interactive'; echo?: boolean; index?: number; count?: number },
  ) => string | null | undefined | Promise<string | null | undefined>;
  /** OpenSSH's NumberOfPasswordPrompts (default 3). */
  passwordAttempts?: number;
  passwordAuthentication?: boolean;
  kbdInteractiveAuthentication?: boolean;
  /**
   * ssh_config PubkeyAuthentication's host-bound half: sign public key requests with OpenSSH's
   * host-bound method (`publickey-hostbound-v00@openssh.com`, which names the server's host key in
   * the signed data) wherever the server offers it (its EXT_INFO's
   * `publickey-hostbound@openssh.com`), as ssh(1) does by default; false signs the plain
   * `publickey` request only (PubkeyAuthentication unbound). Default true.
   */
  pubkeyHostbound?: boolean;
  /**
   * known_hosts text (sshd(8) format, hashed names allowed): only a key recorded for host:port
   * is accepted, or a host certificate through a `@cert-authority` line (else checked as its
   * plain key, as ssh(1) does). With verifyHostKey as well, it speaks first: a changed or revoked
   * key is refused without asking the callback, a key it lists is shown to the callback (which
   * may still refuse it), a key it does not list is the callback's to decide; it also orders the
   * host key algorithms.
   */
  knownHosts?: string;
  /**
   * Or decide yourself: return true or nothing to accept, throw (e.g. a HostKeyError) or return
   * false to refuse (any other result refuses the key with a UsageError). Given without
   * knownHosts, the `*-cert-v01@openssh.com` host key algorithms are left out of the default
   * offer (name them in `algorithms.hostKey` to have host certificates shown to the callback).
   */
  verifyHostKey?: WebHostKeyVerifier;
  /**
   * The symmetric crypto (default: pure TypeScript, which runs everywhere, with
   * chacha20-poly1305@openssh.com in WebAssembly where the runtime compiles it: Cloudflare workerd
   * and pages whose Content-Security-Policy lacks 'wasm-unsafe-eval' keep TypeScript; pass
   * `withWasm(pureCryptoProvider, 'on')` to require it, `'off'` to never use it). On runtimes with
   * `node:crypto` (Bun, Deno, Node, workerd with nodejs_compat) pass `nodeCryptoProvider` from
   * `pure-ssh/node-crypto`: AES-GCM then runs in the runtime's native code, and the default
   * cipher order puts aes*-gcm first. WebCrypto cannot serve here: it is asynchronous, and the
   * core decrypts packets synchronously.
   */
  crypto?: CryptoProvider;
  /**
   * Offer compression (ssh_config(5) `Compression yes`, `ssh -C`: zlib@openssh.com, zlib, none)
   * with these zlib streams, e.g. `zlibCompression` from `pure-ssh/compress-zlib`. Absent: no
   * compression, and no zlib in the bundle.
   */
  compression?: CompressionProvider;
  /** OpenSSH-style algorithm lists per category (see the Node `connect`). */
  algorithms?: { kex?: string | string[]; hostKey?: string | string[]; cipher?: string | string[]; mac?: string | string[] };
  /**
   * With knownHosts: ssh_config(5) CASignatureAlgorithms, the algorithms a CA may have signed a
   * host certificate with (see the Node `connect`). Default OpenSSH's.
   */
  caSignatureAlgorithms?: string | string[];
  /** ssh_config(5) PubkeyAcceptedAlgorithms (see the Node `connect`). */
  pubkeyAcceptedAlgorithms?: string | string[];
  /** Abort connecting, and later the connection (the error has code ERR_ABORTED). */
  signal?: AbortSignal;
  /** ConnectTimeout in ms, a finite number >= 0: up to the server's host key (0 = off). */
  connectTimeout?: number;
  /** ServerAliveInterval in ms, a finite number >= 0 (0 = off). */
  keepaliveInterval?: number;
  /** ServerAliveCountMax, a whole number >= 0 (default 3). */
  keepaliveCountMax?: number;
  /** RekeyLimit's amount in bytes: 0 or absent = the cipher's own limit, else a whole number >= 16 (see the Node `connect`). */
  rekeyBytes?: number;
  /** A key exchange after this many packets: a whole number >= 1; 0 or absent: 2^31. */
  rekeyPackets?: number;
  /** RekeyLimit's time part in ms, a finite number >= 0 (0 = off). */
  rekeyTime?: number;
  /** Diagnostic lines (like ssh -v). Never receives secrets. */
  debug?: (message: string) => void;
  /** Called with the server's banner (RFC 4252 §5.4). */
  onBanner?: (message: string) => void;
}

/**
 * Connect over a byte stream, verify the host key, authenticate. Resolves once authenticated.
 *
 * @example
 * ```ts
 * import { connect } from 'pure-ssh/web';
 * const conn = await Deno.connect({ hostname: 'foo.com', port: 22 });
 * const ssh = await connect({ transport: conn, host: 'foo.com', username: 'joe', privateKey: keyText, knownHosts });
 * const ch = await ssh.openDirectTcpip({ host: 'localhost', port: 5432 });
 * await ssh.close();
 * ```
 */
export async function connect(options: WebConnectOptions): Promise<WebSshClient> {
  let verifier: WebHostKeyVerifier;
  let keys: PrivateKey[];
  let algorithms: Partial<AlgorithmPreferences>;
  let transport: ByteStreamPair;
  let startedAt: number;
  // Every option is checked before the transport is used; the transport given is connect()'s from
  // the call on, and whatever fails before the SSH connection exists closes it (a WebSocket left
  // open keeps a page's connection and Node's process alive; a rejection of a transport's promise
  // no one awaits any more would be unhandled), a transport that opens after an abort or the
  // ConnectTimeout too (no logged-in connection the caller believes gone).
  try {
    checkWebOptions(options);
    verifier = verifierFor(options);
    keys = keysFor(options);
    // A hook that throws here ends connect() as it would later (ERR_ABORTED).
    algorithms = algorithmsFor(guardHooks(options, HOOKS, (err) => {
      throw err;
    }));
    // Aborted already, or as the transport came (the signal no longer listened to): ERR_ABORTED,
    // and the transport is closed once it is there.
    if (options.signal?.aborted) throw abortedBySignal(options.signal);
    startedAt = Date.now();
    transport = await opened(options);
    if (options.signal?.aborted) throw abortedBySignal(options.signal);
  } catch (err) {
    void Promise.resolve(typeof options === 'object' && options !== null ? options.transport : undefined).then(closePair, () => {});
    // A WebSocket still opening (a bridge that never answers the upgrade): closed now.
    sockets.get(options?.transport)?.close();
    throw err;
  }
  let client: WebSshClient;
  try {
    client = new WebSshClient(options, transport, keys, algorithms, verifier, startedAt);
  } catch (err) {
    closePair(transport);
    throw err;
  }
  await client.ready;
  return client;
}

/** The options that are the application's hooks (see guardHooks). */
const HOOKS = ['debug', 'onBanner'];

/**
 * The transport, once open, with the signal and connectTimeout armed while it opens (a
 * `Deno.connect()` or a WebSocket still connecting), as the Node client's TCP connect is: the
 * same errors, and connectTimeout's one deadline from here to the host key. A transport that fails
 * is a ConnectionLostError "ssh: connect to host H port P: ..." (its error as `cause`; an SshError,
 * such as webSocketStreams', as it is).
 */
function opened(o: WebConnectOptions): Promise<ByteStreamPair> {
  const { connectTimeout: ms, host, port = 22 } = o;
  let timer: LongTimeout | undefined;
  const open = new Promise<ByteStreamPair>((resolve, reject) => {
    // Any length, as the Node client's (long-timeout.ts: a bare setTimeout past 2^31−1 ms fires
    // after 1 ms, with Node's TimeoutOverflowWarning).
    if (ms) timer = setLongTimeout(() => reject(connectTimedOut(host, port, ms)), ms);
    Promise.resolve(o.transport).then(resolve, (err: unknown) =>
      reject(err instanceof SshError ? err : new ConnectionLostError(`ssh: connect to host ${host} port ${port}: ${(err as Error)?.message ?? err}`, { cause: err })),
    );
  });
  // The signal as every other step that waits (user-callback.ts); the timer goes when either ends
  // (connect() closes the transport, when it comes, after an abort).
  return untilAborted(open, o.signal).finally(() => timer?.clear());
}

/** Close both directions of a transport connect() will not use (a failure before the SSH connection). */
function closePair(t: Partial<ByteStreamPair> | undefined): void {
  t?.readable?.cancel?.().catch(() => {});
  t?.writable?.abort?.().catch(() => {});
}

/**
 * connect()'s checks before the transport is used, without I/O: an option the interface does not
 * have (option-table.ts: a "did you mean" hint, or what to do instead of a Node-only option), a
 * value of the wrong type, a number out of range (option-check.ts), a `crypto` or `compression`
 * that is the Node connect()'s kind of value. Each is a UsageError naming the option and the value.
 */
function checkWebOptions(options: WebConnectOptions): void {
  if (typeof options !== 'object' || options === null) throw new UsageError(`connect() needs an options object, got ${show(options)}`);
  checkOptionKeys(options, WEB_CONNECT_OPTIONS, '', NODE_ONLY_OPTIONS);
  checkOptionTypes(options, WEB_CONNECT_OPTIONS);
  checkNumericOptions(options);
  const { transport, crypto, compression } = options as { transport: unknown; crypto: unknown; compression: unknown };
  const t = transport as Partial<ByteStreamPair & PromiseLike<unknown>> | null;
  if (typeof t?.then !== 'function' && !(typeof t?.readable === 'object' && typeof t.writable === 'object')) {
    throw new UsageError(`transport must be a { readable, writable } byte stream pair or a promise of one (e.g. webSocketStreams(url)), got ${show(transport)}`);
  }
  if (crypto !== undefined && typeof (crypto as CryptoProvider | null)?.hash !== 'function') {
    throw new UsageError(
      `crypto must be a CryptoProvider: pureCryptoProvider (the default) or nodeCryptoProvider from 'pure-ssh/node-crypto', got ${show(crypto)}` +
        (typeof crypto === 'string' ? " ('runtime' and 'pure' are the Node connect()'s)" : ''),
    );
  }
  if (compression !== undefined && compression !== false && typeof (compression as CompressionProvider | null)?.deflater !== 'function') {
    throw new UsageError(`compression must be zlib streams, zlibCompression from 'pure-ssh/compress-zlib' (or false), got ${show(compression)}`);
  }
  checkSigners(options.signers);
  // Checked by shape, not identity (importing the object would put it in every bundle).
  const x = options.extraKeyDecryption;
  if (x !== undefined && typeof (x as Partial<ExtraKeyDecryption> | null)?.argon2 !== 'function') {
    throw new UsageError(`extraKeyDecryption must be the object exported by pure-ssh/key-decryption, got ${show(x)}`);
  }
}

function verifierFor(options: WebConnectOptions): WebHostKeyVerifier {
  const callback = options.verifyHostKey;
  if (options.caSignatureAlgorithms !== undefined && options.knownHosts === undefined) {
    throw new UsageError('caSignatureAlgorithms needs knownHosts (verifyHostKey alone decides on certificates)');
  }
  if (options.knownHosts !== undefined) {
    const known = knownHostsTextVerifier(knownHostsFromText(options.knownHosts), undefined, options.caSignatureAlgorithms);
    // The known_hosts verdict first: a changed or revoked key is refused whatever the callback says.
    return callback ? knownHostsThenCallback(known, callback) : known;
  }
  if (callback) return callback;
  throw new UsageError(
    'connect() needs a host key decision: pass knownHosts (known_hosts text) or verifyHostKey. ' +
      'pure-ssh never accepts an unverified host key by default.',
  );
}

function keysFor(options: WebConnectOptions): PrivateKey[] {
  const given = options.privateKey === undefined ? [] : Array.isArray(options.privateKey) ? options.privateKey : [options.privateKey];
  const { passphrase, crypto, extraKeyDecryption } = options;
  return given.map((k) => (typeof k === 'string' || k instanceof Uint8Array ? parsePrivateKey(k, { passphrase, crypto, extraKeyDecryption }) : k));
}

function algorithmsFor(options: WebConnectOptions): Partial<AlgorithmPreferences> {
  const provider = (options.crypto ?? pureCryptoProvider).name;
  const d = defaultAlgorithms(provider);
  // A verifyHostKey callback alone was written for plain keys: no certificate unless listed.
  if (options.verifyHostKey && options.knownHosts === undefined) d.hostKey = d.hostKey.filter((n) => !isCertificateType(n));
  // A list the options do not know (a typo, or `compression`, which is the `compression` provider
  // option here) or an empty one would otherwise be dropped without a word.
  checkAlgorithmLists(options.algorithms, {
    compression: "is not an option: pass `compression` (zlibCompression from 'pure-ssh/compress-zlib') to offer zlib@openssh.com, zlib, none",
  });
  const a = options.algorithms ?? {};
  const orderNote = runtimeCipherOrderNote(provider);
  if (orderNote && !a.cipher) options.debug?.(orderNote);
  const out: Partial<AlgorithmPreferences> = {};
  for (const { key } of ALGORITHM_CATEGORIES) {
    const spec = a[key];
    out[key] = spec === undefined ? d[key] : applyAlgorithmSpec(key, d[key], spec);
  }
  // sshconnect2.c ssh_kex2(): order_hostkeyalgs() unless HostKeyAlgorithms is an exact list or `^`.
  if (options.knownHosts !== undefined && ordersHostKeyAlgorithms(a.hostKey) && out.hostKey) {
    const ordered = orderHostKeyAlgorithms(out.hostKey, orderHints(knownHostsFromText(options.knownHosts), options.host, options.port ?? 22));
    out.hostKey = ordered.algorithms;
    options.debug?.(ordered.note);
  }
  // ssh_config(5) Compression yes: the list OpenSSH's cipher.c compression_alg_list gives.
  out.compression = [...(options.compression ? COMPRESSION_YES : COMPRESSION_NO)];
  return out;
}

/** An authenticated SSH connection over a web byte stream. */
export class WebSshClient {
  /** Resolves once authenticated; rejects with the reason the connection failed. */
  readonly ready: Promise<void>;
  /** Resolves when the connection is over, with the error that ended it (undefined: clean). */
  readonly closed: Promise<SshError | undefined>;
  private readonly core: ClientCore;
  private readonly reader: ChunkReader;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly channels = new Map<number, WebChannel>();
  private readonly opening = new Map<number, { resolve: (c: WebChannel) => void; reject: (e: Error) => void }>();
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private resolveClosed!: (e: SshError | undefined) => void;
  private pumping = false;
  private flushScheduled = false;
  private outputPaused = false;
  /** Bytes handed to the transport's writer whose write has not resolved. */
  private inFlight = 0;
  private connected = false;
  private isDone = false;
  /** What ended the connection (undefined: a clean close). */
  private endError: SshError | undefined;
  /** The kex key pair is made once our first write (version line and KEXINIT) has gone out. */
  private kexPrepareArmed = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;
  private readonly abortListener: (() => void) | undefined;

  /** The options without `password`, `passphrase` and `privateKey` (gone to the core): nothing secret kept in view. */
  private readonly options: Omit<WebConnectOptions, 'password' | 'passphrase' | 'privateKey'>;

  /** @internal use {@link connect}. */
  constructor(
    options: WebConnectOptions,
    transport: ByteStreamPair,
    keys: PrivateKey[],
    algorithms: Partial<AlgorithmPreferences>,
    private readonly verifier: WebHostKeyVerifier,
    startedAt: number,
  ) {
    const { password: _password, passphrase: _passphrase, privateKey: _privateKey, ...kept } = options;
    // A hook runs inside the IO loop (a stream read): one that throws ends the connection with
    // ERR_ABORTED (its error as `cause`) instead of escaping, as in the Node client.
    this.options = guardHooks(kept, HOOKS, (err) => queueMicrotask(() => this.fail(err)));
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {});
    this.closed = new Promise((res) => (this.resolveClosed = res));
    this.core = new ClientCore({
      username: options.username,
      random: webRandom,
      privateKeys: keys,
      identities: (options.signers ?? []).map((sg) => ({ publicKeyBlob: sg.publicKeyBlob, label: sg.comment || keyBlobType(sg.publicKeyBlob) })),
      password: options.password,
      askPassword: options.askPassword !== undefined,
      passwordAttempts: options.passwordAttempts,
      // sshconnect2.c userauth_passwd: "%.30s@%.128s's password: ".
      passwordPrompt: `${options.username.slice(0, 30)}@${options.host.slice(0, 128)}'s password: `,
      passwordAuthentication: options.passwordAuthentication,
      kbdInteractiveAuthentication: options.kbdInteractiveAuthentication,
      pubkeyHostbound: options.pubkeyHostbound,
      pubkeyAcceptedAlgorithms: applyPubkeyAcceptedSpec(options.pubkeyAcceptedAlgorithms),
      algorithms,
      crypto: options.crypto ?? pureCryptoProvider,
      compression: options.compression,
      rekeyBytes: options.rekeyBytes,
      rekeyPackets: options.rekeyPackets,
      now: Date.now,
      connectTimeout: options.connectTimeout ?? 0,
      keepaliveInterval: options.keepaliveInterval ?? 0,
      keepaliveCountMax: options.keepaliveCountMax,
      rekeyTime: options.rekeyTime ?? 0,
      host: options.host,
      port: options.port ?? 22,
    });
    noDelay(transport, (m) => this.log(m));
    this.reader = chunkReader(transport.readable);
    this.writer = transport.writable.getWriter();
    this.writer.closed.catch((err: unknown) => this.lost(err));
    if (options.signal) {
      const signal = options.signal;
      this.abortListener = () => this.fail(abortedBySignal(signal));
      options.signal.addEventListener('abort', this.abortListener, { once: true });
    }
    this.core.start(startedAt);
    this.pump();
    void this.readLoop();
  }

  /** Negotiated algorithms, server version, session id. */
  get info(): TransportInfo & { serverSigAlgs: string[] | undefined } {
    return this.core.info;
  }

  /** Number of open channels. */
  get channelCount(): number {
    return this.core.channelCount;
  }

  /**
   * Open a direct-tcpip channel (RFC 4254 §7.2); resolves when the server has connected, rejects
   * with a ChannelOpenError (OpenSSH's "channel N: open failed: ..." wording) when refused.
   */
  async openDirectTcpip(params: DirectTcpipParams): Promise<WebChannel> {
    this.assertUsable();
    const id = this.core.openDirectTcpip(params);
    this.log(`channel ${id}: new [direct-tcpip] to ${params.host}:${params.port}`);
    return this.track(id);
  }

  /** OpenSSH direct-streamlocal@openssh.com: a Unix socket path on the server. */
  async openDirectStreamlocal(socketPath: string): Promise<WebChannel> {
    this.assertUsable();
    const id = this.core.openDirectStreamlocal(socketPath);
    this.log(`channel ${id}: new [direct-streamlocal@openssh.com] to ${socketPath}`);
    return this.track(id);
  }

  /** Start a key exchange now (RFC 4253 §9). */
  rekey(): void {
    this.core.rekey();
    this.pump();
  }

  /** Send a keepalive@openssh.com global request now; any reply counts as alive. */
  ping(): void {
    this.core.sendKeepalive();
    this.pump();
  }

  /**
   * Tell the server this connection will open no session channels (OpenSSH PROTOCOL §2.2
   * no-more-sessions@openssh.com, no reply asked): the server then refuses any "session" channel
   * on it, so whoever takes this client over later cannot start a shell through it. ssh(1) sends
   * it once its forwards are set up, unless it multiplexes (ControlMaster), to OpenSSH 5.0 and
   * later (compat.c SSH_NEW_OPENSSH); the pure-ssh CLI does
   * the same. pure-ssh itself never opens sessions. Each call sends the request (sshd only sets
   * its flag again). Returns false, sending nothing, before authentication or once the connection
   * is closed.
   */
  noMoreSessions(): boolean {
    if (!this.core.sendNoMoreSessions()) return false;
    this.pump();
    return true;
  }

  /** Disconnect cleanly (RFC 4253 §11.1 by application); resolves when the transport is closed. */
  async close(): Promise<void> {
    if (!this.isDone) {
      this.core.disconnect();
      this.pump();
    }
    await this.closed;
  }

  // ---- WebChannelHost ----

  /** @internal */
  channelWrite(channel: number, data: Uint8Array): boolean {
    const done = this.core.channelWrite(channel, data);
    this.pump();
    return done || this.core.channelPendingBytes(channel) === 0;
  }
  /** @internal */
  channelEnd(channel: number): void {
    this.core.channelEnd(channel);
    this.pump();
  }
  /** @internal */
  channelClose(channel: number): void {
    if (this.isDone) return;
    this.core.channelClose(channel);
    this.pump();
  }
  /** @internal */
  channelConsumed(channel: number, n: number): void {
    this.core.channelConsumed(channel, n);
    if (!this.pumping) this.pump();
  }

  // ---- the IO loop ----

  private log(message: string): void {
    this.options.debug?.(message);
  }

  /** Whether the server's identification line has come (RFC 4253 §4.2). */
  private get identified(): boolean {
    return this.core.info.serverVersion !== undefined;
  }

  /** As the Node client's: ConnectionLostError, with what ended the connection as `cause`. */
  private assertUsable(): void {
    if (!this.isDone) return;
    const end = this.endError;
    if (end) throw new ConnectionLostError(`the SSH connection was lost: ${end.message}`, { cause: end });
    throw new ConnectionLostError('the SSH connection is closed', { code: 'ERR_CONNECTION_CLOSED' });
  }

  private track(id: number): Promise<WebChannel> {
    const ch = new WebChannel(this, id);
    this.channels.set(id, ch);
    const opened = new Promise<WebChannel>((resolve, reject) => this.opening.set(id, { resolve, reject }));
    this.pump();
    return opened;
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const data = await this.reader.read();
        if (this.isDone) return;
        if (data === null) {
          // ssh(1)'s words for the end of the stream, as the Node CLI says them over TCP: before
          // the server's identification line (other lines may have come, e.g. sshd's "Exceeded
          // MaxStartups") kex.c's; after it, during key exchange or authentication, packet.c's
          // "Connection closed by ADDR port N"; in session, clientloop.c's.
          const message = !this.identified
            ? KEX_IDENTIFICATION_CLOSED
            : this.core.isAuthenticated
              ? closedByRemoteHost(this.options.host)
              : closedDuringKexOrAuth(this.options.host, this.options.port ?? 22);
          this.core.connectionLost(new ConnectionLostError(message));
          this.pump();
          return;
        }
        this.connected = true;
        this.core.receive(data);
        this.pump();
      }
    } catch (err) {
      this.lost(err);
    }
  }

  /** The transport failed (read or write side). */
  private lost(err: unknown): void {
    if (this.isDone) return;
    const what = err instanceof Error ? err.message : String(err);
    // ssh(1)'s wording: after the server's identification line, packet.c's read error; before it,
    // kex.c kex_exchange_identification's. A WebSocket that had opened was connected even if no
    // byte came (its bridge, or the server behind it, closed: said with how it closed). Any other
    // transport that fails before a byte most likely never connected (cloudflare:sockets'
    // connect() hands over its streams at once and errors them if the connect fails).
    const message = this.identified
      ? `Read from remote host ${this.options.host}: ${what}`
      : err instanceof WebSocketClosedError
        ? `${KEX_IDENTIFICATION_CLOSED}: ${what}`
        : this.connected
          ? `kex_exchange_identification: read: ${what}`
          : `ssh: connect to host ${this.options.host} port ${this.options.port ?? 22}: ${what}`;
    this.core.connectionLost(new ConnectionLostError(message, { cause: err }));
    this.pump();
  }

  /** Move events up and bytes out; re-entrant calls are folded in. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let e = this.core.nextEvent(); e; e = this.core.nextEvent()) this.handle(e);
    } finally {
      this.pumping = false;
    }
    if (!this.flushScheduled && this.core.outputPending) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
    this.armTimer();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const out = this.core.takeOutput();
    if (out) this.write(out);
  };

  /**
   * One write per batch (one WebSocket frame, one TCP send). Backpressure counts the bytes whose
   * write has not resolved yet: the streams we write to (Deno's, Node's Duplex.toWeb, workerd's)
   * signal `desiredSize <= 0` after a single pending chunk, and pausing there would leave one
   * batch in flight at a time; up to {@link OUTPUT_HIGH_WATER} bytes keep the socket busy.
   */
  private write(chunks: Uint8Array[]): void {
    const data = chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
    this.inFlight += data.length;
    const prepareKex = this.kexPrepareArmed;
    this.kexPrepareArmed = false;
    this.writer.write(data).then(
      () => {
        this.inFlight -= data.length;
        if (prepareKex) this.prepareKex();
        if (!this.outputPaused || this.inFlight > OUTPUT_LOW_WATER) return;
        this.outputPaused = false;
        if (this.isDone) return;
        this.core.setOutputPaused(false);
        this.pump();
      },
      (err: unknown) => this.lost(err),
    );
    if (this.outputPaused || this.isDone || this.inFlight <= OUTPUT_HIGH_WATER) return;
    this.outputPaused = true;
    this.core.setOutputPaused(true);
  }

  /**
   * Our version line and KEXINIT are on their way (the first write resolved): make the kex key
   * pair now, while the server works towards its KEXINIT (ClientCore.prepareKex, as the Node
   * adapter does; sshd spends tens of ms there, ML-KEM-768 keygen a few to 20 ms).
   */
  private prepareKex(): void {
    if (this.isDone) return;
    this.core.prepareKex();
    this.pump();
  }

  private armTimer(): void {
    const at = this.isDone ? undefined : this.core.getTimer();
    if (at === this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    // A deadline past setTimeout's range fires early and is re-armed (long-timeout.ts).
    this.timer = setTimeout(this.onTimer, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, at - Date.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = undefined;
    this.core.handleTimer(Date.now());
    this.pump();
  };

  private handle(e: ClientEvent): void {
    switch (e.type) {
      case 'log':
        return this.log(e.message);
      case 'key-request':
        // Only the Node adapter gives identities without a public key (key files it loads at their turn).
        return this.core.provideKey(e.id, null, 'no private key for this identity');
      case 'sign-request': {
        // The signature is asked of the signer holding the key (RFC 4252 §7: after PK_OK).
        const signer = (this.options.signers ?? []).find((sg) => constantTimeEqual(sg.publicKeyBlob, e.keyBlob));
        if (!signer) return this.core.provideSignature(e.id, null, 'no signer for this key');
        // A signer that throws or answers without a promise: settled as one (a throw skips the key).
        new Promise<Uint8Array | null>((r) => r(signer.sign(e.data, e.algorithm))).then(
          (sig) => {
            // null: the signer declined (src/auth/signer.ts).
            this.core.provideSignature(e.id, sig, sig === null ? SIGNER_DECLINED : undefined);
            this.pump();
          },
          (err: unknown) => {
            this.core.provideSignature(e.id, null, (err as Error)?.message ?? String(err));
            this.pump();
          },
        );
        return;
      }
      case 'host-key':
        void settleHostKey(this.core, e, { host: this.options.host, port: this.options.port ?? 22 }, this.verifier, (m) => this.log(m)).then(() => this.pump());
        return;
      case 'banner':
        return this.options.onBanner?.(e.message);
      case 'keyboard-interactive-info':
        return this.log(keyboardInteractiveInfoLine(e.name, e.instruction));
      case 'password-needed': {
        const ask = this.options.askPassword;
        if (!ask) return this.core.providePassword(null);
        // context: method, and for keyboard-interactive the prompt's echo, index and count.
        const { type: _, prompt, retry, ...context } = e;
        // A throw or rejection ends the connection (ERR_ABORTED); see user-callback.ts.
        askUser('askPassword', () => ask(prompt, { ...context, retry: retry === true })).then(
          (pw) => {
            this.core.providePassword(pw);
            this.pump();
          },
          (err: SshError) => this.fail(err),
        );
        return;
      }
      case 'authenticated':
        this.resolveReady();
        return;
      case 'closed':
        return this.finish(e.error);
      case 'channel-open':
        this.log(`channel ${e.channel}: open confirmed`);
        this.opening.get(e.channel)?.resolve(this.channels.get(e.channel)!);
        this.opening.delete(e.channel);
        return;
      case 'channel-open-failed': {
        this.log(e.error.message);
        this.channels.get(e.channel)?._closed(e.error);
        this.channels.delete(e.channel);
        this.opening.get(e.channel)?.reject(e.error);
        this.opening.delete(e.channel);
        return;
      }
      case 'channel-data':
        this.channels.get(e.channel)?._data(e.data);
        return;
      case 'channel-eof':
        this.log(`channel ${e.channel}: rcvd eof`);
        this.channels.get(e.channel)?._eof();
        return;
      case 'channel-drain':
        this.channels.get(e.channel)?._drain();
        return;
      case 'channel-closed': {
        this.log(`channel ${e.channel}: closed${e.error ? `: ${e.error.message}` : ''}`);
        this.channels.get(e.channel)?._closed(e.error);
        this.channels.delete(e.channel);
        const pending = this.opening.get(e.channel);
        this.opening.delete(e.channel);
        pending?.reject(e.error ?? new ConnectionLostError(`channel ${e.channel}: closed before it was opened`));
        return;
      }
      case 'global-reply':
        return;
    }
  }

  /** Local failure (timeout, abort): tear down. */
  private fail(error: SshError): void {
    if (this.isDone) return;
    this.core.connectionLost(error);
    this.pump();
  }

  private finish(error: SshError | undefined): void {
    if (this.isDone) return;
    this.isDone = true;
    this.endError = error;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
    this.rejectReady(error ?? new ConnectionLostError('the connection closed before authentication completed'));
    // Flush what the core queued (a DISCONNECT), then close both directions.
    const out = this.core.takeOutput();
    if (out) this.writer.write(concatBytes(...out)).catch(() => {});
    this.writer.close().catch(() => {});
    this.reader.cancel().catch(() => {});
    this.core.dispose();
    this.resolveClosed(error);
  }
}

/**
 * TCP_NODELAY on a transport that offers it (see {@link ByteStreamPair.setNoDelay}): Deno's
 * `Deno.connect()` leaves Nagle's algorithm on, and each channel opened after an upload then
 * waited 40–45 ms for the server's delayed ACK (measured: 16 MiB uploads at 0.6× Node's speed,
 * one open per round). A transport whose setNoDelay throws is used as it is.
 */
function noDelay(transport: ByteStreamPair, log: (m: string) => void): void {
  if (typeof transport.setNoDelay !== 'function') return;
  try {
    transport.setNoDelay(true);
    log('TCP_NODELAY set on the transport');
  } catch (err) {
    log(`TCP_NODELAY not set: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Output pauses above this many bytes written but not yet accepted by the transport... */
const OUTPUT_HIGH_WATER = 1024 * 1024;
/** ...and resumes once they fall to this. */
const OUTPUT_LOW_WATER = 256 * 1024;
