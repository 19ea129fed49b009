/**
 * ConnectTimeout and ServerAliveInterval through the built CLI, beside ssh(1) 9.2:
 * - ConnectTimeout covers the TCP connect (sshconnect.c: "ssh: connect to host H port P:
 *   Connection timed out") and the wait for the server's identification line (kex.c
 *   kex_exchange_identification: "Connection timed out during banner exchange", then packet.c
 *   sshpkt_fatal's "Connection to ADDR port P timed out"), exit 255; not the key exchange.
 * - ServerAliveInterval is scheduled from the last read from the server or the last probe
 *   (clientloop.c schedule_server_alive_check), not on a grid: with RekeyLimit's time part and
 *   keepalives as the only traffic the rekeys come every RekeyLimit seconds (they came every ~4 s
 *   at 3 s on the grid), and a connection that keeps hearing from the server sends none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort, PYTHON, startEchoServer, type TestServer } from './harness/net.js';
import { SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI_BIN_PATH, deliverSignal } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

interface Run {
  code: number | null;
  err: string;
  /** Each stderr line with the time it arrived (ms since the start). */
  lines: { at: number; text: string }[];
  elapsed: number;
  alive: boolean;
}

describeInteropWithHome('CLI ConnectTimeout and ServerAliveInterval as ssh(1)', () => {
  let sshd: SshdHandle;
  let silent: net.Server;
  let bannerOnly: net.Server;
  let echo: TestServer;
  let fullBacklog: ChildProcess;
  let fullPort: number;
  const held: net.Socket[] = [];
  const home = suiteHome();

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd();
    echo = await startEchoServer();
    // Accepts and says nothing; keeps what each client sent.
    silent = net.createServer((s) => {
      held.push(s);
      const got: Buffer[] = [];
      silentReceived.push(got);
      s.on('data', (d: Buffer) => got.push(d));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    // Sends an identification line, then nothing: the key exchange never completes.
    bannerOnly = net.createServer((s) => {
      held.push(s);
      s.on('error', () => {});
      s.write('SSH-2.0-OpenSSH_9.2\r\n');
    });
    await new Promise<void>((r) => bannerOnly.listen(0, '127.0.0.1', r));
    // Never accepts: a listener whose backlog is full drops further SYNs, so connect(2) hangs.
    // (Node accepts on its own; python3 listens without accepting.)
    fullPort = await freePort();
    fullBacklog = spawn(PYTHON, ['-c', `
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', ${fullPort})); s.listen(0)
held = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', ${fullPort}))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.3)
print('ready', flush=True)
sys.stdin.read()
`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      fullBacklog.once('error', reject);
      fullBacklog.once('exit', (c) => reject(new Error(`python3 exited (${c}): it holds the full-backlog listener`)));
      fullBacklog.stdout!.once('data', () => resolve());
    });
  }, 30_000);

  afterAll(async () => {
    for (const s of held) s.destroy();
    fullBacklog?.stdin?.end();
    fullBacklog?.kill();
    await Promise.all([sshd?.stop(), echo?.close(), new Promise((r) => silent?.close(r)), new Promise((r) => bannerOnly?.close(r))]);
  });

  /** pure-ssh (or ssh) -N with these options (logging in to `server`); SIGTERM after `limit` ms if still running. */
  const run = async (client: 'pure-ssh' | 'ssh', port: number, extra: string[], limit: number, during?: (lines: Run['lines']) => Promise<void>, server: SshdHandle = sshd): Promise<Run> => {
    const args = ['-N', '-F', 'none', '-p', String(port), '-i', server.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${server.knownHostsPath}`, ...extra, `${server.user}@127.0.0.1`];
    const t0 = Date.now();
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    let partial = '';
    const lines: Run['lines'] = [];
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ at: Date.now() - t0, text: text.replace(/\r$/, '') });
    });
    let code: number | null = null;
    let alive = true;
    // 'close', not 'exit': the exit can come before the last of stderr has been read.
    const exited = new Promise<void>((r) => child.on('close', (c) => ((code = c), (alive = false), r())));
    const timer = new Promise<void>((r) => setTimeout(r, limit));
    // With `during`, the run lasts as long as it does (`limit` unused).
    await (during ? during(lines) : Promise.race([exited, timer]));
    const wasAlive = alive;
    const elapsed = Date.now() - t0;
    if (alive) deliverSignal(child, 'SIGTERM');
    await exited;
    // ssh ends its log lines with CRLF (log.c), pure-ssh with LF.
    return { code, err, lines, elapsed, alive: wasAlive };
  };

  /** What the silent server received, per connection. */
  const silentReceived: Buffer[][] = [];
  const clients = (): ('pure-ssh' | 'ssh')[] => (sshClientAvailable() ? ['pure-ssh', 'ssh'] : ['pure-ssh']);
  /** Resolves once a stderr line matches `re`, or after `ms` (the test's assertions then fail). */
  const waitForLine = async (lines: Run['lines'], re: RegExp, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!lines.some((l) => re.test(l.text)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  };

  it.concurrent('ConnectTimeout with a server that accepts and says nothing: "Connection timed out during banner exchange", then "Connection to ADDR port P timed out", exit 255', async () => {
    const port = (silent.address() as net.AddressInfo).port;
    for (const client of clients()) {
      const r = await run(client, port, ['-o', 'ConnectTimeout=1'], 10_000);
      expect(r.alive, `${client}: ${r.err}`).toBe(false);
      expect(r.code, `${client}: ${r.err}`).toBe(255);
      expect(r.err, client).toBe(`Connection timed out during banner exchange\r\nConnection to 127.0.0.1 port ${port} timed out\r\n`);
      expect(r.elapsed, client).toBeGreaterThanOrEqual(1000);
      // kex.c send_error ("Timed out waiting for SSH identification string.") is the server's
      // only: the client sent its identification (and, pure-ssh, its KEXINIT), no text after.
      const sent = Buffer.concat(silentReceived.at(-1) ?? []).toString('latin1');
      expect(sent, client).toMatch(/^SSH-2\.0-\S+( [^\r\n]*)?\r\n/);
      expect(sent, client).not.toContain('Timed out');
    }
  }, 30_000);

  it.concurrent('a server that closes before its identification line, or after it: ssh 9.2\'s lines (kex.c, then packet.c at INFO) byte for byte', async () => {
    const sockets: net.Socket[] = [];
    const closer = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.end();
    });
    const bannerThenClose = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.write('SSH-2.0-OpenSSH_9.2\r\n');
      setTimeout(() => s.end(), 100);
    });
    await Promise.all([closer, bannerThenClose].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    try {
      for (const [srv, level, expected] of [
        [closer, 'INFO', 'kex_exchange_identification: Connection closed by remote host\r\nConnection closed by 127.0.0.1 port PORT\r\n'],
        [closer, 'ERROR', 'kex_exchange_identification: Connection closed by remote host\r\n'],
        [bannerThenClose, 'INFO', 'Connection closed by 127.0.0.1 port PORT\r\n'],
        [bannerThenClose, 'ERROR', ''],
      ] as const) {
        const port = (srv.address() as net.AddressInfo).port;
        for (const client of clients()) {
          const r = await run(client, port, ['-o', `LogLevel=${level}`], 10_000);
          expect({ code: r.code, err: r.err }, `${client} ${level}`).toEqual({ code: 255, err: expected.replace('PORT', String(port)) });
        }
      }
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all([closer, bannerThenClose].map((srv) => new Promise((r) => srv.close(r))));
    }
  }, 60_000);

  it.concurrent('ConnectTimeout with a listener that never accepts: "ssh: connect to host H port P: Connection timed out", exit 255', async () => {
    for (const client of clients()) {
      const r = await run(client, fullPort, ['-o', 'ConnectTimeout=1'], 10_000);
      expect(r.alive, `${client}: ${r.err}`).toBe(false);
      expect(r.code, `${client}: ${r.err}`).toBe(255);
      expect(r.err, client).toBe(`ssh: connect to host 127.0.0.1 port ${fullPort}: Connection timed out\r\n`);
    }
  }, 30_000);

  it.concurrent('ConnectTimeout does not cover the key exchange: a server that sends its banner and then stalls is still waited for', async () => {
    const port = (bannerOnly.address() as net.AddressInfo).port;
    for (const client of clients()) {
      const r = await run(client, port, ['-o', 'ConnectTimeout=1'], 2500);
      expect(r.alive, `${client}: ${r.err}`).toBe(true);
      expect(r.err, client).not.toMatch(/timed out/);
    }
  }, 30_000);

  it.concurrent('ServerAliveInterval × ServerAliveCountMax before the session (packet.c ssh_packet_set_timeout): a server that stalls after its banner, "Connection to ADDR port P timed out", exit 255', async () => {
    const port = (bannerOnly.address() as net.AddressInfo).port;
    for (const client of clients()) {
      const r = await run(client, port, ['-o', 'ServerAliveInterval=1', '-o', 'ServerAliveCountMax=2'], 10_000);
      expect(r.alive, `${client}: ${r.err}`).toBe(false);
      expect(r.code, `${client}: ${r.err}`).toBe(255);
      expect(r.err, client).toBe(`Connection to 127.0.0.1 port ${port} timed out\r\n`);
      expect(r.elapsed, client).toBeGreaterThanOrEqual(2000);
    }
  }, 30_000);

  it.concurrent('ServerAliveInterval 3 with RekeyLimit default 3: the probe due 3 s after the last read makes the connection used, so it re-keys every ~3 s as ssh does (the grid gave ~4 s)', async () => {
    // Both clients at once (each its own connection): the test's time is one run's. Each runs
    // 12 s past its authentication, however long the start took on a loaded machine.
    const runs = await Promise.all(clients().map(async (client) => ({
      client,
      r: await run(client, sshd.port, ['-v', '-o', 'ServerAliveInterval=3', '-o', 'RekeyLimit=default 3'], 0, async (lines) => {
        await waitForLine(lines, /Authenticated to /, 20_000);
        await new Promise((res) => setTimeout(res, 12_000));
      }),
    })));
    for (const { client, r } of runs) {
      expect(r.alive, `${client}: ${r.err}`).toBe(true);
      expect(r.lines.some((l) => /Authenticated to /.test(l.text)), r.err).toBe(true);
      // pure-ssh says why it re-keys; ssh -v says "SSH2_MSG_KEXINIT sent" per key exchange (the first one included).
      const starts = r.lines.filter((l) => (client === 'ssh' ? /SSH2_MSG_KEXINIT sent/ : /rekeying: RekeyLimit time reached/).test(l.text)).map((l) => l.at);
      const rekeys = client === 'ssh' ? starts.slice(1) : starts;
      // About 12 s after authentication: at 3, 6 and 9 s at least.
      expect(rekeys.length, `${client}: ${r.err}`).toBeGreaterThanOrEqual(3);
      // Each rekey's start from the end of the key exchange before it (ssh -v: "SSH2_MSG_NEWKEYS
      // received"; pure-ssh: "rekey done"): the time limit counts from there (packet.c
      // ssh_set_newkeys sets rekey_time), so a key exchange slowed by load (ssh once took 1 s
      // for sntrup761 in CI: 4019 ms start to start) does not stretch the gap.
      const ends = r.lines.filter((l) => (client === 'ssh' ? /SSH2_MSG_NEWKEYS received/ : /rekey done/).test(l.text)).map((l) => l.at);
      const gaps = rekeys.slice(1).map((t) => t - Math.max(...ends.filter((e) => e <= t)));
      for (const g of gaps) expect(g, `${client}: gaps ${gaps.join(', ')} ms\n${r.err}`).toBeLessThan(3600);
    }
  }, 45_000);

  it.concurrent('ServerAliveInterval probes fall on whole seconds of the monotonic clock, as ssh(1)\'s (clientloop.c: server_alive_time = monotime() + interval)', async () => {
    // A proxy between client and sshd stamps each client-to-server chunk with the monotonic
    // clock (process.hrtime: CLOCK_MONOTONIC, ssh's CLOCK_BOOTTIME on a machine never suspended).
    // One proxy per client, both clients at once.
    const stampingProxy = async () => {
      const stamps: number[] = [];
      const server = net.createServer((c) => {
        const up = net.connect(sshd.port, '127.0.0.1');
        c.on('data', (d: Buffer) => {
          stamps.push(Number(process.hrtime.bigint() / 1000n) / 1000);
          up.write(d);
        });
        up.pipe(c);
        c.on('error', () => up.destroy());
        up.on('error', () => c.destroy());
        c.on('close', () => up.destroy());
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { stamps, server, port: (server.address() as net.AddressInfo).port };
    };
    const proxies = await Promise.all(clients().map(async (client) => ({ client, ...(await stampingProxy()) })));
    try {
      // Each run ends 9 s after its client's first byte (SIGTERM), however long the start took.
      const runs = await Promise.all(proxies.map(async (p) => ({
        ...p,
        r: await run(p.client, p.port, ['-o', `HostKeyAlias=[127.0.0.1]:${sshd.port}`, '-o', 'ServerAliveInterval=1', '-o', 'ServerAliveCountMax=100'], 0, async () => {
          const deadline = Date.now() + 20_000;
          while (p.stamps.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
          const since = p.stamps.length > 0 ? Number(process.hrtime.bigint() / 1000n) / 1000 - p.stamps[0]! : 0;
          await new Promise((res) => setTimeout(res, Math.max(0, 9_000 - since)));
        }),
      })));
      for (const { client, stamps, r } of runs) {
        expect(r.alive, `${client}: ${r.err}`).toBe(true);
        // The probes of the idle connection: what the client sent from 2.5 s to 8.2 s (before SIGTERM).
        const idle = stamps.filter((t) => t - stamps[0]! > 2_500 && t - stamps[0]! < 8_200);
        expect(idle.length, client).toBeGreaterThanOrEqual(4);
        // Each within a moment after a whole second (the timer's own latency); exactly one
        // interval after the last read, the phase would be anywhere in the second. One probe may
        // be late on a loaded machine (a CI run saw one timer 816 ms late): all but one must be
        // on time, which a phase spread at random over the second passes with p < 0.003.
        const phases = idle.map((t) => Math.round(t % 1000));
        expect(phases.filter((p) => p < 150).length, `${client}: ${phases.join(' ')} ms into the second`).toBeGreaterThanOrEqual(phases.length - 1);
      }
    } finally {
      await Promise.all(proxies.map((p) => new Promise((r) => p.server.close(r))));
    }
  }, 40_000);

  // An sshd of its own: it counts the keepalive requests in the whole sshd log, which the other
  // cases' ServerAliveInterval connections would add to.
  it.concurrent('ServerAliveInterval 2: a connection that keeps hearing from the server sends no keepalive; once idle it does', async () => {
    const own = await startSshd();
    try {
      await keepaliveCase(own);
    } finally {
      await own.stop();
    }
  }, 30_000);

  const keepaliveCase = async (sshd: SshdHandle) => {
    const lport = await freePort();
    const probes = (): number => sshd.logs().match(/rtype keepalive@openssh\.com/g)?.length ?? 0;
    const before = probes();
    let busyProbes = -1;
    let idleProbes = -1;
    // (Interval 2: with ssh's whole-second clock a read 0.9 s into a second is followed by a
    // probe at the next second under interval 1, busy or not, as ssh(1) does.)
    const r = await run('pure-ssh', sshd.port, ['-v', '-o', 'ServerAliveInterval=2', '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`], 0, async (lines) => {
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => /Local forwarding listening on /.test(l.text)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      // A line through the forward every 300 ms for 3.5 s: the echo keeps the server talking.
      const s = net.connect(lport, '127.0.0.1');
      await new Promise<void>((res, rej) => s.once('connect', res).once('error', rej));
      let echoed = '';
      s.setEncoding('utf8').on('data', (d: string) => (echoed += d));
      for (let i = 0; i < 12; i++) {
        s.write(`line ${i}\n`);
        await new Promise((res) => setTimeout(res, 300));
      }
      expect(echoed).toContain('line 11\n');
      busyProbes = probes() - before;
      s.destroy();
      // Then idle: a probe one to two seconds after the last read from the server.
      const idleDeadline = Date.now() + 5000;
      while (probes() - before === busyProbes && Date.now() < idleDeadline) await new Promise((res) => setTimeout(res, 100));
      idleProbes = probes() - before - busyProbes;
    }, sshd);
    expect(r.alive, r.err).toBe(true);
    expect(busyProbes, sshd.logs()).toBe(0);
    // Idle afterwards: probes went out (ServerAliveInterval is on).
    expect(idleProbes, r.err).toBeGreaterThanOrEqual(1);
  };

});
