/**
 * Reverse dynamic forwarding, `-R [bind_address:]port` without a target (OpenSSH 7.6+): parsing
 * and `-G` as ssh 9.2 prints them, then the built CLI (needs `npm run build`) beside ssh 9.2
 * against the real sshd 9.2. The test is the server side's SOCKS client: it connects to the port
 * sshd listens on (this machine) with curl (--socks5-hostname, --socks5, --socks4a, --socks4) to
 * a local HTTP server, compares the sha256 with the body served, and does the same through ssh;
 * then a refused target, input that is not SOCKS, several requests at once, and the -v lines.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCommandLine, type CliEnvironment } from '../src/config/cli-args.js';
import type { SshError } from '../src/errors.js';
import { deterministicChunks, deterministicSha256, freePort } from './harness/net.js';
import { cliEnv, describeInteropWithHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { connectTo } from './harness/client.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

const run = promisify(execFile);

function env(files: Record<string, string> = {}): CliEnvironment {
  return { env: {}, home: '/home/joe', localUser: 'joe', fs: { readFile: (p) => files[p], listDir: () => [] } };
}

describe('-R [bind_address:]port and RemoteForward with one argument: parsing and -G', () => {
  it('are kept with readconf.c\'s "socks" target, and -G prints them as ssh 9.2 does', async () => {
    const argv = ['-F', '/cfg', '-R', '0', '-R', '127.0.0.1:8000', '-R', '[::1]:9000', '-R', '*:7001', 'h'];
    const out = resolveCommandLine(argv, env({ '/cfg': 'RemoteForward 7000\n' }));
    if (out.kind !== 'run') throw new Error(out.kind);
    const socks = { host: 'socks', port: 0 };
    expect(out.config.remoteForwards).toEqual([
      { listen: { port: 0 }, to: socks },
      { listen: { bindAddress: '127.0.0.1', port: 8000 }, to: socks },
      { listen: { bindAddress: '::1', port: 9000 }, to: socks },
      { listen: { bindAddress: '*', port: 7001 }, to: socks },
      { listen: { port: 7000 }, to: socks },
    ]);
    // The -G lines, beside ssh 9.2's with the same arguments and file.
    const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-rsocks-g-'));
    try {
      const cfg = join(dir, 'cfg');
      await import('node:fs/promises').then((f) => f.writeFile(cfg, 'RemoteForward 7000\n'));
      const args = ['-G', '-F', cfg, '-R', '0', '-R', '127.0.0.1:8000', '-R', '[::1]:9000', '-R', '*:7001', 'h'];
      const lines = (s: string) => s.split('\n').filter((l) => l.startsWith('remoteforward'));
      const ours = lines((await run(process.execPath, [CLI, ...args], { env: cliEnv(dir) })).stdout);
      const theirs = lines((await run('/usr/bin/ssh', args, { env: cliEnv(dir) })).stdout);
      expect(ours).toEqual(theirs);
      expect(ours).toEqual(['remoteforward 0 [socks]:0', 'remoteforward [127.0.0.1]:8000 [socks]:0', 'remoteforward [::1]:9000 [socks]:0', 'remoteforward [*]:7001 [socks]:0', 'remoteforward 7000 [socks]:0']);
      // A Unix socket path alone is refused for -R. (ssh 9.2 takes it, `remoteforward /tmp/s
      // [socks]:0`, but its forwarded-streamlocal channels then connect to "socks" port 0, which
      // fails: channels.c channel_connect_by_listen_path has no SOCKS case.)
      const bad = await run(process.execPath, [CLI, '-G', '-R', '/tmp/s', 'h']).then(() => '', (e: { stderr: string }) => e.stderr);
      expect(bad).toContain("Bad remote forwarding specification '/tmp/s'");
      // PermitRemoteOpen: `any` when unset, else the words as given, the first obtained winning.
      await import('node:fs/promises').then((f) => f.writeFile(cfg, 'PermitRemoteOpen [::1]:* h:22\nPermitRemoteOpen none\n'));
      const permit = (s: string) => s.split('\n').filter((l) => l.startsWith('permitremoteopen'));
      for (const a of [['-F', 'none'], ['-F', cfg], ['-F', cfg, '-o', 'PermitRemoteOpen=NONE'], ['-F', 'none', '-o', 'PermitRemoteOpen=any']]) {
        const g = ['-G', ...a, 'h'];
        const mine = permit((await run(process.execPath, [CLI, ...g], { env: cliEnv(dir) })).stdout);
        expect(mine, a.join(' ')).toEqual(permit((await run('/usr/bin/ssh', g, { env: cliEnv(dir) })).stdout));
        expect(mine).toHaveLength(1);
      }
      const first = permit((await run(process.execPath, [CLI, '-G', '-F', cfg, 'h'], { env: cliEnv(dir) })).stdout);
      expect(first).toEqual(['permitremoteopen [::1]:* h:22']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

interface Run {
  child: ChildProcess;
  stderr(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill('SIGKILL');
});

function runClient(cmd: string[], args: string[], home: string): Run {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(home) });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  return {
    child,
    stderr: () => err,
    async waitFor(re, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(err);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`client exited (${child.exitCode}) before ${re}:\n${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** curl through the SOCKS proxy at 127.0.0.1:proxy; the body's sha256 and length, or curl's exit. */
async function curl(flag: string, proxy: number, url: string): Promise<{ code: number; sha256?: string; bytes?: number; stderr: string }> {
  return run('curl', ['-sS', '--max-time', '15', flag, `127.0.0.1:${proxy}`, url], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, sha256: createHash('sha256').update(stdout).digest('hex'), bytes: stdout.length, stderr: stderr.toString() }),
    (e: { code: number; stderr: Buffer }) => ({ code: e.code, stderr: e.stderr.toString() }),
  );
}

/** Send `bytes` to 127.0.0.1:port, then read until the far end closes: what came back. */
function exchange(port: number, bytes: Uint8Array): Promise<{ got: Buffer; how: 'end' | 'error' }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => got.push(d));
    s.on('end', () => {
      s.destroy();
      resolve({ got: Buffer.concat(got), how: 'end' });
    });
    s.on('error', () => resolve({ got: Buffer.concat(got), how: 'error' }));
    s.setTimeout(10_000, () => {
      s.destroy();
      resolve({ got: Buffer.concat(got), how: 'error' });
    });
  });
}

const BODY = 3 * 1024 * 1024;

describeInteropWithHome('pure-ssh -R port (SOCKS served over the channel) beside ssh 9.2, against sshd 9.2', () => {
  let sshd: SshdHandle;
  let http: Server;
  let httpPort: number;
  let home: string;
  beforeAll(async () => {
    [sshd, home] = await Promise.all([startSshd(), mkdtemp(join(tmpdir(), 'pure-ssh-rsocks-'))]);
    http = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(BODY) });
      for (const c of deterministicChunks(BODY, 31)) res.write(c);
      res.end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), new Promise((r) => http?.close(r)), home && rm(home, { recursive: true, force: true })]);
  });

  const base = () => [
    '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
  ];

  /** What one client does, for comparison: the forward's lines and each probe's outcome. */
  async function probe(cmd: string[]) {
    const c = runClient(cmd, [...base(), '-N', '-v', '-R', '127.0.0.1:0', '127.0.0.1'], home);
    try {
      const port = Number((await c.waitFor(/Allocated port (\d+) for remote forward to socks:0/))[1]);
      const url = `http://localhost:${httpPort}/`;
      const ipUrl = `http://127.0.0.1:${httpPort}/`;
      const fetched = {
        socks5h: await curl('--socks5-hostname', port, url),
        socks5: await curl('--socks5', port, ipUrl),
        socks4a: await curl('--socks4a', port, url),
        socks4: await curl('--socks4', port, ipUrl),
      };
      // Several at once, by both protocols.
      const many = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => curl(i % 2 ? '--socks4a' : '--socks5-hostname', port, url)));
      // A target that refuses: the closed port is the HTTP server's neighbour, found free.
      const closed = await freePort();
      const refused = await curl('--socks5', port, `http://127.0.0.1:${closed}/`);
      const refused4 = await curl('--socks4', port, `http://127.0.0.1:${closed}/`);
      // Not SOCKS at all: an HTTP request straight at the forwarded port.
      const notSocks = await exchange(port, new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
      // SOCKS5 asking for BIND (command 2), after a valid greeting.
      const bind = await exchange(port, Uint8Array.of(5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80));
      // The connection is unaffected: one more fetch.
      const after = await curl('--socks5-hostname', port, url);
      const stderr = c.stderr();
      expect(c.child.exitCode).toBeNull();
      return { port, closed, fetched, many, refused, refused4, notSocks, bind, after, stderr };
    } finally {
      c.child.kill('SIGKILL');
    }
  }

  it('curl fetches through it by SOCKS5 (names resolved here or there), SOCKS4a and SOCKS4, as through ssh 9.2', async () => {
    const ours = await probe([process.execPath, CLI]);
    const theirs = await probe([sshd.openssh.ssh]);
    const want = { code: 0, sha256: deterministicSha256(BODY, 31), bytes: BODY };
    for (const r of [ours, theirs]) {
      for (const f of Object.values(r.fetched)) expect(f).toMatchObject(want);
      for (const f of r.many) expect(f).toMatchObject(want);
      expect(r.after).toMatchObject(want);
      // Not SOCKS: the channel is closed without a byte back (channels.c rdynamic_close).
      expect(r.notSocks).toEqual({ got: Buffer.alloc(0), how: 'end' });
      // BIND: the method selection reply, then the close.
      expect(r.bind.got.subarray(0, 2)).toEqual(Buffer.from([5, 0]));
      expect(r.refused.code).not.toBe(0);
      expect(r.refused4.code).not.toBe(0);
    }
    // ssh 9.2 closes without a SOCKS reply; pure-ssh answers RFC 1928's "connection refused"
    // first (as its -D does): curl names the reason.
    expect(ours.refused.stderr).toMatch(/SOCKS5.*\(5\)|connection refused/i);
    // ssh's error line for the refused target, in both.
    const closedLine = /connect_to 127\.0\.0\.1 port (\d+): failed\./;
    expect(ours.stderr).toMatch(closedLine);
    expect(theirs.stderr).toMatch(closedLine);
    // ssh's -v lines for each channel's connect (channels.c channel_post_connecting), channel
    // numbers and the closed port aside, in any order (the requests at once race).
    const channelLines = (s: string, closed: number) =>
      s
        .split(/\r?\n/)
        .filter((l) => /^debug1: channel \d+: (connected to|connection failed)|^connect_to /.test(l))
        .map((l) => l.replace(/channel \d+/, 'channel N').replace(String(closed), 'CLOSED'))
        .sort();
    expect(channelLines(ours.stderr, ours.closed)).toEqual(channelLines(theirs.stderr, theirs.closed));
    expect(channelLines(ours.stderr, ours.closed)).toContain('debug1: channel N: connection failed: Connection refused');
    // ssh's -v lines for the forward, the port aside.
    const forwardLines = (s: string, port: number) =>
      s
        .split(/\r?\n/)
        .filter((l) => /Remote connections from|remote forward (success|failure) for|Allocated port/.test(l))
        .map((l) => l.replace(String(port), 'PORT'));
    expect(forwardLines(ours.stderr, ours.port)).toEqual(forwardLines(theirs.stderr, theirs.port));
    expect(forwardLines(ours.stderr, ours.port)).toEqual([
      'debug1: Remote connections from 127.0.0.1:0 forwarded to local address socks:0',
      'debug1: remote forward success for: listen 127.0.0.1:0, connect socks:0',
      'Allocated port PORT for remote forward to socks:0',
    ]);
  }, 90_000);

  /** One client with PermitRemoteOpen=`value`: each curl's exit code and stderr, and the -v lines. */
  async function permitProbe(cmd: string[], value: string) {
    const c = runClient(cmd, [...base(), '-N', '-v', '-o', `PermitRemoteOpen=${value}`, '-R', '127.0.0.1:0', '127.0.0.1'], home);
    try {
      const port = Number((await c.waitFor(/Allocated port (\d+) for remote forward to socks:0/))[1]);
      const other = await freePort();
      const got = {
        ip: await curl('--socks5', port, `http://127.0.0.1:${httpPort}/`),
        name: await curl('--socks5-hostname', port, `http://localhost:${httpPort}/`),
        otherPort: await curl('--socks5', port, `http://127.0.0.1:${other}/`),
        ip4: await curl('--socks4', port, `http://127.0.0.1:${httpPort}/`),
      };
      // The refusals' debug lines are logged as they happen; the last may trail curl's exit.
      await new Promise((r) => setTimeout(r, 300));
      const lines = c
        .stderr()
        .split(/\r?\n/)
        .filter((l) => /allow admin local forwarding|requested forward not permitted|^connect_to |connection failed/.test(l))
        .map((l) => l.replace(String(httpPort), 'HTTP').replace(String(other), 'OTHER').replace(/channel \d+/, 'channel N'));
      expect(c.child.exitCode).toBeNull();
      return { got, lines };
    } finally {
      c.child.kill('SIGKILL');
    }
  }

  it('PermitRemoteOpen: a listed host:port is connected, any other refused before any connect, with ssh 9.2\'s -v lines', async () => {
    const ok = { code: 0, sha256: deterministicSha256(BODY, 31), bytes: BODY };
    const notPermitted = 'debug1: rdynamic_connect_finish: requested forward not permitted';
    // The probes in order: ip (SOCKS5 127.0.0.1:HTTP), name (SOCKS5 localhost:HTTP), otherPort
    // (SOCKS5 127.0.0.1:OTHER, a closed port), ip4 (SOCKS4 127.0.0.1:HTTP).
    const connectFailed = ['debug1: channel N: connection failed: Connection refused', 'connect_to 127.0.0.1 port OTHER: failed.'];
    for (const [value, allowed, want] of [
      [`127.0.0.1:${httpPort}`, ['ip', 'ip4'], ['debug1: allow admin local forwarding to host 127.0.0.1 port HTTP', notPermitted, notPermitted]],
      // `*` any port: the closed one is tried (and refused by the kernel), a name is not 127.0.0.1.
      ['127.0.0.1:*', ['ip', 'ip4'], ['debug1: allow admin local forwarding to host 127.0.0.1 port 0', notPermitted, ...connectFailed]],
      // The host compared as the request names it (localhost by SOCKS5 hostname, not by address).
      [
        `[localhost]:${httpPort} 127.0.0.2:1`,
        ['name'],
        ['debug1: allow admin local forwarding to host localhost port HTTP', 'debug1: allow admin local forwarding to host 127.0.0.2 port 1', notPermitted, notPermitted, notPermitted],
      ],
      ['none', [], [notPermitted, notPermitted, notPermitted, notPermitted]],
    ] as const) {
      const ours = await permitProbe([process.execPath, CLI], value);
      const theirs = await permitProbe([sshd.openssh.ssh], value);
      expect(ours.lines, value).toEqual(theirs.lines);
      expect(ours.lines, value).toEqual(want);
      for (const r of [ours, theirs]) {
        for (const [k, v] of Object.entries(r.got)) {
          if ((allowed as readonly string[]).includes(k)) expect(v, `${value} ${k}`).toMatchObject(ok);
          else expect(v.code, `${value} ${k}`).not.toBe(0);
        }
      }
      // ssh 9.2 closes the channel without a SOCKS reply; pure-ssh first answers RFC 1928's
      // "connection not allowed by ruleset" (0x02), SOCKS4 91, so curl can say why.
      if (!allowed.includes('ip' as never)) expect(ours.got.ip.stderr, value).toMatch(/\(2\)|not allowed/i);
    }
  }, 120_000);

  it('the library: forwardRemote() without `to` serves SOCKS per channel; a failed target is a connection-error', async () => {
    const ssh = await connectTo(sshd);
    try {
      const fwd = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 } });
      const port = (fwd.address as { port: number }).port;
      const errors: Error[] = [];
      fwd.on('connection-error', (e: Error) => errors.push(e));
      const want = { code: 0, sha256: deterministicSha256(BODY, 31), bytes: BODY };
      expect(await curl('--socks5-hostname', port, `http://localhost:${httpPort}/`)).toMatchObject(want);
      const closed = await freePort();
      const refused = await curl('--socks5', port, `http://127.0.0.1:${closed}/`);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/\(5\)|refused/i);
      expect(errors.map((e) => e.message)).toEqual([`connect_to 127.0.0.1 port ${closed}: failed.`]);
      // The channel was confirmed and the SSH connection is fine: not ERR_CONNECTION_LOST.
      expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_FORWARD_CONNECT_FAILED']);
      // Not SOCKS: that channel closed, ERR_SOCKS_REQUEST.
      await exchange(port, new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
      for (let i = 0; i < 200 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect((errors[1] as SshError | undefined)?.code).toBe('ERR_SOCKS_REQUEST');
      errors.length = 0;
      expect(await curl('--socks4a', port, `http://localhost:${httpPort}/`)).toMatchObject(want);
      // The last channel's CLOSE may still be on its way when curl has its body.
      for (let i = 0; i < 200 && fwd.counters.active > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(fwd.counters).toMatchObject({ connections: 4, failed: 2, active: 0 });
      await fwd.close();
      // permitOpen (PermitRemoteOpen): one destination allowed, another refused with RFC 1928's
      // "not allowed by ruleset" and ERR_FORWARD_NOT_PERMITTED; with `to` it is a UsageError.
      const limited = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, permitOpen: [{ host: '127.0.0.1', port: httpPort }] });
      const lport = (limited.address as { port: number }).port;
      limited.on('connection-error', (e: Error) => errors.push(e));
      expect(await curl('--socks5', lport, `http://127.0.0.1:${httpPort}/`)).toMatchObject(want);
      const denied = await curl('--socks5-hostname', lport, `http://localhost:${httpPort}/`);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/\(2\)|not allowed/i);
      expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_FORWARD_NOT_PERMITTED']);
      await limited.close();
      await expect(
        ssh.forwardRemote({ listen: { port: 0 }, to: { host: '127.0.0.1', port: 1 }, permitOpen: [] }),
      ).rejects.toMatchObject({ code: 'ERR_USAGE' });
    } finally {
      await ssh.close();
    }
  }, 60_000);

  it('ExitOnForwardFailure: a refused -R port ends both with ssh\'s error and 255', async () => {
    const strict = await startSshd({ config: { AllowTcpForwarding: 'local' } });
    try {
      const port = await freePort();
      const args = [
        '-F', 'none', '-p', String(strict.port), '-i', strict.clientKeyPath, '-l', 'root',
        '-o', `UserKnownHostsFile=${strict.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
        '-N', '-o', 'ExitOnForwardFailure=yes', '-R', String(port), '127.0.0.1',
      ];
      const outcome = (cmd: string[]) =>
        run(cmd[0]!, [...cmd.slice(1), ...args], { timeout: 15_000, env: cliEnv(home) }).then(
          () => ({ code: 0, stderr: '' }),
          (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
        );
      const [ours, theirs] = [await outcome([process.execPath, CLI]), await outcome([strict.openssh.ssh])];
      expect(ours).toEqual(theirs);
      expect(ours).toEqual({ code: 255, stderr: `Error: remote port forwarding failed for listen port ${port}\r\n` });
    } finally {
      await strict.stop();
    }
  }, 60_000);
});
