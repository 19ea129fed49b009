/**
 * Remote port forwarding, `ssh -R` (ssh(1)): the server listens (RFC 4254 §7.1 tcpip-forward, or
 * OpenSSH's streamlocal-forward@openssh.com for a Unix socket) and opens a forwarded-tcpip /
 * forwarded-streamlocal channel per connection (RFC 4254 §7.2, OpenSSH PROTOCOL §2.4); each one is
 * connected here to the local target. As ssh does, the channel is confirmed only once the local
 * connect succeeded, and refused with reason 2 and the socket error otherwise. Without a target
 * (`ssh -R [bind_address:]port`), each channel is a SOCKS connection: forward-remote-socks.ts.
 */
import { EventEmitter } from 'node:events';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import type { ChannelOpenParams } from '../connection/channel-types.js';
import { ChannelOpenError, ChannelOpenFailureReason, ForwardRefusedError, UsageError } from '../errors.js';
import type { ChannelStream } from './channel-stream.js';
import { closeChannelAfterSocket, endSocketOnChannelClose, pipeFromChannel, type ForwardCounters, type TargetSpec } from './forward.js';
import { serveSocksOverChannel, type PermittedOpen } from './forward-remote-socks.js';
import { strerror } from './strerror.js';

/**
 * Where the server listens: `host` as sent in tcpip-forward (default `'localhost'`, loopback as
 * ssh asks; `''` all addresses, subject to sshd's GatewayPorts) and `port` (0: the server picks
 * one, see {@link RemoteForward.address}); or a Unix socket `path` on the server.
 */
export type RemoteListenSpec = { host?: string; port: number } | { path: string };

/**
 * Options of {@link SshClient.forwardRemote}: where the server listens, where connections go here.
 * Without `to`, reverse dynamic forwarding (`ssh -R port` alone): each connection to the server's
 * listener is a SOCKS4/4a/5 client, served here, and connected here to the host it asks for.
 */
export interface RemoteForwardOptions {
  listen: RemoteListenSpec;
  to?: TargetSpec;
  /**
   * Without `to` only: the SOCKS destinations allowed, as ssh_config(5) PermitRemoteOpen (host
   * compared exactly as the SOCKS request names it, `'*'` any host; port a number or `'*'`).
   * Omitted: any; `[]`: none. A refused one closes that channel (after the SOCKS "not allowed"
   * reply) and emits 'connection-error' with code `ERR_FORWARD_NOT_PERMITTED`.
   *
   * @example
   * ```ts
   * await ssh.forwardRemote({ listen: { port: 1080 }, permitOpen: [{ host: 'localhost', port: '*' }] });
   * ```
   */
  permitOpen?: readonly PermittedOpen[];
}

/** What the remote forwarder needs from the SSH connection (implemented by SshClient). */
export interface RemoteForwardHost {
  /** Send the forward request; resolves with its reply (RFC 4254 §4). */
  requestForward(listen: { host: string; port: number } | { path: string }): Promise<{ success: boolean; port: number }>;
  /** Send the cancel request; resolves when answered (or when the connection is gone). */
  cancelForward(listen: { host: string; port: number } | { path: string }): Promise<void>;
  /** Confirm the server's open; `remoteName`: ssh(1)'s name of the channel, for its close line (channels.c channel_free). */
  acceptChannel(channel: number, remoteName?: string): ChannelStream;
  /** The channel is made in ssh(1)'s terms, named `remoteName` (its `new` line was said). */
  nameChannel(channel: number, remoteName: string): void;
  /** Refuse the server's open; `remoteName`: a channel ssh(1) had made, whose `free` line it then says. */
  rejectChannel(channel: number, reason: number, description: string, remoteName?: string): void;
  /** A debug line: -v's (debug1) unless `level` says debug2 / debug3. */
  log(message: string, level?: 2 | 3): void;
}

/**
 * A running remote forward. `address` is where the server listens (the bound port for port 0).
 * Emits 'connection-error' (a ChannelOpenError, ERR_CHANNEL_OPEN_FAILED, reason 2, "connect_to
 * HOST:PORT: failed: ..." as ssh logs it) when a forwarded connection cannot reach the target, 'close'.
 * Without `to` (SOCKS), the channel was already confirmed, so its failures are SshErrors:
 * ERR_FORWARD_CONNECT_FAILED (the target unreachable), ERR_FORWARD_NOT_PERMITTED (not in
 * `permitOpen`), ERR_SOCKS_REQUEST (not a SOCKS CONNECT request).
 */
export class RemoteForward extends EventEmitter {
  readonly counters: ForwardCounters = { connections: 0, active: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;

  /** @internal use SshClient.forwardRemote. */
  constructor(
    private readonly host: RemoteForwardHost,
    readonly options: RemoteForwardOptions,
    /** Where the server listens: host as requested and the bound port, or the socket path. */
    readonly address: { host: string; port: number } | { path: string },
  ) {
    super();
  }

  /** @internal the server opened a channel for this forward. */
  _incoming(channel: number, open: ChannelOpenParams): void {
    this.counters.connections++;
    const to = this.options.to;
    // clientloop.c client_request_forwarded_tcpip / _streamlocal: what the server's open says.
    this.host.log(
      open.channelType === 'forwarded-tcpip'
        ? `client_request_forwarded_tcpip: listen ${open.params.address} port ${open.params.port}, originator ${open.params.originatorAddress} port ${open.params.originatorPort}`
        : `client_request_forwarded_streamlocal: request: ${open.params.socketPath}`,
    );
    // ssh(1) names the channel (its remote_name) by the originator's address, or
    // "forwarded-streamlocal" for a Unix socket listener (clientloop.c
    // channel_connect_by_listen_address / _path), in its `new` line and its `free` line at the end.
    const ctype = open.channelType;
    const rname = open.channelType === 'forwarded-tcpip' ? open.params.originatorAddress : 'forwarded-streamlocal';
    // The channel exists in ssh once its connect is under way (channels.c connect_to: after the
    // name lookup, or at once for an address; a Unix socket's connect succeeded), which
    // clientloop.c's `confirm CTYPE` follows; where it never came to be, `failure CTYPE`.
    let made = false;
    const make = () => {
      if (made) return;
      made = true;
      this.host.nameChannel(channel, rname);
      this.host.log(`channel ${channel}: new ${ctype} [${rname}] (inactive timeout: 0)`);
      this.host.log(`confirm ${ctype}`);
    };
    if (to === undefined) {
      // channels.c rdynamic_connect_prepare: confirmed at once, the SOCKS request comes over it.
      make();
      let ch: ChannelStream;
      try {
        ch = this.host.acceptChannel(channel, rname);
      } catch {
        return; // the connection went away
      }
      serveSocksOverChannel(ch, channel, {
        counters: this.counters,
        sockets: this.sockets,
        log: (m, level) => this.host.log(m, level),
        error: (e) => this.emit('connection-error', e),
        permitOpen: this.options.permitOpen,
      });
      return;
    }
    const sock = 'path' in to ? netConnect({ path: to.path, allowHalfOpen: true }) : netConnect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
    if (!('path' in to)) {
      if (isIP(to.host) !== 0) make();
      else sock.once('lookup', (err: Error | null) => err === null && make());
    }
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    const onConnectError = (err: NodeJS.ErrnoException) => {
      this.counters.failed++;
      // channels.c channel_post_connecting, for a channel made: its debug line first.
      if (made) this.host.log(`channel ${channel}: connection failed: ${describeConnectError(err)}`);
      // ssh's words (channels.c connect_to), forwardLocal's class for a refused open: the SSH connection is fine.
      this.emit('connection-error', new ChannelOpenError(channel, ChannelOpenFailureReason.CONNECT_FAILED, describeConnectError(err), { message: connectFailureLine(to, err), cause: err }));
      // clientloop.c: a channel never made is `failure CTYPE`.
      if (!made) this.host.log(`failure ${ctype}`);
      // OpenSSH channels.c: a failed connect answers OPEN_FAILURE, connect failed, strerror (and
      // frees a channel made: its `free` line).
      this.host.rejectChannel(channel, ChannelOpenFailureReason.CONNECT_FAILED, describeConnectError(err), made ? rname : undefined);
    };
    sock.once('error', onConnectError);
    sock.once('connect', () => {
      sock.off('error', onConnectError);
      make();
      // channels.c channel_post_connecting (a Unix socket's port is PORT_STREAMLOCAL).
      this.host.log(`channel ${channel}: connected to ${'path' in to ? `${to.path} port -2` : `${to.host} port ${to.port}`}`);
      let ch: ChannelStream;
      try {
        ch = this.host.acceptChannel(channel, rname);
      } catch {
        sock.destroy(); // the connection went away while we connected
        return;
      }
      this.counters.active++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.counters.active--;
      };
      sock.on('data', (d: Buffer) => (this.counters.bytesOut += d.length));
      // A read error (the target reset) is the socket's EOF, as ssh takes it (channels.c
      // channel_handle_rfd → chan_read_failed): settled on the 'close' that follows, which sends
      // what was read, then CHANNEL_EOF (closeChannelAfterSocket).
      sock.on('error', () => {});
      ch.on('error', () => {
        sock.destroy();
        finish();
      });
      // Half-closes propagate both ways (RFC 4254 §5.3 EOF ↔ TCP FIN).
      sock.pipe(ch);
      // As -L's: the writes of one task in one, and each plaintext freed once written (CLI).
      const flushToLocal = pipeFromChannel(ch, sock, this.counters);
      sock.on('close', (hadError) => {
        closeChannelAfterSocket(sock, ch, hadError, this.counters);
        finish();
      });
      endSocketOnChannelClose(ch, sock, flushToLocal, finish);
    });
  }

  /** Cancel the forward on the server (cancel-tcpip-forward) and end the connections it carries. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.sockets) s.destroy();
      await this.host.cancelForward(this.address);
      this.emit('close');
    })();
    return this.closing;
  }
}

/**
 * Ask the server to listen and forward. Rejects with {@link ForwardRefusedError} when the server
 * refuses (sshd: AllowTcpForwarding, PermitListen, a port in use or privileged).
 */
export async function startRemoteForward(
  host: RemoteForwardHost,
  options: RemoteForwardOptions,
  register: (fwd: RemoteForward) => void,
): Promise<RemoteForward> {
  const listen = options.listen;
  if (!('path' in listen) && (!Number.isInteger(listen.port) || listen.port < 0 || listen.port > 65535)) {
    throw new UsageError(`invalid port ${listen.port}`);
  }
  const request: { host: string; port: number } | { path: string } =
    'path' in listen ? { path: listen.path } : { host: listen.host ?? 'localhost', port: listen.port };
  const reply = await host.requestForward(request);
  if (!reply.success) throw new ForwardRefusedError(listen);
  const address = 'path' in request ? request : { host: request.host, port: reply.port };
  const fwd = new RemoteForward(host, options, address);
  register(fwd);
  return fwd;
}

/** strerror(3) wording for the usual connect errors, as OpenSSH sends them in OPEN_FAILURE. */
function describeConnectError(err: NodeJS.ErrnoException): string {
  // getaddrinfo's failures are gai_strerror(3)'s, not errno's.
  if (err.code === 'ENOTFOUND') return 'Name or service not known';
  if (err.code === 'EAI_AGAIN') return 'Temporary failure in name resolution';
  return strerror(err);
}

/**
 * ssh 9.2's error line for a forwarded connection whose local target cannot be reached
 * (channels.c): a name getaddrinfo cannot resolve is connect_to_helper's `connect_to NAME:
 * unknown host (GAI TEXT)`; a TCP connect that fails is channel_post_connecting's `connect_to
 * HOST port N: failed.` (the reason goes to the server only); a Unix socket, whose connect fails at
 * once, is connect_to_helper's `connect to PATH port -2 failed: STRERROR`.
 */
function connectFailureLine(to: TargetSpec, err: NodeJS.ErrnoException): string {
  if ('path' in to) return `connect to ${to.path} port -2 failed: ${strerror(err)}`;
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `connect_to ${to.host}: unknown host (${describeConnectError(err)})`;
  return `connect_to ${to.host} port ${to.port}: failed.`;
}
