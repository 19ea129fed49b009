/**
 * `npm run bench`: pure-ssh's `-L` tunnel against OpenSSH's and the ssh2 package's, through the
 * same sshd, interleaved run by run. See bench/README.md.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { patternSha256 } from './data.js';
import {
  ALGORITHM_SETS,
  SEED,
  TOOL_LABEL,
  parseOptions,
  type EndpointConfig,
  type BenchOptions,
  type EndpointsReady,
  type RunTool,
  type Scenario,
  type SinkResult,
  type Tool,
} from './config.js';
import { preparePgbench, type PgbenchServer } from './pgbench.js';
import { markdown, summarize, svg, type Environment } from './report.js';
import { appliesTo, METRICS, runOnce, type BenchContext, type RunResult } from './scenarios.js';
import { startDockerServer, startLocalServer, type BenchServer } from './server.js';
import { pureVariant, REPO_ROOT, TOOL_DIR } from './tunnels.js';

const execFileP = promisify(execFile);
const require = createRequire(import.meta.url);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function cpuModel(): Promise<string> {
  const text = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

async function environment(opts: object, server: BenchServer): Promise<Environment> {
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
    },
    pureProgram: pureVariant() === 'cli' ? 'dist/node/cli.js (the CLI)' : 'bench/tools/pure-forward.ts (library stand-in; CLI not built)',
    ssh2Crypto,
    server: server.description,
    options: opts as Record<string, unknown>,
  };
}

interface Endpoints {
  child: ChildProcess;
  ready: EndpointsReady;
  results: SinkResult[];
  waiters: Array<() => void>;
}

async function startEndpoints(config: EndpointConfig): Promise<Endpoints> {
  const child = fork(join(TOOL_DIR, '..', 'endpoints.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ep: Partial<Endpoints> & { results: SinkResult[]; waiters: Array<() => void> } = { child, results: [], waiters: [] };
  ep.ready = await new Promise<EndpointsReady>((resolve, reject) => {
    child.on('message', (m: EndpointsReady | SinkResult) => {
      if (m.kind === 'ready') resolve(m);
      else {
        ep.results.push(m);
        for (const w of ep.waiters.splice(0)) w();
      }
    });
    child.once('exit', (code) => reject(new Error(`data endpoints exited (${code})`)));
  });
  return ep as Endpoints;
}

function progress(r: RunResult, reps: number): string {
  const head = `[${r.cipher.split('@')[0]} ${r.scenario} ${r.rep + 1}/${reps}] ${TOOL_LABEL[r.tool].padEnd(11)}`;
  if (!r.ok) return `${head} ${r.error?.startsWith('FAILED') ? '' : 'FAILED: '}${r.error}`;
  const parts = Object.entries(METRICS[r.scenario]).map(([k, info]) => {
    const v = r.metrics[k];
    return `${k} ${Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(2)) : '–'} ${info.unit}`;
  });
  return `${head} ${parts.join(', ')}`;
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
    const setup = await preparePgbench(opts.pgbench, opts.docker);
    if (setup.kind === 'skip') return { note: setup.note };
    log(`bench: pgbench: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${setup.server.description}`);
    return { server: setup.server };
  } catch (err) {
    return { error: `FAILED: ${(err as Error).message}` };
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  log(`bench: ${opts.quick ? 'quick, ' : ''}${opts.reps} reps, bulk ${opts.size} bytes, scenarios ${opts.only.join(',')}, tools ${opts.tools.join(',')}`);
  log(`bench: pure-ssh runs as ${pureVariant()}`);
  const server = opts.docker ? await startDockerServer() : await startLocalServer();
  const cleanup: Array<() => Promise<void> | void> = [() => server.stop()];
  const onSignal = async () => {
    for (const c of [...cleanup].reverse()) await c();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`bench: sshd ${server.description}`);
    const ep = await startEndpoints({ host: server.endpointListen, bulkBytes: opts.size, smallBytes: opts.concurrentSize });
    cleanup.push(() => {
      ep.child.kill();
    });
    const uploadSha256 = patternSha256(opts.size, SEED.upload);
    const ctx: BenchContext = {
      opts,
      login: {
        host: server.host,
        port: server.port,
        user: server.user,
        keyPath: server.keyPath,
        knownHostsPath: server.knownHostsPath,
        algorithms: ALGORITHM_SETS[0],
      },
      endpointHost: server.endpointHost,
      endpoints: ep.ready,
      uploadSha256,
      sinkCount: () => ep.results.length,
      sinkResult: (index) =>
        new Promise((res) => {
          const check = () => {
            if (ep.results.length > index) res(ep.results[index]);
            else ep.waiters.push(check);
          };
          check();
        }),
    };
    const env = await environment(opts, server);
    const runs: RunResult[] = [];
    const notes: string[] = [];
    const started = Date.now();
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
    log(`bench: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const rows = summarize(runs, opts.tools, opts.conns);
    const md = markdown(rows, env, opts.tools, notes);
    const outDir = resolve(REPO_ROOT, opts.outDir);
    await mkdir(outDir, { recursive: true });
    const stamp = env.date.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const files = {
      'results.json': JSON.stringify({ environment: env, notes, summary: rows, runs }, null, 2) + '\n',
      'results.md': md,
      'results.svg': svg(rows, env, opts.tools),
    };
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(outDir, name), text);
      await copyFile(join(outDir, name), join(outDir, name.replace('results.', `results-${stamp}.`)));
    }
    process.stdout.write(md);
    log(`bench: wrote ${Object.keys(files).map((f) => join(opts.outDir, f)).join(', ')} (+ timestamped copies)`);
    if (runs.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    for (const c of [...cleanup].reverse()) await c();
  }
}

main().catch((err) => {
  log(`bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
