/**
 * A channel (RFC 4254 §5) as a WHATWG `{ readable, writable }` pair. Backpressure drives the SSH
 * window both ways: received bytes are granted back to the server (WINDOW_ADJUST, §5.2) only as
 * the consumer pulls them from `readable`, and a write resolves only once its bytes are
 * packetized within the server's window.
 */
import { SshError, UsageError } from '../errors.js';

/** What a {@link WebChannel} needs from its connection (implemented by WebSshClient). */
export interface WebChannelHost {
  channelWrite(channel: number, data: Uint8Array): boolean;
  channelEnd(channel: number): void;
  channelClose(channel: number): void;
  channelConsumed(channel: number, n: number): void;
}

/**
 * A direct-tcpip or direct-streamlocal channel. `readable` ends at the server's EOF; `writable`'s
 * close sends EOF (RFC 4254 §5.3); `close()` sends CLOSE, and so does cancelling `readable` (a
 * `for await` left early, `reader.cancel()`): writes then fail (`channel N: closed, write
 * refused`). To stop reading but keep writing, leave the reader
 * unread: the window stops the server. A connection failure errors both sides with the
 * {@link SshError} that ended it.
 */
export class WebChannel {
  /** The local channel number (as in "channel 3: open failed"). */
  readonly channel: number;
  /** Bytes from the server, in the order received. Pull-driven: nothing is buffered ahead of reads but the SSH window. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server; a write resolves once packetized (within the server's window). */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves when the channel is gone, with the error that ended it (undefined: a clean CLOSE). */
  readonly closed: Promise<SshError | undefined>;
  bytesSent = 0;
  bytesReceived = 0;

  private readonly queue: Uint8Array[] = [];
  private queueHead = 0;
  private eof = false;
  private failure: SshError | undefined;
  private gone = false;
  /** Our close() was called: a later write is refused, not dropped as one racing the server's CLOSE. */
  private closing = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  private resolveClosed!: (e: SshError | undefined) => void;
  private readController!: ReadableStreamDefaultController<Uint8Array>;

  /** @internal created by WebSshClient. */
  constructor(
    private readonly host: WebChannelHost,
    channel: number,
  ) {
    this.channel = channel;
    this.closed = new Promise((res) => (this.resolveClosed = res));
    // highWaterMark 0: pull() runs only while a read is pending, so consumption is reported
    // exactly as the consumer reads.
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.readController = c;
        },
        pull: (c) => this.pull(c),
        cancel: () => this.close(),
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => {
        if (!this.gone) this.host.channelEnd(this.channel);
      },
      abort: () => this.close(),
    });
  }

  /** Send CLOSE (RFC 4254 §5.3) now; bytes not yet packetized are dropped. */
  close(): void {
    if (this.gone) return;
    this.closing = true;
    this.host.channelClose(this.channel);
  }

  private pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    if (this.queueHead < this.queue.length) {
      const chunk = this.queue[this.queueHead++]!;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
      c.enqueue(chunk);
      // RFC 4254 §5.2: window is granted back only for what the consumer took.
      if (!this.gone) this.host.channelConsumed(this.channel, chunk.length);
      return;
    }
    if (this.failure) return c.error(this.failure);
    if (this.eof) return c.close();
    return new Promise<void>((resolve) => (this.wakeReader = resolve)).then(() => this.pull(c));
  }

  private write(chunk: Uint8Array): Promise<void> | void {
    if (this.failure) throw this.failure;
    if (this.gone || this.closing) throw new UsageError(`channel ${this.channel}: closed${this.closing ? '' : ' by the server'}, write refused`);
    if (!(chunk instanceof Uint8Array)) throw new UsageError('a channel carries Uint8Array chunks only');
    let done: boolean;
    try {
      done = this.host.channelWrite(this.channel, chunk);
    } catch (err) {
      // The core saw the server's CLOSE before we were told (events follow the packet batch).
      if (err instanceof UsageError) return;
      throw err;
    }
    this.bytesSent += chunk.length;
    if (done) return;
    return new Promise<void>((resolve, reject) => {
      this.wakeWriter = () => (this.failure ? reject(this.failure) : resolve());
    });
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = undefined;
    r?.();
  }

  /** @internal */
  _data(data: Uint8Array): void {
    this.bytesReceived += data.length;
    this.queue.push(data);
    this.wake();
  }

  /** @internal */
  _eof(): void {
    this.eof = true;
    this.wake();
  }

  /** @internal */
  _drain(): void {
    const w = this.wakeWriter;
    this.wakeWriter = undefined;
    w?.();
  }

  /** @internal the channel is gone; `error` when the connection died or the open was refused. */
  _closed(error: SshError | undefined): void {
    if (this.gone) return;
    this.gone = true;
    this.eof = true;
    if (error) this.failure = error;
    this.wake();
    this._drain();
    // What was received stays readable; then the readable ends (or errors with `error`).
    if (error && this.queueHead >= this.queue.length) {
      try {
        this.readController.error(error);
      } catch {
        // already closed or errored
      }
    }
    this.resolveClosed(error);
  }
}
