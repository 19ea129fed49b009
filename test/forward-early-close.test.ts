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
 * carry on), and what the kernel had received before the RST still goes, then EOF: ssh 9.2 reads
 * it once the channel is open, and its read error is chan_read_failed too. pure-ssh -D dropped
 * what was still in the kernel (or in its paused socket's Readable) with the channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../bench/delay-proxy.js';
import type { SshClient } from '../src/index.js';
import { freePort, PYTHON, waitForPort } from './harness/net.js';
import { describeInterop, inCI, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
import { connectVia } from './harness/window.js';

const DELAY_MS = 40;
/** The reset cases' delay each way (see there). */
const SLOW_DELAY_MS = 150;
/** Fits the socket buffers: a full close loses nothing to TCP itself (see 'full' below). */
const N = 60_000;
const payload = Buffer.from(Array.from({ length: N }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** What one target connection received, and when it was accepted. */
interface Received {
  acceptedAt: number;
  /** The same, in ms since the epoch (to compare with another process's clock). */
  acceptedAtEpoch: number;
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
    const acceptedAtEpoch = Date.now();
    t.accepted++;
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      const b = Buffer.concat(parts);
      got.push({ acceptedAt, acceptedAtEpoch, bytes: b.length, sha256: sha256(b) });
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

/**
 * A SOCKS client in Python (Node's net cannot say how much of what it sent the peer's kernel
 * took): connects, sends `head`, then each part {@link PART_GAP_MS} apart (the request is read on
 * its own first), waits until the peer's kernel has acknowledged everything (its send queue,
 * SIOCOUTQ, empty; at most 60 ms, past a delayed ACK), and resets (SO_LINGER 0: RST; what is
 * still queued here is dropped). Prints the bytes the peer had taken and when it reset (ms since
 * the epoch). A full receive window (ssh reads nothing while the open is in flight) leaves bytes
 * here: those never reach the target, with either client.
 */
const RESET_CLIENT = `
import fcntl, socket, struct, sys, termios, time
port, head, sizes, gap = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), [int(n) for n in sys.argv[3].split(',')], float(sys.argv[4]) / 1000
data = sys.stdin.buffer.read()
s = socket.create_connection(('127.0.0.1', port))
s.sendall(head)
s.setblocking(False)
sent, at = 0, 0
for n in sizes:
    time.sleep(gap)
    part, at = data[at:at + n], at + n
    try:
        while part:
            k = s.send(part)
            sent, part = sent + k, part[k:]
    except BlockingIOError:
        pass
queued = lambda: struct.unpack('i', fcntl.ioctl(s, termios.TIOCOUTQ, b'\\0\\0\\0\\0'))[0]
deadline = time.time() + 0.06
while queued() and time.time() < deadline:
    time.sleep(0.002)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
taken = sent - queued()
s.close()
print(taken, time.time() * 1000)
`;

/** Gap between the client's parts: the request is read alone first; all is out well before the confirmation's two delays. */
const PART_GAP_MS = 10;

/** {@link RESET_CLIENT} through `port`: how many bytes of `parts` the proxy's kernel took, and when the client reset. */
function sendThenReset(port: number, head: Buffer, parts: Buffer[]): Promise<{ taken: number; resetAt: number }> {
  return new Promise((resolve, reject) => {
    const py = spawn(PYTHON, ['-I', '-S', '-c', RESET_CLIENT, String(port), head.toString('hex'), parts.map((p) => p.length).join(','), String(PART_GAP_MS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr.on('data', (d: Buffer) => (err += d.toString()));
    py.on('error', reject);
    py.on('exit', (code) => {
      const [taken, resetAt] = out.trim().split(' ').map(Number);
      if (code === 0 && taken !== undefined && resetAt !== undefined) resolve({ taken, resetAt });
      else reject(new Error(`the Python client exited with ${code}: ${err}`));
    });
    py.stdin.end(Buffer.concat(parts));
  });
}

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

  /**
   * A client that sent its SOCKS request, then data, then reset, all before the confirmation:
   * the target got every byte the proxy's kernel had taken, then EOF. ssh does not read the socket
   * while the open is in flight (channels.c: SSH_CHANNEL_OPENING has no handler), then reads what
   * the kernel kept, and its read error is an EOF (channel_handle_rfd → chan_read_failed: the data
   * goes out, then CHANNEL_EOF). Returns the bytes taken.
   */
  async function deliversBeforeReset(who: string, port: number, parts: Buffer[], to: typeof target = target): Promise<number> {
    to.got.length = 0;
    const { taken, resetAt } = await sendThenReset(port, socks4(to.port), parts);
    await expect.poll(() => to.got.length, { timeout: 10_000 }).toBe(1);
    const [got] = to.got;
    const sent = Buffer.concat(parts).subarray(0, taken);
    expect({ bytes: got!.bytes, sha256: got!.sha256 }, who).toEqual({ bytes: sent.length, sha256: sha256(sent) });
    // All of it before the server had even connected to the target (so before the confirmation).
    expect(resetAt, who).toBeLessThan(got!.acceptedAtEpoch);
    return taken;
  }

  /**
   * What the client sends after its request: a part read while the channel opens; past pure-ssh's
   * 16 KiB read-ahead (the socket paused), a part left in the paused socket's Readable (over its
   * 16 KiB mark: its reading stops), the reset unseen until the open; the same with a last part
   * the kernel keeps, the reset behind it; a small part read into the paused Readable.
   */
  const resetCases = {
    small: [payload.subarray(0, 5000)],
    'two parts': [payload.subarray(0, N >> 1), payload.subarray(N >> 1)],
    'three parts': [20_000, 20_000, 10_000].map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (j * 13 + i) & 0xff))),
    'a small part after the read-ahead': [20_000, 3_000].map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (j * 7 + i) & 0xff))),
  };

  it('-D: a client that sends its request, then data, then resets before the confirmation: what the kernel took arrives, then EOF, as with ssh 9.2', async () => {
    // A slower path to sshd: the Python client (which starts slowly on a loaded machine) is done
    // long before the confirmation.
    const slow = await startDelayProxy({ targetHost: sshd.host, targetPort: sshd.port, delayMs: SLOW_DELAY_MS });
    // (It also writes the known_hosts file for this proxy's port that ssh reads.)
    const viaSlow = await connectVia(sshd, slow, {});
    // Three sequences of the cases at once, each to a target of its own: ssh 9.2's, and pure-ssh's
    // twice (each sequence waits mostly on the slow path's delays).
    const targets = await Promise.all([startTarget(), startTarget(), startTarget()]);
    try {
      // The reference (ssh reads nothing while the open is in flight: past its kernel's receive
      // window, about 90 kB here, the client's kernel keeps the rest and the reset drops it).
      const reference = async () => {
        if (sshClientAvailable()) {
          const dport = await freePort();
          const child = await startSsh(sshd, slow, ['-D', `127.0.0.1:${dport}`], dport);
          try {
            for (const [name, parts] of Object.entries(resetCases)) await deliversBeforeReset(`ssh 9.2, ${name}`, dport, parts, targets[0]);
          } finally {
            child.kill();
          }
        }
      };
      const fwd = await viaSlow.forwardDynamic({ listen: { host: '127.0.0.1', port: 0 } });
      try {
        await Promise.all([
          reference(),
          ...[targets[1]!, targets[2]!].map(async (to) => {
            for (const [name, parts] of Object.entries(resetCases)) {
              // The client got all of it out (the kernel took it): the case tests what it says.
              const all = parts.reduce((n, p) => n + p.length, 0);
              expect(await deliversBeforeReset(`pure-ssh, ${name}`, fwd.address.port, parts, to)).toBe(all);
            }
          }),
        ]);
        await expect.poll(() => fwd.counters.active, { timeout: 10_000 }).toBe(0);
        expect(fwd.counters).toMatchObject({ failed: 0, bytesOut: 2 * Object.values(resetCases).flat().reduce((n, p) => n + p.length, 0) });
      } finally {
        await fwd.close();
      }
    } finally {
      await viaSlow.close();
      await Promise.all([slow.close(), ...targets.map((t) => t.close())]);
    }
  }, 120_000);

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
      expect({ bytes: target.got[0]!.bytes, sha256: target.got[0]!.sha256 }).toEqual({ bytes: N, sha256: sha256(payload) });
      await expect.poll(() => fwd.counters.active, { timeout: 10_000 }).toBe(0);
      // The same forward, on the same connection, still carries the next client whole.
      await deliversAll(fwd.address.port, socks4(target.port), 'half', SOCKS4_GRANTED);
      expect(fwd.counters.failed).toBe(0);
    } finally {
      await fwd.close();
    }
  });
});
