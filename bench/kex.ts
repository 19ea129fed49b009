/**
 * The key-exchange matrix: handshake latency per kex method, from start to the first forwarded
 * byte, pure-ssh (its CLI, and `connect()` in a fresh process) against OpenSSH's `ssh` pinned to
 * the same method, in one interleaved run. Every method Debian's sshd 9.2 offers runs against
 * it with its own `ssh`; against OpenSSH 10's sshd, pure-ssh's defaults (no pinning: it picks
 * mlkem768x25519-sha256) run against OpenSSH 10's `ssh` defaults, plus both pinned to
 * mlkem768x25519-sha256. See bench/README.md "Kex matrix".
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { kexMethods } from '../src/kex/registry.js';
import { inCI, openssh10Available, OPENSSH10_BUILD_SCRIPT, type OpenSshRelease } from '../test/harness/sshd.js';
import { ALGORITHM_SETS, BENCH_SSHD_CONFIG, type KexMatrixOptions, type LoginSpec, type TunnelAlgorithms } from './config.js';
import { cell, statsOf, type ToolStats } from './report.js';
import { inprocStartup, startupTimed, type BenchContext, type RunResult } from './scenarios.js';
import { startLocalServer, type BenchServer } from './server.js';
import { parseNegotiated, pureVariant } from './tunnels.js';

const execFileP = promisify(execFile);

/** The columns: pure-ssh's CLI, pure-ssh's library in a fresh process, OpenSSH's `ssh`. */
export const KEX_CLIENTS = ['pure-cli', 'pure-lib', 'openssh'] as const;
/** One of {@link KEX_CLIENTS}. */
export type KexClient = (typeof KEX_CLIENTS)[number];

/** Column headings. */
export const KEX_CLIENT_LABEL: Record<KexClient, string> = {
  'pure-cli': 'pure-ssh CLI',
  'pure-lib': 'pure-ssh connect()',
  openssh: 'OpenSSH ssh',
};

/** The key of the row where neither client is pinned (against OpenSSH 10). */
export const KEX_DEFAULTS_ROW = 'defaults';

/** A row: one server and the kex method both clients are pinned to, or both clients' defaults. */
export interface KexRow {
  /** The method name, or {@link KEX_DEFAULTS_ROW}; with `server` it identifies the row. */
  key: string;
  server: OpenSshRelease;
  /** Pinned with `-o KexAlgorithms=` (and `algorithms.kex`); undefined: nobody is pinned. */
  kex?: string;
  /** What every client must negotiate, checked from its own account of the handshake. */
  expect: string;
  /** The goal for pure-ssh / OpenSSH of the medians (time: lower is better). */
  goal: number;
}

/** One run of the matrix; `metrics.firstByteMs`, and `cpuMs` for the two CLIs. */
export interface KexRunResult extends RunResult {
  row: string;
  server: OpenSshRelease;
  client: KexClient;
  /** The method the client said it negotiated. */
  negotiatedKex?: string;
}

/** Goals (issue 10): every method ≤ 1.5× OpenSSH; the defaults (mlkem) ≤ 1.2× OpenSSH 10's. */
const GOAL_METHOD = 1.5;
const GOAL_DEFAULTS = 1.2;
/** The method OpenSSH 10 and pure-ssh both prefer. */
const MLKEM = 'mlkem768x25519-sha256';
const SERVER_LABEL: Record<OpenSshRelease, string> = { system: 'sshd 9.2', '10': 'sshd 10.0' };

/** KexAlgorithms of Debian's sshd with a stock configuration (`sshd -T`). */
async function systemSshdKex(): Promise<string[]> {
  const { stdout } = await execFileP('/usr/sbin/sshd', ['-T', '-f', '/dev/null']);
  const line = /^kexalgorithms (\S+)$/m.exec(stdout);
  if (!line) throw new Error('sshd -T printed no kexalgorithms line');
  return line[1].split(',');
}

/** What the system's `ssh -Q kex` lists: the methods sshd 9.2 can be configured to offer. */
async function systemSupportedKex(): Promise<string[]> {
  const { stdout } = await execFileP('ssh', ['-Q', 'kex']);
  return stdout.trim().split('\n');
}

/**
 * The rows to run. By default: the defaults row and mlkem768x25519-sha256 against OpenSSH 10,
 * then every method a stock sshd 9.2 offers that pure-ssh's registry has (src/kex/registry.ts).
 * `selection` (`--kex`) picks rows by full name, the part before `@`, or `defaults`; it may also
 * name a method sshd 9.2 supports but does not offer by default (the legacy SHA-1 ones), which
 * its sshd is then configured to offer. Throws on a name that is neither.
 */
export async function kexRows(selection: string[]): Promise<{ rows: KexRow[]; notes: string[] }> {
  const notes: string[] = [];
  const offered = await systemSshdKex();
  const supported = await systemSupportedKex();
  const all: KexRow[] = [
    { key: KEX_DEFAULTS_ROW, server: '10', expect: MLKEM, goal: GOAL_DEFAULTS },
    { key: MLKEM, server: '10', kex: MLKEM, expect: MLKEM, goal: GOAL_METHOD },
  ];
  for (const name of offered) {
    if (kexMethods.has(name)) all.push({ key: name, server: 'system', kex: name, expect: name, goal: GOAL_METHOD });
    else notes.push(`${name}: offered by sshd 9.2 but not in pure-ssh's registry (src/kex/registry.ts), left out`);
  }
  if (selection.length === 0) return { rows: all, notes };
  const rows: KexRow[] = [];
  for (const item of selection) {
    const exact = all.filter((r) => r.key === item);
    const byShort = exact.length ? exact : all.filter((r) => r.key.split('@')[0] === item);
    if (byShort.length) {
      for (const r of byShort) if (!rows.includes(r)) rows.push(r);
      continue;
    }
    const legacy = supported.find((n) => (n === item || n.split('@')[0] === item) && kexMethods.has(n));
    if (!legacy) {
      throw new Error(
        `--kex: ${item} is neither a row (${all.map((r) => r.key).join(', ')}) nor a method both sshd 9.2 (ssh -Q kex) and pure-ssh support`,
      );
    }
    rows.push({ key: legacy, server: 'system', kex: legacy, expect: legacy, goal: GOAL_METHOD });
    notes.push(`${legacy}: not offered by a stock sshd 9.2; the bench's sshd is configured to offer it`);
  }
  return { rows, notes };
}

/** Servers for the rows: sshd 9.2 offering exactly the pinned methods, OpenSSH 10 as it ships. */
export interface KexServers {
  system?: BenchServer & { ssh: string };
  '10'?: BenchServer & { ssh: string };
  stop(): Promise<void>;
}

/**
 * Starts the servers `rows` need. The OpenSSH 10 build (scripts/build-openssh.sh) missing drops
 * its rows with a note, except under CI=true, where it throws (a missing peer fails, never skips).
 */
export async function startKexServers(rows: KexRow[], notes: string[]): Promise<{ servers: KexServers; rows: KexRow[] }> {
  const servers: KexServers = { async stop() {} };
  const stops: Array<() => Promise<void>> = [];
  servers.stop = async () => {
    for (const s of stops.splice(0)) await s();
  };
  let kept = rows;
  try {
    const systemKex = rows.filter((r) => r.server === 'system').map((r) => r.kex!);
    if (systemKex.length) {
      // Only the measured methods, so nothing else can be picked by accident.
      servers.system = await startLocalServer({ config: { ...BENCH_SSHD_CONFIG, KexAlgorithms: systemKex.join(',') } });
      stops.push(() => servers.system!.stop());
    }
    if (rows.some((r) => r.server === '10')) {
      if (!openssh10Available() && !inCI()) {
        notes.push(`OpenSSH 10 rows skipped: no OpenSSH 10 build (run ${OPENSSH10_BUILD_SCRIPT})`);
        kept = rows.filter((r) => r.server !== '10');
      } else {
        // OpenSSH 10 as it ships: its default kex, ciphers and host key algorithms; INFO only.
        servers['10'] = await startLocalServer({ openssh: '10', config: { LogLevel: 'INFO' } });
        stops.push(() => servers['10']!.stop());
      }
    }
  } catch (err) {
    await servers.stop();
    throw err;
  }
  return { servers, rows: kept };
}

/** How a client logs in for a row: the server's key, known_hosts and matching `ssh`. */
export function rowLogin(base: LoginSpec, server: BenchServer & { ssh: string }, row: KexRow): LoginSpec {
  const pinned = ALGORITHM_SETS[0];
  // Pinned rows keep the scenarios' cipher and host key algorithm; the defaults row pins nothing.
  const algorithms: TunnelAlgorithms = row.kex ? { cipher: pinned.cipher, kex: row.kex, hostKey: pinned.hostKey } : {};
  return {
    ...base,
    host: server.host,
    port: server.port,
    user: server.user,
    keyPath: server.keyPath,
    knownHostsPath: server.knownHostsPath,
    ssh: server.ssh,
    algorithms,
    crypto: 'runtime',
    verbose: true,
  };
}

/** Runs one (row, client) once. Never throws: a failure or a wrong method is a FAILED run. */
async function runKexOnce(ctx: BenchContext, server: BenchServer & { ssh: string }, row: KexRow, client: KexClient, rep: number): Promise<KexRunResult> {
  const c: BenchContext = { ...ctx, login: rowLogin(ctx.login, server, row) };
  const base = {
    scenario: client === 'pure-lib' ? ('startup-lib' as const) : ('startup' as const),
    tool: client === 'openssh' ? ('openssh' as const) : ('pure' as const),
    cipher: c.login.algorithms.cipher ?? 'defaults',
    rep,
    row: row.key,
    server: row.server,
    client,
  };
  try {
    let metrics: Record<string, number>;
    let negotiatedKex: string | undefined;
    if (client === 'pure-lib') {
      const r = await inprocStartup(c, 'pure');
      metrics = { firstByteMs: r.ms };
      negotiatedKex = r.kex;
    } else {
      const tool = client === 'openssh' ? 'openssh' : 'pure';
      const r = await startupTimed(c, tool);
      metrics = { firstByteMs: r.firstByteMs, cpuMs: r.cpuSeconds * 1000 };
      negotiatedKex = parseNegotiated(tool, r.stderr).kex;
    }
    if (negotiatedKex !== row.expect) {
      return { ...base, ok: false, error: `FAILED: negotiated ${negotiatedKex ?? '(none read)'}, not ${row.expect}`, metrics: {}, negotiatedKex };
    }
    return { ...base, ok: true, metrics, negotiatedKex };
  } catch (err) {
    return { ...base, ok: false, error: (err as Error).message, metrics: {} };
  }
}

/**
 * Runs the matrix: per repetition every (row, client) once, in turn, so drift on the shared
 * machine hits all of them alike. `ctx` supplies the endpoints (its login is replaced per row).
 */
export async function runKexMatrix(
  ctx: BenchContext,
  servers: KexServers,
  rows: KexRow[],
  options: KexMatrixOptions,
  onRun: (r: KexRunResult) => void,
): Promise<KexRunResult[]> {
  const runs: KexRunResult[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    for (const row of rows) {
      const server = servers[row.server]!;
      for (const client of KEX_CLIENTS) {
        const r = await runKexOnce(ctx, server, row, client, rep);
        runs.push(r);
        onRun(r);
      }
    }
  }
  return runs;
}

/** A row's results: each client's first-byte time and the CLIs' CPU, with the two ratios. */
export interface KexSummaryRow {
  row: string;
  server: OpenSshRelease;
  kex?: string;
  expect: string;
  goal: number;
  firstByteMs: Partial<Record<KexClient, ToolStats>>;
  cpuMs: Partial<Record<KexClient, ToolStats>>;
  /** pure-ssh CLI / OpenSSH ssh, of the medians. */
  cliRatio?: number;
  /** pure-ssh connect() / OpenSSH ssh, of the medians. */
  libRatio?: number;
}

/** Medians, ranges and ratios per row. */
export function summarizeKex(runs: KexRunResult[], rows: KexRow[]): KexSummaryRow[] {
  return rows.map((row) => {
    const mine = runs.filter((r) => r.row === row.key && r.server === row.server);
    const s: KexSummaryRow = { row: row.key, server: row.server, kex: row.kex, expect: row.expect, goal: row.goal, firstByteMs: {}, cpuMs: {} };
    for (const client of KEX_CLIENTS) {
      const t = mine.filter((r) => r.client === client);
      const first = statsOf(t, 'firstByteMs');
      if (first) s.firstByteMs[client] = first;
      if (client !== 'pure-lib') {
        const cpu = statsOf(t, 'cpuMs');
        if (cpu) s.cpuMs[client] = cpu;
      }
    }
    const ratio = (c: KexClient): number | undefined => {
      const a = s.firstByteMs[c];
      const b = s.firstByteMs.openssh;
      return a?.values.length && b?.values.length ? a.median / b.median : undefined;
    };
    s.cliRatio = ratio('pure-cli');
    s.libRatio = ratio('pure-lib');
    return s;
  });
}

function ratioCell(r: number | undefined, goal: number): string {
  if (r === undefined || !Number.isFinite(r)) return '–';
  return `${r.toFixed(2)}× (${r <= goal ? 'met' : '**not met**'})`;
}

/** CPU ms in whole ticks: median (min–max). */
function cpuCell(s: ToolStats | undefined): string {
  if (!s?.values.length) return cell(s);
  return `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
}

function rowName(s: KexSummaryRow): string {
  return s.kex ? `\`${s.kex}\`` : `defaults (both negotiate \`${s.expect}\`)`;
}

/** The markdown report of the matrix (a whole file: bench/results/kex.md). */
export function kexMarkdown(summary: KexSummaryRow[], header: string[], how: string[]): string {
  const out: string[] = ['# pure-ssh key exchange benchmark', '', ...header.map((h) => `- ${h}`), ''];
  out.push(...how.map((h) => `- ${h}`), '');
  out.push(
    'Handshake latency: ms from start to the first forwarded byte; cells: median (min–max). ' +
      `Ratios: pure-ssh / OpenSSH ssh of the medians; goal ≤ ${GOAL_METHOD}× per method, ≤ ${GOAL_DEFAULTS}× for the defaults row.`,
    '',
  );
  const head = ['server', 'kex', 'pure-ssh CLI', 'OpenSSH ssh', 'CLI / ssh', 'pure-ssh connect()', 'connect() / ssh', 'goal'];
  out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const s of summary) {
    out.push(
      `| ${[
        SERVER_LABEL[s.server],
        rowName(s),
        cell(s.firstByteMs['pure-cli']),
        cell(s.firstByteMs.openssh),
        ratioCell(s.cliRatio, s.goal),
        cell(s.firstByteMs['pure-lib']),
        ratioCell(s.libRatio, s.goal),
        `≤ ${s.goal}×`,
      ].join(' | ')} |`,
    );
  }
  out.push(
    '',
    '### Client CPU until the first byte',
    '',
    'utime + stime of the tunnel process (/proc, 10 ms ticks) when the first byte arrived: ' +
      'what the handshake cost the client in CPU, less sensitive than wall time to the machine being shared.',
    '',
    '| server | kex | pure-ssh CLI (ms CPU) | OpenSSH ssh (ms CPU) | pure / OpenSSH |',
    '|---|---|---|---|---|',
  );
  for (const s of summary) {
    const a = s.cpuMs['pure-cli'];
    const b = s.cpuMs.openssh;
    // A one-tick denominator would make the ratio mean nothing: only from 2 ticks up.
    const r = a?.values.length && b?.values.length && b.median >= 20 ? `${(a.median / b.median).toFixed(1)}×` : '– (OpenSSH ≤ 1 tick)';
    out.push(`| ${SERVER_LABEL[s.server]} | ${rowName(s)} | ${cpuCell(a)} | ${cpuCell(b)} | ${r} |`);
  }
  const failures = summary.flatMap((s) =>
    Object.entries(s.firstByteMs).flatMap(([c, st]) =>
      st.errors.length ? [`- ${SERVER_LABEL[s.server]} ${s.row} / ${KEX_CLIENT_LABEL[c as KexClient]}: ${st.errors.join('; ')}`] : [],
    ),
  );
  if (failures.length) out.push('', '## Failed runs', '', ...failures);
  return out.join('\n') + '\n';
}

/** How the clients ran, for the report. */
export function kexHow(reps: number): string[] {
  const pinned = ALGORITHM_SETS[0];
  return [
    `${reps} repetitions; per repetition every (row, client) once, in turn, against the same two sshd processes (sshd 9.2 offering exactly the measured methods; OpenSSH 10 with its stock algorithms)`,
    `pinned rows: both clients get \`-o KexAlgorithms=K -c ${pinned.cipher} -o HostKeyAlgorithms=${pinned.hostKey}\` (\`connect()\`: \`algorithms\`); ` +
      'the defaults row: no algorithm options at all (what a user gets)',
    `pure-ssh CLI: ${pureVariant() === 'cli' ? '`node dist/node/cli-bin.cjs -N -L …` (the bin: one bundled file, V8 code cache)' : 'the library stand-in (CLI not built)'}, runtime crypto provider; ` +
      'OpenSSH: `ssh -N -L …` of the server\'s release (Debian\'s 9.2 against sshd 9.2, OpenSSH 10\'s own against sshd 10); ' +
      'CLI times run from spawn to the first byte of a server-first endpoint through the tunnel (Node start and module loading included for pure-ssh)',
    'pure-ssh connect(): a fresh Node process with pure-ssh already imported times `connect()` + `openDirectTcpip()` to the first byte (the `startup-lib` scenario); OpenSSH has no library form, so its ratio is to the ssh process',
    'every run checks the negotiated method (`-v` of both CLIs, `info.negotiated.kex` of connect()): a run that negotiated anything else is FAILED',
  ];
}
