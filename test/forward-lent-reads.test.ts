/**
 * The -L forwarder reads its accepted sockets into one reused buffer (socket-read.ts
 * lendAcceptedReads): the socket's handle moves to a new net.Socket made with `onread`. Guarded
 * here: bytes sent before the move are not lost, order is kept, pause()/resume() still stop and
 * restart the reads, EOF arrives, the server counts the connection until the new socket closes
 * (server.close() completes); and through the real sshd, a target that does not read stalls the
 * local client (the bytes the channel keeps are copies, not views of the reused buffer), and
 * everything arrives intact once it reads.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { lendAcceptedReads } from '../src/node/socket-read.js';
import { deterministicChunks, deterministicSha256 } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lendAcceptedReads', () => {
  it('keeps every byte in order, pauses, ends, and leaves the server count right', async () => {
    const reads: Buffer[] = [];
    let adopted: net.Socket | undefined;
    const ended = new Promise<void>((resolveEnd) => {
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
        // Bytes the client sent before this point wait in the kernel: none may be lost.
        setTimeout(() => {
          adopted = lendAcceptedReads(accepted, (b) => reads.push(Buffer.from(b)), { allowHalfOpen: true });
          expect(adopted).toBeDefined();
          adopted!.once('end', () => {
            adopted!.end();
            resolveEnd();
          });
        }, 50);
      });
      server.listen(0, '127.0.0.1', async () => {
        const port = (server.address() as net.AddressInfo).port;
        const c = net.connect({ port, host: '127.0.0.1' });
        c.on('error', () => {});
        c.write(Buffer.from('early bytes|'));
        await sleep(150);
        const n = await new Promise<number>((r) => server.getConnections((_e, k) => r(k)));
        expect(n).toBe(1);
        adopted!.pause();
        const before = reads.length;
        c.write(Buffer.from('while paused|'));
        await sleep(100);
        expect(reads.length).toBe(before);
        adopted!.resume();
        for (const chunk of deterministicChunks(2 * MiB, 5)) c.write(chunk);
        c.end();
        c.on('close', () => {
          adopted!.destroy();
          // The server's close completes only once its count of connections is back at 0.
          server.close(() => reads.push(Buffer.from('|server closed')));
        });
      });
    });
    await ended;
    await sleep(200);
    const all = Buffer.concat(reads);
    const head = Buffer.from('early bytes|while paused|');
    expect(all.subarray(0, head.length).toString()).toBe(head.toString());
    const body = all.subarray(head.length, head.length + 2 * MiB);
    expect(createHash('sha256').update(body).digest('hex')).toBe(deterministicSha256(2 * MiB, 5));
    expect(all.subarray(head.length + 2 * MiB).toString()).toBe('|server closed');
  }, 20_000);
});

describeInterop('-L client→server with lent reads', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  beforeAll(async () => {
    sshd = await startSshd();
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

  it('a target that does not read stalls the local client; every byte arrives intact once it reads', async () => {
    const total = 48 * MiB;
    let target: net.Socket | undefined;
    const h = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve) => {
      const server = net.createServer((s) => {
        target = s;
        s.pause();
        s.on('data', (d: Buffer) => {
          h.update(d);
          received += d.length;
        });
        s.once('end', () => {
          s.end();
          server.close();
          resolve();
        });
      });
      server.listen(0, '127.0.0.1', () => void start((server.address() as net.AddressInfo).port));
    });
    let fwdClose: (() => Promise<void>) | undefined;
    let sent = 0;
    const start = async (targetPort: number) => {
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: targetPort } });
      fwdClose = () => fwd.close();
      const c = net.connect({ host: '127.0.0.1', port: (fwd.address as { port: number }).port });
      c.on('error', () => {});
      // Writes of mixed sizes, each a separate read on the forwarder's side now and then.
      let i = 0;
      for (const chunk of deterministicChunks(total, 31)) {
        for (let off = 0; off < chunk.length; ) {
          const n = Math.min(chunk.length - off, i++ % 4 === 0 ? 100 : 30_000);
          if (!c.write(chunk.subarray(off, off + n))) await new Promise((r) => c.once('drain', r));
          off += n;
          sent += n;
        }
      }
      c.end();
    };
    // The target reads nothing: the forwarder must stop reading the local socket. Stalled: no
    // byte sent for 1 s (4 looks 250 ms apart). Each look comes after the I/O the loop has
    // waiting: a timer is run before the I/O of the same turn, so after the process had no CPU
    // for a while, a look straight from the timer sees no progress that is only not handled yet
    // (a loaded CI run took a 250 ms gap for the stall at 6.9 MB, and the client went on).
    const look = async (ms: number) => {
      await sleep(ms);
      await new Promise((r) => setImmediate(r));
      return sent;
    };
    let last = -1;
    for (let quiet = 0, end = Date.now() + 30_000; quiet < 4 && Date.now() < end; ) {
      const now = await look(250);
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    const stalledAt = sent;
    expect(await look(400)).toBe(stalledAt);
    // Kernel buffers of the loopback sockets and one 2 MiB window: far from all 48 MiB.
    expect(stalledAt).toBeLessThan(32 * MiB);
    target!.resume();
    await done;
    expect(sent).toBe(total);
    expect(received).toBe(total);
    expect(h.digest('hex')).toBe(deterministicSha256(total, 31));
    await fwdClose?.();
  }, 90_000);
});
