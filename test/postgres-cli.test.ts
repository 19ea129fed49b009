/**
 * Issue 5 with the `pure-ssh` command, word for word as the PostgreSQL manual's chapter
 * "Secure TCP/IP Connections with SSH Tunnels" has it:
 *
 *     ssh -L 63333:localhost:5432 joe@foo.com
 *     psql -h localhost -p 63333 postgres
 *
 * against a real sshd and real PostgreSQL servers started here on loopback, with the real
 * psql and pgbench. Needs `npm run build` first (dist/node/cli.js). The library side of the
 * same cases is in postgres.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, waitForPort } from './harness/net.js';
import { describePostgres, startPostgres, type PostgresHandle } from './harness/postgres.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { copyRoundTrip, parsePgbench, psqlAt, runPgTool } from './postgres-helpers.js';
import { CLI_BIN_PATH } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

/** Per test: a hang must fail on its own, not eat the whole file's budget. */
const TEST_TIMEOUT = 30_000;

/** A running `pure-ssh -N -L ...`. */
interface Tunnel {
  child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it is gone. */
  stop(): Promise<void>;
}

/**
 * Starts `node dist/node/cli.js -N -F none ... -L <spec> root@127.0.0.1` logging in to `sshd`
 * with its key and pinned host key, and resolves once the forward accepts connections
 * (`ready`: a TCP port on 127.0.0.1 or a Unix socket path). ExitOnForwardFailure makes a
 * listener that cannot bind an exit, not a silent wait.
 */
async function startTunnel(sshd: SshdHandle, forward: string, ready: { port: number } | { path: string }): Promise<Tunnel> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(
    process.execPath,
    [
      CLI,
      '-N',
      '-F', 'none',
      '-p', String(sshd.port),
      '-i', sshd.clientKeyPath,
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'ExitOnForwardFailure=yes',
      '-L', forward,
      `${sshd.user}@${sshd.host}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  const tunnel: Tunnel = { child, stderr: () => stderr, exited, stop };
  // Ready = the local end accepts a connection, or the CLI gave up (then say why).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`pure-ssh exited (${child.exitCode ?? child.signalCode}) before forwarding:\n${stderr}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const sock = 'port' in ready ? netConnect({ host: '127.0.0.1', port: ready.port }) : netConnect(ready.path);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (up) return tunnel;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pure-ssh did not start forwarding within 10 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fn` with a tunnel and always stops it. */
async function withTunnel<T>(
  sshd: SshdHandle,
  forward: string,
  ready: { port: number } | { path: string },
  fn: (t: Tunnel) => Promise<T>,
): Promise<T> {
  const tunnel = await startTunnel(sshd, forward, ready);
  try {
    return await fn(tunnel);
  } finally {
    await tunnel.stop();
  }
}

describeInteropWithHome('PostgreSQL through the pure-ssh CLI', () => {
  describePostgres('the SSH tunnels chapter, as typed', () => {
    let sshd: SshdHandle;
    /** listen_addresses = 'localhost', PostgreSQL's default. */
    let db: PostgresHandle;
    /** listen_addresses = '127.0.0.2': another host, for the hop. */
    let other: PostgresHandle;
    let tmp: string;

    beforeAll(async () => {
      [sshd, db, other, tmp] = await Promise.all([
        startSshd(),
        startPostgres({ listen: 'localhost' }),
        startPostgres({ listen: '127.0.0.2' }),
        mkdtemp(join(tmpdir(), 'pure-ssh-pgcli-')),
      ]);
    });
    afterAll(async () => {
      await Promise.all([sshd?.stop(), db?.stop(), other?.stop(), tmp && rm(tmp, { recursive: true, force: true })]);
    });

    it('-L <port>:localhost:<pgport>, then psql -h localhost: queries work and 100 MiB of COPY goes in and out intact', async () => {
      const port = await freePort();
      await withTunnel(sshd, `${port}:localhost:${db.port}`, { port }, async (tunnel) => {
        const target = { host: 'localhost', port };
        const q = await psqlAt(db, target, [
          '-c', 'SELECT current_user, current_database()',
          '-c', "SELECT current_setting('listen_addresses'), inet_server_addr() IN ('127.0.0.1', '::1')",
        ]);
        expect(q.stderr).toBe('');
        expect(q.stdout).toBe('postgres|postgres\nlocalhost|t\n');

        const copy = await copyRoundTrip(db, target, 100 * 1024 * 1024, { table: 'cli_copy', seed: 5, timeoutMs: 45_000 });
        expect(copy.bytesIn).toBeGreaterThanOrEqual(100 * 1024 * 1024);
        expect(copy.rows).toBeGreaterThan(700_000);
        expect(copy.bytesOut).toBe(copy.bytesIn);
        expect(copy.sha256Out).toBe(copy.sha256In);
        // Nothing went wrong quietly along the way.
        expect(tunnel.child.exitCode).toBeNull();
        expect(tunnel.stderr()).not.toMatch(/open failed|error/i);
      });
    }, 90_000);

    it('-L <port>:127.0.0.3:<pgport> (nothing listens there): "open failed: connect failed", psql fails fast, the tunnel stays', async () => {
      const port = await freePort();
      await withTunnel(sshd, `${port}:127.0.0.3:${db.port}`, { port }, async (tunnel) => {
        const r = await psqlAt(db, { host: 'localhost', port }, ['-c', 'SELECT 1'], { timeoutMs: 15_000 });
        expect(r.signal).toBeNull();
        expect(r.code).toBe(2); // psql: connection to the server failed
        expect(r.ms).toBeLessThan(5_000);
        expect(r.stderr).toMatch(/server closed the connection unexpectedly|Connection reset/);
        // OpenSSH's wording, with the server's own text after the reason.
        expect(tunnel.stderr()).toMatch(/channel \d+: open failed: connect failed: .*Connection refused/);
        // Like ssh, one refused channel does not end the session.
        expect(tunnel.child.exitCode).toBeNull();
        const again = await psqlAt(db, { host: 'localhost', port }, ['-c', 'SELECT 1'], { timeoutMs: 15_000 });
        expect(again.code).toBe(2);
        expect(tunnel.child.exitCode).toBeNull();
      });
    }, TEST_TIMEOUT);

    it('hops: -L <port>:127.0.0.2:<pgport> reaches PostgreSQL that listens only on the other address', async () => {
      const port = await freePort();
      await withTunnel(sshd, `${port}:127.0.0.2:${other.port}`, { port }, async () => {
        const r = await psqlAt(other, { host: 'localhost', port }, ['-c', 'SELECT inet_server_addr()::text']);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('127.0.0.2/32\n');
      });
      // Through `localhost` the same server is not reachable: the server resolves the name.
      const direct = await freePort();
      await withTunnel(sshd, `${direct}:localhost:${other.port}`, { port: direct }, async (tunnel) => {
        const r = await psqlAt(other, { host: 'localhost', port: direct }, ['-c', 'SELECT 1'], { timeoutMs: 15_000 });
        expect(r.code).toBe(2);
        expect(tunnel.stderr()).toMatch(/open failed: connect failed/);
      });
    }, TEST_TIMEOUT);

    it('-L <port>:<socketDir>/.s.PGSQL.<pgport> forwards to the server Unix socket', async () => {
      const port = await freePort();
      await withTunnel(sshd, `${port}:${db.socketDir}/.s.PGSQL.${db.port}`, { port }, async () => {
        const r = await psqlAt(db, { host: 'localhost', port }, ['-c', "SELECT coalesce(inet_client_addr()::text, 'unix socket')"]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('unix socket\n');
      });
    }, TEST_TIMEOUT);

    it('-L <dir>/.s.PGSQL.<pgport>:localhost:<pgport> listens on a local Unix socket for psql -h <dir>', async () => {
      // libpq connects to <dir>/.s.PGSQL.<port> for `-h <dir> -p <port>`.
      const dir = join(tmp, 'local');
      await mkdir(dir);
      const path = join(dir, `.s.PGSQL.${db.port}`);
      await withTunnel(sshd, `${path}:localhost:${db.port}`, { path }, async () => {
        const r = await psqlAt(db, { host: dir, port: db.port }, ['-c', 'SELECT inet_server_addr() IS NOT NULL']);
        expect(r.stderr).toBe('');
        // The local leg is a Unix socket; the server still sees TCP from sshd.
        expect(r.stdout).toBe('t\n');
      });
    }, TEST_TIMEOUT);

    it('pgbench -t 200 -c 4 through the tunnel commits all 800 transactions', async () => {
      const port = await freePort();
      await withTunnel(sshd, `${port}:localhost:${db.port}`, { port }, async (tunnel) => {
        const target = { host: 'localhost', port };
        const init = await runPgTool(db, 'pgbench', ['-i', '-s', '1', '-q'], target, { timeoutMs: 30_000 });
        expect(init.code, init.stderr).toBe(0);
        const bench = await runPgTool(db, 'pgbench', ['-n', '-t', '200', '-c', '4', '-j', '2'], target, { timeoutMs: 30_000 });
        expect(bench.code, bench.stderr).toBe(0);
        expect(parsePgbench(bench.stdout)).toMatchObject({ processed: 800, expected: 800, failed: 0 });
        expect(tunnel.child.exitCode).toBeNull();
      });
    }, TEST_TIMEOUT);
  });
});

describeInteropWithHome('PostgreSQL through the pure-ssh CLI when sshd dies', () => {
  describePostgres('killed mid-query', () => {
    let sshd: SshdHandle;
    let db: PostgresHandle;

    beforeAll(async () => {
      [sshd, db] = await Promise.all([startSshd(), startPostgres()]);
    });
    afterAll(async () => {
      await Promise.all([sshd?.stop(), db?.stop()]);
    });

    it('psql fails promptly and the CLI exits 255 with a message', async () => {
      const port = await freePort();
      await withTunnel(sshd, `${port}:localhost:${db.port}`, { port }, async (tunnel) => {
        const running = psqlAt(db, { host: 'localhost', port }, ['-c', 'SELECT pg_sleep(60)'], { timeoutMs: 20_000 });
        for (let i = 0; i < 100; i++) {
          const active = await db.psql(['-tAc', "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'"]);
          if (active.stdout.trim() === '1') break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const killedAt = Date.now();
        sshd.killConnections();

        const code = await tunnel.exited;
        expect(code).toBe(255);
        expect(Date.now() - killedAt).toBeLessThan(5_000);
        expect(tunnel.stderr()).toMatch(/closed|reset|lost/i);

        const psql = await running;
        expect(psql.signal).toBeNull();
        expect(psql.code).not.toBe(0);
        expect(psql.stderr).toMatch(/server closed the connection unexpectedly|connection to server was lost|could not receive data/);
        expect(Date.now() - killedAt).toBeLessThan(5_000);

        // And nothing listens any more: a new psql is refused at once instead of hanging.
        await expect(waitForPort('127.0.0.1', port, 200)).rejects.toThrow();
      });
    }, TEST_TIMEOUT);
  });
});
