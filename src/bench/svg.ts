/**
 * Hand-written SVG bar charts (no dependency): shared by the repository's benchmark (bench/)
 * and the `pure-ssh-bench` command.
 */
import { fmt, type ToolStats } from './stats.js';

/** Text for an SVG text node or attribute. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One bar of a chart: a median, its length relative to the group's reference. */
export interface Bar {
  name: string;
  color: string;
  stats: ToolStats;
  /** The median / the reference's median (the dashed line is 1.0); NaN draws no bar. */
  rel: number;
}

/** A group of bars with a two-line label (what, then unit and reference). */
export interface BarGroup {
  label: string;
  sub: string;
  unit: string;
  bars: Bar[];
}

/** An entry of the legend: a name, its colour, the width it takes in px. */
export interface LegendEntry {
  name: string;
  color: string;
  width: number;
}

/**
 * Draws {@link BarGroup}s as a standalone SVG document: one group per metric, one horizontal
 * bar per tool, each bar's length relative to the group's reference (dashed line = 1.0), the
 * absolute median printed beside it.
 */
export function barChart(title: string, groups: BarGroup[], legend: LegendEntry[], footer: string): string {
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

/** Stacks standalone SVG documents (from {@link barChart}) into one, top to bottom. */
export function stackSvgs(docs: string[]): string {
  if (docs.length === 1) return docs[0]!;
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
