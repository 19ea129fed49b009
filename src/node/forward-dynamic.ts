/**
 * Dynamic port forwarding, `ssh -D` (ssh(1)): a local SOCKS4/4a/5 listener (the handshake is
 * src/connection/socks.ts) whose every CONNECT becomes a direct-tcpip channel (RFC 4254 §7.2).
 * Host names are passed to the server unresolved, as ssh does. As in ssh (channels.c keeps its
 * reply in the channel's output until the open is confirmed), the SOCKS reply waits for the
 * server's answer. Unlike ssh, which then just closes, a refused channel reaches the SOCKS client
 * as RFC 1928 §6's failure reply with its reason (SOCKS5 0x02 / 0x05 / 0x01, SOCKS4 91).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { socks5ReplyForOpenFailure, SocksHandshake, type SocksConnectRequest } from '../connection/socks.js';
import { ChannelOpenError, SshError } from '../errors.js';
import { closeChannelAfterSocket, listenPrivate, pipeFromChannel, type ForwardHost, type ListenSpec } from './forward.js';
import { ForwardListener } from './forward-listener.js';

/**
 * Options of {@link SshClient.forwardDynamic}: where the SOCKS listener binds (loopback by
 * default), or a local Unix socket path (ssh -D /path, channels.c streamlocal listener).
 */
export interface DynamicForwardOptions<L extends ListenSpec = ListenSpec> {
  listen: L;
}

/**
 * A running SOCKS listener. Emits 'request' (SocksConnectRequest) per CONNECT,
 * 'connection-error' (SshError) when a request fails, and 'close'.
 */
export class DynamicForward<L extends ListenSpec = { host?: string; port: number }> extends ForwardListener {
  constructor(
    server: Server,
    readonly options: DynamicForwardOptions<L>,
  ) {
    super(server, options.listen);
  }

  /** The bound address: the chosen port when 0 was asked, or the socket's path. */
  override get address(): L extends { path: string } ? { path: string } : { host: string; port: number } {
    return super.address as L extends { path: string } ? { path: string } : { host: string; port: number };
  }
}

/** Start the SOCKS listener. Rejects (ERR_FORWARD_BIND) if the address cannot be bound. */
export async function startDynamicForward<L extends ListenSpec>(host: ForwardHost, options: DynamicForwardOptions<L>): Promise<DynamicForward<L>> {
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const fwd = new DynamicForward(server, options);
  server.on('connection', (sock) => {
    fwd._track(sock);
    fwd.counters.connections++;
    sock.on('error', () => sock.destroy());
    const h = new SocksHandshake();
    // The client's EOF before its request is complete: nothing will complete it, so the
    // connection is closed, as ssh(1) closes a dynamic channel whose socket reads EOF (or fails)
    // before it is open (channels.c channel_handle_rfd: not open → chan_mark_dead). Without this
    // the half-closed socket stayed open for the forward's life.
    const onEarlyEnd = () => {
      sock.off('data', onData);
      sock.end();
    };
    const onData = (d: Buffer) => {
      h.receive(d);
      for (const out of h.takeOutput()) sock.write(out);
      const st = h.state;
      if (st.kind === 'failed') {
        sock.off('data', onData);
        sock.off('end', onEarlyEnd);
        host.log(`channel_decode_socks: ${st.message}`);
        fwd.counters.failed++;
        sock.end();
      } else if (st.kind === 'request') {
        sock.off('data', onData);
        sock.off('end', onEarlyEnd);
        fwd.emit('request', st.request);
        connectThrough(host, fwd, sock, h, st.request);
      }
    };
    sock.on('data', onData);
    sock.once('end', onEarlyEnd);
  });
  await new Promise<void>((resolve, reject) => {
    const l = options.listen;
    const where = 'path' in l ? l.path : `${l.host ?? '127.0.0.1'}:${l.port}`;
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new SshError('ERR_FORWARD_BIND', `bind ${where}: ${err.code === 'EADDRINUSE' ? 'Address already in use' : err.message} (could not request dynamic forwarding)`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    const listening = () => {
      server.off('error', onError);
      resolve();
    };
    // A Unix socket is made 0600, as for -L (channels.c: StreamLocalBindMask 0177).
    if ('path' in l) listenPrivate(server, l.path, listening);
    else server.listen({ host: l.host ?? '127.0.0.1', port: l.port }, listening);
  });
  server.on('error', (err) => host.log(`dynamic forward listener error: ${err.message}`));
  return fwd;
}

function connectThrough(host: ForwardHost, fwd: DynamicForward<ListenSpec>, sock: Socket, h: SocksHandshake, req: SocksConnectRequest): void {
  // Hold what the client sent after its request until the channel is open.
  sock.pause();
  const rest: Buffer[] = [];
  const early = (d: Buffer) => rest.push(d);
  sock.on('data', early);
  const ch = host.directTcpip({ host: req.host, port: req.port, originatorAddress: sock.remoteAddress ?? '127.0.0.1', originatorPort: sock.remotePort ?? 0 });
  host.log(`channel ${ch.channel}: dynamic request: socks${req.version} host ${req.host} port ${req.port}`);
  let opened = false;
  let done = false;
  let flushToLocal = (): void => {};
  const finish = () => {
    if (done) return;
    done = true;
    if (opened) fwd.counters.active--;
  };
  ch.once('open', () => {
    opened = true;
    fwd.counters.active++;
    if (sock.destroyed) return void ch.destroy();
    sock.write(h.success());
    sock.off('data', early);
    const first = h.state.kind === 'request' ? h.state.rest : new Uint8Array(0);
    if (first.length > 0) ch.write(first);
    for (const d of rest) ch.write(d);
    sock.on('data', (d: Buffer) => (fwd.counters.bytesOut += d.length));
    sock.pipe(ch);
    // As -L's: the writes of one task in one, and each plaintext freed once written (CLI).
    flushToLocal = pipeFromChannel(ch, sock, fwd.counters);
    sock.resume();
  });
  ch.on('error', (err: Error) => {
    if (!opened) {
      fwd.counters.failed++;
      const reason = err instanceof ChannelOpenError ? err.reason : undefined;
      if (!sock.destroyed) sock.end(h.failure(socks5ReplyForOpenFailure(reason)));
      fwd.emit('connection-error', err instanceof SshError ? err : new SshError('ERR_CONNECTION_LOST', err.message, { cause: err }));
    } else {
      sock.destroy();
    }
    finish();
  });
  sock.on('close', (hadError) => {
    closeChannelAfterSocket(sock, ch, hadError);
    finish();
  });
  ch.on('close', () => {
    if (!sock.destroyed) {
      flushToLocal();
      sock.end();
    }
    finish();
  });
}
