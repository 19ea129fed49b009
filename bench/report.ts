/**
 * Turning runs into results: medians and ranges per tool, ratios to OpenSSH, and the three
 * outputs (a markdown table, JSON, a hand-written SVG bar chart).
 */
import { TOOL_LABEL, type RunTool, type Scenario, type Tool } from './config.js';
import { METRICS, type MetricInfo, type RunResult } from './scenarios.js';

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
  const t = runs.filter((r) => r.tool === tool);
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

function cell(s: ToolStats | undefined): string {
  if (!s) return 'n/a';
  if (s.values.length === 0) return `**FAILED** (${s.failed})`;
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

/**
 * A horizontal bar chart: one group per metric, one bar per tool, each bar the tool's median
 * relative to OpenSSH's (to ssh2's where OpenSSH has no figure), with the absolute median
 * printed beside it. Plain SVG text, no dependency.
 */
export function svg(rows: SummaryRow[], env: Environment, tools: Tool[]): string {
  const barH = 14;
  const gap = 4;
  const groupGap = 16;
  const left = 300;
  const plotW = 420;
  const right = 150;
  const top = 60;
  const groups = rows.map((r) => {
    // OpenSSH is the reference; ssh2 where OpenSSH has no figure (startup-lib), else any tool.
    const refTool = (['openssh', 'ssh2', ...tools] as Tool[]).find((t) => r.tools[t]?.values.length);
    const ref = refTool ? r.tools[refTool] : undefined;
    const refName = refTool ? TOOL_LABEL[refTool] : 'nothing';
    const bars = tools
      .filter((t) => r.tools[t])
      .map((t) => {
        const s = r.tools[t]!;
        const rel = ref && s.values.length ? s.median / ref.median : Number.NaN;
        return { tool: t, s, rel };
      });
    return { r, refName, bars };
  });
  const maxRel = Math.max(1.5, ...groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.rel) ? b.rel : 0))));
  const scale = plotW / maxRel;
  let y = top;
  const parts: string[] = [];
  for (const g of groups) {
    const h = g.bars.length * (barH + gap);
    const dir = g.r.info.better === 'higher' ? '↑ higher is better' : '↓ lower is better';
    parts.push(
      `<text x="${left - 8}" y="${y + h / 2 - 2}" text-anchor="end" font-size="12">${esc(`${g.r.info.label}`)}</text>`,
      `<text x="${left - 8}" y="${y + h / 2 + 11}" text-anchor="end" font-size="10" fill="#666">${esc(`${g.r.info.unit}, ${dir}, relative to ${g.refName}`)}</text>`,
    );
    for (const b of g.bars) {
      const w = Number.isFinite(b.rel) ? Math.max(1, b.rel * scale) : 0;
      const label = b.s.values.length ? `${fmt(b.s.median)} ${g.r.info.unit}${b.s.failed ? ` (FAILED ${b.s.failed}×)` : ''}` : 'FAILED';
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[b.tool]}"><title>${esc(`${TOOL_LABEL[b.tool]}: ${label}`)}</title></rect>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + barH - 3}" font-size="10">${esc(label)}</text>`,
      );
      y += barH + gap;
    }
    y += groupGap;
  }
  const height = y + 30;
  const width = left + plotW + right;
  const oneX = left + scale;
  const legend = tools
    .map((t, i) => `<rect x="${left + i * 130}" y="34" width="12" height="12" fill="${COLORS[t]}"/><text x="${left + i * 130 + 16}" y="44" font-size="12">${esc(TOOL_LABEL[t])}</text>`)
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`pure-ssh vs OpenSSH vs ssh2 — ${[...new Set(rows.map((r) => r.cipher))].join(', ')}`)}</text>`,
    `<text x="10" y="${height - 10}" font-size="10" fill="#666">${esc(`${env.date} · ${env.cpu}, ${env.cores} cores · medians; bar length relative to the reference tool (dashed line = 1.0)`)}</text>`,
    legend,
    `<line x1="${oneX.toFixed(1)}" y1="${top - 6}" x2="${oneX.toFixed(1)}" y2="${y - groupGap + 4}" stroke="#444" stroke-dasharray="4 3"/>`,
    ...parts,
    `</svg>`,
  ].join('\n');
}
