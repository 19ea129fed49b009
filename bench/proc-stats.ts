/**
 * What the kernel says about a client process: CPU time and memory, read from /proc so that
 * every tool (OpenSSH's C client, two Node processes) is measured the same way from outside.
 */
import { readFileSync } from 'node:fs';

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
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Samples VmRSS every `intervalMs` until stopped; VmHWM alone would also count the start-up
 * peak, the sampler shows the peak while the measured work runs.
 */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 20) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const rss = statusBytes(this.pid, 'VmRSS');
    if (rss > this.peak) this.peak = rss;
  }

  /** Stops sampling and returns the largest RSS seen (bytes). */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
