/**
 * Rounds inside one runtime process, for bench/runtimes/ab.ts: one connection, then rounds of
 * down / up with each variant in turn (globalThis.__pureSshVariant), each timed in phases (open,
 * transfer, tail), so load changes hit every variant alike and a fixed delay stands out from
 * the throughput. Returns the times in ms per variant, and the channel events (ms since the epoch).
 */
import { connect, type ByteStreamPair, type CryptoProvider } from '../../src/web/index.js';
import { xorshiftChunks, type ScenarioParams } from '../../test/runtimes/scenario.js';

export interface ProbeParams extends ScenarioParams {
  variants: string[];
  reps: number;
  dir: 'down' | 'up' | 'both';
}

export async function probe(dial: () => ByteStreamPair | Promise<ByteStreamPair>, p: ProbeParams, nodeCrypto?: CryptoProvider) {
  const crypto = p.crypto === 'node' ? nodeCrypto : undefined;
  const events: string[] = [];
  const debug = (m: string) => void (/eof|closed/.test(m) && events.push(`${Date.now()} ${m}`));
  const ssh = await connect({ host: p.host, port: p.port, username: p.username, privateKey: p.clientKey, crypto, transport: dial(), knownHosts: p.knownHosts, debug });
  const out: Record<string, { down: number[]; up: number[]; phases?: number[][]; downPhases?: number[][] }> = {};
  const chunks = [...xorshiftChunks(p.sinkBytes, 7)];
  const g = globalThis as { __pureSshVariant?: string };
  try {
    for (let rep = -1; rep < p.reps; rep++) {
      for (const v of p.variants) {
        g.__pureSshVariant = v;
        const o = (out[v] ??= { down: [], up: [] });
        if (p.dir !== 'up') {
          const t0 = performance.now();
          const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: p.sourcePort });
          const t1 = performance.now();
          const r = ch.readable.getReader();
          let n = 0;
          let last = 0;
          for (;;) {
            const { done, value } = await r.read();
            if (done) break;
            n += value.length;
            last = performance.now();
          }
          if (n !== p.sourceBytes) throw new Error(`got ${n}`);
          const t2 = performance.now();
          if (rep >= 0) {
            o.down.push(t2 - t0);
            (o.downPhases ??= []).push([t1 - t0, last - t1, t2 - last]);
          }
        }
        if (p.dir !== 'down') {
          const t1 = performance.now();
          const up = await ssh.openDirectTcpip({ host: '127.0.0.1', port: p.sinkPort });
          const t2 = performance.now();
          const w = up.writable.getWriter();
          for (const chunk of chunks) await w.write(chunk);
          await w.close();
          events.push(`${Date.now()} writer closed`);
          const t3 = performance.now();
          const r = up.readable.getReader();
          while (!(await r.read()).done);
          const t4 = performance.now();
          if (rep >= 0) {
            o.up.push(t4 - t1);
            (o.phases ??= []).push([t2 - t1, t3 - t2, t4 - t3]);
          }
        }
      }
    }
  } finally {
    await ssh.close();
  }
  return { ...out, events };
}
