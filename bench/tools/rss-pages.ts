/**
 * Which pages of the node binary a tunnel has resident beyond an idle node (issue 14's file-backed
 * RSS), by ELF section and, in `.text` and `.rodata`, by symbol group:
 *
 * ```sh
 * mkdir /tmp/pages && RSS_PEAK_PAGES=/tmp/pages node dist-bench/bench/tools/rss-peak.js --runs 1 --variant 'this=.'
 * node dist-bench/bench/tools/rss-pages.js /tmp/pages/this-*.pages.json
 * ```
 *
 * ./rss-peak.ts with `RSS_PEAK_PAGES=DIR` writes, at the end of each measured run, the node
 * binary's resident pages (present bit of /proc/PID/pagemap over its file mappings) as file page
 * numbers. This tool starts an idle node (`setInterval`, NODE_EXTRA_CA_CERTS unset as rss-peak
 * does), takes the same list, and prints the tunnel's pages not in it. Symbols come from the
 * binary's own symbol table (`nm -S -C`; Node's official builds are not stripped).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const PAGE = 4096;

/** File page numbers of `path` resident in process `pid` (its mappings of that file). */
export function residentFilePages(pid: number, path: string): number[] {
  const out = new Set<number>();
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
      if (!m || m[4] !== path) continue;
      const start = parseInt(m[1]!, 16);
      const n = (parseInt(m[2]!, 16) - start) / PAGE;
      const first = parseInt(m[3]!, 16) / PAGE;
      const buf = Buffer.alloc(n * 8);
      readSync(fd, buf, 0, buf.length, (start / PAGE) * 8);
      // pagemap: bit 63 present, bit 62 swapped (Documentation/admin-guide/mm/pagemap.rst).
      for (let i = 0; i < n; i++) if (buf.readBigUInt64LE(i * 8) >> 63n) out.add(first + i);
    }
  } finally {
    closeSync(fd);
  }
  return [...out].sort((a, b) => a - b);
}

interface Section {
  name: string;
  addr: number;
  off: number;
  size: number;
}

function sections(bin: string): Section[] {
  const out: Section[] = [];
  for (const line of execFileSync('readelf', ['-SW', bin], { encoding: 'latin1' }).split('\n')) {
    const m = /\]\s+(\S+)\s+\S+\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (m) out.push({ name: m[1]!, addr: parseInt(m[2]!, 16), off: parseInt(m[3]!, 16), size: parseInt(m[4]!, 16) });
  }
  return out.filter((s) => s.addr !== 0 && s.size > 0);
}

/** A symbol's group: a C++ namespace two deep, `Builtins_*`, or a C name's first word. */
function group(name: string): string {
  if (name.startsWith('Builtins_')) return 'Builtins_*';
  const ns = /^(?:[\w:<>~ ]+?\s)?((?:\w+::){1,3})/.exec(name.replace(/\(anonymous namespace\)::/g, ''));
  if (ns) return ns[1]!.split('::').slice(0, 3).join('::');
  const c = /^_*([A-Za-z0-9]+?)(?:_|[A-Z]|$)/.exec(name);
  return c ? `${c[1]}_*` : name.slice(0, 24);
}

function main(): void {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('give one or more .pages.json files from rss-peak (RSS_PEAK_PAGES=DIR)');
  const bin = (JSON.parse(readFileSync(files[0]!, 'utf8')) as { path: string }).path;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const idle = spawn(bin, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', env });
  const wait = Date.now() + 1000;
  while (Date.now() < wait);
  const base = new Set(residentFilePages(idle.pid!, bin));
  idle.kill();
  const secs = sections(bin);
  const syms: { addr: number; size: number; name: string }[] = [];
  for (const line of execFileSync('nm', ['-S', '-C', '--defined-only', bin], { encoding: 'latin1', maxBuffer: 1 << 30 }).split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) \S (.*)$/.exec(line);
    if (m) syms.push({ addr: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]! });
  }
  syms.sort((a, b) => a.addr - b.addr);
  const kib = (pages: number) => `${((pages * PAGE) / 1024).toFixed(0)} KiB`;
  console.log(`idle node: ${kib(base.size)} of ${bin} resident`);
  for (const file of files) {
    const pages = (JSON.parse(readFileSync(file, 'utf8')) as { pages: number[] }).pages;
    const extra = pages.filter((p) => !base.has(p));
    console.log(`\n${file}: ${kib(pages.length)} resident, ${kib(extra.length)} not in the idle node's`);
    const bySec = new Map<string, number>();
    const byGroup = new Map<string, number>();
    for (const p of extra) {
      const off = p * PAGE;
      const s = secs.find((x) => off >= x.off && off < x.off + x.size);
      const sec = s?.name ?? '(between sections)';
      bySec.set(sec, (bySec.get(sec) ?? 0) + 1);
      if (!s || (s.name !== '.text' && s.name !== '.rodata')) continue;
      // The page's bytes by symbol: each page counted once, for the symbol covering most of it.
      const addr = s.addr + (off - s.off);
      let lo = 0;
      let hi = syms.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (syms[mid]!.addr + syms[mid]!.size <= addr) lo = mid + 1;
        else hi = mid;
      }
      const cover = new Map<string, number>();
      for (let i = lo; i < syms.length && syms[i]!.addr < addr + PAGE; i++) {
        const y = syms[i]!;
        const from = Math.max(y.addr, addr);
        const to = Math.min(y.addr + y.size, addr + PAGE);
        if (to > from) cover.set(group(y.name), (cover.get(group(y.name)) ?? 0) + to - from);
      }
      const best = [...cover].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '(no symbol)';
      const g = `${s.name} ${best}`;
      byGroup.set(g, (byGroup.get(g) ?? 0) + 1);
    }
    console.log([...bySec].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${kib(n)}`).join(', '));
    for (const [g, n] of [...byGroup].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${kib(n).padStart(9)}  ${g}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
