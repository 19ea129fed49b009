/**
 * Warm throughput of pure-ssh/web per runtime, beside the Node library, against the same local
 * sshd (a benchmark, not a test: it asserts only that the first round's data was intact).
 *
 *     npm run bench:runtimes      # writes bench/runtimes/results.md
 *
 * Each runtime opens one connection and runs ROUNDS rounds of DOWN MiB down then UP MiB up
 * through direct-tcpip channels; the first round is hash-verified (warm-up), the last is timed.
 * Numbers are MB/s (10^6 bytes per second) of channel payload on loopback, the median of RUNS
 * runs (all runtimes in turn, then again) with the range, and the CPU seconds (user + system)
 * of each runtime's process for its whole run (Chromium: every Chromium process, from the page's
 * start; its page runs with no DevTools client attached, see test/runtimes/browser.ts runInPage).
 * The goals compare each runtime with Node running
 * the same `pure-ssh/web` scenario in a process of its own, same cipher and provider (Chromium:
 * with Node through the same websockify). On a shared machine read the ratios and the CPU
 * figures, not the absolute throughput.
 *
 *     PURE_SSH_BENCH_RUNS=5 npm run bench:runtimes      # default 3
 *     PURE_SSH_BENCH_ONLY=bun,deno npm run bench:runtimes  # some runtimes, results.md untouched
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { it } from 'vitest';
import { connect } from '../../src/index.js';
import { startSinkServer, startSourceServer } from '../../test/harness/net.js';
import { startRuntimeFixture } from '../../test/runtimes/fixture.js';
import { runIn, type RuntimeName } from '../../test/runtimes/runners.js';

const MiB = 1024 * 1024;
const DOWN = 32 * MiB;
const UP = 16 * MiB;
const ROUNDS = 3;

/** PURE_SSH_BENCH_ONLY=bun,deno: only those runtimes (besides the Node library), results.md untouched. */
const only = (process.env.PURE_SSH_BENCH_ONLY ?? '').split(',').filter(Boolean);
const RUNS = Math.max(1, Number(process.env.PURE_SSH_BENCH_RUNS ?? 3));

/** The Node library (src/node) over a net.Socket: the baseline, with pure and node:crypto. */
async function nodeLibrary(f: Awaited<ReturnType<typeof startRuntimeFixture>>, crypto: 'pure' | 'runtime', sourcePort: number, sinkPort: number) {
  const ssh = await connect({
    host: f.sshd.host,
    port: f.sshd.port,
    username: f.sshd.user,
    privateKey: f.sshd.clientKey,
    knownHosts: f.sshd.knownHostsPath,
    crypto,
  });
  let downMs = 0;
  let upMs = 0;
  let cipher = '';
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = Date.now();
      const down = await ssh.openDirectTcpip({ host: '127.0.0.1', port: sourcePort });
      let n = 0;
      for await (const c of down) n += (c as Buffer).length;
      if (n !== DOWN) throw new Error(`received ${n} bytes`);
      downMs = Date.now() - t0;
      const t1 = Date.now();
      const up = await ssh.openDirectTcpip({ host: '127.0.0.1', port: sinkPort });
      const chunk = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < UP; sent += chunk.length) {
        if (!up.write(chunk)) await new Promise((r) => up.once('drain', r));
      }
      up.end();
      for await (const _ of up) void _;
      upMs = Date.now() - t1;
    }
    cipher = ssh.info.negotiated?.cipherServerToClient ?? '';
  } finally {
    await ssh.close();
  }
  return { downMs, upMs, cipher };
}

interface Sample {
  label: string;
  cipher: string;
  down: number;
  up: number;
  cpu?: number;
  bridgeCpu?: number;
}

const CASES: [RuntimeName, 'pure' | 'node'][] = [
  ['node-process', 'pure'],
  ['node-process', 'node'],
  ['bun', 'pure'],
  ['bun', 'node'],
  ['deno', 'pure'],
  ['deno', 'node'],
  ['node-websockify', 'pure'],
  ['chromium', 'pure'],
  ['workerd', 'pure'],
  ['workerd', 'node'],
];

/** The speed goals: [name, runtime row, Node row it is compared with, goal]. */
const GOALS: [string, RegExp, RegExp, number][] = [
  ['Bun, pure', /^Bun .*crypto pure$/, /^Node\.js \S+, `pure-ssh\/web`, crypto pure$/, 0.9],
  ['Bun, node:crypto', /^Bun .*crypto node$/, /^Node\.js \S+, `pure-ssh\/web`, crypto node$/, 0.9],
  ['Deno, pure', /^Deno .*crypto pure$/, /^Node\.js \S+, `pure-ssh\/web`, crypto pure$/, 1.0],
  ['Deno, node:crypto', /^Deno .*crypto node$/, /^Node\.js \S+, `pure-ssh\/web`, crypto node$/, 1.0],
  ['Deno pure / Node node:crypto (each runtime\'s best)', /^Deno .*crypto pure$/, /^Node\.js \S+, `pure-ssh\/web`, crypto node$/, 1.0],
  ['Chromium via websockify / Node via websockify', /^Chromium/, /^Node\.js .*via websockify/, 0.5],
  ['workerd, pure', /^workerd.*crypto pure$/, /^Node\.js \S+, `pure-ssh\/web`, crypto pure$/, 0.8],
  ['workerd, node:crypto', /^workerd.*crypto node$/, /^Node\.js \S+, `pure-ssh\/web`, crypto node$/, 0.8],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[], digits: number) =>
  xs.length === 1 ? xs[0]!.toFixed(digits) : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

it('throughput per runtime', async () => {
  const f = await startRuntimeFixture();
  const source = await startSourceServer(DOWN, 9);
  const sink = await startSinkServer();
  const runs: Sample[][] = [];
  const sample = (label: string, cipher: string, downMs: number, upMs: number, cpu?: number, bridgeCpu?: number): Sample => ({
    label,
    cipher,
    down: DOWN / 1e6 / (downMs / 1000),
    up: UP / 1e6 / (upMs / 1000),
    cpu,
    bridgeCpu,
  });
  try {
    const params = { ...f.params, sourcePort: source.port, sourceBytes: DOWN, sinkPort: sink.port, sinkBytes: UP, rounds: ROUNDS };
    for (let run = 0; run < RUNS; run++) {
      const rows: Sample[] = [];
      for (const crypto of ['runtime', 'pure'] as const) {
        const r = await nodeLibrary(f, crypto, source.port, sink.port);
        rows.push(sample(`Node.js ${process.version}, library (\`pure-ssh\`), crypto ${crypto === 'runtime' ? 'node' : 'pure'}`, r.cipher, r.downMs, r.upMs));
      }
      for (const [rt, crypto] of CASES) {
        if (only.length && !only.includes(rt)) continue;
        const r = await runIn(rt, { ...params, crypto });
        if (r.downSha256 !== source.sha256) throw new Error(`${rt}: first round corrupted`);
        const via = rt === 'chromium' || rt === 'node-websockify' ? ' via websockify' : '';
        rows.push(sample(`${r.runtime}, \`pure-ssh/web\`${via}, crypto ${r.cryptoProvider}`, r.cipher, r.downMs, r.upMs, r.cpuSeconds, r.bridgeCpuSeconds));
      }
      console.log(JSON.stringify(rows));
      runs.push(rows);
    }
  } finally {
    await Promise.all([source.close(), sink.close()]);
    await f.close();
  }
  const labels = runs[0]!.map((r) => r.label);
  const of = (label: string) => runs.map((rows) => rows.find((r) => r.label === label)!);
  const table = labels.map((label) => {
    const xs = of(label);
    const cpu = xs.every((x) => x.cpu !== undefined) ? spread(xs.map((x) => x.cpu!), 2) : '';
    const bridge = xs.every((x) => x.bridgeCpu !== undefined) ? ` + ${spread(xs.map((x) => x.bridgeCpu!), 2)}` : '';
    return `| ${label} | ${xs[0]!.cipher} | ${spread(xs.map((x) => x.down), 1)} | ${spread(xs.map((x) => x.up), 1)} | ${cpu}${bridge} |`;
  });
  const goals = GOALS.flatMap(([name, a, b, goal]) => {
    const la = labels.find((l) => a.test(l));
    const lb = labels.find((l) => b.test(l));
    if (!la || !lb) return [];
    const ra = of(la);
    const rb = of(lb);
    const down = ra.map((r, i) => r.down / rb[i]!.down);
    const up = ra.map((r, i) => r.up / rb[i]!.up);
    const cpu = ra.every((r, i) => r.cpu && rb[i]!.cpu) ? spread(ra.map((r, i) => rb[i]!.cpu! / r.cpu!), 2) : '';
    const met = median(down) >= goal && median(up) >= goal ? 'met' : median(down) >= goal || median(up) >= goal ? 'met one way' : 'not met';
    return [`| ${name} | ≥ ${goal.toFixed(1)}× | ${spread(down, 2)} | ${spread(up, 2)} | ${cpu} | ${met} |`];
  });
  const out = [
    `Warm throughput, ${DOWN / MiB} MiB down / ${UP / MiB} MiB up per round, last of ${ROUNDS} rounds, sshd 9.2 on loopback,`,
    `${cpus()[0]?.model ?? 'CPU'}, ${cpus().length} cores (${new Date().toISOString().slice(0, 10)}); median of ${RUNS} runs (range):`,
    '',
    '| runtime | cipher | down MB/s | up MB/s | CPU s (runtime + bridge) |',
    '|---|---|---|---|---|',
    ...table,
    '',
    'Goals (ratio runtime / Node, per run; CPU: Node\'s CPU seconds / the runtime\'s for the same work, > 1 = cheaper):',
    '',
    '| goal | target | down | up | CPU | |',
    '|---|---|---|---|---|---|',
    ...goals,
    '',
  ].join('\n');
  console.log(out);
  if (!only.length) writeFileSync(new URL('./results.md', import.meta.url), out);
}, 3_600_000);
