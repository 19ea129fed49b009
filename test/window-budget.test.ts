/**
 * The receive-window budget shared by connections (src/connection/window-budget.ts) against the
 * real sshd, behind bench/delay-proxy.ts (a path whose bandwidth-delay product makes auto-tuning
 * grow windows). Small initial windows (128 KiB) so that growth, and so the budget, matters at
 * the rates two shared cores reach; every transfer is sha256-verified (44 MiB in all).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../bench/delay-proxy.js';
import { DEFAULT_WINDOW_AUTOTUNE_MAX } from '../src/connection/window-tuning.js';
import { DEFAULT_WINDOW } from '../src/connection/channel.js';
import {
  connect,
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

describeInterop('window budget shared by connections, against sshd behind a delaying proxy', () => {
  let sshd: SshdHandle;
  let proxy: DelayProxy;
  let source: SourceServer;
  let bigSource: SourceServer;
  let smallSource: SourceServer;
  beforeAll(async () => {
    smallSource = await startSourceServer(1 * MiB, 13);
    sshd = await startSshd({ config: { MaxStartups: '100' } });
    proxy = await startDelayProxy({ targetHost: sshd.host, targetPort: sshd.port, delayMs: DELAY_MS });
    source = await startSourceServer(3 * MiB, 11);
    bigSource = await startSourceServer(8 * MiB, 12);
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), source?.close(), bigSource?.close(), smallSource?.close()]);
    await sshd?.stop();
  });

  it('eight concurrent downloads: their windows together stay within initial windows + the budget, every byte intact', async () => {
    const conns = 8;
    const budget = new WindowBudget(256 * KiB);
    const logs: string[] = [];
    const clients = await Promise.all(
      Array.from({ length: conns }, () =>
        connectVia(sshd, proxy, { channelWindow: INITIAL, windowAutoTune: { budget }, debug: (m) => logs.push(m) }),
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
