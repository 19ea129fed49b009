/**
 * Medians and ranges of benchmark runs, and how a figure is printed: shared by the repository's
 * benchmark (bench/) and the `pure-ssh-bench` command, so both report the same way.
 */

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

/** One measured run: `ok` false for a failed run (its `error` says why); figures by metric name. */
export interface MeasuredRun {
  ok: boolean;
  metrics: Record<string, number>;
  error?: string;
}

/** The `q` quantile (0..1) of ascending `sorted`, linearly interpolated; NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Median, range and failures of `metric` over `t` (undefined when there are no runs). */
export function statsOf(t: readonly MeasuredRun[], metric: string): ToolStats | undefined {
  if (t.length === 0) return undefined;
  const values = t.filter((r) => r.ok && Number.isFinite(r.metrics[metric])).map((r) => r.metrics[metric]!);
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

/** A figure with about four significant digits (`–` for NaN / infinity). */
export function fmt(n: number): string {
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
