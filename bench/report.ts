/**
 * Turning runs into results: medians and ranges per tool, ratios to OpenSSH, and the three
 * outputs (a markdown table, JSON, a hand-written SVG bar chart). The generic parts (stats, cells,
 * the bar chart) live in src/bench/, shared with the `pure-ssh-bench` command.
 */
import { TOOL_LABEL, type MatrixScenario, type RunTool, type Scenario, type Tool } from './config.js';
import {
  CLIENT_LABEL,
  DEFAULTS_ROW,
  MATRIX_CLIENTS,
  MATRIX_TARGETS,
  type MatrixClient,
  type MatrixRow,
  type MatrixRunResult,
} from './matrix.js';
import { METRICS, type MetricInfo, type RunResult } from './scenarios.js';
import type { Negotiated } from './tunnels.js';
import { cell, fmt, statsOf, type ToolStats } from '../src/bench/stats.js';
import { barChart, stackSvgs, type BarGroup } from '../src/bench/svg.js';

export { cell, statsOf, stackSvgs, type ToolStats };

/** One row of the results: a metric of a scenario for one cipher. */
export interface SummaryRow {
  cipher: string;
  scenario: Scenario;
  metric: string;
  info: MetricInfo;
  tools: Partial<Record<Tool, ToolStats>>;
  /** pure / OpenSSH of the medians (direction in `info.better`). */
  ratioVsOpenssh?: number;
  /** pure / ssh2 of the medians. */
  ratioVsSsh2?: number;
  /** The same metric without a tunnel (pgbench only), for what the tunnels cost. */
  direct?: ToolStats;
}

function toolStats(runs: RunResult[], tool: RunTool, metric: string): ToolStats | undefined {
  return statsOf(runs.filter((r) => r.tool === tool), metric);
}

/** Groups runs by cipher, scenario, metric and tool; `n` replaces the N in metric labels. */
export function summarize(runs: RunResult[], tools: Tool[], n: number): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const ciphers = [...new Set(runs.map((r) => r.cipher))];
  for (const cipher of ciphers) {
    for (const scenario of Object.keys(METRICS) as Scenario[]) {
      const mine = runs.filter((r) => r.cipher === cipher && r.scenario === scenario);
      if (mine.length === 0) continue;
      for (const [metric, info] of Object.entries(METRICS[scenario])) {
        const label = info.label.replace(/\bN\b/, String(n));
        const row: SummaryRow = { cipher, scenario, metric, info: { ...info, label }, tools: {} };
        for (const tool of tools) {
          const stats = toolStats(mine, tool, metric);
          if (stats) row.tools[tool] = stats;
        }
        const direct = toolStats(mine, 'direct', metric);
        if (direct) row.direct = direct;
        const pure = row.tools.pure;
        if (pure && row.tools.openssh && !pure.failed) row.ratioVsOpenssh = pure.median / row.tools.openssh.median;
        if (pure && row.tools.ssh2 && !pure.failed) row.ratioVsSsh2 = pure.median / row.tools.ssh2.median;
        rows.push(row);
      }
    }
  }
  return rows;
}

function ratio(r: number | undefined, info?: MetricInfo): string {
  if (r === undefined || !Number.isFinite(r)) return info?.goal === undefined ? '–' : `– (goal ${goalText(info)})`;
  if (info?.goal === undefined) return `${r.toFixed(2)}×`;
  const met = info.better === 'higher' ? r >= info.goal : r <= info.goal;
  return `${r.toFixed(2)}× (goal ${goalText(info)}: ${met ? 'met' : '**not met**'})`;
}

/** Whether pure-ssh's median keeps the metric's absolute limit ({@link MetricInfo.limit}), as a cell suffix. */
function limitText(r: SummaryRow): string {
  const limit = r.info.limit;
  const pure = r.tools.pure;
  if (limit === undefined || !pure || pure.failed) return '';
  const met = r.info.better === 'higher' ? pure.median >= limit : pure.median <= limit;
  return ` (pure-ssh goal ${r.info.better === 'higher' ? '≥' : '≤'} ${limit} ${r.info.unit}: ${met ? 'met' : '**not met**'})`;
}

function goalText(info: MetricInfo): string {
  return `${info.better === 'higher' ? '≥' : '≤'} ${info.goal!.toFixed(2)}×`;
}

/** Environment recorded with the results. */
export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  os: string;
  versions: Record<string, string>;
  pureProgram: string;
  ssh2Crypto: string;
  server: string;
  options: Record<string, unknown>;
}

/**
 * The markdown report: environment, then one table per cipher, each followed by the direct
 * (no tunnel) reference where a scenario has one; `notes` (skipped scenarios, scenario setup)
 * go under the environment.
 */
export function markdown(rows: SummaryRow[], env: Environment, tools: Tool[], notes: string[] = []): string {
  const out: string[] = [];
  out.push(`# pure-ssh benchmark`, '');
  out.push(`- date: ${env.date}`);
  out.push(`- machine: ${env.cpu}, ${env.cores} cores, ${env.os}`);
  out.push(`- versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`- pure-ssh program: ${env.pureProgram}; ssh2 crypto: ${env.ssh2Crypto}; server: ${env.server}`);
  out.push(`- options: ${JSON.stringify(env.options)}`);
  for (const n of notes) out.push(`- ${n}`);
  out.push(
    '',
    'Cells: median (min–max) over the repetitions. Ratios are pure-ssh / other on the medians;',
    'the "better" column says which direction wins (throughput: higher is better; times, CPU, memory: lower is better).',
    'The machine is shared: absolute numbers are noise, the ratios from one interleaved run are what matter.',
  );
  if (rows.some((r) => r.metric === 'peakRssAnon')) {
    out.push(
      '',
      'Peak RSS is split as /proc/PID/status counts the same peak sample: anonymous (RssAnon: the V8 heap, malloc arenas,',
      'thread stacks: what the process allocated) and file-backed (RssFile + RssShmem: pages of the node or ssh binary',
      'and its libraries, which a bare `node` process touches too). The ≤ 64 MiB goal is on the total.',
    );
  }
  for (const cipher of [...new Set(rows.map((r) => r.cipher))]) {
    out.push('', `## ${cipher}`, '');
    const head = ['scenario', 'metric', 'unit', 'better', ...tools.map((t) => TOOL_LABEL[t])];
    if (tools.includes('pure') && tools.includes('openssh')) head.push('pure / OpenSSH');
    if (tools.includes('pure') && tools.includes('ssh2')) head.push('pure / ssh2');
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rows.filter((x) => x.cipher === cipher)) {
      const line = [r.scenario, r.info.label, r.info.unit, r.info.better === 'higher' ? '↑ higher' : '↓ lower', ...tools.map((t) => cell(r.tools[t]))];
      if (tools.includes('pure') && tools.includes('openssh')) line.push(ratio(r.ratioVsOpenssh, r.info) + limitText(r));
      if (tools.includes('pure') && tools.includes('ssh2')) line.push(ratio(r.ratioVsSsh2));
      out.push(`| ${line.join(' | ')} |`);
    }
    const withDirect = rows.filter((x) => x.cipher === cipher && x.direct);
    if (withDirect.length) {
      out.push('', 'Reference without a tunnel (same runs, straight to the server), and each tunnel as a fraction of it:', '');
      for (const r of withDirect) {
        const d = r.direct!;
        const frac = tools
          .filter((t) => r.tools[t]?.values.length && d.values.length)
          .map((t) => `${TOOL_LABEL[t]} ${(r.tools[t]!.median / d.median).toFixed(2)}×`);
        out.push(`- ${r.scenario} / ${r.info.label}: ${TOOL_LABEL.direct} ${cell(d)} ${r.info.unit}${frac.length ? `; ${frac.join(', ')}` : ''}`);
      }
    }
  }
  const failures = rows.flatMap((r) =>
    Object.entries({ ...r.tools, ...(r.direct ? { direct: r.direct } : {}) }).flatMap(([t, s]) =>
      s.errors.length ? [`- ${r.scenario} / ${TOOL_LABEL[t as RunTool]}: ${s.errors.join('; ')}`] : [],
    ),
  );
  const unique = [...new Set(failures)];
  if (unique.length) out.push('', '## Failed runs', '', ...unique);
  return out.join('\n') + '\n';
}

const COLORS: Record<Tool, string> = { pure: '#d9480f', openssh: '#1971c2', ssh2: '#2f9e44' };

/**
 * A horizontal bar chart: one group per metric, one bar per tool, each bar the tool's median
 * relative to OpenSSH's (to ssh2's where OpenSSH has no figure), with the absolute median
 * printed beside it. Plain SVG text, no dependency.
 */
export function svg(rows: SummaryRow[], env: Environment, tools: Tool[]): string {
  const groups = rows.map((r): BarGroup => {
    // OpenSSH is the reference; ssh2 where OpenSSH has no figure (startup-lib), else any tool.
    const refTool = (['openssh', 'ssh2', ...tools] as Tool[]).find((t) => r.tools[t]?.values.length);
    const ref = refTool ? r.tools[refTool] : undefined;
    const refName = refTool ? TOOL_LABEL[refTool] : 'nothing';
    const bars = tools
      .filter((t) => r.tools[t])
      .map((t) => {
        const s = r.tools[t]!;
        const rel = ref && s.values.length ? s.median / ref.median : Number.NaN;
        return { name: TOOL_LABEL[t], color: COLORS[t], stats: s, rel };
      });
    const dir = r.info.better === 'higher' ? '↑ higher is better' : '↓ lower is better';
    return { label: r.info.label, sub: `${r.info.unit}, ${dir}, relative to ${refName}`, unit: r.info.unit, bars };
  });
  return barChart(
    `pure-ssh vs OpenSSH vs ssh2 — ${[...new Set(rows.map((r) => r.cipher))].join(', ')}`,
    groups,
    tools.map((t) => ({ name: TOOL_LABEL[t], color: COLORS[t], width: 130 })),
    `${env.date} · ${env.cpu}, ${env.cores} cores · medians; bar length relative to the reference tool (dashed line = 1.0)`,
  );
}

/** The matrix's metrics: those of the bulk scenarios. */
const MATRIX_METRICS = ['throughput', 'cpuPerGiB', 'peakRss'] as const;

/** One client's figures in a matrix cell, with what its runs negotiated. */
export interface MatrixCellStats extends ToolStats {
  /** Distinct negotiated algorithms over the runs, e.g. `aes128-gcm@openssh.com (node)`. */
  negotiated: string[];
}

/** A metric of one scenario for one row of the matrix, per client. */
export interface MatrixSummaryRow {
  scenario: MatrixScenario;
  row: string;
  cipher?: string;
  mac?: string;
  metric: string;
  info: MetricInfo;
  clients: Partial<Record<MatrixClient, MatrixCellStats>>;
  /** Each client's median / OpenSSH's median in the same row (direction in `info.better`). */
  vsOpenssh: Partial<Record<MatrixClient, number>>;
}

/** A target with its measured ratio. */
export interface MatrixTargetResult {
  label: string;
  scenario: MatrixScenario;
  goal: number;
  /** Numerator and denominator medians (MiB/s); missing when a side did not run or failed. */
  numerator?: number;
  denominator?: number;
  ratio?: number;
  met?: boolean;
}

function negotiatedText(n: Negotiated | undefined): string {
  if (!n?.cipher) return '?';
  const mac = n.mac && n.mac !== '<implicit>' ? ` + ${n.mac}` : '';
  return `${n.cipher}${mac}${n.provider ? ` (${n.provider})` : ''}`;
}

/** Groups matrix runs by scenario, row (in `rows` order), metric and client. */
export function summarizeMatrix(runs: MatrixRunResult[], rows: MatrixRow[]): MatrixSummaryRow[] {
  const out: MatrixSummaryRow[] = [];
  for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
    for (const row of rows) {
      const mine = runs.filter((r) => r.scenario === scenario && r.row === row.key);
      if (mine.length === 0) continue;
      for (const metric of MATRIX_METRICS) {
        const summary: MatrixSummaryRow = {
          scenario,
          row: row.key,
          ...(row.cipher ? { cipher: row.cipher } : {}),
          ...(row.mac ? { mac: row.mac } : {}),
          metric,
          info: METRICS[scenario][metric],
          clients: {},
          vsOpenssh: {},
        };
        for (const client of MATRIX_CLIENTS) {
          const c = mine.filter((r) => r.client === client);
          const stats = statsOf(c, metric);
          if (!stats) continue;
          summary.clients[client] = { ...stats, negotiated: [...new Set(c.filter((r) => r.ok).map((r) => negotiatedText(r.negotiated)))] };
        }
        const ref = summary.clients.openssh;
        for (const client of MATRIX_CLIENTS) {
          const s = summary.clients[client];
          if (s && ref && s.values.length && ref.values.length && !s.failed) summary.vsOpenssh[client] = s.median / ref.median;
        }
        out.push(summary);
      }
    }
  }
  return out;
}

/** The {@link MATRIX_TARGETS} for each scenario that ran, from the throughput medians. */
export function matrixTargets(rows: MatrixSummaryRow[]): MatrixTargetResult[] {
  const out: MatrixTargetResult[] = [];
  for (const scenario of [...new Set(rows.map((r) => r.scenario))]) {
    const cell = (row: string, client: MatrixClient): number | undefined => {
      const s = rows.find((r) => r.scenario === scenario && r.row === row && r.metric === 'throughput')?.clients[client];
      return s && s.values.length && !s.failed ? s.median : undefined;
    };
    for (const t of MATRIX_TARGETS) {
      const numerator = cell(t.numerator.row, t.numerator.client);
      const denominator = cell(t.denominator.row, t.denominator.client);
      const r: MatrixTargetResult = { label: t.label, scenario, goal: t.goal, numerator, denominator };
      if (numerator !== undefined && denominator !== undefined) {
        r.ratio = numerator / denominator;
        r.met = r.ratio >= t.goal;
      }
      out.push(r);
    }
  }
  return out;
}

function rowLabel(r: { row: string; cipher?: string }): string {
  return r.row === DEFAULTS_ROW ? '**defaults** (no -c/-m)' : r.cipher!;
}

function macLabel(r: { row: string; cipher?: string; mac?: string }): string {
  if (r.row === DEFAULTS_ROW) return "each tool's";
  return r.mac ?? 'implicit (AEAD)';
}

/**
 * The matrix's section of results.md: how it ran, the targets, a throughput table per
 * scenario with ratios to OpenSSH in the same row, what the defaults negotiated, client CPU per
 * GiB, and the failed runs.
 */
export function matrixMarkdown(rows: MatrixSummaryRow[], targets: MatrixTargetResult[], clients: MatrixClient[], how: string[]): string {
  const out: string[] = ['', '## Cipher matrix', ''];
  for (const h of how) out.push(`- ${h}`);
  out.push('', '### Targets (bulk throughput, ratio of medians)', '');
  out.push('| target | scenario | measured | goal | status |', '|---|---|---|---|---|');
  for (const t of targets) {
    const measured = t.ratio === undefined ? 'not measured' : `${t.ratio.toFixed(2)}× (${fmt(t.numerator!)} / ${fmt(t.denominator!)} MiB/s)`;
    const status = t.met === undefined ? '–' : t.met ? 'met' : '**not met**';
    out.push(`| ${t.label} | ${t.scenario} | ${measured} | ≥ ${t.goal.toFixed(2)}× | ${status} |`);
  }
  const others = clients.filter((c) => c !== 'openssh');
  for (const scenario of [...new Set(rows.map((r) => r.scenario))]) {
    const mine = rows.filter((r) => r.scenario === scenario && r.metric === 'throughput');
    const info = mine[0].info;
    out.push('', `### ${scenario}: ${info.label} (${info.unit}, ${info.better === 'higher' ? '↑ higher' : '↓ lower'} is better)`, '');
    const head = ['cipher', 'MAC', ...clients.map((c) => CLIENT_LABEL[c]), ...others.map((c) => `${CLIENT_LABEL[c]} / OpenSSH`)];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of mine) {
      const line = [rowLabel(r), macLabel(r), ...clients.map((c) => cell(r.clients[c])), ...others.map((c) => ratio(r.vsOpenssh[c]))];
      out.push(`| ${line.join(' | ')} |`);
    }
    const defaults = mine.find((r) => r.row === DEFAULTS_ROW);
    if (defaults) {
      const said = clients
        .filter((c) => defaults.clients[c]?.negotiated.length)
        .map((c) => `${CLIENT_LABEL[c]} ${defaults.clients[c]!.negotiated.join(' / ')}`);
      out.push('', `Defaults negotiated (from each tool's verbose output): ${said.join('; ')}.`);
    }
  }
  const cpu = rows.filter((r) => r.metric === 'cpuPerGiB');
  const scenarios = [...new Set(cpu.map((r) => r.scenario))];
  if (cpu.length) {
    out.push('', `### Client CPU per GiB (s/GiB, ↓ lower is better; medians, ${scenarios.join(' / ')})`, '');
    const head = ['cipher', 'MAC', ...clients.map((c) => CLIENT_LABEL[c])];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const key of [...new Set(cpu.map((r) => r.row))]) {
      const per = scenarios.map((sc) => cpu.find((r) => r.row === key && r.scenario === sc));
      const first = per.find((r) => r)!;
      const cells = clients.map((c) => {
        if (per.every((r) => !r?.clients[c])) return 'n/a';
        return per.map((r) => (r?.clients[c]?.values.length ? fmt(r.clients[c]!.median) : r?.clients[c] ? 'FAILED' : 'n/a')).join(' / ');
      });
      out.push(`| ${[rowLabel(first), macLabel(first), ...cells].join(' | ')} |`);
    }
  }
  const failures = [
    ...new Set(
      rows
        .filter((r) => r.metric === 'throughput')
        .flatMap((r) =>
          Object.entries(r.clients).flatMap(([c, s]) => (s.errors.length ? [`- ${r.scenario} / ${r.row} / ${CLIENT_LABEL[c as MatrixClient]}: ${s.errors.join('; ')}`] : [])),
        ),
    ),
  ];
  if (failures.length) out.push('', '### Failed matrix runs', '', ...failures);
  return out.join('\n') + '\n';
}

const MATRIX_COLORS: Record<MatrixClient, string> = { 'pure-runtime': '#d9480f', 'pure-pure': '#f59f00', openssh: '#1971c2', ssh2: '#2f9e44' };

/**
 * The matrix chart: per scenario and row, one bar per client, its throughput relative to
 * OpenSSH with the same cipher (the defaults row: to OpenSSH's defaults).
 */
export function matrixSvg(rows: MatrixSummaryRow[], env: Environment, clients: MatrixClient[]): string {
  const groups = rows
    .filter((r) => r.metric === 'throughput')
    .map((r): BarGroup => {
      const ref = r.clients.openssh;
      const bars = clients
        .filter((c) => r.clients[c])
        .map((c) => {
          const s = r.clients[c]!;
          return { name: CLIENT_LABEL[c], color: MATRIX_COLORS[c], stats: s, rel: ref?.values.length && s.values.length ? s.median / ref.median : Number.NaN };
        });
      const what = r.row === DEFAULTS_ROW ? "defaults (each tool's own)" : `${r.cipher!.split('@')[0]}${r.mac ? ` + ${r.mac.split('@')[0]}` : ''}`;
      return { label: `${r.scenario}: ${what}`, sub: `${r.info.unit}, ↑ higher is better, relative to OpenSSH`, unit: r.info.unit, bars };
    });
  return barChart(
    'Cipher matrix: bulk throughput relative to OpenSSH ssh with the same cipher',
    groups,
    clients.map((c) => ({ name: CLIENT_LABEL[c], color: MATRIX_COLORS[c], width: 150 })),
    `${env.date} · ${env.cpu}, ${env.cores} cores · medians; dashed line = OpenSSH (1.0)`,
  );
}
