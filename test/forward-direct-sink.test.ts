/**
 * The -L forwarder's server→client direction hands the channel's data straight to the local
 * socket while nothing is queued (ChannelStream._setDataSink) and falls back to the channel's
 * Readable when the local socket is congested. Against the real sshd: a slow local reader still
 * stalls the sender, bytes keep their order across the switches between the two paths, and the
 * EOF comes after the last byte.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { deterministicChunks, deterministicSha256, startEchoServer, startSourceServer, type TestServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function localClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** A target that writes `sizes` as separate writes (a turn of the event loop apart), then ends. */
async function startPacedSource(sizes: number[], seed: number): Promise<TestServer & { sha256: string; bytes: number }> {
  const total = sizes.reduce((a, b) => a + b, 0);
  const data = Buffer.concat([...deterministicChunks(total, seed)]);
  const server = net.createServer(async (s) => {
    s.on('error', () => {});
    s.resume();
    let off = 0;
    for (const n of sizes) {
      if (!s.write(data.subarray(off, off + n))) await new Promise((r) => s.once('drain', r));
      off += n;
      await new Promise((r) => setImmediate(r));
    }
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    accepted: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
    sha256: createHash('sha256').update(data).digest('hex'),
    bytes: total,
  };
}

describeInterop('-L server→client: direct delivery and its fallback', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  beforeAll(async () => {
    sshd = await startSshd();
    // Fixed 2 MiB windows, as ssh(1): what a stalled reader lets through is then known.
    ssh = await connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: sshd.knownHostsPath,
      windowAutoTune: false,
    });
  });
  afterAll(async () => {
    await ssh?.close();
    await sshd?.stop();
  });

  it('a local client that stops reading stalls the sender; the rest arrives intact once it reads', async () => {
    const source = await startSourceServer(64 * MiB, 21);
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: source.port } });
    try {
      const c = await localClient((fwd.address as { port: number }).port);
      c.pause();
      // Fill every buffer on the way: the forwarder must stop handing bytes to the socket.
      // Stalled: bytes came, then none for 1 s (4 looks 250 ms apart, at most 30 s), each look
      // after the I/O waiting in the loop (a timer runs before the same turn's I/O: under load a
      // look straight from the timer saw no byte yet, 0, and took that for the stall).
      const look = async (ms: number) => {
        await sleep(ms);
        await new Promise((r) => setImmediate(r));
        return fwd.counters.bytesIn;
      };
      let last = -1;
      for (let quiet = 0, end = Date.now() + 30_000; quiet < 4 && Date.now() < end; ) {
        const now = await look(250);
        quiet = now > 0 && now === last ? quiet + 1 : 0;
        last = now;
      }
      const stalledAt = fwd.counters.bytesIn;
      expect(stalledAt).toBeGreaterThan(0);
      expect(await look(500)).toBe(stalledAt);
      // Kernel buffers of both loopback sockets, one 2 MiB window and the channel's 64 KiB:
      // far from the 64 MiB a forwarder ignoring backpressure would have queued.
      expect(stalledAt).toBeLessThan(24 * MiB);
      const h = createHash('sha256');
      let bytes = 0;
      c.on('data', (d: Buffer) => {
        h.update(d);
        bytes += d.length;
      });
      c.resume();
      await new Promise((r) => c.once('end', r));
      expect(bytes).toBe(64 * MiB);
      expect(h.digest('hex')).toBe(source.sha256);
      c.destroy();
    } finally {
      await fwd.close();
      await source.close();
    }
  }, 60_000);

  it('keeps the order across pauses: echoed bytes come back as sent while the reader stops and starts', async () => {
    const echo = await startEchoServer();
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: echo.port } });
    try {
      const c = await localClient((fwd.address as { port: number }).port);
      const total = 8 * MiB;
      const h = createHash('sha256');
      let bytes = 0;
      let nextPause = 256 * 1024;
      const done = new Promise<void>((resolve) => {
        c.on('data', (d: Buffer) => {
          h.update(d);
          bytes += d.length;
          // Stop now and then, so the data queues in the channel and then flows again.
          if (bytes >= nextPause) {
            nextPause += 256 * 1024 + (bytes % 7919);
            c.pause();
            setTimeout(() => c.resume(), 15);
          }
          if (bytes >= total) resolve();
        });
      });
      // Small writes and large ones, as a chatty protocol and a bulk one would make.
      let sent = 0;
      let i = 0;
      for (const chunk of deterministicChunks(total, 22)) {
        for (let off = 0; off < chunk.length; ) {
          const n = Math.min(chunk.length - off, i++ % 3 === 0 ? 64 : 40_000);
          if (!c.write(chunk.subarray(off, off + n))) await new Promise((r) => c.once('drain', r));
          off += n;
          sent += n;
        }
      }
      expect(sent).toBe(total);
      await done;
      expect(bytes).toBe(total);
      expect(h.digest('hex')).toBe(deterministicSha256(total, 22));
      c.destroy();
    } finally {
      await fwd.close();
      await echo.close();
    }
  }, 60_000);

  it('the server\'s EOF reaches the local client after every byte, whether the bytes went direct or were queued', async () => {
    // Many small writes then the end: each message is delivered on its own, and the EOF
    // follows the last one within the same batch of packets.
    const sizes = Array.from({ length: 300 }, (_, i) => 1 + ((i * 97) % 700));
    sizes.push(3 * MiB); // a tail larger than the window, so the EOF lands behind queued data
    const source = await startPacedSource(sizes, 23);
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: source.port } });
    try {
      for (const slow of [false, true]) {
        const c = await localClient((fwd.address as { port: number }).port);
        if (slow) c.pause();
        const h = createHash('sha256');
        let bytes = 0;
        let afterEnd = 0;
        let ended = false;
        c.on('data', (d: Buffer) => {
          if (ended) afterEnd += d.length;
          h.update(d);
          bytes += d.length;
        });
        const end = new Promise<void>((r) =>
          c.once('end', () => {
            ended = true;
            r();
          }),
        );
        if (slow) {
          await sleep(600);
          c.resume();
        }
        await end;
        expect(afterEnd).toBe(0);
        expect(bytes).toBe(source.bytes);
        expect(h.digest('hex')).toBe(source.sha256);
        c.destroy();
      }
    } finally {
      await fwd.close();
      await source.close();
    }
  }, 60_000);
});
