/**
 * Client CPU per `pgbench -S -c 4 -j 2` transaction through the `-L` tunnel, from
 * /proc/PID/stat (user and system time of all the tunnel's threads), for pure-ssh builds and
 * ssh(1), interleaved round by round (A B C A B C …) so that a loaded machine's drift hits each
 * alike. A fresh tunnel per run, warmed with a 1-second pgbench first (not counted).
 *
 * ```sh
 * npm run build && npx tsc -p bench/tsconfig.json
 * node dist-bench/bench/tools/pgbench-cpu.js --variant base=/path/to/other/checkout \
 *   --variant this=. --variant openssh --rounds 5 --seconds 5
 * ```
 *
 * `--syscalls`: also count, per transaction, the system calls of the tunnel process (all its
 * threads) and of sshd's per-connection processes with `perf stat` tracepoints (reads, writes,
 * waits: epoll_pwait / poll / ppoll, all), their context switches (voluntary and not, from
 * /proc/PID/task/* /status) and sshd's CPU.
 *
 * `--callgrind N`: instead, each pure-ssh variant runs under valgrind's callgrind and the figure
 * is user-space instructions per transaction over `pgbench -S -c 4 -j 2 -t N` (after a warm-up
 * of the same size; the four connections' opens are counted too), deterministic enough to
 * compare builds on a loaded machine. The main thread's share is printed apart: V8 compiles on
 * worker threads, an amount that varies from run to run. `--top N` also lists the main thread's
 * N costliest functions (exclusive instructions per transaction).
 *
 * `--window S` (with `--callgrind N`): the counted run is one long `pgbench -T` on the same four
 * connections instead, instrumented for S seconds once `--skip` seconds (default 15) have passed
 * and 4,000 transactions are done,
 * so that the re-optimizations that follow each pgbench run's new connections (a few deopts
 * on code paths the first connections' setup never took) fall outside the window; transactions
 * are those pgbench's per-transaction log (`-l`) shows completed inside the window.
 *
 * `--calls` (with `--callgrind N`): also the main thread's calls per transaction to V8's builtins
 * that make typed arrays, ICs and microtasks, with their callers (callgrind-calls.ts): the count
 * of typed arrays made, where `--top`'s `CreateTypedArray` line is their instructions.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSshd } from '../../test/harness/sshd.js';
import { freePort } from '../../test/harness/net.js';
import { pgEnv, runPgTool } from '../../test/postgres-helpers.js';
import { ALGORITHM_SETS, BENCH_SSHD_CONFIG, loginOf, type LoginSpec } from '../config.js';
import { preparePgbench } from '../pgbench.js';
import { connectLocal } from '../scenarios.js';
import { tunnelCommand } from '../tunnels.js';
import { callCounts } from './callgrind-calls.js';
import { topFunctions } from './callgrind-top.js';

interface Variant {
  name: string;
  dir?: string;
}

function parseArgs(argv: string[]): { variants: Variant[]; rounds: number; seconds: number; callgrind: number; top: number; window: number; skip: number; syscalls: boolean; calls: boolean } {
  const o = { variants: [] as Variant[], rounds: 5, seconds: 5, callgrind: 0, top: 0, window: 0, skip: 15, syscalls: false, calls: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--syscalls') {
      o.syscalls = true;
      continue;
    }
    if (a === '--calls') {
      o.calls = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--variant') {
      if (v === 'openssh') o.variants.push({ name: 'openssh' });
      else {
        const [name, dir] = v.split(/=(.*)/s) as [string, string];
        o.variants.push({ name, dir: resolve(dir) });
      }
    } else if (a === '--rounds') o.rounds = Number(v);
    else if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--callgrind') o.callgrind = Number(v);
    else if (a === '--top') o.top = Number(v);
    else if (a === '--window') o.window = Number(v);
    else if (a === '--skip') o.skip = Number(v);
    else throw new Error(`unknown option ${a}`);
  }
  if (o.variants.length === 0) throw new Error('give at least one --variant');
  return o;
}

const TICK_US = 1e6 / 100; // USER_HZ

/** utime and stime of the whole process (all threads), µs. */
function cpuUs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * TICK_US, sys: Number(f[12]) * TICK_US };
}

/** Voluntary and involuntary context switches of all of a process's threads. */
function ctxSwitches(pid: number): { vol: number; invol: number } {
  let vol = 0;
  let invol = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      vol += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      invol += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { vol, invol };
}

/** Every descendant of `root` (sshd's per-connection processes, below its listener). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(root);
  return out;
}

const SYSCALL_EVENTS = ['raw_syscalls:sys_enter', 'syscalls:sys_enter_read', 'syscalls:sys_enter_write', 'syscalls:sys_enter_epoll_pwait', 'syscalls:sys_enter_epoll_wait', 'syscalls:sys_enter_poll', 'syscalls:sys_enter_ppoll'];

/** `perf stat` counting system calls of `pids` (all their threads) until stopped. */
function perfStat(pids: number[]): { proc: ChildProcess; out: Promise<string> } {
  const proc = spawn('perf', ['stat', '-x', ',', ...SYSCALL_EVENTS.flatMap((e) => ['-e', e]), '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, out: new Promise((res) => proc.once('exit', () => res(err))) };
}

/** Per-transaction counts from perf stat's CSV: all, read, write, waits. */
function syscallCounts(csv: string, n: number): Record<string, number> {
  const c = new Map<string, number>();
  for (const line of csv.split('\n')) {
    const f = line.split(',');
    if (f.length > 2) c.set(f[2]!, Number(f[0]));
  }
  const g = (e: string): number => c.get(e) ?? 0;
  return {
    all: g('raw_syscalls:sys_enter') / n,
    read: g('syscalls:sys_enter_read') / n,
    write: g('syscalls:sys_enter_write') / n,
    wait: (g('syscalls:sys_enter_epoll_pwait') + g('syscalls:sys_enter_epoll_wait') + g('syscalls:sys_enter_poll') + g('syscalls:sys_enter_ppoll')) / n,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const set = ALGORITHM_SETS[0]!;
  const sshd = await startSshd({ config: BENCH_SSHD_CONFIG });
  const setup = await preparePgbench({ scale: 10, clients: 4, threads: 2, seconds: o.seconds, transactions: 100 });
  if (setup.kind !== 'ready') throw new Error(setup.note);
  const pg = setup.server;
  const login: LoginSpec = loginOf(sshd, { cipher: set.cipher, kex: set.kex, hostKey: set.hostKey });
  const results = new Map<string, { user: number; sys: number; tps: number }[]>(o.variants.map((v) => [v.name, []]));
  try {
    if (o.callgrind > 0) {
      const work = mkdtempSync(join(tmpdir(), 'pure-ssh-pgcg-'));
      for (let r = 0; r < o.rounds; r++) {
        for (const v of o.variants) {
          if (!v.dir) continue;
          const port = await freePort();
          const base = tunnelCommand('pure', login, [{ listenPort: port, host: pg.target.host, port: pg.target.port }]);
          const out = join(work, `${v.name}-${r}.callgrind`);
          const args = ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath, '--perf-basic-prof', join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))];
          const child = spawn('valgrind', args, { stdio: 'ignore', env: base.env });
          let counted = 0;
          try {
            (await connectLocal(port, 180_000)).destroy();
            const common = ['-S', '-c', '4', '-j', '2', '-n', '-h', '127.0.0.1', '-p', String(port), '-t', String(o.callgrind)];
            const target = { host: '127.0.0.1', port };
            await runPgTool(pg.pg, 'pgbench', common, target, { timeoutMs: 600_000 });
            if (o.window > 0) {
              const logs = join(work, `${v.name}-${r}-log`);
              mkdirSync(logs);
              const long = [...common.slice(0, -2), '-T', String(o.skip + o.window + 130), '-l', '--log-prefix', join(logs, 'pgbench')];
              // Spawned here, not with runPgTool: it is stopped 5 s after the window (by then its
              // buffered log has written every transaction of the window).
              const bench = spawn(join(pg.pg.binDir, 'pgbench'), long, { env: pgEnv(target), stdio: 'ignore' });
              const run = new Promise((res) => bench.once('exit', res));
              // At least --skip seconds, and until 4,000 transactions are logged (pgbench's log is
              // buffered: a lower bound): on a loaded machine the re-optimizations take longer.
              const started = Date.now();
              for (;;) {
                await new Promise((res) => setTimeout(res, 500));
                if (Date.now() - started < o.skip * 1000) continue;
                let lines = 0;
                for (const f of readdirSync(logs)) lines += readFileSync(join(logs, f), 'utf8').split('\n').length - 1;
                if (lines >= 4000 || Date.now() - started > (o.skip + 120) * 1000) break;
              }
              execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
              const on = Date.now() * 1000;
              await new Promise((res) => setTimeout(res, o.window * 1000));
              execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
              const off = Date.now() * 1000;
              await new Promise((res) => setTimeout(res, 5000));
              bench.kill('SIGTERM');
              await run;
              // Each line: client_id transaction_no latency_us script_no epoch_s epoch_us (completion).
              for (const f of readdirSync(logs)) {
                for (const line of readFileSync(join(logs, f), 'utf8').split('\n')) {
                  const x = line.split(' ');
                  if (x.length < 6) continue;
                  const t = Number(x[4]) * 1e6 + Number(x[5]);
                  if (t >= on && t < off) counted++;
                }
              }
            } else {
              execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
              await runPgTool(pg.pg, 'pgbench', common, target, { timeoutMs: 600_000 });
              execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
              counted = 4 * o.callgrind;
            }
          } finally {
            child.kill('SIGTERM');
            await new Promise((res) => (child.exitCode !== null ? res(undefined) : child.once('exit', res)));
          }
          // One file per thread (OUT-01 the main thread): V8's optimizing compiler runs on worker
          // threads, and how much of its work falls in the window varies from run to run by more
          // than most changes measured here (4-21k instructions per transaction seen).
          const files = readdirSync(work).filter((f) => f.startsWith(`${v.name}-${r}.callgrind-`));
          let total = 0;
          let main = 0;
          for (const f of files) {
            const t = Number(/^totals:\s+(\d+)/m.exec(readFileSync(join(work, f), 'utf8'))?.[1] ?? 0);
            total += t;
            if (f.endsWith('-01')) main = t;
          }
          const per = (x: number): string => (x / counted).toFixed(0);
          console.log(`${v.name} round ${r}: ${per(total)} Ir per transaction, main thread ${per(main)} (${counted} transactions; ${out}-*)`);
          if (o.top > 0) for (const l of topFunctions(`${out}-01`, child.pid!, o.top, counted)) console.log(l);
          if (o.calls) for (const l of callCounts(`${out}-01`, child.pid!, counted)) console.log(l);
        }
      }
      return;
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const v of o.variants) {
        const port = await freePort();
        const base = tunnelCommand(v.dir ? 'pure' : 'openssh', login, [{ listenPort: port, host: pg.target.host, port: pg.target.port }]);
        const args = v.dir ? [join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))] : base.args;
        const child = spawn(v.dir ? process.execPath : base.cmd, args, { stdio: 'ignore', env: base.env });
        try {
          (await connectLocal(port, 20_000)).destroy();
          const common = ['-S', '-c', '4', '-j', '2', '-n', '-h', '127.0.0.1', '-p', String(port)];
          const target = { host: '127.0.0.1', port };
          await runPgTool(pg.pg, 'pgbench', ['-T', '1', ...common], target, { timeoutMs: 60_000 });
          const sessions = o.syscalls ? descendants(sshd.pid) : [];
          const perfClient = o.syscalls ? perfStat([child.pid!]) : undefined;
          const perfSshd = o.syscalls ? perfStat(sessions) : undefined;
          if (o.syscalls) await new Promise((res) => setTimeout(res, 300));
          const x0 = o.syscalls ? ctxSwitches(child.pid!) : undefined;
          const s0 = sessions.map((p) => cpuUs(p));
          const c0 = cpuUs(child.pid!);
          const run = await runPgTool(pg.pg, 'pgbench', ['-T', String(o.seconds), ...common], target, { timeoutMs: o.seconds * 1000 + 60_000 });
          const c1 = cpuUs(child.pid!);
          const s1 = sessions.map((p) => cpuUs(p));
          const x1 = o.syscalls ? ctxSwitches(child.pid!) : undefined;
          perfClient?.proc.kill('SIGINT');
          perfSshd?.proc.kill('SIGINT');
          // -T prints "processed: N" without the "/expected" parsePgbench wants.
          const m = /actually processed: (\d+)/.exec(run.stdout);
          if (!m) throw new Error(`pgbench printed no processed count: ${run.stdout}${run.stderr}`);
          const n = Number(m[1]);
          const s = { tps: Number(/tps = ([\d.]+)/.exec(run.stdout)?.[1] ?? 0) };
          results.get(v.name)!.push({ user: (c1.user - c0.user) / n, sys: (c1.sys - c0.sys) / n, tps: s.tps ?? 0 });
          process.stderr.write(`${v.name}: ${((c1.user - c0.user) / n).toFixed(1)} µs user, ${((c1.sys - c0.sys) / n).toFixed(1)} µs sys per transaction, ${s.tps?.toFixed(0)} tps\n`);
          if (perfClient && perfSshd && x0 && x1) {
            const fmt = (r: Record<string, number>): string => Object.entries(r).map(([k, x]) => `${k} ${x.toFixed(2)}`).join(', ');
            const sshdCpu = s1.reduce((a, c, i) => a + c.user + c.sys - s0[i]!.user - s0[i]!.sys, 0) / n;
            process.stderr.write(
              `  ${v.name} per transaction: tunnel syscalls ${fmt(syscallCounts(await perfClient.out, n))}; ctx switches ${((x1.vol - x0.vol) / n).toFixed(2)} vol + ${((x1.invol - x0.invol) / n).toFixed(2)} invol; ` +
                `sshd syscalls ${fmt(syscallCounts(await perfSshd.out, n))}, CPU ${sshdCpu.toFixed(1)} µs\n`,
            );
          }
        } finally {
          child.kill('SIGTERM');
          await new Promise((res) => (child.exitCode !== null ? res(undefined) : child.once('exit', res)));
        }
      }
    }
    console.log(`medians over ${o.rounds} rounds of pgbench -S -c 4 -j 2 -T ${o.seconds}: user µs / system µs per transaction, tps`);
    for (const [name, xs] of results) {
      console.log(
        `${name}: ${median(xs.map((x) => x.user)).toFixed(1)} / ${median(xs.map((x) => x.sys)).toFixed(1)} µs, ${median(xs.map((x) => x.tps)).toFixed(0)} tps` +
          ` (user: ${xs.map((x) => x.user.toFixed(1)).join(' ')})`,
      );
    }
  } finally {
    await pg.stop();
    await sshd.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
