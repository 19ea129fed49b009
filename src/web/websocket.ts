/**
 * A WebSocket (RFC 6455) as a `{ readable, writable }` byte stream pair, for browsers reaching
 * sshd through a WebSocket-to-TCP bridge such as websockify. Every write is one binary frame;
 * the bridge forwards frame payloads as TCP bytes. It only ever sees SSH's encrypted packets:
 * keys, passwords and channel data stay end to end between this page and sshd.
 */
import { ConnectionLostError, UsageError } from '../errors.js';
import type { ByteStreamPair } from './client.js';

/** Options of {@link webSocketStreams}. */
export interface WebSocketStreamsOptions {
  /** Sub-protocols to offer (websockify accepts `binary`; default none, which it treats as binary). */
  protocols?: string | string[];
  /** Writes wait while more than this many bytes are queued in the socket (default 1 MiB). */
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

/**
 * Open a WebSocket to `url` and resolve, once open, with streams over its binary frames.
 * Writes honour `bufferedAmount` (a slow network stalls the writer); reading cannot push back
 * on a WebSocket, but the SSH channel windows bound what the server sends.
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
  return new Promise((resolve, reject) => {
    const ws = new WS(url, options.protocols);
    ws.binaryType = 'arraybuffer';
    let readController!: ReadableStreamDefaultController<Uint8Array>;
    let opened = false;
    let ended = false;
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
        if (ws.readyState !== WS.OPEN) throw new ConnectionLostError(`WebSocket ${String(url)} is closed`);
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
      if (ended) return;
      const d = ev.data;
      if (d instanceof ArrayBuffer) readController.enqueue(new Uint8Array(d));
      else if (typeof d === 'string') {
        ended = true;
        readController.error(new ConnectionLostError('the WebSocket bridge sent a text frame: binary frames are expected (is it websockify in binary mode?)'));
      }
    };
    ws.onerror = () => {
      if (!opened) reject(new ConnectionLostError(`WebSocket connection to ${String(url)} failed`));
    };
    ws.onclose = (ev: { code: number }) => {
      wakeWriter?.();
      if (!opened) {
        reject(new ConnectionLostError(`WebSocket connection to ${String(url)} failed (close code ${ev.code})`));
        return;
      }
      if (ended) return;
      ended = true;
      // The bridge closes the WebSocket when the TCP connection ends: that is the end of the stream.
      readController.close();
    };
  });
}
