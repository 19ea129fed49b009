import { spawn } from 'node:child_process';
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  deterministicSha256,
  deterministicStream,
  dial,
  echoVia,
  freePort,
  hashStream,
  listening,
  sha256Of,
  startEchoServer,
  startServerFirst,
  startSinkServer,
  startRelay,
  startSourceServer,
  waitForPort,
} from './harness/net.js';
import { describePostgres, startPostgres, type PostgresHandle } from './harness/postgres.js';
import { deliverSignal, descendants, SSH_CLIENT_PATH } from './harness/proc.js';
import { cliEnv, itWithHome, processHome } from './harness/home.js';
import { describeInterop, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

/** Runs a command, resolving with its exit code and output. */
function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('net helpers', () => {
  it('deterministicStream is reproducible, seed-dependent and exactly n bytes', async () => {
    const a = await hashStream(deterministicStream(100_003, 7));
    const b = await hashStream(deterministicStream(100_003, 7));
    const c = await hashStream(deterministicStream(100_003, 8));
    expect(a.bytes).toBe(100_003);
    expect(a.sha256).toBe(b.sha256);
    expect(a.sha256).not.toBe(c.sha256);
    expect(a.sha256).toBe(deterministicSha256(100_003, 7));
    expect(await sha256Of(deterministicStream(0, 1))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('source, sink, echo and server-first servers move the right bytes', async () => {
    const source = await startSourceServer(1_000_000, 3);
    const sink = await startSinkServer();
    const echo = await startEchoServer();
    const greet = await startServerFirst('220 hello\r\n');
    try {
      const received = await hashStream(await dial(source.port));
      expect(received).toEqual({ bytes: 1_000_000, sha256: source.sha256 });

      const toSink = await dial(sink.port);
      deterministicStream(300_000, 5).pipe(toSink);
      expect(await sink.next()).toEqual({ bytes: 300_000, sha256: deterministicSha256(300_000, 5) });

      const toEcho = await dial(echo.port);
      deterministicStream(200_000, 9).pipe(toEcho);
      expect(await sha256Of(toEcho)).toBe(deterministicSha256(200_000, 9));

      const greeted = await dial(greet.port);
      let text = '';
      for await (const chunk of greeted) text += chunk.toString();
      expect(text).toBe('220 hello\r\n');
    } finally {
      await Promise.all([source.close(), sink.close(), echo.close(), greet.close()]);
    }
  });

  it('waitForPort rejects when nothing listens and resolves when something does', async () => {
    const port = await freePort();
    await expect(waitForPort('127.0.0.1', port, 300)).rejects.toThrow(/did not accept/);
    const echo = await startEchoServer();
    await waitForPort('127.0.0.1', echo.port, 2000);
    await echo.close();
  });

  it('listening, dial and echoVia: refused when nothing listens, one round trip when an echo does', async () => {
    const port = await freePort();
    expect(await listening(port)).toBe(false);
    await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(echoVia({ host: '127.0.0.1', port }, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const echo = await startEchoServer();
    try {
      expect(await listening(echo.port)).toBe(true);
      expect(await echoVia(echo.port, 'round trip')).toBe('round trip');
      expect(await echoVia({ host: '127.0.0.1', port: echo.port }, '')).toBe('');
    } finally {
      await echo.close();
    }
  });

  it("startRelay: endAll('close') is a FIN even with the client's bytes unread in the relay's socket; what the client writes after it is taken (no RST)", async () => {
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => accepted.push(s.resume()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const relay = await startRelay((server.address() as net.AddressInfo).port);
    try {
      const events = await new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        const c = net.connect(relay.port, '127.0.0.1');
        c.on('error', (e: NodeJS.ErrnoException) => seen.push(`error ${e.code}`));
        c.on('end', () => {
          seen.push('end');
          // A client's DISCONNECT after the server's FIN.
          c.end('bye', () => seen.push('written'));
        });
        c.on('close', () => resolve(seen));
        c.resume();
        const ready = setInterval(() => {
          if (accepted.length === 0) return;
          clearInterval(ready);
          // The write's callback runs before this process's loop polls again: the bytes are in
          // the relay's receive queue, unread (a late packet of the client's when a test ends it).
          c.write(Buffer.alloc(64, 1), () => seen.push(`ended ${relay.endAll('close')}`));
        }, 10);
      });
      expect(events).toEqual(['ended 1', 'end', 'written']);
    } finally {
      await relay.close();
      for (const s of accepted) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('deliverSignal', () => {
  it.skipIf(!sshClientAvailable())('ssh 9.2 gets the signal again each second until it exits, any other process once', async () => {
    // A server that never sends its banner: ssh waits there for good, SIGTERM ignored (the trap).
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const ignoring = (cmd: string) => spawn('/bin/sh', ['-c', `trap '' TERM; exec ${cmd}`], { stdio: 'ignore', env: cliEnv(processHome()) });
    const ssh = ignoring(`${SSH_CLIENT_PATH} -F none -o BatchMode=yes -p ${port} 127.0.0.1`);
    const other = ignoring('sleep 60');
    const kill = vi.spyOn(process, 'kill');
    const sent = (pid: number | undefined) => kill.mock.calls.filter(([p, s]) => p === pid && s === 'SIGTERM').length;
    try {
      const exe = (pid: number | undefined) => {
        try {
          return readlinkSync(`/proc/${pid}/exe`);
        } catch {
          return '';
        }
      };
      // Both exec'd.
      await expect.poll(() => [exe(ssh.pid), exe(other.pid)].map((p) => p.split('/').pop()), { timeout: 5000 }).toEqual(['ssh', 'sleep']);
      deliverSignal(ssh.pid!, 'SIGTERM');
      deliverSignal(other.pid!, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 2500));
      expect(sent(other.pid)).toBe(1);
      expect(sent(ssh.pid)).toBeGreaterThanOrEqual(2);
      // Once it has exited, no more.
      const exited = new Promise((r) => ssh.once('exit', r));
      ssh.kill('SIGKILL');
      await exited;
      const atExit = sent(ssh.pid);
      await new Promise((r) => setTimeout(r, 1500));
      expect(sent(ssh.pid)).toBe(atExit);
    } finally {
      kill.mockRestore();
      ssh.kill('SIGKILL');
      other.kill('SIGKILL');
      silent.close();
    }
  });
});

describeInterop('sshd harness', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  // Sessions use `ssh -N`: no remote shell, so the machine's shell start-up files (root's
  // ~/.bashrc may run slow tools) cannot stall or break these checks.
  async function logins(count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (sshd.logs().split('Accepted publickey for root').length - 1 < count && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  itWithHome('OpenSSH ssh logs in with the client key and the pinned host key', async () => {
    expect(sshd.hostKeyLines[0]).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 AAAA`));
    expect(sshd.clientKey).toContain('BEGIN OPENSSH PRIVATE KEY');
    const before = sshd.logs().split('Accepted publickey for root').length - 1;
    const session = spawn('ssh', [...sshd.clientArgs, '-N', sshd.target], { stdio: 'ignore', env: cliEnv(processHome()) });
    try {
      await logins(before + 1);
      expect(sshd.logs().split('Accepted publickey for root').length - 1).toBe(before + 1);
    } finally {
      session.kill('SIGKILL');
    }
  });

  itWithHome('ssh -N -L to a source server delivers the right sha256', async () => {
    const source = await startSourceServer(4_000_000, 11);
    const localPort = await freePort();
    const tunnel = spawn(
      'ssh',
      [...sshd.clientArgs, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${source.port}`, sshd.target],
      { stdio: 'ignore', env: cliEnv(processHome()) },
    );
    try {
      await waitForPort('127.0.0.1', localPort, 10_000);
      const received = await hashStream(await dial(localPort));
      expect(received).toEqual({ bytes: 4_000_000, sha256: source.sha256 });
    } finally {
      tunnel.kill('SIGKILL');
      await source.close();
    }
  });

  itWithHome('killConnections kills the session but the listener keeps accepting', async () => {
    const before = sshd.logs().split('Accepted publickey for root').length - 1;
    const session = spawn('ssh', [...sshd.clientArgs, '-N', sshd.target], { stdio: 'ignore', env: cliEnv(processHome()) });
    const ended = new Promise<number | null>((resolve) => session.on('exit', (code) => resolve(code)));
    // Wait until this session is authenticated, so its sshd processes exist.
    await logins(before + 1);
    expect(descendants(sshd.pid).length).toBeGreaterThan(0);
    sshd.killConnections();
    expect(await ended).not.toBe(0);
    expect(existsSync(`/proc/${sshd.pid}`)).toBe(true);
    await waitForPort(sshd.host, sshd.port, 2000);
  });

  itWithHome('password mode: pssh_test logs in with its password through OpenSSH askpass', async () => {
    const pw = await startSshd({ password: true });
    try {
      expect(pw.password?.user).toBe('pssh_test');
      const askpass = join(pw.dir, 'askpass');
      writeFileSync(askpass, `#!/bin/sh\necho '${pw.password!.password}'\n`, { mode: 0o700 });
      const args = [
        '-F', '/dev/null', '-p', String(pw.port),
        '-o', `UserKnownHostsFile=${pw.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
        '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
        `pssh_test@${pw.host}`, 'id', '-un',
      ];
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('ssh', args, {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: cliEnv(processHome(), { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }),
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
      expect(r.out).toContain('pssh_test');
      expect(r.code).toBe(0);
      expect(pw.logs()).toMatch(/Accepted password for pssh_test/);
    } finally {
      await pw.stop();
    }
  });

  it('stop() kills the listener, removes the dir and is idempotent', async () => {
    const other = await startSshd({ hostKeyTypes: ['ed25519', 'ecdsa'], config: { AllowTcpForwarding: 'no' } });
    expect(other.hostKeyLines).toHaveLength(2);
    expect(other.hostKeyLines[1]).toMatch(/ ecdsa-sha2-nistp256 AAAA/);
    const pid = other.pid;
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
  });
});

describePostgres('postgres harness', () => {
  let pg: PostgresHandle;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('select 1 works via psql over TCP on localhost', async () => {
    const r = await pg.psql(['-h', '127.0.0.1', '-tAc', 'select 1']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
    expect(r.code).toBe(0);
    expect(existsSync(`${pg.socketDir}/.s.PGSQL.${pg.port}`)).toBe(true);
  });

  it('psql reports failures with a non-zero code', async () => {
    const r = await pg.psql(['-c', 'select * from no_such_table']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no_such_table/);
  });
});
