/**
 * Jump hosts, ssh(1) -J / ssh_config(5) ProxyJump: each hop is an SSH connection carried
 * inside a direct-tcpip channel (RFC 4254 §7.2) of the connection to the hop before it. Every
 * hop checks its own host key (known_hosts under the hop's own name and port) and
 * authenticates on its own. ssh(1) builds the same chain with `ssh -W` subprocesses; here it
 * is one process, one SshClient per hop.
 */
import { parseJumpSpec } from '../config/jump-spec.js';
import { ConnectionLostError, SshError, UsageError } from '../errors.js';
import type { ChannelStream } from './channel-stream.js';
import { connect, type ConnectOptions, type SshClient } from './client.js';
import { callbackFailed } from '../user-callback.js';

/**
 * One jump host. `host` is what the previous hop (or this machine, for the first) connects to.
 * Fields not given are taken from the final connection's options: `username`, `privateKey`,
 * `identityFiles`, `passphrase`, `askPassword`, `knownHosts`, `strictHostKeyChecking`,
 * `verifyHostKey`, `crypto`, `connectTimeout`, `bannerTimeout`, `connectionAttempts` (used by the first
 * hop alone, the one connect() opens a socket for), `keepaliveInterval`, `keepaliveCountMax`.
 * A `password` or `algorithms` of the final host are never sent to a hop: give them per hop.
 */
export type JumpHost = Omit<ConnectOptions, 'jump' | 'sock' | 'signal' | 'debug' | 'username'> & { username?: string };

/** The options a hop inherits from the final connection when it does not set them. */
const INHERITED = [
  'username',
  'privateKey',
  'identityFiles',
  'passphrase',
  'askPassword',
  'knownHosts',
  'strictHostKeyChecking',
  'verifyHostKey',
  'crypto',
  'connectTimeout',
  'bannerTimeout',
  'connectionAttempts',
  'keepaliveInterval',
  'keepaliveCountMax',
] as const;

/** The hops of `options.jump` as full connect options, first hop first. */
export function jumpHostsOf(options: ConnectOptions): ConnectOptions[] {
  const jump = options.jump;
  if (jump === undefined) return [];
  let hops: JumpHost[];
  if (typeof jump === 'string') {
    const parsed = parseJumpSpec(jump);
    if (parsed === null) throw new UsageError(`jump: invalid ProxyJump list "${jump}" (expected [user@]host[:port][,...])`);
    if (parsed === 'none') return [];
    hops = parsed.map((h) => ({ host: h.host, port: h.port, username: h.user }));
  } else if (Array.isArray(jump)) {
    hops = jump;
  } else {
    throw new UsageError(`jump must be a ProxyJump string or an array of jump hosts, got ${describeValue(jump)}`);
  }
  return hops.map((hop, i) => {
    if (typeof hop !== 'object' || hop === null) throw new UsageError(`jump[${i}] must be an object with a host, got ${describeValue(hop)}`);
    // A hop's own route is the chain's: a `jump` or `sock` on it would be dropped (connectThroughJumps
    // passes the previous hop's channel), so they are refused rather than silently ignored.
    for (const k of ['jump', 'sock'] as const) {
      if ((hop as Record<string, unknown>)[k] !== undefined) {
        throw new UsageError(`jump[${i}] (${String(hop.host)}): the ${k} option is not allowed on a jump host; list every hop, first hop first, in the final connection's jump`);
      }
    }
    // connectThroughJumps gives every hop the final connection's: a hop's own would be dropped.
    for (const k of ['signal', 'debug'] as const) {
      if ((hop as Record<string, unknown>)[k] !== undefined) {
        throw new UsageError(`jump[${i}] (${String(hop.host)}): the ${k} option is not allowed on a jump host; the final connection's ${k} covers every hop`);
      }
    }
    const full: Record<string, unknown> = { ...hop };
    for (const k of INHERITED) if (full[k] === undefined) full[k] = options[k];
    if (!full.host) throw new UsageError('jump: every jump host needs a host');
    return full as unknown as ConnectOptions;
  });
}

/** A value as an error message shows it: strings quoted, arrays and objects by kind. */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

/**
 * Runs `check` (connect()'s own checks of its options) on every hop before any socket is opened,
 * so that a bad option of a later hop is not found only once the hops before it are connected
 * (a bad port would be sent in the previous hop's direct-tcpip request first). The UsageError
 * names the hop by its index in `jump` and its host: `jump[1] (inner): port must be ...`.
 *
 * @internal called by {@link connect} with the hops of {@link jumpHostsOf}.
 */
export function checkJumpHosts(hops: readonly ConnectOptions[], check: (options: ConnectOptions) => void): void {
  hops.forEach((hop, i) => {
    try {
      check(hop);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`jump[${i}] (${String(hop.host)}): ${err.message}`, { cause: err });
      throw err;
    }
  });
}

/** `host` or `[host]:port` as OpenSSH names a host in its messages. */
function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Prefix an error with the hop it happened on; its class and code stay as they were. */
function onHop(err: unknown, what: string): unknown {
  if (err instanceof SshError && !err.message.startsWith('jump host ')) err.message = `${what}: ${err.message}`;
  return err;
}

/**
 * The error a connection carried by a channel of jump host `host`:`port` ends with when that
 * jump host's own connection is lost (its server or its link went away, a bad packet, a
 * keepalive timeout): a ConnectionLostError naming the jump host (`jumpHost`, and the message's
 * `jump host HOST:` start), its cause the jump host's error. Not for our own close of the route
 * or the AbortSignal all hops share, and a loss already named by a jump host further up the
 * chain stays as it is.
 */
function lostOnHop(host: string, port: number): (err: SshError) => SshError {
  return (err) => {
    if (err.code === 'ERR_CONNECTION_CLOSED' || err.code === 'ERR_ABORTED') return err;
    if (err instanceof ConnectionLostError && err.jumpHost) return err;
    return new ConnectionLostError(`jump host ${hostLabel(host, port)}: ${err.message}`, { cause: err, jumpHost: { host, port } });
  };
}

/**
 * A jump host's channel as the transport of the next connection: the next host's server going
 * away ends it (the jump host's server sends EOF, and its CLOSE only once we close too), which
 * for a transport is the end of the connection, as a TCP socket's FIN is (ssh -W: the channel's
 * EOF ends its output, and the ssh reading it sees its connection closed). When the jump host's
 * own connection is lost, the error names the jump host ({@link lostOnHop}).
 */
function asTransport(sock: ChannelStream, hop: { host: string; port: number }): ChannelStream {
  sock.once('end', () => sock.destroy());
  sock.lostAs = lostOnHop(hop.host, hop.port);
  return sock;
}

/**
 * Connect through `options.jump`: hop by hop, then the destination over the last hop's
 * channel. The returned client owns the hops: closing it (or losing it) closes them, last
 * first. Errors keep their class and code; their message starts with `jump host HOST:` when a
 * hop failed (its host key, its authentication, or its refusal to reach the next host). A hop
 * that loses its own connection later ends the connections it carries with a
 * ConnectionLostError naming it ({@link lostOnHop}).
 *
 * @internal called by {@link connect} when `jump` is set.
 */
export async function connectThroughJumps(options: ConnectOptions): Promise<SshClient> {
  const hops = jumpHostsOf(options);
  const { debug, signal } = options;
  const clients: SshClient[] = [];
  const labels: string[] = [];
  const closeAll = async () => {
    for (const c of clients.reverse()) await c.close().catch(() => {});
  };
  try {
    let prev: SshClient | undefined;
    let prevHop: { host: string; port: number } | undefined;
    for (const hop of hops) {
      const port = hop.port ?? 22;
      try {
        debug?.(`Connecting to jump host ${hop.host} port ${port}.`);
      } catch (err) {
        // As a hook that throws inside connect() ends it (user-callback.ts).
        throw callbackFailed('debug', err);
      }
      let sock: ChannelStream | undefined;
      if (prev) {
        try {
          sock = asTransport(await prev.openDirectTcpip({ host: hop.host, port, originatorAddress: '127.0.0.1', originatorPort: 65535 }), prevHop!);
        } catch (err) {
          throw onHop(err, `jump host ${labels.at(-1)}: cannot reach ${hostLabel(hop.host, port)}`);
        }
      }
      let client: SshClient;
      try {
        client = await connect({ ...hop, jump: undefined, sock, signal, debug });
      } catch (err) {
        throw onHop(err, `jump host ${hostLabel(hop.host, port)}`);
      }
      clients.push(client);
      labels.push(hostLabel(hop.host, port));
      prev = client;
      prevHop = { host: hop.host, port };
    }
    const port = options.port ?? 22;
    let sock: ChannelStream | undefined;
    if (prev) {
      try {
        sock = asTransport(await prev.openDirectTcpip({ host: options.host, port, originatorAddress: '127.0.0.1', originatorPort: 65535 }), prevHop!);
      } catch (err) {
        throw onHop(err, `jump host ${labels.at(-1)}: cannot reach ${hostLabel(options.host, port)}`);
      }
    }
    const final = await connect({ ...options, jump: undefined, sock });
    void final.closed.then(closeAll);
    return final;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
