/**
 * How a WebSocket to websockify ends, as pure-ssh/web reports it (src/web/websocket.ts,
 * src/web/client.ts), with Node's WebSocket in a child process (`node --experimental-websocket`)
 * through a real websockify. A WebSocket that opened was connected: when the bridge then closes
 * before the server's first byte (the SSH server behind it closed at once, reset, or could not be
 * reached), the error is ssh's kex_exchange_identification one with the URL and the close code
 * and reason, never "ssh: connect to host". Only a WebSocket that never opened is a connect
 * failure. ssh 9.2 says "kex_exchange_identification: Connection closed by remote host" for a
 * server that closes before its identification line (kex.c); over a WebSocket that closed before
 * any byte the close frame says more, and is kept. A close after the server's identification
 * line and before login is packet.c's "Connection closed by HOST port N", as over TCP. A URL the
 * WebSocket constructor refuses is a UsageError naming it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from './harness/net.js';
import { describeInterop, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
import { requireBrowserTools, WEBSOCKIFY } from './runtimes/browser.js';
import { bundle } from './runtimes/bundle.js';
import { startHelper, type Helper } from './runtimes/procs.js';

/** A line of ws-close-entry.ts: how connect() failed, or that it connected, or how the connection ended. */
interface Outcome {
  failed?: Described;
  ready?: boolean;
  closed?: Described | null;
}
interface Described {
  name: string;
  code: string;
  message: string;
  /** The class of its `cause`, when that is an Error. */
  cause?: string;
  ws?: { own: boolean; url: string; opened: boolean; closeCode: number; closeReason: string };
}

describeInterop('pure-ssh/web over a WebSocket that closes: through websockify', () => {
  let dir: string;
  let entry: string;
  let sshd: SshdHandle;
  let closer: net.Server;
  let resetter: net.Server;
  const bridges: Helper[] = [];

  const listen = async (s: net.Server) => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  };
  const bridgeTo = async (port: number) => {
    const b = await startHelper(WEBSOCKIFY, (p) => [`127.0.0.1:${p}`, `127.0.0.1:${port}`]);
    bridges.push(b);
    return `ws://127.0.0.1:${b.port}/`;
  };

  beforeAll(async () => {
    requireBrowserTools();
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-ws-close-'));
    entry = join(dir, 'entry.mjs');
    writeFileSync(entry, await bundle('ws-close-entry.ts', { external: ['node:*'] }));
    // MaxStartups 1: while one connection is unauthenticated, sshd closes the next one at once
    // (sshd.c drop_connection), before its identification line.
    sshd = await startSshd({ config: { MaxStartups: '1' } });
    // Servers that close (FIN; what comes later is read and dropped, so never a reset) or reset
    // (RST) each connection at once.
    closer = net.createServer((s) => s.resume().end());
    resetter = net.createServer((s) => s.resetAndDestroy());
  });
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.stop()));
    closer?.close();
    resetter?.close();
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the entry against `url`; `onReady` runs once it has connected. Resolves with its lines. */
  function run(url: string, onReady?: () => void, extra: { protocols?: string[]; port?: number; ws?: Record<string, unknown>; killAfter?: number } = {}): Promise<Outcome[]> {
    const args = { url, protocols: extra.protocols, ws: extra.ws, host: 'ssh.example', port: extra.port ?? sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.hostKeyLines.map((l) => l.replace(/^\S+/, `[ssh.example]:${sshd.port}`)).join('\n') };
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', entry, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Outcome[] = [];
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
        const o = JSON.parse(out.slice(0, i)) as Outcome;
        out = out.slice(i + 1);
        lines.push(o);
        if (o.ready) onReady?.();
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), extra.killAfter ?? 30_000);
    return new Promise((resolve, reject) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(lines);
        else reject(new Error(`the entry exited with ${code}: ${err}`));
      }),
    );
  }

  /** The error of a WebSocket that opened and closed with `closeCode` before the server's first byte. */
  const closedBeforeFirstByte = (url: string, closeCode: number, closeReason: string) => {
    const how = `WebSocket ${url} closed with code ${closeCode}${closeReason ? ` (${closeReason})` : ''}`;
    return {
      failed: {
        name: 'ConnectionLostError',
        code: 'ERR_CONNECTION_LOST',
        message: `kex_exchange_identification: Connection closed by remote host: ${how}`,
        cause: 'WebSocketClosedError',
        ws: { own: false, url, opened: true, closeCode, closeReason },
      },
    };
  };

  it('sshd closing at once (MaxStartups) before its identification line: kex_exchange_identification, as ssh 9.2 says it', async () => {
    const url = await bridgeTo(sshd.port);
    // The one startup slot, taken: a connection that got sshd's identification line and says nothing.
    const held = net.connect(sshd.port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        held.once('data', () => resolve());
        held.once('error', reject);
      });
      // sshd 9.2 writes "Exceeded MaxStartups\r\n" and closes: a line that is not its
      // identification, then a normal closure (1000 "Target closed") of a stream that had bytes.
      // If our identification line had reached sshd, unread, its close is a reset: websockify
      // then drops the WebSocket (1006), and ssh says "read: Connection reset by peer".
      const [outcome] = await run(url);
      expect(outcome).toEqual({ failed: { name: 'ConnectionLostError', code: 'ERR_CONNECTION_LOST', message: expect.stringMatching(/^kex_exchange_identification: Connection closed by remote host(: WebSocket \S+ closed with code 1006)?$/) } });
      if (sshClientAvailable()) {
        const r = spawnSync(SSH_CLIENT_PATH, [...sshd.clientArgs, '-o', 'BatchMode=yes', sshd.target, 'true'], { encoding: 'utf8', timeout: 10_000 });
        expect(r.stderr).toMatch(/^kex_exchange_identification: (Connection closed by remote host|read: Connection reset by peer)\r?$/m);
      }
    } finally {
      held.destroy();
    }
  });

  it('a server that closes at once (1000 "Target closed" before any byte): kex_exchange_identification with the URL and the close, not a connect failure', async () => {
    const url = await bridgeTo(await listen(closer));
    expect(await run(url)).toEqual([closedBeforeFirstByte(url, 1000, 'Target closed')]);
  });

  it('a server that resets at once: the bridge drops the WebSocket (1006), said with the same words', async () => {
    const url = await bridgeTo(await listen(resetter));
    expect(await run(url)).toEqual([closedBeforeFirstByte(url, 1006, '')]);
  });

  it('nothing listening behind the bridge: websockify\'s 1011 "Failed to connect to downstream server" is named', async () => {
    const url = await bridgeTo(await freePort());
    expect(await run(url)).toEqual([closedBeforeFirstByte(url, 1011, 'Failed to connect to downstream server')]);
  });

  it('nothing listening on the WebSocket port: a connect failure (WebSocketClosedError, not opened)', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/`;
    expect(await run(url)).toEqual([
      { failed: { name: 'WebSocketClosedError', code: 'ERR_CONNECTION_LOST', message: `WebSocket connection to ${url} failed`, ws: { own: true, url, opened: false, closeCode: -1, closeReason: '' } } },
    ]);
  });

  it('a server that closes after its identification line, before login: "Connection closed by HOST port N", as over TCP (ssh 9.2 beside it), not the in-session line', async () => {
    // Sends its identification line, reads what comes (the client's, its KEXINIT) and closes
    // (FIN, never a reset): websockify then closes with 1000 after the server's bytes.
    const identifiedCloser = net.createServer((s) => {
      s.write('SSH-2.0-Closer\r\n');
      s.once('data', () => s.end());
      s.resume();
    });
    try {
      const port = await listen(identifiedCloser);
      const url = await bridgeTo(port);
      expect(await run(url, undefined, { port })).toEqual([
        { failed: { name: 'ConnectionLostError', code: 'ERR_CONNECTION_LOST', message: `Connection closed by ssh.example port ${port}` } },
      ]);
      if (sshClientAvailable()) {
        // Not spawnSync: the server runs in this process's event loop.
        const ssh = spawn(SSH_CLIENT_PATH, ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-p', String(port), '127.0.0.1', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        ssh.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        await new Promise((resolve) => ssh.on('close', resolve));
        expect(stderr).toMatch(new RegExp(`^Connection closed by 127\\.0\\.0\\.1 port ${port}\r?$`, 'm'));
      }
    } finally {
      identifiedCloser.close();
    }
  });

  it('a URL or sub-protocol list the WebSocket constructor refuses: a UsageError naming it, with the reason, the runtime\'s SyntaxError as its cause', async () => {
    const usage = (message: string) => [{ failed: { name: 'UsageError', code: 'ERR_USAGE', message, cause: 'SyntaxError' } }];
    expect(await run('not a url')).toEqual(usage('webSocketStreams: invalid url "not a url": TypeError: Invalid URL'));
    expect(await run('ftp://127.0.0.1/')).toEqual(usage('webSocketStreams: invalid url "ftp://127.0.0.1/": Expected a ws: or wss: protocol, got ftp:'));
    expect(await run('ws://127.0.0.1:1/#f')).toEqual(usage('webSocketStreams: invalid url "ws://127.0.0.1:1/#f": Got fragment'));
    expect(await run('ws://127.0.0.1:1/', undefined, { protocols: ['a b'] })).toEqual(usage('webSocketStreams: invalid options.protocols ["a b"]: Invalid Sec-WebSocket-Protocol value'));
    expect(await run('ws://127.0.0.1:1/', undefined, { protocols: ['binary', 'binary'] })).toEqual(usage('webSocketStreams: invalid options.protocols ["binary","binary"]: Invalid Sec-WebSocket-Protocol value'));
  });

  it('webSocketStreams options checked before the WebSocket is made: a negative highWaterMark (every write waited for ever), a signal that is no AbortSignal (a TypeError, the WebSocket left open and the process up)', async () => {
    const url = await bridgeTo(sshd.port);
    const usage = (message: string) => [{ failed: { name: 'UsageError', code: 'ERR_USAGE', message } }];
    // The entry exits 0 on its own within 10 s, or the run rejects: a hang or a handle left open fails.
    const quick = (ws: Record<string, unknown>) => run(url, undefined, { ws, killAfter: 10_000 });
    expect(await quick({ highWaterMark: -1 })).toEqual(usage('webSocketStreams: options.highWaterMark must be a number of bytes >= 0, got -1'));
    expect(await quick({ highWaterMark: '65536' })).toEqual(usage('webSocketStreams: options.highWaterMark must be a number of bytes >= 0, got "65536"'));
    expect(await quick({ signal: 'abort' })).toEqual(usage('webSocketStreams: options.signal must be an AbortSignal, got "abort"'));
    // Well-formed ones still log in: 0 (each write waits for the frame to leave) and a real signal.
    let lines: Outcome[] = [];
    await expect.poll(async () => (lines = await run(url, () => sshd.killConnections(), { ws: { highWaterMark: 0, signal: true } }))[0]?.ready, { timeout: 10_000, interval: 300 }).toBe(true);
  });

  it('sshd through the bridge: logs in; its connection killed later is the end of the stream (normal closure after its bytes)', async () => {
    const url = await bridgeTo(sshd.port);
    // The slot of the first case may still be counted until sshd reaps that connection's child.
    let lines: Outcome[] = [];
    await expect.poll(async () => (lines = await run(url, () => sshd.killConnections()))[0]?.ready, { timeout: 10_000, interval: 300 }).toBe(true);
    expect(lines).toEqual([{ ready: true }, { closed: { name: 'ConnectionLostError', code: 'ERR_CONNECTION_LOST', message: 'Connection to ssh.example closed by remote host.' } }]);
  });
});
