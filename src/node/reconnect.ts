/**
 * Reconnecting tunnels (pure-ssh's own; OpenSSH has no equivalent): a local listener that
 * outlives its SSH connection. When the connection drops, the listener stays, a new connection
 * is made with exponential backoff and jitter, and new local connections wait (bounded) for it
 * instead of being refused. Connections that were in flight when the link died are reset
 * (ECONNRESET for the local client), never ended cleanly: their bytes may not have arrived, and
 * a clean end would pass a truncated stream off as complete. Nothing is replayed.
 */
import { bindStrerror } from './strerror.js';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { AuthenticationError, ConnectionLostError, HostKeyError, SshError, TimeoutError, UsageError } from '../errors.js';
import { checkConnect, connect, type ConnectOptions, type SshClient } from './client.js';
import { checkForwardOptions, listenOn, openForwardedChannel, type ForwardOptions, type ListenSpec } from './forward.js';
import { ForwardListener, resetSocket } from './forward-listener.js';
import { setLongTimeout, type LongTimeout } from '../long-timeout.js';
import { checkOptionKeys, checkOptionTypes, show } from '../option-check.js';

/** Backoff and waiting limits of {@link ReconnectingClient}. Times in milliseconds. */
export interface ReconnectOptions {
  /** Delay in ms before the first attempt after a drop, a finite number >= 0 (default 1000). */
  initialDelay?: number;
  /** Ceiling of the doubling delay in ms, >= initialDelay, Infinity for none (default 30000). */
  maxDelay?: number;
  /** Attempts per outage before giving up, a whole number >= 1 or Infinity (default Infinity). */
  maxAttempts?: number;
  /** How long in ms a new local connection waits for the SSH connection to come back, a finite number >= 0 (default 15000). */
  waitForConnection?: number;
  /** Fraction of each delay that is random, 0..1 (default 0.5; outside is a UsageError): delay × (1 − jitter × random). */
  jitter?: number;
  /** Aborting stops reconnecting and closes the connection and every listener. */
  signal?: AbortSignal;
  /** Random source in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

/** The keys of {@link ReconnectOptions} (a misspelt one is a UsageError, see checkOptionKeys). */
const RECONNECT_OPTIONS = { initialDelay: 0, maxDelay: 0, maxAttempts: 0, waitForConnection: 0, jitter: 0, signal: 0, random: 0 } satisfies Record<keyof ReconnectOptions, 0>;

/** The 'reconnecting' event: an attempt is scheduled after `delay` ms. */
export interface ReconnectAttempt {
  attempt: number;
  delay: number;
}

/**
 * The reconnect options' values, as connect()'s numeric options are checked (option-check.ts):
 * never coerced nor taken as something else. A string `'3'` compared as a number by chance, a
 * negative `waitForConnection` failed every local connection at once during an outage,
 * `maxAttempts: -1` gave up at the first failure, and a `signal` that is no AbortSignal was a
 * TypeError.
 */
function checkReconnectOptions(o: ReconnectOptions): void {
  const bad = (name: string, what: string, v: unknown): never => {
    throw new UsageError(`reconnect: ${name} must be ${what}, got ${show(v)}`);
  };
  const { initialDelay, maxDelay, maxAttempts, waitForConnection, jitter, random } = o;
  const ms = (v: unknown) => typeof v === 'number' && v >= 0 && Number.isFinite(v);
  if (initialDelay !== undefined && !ms(initialDelay)) bad('initialDelay', 'a number of milliseconds >= 0', initialDelay);
  if (maxDelay !== undefined && !(typeof maxDelay === 'number' && maxDelay >= 0)) bad('maxDelay', 'a number of milliseconds >= 0 (or Infinity)', maxDelay);
  if (waitForConnection !== undefined && !ms(waitForConnection)) bad('waitForConnection', 'a number of milliseconds >= 0', waitForConnection);
  if (maxAttempts !== undefined && !(maxAttempts === Infinity || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
    bad('maxAttempts', 'a whole number >= 1 (or Infinity)', maxAttempts);
  }
  // Documented 0..1: a value outside is a mistake, not one to clamp quietly.
  if (jitter !== undefined && !(typeof jitter === 'number' && jitter >= 0 && jitter <= 1)) bad('jitter', 'a number from 0 to 1', jitter);
  if (random !== undefined && typeof random !== 'function') bad('random', 'a function', random);
  checkOptionTypes(o, { signal: 'g' }, 'reconnect: ');
}

/** Errors that a new attempt cannot cure: retrying would only repeat them (or hide an attack). */
function isPermanent(err: unknown): boolean {
  // ERR_ABORTED: the application's AbortSignal, or one of its callbacks (askPassword...) threw.
  return err instanceof HostKeyError || err instanceof AuthenticationError || err instanceof UsageError || (err instanceof SshError && err.code === 'ERR_ABORTED');
}

/**
 * An SSH connection that is made again when it drops. Events: `'connected'` (client),
 * `'disconnected'` (error | undefined), `'reconnecting'` ({@link ReconnectAttempt}),
 * `'reconnect-failed'` ({ attempt, error }), `'give-up'` (error), `'close'`.
 */
export class ReconnectingClient extends EventEmitter {
  private current: SshClient | undefined;
  private waiters = new Set<{ resolve: (c: SshClient) => void; reject: (e: Error) => void; timer: LongTimeout }>();
  private closed = false;
  private timer: LongTimeout | undefined;
  private readonly opts: Required<Omit<ReconnectOptions, 'signal'>> & { signal?: AbortSignal };

  /**
   * Aborted by {@link close}: the attempt in flight then (a server that accepted and says
   * nothing, with no connectTimeout) is given up, its socket closed, rather than left holding
   * the process after close().
   */
  private readonly stop = new AbortController();

  /**
   * @param factory makes a new authenticated connection (e.g. `(signal) => connect({ ...options, signal })`);
   * `signal` is aborted by {@link close}: pass it on, or an attempt in flight at close() runs on.
   */
  constructor(
    private readonly factory: (signal: AbortSignal) => Promise<SshClient>,
    options: ReconnectOptions = {},
  ) {
    super();
    this.opts = {
      initialDelay: options.initialDelay ?? 1000,
      maxDelay: options.maxDelay ?? 30_000,
      maxAttempts: options.maxAttempts ?? Infinity,
      waitForConnection: options.waitForConnection ?? 15_000,
      jitter: options.jitter ?? 0.5,
      random: options.random ?? Math.random,
      signal: options.signal,
    };
    checkReconnectOptions(options);
    if (!(this.opts.maxDelay >= this.opts.initialDelay)) {
      throw new UsageError(
        `reconnect: initialDelay (${this.opts.initialDelay}) must not exceed maxDelay (${this.opts.maxDelay}${options.maxDelay === undefined ? ', the default' : ''})`,
      );
    }
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /** Make the first connection (or adopt `client`, already made by the same factory's means). */
  async start(client?: SshClient): Promise<SshClient> {
    if (this.opts.signal?.aborted) throw new SshError('ERR_ABORTED', 'reconnect: aborted before the first connection');
    this.adopt(client ?? (await this.factory(this.stop.signal)));
    return this.current!;
  }

  /** The connection in use, if up. */
  get client(): SshClient | undefined {
    return this.current;
  }

  /** The current connection, or wait (up to `waitForConnection` ms) for the next one. */
  acquire(): Promise<SshClient> {
    if (this.closed) return Promise.reject(new SshError('ERR_CONNECTION_CLOSED', 'the tunnel is closed'));
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const w = {
        resolve,
        reject,
        timer: setLongTimeout(() => {
          this.waiters.delete(w);
          reject(new TimeoutError(`no SSH connection within ${this.opts.waitForConnection} ms (reconnecting)`));
        }, this.opts.waitForConnection),
      };
      this.waiters.add(w);
    });
  }

  /** Stop reconnecting and close the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.clear();
    this.stop.abort(new SshError('ERR_CONNECTION_CLOSED', 'the tunnel is closed'));
    this.rejectWaiters(new SshError('ERR_CONNECTION_CLOSED', 'the tunnel is closed'));
    const c = this.current;
    this.current = undefined;
    if (c) await c.close().catch(() => {});
    this.emit('close');
  }

  private adopt(client: SshClient): void {
    this.current = client;
    this.emit('connected', client);
    for (const w of this.waiters) {
      w.timer.clear();
      w.resolve(client);
    }
    this.waiters.clear();
    client.once('close', (err: SshError | undefined) => {
      if (this.current !== client) return;
      this.current = undefined;
      this.emit('disconnected', err);
      if (!this.closed) this.schedule(1);
    });
  }

  private rejectWaiters(err: Error): void {
    for (const w of this.waiters) {
      w.timer.clear();
      w.reject(err);
    }
    this.waiters.clear();
  }

  /** Attempt `attempt` after initialDelay × 2^(attempt−1), capped at maxDelay, minus jitter. */
  private schedule(attempt: number): void {
    const { initialDelay, maxDelay, jitter, random } = this.opts;
    const base = Math.min(maxDelay, initialDelay * 2 ** (attempt - 1));
    const delay = Math.round(base * (1 - jitter * random()));
    this.emit('reconnecting', { attempt, delay } satisfies ReconnectAttempt);
    this.timer = setLongTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.factory(this.stop.signal).then(
        (client) => {
          if (this.closed) return void client.close();
          this.adopt(client);
        },
        (error: unknown) => {
          if (this.closed) return;
          this.emit('reconnect-failed', { attempt, error });
          if (isPermanent(error) || attempt >= this.opts.maxAttempts) {
            const why = error instanceof Error ? error : new ConnectionLostError(String(error));
            this.emit('give-up', why);
            this.rejectWaiters(why);
            void this.close();
            return;
          }
          this.schedule(attempt + 1);
        },
      );
    }, delay);
  }
}

/**
 * A local listener (like `ssh -L`) on a {@link ReconnectingClient}: it keeps listening while
 * the connection is down. Emits 'connection-error' (SshError) per failed local connection and
 * 'close'.
 */
export class ReconnectingForward extends ForwardListener {
  private constructor(
    server: Server,
    readonly options: ForwardOptions,
  ) {
    super(server, options.listen);
  }

  /** Listen on `options.listen`; every accepted connection takes the connection of the moment. */
  static async start(rc: ReconnectingClient, options: ForwardOptions): Promise<ReconnectingForward> {
    // pauseOnConnect: nothing is read from a local client until its channel exists.
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
    const fwd = new ReconnectingForward(server, options);
    server.on('connection', (sock) => fwd.accept(rc, sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new SshError('ERR_FORWARD_BIND', `bind ${describeListen(options.listen)}: ${bindStrerror(err, 'path' in options.listen ? options.listen.path : undefined)}`, { cause: err })),
      );
      // A Unix socket is made 0600 whatever the umask, as every other listener (forward.ts
      // listenPrivate; ssh's StreamLocalBindMask 0177): other local users must not reach the tunnel.
      listenOn(server, options.listen, resolve);
    });
    server.removeAllListeners('error');
    server.on('error', () => {});
    rc.once('close', () => void fwd.close());
    return fwd;
  }

  private accept(rc: ReconnectingClient, sock: Socket): void {
    this.sockets.add(sock);
    this.counters.connections++;
    this.counters.active++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.counters.active--;
      this.sockets.delete(sock);
    };
    sock.on('error', () => {});
    sock.once('close', finish);
    const fail = (err: SshError) => {
      this.emit('connection-error', err);
      // A reset, not a clean end: the local client must not take a cut stream for a whole one.
      resetSocket(sock);
      finish();
    };
    rc.acquire().then(
      (client) => {
        if (sock.destroyed) return;
        let ch;
        try {
          // As plain -L's (forward.ts), with ssh's lines for it.
          ch = openForwardedChannel(client, this.options, this.server, sock);
        } catch (err) {
          return fail(err instanceof SshError ? err : new ConnectionLostError(String(err)));
        }
        let failed = false;
        ch.on('error', (err: Error) => {
          failed = true;
          if (!ch.isOpen) this.counters.failed++;
          fail(err instanceof SshError ? err : new ConnectionLostError(err.message, { cause: err }));
        });
        sock.on('data', (d: Buffer) => (this.counters.bytesOut += d.length));
        ch.on('data', (d: Buffer) => (this.counters.bytesIn += d.length));
        sock.pipe(ch);
        ch.pipe(sock);
        sock.once('close', () => {
          if (!ch.destroyed) ch.destroy();
        });
        ch.once('close', () => {
          if (failed || sock.destroyed) return;
          // The server's EOF or CLOSE ended the stream (pipe() ends the socket then); otherwise the
          // channel went with its connection (closed by the caller): cut, so reset.
          if (ch.readableEnded) sock.end();
          else resetSocket(sock);
        });
      },
      (err: unknown) => fail(err instanceof SshError ? err : new ConnectionLostError(String(err))),
    );
  }

}

function describeListen(l: ListenSpec): string {
  return 'path' in l ? l.path : `${l.host ?? '127.0.0.1'}:${l.port}`;
}

/** A {@link ReconnectingForward} with its {@link ReconnectingClient}. */
export interface Tunnel {
  forward: ReconnectingForward;
  connection: ReconnectingClient;
  /** Stop: closes the listener and the connection. */
  close(): Promise<void>;
}

/**
 * A local forward that survives its SSH connection: `connectOptions` (or a function making a
 * connection from an AbortSignal that `close()` aborts) is used again whenever the connection
 * drops; an attempt in flight at `close()` is given up. Resolves once connected and
 * listening; the first connection's failure rejects (nothing is retried before it worked once).
 * A changed host key or refused authentication on a later attempt stops retrying ('give-up').
 *
 * @example
 * ```ts
 * const t = await tunnel({ host: 'db-gw', username: 'joe', identityFiles: ['~/.ssh/id_ed25519'],
 *   knownHosts: '~/.ssh/known_hosts' }, { listen: { port: 63333 }, to: { host: 'localhost', port: 5432 } },
 *   { initialDelay: 500, maxDelay: 10_000, waitForConnection: 20_000 });
 * t.connection.on('reconnecting', ({ attempt, delay }) => console.error(`reconnecting #${attempt} in ${delay} ms`));
 * ```
 */
export async function tunnel(
  connectOptions: ConnectOptions | ((signal: AbortSignal) => Promise<SshClient>),
  forward: ForwardOptions,
  reconnect: ReconnectOptions = {},
): Promise<Tunnel> {
  // The forward, reconnect and connect options are checked before the first connection is made,
  // and before a reconnect `signal` that fired already is (as connect() reports a caller's
  // mistake before its own signal).
  checkForwardOptions(forward);
  checkOptionKeys(reconnect ?? {}, RECONNECT_OPTIONS, 'reconnect.');
  if (typeof connectOptions !== 'function') {
    try {
      checkConnect(connectOptions);
    } catch (err) {
      // A `sock` is connect()'s from the call on, closed when connecting fails (ConnectOptions.sock).
      const sock = (connectOptions as Partial<ConnectOptions> | null)?.sock;
      if (typeof sock?.destroy === 'function' && !sock.destroyed) sock.destroy();
      throw err;
    }
  }
  // The attempt in flight when the tunnel is closed is aborted (ReconnectingClient.stop), with the
  // caller's own signal still heard.
  const own = typeof connectOptions === 'function' ? undefined : connectOptions.signal;
  const factory =
    typeof connectOptions === 'function'
      ? connectOptions
      : (signal: AbortSignal) => connect({ ...connectOptions, signal: own ? AbortSignal.any([own, signal]) : signal });
  const connection = new ReconnectingClient(factory, reconnect);
  await connection.start();
  let fwd: ReconnectingForward;
  try {
    fwd = await ReconnectingForward.start(connection, forward);
  } catch (err) {
    await connection.close();
    throw err;
  }
  return {
    forward: fwd,
    connection,
    close: async () => {
      await fwd.close();
      await connection.close();
    },
  };
}
