#!/usr/bin/env node
/**
 * The `pure-ssh-bench` command (docs/pure-ssh-bench.md): handshake times per kex method and host
 * key algorithm, and throughput and round trips per cipher through channels, against the user's
 * own server with nothing installed on it, pure-ssh side by side with OpenSSH's `ssh` in one
 * interleaved run. Logs in exactly as `pure-ssh` does (connect-host.ts: ssh_config, identities,
 * agent, known_hosts). The data loops through the server (a direct-tcpip channel to a remote
 * forward on its loopback) or goes to an echo service (`--target`); a child process
 * (bench-load.ts) generates, checks and times it for both clients alike.
 * Exit status: 0 every run succeeded, 1 some runs failed, 255 the bench could not run.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, release, tmpdir, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BENCH_USAGE, BenchArgError, parseBenchArgs, type BenchArgs } from '../bench/args.js';
import { dataKex, planRows, type BenchPlan, type DataRow, type HandshakeRow, type ServerOffer } from '../bench/plan.js';
import {
  renderBenchJson,
  renderBenchSvg,
  renderBenchTable,
  summarizeBench,
  type BenchMetric,
  type BenchReport,
  type BenchRun,
  type BenchTool,
} from '../bench/report.js';
import { ConfigError, resolveCommandLineAsync, type CliEnvironment, type ResolvedConfig } from '../config/cli-args.js';
import type { SshClient } from './client.js';
import type { LoadReady, LoadReply, LoadRequest } from './bench-load.js';
import { Cleanups, opensshHandshake, opensshSupport, opensshTunnel, type OpensshLogin, type OpensshTunnel, type PinnedAlgorithms } from './bench-openssh.js';
import { readServerOffer, secondsText } from './bench-offer.js';
import { strerror } from './strerror.js';
import { connectHost, describeFatal, loadLibraries, Log, openRoute, processCliEnvironment, type Libraries, type RouteContext } from './connect-host.js';

const EXIT_RUNS_FAILED = 1;
const EXIT_ERROR = 255;
/** Caps of single steps, within the --time-limit budget. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
const SETUP_TIMEOUT_MS = 30_000;
/** A failure this close to the end of the budget counts as cut short by it. */
const BUDGET_MARGIN_MS = 100;
/** A transfer's cap: 20 s plus 1 s per MiB (a 1 MiB/s floor). */
const transferTimeout = (size: number) => 20_000 + (size / 1024 / 1024) * 1000;

// This process holds private keys (as `pure-ssh`): Node's SIGUSR1 inspector stays closed.
process.on('SIGUSR1', () => {});

class FatalError extends Error {}

/** Set by SIGINT / SIGTERM: the handler stops everything and exits; nothing else may report. */
let interrupted = false;
/** What the run awaits once interrupted: never settles (the signal's handler calls process.exit). */
const untilExit = new Promise<never>(() => {});

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The progress line on stderr: rewritten in place on a terminal, one line per phase otherwise. */
class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastPhase = '';
  private shown = false;
  private stopped = false;
  constructor(private readonly started: number, private readonly limitS: number) {}
  update(phase: string, step: string): void {
    // After done() (the report, or "interrupted"), steps still unwinding say nothing more.
    if (this.stopped) return;
    const elapsed = ((performance.now() - this.started) / 1000).toFixed(0);
    if (this.tty) {
      const line = `pure-ssh-bench: ${phase}: ${step} [${elapsed} s of at most ${this.limitS} s]`;
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 120) - 1)}\x1b[K`);
      this.shown = true;
    } else if (phase !== this.lastPhase) {
      process.stderr.write(`pure-ssh-bench: ${phase} [${elapsed} s]\n`);
    }
    this.lastPhase = phase;
  }
  done(): void {
    this.stopped = true;
    if (this.tty && this.shown) process.stderr.write('\r\x1b[K');
  }
}

/** Resolves with `p`, or rejects after `ms` (calling `onLate` with p's value if it comes later). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string, onLate?: (v: T) => void): Promise<T> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then((v) => {
      if (timedOut) onLate?.(v);
      return v;
    }),
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => {
        timedOut = true;
        rej(new Error(`${what}: timed out after ${secondsText(ms)}`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function closeQuietly(c: SshClient): Promise<void> {
  return Promise.race([c.close().catch(() => {}), new Promise<void>((r) => setTimeout(r, 2000).unref())]);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

/** The load-generator child (bench-load.ts) and its request/reply channel. */
class Load {
  private nextId = 1;
  private readonly pending = new Map<number, (r: LoadReply) => void>();
  private constructor(private readonly child: ChildProcess, readonly ports: LoadReady['ready']) {
    child.on('message', (m: LoadReply) => {
      this.pending.get(m.id)?.(m);
      this.pending.delete(m.id);
    });
    child.once('exit', () => {
      for (const [id, p] of this.pending) p({ id, ok: false, error: 'the load generator exited' });
      this.pending.clear();
    });
  }
  /** Registered in `cleanups` from its fork on (it also exits when this process goes: bench-load.ts). */
  static async start(cleanups: Cleanups): Promise<Load> {
    let child: ChildProcess | undefined;
    const stop = () => void (child?.exitCode === null && child.kill('SIGTERM'));
    cleanups.add(stop);
    child = fork(new URL('./bench-load.js', import.meta.url), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('exit', () => cleanups.delete(stop));
    const ready = await withTimeout(
      new Promise<LoadReady>((res, rej) => {
        child!.once('message', (m: LoadReady) => res(m));
        child!.once('exit', (code) => rej(new Error(`the load generator exited (${code})`)));
      }),
      20_000,
      'starting the load generator',
    );
    return new Load(child, ready.ready);
  }
  request(req: LoadRequest extends infer R ? (R extends LoadRequest ? Omit<R, 'id'> : never) : never): Promise<LoadReply> {
    const id = this.nextId++;
    return new Promise((res) => {
      this.pending.set(id, res);
      this.child.send({ ...req, id } as LoadRequest);
    });
  }
  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

/** Everything a run needs. */
interface Bench {
  args: BenchArgs;
  cfg: ResolvedConfig;
  /** For the timed connections: the user's log with -v, else errors only. */
  quietLog: Log;
  libs: Libraries;
  env: CliEnvironment;
  login?: OpensshLogin;
  runs: BenchRun[];
  notes: string[];
  deadline: number;
  progress: Progress;
  /** Every child process, tunnel and temporary directory of the run, while it exists. */
  cleanups: Cleanups;
}

function remaining(b: Bench): number {
  return b.deadline - performance.now();
}

/** A step's timeout: its cap, within what is left of the budget. */
function budget(b: Bench, capMs: number): number {
  // Whole milliseconds: Node's timeouts (a child's `timeout`) take integers only.
  return Math.max(1, Math.ceil(Math.min(capMs, remaining(b))));
}

/**
 * The configuration of a timed connection: these algorithms pinned, the user's other options
 * kept; without -v, errors only (the banner and notices were shown by the first login).
 */
function pinnedConfig(cfg: ResolvedConfig, a: PinnedAlgorithms, quiet: boolean): ResolvedConfig {
  const algorithms = { ...cfg.algorithms };
  if (a.kex) algorithms.kex = a.kex;
  if (a.hostKey) algorithms.hostKey = a.hostKey;
  if (a.cipher) algorithms.cipher = a.cipher;
  if (a.mac) algorithms.mac = a.mac;
  return { ...cfg, algorithms, ...(quiet ? { logLevel: 'ERROR' as const } : {}) };
}

/** A pure-ssh connection as the CLI makes it; ms from the TCP connect to authenticated. */
async function pureConnect(b: Bench, a: PinnedAlgorithms, timeoutMs: number, log = b.quietLog): Promise<{ client: SshClient; ms: number }> {
  let t0 = performance.now();
  const route: RouteContext = { env: b.env, onTransport: () => (t0 = performance.now()) };
  const client = await withTimeout(connectHost(pinnedConfig(b.cfg, a, !log.verbose), log, b.libs, route), timeoutMs, 'pure-ssh connect', (c) => void closeQuietly(c));
  const ms = performance.now() - t0;
  const n = client.info.negotiated;
  const wrong = n && ((a.kex && n.kex !== a.kex) || (a.hostKey && n.hostKey !== a.hostKey) || (a.cipher && n.cipherServerToClient !== a.cipher));
  if (wrong) {
    await closeQuietly(client);
    throw new Error(`pure-ssh negotiated ${n.kex} / ${n.hostKey} / ${n.cipherServerToClient}, not the pinned algorithms`);
  }
  return { client, ms };
}

function record(b: Bench, run: Omit<BenchRun, 'metrics' | 'ok'>, outcome: { ok: true; value: number } | { ok: false; error: string }): void {
  if (outcome.ok) b.runs.push({ ...run, ok: true, metrics: { [run.metric]: outcome.value } });
  // A run cut short by the --time-limit budget is left out, not failed (the report's notes say
  // so). Timers run on a millisecond clock of their own: a step ended by the budget may see a
  // hair of it left, hence the margin.
  else if (remaining(b) > BUDGET_MARGIN_MS) b.runs.push({ ...run, ok: false, metrics: {}, error: outcome.error });
}

/**
 * What the CLI would print for a failure to connect, for a note or a row. The CLI prints nothing
 * for some failures at LogLevel ERROR (a connection closed after the banner, before login: ssh
 * says that at INFO only); a bench row still needs words, so the library's message stands in.
 */
async function fatalText(err: unknown, b: { cfg: Parameters<typeof describeFatal>[1]; quietLog: Log }): Promise<string> {
  return (await describeFatal(err, b.cfg, b.quietLog)) || errorText(err);
}

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

async function handshakePhase(b: Bench, rows: HandshakeRow[]): Promise<HandshakeRow[]> {
  const kept: HandshakeRow[] = [];
  const sshFailed = new Map<string, string>();
  // Warm-up, uncounted: JIT for pure-ssh, and a row a client cannot do is known before timing.
  for (const [i, row] of rows.entries()) {
    if (remaining(b) <= 0) break;
    b.progress.update('handshakes', `warm-up ${i + 1}/${rows.length} ${row.key}`);
    try {
      const { client } = await pureConnect(b, { kex: row.kex, hostKey: row.hostKey }, budget(b, HANDSHAKE_TIMEOUT_MS));
      await closeQuietly(client);
      kept.push(row);
    } catch (err) {
      // Ended by the --time-limit budget: the time-limit note says so; this row is not at fault.
      if (remaining(b) <= BUDGET_MARGIN_MS) break;
      b.notes.push(`handshake ${row.key}: left out, pure-ssh could not connect: ${await fatalText(err, b)}`);
      continue;
    }
    if (b.login && !row.opensshMissing) {
      try {
        await opensshHandshake(b.login, { kex: row.kex, hostKey: row.hostKey }, budget(b, HANDSHAKE_TIMEOUT_MS));
      } catch (err) {
        sshFailed.set(row.key, errorText(err));
      }
    }
  }
  for (let rep = 1; rep <= b.args.reps; rep++) {
    for (const row of kept) {
      for (const tool of ['pure', 'openssh'] as BenchTool[]) {
        if (tool === 'openssh' && (!b.login || row.opensshMissing)) continue;
        if (remaining(b) <= 0) return kept;
        b.progress.update('handshakes', `${rep}/${b.args.reps} ${row.key} ${tool === 'pure' ? 'pure-ssh' : 'OpenSSH'}`);
        const run = { section: 'handshake' as const, row: row.key, tool, metric: 'handshake' as const, rep };
        const failed = tool === 'openssh' ? sshFailed.get(row.key) : undefined;
        if (failed) {
          record(b, run, { ok: false, error: failed });
          continue;
        }
        try {
          let ms: number;
          if (tool === 'pure') {
            const c = await pureConnect(b, { kex: row.kex, hostKey: row.hostKey }, budget(b, HANDSHAKE_TIMEOUT_MS));
            ms = c.ms;
            await closeQuietly(c.client);
          } else {
            ms = await opensshHandshake(b.login!, { kex: row.kex, hostKey: row.hostKey }, budget(b, HANDSHAKE_TIMEOUT_MS));
          }
          record(b, run, { ok: true, value: ms });
        } catch (err) {
          record(b, run, { ok: false, error: tool === 'pure' ? await fatalText(err, b) : errorText(err) });
        }
      }
    }
  }
  return kept;
}

/** Local ports per metric of one client's tunnel. */
type Ports = Partial<Record<BenchMetric, number>>;

async function pureTunnel(b: Bench, row: DataRow, pin: PinnedAlgorithms, load: Load): Promise<{ ports: Ports; stop: () => Promise<void> }> {
  const { client } = await pureConnect(b, { ...pin, cipher: row.cipher, mac: row.mac }, budget(b, SETUP_TIMEOUT_MS));
  try {
    const ports: Ports = {};
    const target = b.args.target;
    const local = async (host: string, port: number) => {
      const f = await client.forwardLocal({ listen: { host: '127.0.0.1', port: 0 }, to: { host, port } });
      return (f.address as { port: number }).port;
    };
    if (target) {
      // The target's refusal in words (RFC 4254 §7.2, "connect failed: ..."), rather than as
      // the reset of every run's local connection.
      (await client.openDirectTcpip({ host: target.host, port: target.port })).destroy();
      const p = await local(target.host, target.port);
      ports.echo = p;
      ports.rtt = p;
    } else {
      // RFC 4254 §7.1: tcpip-forward on the server's loopback, port 0 (the server picks one).
      for (const [metric, endpoint] of [['upload', load.ports.sink], ['download', load.ports.source], ['rtt', load.ports.echo]] as const) {
        const rf = await client.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: endpoint } });
        ports[metric] = await local('127.0.0.1', (rf.address as { port: number }).port);
      }
    }
    return { ports, stop: () => closeQuietly(client) };
  } catch (err) {
    await closeQuietly(client);
    throw err;
  }
}

/** One client's tunnel: its local port per metric; why a run failed, when the client knows. */
interface Tunnel {
  ports: Ports;
  stop: () => Promise<void>;
  /** A refusal by the server behind a failed run (OpenSSH logs it; the load sees a reset). */
  refusal?: () => string | undefined;
}

async function sshTunnel(b: Bench, row: DataRow, pin: PinnedAlgorithms, load: Load, ctlDir: string): Promise<Tunnel> {
  const target = b.args.target;
  const t: OpensshTunnel = await opensshTunnel(
    b.login!,
    { ...pin, cipher: row.cipher, mac: row.mac },
    target ? [target] : [{ loop: load.ports.sink }, { loop: load.ports.source }, { loop: load.ports.echo }],
    ctlDir,
    freePort,
    budget(b, SETUP_TIMEOUT_MS),
  );
  if (t.negotiated.cipher && t.negotiated.cipher !== row.cipher) {
    await t.stop();
    throw new Error(`OpenSSH negotiated ${t.negotiated.cipher}, not ${row.cipher}`);
  }
  const ports: Ports = target ? { echo: t.localPorts[0], rtt: t.localPorts[0] } : { upload: t.localPorts[0], download: t.localPorts[1], rtt: t.localPorts[2] };
  return { ports, stop: () => t.stop(), refusal: () => t.openFailure() };
}

/** A failed run's reason: the server's refusal when the tunnel knows it, else the load's error. */
function runError(tun: Tunnel, error: string): string {
  const refused = tun.refusal?.();
  return refused ? `channel open failed: ${refused}` : error;
}

function measure(b: Bench, load: Load, metric: BenchMetric, port: number, size: number, count: number): Promise<LoadReply> {
  if (metric === 'rtt') return load.request({ op: 'rtt', port, count, timeoutMs: budget(b, 60_000) });
  return load.request({ op: metric as 'upload' | 'download' | 'echo', port, size, timeoutMs: budget(b, transferTimeout(size)) });
}

async function dataPhase(b: Bench, rows: DataRow[], pin: PinnedAlgorithms, load: Load): Promise<DataRow[]> {
  const done: DataRow[] = [];
  const metrics: BenchMetric[] = b.args.target ? ['echo', 'rtt'] : ['upload', 'download', 'rtt'];
  const ctlDir = mkdtempSync(join(tmpdir(), 'psb-'));
  const removeCtlDir = () => rmSync(ctlDir, { recursive: true, force: true });
  try {
    b.cleanups.add(removeCtlDir);
  } catch (err) {
    removeCtlDir();
    throw err;
  }
  for (const [i, row] of rows.entries()) {
    if (remaining(b) <= 0) break;
    const phase = `data ${i + 1}/${rows.length} ${row.key}`;
    b.progress.update(phase, 'connecting');
    const tunnels: Partial<Record<BenchTool, Tunnel>> = {};
    const setupError: Partial<Record<BenchTool, string>> = {};
    try {
      tunnels.pure = await pureTunnel(b, row, pin, load);
    } catch (err) {
      setupError.pure = await fatalText(err, b);
      // RFC 4254 §7.1: a server may refuse tcpip-forward (sshd: AllowTcpForwarding no / local).
      if ((err as { code?: string }).code === 'ERR_FORWARD_REFUSED') {
        setupError.pure += ' (the server refuses remote forwarding, which the loop through it needs: name an echo service it can reach with --target host:port)';
      }
    }
    if (b.login && !row.opensshMissing) {
      try {
        tunnels.openssh = await sshTunnel(b, row, pin, load, ctlDir);
      } catch (err) {
        setupError.openssh = errorText(err);
      }
    }
    const tools: BenchTool[] = b.login && !row.opensshMissing ? ['pure', 'openssh'] : ['pure'];
    try {
      for (const t of tools) if (tunnels[t]) b.cleanups.add(tunnels[t]!.stop);
      // Warm-up, uncounted: 1 MiB each way and a few round trips through each tunnel.
      for (const t of tools) {
        const tun = tunnels[t];
        if (!tun) continue;
        b.progress.update(phase, `warm-up ${t === 'pure' ? 'pure-ssh' : 'OpenSSH'}`);
        for (const m of metrics) {
          const r = await measure(b, load, m, tun.ports[m]!, 1024 * 1024, 10);
          if (!r.ok) {
            setupError[t] = `warm-up ${m}: ${runError(tun, r.error)}`;
            break;
          }
        }
      }
      for (let rep = 1; rep <= b.args.reps; rep++) {
        for (const m of metrics) {
          for (const t of tools) {
            if (remaining(b) <= 0) break;
            const run = { section: 'data' as const, row: row.key, tool: t, metric: m, rep };
            if (setupError[t]) {
              record(b, run, { ok: false, error: setupError[t]! });
              continue;
            }
            b.progress.update(phase, `${m} ${rep}/${b.args.reps} ${t === 'pure' ? 'pure-ssh' : 'OpenSSH'}`);
            const r = await measure(b, load, m, tunnels[t]!.ports[m]!, b.args.size, b.args.roundTrips);
            record(b, run, r.ok ? { ok: true, value: r.value } : { ok: false, error: runError(tunnels[t]!, r.error) });
          }
        }
      }
      done.push(row);
    } finally {
      for (const t of tools) {
        const tun = tunnels[t];
        if (!tun) continue;
        b.cleanups.delete(tun.stop);
        await tun.stop();
      }
    }
  }
  return done;
}

function readPlanOffer(kexinit: { kex: string[]; hostKey: string[]; cipherClientToServer: string[]; cipherServerToClient: string[]; macClientToServer: string[]; macServerToClient: string[] }): ServerOffer {
  // A row must work both ways: the intersection of the two directions' lists.
  return {
    kex: kexinit.kex,
    hostKey: kexinit.hostKey,
    cipher: kexinit.cipherClientToServer.filter((c) => kexinit.cipherServerToClient.includes(c)),
    mac: kexinit.macClientToServer.filter((m) => kexinit.macServerToClient.includes(m)),
  };
}

async function run(args: BenchArgs): Promise<number> {
  const started = performance.now();
  const date = new Date().toISOString();
  const env = processCliEnvironment();
  let outcome;
  try {
    outcome = await resolveCommandLineAsync(['-N', ...args.sshArgs, args.destination], env);
  } catch (err) {
    if (err instanceof ConfigError) throw new FatalError(err.message);
    throw err;
  }
  if (outcome.kind === 'usage') throw new BenchArgError(outcome.message ?? 'bad command line');
  if (outcome.kind !== 'run') throw new BenchArgError('bad command line');
  const cfg = outcome.config;
  // What can be refused before any connection: --svg's directory, an OpenSSH client --ssh named.
  if (args.svg) {
    const dir = dirname(resolve(args.svg));
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      accessSync(dir, fsConstants.W_OK);
    } catch (err) {
      throw new BenchArgError(`--svg ${args.svg}: ${strerror(err as Error)}`);
    }
  }
  const ssh = args.openssh ? opensshSupport(args.ssh) : undefined;
  if (args.openssh && !ssh && args.sshGiven) {
    const r = spawnSync(args.ssh, ['-V']);
    throw new BenchArgError(`--ssh ${args.ssh}: ${r.error ? strerror(r.error) : `\`${args.ssh} -V\` exited with status ${r.status}`}`);
  }
  const log = new Log(cfg.logLevel);
  for (const n of cfg.notes) log.debug1(n);
  const ignored = [...cfg.localForwards, ...cfg.remoteForwards, ...cfg.dynamicForwards].length;
  if (ignored) log.debug1(`${ignored} forward(s) from the configuration: not started by pure-ssh-bench`);
  const b: Bench = {
    args,
    cfg: { ...cfg, localForwards: [], remoteForwards: [], dynamicForwards: [], forkAfterAuthentication: false },
    quietLog: log.verbose ? log : new Log('ERROR'),
    libs: await loadLibraries(),
    env,
    runs: [],
    notes: [],
    deadline: started + args.timeLimit * 1000,
    progress: new Progress(started, args.timeLimit),
    cleanups: new Cleanups(),
  };
  const cleanup = () => b.cleanups.run();
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    // Steps still unwinding start nothing more: no budget left, and cleanups refuse new entries.
    b.deadline = -Infinity;
    b.progress.done();
    process.stderr.write('pure-ssh-bench: interrupted\n');
    void cleanup().finally(() => process.exit(EXIT_ERROR));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // First, a login as `pure-ssh` would: any problem (host, auth, host key) ends the bench here
    // with ssh's wording. It also gives the defaults both clients are then pinned to.
    b.progress.update('connecting', `${cfg.user}@${cfg.hostName} port ${cfg.port}`);
    let probe: SshClient;
    try {
      probe = await withTimeout(connectHost(b.cfg, log, b.libs, { env }), budget(b, SETUP_TIMEOUT_MS), `connect to ${cfg.hostName} port ${cfg.port}`, (c) => void closeQuietly(c));
    } catch (err) {
      throw new FatalError(await describeFatal(err, cfg, log));
    }
    const info = probe.info;
    await closeQuietly(probe);
    const defaults = info.negotiated!;
    const provider = info.cryptoProvider;
    const { sock } = await openRoute(b.cfg, b.quietLog, b.libs, { env }, 0);
    let offer;
    try {
      offer = await readServerOffer(sock, budget(b, SETUP_TIMEOUT_MS));
    } catch (err) {
      throw new FatalError(`reading the server's algorithm offer: ${errorText(err)}`);
    }
    if (args.openssh && !ssh) b.notes.push(`OpenSSH's ${args.ssh} could not be run: pure-ssh alone (--ssh PATH names another)`);
    if (ssh) b.login = { ssh: args.ssh, userArgs: args.sshArgs, destination: args.destination, cleanups: b.cleanups };
    const plan: BenchPlan = planRows(
      readPlanOffer(offer.kexinit),
      { kex: args.kex, hostKeys: args.hostKeys, ciphers: args.ciphers, macs: args.macs, limit: args.quick ? 2 : undefined },
      provider,
      ssh,
    );
    b.notes.push(...plan.notes);
    if (interrupted) return await untilExit;
    const load = await Load.start(b.cleanups);
    const hsRows = args.handshake ? await handshakePhase(b, plan.handshake) : [];
    // Data rows: both clients pinned to the kex and host key pure-ssh negotiated by default (the
    // kex: one OpenSSH has too, dataKex).
    const kex = dataKex(readPlanOffer(offer.kexinit), defaults.kex, provider, ssh);
    const pin: PinnedAlgorithms = { kex: kex.kex, hostKey: defaults.hostKey };
    if (args.data) {
      if (kex.note) b.notes.push(kex.note);
      b.notes.push(`data rows: key exchange ${pin.kex}, host key ${pin.hostKey}${b.login ? ' for both clients' : ''}`);
    }
    const dataRows = args.data ? await dataPhase(b, plan.data, pin, load) : [];
    if (remaining(b) <= 0) b.notes.push(`the time limit (${args.timeLimit} s, --time-limit) ended the run early: later rows and repetitions were left out`);
    await cleanup();
    // Interrupted: the steps ended early; the signal's handler exits once cleanups are done.
    if (interrupted) return await untilExit;
    b.progress.done();
    const cpu = cpus();
    const report: BenchReport = {
      tool: 'pure-ssh-bench',
      version: version(),
      date,
      destination: { host: cfg.hostName, port: cfg.port, user: cfg.user },
      server: { version: offer.serverVersion },
      mode: args.target ? 'target' : 'loop',
      ...(args.target ? { target: `${args.target.host}:${args.target.port}` } : {}),
      clients: { pure: `${version()} (crypto: ${provider})`, ...(ssh ? { openssh: ssh.version } : {}) },
      machine: { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, os: `${osType()} ${release()}`, runtime: `Node.js ${process.version}` },
      options: { quick: args.quick, size: args.size, reps: args.reps, roundTrips: args.roundTrips, timeLimit: args.timeLimit },
      handshake: summarizeBench(b.runs, hsRows, 'handshake'),
      data: summarizeBench(b.runs, dataRows, 'data'),
      notes: b.notes,
      failedRuns: b.runs.filter((r) => !r.ok).length,
      elapsedSeconds: (performance.now() - started) / 1000,
    };
    process.stdout.write(args.json ? renderBenchJson(report) : renderBenchTable(report));
    if (args.svg) {
      try {
        writeFileSync(args.svg, renderBenchSvg(report));
      } catch (err) {
        throw new BenchArgError(`--svg ${args.svg}: ${strerror(err as Error)}`);
      }
    }
    if (report.handshake.length + report.data.length === 0) throw new FatalError('nothing could be measured (see the notes above)');
    return report.failedRuns > 0 ? EXIT_RUNS_FAILED : 0;
  } finally {
    b.progress.done();
    await cleanup();
  }
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof BenchArgError)) throw err;
    process.stderr.write(`pure-ssh-bench: ${err.message}\n${BENCH_USAGE}`);
    return EXIT_ERROR;
  }
  if (args === 'help') {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (args === 'version') {
    process.stderr.write(`pure-ssh-bench_${version()}\n`);
    return 0;
  }
  try {
    return await run(args);
  } catch (err) {
    if (interrupted) return await untilExit;
    if (err instanceof BenchArgError) {
      process.stderr.write(`pure-ssh-bench: ${err.message}\n`);
      return EXIT_ERROR;
    }
    if (err instanceof FatalError) {
      process.stderr.write(`${err.message}\npure-ssh-bench: could not run against ${args.destination}\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (err: unknown) => {
    // A step failing because the run is being stopped: the signal's handler exits.
    if (interrupted) return;
    process.stderr.write(`pure-ssh-bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(EXIT_ERROR);
  },
);
