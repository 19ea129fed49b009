/**
 * User-space instructions per 64-byte echo round trip of the `-L` tunnel, counted by valgrind's
 * callgrind (deterministic within a few per cent on a loaded machine, unlike wall-clock time).
 * A tunnel per variant runs under `valgrind --tool=callgrind --instr-atstart=no`; after the
 * bench's warm-up and `--warm` round trips, instrumentation is switched on (callgrind_control)
 * for `--count` round trips, then off. Prints Ir per round trip, and with `--top N` the N
 * costliest functions (exclusive), JIT code named from node's --perf-basic-prof map.
 *
 * ```sh
 * npm run build && npx tsc -p bench/tsconfig.json
 * node dist-bench/bench/tools/echo-callgrind.js --variant base=/path/to/other/checkout \
 *   --variant this=. --warm 3000 --count 2000 --runs 2 --top 40
 * ```
 *
 * `--download BYTES`: instead, instructions per MiB of the bench's bulk download (one download
 * of BYTES to warm up, the next one counted). `--cipher NAME` pins another cipher than the
 * bench's (e.g. aes128-gcm@openssh.com, pure-ssh's default on Node); `--download-warm N` makes N
 * downloads before the counted one (1). `--variant openssh` runs ssh(1) under callgrind instead,
 * for reference (no JIT names there).
 *
 * `--warm-bytes N`: the warm-up echo's size (256 KiB by default, the bench's own is 2 MiB: it
 * decides, for one, which WebAssembly functions are in TurboFan when counting starts).
 * `--variant NAME=DIR:--flag,--flag` passes node flags before the CLI (e.g. `--no-liftoff`).
 * `--stdout PREFIX` keeps each tunnel's stdout in PREFIX.NAME.RUN (with `:--trace-opt,--trace-deopt`:
 * what ran optimized in the window). `--calls`: the calls per round trip to V8's builtins that
 * make typed arrays, ICs and microtasks, with their callers (callgrind-calls.ts).
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Socket } from 'node:net';
import { startSshd } from '../../test/harness/sshd.js';
import { freePort } from '../../test/harness/net.js';
import { ALGORITHM_SETS, BENCH_SSHD_CONFIG, loginOf, type EndpointsReady, type LoginSpec } from '../config.js';
import { connectLocal, echoExchange } from '../scenarios.js';
import { tunnelCommand, TOOL_DIR } from '../tunnels.js';
import { callCounts } from './callgrind-calls.js';
import { topFunctions } from './callgrind-top.js';

interface Options {
  /** `NAME=DIR`, or `NAME=DIR:--flag,--flag` to pass node flags before the CLI (as cold-curve.ts). */
  variants: { name: string; dir: string; nodeArgs: string[] }[];
  warm: number;
  /** `--warm-bytes N`: the warm-up echo's size (256 KiB; the bench's own is 2 MiB). */
  warmBytes: number;
  count: number;
  runs: number;
  top: number;
  out: string | undefined;
  /** Instead of echoes: instructions per MiB of a download of this many bytes (0: echoes). */
  download: number;
  /** `--cipher NAME`: the cipher pinned (default: the bench's, ALGORITHM_SETS[0]). */
  cipher: string | undefined;
  /** `--download-warm N`: downloads before the counted one (1). */
  downloadWarm: number;
  /** `--stdout PREFIX`: each tunnel's stdout in PREFIX.NAME.RUN (e.g. with `:--trace-opt,--trace-deopt`). */
  stdout: string | undefined;
  /** `--calls`: also print the calls per round trip to the builtins that allocate (callgrind-calls.ts). */
  calls: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { variants: [], warm: 3000, warmBytes: 256 * 1024, count: 2000, runs: 1, top: 0, out: undefined, download: 0, cipher: undefined, downloadWarm: 1, stdout: undefined, calls: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--calls') {
      o.calls = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--variant' && v === 'openssh') o.variants.push({ name: v, dir: '', nodeArgs: [] });
    else if (a === '--variant') {
      const [name, spec] = v.split(/=(.*)/s) as [string, string];
      const [dir, flags] = spec.split(/:(.*)/s) as [string, string | undefined];
      o.variants.push({ name, dir: resolve(dir), nodeArgs: flags ? flags.split(',') : [] });
    } else if (a === '--warm') o.warm = Number(v);
    else if (a === '--warm-bytes') o.warmBytes = Number(v);
    else if (a === '--count') o.count = Number(v);
    else if (a === '--runs') o.runs = Number(v);
    else if (a === '--top') o.top = Number(v);
    else if (a === '--out') o.out = v;
    else if (a === '--download') o.download = Number(v);
    else if (a === '--cipher') o.cipher = v;
    else if (a === '--download-warm') o.downloadWarm = Number(v);
    else if (a === '--stdout') o.stdout = v;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.variants.length === 0) throw new Error('give at least one --variant NAME=DIR');
  return o;
}

/** Sequential 64-byte round trips on `sock`, each checked byte for byte. */
async function roundTrips(sock: Socket, n: number, start: number): Promise<void> {
  const msg = Buffer.alloc(64);
  let got = 0;
  let resolveOne: (() => void) | undefined;
  let expect = -1;
  const onData = (d: Buffer): void => {
    if (got === 0 && d.readInt32BE(0) !== expect) throw new Error('echo mismatch');
    got += d.length;
    if (got >= 64) resolveOne?.();
  };
  sock.on('data', onData);
  for (let i = start; i < start + n; i++) {
    msg.fill(i & 0xff);
    msg.writeInt32BE(i, 0);
    expect = i;
    got = 0;
    await new Promise<void>((r) => {
      resolveOne = r;
      sock.write(msg);
    });
  }
  sock.off('data', onData);
}

function totalIr(file: string): number {
  const m = /^totals:\s+(\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

/**
 * The instructions under libuv's `uv_run` (inclusive): the main thread's, without V8's compiler
 * and GC worker threads, whose share moves from run to run with when TurboFan's jobs land.
 */
function mainThreadIr(file: string): number | undefined {
  const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /^\s*([\d,]+)\s+\([^)]*\)\s+\S*:uv_run \[/m.exec(text);
  return m ? Number(m[1]!.replace(/,/g, '')) : undefined;
}

/** Reads the bulk source's stream through the tunnel to its end; returns the bytes. */
async function download(port: number): Promise<number> {
  const sock = await connectLocal(port, 120_000);
  return new Promise((resolve, reject) => {
    let n = 0;
    sock.on('data', (d: Buffer) => (n += d.length));
    sock.once('error', reject);
    sock.once('end', () => resolve(n));
  });
}

async function runOnce(v: Options['variants'][number], login: LoginSpec, ports: EndpointsReady['ports'], o: Options, work: string, run: number): Promise<number> {
  const echoPort = ports.echo;
  const [warmPort, mainPort] = await Promise.all([freePort(), freePort()]);
  const forwards = [
    { listenPort: warmPort, host: '127.0.0.1', port: echoPort },
    { listenPort: mainPort, host: '127.0.0.1', port: o.download > 0 ? ports.bulk : echoPort },
  ];
  // `--variant openssh`: ssh(1) under callgrind instead, for reference.
  const ssh = v.dir === '' ? tunnelCommand('openssh', login, forwards) : undefined;
  const base = ssh ?? tunnelCommand('pure', login, forwards);
  const out = join(work, `${v.name}-${run}.callgrind`);
  const args = [
    '--tool=callgrind',
    '--instr-atstart=no',
    `--callgrind-out-file=${out}`,
    ...(ssh
      ? [ssh.cmd, ...ssh.args]
      : [process.execPath, '--perf-basic-prof', ...v.nodeArgs, join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))]),
  ];
  const stdout = o.stdout === undefined ? 'ignore' : openSync(`${o.stdout}.${v.name}.${run}`, 'w');
  const child = spawn('valgrind', args, { stdio: ['ignore', stdout, 'pipe'], env: { ...base.env, XDG_CACHE_HOME: join(work, v.name) } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = child.pid!;
  try {
    // valgrind starts node slowly: wait for the listener before the bench's warm-up.
    (await connectLocal(warmPort, 180_000)).destroy();
    await echoExchange(warmPort, o.warmBytes);
    for (let i = 0; i < 3; i++) await echoExchange(warmPort, 64);
    if (o.download > 0) {
      // One download warms (`--download-warm N`: N of them), the next is counted.
      for (let i = 0; i < o.downloadWarm; i++) await download(mainPort);
      execFileSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
      const n = await download(mainPort);
      execFileSync('callgrind_control', ['-i', 'off', String(pid)], { stdio: 'ignore' });
      if (n !== o.download) throw new Error(`downloaded ${n} of ${o.download} bytes`);
    } else {
      const sock = await connectLocal(mainPort, 120_000);
      await roundTrips(sock, o.warm, 0);
      execFileSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
      await roundTrips(sock, o.count, o.warm);
      execFileSync('callgrind_control', ['-i', 'off', String(pid)], { stdio: 'ignore' });
      sock.destroy();
    }
  } catch (err) {
    process.stderr.write(stderr.slice(-2000));
    throw err;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
  const per = o.download > 0 ? o.download / 2 ** 20 : o.count;
  const unit = o.download > 0 ? 'MiB downloaded' : 'round trip';
  const ir = totalIr(out) / per;
  const main = ssh ? undefined : mainThreadIr(out);
  const mainNote = main === undefined ? '' : `, main thread (uv_run) ${(main / per).toFixed(0)}`;
  console.log(`${v.name} run ${run}: ${ir.toFixed(0)} Ir per ${unit}${mainNote} (${out})`);
  if (o.top > 0) for (const l of topFunctions(out, pid, o.top, per)) console.log(l);
  if (o.calls) for (const l of callCounts(out, pid, per)) console.log(l);
  return ir;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const set = ALGORITHM_SETS[0]!;
  const sshd = await startSshd({ config: BENCH_SSHD_CONFIG });
  const ep = fork(join(TOOL_DIR, '..', 'endpoints.js'), [JSON.stringify({ host: '127.0.0.1', bulkBytes: Math.max(1, o.download), smallBytes: 1 })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const work = o.out ?? mkdtempSync(join(tmpdir(), 'pure-ssh-cg-'));
  mkdirSync(work, { recursive: true });
  try {
    const ready = await new Promise<EndpointsReady>((res) => ep.on('message', (m: EndpointsReady) => m.kind === 'ready' && res(m)));
    const login: LoginSpec = loginOf(sshd, { cipher: o.cipher ?? set.cipher, kex: set.kex, hostKey: set.hostKey });
    const results = new Map<string, number[]>(o.variants.map((v) => [v.name, []]));
    for (let r = 0; r < o.runs; r++) {
      for (const v of o.variants) results.get(v.name)!.push(await runOnce(v, login, ready.ports, o, work, r));
    }
    const unit = o.download > 0 ? 'MiB downloaded' : 'round trip';
    for (const [name, irs] of results) console.log(`${name}: ${irs.map((x) => x.toFixed(0)).join(' ')} Ir per ${unit}`);
  } finally {
    ep.kill();
    await sshd.stop();
    if (o.out === undefined) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
