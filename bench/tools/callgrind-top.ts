/**
 * The costliest functions (exclusive instructions) of a callgrind profile of node, with V8's JIT
 * code named from the process's `--perf-basic-prof` map (/tmp/perf-PID.map). Shared by
 * echo-callgrind.ts and pgbench-cpu.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** callgrind_annotate's exclusive list, JIT addresses named from /tmp/perf-PID.map. */
export function topFunctions(file: string, pid: number, n: number, per: number): string[] {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const mapFile = `/tmp/perf-${pid}.map`;
  const map: { start: number; end: number; name: string }[] = [];
  if (existsSync(mapFile)) {
    for (const line of readFileSync(mapFile, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
      if (m) map.push({ start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + parseInt(m[2]!, 16), name: m[3]! });
    }
  }
  const byName = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+)\s+\([^)]*\)\s+(.*)$/.exec(line) ?? /^\s*([\d,]+)\s+(\S.*)$/.exec(line);
    if (!m) continue;
    const ir = Number(m[1]!.replace(/,/g, ''));
    let name = m[2]!.trim();
    if (/PROGRAM TOTALS/.test(name)) continue;
    const addr = /0x([0-9a-f]+)/.exec(name);
    if (addr && map.length > 0) {
      const a = parseInt(addr[1]!, 16);
      // The last mapping wins: V8 may reuse code space.
      let found: string | undefined;
      for (const e of map) if (a >= e.start && a < e.end) found = e.name;
      if (found) name = found;
    }
    byName.set(name, (byName.get(name) ?? 0) + ir);
  }
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ir]) => `${(ir / per).toFixed(0).padStart(7)}  ${name.slice(0, 150)}`);
}
