/**
 * `npm run bench -- --profile startup [--kex K]`: pure-ssh's CLI from spawn to the first
 * forwarded byte (the kex matrix's measurement) under `node --cpu-prof`.
 * `npm run bench -- --profile download|upload [--tool pure|ssh2] [--cipher C] [--mac M]
 * [--crypto runtime|pure]`: one bulk transfer through one Node tunnel process started with
 * `node --cpu-prof`, the same way the bench runs it (fresh sshd, warm-up, hash-verified data),
 * then the functions and files with the most self time. The .cpuprofile is kept for DevTools.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import { macAlgorithms } from '../src/mac/registry.js';
import { bulkContext } from './context.js';
import { ALGORITHM_SETS, TOOL_LABEL, type BenchOptions, type ProfileOptions } from './config.js';
import { KEX_DEFAULTS_ROW, kexRows, rowLogin, startKexServers } from './kex.js';
import { runOnce, startupTimed, type BenchContext } from './scenarios.js';
import { startDockerServer, startLocalServer } from './server.js';
import { parseNegotiated, REPO_ROOT } from './tunnels.js';

/** The parts of V8's .cpuprofile (the DevTools Profiler.Profile type) that are read here. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  timeDeltas: number[];
}

/** Self time of one function (or one file), in microseconds. */
export interface SelfTime {
  name: string;
  location: string;
  us: number;
}

/** `dist/…:line` for our files, `node_modules/…` for dependencies, `node:…` for Node's own. */
function location(url: string, line: number): string {
  if (!url) return '(native)';
  let path = url.startsWith('file://') ? relative(REPO_ROOT, fileURLToPath(url)) : url;
  const nm = path.lastIndexOf('node_modules/');
  if (nm > 0) path = path.slice(nm);
  return line >= 0 ? `${path}:${line + 1}` : path;
}

/**
 * Self time per function and per file from a profile, counted in samples times the median
 * sampling interval. DevTools instead lets each sample last until the next one, which on a
 * shared machine charges the time the process sat descheduled (gaps of tens of ms) to
 * whatever it happened to be running; counting samples approximates CPU time. `(idle)` is
 * the event loop waiting for I/O. `gapUs` is the wall time in intervals over 5× the median.
 */
export function selfTimes(profile: CpuProfile): { functions: SelfTime[]; files: SelfTime[]; totalUs: number; idleUs: number; gapUs: number; intervalUs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fn = new Map<string, SelfTime>();
  const file = new Map<string, SelfTime>();
  const sorted = [...profile.timeDeltas].sort((a, b) => a - b);
  const intervalUs = sorted[sorted.length >> 1] ?? 1000;
  const gapUs = profile.timeDeltas.filter((d) => d > 5 * intervalUs).reduce((a, b) => a + b, 0);
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = intervalUs;
    const frame = byId.get(profile.samples[i]);
    if (!frame) continue;
    totalUs += us;
    const name = frame.functionName || '(anonymous)';
    if (name === '(idle)') idleUs += us;
    const loc = name.startsWith('(') ? '' : location(frame.url, frame.lineNumber);
    const key = `${name}\u0000${loc}`;
    const f = fn.get(key) ?? { name, location: loc, us: 0 };
    f.us += us;
    fn.set(key, f);
    // V8's pseudo-frames ((garbage collector), (idle), (program)) stand alone; C++ builtins
    // without a script (a socket's writeBuffer) go together.
    const fileName = frame.url ? location(frame.url, -1) : name.startsWith('(') ? name : '(native functions)';
    const g = file.get(fileName) ?? { name: fileName, location: '', us: 0 };
    g.us += us;
    file.set(fileName, g);
  }
  const bySelf = (m: Map<string, SelfTime>) => [...m.values()].sort((a, b) => b.us - a.us);
  return { functions: bySelf(fn), files: bySelf(file), totalUs, idleUs, gapUs, intervalUs };
}

function table(items: SelfTime[], busyUs: number, withLocation: boolean): string[] {
  return items.map((f, i) => {
    const share = f.name === '(idle)' ? '   idle' : `${((f.us / busyUs) * 100).toFixed(1).padStart(6)}%`;
    const where = withLocation && f.location ? `  ${f.location}` : '';
    return `${String(i + 1).padStart(3)}. ${(f.us / 1000).toFixed(0).padStart(7)} ms ${share}  ${f.name}${where}`;
  });
}

/** `chacha20-poly1305` → `chacha20-poly1305@openssh.com`, as `--ciphers` accepts it too. */
function fullName(name: string | undefined, registry: ReadonlyMap<string, unknown>): string | undefined {
  if (name === undefined || registry.has(name)) return name;
  return [...registry.keys()].find((k) => k.split('@')[0] === name) ?? name;
}

/**
 * `--profile startup [--kex K]`: pure-ssh's CLI under `node --cpu-prof` from spawn to the first
 * forwarded byte, as the kex matrix runs it (sshd 9.2 pinned to K; without `--kex`, the
 * defaults against OpenSSH 10), then stopped. Where the time goes shows by file: src/kex/ and
 * src/crypto/ (BigInt DH, sntrup761), node_modules/@noble/ (curves, ML-KEM), node:internal
 * module loading, `(program)` and `(garbage collector)`.
 */
async function profileStartup(opts: BenchOptions, p: ProfileOptions): Promise<void> {
  const notes: string[] = [];
  const plan = await kexRows([p.kex ?? KEX_DEFAULTS_ROW]);
  const { servers, rows } = await startKexServers(plan.rows.slice(0, 1), notes);
  const row = rows[0];
  if (!row) throw new Error(notes.join('; ') || 'no row to profile');
  const server = servers[row.server]!;
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-bench-prof-'));
  const { ctx, stop } = await bulkContext(server, opts, 1024 * 1024);
  try {
    const c: BenchContext = { ...ctx, login: rowLogin(ctx.login, server, row), spawnExtras: { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] } };
    const what = `pure-ssh CLI, spawn to first forwarded byte, ${row.kex ? `-o KexAlgorithms=${row.kex}` : 'defaults'} against ${server.description}`;
    process.stderr.write(`bench: profiling ${what}\n`);
    const r = await startupTimed(c, 'pure');
    const kex = parseNegotiated('pure', r.stderr).kex;
    if (kex !== row.expect) throw new Error(`negotiated ${kex ?? '(none read)'}, not ${row.expect}`);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
    const profile = JSON.parse(await readFile(join(dir, files[0]), 'utf8')) as CpuProfile;
    const outDir = resolve(REPO_ROOT, opts.outDir);
    await mkdir(outDir, { recursive: true });
    const kept = join(outDir, `profile-startup-${row.key.split('@')[0]}.cpuprofile`);
    await copyFile(join(dir, files[0]), kept);
    const t = selfTimes(profile);
    const busy = t.totalUs - t.idleUs;
    const lines = [
      `# CPU profile: ${what}`,
      '',
      `negotiated: ${kex}; first byte after ${r.firstByteMs.toFixed(0)} ms, ${(r.cpuSeconds * 1000).toFixed(0)} ms CPU (the profile also covers the shutdown after it)`,
      `whole process: ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s wall from node's start of profiling; ` +
        `from ${profile.samples.length} samples at ${(t.intervalUs / 1000).toFixed(2)} ms: ${(busy / 1e6).toFixed(2)} s busy, ${(t.idleUs / 1e6).toFixed(2)} s idle; ` +
        `${(t.gapUs / 1e6).toFixed(2)} s in sampling gaps (descheduled: the machine is shared)`,
      '',
      `top ${p.top} functions by self time (share of busy time):`,
      ...table(t.functions.slice(0, p.top), busy, true),
      '',
      'self time by file:',
      ...table(t.files.slice(0, 15), busy, false),
      '',
      `profile: ${relative(process.cwd(), kept)} (open in Chrome DevTools, Performance tab, or VS Code)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    stop();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the profiled transfer and prints the report on stdout. Exit status 1 if the run failed. */
export async function profileMain(opts: BenchOptions, options: ProfileOptions): Promise<void> {
  if (options.scenario === 'startup') return profileStartup(opts, options);
  const p = { ...options, cipher: fullName(options.cipher, cipherAlgorithms), mac: fullName(options.mac, macAlgorithms) };
  const server = opts.docker ? await startDockerServer() : await startLocalServer();
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-bench-prof-'));
  const { ctx, stop } = await bulkContext(server, opts, p.size);
  try {
    const pinned = ALGORITHM_SETS[0];
    const c: BenchContext = {
      ...ctx,
      login: { ...ctx.login, ...(p.tool === 'pure' ? { crypto: p.crypto } : {}), verbose: true },
      spawnExtras: { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
    };
    const what = `${p.scenario} of ${(p.size / 1024 ** 2).toFixed(0)} MiB through ${TOOL_LABEL[p.tool]}` +
      (p.tool === 'pure' ? ` (${p.crypto} crypto)` : '') +
      `, ${p.cipher ? `-c ${p.cipher}` : 'default cipher'}${p.mac ? ` -m ${p.mac}` : ''}`;
    process.stderr.write(`bench: profiling ${what}\n`);
    const r = await runOnce(c, p.scenario, p.tool, 0, { cipher: p.cipher, mac: p.mac, kex: pinned.kex, hostKey: pinned.hostKey });
    if (!r.ok) {
      process.stderr.write(`bench: the profiled run failed: ${r.error}\n`);
      process.exitCode = 1;
      return;
    }
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
    const profile = JSON.parse(await readFile(join(dir, files[0]), 'utf8')) as CpuProfile;
    const t = selfTimes(profile);
    const busy = t.totalUs - t.idleUs;
    const outDir = resolve(REPO_ROOT, opts.outDir);
    await mkdir(outDir, { recursive: true });
    const kept = join(outDir, `profile-${p.scenario}-${p.tool}${p.tool === 'pure' ? `-${p.crypto}` : ''}-${(p.cipher ?? 'defaults').split('@')[0]}.cpuprofile`);
    await copyFile(join(dir, files[0]), kept);
    const n = r.negotiated ?? {};
    const lines = [
      `# CPU profile: ${what}`,
      '',
      `negotiated: ${n.cipher ?? '?'}${n.mac && n.mac !== '<implicit>' ? ` + ${n.mac}` : ''}${n.provider ? `, crypto provider ${n.provider}` : ''}`,
      `run: ${r.metrics.throughput.toFixed(1)} MiB/s, client CPU ${r.metrics.cpuPerGiB.toFixed(2)} s/GiB, peak RSS ${r.metrics.peakRss.toFixed(0)} MiB (sha256 verified)`,
      `whole process (start-up, login and warm-up included): ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s wall; ` +
        `from ${profile.samples.length} samples at ${(t.intervalUs / 1000).toFixed(2)} ms: ${(busy / 1e6).toFixed(2)} s busy, ${(t.idleUs / 1e6).toFixed(2)} s idle; ` +
        `${(t.gapUs / 1e6).toFixed(2)} s in sampling gaps (descheduled: the machine is shared)`,
      '',
      `top ${p.top} functions by self time (share of busy time):`,
      ...table(t.functions.slice(0, p.top), busy, true),
      '',
      'self time by file:',
      ...table(t.files.slice(0, 10), busy, false),
      '',
      `profile: ${relative(process.cwd(), kept)} (open in Chrome DevTools, Performance tab, or VS Code)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
