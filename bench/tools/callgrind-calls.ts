/**
 * How many times functions were called in a callgrind profile, and by whom: callgrind counts
 * every call instruction, so the calls to V8's builtins that make a typed array
 * (`CreateTypedArray`, `TypedArrayPrototypeSubArray`, …) are the number of typed arrays made,
 * where an instruction total only says what they cost. Callers in V8's JIT code are named from
 * the process's `--perf-basic-prof` map, as callgrind-top.ts does.
 *
 * ```sh
 * node dist-bench/bench/tools/callgrind-calls.js FILE PID PER [REGEX]
 * ```
 * prints, per unit of PER (round trips, transactions), the calls to each function whose name
 * matches REGEX (default: typed-array construction and the allocation slow paths) and their
 * callers. Shared by echo-callgrind.ts and pgbench-cpu.ts (`--calls`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The builtins and runtime functions that make typed arrays or allocate off V8's fast path. */
export const ALLOCATION_CALLS =
  /^(Builtins_(CreateTypedArray|TypedArrayPrototypeSubArray|TypedArrayPrototypeSlice|TypedArrayConstructor|TypedArrayPrototypeSet|TypedArrayFrom|TypedArrayOf|ArrayBufferConstructor)|v8::internal::Factory::NewJSArrayBuffer.*|v8::internal::Heap::CollectGarbage.*|v8::internal::ScavengeJob.*|v8::internal::Factory::NewJSObject.*|Builtins_(FastNewObject|FastNewClosure|CallFunctionTemplate.*|Call_ReceiverIsAny|CallProxy|Construct.*|RunMicrotasks|EnqueueMicrotask|PromiseResolveThenableJob|PerformPromiseThen|NewPromiseCapability|KeyedLoadIC_Megamorphic|LoadIC_Megamorphic|LoadIC|StoreIC|KeyedStoreIC|CallIC.*))$/;

interface Perf {
  start: number;
  end: number;
  name: string;
}

function perfMap(pid: number): Perf[] {
  const mapFile = `/tmp/perf-${pid}.map`;
  const map: Perf[] = [];
  if (!existsSync(mapFile)) return map;
  for (const line of readFileSync(mapFile, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m) map.push({ start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + parseInt(m[2]!, 16), name: m[3]! });
  }
  return map;
}

/**
 * Calls per `per` to each function matching `pattern`, with their callers (at most `callers`
 * each), as printable lines.
 */
export function callCounts(file: string, pid: number, per: number, pattern: RegExp = ALLOCATION_CALLS, callers = 8): string[] {
  const map = perfMap(pid);
  const names = new Map<string, string>();
  const named = (raw: string): string => {
    const a = /^0x([0-9a-f]+)/.exec(raw);
    if (!a || map.length === 0) return raw;
    const addr = parseInt(a[1]!, 16);
    let found: string | undefined;
    for (const e of map) if (addr >= e.start && addr < e.end) found = e.name;
    return found ?? raw;
  };
  // `fn=(id) name` names an id the first time; later `fn=(id)` alone (name compression).
  const resolveId = (spec: string): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(spec);
    if (!m) return named(spec);
    if (m[2] !== undefined) names.set(m[1]!, named(m[2]));
    return names.get(m[1]!) ?? `(${m[1]})`;
  };
  const byTarget = new Map<string, { calls: number; from: Map<string, number> }>();
  let fn = '';
  let cfn = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) fn = resolveId(line.slice(3));
    else if (line.startsWith('cfn=')) cfn = resolveId(line.slice(4));
    else if (line.startsWith('calls=')) {
      const target = cfn.replace(/^JS:[*~^]?/, '');
      if (!pattern.test(cfn) && !pattern.test(target)) continue;
      const n = Number(line.slice(6).split(' ')[0]);
      const t = byTarget.get(cfn) ?? { calls: 0, from: new Map<string, number>() };
      t.calls += n;
      t.from.set(fn, (t.from.get(fn) ?? 0) + n);
      byTarget.set(cfn, t);
    }
  }
  const out: string[] = [];
  for (const [name, t] of [...byTarget.entries()].sort((a, b) => b[1].calls - a[1].calls)) {
    if (t.calls / per < 0.01) continue;
    out.push(`${(t.calls / per).toFixed(2).padStart(8)}  ${name.slice(0, 120)}`);
    for (const [from, n] of [...t.from.entries()].sort((a, b) => b[1] - a[1]).slice(0, callers)) {
      if (n / per < 0.01) continue;
      out.push(`${(n / per).toFixed(2).padStart(16)}  from ${from.slice(0, 120)}`);
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, pid, per, re] = process.argv.slice(2);
  if (!file || !pid || !per) {
    console.error('usage: callgrind-calls.js FILE PID PER [REGEX]');
    process.exit(2);
  }
  for (const l of callCounts(file, Number(pid), Number(per), re ? new RegExp(re) : ALLOCATION_CALLS)) console.log(l);
}
