/**
 * Remote forwarding (ssh -R) and dynamic forwarding (ssh -D) through the library against the
 * real sshd: tcpip-forward with a fixed port and port 0, streamlocal, refusals, cancel; the
 * SOCKS listener with curl; global request replies matched while keepalives are in flight.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChannelOpenError, ConnectionLostError, ForwardRefusedError, type SshClient } from '../src/index.js';
import { connectTo } from './harness/client.js';
import {
  deterministicChunks,
  deterministicSha256,
  dial,
  echoVia,
  freePort,
  hashStream,
  startEchoServer,
  startSinkServer,
  startSourceServer,
  startUnixEchoServer,
  type SinkServer,
  type SourceServer,
  type TestServer,
} from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const MiB = 1024 * 1024;
const run = promisify(execFile);

async function writeDeterministic(s: net.Socket, n: number, seed: number): Promise<void> {
  for (const chunk of deterministicChunks(n, seed)) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  s.end();
}

describeInterop('remote forwarding against sshd', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let source: SourceServer;
  let sink: SinkServer;
  let echo: TestServer;
  let dir: string;
  beforeAll(async () => {
    [sshd, source, sink, echo, dir] = await Promise.all([
      startSshd(),
      startSourceServer(8 * MiB, 5),
      startSinkServer(),
      startEchoServer(),
      mkdtemp(join(tmpdir(), 'pure-ssh-rfwd-')),
    ]);
    ssh = await connectTo(sshd);
  });
  afterAll(async () => {
    await ssh?.close();
    await Promise.all([sshd?.stop(), source?.close(), sink?.close(), echo?.close(), dir && rm(dir, { recursive: true, force: true })]);
  });

  it('a fixed port: 8 MiB down and 8 MiB up through the server\'s listener, verified by hash', async () => {
    const port = await freePort();
    const down = await ssh.forwardRemote({ listen: { port }, to: { host: '127.0.0.1', port: source.port } });
    expect(down.address).toEqual({ host: 'localhost', port });
    const got = await hashStream(await dial({ host: '127.0.0.1', port }));
    expect(got).toEqual({ bytes: source.bytes, sha256: source.sha256 });
    await down.close();

    const up = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: sink.port } });
    const upPort = (up.address as { port: number }).port;
    const s = await dial({ host: '127.0.0.1', port: upPort });
    s.resume();
    await writeDeterministic(s, 8 * MiB, 9);
    expect(await sink.next()).toEqual({ bytes: 8 * MiB, sha256: deterministicSha256(8 * MiB, 9) });
    expect(up.counters).toMatchObject({ connections: 1, failed: 0 });
    // From the server's side in, nothing back out (the sink only reads).
    expect(up.counters.bytesIn).toBe(8 * MiB);
    expect(up.counters.bytesOut).toBe(0);
    await up.close();
  });

  // Port 0 forwards bind 127.0.0.1 explicitly: with 'localhost' sshd may allocate the port on ::1
  // first, and the same number on 127.0.0.1 may belong to another process.
  it('port 0: the server picks the port, reported in address; several connections at once', async () => {
    const fwd = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: echo.port } });
    const port = (fwd.address as { port: number }).port;
    expect(port).toBeGreaterThan(0);
    const texts = Array.from({ length: 10 }, (_, i) => `hello ${i} `.repeat(1000));
    const echoes = await Promise.all(texts.map((t) => echoVia({ host: '127.0.0.1', port }, t)));
    expect(echoes).toEqual(texts);
    expect(fwd.counters.connections).toBe(10);
    await fwd.close();
  });

  it('close() cancels the forward: the server\'s port is closed, the connection stays up', async () => {
    const fwd = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: echo.port } });
    const port = (fwd.address as { port: number }).port;
    expect(await echoVia({ host: '127.0.0.1', port }, 'before')).toBe('before');
    await fwd.close();
    await expect(dial({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await echoVia({ host: '127.0.0.1', port: echo.port }, 'x')).toBe('x');
    const again = await ssh.forwardRemote({ listen: { port }, to: { host: '127.0.0.1', port: echo.port } });
    expect(await echoVia({ host: '127.0.0.1', port }, 'again')).toBe('again');
    await again.close();
  });

  it('a Unix socket on the server (streamlocal-forward@openssh.com) to a local TCP target, and to a local socket', async () => {
    const remotePath = join(dir, 'remote.sock');
    const fwd = await ssh.forwardRemote({ listen: { path: remotePath }, to: { host: '127.0.0.1', port: echo.port } });
    expect(fwd.address).toEqual({ path: remotePath });
    expect(await echoVia({ path: remotePath }, 'over a socket')).toBe('over a socket');
    await fwd.close();

    const localPath = join(dir, 'local.sock');
    const local = await startUnixEchoServer(localPath);
    try {
      const port = await freePort();
      const f2 = await ssh.forwardRemote({ listen: { port }, to: { path: localPath } });
      expect(await echoVia({ host: '127.0.0.1', port }, 'to a local socket')).toBe('to a local socket');
      await f2.close();
    } finally {
      await local.close();
    }
  });

  it('a local target that refuses: the channel is refused (connect failed), the forward stays up', async () => {
    const dead = await freePort();
    const fwd = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: dead } });
    const port = (fwd.address as { port: number }).port;
    const errors: Error[] = [];
    fwd.on('connection-error', (e: Error) => errors.push(e));
    const s = await dial({ host: '127.0.0.1', port });
    s.resume();
    await new Promise((r) => s.once('close', r));
    expect(fwd.counters.failed).toBe(1);
    // forwardLocal's class and code for a refused target; the SSH connection itself is fine.
    expect(errors[0]).toBeInstanceOf(ChannelOpenError);
    expect((errors[0] as ChannelOpenError).code).toBe('ERR_CHANNEL_OPEN_FAILED');
    expect((errors[0] as ChannelOpenError).reason).toBe(2);
    // channels.c channel_post_connecting: ssh 9.2's line; the reason goes to the server (below).
    expect(errors[0]?.message).toMatch(/^connect_to 127\.0\.0\.1 port \d+: failed\.$/);
    expect((errors[0]?.cause as NodeJS.ErrnoException)?.code).toBe('ECONNREFUSED');
    await new Promise((r) => setTimeout(r, 200));
    expect(sshd.logs()).toMatch(/open failed: connect failed: Connection refused|connect failed: Connection refused/);
    expect(ssh.channelCount).toBe(0);
    await fwd.close();
  });

  it('keepalives and forward requests in flight together: each reply reaches its own request', async () => {
    const fwds = [];
    for (let i = 0; i < 5; i++) {
      ssh.ping();
      fwds.push(ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: echo.port } }));
      ssh.ping();
    }
    const done = await Promise.all(fwds);
    const ports = done.map((f) => (f.address as { port: number }).port);
    expect(new Set(ports).size).toBe(5);
    for (const [i, port] of ports.entries()) expect(await echoVia({ host: '127.0.0.1', port }, `n${i}`)).toBe(`n${i}`);
    await Promise.all(done.map((f) => f.close()));
  });
});

describeInterop('remote forwarding refused by sshd', () => {
  it('AllowTcpForwarding local: ForwardRefusedError with ssh\'s words; the connection stays usable', async () => {
    const sshd = await startSshd({ config: { AllowTcpForwarding: 'local' } });
    const echo = await startEchoServer();
    const ssh = await connectTo(sshd);
    try {
      const port = await freePort();
      const err = await ssh.forwardRemote({ listen: { port }, to: { host: '127.0.0.1', port: echo.port } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForwardRefusedError);
      expect((err as ForwardRefusedError).code).toBe('ERR_FORWARD_REFUSED');
      expect((err as Error).message).toBe(`remote port forwarding failed for listen port ${port}`);
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      ch.end('still up');
      const parts: Buffer[] = [];
      for await (const c of ch) parts.push(c as Buffer);
      expect(Buffer.concat(parts).toString()).toBe('still up');
    } finally {
      await ssh.close();
      await Promise.all([sshd.stop(), echo.close()]);
    }
  });
});

describeInterop('dynamic forwarding (SOCKS) against sshd', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let http: net.Server;
  let httpPort: number;
  let http6: net.Server | undefined;
  const body = 'x'.repeat(100_000);
  beforeAll(async () => {
    sshd = await startSshd({ config: { PermitOpen: 'any' } });
    ssh = await connectTo(sshd);
    const handler = (s: net.Socket) => {
      s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
    };
    http = net.createServer(handler);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as net.AddressInfo).port;
    http6 = net.createServer(handler);
    await new Promise<void>((r, j) => {
      http6!.once('error', j);
      http6!.listen(httpPort, '::1', r);
    }).catch(() => {
      http6 = undefined;
    });
  });
  afterAll(async () => {
    await ssh?.close();
    http?.close();
    http6?.close();
    await sshd?.stop();
  });

  const curl = async (socks: string, url: string) => {
    const [flag, proxy] = socks.split('=');
    const { stdout } = await run('curl', ['-sS', '-g', '--max-time', '10', flag!, proxy!, url], { maxBuffer: 10 * MiB });
    return stdout;
  };

  it('curl through --socks4a, --socks5-hostname, --socks5 (IPv4 literal), --socks4', async () => {
    const fwd = await ssh.forwardDynamic({ listen: { port: 0 } });
    const { host, port } = fwd.address;
    expect(host).toBe('127.0.0.1');
    const requests: unknown[] = [];
    fwd.on('request', (r) => requests.push(r));
    expect(await curl(`--socks4a=${host}:${port}`, `http://localhost:${httpPort}/`)).toBe(body);
    expect(await curl(`--socks5-hostname=${host}:${port}`, `http://localhost:${httpPort}/`)).toBe(body);
    expect(await curl(`--socks5=${host}:${port}`, `http://127.0.0.1:${httpPort}/`)).toBe(body);
    expect(await curl(`--socks4=${host}:${port}`, `http://127.0.0.1:${httpPort}/`)).toBe(body);
    expect(requests).toEqual([
      { version: '4a', addressType: 'domain', host: 'localhost', port: httpPort },
      { version: '5', addressType: 'domain', host: 'localhost', port: httpPort },
      { version: '5', addressType: 'ipv4', host: '127.0.0.1', port: httpPort },
      { version: '4', addressType: 'ipv4', host: '127.0.0.1', port: httpPort },
    ]);
    await fwd.close();
  });

  it('an IPv6 target through SOCKS5 (ATYP 4)', async (ctx) => {
    // A machine without ::1 cannot run this; in CI (which has it) that is a failure, not a skip.
    if (!http6) {
      if (process.env.CI === 'true') throw new Error('no IPv6 loopback (::1) to listen on');
      return ctx.skip();
    }
    const fwd = await ssh.forwardDynamic({ listen: { port: 0 } });
    expect(await curl(`--socks5=127.0.0.1:${fwd.address.port}`, `http://[::1]:${httpPort}/`)).toBe(body);
    await fwd.close();
  });

  it('a refused target gets SOCKS5 reply 0x05 (connect failed) and 0x02 (administratively prohibited)', async () => {
    const fwd = await ssh.forwardDynamic({ listen: { port: 0 } });
    const dead = await freePort();
    const socks5Reply = async (target: number) => {
      const s = await dial({ host: '127.0.0.1', port: fwd.address.port });
      s.write(Uint8Array.of(5, 1, 0));
      s.write(Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 255));
      const parts: Buffer[] = [];
      for await (const c of s) parts.push(c as Buffer);
      return [...Buffer.concat(parts)];
    };
    expect(await socks5Reply(dead)).toEqual([5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    await fwd.close();

    const strict = await startSshd({ config: { PermitOpen: `127.0.0.1:${httpPort}` } });
    const ssh2 = await connectTo(strict);
    try {
      const f2 = await ssh2.forwardDynamic({ listen: { port: 0 } });
      const s = await dial({ host: '127.0.0.1', port: f2.address.port });
      s.write(Uint8Array.of(5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 22));
      const parts: Buffer[] = [];
      for await (const c of s) parts.push(c as Buffer);
      expect([...Buffer.concat(parts)]).toEqual([5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
      expect(f2.counters.failed).toBe(1);
      // SOCKS4 says "rejected" (91) for any refusal.
      const s4 = await dial({ host: '127.0.0.1', port: f2.address.port });
      s4.write(Uint8Array.of(4, 1, 0, 22, 127, 0, 0, 1, 0));
      const p4: Buffer[] = [];
      for await (const c of s4) p4.push(c as Buffer);
      expect([...Buffer.concat(p4)]).toEqual([0, 91, 0, 0, 0, 0, 0, 0]);
    } finally {
      await ssh2.close();
      await strict.stop();
    }
  });

  it("an IPv4-mapped ATYP 4 target is sent as ssh sends it (::ffff:a.b.c.d), so sshd's PermitOpen text matches", async () => {
    const mapped = await startSshd({ config: { PermitOpen: `[::ffff:127.0.0.1]:${httpPort}` } });
    const ssh3 = await connectTo(mapped);
    try {
      const f3 = await ssh3.forwardDynamic({ listen: { port: 0 } });
      expect(await curl(`--socks5=127.0.0.1:${f3.address.port}`, `http://[::ffff:127.0.0.1]:${httpPort}/`)).toBe(body);
    } finally {
      await ssh3.close();
      await mapped.stop();
    }
  });
});

describeInterop('remote forwarding when the connection is lost', () => {
  it('a forwardRemote() whose reply never comes because the connection died: ConnectionLostError, not a refusal (break25 F6)', async () => {
    const sshd = await startSshd();
    // A relay that can stop passing our bytes to sshd (the request then gets no reply) and cut the connection.
    let hold = false;
    const sockets: net.Socket[] = [];
    const relay = net.createServer((c) => {
      const up = net.connect(sshd.port, sshd.host);
      sockets.push(c, up);
      c.on('data', (d) => hold || up.write(d));
      up.pipe(c);
      c.on('error', () => {});
      up.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const ssh = await connectTo(sshd, { sock: net.connect((relay.address() as net.AddressInfo).port, '127.0.0.1') });
    try {
      hold = true;
      const pending = ssh.forwardRemote({ listen: { port: 0 }, to: { host: '127.0.0.1', port: 9 } }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      for (const s of sockets) s.destroy();
      const err = await pending;
      expect(err).toBeInstanceOf(ConnectionLostError);
      expect((err as ConnectionLostError).code).toBe('ERR_CONNECTION_LOST');
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      await ssh.close();
      relay.close();
      await sshd.stop();
    }
  });
});
