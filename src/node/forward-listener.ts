/**
 * What every local listener of a forward keeps (LocalForward for `-L`, DynamicForward for `-D`,
 * ReconnectingForward): its server, the sockets it accepted, its counters, and one `close()` that
 * stops listening and ends those sockets. A Unix socket file is removed then, as Node removes the
 * socket of a server it closes, unless the listen spec says `keepFile` (the CLI): ssh(1) never
 * unlinks a forwarding socket it created (channels.c channel_setup_fwd_listener_streamlocal binds
 * it, channel_free only closes it), so the file stays after ssh exits, however it ends. Node only.
 */
import { EventEmitter } from 'node:events';
import { renameSync, unlinkSync } from 'node:fs';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { ForwardCounters, ListenSpec } from './forward.js';

/** A local listener of a forward. Emits 'close' once closed. */
export abstract class ForwardListener extends EventEmitter {
  readonly counters: ForwardCounters = { connections: 0, active: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
  /** The accepted sockets still open, ended by {@link close}. */
  protected readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;
  /** The address once bound, kept for {@link address} after the listener closed. */
  private bound: { host: string; port: number } | { path: string } | undefined;

  protected constructor(
    protected readonly server: Server,
    private readonly listen: ListenSpec,
  ) {
    super();
    server.once('listening', () => (this.bound = describeAddress(server.address())));
  }

  /**
   * The bound address: `{ host, port }` for TCP (the chosen port when 0 was asked), `{ path }`
   * for a Unix socket. Once the forward is closed (by `close()` or with its connection), the
   * address it had.
   */
  get address(): { host: string; port: number } | { path: string } {
    return describeAddress(this.server.address()) ?? this.bound ?? ('path' in this.listen ? { path: this.listen.path } : { host: this.listen.host ?? '127.0.0.1', port: this.listen.port });
  }

  /** @internal keep `sock` until it closes, so that {@link close} can end it. */
  _track(sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
  }

  /**
   * Stop listening and end the connections it carries: those still open both ways are reset
   * (see {@link resetSocket}), since what they were sent is cut short (the SSH connection was
   * lost, or the caller closes the forward); those already ended (the server's EOF came) are
   * closed.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const listen = this.listen;
      if ('path' in listen && listen.keepFile === true) closeKeepingFile(this.server, listen.path, resolve);
      else this.server.close(() => resolve());
      for (const s of this.sockets) resetSocket(s);
      if ('path' in listen && listen.keepFile !== true) {
        try {
          unlinkSync(listen.path);
        } catch {
          // already gone
        }
      }
    }).then(() => {
      this.emit('close');
    });
    return this.closing;
  }
}

/**
 * Closes `server`, listening at the Unix socket `path`, and leaves whatever file is at `path` as
 * it was: libuv unlinks a listening pipe's path as it closes the handle (uv__pipe_close), which
 * ssh(1) never does. The file is renamed aside for the synchronous close and renamed back, so the
 * socket file stays (nobody listening on it, as after ssh), and so does one another process put
 * there since the bind. Where the rename cannot be made (the path or its directory gone), the
 * server is closed as it is.
 */
function closeKeepingFile(server: Server, path: string, closed: () => void): void {
  const aside = `${path}.${process.pid}.closing`;
  let moved = false;
  try {
    renameSync(path, aside);
    moved = true;
  } catch {
    // nothing there to keep
  }
  try {
    server.close(() => closed());
  } finally {
    if (moved) {
      try {
        renameSync(aside, path);
      } catch {
        // its directory went away meanwhile
      }
    }
  }
}

function describeAddress(a: AddressInfo | string | null): { host: string; port: number } | { path: string } | undefined {
  if (a === null) return undefined;
  return typeof a === 'string' ? { path: a } : { host: a.address, port: a.port };
}

/**
 * Ends a forwarded local connection whose stream was cut (its SSH connection lost, its channel
 * gone without the server's EOF): a TCP reset (SO_LINGER 0, RFC 793 RST), so the local client
 * gets ECONNRESET and cannot take a truncated stream for a whole one, as a FIN would let it.
 * ssh(1) itself exits on a lost connection and the kernel closes its sockets (a FIN, unless data
 * was left unread); the library does not pretend the stream was complete. A Unix socket has no
 * reset: it is closed.
 */
export function resetSocket(sock: Socket): void {
  if (sock.destroyed) return;
  // Already ended (the server's EOF came, the stream is whole): closed. libuv refuses a reset
  // while the shutdown is pending (uv_tcp_close_reset: EINVAL), and Node would keep the handle.
  if (sock.writableEnded) {
    sock.destroy();
    return;
  }
  try {
    // Throws ERR_INVALID_HANDLE_TYPE for a Unix socket's handle (no reset exists there).
    sock.resetAndDestroy();
  } catch {
    sock.destroy();
  }
}
