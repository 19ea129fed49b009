/**
 * A ChannelStream handed to clients that take a socket-like stream: net.Socket's methods they
 * call (setKeepAlive, setNoDelay, ref, unref, setTimeout with its 'timeout' event). Node's own
 * http.Agent({ keepAlive: true }) calls setKeepAlive and unref when a response ends (outside any
 * try: without them the process died after the first response), and setTimeout for `timeout`.
 * Against sshd 9.2 with a real HTTP server behind it.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import type { ChannelStream } from '../src/node/channel-stream.js';
import { UsageError } from '../src/errors.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeInterop('ChannelStream as a socket for Node clients (sshd)', () => {
  const sshd = sshdSuite();
  let ssh: SshClient | undefined;
  let web: http.Server;
  let webPort: number;
  /** Connections the HTTP server accepted (a keep-alive agent reuses one). */
  let accepted = 0;

  beforeAll(async () => {
    web = http.createServer((req, res) => {
      if (req.url === '/silent') return; // never answers: the client's timeout must fire
      res.end(`hello ${req.url}`);
    });
    web.on('connection', () => accepted++);
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webPort = (web.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    web.closeAllConnections();
    await new Promise((r) => web.close(r));
  });
  afterEach(async () => {
    await ssh?.close();
    ssh = undefined;
  });

  const login = () =>
    connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath });

  /** An http.Agent whose connections are channels (no local port), recording them. */
  function sshAgent(client: SshClient, opts: http.AgentOptions) {
    const channels: ChannelStream[] = [];
    class SshAgent extends http.Agent {
      override createConnection(): net.Socket {
        const ch = client.directTcpip({ host: '127.0.0.1', port: webPort });
        channels.push(ch);
        return ch as unknown as net.Socket;
      }
    }
    return { agent: new SshAgent(opts), channels };
  }

  function get(agent: http.Agent, path: string, timeout?: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: 'internal', port: webPort, path, agent, timeout }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => {
        req.destroy();
        reject(new Error('timeout'));
      });
      req.on('error', reject);
    });
  }

  it('http.Agent({ keepAlive: true }): several requests reuse one channel, the process survives', { timeout: 15_000 }, async () => {
    ssh = await login();
    const { agent, channels } = sshAgent(ssh, { keepAlive: true, maxSockets: 1 });
    accepted = 0;
    try {
      for (let i = 0; i < 4; i++) expect(await get(agent, `/${i}`)).toBe(`hello /${i}`);
      // Let the agent handle the last response's 'free' (setKeepAlive, unref, setTimeout).
      await sleep(50);
      expect(channels.length).toBe(1);
      expect(accepted).toBe(1);
      expect(channels[0].destroyed).toBe(false);
    } finally {
      agent.destroy();
    }
  });

  it('http.Agent({ keepAlive: true, timeout }): the request\'s timeout fires on an idle channel', async () => {
    ssh = await login();
    const { agent, channels } = sshAgent(ssh, { keepAlive: true, timeout: 5_000 });
    try {
      const t0 = Date.now();
      await expect(get(agent, '/silent', 300)).rejects.toThrow('timeout');
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(4_000);
      expect(channels[0].timeout).toBe(300);
    } finally {
      agent.destroy();
    }
  });

  it('setTimeout: reset by activity both ways, re-armed after it fired, 0 disables; the other methods return the stream', { timeout: 20_000 }, async () => {
    ssh = await login();
    // A target that sends a tick every 60 ms while `ticking`, and echoes.
    let ticking = false;
    const target = net.createServer((sock) => {
      const t = setInterval(() => ticking && sock.write('t'), 60);
      sock.on('data', (d) => sock.write(d));
      sock.on('close', () => clearInterval(t));
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: (target.address() as net.AddressInfo).port });
      expect(ch.setKeepAlive(true, 1000)).toBe(ch);
      expect(ch.setNoDelay(true)).toBe(ch);
      expect(ch.unref()).toBe(ch);
      expect(ch.ref()).toBe(ch);
      ch.on('data', () => {});
      let fired = 0;
      ch.on('timeout', () => fired++);
      expect(ch.timeout).toBe(undefined);
      // 400 ms idle, against ticks and writes every 60-100 ms: room for a busy machine.
      expect(ch.setTimeout(400)).toBe(ch);
      expect(ch.timeout).toBe(400);
      // Received data keeps it from firing.
      ticking = true;
      await sleep(900);
      expect(fired).toBe(0);
      ticking = false;
      await sleep(700);
      expect(fired).toBe(1);
      // Fired once while idle, not again; our writes re-arm it (and their echo).
      await sleep(600);
      expect(fired).toBe(1);
      for (let i = 0; i < 8; i++) {
        ch.write('x');
        await sleep(100);
      }
      expect(fired).toBe(1);
      await sleep(700);
      expect(fired).toBe(2);
      // The callback form; 0 disables it.
      let called = 0;
      ch.setTimeout(100, () => called++);
      await sleep(400);
      expect(called).toBe(1);
      ch.write('y');
      ch.setTimeout(0);
      await sleep(300);
      expect(fired).toBe(3);
      expect(ch.timeout).toBe(0);
      expect(() => ch.setTimeout(2 ** 31)).toThrow(UsageError);
      expect(() => ch.setTimeout(-1)).toThrow(UsageError);
      ch.destroy();
    } finally {
      target.close();
    }
  });
});
