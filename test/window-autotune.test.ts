/**
 * Receive-window auto-tuning (src/connection/window-tuning.ts) on a simulated long fat pipe:
 * the in-memory pair with a fake clock, a one-way delay and a bottleneck bandwidth on the
 * server → client path. Every byte is checked against what the server sent.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW, MAX_WINDOW } from '../src/connection/channel.js';
import { WindowBudget } from '../src/connection/window-budget.js';
import { FULL_PIPE_HOLD_MS, MIN_HOLD_MS, RttEstimator, WindowTuner, type WindowAutoTuneOptions } from '../src/connection/window-tuning.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { Pair } from './support/pair.js';
import { seededRandom } from './support/fake-server.js';

/** A prime-length block repeated: a lost, repeated or reordered piece breaks the comparison. */
const PERIOD = 65_521;
const BLOCK = Buffer.from(seededRandom(42)(PERIOD));
function pattern(offset: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let o = 0; o < n; ) {
    const at = (offset + o) % PERIOD;
    const k = Math.min(n - o, PERIOD - at);
    BLOCK.copy(out, o, at, at + k);
    o += k;
  }
  return out;
}

interface Link {
  /** One-way delay, ms. */
  oneWayMs: number;
  /** Server → client bottleneck, bytes per ms. */
  bytesPerMs: number;
  /** Simulated duration of the transfer, ms. */
  durationMs: number;
  autoTune: false | WindowAutoTuneOptions;
  /** Reader speed in bytes per ms (undefined: consumes everything at once). */
  readerBytesPerMs?: number;
  /**
   * Give the client core the simulated clock (`now`, as the adapters do), so the channel open's
   * round trip is timed too. False: only WINDOW_ADJUST turnarounds are (the time is passed to
   * channelConsumed alone).
   */
  clock?: boolean;
}

interface Outcome {
  delivered: number;
  /** Largest (window edge the server knows − bytes the client consumed) seen at the server. */
  maxOutstanding: number;
  /** Largest number of bytes received and not yet read. */
  maxUnread: number;
  logs: string[];
}

function simulate(link: Link): Outcome {
  let now = 0;
  const p = new Pair({
    client: { crypto: nodeCryptoProvider, windowAutoTune: link.autoTune, ...(link.clock === false ? {} : { now: () => now }) },
    server: { crypto: nodeCryptoProvider },
  }).start();
  expect(p.client.isAuthenticated).toBe(true);
  // The open goes out at 0 and its confirmation arrives one round trip later.
  const ch = p.client.openDirectTcpip({ host: 'localhost', port: 5432, originatorAddress: '127.0.0.1', originatorPort: 50000 });
  now = 2 * link.oneWayMs;
  p.pump();
  const sch = p.server.channelForClient(ch)!;
  const initialEdge = sch.clientWindow;
  expect(initialEdge).toBe(DEFAULT_WINDOW);

  let linkFree = 0;
  const toClient: { at: number; bytes: Uint8Array }[] = [];
  const toServer: { at: number; bytes: Uint8Array }[] = [];
  let written = 0;
  let delivered = 0;
  let consumed = 0;
  let unread = 0;
  let maxUnread = 0;
  let maxOutstanding = 0;
  const logs: string[] = [];

  const topUp = () => {
    while (p.server.pendingFor(sch.id) < 4 * 1024 * 1024) {
      p.server.write(sch.id, pattern(written, 1024 * 1024));
      written += 1024 * 1024;
    }
  };
  const serverOut = () => {
    for (const b of p.server.takeOutput()) {
      const start = Math.max(now, linkFree);
      linkFree = start + b.length / link.bytesPerMs;
      toClient.push({ at: linkFree + link.oneWayMs, bytes: b });
    }
  };
  const clientOut = () => {
    for (const b of p.client.takeOutput() ?? []) toServer.push({ at: now + link.oneWayMs, bytes: b.slice() });
  };
  const consume = (n: number) => {
    if (n <= 0) return;
    unread -= n;
    consumed += n;
    p.client.channelConsumed(ch, n, now);
  };
  const clientEvents = () => {
    for (let e = p.client.nextEvent(); e; e = p.client.nextEvent()) {
      if (e.type === 'log') logs.push(e.message);
      if (e.type === 'closed') throw e.error ?? new Error('closed');
      if (e.type !== 'channel-data') continue;
      expect(Buffer.compare(Buffer.from(e.data), pattern(delivered, e.data.length))).toBe(0);
      delivered += e.data.length;
      unread += e.data.length;
      maxUnread = Math.max(maxUnread, unread);
      if (link.readerBytesPerMs === undefined) consume(e.data.length);
    }
  };

  topUp();
  serverOut();
  let nextRead = 1;
  while (now < link.durationMs) {
    const tc = toClient[0]?.at ?? Infinity;
    const ts = toServer[0]?.at ?? Infinity;
    const tr = link.readerBytesPerMs === undefined ? Infinity : nextRead;
    now = Math.min(tc, ts, tr);
    if (now === tr) {
      consume(Math.min(unread, link.readerBytesPerMs!));
      nextRead += 1;
    } else if (now === tc) {
      p.client.receive(toClient.shift()!.bytes);
    } else {
      p.server.receive(toServer.shift()!.bytes);
      const edge = initialEdge + sch.adjusts.reduce((a, b) => a + b, 0);
      maxOutstanding = Math.max(maxOutstanding, edge - consumed);
      topUp();
      serverOut();
    }
    clientEvents();
    clientOut();
  }
  expect(p.server.violations).toEqual([]);
  return { delivered, maxOutstanding, maxUnread, logs };
}

describe('receive-window auto-tuning on a delayed link (simulated clock)', () => {
  // 50 ms RTT, 60 MB/s bottleneck: BDP 3 MB, more than OpenSSH's fixed 2 MiB window.
  const lfn = { oneWayMs: 25, bytesPerMs: 60_000, durationMs: 1500 };

  it('fixed windows (windowAutoTune: false) stay at 2 MiB and cap the rate at window / RTT', () => {
    const o = simulate({ ...lfn, autoTune: false });
    expect(o.maxOutstanding).toBeLessThanOrEqual(DEFAULT_WINDOW);
    // 2 MiB per 50 ms ≈ 42 MB/s at best, under the 60 MB/s link.
    expect(o.delivered).toBeLessThan(1.5 * 42_000 * 1.05 * 1000);
  });

  it('the granted window grows beyond 2 MiB, stays under the cap, and the link fills', () => {
    const max = 8 * 1024 * 1024;
    const fixed = simulate({ ...lfn, autoTune: false });
    const tuned = simulate({ ...lfn, autoTune: { max } });
    expect(tuned.maxOutstanding).toBeGreaterThan(DEFAULT_WINDOW);
    expect(tuned.maxOutstanding).toBeLessThanOrEqual(max);
    expect(tuned.maxOutstanding).toBeLessThanOrEqual(MAX_WINDOW);
    expect(tuned.logs.some((l) => /channel 0: window 2097152 -> \d+/.test(l))).toBe(true);
    // Near the link rate (60 MB/s over 1.5 s, less the first round trips), and well above fixed.
    expect(tuned.delivered).toBeGreaterThan(fixed.delivered * 1.25);
    expect(tuned.delivered).toBeGreaterThan(0.75 * 60_000 * 1500);
  });

  it('a growth that raised the rate by less than the probe gain keeps the part of it that carries the rate', () => {
    // 34 MB/s: a little more than the 2 MiB window carries at 50 ms (~31 MB/s: the adjusts go
    // out as the reader consumes, and the link's queue adds to the round trip), well under twice that.
    const link = { ...lfn, bytesPerMs: 34_000, durationMs: 3000 };
    const fixed = simulate({ ...link, autoTune: false });
    const tuned = simulate({ ...link, autoTune: {} });
    const resizes = tuned.logs.filter((l) => / window \d+ -> /.test(l));
    expect(resizes[0]).toMatch(/^channel 0: window 2097152 -> \d+ \(probe;/);
    expect(resizes[1]).toMatch(/^channel 0: window \d+ -> (\d+) \(the larger window raised the delivery rate by \d+%: kept what carries it;/);
    const settled = Number(/-> (\d+)/.exec(resizes[1]!)![1]);
    // The old window × the rate's gain (under 1.2) × 1.25: between the old window and the probe's.
    expect(settled).toBeGreaterThan(DEFAULT_WINDOW);
    expect(settled).toBeLessThanOrEqual(Math.ceil(DEFAULT_WINDOW * 1.2 * 1.25));
    expect(tuned.delivered).toBeGreaterThan(fixed.delivered * 1.05);
    expect(tuned.delivered).toBeGreaterThan(0.85 * 34_000 * 3000);
  });

  it('a tight cap holds: the window never exceeds it', () => {
    const max = 3 * 1024 * 1024;
    const o = simulate({ ...lfn, oneWayMs: 50, autoTune: { max } });
    expect(o.maxOutstanding).toBeGreaterThan(DEFAULT_WINDOW);
    expect(o.maxOutstanding).toBeLessThanOrEqual(max);
  });

  it('a window budget holds the growth: initial window + the budget, all of it lent and no more', () => {
    const budget = new WindowBudget(512 * 1024);
    const o = simulate({ ...lfn, autoTune: { max: 8 * 1024 * 1024, budget } });
    expect(o.maxOutstanding).toBeGreaterThan(DEFAULT_WINDOW);
    expect(o.maxOutstanding).toBeLessThanOrEqual(DEFAULT_WINDOW + budget.limit);
    expect(budget.peak).toBe(budget.limit);
    expect(o.logs.some((l) => /; window budget;/.test(l))).toBe(true);
  });

  it('a slow reader does not grow the window and stalls the sender at it', () => {
    // Reader at 5 MB/s on a 60 MB/s link: the window is not what limits.
    const o = simulate({ ...lfn, autoTune: { max: 64 * 1024 * 1024 }, readerBytesPerMs: 5_000 });
    expect(o.maxOutstanding).toBeLessThanOrEqual(DEFAULT_WINDOW);
    expect(o.maxUnread).toBeLessThanOrEqual(DEFAULT_WINDOW);
    expect(o.logs.filter((l) => / window \d+ -> /.test(l))).toEqual([]);
    expect(o.delivered).toBeLessThan(5_000 * 1500 + DEFAULT_WINDOW);
  });
});

describe('receive-window auto-tuning on loopback, the receiver the bottleneck (simulated clock)', () => {
  // 0.1 ms RTT; the "link" at 150 MB/s stands for the client's CPU: what it cannot decrypt yet
  // waits in the kernel, so every byte granted is queued ahead of the next adjust's turnaround.
  const loopback = { oneWayMs: 0.05, bytesPerMs: 150_000, durationMs: 300, autoTune: {} };

  it("keeps the initial window: the open's round trip shows the queue is not the path", () => {
    const o = simulate(loopback);
    expect(o.logs.filter((l) => / window \d+ -> /.test(l))).toEqual([]);
    expect(o.maxOutstanding).toBeLessThanOrEqual(DEFAULT_WINDOW);
    // The window never limits: the link runs at its rate.
    expect(o.delivered).toBeGreaterThan(0.9 * 150_000 * 300);
  });

  it('timed by WINDOW_ADJUST turnarounds alone, the queue looks like a long path: the probe raises nothing and is undone', () => {
    // 2 MiB queued at 150 MB/s ≈ 14 ms "RTT" (as the first opens read on a busy process start).
    const o = simulate({ ...loopback, clock: false });
    const resizes = o.logs.filter((l) => / window \d+ -> /.test(l));
    expect(resizes[0]).toMatch(/^channel 0: window 2097152 -> \d+ \(probe; rtt 1\d\.\d ms/);
    expect(resizes[1]).toMatch(/^channel 0: window \d+ -> 2097152 \(the larger window did not raise the delivery rate;/);
    // Held: no second probe within the run.
    expect(resizes).toHaveLength(2);
    expect(o.delivered).toBeGreaterThan(0.9 * 150_000 * 300);
  });
});

describe('RttEstimator', () => {
  it('keeps the smallest sample for good, floors clock resolution, ignores nonsense', () => {
    const r = new RttEstimator();
    expect(r.min).toBe(Infinity);
    r.sample(12);
    r.sample(0.3);
    r.sample(40); // a queued sample never raises it, however old the minimum
    expect(r.min).toBe(0.3);
    r.sample(-5);
    r.sample(NaN);
    expect(r.min).toBe(0.3);
    r.sample(0);
    expect(r.min).toBe(0.05);
  });

  it("is the connection's: a second channel's tuner starts from the first one's samples", () => {
    const shared = new RttEstimator();
    const a = new WindowTuner(1000, shared);
    a.granted(1000, 10);
    a.consumed(100, 30, 1001, 1000, 0);
    const b = new WindowTuner(1000, shared);
    expect(b.rttMin).toBe(20);
  });
});

describe('WindowTuner', () => {
  it('takes the RTT from an adjust to the first byte past its edge, keeping the minimum', () => {
    const t = new WindowTuner(1000);
    t.granted(1000, 10);
    t.consumed(100, 40, 1000, 1000, 0); // not past the edge yet
    expect(t.rttMin).toBe(Infinity);
    t.consumed(100, 61, 1001, 1000, 0);
    expect(t.rttMin).toBe(51);
    t.granted(2000, 70);
    t.consumed(100, 200, 2500, 1000, 0); // a late sample (queueing, slow reader) does not raise it
    expect(t.rttMin).toBe(51);
  });

  it('grows when a third of the window or more is delivered per RTT, keeps a growth that raised the rate, undoes one that did not, then holds', () => {
    const t = new WindowTuner(1000);
    t.granted(1000, 0);
    t.consumed(1, 10, 1001, 1000, 0); // rtt 10
    t.consumed(0, 10, 1001, 1000, 0); // the first interval starts
    // Three intervals at 1000 (450 bytes per RTT), then a probe.
    expect(t.consumed(450, 20, 1451, 1000, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(450, 30, 1901, 1000, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(450, 40, 2351, 1000, 0)).toEqual({ kind: 'resize', window: 1450, reason: 'probe' });
    // At 1450 the rate rises to 700 per RTT (≥ 1.2 × 450): kept, and the next probe follows.
    expect(t.consumed(700, 50, 3051, 1450, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(700, 60, 3751, 1450, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(700, 70, 4451, 1450, 0)).toEqual({ kind: 'resize', window: 2150, reason: 'probe' });
    // At 2150 it stays at 700: undone, back to 1450.
    expect(t.consumed(700, 80, 5151, 2150, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(700, 90, 5851, 2150, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(700, 100, 6551, 2150, 0)).toEqual({ kind: 'resize', window: 1450, reason: 'the larger window did not raise the delivery rate' });
    // Held for MIN_HOLD_MS (16 RTTs = 160 ms is less), however full the window looks.
    for (let now = 110; now < 100 + MIN_HOLD_MS; now += 10) expect(t.consumed(700, now, 7000, 1450, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(700, 100 + MIN_HOLD_MS, 7000, 1450, 0)).toEqual({ kind: 'resize', window: 2150, reason: 'probe' });
  });

  it('holds twice as long after each probe in a row that was not kept, up to FULL_PIPE_HOLD_MS; a kept one starts over', () => {
    const t = new WindowTuner(1000);
    t.granted(1000, 0);
    t.consumed(1, 100, 1001, 1000, 0); // rtt 100: the first hold is 16 RTTs, 1.6 s
    t.consumed(0, 100, 1001, 1000, 0);
    let now = 100;
    let window = 1000;
    /** One-RTT intervals of `perRtt` bytes until the tuner resizes; when, and its decision. */
    const untilResize = (perRtt: number) => {
      for (;;) {
        now += 100;
        const d = t.consumed(perRtt, now, 1e9, window, 0);
        if (d.kind === 'resize') {
          window = d.window;
          return { at: now, ...d };
        }
      }
    };
    const undo = { kind: 'resize', reason: 'the larger window did not raise the delivery rate' };
    expect(untilResize(450)).toMatchObject({ at: 400, window: 1450, reason: 'probe' });
    const holds: number[] = [];
    for (let round = 0; round < 6; round++) {
      const back = untilResize(450); // the larger window raises nothing
      expect(back).toMatchObject({ ...undo, window: 1000 });
      const next = untilResize(450);
      expect(next).toMatchObject({ window: 1450, reason: 'probe' });
      holds.push(next.at - back.at);
    }
    // 1.6, 3.2, 6.4 s, then FULL_PIPE_HOLD_MS (probes come at interval ends, 100 ms apart).
    expect(holds).toEqual([1600, 3200, 6400, FULL_PIPE_HOLD_MS, FULL_PIPE_HOLD_MS, FULL_PIPE_HOLD_MS]);
    // A kept probe (700 ≥ 1.2 × 450 per RTT) starts the count over: the next hold is 1.6 s again.
    expect(untilResize(700)).toMatchObject({ window: 2150, reason: 'probe' });
    const back = untilResize(700);
    expect(back).toMatchObject({ ...undo, window: 1450 });
    expect(untilResize(700).at - back.at).toBe(1600);
  });

  it('a growth that raised the rate by less than PROBE_GAIN keeps the part that carries it: the old window scaled by the gain, with a quarter to spare', () => {
    const t = new WindowTuner(1000);
    t.granted(1000, 0);
    t.consumed(1, 10, 1001, 1000, 0); // rtt 10
    t.consumed(0, 10, 1001, 1000, 0);
    expect(t.consumed(900, 20, 1e9, 1000, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(900, 30, 1e9, 1000, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(900, 40, 1e9, 1000, 0)).toEqual({ kind: 'resize', window: 1900, reason: 'probe' });
    // 1000 per RTT at 1900: +11%, under 1.2 but over 1.05: 1000 × 1000/900 × 1.25 = 1389.
    expect(t.consumed(1000, 50, 1e9, 1900, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(1000, 60, 1e9, 1900, 0)).toEqual({ kind: 'keep' });
    expect(t.consumed(1000, 70, 1e9, 1900, 0)).toEqual({ kind: 'resize', window: 1389, reason: 'the larger window raised the delivery rate by 11%: kept what carries it' });
  });

  it('shrinks after 4 RTTs under an eighth of the window with the reader behind, never below the start; not when nothing waits unread', () => {
    const t = new WindowTuner(1000);
    t.granted(1000, 0);
    t.consumed(1, 10, 1001, 4000, 0); // rtt 10
    t.consumed(0, 10, 1001, 4000, 0);
    for (const now of [20, 30, 40]) expect(t.consumed(100, now, 4000, 4000, 1000)).toEqual({ kind: 'keep' });
    expect(t.consumed(600, 50, 3501, 4000, 1000)).toEqual({ kind: 'keep' }); // a normal one resets the count
    for (const now of [60, 70, 80]) expect(t.consumed(100, now, 4000, 4000, 1000)).toEqual({ kind: 'keep' });
    expect(t.consumed(100, 90, 4000, 4000, 1000)).toEqual({ kind: 'resize', window: 2000, reason: 'the reader fell behind' });
    // Slow, but nothing unread: the sender or the path, not the reader.
    for (const now of [100, 110, 120, 130, 140]) expect(t.consumed(10, now, 4000, 1500, 0)).toEqual({ kind: 'keep' });
    for (const now of [150, 160, 170]) expect(t.consumed(10, now, 4000, 1500, 400)).toEqual({ kind: 'keep' });
    expect(t.consumed(10, 180, 4000, 1500, 400)).toEqual({ kind: 'resize', window: 1000, reason: 'the reader fell behind' });
  });
});
