/**
 * Dynamic port forwarding, `ssh -D` (ssh(1)): a local SOCKS4/4a/5 listener (the handshake is
 * src/connection/socks.ts) whose every CONNECT becomes a direct-tcpip channel (RFC 4254 §7.2).
 * Host names are passed to the server unresolved, as ssh does. As in ssh (channels.c keeps its
 * reply in the channel's output until the open is confirmed), the SOCKS reply waits for the
 * server's answer. Unlike ssh, which then just closes, a refused channel reaches the SOCKS client
 * as RFC 1928 §6's failure reply with its reason (SOCKS5 0x02 / 0x05 / 0x01, SOCKS4 91).
 */
import { bindStrerror } from './strerror.js';
import { createServer, type Server, type Socket } from 'node:net';
import { socks5ReplyForOpenFailure, SocksHandshake, socksRefusalLine, type SocksConnectRequest } from '../connection/socks.js';
import { ChannelOpenError, SshError } from '../errors.js';
import { closeChannelAfterSocket, endSocketOnChannelClose, forwardedRemoteName, listeningPort, listenOn, pipeFromChannel, type ForwardHost, type ListenSpec } from './forward.js';
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
    // channels.c channel_post_port_listener: a dynamic listener's "path" is `socks`, its port 0.
    const lport = listeningPort(options.listen, server);
    host.log(`Connection to port ${lport} forwarding to socks port 0 requested.`);
    // channel_post_port_listener makes the channel at once (channel_new), its target read later
    // (channel_pre_dynamic); one whose client goes or speaks no SOCKS is freed unopened.
    const channel = host.holdChannel('dynamic-tcpip');
    let held = true;
    const unopened = () => {
      if (held) host.releaseChannel(channel, 'dynamic-tcpip');
      held = false;
    };
    sock.on('error', () => sock.destroy());
    sock.once('close', unopened);
    const h = new SocksHandshake();
    // The client's EOF before its request is complete: nothing will complete it, so the
    // connection is closed, as ssh(1) closes a dynamic channel whose socket reads EOF (or fails)
    // before it is open (channels.c channel_handle_rfd: not open → chan_mark_dead). Without this
    // the half-closed socket stayed open for the forward's life.
    const onEarlyEnd = () => {
      sock.off('data', onData);
      sock.end();
      unopened();
    };
    const onData = (d: Buffer) => {
      h.receive(d);
      for (const out of h.takeOutput()) sock.write(out);
      const st = h.state;
      if (st.kind === 'failed') {
        sock.off('data', onData);
        sock.off('end', onEarlyEnd);
        host.log(...socksRefusalLine(channel, st));
        fwd.counters.failed++;
        sock.end();
        unopened();
      } else if (st.kind === 'request') {
        sock.off('data', onData);
        sock.off('end', onEarlyEnd);
        held = false;
        fwd.emit('request', st.request);
        connectThrough(host, fwd, sock, h, st.request, lport, 'path' in options.listen ? options.listen.path : undefined, channel);
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
        new SshError('ERR_FORWARD_BIND', `bind ${where}: ${bindStrerror(err, 'path' in l ? l.path : undefined)} (could not request dynamic forwarding)`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    const listening = () => {
      server.off('error', onError);
      resolve();
    };
    // A Unix socket is made 0600, as for -L (channels.c: StreamLocalBindMask 0177).
    listenOn(server, l, listening);
  });
  server.on('error', (err) => host.log(`dynamic forward listener error: ${err.message}`));
  return fwd;
}

/**
 * Bytes read from a SOCKS client while its channel opens, past which its socket is paused and
 * the kernel keeps the rest: about what ssh(1) holds then, the rest of the read that brought the
 * request (channels.c reads at most CHAN_RBUF, 16 KiB, at a time).
 */
const EARLY_MAX = 16 * 1024;

/** How a SOCKS client's socket went while its channel was opening. */
type LeftEarly = 'no' | 'ended' | 'destroyed';

function connectThrough(
  host: ForwardHost,
  fwd: DynamicForward<ListenSpec>,
  sock: Socket,
  h: SocksHandshake,
  req: SocksConnectRequest,
  lport: number,
  listenPath: string | undefined,
  channel: number,
): void {
  // What the client sends after its request is kept until the channel is open. ssh(1) reads
  // nothing then (channels.c: no handler for SSH_CHANNEL_OPENING): the kernel keeps the bytes, and
  // a reset that follows them only shows once ssh reads them. Node's pause() would not do: the
  // socket reads on into its Readable's buffer, and a reset seen there discards those bytes with
  // the socket. So they are read here and kept, the socket paused past EARLY_MAX.
  const first = h.state.kind === 'request' ? h.state.rest : new Uint8Array(0);
  const early: Uint8Array[] = first.length > 0 ? [first] : [];
  let earlyBytes = first.length;
  const keep = (d: Buffer) => {
    early.push(d);
    earlyBytes += d.length;
    if (earlyBytes > EARLY_MAX) sock.pause();
  };
  sock.on('data', keep);
  // The channel held at accept, named as a direct-tcpip one once the request is read (channels.c
  // port_open_helper).
  const name = { ctype: 'dynamic-tcpip', remoteName: forwardedRemoteName('direct-tcpip', lport, req.host, req.port, sock, listenPath), channel };
  const ch = host.directTcpip({ host: req.host, port: req.port, originatorAddress: sock.remoteAddress ?? '127.0.0.1', originatorPort: sock.remotePort ?? 0 }, name);
  // channels.c channel_decode_socks4/5: debug2, with the request's command (CONNECT, 1).
  host.log(`channel ${ch.channel}: dynamic request: socks${req.version} host ${req.host} port ${req.port} command 1`, 2);
  let opened = false;
  let done = false;
  let left: LeftEarly = 'no';
  let flushToLocal = (): void => {};
  const finish = () => {
    if (done || !opened) return;
    done = true;
    fwd.counters.active--;
  };
  ch.once('open', () => {
    opened = true;
    fwd.counters.active++;
    sock.off('data', keep);
    for (const d of early) ch.write(d);
    fwd.counters.bytesOut += earlyBytes;
    if (left !== 'no') {
      // The client left while the channel opened: after its EOF or a reset (a read error is an
      // EOF to ssh: channel_handle_rfd → chan_read_failed) what it sent goes out, then
      // CHANNEL_EOF; a socket we destroyed takes its channel along.
      if (left === 'ended') ch._closeWhenSent();
      else ch.destroy();
      return;
    }
    // The kernel may hold bytes not read yet, and a reset behind them (always so for a paused
    // socket): the reply waits (corked) for the loop's next read of the socket, as a write into
    // a reset socket fails at once and destroys it with those bytes. ssh reads before it writes
    // (channels.c channel_post_open: the read handler, then the write handler).
    sock.cork();
    sock.write(h.success());
    sock.on('data', (d: Buffer) => (fwd.counters.bytesOut += d.length));
    // Its EOF may have come while the channel opened (a half-closed client waiting for the reply).
    if (sock.readableEnded) ch.end();
    else sock.pipe(ch);
    // As -L's: the writes of one task in one, and each plaintext freed once written (CLI).
    flushToLocal = pipeFromChannel(ch, sock, fwd.counters);
    sock.resume();
    // Not in this turn's check phase, which may follow the very poll that brought the
    // confirmation: in the next one, after a poll has read the socket.
    setImmediate(() => setImmediate(() => sock.uncork()));
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
    // A paused socket reads on up to its Readable's mark, and a reset seen then leaves those
    // bytes in the Readable: read() still hands them over.
    const unread: Buffer[] = [];
    for (let d: unknown; (d = sock.read()) !== null; ) unread.push(d as Buffer);
    if (!opened) {
      // Settled once the channel is open (or refused): see the 'open' handler.
      early.push(...unread);
      for (const d of unread) earlyBytes += d.length;
      left = hadError || sock.readableEnded ? 'ended' : 'destroyed';
      return;
    }
    // ssh(1) treats a read error (a reset) as the EOF: what was read still goes out, then
    // CHANNEL_EOF (channels.c channel_handle_rfd → chan_read_failed); so does a clean close after
    // the EOF (closeChannelAfterSocket). A socket we destroyed takes its channel along.
    if (hadError) {
      if (!ch.destroyed) {
        for (const d of unread) {
          fwd.counters.bytesOut += d.length;
          ch.write(d);
        }
        ch._closeWhenSent();
      }
    } else closeChannelAfterSocket(sock, ch, false);
    finish();
  });
  // flushToLocal is set once the channel opens: read at the close.
  endSocketOnChannelClose(ch, sock, () => flushToLocal(), finish);
}
