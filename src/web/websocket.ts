/**
 * A WebSocket (RFC 6455) as a `{ readable, writable }` byte stream pair, for browsers reaching
 * sshd through a WebSocket-to-TCP bridge such as websockify. Every write is one binary frame;
 * the bridge forwards frame payloads as TCP bytes. It only ever sees SSH's encrypted packets:
 * keys, passwords and channel data stay end to end between this page and sshd.
 */
import { ConnectionLostError, UsageError } from '../errors.js';
import { checkOptionTypes, show } from '../option-check.js';
import type { ByteStreamPair } from './client.js';

/**
 * The WebSocket ended other than as the end of a byte stream: it never opened (nothing listening,
 * a refused upgrade), or it closed after opening without a normal closure following the server's
 * bytes. `closeCode` and `closeReason` are the close frame's (RFC 6455 §7.4; 1006: the connection
 * dropped without one; -1 for a WebSocket that never opened: its 'error' event says no more).
 * websockify closes with 1000 "Target closed" when the TCP connection behind it ends, 1011
 * "Failed to connect to downstream server" when it could not reach the SSH server, and drops the
 * connection (1006) when that one was reset.
 */
export class WebSocketClosedError extends ConnectionLostError {
  constructor(
    message: string,
    readonly url: string,
    readonly opened: boolean,
    readonly closeCode = -1,
    readonly closeReason = '',
  ) {
    super(message);
  }
}

/** Options of {@link webSocketStreams}. */
export interface WebSocketStreamsOptions {
  /** Sub-protocols to offer (websockify accepts `binary`; default none, which it treats as binary). */
  protocols?: string | string[];
  /** Writes wait while more than this many bytes are queued in the socket (default 1 MiB; a number >= 0, Infinity never waits; else a UsageError). */
  highWaterMark?: number;
  /** Abort opening. */
  signal?: AbortSignal;
  /** A WebSocket constructor other than the global one (required where there is none: Node 20). */
  WebSocket?: typeof WebSocket;
}

// WebSocket has no 'drain' event (WHATWG WebSockets §bufferedAmount): poll while congested, and
// look again whenever a message arrives. A hidden tab's timers may run once a second (browsers
// throttle them), its message events are not: during an upload the server's WINDOW_ADJUSTs keep
// arriving (RFC 4254 §5.2), so the writer goes on at their pace rather than the throttled timer's.
const DRAIN_POLL_MS = 4;

/** RFC 6455 §4.1: each sub-protocol a token (RFC 7230 §3.2.6 tchar), none twice. */
function protocolsValid(protocols: string | string[] | undefined): boolean {
  const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
  return new Set(list).size === list.length && list.every((p) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p));
}

/**
 * Open a WebSocket to `url` and resolve, once open, with streams over its binary frames.
 * Writes honour `bufferedAmount` (a slow network stalls the writer); reading cannot push back
 * on a WebSocket, but the SSH channel windows bound what the server sends. A normal closure
 * (1000) after the server's first bytes ends the readable; any other close, or one before a
 * byte came, errors it with a {@link WebSocketClosedError} (the bridge lost the server, or never
 * reached it); a WebSocket that fails to open rejects with one (`opened` false). A URL or
 * `protocols` the WebSocket constructor refuses rejects with a UsageError naming it, the
 * runtime's exception as its `cause`.
 *
 * @example
 * ```ts
 * import { connect, webSocketStreams } from 'pure-ssh/web';
 * const ssh = await connect({ transport: webSocketStreams('wss://bridge.example/ssh'), host: 'db.internal', ... });
 * ```
 */
export function webSocketStreams(url: string | URL, options: WebSocketStreamsOptions = {}): Promise<ByteStreamPair> {
  const WS = options.WebSocket ?? globalThis.WebSocket;
  if (typeof WS !== 'function') {
    // Node 20 has no global WebSocket (Node 21 behind --experimental-websocket, 22 by default).
    return Promise.reject(
      new UsageError('webSocketStreams: this runtime has no global WebSocket: pass options.WebSocket (Node 20: run with --experimental-websocket)'),
    );
  }
  const highWater = options.highWaterMark ?? 1024 * 1024;
  const where = String(url);
  let socket: WebSocket | undefined;
  const pair = new Promise<ByteStreamPair>((resolve, reject) => {
    // Checked before the WebSocket is made (a throw here rejects): a negative highWaterMark made
    // every write wait for ever, a `signal` that is no AbortSignal threw with it already opening.
    checkOptionTypes(options, { signal: 'g' }, 'webSocketStreams: options.');
    if (!(typeof highWater === 'number' && highWater >= 0)) throw new UsageError(`webSocketStreams: options.highWaterMark must be a number of bytes >= 0, got ${show(highWater)}`);
    let ws: WebSocket;
    try {
      ws = new WS(url, options.protocols);
    } catch (err) {
      // WHATWG WebSockets §3.1: the constructor throws (a SyntaxError DOMException) for a URL it
      // cannot parse or that is not ws:, wss:, http: or https:, a fragment, or a bad sub-protocol
      // list; a page's policy may refuse it too (a SecurityError). The caller's mistake: named.
      const what = protocolsValid(options.protocols) ? `url "${where}"` : `options.protocols ${JSON.stringify(options.protocols)}`;
      reject(new UsageError(`webSocketStreams: invalid ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    ws.binaryType = 'arraybuffer';
    socket = ws;
    let readController!: ReadableStreamDefaultController<Uint8Array>;
    let opened = false;
    let received = false;
    let ended = false;
    /** How the WebSocket closed, once it has: what a later write fails with. */
    let closed: WebSocketClosedError | undefined;
    /** Wakes a write waiting for bufferedAmount to fall (on a message, or the close). */
    let wakeWriter: (() => void) | undefined;
    const drainWait = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wakeWriter = undefined;
          resolve();
        };
        const timer = setTimeout(done, DRAIN_POLL_MS);
        wakeWriter = done;
      });
    const onAbort = () => {
      ws.close();
      reject(options.signal!.reason);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        readController = c;
      },
      cancel: () => {
        // The reader is gone: the close that follows must not touch the closed stream.
        ended = true;
        ws.close(1000);
      },
    });
    const writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (ws.readyState !== WS.OPEN) throw closed ?? new ConnectionLostError(`WebSocket ${where} is closed`);
        ws.send(chunk);
        while (ws.bufferedAmount > highWater && ws.readyState === WS.OPEN) await drainWait();
      },
      close: () => ws.close(1000),
      abort: () => ws.close(1000),
    });
    ws.onopen = () => {
      opened = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ readable, writable });
    };
    ws.onmessage = (ev: MessageEvent) => {
      wakeWriter?.();
      received = true;
      if (ended) return;
      const d = ev.data;
      if (d instanceof ArrayBuffer) readController.enqueue(new Uint8Array(d));
      else if (typeof d === 'string') {
        ended = true;
        readController.error(new ConnectionLostError('the WebSocket bridge sent a text frame: binary frames are expected (is it websockify in binary mode?)'));
      }
    };
    ws.onerror = () => {
      if (!opened) reject(new WebSocketClosedError(`WebSocket connection to ${where} failed`, where, false));
    };
    ws.onclose = (ev: { code: number; reason?: string }) => {
      wakeWriter?.();
      // Before the open, 'error' came first (WHATWG WebSockets: "fail the WebSocket connection"
      // fires error, then close with 1006) and rejected.
      if (!opened) return;
      const reason = ev.reason ?? '';
      closed = new WebSocketClosedError(`WebSocket ${where} closed with code ${ev.code}${reason ? ` (${reason})` : ''}`, where, true, ev.code, reason);
      if (ended) return;
      ended = true;
      // The bridge closes the WebSocket when the TCP connection ends (websockify: 1000): after the
      // server's bytes that is the end of the stream. Before any, or with another code, the
      // reader learns how it closed (connect() words it as ssh's kex_exchange_identification).
      if (ev.code === 1000 && received) readController.close();
      else readController.error(closed);
    };
  });
  sockets.set(pair, socket);
  return pair;
}

/**
 * @internal Each webSocketStreams() promise's WebSocket: connect() closes one it gave up on (an
 * abort, the ConnectTimeout) while it is still opening, not left to connect.
 */
export const sockets = new WeakMap<object, WebSocket | undefined>();
