/**
 * The Node adapter writes to the SSH socket once per turn of the event loop (SshClient.pump), as
 * ssh(1) writes once per pass of its poll loop: when several local sockets of a -L forward are
 * readable at once (pgbench's clients, each on its own channel), their messages leave in one
 * write instead of one per channel. Against the real sshd: the writes are counted on the socket
 * the client is given, every channel's bytes come back in order, key exchanges in the middle lose
 * nothing, and a bulk write is not held back to the end of the turn.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { startEchoServer, type TestServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

/** Counts the adapter's flushes on `sock`: the writes made within one task count once. */
function countFlushes(sock: net.Socket): { flushes: number; bytes: number } {
  const c = { flushes: 0, bytes: 0 };
  let inTask = false;
  const write = sock.write.bind(sock) as (chunk: Uint8Array, cb?: (err?: Error | null) => void) => boolean;
  sock.write = ((chunk: Uint8Array, cb?: (err?: Error | null) => void) => {
    if (!inTask) {
      inTask = true;
      c.flushes++;
      queueMicrotask(() => (inTask = false));
    }
    c.bytes += chunk.length;
    return write(chunk, cb);
  }) as typeof sock.write;
  return c;
}

function localClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the next `n` bytes `s` receives (one reader at a time). */
function receive(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got < n) return;
      s.off('data', onData);
      resolve(Buffer.concat(parts));
    };
    s.on('data', onData);
  });
}

/** A message of `size` bytes that names its client and round, so a mix-up shows. */
function message(client: number, round: number, size: number): Buffer {
  const m = Buffer.alloc(size, (client * 31 + round) & 0xff);
  m.write(`${client}:${round}:`, 0);
  return m;
}

async function setUp(sshdConfig: Record<string, string> = {}) {
  const sshd = await startSshd({ config: sshdConfig });
  const sock = net.connect({ host: sshd.host, port: sshd.port, noDelay: true });
  const counted = countFlushes(sock);
  // Fixed windows: no WINDOW_ADJUST from the tuner in the middle of the counts.
  const ssh = await connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.clientKey,
    knownHosts: sshd.knownHostsPath,
    windowAutoTune: false,
    sock,
  });
  return { sshd, ssh, counted };
}

/**
 * `clients` local connections through a -L forward to an echo server; per round, each writes
 * one message in the same task and waits for its echo. Returns the flushes those rounds took.
 */
async function echoRounds(ssh: SshClient, counted: { flushes: number }, echo: TestServer, clients: number, rounds: number, size: number) {
  const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: echo.port } });
  const socks: net.Socket[] = [];
  try {
    for (let i = 0; i < clients; i++) socks.push(await localClient((fwd.address as { port: number }).port));
    // Every channel open and carrying data before the count starts.
    for (const [i, s] of socks.entries()) {
      const m = message(i, -1, size);
      const back = receive(s, size);
      s.write(m);
      expect((await back).equals(m)).toBe(true);
    }
    const before = counted.flushes;
    for (let r = 0; r < rounds; r++) {
      const sent = socks.map((_, i) => message(i, r, size));
      const echoed = socks.map((s) => receive(s, size));
      socks.forEach((s, i) => s.write(sent[i]));
      const got = await Promise.all(echoed);
      for (let i = 0; i < clients; i++) {
        if (!got[i]!.equals(sent[i]!)) throw new Error(`client ${i}, round ${r}: the echo differs from what was sent`);
      }
    }
    return counted.flushes - before;
  } finally {
    for (const s of socks) s.destroy();
    await fwd.close();
  }
}

describeInterop('one SSH socket write per turn of the event loop', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let counted: { flushes: number; bytes: number };
  let echo: TestServer;
  beforeAll(async () => {
    ({ sshd, ssh, counted } = await setUp());
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await ssh?.close();
    await echo?.close();
    await sshd?.stop();
  });

  it('four local sockets written in one task: their four messages leave in one write, and come back in order', async () => {
    const rounds = 50;
    // One write per round; one per channel (200) when each socket's read flushed on its own.
    expect(await echoRounds(ssh, counted, echo, 4, rounds, 100)).toBe(rounds);
  }, 60_000);

  it('a lone channel flushes at the end of its task; with two, a small write waits for the end of the turn, a bulk one does not', async () => {
    const a = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
    const streams = [a];
    try {
      a.resume();
      // The first test's channels are gone, and the open's own traffic settled.
      for (let i = 0; i < 100 && ssh.channelCount !== 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(ssh.channelCount).toBe(1);
      await new Promise((r) => setTimeout(r, 20));
      let before = counted.flushes;
      a.write(Buffer.alloc(100, 1));
      await Promise.resolve();
      expect(counted.flushes).toBe(before + 1);

      const b = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      streams.push(b);
      b.resume();
      await new Promise((r) => setTimeout(r, 20));
      before = counted.flushes;
      a.write(Buffer.alloc(100, 2));
      b.write(Buffer.alloc(100, 3));
      await Promise.resolve();
      expect(counted.flushes).toBe(before);
      await new Promise((r) => setImmediate(r));
      expect(counted.flushes).toBe(before + 1);
      a.write(Buffer.alloc(64 * 1024, 4));
      await Promise.resolve();
      expect(counted.flushes).toBe(before + 2);
    } finally {
      for (const s of streams) s.destroy();
    }
  });
});

describeInterop('coalesced writes across key exchanges', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let counted: { flushes: number; bytes: number };
  let echo: TestServer;
  beforeAll(async () => {
    // sshd starts a key exchange after every 64 KiB it sends or receives.
    ({ sshd, ssh, counted } = await setUp({ RekeyLimit: '64K' }));
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await ssh?.close();
    await echo?.close();
    await sshd?.stop();
  });

  it('four channels echo 800 KiB each way while sshd rekeys: every byte back, in order', async () => {
    const kexBefore = ssh.info.kexCount;
    // 4 clients × 200 rounds × 1 KiB each way.
    await echoRounds(ssh, counted, echo, 4, 200, 1024);
    expect(ssh.info.kexCount - kexBefore).toBeGreaterThan(5);
  }, 120_000);
});
