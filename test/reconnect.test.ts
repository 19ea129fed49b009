/**
 * Reconnecting tunnels (pure-ssh's own): the per-connection sshd is killed mid-session
 * (../shared/TESTING.md: the listener's children, by pid); the local listener stays, the
 * connection comes back with backoff, the in-flight psql fails with an error, and a new psql
 * works without restarting anything. Library (`tunnel()`) and CLI (`-o PureSshReconnect=yes`).
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionLostError, tunnel, type ReconnectAttempt, type SshClient } from '../src/index.js';
import { clientOptions, connectTo } from './harness/client.js';
import { freePort } from './harness/net.js';
import { describePostgres, startPostgres, type PostgresHandle } from './harness/postgres.js';
import { cliEnv, itWithHome, processHome, suiteDir } from './harness/home.js';
import { describeInterop, sshdSuite, startSshd, type SshdHandle } from './harness/sshd.js';
import { psqlAt } from './postgres-helpers.js';
import { CLI_BIN_PATH } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

describeInterop('reconnecting tunnels against sshd', () => {
  describePostgres('PostgreSQL through a tunnel that survives its connection', () => {
    let pg: PostgresHandle;
    let sshd: SshdHandle;

    beforeAll(async () => {
      [pg, sshd] = await Promise.all([startPostgres(), startSshd()]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([pg?.stop(), sshd?.stop()]);
    });

    it('library: in-flight psql fails, a psql started while down waits, then works; events reported', async () => {
      const events: string[] = [];
      const t = await tunnel(clientOptions(sshd), { listen: { port: 0 }, to: { host: '127.0.0.1', port: pg.port } }, {
        initialDelay: 1500,
        maxDelay: 4000,
        jitter: 0,
        waitForConnection: 15_000,
      });
      try {
        t.connection.on('disconnected', (e?: Error) => events.push(`disconnected ${e?.constructor.name}`));
        t.connection.on('reconnecting', (a: ReconnectAttempt) => events.push(`reconnecting ${a.attempt} ${a.delay}`));
        t.connection.on('connected', () => events.push('connected'));
        const { port } = t.forward.address as { port: number };
        const at = { host: '127.0.0.1', port };
        expect((await psqlAt(pg, at, ['-c', 'select 1 + 1'])).stdout.trim()).toBe('2');

        const inFlight = psqlAt(pg, at, ['-c', 'select pg_sleep(3)']);
        await expect.poll(() => t.forward.counters.active, { timeout: 5000 }).toBe(1);
        await new Promise((r) => setTimeout(r, 300));
        sshd.killConnections();
        const cut = await inFlight;
        expect(cut.code).not.toBe(0);
        expect(cut.stderr).toMatch(/server closed the connection unexpectedly|could not receive data|connection to server .* lost/i);
        await expect.poll(() => events, { timeout: 5000 }).toContain('disconnected ConnectionLostError');
        expect(events).toContain('reconnecting 1 1500');

        // Started during the 1.5 s backoff: it waits for the new connection instead of a refusal.
        const waiting = psqlAt(pg, at, ['-c', 'select 40 + 2']);
        await expect.poll(() => t.forward.counters.connections, { timeout: 1000 }).toBe(3);
        expect(events.at(-1)).toBe('reconnecting 1 1500'); // accepted while the connection was down
        const r = await waiting;
        expect(r.stdout.trim(), r.stderr).toBe('42');
        expect(events.at(-1)).toBe('connected');
        expect(t.forward.counters.connections).toBe(3);
      } finally {
        await t.close();
      }
    });

    it('library: bounded attempts give up with an error; an AbortSignal stops the tunnel', async () => {
      let calls = 0;
      const factory = async (): Promise<SshClient> => {
        if (++calls === 1) return connectTo(sshd);
        throw new ConnectionLostError(`ssh: connect to host ${sshd.host} port 1: Connection refused`);
      };
      const t = await tunnel(factory, { listen: { port: 0 }, to: { host: '127.0.0.1', port: pg.port } }, {
        initialDelay: 50,
        maxDelay: 100,
        maxAttempts: 3,
        waitForConnection: 10_000,
      });
      const gaveUp = new Promise<Error>((r) => t.connection.once('give-up', r));
      const failures: number[] = [];
      t.connection.on('reconnect-failed', ({ attempt }: { attempt: number }) => failures.push(attempt));
      const { port } = t.forward.address as { port: number };
      sshd.killConnections();
      const waiting = psqlAt(pg, { host: '127.0.0.1', port }, ['-c', 'select 1']);
      expect((await gaveUp).message).toMatch(/Connection refused/);
      expect(failures).toEqual([1, 2, 3]);
      expect((await waiting).code).not.toBe(0);
      expect(calls).toBe(4);
      await t.close();

      const ac = new AbortController();
      const t2 = await tunnel(clientOptions(sshd), { listen: { port: 0 }, to: { host: '127.0.0.1', port: pg.port } }, { signal: ac.signal });
      const closed = new Promise((r) => t2.forward.once('close', r));
      ac.abort();
      await closed;
      expect(t2.connection.client).toBeUndefined();
    });

    itWithHome('CLI: -o PureSshReconnect=yes keeps the -L port across a killed connection', async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
      const lp = await freePort();
      const child = spawn(
        process.execPath,
        [
          CLI, '-N', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
          '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PureSshReconnect=yes', '-o', 'ExitOnForwardFailure=yes',
          '-L', `${lp}:127.0.0.1:${pg.port}`, `root@${sshd.host}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) },
      );
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      try {
        const at = { host: '127.0.0.1', port: lp };
        await expect.poll(async () => (await psqlAt(pg, at, ['-c', 'select 5'])).stdout.trim(), { timeout: 15_000 }).toBe('5');
        sshd.killConnections();
        await expect.poll(() => stderr, { timeout: 5000 }).toMatch(/reconnecting to 127\.0\.0\.1 port \d+ in [\d.]+ s \(attempt 1\)/);
        // ssh's line for the drop comes first, then pure-ssh's own. A killed sshd process closes
        // its socket with a FIN, or with a RST when our data was still unread in it: ssh words
        // the two differently, and so do we.
        expect(stderr).toMatch(/^(Connection to 127\.0\.0\.1 closed by remote host\.|Read from remote host 127\.0\.0\.1: Connection reset by peer)\r\npure-ssh: reconnecting to 127\.0\.0\.1 port \d+ in [\d.]+ s \(attempt 1\)\r\n/m);
        const r = await psqlAt(pg, at, ['-c', 'select 6']);
        expect(r.stdout.trim(), stderr).toBe('6');
        expect(stderr).toContain('Reconnected to 127.0.0.1');
        expect(child.exitCode).toBeNull();
      } finally {
        child.kill('SIGTERM');
      }
    });
  });
});

/**
 * break36: tunnel().close() while a reconnect attempt is in flight to a server that accepted the
 * TCP connection and says nothing (no connectTimeout): the attempt ran on after close(), its
 * socket (and the agent's, had there been one) holding the process. close() now aborts it.
 */
describeInterop('reconnecting tunnels: close() during a hung attempt', () => {
  const sshd = sshdSuite();

  it('library: the attempt in flight is given up, its socket closed, when the tunnel is closed', async () => {
    let silent = false;
    const piped = new Set<net.Socket>();
    const held: net.Socket[] = [];
    const gate = net.createServer((c) => {
      c.on('error', () => {});
      if (silent) {
        // Read (and drop) what comes, so that the client's close is seen here.
        held.push(c.resume());
        return;
      }
      const up = net.connect(sshd.port, sshd.host);
      up.on('error', () => c.destroy());
      c.pipe(up);
      up.pipe(c);
      piped.add(c);
      c.on('close', () => (up.destroy(), piped.delete(c)));
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    try {
      const port = (gate.address() as net.AddressInfo).port;
      const t = await tunnel({ ...clientOptions(sshd), port, hostKeyAlias: `[${sshd.host}]:${sshd.port}` }, { listen: { port: 0 }, to: { host: '127.0.0.1', port: 1 } }, { initialDelay: 50, maxDelay: 100 });
      silent = true;
      for (const c of piped) c.destroy();
      // The reconnect attempt reaches the gate, which says nothing.
      await expect.poll(() => held.length, { timeout: 5000 }).toBe(1);
      const attempt = held[0]!;
      const ended = new Promise<string>((r) => attempt.once('close', () => r('closed by the client')));
      await t.close();
      expect(await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open 3 s after close()'), 3000))])).toBe('closed by the client');
    } finally {
      for (const c of held) c.destroy();
      gate.close();
    }
  });
});

/**
 * The reconnecting listener on a Unix socket is private like every other pure-ssh listener
 * (forward.ts listenPrivate; ssh's StreamLocalBindMask 0177): 0600 whatever the umask. It was
 * bound with a plain listen(path), so under umask 000 any local user could use the tunnel.
 */
describeInterop('reconnecting tunnels on a Unix socket', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-reconnect-sock-');

  /** The server's identification line, read through the socket at `path`. */
  const bannerThrough = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect(path);
      s.once('data', (d) => (s.destroy(), resolve(d.toString('latin1').split('\r\n')[0]!)));
      s.once('error', reject);
    });

  it('library: tunnel({ listen: { path } }) under umask 000 makes the socket 0600, and it forwards', async () => {
    const path = join(dir, 'lib.sock');
    const old = process.umask(0o000);
    let t: Awaited<ReturnType<typeof tunnel>>;
    try {
      t = await tunnel(clientOptions(sshd), { listen: { path }, to: { host: '127.0.0.1', port: sshd.port } });
    } finally {
      process.umask(old);
    }
    try {
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
      expect(await bannerThrough(path)).toMatch(/^SSH-2\.0-OpenSSH_/);
    } finally {
      await t.close();
    }
  });

  itWithHome('CLI: -o PureSshReconnect=yes -L PATH:host:port under umask 000: the socket is 0600', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const path = join(dir, 'cli.sock');
    const argv = [
      CLI, '-N', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PureSshReconnect=yes', '-L', `${path}:127.0.0.1:${sshd.port}`, `root@${sshd.host}`,
    ];
    // The umask the user runs it under: the shell sets it, then becomes node.
    const child = spawn('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    try {
      await expect.poll(() => existsSync(path), { timeout: 15_000 }).toBe(true);
      expect((statSync(path).mode & 0o777).toString(8), stderr).toBe('600');
      expect(await bannerThrough(path)).toMatch(/^SSH-2\.0-OpenSSH_/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    }
  });
});
