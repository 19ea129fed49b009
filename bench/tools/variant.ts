/**
 * What bench/tools/rss-peak.ts and bench/tools/bulk-cpu.ts share: the `--variant` they measure
 * side by side, and the CPU time and page faults of a process from /proc.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** One program measured: OpenSSH's ssh (no `dir`), or the built CLI of a checkout. */
export interface Variant {
  name: string;
  /** A checkout whose dist/ holds a built CLI; undefined for OpenSSH. */
  dir?: string;
  /** Node's flags before the bin. */
  nodeArgs: string[];
  /** Added to the tunnel's environment. */
  env: Record<string, string>;
}

/**
 * A `--variant` value: `openssh`, or `NAME=DIR[|NODE FLAGS[|VAR=VALUE ...]]` (flags and variables
 * separated by spaces), e.g. `new=/work/main|--max-semi-space-size=1|PURE_SSH_CRYPTO=pure`.
 */
export function parseVariant(v: string): Variant {
  if (v === 'openssh') return { name: 'openssh', nodeArgs: [], env: {} };
  const [name, rest] = v.split(/=(.*)/s) as [string, string];
  const [dir, flags = '', envs = ''] = rest.split('|');
  const env: Record<string, string> = {};
  for (const kv of envs.split(' ').filter(Boolean)) {
    const [k, val] = kv.split(/=(.*)/s) as [string, string];
    env[k] = val;
  }
  return { name, dir: resolve(dir!), nodeArgs: flags.split(' ').filter(Boolean), env };
}

/** proc(5) /proc/PID/stat of `pid`: utime and stime, seconds (10 ms ticks), and minor page faults. */
export function procStat(pid: number): { user: number; sys: number; faults: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces): state is rest[0], minflt rest[7].
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(rest[11]) / 100, sys: Number(rest[12]) / 100, faults: Number(rest[7]) };
}
