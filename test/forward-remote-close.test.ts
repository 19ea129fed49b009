/**
 * Issue 8.1: the service behind a `-L` tunnel answers and closes while the local client is still
 * uploading. The local socket must then be closed for good once the answer is out, as ssh(1)
 * does, not left half-closed and unread in FIN-WAIT-2 (one descriptor leaked per connection,
 * the client's upload hanging). Through the library's forwardLocal and through the CLI, against
 * the real sshd; the process's descriptors and TCP states are read from /proc.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { deterministicChunks, deterministicSha256, freePort, type TestServer } from './harness/net.js';
import { cliEnv, itWithHome } from './harness/home.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { runCli } from './support/cli-run.js';
import { fdCount, tcpSocketsOf, type HeldSocket } from './support/proc-sockets.js';

const MiB = 1024 * 1024;
const CONNECTIONS = 20;
const REPLY_BYTES = 4 * MiB;
const REPLY_SEED = 81;
/**
 * How long the careful test server keeps reading before close(). Its kernel still holds part of
 * the 4 MiB reply until sshd reads it (sshd reads only as our channel window allows), and a
 * close() with data unsent resets the connection and drops that tail: 300 ms was too short on a
 * loaded 2-core machine (the reply arrived cut at 2.4–4.0 MiB in ~1 run in 6).
 */
const LINGER_MS = 2000;

/**
 * Reads one chunk, answers `reply`, then closes the connection (not a half-close). With
 * `linger`, it closes the way a careful server does: FIN after the reply, input read and dropped
 * for a moment, then close(). Without, it closes at once, and since input is unread, the
 * kernel resets the connection (RFC 1122 §4.2.2.13), which would also drop the tail of a long
 * reply still in its own send queue.
 */
async function startAnswerAndClose(reply: () => Iterable<Buffer>, linger: boolean): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.once('data', () => {
      s.pause();
      const chunks = [...reply()];
      if (!linger) {
        chunks.forEach((c, i) => (i === chunks.length - 1 ? s.write(c, () => s.destroy()) : s.write(c)));
        return;
      }
      for (const c of chunks) s.write(c);
      s.resume();
      s.end(() => setTimeout(() => s.destroy(), LINGER_MS));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

interface Upload {
  received: Buffer;
  sha256: string;
  /** ms from the first byte received to the socket's 'close'; Infinity if it never closed. */
  closeAfter: number;
  uploaded: number;
}

/**
 * Connect and upload, without end, until the forwarder closes us. The client half-closes
 * nothing and keeps writing after the reply's EOF (allowHalfOpen), like a program that
 * uploads first and reads later: only a full close of the local socket ends it. (sshd itself
 * notices the far service is gone only when it next writes to it, so the upload goes on.)
 */
function uploadUntilClosed(port: number, timeoutMs = 2000): Promise<Upload> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const got: Buffer[] = [];
    const hash = createHash('sha256');
    let firstByte = 0;
    let uploaded = 0;
    let done = false;
    s.on('error', () => {}); // a reset after the reply is the close we expect
    s.on('data', (d: Buffer) => {
      firstByte ||= Date.now();
      hash.update(d);
      if (got.length < 4) got.push(d);
    });
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({
        received: Buffer.concat(got),
        sha256: hash.digest('hex'),
        closeAfter: closed ? Date.now() - (firstByte || Date.now()) : Infinity,
        uploaded,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.once('close', () => finish(true));
    s.once('connect', async () => {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      while (!s.destroyed && !s.writableEnded) {
        uploaded += chunk.length;
        if (!s.write(chunk)) await drainOrClose(s);
      }
    });
  });
}

function drainOrClose(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

/** Polls until the process holds no more than `fds` descriptors and no socket but `keep`. */
async function settled(pid: number, fds: number, forwardPort: number): Promise<{ fds: number; leftover: HeldSocket[] }> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const leftover = tcpSocketsOf(pid).filter(
      (s) => s.state === 'FIN-WAIT-2' || (s.localPort === forwardPort && s.state !== 'LISTEN'),
    );
    const now = fdCount(pid);
    if ((now <= fds && leftover.length === 0) || Date.now() > deadline) return { fds: now, leftover };
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeInterop('a channel closed by the server while the local client still sends (issue 8.1)', () => {
  let sshd: SshdHandle;
  let bye: TestServer;
  let big: TestServer;
  beforeAll(async () => {
    [sshd, bye, big] = await Promise.all([
      startSshd(),
      startAnswerAndClose(() => [Buffer.from('bye')], false),
      startAnswerAndClose(() => deterministicChunks(REPLY_BYTES, REPLY_SEED), true),
    ]);
  });
  afterAll(async () => {
    await Promise.all([bye?.close(), big?.close()]);
    await sshd?.stop();
  });

  /** 20 connections one after the other; each must get `bye` and be closed promptly. */
  async function twentyUploads(port: number): Promise<Upload[]> {
    const results: Upload[] = [];
    for (let i = 0; i < CONNECTIONS; i++) results.push(await uploadUntilClosed(port));
    return results;
  }

  function expectPromptCloses(results: Upload[]): void {
    for (const r of results) {
      expect(r.received.toString()).toBe('bye');
      // ssh(1) closes within ~100 ms; the bound leaves room for a loaded 2-core machine.
      expect(r.closeAfter).toBeLessThan(1000);
    }
    const sorted = results.map((r) => r.closeAfter).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(250);
  }

  it('forwardLocal: the local socket is closed after the reply; no descriptor or FIN-WAIT-2 socket is left', async () => {
    const ssh: SshClient = await connectTo(sshd);
    try {
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: bye.port } });
      const port = (fwd.address as { port: number }).port;
      const errors: Error[] = [];
      fwd.on('connection-error', (e: Error) => errors.push(e));
      const baseline = fdCount(process.pid);
      const results = await twentyUploads(port);
      expectPromptCloses(results);
      const after = await settled(process.pid, baseline, port);
      expect(after.leftover).toEqual([]);
      expect(after.fds).toBeLessThanOrEqual(baseline);
      // An orderly close by the server is not a failure of the connection.
      expect(errors).toEqual([]);
      expect(fwd.counters.active).toBe(0);
      expect(ssh.channelCount).toBe(0);
      await fwd.close();
    } finally {
      await ssh.close();
    }
  }, 60_000);

  it('forwardLocal: a 4 MiB reply reaches the uploading client whole before the close (sha256)', async () => {
    const ssh = await connectTo(sshd);
    try {
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: big.port } });
      const port = (fwd.address as { port: number }).port;
      for (let i = 0; i < 3; i++) {
        const r = await uploadUntilClosed(port, 15_000);
        expect(r.closeAfter).toBeLessThan(Infinity);
        expect(r.sha256).toBe(deterministicSha256(REPLY_BYTES, REPLY_SEED));
      }
      await fwd.close();
    } finally {
      await ssh.close();
    }
  }, 60_000);

  it('openDirectTcpip: writes pending when the server closes complete, the reply stays readable, no error', async () => {
    const ssh = await connectTo(sshd);
    try {
      for (let i = 0; i < 3; i++) {
        const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: bye.port });
        const errors: Error[] = [];
        ch.on('error', (e: Error) => errors.push(e));
        const closed = new Promise<void>((r) => ch.once('close', r));
        // More than the channel window, without waiting: writes are still queued at the CLOSE.
        for (let n = 0; n < 8 * MiB; n += 64 * 1024) ch.write(Buffer.alloc(64 * 1024, 0x62));
        // Read with 'data' rather than `for await`, which destroys a Duplex whose write side is
        // still open when the server's EOF ends the loop (before the CLOSE).
        const got: Buffer[] = [];
        ch.on('data', (d: Buffer) => got.push(d));
        await closed;
        expect(Buffer.concat(got).toString()).toBe('bye');
        expect(errors).toEqual([]);
        expect(ch.writableFinished).toBe(true);
      }
      expect(ssh.channelCount).toBe(0);
    } finally {
      await ssh.close();
    }
  }, 60_000);

  itWithHome('pure-ssh -N -L: the same 20 connections leave the process with no extra descriptor and no FIN-WAIT-2 socket', async () => {
    const lport = await freePort();
    const run = runCli([
      '-F', 'none', '-N', '-v',
      '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', sshd.user,
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-L', `127.0.0.1:${lport}:127.0.0.1:${bye.port}`, sshd.host,
    ], { env: cliEnv(sshd.dir) });
    try {
      await run.waitFor(/Entering interactive session/);
      const baseline = fdCount(run.pid);
      const results = await twentyUploads(lport);
      expectPromptCloses(results);
      const after = await settled(run.pid, baseline, lport);
      expect(after.leftover).toEqual([]);
      expect(after.fds).toBeLessThanOrEqual(baseline);
      expect(run.child.exitCode).toBe(null); // the tunnel stays up
      expect(run.stderr()).not.toMatch(/open failed|Killed/);
    } finally {
      await run.kill();
    }
  }, 60_000);
});
