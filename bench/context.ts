/**
 * The data endpoints process (bench/endpoints.ts) and the scenario context built on it, for
 * one bulk size: the classic scenarios, the cipher matrix and the profiler each start one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ALGORITHM_SETS, SEED, type BenchOptions, type EndpointConfig, type EndpointsReady, type SinkResult } from './config.js';
import { patternSha256 } from './data.js';
import type { BenchContext } from './scenarios.js';
import type { BenchServer } from './server.js';
import { TOOL_DIR } from './tunnels.js';

interface Endpoints {
  child: ChildProcess;
  ready: EndpointsReady;
  results: SinkResult[];
  waiters: Array<() => void>;
}

async function startEndpoints(config: EndpointConfig): Promise<Endpoints> {
  const child = fork(join(TOOL_DIR, '..', 'endpoints.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ep: Partial<Endpoints> & { results: SinkResult[]; waiters: Array<() => void> } = { child, results: [], waiters: [] };
  ep.ready = await new Promise<EndpointsReady>((resolve, reject) => {
    child.on('message', (m: EndpointsReady | SinkResult) => {
      if (m.kind === 'ready') resolve(m);
      else {
        ep.results.push(m);
        for (const w of ep.waiters.splice(0)) w();
      }
    });
    child.once('exit', (code) => reject(new Error(`data endpoints exited (${code})`)));
  });
  return ep as Endpoints;
}

/** A running endpoints process and the scenario context built on it, for one bulk size. */
export async function bulkContext(server: BenchServer, opts: BenchOptions, size: number): Promise<{ ctx: BenchContext; stop: () => void }> {
  const ep = await startEndpoints({ host: server.endpointListen, bulkBytes: size, smallBytes: opts.concurrentSize });
  const ctx: BenchContext = {
    opts: { ...opts, size },
    login: {
      host: server.host,
      port: server.port,
      user: server.user,
      keyPath: server.keyPath,
      knownHostsPath: server.knownHostsPath,
      algorithms: ALGORITHM_SETS[0],
    },
    endpointHost: server.endpointHost,
    endpoints: ep.ready,
    uploadSha256: patternSha256(size, SEED.upload),
    sinkCount: () => ep.results.length,
    sinkResult: (index) =>
      new Promise((res) => {
        const check = () => {
          if (ep.results.length > index) res(ep.results[index]);
          else ep.waiters.push(check);
        };
        check();
      }),
  };
  return { ctx, stop: () => ep.child.kill() };
}

