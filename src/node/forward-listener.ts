/**
 * What every local listener of a forward keeps (LocalForward for `-L`, DynamicForward for `-D`,
 * ReconnectingForward): its server, the sockets it accepted, its counters, and one `close()` that
 * stops listening, ends those sockets and removes its Unix socket file, as ssh(1) unlinks a
 * forwarding socket it created (channels.c). Node only.
 */
import { EventEmitter } from 'node:events';
import { unlinkSync } from 'node:fs';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { ForwardCounters, ListenSpec } from './forward.js';

/** A local listener of a forward. Emits 'close' once closed. */
export abstract class ForwardListener extends EventEmitter {
  readonly counters: ForwardCounters = { connections: 0, active: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
  /** The accepted sockets still open, ended by {@link close}. */
  protected readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;

  protected constructor(
    protected readonly server: Server,
    private readonly listen: ListenSpec,
  ) {
    super();
  }

  /** The bound address: `{ host, port }` for TCP (the chosen port when 0 was asked), `{ path }` for a Unix socket. */
  get address(): { host: string; port: number } | { path: string } {
    const a = this.server.address();
    if (typeof a === 'string') return { path: a };
    const info = a as AddressInfo;
    return { host: info.address, port: info.port };
  }

  /** @internal keep `sock` until it closes, so that {@link close} can end it. */
  _track(sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
  }

  /** Stop listening and end the connections it carries. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      if ('path' in this.listen) {
        try {
          unlinkSync(this.listen.path);
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
