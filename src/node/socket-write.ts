/**
 * Writes straight to a socket's libuv handle, past the Writable. `socket.write()` runs the
 * Writable's state machine for every chunk (its buffer bookkeeping, the stream's `_write`, a
 * WriteWrap, then a `process.nextTick` to run the callback and 'drain' logic), paid on every
 * message of a request/response protocol; when the kernel takes a small chunk at once, none of
 * that is needed. Measured on the `-L` echo path (callgrind, warm 64-byte round trips): see
 * the commit that added this file.
 *
 * The socket's own Writable stays in charge whenever it holds anything: a direct write is only
 * made while its queue is empty (nothing written through `write()` still pending, not corked,
 * not connecting, not ended), so the bytes keep their order. A direct write the kernel did not
 * take whole is left queued in libuv (which writes its queue in order, and makes any later
 * write wait behind it); until it completes, this writer refuses (callers then use
 * `socket.write()`, queued behind it in libuv). Errors are handled as Node's own write does:
 * the socket is destroyed with the same `write ECODE` error.
 *
 * This relies on Node internals (the handle's `writeBuffer`, `process.binding('stream_wrap')`'s
 * WriteWrap and state array, `_handle`): where they are not there (another runtime's node:net),
 * {@link handleWriterFor} returns undefined and the caller writes with `socket.write()`.
 */
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** The chunk was not written: write it with `socket.write()`. */
export const WRITE_REFUSED = 0;
/** The kernel took all of the chunk; `done` will not be called. */
export const WRITE_DONE = 1;
/** Part of the chunk waits in libuv: `done` is called once it is written (or failed); keep the chunk unchanged until then. */
export const WRITE_QUEUED = 2;

export type HandleWriteResult = typeof WRITE_REFUSED | typeof WRITE_DONE | typeof WRITE_QUEUED;

/**
 * Write `chunk` to the socket's handle now if its Writable holds nothing (see the file's
 * comment). {@link WRITE_QUEUED}: `done` gets null once the rest is written, or the error that
 * destroyed the socket.
 */
export type HandleWriter = (chunk: Uint8Array, done: (err: Error | null) => void) => HandleWriteResult;

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Uint8Array | null;
  error?: unknown;
  callback?: (err: Error | null) => void;
  owner?: DirectSocket;
  state?: DirectState;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, data: Uint8Array): number;
}

/** What the writers of one socket share. */
interface DirectState {
  /** A direct write is still queued in libuv. */
  queued: boolean;
}

/** The parts of a Node net.Socket this relies on. */
interface DirectSocket extends Socket {
  _handle: StreamHandle | null;
  /**
   * Made with the socket's first writer and kept by every writer's closure: read per write from
   * there, not from the socket (a symbol-keyed load on sockets of many shapes is megamorphic,
   * ~190 instructions per write in a callgrind profile of the -L echo path).
   */
  [directState]?: DirectState;
}

const directState = Symbol('pure-ssh.directWriteState');

let binding: StreamWrapBinding | null | undefined;

/**
 * A WriteWrap no write holds (making one is a V8 API object instantiation, ~1k instructions):
 * the one thread makes one write at a time, and only a queued write keeps its request.
 */
let spareReq: WriteReq | undefined;

function streamWrap(): StreamWrapBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  try {
    // process.binding() warns (DEP0111) only under --pending-deprecation: then do without.
    const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
    if (flags.includes('--pending-deprecation')) return null;
    const b = (process as unknown as { binding?: (name: string) => unknown }).binding?.('stream_wrap') as Partial<StreamWrapBinding> | undefined;
    if (
      b !== undefined &&
      typeof b.WriteWrap === 'function' &&
      b.streamBaseState instanceof Int32Array &&
      typeof b.kLastWriteWasAsync === 'number'
    ) {
      binding = b as StreamWrapBinding;
    }
  } catch {
    binding = null;
  }
  return binding;
}

/** Node's errnoException(status, 'write'): what `socket.write()` destroys the socket with. */
function writeError(status: number): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `Unknown system error ${status}`;
  }
  const err: NodeJS.ErrnoException = new Error(`write ${code}`);
  err.errno = status;
  err.code = code;
  err.syscall = 'write';
  return err;
}

/** libuv finished a write that was queued (onWriteComplete in Node's stream_base_commons). */
function onQueuedWriteComplete(this: WriteReq, status: number): void {
  const sock = this.owner!;
  const done = this.callback!;
  this.state!.queued = false;
  this.buffer = null;
  if (sock.destroyed) {
    done(null);
    return;
  }
  if (status < 0) {
    const err = writeError(status);
    sock.destroy(err);
    done(err);
    return;
  }
  done(null);
}

/** The fields of Node's WritableState read here. */
interface WritableStateFields {
  length: number;
  corked: number;
  ending: boolean;
  destroyed: boolean;
}

/**
 * `sock._writableState` when it has the fields {@link handleWriterFor} reads with the types it
 * expects (Node 18–22), else undefined (then the public getters are used).
 */
function writableStateOf(sock: Socket): WritableStateFields | undefined {
  const ws = (sock as unknown as { _writableState?: Partial<WritableStateFields> })._writableState;
  if (
    ws !== undefined &&
    ws !== null &&
    typeof ws.length === 'number' &&
    typeof ws.corked === 'number' &&
    typeof ws.ending === 'boolean' &&
    typeof ws.destroyed === 'boolean' &&
    ws.length === sock.writableLength &&
    ws.corked === sock.writableCorked &&
    ws.ending === sock.writableEnded
  ) {
    return ws as WritableStateFields;
  }
  return undefined;
}

/**
 * A {@link HandleWriter} for `sock`, or undefined where Node's internals it needs are missing.
 * Made once per socket (it keeps nothing per write but the WriteWrap of a queued write).
 */
export function handleWriterFor(sock: Socket): HandleWriter | undefined {
  const b = streamWrap();
  const s = sock as DirectSocket;
  const h = s._handle;
  if (b === null || h === null || typeof h !== 'object' || typeof h.writeBuffer !== 'function') return undefined;
  const { WriteWrap, streamBaseState, kLastWriteWasAsync } = b;
  const state = (s[directState] ??= { queued: false });
  // The Writable's own state object (Node's WritableState: `length`, `corked`, `ending` and
  // `destroyed` are what the socket's writableLength, writableCorked, writableEnded getters and
  // the writable half of `destroyed` read), kept for the socket's life: one shape for every
  // socket, where the getters on sockets of several shapes were megamorphic loads and calls
  // (~400 instructions per write for writableEnded alone in a callgrind profile of pgbench).
  const ws = writableStateOf(s);
  // Node's `_handle` is a getter (`this[kHandle]`) shared by every socket, server and pipe of
  // the process: inlined here it is a megamorphic keyed load (~200 instructions per write in a
  // callgrind profile of the -L echo path). So the handle is kept once the socket is connected:
  // from then on it is the socket's for its life (null once destroyed, which `ws.destroyed` says
  // first). Not before: while connecting, Node closes the handle of each address of a lookup
  // that fails and tries the next on a fresh one (net.js internalConnectMultiple).
  let kept: StreamHandle | undefined;
  return (chunk, done) => {
    let handle: StreamHandle | null | undefined = kept;
    if (handle === undefined) {
      handle = s._handle;
      if (ws !== undefined && handle !== null && !s.connecting) kept = handle;
    }
    if (
      handle === null ||
      state.queued ||
      // A destroyed Duplex has its writable half destroyed (Node's Duplex `destroyed` getter).
      (ws !== undefined ? ws.length > 0 || ws.corked > 0 || ws.ending || ws.destroyed : s.writableLength > 0 || s.writableCorked > 0 || s.writableEnded || s.destroyed) ||
      s.connecting ||
      // A socket with an idle timeout restarts its timer on each write: leave that to write().
      s.timeout !== undefined
    ) {
      return WRITE_REFUSED;
    }
    let req = spareReq;
    if (req === undefined) {
      req = new WriteWrap();
      req.oncomplete = onQueuedWriteComplete;
      req.async = false;
      req.bytes = 0;
      req.buffer = null;
    } else {
      spareReq = undefined;
    }
    req.handle = handle;
    const err = handle.writeBuffer(req, chunk);
    const queued = err === 0 && streamBaseState[kLastWriteWasAsync] !== 0;
    // Node's StreamBase::Write binds the request object to a libuv request only when the
    // kernel did not take everything: otherwise it is left untouched, free for the next write.
    if (!queued) spareReq = req;
    if (err !== 0) {
      const e = writeError(err);
      s.destroy(e);
      done(e);
      return WRITE_QUEUED;
    }
    if (!queued) return WRITE_DONE;
    // libuv holds a pointer into chunk until the write completes.
    req.async = true;
    req.buffer = chunk;
    req.owner = s;
    req.state = state;
    req.callback = done;
    state.queued = true;
    return WRITE_QUEUED;
  };
}
