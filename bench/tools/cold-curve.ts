/**
 * The JIT warm-up curve of the `latency` scenario (bench/README.md "Latency"): a fresh tunnel
 * per run, the bench's warm-up (2 MiB echoed and three 64-byte exchanges on a second forward),
 * 10 uncounted exchanges, then `--blocks` blocks of `--block` sequential 64-byte echo round
 * trips on one connection. Per block: the median round trip (µs) and the tunnel's CPU per round
 * trip (µs) on its main thread and on all its threads (from /proc/PID/task/TID/schedstat, so the
 * difference is V8's background threads: TurboFan compiles, GC helpers).
 *
 * Variants run interleaved (A B C A B C …), so that a loaded machine's drift hits each alike:
 *
 * ```sh
 * npm run build && npx tsc -p bench/tsconfig.json
 * node dist-bench/bench/tools/cold-curve.js --runs 6 --block 100 --blocks 20 \
 *   --variant base=/path/to/other/checkout --variant this=. --variant openssh
 * ```
 *
 * `--kex NAME` uses that key exchange (sshd's KexAlgorithms too) instead of the bench's.
 * `--startup` times start-up instead (spawn to the first byte of the bench's server-first endpoint,
 * and the tunnel's CPU by then), `--runs` times per variant, interleaved alike.
 *
 * `NAME=DIR` runs DIR/dist/node/cli-bin.cjs (each variant its own XDG_CACHE_HOME, so code
 * caches do not replace one another); `NAME=DIR:--flag,--flag` passes node flags first;
 * `openssh` runs ssh(1). `--stdout PREFIX` keeps each measured tunnel's stdout in
 * PREFIX.VARIANT.RUN, each line tagged with the round trip (or `login`, `warm-up`) during which it
 * came (e.g. with `NAME=DIR:--trace-opt,--trace-deopt`, under `stdbuf -oL` so that V8's
 * output is not held in stdio's buffer), and in PREFIX.VARIANT.RUN.marks
 * when each block started and ended, ms after the spawn (to place a `--logfile` V8 log's events). sshd is the test harness's with the bench's config; the echo endpoint
 * is the bench's, in its own process.
 */
import { fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSshd } from '../../test/harness/sshd.js';
import { freePort } from '../../test/harness/net.js';
import { ALGORITHM_SETS, BENCH_SSHD_CONFIG, loginOf, type EndpointsReady, type LoginSpec } from '../config.js';
import { connectLocal, echoExchange, firstBytes } from '../scenarios.js';
import { tunnelCommand, TOOL_DIR } from '../tunnels.js';

interface Variant {
  name: string;
  /** A checkout whose dist/ holds a built CLI; undefined for OpenSSH. */
  dir?: string;
  nodeArgs: string[];
}

interface Block {
  medianUs: number;
  mainCpuUs: number;
  allCpuUs: number;
}

interface Options {
  runs: number;
  block: number;
  blocks: number;
  variants: Variant[];
  /** `--kex NAME`: the key exchange instead of the bench's (sshd offers it too). */
  kex?: string;
  /** `--startup`: instead of the echo curve, time each variant's start-up (see startupOnce). */
  startup?: boolean;
  /** `--json FILE`: every run's blocks, by variant name, for a paired comparison. */
  json?: string;
  /** `--stdout PREFIX`: each tunnel's stdout goes to PREFIX.VARIANT.RUN (for V8's --trace-* output). */
  stdout?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 4, block: 1000, blocks: 2, variants: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--startup') {
      o.startup = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--runs') o.runs = Number(v);
    else if (a === '--block') o.block = Number(v);
    else if (a === '--blocks') o.blocks = Number(v);
    else if (a === '--stdout') o.stdout = v;
    else if (a === '--json') o.json = v;
    else if (a === '--kex') o.kex = v;
    else if (a === '--variant') {
      if (v === 'openssh') o.variants.push({ name: 'openssh', nodeArgs: [] });
      else {
        const [name, rest] = v.split(/=(.*)/s) as [string, string];
        const [dir, flags] = rest.split(/:(.*)/s) as [string, string | undefined];
        o.variants.push({ name, dir: resolve(dir), nodeArgs: flags ? flags.split(',') : [] });
      }
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.variants.length === 0) throw new Error('give at least one --variant');
  return o;
}

/** CPU ns of every thread of `pid`, and of its main thread. */
function cpuNs(pid: number): { all: number; main: number } {
  let all = 0;
  let main = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      all += ns;
      if (t === String(pid)) main = ns;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return { all, main };
}

async function runOnce(v: Variant, login: LoginSpec, echoPort: number, block: number, blocks: number, cacheDir: string, stdout?: string): Promise<Block[]> {
  const [warmPort, mainPort] = await Promise.all([freePort(), freePort()]);
  const forwards = [
    { listenPort: warmPort, host: '127.0.0.1', port: echoPort },
    { listenPort: mainPort, host: '127.0.0.1', port: echoPort },
  ];
  const base = tunnelCommand(v.dir ? 'pure' : 'openssh', login, forwards);
  const args = v.dir ? [...v.nodeArgs, join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))] : base.args;
  const out = stdout === undefined ? undefined : openSync(stdout, 'w');
  const spawned = performance.now();
  const marks: string[] = [];
  /** Where the run is, for the stdout lines: `login`, `warm-up`, or the round trip's index. */
  let phase = 'login';
  const child = spawn(v.dir ? process.execPath : base.cmd, args, {
    stdio: ['ignore', out === undefined ? 'ignore' : 'pipe', 'ignore'],
    env: { ...base.env, XDG_CACHE_HOME: join(cacheDir, v.name) },
  });
  if (out !== undefined) {
    // Each line tagged with the phase it arrived in (run under stdbuf -oL for V8's stdio).
    let rest = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop()!;
      for (const l of lines) writeSync(out, `${phase}\t${l}\n`);
    });
  }
  try {
    // The bench's warm-up (bench/scenarios.ts withTunnel).
    phase = 'warm-up';
    await echoExchange(warmPort, 2 * 1024 * 1024);
    for (let i = 0; i < 3; i++) await echoExchange(warmPort, 64);
    const sock = await connectLocal(mainPort);
    let pending: { resolve: () => void; n: number } | undefined;
    sock.on('data', (d: Buffer) => {
      if (!pending) return;
      pending.n += d.length;
      if (pending.n >= 64) pending.resolve();
    });
    const msg = Buffer.alloc(64);
    const exchange = async (i: number): Promise<number> => {
      msg.fill(i & 0xff);
      msg.writeInt32BE(i, 0);
      phase = String(i);
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        pending = { resolve, n: 0 };
        sock.write(msg);
      });
      pending = undefined;
      return (performance.now() - t0) * 1000;
    };
    for (let i = -10; i < 0; i++) await exchange(i);
    const out: Block[] = [];
    for (let b = 0; b < blocks; b++) {
      const c0 = cpuNs(child.pid!);
      marks.push(`block ${b} start ${(performance.now() - spawned).toFixed(1)} ms`);
      const rtts: number[] = [];
      for (let i = 0; i < block; i++) rtts.push(await exchange(b * block + i));
      const c1 = cpuNs(child.pid!);
      marks.push(`block ${b} end ${(performance.now() - spawned).toFixed(1)} ms`);
      rtts.sort((x, y) => x - y);
      out.push({ medianUs: rtts[rtts.length >> 1]!, mainCpuUs: (c1.main - c0.main) / block / 1000, allCpuUs: (c1.all - c0.all) / block / 1000 });
    }
    sock.destroy();
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    if (out !== undefined) {
      closeSync(out);
      writeFileSync(`${stdout}.marks`, `${marks.join('\n')}\n`);
    }
  }
}

/**
 * `--startup`: spawn to the first byte of the server-first endpoint through a fresh tunnel, as the
 * bench's `startup` scenario polls for it; ms, and the tunnel's CPU ms then (main thread, all).
 */
async function startupOnce(v: Variant, login: LoginSpec, firstPort: number, cacheDir: string): Promise<{ ms: number; main: number; all: number }> {
  const port = await freePort();
  const base = tunnelCommand(v.dir ? 'pure' : 'openssh', login, [{ listenPort: port, host: '127.0.0.1', port: firstPort }]);
  const args = v.dir ? [...v.nodeArgs, join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))] : base.args;
  const t0 = performance.now();
  const child = spawn(v.dir ? process.execPath : base.cmd, args, {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...base.env, XDG_CACHE_HOME: join(cacheDir, v.name) },
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${v.name}: tunnel exited`);
      const got = (await firstBytes(port)) !== undefined;
      if (got) {
        const ms = performance.now() - t0;
        const c = cpuNs(child.pid!);
        return { ms, main: c.main / 1e6, all: c.all / 1e6 };
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const set = ALGORITHM_SETS[0]!;
  const sshd = await startSshd({ config: opts.kex ? { ...BENCH_SSHD_CONFIG, KexAlgorithms: opts.kex } : BENCH_SSHD_CONFIG });
  const ep = fork(join(TOOL_DIR, '..', 'endpoints.js'), [JSON.stringify({ host: '127.0.0.1', bulkBytes: 1, smallBytes: 1 })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const cacheDir = mkdtempSync(join(tmpdir(), 'pure-ssh-cold-'));
  try {
    const ready = await new Promise<EndpointsReady>((res) => ep.on('message', (m: EndpointsReady) => m.kind === 'ready' && res(m)));
    const login: LoginSpec = loginOf(sshd, { cipher: set.cipher, kex: opts.kex ?? set.kex, hostKey: set.hostKey });
    // One unmeasured run each: writes each variant's code cache, as the bench's earlier runs do.
    for (const v of opts.variants) await runOnce(v, login, ready.ports.echo, 10, 1, cacheDir);
    if (opts.startup) {
      const st = new Map<string, { ms: number; main: number; all: number }[]>(opts.variants.map((v) => [v.name, []]));
      for (let r = 0; r < opts.runs; r++) {
        for (const v of opts.variants) st.get(v.name)!.push(await startupOnce(v, login, ready.ports.first, cacheDir));
        process.stderr.write('.');
      }
      process.stderr.write('\n');
      if (opts.json !== undefined) writeFileSync(opts.json, JSON.stringify(Object.fromEntries(st)));
      console.log(`medians over ${opts.runs} runs: ms from spawn to the first forwarded byte / CPU ms main thread / all threads`);
      for (const [name, xs] of st) {
        console.log(`${name} | ${median(xs.map((x) => x.ms)).toFixed(1)} / ${median(xs.map((x) => x.main)).toFixed(1)} / ${median(xs.map((x) => x.all)).toFixed(1)}`);
      }
      return;
    }
    const results = new Map<string, Block[][]>(opts.variants.map((v) => [v.name, []]));
    for (let r = 0; r < opts.runs; r++) {
      for (const v of opts.variants) {
        const stdout = opts.stdout === undefined ? undefined : `${opts.stdout}.${v.name}.${r}`;
        results.get(v.name)!.push(await runOnce(v, login, ready.ports.echo, opts.block, opts.blocks, cacheDir, stdout));
        process.stderr.write('.');
      }
    }
    process.stderr.write('\n');
    if (opts.json !== undefined) writeFileSync(opts.json, JSON.stringify(Object.fromEntries(results)));
    const cols = Array.from({ length: opts.blocks }, (_, b) => `${b * opts.block}–${(b + 1) * opts.block - 1}`);
    console.log(`medians over ${opts.runs} runs; per block of ${opts.block} round trips: median round trip µs / main-thread CPU µs per round trip / all threads`);
    console.log(['variant', ...cols].join(' | '));
    for (const [name, runs] of results) {
      const cells = cols.map((_, b) => {
        const m = median(runs.map((x) => x[b]!.medianUs));
        const c = median(runs.map((x) => x[b]!.mainCpuUs));
        const a = median(runs.map((x) => x[b]!.allCpuUs));
        return `${m.toFixed(0)} / ${c.toFixed(0)} / ${a.toFixed(0)}`;
      });
      console.log([name, ...cells].join(' | '));
    }
  } finally {
    ep.kill();
    await sshd.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
