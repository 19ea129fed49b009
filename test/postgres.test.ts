/**
 * Issue 5 from Node: the PostgreSQL manual's "Secure TCP/IP Connections with SSH Tunnels"
 * (`ssh -L 63333:localhost:5432 joe@foo.com`, then `psql -h localhost -p 63333 postgres`) with
 * pure-ssh's library against a real sshd and a real PostgreSQL, both started here on loopback.
 * The same cases through the CLI are in postgres-cli.test.ts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChannelOpenError, connect, SshError, type LocalForward, type SshClient } from '../src/index.js';
import { describePostgres, startPostgres, type PostgresHandle } from './harness/postgres.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { pgChannelStream } from '../examples/pg-stream.js';
import { postgresJsSocket } from '../examples/postgres-js-socket.js';
import { copyRoundTrip, parsePgbench, psqlAt, runPgTool, type PgTarget } from './postgres-helpers.js';

/** Per test: a hang must fail on its own, not eat the whole file's budget. */
const TEST_TIMEOUT = 20_000;

/** Logs in to `sshd` as its test user with its key, checking the host key against its known_hosts. */
function login(sshd: SshdHandle): Promise<SshClient> {
  return connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.clientKey,
    knownHosts: sshd.knownHostsPath,
    strictHostKeyChecking: 'yes',
    connectTimeout: 10_000,
  });
}

/** Where psql reaches a TCP forward: by name, as the manual does (`psql -h localhost -p 63333`). */
function viaLocalhost(fwd: LocalForward): PgTarget {
  const address = fwd.address;
  if (!('port' in address)) throw new Error('expected a TCP forward');
  return { host: 'localhost', port: address.port };
}

describeInterop('PostgreSQL through pure-ssh (library)', () => {
  describePostgres('the SSH tunnels chapter', () => {
    let sshd: SshdHandle;
    /** listen_addresses = 'localhost': the default, reached only because the server resolves `localhost`. */
    let db: PostgresHandle;
    /** listen_addresses = '127.0.0.2': "another host" for the hop case. */
    let other: PostgresHandle;
    let ssh: SshClient;
    let tmp: string;

    beforeAll(async () => {
      [sshd, db, other, tmp] = await Promise.all([
        startSshd(),
        startPostgres({ listen: 'localhost' }),
        startPostgres({ listen: '127.0.0.2' }),
        mkdtemp(join(tmpdir(), 'pure-ssh-pgtest-')),
      ]);
      ssh = await login(sshd);
    });

    afterAll(async () => {
      await ssh?.close();
      await Promise.all([sshd?.stop(), db?.stop(), other?.stop(), tmp && rm(tmp, { recursive: true, force: true })]);
    });

    it('sends a channel open on an otherwise idle connection at once (openDirectTcpip resolves)', async () => {
      // Nothing else moves on the connection here: no local client writing, no server traffic.
      // Postgres.js waits for the open before its first write, so an open that sits in the
      // output queue until other traffic flushes it is a hang.
      await new Promise((r) => setTimeout(r, 300));
      const opened = ssh.openDirectTcpip({ host: 'localhost', port: db.port });
      const outcome = await Promise.race([
        opened.then(() => 'open'),
        new Promise<string>((r) => setTimeout(() => r('no answer within 3 s'), 3_000)),
      ]);
      expect(outcome).toBe('open');
      (await opened).destroy();
    }, TEST_TIMEOUT);

    it('forwards -L <port>:localhost:<pgport>; psql -h localhost works and the server sees a loopback client', async () => {
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: 'localhost', port: db.port } });
      try {
        const target = viaLocalhost(fwd);
        expect(target.port).not.toBe(db.port);
        const r = await psqlAt(db, target, [
          '-c',
          'CREATE TABLE greet (id int, word text); INSERT INTO greet VALUES (1, $$hello$$), (2, $$tunnel$$);',
          '-c',
          "SELECT string_agg(word, ' ' ORDER BY id) FROM greet",
          '-c',
          'SELECT inet_server_addr()::text, current_setting($$listen_addresses$$)',
        ]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        // sshd connected to the server's `localhost`, i.e. 127.0.0.1 or ::1: loopback either way.
        expect(r.stdout).toMatch(/^hello tunnel\n(127\.0\.0\.1|::1)\/\d+\|localhost\n$/);
        expect(fwd.counters.connections).toBeGreaterThanOrEqual(1);
        expect(fwd.counters.failed).toBe(0);
      } finally {
        await fwd.close();
      }
    }, TEST_TIMEOUT);

    it('carries a 32 MiB COPY in and out unchanged (sha256 of what went in = what came out)', async () => {
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: 'localhost', port: db.port } });
      try {
        const r = await copyRoundTrip(db, viaLocalhost(fwd), 32 * 1024 * 1024, { table: 'lib_copy', seed: 7 });
        expect(r.bytesIn).toBeGreaterThanOrEqual(32 * 1024 * 1024);
        expect(r.rows).toBeGreaterThan(200_000);
        expect(r.bytesOut).toBe(r.bytesIn);
        expect(r.sha256Out).toBe(r.sha256In);
        expect(fwd.counters.bytesOut).toBeGreaterThan(r.bytesIn);
        expect(fwd.counters.bytesIn).toBeGreaterThan(r.bytesOut);
      } finally {
        await fwd.close();
      }
    }, TEST_TIMEOUT);

    it('refuses a target where PostgreSQL does not listen: reason 2 with the server text, psql fails fast', async () => {
      // 127.0.0.3: the ssh host's own loopback, where nothing listens on db.port.
      await expect(ssh.openDirectTcpip({ host: '127.0.0.3', port: db.port })).rejects.toSatisfy((err: unknown) => {
        expect(err).toBeInstanceOf(ChannelOpenError);
        const e = err as ChannelOpenError;
        expect(e.reason).toBe(2);
        expect(e.message).toMatch(/^channel \d+: open failed: connect failed: .*Connection refused/);
        return true;
      });

      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.3', port: db.port } });
      const errors: SshError[] = [];
      fwd.on('connection-error', (e: SshError) => errors.push(e));
      try {
        const r = await psqlAt(db, viaLocalhost(fwd), ['-c', 'SELECT 1'], { timeoutMs: 15_000 });
        expect(r.signal).toBeNull();
        expect(r.code).not.toBe(0);
        expect(r.ms).toBeLessThan(5_000);
        expect(r.stderr).toMatch(/server closed the connection unexpectedly|Connection reset|could not receive data/);
        expect(errors.length).toBeGreaterThanOrEqual(1);
        expect(errors[0]).toBeInstanceOf(ChannelOpenError);
        expect((errors[0] as ChannelOpenError).reason).toBe(2);
        expect(errors[0].message).toMatch(/open failed: connect failed: .*Connection refused/);
        expect(fwd.counters.failed).toBeGreaterThanOrEqual(1);
        // OpenSSH keeps the tunnel up after a refused channel; so does the library.
        expect(ssh.channelCount).toBe(0);
        const ok = await ssh.openDirectTcpip({ host: 'localhost', port: db.port });
        ok.destroy();
      } finally {
        await fwd.close();
      }
    }, TEST_TIMEOUT);

    it('hops to another host (PostgreSQL on 127.0.0.2 only, sshd on 127.0.0.1)', async () => {
      // The direct route is closed: the server does not listen on 127.0.0.1.
      await expect(ssh.openDirectTcpip({ host: '127.0.0.1', port: other.port })).rejects.toBeInstanceOf(ChannelOpenError);
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.2', port: other.port } });
      try {
        const r = await psqlAt(other, viaLocalhost(fwd), ['-c', 'SELECT inet_server_addr()::text, inet_client_addr()::text']);
        expect(r.stderr).toBe('');
        expect(r.stdout).toMatch(/^127\.0\.0\.2\/32\|127\.0\.0\.\d+\/32\n$/);
      } finally {
        await fwd.close();
      }
    }, TEST_TIMEOUT);

    it('reaches the server Unix socket (direct-streamlocal@openssh.com)', async () => {
      const socketPath = `${db.socketDir}/.s.PGSQL.${db.port}`;
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { path: socketPath } });
      try {
        // Over the Unix socket the server has no client address: inet_client_addr() is NULL.
        const r = await psqlAt(db, viaLocalhost(fwd), ['-c', "SELECT coalesce(inet_client_addr()::text, 'unix')"]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('unix\n');
      } finally {
        await fwd.close();
      }
      const direct = await ssh.openDirectStreamlocal(socketPath);
      expect(direct.isOpen).toBe(true);
      direct.destroy();
      await expect(ssh.openDirectStreamlocal(`${tmp}/no-such.sock`)).rejects.toBeInstanceOf(ChannelOpenError);
    }, TEST_TIMEOUT);

    it('listens on a local Unix socket named as libpq expects (psql -h <dir> -p <port>)', async () => {
      // libpq turns `-h /dir -p N` into /dir/.s.PGSQL.N.
      const dir = join(tmp, 'local-sock');
      await mkdir(dir);
      const path = join(dir, `.s.PGSQL.${db.port}`);
      const fwd = await ssh.forwardLocal({ listen: { path }, to: { host: 'localhost', port: db.port } });
      try {
        expect(fwd.address).toEqual({ path });
        const r = await psqlAt(db, { host: dir, port: db.port }, ['-c', 'SELECT 6*7']);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('42\n');
      } finally {
        await fwd.close();
      }
    }, TEST_TIMEOUT);

    it('node-postgres runs queries over a channel stream (no local port)', async () => {
      const client = new pg.Client({
        user: 'postgres',
        database: 'postgres',
        stream: pgChannelStream(ssh, { host: 'localhost', port: db.port }),
      });
      await client.connect();
      try {
        const one = await client.query<{ n: number; s: string }>('SELECT $1::int + 1 AS n, $2::text AS s', [41, 'via ssh']);
        expect(one.rows).toEqual([{ n: 42, s: 'via ssh' }]);
        const many = await client.query<{ total: string }>('SELECT sum(g)::text AS total FROM generate_series(1, 100000) g');
        expect(many.rows[0].total).toBe('5000050000');
        const wide = await client.query<{ h: string }>("SELECT md5(string_agg(repeat('x', 100), '')) AS h FROM generate_series(1, 20000)");
        expect(wide.rows[0].h).toMatch(/^[0-9a-f]{32}$/);
      } finally {
        await client.end();
      }
    }, TEST_TIMEOUT);

    it('porsager postgres runs queries over its socket option', async () => {
      const options: postgres.Options<{}> & { socket: () => Promise<Duplex> } = {
        user: 'postgres',
        database: 'postgres',
        max: 2,
        socket: postgresJsSocket(ssh, { host: 'localhost', port: db.port }),
      };
      const sql = postgres(options);
      try {
        const [row] = await sql<{ n: number }[]>`SELECT ${41}::int + 1 AS n`;
        expect(row.n).toBe(42);
        const rows = await sql<{ g: number }[]>`SELECT g FROM generate_series(1, 5000) g`;
        expect(rows.length).toBe(5000);
        expect(rows[4999].g).toBe(5000);
        // Two connections at once: each is its own channel.
        const both = await Promise.all([sql`SELECT pg_backend_pid() AS p, pg_sleep(0.2)`, sql`SELECT pg_backend_pid() AS p, pg_sleep(0.2)`]);
        expect(both[0][0].p).not.toBe(both[1][0].p);
      } finally {
        // Terminate goes out and the channels close at once (no waiting out the 5 s timeout).
        const started = Date.now();
        await sql.end({ timeout: 5 });
        expect(Date.now() - started).toBeLessThan(2_000);
      }
    }, TEST_TIMEOUT);

    it('runs pgbench through the tunnel with every transaction committed', async () => {
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: 'localhost', port: db.port } });
      try {
        const target = viaLocalhost(fwd);
        const init = await runPgTool(db, 'pgbench', ['-i', '-s', '1', '-q'], target, { timeoutMs: 30_000 });
        expect(init.code, init.stderr).toBe(0);
        const bench = await runPgTool(db, 'pgbench', ['-n', '-t', '200', '-c', '4', '-j', '2'], target, { timeoutMs: 30_000 });
        expect(bench.code, bench.stderr).toBe(0);
        const summary = parsePgbench(bench.stdout);
        expect(summary).toMatchObject({ processed: 800, expected: 800, failed: 0 });
        expect(fwd.counters.connections).toBeGreaterThanOrEqual(5);
        expect(fwd.counters.failed).toBe(0);
      } finally {
        await fwd.close();
      }
    }, TEST_TIMEOUT);
  });
});

describeInterop('PostgreSQL through pure-ssh when sshd dies (library)', () => {
  describePostgres('killed mid-query', () => {
    let sshd: SshdHandle;
    let db: PostgresHandle;

    beforeAll(async () => {
      [sshd, db] = await Promise.all([startSshd(), startPostgres()]);
    });
    afterAll(async () => {
      await Promise.all([sshd?.stop(), db?.stop()]);
    });

    it('ends psql and node-postgres with an error, promptly, when the sshd connection is killed', async () => {
      const ssh = await login(sshd);
      const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: 'localhost', port: db.port } });
      const client = new pg.Client({ user: 'postgres', database: 'postgres', stream: pgChannelStream(ssh, { host: 'localhost', port: db.port }) });
      client.on('error', () => {});
      await client.connect();
      const viaPg = client.query('SELECT pg_sleep(60)').then(
        () => 'completed',
        (err: Error) => err,
      );
      const viaPsql = psqlAt(db, viaLocalhost(fwd), ['-c', 'SELECT pg_sleep(60)'], { timeoutMs: 20_000 });
      // Both queries are running on the server before the connection goes.
      for (let i = 0; i < 100; i++) {
        const active = await db.psql(['-tAc', "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'"]);
        if (active.stdout.trim() === '2') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const killedAt = Date.now();
      sshd.killConnections();

      const lost = await ssh.closed;
      expect(lost).toBeInstanceOf(SshError);
      expect(lost?.code).toBe('ERR_CONNECTION_LOST');

      const pgResult = await viaPg;
      expect(pgResult).toBeInstanceOf(Error);
      expect(Date.now() - killedAt).toBeLessThan(5_000);

      const psql = await viaPsql;
      expect(psql.signal).toBeNull();
      expect(psql.code).not.toBe(0);
      expect(psql.stderr).toMatch(/server closed the connection unexpectedly|connection to server was lost|could not receive data/);
      expect(Date.now() - killedAt).toBeLessThan(5_000);
      await fwd.close();
      await client.end().catch(() => {});
    }, TEST_TIMEOUT);
  });
});
