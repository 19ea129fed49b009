/**
 * Client CPU per GiB of bulk downloads (or uploads) through tunnel variants, interleaved, with
 * several transfers per tunnel process: the first transfer after the bench's warm-up pays for the
 * JIT compiling the bulk path (a one-off per process), the later ones show the steady state.
 *
 * ```sh
 * npm run build && npx tsc -p bench/tsconfig.json
 * node dist-bench/bench/tools/bulk-cpu.js --runs 4 --size 268435456 --transfers 3 \
 *   --cipher aes128-gcm@openssh.com --variant base=/path/to/checkout --variant this=. --variant openssh
 * ```
 *
 * A variant is `NAME=DIR[|NODE FLAGS separated by spaces[|ENV=VALUE ...]]` (as rss-peak.ts) or
 * `openssh`. `--cipher defaults` pins no cipher. CPU is utime + stime of the tunnel process (all
 * threads) from /proc/PID/stat around each transfer; the download's reader counts bytes only (no
 * hash), so the machine has more room for the tunnel than in the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, parseVariant, procStat, startPeers, warmUp, type Peers, type Variant } from './variant.js';
import { freePort } from '../../test/harness/net.js';
import { SEED } from '../config.js';
import { connectLocal } from '../scenarios.js';
import { tunnelCommand } from '../tunnels.js';
import { writePattern } from '../data.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface Opts {
  runs: number;
  size: number;
  transfers: number;
  scenario: 'download' | 'upload';
  cipher?: string;
  variants: Variant[];
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { runs: 3, size: 256 * MiB, transfers: 2, scenario: 'download', variants: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--runs') o.runs = Number(v);
    else if (a === '--size') o.size = Number(v);
    else if (a === '--transfers') o.transfers = Number(v);
    else if (a === '--scenario') o.scenario = v as Opts['scenario'];
    else if (a === '--cipher') o.cipher = v;
    else if (a === '--variant') o.variants.push(parseVariant(v));
    else throw new Error(`unknown option ${a}`);
  }
  if (o.variants.length === 0) throw new Error('give at least one --variant');
  return o;
}

interface Transfer {
  /** CPU s/GiB, all of it and user only. */
  cpu: number;
  user: number;
  mibs: number;
  /** Minor page faults per MiB. */
  faults: number;
}

async function runOnce(v: Variant, o: Opts, peers: Peers): Promise<Transfer[]> {
  const { login, ready, cacheDir } = peers;
  const [warmPort, mainPort] = await Promise.all([freePort(), freePort()]);
  const forwards = [
    { listenPort: warmPort, host: '127.0.0.1', port: ready.ports.echo },
    { listenPort: mainPort, host: '127.0.0.1', port: o.scenario === 'download' ? ready.ports.bulk : ready.ports.sink },
  ];
  const base = tunnelCommand(v.dir ? 'pure' : 'openssh', login, forwards);
  const args = v.dir ? [...v.nodeArgs, join(v.dir, 'dist', 'node', 'cli-bin.cjs'), ...base.args.slice(base.args.indexOf('-N'))] : base.args;
  const env: NodeJS.ProcessEnv = { ...base.env, XDG_CACHE_HOME: join(cacheDir, v.name), ...v.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const child: ChildProcess = spawn(v.dir ? process.execPath : base.cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  const pid = child.pid!;
  try {
    await warmUp(warmPort);
    const out: Transfer[] = [];
    for (let t = 0; t < o.transfers; t++) {
      const c0 = procStat(pid);
      const t0 = performance.now();
      const sock = await connectLocal(mainPort);
      if (o.scenario === 'download') {
        let n = 0;
        await new Promise<void>((res, rej) => {
          sock.on('data', (d: Buffer) => (n += d.length));
          sock.once('end', () => res());
          sock.once('error', rej);
        });
        if (n !== o.size) throw new Error(`received ${n} of ${o.size}`);
      } else {
        sock.resume();
        sock.on('error', () => {});
        const result = peers.nextSink();
        await writePattern(sock, o.size, SEED.upload);
        sock.end();
        const r = await result;
        if (r.bytes !== o.size) throw new Error(`sink got ${r.bytes} of ${o.size}`);
      }
      const ms = performance.now() - t0;
      const c1 = procStat(pid);
      sock.destroy();
      const gib = o.size / GiB;
      out.push({ cpu: (c1.user + c1.sys - c0.user - c0.sys) / gib, user: (c1.user - c0.user) / gib, mibs: o.size / MiB / (ms / 1000), faults: (c1.faults - c0.faults) / (o.size / MiB) });
    }
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const peers = await startPeers({ size: o.size, cipher: o.cipher, cacheName: 'pure-ssh-bulkcpu-' });
  const cipher = peers.cipher;
  try {
    // One unmeasured transfer each: writes each variant's code cache, as the bench's earlier runs do.
    for (const v of o.variants) await runOnce(v, { ...o, transfers: 1 }, peers);
    const results = new Map<string, Transfer[][]>(o.variants.map((v) => [v.name, []]));
    for (let r = 0; r < o.runs; r++) {
      // Alternate the order each round, so neither variant always follows the other.
      const order = r % 2 === 0 ? o.variants : [...o.variants].reverse();
      for (const v of order) {
        const res = await runOnce(v, o, peers);
        results.get(v.name)!.push(res);
        process.stderr.write(`${v.name}: ${res.map((t) => `${t.cpu.toFixed(2)} s/GiB (user ${t.user.toFixed(2)}) ${t.mibs.toFixed(0)} MiB/s ${t.faults.toFixed(1)} faults/MiB`).join(' | ')}\n`);
      }
    }
    console.log(`${o.scenario}, ${o.size / MiB} MiB × ${o.transfers} per process, cipher ${cipher ?? 'defaults'}, ${o.runs} runs interleaved; medians (min–max)`);
    console.log('variant | transfer | CPU s/GiB | user s/GiB | MiB/s | minor faults/MiB');
    const col = (xs: number[], d = 2) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
    for (const [name, rs] of results) {
      for (let t = 0; t < o.transfers; t++) {
        const ts = rs.map((r) => r[t]!);
        console.log(`${name} | ${t + 1} | ${col(ts.map((x) => x.cpu))} | ${col(ts.map((x) => x.user))} | ${col(ts.map((x) => x.mibs), 0)} | ${col(ts.map((x) => x.faults), 1)}`);
      }
    }
  } finally {
    await peers.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
