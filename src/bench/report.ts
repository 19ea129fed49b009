/**
 * The report of `pure-ssh-bench`: runs grouped into rows with medians and ranges per client
 * (src/bench/stats.ts), pure-ssh / OpenSSH ratios, and the three outputs: tables a person reads,
 * JSON, and an SVG chart (src/bench/svg.ts). Runtime-agnostic.
 */
import { cell, statsOf, type MeasuredRun, type ToolStats } from './stats.js';
import { barChart, type BarGroup } from './svg.js';

/** The two clients. */
export type BenchTool = 'pure' | 'openssh';

export const BENCH_TOOL_LABEL: Record<BenchTool, string> = { pure: 'pure-ssh', openssh: 'OpenSSH ssh' };

/** What a run measures. */
export type BenchMetric = 'handshake' | 'upload' | 'download' | 'echo' | 'rtt';

/** How a metric reads. */
export interface BenchMetricInfo {
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

export const BENCH_METRICS: Record<BenchMetric, BenchMetricInfo> = {
  handshake: { label: 'connect to authenticated', unit: 'ms', better: 'lower' },
  upload: { label: 'upload (written into the channel)', unit: 'MiB/s', better: 'higher' },
  download: { label: 'download (read from the channel)', unit: 'MiB/s', better: 'higher' },
  echo: { label: 'echo (each way at once)', unit: 'MiB/s', better: 'higher' },
  rtt: { label: 'round trip, 64 bytes (median of the run)', unit: 'ms', better: 'lower' },
};

/** One timed run. `metrics[metric]` holds its figure when `ok`. */
export interface BenchRun extends MeasuredRun {
  section: 'handshake' | 'data';
  /** The row's key (see plan.ts). */
  row: string;
  tool: BenchTool;
  metric: BenchMetric;
  rep: number;
}

/** A row of the report: one metric of one handshake or data row, per client. */
export interface BenchResultRow {
  row: string;
  kex?: string;
  hostKey?: string;
  cipher?: string;
  /** Undefined for AEAD ciphers (their MAC is built in). */
  mac?: string;
  metric: BenchMetric;
  unit: string;
  better: 'higher' | 'lower';
  pure?: ToolStats;
  openssh?: ToolStats;
  /**
   * pure-ssh's median / OpenSSH's (higher-is-better metrics: above 1 is pure-ssh ahead); null when
   * a side has no successful run; absent without an OpenSSH side.
   */
  ratio?: number | null;
}

/** Everything a report holds (the JSON output is this object). */
export interface BenchReport {
  tool: 'pure-ssh-bench';
  version: string;
  /** When the run started (ISO 8601). */
  date: string;
  destination: { host: string; port: number; user: string };
  server: { version: string };
  /** `loop`: through a remote forward on the server's loopback; `target`: to an echo service. */
  mode: 'loop' | 'target';
  target?: string;
  clients: { pure: string; openssh?: string };
  machine: { cpu: string; cores: number; os: string; runtime: string };
  options: { quick: boolean; size: number; reps: number; roundTrips: number; timeLimit: number };
  handshake: BenchResultRow[];
  data: BenchResultRow[];
  notes: string[];
  /** Runs that failed (listed per row in `errors` of the stats). */
  failedRuns: number;
  elapsedSeconds: number;
}

/** The row descriptions the summary needs. */
export interface RowInfo {
  key: string;
  kex?: string;
  hostKey?: string;
  cipher?: string;
  mac?: string;
}

/** Groups runs into report rows, in `rows` order then metric order. */
export function summarizeBench(runs: readonly BenchRun[], rows: readonly RowInfo[], section: 'handshake' | 'data'): BenchResultRow[] {
  const out: BenchResultRow[] = [];
  for (const r of rows) {
    for (const metric of Object.keys(BENCH_METRICS) as BenchMetric[]) {
      const mine = runs.filter((x) => x.section === section && x.row === r.key && x.metric === metric);
      if (mine.length === 0) continue;
      const info = BENCH_METRICS[metric];
      const row: BenchResultRow = {
        row: r.key,
        ...(r.kex ? { kex: r.kex } : {}),
        ...(r.hostKey ? { hostKey: r.hostKey } : {}),
        ...(r.cipher ? { cipher: r.cipher } : {}),
        ...(r.mac ? { mac: r.mac } : {}),
        metric,
        unit: info.unit,
        better: info.better,
      };
      const pure = statsOf(mine.filter((x) => x.tool === 'pure'), metric);
      const openssh = statsOf(mine.filter((x) => x.tool === 'openssh'), metric);
      if (pure) row.pure = pure;
      if (openssh) row.openssh = openssh;
      if (pure && openssh) row.ratio = pure.values.length && openssh.values.length ? pure.median / openssh.median : null;
      out.push(row);
    }
  }
  return out;
}

function ratioText(r: BenchResultRow): string {
  if (r.ratio === undefined || r.ratio === null) return '–';
  const text = r.ratio.toFixed(2);
  // Ahead only as far as the figure shows: 0.9995 reads 1.00, even.
  const ahead = text !== '1.00' && (r.better === 'higher' ? r.ratio > 1 : r.ratio < 1);
  return `${text}×${ahead ? ' (pure-ssh ahead)' : ''}`;
}

function table(head: string[], lines: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)];
}

/** The report as markdown tables, for a person. */
export function renderBenchTable(rep: BenchReport): string {
  const out: string[] = [];
  const d = rep.destination;
  out.push(`# pure-ssh-bench: ${d.user}@${d.host} port ${d.port}`, '');
  out.push(`- started: ${rep.date}; took ${rep.elapsedSeconds.toFixed(0)} s`);
  out.push(`- server: ${rep.server.version}`);
  out.push(`- clients: pure-ssh ${rep.clients.pure}${rep.clients.openssh ? `; ${rep.clients.openssh}` : '; no OpenSSH side'}`);
  out.push(`- machine: ${rep.machine.cpu}, ${rep.machine.cores} cores, ${rep.machine.os}, ${rep.machine.runtime}`);
  const o = rep.options;
  out.push(`- runs: ${o.reps} per row and client, interleaved${o.quick ? ' (--quick)' : ''}; transfers of ${o.size} bytes; ${o.roundTrips} round trips per latency run`);
  out.push(
    rep.mode === 'loop'
      ? '- data path: loop through the server (a direct-tcpip channel to a remote forward on its loopback, so every byte crosses the connection both ways)'
      : `- data path: direct-tcpip channels to the echo service ${rep.target}`,
  );
  for (const n of rep.notes) out.push(`- ${n}`);
  const withSsh = rep.clients.openssh !== undefined;
  out.push('', `Cells: median (min–max) over the runs.${withSsh ? ' pure / OpenSSH is the ratio of the medians.' : ''}`);
  const tools: BenchTool[] = withSsh ? ['pure', 'openssh'] : ['pure'];
  if (rep.handshake.length) {
    out.push('', '## Handshake: connect to authenticated (ms, lower is better)', '');
    const head = ['kex', 'host key', ...tools.map((t) => BENCH_TOOL_LABEL[t]), ...(withSsh ? ['pure / OpenSSH'] : [])];
    out.push(...table(head, rep.handshake.map((r) => [r.kex!, r.hostKey!, ...tools.map((t) => cell(r[t])), ...(withSsh ? [ratioText(r)] : [])])));
  }
  if (rep.data.length) {
    out.push('', '## Data path through channels', '');
    const head = ['cipher', 'MAC', 'metric', 'unit', ...tools.map((t) => BENCH_TOOL_LABEL[t]), ...(withSsh ? ['pure / OpenSSH'] : [])];
    out.push(
      ...table(
        head,
        rep.data.map((r) => [
          r.cipher!,
          r.mac ?? 'implicit (AEAD)',
          BENCH_METRICS[r.metric].label,
          `${r.unit} ${r.better === 'higher' ? '↑' : '↓'}`,
          ...tools.map((t) => cell(r[t])),
          ...(withSsh ? [ratioText(r)] : []),
        ]),
      ),
    );
  }
  const failures = [...rep.handshake, ...rep.data].flatMap((r) =>
    tools.flatMap((t) => (r[t]?.errors.length ? [`- ${r.row} / ${BENCH_METRICS[r.metric].label} / ${BENCH_TOOL_LABEL[t]}: ${r[t]!.errors.join('; ')}`] : [])),
  );
  if (failures.length) out.push('', '## Failed runs', '', ...new Set(failures));
  return out.join('\n') + '\n';
}

/** The report as JSON (the {@link BenchReport} object, 2-space indented). */
export function renderBenchJson(rep: BenchReport): string {
  return JSON.stringify(rep, null, 2) + '\n';
}

const COLORS: Record<BenchTool, string> = { pure: '#d9480f', openssh: '#1971c2' };

/** The chart: one group per report row, each client's median relative to OpenSSH's. */
export function renderBenchSvg(rep: BenchReport): string {
  const tools: BenchTool[] = rep.clients.openssh ? ['pure', 'openssh'] : ['pure'];
  const groups = [...rep.handshake, ...rep.data].map((r): BarGroup => {
    const ref = r.openssh?.values.length ? r.openssh : r.pure;
    const bars = tools
      .filter((t) => r[t])
      .map((t) => ({ name: BENCH_TOOL_LABEL[t], color: COLORS[t], stats: r[t]!, rel: ref?.values.length && r[t]!.values.length ? r[t]!.median / ref.median : Number.NaN }));
    const what = r.metric === 'handshake' ? `${r.kex!.split('@')[0]} / ${r.hostKey}` : `${BENCH_METRICS[r.metric].label.split(' (')[0]} ${r.cipher!.split('@')[0]}${r.mac ? ` + ${r.mac.split('@')[0]}` : ''}`;
    const refName = ref === r.openssh ? 'OpenSSH' : 'pure-ssh';
    const kind = r.metric === 'handshake' ? 'handshake, ' : '';
    return { label: what, sub: `${kind}${r.unit}, ${r.better === 'higher' ? '↑ higher' : '↓ lower'} is better, vs ${refName}`, unit: r.unit, bars };
  });
  const d = rep.destination;
  return barChart(
    `pure-ssh-bench: ${d.user}@${d.host}:${d.port} (${rep.server.version})`,
    groups,
    tools.map((t) => ({ name: BENCH_TOOL_LABEL[t], color: COLORS[t], width: 130 })),
    `${rep.date} · ${rep.machine.cpu}, ${rep.machine.cores} cores · medians of ${rep.options.reps} runs; dashed line = OpenSSH (1.0)`,
  );
}
