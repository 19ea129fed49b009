/**
 * Loopback TCP endpoints and helpers for tests and benchmarks: a free-port finder, a port
 * waiter and probe, a client that dials or runs one echo round trip, and servers that produce, absorb, echo or greet, with content verified by sha256
 * (../shared/TESTING.md "Data endpoints": a transfer that is fast but wrong must fail).
 *
 * Every server listens on 127.0.0.1 port 0 unless told otherwise, reports the port the kernel
 * chose, and has `close()` which also destroys the connections still open, so a test's
 * `afterAll` never waits on a peer.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { Readable } from 'node:stream';

/** Host every helper listens on by default. */
export const LOOPBACK = '127.0.0.1';

/**
 * Debian's Python for the helpers the tests run: `python3` in PATH may be a pyenv shim, a bash
 * script that costs about 0.6 s of CPU per start (1-3 s of wall time on a loaded machine).
 */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Size of each chunk {@link deterministicStream} emits: big enough to keep per-chunk cost low. */
const CHUNK = 64 * 1024;

/**
 * Ports {@link freePort} hands out: below Linux's ephemeral range (32768–60999 by default), so
 * that no outgoing connection and no `listen(0)` of any process takes one, and split between the
 * suite's parallel workers (VITEST_POOL_ID), so that two test files never get the same port. With
 * port 0 the kernel could give worker 2 the port worker 1 had just been given and not yet bound
 * (seen: a `-L` listener's port taken by another file's sshd, the test then talking to that sshd).
 */
const PORT_FLOOR = 10_000;
const PORT_CEILING = 32_767;
const WORKERS = 4;
const slice = (() => {
  const worker = (Number(process.env.VITEST_POOL_ID ?? 1) - 1) % WORKERS;
  const size = Math.floor((PORT_CEILING - PORT_FLOOR + 1) / WORKERS);
  return { start: PORT_FLOOR + worker * size, size };
})();
/** Each test file is a fresh process: a random start keeps consecutive files of one worker apart. */
let nextPort = Math.floor(Math.random() * slice.size);

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port that was free a moment ago on `host`, from this worker's own slice (see PORT_FLOOR),
 * never the same twice in one file until the slice wraps. A process outside the suite may still
 * take it before the caller binds, so callers that start a server retry on EADDRINUSE.
 */
export async function freePort(host: string = LOOPBACK): Promise<number> {
  for (let tries = 0; tries < slice.size; tries++) {
    const port = slice.start + (nextPort++ % slice.size);
    if (await bindable(host, port)) return port;
  }
  throw new Error(`freePort: no free port on ${host} in ${slice.start}-${slice.start + slice.size - 1}`);
}

/** Resolves once one TCP connect to host:port succeeds (the probe is closed at once). */
export async function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port });
        socket.setTimeout(Math.max(100, deadline - Date.now()));
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('timeout', () => {
          socket.destroy();
          reject(new Error('connect timed out'));
        });
        socket.once('error', reject);
      });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`port ${host}:${port} did not accept a connection within ${timeoutMs} ms`, {
    cause: lastError,
  });
}

/** Whether anything accepts a TCP connection on host:port right now (the probe is closed at once). */
export function listening(port: number, host: string = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A connected client socket: `port` is a TCP port on {@link LOOPBACK}, or give full
 * `net.connect` options (`{ path }` for a Unix socket). Rejects with the connect error
 * (`code: 'ECONNREFUSED'` when nothing listens); later socket errors are swallowed.
 */
export function dial(to: number | net.NetConnectOpts): Promise<net.Socket> {
  const opts = typeof to === 'number' ? { host: LOOPBACK, port: to } : to;
  return new Promise((resolve, reject) => {
    const s = net.connect(opts, () => resolve(s));
    s.once('error', reject);
  });
}

/** {@link dial}, send `text`, half-close, and resolve with everything read until the peer's end (an echo's reply). */
export async function echoVia(to: number | net.NetConnectOpts, text: string): Promise<string> {
  const s = await dial(to);
  s.end(text);
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

/** xorshift32 needs a non-zero state; mixing in the golden ratio keeps seed 0 usable. */
function initialState(seed: number): number {
  const s = (seed ^ 0x9e3779b9) >>> 0;
  return s === 0 ? 1 : s;
}

/**
 * The bytes of a deterministic pseudo-random sequence as fresh chunks (each chunk is owned by
 * the consumer, so sockets and streams may hold on to it). xorshift32 over 32-bit words: not
 * cryptographic, just fast and different for every seed. Byte order is the host's (little
 * endian on every machine the tests run on).
 */
export function* deterministicChunks(n: number, seed = 1): Generator<Buffer> {
  let state = initialState(seed);
  let left = n;
  while (left > 0) {
    const size = Math.min(CHUNK, left);
    const words = Math.ceil(size / 4);
    const buf = Buffer.allocUnsafeSlow(words * 4);
    const view = new Uint32Array(buf.buffer, buf.byteOffset, words);
    let x = state;
    for (let i = 0; i < words; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      view[i] = x;
    }
    state = x >>> 0;
    left -= size;
    yield size === buf.length ? buf : buf.subarray(0, size);
  }
}

/** A Readable of `n` deterministic bytes for `seed` (see {@link deterministicChunks}). */
export function deterministicStream(n: number, seed = 1): Readable {
  return Readable.from(deterministicChunks(n, seed), { objectMode: false });
}

const expectedCache = new Map<string, string>();

/** sha256 (hex) of the `n` deterministic bytes for `seed`; memoised, as benchmarks reuse sizes. */
export function deterministicSha256(n: number, seed = 1): string {
  const key = `${n}:${seed}`;
  let digest = expectedCache.get(key);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (const chunk of deterministicChunks(n, seed)) hash.update(chunk);
    digest = hash.digest('hex');
    expectedCache.set(key, digest);
  }
  return digest;
}

/** What a stream delivered: its length and sha256 (hex). */
export interface StreamDigest {
  bytes: number;
  sha256: string;
}

/** Reads `stream` to its end and returns its length and sha256 (hex). */
export async function hashStream(stream: AsyncIterable<Uint8Array | string>): Promise<StreamDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(data);
    bytes += data.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Reads `stream` to its end and returns its sha256 (hex). */
export async function sha256Of(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  return (await hashStream(stream)).sha256;
}

/** A listening loopback server owned by a test. */
export interface TestServer {
  host: string;
  port: number;
  /** Number of connections accepted so far. */
  readonly accepted: number;
  /** Stops listening and destroys every connection still open. */
  close(): Promise<void>;
}

/** What `listenOn` gives back: the server's address and a close that also ends its connections. */
interface Listening {
  address: net.AddressInfo | string;
  readonly accepted: number;
  close(): Promise<void>;
}

async function listenOn(options: net.ListenOptions, onConnection: (socket: net.Socket) => void): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A forwarder that resets the connection must not crash the test process.
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    address: server.address() as net.AddressInfo | string,
    get accepted() {
      return accepted;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

async function listen(
  host: string,
  port: number,
  onConnection: (socket: net.Socket) => void,
): Promise<TestServer> {
  const l = await listenOn({ host, port }, onConnection);
  return {
    host,
    port: (l.address as net.AddressInfo).port,
    get accepted() {
      return l.accepted;
    },
    close: () => l.close(),
  };
}

/** Options shared by the servers below. */
export interface ServerOptions {
  host?: string;
  port?: number;
}

/** A server that hashes what each connection sends. */
export interface SinkServer extends TestServer {
  /** Digests of the connections that have ended, in the order they ended. */
  readonly results: readonly StreamDigest[];
  /** Resolves with the digest of the next connection to end (in order of ending). */
  next(): Promise<StreamDigest>;
}

/**
 * Accepts connections and hashes everything each one sends; when the client ends (FIN) the
 * sink records `{ bytes, sha256 }` and ends its side too. A connection reset counts as ended
 * with what was received.
 */
export async function startSinkServer(opts: ServerOptions = {}): Promise<SinkServer> {
  const results: StreamDigest[] = [];
  const waiters: Array<(d: StreamDigest) => void> = [];
  let handed = 0;
  const base = await listen(opts.host ?? LOOPBACK, opts.port ?? 0, (socket) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const digest = { bytes, sha256: hash.digest('hex') };
      results.push(digest);
      const waiter = waiters.shift();
      if (waiter) {
        handed++;
        waiter(digest);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.once('end', () => {
      finish();
      socket.end();
    });
    socket.once('close', finish);
  });
  return Object.assign(base, {
    results,
    next(): Promise<StreamDigest> {
      if (handed < results.length) return Promise.resolve(results[handed++]);
      return new Promise<StreamDigest>((resolve) => waiters.push(resolve));
    },
  });
}

/** A server that sends the same deterministic bytes to every connection. */
export interface SourceServer extends TestServer {
  bytes: number;
  seed: number;
  /** sha256 (hex) a receiver must see. */
  sha256: string;
}

/**
 * The chunks of `chunks`, hashed on the way: once the last one has been taken, the digest is
 * what {@link deterministicSha256} gives for `n` and `seed` (stopped early, nothing is recorded).
 */
function* hashedOnTheWay(chunks: Generator<Buffer>, n: number, seed: number): Generator<Buffer> {
  const hash = createHash('sha256');
  for (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
  expectedCache.set(`${n}:${seed}`, hash.digest('hex'));
}

/**
 * Sends `bytes` deterministic pseudo-random bytes for `seed` to each connection (respecting
 * backpressure), then ends its side. Anything the client sends is read and dropped.
 *
 * `sha256` is computed when first read, not up front (512 MiB is seconds of a loaded CPU, and
 * many tests never read it); a connection that took all the bytes has hashed them as they were
 * sent (before its FIN), so a test reading it after a whole transfer costs no second pass.
 */
export async function startSourceServer(
  bytes: number,
  seed = 1,
  opts: ServerOptions = {},
): Promise<SourceServer> {
  const base = await listen(opts.host ?? LOOPBACK, opts.port ?? 0, (socket) => {
    socket.resume();
    const chunks = deterministicChunks(bytes, seed);
    const known = expectedCache.has(`${bytes}:${seed}`);
    const source = Readable.from(known ? chunks : hashedOnTheWay(chunks, bytes, seed), { objectMode: false });
    source.pipe(socket);
    socket.once('close', () => source.destroy());
  });
  return Object.defineProperties(Object.assign(base, { bytes, seed }), {
    sha256: { get: () => deterministicSha256(bytes, seed), enumerable: true },
  }) as SourceServer;
}

/** Echoes every byte back on the same connection; ends when the client ends. */
export async function startEchoServer(opts: ServerOptions = {}): Promise<TestServer> {
  return listen(opts.host ?? LOOPBACK, opts.port ?? 0, (socket) => socket.pipe(socket));
}

/**
 * Echoes every byte back, listening on the Unix-domain socket `path` (its directory must exist;
 * the socket file is removed by `close`).
 */
export async function startUnixEchoServer(path: string): Promise<{ path: string; close(): Promise<void> }> {
  const l = await listenOn({ path }, (socket) => socket.pipe(socket));
  return { path, close: () => l.close() };
}

/**
 * Writes `text` as soon as a connection is accepted, then ends it: the "server speaks first"
 * case (SMTP, SSH banners) that a forwarder must deliver without waiting for the client.
 */
export async function startServerFirst(text: string, opts: ServerOptions = {}): Promise<TestServer> {
  return listen(opts.host ?? LOOPBACK, opts.port ?? 0, (socket) => {
    socket.resume();
    socket.end(text);
  });
}

/** A TCP relay to one server whose client-side connections a test can end (see {@link startRelay}). */
export interface Relay {
  port: number;
  /**
   * Ends every client-side connection so far: a RST (`'reset'`) or a plain close (a FIN, whatever
   * the client is writing meanwhile: its bytes are read until it closes its side).
   */
  endAll(how: 'reset' | 'close'): number;
  /** Stops moving bytes either way on every connection so far, leaving them open (a dead path). */
  stallAll(): number;
  close(): Promise<void>;
}

/**
 * A relay on 127.0.0.1 to `host:port` (an sshd), so a test can reset or close the client's TCP
 * connection on demand: Node's `resetAndDestroy()` sends a RST, which a killed process's kernel
 * only does when data was left unread. Returns how many connections it ended.
 */
export async function startRelay(port: number, host: string = LOOPBACK): Promise<Relay> {
  // The connections not ended or stalled yet, and every one (for close()).
  const pairs: [net.Socket, net.Socket][] = [];
  const all: [net.Socket, net.Socket][] = [];
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, host);
    pairs.push([inbound, outbound]);
    all.push([inbound, outbound]);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    endAll(how) {
      const ended = pairs.splice(0);
      for (const [l, r] of ended) {
        if (how === 'reset') {
          l.resetAndDestroy();
          continue;
        }
        // A FIN, then the client's bytes read and dropped until it closes its side too. A plain
        // destroy() closed the socket: bytes of the client's still unread in it made the kernel
        // send a RST instead of the FIN (Linux tcp_close, RFC 2525 §2.17), and any arriving
        // after it were answered with one. Under load a late packet of the client's (36 bytes
        // unread at the close in one run: likely the -L probe's channel traffic) turned the close
        // into a reset, and pure-ssh or ssh ended on "client_loop: send disconnect: Broken pipe"
        // (nothing at all under -q) instead of "Connection to HOST closed by remote host.".
        l.unpipe(r);
        r.unpipe(l);
        r.destroy();
        l.resume();
        l.end();
      }
      return ended.length;
    },
    stallAll() {
      const stalled = pairs.splice(0);
      for (const [a, b] of stalled) {
        a.unpipe();
        b.unpipe();
        a.pause();
        b.pause();
      }
      return stalled.length;
    },
    close: () => new Promise<void>((r) => {
      pairs.length = 0;
      for (const [a, b] of all.splice(0)) {
        a.destroy();
        b.destroy();
      }
      server.close(() => r());
    }),
  };
}

/** A relay that cuts each client-side connection once `after` bytes went from the server to it. */
export interface CuttingRelay {
  port: number;
  /** Connections cut so far. */
  cuts: number;
  close(): Promise<void>;
}

/**
 * A relay on 127.0.0.1 to `host:port` (an sshd) that, once more than `after` bytes went from the
 * server to a client, cuts that client's connection mid-stream: `'reset'` (a RST), `'close'` (a
 * FIN) or `'stall'` (both directions stop, nothing is closed: a dead link, for keepalive
 * timeouts). What the server sends is then dropped, so the client sees no SSH close.
 */
export async function startCuttingRelay(port: number, host: string, after: number, how: 'reset' | 'close' | 'stall'): Promise<CuttingRelay> {
  const links = new Set<net.Socket>();
  const relay: CuttingRelay = { port: 0, cuts: 0, close: async () => {} };
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, host);
    links.add(inbound).add(outbound);
    let n = 0;
    let cut = false;
    outbound.on('data', (d: Buffer) => {
      if (cut) return;
      n += d.length;
      if (n <= after) return void inbound.write(d);
      cut = true;
      relay.cuts++;
      if (how === 'reset') inbound.resetAndDestroy();
      else if (how === 'close') inbound.destroy();
      else inbound.pause();
      if (how !== 'stall') outbound.destroy();
    });
    inbound.on('data', (d: Buffer) => {
      if (!cut) outbound.write(d);
    });
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => (outbound.destroy(), links.delete(inbound)));
    outbound.on('close', () => links.delete(outbound));
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  relay.port = (server.address() as net.AddressInfo).port;
  relay.close = () => new Promise<void>((r) => {
    for (const l of links) l.destroy();
    server.close(() => r());
  });
  return relay;
}

/**
 * How a download through `port` ended for a client outside Node: Python's socket module, whose
 * recv() reports a reset (ECONNRESET) even when it comes behind data. (A Node client cannot tell:
 * libuv ends the stream on POLLHUP after a partial read without reading the pending error, so a
 * reset often looks like a clean end.) `ended`: a clean EOF; `reset`: ECONNRESET. With the
 * received length and sha256.
 */
export function downloadOutsideNode(port: number, host: string = LOOPBACK): Promise<{ outcome: 'ended' | 'reset' | string; bytes: number; sha256: string }> {
  const py = [
    'import socket, sys, hashlib',
    `s = socket.create_connection((${JSON.stringify(host)}, ${port}))`,
    'h = hashlib.sha256(); n = 0; how = "ended"',
    'try:',
    '    while True:',
    '        d = s.recv(262144)',
    '        if not d: break',
    '        n += len(d); h.update(d)',
    'except ConnectionResetError: how = "reset"',
    'except OSError as e: how = "errno%d" % e.errno',
    'print(how, n, h.hexdigest())',
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', py], { timeout: 60_000 }, (err, stdout) => {
      if (err) return reject(err);
      const [outcome, bytes, sha256] = stdout.trim().split(' ');
      resolve({ outcome: outcome!, bytes: Number(bytes), sha256: sha256! });
    });
  });
}

/**
 * The processes with a TCP socket listening on `port` (Linux /proc: the socket's inode in
 * /proc/net/tcp and tcp6, state 0A, then the /proc/PID/fd links naming `socket:[INODE]`), for a
 * test that must find a background process by what it serves rather than by what it printed.
 */
export function pidsListeningOn(port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address rem_address st ... inode (the 10th field).
      if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  const pids: number[] = [];
  if (inodes.size === 0) return pids;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    const holds = fds.some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
    if (holds) pids.push(Number(entry));
  }
  return pids;
}
