/**
 * Peak RSS of tunnel variants in the bench's `download` / `upload` scenario, measured alike and
 * interleaved (A B A B …), with a breakdown of the anonymous memory at the peak (issue 14):
 *
 * ```sh
 * npm run build && npx tsc -p bench/tsconfig.json
 * env -u NODE_EXTRA_CA_CERTS node dist-bench/bench/tools/rss-peak.js --runs 4 --size 268435456 \
 *   --scenario download --variant 'base=/path/to/checkout' --variant 'this=.|--single-threaded-gc|MALLOC_ARENA_MAX=2'
 * ```
 *
 * A variant is `NAME=DIR[|NODE FLAGS separated by spaces[|ENV=VALUE ...]]`; `openssh` runs ssh(1).
 * `--cipher NAME` pins another cipher than the bench's (`defaults`: none); the table also gives the
 * user part of the CPU.
 * Each variant gets its own XDG_CACHE_HOME (code caches), warmed by one unmeasured run. The
 * tunnel's /proc/PID/status is sampled every 10 ms during the transfer (as bench/proc-stats.ts
 * RssSampler, but twice as often); at each new peak of VmRSS /proc/PID/smaps is read, and the
 * last one is classified: glibc's main heap ([heap]), glibc's other arenas (anonymous rw-p
 * mappings on a 64 MiB boundary that, with the PROT_NONE rest above, span HEAP_MAX_SIZE),
 * WebAssembly memories (rw-p below a reservation of 1 GiB or more), thread stacks (rw-p right above a 4 KiB ---p
 * guard), executable anonymous mappings (V8's code), other anonymous mappings on a 256 KiB
 * boundary and a multiple of it (V8's heap pages), the rest (malloc's own mmap'd blocks, V8's
 * large and odd mappings), and anonymous pages inside file mappings (data/bss, relocations).
 * `--hash` makes the download's reader hash what it reads (sha256), as the bench's does: slower, so
 * that a backlog builds up in the tunnel. `--probe` loads ./rss-probe.js, whose V8 heap-space figures at the sample nearest the peak
 * are printed beside it (the probe itself allocates: leave it off for A/B figures).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { median, parseVariant, procStat, startPeers, warmUp, type Peers, type Variant } from './variant.js';
import { freePort } from '../../test/harness/net.js';
import { SEED } from '../config.js';
import { connectLocal, firstBytes } from '../scenarios.js';
import { tunnelCommand, TOOL_DIR } from '../tunnels.js';
import { writePattern } from '../data.js';
import { residentFilePages } from './rss-pages.js';

const MiB = 1024 * 1024;

interface Opts {
  runs: number;
  size: number;
  scenario: 'download' | 'upload' | 'startup';
  probe: boolean;
  smaps: boolean;
  /** Download: hash what is read (sha256), as the bench's reader does: a slower reader, a backlog in the tunnel. */
  hash: boolean;
  /** `--cipher NAME`: the cipher pinned for every variant (default: the bench's, ALGORITHM_SETS[0]); `defaults` pins none. */
  cipher?: string;
  variants: Variant[];
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { runs: 3, size: 256 * MiB, scenario: 'download', probe: false, smaps: true, hash: false, variants: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--probe') {
      o.probe = true;
      continue;
    }
    if (a === '--no-smaps') {
      o.smaps = false;
      continue;
    }
    if (a === '--hash') {
      o.hash = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--runs') o.runs = Number(v);
    else if (a === '--size') o.size = Number(v);
    else if (a === '--scenario') o.scenario = v as Opts['scenario'];
    else if (a === '--cipher') o.cipher = v;
    else if (a === '--variant') o.variants.push(parseVariant(v));
    else throw new Error(`unknown option ${a}`);
  }
  if (o.variants.length === 0) throw new Error('give at least one --variant');
  return o;
}

function status(pid: number): { total: number; anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/** CPU seconds of `pid`, user and system. */
function cpuSec(pid: number): number {
  const { user, sys } = procStat(pid);
  return user + sys;
}

/** User-mode CPU seconds of `pid` (utime alone). */
const userSec = (pid: number): number => procStat(pid).user;

interface Mapping {
  start: number;
  end: number;
  perms: string;
  path: string;
  rss: number;
  anon: number;
}

function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      cur = { start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, path: m[4]!, rss: 0, anon: 0 };
      out.push(cur);
      continue;
    }
    const f = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (f && cur) cur[f[1] === 'Rss' ? 'rss' : 'anon'] = Number(f[2]) * 1024;
  }
  return out;
}

/** Anonymous bytes at the peak, by class (see the module comment). */
export function classify(maps: Mapping[]): Record<string, number> {
  const c: Record<string, number> = {};
  const add = (k: string, n: number) => (c[k] = (c[k] ?? 0) + n);
  const ARENA = 64 * MiB;
  const PAGE = 256 * 1024;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (m.anon === 0) continue;
    const prev = maps[i - 1];
    const next = maps[i + 1];
    const size = m.end - m.start;
    if (m.path === '[heap]') add('glibc main arena [heap]', m.anon);
    else if (m.path === '[stack]') add('main thread stack', m.anon);
    else if (m.path !== '' && !m.path.startsWith('[anon')) add('anon pages in file mappings', m.anon);
    else if (m.perms.includes('x')) add('executable anon (V8 code)', m.anon);
    else if (m.perms.startsWith('rw') && next?.start === m.end && next.perms.startsWith('---') && next.end - next.start >= 1024 * MiB) {
      add('WebAssembly memories', m.anon);
      add('WebAssembly memories: count', 1);
    } else if (m.perms.startsWith('rw') && m.start % ARENA === 0 && (size === ARENA || (next?.start === m.end && next.perms.startsWith('---') && next.end - m.start === ARENA))) {
      add('glibc thread arenas', m.anon);
      add('glibc thread arenas: count', 1);
    } else if (m.perms.startsWith('rw') && prev && prev.end === m.start && prev.perms.startsWith('---') && prev.end - prev.start === 4096) {
      add('thread stacks', m.anon);
      add('thread stacks: count', 1);
    } else if (m.start % PAGE === 0 && size % PAGE === 0) add('anon 256K-aligned (V8 heap pages)', m.anon);
    else add('other anon (malloc mmap, V8 large/misc)', m.anon);
  }
  return c;
}

interface RunResult {
  peak: { total: number; anon: number; file: number };
  peakAt: number;
  /** ms from the transfer's start to the peak sample, and the transfer's length. */
  peakAfterMs: number;
  ms: number;
  cpuPerGiB: number;
  userPerGiB: number;
  mibs: number;
  classes?: Record<string, number>;
  probe?: Record<string, unknown>;
}

/** CPU seconds of all threads of `pid` (schedstat, ns). */
function threadsCpuSec(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ns / 1e9;
}

/**
 * The bench's `startup` measurement (bench/scenarios.ts startupTimed): spawn, poll-connect to the
 * forward to the server-first endpoint until its first byte; ms, and CPU of all threads then.
 */
async function startupOnce(v: Variant, peers: Peers): Promise<{ ms: number; cpu: number }> {
  const { login, ready, cacheDir } = peers;
  const port = await freePort();
  const base = tunnelCommand(v.dir ? 'pure' : 'openssh', login, [{ listenPort: port, host: '127.0.0.1', port: ready.ports.first }]);
  const args = v.dir ? [...v.nodeArgs, join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))] : base.args;
  const env: NodeJS.ProcessEnv = { ...base.env, XDG_CACHE_HOME: join(cacheDir, v.name), ...v.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const t0 = performance.now();
  const child = spawn(v.dir ? process.execPath : base.cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error('tunnel exited');
      const got = (await firstBytes(port)) !== undefined;
      if (got) return { ms: performance.now() - t0, cpu: threadsCpuSec(child.pid!) };
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

async function runOnce(v: Variant, opts: Opts, peers: Peers, size: number): Promise<RunResult> {
  const { login, ready, cacheDir } = peers;
  const [warmPort, mainPort] = await Promise.all([freePort(), freePort()]);
  const forwards = [
    { listenPort: warmPort, host: '127.0.0.1', port: ready.ports.echo },
    { listenPort: mainPort, host: '127.0.0.1', port: opts.scenario === 'download' ? ready.ports.bulk : ready.ports.sink },
  ];
  const base = tunnelCommand(v.dir ? 'pure' : 'openssh', login, forwards);
  const probeFile = join(cacheDir, `probe-${process.pid}-${Date.now()}.jsonl`);
  const probeArgs = opts.probe && v.dir ? ['--import', `${pathToFileURL(join(TOOL_DIR, 'rss-probe.js')).href}?out=${encodeURIComponent(probeFile)}`] : [];
  // RSS_PEAK_ARGS: more arguments for the tunnel (e.g. -vv to see the window's tuning).
  const extra = (process.env.RSS_PEAK_ARGS ?? '').split(' ').filter(Boolean);
  const args = v.dir ? [...v.nodeArgs, ...probeArgs, join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...extra, ...base.args.slice(base.args.indexOf('-N'))] : base.args;
  const env: NodeJS.ProcessEnv = { ...base.env, XDG_CACHE_HOME: join(cacheDir, v.name), ...v.env };
  delete env.NODE_EXTRA_CA_CERTS;
  // RSS_PEAK_GCLOG=DIR: the tunnel's stdout (where `--trace-gc` writes) appended to DIR/NAME.log.
  const gcLog = process.env.RSS_PEAK_GCLOG ? openSync(join(process.env.RSS_PEAK_GCLOG, `${v.name}.log`), 'a') : 'ignore';
  const child: ChildProcess = spawn(v.dir ? process.execPath : base.cmd, args, { stdio: ['ignore', gcLog, 'inherit'], env });
  if (typeof gcLog === 'number') closeSync(gcLog);
  const pid = child.pid!;
  try {
    await warmUp(warmPort);
    let peak = { total: 0, anon: 0, file: 0 };
    let peakAt = 0;
    let smaps = '';
    let samples = 0;
    const startedAt = Date.now();
    const timer = setInterval(() => {
      try {
        const s = status(pid);
        // RSS_PEAK_SERIES=N: every Nth sample, the classes of anonymous memory to stderr (time series).
        if (process.env.RSS_PEAK_SERIES && ++samples % Number(process.env.RSS_PEAK_SERIES) === 0) {
          const c = classify(parseSmaps(readFileSync(`/proc/${pid}/smaps`, 'latin1')));
          const g = (k: string) => ((c[k] ?? 0) / MiB).toFixed(1);
          process.stderr.write(`  t=${Date.now() - startedAt} at=${Date.now()} anon ${(s.anon / MiB).toFixed(1)} thread arenas ${g('glibc thread arenas')} main ${g('glibc main arena [heap]')} v8 ${g('anon 256K-aligned (V8 heap pages)')}\n`);
        }
        if (s.total > peak.total) {
          peak = s;
          peakAt = Date.now();
          if (opts.smaps) smaps = readFileSync(`/proc/${pid}/smaps`, 'latin1');
        }
      } catch {
        // exited
      }
    }, 10);
    const cpu0 = cpuSec(pid);
    const user0 = userSec(pid);
    const t0 = performance.now();
    const sock = await connectLocal(mainPort);
    if (opts.scenario === 'download') {
      let n = 0;
      await new Promise<void>((res, rej) => {
        const h = opts.hash ? createHash('sha256') : undefined;
        sock.on('data', (d: Buffer) => {
          n += d.length;
          h?.update(d);
        });
        sock.once('end', () => res());
        sock.once('error', rej);
      });
      if (n !== size) throw new Error(`received ${n} of ${size}`);
    } else {
      sock.resume();
      sock.on('error', () => {});
      const result = peers.nextSink();
      await writePattern(sock, size, SEED.upload);
      sock.end();
      const r = await result;
      if (r.bytes !== size) throw new Error(`sink got ${r.bytes} of ${size}`);
    }
    const ms = performance.now() - t0;
    const cpu = cpuSec(pid) - cpu0;
    const user = userSec(pid) - user0;
    // RSS_PEAK_PAGES=DIR: the node binary's resident pages now (file-backed RSS only grows), for ./rss-pages.ts.
    if (process.env.RSS_PEAK_PAGES && v.dir) {
      const bin = realpathSync(process.execPath);
      writeFileSync(join(process.env.RSS_PEAK_PAGES, `${v.name}-${Date.now()}.pages.json`), JSON.stringify({ path: bin, pages: residentFilePages(pid, bin) }));
    }
    clearInterval(timer);
    sock.destroy();
    const out: RunResult = { peak, peakAt, peakAfterMs: peakAt - startedAt, ms, cpuPerGiB: cpu / (size / (1024 * MiB)), userPerGiB: user / (size / (1024 * MiB)), mibs: size / MiB / (ms / 1000) };
    if (smaps) out.classes = classify(parseSmaps(smaps));
    // RSS_PEAK_DUMP=DIR keeps each run's smaps at the peak, for a closer look.
    if (smaps && process.env.RSS_PEAK_DUMP) writeFileSync(join(process.env.RSS_PEAK_DUMP, `${v.name}-${peakAt}.smaps`), smaps);
    if (process.env.RSS_PEAK_DUMP && existsSync(probeFile)) writeFileSync(join(process.env.RSS_PEAK_DUMP, `${v.name}-${peakAt}.probe.jsonl`), readFileSync(probeFile));
    if (opts.probe && existsSync(probeFile)) {
      let best: Record<string, unknown> | undefined;
      let bestD = Infinity;
      for (const line of readFileSync(probeFile, 'utf8').split('\n')) {
        if (!line) continue;
        const s = JSON.parse(line) as { t: number };
        const d = Math.abs(s.t - peakAt);
        if (d < bestD) {
          bestD = d;
          best = s;
        }
      }
      out.probe = best;
    }
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(probeFile, { force: true });
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const peers = await startPeers({ size: opts.size, cipher: opts.cipher, cacheName: 'pure-ssh-rss-' });
  try {
    if (opts.scenario === 'startup') {
      for (const v of opts.variants) await startupOnce(v, peers);
      const st = new Map<string, { ms: number; cpu: number }[]>(opts.variants.map((v) => [v.name, []]));
      for (let r = 0; r < opts.runs; r++) for (const v of opts.variants) st.get(v.name)!.push(await startupOnce(v, peers));
      console.log(`startup, ${opts.runs} runs interleaved; medians (min–max)`);
      console.log('variant | ms to first byte | CPU ms, all threads');
      for (const [name, rs] of st) {
        const col = (g: (r: { ms: number; cpu: number }) => number) =>
          `${median(rs.map(g)).toFixed(1)} (${Math.min(...rs.map(g)).toFixed(1)}–${Math.max(...rs.map(g)).toFixed(1)})`;
        console.log(`${name} | ${col((r) => r.ms)} | ${col((r) => r.cpu * 1000)}`);
      }
      return;
    }
    // One unmeasured run each: writes each variant's code cache, as the bench's earlier runs do.
    for (const v of opts.variants) await runOnce(v, { ...opts, probe: false, smaps: false }, peers, opts.size);
    const results = new Map<string, RunResult[]>(opts.variants.map((v) => [v.name, []]));
    for (let r = 0; r < opts.runs; r++) {
      for (const v of opts.variants) {
        const res = await runOnce(v, opts, peers, opts.size);
        results.get(v.name)!.push(res);
        const c = res.classes ?? {};
        process.stderr.write(
          `${v.name}: ${(res.peak.total / MiB).toFixed(1)} (anon ${(res.peak.anon / MiB).toFixed(1)}; thread arenas ${((c['glibc thread arenas'] ?? 0) / MiB).toFixed(1)}, ` +
            `main arena ${((c['glibc main arena [heap]'] ?? 0) / MiB).toFixed(1)}, wasm ${((c['WebAssembly memories'] ?? 0) / MiB).toFixed(1)}) at ${res.peakAfterMs.toFixed(0)} of ${res.ms.toFixed(0)} ms, ${res.mibs.toFixed(0)} MiB/s ${res.cpuPerGiB.toFixed(2)} s/GiB (user ${res.userPerGiB.toFixed(2)})\n`,
        );
      }
    }
    const f = (n: number) => (n / MiB).toFixed(1);
    console.log(`${opts.scenario}, ${opts.size / MiB} MiB, ${opts.runs} runs interleaved; medians (min–max)`);
    console.log('variant | peak RSS MiB | anon | file | anon − thread arenas | MiB/s | CPU s/GiB | user s/GiB');
    for (const [name, rs] of results) {
      const col = (g: (r: RunResult) => number, fmt: (n: number) => string) =>
        `${fmt(median(rs.map(g)))} (${fmt(Math.min(...rs.map(g)))}–${fmt(Math.max(...rs.map(g))) })`;
      console.log(
        [name, col((r) => r.peak.total, f), col((r) => r.peak.anon, f), col((r) => r.peak.file, f), col((r) => r.peak.anon - (r.classes?.['glibc thread arenas'] ?? 0), f), col((r) => r.mibs, (n) => n.toFixed(0)), col((r) => r.cpuPerGiB, (n) => n.toFixed(2)), col((r) => r.userPerGiB, (n) => n.toFixed(2))].join(' | '),
      );
    }
    if (opts.smaps) {
      console.log('\nanonymous RSS at the peak, MiB, by class (median over runs):');
      for (const [name, rs] of results) {
        const keys = [...new Set(rs.flatMap((r) => Object.keys(r.classes ?? {})))].sort();
        console.log(`${name}: ` + keys.map((k) => `${k} ${k.endsWith('count') ? median(rs.map((r) => r.classes?.[k] ?? 0)) : f(median(rs.map((r) => r.classes?.[k] ?? 0)))}`).join('; '));
      }
    }
    if (opts.probe) {
      console.log('\nV8 at the probe sample nearest the peak (committed / used MiB), per run:');
      for (const [name, rs] of results) {
        for (const r of rs) {
          const p = r.probe as { heapTotal: number; arrayBuffers: number; external: number; spaces: Record<string, [number, number]> } | undefined;
          if (!p) continue;
          const sp = Object.entries(p.spaces).filter(([, [c]]) => c > 0).map(([k, [c, u]]) => `${k} ${f(c)}/${f(u)}`).join(', ');
          console.log(`${name}: heapTotal ${f(p.heapTotal)}, arrayBuffers ${f(p.arrayBuffers)}, external ${f(p.external)}; ${sp}`);
        }
      }
    }
  } finally {
    await peers.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
