/**
 * What bench/tools/rss-peak.ts and bench/tools/bulk-cpu.ts share: the `--variant` they measure
 * side by side, the CPU time and page faults of a process from /proc, the peers their tunnels
 * run against, and the median.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSshd } from '../../test/harness/sshd.js';
import { ALGORITHM_SETS, BENCH_SSHD_CONFIG, loginOf, type EndpointsReady, type LoginSpec, type SinkResult } from '../config.js';
import { TOOL_DIR } from '../tunnels.js';
import { echoExchange } from '../scenarios.js';

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

/** The median of `xs` (not empty). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

/** What a tool's tunnels run against: see {@link startPeers}. */
export interface Peers {
  login: LoginSpec;
  /** The cipher the login names; undefined: each tool's default. */
  cipher: string | undefined;
  ready: EndpointsReady;
  /** A fresh directory: each variant's XDG_CACHE_HOME below it (its own code cache). */
  cacheDir: string;
  /** The next sink report of the endpoints (an upload's bytes and hash). */
  nextSink(): Promise<SinkResult>;
  stop(): Promise<void>;
}

/**
 * The bench's sshd (BENCH_SSHD_CONFIG) and data endpoints (bench/endpoints.ts, `size` bytes per
 * bulk transfer), and the login the tunnels use: the first algorithm set's, with `cipher` when
 * given (`defaults`: none named, each tool's own).
 */
export async function startPeers(o: { size: number; cipher?: string; cacheName: string }): Promise<Peers> {
  const set = ALGORITHM_SETS[0]!;
  const sshd = await startSshd({ config: BENCH_SSHD_CONFIG });
  const ep = fork(join(TOOL_DIR, '..', 'endpoints.js'), [JSON.stringify({ host: '127.0.0.1', bulkBytes: o.size, smallBytes: 1 })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let sinkWaiters: ((r: SinkResult) => void)[] = [];
  ep.on('message', (m: SinkResult) => {
    if (m.kind !== 'sink') return;
    const w = sinkWaiters;
    sinkWaiters = [];
    for (const f of w) f(m);
  });
  const cacheDir = mkdtempSync(join(tmpdir(), o.cacheName));
  const stop = async (): Promise<void> => {
    ep.kill();
    await sshd.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  };
  try {
    const ready = await new Promise<EndpointsReady>((res) => ep.on('message', (m: EndpointsReady) => m.kind === 'ready' && res(m)));
    const cipher = o.cipher === 'defaults' ? undefined : (o.cipher ?? set.cipher);
    const login: LoginSpec = loginOf(sshd, { ...(cipher ? { cipher } : {}), kex: set.kex, hostKey: set.hostKey });
    return { login, cipher, ready, cacheDir, nextSink: () => new Promise<SinkResult>((r) => sinkWaiters.push(r)), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Waits for a tunnel's local port to carry an echo (2 MiB, retried every 50 ms, ~5 s at most),
 * then warms it with three 64-byte round trips, as the bench does before it measures.
 */
export async function warmUp(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await echoExchange(port, 2 * 1024 * 1024);
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  for (let i = 0; i < 3; i++) await echoExchange(port, 64);
}
