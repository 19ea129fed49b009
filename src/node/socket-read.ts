/**
 * TCP sockets to an SSH server that read into one reused buffer (net's `onread` option) instead
 * of a new Buffer per read. A 'data' event hands over a fresh Buffer for every read (a malloc, a
 * zero fill and a V8 ArrayBuffer each time, and external-memory pressure that drives the GC); with
 * `onread` the kernel copies straight into {@link READ_BUFFER}, and the sans-IO core is told the
 * bytes are only lent (ClientCore's `borrowInput: false`): it reads packets out of them and copies
 * only what outlives the call.
 *
 * One buffer serves every such socket of the process: Node runs each read callback to the end on
 * the one JS thread, and the core has let go of the bytes when the callback returns.
 */
import { connect as netConnect, Socket as NetSocket, type NetConnectOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Bytes per read. Larger than Node's 64 KiB so a read usually holds whole packets (pure-ssh
 * lets the server send 128 KiB of data per packet, channel.ts DEFAULT_RECEIVE_MAX_PACKET), and a
 * busy connection needs fewer read calls.
 */
export const READ_BUFFER_SIZE = 256 * 1024;

let shared: Uint8Array | undefined;

const lentReads = Symbol('pure-ssh.lentReads');

/** A socket made by {@link connectLendingReads}: its reads go to whoever {@link LentReads.attach}es. */
export interface LentReads {
  /**
   * Receive every read from now on, and first, within this call, those that came before (copied,
   * since they arrived with no one to lend them to). `bytes` is valid only during the call.
   */
  attach(onRead: (bytes: Uint8Array) => void): void;
}

/**
 * `net.connect(options)` reading into the shared buffer. Until someone {@link LentReads.attach}es,
 * reads are copied and kept (the server may send its version line before the client listens).
 * A 'data' listener added before that attaches one that emits each read as a new Buffer.
 */
export function connectLendingReads(options: NetConnectOpts): Socket {
  shared ??= new Uint8Array(READ_BUFFER_SIZE);
  let sink: ((bytes: Uint8Array) => void) | undefined;
  let early: Uint8Array[] | undefined = [];
  // The view of a read's bytes is made again only when the length changes (a request/response
  // protocol's reads mostly repeat theirs): `subarray()` is a typed-array construction V8 does not
  // inline (~550 instructions with CreateTypedArray, one per read in a callgrind profile of the
  // -L echo path). Readers already may not keep the bytes past the call, so neither the view.
  // Kept in the callback itself: a helper function would be one more TurboFan compile (~5M
  // instructions) within the first thousand messages.
  let view: Uint8Array | undefined;
  let viewOf: Uint8Array | undefined;
  const sock = netConnect({
    ...options,
    onread: {
      buffer: shared,
      callback: (n: number, buf: Uint8Array): boolean => {
        let bytes = view;
        if (bytes === undefined || bytes.length !== n || viewOf !== buf) view = bytes = (viewOf = buf).subarray(0, n);
        if (sink) sink(bytes);
        else early?.push(bytes.slice());
        return true;
      },
    },
  });
  /** From now on reads go to `onRead`; the early ones first, now or (`later`) on the next tick. */
  const take = (onRead: (bytes: Uint8Array) => void, later: boolean): void => {
    if (!early || early.length === 0) {
      early = undefined;
      sink = onRead;
      return;
    }
    const replay = (): void => {
      const before = early ?? [];
      early = undefined;
      sink = onRead;
      for (const b of before) onRead(b);
    };
    // Reads that arrive meanwhile still queue behind these.
    if (later) process.nextTick(replay);
    else replay();
  };
  const reads: LentReads = { attach: (onRead) => take(onRead, false) };
  (sock as Socket & { [lentReads]?: LentReads })[lentReads] = reads;
  // A caller that reads the socket itself ('data', e.g. pure-ssh-bench's probe of the server's
  // offer) gets each read as its own Buffer, as from any socket, the early ones included.
  const onListener = (event: string | symbol): void => {
    if (event !== 'data' || sink !== undefined) return;
    sock.off('newListener', onListener);
    // On the next tick: the listener being added is not in place yet.
    take((bytes) => sock.emit('data', Buffer.from(bytes)), true);
  };
  sock.on('newListener', onListener);
  return sock;
}

/** The lent reads of a socket made by {@link connectLendingReads}, undefined for any other stream. */
export function lendingReadsOf(sock: Duplex): LentReads | undefined {
  return (sock as Duplex & { [lentReads]?: LentReads })[lentReads];
}

/** Bytes per read of an accepted local socket: Node's own size for a stream read. */
export const ACCEPTED_READ_BUFFER_SIZE = 64 * 1024;

let sharedAccepted: Uint8Array | undefined;

/** The parts of Node's net.Socket internals that {@link lendAcceptedReads} relies on. */
interface AdoptableSocket {
  _handle: { readStart?: unknown; useUserBuffer?: unknown } | null;
  _server?: unknown;
  server?: unknown;
}

/**
 * An accepted socket that reads into one reused buffer, as {@link connectLendingReads} does for
 * ours: Node's `onread` exists only for sockets it connects, while each read of an accepted one
 * arrives as a new Buffer (a 64 KiB allocation shrunk to size, then the Readable's push and
 * 'data' emit): measured on the `-L` echo path, ~1.5–2 µs of CPU per read of a small message.
 *
 * `accepted` must come from a server made with `pauseOnConnect: true` (its handle not reading
 * yet, so no byte is read before this). Its libuv handle moves to a new `net.Socket` made with
 * `onread`, which replaces it in the server's count of connections; `onRead` gets each read,
 * valid only during the call (copy what is kept). Backpressure is the socket's own pause() and
 * resume() (Node stops and restarts the handle's reading for such sockets), EOF its 'end'.
 *
 * This relies on Node internals (`_handle`, `_server`): where they are not there (another
 * runtime's node:net, a socket already reading), returns undefined and leaves `accepted` alone;
 * the caller then resumes it and reads its 'data'.
 */
export function lendAcceptedReads(accepted: Socket, onRead: (bytes: Uint8Array) => void, options: { allowHalfOpen: boolean }): Socket | undefined {
  const old = accepted as unknown as AdoptableSocket;
  const handle = old._handle;
  if (
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.readStart !== 'function' ||
    typeof handle.useUserBuffer !== 'function' ||
    (handle as { reading?: boolean }).reading === true ||
    accepted.destroyed ||
    accepted.readableLength > 0
  ) {
    return undefined;
  }
  sharedAccepted ??= new Uint8Array(ACCEPTED_READ_BUFFER_SIZE);
  // One view per read length, as in connectLendingReads.
  let view: Uint8Array | undefined;
  let viewOf: Uint8Array | undefined;
  old._handle = null;
  const sock = new NetSocket({
    handle,
    allowHalfOpen: options.allowHalfOpen,
    onread: {
      buffer: sharedAccepted,
      callback: (n: number, buf: Uint8Array): boolean => {
        let bytes = view;
        if (bytes === undefined || bytes.length !== n || viewOf !== buf) view = bytes = (viewOf = buf).subarray(0, n);
        onRead(bytes);
        return true;
      },
    },
  } as ConstructorParameters<typeof NetSocket>[0]);
  // The server counts this connection until the socket that holds the handle is destroyed.
  const adopted = sock as unknown as AdoptableSocket;
  adopted._server = old._server;
  adopted.server = old.server;
  old._server = null;
  accepted.destroy();
  return sock;
}
