/**
 * Local port forwarding, `ssh -L` (ssh(1)): a local listener whose every accepted connection
 * becomes a direct-tcpip (or direct-streamlocal) channel. Opens never wait on each other: each
 * accepted socket gets its channel at once and the server answers when its own connect is done.
 */
import { bindStrerror } from './strerror.js';
import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { PATH_MAX_SUN, unixPathTooLong } from '../config/forward-spec.js';
import { SshError, UsageError } from '../errors.js';
import { checkCallKeys, NO_SIGNAL, show } from '../option-check.js';
import type { RemoteForwardOptions } from './forward-remote.js';
import type { ChannelStream } from './channel-stream.js';
import { detachWritten, releasableAfterWrite, releaseWritten } from './array-buffer-release.js';
import { ForwardListener, resetSocket } from './forward-listener.js';
import { lendAcceptedReads } from './socket-read.js';
import { handleWriterFor, WRITE_DONE, WRITE_QUEUED } from './socket-write.js';

/**
 * Where to listen: TCP host/port (loopback unless told otherwise) or a Unix socket path.
 * `ipv6Only` (net.Server listen's): an IPv6 address listened on for IPv6 alone, as ssh(1) binds
 * every IPv6 listener (channels.c channel_setup_fwd_listener_tcpip: sock_set_v6only), and binds
 * the IPv4 one beside it; without it, `::` takes IPv4 too where the system allows.
 * `keepFile`: closing the forward leaves the socket file at `path`, as ssh(1) leaves the sockets
 * of its forwards (it never unlinks them); by default the file is removed, as Node removes the
 * socket of a server it closes.
 *
 * @example
 * ```ts
 * await ssh.forwardLocal({ listen: { path: '/tmp/db.sock', keepFile: true }, to: { host: 'localhost', port: 5432 } });
 * ```
 */
export type ListenSpec = { host?: string; port: number; ipv6Only?: boolean } | { path: string; keepFile?: boolean };
/** Where the server should connect: a host/port it resolves, or a Unix socket path on it. */
export type TargetSpec = { host: string; port: number } | { path: string };

export interface ForwardOptions {
  listen: ListenSpec;
  to: TargetSpec;
}

/** Live counters of a forward. */
export interface ForwardCounters {
  /** Connections accepted so far. */
  connections: number;
  /** Connections currently open. */
  active: number;
  /** Channel opens the server refused. */
  failed: number;
  /** Bytes from local clients to the server. */
  bytesOut: number;
  /** Bytes from the server to local clients. */
  bytesIn: number;
}

/**
 * How ssh(1) names a channel a forward opens, for the debug lines of its open and close:
 * channels.c channel_new's `channel N: new CTYPE [CTYPE] (inactive timeout: 0)` and channel_free's
 * `channel N: free: REMOTE_NAME, nchannels M`, REMOTE_NAME as port_open_helper makes it
 * ({@link forwardedRemoteName}).
 */
export interface ForwardedChannelName {
  /** `direct-tcpip`, `direct-streamlocal@openssh.com` (-L), `dynamic-tcpip` (-D). */
  ctype: string;
  remoteName: string;
  /** The number held for it at accept (ForwardHost.holdChannel), whose `new` line was said then. */
  channel?: number;
}

/** What the forwarder needs from the SSH connection. */
export interface ForwardHost {
  directTcpip(p: { host: string; port: number; originatorAddress?: string; originatorPort?: number }, name?: ForwardedChannelName): ChannelStream;
  directStreamlocal(path: string, name?: ForwardedChannelName): ChannelStream;
  /** Hold the next channel number for a connection just accepted, with ssh's `new` line for `ctype`. */
  holdChannel(ctype: string): number;
  /** Give up a held number unopened, with ssh's `free` line naming it `remoteName`. */
  releaseChannel(id: number, remoteName: string): void;
  /** A debug line (level 1 unless `level`: ssh's debug2, debug3). */
  log(message: string, level?: 2 | 3): void;
}

/**
 * The port a listener stands for in ssh(1)'s lines: its TCP port, or PORT_STREAMLOCAL (-2) for
 * a Unix socket (channels.c).
 */
export function listeningPort(listen: ListenSpec, server: Server): number {
  if ('path' in listen) return -2;
  const a = server.address();
  return a !== null && typeof a === 'object' ? a.port : listen.port;
}

/**
 * channels.c port_open_helper's remote_name of an accepted connection: `RTYPE: listening port LP
 * for HOST port HP, connect from PEER port PP to LOCAL port LP2`, the peer and local address as
 * getpeername/getsockname give them (a Unix socket's: an empty peer at port 0, the socket's path
 * at port 0, as ssh 9.2 prints them).
 */
export function forwardedRemoteName(rtype: string, lport: number, host: string, hostPort: number, sock: Socket, listenPath?: string): string {
  const [peer, peerPort, local, localPort] =
    listenPath !== undefined ? ['', 0, listenPath, 0] : [sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 65535, sock.localAddress ?? 'UNKNOWN', sock.localPort ?? 65536];
  return `${rtype}: listening port ${lport} for ${host} port ${hostPort}, connect from ${peer} port ${peerPort} to ${local} port ${localPort}`;
}

/**
 * The channel for a connection `sock` accepted by a -L listener (`server`, on `options.listen`)
 * to `options.to`: direct-tcpip (RFC 4254 §7.2) or direct-streamlocal@openssh.com, with the lines
 * ssh(1) logs for it (channels.c channel_post_port_listener's "Connection to port LP forwarding to
 * HOST port P requested.", then channel_new's, and channel_free's at its end). Throws as
 * directTcpip does (a connection no longer usable). Plain -L's and PureSshReconnect's.
 */
export function openForwardedChannel(host: ForwardHost, options: ForwardOptions, server: Server, sock: Socket): ChannelStream {
  const { listen, to } = options;
  const lport = listeningPort(listen, server);
  const [toHost, toPort] = 'path' in to ? [to.path, -2] : [to.host, to.port];
  host.log(`Connection to port ${lport} forwarding to ${toHost} port ${toPort} requested.`);
  const rtype = 'path' in to ? 'direct-streamlocal@openssh.com' : 'direct-tcpip';
  const name = { ctype: rtype, remoteName: forwardedRemoteName(rtype, lport, toHost, toPort, sock, 'path' in listen ? listen.path : undefined) };
  return 'path' in to
    ? host.directStreamlocal(to.path, name)
    : host.directTcpip({ host: to.host, port: to.port, originatorAddress: sock.remoteAddress ?? '127.0.0.1', originatorPort: sock.remotePort ?? 0 }, name);
}

/** A running local forward. Emits 'connection-error' (SshError) when a channel fails, 'close'. */
export class LocalForward extends ForwardListener {
  constructor(
    server: Server,
    readonly options: ForwardOptions,
  ) {
    super(server, options.listen);
  }
}

/** Start listening and forwarding. Rejects (ERR_FORWARD_BIND) if the address cannot be bound. */
export async function startLocalForward(host: ForwardHost, options: ForwardOptions): Promise<LocalForward> {
  checkForwardOptions(options, 'forwardLocal');
  // allowHalfOpen: a local client that shuts down its write side still gets the reply.
  // pauseOnConnect: nothing is read before the socket is set to read into the shared buffer.
  const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
  const fwd = new LocalForward(server, options);
  server.on('connection', (accepted) => {
    // Reads arrive in a reused buffer (socket-read.ts), where Node allows it; until the channel
    // is set up below no read can arrive (the handle starts reading on a later turn of the loop).
    let onBytes: (bytes: Uint8Array) => void = ignoreBytes;
    const lent = lendAcceptedReads(accepted, (bytes) => onBytes(bytes), { allowHalfOpen: true });
    const sock = lent ?? accepted;
    fwd._track(sock);
    fwd.counters.connections++;
    fwd.counters.active++;
    sock.setNoDelay(true);
    const ch = openForwardedChannel(host, options, server, sock);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      fwd.counters.active--;
    };
    ch.on('error', (err: Error) => {
      if (!ch.isOpen) fwd.counters.failed++;
      // OpenSSH reports "channel N: open failed: ..." and keeps the tunnel up; only this socket goes.
      const failure = err instanceof SshError ? err : new SshError('ERR_CONNECTION_LOST', err.message, { cause: err });
      fwd.emit('connection-error', failure);
      // A refused open: ssh(1) never read the socket of a channel still opening (channels.c has
      // no pre-select handler for SSH_CHANNEL_OPENING), so closing it (channel_free) with the
      // client's bytes unread makes the kernel reset it (RFC 1122 §4.2.2.13); with nothing sent,
      // a clean close. We read ahead (what waits for the open): reset when anything came.
      // Anything else (the connection lost, a timeout) cut the stream: reset, never a clean end.
      if (failure.code === 'ERR_CHANNEL_OPEN_FAILED' && sock.bytesRead === 0) sock.destroy();
      else resetSocket(sock);
      finish();
    });
    // A socket error (a reset) is its EOF, settled on the 'close' that follows it.
    sock.on('error', () => {});
    // Half-closes propagate: local EOF → CHANNEL_EOF; CHANNEL_EOF → local shutdown(SHUT_WR).
    onBytes = pipeToChannel(sock, ch, fwd.counters, lent !== undefined);
    if (lent === undefined) sock.resume();
    const flushToLocal = pipeFromChannel(ch, sock, fwd.counters);
    sock.on('close', (hadError) => {
      closeChannelAfterSocket(sock, ch, hadError, fwd.counters);
      finish();
    });
    ch.on('close', () => {
      finish();
      // Closed without the server's EOF or CLOSE (the caller closed the connection under it):
      // the stream was cut, so the local client is reset rather than told it is complete.
      if (!ch.readableEnded) return resetSocket(sock);
      flushToLocal();
      closeAfterFlush(sock);
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new SshError(
          'ERR_FORWARD_BIND',
          `bind ${describeListen(options.listen)}: ${bindStrerror(err, 'path' in options.listen ? options.listen.path : undefined)}` +
            ` (could not request local forwarding)`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    const listen = options.listen;
    const cb = () => {
      server.off('error', onError);
      resolve();
    };
    listenOn(server, listen, cb);
  });
  server.on('error', (err) => host.log(`forward listener error: ${err.message}`));
  return fwd;
}

function describeListen(l: ListenSpec): string {
  return 'path' in l ? l.path : `${l.host ?? '127.0.0.1'}:${l.port}`;
}

/**
 * The client→server direction. Unlike `pipe()`, it never writes into a channel whose write side
 * has ended (our EOF, or the server's CLOSE): from then on the local bytes are read and dropped,
 * as ssh(1) does once it has shut down the read side of a channel's socket (channels.c
 * chan_rcvd_oclose), so a client still uploading neither stalls nor makes the channel fail.
 * `lent`: `from` reads into a reused buffer (socket-read.ts lendAcceptedReads) and hands its reads
 * to the returned function, whose bytes the channel copies if it must keep them; otherwise the
 * function is `from`'s 'data' listener.
 */
function pipeToChannel(from: Socket, to: ChannelStream, counters: ForwardCounters, lent: boolean): (chunk: Uint8Array) => void {
  // Counted through the shared counters object, not a callback made per connection: a new
  // closure at a call site V8 has optimized for another one deoptimizes the hot path.
  const onData = (chunk: Uint8Array): void => {
    if (to.writableEnded || to.destroyed) return;
    counters.bytesOut += chunk.length;
    if (!to.forwardWrite(chunk, lent)) {
      // For a socket with lent reads too: Node's pause() stops its handle's reading.
      from.pause();
      to.once('drain', () => from.resume());
    }
  };
  if (!lent) from.on('data', onData);
  // A write still waiting for window when the server closed never gets 'drain': resume to drop.
  to.once('finish', () => from.resume());
  from.once('end', () => {
    if (!to.writableEnded && !to.destroyed) to.end();
  });
  return onData;
}

/**
 * A forwarded connection's local socket closed. After its EOF, or a read error (a reset), what
 * was read from it still goes out: the channel ends (EOF after the queued data) and closes once
 * all was sent (ChannelStream._closeWhenSent), so a target that answers and closes (or resets) at
 * once never loses its answer. OpenSSH takes a failed read as the EOF (channels.c
 * channel_handle_rfd: `read<=0` and `read failed` both go to nchan.c chan_read_failed →
 * CHAN_INPUT_WAIT_DRAIN, and CHANNEL_EOF once the input buffer drained, chan_ibuf_empty). What a
 * paused socket's Readable still held when the error ended it is taken with read() and sent
 * first (counted in `counters.bytesOut`). A close without EOF or error (we destroyed the socket)
 * closes the channel at once. Data for the closed socket from the server is dropped, as ssh drops
 * it. Also -R's and -D's (forward-remote.ts, forward-dynamic.ts).
 */
export function closeChannelAfterSocket(sock: Socket, ch: ChannelStream, hadError: boolean, counters?: ForwardCounters): void {
  if (ch.destroyed) return;
  if (hadError) {
    for (let d: unknown; (d = sock.read()) !== null; ) {
      if (ch.writableEnded) continue;
      const chunk = d as Buffer;
      if (counters !== undefined) counters.bytesOut += chunk.length;
      ch.write(chunk);
    }
    ch._closeWhenSent();
  } else if (!sock.readableEnded) ch.destroy();
  else ch._closeWhenSent();
}

/**
 * A forwarded connection's channel closed (RFC 4254 §5.3): what it delivered reaches the local
 * socket (`flush`, from {@link pipeFromChannel}), then the socket ends (its FIN); a socket already
 * destroyed is left as it is. `then` runs after, either way. -R's and -D's (forward-remote.ts,
 * forward-remote-socks.ts, forward-dynamic.ts); -L's also resets a socket whose channel was cut
 * without the server's EOF (startLocalForward).
 */
export function endSocketOnChannelClose(ch: ChannelStream, sock: Socket, flush: () => void, then?: () => void): void {
  ch.on('close', () => {
    if (!sock.destroyed) {
      flush();
      sock.end();
    }
    then?.();
  });
}

/** Reads before the channel is set up: none arrive (see startLocalForward). */
function ignoreBytes(): void {}

/**
 * How long a local socket may stay half-closed after its channel is gone, for a client that
 * keeps sending: long enough for it to read the last reply before the close resets the
 * connection, short enough to keep ssh(1)'s prompt close (within ~100 ms).
 */
const LINGER_MS = 50;

/**
 * The channel is gone (RFC 4254 §5.3: CLOSE went both ways), so is the local connection: once
 * the bytes queued for the local client have been handed to the kernel, the socket is closed
 * for good, never left half-closed. ssh(1) likewise drains a channel's output and then closes
 * its descriptor (channels.c: CHAN_OUTPUT_WAIT_DRAIN, then channel_free). Until then the
 * client's bytes are read and dropped, so a client blocked in write() can still read the reply.
 *
 * A close while the client is still sending resets the connection (RFC 1122 §4.2.2.13: unread
 * data at close → RST), and a client that hits the reset on a write may drop the reply it had
 * not read yet. So after our FIN the socket lingers, reading and dropping, until the client
 * closes its side too or {@link LINGER_MS} passes (a "lingering close", as HTTP servers do).
 */
function closeAfterFlush(sock: Socket): void {
  if (sock.destroyed) return;
  sock.resume();
  const linger = () => {
    if (sock.readableEnded) {
      sock.destroy();
      return;
    }
    const timer = setTimeout(() => sock.destroy(), LINGER_MS);
    sock.once('end', () => sock.destroy());
    sock.once('close', () => clearTimeout(timer));
  };
  if (sock.writableFinished) {
    linger();
    return;
  }
  sock.once('finish', linger);
  sock.end();
}

/** Settled once: `.then` on it runs a callback when the current task's microtasks run. */
const TASK_END = Promise.resolve();

/**
 * `from.pipe(to)` for the server→client direction, with the writes of one task gathered into a
 * single write: the packets decrypted from one socket read reach the local socket in one
 * syscall instead of one per packet. Backpressure and EOF behave as with pipe(). Returns
 * `flush`, which hands the local socket what the current task has gathered so far: called
 * before the socket is ended, so that nothing is written after its end. Also -D's and -R's
 * (forward-dynamic.ts, forward-remote.ts): the channel's data is counted in `counters.bytesIn`.
 */
export function pipeFromChannel(from: ChannelStream, to: Socket, counters: ForwardCounters): () => void {
  // A read's chunks leave together once all its packets are handled (the SshClient calls back at
  // the end of the read; elsewhere, a microtask at the end of the task): one write per socket
  // read, as ssh(1) writes a channel's output once per pass of its loop (a 256 MiB download made
  // ~1.7 local writes per read when the first chunk went out alone). A lone small message is not
  // held back. The first chunk of a
  // task waits on its own and goes out with a plain write (a request/response protocol's usual
  // case: one message per read); a second one corks the socket, so that all go in one writev.
  let held: Uint8Array | undefined;
  let corked = false;
  let scheduled = false;
  let paused = false;
  const resume = () => {
    paused = false;
    from.resume();
  };
  // A lone chunk goes straight to the socket's handle where Node allows it (socket-write.ts):
  // no Writable state machine and nextTick per message. One the kernel did not take whole
  // waits in libuv (`queued`); the channel is paused until it is written, as for 'drain'.
  const direct = handleWriterFor(to);
  let queued = false;
  let pausedForQueued = false;
  // The chunk of the direct write queued in libuv, until it completes.
  let queuedChunk: Uint8Array | undefined;
  const onDirectWritten = (err: Error | null): void => {
    const chunk = queuedChunk;
    queuedChunk = undefined;
    // libuv is done with its bytes: freed now if it was the packet's alone (see writeOut).
    if (!err && chunk !== undefined) releaseWritten(chunk);
    queued = false;
    if (!pausedForQueued) return;
    pausedForQueued = false;
    if (!err) resume();
  };
  // A chunk is the channel's data from the core, which keeps no reference to it, and this sink
  // is the channel's only consumer: once the local socket has the bytes (the kernel took them,
  // or the write completed), no one reads that memory again. Where the packet decoder marked it
  // as the packet's own memory (a node:crypto result), it is detached, which frees it at once
  // (array-buffer-release.ts, CLI only): a plaintext that waited for a slow reader would
  // otherwise wait in V8's old generation for a full collection, and glibc's heap grew with it.
  const writeOut = (chunk: Uint8Array): void => {
    const ab = releasableAfterWrite(chunk);
    if (ab === undefined) to.write(chunk);
    else to.write(chunk, (err) => err ?? detachWritten(ab));
  };
  const writeLone = (chunk: Uint8Array): void => {
    // One direct write at a time: `queuedChunk` names the chunk libuv still holds, which must not
    // be released before its own completion. (The channel is paused while one is queued, so a
    // second does not come here in the usual flow; if one ever does, Node's queue takes it,
    // behind the first in libuv.)
    if (direct !== undefined && queuedChunk === undefined) {
      queuedChunk = chunk;
      const r = direct(chunk, onDirectWritten);
      if (r === WRITE_DONE) {
        queuedChunk = undefined;
        releaseWritten(chunk);
        return;
      }
      if (r === WRITE_QUEUED) {
        queued = true;
        return;
      }
      queuedChunk = undefined;
    }
    writeOut(chunk);
  };
  const flush = () => {
    const chunk = held;
    held = undefined;
    if (chunk !== undefined) {
      if (!to.destroyed) writeLone(chunk);
    } else if (corked) {
      corked = false;
      to.uncork();
    }
  };
  const endTask = () => {
    scheduled = false;
    flush();
    // Backpressure once per batch, after it went out: bytes the kernel did not take wait in the
    // socket, so stop taking the channel's data (and granting its window) until they drain.
    // (While corked every large chunk "fills" the socket's buffer; that says nothing yet.)
    if (paused || to.destroyed) return;
    if (queued) {
      paused = true;
      pausedForQueued = true;
      from.pause();
    } else if (to.writableNeedDrain ?? to.writableLength >= to.writableHighWaterMark) {
      // Only once write() has said "full": Node emits 'drain' only then. Bytes queued below the
      // high-water mark that complete later emit nothing, and waiting for 'drain' there kept
      // the channel paused (and its window closed) for good; the socket holds at most the
      // high-water mark plus one task's batch, as with stream.pipe().
      paused = true;
      from.pause();
      to.once('drain', resume);
    }
  };
  // The one 'data' listener (it also counts), which the channel also calls directly while
  // nothing is queued in it (ChannelStream._setDataSink). The channel's chunks are its own
  // (ClientCore hands out buffers it does not reuse), so one may wait for the task's end.
  from._setDataSink((chunk: Uint8Array) => {
    counters.bytesIn += chunk.length;
    if (to.destroyed) return;
    if (!scheduled) {
      scheduled = true;
      held = chunk;
      // At the end of the SSH socket read that brought the chunk (all its packets handled), or
      // else of the task: a reaction on a settled promise, a microtask without
      // queueMicrotask's AsyncResource.
      if (!from._deferToReadEnd(endTask)) void TASK_END.then(endTask);
      return;
    }
    if (held !== undefined) {
      corked = true;
      to.cork();
      writeOut(held);
      held = undefined;
    }
    writeOut(chunk);
  });
  from.once('end', () => {
    flush();
    if (!to.destroyed) to.end();
  });
  return flush;
}

/** A TCP port as RFC 4254 §7.2 carries it: an integer 0..65535 (a string from the environment is refused, not guessed). */
function isPort(v: unknown, allowZero: boolean): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= (allowZero ? 0 : 1) && v <= 65535;
}

/** net.Server listen options for a TCP {@link ListenSpec}: loopback when no host is given. */
export function tcpListenOptions(l: { host?: string; port: number; ipv6Only?: boolean }): { host: string; port: number; ipv6Only: boolean } {
  return { host: l.host ?? '127.0.0.1', port: l.port, ipv6Only: l.ipv6Only === true };
}

/** Listen on `listen`: a Unix socket made private ({@link listenPrivate}), or TCP ({@link tcpListenOptions}). */
export function listenOn(server: Server, listen: ListenSpec, cb: () => void): void {
  if ('path' in listen) listenPrivate(server, listen.path, cb);
  else server.listen(tcpListenOptions(listen), cb);
}

/**
 * Listen on a Unix socket only its owner may use: ssh(1) binds forwarded Unix sockets under
 * StreamLocalBindMask, 0177 by default (ssh_config(5); channels.c), so the socket is 0600
 * whatever the umask, and no other local user can reach the server through the tunnel. The
 * bind is synchronous in `listen()`, so the umask is in force for it alone; where the umask
 * cannot be set (a worker thread), the mode is set right after the bind.
 */
export function listenPrivate(server: Server, path: string, cb: () => void): void {
  let old: number | undefined;
  try {
    old = process.umask(0o177);
  } catch {
    old = undefined;
  }
  try {
    server.listen(path, () => {
      try {
        chmodSync(path, 0o600);
      } catch {
        // Gone already (closed at once): nothing to protect.
      }
      cb();
    });
  } finally {
    if (old !== undefined) process.umask(old);
  }
}

/** A Unix socket path given to a forward: a non-empty string that fits sun_path (UsageError). */
function checkUnixPath(call: string, what: 'listen.path' | 'to.path', path: unknown): void {
  if (typeof path !== 'string' || path === '') throw new UsageError(`${call}: ${what} must be a non-empty string, got ${show(path)}`);
  if (unixPathTooLong(path)) throw new UsageError(`${call}: ${what} is ${PATH_MAX_SUN} bytes or longer (a Unix socket path must fit sun_path)`);
}

/**
 * Refuse a malformed forward at the call, never at the first connection nor in a malformed
 * packet (UsageError naming the call, the field and the value; a key the call does not take, as
 * connect() refuses one): forwardLocal()'s, forwardDynamic()'s (its `listen` only) or
 * forwardRemote()'s, whose `listen` is on the server (its `host` sent as is, `''` for all
 * addresses; its path the server's).
 */
export function checkForwardOptions(
  options: ForwardOptions | RemoteForwardOptions | { listen: ListenSpec },
  call: 'forwardLocal' | 'forwardRemote' | 'forwardDynamic' = 'forwardLocal',
): void {
  const remote = call === 'forwardRemote';
  const dynamic = call === 'forwardDynamic';
  const { listen, to } = (options ?? {}) as ForwardOptions;
  // As connect() does (option-check.ts): a misspelt key is a mistake, never silently ignored.
  checkCallKeys(call, options, remote ? { listen: 0, to: 0, permitOpen: 0 } : dynamic ? { listen: 0 } : { listen: 0, to: 0 }, '', NO_SIGNAL);
  checkSpecKeys(call, 'listen.', listen, remote ? { host: 0, port: 0 } : { host: 0, port: 0, ipv6Only: 0 }, remote ? {} : { keepFile: 0 });
  checkSpecKeys(call, 'to.', to, { host: 0, port: 0 });
  if (!listen || typeof listen !== 'object') throw new UsageError(`${call}: listen must be { host?, port } or { path }, got ${show(listen)}`);
  if ('path' in listen) {
    checkUnixPath(call, 'listen.path', listen.path);
  } else {
    if (listen.host !== undefined && typeof listen.host !== 'string') throw new UsageError(`${call}: listen.host must be a string, got ${show(listen.host)}`);
    if (!isPort(listen.port, true)) throw new UsageError(`${call}: listen.port must be an integer 0..65535, got ${show(listen.port)}`);
  }
  const permitOpen = (options as RemoteForwardOptions).permitOpen;
  if (remote && permitOpen !== undefined) {
    // ssh_config(5) PermitRemoteOpen limits only a SOCKS forward's destinations: with `to` it would be ignored.
    if (to !== undefined) throw new UsageError(`${call}: permitOpen applies only without \`to\` (reverse dynamic forwarding)`);
    if (!Array.isArray(permitOpen)) throw new UsageError(`${call}: permitOpen must be an array of { host, port }, got ${show(permitOpen)}`);
    for (const p of permitOpen as unknown[]) {
      const e = p as { host?: unknown; port?: unknown };
      if (!e || typeof e !== 'object' || typeof e.host !== 'string' || e.host === '' || !(e.port === '*' || isPort(e.port, false))) {
        throw new UsageError(`${call}: each permitOpen entry must be { host: non-empty string, port: 1..65535 or '*' }, got ${show(p)}`);
      }
    }
  }
  // forwardRemote() without `to`: reverse dynamic forwarding (a SOCKS server per channel).
  if (dynamic || (remote && to === undefined)) return;
  if (!to || typeof to !== 'object') throw new UsageError(`${call}: to must be { host, port } or { path }, got ${show(to)}`);
  if ('path' in to) {
    checkUnixPath(call, 'to.path', to.path);
  } else {
    if (typeof to.host !== 'string' || to.host === '') throw new UsageError(`${call}: to.host must be a non-empty string, got ${show(to.host)}`);
    if (!isPort(to.port, false)) throw new UsageError(`${call}: to.port must be an integer 1..65535, got ${show(to.port)}`);
  }
}

/** The keys of a `listen` or `to`: `{ path }` and those of `withPath`, or those of `hostPort`. */
function checkSpecKeys(call: string, what: string, spec: unknown, hostPort: Record<string, 0>, withPath: Record<string, 0> = {}): void {
  if (typeof spec !== 'object' || spec === null || !('path' in spec)) return checkCallKeys(call, spec, hostPort, what);
  const notWithPath = Object.fromEntries(Object.keys(hostPort).map((k) => [k, `cannot be given with ${what}path`]));
  checkCallKeys(call, spec, { path: 0, ...withPath }, what, notWithPath);
  const keepFile = (spec as { keepFile?: unknown }).keepFile;
  if (keepFile !== undefined && typeof keepFile !== 'boolean') throw new UsageError(`${call}: ${what}keepFile must be a boolean, got ${show(keepFile)}`);
}
