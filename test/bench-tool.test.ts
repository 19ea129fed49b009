/**
 * pure-ssh-bench (issue 15): its command line and row planning, then the built command against a
 * real sshd 9.2 with OpenSSH's own `ssh` side by side (in CI both must be there): the report's
 * shape (a handshake row per kex method and host key, a data row per cipher and metric), every
 * figure positive, the OpenSSH column filled; the loop through the server and an echo --target;
 * the time limit; and a bad host, a refused key and an unknown host key each ending with ssh's
 * message and exit status 255. Runs dist/node/bench-bin.cjs, the bundled bench-cli.js (`npm run
 * build` first).
 */
import { execFile, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchArgError, parseBenchArgs, parseSize } from '../src/bench/args.js';
import { planRows } from '../src/bench/plan.js';
import { readServerOffer } from '../src/node/bench-offer.js';
import { renderBenchTable, summarizeBench, type BenchReport, type BenchResultRow } from '../src/bench/report.js';
import { freePort } from './harness/net.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { inCI, startSshd, type SshdHandle } from './harness/sshd.js';

// The installed bin (package.json bin.pure-ssh-bench): bench-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const BENCH_CLI = fileURLToPath(new URL('../dist/node/bench-bin.cjs', import.meta.url));

function runBench(args: string[], timeoutMs = 170_000): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(BENCH_CLI)) throw new Error(`${BENCH_CLI} is missing: run \`npm run build\` first`);
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH_CLI, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: cliEnv(processHome()) }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('pure-ssh-bench command line', () => {
  it('passes ssh(1) login options through in order and reads its own', () => {
    const a = parseBenchArgs(['-p2222', '-i', 'k', '-o', 'User=joe', '-4v', '--quick', '--ciphers', 'aes128-ctr', '--size', '2M', 'joe@h']);
    expect(a).toMatchObject({
      sshArgs: ['-p', '2222', '-i', 'k', '-o', 'User=joe', '-4', '-v'],
      destination: 'joe@h',
      quick: true,
      ciphers: ['aes128-ctr'],
      size: 2 * 1024 * 1024,
      reps: 3,
      timeLimit: 180,
    });
    expect(parseBenchArgs(['h'])).toMatchObject({ quick: false, size: 64 * 1024 * 1024, reps: 5, openssh: true, handshake: true, data: true });
    expect(parseBenchArgs(['--quick', 'h'])).toMatchObject({ quick: true, size: 8 * 1024 * 1024, reps: 3, roundTrips: 50, timeLimit: 180 });
    expect(parseBenchArgs(['--only', 'data', '--no-openssh', '--target', '[::1]:7', 'h'])).toMatchObject({ handshake: false, openssh: false, target: { host: '::1', port: 7 } });
    expect(parseSize('1G')).toBe(1024 ** 3);
  });

  it('a server that sends no algorithm offer: "timed out after", in tenths of a second below 10 s (a budget cut short by --time-limit)', async () => {
    const silent = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    await expect(readServerOffer(silent, 300)).rejects.toThrow(/^no key exchange offer from the server: timed out after 0\.3 s$/);
    expect(silent.destroyed).toBe(true);
  });

  it('the ratio: null in the JSON when a side has no successful run; "(pure-ssh ahead)" only when the figure shows it', () => {
    const run = (tool: 'pure' | 'openssh', row: string, value: number | undefined, metric: 'upload' | 'handshake' = 'upload') => ({
      section: metric === 'upload' ? ('data' as const) : ('handshake' as const),
      row,
      tool,
      metric,
      rep: 1,
      ...(value === undefined ? { ok: false, metrics: {}, error: 'refused' } : { ok: true, metrics: { [metric]: value } }),
    });
    const data = summarizeBench(
      [run('pure', 'a', 100), run('openssh', 'a', undefined), run('pure', 'b', 99.95), run('openssh', 'b', 100), run('pure', 'c', 120), run('openssh', 'c', 100)],
      [{ key: 'a', cipher: 'a' }, { key: 'b', cipher: 'b' }, { key: 'c', cipher: 'c' }],
      'data',
    );
    expect(data.map((r) => r.ratio)).toEqual([null, 0.9995, 1.2]);
    expect(JSON.parse(JSON.stringify(data[0]))).toHaveProperty('ratio', null);
    // pure-ssh alone: no OpenSSH side, no ratio at all.
    expect(summarizeBench([run('pure', 'a', 100)], [{ key: 'a', cipher: 'a' }], 'data')[0]).not.toHaveProperty('ratio');
    const report = {
      tool: 'pure-ssh-bench', version: '0', date: 'd', destination: { host: 'h', port: 22, user: 'u' }, server: { version: 'SSH-2.0-x' }, mode: 'loop',
      clients: { pure: 'p', openssh: 'o' }, machine: { cpu: 'c', cores: 1, os: 'o', runtime: 'r' }, options: { quick: false, size: 1, reps: 1, roundTrips: 1, timeLimit: 1 },
      handshake: [], data, notes: [], failedRuns: 1, elapsedSeconds: 1,
    } satisfies BenchReport;
    const table = renderBenchTable(report);
    expect(table).toMatch(/^\| a \| .* \| – \|$/m);
    expect(table).toMatch(/^\| b \| .* \| 1\.00× \|$/m);
    expect(table).toMatch(/^\| c \| .* \| 1\.20× \(pure-ssh ahead\) \|$/m);
    expect(table).toContain('pure / OpenSSH is the ratio of the medians');
    expect(renderBenchTable({ ...report, clients: { pure: 'p' } })).not.toContain('pure / OpenSSH');
  });

  it('refuses what it does not know, naming it', () => {
    expect(() => parseBenchArgs(['-L', '1:h:2', 'h'])).toThrow(/unknown option -- L/);
    expect(() => parseBenchArgs(['--frobnicate', 'h'])).toThrow(BenchArgError);
    expect(() => parseBenchArgs(['h', 'uname'])).toThrow(/no remote command/);
    expect(() => parseBenchArgs(['--size', '12Q', 'h'])).toThrow(/Bad size/);
    expect(() => parseBenchArgs(['--target', 'nohost', 'h'])).toThrow(/Bad target/);
    expect(() => parseBenchArgs([])).toThrow(/no host/);
  });

  it('plans rows from the server offer: one per kex (aliases once), per other host key, per cipher (+ MAC when not AEAD)', () => {
    const server = {
      kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group14-sha256', 'kex-strict-s-v00@openssh.com'],
      hostKey: ['rsa-sha2-512', 'ssh-ed25519'],
      cipher: ['chacha20-poly1305@openssh.com', 'aes128-ctr'],
      mac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-256'],
    };
    const p = planRows(server, {}, 'pure', { kex: ['curve25519-sha256'], hostKey: ['ssh-ed25519', 'rsa-sha2-512'], cipher: ['chacha20-poly1305@openssh.com', 'aes128-ctr'], mac: ['hmac-sha2-256-etm@openssh.com'] });
    expect(p.handshake.map((r) => r.key)).toEqual([
      'curve25519-sha256 / ssh-ed25519',
      'diffie-hellman-group14-sha256 / ssh-ed25519',
      'curve25519-sha256 / rsa-sha2-512',
    ]);
    expect(p.handshake[1]!.opensshMissing).toMatch(/diffie-hellman-group14-sha256/);
    expect(p.data.map((r) => [r.cipher, r.mac])).toEqual([
      ['chacha20-poly1305@openssh.com', undefined],
      ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
    ]);
    expect(p.notes.join('\n')).toMatch(/curve25519-sha256@libssh\.org/);
    expect(planRows(server, { limit: 1 }, 'pure').handshake).toHaveLength(1);
    expect(() => planRows(server, { ciphers: ['aes256-gcm@openssh.com'] }, 'pure')).toThrow(/server does not offer the cipher aes256-gcm/);
    expect(() => planRows(server, { kex: ['nope'] }, 'pure')).toThrow(/does not implement the kex method nope/);
  });
});

/** Every figure of a row: runs for both clients (OpenSSH when `withSsh`), all positive, no failure. */
function expectFigures(r: BenchResultRow, reps: number, withSsh: boolean): void {
  const tools = withSsh ? (['pure', 'openssh'] as const) : (['pure'] as const);
  for (const t of tools) {
    const s = r[t];
    expect(s, `${r.row} ${r.metric} ${t}`).toBeDefined();
    expect(s!.errors, `${r.row} ${r.metric} ${t}`).toEqual([]);
    expect(s!.values).toHaveLength(reps);
    for (const v of s!.values) expect(v).toBeGreaterThan(0);
    expect(s!.min).toBeLessThanOrEqual(s!.median);
    expect(s!.median).toBeLessThanOrEqual(s!.max);
  }
  if (withSsh) expect(r.ratio).toBeCloseTo(r.pure!.median / r.openssh!.median, 9);
  else expect(r.openssh).toBeUndefined();
}

describeInteropWithHome('pure-ssh-bench against sshd 9.2, with OpenSSH side by side', () => {
  let sshd: SshdHandle;
  let work: string;
  let echo: Server;
  let echoPort: number;

  beforeAll(async () => {
    // OpenSSH's client must be there for the comparison: in CI a missing one fails the tests.
    if (inCI() && !existsSync('/usr/bin/ssh')) throw new Error('OpenSSH ssh is not installed: the bench tests need it in CI');
    work = await mkdtemp(join(tmpdir(), 'pure-ssh-bench-test-'));
    // A banner (RFC 4252 §5.4): pure-ssh-bench shows it for its first login only, not per run.
    await writeFile(join(work, 'banner'), 'bench-test banner\n');
    sshd = await startSshd({ hostKeyTypes: ['ed25519', 'rsa'], config: { Banner: join(work, 'banner') } });
    // An echo service (RFC 862) for --target.
    echo = createServer({ allowHalfOpen: true }, (s) => {
      s.setNoDelay(true);
      s.pipe(s);
      s.on('error', () => {});
    });
    echoPort = await new Promise<number>((res) => echo.listen(0, '127.0.0.1', () => res((echo.address() as { port: number }).port)));
  }, 60_000);
  afterAll(async () => {
    echo?.close();
    await sshd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('--quick --json --svg: a handshake row per kex and host key, upload / download / round trip per cipher, figures positive, OpenSSH beside pure-ssh', async () => {
    const svgPath = join(work, 'quick.svg');
    // 2 MiB transfers instead of --quick's 8 MiB (its defaults are parseBenchArgs's, checked above):
    // the rows, figures and chart are the same with a quarter of the data.
    const { code, stdout, stderr } = await runBench(['--quick', '--size', '2M', '--json', '--svg', svgPath, ...sshd.clientArgs, sshd.target]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport;
    expect(report).toMatchObject({
      tool: 'pure-ssh-bench',
      destination: { host: '127.0.0.1', port: sshd.port, user: 'root' },
      mode: 'loop',
      options: { quick: true, reps: 3, size: 2 * 1024 * 1024, roundTrips: 50, timeLimit: 180 },
      failedRuns: 0,
    });
    expect(report.server.version).toMatch(/^SSH-2\.0-OpenSSH_9\.2/);
    expect(report.clients.openssh).toMatch(/^OpenSSH_/);
    // Two kex methods with the first host key, then the RSA host key with the first kex method.
    const kexes = [...new Set(report.handshake.map((r) => r.kex))];
    expect(kexes).toHaveLength(2);
    expect(report.handshake).toHaveLength(3);
    expect(report.handshake.map((r) => r.hostKey)).toEqual(['ssh-ed25519', 'ssh-ed25519', 'rsa-sha2-512']);
    for (const r of report.handshake) {
      expect(r.metric).toBe('handshake');
      expectFigures(r, 3, true);
    }
    // Two ciphers (the first two of pure-ssh's defaults sshd offers), three metrics each.
    const ciphers = [...new Set(report.data.map((r) => r.cipher))];
    expect(ciphers).toHaveLength(2);
    expect(report.data.map((r) => r.metric)).toEqual(['upload', 'download', 'rtt', 'upload', 'download', 'rtt']);
    for (const r of report.data) expectFigures(r, 3, true);
    // The chart: a bar per client and row, labelled with its median.
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.match(/<rect x="300" y="\d+" width="[\d.]+" height="14"/g)).toHaveLength((report.handshake.length + report.data.length) * 2);
    expect(svg).toContain('OpenSSH ssh');
    // The progress went to stderr, not into the report; the banner once, from the first login.
    expect(stderr.split('bench-test banner')).toHaveLength(2);
    expect(stderr).toMatch(/pure-ssh-bench: handshakes/);
    expect(stderr).toMatch(/pure-ssh-bench: data 1\/2/);
  }, 180_000);

  it('the table: a line per kex / host key and per cipher and metric, with the pure / OpenSSH ratio', async () => {
    const { code, stdout, stderr } = await runBench(['--quick', '--reps', '2', '--size', '1M', '--round-trips', '10', '--kex', 'curve25519-sha256', '--host-keys', 'ssh-ed25519', '--ciphers', 'aes128-ctr', '--macs', 'hmac-sha2-256-etm@openssh.com,hmac-sha2-512', ...sshd.clientArgs, sshd.target]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^# pure-ssh-bench: root@127\.0\.0\.1 port \d+/);
    expect(stdout).toContain('| kex | host key | pure-ssh | OpenSSH ssh | pure / OpenSSH |');
    expect(stdout).toMatch(/^\| curve25519-sha256 \| ssh-ed25519 \| [\d.]+ \([\d.]+–[\d.]+\) \| [\d.]+ \([\d.]+–[\d.]+\) \| [\d.]+×/m);
    for (const mac of ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512']) {
      for (const metric of ['upload', 'download', 'round trip']) {
        expect(stdout).toMatch(new RegExp(`^\\| aes128-ctr \\| ${mac} \\| ${metric}[^|]* \\| [^|]+ \\| [\\d.]+ \\([\\d.]+–[\\d.]+\\) \\| [\\d.]+ \\([\\d.]+–[\\d.]+\\) \\| [\\d.]+×`, 'm'));
      }
    }
    expect(stdout).not.toMatch(/FAILED/);
  }, 180_000);

  it('--target: through direct-tcpip channels to an echo service (echo both ways, round trip); --no-openssh: pure-ssh alone', async () => {
    const { code, stdout, stderr } = await runBench([
      '--json', '--only', 'data', '--no-openssh', '--reps', '2', '--size', '2M', '--round-trips', '20', '--ciphers', 'chacha20-poly1305@openssh.com',
      '--target', `127.0.0.1:${echoPort}`, ...sshd.clientArgs, sshd.target,
    ]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport;
    expect(report.mode).toBe('target');
    expect(report.target).toBe(`127.0.0.1:${echoPort}`);
    expect(report.clients.openssh).toBeUndefined();
    expect(report.handshake).toEqual([]);
    expect(report.data.map((r) => [r.cipher, r.metric])).toEqual([
      ['chacha20-poly1305@openssh.com', 'echo'],
      ['chacha20-poly1305@openssh.com', 'rtt'],
    ]);
    for (const r of report.data) expectFigures(r, 2, false);
  }, 120_000);

  it('--time-limit bounds the run: what fits is reported, the rest is left out with a note', async () => {
    const t0 = Date.now();
    // One handshake row (its warm-up must fit, even on a loaded machine), far too many repetitions.
    const { code, stdout, stderr } = await runBench(['--json', '--time-limit', '8', '--reps', '1000', '--no-openssh', '--kex', 'curve25519-sha256', '--host-keys', 'ssh-ed25519', ...sshd.clientArgs, sshd.target]);
    expect(code, stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(40_000);
    const report = JSON.parse(stdout) as BenchReport;
    expect(report.notes.join('\n')).toMatch(/time limit \(8 s, --time-limit\) ended the run early/);
    expect(report.handshake).toHaveLength(1);
    expect(report.data).toEqual([]);
    expect(report.handshake[0]!.pure!.values.length).toBeGreaterThan(0);
    expect(report.handshake[0]!.pure!.values.length).toBeLessThan(1000);
  }, 60_000);

  it('--time-limit spent during the warm-ups: the rows it cut are not reported as "could not connect"', async () => {
    const { stdout, stderr } = await runBench(['--json', '--time-limit', '1', '--no-openssh', '--only', 'handshake', ...sshd.clientArgs, sshd.target]);
    // The first login alone may outlast 1 s on a loaded machine: then there is no report at all.
    if (stdout === '') return expect(stderr).toMatch(/timed out/);
    const report = JSON.parse(stdout) as BenchReport;
    expect(report.notes.join('\n')).toMatch(/time limit \(1 s, --time-limit\) ended the run early/);
    expect(report.notes.join('\n')).not.toMatch(/could not connect/);
  }, 60_000);

  it('SIGINT in the data phase: "interrupted" is the last line, exit 255, no ssh or load process left', async () => {
    const child = spawn(process.execPath, [BENCH_CLI, '--only', 'data', '--size', '256M', '--reps', '3', ...sshd.clientArgs, sshd.target], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const started = new Promise<void>((resolve) => child.stderr.on('data', (t: string) => { stderr += t; if (/data 1\//.test(stderr)) resolve(); }));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await started;
    // Mid-transfer: the load process and OpenSSH's master connection are running.
    await new Promise((r) => setTimeout(r, 1500));
    const pids = (): number[] => {
      const out = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      return out ? out.split(' ').map(Number) : [];
    };
    const kids = pids();
    child.kill('SIGINT');
    expect(await exited).toBe(255);
    expect(stderr).toMatch(/pure-ssh-bench: interrupted\n$/);
    expect(kids.length).toBeGreaterThan(0);
    // Running, not a zombie waiting for whoever reaps orphans here.
    const running = (pid: number): boolean => {
      try {
        return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    await expect.poll(() => kids.filter(running), { timeout: 3000 }).toEqual([]);
  }, 120_000);

  it('a server that refuses remote forwarding: the loop\'s runs fail with the reason and the --target hint, exit 1', async () => {
    const local = await startSshd({ config: { AllowTcpForwarding: 'local' } });
    try {
      const { code, stdout, stderr } = await runBench(['--only', 'data', '--reps', '1', '--size', '1M', '--ciphers', 'aes128-gcm@openssh.com', ...local.clientArgs, local.target]);
      expect(code, stderr).toBe(1);
      expect(stdout).toContain('## Failed runs');
      expect(stdout).toMatch(/pure-ssh: remote port forwarding failed for listen port 0 \(the server refuses remote forwarding, which the loop through it needs: name an echo service it can reach with --target host:port\)/);
      expect(stdout).toMatch(/OpenSSH ssh: .*remote port forwarding failed/);
    } finally {
      await local.stop();
    }
  }, 60_000);

  it('--target nothing listens on: each client\'s runs fail with the server\'s refusal, "connect failed: Connection refused", exit 1', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await runBench(['--only', 'data', '--reps', '1', '--size', '1M', '--round-trips', '5', '--ciphers', 'aes128-gcm@openssh.com', '--target', `127.0.0.1:${port}`, ...sshd.clientArgs, sshd.target]);
    expect(code, stderr).toBe(1);
    expect(stdout).toMatch(/^- aes128-gcm@openssh\.com .*pure-ssh: channel \d+: open failed: connect failed: Connection refused$/m);
    expect(stdout).toMatch(/^- aes128-gcm@openssh\.com .*OpenSSH ssh: warm-up echo: channel open failed: connect failed: Connection refused$/m);
    expect(stdout).not.toMatch(/ECONNRESET/);
  }, 60_000);

  it('a closed port: ssh\'s "Connection refused", exit 255, no report', async () => {
    const port = await freePort();
    // Before clientArgs' own -p: the first -p wins, in ssh as in pure-ssh (ssh.c).
    const { code, stdout, stderr } = await runBench(['--quick', '-p', String(port), ...sshd.clientArgs, sshd.target]);
    expect(code).toBe(255);
    expect(stdout).toBe('');
    expect(stderr).toContain(`ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
    expect(stderr).toContain('pure-ssh-bench: could not run against root@127.0.0.1');
  }, 60_000);

  it('a key the server refuses: "Permission denied (...)", exit 255', async () => {
    const other = join(work, 'other_ed25519');
    await new Promise<void>((res, rej) => execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other], (e) => (e ? rej(e) : res())));
    const args = sshd.clientArgs.map((a) => (a === sshd.clientKeyPath ? other : a));
    const { code, stdout, stderr } = await runBench(['--quick', ...args, sshd.target]);
    expect(code).toBe(255);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^root@127\.0\.0\.1: Permission denied \(publickey[^)]*\)\.$/m);
  }, 60_000);

  it('an unknown host key with BatchMode: "Host key verification failed.", exit 255', async () => {
    const args = sshd.clientArgs.map((a) => (a === `UserKnownHostsFile=${sshd.knownHostsPath}` ? 'UserKnownHostsFile=/dev/null' : a));
    const { code, stderr } = await runBench(['--quick', ...args, sshd.target]);
    expect(code).toBe(255);
    expect(stderr).toContain('Host key verification failed.');
  }, 60_000);

  it('--svg into a directory that is not there, --ssh naming a client that cannot run: refused before connecting, exit 255, no stack', async () => {
    const svg = await runBench(['--quick', '--svg', '/nonexistent/dir/x.svg', ...sshd.clientArgs, sshd.target]);
    expect(svg.code).toBe(255);
    expect(svg.stdout).toBe('');
    expect(svg.stderr).toBe('pure-ssh-bench: --svg /nonexistent/dir/x.svg: No such file or directory\n');
    const ssh = await runBench(['--quick', '--ssh', '/nonexistent/ssh', ...sshd.clientArgs, sshd.target]);
    expect(ssh.code).toBe(255);
    expect(ssh.stdout).toBe('');
    expect(ssh.stderr).toBe('pure-ssh-bench: --ssh /nonexistent/ssh: No such file or directory\n');
  }, 60_000);

  it('an algorithm the server does not offer: named, exit 255', async () => {
    const { code, stderr } = await runBench(['--quick', '--ciphers', 'aes128-cbc', ...sshd.clientArgs, sshd.target]);
    expect(code).toBe(255);
    expect(stderr).toMatch(/--ciphers: the server does not offer the cipher aes128-cbc/);
  }, 60_000);
});
