/**
 * Library mode with many connections: one Node process opens N connections to the local sshd,
 * each downloading M MiB through a direct-tcpip channel from a data endpoint in another process,
 * the consumer hashing (sha256) every chunk. Samples the process's memory and what the clients
 * hold live: the sum of the receive windows granted, the bytes received and not yet consumed.
 *
 *   node --expose-gc dist-bench/bench/many-downloads.js [--conns 100] [--mib 12] [--gc-every 250]
 *     [--max BYTES] [--budget BYTES] [--window BYTES] [--delay MS] [--stagger]
 *     [--slow MIB_PER_S] [--slow-after MIB]
 *
 * With --expose-gc the script also runs a full GC every --gc-every ms and records what is left:
 * the live ArrayBuffers (as opposed to garbage not yet collected). --slow limits each reader
 * to that rate (pausing the stream) once it has read --slow-after MiB, as a consumer slower than
 * the network would be. --budget sets the shared window budget's limit (bytes), --window the
 * initial window of each channel (`channelWindow`), --max the per-connection cap, --delay a
 * delay each way through bench/delay-proxy.ts, --stagger starts each download as soon as its
 * connection logs in (default: all log in first). The figures: README "Memory", many connections.
 */
import { fork, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DelayProxyReady } from './delay-proxy.js';
import { createHash } from 'node:crypto';
import { connect, type SshClient } from '../src/index.js';
import { patternSha256, PATTERN_PERIOD } from './data.js';
import { startLocalServer } from './server.js';

const MiB = 1024 * 1024;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const conns = arg('conns', 100);
const bytes = arg('mib', 12) * MiB;
const gcEvery = arg('gc-every', 250);
const max = arg('max', 0);
const budget = arg('budget', -1);
const slow = arg('slow', 0) * MiB;
const delay = arg('delay', 0);
const channelWindow = arg('window', 0);
const slowAfter = arg('slow-after', 0) * MiB;
const stagger = process.argv.includes('--stagger');
const gc = (globalThis as { gc?: () => void }).gc;

/** The data endpoint, in its own process so that its buffers are not counted here. */
function startSource(): Promise<{ port: number; stop(): void }> {
  const code = `
    const net = require('node:net');
    const { createHash } = require('node:crypto');
    const period = ${PATTERN_PERIOD};
    // The same bytes as bench/data.ts's pattern: read from stdin once.
    const chunks = [];
    process.stdin.on('data', (d) => chunks.push(d));
    process.stdin.on('end', () => {
      const block = Buffer.concat(chunks);
      const server = net.createServer((s) => {
        s.on('error', () => {});
        s.resume();
        let left = ${bytes}, off = 0;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(256 * 1024, left, period - off);
            left -= n;
            const ok = s.write(block.subarray(off, off + n));
            off = (off + n) % period;
            if (!ok) return void s.once('drain', pump);
          }
          s.end();
        };
        pump();
      });
      server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
    });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    void import('./data.js').then(({ patternBlock }) => child.stdin.end(patternBlock(7)));
    child.stdout.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), stop: () => child.kill() }));
    child.once('error', reject);
  });
}

/** bench/delay-proxy.ts in its own process (its buffers are not this process's). */
function startProxy(targetPort: number): Promise<{ port: number; stop(): void }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = fork(join(here, 'delay-proxy.js'), [JSON.stringify({ targetHost: '127.0.0.1', targetPort, delayMs: delay })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: DelayProxyReady) => resolve({ port: m.port, stop: () => child.kill() }));
    child.once('error', reject);
  });
}

interface Internals {
  core: { connection: { channels: Iterable<{ localWindowMax: number; localWindow: number; unconsumed: number }> } };
}

async function main(): Promise<void> {
  const server = await startLocalServer({ config: { MaxStartups: '1000', MaxSessions: '1000' } });
  const source = await startSource();
  const expected = patternSha256(bytes, 7);
  const proxy = delay > 0 ? await startProxy(server.port) : undefined;
  let knownHosts = server.knownHostsPath;
  if (proxy) {
    // known_hosts for the proxy's port: sshd's host key lines under [127.0.0.1]:PORT.
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(server.knownHostsPath, 'utf8')).split('\n').filter((l) => l.trim());
    knownHosts = join(dirname(server.knownHostsPath), `known_hosts_proxy`);
    await writeFile(knownHosts, lines.map((l) => `[127.0.0.1]:${proxy.port} ${l.split(' ').slice(1).join(' ')}\n`).join(''));
  }
  const clients: SshClient[] = [];
  const peak = { arrayBuffers: 0, rss: 0, heapUsed: 0, windows: 0, unread: 0, liveArrayBuffers: 0, liveRss: 0, committed: 0 };
  let windows = 0;
  let unread = 0;
  const sample = () => {
    const m = process.memoryUsage();
    windows = 0;
    unread = 0;
    let committed = 0;
    for (const c of clients) {
      const w = (c as { receiveWindows?: { windows: number; committed: number } }).receiveWindows;
      if (w) {
        windows += w.windows;
        committed += w.committed;
      } else {
        for (const ch of (c as unknown as Internals).core.connection.channels) windows += ch.localWindowMax;
      }
    }
    peak.committed = Math.max(peak.committed, committed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.windows = Math.max(peak.windows, windows);
  };
  const sampler = setInterval(sample, 20);
  const gcTimer =
    gc && gcEvery > 0
      ? setInterval(() => {
          gc();
          const m = process.memoryUsage();
          peak.liveArrayBuffers = Math.max(peak.liveArrayBuffers, m.arrayBuffers);
          peak.liveRss = Math.max(peak.liveRss, m.rss);
        }, gcEvery)
      : undefined;
  const t0 = performance.now();
  // --budget: the process's shared window budget (absent before window-budget.ts existed).
  const lib = (await import('../src/index.js')) as { sharedWindowBudget?: { limit: number; peak: number } };
  if (budget >= 0 && lib.sharedWindowBudget) lib.sharedWindowBudget.limit = budget;
  const windowAutoTune = max > 0 ? { max } : undefined;
  const unreadNow = new Map<number, number>();
  let loggedIn = 0;
  let release!: () => void;
  const allIn = new Promise<void>((r) => (release = r));
  const barrier = () => {
    if (++loggedIn === conns) release();
    return allIn;
  };
  const state = new Map<number, string>();
  const watchdog = setInterval(() => {
    if (process.env.MANY_DEBUG) console.error([...state].map(([i, s]) => `${i}:${s}`).join(' '));
  }, 5000);

  let peakUnreadSum = 0;
  const results = await Promise.all(
    Array.from({ length: conns }, async (_, i) => {
      state.set(i, 'connecting');
      const ssh = await connect({
        host: server.host,
        port: proxy?.port ?? server.port,
        username: server.user,
        privateKey: await import('node:fs/promises').then((f) => f.readFile(server.keyPath, 'utf8')),
        knownHosts,
        ...(windowAutoTune ? { windowAutoTune } : {}),
        ...(channelWindow > 0 ? { channelWindow } : {}),
      });
      clients.push(ssh);
      state.set(i, 'opening');
      // All connections log in first, then all download at once (--stagger: as each logs in).
      if (!stagger) await barrier();
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: source.port });
      const hash = createHash('sha256');
      let got = 0;
      let slowStart: number | undefined;
      await new Promise<void>((resolve, reject) => {
        ch.on('data', (d: Buffer) => {
          hash.update(d);
          got += d.length;
          state.set(i, `${got}`);
          const u = ch.bytesReceived - got;
          unreadNow.set(i, u);
          let s = 0;
          for (const v of unreadNow.values()) s += v;
          if (s > peakUnreadSum) peakUnreadSum = s;
          if (slow > 0 && got > slowAfter) {
            slowStart ??= performance.now();
            const due = slowStart + ((got - slowAfter) / slow) * 1000;
            const wait = due - performance.now();
            if (wait > 1) {
              ch.pause();
              setTimeout(() => ch.resume(), wait);
            }
          }
        });
        ch.once('end', resolve);
        ch.once('error', reject);
      });
      unreadNow.delete(i);
      state.delete(i);
      await ssh.close();
      return { got, ok: got === bytes && hash.digest('hex') === expected };
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  clearInterval(watchdog);
  if (gcTimer) clearInterval(gcTimer);
  source.stop();
  proxy?.stop();
  await server.stop();
  const bad = results.filter((r) => !r.ok).length;
  const f = (n: number) => (n / MiB).toFixed(1);
  console.log(
    JSON.stringify({
      conns,
      mib: bytes / MiB,
      secs: Number(secs.toFixed(1)),
      aggregateMiBps: Number(((conns * bytes) / MiB / secs).toFixed(1)),
      bad,
      peakArrayBuffersMiB: f(peak.arrayBuffers),
      peakRssMiB: f(peak.rss),
      peakHeapUsedMiB: f(peak.heapUsed),
      peakLiveArrayBuffersAfterGcMiB: f(peak.liveArrayBuffers),
      peakSumOfWindowsMiB: f(peak.windows),
      peakUnreadSumMiB: f(peakUnreadSum),
      peakCommittedMiB: f(peak.committed),
      budgetPeakMiB: lib.sharedWindowBudget ? f(lib.sharedWindowBudget.peak) : 'n/a',
    }),
  );
  if (bad > 0) process.exitCode = 1;
}

await main();
