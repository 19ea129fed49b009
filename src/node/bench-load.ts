/**
 * The load generator of `pure-ssh-bench`, a child process of its own so that generating,
 * hashing and timing the data never shares a CPU thread with the pure-ssh client it measures
 * (which runs in the parent) and treats both clients alike: it writes to and reads from each
 * client's local forward, and serves the endpoints the loop through the server ends at.
 *
 * Endpoints (127.0.0.1, port 0): a sink that hashes what arrives, a source that sends as many
 * bytes as the first line asks for, an echo server. Operations (IPC, one at a time): upload,
 * download, echo (both ways at once) and rtt (64-byte round trips). Every byte is checked: a
 * wrong count or sha256 fails the run, so a fast wrong answer never counts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A request from the parent. */
export type LoadRequest =
  | { id: number; op: 'upload' | 'download' | 'echo'; port: number; size: number; timeoutMs: number }
  | { id: number; op: 'rtt'; port: number; count: number; timeoutMs: number };

/** The answer: `value` in MiB/s (transfers) or ms (rtt, the median round trip). */
export type LoadReply = { id: number; ok: true; value: number } | { id: number; ok: false; error: string };

/** Sent once, when the endpoints listen. */
export interface LoadReady {
  ready: { sink: number; source: number; echo: number };
}

/** Bytes before the pattern repeats: a prime, so it never lines up with packet or window sizes. */
const PERIOD = 1_048_573;
const WRITE_SIZE = 256 * 1024;
const MiB = 1024 * 1024;
const pattern = randomBytes(PERIOD);

function* pieces(n: number): Generator<Buffer> {
  let offset = 0;
  for (let left = n; left > 0; ) {
    const size = Math.min(WRITE_SIZE, left, PERIOD - offset);
    yield pattern.subarray(offset, offset + size);
    offset = (offset + size) % PERIOD;
    left -= size;
  }
}

const hashes = new Map<number, string>();
function patternSha(n: number): string {
  let h = hashes.get(n);
  if (!h) {
    const hash = createHash('sha256');
    for (const p of pieces(n)) hash.update(p);
    h = hash.digest('hex');
    hashes.set(n, h);
  }
  return h;
}

/** Writes `n` pattern bytes with backpressure, then ends the socket. */
async function writePattern(sock: Socket, n: number): Promise<void> {
  for (const p of pieces(n)) {
    if (sock.destroyed) throw new Error('connection closed while writing');
    if (!sock.write(p)) {
      await new Promise<void>((res) => {
        const done = () => {
          sock.off('drain', done);
          sock.off('close', done);
          res();
        };
        sock.on('drain', done);
        sock.on('close', done);
      });
    }
  }
  sock.end();
}

function listen(server: Server): Promise<number> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res((server.address() as AddressInfo).port));
  });
}

/** What the sink saw on its latest connection. */
let sinkWaiter: ((r: { bytes: number; sha: string; at: number }) => void) | undefined;

const sink = createServer({ allowHalfOpen: true }, (sock) => {
  sock.setNoDelay(true);
  const hash = createHash('sha256');
  let bytes = 0;
  sock.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  sock.on('end', () => {
    const at = performance.now();
    sock.end();
    sinkWaiter?.({ bytes, sha: hash.digest('hex'), at });
  });
  sock.on('error', () => {});
});

const source = createServer({ allowHalfOpen: true }, (sock) => {
  sock.setNoDelay(true);
  let line = '';
  const onData = (d: Buffer) => {
    line += d.toString('latin1');
    const nl = line.indexOf('\n');
    if (nl < 0) {
      if (line.length > 32) sock.destroy();
      return;
    }
    sock.off('data', onData);
    sock.resume();
    const n = Number(line.slice(0, nl));
    if (!Number.isSafeInteger(n) || n < 0) return void sock.destroy();
    writePattern(sock, n).catch(() => sock.destroy());
  };
  sock.on('data', onData);
  sock.on('error', () => {});
});

const echo = createServer({ allowHalfOpen: true }, (sock) => {
  sock.setNoDelay(true);
  sock.pipe(sock);
  sock.on('error', () => {});
});

/** Connects to a client's local forward. */
function open(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = netConnect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true });
    s.once('connect', () => {
      s.off('error', rej);
      // Each user hears the end through 'close' (rtt's "connection closed after N round trips")
      // or readAll's first 'error'; an error with no listener (a write after the tunnel reset the
      // connection, as on SIGINT) would instead kill the load process with a stack trace.
      s.on('error', () => {});
      res(s);
    });
    s.once('error', rej);
  });
}

/** Runs `body` with a deadline; the socket it opened is destroyed either way. */
async function bounded<T>(timeoutMs: number, what: () => string, body: (track: (s: Socket) => Socket) => Promise<T>): Promise<T> {
  const socks: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      body((s) => {
        socks.push(s);
        return s;
      }),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s (${what()})`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of socks) s.destroy();
  }
}

async function upload(port: number, size: number, timeoutMs: number): Promise<number> {
  let got: { bytes: number; sha: string; at: number } | undefined;
  return bounded(timeoutMs, () => (got ? `${got.bytes} bytes arrived` : 'the sink saw no end'), async (track) => {
    const arrived = new Promise<{ bytes: number; sha: string; at: number }>((res) => (sinkWaiter = res));
    const t0 = performance.now();
    const sock = track(await open(port));
    sock.on('error', () => {});
    sock.resume();
    await writePattern(sock, size);
    got = await arrived;
    sinkWaiter = undefined;
    if (got.bytes !== size) throw new Error(`the sink received ${got.bytes} of ${size} bytes`);
    if (got.sha !== patternSha(size)) throw new Error('the sink received different bytes (sha256 mismatch)');
    return size / MiB / ((got.at - t0) / 1000);
  });
}

/** Reads a socket to its end (or `until` bytes), hashing; resolves with the count, hash and time. */
function readAll(sock: Socket, until?: number): Promise<{ bytes: number; sha: string; at: number }> {
  return new Promise((res, rej) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      res({ bytes, sha: hash.digest('hex'), at: performance.now() });
    };
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
      if (until !== undefined && bytes >= until) finish();
    });
    sock.once('end', finish);
    sock.once('close', finish);
    sock.once('error', (e) => {
      if (!done) rej(e);
    });
  });
}

async function download(port: number, size: number, timeoutMs: number): Promise<number> {
  return bounded(timeoutMs, () => 'waiting for the data', async (track) => {
    const t0 = performance.now();
    const sock = track(await open(port));
    const got = readAll(sock);
    sock.write(`${size}\n`);
    const r = await got;
    if (r.bytes !== size) throw new Error(`received ${r.bytes} of ${size} bytes`);
    if (r.sha !== patternSha(size)) throw new Error('received different bytes (sha256 mismatch)');
    return size / MiB / ((r.at - t0) / 1000);
  });
}

async function echoBoth(port: number, size: number, timeoutMs: number): Promise<number> {
  return bounded(timeoutMs, () => 'waiting for the echo', async (track) => {
    const t0 = performance.now();
    const sock = track(await open(port));
    const got = readAll(sock, size);
    // Half-close after writing: an echo server ends its side once it has sent everything back.
    await writePattern(sock, size);
    const r = await got;
    if (r.bytes !== size) throw new Error(`the echo returned ${r.bytes} of ${size} bytes`);
    if (r.sha !== patternSha(size)) throw new Error('the echo returned different bytes (sha256 mismatch)');
    return size / MiB / ((r.at - t0) / 1000);
  });
}

async function rtt(port: number, count: number, timeoutMs: number): Promise<number> {
  let done = 0;
  return bounded(timeoutMs, () => `${done} round trips done`, async (track) => {
    const sock = track(await open(port));
    const msg = pattern.subarray(0, 64);
    let pending: ((d: Buffer) => void) | undefined;
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (buf.length >= 64 && pending) {
        const got = buf.subarray(0, 64);
        buf = buf.subarray(64);
        const p = pending;
        pending = undefined;
        p(got);
      }
    });
    const closed = new Promise<never>((_, rej) => sock.once('close', () => rej(new Error(`the connection closed after ${done} round trips`))));
    closed.catch(() => {});
    const times: number[] = [];
    const warmup = 5;
    for (let i = 0; i < warmup + count; i++) {
      const t = performance.now();
      const back = new Promise<Buffer>((res) => (pending = res));
      sock.write(msg);
      const got = await Promise.race([back, closed]);
      if (!got.equals(msg)) throw new Error('the echo returned different bytes');
      if (i >= warmup) times.push(performance.now() - t);
      done = i + 1;
    }
    times.sort((a, b) => a - b);
    const mid = (times.length - 1) / 2;
    return (times[Math.floor(mid)]! + times[Math.ceil(mid)]!) / 2;
  });
}

async function handle(req: LoadRequest): Promise<LoadReply> {
  try {
    let value: number;
    if (req.op === 'upload') value = await upload(req.port, req.size, req.timeoutMs);
    else if (req.op === 'download') value = await download(req.port, req.size, req.timeoutMs);
    else if (req.op === 'echo') value = await echoBoth(req.port, req.size, req.timeoutMs);
    else if (req.op === 'rtt') value = await rtt(req.port, req.count, req.timeoutMs);
    else throw new Error('unknown operation');
    return { id: req.id, ok: true, value };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { id: req.id, ok: false, error: e.code === 'ECONNREFUSED' ? `local forward port ${req.port}: connection refused` : e.message };
  } finally {
    sinkWaiter = undefined;
  }
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench-load.js is started by pure-ssh-bench (an IPC channel is needed)');
  const [s, src, e] = await Promise.all([listen(sink), listen(source), listen(echo)]);
  process.on('message', (m: LoadRequest) => {
    void handle(m).then((r) => process.send!(r));
  });
  // The parent going away ends this process (the IPC channel closes).
  process.on('disconnect', () => process.exit(0));
  const ready: LoadReady = { ready: { sink: s, source: src, echo: e } };
  process.send(ready);
}

main().catch((err: unknown) => {
  process.stderr.write(`pure-ssh-bench load generator: ${(err as Error).message}\n`);
  process.exit(1);
});
