/**
 * The receive-window budget shared by connections (src/connection/window-budget.ts) against the
 * real sshd, behind bench/delay-proxy.ts (a path whose bandwidth-delay product makes auto-tuning
 * grow windows). Small initial windows (128 KiB) so that growth, and so the budget, matters at
 * the rates two shared cores reach; every transfer is sha256-verified (44 MiB in all).
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../bench/delay-proxy.js';
import { DEFAULT_WINDOW_AUTOTUNE_MAX } from '../src/connection/window-tuning.js';
import { DEFAULT_WINDOW } from '../src/connection/channel.js';
import {
  connect,
  type ChannelStream,
  DEFAULT_WINDOW_BUDGET,
  sharedWindowBudget,
  UsageError,
  WindowBudget,
} from '../src/index.js';
import { connectTo } from './harness/client.js';
import { startSourceServer, type SourceServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { connectVia, drain, windowSizes } from './harness/window.js';

const MiB = 1024 * 1024;
const KiB = 1024;
const DELAY_MS = 15;
/**
 * One way delay of the eight-downloads case's path: long enough that 128 KiB windows, not the CPU,
 * limit eight downloads on a loaded 2-core machine (8 × 128 KiB per ≥ 80 ms RTT ≈ 13 MB/s), so
 * growth raises their rate and is kept until the budget stops it. At 15 ms, CI under load was
 * CPU-bound: each probe raised nothing, was undone, and the budget was never reached.
 */
const SLOW_DELAY_MS = 40;
const INITIAL = 128 * KiB;
/** ChannelStream's highWaterMark: bytes below it count as consumed while still in its buffer. */
const STREAM_HWM = 64 * KiB;

it('the default budget lets one connection grow to the default per-connection cap', () => {
  // One download alone must still reach the long-fat-pipe window (README "Long fat pipes").
  expect(DEFAULT_WINDOW_BUDGET).toBeGreaterThanOrEqual(DEFAULT_WINDOW_AUTOTUNE_MAX - DEFAULT_WINDOW);
  expect(sharedWindowBudget.limit).toBe(DEFAULT_WINDOW_BUDGET);
  const b = new WindowBudget(10);
  expect([b.take(4), b.take(8), b.take(1)]).toEqual([4, 6, 0]);
  b.give(7);
  expect([b.inUse, b.peak]).toEqual([3, 10]);
  b.limit = 2;
  expect([b.take(5), b.inUse]).toEqual([0, 3]);
  for (const bad of [-1, 1.5, NaN, '1000']) expect(() => new WindowBudget(bad as number)).toThrow(UsageError);
  expect(new WindowBudget(Infinity).take(5)).toBe(5);
  // A bad limit set later is refused too: a NaN would spread into every connection sharing it.
  expect(() => (b.limit = NaN)).toThrow(UsageError);
  expect(b.limit).toBe(2);
});

it('connect() refuses windowAutoTune values that are not what they say, before any login', async () => {
  const cases: unknown[] = ['yes', null, 1, { max: -1 }, { max: 0 }, { max: 'x' }, { budget: {} }, { budget: 1000 }, { budget: null }];
  for (const windowAutoTune of cases) {
    await expect(
      connect({ host: '127.0.0.1', port: 1, username: 'x', knownHosts: '/dev/null', windowAutoTune: windowAutoTune as never }),
    ).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringContaining('windowAutoTune') });
  }
});

it('connect() refuses a channelWindow that is no uint32 window before opening any socket', async () => {
  for (const channelWindow of [0, 1.5, 2 ** 32]) {
    // Port 1 on loopback refuses: a socket opened first would fail with ECONNREFUSED instead.
    await expect(connect({ host: '127.0.0.1', port: 1, username: 'x', knownHosts: '/dev/null', channelWindow })).rejects.toMatchObject({
      code: 'ERR_USAGE',
      message: expect.stringContaining('channelWindow must be a whole number of bytes'),
    });
  }
});

/**
 * A target that sends on demand: each line `N` asks for N more bytes (a repeating pattern), the
 * line `end` ends the connection. `sent[i]`: bytes and sha256 of all that connection i was sent.
 */
async function startOnDemandSource(): Promise<{ port: number; sent: { bytes: number; sha256: string }[]; close(): Promise<void> }> {
  const pattern = Buffer.from(Array.from({ length: 64 * KiB + 1 }, (_, i) => (i * 31 + (i >> 9)) & 0xff));
  const sent: { bytes: number; sha256: string }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const i = sent.length;
    sent.push({ bytes: 0, sha256: '' });
    const hash = createHash('sha256');
    let offset = 0;
    let line = '';
    s.on('data', (d: Buffer) => {
      line += d.toString('latin1');
      for (let nl = line.indexOf('\n'); nl >= 0; nl = line.indexOf('\n')) {
        const cmd = line.slice(0, nl);
        line = line.slice(nl + 1);
        if (cmd === 'end') {
          sent[i] = { bytes: offset, sha256: hash.digest('hex') };
          s.end();
          continue;
        }
        for (let n = Number(cmd); n > 0; ) {
          const start = offset % pattern.length;
          const chunk = pattern.subarray(start, Math.min(pattern.length, start + n));
          hash.update(chunk);
          s.write(chunk);
          offset += chunk.length;
          n -= chunk.length;
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Reads `ch` as it comes, hashing: `bytes` so far, `done` at its end. */
function readCounting(ch: ChannelStream): { bytes: number; done: Promise<{ bytes: number; sha256: string }> } {
  const r = { bytes: 0, done: undefined as unknown as Promise<{ bytes: number; sha256: string }> };
  const hash = createHash('sha256');
  r.done = new Promise((resolve, reject) => {
    ch.on('data', (d: Buffer) => {
      hash.update(d);
      r.bytes += d.length;
    });
    ch.once('end', () => resolve({ bytes: r.bytes, sha256: hash.digest('hex') }));
    ch.once('error', reject);
  });
  r.done.catch(() => {});
  return r;
}

describeInterop('window budget shared by connections, against sshd behind a delaying proxy', () => {
  let sshd: SshdHandle;
  let proxy: DelayProxy;
  let slowProxy: DelayProxy;
  let source: SourceServer;
  let bigSource: SourceServer;
  let smallSource: SourceServer;
  beforeAll(async () => {
    smallSource = await startSourceServer(1 * MiB, 13);
    sshd = await startSshd({ config: { MaxStartups: '100' } });
    proxy = await startDelayProxy({ targetHost: sshd.host, targetPort: sshd.port, delayMs: DELAY_MS });
    slowProxy = await startDelayProxy({ targetHost: sshd.host, targetPort: sshd.port, delayMs: SLOW_DELAY_MS });
    source = await startSourceServer(3 * MiB, 11);
    bigSource = await startSourceServer(8 * MiB, 12);
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), slowProxy?.close(), source?.close(), bigSource?.close(), smallSource?.close()]);
    await sshd?.stop();
  });

  it('eight concurrent downloads: their windows together stay within initial windows + the budget, every byte intact', async () => {
    const conns = 8;
    const budget = new WindowBudget(256 * KiB);
    const logs: string[] = [];
    const clients = await Promise.all(
      Array.from({ length: conns }, () =>
        connectVia(sshd, slowProxy, { channelWindow: INITIAL, windowAutoTune: { budget }, debug: (m) => logs.push(m) }),
      ),
    );
    const bound = conns * INITIAL + budget.limit;
    let peakWindows = 0;
    let peakCommitted = 0;
    const sample = () => {
      let windows = 0;
      let committed = 0;
      for (const c of clients) {
        const w = c.receiveWindows;
        windows += w.windows;
        committed += w.committed;
      }
      peakWindows = Math.max(peakWindows, windows);
      peakCommitted = Math.max(peakCommitted, committed);
    };
    const timer = setInterval(sample, 2);
    try {
      const results = await Promise.all(
        clients.map(async (ssh) => drain(await ssh.openDirectTcpip({ host: source.host, port: source.port }), sample)),
      );
      for (const r of results) expect(r).toEqual({ bytes: source.bytes, sha256: source.sha256 });
      if (process.env.WIN_DEBUG) console.log(budget.peak, peakWindows, peakCommitted, logs.filter((l) => l.includes('window')).join('\n'));
      // The budget was what stopped growth (so without it the windows would have grown past it)...
      expect(logs.some((l) => l.includes('window budget'))).toBe(true);
      expect(budget.peak).toBeGreaterThan(budget.limit / 2);
      // ...and it held: sizes and what could be buffered (received unread + still grantable).
      expect(budget.peak).toBeLessThanOrEqual(budget.limit);
      expect(peakWindows).toBeGreaterThan(conns * INITIAL);
      expect(peakWindows).toBeLessThanOrEqual(bound);
      expect(peakCommitted).toBeLessThanOrEqual(bound);
    } finally {
      clearInterval(timer);
      await Promise.all(clients.map((c) => c.close()));
    }
    // Closed channels give back what they borrowed.
    expect(budget.inUse).toBe(0);
  });

  it('one connection alone still grows its window to its cap from the shared default budget', async () => {
    const logs: string[] = [];
    // Any growth is at least a third of the window (window-tuning.ts), so past this cap.
    const max = 2.5 * MiB;
    const before = sharedWindowBudget.inUse;
    const ssh = await connectVia(sshd, proxy, { windowAutoTune: { max }, debug: (m) => logs.push(m) });
    try {
      const got = await drain(await ssh.openDirectTcpip({ host: bigSource.host, port: bigSource.port }));
      expect(got).toEqual({ bytes: bigSource.bytes, sha256: bigSource.sha256 });
      if (process.env.WIN_DEBUG) console.log(logs.filter((l) => l.includes('window')).join('\n'));
      expect(Math.max(...windowSizes(logs))).toBe(max);
      expect(logs.some((l) => l.includes('window budget'))).toBe(false);
    } finally {
      await ssh.close();
    }
    expect(sharedWindowBudget.inUse).toBe(before);
  });

  it('a reader that stops still stalls sshd within its window, and the budget comes back when it drains', async () => {
    const budget = new WindowBudget(4 * MiB);
    const logs: string[] = [];
    const ssh = await connectVia(sshd, proxy, { channelWindow: INITIAL, windowAutoTune: { budget }, debug: (m) => logs.push(m) });
    try {
      const ch = await ssh.openDirectTcpip({ host: bigSource.host, port: bigSource.port });
      let stalledAt: number | undefined;
      let stalledReceived = 0;
      let windowAtStall = 0;
      let checked = false;
      const done = drain(ch, (read) => {
        // Fast for 4 MiB (the window grows from the budget), then nothing read for 1 s.
        if (stalledAt !== undefined || read < 4 * MiB) return;
        stalledAt = read;
        windowAtStall = ssh.receiveWindows.committed;
        ch.pause();
        setTimeout(() => {
          stalledReceived = ch.bytesReceived;
          setTimeout(() => {
            // The sender stopped: nothing arrived in the last 400 ms of the pause.
            checked = ch.bytesReceived === stalledReceived;
            ch.resume();
          }, 400);
        }, 600);
      });
      const got = await done;
      expect(got).toEqual({ bytes: bigSource.bytes, sha256: bigSource.sha256 });
      expect(checked).toBe(true);
      expect(stalledReceived - stalledAt!).toBeGreaterThan(0);
      expect(stalledReceived - stalledAt!).toBeLessThanOrEqual(Math.max(windowAtStall, INITIAL + budget.limit) + STREAM_HWM);
      expect(budget.peak).toBeGreaterThan(0);
      expect(budget.peak).toBeLessThanOrEqual(budget.limit);
    } finally {
      await ssh.close();
    }
    expect(budget.inUse).toBe(0);
  });

  it('a channel read to its end and never ended gives its borrowed window back at the server\'s EOF', async () => {
    // The tester's case: the stream is read to 'end' but the caller never calls end(), so the
    // channel stays open (our side has not sent EOF) and its CLOSE never comes.
    const budget = new WindowBudget(4 * MiB);
    const ssh = await connectVia(sshd, proxy, { channelWindow: 32 * KiB, windowAutoTune: { budget } });
    try {
      for (let i = 0; i < 2; i++) {
        const ch = await ssh.openDirectTcpip({ host: smallSource.host, port: smallSource.port });
        expect(await drain(ch)).toEqual({ bytes: smallSource.bytes, sha256: smallSource.sha256 });
        expect(ch.destroyed).toBe(false);
        expect(budget.peak).toBeGreaterThan(0);
        expect(ssh.receiveWindows.borrowed).toBe(0);
        expect(budget.inUse).toBe(0);
      }
    } finally {
      await ssh.close();
    }
  });

  it('a reader that pauses and resumes, read to its end after the server\'s EOF, leaves nothing committed', async () => {
    // The fresh tester's case (receive-windows-stale-after-eof.sh): bytes held back while the
    // stream's buffer was full are reported consumed as they are read after the EOF, so
    // receiveWindows.committed comes back to 0 as for a reader that never pauses. Here the whole
    // 1 MiB and the EOF arrive unread (2 MiB window), then a pause()/resume() reader reads it.
    const budget = new WindowBudget(4 * MiB);
    const ssh = await connectTo(sshd, { windowAutoTune: { budget } });
    try {
      const ch = await ssh.openDirectTcpip({ host: smallSource.host, port: smallSource.port });
      for (let t = 0; t < 500 && !(ch.bytesReceived === smallSource.bytes && ssh.receiveWindows.windows === 0); t++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(ch.bytesReceived).toBe(smallSource.bytes);
      expect(ssh.receiveWindows.windows).toBe(0);
      // Delivered and unread: beyond the stream's buffer, not yet reported consumed.
      expect(ssh.receiveWindows.committed).toBeGreaterThan(STREAM_HWM);
      const got = await drain(ch, (read) => {
        if (read % (128 * KiB) < 16 * KiB) {
          ch.pause();
          setTimeout(() => ch.resume(), 5);
        }
      });
      expect(got).toEqual({ bytes: smallSource.bytes, sha256: smallSource.sha256 });
      expect(ch.readableLength).toBe(0);
      expect(ch.destroyed).toBe(false);
      expect(ssh.receiveWindows).toEqual({ windows: 0, committed: 0, borrowed: 0 });
      expect(budget.inUse).toBe(0);
    } finally {
      await ssh.close();
    }
  });

  it('bytes received before the server\'s EOF and not read stay lent until read or closed: unread windows stay within the budget', async () => {
    // Channel after channel downloads until its window grew from the budget, stops reading, and
    // gets half a window more and the server's EOF unread. What all of them hold unread never
    // exceeds the budget plus each one's initial window (and stream read-ahead), though each
    // one's EOF came: a channel may not give back at its EOF the budget its unread bytes still
    // use (window-budget.ts).
    const budget = new WindowBudget(1 * MiB);
    // Half the usual initial window: a window that grew to 256 KiB or more makes the case (on a
    // loaded machine the tuner's probes often stop there, see window-tuning.ts).
    const initial = INITIAL / 2;
    const logs: string[] = [];
    const ssh = await connectVia(sshd, proxy, { channelWindow: initial, windowAutoTune: { budget }, debug: (m) => logs.push(m) });
    const perChannel = (held: number) => Math.max(0, held - initial - STREAM_HWM);
    // Half of it unread is more than an initial window and the read-ahead.
    const GROWN = 384 * KiB;
    const onDemand = await startOnDemandSource();
    try {
      const channels: { ch: ChannelStream; reader: ReturnType<typeof readCounting>; held: number }[] = [];
      // Three channels, or more (five at most) until one window grew past GROWN.
      for (let i = 0; i < 3 || (i < 5 && !channels.some((c) => perChannel(c.held) > 0)); i++) {
        const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: onDemand.port });
        const reader = readCounting(ch);
        // Rounds of 4 MiB read at once until the window grew (it grows while the reader keeps
        // up; six rounds at most), then half a window more and the end, not read: sshd may send
        // all of it (everything before was read), then EOF. A probe that raised nothing holds the
        // window for FULL_PIPE_HOLD_MS (10 s, window-tuning.ts): rounds after it can grow it only
        // if they outlast the hold (a loaded machine), so once an earlier channel grew enough
        // for the case, they stop there.
        const holding = () => logs.some((l) => l.startsWith(`channel ${ch.channel}: window `) && l.includes('did not raise the delivery rate'));
        const enough = () => holding() && channels.some((c) => perChannel(c.held) > 0);
        for (let round = 0; round < 6 && ssh.receiveWindows.windows < GROWN && !enough(); round++) {
          const want = reader.bytes + 4 * MiB;
          ch.write(`${4 * MiB}\n`);
          for (let t = 0; t < 2000 && reader.bytes < want; t++) await new Promise((r) => setTimeout(r, 5));
          expect(reader.bytes).toBe(want);
        }
        ch.pause();
        const readBeforeStop = reader.bytes;
        const tail = Math.floor(ssh.receiveWindows.windows / 2);
        ch.write(`${tail}\nend\n`);
        for (let t = 0; t < 1000 && ssh.receiveWindows.windows > 0; t++) await new Promise((r) => setTimeout(r, 10));
        // The server's EOF came (its window is no longer counted) after the tail, all unread.
        expect(ssh.receiveWindows.windows).toBe(0);
        expect(ch.bytesReceived).toBe(readBeforeStop + tail);
        channels.push({ ch, reader, held: tail });
        const held = channels.map((c) => c.held);
        if (process.env.WIN_DEBUG) console.log('held', held, 'inUse', budget.inUse, 'committed', ssh.receiveWindows.committed);
        // The unread bytes beyond each initial window (and read-ahead) are still lent...
        expect(budget.inUse).toBeGreaterThanOrEqual(held.reduce((a, h) => a + perChannel(h), 0));
        // ...so all that is held unread stays within the budget plus the initial windows.
        expect(held.reduce((a, h) => a + h, 0)).toBeLessThanOrEqual(budget.limit + channels.length * (initial + STREAM_HWM));
        expect(budget.inUse).toBeLessThanOrEqual(budget.limit);
      }
      // Windows did grow from the budget, so the case says something.
      expect(channels.some((c) => perChannel(c.held) > 0)).toBe(true);
      // Read to the end (our side never ended: no CLOSE comes): what they borrowed comes back.
      for (const [i, c] of channels.slice(0, -1).entries()) {
        c.ch.resume();
        const got = await c.reader.done;
        expect(got).toEqual(onDemand.sent[i]);
        expect(c.ch.destroyed).toBe(false);
      }
      const last = channels[channels.length - 1]!;
      expect(budget.inUse).toBe(ssh.receiveWindows.borrowed);
      expect(budget.inUse).toBeGreaterThanOrEqual(perChannel(last.held));
      // The last one is closed unread: once it is gone, nothing is lent.
      last.ch.destroy();
      for (let t = 0; t < 500 && ssh.channelCount >= channels.length; t++) await new Promise((r) => setTimeout(r, 10));
      expect(ssh.channelCount).toBe(channels.length - 1);
      expect(budget.inUse).toBe(0);
    } finally {
      await Promise.all([ssh.close(), onDemand.close()]);
    }
    expect(budget.inUse).toBe(0);
  });

  it('a closed channel read late grants no window to the channel that reuses its number', async () => {
    const ssh = await connectTo(sshd);
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      // A: 1 MiB arrives and is not read; the server's EOF and CLOSE free channel number 0.
      const a = await ssh.openDirectTcpip({ host: smallSource.host, port: smallSource.port });
      a.end();
      await until(() => ssh.channelCount === 0);
      expect(ssh.channelCount).toBe(0);
      // B takes number 0 and is not read either: sshd stops at its 2 MiB window.
      const b = await ssh.openDirectTcpip({ host: source.host, port: source.port });
      expect(b.channel).toBe(a.channel);
      await until(() => b.bytesReceived >= DEFAULT_WINDOW - STREAM_HWM);
      // Reading A now reports its bytes consumed: they must not count as B's.
      expect(await drain(a)).toEqual({ bytes: smallSource.bytes, sha256: smallSource.sha256 });
      await new Promise((r) => setTimeout(r, 300));
      if (process.env.WIN_DEBUG) console.log('B received', b.bytesReceived, 'A', a.bytesReceived, a.channel, b.channel);
      expect(b.bytesReceived).toBeLessThanOrEqual(DEFAULT_WINDOW + STREAM_HWM);
      expect(await drain(b)).toEqual({ bytes: source.bytes, sha256: source.sha256 });
    } finally {
      await ssh.close();
    }
  });
});
