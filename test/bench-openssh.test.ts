/**
 * pure-ssh-bench's OpenSSH side (src/node/bench-openssh.ts) leaves nothing behind and measures
 * what it should (break26 HIGH-3, MED-4, MED-9, MED-10),
 * against real sshd 9.2 processes with OpenSSH's own `ssh`:
 * - SIGTERM to the bench alone (as `kill PID`, a supervisor or a CI step timeout send it) while
 *   an OpenSSH handshake is in flight, and while OpenSSH's tunnel master (`ssh -N -M ... -R ...`)
 *   is being set up: no ssh process of the run survives, and the server keeps no session (so no
 *   remote-forward listener either); SIGKILL, which no handler sees: the same, through each
 *   ssh's watchdog;
 * - with ProxyJump, OpenSSH's figures are the destination's, not the jump host's: its cipher
 *   (the jump host offers another) and its handshake (the destination answers 1.5 s late; the
 *   jump host at once);
 * - against an OpenSSH 10 server, whose first kex method (mlkem768x25519-sha256, pure-ssh's
 *   choice too) ssh 9.2 lacks, the data rows use one both clients have, so OpenSSH's runs work
 *   (break26 MED-9);
 * - a run whose data rows start in the last 30 s of --time-limit: OpenSSH's tunnel is set up, not
 *   failed by a fractional timeout (break26 MED-10).
 * Runs dist/node/bench-bin.cjs, the bundled bench-cli.js (`npm run build` first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { BenchReport } from '../src/bench/report.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { descendants } from './harness/proc.js';
import { clientArgsVia, describeInteropOpenssh10, sshdSuite, startSshd, systemOpenssh, type SshdHandle } from './harness/sshd.js';

// The installed bin (package.json bin.pure-ssh-bench): bench-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const BENCH_CLI = fileURLToPath(new URL('../dist/node/bench-bin.cjs', import.meta.url));

/** Runs the bench to its end; resolves with exit code, stdout and stderr. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(BENCH_CLI)) throw new Error(`${BENCH_CLI} is missing: run \`npm run build\` first`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(processHome()) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** argv of a live process (not a zombie), or undefined. */
function argvOf(pid: number): string[] | undefined {
  try {
    if (/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

/** Every live `ssh` process on the machine whose command line mentions `marker`, as text. */
function sshProcesses(marker: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = argvOf(Number(name));
    if (argv && /(^|\/)ssh$/.test(argv[0] ?? '') && argv.some((a) => a.includes(marker))) out.push(`${name}: ${argv.join(' ')}`);
  }
  return out;
}

/**
 * Starts the bench and sends it `signal` (it alone, not its process group) the moment one of its
 * ssh children matches `which` (or `delayMs` after); resolves with its exit code, stderr and the child's argv.
 */
async function signalWhen(args: string[], which: (argv: string[]) => boolean, signal: NodeJS.Signals = 'SIGTERM', delayMs = 0): Promise<{ code: number | null; stderr: string; caught: string[] }> {
  if (!existsSync(BENCH_CLI)) throw new Error(`${BENCH_CLI} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [BENCH_CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let caught: string[] | undefined;
  const deadline = Date.now() + 60_000;
  while (!caught && child.exitCode === null && Date.now() < deadline) {
    for (const pid of descendants(child.pid!)) {
      const argv = argvOf(pid);
      if (argv && /(^|\/)ssh$/.test(argv[0] ?? '') && which(argv)) {
        caught = argv;
        break;
      }
    }
    if (!caught) await new Promise((r) => setTimeout(r, 2));
  }
  if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  child.kill(signal);
  const code = await exited;
  if (!caught) throw new Error(`no such ssh child seen before the bench ended:\n${stderr}`);
  return { code, stderr, caught };
}

describeInteropWithHome('pure-ssh-bench: nothing left behind, the destination measured', () => {
  let sshd: SshdHandle;

  beforeAll(async () => {
    sshd = await startSshd();
  }, 60_000);
  afterEach(() => {
    // What a failing run left (its sessions end with sshd.stop()).
    for (const p of sshProcesses(sshd.dir)) process.kill(Number(p.split(':')[0]), 'SIGKILL');
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  /** After the bench: no ssh of this sshd's (its key is in sshd.dir) and no session on the server. */
  async function expectNothingLeft(): Promise<void> {
    await expect.poll(() => sshProcesses(sshd.dir), { timeout: 5000 }).toEqual([]);
    // Each session is a per-connection sshd under the listener; it holds the -R listeners.
    await expect.poll(() => descendants(sshd.pid).map((p) => argvOf(p)?.join(' ')).filter(Boolean), { timeout: 5000 }).toEqual([]);
  }

  it('SIGTERM during an OpenSSH handshake: exit 255, no ssh process and no server session left', async () => {
    await expectNothingLeft();
    const { code, stderr, caught } = await signalWhen(
      ['--only', 'handshake', '--reps', '50', '--kex', 'curve25519-sha256', '--host-keys', 'ssh-ed25519', ...sshd.clientArgs, sshd.target],
      (argv) => argv.includes('-N') && !argv.includes('-M'),
    );
    expect(caught).toContain('ControlMaster=no');
    expect(code, stderr).toBe(255);
    expect(stderr).toMatch(/pure-ssh-bench: interrupted\n$/);
    await expectNothingLeft();
  }, 90_000);

  it('SIGTERM while the OpenSSH tunnel master is being set up: no ssh process, session or remote forward left', async () => {
    await expectNothingLeft();
    // 150 ms on every answer from the server: the master is logged in, its control socket
    // listening, while its remote forwards' "Allocated port" answers are still on their way.
    const slow = await startSlowRelay(sshd.port, () => 150);
    try {
      const { code, stderr, caught } = await signalWhen(
        ['--only', 'data', '--reps', '1', '--size', '1M', '--round-trips', '5', '--ciphers', 'aes128-gcm@openssh.com', ...clientArgsVia(sshd, slow.port), sshd.target],
        (argv) => argv.includes('-M') && existsSync(argv[argv.indexOf('-S') + 1]!),
      );
      expect(caught.filter((a) => a === '-R')).toHaveLength(3);
      expect(code, stderr).toBe(255);
      expect(stderr).toMatch(/pure-ssh-bench: interrupted\n$/);
      await expectNothingLeft();
    } finally {
      await slow.close();
    }
  }, 90_000);

  it('SIGKILL (no handler runs) during a handshake and with a tunnel up: the ssh processes end with the bench, the control directory goes', async () => {
    await expectNothingLeft();
    const hs = await signalWhen(
      ['--only', 'handshake', '--reps', '50', '--kex', 'curve25519-sha256', '--host-keys', 'ssh-ed25519', ...sshd.clientArgs, sshd.target],
      (argv) => argv.includes('-N') && !argv.includes('-M'),
      'SIGKILL',
    );
    expect(hs.code).toBeNull();
    await expectNothingLeft();
    // The master with its -R forwards and the -O forward's -L, in the middle of the transfers.
    const data = await signalWhen(
      ['--only', 'data', '--reps', '3', '--size', '64M', '--ciphers', 'aes128-gcm@openssh.com', ...sshd.clientArgs, sshd.target],
      (argv) => argv.includes('-M') && existsSync(argv[argv.indexOf('-S') + 1]!),
      'SIGKILL',
      1500,
    );
    expect(data.code).toBeNull();
    await expectNothingLeft();
    // Its control socket's directory too, once ssh has gone.
    const ctl = data.caught[data.caught.indexOf('-S') + 1]!;
    await expect.poll(() => existsSync(dirname(ctl)), { timeout: 5000 }).toBe(false);
  }, 120_000);
});

/**
 * A relay to sshd's `port` that delivers the server's n-th chunk `delay(n)` ms late, in order;
 * the client's bytes go through at once.
 */
async function startSlowRelay(port: number, delay: (n: number) => number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    inbound.pipe(outbound);
    let n = 0;
    let chain = Promise.resolve();
    outbound.on('data', (chunk: Buffer) => {
      const at = Date.now() + delay(n++);
      chain = chain.then(() => new Promise<void>((r) => setTimeout(r, Math.max(0, at - Date.now())))).then(() => void inbound.write(chunk));
    });
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('end', () => void chain.then(end));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describeInteropWithHome('pure-ssh-bench through a ProxyJump host', () => {
  let target: SshdHandle;
  let jump: SshdHandle;
  let late: { port: number; close(): Promise<void> };
  let dir: string;
  let config: string;
  const DELAY_MS = 1500;

  beforeAll(async () => {
    target = await startSshd();
    // The jump host offers one cipher the row does not use: the hop's own kex line names it.
    jump = await startSshd({ config: { Ciphers: 'chacha20-poly1305@openssh.com' } });
    late = await startSlowRelay(target.port, (n) => (n === 0 ? DELAY_MS : 0));
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-bench-jump-'));
    config = join(dir, 'ssh_config');
    const block = (name: string, s: SshdHandle, extra: string[]) =>
      [`Host ${name}`, `  User ${s.user}`, `  IdentityFile ${s.clientKeyPath}`, `  UserKnownHostsFile ${s.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null', '  IdentitiesOnly yes', ...extra, ''].join('\n');
    await writeFile(
      config,
      block('jump', jump, ['  HostName 127.0.0.1', `  Port ${jump.port}`]) +
        block('target', target, ['  HostName 127.0.0.1', `  Port ${late.port}`, `  HostKeyAlias [127.0.0.1]:${target.port}`, '  ProxyJump jump']),
    );
  }, 60_000);
  afterAll(async () => {
    await late?.close();
    await Promise.all([target?.stop(), jump?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("OpenSSH's row has the destination's cipher and handshake, not the jump host's", async () => {
    const run = await runBench(['--json', '--reps', '1', '--size', '1M', '--round-trips', '5', '--kex', 'curve25519-sha256', '--host-keys', 'ssh-ed25519', '--ciphers', 'aes128-gcm@openssh.com', '-F', config, 'target']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report.failedRuns).toBe(0);
    expect(report.data.map((r) => [r.cipher, r.metric])).toEqual([
      ['aes128-gcm@openssh.com', 'upload'],
      ['aes128-gcm@openssh.com', 'download'],
      ['aes128-gcm@openssh.com', 'rtt'],
    ]);
    for (const r of report.data) expect(r.openssh?.errors, r.metric).toEqual([]);
    // Both clients' handshakes include the destination's late answer; the jump host's alone does not.
    const [hs] = report.handshake;
    expect(hs?.pure?.median).toBeGreaterThanOrEqual(DELAY_MS);
    expect(hs?.openssh?.median).toBeGreaterThanOrEqual(DELAY_MS);
    // The destination's sshd saw OpenSSH's connections (from the jump host's direct-tcpip).
    expect(target.logs()).toMatch(/Accepted publickey for root/);
  }, 120_000);
});

describeInteropWithHome('pure-ssh-bench: data rows near the time limit', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  it('a tunnel set up with less than 30 s of --time-limit left: OpenSSH runs, no "out of range" timeout', async () => {
    const run = await runBench(['--json', '--only', 'data', '--time-limit', '25', '--reps', '1', '--size', '1M', '--round-trips', '5', '--ciphers', 'aes128-gcm@openssh.com', ...sshd.clientArgs, sshd.target]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report.failedRuns).toBe(0);
    expect(report.data.map((r) => r.metric)).toEqual(['upload', 'download', 'rtt']);
    for (const r of report.data) expect(r.openssh?.values, r.metric).toHaveLength(1);
  }, 60_000);
});

describeInteropOpenssh10('pure-ssh-bench against OpenSSH 10 with the system ssh (9.2)', () => {
  const sshd = sshdSuite({ openssh: '10' });

  it("the data rows use a kex method ssh 9.2 has: OpenSSH's runs work, a note says why", async () => {
    const ssh = systemOpenssh().ssh;
    const q = spawnSync(ssh, ['-Q', 'kex'], { encoding: 'utf8' }).stdout.split('\n');
    // The case itself: the system ssh lacks the server's (and pure-ssh's) first kex method.
    expect(q).not.toContain('mlkem768x25519-sha256');
    const run = await runBench(['--json', '--only', 'data', '--ssh', ssh, '--reps', '1', '--size', '1M', '--round-trips', '5', '--ciphers', 'aes128-gcm@openssh.com', ...sshd.clientArgs, sshd.target]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report.failedRuns).toBe(0);
    for (const r of report.data) expect(r.openssh?.values, r.metric).toHaveLength(1);
    const notes = report.notes.join('\n');
    expect(notes).toMatch(/OpenSSH's ssh does not support the kex method mlkem768x25519-sha256 \(pure-ssh's choice with this server\), so both clients use (\S+)/);
    const used = /so both clients use (\S+)/.exec(notes)![1]!;
    expect(q).toContain(used);
    expect(notes).toContain(`data rows: key exchange ${used}, host key`);
  }, 90_000);
});
