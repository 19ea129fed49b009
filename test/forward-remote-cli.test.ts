/**
 * -R / RemoteForward and -D / DynamicForward: parsing (pure), then the built CLI against the real
 * sshd (needs `npm run build`): ssh(1)'s messages for port 0, refusals and ExitOnForwardFailure,
 * the remote port closed after exit, a SOCKS listener used by curl, keepalives alongside.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveCommandLine, type CliEnvironment, type ResolvedConfig } from '../src/config/cli-args.js';
import { dial, echoVia, freePort, hashStream, startEchoServer, startSourceServer, type SourceServer, type TestServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';


function env(files: Record<string, string> = {}): CliEnvironment {
  return { env: {}, home: '/home/joe', localUser: 'joe', fs: { readFile: (p) => files[p], listDir: () => [] } };
}

function resolve(argv: string[], files: Record<string, string> = {}): ResolvedConfig {
  const out = resolveCommandLine(argv, env(files));
  if (out.kind !== 'run') throw new Error(`expected run, got ${out.kind}`);
  return out.config;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('-R, -D, RemoteForward, DynamicForward parsing', () => {
  it('-R forms as ssh(1) takes them', () => {
    const c = resolve(['-N', '-R', '8080:localhost:80', '-R', '0:127.0.0.1:22', '-R', '*:2222:h:22', '-R', '[::1]:9000:h:1', '-R', '/tmp/r.sock:localhost:80', '-R', '7000:/tmp/l.sock', 'host']);
    expect(c.remoteForwards).toEqual([
      { listen: { port: 8080 }, to: { host: 'localhost', port: 80 } },
      { listen: { port: 0 }, to: { host: '127.0.0.1', port: 22 } },
      { listen: { bindAddress: '*', port: 2222 }, to: { host: 'h', port: 22 } },
      { listen: { bindAddress: '::1', port: 9000 }, to: { host: 'h', port: 1 } },
      { listen: { path: '/tmp/r.sock' }, to: { host: 'localhost', port: 80 } },
      { listen: { port: 7000 }, to: { path: '/tmp/l.sock' } },
    ]);
    expect(c.warnNoShell).toBe(false);
  });

  it('-D forms; bad specs with ssh\'s messages; -R port alone is the SOCKS form', () => {
    expect(resolve(['-N', '-D', '1080', '-D', '127.0.0.1:1082', '-D', '[::1]:1081', 'host']).dynamicForwards).toEqual([
      { port: 1080 },
      { bindAddress: '127.0.0.1', port: 1082 },
      { bindAddress: '::1', port: 1081 },
    ]);
    expect(errorOf(() => resolveCommandLine(['-D', 'x', 'host'], env())).message).toBe("Bad dynamic forwarding specification 'x'");
    // readconf.c parse_forward: a local listener on port 0 is refused.
    expect(errorOf(() => resolveCommandLine(['-D', '127.0.0.1:0', 'host'], env())).message).toBe("Bad dynamic forwarding specification '127.0.0.1:0'");
    // readconf.c parse_forward: one field with a `/` is a Unix socket to listen on (not for -R).
    expect(resolve(['-N', '-D', '/tmp/s', '-D', '1080/x', '-D', '[/tmp/y]', 'host']).dynamicForwards).toEqual([{ path: '/tmp/s' }, { path: '1080/x' }, { path: '/tmp/y' }]);
    expect(errorOf(() => resolveCommandLine(['-R', '/tmp/s', 'host'], env())).message).toBe("Bad remote forwarding specification '/tmp/s'");
    // Two fields with a socket path second: a local forward to that socket, as ssh makes it.
    const d = resolve(['-N', '-D', '1080:/tmp/b', 'host']);
    expect(d.dynamicForwards).toEqual([]);
    expect(d.localForwards).toEqual([{ listen: { port: 1080 }, to: { path: '/tmp/b' } }]);
    expect(errorOf(() => resolveCommandLine(['-R', '1:2:3:4:5', 'host'], env())).message).toBe("Bad remote forwarding specification '1:2:3:4:5'");
    expect(resolve(['-N', '-R', '8080', 'host']).remoteForwards).toEqual([{ listen: { port: 8080 }, to: { host: 'socks', port: 0 } }]);
  });

  it('PureSshReconnect with -D or -R: refused, naming them (only -L is carried over a reconnection); with nothing to keep, a -v line', () => {
    const refusal = (kind: string) =>
      `pure-ssh: PureSshReconnect keeps -L forwards across reconnections, and cannot carry ${kind} over to a new connection; use a separate pure-ssh for it`;
    expect(errorOf(() => resolve(['-N', '-o', 'PureSshReconnect=yes', '-L', '1:h:2', '-D', '3', 'host'])).message).toBe(refusal('-D (DynamicForward)'));
    expect(errorOf(() => resolve(['-N', '-o', 'PureSshReconnect=yes', '-D', '3', 'host'])).message).toBe(refusal('-D (DynamicForward)'));
    expect(errorOf(() => resolve(['-N', '-o', 'PureSshReconnect=yes', '-L', '1:h:2', '-R', '4:h:5', 'host'])).message).toBe(refusal('-R (RemoteForward)'));
    // From a config file too.
    expect(errorOf(() => resolve(['-N', '-L', '1:h:2', 'host'], { '/home/joe/.ssh/config': 'PureSshReconnect yes\nDynamicForward 1080\n' })).message).toBe(refusal('-D (DynamicForward)'));
    expect(resolve(['-N', '-o', 'PureSshReconnect=yes', '-L', '1:h:2', 'host']).reconnect).toBe(true);
    // -W (a ProxyJump hop's own resolution) and no forward at all: nothing to keep, said at -v.
    for (const argv of [['-W', 'h:22', '-o', 'PureSshReconnect=yes', 'host'], ['-N', '-o', 'PureSshReconnect=yes', 'host']]) {
      expect(resolve(argv).debugNotes.map((n) => n.text)).toContain('PureSshReconnect: no -L forward to keep across reconnections; not used');
    }
  });

  it('RemoteForward and DynamicForward in a config file; -R alone continues without -N (warned)', () => {
    const cfg = 'Host h\n  RemoteForward 8080 localhost:80\n  DynamicForward 127.0.0.1:1080\n';
    const c = resolve(['-F', '/cfg', '-R', '9:a:9', 'h'], { '/cfg': cfg });
    expect(c.remoteForwards).toEqual([
      { listen: { port: 9 }, to: { host: 'a', port: 9 } },
      { listen: { port: 8080 }, to: { host: 'localhost', port: 80 } },
    ]);
    expect(c.dynamicForwards).toEqual([{ bindAddress: '127.0.0.1', port: 1080 }]);
    expect(c.warnNoShell).toBe(true);
    // One argument: the SOCKS form (reverse dynamic forwarding, test/forward-remote-socks.test.ts).
    expect(resolve(['-F', '/cfg', 'h'], { '/cfg': 'RemoteForward 8080\n' }).remoteForwards).toEqual([{ listen: { port: 8080 }, to: { host: 'socks', port: 0 } }]);
    expect(errorOf(() => resolve(['-F', '/cfg', 'h'], { '/cfg': 'RemoteForward /tmp/s\n' })).message).toMatch(/\/cfg line 1: Bad forwarding specification/);
    expect(errorOf(() => resolve(['-F', '/cfg', 'h'], { '/cfg': 'DynamicForward a:b:c\n' })).message).toBe('/cfg line 1: Bad forwarding specification.\n/cfg: terminating, 1 bad configuration options');
    const cleared = resolve(['-F', '/cfg', '-o', 'ClearAllForwardings=yes', '-N', '-D', '1', 'h'], { '/cfg': cfg });
    expect([cleared.remoteForwards, cleared.dynamicForwards]).toEqual([[], []]);
  });
});

interface Run {
  child: ChildProcess;
  stderr(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill('SIGKILL');
});

/** The built CLI (or, with `cmd`, another client such as OpenSSH's ssh) with `home` as its home. */
function runCli(args: string[], home: string, cmd: string[] = [process.execPath, CLI]): Run {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(home) });
  running.add(child);
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      running.delete(child);
      r(code);
    }),
  );
  return {
    child,
    stderr: () => err,
    exited,
    async waitFor(re, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(err);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`pure-ssh exited (${child.exitCode}) before ${re}:\n${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

async function exitOf(run: Run, ms = 15_000): Promise<number | null> {
  const t = new Promise<never>((_, j) => setTimeout(() => j(new Error(`no exit within ${ms} ms:\n${run.stderr()}`)), ms).unref());
  return Promise.race([run.exited, t]);
}

describeInteropWithHome('pure-ssh -R and -D against sshd', () => {
  let sshd: SshdHandle;
  let echo: TestServer;
  let source: SourceServer;
  let home: string;
  beforeAll(async () => {
    [sshd, echo, source, home] = await Promise.all([startSshd(), startEchoServer(), startSourceServer(4 * 1024 * 1024, 11), mkdtemp(join(tmpdir(), 'pure-ssh-rcli-'))]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), echo?.close(), source?.close(), home && rm(home, { recursive: true, force: true })]);
  });

  const base = (s: SshdHandle = sshd) => [
    '-F', 'none', '-p', String(s.port), '-i', s.clientKeyPath, '-l', 'root',
    '-o', `UserKnownHostsFile=${s.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
  ];

  it('-R 0:… prints "Allocated port N", carries a transfer intact with keepalives running; the port closes after exit', async () => {
    const fixed = await freePort();
    const sock = join(home, 'r.sock');
    const run = runCli(
      [...base(), '-N', '-v', '-o', 'ServerAliveInterval=1', '-R', `127.0.0.1:0:127.0.0.1:${source.port}`, '-R', `${fixed}:127.0.0.1:${echo.port}`, '-R', `${sock}:127.0.0.1:${echo.port}`, '127.0.0.1'],
      home,
    );
    try {
      const m = await run.waitFor(new RegExp(`Allocated port (\\d+) for remote forward to 127\\.0\\.0\\.1:${source.port}`));
      // The three replies (read in the session, after "Entering interactive session.", as ssh).
      await run.waitFor(/(remote forward success for: [^\n]*\n[^]*){3}/);
      const port = Number(m[1]);
      // 127.0.0.1 bound explicitly: with "localhost" sshd may take the port on ::1 first, and the
      // same number on 127.0.0.1 may belong to another process.
      expect(run.stderr()).toContain(`debug1: Remote connections from 127.0.0.1:0 forwarded to local address 127.0.0.1:${source.port}`);
      expect(run.stderr()).toContain(`debug1: Remote connections from LOCALHOST:${fixed} forwarded to local address 127.0.0.1:${echo.port}`);
      expect(run.stderr()).toContain(`debug1: Remote connections from ${sock}:-2 forwarded to local address 127.0.0.1:${echo.port}`);
      // ssh.c ssh_confirm_remote_forward: the forward as given, before "Allocated port".
      expect(run.stderr()).toContain(`debug1: remote forward success for: listen 127.0.0.1:0, connect 127.0.0.1:${source.port}\r\nAllocated port ${port} `);
      expect(run.stderr()).toContain(`debug1: remote forward success for: listen ${fixed}, connect 127.0.0.1:${echo.port}`);
      expect(run.stderr()).toContain(`debug1: remote forward success for: listen ${sock}:-2, connect 127.0.0.1:${echo.port}`);
      expect(await hashStream(await dial({ host: '127.0.0.1', port }))).toEqual({ bytes: source.bytes, sha256: source.sha256 });
      expect(await echoVia({ host: '127.0.0.1', port: fixed }, 'fixed')).toBe('fixed');
      expect(await echoVia({ path: sock }, 'unix')).toBe('unix');
      // Idle for a few keepalive intervals (keepalive replies must not be taken for forward replies).
      await new Promise((r) => setTimeout(r, 3500));
      expect(await echoVia({ host: '127.0.0.1', port: fixed }, 'after keepalives')).toBe('after keepalives');
      expect(run.child.exitCode).toBeNull();
      run.child.kill('SIGTERM');
      expect(await exitOf(run)).toBe(0); // ssh -N: SIGTERM is a deliberate end
      await new Promise((r) => setTimeout(r, 300));
      await expect(dial({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(dial({ host: '127.0.0.1', port: fixed })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('a refused -R: ssh\'s warning and the session stays; with ExitOnForwardFailure ssh\'s error and 255', async () => {
    const strict = await startSshd({ config: { AllowTcpForwarding: 'local' } });
    try {
      const port = await freePort();
      const lport = await freePort();
      const run = runCli([...base(strict), '-N', '-R', `${port}:127.0.0.1:${echo.port}`, '-L', `${lport}:127.0.0.1:${echo.port}`, '127.0.0.1'], home);
      try {
        await run.waitFor(new RegExp(`Warning: remote port forwarding failed for listen port ${port}`));
        expect(await echoVia({ host: '127.0.0.1', port: lport }, 'still up')).toBe('still up');
        expect(run.child.exitCode).toBeNull();
      } finally {
        run.child.kill('SIGKILL');
      }
      const run2 = runCli([...base(strict), '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${port}:127.0.0.1:${echo.port}`, '127.0.0.1'], home);
      expect(await exitOf(run2)).toBe(255);
      // Exactly what OpenSSH's ssh prints with the same arguments: no "Connection ... closed." after it.
      const args = [...base(strict), '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${port}:127.0.0.1:${echo.port}`, '127.0.0.1'];
      const theirs = await promisify(execFile)(strict.openssh.ssh, args, { timeout: 15_000, env: cliEnv(home) }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      expect(theirs.code).toBe(255);
      expect(run2.stderr()).toBe(theirs.stderr);
      expect(run2.stderr()).toBe(`Error: remote port forwarding failed for listen port ${port}\r\n`);
    } finally {
      await strict.stop();
    }
  });

  it('-R on sshd\'s own port, no bind address: "localhost" sent, sshd binds ::1 and says yes; the forward lines at -vv as ssh 9.2\'s', async () => {
    // sshd holds 127.0.0.1:PORT (its ListenAddress); for "localhost" with GatewayPorts no it binds
    // every loopback address (channels.c channel_setup_fwd_listener_tcpip) and succeeds on ::1.
    // A port held on both families is refused; a free one succeeds. A client whose session still
    // holds ::1:PORT makes the next one's request fail (so each run ends before the next starts).
    const held = net.createServer();
    await new Promise<void>((r) => held.listen({ port: 0, host: '::', ipv6Only: false }, r));
    const heldPort = (held.address() as net.AddressInfo).port;
    try {
      const seen: Record<string, string[]> = {};
      for (const eofail of ['no', 'yes']) {
        for (const [name, cmd] of [['ssh', [sshd.openssh.ssh]], ['pure-ssh', [process.execPath, CLI]]] as const) {
          const free = await freePort();
          const specs = eofail === 'no' ? [sshd.port, heldPort, free] : [sshd.port, free];
          let before = '';
          const run = runCli([...base(), '-N', '-vv', '-o', `ExitOnForwardFailure=${eofail}`, ...specs.flatMap((p) => ['-R', `${p}:127.0.0.1:${echo.port}`]), '127.0.0.1'], home, [...cmd]);
          try {
            await run.waitFor(new RegExp(`(remote forward (success|failure) for: [^]*){${specs.length}}`));
            await new Promise((r) => setTimeout(r, 300));
            before = run.stderr();
            expect(await echoVia({ host: '::1', port: sshd.port }, 'via ::1')).toBe('via ::1');
            expect(run.child.exitCode).toBeNull();
          } finally {
            run.child.kill('SIGKILL');
            await exitOf(run);
          }
          // Until this session's sshd process lets ::1:PORT go.
          for (let i = 0; i < 100 && (await dial({ host: '::1', port: sshd.port }).then((s) => (s.destroy(), true), () => false)); i++) await new Promise((r) => setTimeout(r, 50));
          const lines = before.replace(/\r/g, '').split('\n').filter((l) => /forward/.test(l) && !/key options|interactive session/.test(l));
          seen[`${name} ${eofail}`] = lines.map((l) => l.replace(String(free), 'FREE'));
        }
      }
      const r = (p: number | string) => `${p}:127.0.0.1:${echo.port}`.replace(/^\d+:/, '');
      expect(seen['ssh no']).toEqual([
        `debug1: Remote connections from LOCALHOST:${sshd.port} forwarded to local address 127.0.0.1:${echo.port}`,
        `debug1: Remote connections from LOCALHOST:${heldPort} forwarded to local address 127.0.0.1:${echo.port}`,
        `debug1: Remote connections from LOCALHOST:FREE forwarded to local address 127.0.0.1:${echo.port}`,
        // ssh 9.2 counts from -1 without ExitOnForwardFailure (ssh.c ssh_init_forwarding).
        'debug1: ssh_init_forwarding: expecting replies for 2 forwards',
        `debug1: remote forward success for: listen ${sshd.port}, connect ${r(0)}`,
        'debug2: forwarding_success: 1 expected forwarding replies remaining',
        `debug1: remote forward failure for: listen ${heldPort}, connect ${r(0)}`,
        `Warning: remote port forwarding failed for listen port ${heldPort}`,
        'debug1: forwarding_success: all expected forwarding replies received',
        `debug1: remote forward success for: listen FREE, connect ${r(0)}`,
        'debug2: forwarding_success: -1 expected forwarding replies remaining',
      ]);
      expect(seen['ssh yes']).toEqual([
        `debug1: Remote connections from LOCALHOST:${sshd.port} forwarded to local address 127.0.0.1:${echo.port}`,
        `debug1: Remote connections from LOCALHOST:FREE forwarded to local address 127.0.0.1:${echo.port}`,
        'debug1: ssh_init_forwarding: expecting replies for 2 forwards',
        `debug1: remote forward success for: listen ${sshd.port}, connect ${r(0)}`,
        'debug2: forwarding_success: 1 expected forwarding replies remaining',
        `debug1: remote forward success for: listen FREE, connect ${r(0)}`,
        'debug1: forwarding_success: all expected forwarding replies received',
      ]);
      expect(seen['pure-ssh no']).toEqual(seen['ssh no']);
      expect(seen['pure-ssh yes']).toEqual(seen['ssh yes']);
    } finally {
      held.close();
    }
  });

  it('-R to a local target that cannot be reached: ssh 9.2\'s connect_to lines (refused port, unknown host, missing socket)', async () => {
    const missing = join(home, 'no-such.sock');
    const lines: string[][] = [];
    for (const cmd of [[process.execPath, CLI], [sshd.openssh.ssh]]) {
      // Ports of its own for each client: the last one's may still be held by its sshd session.
      const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
      const run = runCli(
        [...base(), '-N', '-v', '-R', `127.0.0.1:${p1}:127.0.0.1:1`, '-R', `127.0.0.1:${p2}:nosuch.invalid:80`, '-R', `127.0.0.1:${p3}:${missing}`, '127.0.0.1'],
        home,
        cmd,
      );
      try {
        // Both confirm each forward at -v with ssh.c's words; then a client that writes and waits.
        await run.waitFor(/(remote forward success for: [^\n]*\n[^]*){3}/);
        for (const port of [p1, p2, p3]) {
          const sock = await dial({ host: '127.0.0.1', port });
          sock.on('error', () => {});
          sock.write('x');
          await new Promise((r) => {
            sock.once('close', r);
            setTimeout(r, 3000);
          });
          sock.destroy();
        }
        await new Promise((r) => setTimeout(r, 1000));
        lines.push(run.stderr().replace(/\r/g, '').split('\n').filter((l) => /^connect/.test(l)).sort());
      } finally {
        run.child.kill('SIGKILL');
      }
    }
    expect(lines[0]).toEqual(
      [
        'connect_to 127.0.0.1 port 1: failed.',
        'connect_to nosuch.invalid: unknown host (Name or service not known)',
        `connect to ${missing} port -2 failed: No such file or directory`,
      ].sort(),
    );
    expect(lines[0]).toEqual(lines[1]);
  });

  it('-D PATH: a SOCKS listener on a Unix socket (0600) that curl uses, as ssh(1) offers it', async () => {
    const path = join(home, 'socks.sock');
    const run = runCli([...base(), '-N', '-v', '-D', path, '127.0.0.1'], home);
    try {
      // ssh.c's line (a path's port is -2), then channels.c's once bound.
      await run.waitFor(new RegExp(`Local connections to ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:-2 forwarded to remote address socks:0`));
      await run.waitFor(new RegExp(`Local forwarding listening on path ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const http = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')));
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      const hp = (http.address() as net.AddressInfo).port;
      try {
        // curl 7.84+: a SOCKS proxy at a Unix socket path.
        const { stdout } = await promisify(execFile)('curl', ['-sS', '--max-time', '10', '-x', `socks5h://localhost${path}`, `http://localhost:${hp}/`]);
        expect(stdout).toBe('hello');
      } finally {
        http.close();
      }
    } finally {
      run.child.kill('SIGTERM');
      await exitOf(run);
    }
    // The socket file stays when pure-ssh ends, as ssh 9.2 never unlinks a forwarding socket
    // (test/cli-forward-socket-exit.test.ts compares every end with ssh's).
    expect(statSync(path).isSocket()).toBe(true);
  });

  it('-D, a target that refuses: ssh\'s "open failed" line, and a SOCKS failure reply where ssh only closes (README); success replies as ssh\'s', async () => {
    /** One SOCKS CONNECT to 127.0.0.1:`target`; every byte the proxy sent after the SOCKS5 method choice, until it closed. */
    const socks = (port: number, version: 4 | 5, target: number) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let got = Buffer.alloc(0);
        let chose = version === 4;
        const request = Buffer.from([1, 0, 1, 127, 0, 0, 1, target >> 8, target & 255]);
        s.on('connect', () => s.write(version === 5 ? Buffer.from([5, 1, 0]) : Buffer.from([4, 1, target >> 8, target & 255, 127, 0, 0, 1, 0])));
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (!chose && got.length >= 2) {
            chose = true;
            got = got.subarray(2);
            s.write(Buffer.concat([Buffer.from([5]), request]));
          }
          // A granted request: the reply is all there is to compare.
          if ((version === 5 && got[1] === 0 && got.length >= 10) || (version === 4 && got[1] === 90 && got.length >= 8)) s.destroy();
        });
        s.on('close', () => resolve(got.toString('hex')));
        s.on('error', reject);
        setTimeout(() => reject(new Error('SOCKS exchange did not end')), 10_000).unref();
      });
    const closed = await freePort();
    const seen: Record<string, { refused: string[]; granted: string[]; lines: string[] }> = {};
    for (const [name, cmd] of [['pure-ssh', [process.execPath, CLI]], ['ssh', ['/usr/bin/ssh']]] as const) {
      const port = await freePort();
      const run = runCli([...base(), '-N', '-v', '-D', String(port), '127.0.0.1'], home, [...cmd]);
      try {
        await run.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${port}\\.`));
        const refused = [await socks(port, 5, closed), await socks(port, 4, closed)];
        const granted = [await socks(port, 5, echo.port), await socks(port, 4, echo.port)];
        await run.waitFor(/(open failed: .*\r\n[^]*){2}/);
        seen[name] = { refused, granted, lines: run.stderr().match(/^channel \d+: open failed: .*$/gm) ?? [] };
      } finally {
        run.child.kill('SIGKILL');
      }
    }
    expect(seen['ssh']!.lines).toEqual(['channel 2: open failed: connect failed: Connection refused', 'channel 2: open failed: connect failed: Connection refused']);
    expect(seen['pure-ssh']!.lines).toEqual(seen['ssh']!.lines);
    expect(seen['pure-ssh']!.granted).toEqual(seen['ssh']!.granted);
    expect(seen['ssh']!.granted).toEqual(['05000001000000000000', '005a000000000000']);
    // ssh: the connection closes with no reply (channels.c answers only once the channel opens).
    expect(seen['ssh']!.refused).toEqual(['', '']);
    // pure-ssh: RFC 1928 §6's reply, 0x05 connection refused; SOCKS4 91 rejected. Then it closes.
    expect(seen['pure-ssh']!.refused).toEqual(['05050001000000000000', '005b000000000000']);
  });

  it('-D: a SOCKS listener on loopback that curl uses (socks5-hostname and socks4a)', async () => {
    const port = await freePort();
    const run = runCli([...base(), '-N', '-v', '-D', String(port), '127.0.0.1'], home);
    try {
      await run.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${port}\\.`));
      expect(run.stderr()).toContain(`Local connections to LOCALHOST:${port} forwarded to remote address socks:0`);
      const http = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')));
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      const hp = (http.address() as net.AddressInfo).port;
      try {
        const curl = promisify(execFile);
        for (const flag of ['--socks5-hostname', '--socks4a']) {
          const { stdout } = await curl('curl', ['-sS', '--max-time', '10', flag, `127.0.0.1:${port}`, `http://localhost:${hp}/`]);
          expect(stdout).toBe('hello');
        }
      } finally {
        http.close();
      }
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
