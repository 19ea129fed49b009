/**
 * pure-ssh/web connect() while its transport is still opening (break18 F7): the AbortSignal and
 * connectTimeout cover the whole of connect(), as the Node client's cover its TCP connect, against
 * sshd 9.2 directly (a transport promise of Node's Duplex.toWeb) and through a real websockify
 * (Node's WebSocket in a child, `node --experimental-websocket`). Before, connect() awaited the
 * transport first: an abort meanwhile was lost and connect() resolved with a logged-in connection,
 * a bridge that never answered the WebSocket upgrade hung it for ever despite connectTimeout, and
 * a pre-aborted signal or a failing transport came out as the bare error, not an SshError.
 * A transport that arrives after connect() gave up is closed; a WebSocket still opening is closed
 * at once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionLostError, SshError, TimeoutError } from '../src/errors.js';
import { connect, type ByteStreamPair, type WebConnectOptions } from '../src/web/index.js';
import { freePort } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { requireBrowserTools, WEBSOCKIFY } from './runtimes/browser.js';
import { bundle } from './runtimes/bundle.js';
import { startHelper, type Helper } from './runtimes/procs.js';

const ABORTED = 'the connection was aborted by its AbortSignal';
const timedOut = (port: number, ms: number) => `ssh: connect to host 127.0.0.1 port ${port}: Connection timed out during handshake (ConnectTimeout ${ms} ms)`;

/** What `p` settled with within 6 s ('connected' or the error), or 'hang'; and when. */
async function settle(p: Promise<{ close(): Promise<void> }>): Promise<{ outcome: unknown; ms: number }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((r) => (timer = setTimeout(() => r('hang'), 6_000)));
  try {
    const outcome = await Promise.race([
      p.then(
        async (ssh) => (await ssh.close(), 'connected'),
        (err: unknown) => err,
      ),
      hang,
    ]);
    return { outcome, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP connection to `port` as Node's web streams, handed over `delay` ms after it connected; `sockets` gets it. */
function lateDial(port: number, delay: number, sockets: net.Socket[] = []): Promise<ByteStreamPair> {
  return new Promise((resolve, reject) => {
    // Duplex.toWeb at once: Node 20's adapter throws (uncaught, 'Controller is already closed')
    // when its readable is cancelled before its first flowing read ran.
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      const pair = Duplex.toWeb(s) as unknown as ByteStreamPair;
      setTimeout(() => resolve(pair), delay);
    });
    sockets.push(s);
    s.once('error', reject);
  });
}

const accepted = (sshd: SshdHandle) => sshd.logs().split('\n').filter((l) => l.includes('Accepted publickey')).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeInterop('pure-ssh/web: signal and connectTimeout while the transport opens', () => {
  let sshd: SshdHandle;
  let dir: string;
  let entry: string;
  const servers: net.Server[] = [];
  const bridges: Helper[] = [];
  const listen = async (s: net.Server) => {
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  };

  beforeAll(async () => {
    requireBrowserTools();
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-ws-open-'));
    entry = join(dir, 'entry.mjs');
    writeFileSync(entry, await bundle('ws-open-entry.ts', { external: ['node:*'] }));
  });
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.stop()));
    for (const s of servers) s.close();
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const web = (transport: WebConnectOptions['transport'], more: Partial<WebConnectOptions> = {}) =>
    connect({ transport, host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.hostKeyLines.join('\n'), ...more });

  it('aborted while a transport promise is pending: ERR_ABORTED at once; the transport that comes later is closed, no login', async () => {
    const before = accepted(sshd);
    const reason = new Error('stop!');
    const ac = new AbortController();
    setTimeout(() => ac.abort(reason), 50);
    const sockets: net.Socket[] = [];
    const { outcome, ms } = await settle(web(lateDial(sshd.port, 300, sockets), { signal: ac.signal }));
    expect(outcome).toBeInstanceOf(SshError);
    expect({ code: (outcome as SshError).code, message: (outcome as SshError).message, cause: (outcome as SshError).cause }).toEqual({ code: 'ERR_ABORTED', message: ABORTED, cause: reason });
    expect(ms).toBeLessThan(250);
    // The late transport: closed once it is there.
    await expect.poll(() => sockets[0]!.destroyed, { timeout: 3_000 }).toBe(true);
    await sleep(300);
    expect(accepted(sshd)).toBe(before);
  });

  it('a signal aborted before connect(): SshError ERR_ABORTED with the reason as cause, the transport closed', async () => {
    const reason = new Error('pre-aborted');
    const sockets: net.Socket[] = [];
    const { outcome } = await settle(web(lateDial(sshd.port, 0, sockets), { signal: AbortSignal.abort(reason) }));
    expect(outcome).toBeInstanceOf(SshError);
    expect({ code: (outcome as SshError).code, message: (outcome as SshError).message, cause: (outcome as SshError).cause }).toEqual({ code: 'ERR_ABORTED', message: ABORTED, cause: reason });
    await expect.poll(() => sockets[0]?.destroyed, { timeout: 3_000 }).toBe(true);
  });

  it('connectTimeout while a transport promise never settles: TimeoutError in the Node client\'s words', async () => {
    const { outcome, ms } = await settle(web(new Promise<ByteStreamPair>(() => {}), { connectTimeout: 400 }));
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect({ code: (outcome as SshError).code, message: (outcome as SshError).message }).toEqual({ code: 'ERR_TIMEOUT', message: timedOut(sshd.port, 400) });
    // Not before the deadline (a timer may fire a millisecond early); the upper bound only tells
    // "timed out" from "hung" (a loaded CI machine once took longer than 1.5 s here).
    expect(ms, `settled after ${ms} ms`).toBeGreaterThanOrEqual(390);
    expect(ms, `settled after ${ms} ms`).toBeLessThan(5_000);
  });

  it('one ConnectTimeout deadline from connect() on: a transport that took 700 ms to a silent server times out at 1000 ms, not 1700', async () => {
    const silent = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(silent);
    const { outcome, ms } = await settle(web(lateDial(port, 700), { port, connectTimeout: 1_000 }));
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect((outcome as SshError).message).toBe(timedOut(port, 1_000));
    expect(ms).toBeGreaterThanOrEqual(990);
    expect(ms).toBeLessThan(1_500);
    // The same deadline does not cut short a transport that was slow but in time.
    const ok = await settle(web(lateDial(sshd.port, 300), { connectTimeout: 5_000 }));
    expect(ok.outcome).toBe('connected');
  });

  it('connectTimeout above setTimeout\'s 2^31 − 1 ms is kept, as the Node client keeps it: no 1 ms timer, no TimeoutOverflowWarning (break25 F5)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { outcome } = await settle(web(lateDial(sshd.port, 100), { connectTimeout: 1e12 }));
      expect(outcome).toBe('connected');
      await sleep(10);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a transport that fails: ConnectionLostError "ssh: connect to host H port P: ..." with its error as cause, as the Node client says a refused TCP connect', async () => {
    const port = await freePort();
    const { outcome } = await settle(web(lateDial(port, 0), { port }));
    expect(outcome).toBeInstanceOf(ConnectionLostError);
    const err = outcome as ConnectionLostError;
    expect({ code: err.code, message: err.message }).toEqual({ code: 'ERR_CONNECTION_LOST', message: `ssh: connect to host 127.0.0.1 port ${port}: connect ECONNREFUSED 127.0.0.1:${port}` });
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  /** Runs the WebSocket entry; resolves with its line and when the child exited (ms from start). */
  function runWs(url: string, more: { connectTimeout?: number; abortAt?: number; hold?: number }, t0 = Date.now()): Promise<{ line: Record<string, unknown>; exitedMs: number }> {
    const args = { url, host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.hostKeyLines.join('\n'), ...more };
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', entry, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    return new Promise((resolve, reject) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve({ line: JSON.parse(out.trim().split('\n')[0]!) as Record<string, unknown>, exitedMs: Date.now() - t0 });
        else reject(new Error(`the entry exited with ${code}: ${err}`));
      }),
    );
  }

  /** A TCP server in front of websockify that holds each connection `delay` ms before passing it on; counts the ones whose client left first. */
  async function slowGate(target: number, delay: number) {
    const gate = { port: 0, clientLeftEarly: 0 };
    const server = net.createServer((c) => {
      // Read while holding (a FIN is seen only by a reading socket); pass the bytes on later.
      const held: Buffer[] = [];
      const hold = (d: Buffer) => held.push(d);
      c.on('data', hold);
      c.on('error', () => {});
      let left = false;
      c.once('close', () => {
        left = true;
      });
      setTimeout(() => {
        if (left) return void gate.clientLeftEarly++;
        const up = net.connect(target, '127.0.0.1');
        up.on('error', () => c.destroy());
        c.off('data', hold);
        for (const d of held) up.write(d);
        c.pipe(up).pipe(c);
      }, delay);
    });
    gate.port = await listen(server);
    return gate;
  }

  it('webSocketStreams through websockify, aborted while the WebSocket opens: ERR_ABORTED, the WebSocket closed, no login', async () => {
    const b = await startHelper(WEBSOCKIFY, (p) => [`127.0.0.1:${p}`, `127.0.0.1:${sshd.port}`]);
    bridges.push(b);
    // In time, the gate's delay is only a slow network: it logs in.
    const ok = await runWs(`ws://127.0.0.1:${(await slowGate(b.port, 300)).port}/`, { connectTimeout: 10_000 });
    expect(ok.line).toMatchObject({ ready: true });
    const before = accepted(sshd);
    const gate = await slowGate(b.port, 1_500);
    const t0 = Date.now();
    const { line, exitedMs } = await runWs(`ws://127.0.0.1:${gate.port}/`, { abortAt: 200, hold: 2_500 }, t0);
    expect(line).toEqual({ failed: { name: 'SshError', code: 'ERR_ABORTED', message: ABORTED, cause: 'stop' }, ms: expect.any(Number) });
    expect(line.ms).toBeLessThan(1_000);
    // The WebSocket still opening was closed at once: its TCP connection left the gate before
    // the gate would have passed it on (1.5 s after accepting it), so before the process (held
    // 2.5 s from its start, which came before the accept) exited. (Not timed from t0, which
    // comes before the child Node's start: seconds on a loaded machine.)
    await expect.poll(() => gate.clientLeftEarly, { timeout: 3_000 }).toBe(1);
    expect(exitedMs).toBeGreaterThan(2_500);
    expect(accepted(sshd)).toBe(before);
  }, 30_000);

  it('a bridge that accepts TCP and never answers the WebSocket upgrade: connectTimeout ends connect() (it hung), and the WebSocket is closed then', async () => {
    // When each accepted connection closed (ms from the run's start). Node's WebSocket (undici)
    // closed while connecting opens a second connection and drops it at exit: the first is the one.
    const closedAt: number[] = [];
    let t0 = 0;
    const mute = net.createServer((s) => {
      // Read (and drop) the upgrade request: a FIN is seen only by a reading socket.
      s.resume();
      s.on('error', () => {});
      s.on('close', () => closedAt.push(Date.now() - t0));
    });
    const port = await listen(mute);
    t0 = Date.now();
    const { line, exitedMs } = await runWs(`ws://127.0.0.1:${port}/`, { connectTimeout: 1_000, hold: 2_500 }, t0);
    expect(line).toEqual({ failed: { name: 'TimeoutError', code: 'ERR_TIMEOUT', message: timedOut(sshd.port, 1_000) }, ms: expect.any(Number) });
    expect(line.ms).toBeGreaterThanOrEqual(990);
    expect(line.ms).toBeLessThan(2_000);
    expect(closedAt[0]).toBeLessThan(exitedMs - 1_500);
    // And the signal, without a timeout.
    closedAt.length = 0;
    t0 = Date.now();
    const aborted = await runWs(`ws://127.0.0.1:${port}/`, { abortAt: 300, hold: 2_500 }, t0);
    expect(aborted.line).toEqual({ failed: { name: 'SshError', code: 'ERR_ABORTED', message: ABORTED, cause: 'stop' }, ms: expect.any(Number) });
    expect(aborted.line.ms).toBeLessThan(1_000);
    expect(closedAt[0]).toBeLessThan(aborted.exitedMs - 1_500);
  }, 30_000);
});
