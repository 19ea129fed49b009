/**
 * A TCP proxy that adds a fixed delay each way: a stand-in for a long path (no netem here).
 * Every chunk read from one side is written to the other `delayMs` later (plus the event
 * loop's timer slack, under a millisecond when idle); order and EOF are kept. Buffering is
 * deep (default 256 MiB per direction) so that the proxy is not the bottleneck: at 50 ms
 * each way it holds a bandwidth-delay product of several hundred MB/s.
 *
 * Library: {@link startDelayProxy}. As a process (bench/lfn.ts forks it, so its CPU is not
 * the measured client's): `node delay-proxy.js '{"targetHost":…,"targetPort":…,"delayMs":…}'`
 * sends `{ port }` over IPC once listening and exits when its parent goes.
 */
import { createServer, connect as netConnect, type AddressInfo, type Socket } from 'node:net';

/** Options of {@link startDelayProxy}. */
export interface DelayProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Added delay in each direction, ms (the round trip grows by twice this). */
  delayMs: number;
  /** Listen address, default 127.0.0.1; port default 0 (any free one). */
  listenHost?: string;
  listenPort?: number;
  /** Bytes held per direction before reading pauses (default 256 MiB). */
  maxBufferedBytes?: number;
}

/** A running proxy. */
export interface DelayProxy {
  host: string;
  port: number;
  /** Largest number of bytes held in one direction so far (to check the proxy was not the limit). */
  readonly peakBuffered: number;
  close(): Promise<void>;
}

type Item = { at: number; chunk: Buffer | null };

/** One direction of one connection: `from`'s bytes reach `to` `delayMs` later. */
function delayedPipe(from: Socket, to: Socket, delayMs: number, maxBuffered: number, peak: (n: number) => void): void {
  const queue: Item[] = [];
  let head = 0;
  let buffered = 0;
  let timer: NodeJS.Timeout | undefined;
  let paused = false;

  const release = () => {
    timer = undefined;
    const now = performance.now();
    let corked = false;
    while (head < queue.length && queue[head]!.at <= now) {
      const { chunk } = queue[head++]!;
      if (to.destroyed) continue;
      if (chunk === null) {
        to.end();
        continue;
      }
      if (!corked) {
        to.cork();
        corked = true;
      }
      buffered -= chunk.length;
      to.write(chunk);
    }
    if (corked) to.uncork();
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    if (paused && buffered + to.writableLength < maxBuffered / 2) {
      paused = false;
      from.resume();
    }
    arm();
  };
  const arm = () => {
    if (timer || head >= queue.length) return;
    timer = setTimeout(release, Math.max(0, queue[head]!.at - performance.now()));
  };

  from.on('data', (chunk: Buffer) => {
    queue.push({ at: performance.now() + delayMs, chunk });
    buffered += chunk.length;
    peak(buffered + to.writableLength);
    if (!paused && buffered + to.writableLength > maxBuffered) {
      paused = true;
      from.pause();
    }
    arm();
  });
  to.on('drain', () => {
    if (paused && buffered + to.writableLength < maxBuffered / 2) {
      paused = false;
      from.resume();
    }
  });
  from.once('end', () => {
    queue.push({ at: performance.now() + delayMs, chunk: null });
    arm();
  });
}

/** Starts the proxy; resolves once it listens. */
export async function startDelayProxy(opts: DelayProxyOptions): Promise<DelayProxy> {
  const maxBuffered = opts.maxBufferedBytes ?? 256 * 1024 * 1024;
  const sockets = new Set<Socket>();
  let peakBuffered = 0;
  const peak = (n: number) => {
    if (n > peakBuffered) peakBuffered = n;
  };
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = netConnect({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true, noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    // A close that follows both EOFs is the normal end; a close in the middle tears down both.
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    delayedPipe(client, upstream, opts.delayMs, maxBuffered, peak);
    delayedPipe(upstream, client, opts.delayMs, maxBuffered, peak);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.listenHost ?? '127.0.0.1', port: opts.listenPort ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    get peakBuffered() {
      return peakBuffered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Message sent to the parent process once listening. */
export interface DelayProxyReady {
  kind: 'ready';
  port: number;
}

if (process.send && process.argv[2] && /delay-proxy\.js$/.test(process.argv[1] ?? '')) {
  const options = JSON.parse(process.argv[2]) as DelayProxyOptions;
  startDelayProxy(options).then(
    (proxy) => {
      const ready: DelayProxyReady = { kind: 'ready', port: proxy.port };
      process.send!(ready);
      process.on('disconnect', () => process.exit(0));
    },
    (err: Error) => {
      process.stderr.write(`delay-proxy: ${err.stack}\n`);
      process.exit(1);
    },
  );
}
