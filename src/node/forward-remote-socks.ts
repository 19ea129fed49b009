/**
 * Reverse dynamic forwarding, `ssh -R [bind_address:]port` without a target (ssh(1), OpenSSH
 * 7.6+): the server listens as for any -R, and on each forwarded-tcpip channel it opens the client
 * is the SOCKS4/4a/5 server, speaking it over the channel (the handshake is
 * src/connection/socks.ts, shared with -D): it reads the request from the channel's data, connects
 * here to the host and port asked for (names resolved here), answers, then relays.
 *
 * As OpenSSH does (channels.c rdynamic_connect_prepare): the channel is confirmed at once, before
 * any SOCKS byte, since the request only comes over the open channel; a channel whose data is
 * not SOCKS4 or SOCKS5, or whose EOF comes before a complete request, is closed
 * (channel_before_prepare_io_rdynamic → rdynamic_close: EOF, then CLOSE). The success reply goes
 * out once the local connect succeeded (channel_post_connecting). A failed connect closes the
 * channel as ssh does (`connect_to HOST port PORT: failed.`, then EOF and CLOSE) but, as pure-ssh's
 * -D does, first sends RFC 1928 §6's failure reply (SOCKS5 0x05 connection refused, 0x04 host
 * unreachable for a name that does not resolve or an unreachable host, 0x03 network unreachable,
 * 0x01 otherwise; SOCKS4 91), where ssh drops its queued reply (channel_force_close): the SOCKS
 * client can tell "refused" from "proxy went away". The connection is unaffected.
 *
 * PermitRemoteOpen (ssh_config(5); `permitOpen` here) limits the destinations: as in channels.c
 * rdynamic_connect_finish, one not listed is refused before any connect, with ssh's -v line
 * (`rdynamic_connect_finish: requested forward not permitted`) and the channel closed; pure-ssh
 * first sends RFC 1928's "connection not allowed by ruleset" (0x02; SOCKS4 91).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Socks5Reply, SocksHandshake, socksRefusalLine } from '../connection/socks.js';
import { SshError } from '../errors.js';
import type { ChannelStream } from './channel-stream.js';
import { closeChannelAfterSocket, endSocketOnChannelClose, pipeFromChannel, type ForwardCounters } from './forward.js';
import { strerror } from './strerror.js';

/** What a SOCKS-serving channel reports back to its {@link RemoteForward}. */
export interface RemoteSocksContext {
  counters: ForwardCounters;
  /** Sockets to end when the forward closes. */
  sockets: Set<Socket>;
  /** A debug line: -v's (debug1) unless `level` says debug2. */
  log(message: string, level?: 2): void;
  /** A request that failed (malformed, not permitted, or its target could not be reached). */
  error(err: SshError): void;
  /** PermitRemoteOpen: the destinations allowed; undefined = any, `[]` = none. */
  permitOpen?: readonly PermittedOpen[];
}

/**
 * One PermitRemoteOpen destination: `host` as the SOCKS request names it (compared exactly, case
 * included, as channels.c open_match's strcmp; `'*'` any host), `port` a number or `'*'` any.
 */
export interface PermittedOpen {
  host: string;
  port: number | '*';
}

/** channels.c open_match over the admin list: is host:port one of `permitted`? */
export function openPermitted(permitted: readonly PermittedOpen[] | undefined, host: string, port: number): boolean {
  if (permitted === undefined) return true;
  return permitted.some((p) => (p.port === '*' || p.port === port) && (p.host === '*' || p.host === host));
}

/** The RFC 1928 §6 reply for a failed connect(2) / getaddrinfo(3). */
function socks5ReplyForConnectError(err: NodeJS.ErrnoException): number {
  switch (err.code) {
    case 'ECONNREFUSED':
      return Socks5Reply.CONNECTION_REFUSED;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
      return Socks5Reply.HOST_UNREACHABLE;
    case 'ENETUNREACH':
      return Socks5Reply.NETWORK_UNREACHABLE;
    default:
      return Socks5Reply.GENERAL_FAILURE;
  }
}

/**
 * Serve SOCKS on an accepted forwarded-tcpip channel `ch` (channel number `id`, for the log):
 * read the request, connect, reply, relay.
 */
export function serveSocksOverChannel(ch: ChannelStream, id: number, ctx: RemoteSocksContext): void {
  const h = new SocksHandshake();
  const counters = ctx.counters;
  counters.active++;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    counters.active--;
  };
  ch.on('close', finish);
  ch.on('error', () => {});
  const onData = (d: Uint8Array) => {
    counters.bytesIn += d.length;
    h.receive(d);
    for (const out of h.takeOutput()) ch.write(out);
    const st = h.state;
    if (st.kind === 'failed') {
      stop();
      counters.failed++;
      ctx.log(...socksRefusalLine(id, st));
      ctx.error(new SshError('ERR_SOCKS_REQUEST', `channel ${id}: ${st.message}`));
      ch._closeWhenSent();
    } else if (st.kind === 'request') {
      stop();
      connectFor(ch, id, h, st.request.host, st.request.port, st.request.version, st.rest, ctx);
    }
  };
  // EOF before a complete request: nothing will complete it (channels.c: CHAN_EOF_RCVD → close).
  const onEnd = () => {
    stop();
    ch._closeWhenSent();
  };
  const stop = () => {
    ch.off('data', onData);
    ch.off('end', onEnd);
  };
  ch.on('data', onData);
  ch.once('end', onEnd);
}

function connectFor(
  ch: ChannelStream,
  id: number,
  h: SocksHandshake,
  host: string,
  port: number,
  version: string,
  rest: Uint8Array,
  ctx: RemoteSocksContext,
): void {
  const counters = ctx.counters;
  // channels.c channel_decode_socks4/5 (debug2), then connect_to_helper.
  ctx.log(`channel ${id}: dynamic request: socks${version} host ${host} port ${port}`, 2);
  if (!openPermitted(ctx.permitOpen, host, port)) {
    counters.failed++;
    // channels.c rdynamic_connect_finish: debug_f, then rdynamic_close.
    ctx.log('rdynamic_connect_finish: requested forward not permitted');
    ctx.error(new SshError('ERR_FORWARD_NOT_PERMITTED', `channel ${id}: connect to ${host} port ${port} not permitted by PermitRemoteOpen`));
    if (!ch.destroyed) {
      ch.write(h.failure(Socks5Reply.NOT_ALLOWED_BY_RULESET));
      ch._closeWhenSent();
    }
    return;
  }
  // The server's data after the request waits until the target is connected (ssh keeps it in the
  // channel's output buffer until then); its EOF too.
  ch.pause();
  const sock = netConnect({ host, port, allowHalfOpen: true, noDelay: true });
  ctx.sockets.add(sock);
  sock.once('close', () => ctx.sockets.delete(sock));
  const onConnectError = (err: NodeJS.ErrnoException) => {
    counters.failed++;
    // channels.c channel_post_connecting: error("connect_to %.100s port %d: failed.").
    const e = new SshError('ERR_FORWARD_CONNECT_FAILED', `connect_to ${host} port ${port}: failed.`, { cause: err });
    // channels.c channel_post_connecting: debug "connection failed", then the error line.
    ctx.log(`channel ${id}: connection failed: ${err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'Name or service not known' : strerror(err)}`);
    ctx.error(e);
    if (!ch.destroyed) {
      ch.write(h.failure(socks5ReplyForConnectError(err)));
      ch._closeWhenSent();
    }
  };
  sock.once('error', onConnectError);
  ch.once('close', () => {
    if (!sock.destroyed && sock.connecting) sock.destroy();
  });
  sock.once('connect', () => {
    sock.off('error', onConnectError);
    if (ch.destroyed) {
      sock.destroy();
      return;
    }
    // channels.c channel_post_connecting (debug1).
    ctx.log(`channel ${id}: connected to ${host} port ${port}`);
    ch.write(h.success());
    if (rest.length > 0) {
      counters.bytesIn += rest.length;
      sock.write(rest);
    }
    sock.on('data', (d: Buffer) => (counters.bytesOut += d.length));
    // A read error (the target reset) is the socket's EOF, as ssh takes it: see forward-remote.ts.
    sock.on('error', () => {});
    ch.on('error', () => sock.destroy());
    sock.pipe(ch);
    const flushToLocal = pipeFromChannel(ch, sock, counters);
    ch.resume();
    sock.on('close', (hadError) => closeChannelAfterSocket(sock, ch, hadError, counters));
    endSocketOnChannelClose(ch, sock, flushToLocal);
  });
}
