/**
 * Interleaved A/B runs for work on the adapters (not part of bench:runtimes' table). Two modes:
 *
 * Whole scenario, one process per run, cases in turn (MB/s of the last round, CPU seconds):
 *
 *     PURE_SSH_AB='deno:pure,node-process:pure' PURE_SSH_AB_RUNS=5 \
 *       npx vitest run --config bench/runtimes/vitest.config.ts
 *
 * Rounds inside one process (bench/runtimes/probe.ts; Deno, Node's web streams, workerd), split
 * into phases: open (CHANNEL_OPEN to confirmation), transfer, tail (our EOF to the server's EOF;
 * download: last byte to EOF). Variants, if any, take turns by round, so load changes hit each
 * alike: a variant is handed to the runtime as `globalThis.__pureSshVariant`, for code under
 * test to read while experimenting. PURE_SSH_PROBE_EVENTS=1 prints the channel events with the
 * time the sink saw its end (ms since the epoch, one clock for all processes).
 *
 *     PURE_SSH_PROBE='deno:pure,node:pure,workerd:node' PURE_SSH_PROBE_DIR=up PURE_SSH_PROBE_REPS=10 \
 *       PURE_SSH_PROBE_VARIANTS=base npx vitest run --config bench/runtimes/vitest.config.ts
 *
 * A case is `runtime:crypto` or `runtime:crypto:variant`. PURE_SSH_AB_DOWN / _UP: MiB per round
 * (default 32 / 16).
 */
import { it } from 'vitest';
import { startSinkServer, startSourceServer } from '../../test/harness/net.js';
import { startRuntimeFixture } from '../../test/runtimes/fixture.js';
import { runIn, type RuntimeName } from '../../test/runtimes/runners.js';

const MiB = 1024 * 1024;
const DOWN = Number(process.env.PURE_SSH_AB_DOWN ?? 32) * MiB;
const UP = Number(process.env.PURE_SSH_AB_UP ?? 16) * MiB;
const RUNS = Math.max(1, Number(process.env.PURE_SSH_AB_RUNS ?? 5));
const CASES = (process.env.PURE_SSH_AB ?? 'deno:pure,node-process:pure').split(',').map((c) => c.split(':'));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

it.runIf(!process.env.PURE_SSH_PROBE)('A/B', async () => {
  const f = await startRuntimeFixture();
  const source = await startSourceServer(DOWN, 9);
  const sink = await startSinkServer();
  const got = new Map<string, { down: number[]; up: number[]; cpu: number[] }>();
  try {
    const params = { ...f.params, sourcePort: source.port, sourceBytes: DOWN, sinkPort: sink.port, sinkBytes: UP, rounds: 3 };
    for (let run = 0; run < RUNS; run++) {
      for (const [rt, crypto, variant] of CASES) {
        const key = [rt, crypto, variant].filter(Boolean).join(':');
        const r = await runIn(rt as RuntimeName, { ...params, crypto: crypto as 'pure' | 'node', variant } as typeof params);
        const down = DOWN / 1e6 / (r.downMs / 1000);
        const up = UP / 1e6 / (r.upMs / 1000);
        const g = got.get(key) ?? { down: [], up: [], cpu: [] };
        g.down.push(down);
        g.up.push(up);
        g.cpu.push(r.cpuSeconds ?? NaN);
        got.set(key, g);
        console.log(`${key.padEnd(28)} down ${down.toFixed(1).padStart(6)}  up ${up.toFixed(1).padStart(6)}  cpu ${(r.cpuSeconds ?? NaN).toFixed(2)}  ${r.cipher}`);
      }
    }
  } finally {
    await Promise.all([source.close(), sink.close()]);
    await f.close();
  }
  for (const [key, g] of got) {
    console.log(`median ${key.padEnd(28)} down ${median(g.down).toFixed(1)} up ${median(g.up).toFixed(1)} cpu ${median(g.cpu).toFixed(2)}`);
  }
}, 3_600_000);

/** The second mode (see the top of the file). */
it.runIf(!!process.env.PURE_SSH_PROBE)('probe', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { build } = await import('esbuild');
  const { startHelper } = await import('../../test/runtimes/procs.js');
  const { WORKERD, workerdConfig } = await import('../../test/runtimes/workerd.js');
  const run = promisify(execFile);
  const f = await startRuntimeFixture();
  const source = await startSourceServer(DOWN, 9);
  const sink = await startSinkServer();
  const net = await import('node:net');
  const sinkLog: string[] = [];
  const mySink = net.createServer((c) => {
    c.on('data', () => {});
    c.on('end', () => {
      sinkLog.push(`${Date.now()} sink end`);
      c.end();
    });
  });
  await new Promise<void>((r) => mySink.listen(0, '127.0.0.1', r));
  const sinkPort = (mySink.address() as import('node:net').AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-probe-'));
  const variants = (process.env.PURE_SSH_PROBE_VARIANTS ?? 'base').split(',');
  const reps = Number(process.env.PURE_SSH_PROBE_REPS ?? 8);
  const bundle = async (entry: string) => {
    const r = await build({ entryPoints: [new URL(entry, import.meta.url).pathname], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', write: false, external: ['node:*', 'cloudflare:sockets'] });
    return r.outputFiles[0]!.text;
  };
  try {
    for (const spec of process.env.PURE_SSH_PROBE!.split(',')) {
      const [rt, crypto] = spec.split(':');
      const p = { ...f.params, sourcePort: source.port, sourceBytes: DOWN, sinkPort, sinkBytes: UP, crypto, variants, reps, dir: process.env.PURE_SSH_PROBE_DIR ?? 'both' };
      let text: string;
      if (rt === 'deno') {
        writeFileSync(join(dir, 'p.mjs'), await bundle('probe-deno.ts'));
        text = (await run(new URL('../../node_modules/.bin/deno', import.meta.url).pathname, ['run', '-A', join(dir, 'p.mjs'), JSON.stringify(p)], { maxBuffer: 1 << 24 })).stdout;
      } else if (rt === 'node') {
        writeFileSync(join(dir, 'p.mjs'), await bundle('probe-node.ts'));
        text = (await run(process.execPath, [join(dir, 'p.mjs'), JSON.stringify(p)], { maxBuffer: 1 << 24 })).stdout;
      } else {
        writeFileSync(join(dir, 'worker.mjs'), await bundle('probe-worker.ts'));
        writeFileSync(join(dir, 'config.capnp'), workerdConfig());
        const w = await startHelper(WORKERD, (port) => ['serve', join(dir, 'config.capnp'), `--socket-addr=http=127.0.0.1:${port}`], { cwd: dir });
        try {
          const res = await fetch(`http://127.0.0.1:${w.port}/`, { method: 'POST', body: JSON.stringify(p) });
          text = await res.text();
          if (res.status !== 200) throw new Error(text);
        } finally {
          await w.stop();
        }
      }
      const r = JSON.parse(text) as Record<string, { down: number[]; up: number[] }>;
      if (process.env.PURE_SSH_PROBE_EVENTS) console.log([...(r.events as unknown as string[]), ...sinkLog].sort().join('\n'));
      sinkLog.length = 0;
      for (const v of variants) {
        const mbs = (bytes: number, ms: number[]) => ms.map((x) => bytes / 1e6 / (x / 1000));
        const d = mbs(DOWN, r[v]!.down);
        const u = mbs(UP, r[v]!.up);
        const fmt = (xs: number[]) => (xs.length ? `${median(xs).toFixed(1)} [${xs.map((x) => x.toFixed(0)).join(' ')}]` : '-');
        console.log(`${spec} ${v.padEnd(14)} down ${fmt(d)}  up ${fmt(u)}`);
        for (const [name, ph] of [['up', (r[v] as { phases?: number[][] }).phases], ['down', (r[v] as { downPhases?: number[][] }).downPhases]] as const) {
          if (ph?.length) console.log(`   ${name} open/transfer/tail ms: ${[0, 1, 2].map((i) => median(ph.map((x) => x[i]!)).toFixed(1)).join(' / ')}   all: ${ph.map((x) => x.map((y) => y.toFixed(0)).join('/')).join(' ')}`);
        }
      }
    }
  } finally {
    await Promise.all([source.close(), sink.close()]);
    await f.close();
  }
}, 3_600_000);
