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

const mbps = (bytes: number, ms: number) => (ms > 0 ? (bytes / 1e6 / (ms / 1000)).toFixed(1) : '∞');

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

it('throughput per runtime', async () => {
  const f = await startRuntimeFixture();
  const source = await startSourceServer(DOWN, 9);
  const sink = await startSinkServer();
  const rows: string[] = [];
  try {
    const params = { ...f.params, sourcePort: source.port, sourceBytes: DOWN, sinkPort: sink.port, sinkBytes: UP, rounds: ROUNDS };
    for (const crypto of ['runtime', 'pure'] as const) {
      const r = await nodeLibrary(f, crypto, source.port, sink.port);
      rows.push(`| Node.js ${process.version}, library (\`pure-ssh\`, crypto: ${crypto}) | ${r.cipher} | ${mbps(DOWN, r.downMs)} | ${mbps(UP, r.upMs)} |`);
    }
    for (const rt of ['node', 'bun', 'deno', 'chromium', 'workerd'] as RuntimeName[]) {
      const r = await runIn(rt, params);
      if (r.downSha256 !== source.sha256) throw new Error(`${rt}: first round corrupted`);
      const via = rt === 'chromium' ? ' via websockify' : '';
      rows.push(`| ${r.runtime}, \`pure-ssh/web\`${via} | ${r.cipher} | ${mbps(DOWN, r.downMs)} | ${mbps(UP, r.upMs)} |`);
    }
  } finally {
    await Promise.all([source.close(), sink.close()]);
    await f.close();
  }
  const table = [
    `Warm throughput, ${DOWN / MiB} MiB down / ${UP / MiB} MiB up per round, last of ${ROUNDS} rounds, sshd 9.2 on loopback,`,
    `${cpus()[0]?.model ?? 'CPU'} (${new Date().toISOString().slice(0, 10)}):`,
    '',
    '| runtime | cipher | down MB/s | up MB/s |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  console.log(table);
  writeFileSync(new URL('./results.md', import.meta.url), table);
}, 600_000);
