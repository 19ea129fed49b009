/**
 * What the kernel says about a client process: CPU time and memory, read from /proc so that
 * every tool (OpenSSH's C client, two Node processes) is measured the same way from outside;
 * and, for the Node tools only, what V8 says about its heap (tools/heap-probe.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Clock ticks per second for utime/stime in /proc/PID/stat; 100 on every Linux we run on. */
const CLK_TCK = 100;

/** utime + stime of `pid` in seconds (proc(5): fields 14 and 15), or NaN once it has exited. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may hold spaces and ')': count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** A `VmXXX:` line of /proc/PID/status in bytes (the kernel prints kB), or NaN. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile' | 'RssShmem'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * VmRSS of `pid` split as the kernel counts it (proc(5) /proc/PID/status, bytes): `anon` is
 * RssAnon (the process's own memory: V8's heap, malloc, thread stacks), `file` is RssFile +
 * RssShmem (pages of mapped files: the node or ssh binary, shared libraries, ICU data). NaN
 * fields once it has exited.
 */
export interface RssSplit {
  total: number;
  anon: number;
  file: number;
}

/** One read of /proc/PID/status as an {@link RssSplit}. */
export function rssSplit(pid: number): RssSplit {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return { total: Number.NaN, anon: Number.NaN, file: Number.NaN };
  }
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  };
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/**
 * Samples VmRSS (with its anonymous and file-backed parts) every `intervalMs` until stopped;
 * VmHWM alone would also count the start-up peak, the sampler shows the peak while the measured
 * work runs.
 */
export class RssSampler {
  private peak: RssSplit = { total: 0, anon: Number.NaN, file: Number.NaN };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 20) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const s = rssSplit(this.pid);
    if (s.total > this.peak.total) this.peak = s;
  }

  /** Stops sampling and returns the largest RSS seen (bytes). */
  stop(): number {
    return this.stopSplit().total;
  }

  /**
   * Stops sampling and returns the sample with the largest RSS (bytes), with its anonymous and
   * file-backed parts as they were in that same sample (so they add up to the total).
   */
  stopSplit(): RssSplit {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** One sample of a Node process's memory, from tools/heap-probe.ts (bytes; `t` is Date.now()). */
export interface HeapSample {
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** tools/heap-probe.js, compiled next to the other tool children. */
const HEAP_PROBE = join(dirname(fileURLToPath(import.meta.url)), 'tools', 'heap-probe.js');

/**
 * The `node` flags that make a Node tunnel process write its process.memoryUsage() to `file`
 * every 20 ms (tools/heap-probe.ts). OpenSSH has no such thing: its memory is RSS only.
 */
export function heapProbeArgs(file: string): string[] {
  return ['--import', `${pathToFileURL(HEAP_PROBE).href}?out=${encodeURIComponent(file)}`];
}

/** The samples in `file` taken from `from` to `to` (Date.now() ms), oldest first; [] if none. */
export function readHeapSamples(file: string, from = 0, to = Infinity): HeapSample[] {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return [];
  }
  const out: HeapSample[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ').map(Number);
    // The probe may be cut off mid-line when the process is killed.
    if (f.length !== 6 || !f.every(Number.isFinite)) continue;
    const [t, rss, heapTotal, heapUsed, external, arrayBuffers] = f as [number, number, number, number, number, number];
    if (t >= from && t <= to) out.push({ t, rss, heapTotal, heapUsed, external, arrayBuffers });
  }
  return out;
}

/** The largest value of `field` over `samples`, or NaN when there are none. */
export function peakOf(samples: HeapSample[], field: keyof Omit<HeapSample, 't'>): number {
  return samples.length === 0 ? Number.NaN : Math.max(...samples.map((s) => s[field]));
}
