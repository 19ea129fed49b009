/**
 * `npm run bench`: pure-ssh's `-L` tunnel against OpenSSH's and the ssh2 package's, through the
 * same sshd, interleaved run by run. See bench/README.md.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { bulkContext } from './context.js';
import {
  ALGORITHM_SETS,
  TOOL_LABEL,
  parseOptions,
  type BenchOptions,
  type KexMatrixOptions,
  type RunTool,
  type Scenario,
  type Tool,
} from './config.js';
import { CLIENT_LABEL, clientsFor, matrixProgramNote, matrixRows, MATRIX_CLIENTS, runMatrix, type MatrixRow, type MatrixRunResult } from './matrix.js';
import { KEX_CLIENT_LABEL, KEX_CLIENTS, kexHow, kexMarkdown, kexRows, runKexMatrix, startKexServers, summarizeKex, type KexRunResult } from './kex.js';
import { preparePgbench, type PgbenchServer } from './pgbench.js';
import { profileMain } from './profile.js';
import { markdown, matrixMarkdown, matrixSvg, matrixTargets, stackSvgs, summarize, summarizeMatrix, svg, type Environment } from './report.js';
import { appliesTo, METRICS, runOnce, type BenchContext, type RunResult } from './scenarios.js';
import { startDockerServer, startLocalServer, type BenchServer } from './server.js';
import { pureVariant, REPO_ROOT } from './tunnels.js';

const execFileP = promisify(execFile);
const require = createRequire(import.meta.url);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function cpuModel(): Promise<string> {
  const text = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

async function environment(opts: object, serverDescription: string, extraVersions: Record<string, string> = {}): Promise<Environment> {
  const ssh = await execFileP('ssh', ['-V']).catch((e: { stderr?: string }) => e);
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const ssh2Pkg = JSON.parse(await readFile(require.resolve('ssh2/package.json'), 'utf8')) as { version: string };
  const gitRev = await execFileP('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']).then((r) => r.stdout.trim(), () => '?');
  let ssh2Crypto = 'unknown';
  try {
    ssh2Crypto = (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable
      ? 'native binding (OpenSSL)'
      : 'pure JS fallback';
  } catch {
    // layout changed
  }
  return {
    date: new Date().toISOString(),
    cpu: await cpuModel(),
    cores: cpus().length,
    os: `Linux ${release()}`,
    versions: {
      node: process.version,
      openssh: (ssh.stderr ?? '').trim(),
      ssh2: ssh2Pkg.version,
      'pure-ssh': `${pkg.version} (git ${gitRev})`,
      ...extraVersions,
    },
    pureProgram: pureVariant() === 'cli' ? 'dist/node/cli-bin.cjs (the CLI, as its bin runs it: one bundled file, V8 code cache)' : 'bench/tools/pure-forward.ts (library stand-in; CLI not built)',
    ssh2Crypto,
    server: serverDescription,
    options: opts as Record<string, unknown>,
  };
}

function progress(r: RunResult, reps: number): string {
  const head = `[${r.cipher.split('@')[0]} ${r.scenario} ${r.rep + 1}/${reps}] ${TOOL_LABEL[r.tool].padEnd(11)}`;
  return `${head} ${progressTail(r)}`;
}

function matrixProgress(r: MatrixRunResult, reps: number): string {
  const row = r.row.replace(/@openssh\.com/g, '');
  return `[matrix ${r.scenario} ${r.rep + 1}/${reps}] ${row.padEnd(30)} ${CLIENT_LABEL[r.client].padEnd(18)} ${progressTail(r)}`;
}

function progressTail(r: RunResult): string {
  if (!r.ok) return `${r.error?.startsWith('FAILED') ? '' : 'FAILED: '}${r.error}`;
  const parts = Object.entries(METRICS[r.scenario]).map(([k, info]) => {
    const v = r.metrics[k];
    return `${k} ${Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(2)) : '–'} ${info.unit}`;
  });
  return parts.join(', ');
}

/**
 * The tools a scenario runs with in repetition `rep`, in interleaving order. pgbench adds the
 * direct (no tunnel) reference; `--quick` runs that only in the first repetition, as it is a
 * reference rather than a contestant and a pgbench run is seconds of the quick budget.
 */
function runTools(scenario: Scenario, tools: Tool[], rep: number, quick: boolean): RunTool[] {
  const direct = scenario === 'pgbench' && (!quick || rep === 0);
  const all: RunTool[] = direct ? [...tools, 'direct'] : tools;
  return all.filter((t) => appliesTo(scenario, t));
}

/**
 * Starts PostgreSQL for the pgbench scenario, once for the whole bench. Resolves with the
 * server, or with a reason the scenario cannot run: a `note` to skip it, an `error` to record
 * every tool's runs as FAILED (CI without PostgreSQL, initdb or pgbench -i failing).
 */
async function pgbenchServer(opts: BenchOptions): Promise<{ server?: PgbenchServer; note?: string; error?: string }> {
  const t0 = Date.now();
  log(`bench: pgbench: starting PostgreSQL and pgbench -i -s ${opts.pgbench.scale}`);
  try {
    const setup = await preparePgbench(opts.pgbench);
    if (setup.kind === 'skip') return { note: setup.note };
    log(`bench: pgbench: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${setup.server.description}`);
    return { server: setup.server };
  } catch (err) {
    return { error: `FAILED: ${(err as Error).message}` };
  }
}

/** The classic scenarios (every ALGORITHM_SETS entry × `opts.only` × tools), interleaved. */
async function runClassic(
  ctx: BenchContext,
  opts: BenchOptions,
  runs: RunResult[],
  notes: string[],
  cleanup: Array<() => Promise<void> | void>,
): Promise<void> {
  let pg: Awaited<ReturnType<typeof pgbenchServer>> | undefined;
  for (const algs of ALGORITHM_SETS) {
    const tools = opts.tools.filter((t) => algs.tools.includes(t));
    for (const scenario of opts.only) {
      if (scenario === 'pgbench') {
        if (!pg) {
          pg = await pgbenchServer(opts);
          const server = pg.server;
          if (server) {
            cleanup.push(() => server.stop());
            notes.push(`pgbench: ${server.description}`);
          } else if (pg.note) {
            log(`bench: ${pg.note}`);
            notes.push(pg.note);
          }
        }
        if (pg.note) continue;
        if (pg.error) {
          for (const tool of runTools(scenario, tools, 0, opts.quick)) {
            const r: RunResult = { scenario, tool, cipher: algs.cipher, rep: 0, ok: false, error: pg.error, metrics: {} };
            runs.push(r);
            log(progress(r, opts.reps));
          }
          continue;
        }
        ctx.pg = pg.server;
      }
      for (let rep = 0; rep < opts.reps; rep++) {
        // Interleaved (A B C A B C ...) so that drift on a shared machine hits every tool alike.
        for (const tool of runTools(scenario, tools, rep, opts.quick)) {
          const r = await runOnce(ctx, scenario, tool, rep, algs);
          runs.push(r);
          log(progress(r, opts.reps));
        }
      }
    }
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.profile) return profileMain(opts, opts.profile);
  if (opts.only.length || opts.matrix) await benchMain(opts);
  if (opts.kexMatrix) {
    if (opts.docker) {
      log('bench: kex matrix skipped with --docker (it runs against the local sshd 9.2 and the OpenSSH 10 build)');
      if (!opts.only.length && !opts.matrix) process.exitCode = 2;
    } else {
      await kexMain(opts, opts.kexMatrix);
    }
  }
}

/** Writes `files` (name → text) into the output directory, each with a timestamped copy. */
async function writeResults(opts: BenchOptions, date: string, files: Record<string, string>, stampedPrefix: string): Promise<void> {
  const outDir = resolve(REPO_ROOT, opts.outDir);
  await mkdir(outDir, { recursive: true });
  const stamp = date.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(outDir, name), text);
    const dot = name.lastIndexOf('.');
    await copyFile(join(outDir, name), join(outDir, `${stampedPrefix}${stamp}${name.slice(dot)}`));
  }
  log(`bench: wrote ${Object.keys(files).map((f) => join(opts.outDir, f)).join(', ')} (+ timestamped copies)`);
}

function kexProgress(r: KexRunResult, reps: number): string {
  const head = `[kex ${r.rep + 1}/${reps}] ${r.server === '10' ? 'sshd 10 ' : 'sshd 9.2'} ${r.row.padEnd(38)} ${KEX_CLIENT_LABEL[r.client].padEnd(18)}`;
  if (!r.ok) return `${head} ${r.error?.startsWith('FAILED') ? '' : 'FAILED: '}${r.error}`;
  const cpu = Number.isFinite(r.metrics.cpuMs) ? `, CPU ${r.metrics.cpuMs.toFixed(0)} ms` : '';
  return `${head} ${r.metrics.firstByteMs.toFixed(1)} ms${cpu}`;
}

/**
 * The kex matrix (bench/kex.ts) on its own servers (sshd 9.2 offering the measured methods,
 * OpenSSH 10 as it ships) and endpoints; writes bench/results/kex.md and kex.json.
 */
async function kexMain(opts: BenchOptions, k: KexMatrixOptions): Promise<void> {
  let plan: Awaited<ReturnType<typeof kexRows>>;
  try {
    plan = await kexRows(k.methods);
  } catch (err) {
    log(`bench: ${(err as Error).message}`);
    process.exit(2);
  }
  const notes = [...plan.notes];
  const { servers, rows } = await startKexServers(plan.rows, notes);
  const cleanup: Array<() => Promise<void> | void> = [() => servers.stop()];
  const onSignal = async () => {
    for (const c of [...cleanup].reverse()) await c();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const n of notes) log(`bench: kex matrix: ${n}`);
    log(`bench: kex matrix: ${rows.length} rows × ${KEX_CLIENTS.length} clients, ${k.reps} reps; pure-ssh runs as ${pureVariant()}`);
    const any = servers.system ?? servers['10'];
    if (!any) throw new Error('kex matrix: no rows to run');
    const described = [servers.system, servers['10']].filter((s) => s).map((s) => s!.description).join('; ');
    const ssh10 = servers['10'] ? await execFileP(servers['10'].ssh, ['-V']).catch((e: { stderr?: string }) => e) : undefined;
    const env = await environment(opts, described, ssh10 ? { 'openssh 10 client': (ssh10.stderr ?? '').trim() } : {});
    const { ctx, stop } = await bulkContext(any, opts, 1024 * 1024);
    cleanup.push(stop);
    const started = Date.now();
    const runs = await runKexMatrix(ctx, servers, rows, k, (r) => log(kexProgress(r, k.reps)));
    stop();
    log(`bench: kex matrix done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const summary = summarizeKex(runs, rows);
    const header = [
      `date: ${env.date}`,
      `machine: ${env.cpu}, ${env.cores} cores, ${env.os}`,
      `versions: ${Object.entries(env.versions).map(([name, v]) => `${name} ${v}`).join(', ')}`,
      `servers: ${env.server}`,
      ...notes,
    ];
    const md = kexMarkdown(summary, header, kexHow(k.reps));
    const json = { environment: env, options: k, rows, notes, summary, runs };
    await writeResults(opts, env.date, { 'kex.md': md, 'kex.json': JSON.stringify(json, null, 2) + '\n' }, 'results-kex-');
    process.stdout.write(md);
    if (runs.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    for (const c of [...cleanup].reverse()) await c();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The classic scenarios and the cipher matrix against one server; writes results.*. */
async function benchMain(opts: BenchOptions): Promise<void> {
  let matrixPlan: { rows: MatrixRow[]; notes: string[] } | undefined;
  if (opts.matrix) {
    try {
      matrixPlan = matrixRows(opts.matrix.ciphers);
    } catch (err) {
      log(`bench: ${(err as Error).message}`);
      process.exit(2);
    }
  }
  const m = opts.matrix;
  log(
    `bench: ${opts.quick ? 'quick, ' : ''}tools ${opts.tools.join(',')}` +
      (opts.only.length ? `; scenarios ${opts.only.join(',')}, ${opts.reps} reps, bulk ${opts.size} bytes` : '') +
      (m && matrixPlan
        ? `; cipher matrix ${m.scenarios.join(',')}, ${m.reps} reps, ${m.size} bytes, ${matrixPlan.rows.reduce((n, r) => n + clientsFor(r, opts.tools).length, 0)} variants`
        : ''),
  );
  log(`bench: pure-ssh runs as ${pureVariant()}`);
  let server: BenchServer;
  try {
    server = opts.docker ? await startDockerServer() : await startLocalServer();
  } catch (err) {
    // --docker without an engine: say what is missing; never measure the local sshd instead.
    if (!opts.docker) throw err;
    log(`bench: ${(err as Error).message}`);
    process.exit(2);
  }
  const cleanup: Array<() => Promise<void> | void> = [() => server.stop()];
  const onSignal = async () => {
    for (const c of [...cleanup].reverse()) await c();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`bench: sshd ${server.description}`);
    const env = await environment(opts, server.description);
    const runs: RunResult[] = [];
    const notes: string[] = [];
    const started = Date.now();
    if (opts.only.length) {
      const { ctx, stop } = await bulkContext(server, opts, opts.size);
      cleanup.push(stop);
      await runClassic(ctx, opts, runs, notes, cleanup);
      stop();
    }
    let matrixRuns: MatrixRunResult[] = [];
    if (m && matrixPlan) {
      for (const n of matrixPlan.notes) log(`bench: matrix: ${n}`);
      const { ctx, stop } = await bulkContext(server, opts, m.size);
      cleanup.push(stop);
      matrixRuns = await runMatrix(ctx, m, matrixPlan.rows, opts.tools, (r) => log(matrixProgress(r, m.reps)));
      stop();
    }
    log(`bench: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const rows = summarize(runs, opts.tools, opts.conns);
    let md = markdown(rows, env, opts.tools, notes);
    const svgs = rows.length ? [svg(rows, env, opts.tools)] : [];
    const json: Record<string, unknown> = { environment: env, notes, summary: rows, runs };
    if (m && matrixPlan) {
      const clients = MATRIX_CLIENTS.filter((c) => matrixPlan!.rows.some((r) => clientsFor(r, opts.tools).includes(c)));
      const summary = summarizeMatrix(matrixRuns, matrixPlan.rows);
      const targets = matrixTargets(summary);
      const how = [
        `${(m.size / 1024 ** 2).toFixed(0)} MiB per transfer, ${m.reps} repetitions; per scenario and repetition every variant once, in turn; ` +
          `cells: median (min–max) over the repetitions; ratios: each client / OpenSSH ssh with the same cipher and MAC (defaults row: OpenSSH's defaults)`,
        `${matrixProgramNote()}; OpenSSH \`ssh -c C -m M\`; ssh2 \`algorithms.cipher/hmac\`; kex and host key pinned as above for every tool`,
        'every tunnel runs verbosely (ssh -v, pure-ssh -v, ssh2 debug hook): a run whose negotiated cipher, MAC or pure-ssh crypto provider is not the variant\'s is FAILED',
        ...matrixPlan.notes,
      ];
      md += matrixMarkdown(summary, targets, clients, how);
      svgs.push(matrixSvg(summary, env, clients));
      json.matrix = { options: m, rows: matrixPlan.rows, notes: matrixPlan.notes, targets, summary, runs: matrixRuns };
    }
    await writeResults(opts, env.date, {
      'results.json': JSON.stringify(json, null, 2) + '\n',
      'results.md': md,
      'results.svg': stackSvgs(svgs),
    }, 'results-');
    process.stdout.write(md);
    if (runs.some((r) => !r.ok) || matrixRuns.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    for (const c of [...cleanup].reverse()) await c();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err) => {
  log(`bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
