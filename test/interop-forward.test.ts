/**
 * Issue 3 against the real OpenSSH sshd: direct-tcpip channels and local forwarding, flow
 * control, EOF/CLOSE, refusals, and a server that dies mid-transfer.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { ChannelOpenError } from '../src/errors.js';
import {
  deterministicChunks,
  deterministicSha256,
  startEchoServer,
  startServerFirst,
  startSinkServer,
  startSourceServer,
  type SinkServer,
  type SourceServer,
  type TestServer,
} from './harness/net.js';
import { describeInterop, sshdSuite, startSshd, type SshdHandle } from './harness/sshd.js';

const MiB = 1024 * 1024;

function connectTo(sshd: SshdHandle, extra: Partial<Parameters<typeof connect>[0]> = {}) {
  return connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.clientKey,
    knownHosts: sshd.knownHostsPath,
    ...extra,
  });
}

/** Connect a local TCP client to the forward and collect what it receives. */
function localClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

function readAll(s: net.Socket): Promise<{ bytes: number; sha256: string; text: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    const head: Buffer[] = [];
    s.on('data', (d: Buffer) => {
      h.update(d);
      bytes += d.length;
      if (bytes <= 4096) head.push(d);
    });
    s.once('end', () => resolve({ bytes, sha256: h.digest('hex'), text: Buffer.concat(head).toString() }));
    s.once('error', reject);
  });
}

async function writeDeterministic(s: NodeJS.WritableStream & { once: Function }, n: number, seed: number) {
  for (const chunk of deterministicChunks(n, seed)) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
}

describeInterop('local forwarding against sshd', () => {
  const sshd = sshdSuite();
  let ssh: SshClient;
  let source: SourceServer;
  let sink: SinkServer;
  let echo: TestServer;
  beforeAll(async () => {
    ssh = await connectTo(sshd);
    source = await startSourceServer(64 * MiB, 3);
    sink = await startSinkServer();
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await ssh?.close();
    await Promise.all([source?.close(), sink?.close(), echo?.close()]);
  });

  it('carries 64 MiB down and 64 MiB up through a -L tunnel, verified by hash', async () => {
    const down = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: source.port } });
    const up = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: sink.port } });
    expect(down.address).toMatchObject({ host: '127.0.0.1' });
    const c1 = await localClient((down.address as { port: number }).port);
    const got = await readAll(c1);
    expect(got.bytes).toBe(64 * MiB);
    expect(got.sha256).toBe(source.sha256);

    const c2 = await localClient((up.address as { port: number }).port);
    const result = sink.next();
    await writeDeterministic(c2, 64 * MiB, 9);
    c2.end();
    const r = await result;
    expect(r.bytes).toBe(64 * MiB);
    expect(r.sha256).toBe(deterministicSha256(64 * MiB, 9));
    expect(down.counters.bytesIn).toBe(64 * MiB);
    expect(up.counters.bytesOut).toBe(64 * MiB);
    c2.destroy();
    await down.close();
    await up.close();
  }, 120_000);

  it('multiplexes 50 concurrent connections through one tunnel', async () => {
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: echo.port } });
    const port = (fwd.address as { port: number }).port;
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const s = await localClient(port);
        const reply = readAll(s);
        await writeDeterministic(s, 256 * 1024, 100 + i);
        s.end();
        const r = await reply;
        return r.sha256 === deterministicSha256(256 * 1024, 100 + i) && r.bytes === 256 * 1024;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(fwd.counters.connections).toBe(50);
    await fwd.close();
  }, 60_000);

  it('delivers a server-first target\'s bytes and its close', async () => {
    const greeter = await startServerFirst('220 hello from the far side\r\n');
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: greeter.port } });
    const s = await localClient((fwd.address as { port: number }).port);
    const r = await readAll(s);
    expect(r.text).toBe('220 hello from the far side\r\n');
    s.destroy();
    await fwd.close();
    await greeter.close();
  });

  it('half-closes both ways: a client that shuts down its write side still gets the reply', async () => {
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: echo.port } });
    const s = await localClient((fwd.address as { port: number }).port);
    const reply = readAll(s);
    s.end('ping after which I shut down my write side');
    const r = await reply;
    expect(r.text).toBe('ping after which I shut down my write side');
    await fwd.close();
  });

  it('a channel stream is a Duplex: write, end, read the echo', async () => {
    const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port, originatorAddress: '127.0.0.1', originatorPort: 4242 });
    const chunks: Buffer[] = [];
    ch.on('data', (d: Buffer) => chunks.push(d));
    const ended = new Promise((r) => ch.once('end', r));
    ch.end('hello through the channel');
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('hello through the channel');
  });

  it('reports a closed target port as "connect failed" (reason 2) and keeps the connection up', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const err = await ssh.openDirectTcpip({ host: '127.0.0.1', port: closed }).catch((e) => e);
    expect(err).toBeInstanceOf(ChannelOpenError);
    expect(err.reason).toBe(2);
    expect(err.message).toMatch(/^channel \d+: open failed: connect failed: /);
    // Only that channel failed.
    const ok = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
    ok.end('still up');
    const chunks: Buffer[] = [];
    for await (const d of ok) chunks.push(d as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('still up');
  });

  it('a slow local reader stalls the far sender at the window, memory stays bounded, nothing lost', async () => {
    const big = await startSourceServer(32 * MiB, 11);
    try {
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: big.port });
      ch.pause();
      await new Promise((r) => setTimeout(r, 800));
      // The server may only have sent one window (2 MiB) plus what the stream buffers.
      expect(ch.readableLength).toBeLessThanOrEqual(2 * MiB + 64 * 1024);
      const h = createHash('sha256');
      let bytes = 0;
      let maxBuffered = 0;
      for await (const d of ch) {
        h.update(d as Buffer);
        bytes += (d as Buffer).length;
        maxBuffered = Math.max(maxBuffered, ch.readableLength);
        if (bytes % (4 * MiB) < 32 * 1024) await new Promise((r) => setTimeout(r, 20));
      }
      expect(bytes).toBe(32 * MiB);
      expect(h.digest('hex')).toBe(big.sha256);
      expect(maxBuffered).toBeLessThanOrEqual(2 * MiB + 64 * 1024);
    } finally {
      await big.close();
    }
  }, 60_000);

  it('a target that never answers does not block other channels', async () => {
    // A listener that accepts but never reads or writes.
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as net.AddressInfo).port;
    const stuck = await ssh.openDirectTcpip({ host: '127.0.0.1', port });
    const ok = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
    ok.end('unblocked');
    const chunks: Buffer[] = [];
    for await (const d of ok) chunks.push(d as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('unblocked');
    stuck.destroy();
    silent.close();
  });
});

describeInterop('refusals and failures against sshd', () => {
  it('PermitOpen denial → reason 1 administratively prohibited, the tunnel stays up', async () => {
    const echo = await startEchoServer();
    const sshd = await startSshd({ config: { PermitOpen: `127.0.0.1:${echo.port}` } });
    try {
      const ssh = await connectTo(sshd, { debug: (m) => process.env.DEBUG_TEST && console.log(m) });
      const errors: Error[] = [];
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: echo.port + 1 } });
      fwd.on('connection-error', (e) => errors.push(e));
      const s = await localClient((fwd.address as { port: number }).port);
      await new Promise((r) => s.once('close', r));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ChannelOpenError);
      expect((errors[0] as ChannelOpenError).reason).toBe(1);
      expect(errors[0]!.message).toMatch(/^channel \d+: open failed: administratively prohibited: /);
      // The permitted target still works over the same connection.
      const ok = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      ok.end('permitted');
      const chunks: Buffer[] = [];
      for await (const d of ok) chunks.push(d as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('permitted');
      expect(fwd.counters.failed).toBe(1);
      await ssh.close();
    } finally {
      await sshd.stop();
      await echo.close();
    }
  });

  it('AllowTcpForwarding no → reason 1', async () => {
    const sshd = await startSshd({ config: { AllowTcpForwarding: 'no' } });
    try {
      const ssh = await connectTo(sshd);
      const err = await ssh.openDirectTcpip({ host: '127.0.0.1', port: 9 }).catch((e) => e);
      expect(err).toBeInstanceOf(ChannelOpenError);
      expect(err.reason).toBe(1);
      await ssh.close();
    } finally {
      await sshd.stop();
    }
  });

  it('answers sshd keepalives (ClientAliveInterval 1) and stays connected', async () => {
    const sshd = await startSshd({ config: { ClientAliveInterval: '1', ClientAliveCountMax: '2' } });
    try {
      const ssh = await connectTo(sshd);
      await new Promise((r) => setTimeout(r, 3500));
      const echo = await startEchoServer();
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      ch.end('alive');
      const chunks: Buffer[] = [];
      for await (const d of ch) chunks.push(d as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('alive');
      await ssh.close();
      await echo.close();
    } finally {
      await sshd.stop();
    }
  }, 20_000);

  it('sshd killed mid-transfer: every channel and local socket ends with a clear error, nothing hangs', async () => {
    const source = await startSourceServer(512 * MiB, 5);
    const sshd = await startSshd();
    try {
      const ssh = await connectTo(sshd);
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: source.port } });
      const port = (fwd.address as { port: number }).port;
      const sockets = await Promise.all([localClient(port), localClient(port)]);
      const ends = sockets.map(
        (s) =>
          new Promise<number>((resolve) => {
            let n = 0;
            s.on('data', (d: Buffer) => (n += d.length));
            s.on('error', () => {});
            s.once('close', () => resolve(n));
          }),
      );
      const direct = await ssh.openDirectTcpip({ host: '127.0.0.1', port: source.port });
      const directErr = new Promise<Error>((resolve) => direct.once('error', resolve));
      direct.resume();
      await new Promise((r) => setTimeout(r, 300));
      sshd.killConnections();
      const closedWith = await ssh.closed;
      expect(closedWith?.code).toBe('ERR_CONNECTION_LOST');
      expect(closedWith?.message).toMatch(/^(Connection to 127\.0\.0\.1 closed by remote host\.|Read from remote host 127\.0\.0\.1: Connection reset by peer)$/);
      const e = await directErr;
      expect((e as { code?: string }).code).toBe('ERR_CONNECTION_LOST');
      const received = await Promise.all(ends);
      expect(received.every((n) => n < 512 * MiB)).toBe(true);
      expect(sockets.every((s) => s.destroyed)).toBe(true);
    } finally {
      await sshd.stop();
      await source.close();
    }
  }, 30_000);

  it('client keepalives detect a dead server (ServerAliveInterval)', async () => {
    const sshd = await startSshd();
    try {
      const ssh = await connectTo(sshd, { keepaliveInterval: 200, keepaliveCountMax: 2 });
      // Freeze the per-connection sshd processes: the TCP connection stays, the server goes silent.
      const { execSync } = await import('node:child_process');
      const pids = execSync(`ps -o pid= --ppid ${sshd.pid}`).toString().trim().split(/\s+/).filter(Boolean);
      const all = pids.flatMap((p) => [p, ...execSync(`ps -o pid= --ppid ${p} || true`).toString().trim().split(/\s+/).filter(Boolean)]);
      for (const p of all) process.kill(Number(p), 'SIGSTOP');
      try {
        const err = await ssh.closed;
        expect(err?.code).toBe('ERR_KEEPALIVE_TIMEOUT');
        expect(err?.message).toMatch(/not responding/);
      } finally {
        for (const p of all) {
          try {
            process.kill(Number(p), 'SIGCONT');
          } catch {}
        }
      }
    } finally {
      await sshd.stop();
    }
  }, 20_000);
});
