/**
 * A local client that sends and closes before the server confirmed its channel (-D, -L).
 *
 * OpenSSH's ssh does not read a channel's socket while the open is in flight (channels.c: no
 * pre-select handler for SSH_CHANNEL_OPENING), so what the client sent, and its EOF, wait in the
 * kernel; once open, the bytes are read and sent, and the EOF becomes CHANNEL_EOF after them
 * (chan_read_failed → CHAN_INPUT_WAIT_DRAIN, RFC 4254 §5.3). pure-ssh must deliver the same: every
 * byte to the target, then EOF, and (after a half-close) the target's reply back to the client.
 *
 * sshd sits behind a proxy adding {@link DELAY_MS} each way, so the confirmation comes at least
 * two delays after the request; each case checks that the client had closed before the target
 * was even connected. ssh 9.2 runs the same cases against the same sshd when present.
 *
 * A client that ends before its SOCKS request is complete has its connection closed, as ssh
 * closes a dynamic channel whose socket reads EOF before it is open (channels.c
 * channel_handle_rfd → chan_mark_dead); pure-ssh left it half-open for the forward's life.
 *
 * A reset is the other case: it tears down that channel only (the forward and the connection
 * carry on). There ssh 9.2 still sends what the kernel had received before the RST (a read error
 * is chan_read_failed too); pure-ssh drops it with the channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../bench/delay-proxy.js';
import type { SshClient } from '../src/index.js';
import { freePort, waitForPort } from './harness/net.js';
import { describeInterop, inCI, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
import { connectVia } from './harness/window.js';

const DELAY_MS = 40;
/** Fits the socket buffers: a full close loses nothing to TCP itself (see 'full' below). */
const N = 60_000;
const payload = Buffer.from(Array.from({ length: N }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** What one target connection received, and when it was accepted. */
interface Received {
  acceptedAt: number;
  bytes: number;
  sha256: string;
}

/** Reads to EOF, records it, answers `OK <n>\n` and ends. */
async function startTarget(): Promise<{ port: number; got: Received[]; accepted: number; close(): Promise<void> }> {
  const got: Received[] = [];
  const t = {
    port: 0,
    got,
    accepted: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const acceptedAt = performance.now();
    t.accepted++;
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      const b = Buffer.concat(parts);
      got.push({ acceptedAt, bytes: b.length, sha256: sha256(b) });
      s.end(`OK ${b.length}\n`);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as net.AddressInfo).port;
  return t;
}

/**
 * How the client leaves right after its last write: 'half' shuts down its write side and reads
 * the reply to the end; 'full' closes the socket once the kernel has its bytes (a clean close:
 * FIN, nothing unread), so whatever comes later is answered by RST.
 */
type Leave = 'half' | 'full';

/** Connects, sends `head` then the payload at once, leaves: what it read, and when it closed. */
function sendAndLeave(port: number, head: Buffer, leave: Leave): Promise<{ reply: Buffer; closedAt: number }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const got: Buffer[] = [];
    let closedAt = 0;
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve({ reply: Buffer.concat(got), closedAt }));
    s.on('connect', () => {
      s.write(Buffer.concat([head, payload]));
      if (leave === 'half') s.end(() => (closedAt = performance.now()));
      else
        s.end(() => {
          closedAt = performance.now();
          s.destroy();
        });
    });
  });
}

/**
 * Connects, sends an incomplete SOCKS handshake `head` and shuts down its write side: what it
 * read, and whether the proxy closed the connection (its EOF) within 5 s.
 */
function sendPartialAndEnd(port: number, head: Buffer): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply: Buffer.concat(got), closed: false });
    }, 5000);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('end', () => {
      clearTimeout(timer);
      s.end();
      resolve({ reply: Buffer.concat(got), closed: true });
    });
    s.on('connect', () => s.end(head));
  });
}

/** Incomplete handshakes: SOCKS4 cut in its port, SOCKS5 a greeting alone (answered: method "no authentication"). */
const partials = [
  { head: Buffer.from([4, 1, 0]), reply: '' },
  { head: Buffer.from([5, 1, 0]), reply: '\x05\x00' },
];

/** ssh 9.2 logged in through `proxy` with `forward` (`-D …` / `-L …`); resolves once it listens on `port`. */
async function startSsh(sshd: SshdHandle, proxy: DelayProxy, forward: string[], port: number): Promise<ChildProcess> {
  const child = spawn(
    SSH_CLIENT_PATH,
    [
      '-F', 'none', '-p', String(proxy.port), '-i', sshd.clientKeyPath, '-l', sshd.user,
      '-o', `UserKnownHostsFile=${join(sshd.dir, `known_hosts_proxy_${proxy.port}`)}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes', '-N', ...forward, '127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort('127.0.0.1', port);
  return child;
}

const socks4 = (port: number) => Buffer.from([4, 1, port >> 8, port & 0xff, 127, 0, 0, 1, 0]);
/** Greeting (no authentication) and CONNECT 127.0.0.1:port in one write, as a pipelining client sends them. */
const socks5 = (port: number) => Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff]);
const SOCKS4_GRANTED = Buffer.from([0, 90, 0, 0, 0, 0, 0, 0]);
/** Method "no authentication", then RFC 1928 §6 success with BND 0.0.0.0:0 (ssh's reply). */
const SOCKS5_GRANTED = Buffer.from([5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);

describeInterop('a client that sends and closes before its channel is confirmed', () => {
  let sshd: SshdHandle;
  let proxy: DelayProxy;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let ssh: SshClient;
  beforeAll(async () => {
    sshd = await startSshd();
    [proxy, target] = await Promise.all([startDelayProxy({ targetHost: sshd.host, targetPort: sshd.port, delayMs: DELAY_MS }), startTarget()]);
    ssh = await connectVia(sshd, proxy, {});
  });
  afterAll(async () => {
    await ssh?.close();
    await Promise.all([proxy?.close(), target?.close()]);
    await sshd?.stop();
  });

  /** One client through `port`: the target got every byte then EOF, after the client had closed; the reply as expected. */
  async function deliversAll(port: number, head: Buffer, leave: Leave, granted: Buffer): Promise<void> {
    target.got.length = 0;
    const { reply, closedAt } = await sendAndLeave(port, head, leave);
    await expect.poll(() => target.got.length, { timeout: 10_000 }).toBe(1);
    const [got] = target.got;
    expect({ bytes: got!.bytes, sha256: got!.sha256 }).toEqual({ bytes: N, sha256: sha256(payload) });
    // The client was gone before the server had even connected to the target (so before the confirmation).
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt).toBeLessThan(got!.acceptedAt);
    // A half-closed client reads the reply; a closed one gets nothing (RST to what comes later).
    expect(reply.toString('latin1')).toBe(leave === 'half' ? `${granted.toString('latin1')}OK ${N}\n` : '');
  }

  const cases = [
    { name: 'SOCKS4', head: () => socks4(target.port), granted: SOCKS4_GRANTED },
    { name: 'SOCKS5', head: () => socks5(target.port), granted: SOCKS5_GRANTED },
  ];
  for (const leave of ['half', 'full'] as const) {
    const how = leave === 'half' ? 'shuts down its write side' : 'closes';
    for (const c of cases) {
      it(`-D, ${c.name}: the client sends its request and ${N} bytes and ${how}: all arrive, then EOF`, async () => {
        const fwd = await ssh.forwardDynamic({ listen: { host: '127.0.0.1', port: 0 } });
        try {
          await deliversAll(fwd.address.port, c.head(), leave, c.granted);
        } finally {
          await fwd.close();
        }
      });
    }
    it(`-L: the client sends ${N} bytes and ${how}: all arrive, then EOF`, async () => {
      const fwd = await ssh.forwardLocal({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: target.port } });
      try {
        await deliversAll((fwd.address as { port: number }).port, Buffer.alloc(0), leave, Buffer.alloc(0));
      } finally {
        await fwd.close();
      }
    });
  }

  it('ssh 9.2 does the same (-D SOCKS4 and SOCKS5, -L; half and full close; incomplete handshakes)', async () => {
    // The reference is part of the test machines (TESTING.md): missing it under CI is a failure.
    if (!sshClientAvailable()) {
      if (inCI()) throw new Error(`${SSH_CLIENT_PATH} is missing`);
      return;
    }
    const [dport, lport] = await Promise.all([freePort(), freePort()]);
    const child = await startSsh(sshd, proxy, ['-D', `127.0.0.1:${dport}`, '-L', `127.0.0.1:${lport}:127.0.0.1:${target.port}`], dport);
    try {
      // waitForPort's probe of the -L port is a connection to the target: let it come and go first.
      target.got.length = 0;
      await waitForPort('127.0.0.1', lport);
      await expect.poll(() => target.got.length, { timeout: 10_000 }).toBe(1);
      for (const leave of ['half', 'full'] as const) {
        for (const c of cases) await deliversAll(dport, c.head(), leave, c.granted);
        await deliversAll(lport, Buffer.alloc(0), leave, Buffer.alloc(0));
      }
      for (const p of partials) {
        const r = await sendPartialAndEnd(dport, p.head);
        expect({ reply: r.reply.toString('latin1'), closed: r.closed }).toEqual({ reply: p.reply, closed: true });
      }
    } finally {
      child.kill();
    }
  });

  it('-D: a client that shuts down its write side before its request is complete gets its connection closed', async () => {
    const fwd = await ssh.forwardDynamic({ listen: { host: '127.0.0.1', port: 0 } });
    try {
      for (const p of partials) {
        const r = await sendPartialAndEnd(fwd.address.port, p.head);
        expect({ reply: r.reply.toString('latin1'), closed: r.closed }).toEqual({ reply: p.reply, closed: true });
      }
      expect(fwd.counters).toMatchObject({ connections: 2, active: 0, failed: 0 });
    } finally {
      await fwd.close();
    }
  });

  it('-D: a client reset before the confirmation tears down its channel only; the forward and the connection carry on', async () => {
    const fwd = await ssh.forwardDynamic({ listen: { host: '127.0.0.1', port: 0 } });
    try {
      target.got.length = 0;
      const before = target.accepted;
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: fwd.address.port });
        s.on('error', () => {});
        s.on('close', () => resolve());
        s.on('connect', () => s.write(Buffer.concat([socks4(target.port), payload]), () => s.resetAndDestroy()));
      });
      // The server did open it (the request was out before the reset), and closed it: the target saw EOF.
      await expect.poll(() => target.accepted, { timeout: 10_000 }).toBe(before + 1);
      await expect.poll(() => target.got.length, { timeout: 10_000 }).toBe(1);
      await expect.poll(() => fwd.counters.active, { timeout: 10_000 }).toBe(0);
      // The same forward, on the same connection, still carries the next client whole.
      await deliversAll(fwd.address.port, socks4(target.port), 'half', SOCKS4_GRANTED);
      expect(fwd.counters.failed).toBe(0);
    } finally {
      await fwd.close();
    }
  });
});
