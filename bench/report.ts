/**
 * Turning runs into results: medians and ranges per tool, ratios to OpenSSH, and the three
 * outputs (a markdown table, JSON, a hand-written SVG bar chart).
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

/** Median and range of one tool's values for one metric. */
export interface ToolStats {
  median: number;
  min: number;
  max: number;
  /** Quartiles (linear interpolation); with few runs they are close to min/max. */
  q1: number;
  q3: number;
  values: number[];
  /** Runs that failed (errors, hash mismatches, timeouts). */
  failed: number;
  errors: string[];
}

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

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function toolStats(runs: RunResult[], tool: RunTool, metric: string): ToolStats | undefined {
  return statsOf(runs.filter((r) => r.tool === tool), metric);
}

/** Median, range and failures of `metric` over `t` (undefined when there are no runs). */
export function statsOf(t: RunResult[], metric: string): ToolStats | undefined {
  if (t.length === 0) return undefined;
  const values = t.filter((r) => r.ok && Number.isFinite(r.metrics[metric])).map((r) => r.metrics[metric]);
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    values,
    failed: t.filter((r) => !r.ok).length,
    errors: [...new Set(t.filter((r) => !r.ok).map((r) => r.error ?? 'unknown error'))],
  };
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

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1000) return n.toFixed(0);
  if (a >= 100) return n.toFixed(1);
  if (a >= 10) return n.toFixed(2);
  return n.toFixed(3);
}

/** A table cell: median (min–max), FAILED counts; `n/a` when the tool did not run. */
export function cell(s: ToolStats | undefined): string {
  if (!s) return 'n/a';
  // A metric this tool does not have (the V8 heap of OpenSSH's C client): no value, no failure.
  if (s.values.length === 0) return s.failed ? `**FAILED** (${s.failed})` : 'n/a';
  const range = s.values.length > 1 ? ` (${fmt(s.min)}–${fmt(s.max)})` : '';
  const failed = s.failed ? ` **FAILED ${s.failed}×**` : '';
  return `${fmt(s.median)}${range}${failed}`;
}

function ratio(r: number | undefined, info?: MetricInfo): string {
  if (r === undefined || !Number.isFinite(r)) return info?.goal === undefined ? '–' : `– (goal ${goalText(info)})`;
  if (info?.goal === undefined) return `${r.toFixed(2)}×`;
  const met = info.better === 'higher' ? r >= info.goal : r <= info.goal;
  return `${r.toFixed(2)}× (goal ${goalText(info)}: ${met ? 'met' : '**not met**'})`;
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
  for (const cipher of [...new Set(rows.map((r) => r.cipher))]) {
    out.push('', `## ${cipher}`, '');
    const head = ['scenario', 'metric', 'unit', 'better', ...tools.map((t) => TOOL_LABEL[t])];
    if (tools.includes('pure') && tools.includes('openssh')) head.push('pure / OpenSSH');
    if (tools.includes('pure') && tools.includes('ssh2')) head.push('pure / ssh2');
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rows.filter((x) => x.cipher === cipher)) {
      const line = [r.scenario, r.info.label, r.info.unit, r.info.better === 'higher' ? '↑ higher' : '↓ lower', ...tools.map((t) => cell(r.tools[t]))];
      if (tools.includes('pure') && tools.includes('openssh')) line.push(ratio(r.ratioVsOpenssh, r.info));
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

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One bar of a chart: a median, its length relative to the group's reference. */
interface Bar {
  name: string;
  color: string;
  stats: ToolStats;
  rel: number;
}

/** A group of bars with a two-line label (what, then unit and reference). */
interface BarGroup {
  label: string;
  sub: string;
  unit: string;
  bars: Bar[];
}

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

/** Draws {@link BarGroup}s as a standalone SVG document. */
function barChart(title: string, groups: BarGroup[], legend: Array<{ name: string; color: string; width: number }>, footer: string): string {
  const barH = 14;
  const gap = 4;
  const groupGap = 16;
  const left = 300;
  const plotW = 420;
  const right = 150;
  const top = 60;
  const maxRel = Math.max(1.5, ...groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.rel) ? b.rel : 0))));
  const scale = plotW / maxRel;
  let y = top;
  const parts: string[] = [];
  for (const g of groups) {
    const h = g.bars.length * (barH + gap);
    parts.push(
      `<text x="${left - 8}" y="${y + h / 2 - 2}" text-anchor="end" font-size="12">${esc(`${g.label}`)}</text>`,
      `<text x="${left - 8}" y="${y + h / 2 + 11}" text-anchor="end" font-size="10" fill="#666">${esc(g.sub)}</text>`,
    );
    for (const b of g.bars) {
      const w = Number.isFinite(b.rel) ? Math.max(1, b.rel * scale) : 0;
      const label = b.stats.values.length ? `${fmt(b.stats.median)} ${g.unit}${b.stats.failed ? ` (FAILED ${b.stats.failed}×)` : ''}` : 'FAILED';
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"><title>${esc(`${b.name}: ${label}`)}</title></rect>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + barH - 3}" font-size="10">${esc(label)}</text>`,
      );
      y += barH + gap;
    }
    y += groupGap;
  }
  const height = y + 30;
  const width = left + plotW + right;
  const oneX = left + scale;
  let lx = left;
  const legendParts = legend.map((l) => {
    const item = `<rect x="${lx}" y="34" width="12" height="12" fill="${l.color}"/><text x="${lx + 16}" y="44" font-size="12">${esc(l.name)}</text>`;
    lx += l.width;
    return item;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="${height - 10}" font-size="10" fill="#666">${esc(footer)}</text>`,
    legendParts.join(''),
    `<line x1="${oneX.toFixed(1)}" y1="${top - 6}" x2="${oneX.toFixed(1)}" y2="${y - groupGap + 4}" stroke="#444" stroke-dasharray="4 3"/>`,
    ...parts,
    `</svg>`,
  ].join('\n');
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

/** Stacks standalone SVG documents (from {@link svg}, {@link matrixSvg}) into one, top to bottom. */
export function stackSvgs(docs: string[]): string {
  if (docs.length === 1) return docs[0];
  let y = 0;
  let width = 0;
  const inner = docs.map((d) => {
    const m = /^<svg [^>]*width="(\d+)" height="(\d+)"/.exec(d);
    if (!m) throw new Error('stackSvgs: not one of our SVG documents');
    const placed = d.replace('<svg ', `<svg x="0" y="${y}" `);
    y += Number(m[2]);
    width = Math.max(width, Number(m[1]));
    return placed;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">`,
    ...inner,
    '</svg>',
  ].join('\n');
}
