/**
 * `-R`: the local target sends, then resets its connection (a read error on the socket the client
 * connected to it). ssh 9.2 takes a read error as that socket's EOF: what it had read still goes
 * out, then CHANNEL_EOF (channels.c channel_handle_rfd → nchan.c chan_read_failed →
 * CHAN_INPUT_WAIT_DRAIN; the EOF once the input buffer drained, chan_ibuf_empty), and it reads the
 * bytes its kernel had taken before it sees the error. So the server-side peer gets every byte
 * the client's kernel took from the target, then a clean EOF. pure-ssh closed the channel at once
 * on the socket's error, dropping what waited for the server's window (and what its paused
 * socket's Readable held).
 *
 * The peer reads nothing until the target has reset, so the server's window closes and the
 * client holds bytes (in its kernel, its socket, its channel) when the reset comes. ssh 9.2 runs
 * the same case against the same sshd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { deterministicChunks, freePort, PYTHON } from './harness/net.js';
import { describeInterop, inCI, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The local target, in Python (Node cannot say how much of what it sent the peer's kernel took).
 * Prints its port, accepts one connection, sends the data on stdin, then resets (SO_LINGER 0:
 * RST; what is still queued here is dropped) and prints the bytes the peer's kernel acknowledged.
 *
 * `bulk`: sends as fast as the peer takes, until all is out or nothing more is taken for 400 ms,
 * waits (at most 100 ms) for the send queue to be acknowledged, then resets: the client's kernel
 * usually still holds bytes when the reset comes (it is read behind them).
 * `pieces N`: sends {@link PIECE}-byte pieces, each once the client has read the one before (its
 * socket's receive queue empty, asked of the kernel's sock_diag netlink for that one socket, the
 * Recv-Q that `ss` and /proc/net/tcp show; at most 300 ms), stops after N pieces or at the
 * first one not read in time (the client stopped reading: its count is printed first, a probe),
 * then resets: when the client read everything, the reset reaches an empty queue and is a read
 * error there (ECONNRESET), not an EOF.
 */
const RESET_TARGET = `
import fcntl, select, socket, struct, sys, termios, time
mode, n = sys.argv[1], int(sys.argv[2])
data = sys.stdin.buffer.read()
l = socket.socket()
l.bind(('127.0.0.1', 0))
l.listen(1)
print(l.getsockname()[1], flush=True)
s, peer = l.accept()
# The client socket's receive queue (inet_diag_msg.idiag_rqueue) by its address, through
# NETLINK_SOCK_DIAG (linux/inet_diag.h): a read of /proc/net/tcp walks the whole TCP hash table,
# milliseconds of CPU per read, thousands of reads per connection here.
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)
lo = socket.inet_aton('127.0.0.1') + bytes(12)
req = struct.pack('=BBBBI', socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xffffffff)
req += struct.pack('>HH', peer[1], l.getsockname()[1]) + lo + lo + struct.pack('=III', 0, 0xffffffff, 0xffffffff)
diag = struct.pack('=IHHII', 16 + len(req), 20, 1, 1, 0) + req
def rx_queue():
    nl.send(diag)
    r = nl.recv(8192)
    if struct.unpack_from('=H', r, 4)[0] != 20:
        return 0
    return struct.unpack_from('=I', r, 16 + 56)[0]
sent = 0
if mode == 'bulk':
    s.setblocking(False)
    idle = time.time()
    while sent < len(data) and time.time() - idle < 0.4:
        select.select([], [s], [], 0.05)
        try:
            k = s.send(data[sent:sent + 65536])
            if k:
                sent, idle = sent + k, time.time()
        except BlockingIOError:
            pass
else:
    piece, count = int(sys.argv[3]), 0
    while count < n and sent + piece <= len(data):
        s.sendall(data[sent:sent + piece])
        sent += piece
        deadline = time.time() + 0.3
        while rx_queue() and time.time() < deadline:
            time.sleep(0.0002)
        if rx_queue():
            break
        count += 1
    print(count, flush=True)
queued = lambda: struct.unpack('i', fcntl.ioctl(s, termios.TIOCOUTQ, b'\\0\\0\\0\\0'))[0]
deadline = time.time() + 0.1
while queued() and time.time() < deadline:
    time.sleep(0.002)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
taken = sent - queued()
s.close()
print(taken, flush=True)
`;

/** Bytes per piece in `pieces` mode: well under the client's read buffer, so each is one read. */
const PIECE = 4096;

type Mode = { bulk: true } | { pieces: number };

interface Target {
  port: Promise<number>;
  /** `pieces` mode: how many pieces the client read before the reset (fewer than asked: it stopped reading). */
  count: Promise<number>;
  /** The bytes the client's kernel acknowledged, once the target has reset. */
  taken: Promise<number>;
  kill(): void;
}

function startResetTarget(data: Buffer, mode: Mode): Target {
  const args = 'bulk' in mode ? ['bulk', '0'] : ['pieces', String(mode.pieces), String(PIECE)];
  const py: ChildProcess = spawn(PYTHON, ['-I', '-S', '-c', RESET_TARGET, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const want = 'bulk' in mode ? 2 : 3;
  const settle: { res: (n: number) => void; rej: (e: Error) => void }[] = [];
  const lines = Array.from({ length: want }, () => new Promise<number>((res, rej) => settle.push({ res, rej })));
  let seen = 0;
  py.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const done = out.split('\n').slice(0, -1);
    for (; seen < done.length && seen < want; seen++) settle[seen]!.res(Number(done[seen]));
  });
  py.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  py.on('exit', (code) => {
    for (const s of settle.slice(seen)) s.rej(new Error(`the Python target exited with ${code}: ${err}`));
  });
  py.stdin!.end(data);
  for (const l of lines) l.catch(() => {});
  return { port: lines[0]!, count: want === 3 ? lines[1]! : Promise.resolve(0), taken: lines[want - 1]!, kill: () => py.kill() };
}

/** Connects to the server's listener, reads nothing until `start` settles, then reads to the end. */
function lazyPeer(port: number, start: Promise<unknown>): Promise<{ bytes: number; sha256: string; outcome: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.pause();
    const parts: Buffer[] = [];
    let outcome = 'closed without EOF';
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => (outcome = 'EOF'));
    s.on('error', (e: NodeJS.ErrnoException) => (outcome = e.code ?? e.message));
    s.on('close', () => {
      const b = Buffer.concat(parts);
      resolve({ bytes: b.length, sha256: sha256(b), outcome });
    });
    void start.then(
      () => s.resume(),
      () => s.resume(),
    );
  });
}

const data = Buffer.concat([...deterministicChunks(16 * MiB, 41)]);

/** A way to run one connection: through the server's `port` to a fresh resetting target. */
type Through = (mode: Mode) => Promise<{ port: number; target: Target; done(): Promise<void> }>;

/**
 * One connection through `through` to a target resetting as `mode` says: every byte the client's
 * kernel acknowledged reaches the server-side peer (a delayed ACK may leave more received: those
 * count too), a prefix of what was sent, then a clean EOF. Returns the bytes and the count.
 */
async function deliversAllThenEof(who: string, through: Through, mode: Mode): Promise<{ bytes: number; count: number }> {
  const { port, target, done } = await through(mode);
  try {
    const got = await lazyPeer(port, target.taken);
    const taken = await target.taken;
    expect({ sha256: got.sha256, outcome: got.outcome }, who).toEqual({ sha256: sha256(data.subarray(0, got.bytes)), outcome: 'EOF' });
    expect(got.bytes, who).toBeGreaterThanOrEqual(taken);
    return { bytes: got.bytes, count: await target.count };
  } finally {
    target.kill();
    await done();
  }
}

/**
 * The cases. `bulk`: more than the server's window and the buffers hold (the peer reads nothing
 * until the reset). Then a probe finds how many pieces the client reads before it stops (the
 * window and its buffers full), and connections reset a few pieces before that: the client has
 * read everything, is still reading, and holds bytes for the server's window when the reset
 * comes, a read error (ECONNRESET) on an empty queue.
 */
async function runCases(who: string, through: Through): Promise<void> {
  const bulk = await deliversAllThenEof(`${who}, bulk`, through, { bulk: true });
  // The case tests what it says: more than the server's 2 MiB window was in flight.
  expect(bulk.bytes, who).toBeGreaterThan(2 * MiB);
  const probe = await deliversAllThenEof(`${who}, probe`, through, { pieces: 4096 });
  expect(probe.count, `${who}: the client stopped reading`).toBeLessThan(4096);
  for (const back of [1, 2, 3, 5]) {
    // (Under load the client may stop a piece or two earlier than in the probe: then the reset
    // comes behind a piece it has not read, the EOF case of libuv, as in `bulk`.)
    await deliversAllThenEof(`${who}, ${probe.count - back} pieces`, through, { pieces: probe.count - back });
  }
}

describeInterop('-R: the local target resets after sending', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  beforeAll(async () => {
    sshd = await startSshd();
    ssh = await connectTo(sshd);
  });
  afterAll(async () => {
    await ssh?.close();
    await sshd?.stop();
  });

  it('ssh 9.2: every byte its kernel took reaches the server-side peer, then EOF', async () => {
    if (!sshClientAvailable()) {
      if (inCI()) throw new Error(`${SSH_CLIENT_PATH} is missing`);
      return;
    }
    await runCases('ssh 9.2', async (mode) => {
      const target = startResetTarget(data, mode);
      const rport = await freePort();
      const child = spawn(
        SSH_CLIENT_PATH,
        [...sshd.clientArgs, '-v', '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-N', '-R', `127.0.0.1:${rport}:127.0.0.1:${await target.port}`, sshd.target],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      // Listening once the server said so (a probe connection would take the target's one).
      let log = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (d: Buffer) => {
          log += d.toString();
          if (log.includes('remote forward success')) resolve();
        });
        child.once('exit', () => reject(new Error(`ssh exited: ${log}`)));
      });
      return { port: rport, target, done: async () => void child.kill() };
    });
  }, 120_000);

  it('pure-ssh: the same; the forward carries on', async () => {
    let connections = 0;
    await runCases('pure-ssh', async (mode) => {
      const target = startResetTarget(data, mode);
      const fwd = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: await target.port } });
      connections++;
      return {
        port: (fwd.address as { port: number }).port,
        target,
        done: async () => {
          await expect.poll(() => fwd.counters.active, { timeout: 10_000 }).toBe(0);
          expect(fwd.counters).toMatchObject({ connections: 1, failed: 0 });
          await fwd.close();
        },
      };
    });
    expect(connections).toBe(6);
    await expect.poll(() => ssh.channelCount, { timeout: 10_000 }).toBe(0);
  }, 120_000);
});
