/**
 * Loaded into a Node tunnel process with `node --import <this file's URL>?out=<path>` by
 * ./rss-peak.ts: every 10 ms it appends one JSON line to <path> with `Date.now()`,
 * process.memoryUsage() and v8.getHeapSpaceStatistics() (committed and used bytes per space),
 * so that the V8 side of the RSS at its peak can be read next to /proc/PID/smaps. Heavier than
 * ./heap-probe.ts (it allocates a few objects per sample): for breakdowns, not for A/B figures.
 */
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const out = new URL(import.meta.url).searchParams.get('out');
if (out) {
  const sample = (): void => {
    const m = process.memoryUsage();
    const spaces: Record<string, [number, number]> = {};
    for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = [s.physical_space_size, s.space_used_size];
    appendFileSync(out, `${JSON.stringify({ t: Date.now(), heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces })}\n`);
  };
  sample();
  setInterval(sample, 10).unref();
}
