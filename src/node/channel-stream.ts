/**
 * A channel as a Node `Duplex` (RFC 4254 §5). Backpressure both ways drives the SSH window:
 * bytes are granted back to the server only as the consumer of this stream reads them, and a
 * write completes only once its bytes are packetized within the server's window.
 */
import { Duplex } from 'node:stream';
import { SshError, UsageError } from '../errors.js';

/** What a ChannelStream needs from its connection (implemented by SshClient). */
export interface ChannelHost {
  /** `lent`: `data` is reused once this returns; what waits for window must be copied. */
  channelWrite(channel: number, data: Uint8Array, lent?: boolean): boolean;
  channelEnd(channel: number): void;
  channelClose(channel: number): void;
  channelConsumed(channel: number, n: number): void;
  /** Run `fn` at the end of the socket read being handled; false when none is (see SshClient.deferToReadEnd). */
  deferToReadEnd?(fn: () => void): boolean;
}

/**
 * A direct-tcpip or direct-streamlocal channel as a stream. Emits 'open' when confirmed.
 * The server's EOF ends the readable side; its CLOSE also ends the writable side (bytes not
 * yet sent are dropped, without an error) and the stream closes once what was received is read.
 */
export class ChannelStream extends Duplex {
  /** The local channel number (as in "channel 3: open failed"). */
  readonly channel: number;
  /** True once the server confirmed the open. */
  isOpen = false;
  private writeCallback: ((err?: Error | null) => void) | undefined;
  private deferredConsumed = 0;
  private remoteGone = false;

  constructor(
    private readonly host: ChannelHost,
    channel: number,
  ) {
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024 });
    this.channel = channel;
  }

  /**
   * @internal What the stream fails with when its connection is lost, instead of the
   * connection's own error (jump.ts: a jump host's channel names the jump host).
   */
  lostAs?: (error: SshError) => SshError;

  /** Bytes sent (to the server) and received (from it) on this channel. */
  bytesSent = 0;
  bytesReceived = 0;

  // net.Socket's surface that clients call on a stream they were given instead of a socket:
  // Node's http.Agent (keepAlive: setKeepAlive and unref on a free socket, ref on its reuse,
  // setTimeout for `timeout`), node-postgres (setNoDelay, setKeepAlive, ref/unref). Without
  // them such a client throws a TypeError outside any try and the process dies.

  /**
   * Does nothing: an SSH channel has no TCP options of its own (its bytes travel in the
   * connection's one TCP stream). Keeping that connection alive, or noticing it died, is
   * `keepaliveInterval`'s job (ssh's ServerAliveInterval). Returns the stream, as net.Socket's.
   */
  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  /**
   * Does nothing: Nagle's algorithm is a property of the connection's TCP socket, and pure-ssh
   * already writes each turn's packets at once (one socket write per turn of the event loop).
   * Returns the stream, as net.Socket's.
   */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /**
   * Does nothing: a channel does not hold the event loop by itself; the connection's socket
   * does, until `ssh.close()` (an http.Agent's unref on an idle keep-alive channel so does not
   * let the process exit while the connection is open). Returns the stream, as net.Socket's.
   */
  ref(): this {
    return this;
  }

  /** Does nothing: see {@link ref}. Returns the stream, as net.Socket's. */
  unref(): this {
    return this;
  }

  /** The idle timeout set by {@link setTimeout} in milliseconds (0: none), undefined before any, as net.Socket's. */
  timeout: number | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * net.Socket's idle timeout: 'timeout' is emitted once the channel has been idle (nothing
   * received from the server and nothing handed to it) for `ms` milliseconds; the stream is
   * not closed (the listener decides, as for a socket). `ms` 0 disables it; `callback` is added
   * as a one-time 'timeout' listener (with 0, removed). The timer is reset by every chunk
   * received and every write handed to the channel; a write waiting for the server's window
   * counts as idle until it goes out. Like a socket's, the timer does not hold the event loop.
   * `ms` must be a number from 0 to 2^31 − 1 (Node's timer limit), else a UsageError.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || !(ms >= 0) || ms > 2 ** 31 - 1) {
      throw new UsageError(`setTimeout: the timeout must be a number of milliseconds from 0 to 2147483647, got ${typeof ms === 'number' ? ms : typeof ms}`);
    }
    if (callback !== undefined && typeof callback !== 'function') {
      throw new UsageError(`setTimeout: the callback must be a function, got ${typeof callback}`);
    }
    if (this.destroyed) return this;
    this.timeout = ms;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (ms === 0) {
      if (callback !== undefined) this.removeListener('timeout', callback);
      return this;
    }
    const timer = setTimeout(() => {
      if (!this.destroyed) this.emit('timeout');
    }, Math.max(1, Math.trunc(ms)));
    timer.unref();
    this.idleTimer = timer;
    if (callback !== undefined) this.once('timeout', callback);
    return this;
  }

  /** Activity on the channel: the idle timer starts again (a fired one is armed again). */
  private active(): void {
    this.idleTimer?.refresh();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.remoteGone) {
      // Written before the server's CLOSE reached us (still buffered in the Writable): dropped
      // like the bytes that were waiting for window (see _closed). Later writes are refused by
      // the stream itself, whose write side has ended.
      callback();
      return;
    }
    if (this.toChannel(chunk, false) === false) this.writeCallback = callback;
    else callback();
  }

  /**
   * Hands `chunk` to the channel: true when all of it was packetized, false when it waits for
   * window (or the open confirmation), undefined when the channel is gone. The core handles the
   * server's CLOSE before this stream hears of it (events are delivered after the whole packet
   * batch): a write in between is dropped as one after the CLOSE.
   */
  private toChannel(chunk: Uint8Array, lent: boolean): boolean | undefined {
    let done: boolean;
    try {
      done = this.host.channelWrite(this.channel, chunk, lent);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      this.remoteGone = true;
      return undefined;
    }
    this.bytesSent += chunk.length;
    this.active();
    return done;
  }

  /** Bytes written by {@link forwardWrite} wait in the core for window: 'drain' follows. */
  private forwardWaiting = false;

  /**
   * @internal The local forwarders' write (forward.ts). Whenever the Writable side holds nothing,
   * the bytes go straight to the channel without its per-write bookkeeping (a callback and a
   * nextTick per write, paid on every message of a request/response protocol); otherwise, and
   * once ended, this is `write()`. Returns false when the caller should wait for 'drain' (the
   * bytes wait for the server's window, or for the open confirmation). `lent`: the caller reuses
   * `chunk` once this returns (its socket's read buffer): whatever is kept is copied first.
   */
  forwardWrite(chunk: Uint8Array, lent = false): boolean {
    if (
      this.forwardWaiting ||
      this.writeCallback !== undefined ||
      this.writableLength > 0 ||
      this.writableCorked > 0 ||
      this.writableEnded ||
      this.destroyed ||
      this.remoteGone
    ) {
      return this.write(lent ? chunk.slice() : chunk);
    }
    if (this.toChannel(chunk, lent) !== false) return true;
    this.forwardWaiting = true;
    return false;
  }

  /**
   * @internal A local socket's clean close (forward.ts, forward-dynamic.ts, forward-remote.ts):
   * what was read from it is still sent. The write side ends (CHANNEL_EOF after the queued data,
   * RFC 4254 §5.3) and the channel is closed once everything written has been packetized, as
   * OpenSSH's channels.c does (chan_read_failed: the input drains, then EOF; nstates.c: the
   * channel closes once its input and output are closed). A destroy at once would discard the
   * bytes still waiting in the Writable or for the server's window. If the server's CLOSE comes
   * first, the stream closes by itself; if the server never opens its window, the stream is
   * closed with the connection (`_closed`), so nothing waits longer than the connection lives.
   */
  _closeWhenSent(): void {
    if (this.destroyed) return;
    if (!this.writableEnded) this.end();
    const close = (): void => {
      if (this.destroyed) return;
      // forwardWrite's bytes wait in the core, outside the Writable: 'drain' says they went out.
      if (this.forwardWaiting) this.once('drain', close);
      else this.destroy();
    };
    if (this.writableFinished) close();
    else this.once('finish', close);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // RFC 4254 §5.3: our side is done sending: CHANNEL_EOF (after the queued data).
    if (!this.remoteGone) this.host.channelEnd(this.channel);
    callback();
  }

  override _read(): void {
    this.reportDeferred();
  }

  /**
   * Reports as consumed what was held back while the buffer was full. Before the server's EOF,
   * the Readable calls _read once its buffer falls below the highWaterMark; after it, never
   * again, so {@link read} does it: bytes received before the EOF and read later are counted
   * until then (window-budget.ts). Not once the channel is gone (CLOSE both ways): the core has
   * let it go and its number may already be another channel's.
   */
  private reportDeferred(): void {
    if (this.deferredConsumed <= 0 || this.remoteGone) return;
    const n = this.deferredConsumed;
    this.deferredConsumed = 0;
    this.host.channelConsumed(this.channel, n);
  }

  private eofReceived = false;

  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk: unknown = super.read(size);
    if (this.eofReceived && this.readableLength < this.readableHighWaterMark) this.reportDeferred();
    return chunk;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.remoteGone) {
      this.remoteGone = true;
      this.host.channelClose(this.channel);
    }
    const cb = this.writeCallback;
    this.writeCallback = undefined;
    cb?.(error ?? new SshError('ERR_CHANNEL_CLOSED', `channel ${this.channel} was closed`));
    callback(error);
  }

  /** @internal the server confirmed the open. */
  _opened(): void {
    this.isOpen = true;
    this.emit('open');
  }

  /** The local forwarders' receiver of the server's data: see {@link _setDataSink}. */
  private dataSink: ((chunk: Uint8Array) => void) | undefined;

  /**
   * @internal The local forwarders' reader (forward.ts): `sink` becomes this stream's 'data'
   * listener, and while the stream flows with nothing buffered, {@link _data} hands it each
   * chunk itself, without the Readable's push, 'data' emit and the read-ahead nextTick that
   * every message of a request/response protocol pays. Anything else (the sink paused the
   * stream, chunks queued before) goes through the Readable as before and reaches the sink by
   * 'data', so the chunks keep their order. Window is granted as for a chunk the Readable
   * passes on at once: when the sink has taken it.
   */
  _setDataSink(sink: (chunk: Uint8Array) => void): void {
    this.dataSink = sink;
    this.on('data', sink);
  }

  /**
   * @internal `fn` once the SSH socket read that delivered this stream's data is handled
   * (all its packets), where the connection offers it; false otherwise.
   */
  _deferToReadEnd(fn: () => void): boolean {
    return this.host.deferToReadEnd?.(fn) ?? false;
  }

  /** @internal data from the server. */
  _data(data: Uint8Array): void {
    const n = data.length;
    this.bytesReceived += n;
    this.active();
    const sink = this.dataSink;
    if (sink !== undefined && this.readableFlowing === true && this.readableLength === 0 && !this.destroyed) {
      sink(data);
      this.host.channelConsumed(this.channel, n);
      return;
    }
    // Window is granted as the consumer takes data: at once while the readable buffer has room,
    // later (in _read) once it drains. A slow reader so stalls the server at the window.
    if (this.push(data)) this.host.channelConsumed(this.channel, n);
    else this.deferredConsumed += n;
  }

  /** @internal the server sent EOF: end the readable side (a half-close, not a destroy). */
  _eof(): void {
    this.eofReceived = true;
    this.push(null);
  }

  /** @internal everything queued was packetized. */
  _drain(): void {
    this.active();
    const cb = this.writeCallback;
    this.writeCallback = undefined;
    cb?.();
    if (this.forwardWaiting) {
      this.forwardWaiting = false;
      this.emit('drain');
    }
  }

  /** @internal the channel is gone (CLOSE both ways), or the connection died (`error`). */
  _closed(error: SshError | undefined): void {
    this.remoteGone = true;
    if (error) {
      // The connection went (closed by the caller, or lost). A stream that loses nothing by it
      // closes as a destroyed stream does, without 'error' (Node throws an 'error' no one
      // listens to, so a reader without an error listener would crash the process): no write
      // waits, and either its reader already had 'end' (all the server sent was read), or the
      // caller's own `close()` (ERR_CONNECTION_CLOSED, client-core.ts) ended it with nothing
      // received and unread. A stream cut off that way gets 'close' without 'end', which
      // stream.finished() and pipeline() report as a premature close, as for net.Socket's
      // destroy(). Otherwise (bytes received and not read, a write waiting, the connection lost
      // with the server's data not ended) the error says what was cut off.
      const nothingWaits = this.writeCallback === undefined && !this.forwardWaiting && this.writableLength === 0;
      const readDone = this.readableEnded || (error.code === 'ERR_CONNECTION_CLOSED' && this.readableLength === 0);
      if (nothingWaits && readDone) this.destroy();
      else this.destroy(this.lostAs?.(error) ?? error);
      return;
    }
    // RFC 4254 §5.3: nothing more is sent on a closed channel. Bytes still waiting for window
    // are dropped, as a TCP peer's close drops unsent bytes: the pending write completes rather
    // than fails, because an error would destroy the stream and lose what was received and not
    // yet read. The write side ends first (so a consumer that sees 'end' finds the stream
    // finished both ways, as `for await` requires); what was received stays readable; the
    // stream then closes.
    const cb = this.writeCallback;
    this.writeCallback = undefined;
    cb?.();
    if (!this.writableEnded) this.end();
    this.push(null);
    if (this.writableFinished && this.readableEnded) this.destroy();
  }
}
