/**
 * Warm throughput of pure-ssh/web per runtime, beside the Node library, against the same local
 * sshd (a benchmark, not a test: it asserts only that the first round's data was intact).
 *
 *     npm run bench:runtimes      # writes bench/runtimes/results.md
 *
 * Each runtime opens one connection and runs ROUNDS rounds of DOWN MiB down then UP MiB up
 * through direct-tcpip channels; the first round is hash-verified (warm-up), the last is timed.
 * Numbers are MB/s (10^6 bytes per second) of channel payload on loopback, one run each, on a
 * shared machine: read them as ratios, not absolutes.
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

interface Row {
  label: string;
  cipher: string;
  down: number;
  up: number;
  cpu?: number;
  bridgeCpu?: number;
}

it('throughput per runtime', async () => {
  const f = await startRuntimeFixture();
  const source = await startSourceServer(DOWN, 9);
  const sink = await startSinkServer();
  const rows: Row[] = [];
  const row = (label: string, cipher: string, downMs: number, upMs: number, cpu?: number, bridgeCpu?: number) =>
    rows.push({ label, cipher, down: DOWN / 1e6 / (downMs / 1000), up: UP / 1e6 / (upMs / 1000), cpu, bridgeCpu });
  try {
    const params = { ...f.params, sourcePort: source.port, sourceBytes: DOWN, sinkPort: sink.port, sinkBytes: UP, rounds: ROUNDS };
    for (const crypto of ['runtime', 'pure'] as const) {
      const r = await nodeLibrary(f, crypto, source.port, sink.port);
      row(`Node.js ${process.version}, library (\`pure-ssh\`), crypto ${crypto === 'runtime' ? 'node' : 'pure'}`, r.cipher, r.downMs, r.upMs);
    }
    const cases: [RuntimeName, 'pure' | 'node'][] = [
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
    for (const [rt, crypto] of cases) {
      if (only.length && !only.includes(rt)) continue;
      const r = await runIn(rt, { ...params, crypto });
      if (r.downSha256 !== source.sha256) throw new Error(`${rt}: first round corrupted`);
      const via = rt === 'chromium' || rt === 'node-websockify' ? ' via websockify' : '';
      row(`${r.runtime}, \`pure-ssh/web\`${via}, crypto ${r.cryptoProvider}`, r.cipher, r.downMs, r.upMs, r.cpuSeconds, r.bridgeCpuSeconds);
    }
  } finally {
    await Promise.all([source.close(), sink.close()]);
    await f.close();
  }
  const table = [
    `Warm throughput, ${DOWN / MiB} MiB down / ${UP / MiB} MiB up per round, last of ${ROUNDS} rounds, sshd 9.2 on loopback,`,
    `${cpus()[0]?.model ?? 'CPU'} (${new Date().toISOString().slice(0, 10)}):`,
    '',
    '| runtime | cipher | down MB/s | up MB/s | CPU s (runtime + bridge) |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.cipher} | ${r.down.toFixed(1)} | ${r.up.toFixed(1)} | ${r.cpu === undefined ? '' : r.cpu.toFixed(2)}${r.bridgeCpu === undefined ? '' : ` + ${r.bridgeCpu.toFixed(2)}`} |`,
    ),
    '',
  ].join('\n');
  console.log(table);
  console.log(JSON.stringify(rows));
  if (!only.length) writeFileSync(new URL('./results.md', import.meta.url), table);
}, 900_000);
