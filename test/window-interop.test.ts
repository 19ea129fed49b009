/**
 * Receive-window auto-tuning against the real sshd, behind bench/delay-proxy.ts (a user-space
 * proxy adding a delay each way, so the path has a bandwidth-delay product above OpenSSH's
 * fixed 2 MiB window). Every transfer is hash-verified.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../bench/delay-proxy.js';
import { deterministicChunks, startSinkServer, startSourceServer, type SinkServer, type SourceServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { connectVia, drain, windowSizes } from './harness/window.js';

const MiB = 1024 * 1024;
const DELAY_MS = 15;
const ch64k = 64 * 1024;

describeInterop('receive-window auto-tuning against sshd behind a delaying proxy', () => {
  let sshd: SshdHandle;
  let rekeying: SshdHandle;
  let proxy: DelayProxy;
  let rekeyProxy: DelayProxy;
  let source: SourceServer;
  let smallSource: SourceServer;
  let sink: SinkServer;
  beforeAll(async () => {
    [sshd, rekeying] = await Promise.all([startSshd(), startSshd({ config: { RekeyLimit: '1M' } })]);
    proxy = await startDelayProxy({ targetHost: sshd.host, targetPort: sshd.port, delayMs: DELAY_MS });
    rekeyProxy = await startDelayProxy({ targetHost: rekeying.host, targetPort: rekeying.port, delayMs: DELAY_MS });
    source = await startSourceServer(48 * MiB, 5);
    smallSource = await startSourceServer(12 * MiB, 6);
    sink = await startSinkServer();
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), rekeyProxy?.close(), source?.close(), smallSource?.close(), sink?.close()]);
    await Promise.all([sshd?.stop(), rekeying?.stop()]);
  });

  it('a download grows the window beyond 2 MiB, within the cap, every byte intact', async () => {
    const logs: string[] = [];
    const max = 16 * MiB;
    const ssh = await connectVia(sshd, proxy, { windowAutoTune: { max }, debug: (m) => logs.push(m) });
    try {
      const ch = await ssh.openDirectTcpip({ host: source.host, port: source.port });
      const got = await drain(ch);
      expect(got).toEqual({ bytes: source.bytes, sha256: source.sha256 });
      const sizes = windowSizes(logs);
      if (process.env.WIN_DEBUG) console.log(logs.filter((l) => l.includes('window')).join('\n'));
      expect(Math.max(...sizes)).toBeGreaterThan(2 * MiB);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(max);
    } finally {
      await ssh.close();
    }
  });

  it('a reader that stops stalls sshd: what is buffered stays under the cap, nothing is lost', async () => {
    const logs: string[] = [];
    const max = 6 * MiB;
    // The stream counts bytes below its highWaterMark (64 KiB) as consumed: they may sit unread too.
    const bound = max + ch64k;
    const ssh = await connectVia(sshd, proxy, { windowAutoTune: { max }, debug: (m) => logs.push(m) });
    try {
      const ch = await ssh.openDirectTcpip({ host: source.host, port: source.port });
      let maxBuffered = 0;
      let stalledAt: number | undefined;
      let stalledReceived = 0;
      const sample = setInterval(() => {
        maxBuffered = Math.max(maxBuffered, ch.readableLength);
      }, 5);
      const done = drain(ch, (read) => {
        maxBuffered = Math.max(maxBuffered, ch.bytesReceived - read);
        // Fast for 16 MiB (the window may grow), then nothing read for 1.5 s.
        if (stalledAt === undefined && read >= 16 * MiB) {
          stalledAt = read;
          ch.pause();
          setTimeout(() => {
            stalledReceived = ch.bytesReceived;
            setTimeout(() => {
              // The sender stopped: nothing more arrived in the last 500 ms of the pause.
              expect(ch.bytesReceived).toBe(stalledReceived);
              ch.resume();
            }, 500);
          }, 1000);
        }
      });
      const got = await done;
      clearInterval(sample);
      expect(got).toEqual({ bytes: source.bytes, sha256: source.sha256 });
      expect(stalledReceived - stalledAt!).toBeGreaterThan(0);
      expect(stalledReceived - stalledAt!).toBeLessThanOrEqual(bound);
      expect(maxBuffered).toBeLessThanOrEqual(bound);
      expect(Math.max(2 * MiB, ...windowSizes(logs))).toBeLessThanOrEqual(max);
    } finally {
      await ssh.close();
    }
  });

  it('RekeyLimit 1M: a download and an upload at once across dozens of rekeys, hash-verified', async () => {
    const logs: string[] = [];
    const ssh = await connectVia(rekeying, rekeyProxy, { debug: (m) => logs.push(m) });
    try {
      const down = await ssh.openDirectTcpip({ host: smallSource.host, port: smallSource.port });
      const up = await ssh.openDirectTcpip({ host: sink.host, port: sink.port });
      up.resume();
      const size = 8 * MiB;
      const upHash = createHash('sha256');
      const sent = (async () => {
        for (const chunk of deterministicChunks(size, 9)) {
          upHash.update(chunk);
          if (!up.write(chunk)) await new Promise((r) => up.once('drain', r));
        }
        up.end();
      })();
      const [got] = await Promise.all([drain(down), sent]);
      const received = await sink.next();
      expect(got).toEqual({ bytes: smallSource.bytes, sha256: smallSource.sha256 });
      expect(received).toEqual({ bytes: size, sha256: upHash.digest('hex') });
      expect(logs.filter((l) => /^rekey done/.test(l)).length).toBeGreaterThan(10);
    } finally {
      await ssh.close();
    }
  });
});
