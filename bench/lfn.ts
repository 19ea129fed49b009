/**
 * `npm run bench:lfn`: bulk download and upload through a long fat pipe, pure-ssh's `-L` vs
 * OpenSSH's `ssh -N -L`, against the local sshd behind bench/delay-proxy.ts (a user-space proxy
 * adding N ms each way between the client and sshd; no netem here). Delays, repetitions,
 * directions and tools are interleaved in one run; every transfer is hash-verified.
 *
 * What it shows: ssh(1) grants a fixed 2 MiB channel window (CHAN_TCP_WINDOW_DEFAULT), so a
 * download cannot beat 2 MiB / RTT; pure-ssh auto-tunes its window (window-tuning.ts). Uploads
 * are capped the same way by the window sshd grants (also 2 MiB for direct-tcpip), for both.
 *
 * Options: --delays 10,25,50 (ms each way) --size BYTES (default 256 MiB) --reps N (default 2)
 * --tools pure,openssh --out DIR --quick (64 MiB, 1 repetition).
 * Writes DIR/lfn.json and DIR/lfn.md; the markdown also goes to stdout.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/harness/net.js';
import { ALGORITHM_SETS, SEED, TOOL_LABEL, type EndpointConfig, type EndpointsReady, type LoginSpec, type SinkResult, type Tool } from './config.js';
import { patternSha256, writePattern } from './data.js';
import type { DelayProxyOptions, DelayProxyReady } from './delay-proxy.js';
import { cpuSeconds, RssSampler } from './proc-stats.js';
import { startLocalServer, type BenchServer } from './server.js';
import { pureVariant, spawnTunnel, TOOL_DIR, waitListening } from './tunnels.js';

const MiB = 1024 * 1024;
/** sshd and ssh(1) channels.h CHAN_TCP_WINDOW_DEFAULT: 64 × 32 KiB. */
const OPENSSH_WINDOW = 2 * MiB;

type Direction = 'download' | 'upload';

interface Options {
  delays: number[];
  size: number;
  reps: number;
  tools: Tool[];
  outDir: string;
}

interface Run {
  delayMs: number;
  direction: Direction;
  tool: Tool;
  rep: number;
  ok: boolean;
  error?: string;
  /** MiB/s */
  throughput?: number;
  ms?: number;
  /** Client CPU seconds per GiB moved. */
  cpuPerGiB?: number;
  peakRssMiB?: number;
}

/** --window-log: print pure-ssh's window decisions after each of its runs. */
let windowLog = false;

function parse(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = { delays: [10, 25, 50], size: quick ? 64 * MiB : 256 * MiB, reps: quick ? 1 : 2, tools: ['pure', 'openssh'], outDir: 'bench/results' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--quick') continue;
    else if (a === '--window-log') windowLog = true;
    else if (a === '--delays') o.delays = v().split(',').map(Number);
    else if (a === '--size') o.size = Number(v());
    else if (a === '--reps') o.reps = Number(v());
    else if (a === '--tools') o.tools = v().split(',') as Tool[];
    else if (a === '--out') o.outDir = v();
    else throw new Error(`unknown option ${a}`);
  }
  if (o.delays.some((d) => !(d >= 0)) || !(o.size > 0) || !(o.reps > 0)) throw new Error('bad --delays, --size or --reps');
  for (const t of o.tools) if (t !== 'pure' && t !== 'openssh') throw new Error(`bench:lfn compares pure and openssh, not ${t}`);
  return o;
}

/** The data endpoints (bench/endpoints.ts) in their own process. */
async function startEndpoints(config: EndpointConfig): Promise<{ child: ChildProcess; ready: EndpointsReady; nextSink: () => Promise<SinkResult> }> {
  const child = fork(join(TOOL_DIR, '..', 'endpoints.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const results: SinkResult[] = [];
  const waiters: ((r: SinkResult) => void)[] = [];
  const ready = await new Promise<EndpointsReady>((resolve, reject) => {
    child.on('message', (m: EndpointsReady | SinkResult) => {
      if (m.kind === 'ready') resolve(m);
      else {
        const w = waiters.shift();
        if (w) w(m);
        else results.push(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`data endpoints exited (${code})`)));
  });
  return { child, ready, nextSink: () => (results.length > 0 ? Promise.resolve(results.shift()!) : new Promise((r) => waiters.push(r))) };
}

/** bench/delay-proxy.ts in its own process, so its CPU is not the measured client's. */
async function startProxy(opts: DelayProxyOptions): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(TOOL_DIR, '..', 'delay-proxy.js'), [JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<DelayProxyReady>((resolve, reject) => {
    child.once('message', (m: DelayProxyReady) => resolve(m));
    child.once('exit', (code) => reject(new Error(`delay proxy exited (${code})`)));
  });
  return { child, port: ready.port };
}

function connectLocal(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function oneRun(server: BenchServer, login: LoginSpec, ep: Awaited<ReturnType<typeof startEndpoints>>, run: Run, size: number, uploadSha: string): Promise<void> {
  const [warmPort, listenPort] = await Promise.all([freePort(), freePort()]);
  const target = { host: server.endpointHost, port: run.direction === 'download' ? ep.ready.ports.bulk : ep.ready.ports.sink };
  // Readiness is probed on a second forward (to the echo endpoint): a probe of the measured
  // forward would reach the sink as an empty upload. The measured forward comes first: both
  // clients bind their -L listeners in order, so once the probed one listens the measured one
  // does too (the other way round, pure-ssh's second bind could come after the probe: one
  // ECONNREFUSED in the run of 2026-12-02 03:10 UTC).
  // --window-log: pure-ssh runs with -v and its window decisions (window-tuning.ts) are printed.
  const vlogin = windowLog && run.tool === 'pure' ? { ...login, verbose: true } : login;
  const tunnel = spawnTunnel(run.tool, vlogin, [
    { listenPort, ...target },
    { listenPort: warmPort, host: server.endpointHost, port: ep.ready.ports.echo },
  ]);
  const limitMs = 60_000 + (size / MiB) * 500;
  let timer: NodeJS.Timeout | undefined;
  try {
    await waitListening(tunnel, warmPort, 30_000);
    const sampler = new RssSampler(tunnel.pid);
    const cpu0 = cpuSeconds(tunnel.pid);
    const t0 = performance.now();
    const work = (async () => {
      const sock = await connectLocal(listenPort);
      if (run.direction === 'download') {
        const h = createHash('sha256');
        let bytes = 0;
        for await (const c of sock as AsyncIterable<Buffer>) {
          h.update(c);
          bytes += c.length;
        }
        if (bytes !== size) throw new Error(`FAILED: received ${bytes} of ${size} bytes`);
        if (h.digest('hex') !== ep.ready.sha256.bulk) throw new Error('FAILED: sha256 mismatch on download');
      } else {
        sock.resume();
        sock.on('error', () => {});
        const closed = new Promise<void>((r) => sock.once('close', () => r()));
        writePattern(sock, size, SEED.upload).catch(() => sock.destroy());
        const r = await ep.nextSink();
        await closed;
        if (r.bytes !== size) throw new Error(`FAILED: sink received ${r.bytes} of ${size} bytes`);
        if (r.sha256 !== uploadSha) throw new Error('FAILED: sha256 mismatch at the sink');
      }
    })();
    await Promise.race([work, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`FAILED: timed out after ${limitMs} ms`)), limitMs)))]);
    run.ms = performance.now() - t0;
    run.throughput = size / MiB / (run.ms / 1000);
    run.cpuPerGiB = (cpuSeconds(tunnel.pid) - cpu0) / (size / 1024 ** 3);
    run.peakRssMiB = sampler.stop() / MiB;
    run.ok = true;
    if (vlogin !== login) process.stderr.write(tunnel.stderr().split('\n').filter((l) => / window \d+ -> /.test(l)).join('\n') + '\n');
  } catch (err) {
    run.ok = false;
    run.error = `${(err as Error).message} ${tunnel.stderr().trim().slice(-300)}`.trim();
  } finally {
    clearTimeout(timer);
    await tunnel.stop();
  }
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

const f = (x: number | undefined, d = 1) => (x === undefined ? '–' : x.toFixed(d));

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  const algs = ALGORITHM_SETS[0]!;
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const server = await startLocalServer();
  const ep = await startEndpoints({ host: server.endpointListen, bulkBytes: opts.size, smallBytes: 1024 });
  const uploadSha = patternSha256(opts.size, SEED.upload);
  const hostKeyLine = (await readFile(server.knownHostsPath, 'utf8')).trim().split('\n')[0]!.split(/\s+/).slice(1).join(' ');
  const runs: Run[] = [];
  const proxies: ChildProcess[] = [];
  try {
    const logins = new Map<number, LoginSpec>();
    for (const delayMs of opts.delays) {
      const proxy = await startProxy({ targetHost: server.host, targetPort: server.port, delayMs });
      proxies.push(proxy.child);
      const knownHostsPath = `${server.knownHostsPath}.lfn-${proxy.port}`;
      await writeFile(knownHostsPath, `[127.0.0.1]:${proxy.port} ${hostKeyLine}\n`);
      logins.set(delayMs, { host: '127.0.0.1', port: proxy.port, user: server.user, keyPath: server.keyPath, knownHostsPath, algorithms: algs });
    }
    // Interleaved: every repetition visits every delay, direction and tool in turn.
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const delayMs of opts.delays) {
        for (const direction of ['download', 'upload'] as Direction[]) {
          for (const tool of opts.tools) {
            const run: Run = { delayMs, direction, tool, rep, ok: false };
            await oneRun(server, logins.get(delayMs)!, ep, run, opts.size, uploadSha);
            runs.push(run);
            log(
              `[${delayMs} ms each way, ${direction}, ${rep + 1}/${opts.reps}] ${TOOL_LABEL[tool].padEnd(11)} ` +
                (run.ok ? `${f(run.throughput)} MiB/s, ${f(run.cpuPerGiB, 2)} s CPU/GiB, ${f(run.peakRssMiB)} MiB RSS` : run.error),
            );
          }
        }
      }
    }
  } finally {
    for (const p of proxies) p.kill();
    ep.child.kill();
    await server.stop();
  }

  const rows = opts.delays.flatMap((delayMs) =>
    (['download', 'upload'] as Direction[]).map((direction) => {
      const per = (tool: Tool, k: 'throughput' | 'cpuPerGiB' | 'peakRssMiB') =>
        median(runs.filter((r) => r.ok && r.tool === tool && r.delayMs === delayMs && r.direction === direction).map((r) => r[k]!));
      const pure = per('pure', 'throughput');
      const openssh = per('openssh', 'throughput');
      const rttMs = 2 * delayMs;
      return {
        delayMs,
        rttMs,
        direction,
        pureMiBs: pure,
        opensshMiBs: openssh,
        ratio: pure !== undefined && openssh ? pure / openssh : undefined,
        windowLimitMiBs: rttMs > 0 ? OPENSSH_WINDOW / MiB / (rttMs / 1000) : undefined,
        pureCpuPerGiB: per('pure', 'cpuPerGiB'),
        opensshCpuPerGiB: per('openssh', 'cpuPerGiB'),
        purePeakRssMiB: per('pure', 'peakRssMiB'),
        opensshPeakRssMiB: per('openssh', 'peakRssMiB'),
      };
    }),
  );
  const env = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`,
    node: process.version,
    server: server.description,
    pureProgram: pureVariant(),
    algorithms: algs,
    options: opts,
  };
  const failed = runs.filter((r) => !r.ok);
  const md = [
    '# pure-ssh on a long fat pipe (bench/lfn.ts)',
    '',
    `- date: ${env.date}; machine: ${env.machine} (shared: read the ratios); node ${env.node}`,
    `- server: ${env.server}, reached through bench/delay-proxy.ts adding the delay each way between the client and sshd`,
    `- ${f(opts.size / MiB, 0)} MiB per transfer, ${opts.reps} repetition(s), interleaved; cipher ${algs.cipher}; every transfer sha256-verified`,
    `- pure-ssh: ${env.pureProgram === 'cli' ? 'dist/node/cli.js' : 'library stand-in'} with its defaults (window auto-tuning on, 32 MiB cap); OpenSSH: ssh -N -L`,
    '',
    'Throughput in MiB/s, median over the repetitions. "2 MiB / RTT" is the ceiling a fixed 2 MiB window',
    'allows (ssh(1)\'s own window for downloads; sshd\'s for uploads, the same for both clients).',
    '',
    '| delay each way | RTT | direction | pure-ssh | OpenSSH | pure / OpenSSH | 2 MiB / RTT | CPU s/GiB pure / OpenSSH | peak RSS MiB pure / OpenSSH |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.delayMs} ms | ${r.rttMs} ms | ${r.direction} | ${f(r.pureMiBs)} | ${f(r.opensshMiBs)} | ${r.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}×`} | ${f(r.windowLimitMiBs)} | ${f(r.pureCpuPerGiB, 2)} / ${f(r.opensshCpuPerGiB, 2)} | ${f(r.purePeakRssMiB)} / ${f(r.opensshPeakRssMiB)} |`,
    ),
    '',
    'Uploads: sshd (9.2) grants a direct-tcpip channel a fixed 2 MiB window and adjusts it with the same',
    'thresholds as ssh(1), so no client can upload faster than about 2 MiB / RTT; the server decides.',
    ...(failed.length > 0 ? ['', '## Failed runs', '', ...failed.map((r) => `- ${r.delayMs} ms ${r.direction} ${r.tool} rep ${r.rep + 1}: ${r.error}`)] : []),
    '',
  ].join('\n');
  await mkdir(opts.outDir, { recursive: true });
  await writeFile(join(opts.outDir, 'lfn.json'), JSON.stringify({ environment: env, summary: rows, runs }, null, 2) + '\n');
  await writeFile(join(opts.outDir, 'lfn.md'), md);
  process.stdout.write(md);
  if (failed.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench:lfn: ${(err as Error).stack}\n`);
  process.exit(1);
});
