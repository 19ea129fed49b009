/**
 * Run the scenario in each runtime: Node (in this process, over Node's web streams), Deno and
 * Bun (child processes from the npm packages), Chromium (through websockify) and workerd.
 * Shared by the runtime tests and bench/runtimes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cpuSecondsOf, runInPage, WEBSOCKIFY } from './browser.js';
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { bundle } from './bundle.js';
import { startHelper } from './procs.js';
import { runScenario, type ScenarioParams, type ScenarioResult } from './scenario.js';
import { WORKERD, workerdConfig } from './workerd.js';

const run = promisify(execFile);
const bin = (name: string) => new URL(`../../node_modules/.bin/${name}`, import.meta.url).pathname;

/**
 * `node`: in this process; `node-process`: a Node process of its own, measured as Bun and Deno
 * are; `node-websockify`: Node through the same bridge as Chromium (the benchmark's baselines).
 */
export type RuntimeName = 'node' | 'node-process' | 'deno' | 'bun' | 'chromium' | 'workerd' | 'node-websockify';

import { dialNodeWeb } from './dial-node.js';

export { dialNodeWeb };

/** The bridge's CPU for a run: its per-connection children are counted once they have ended and been reaped. */
async function bridgeCpuAfter(pid: number, before: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 500));
  return cpuSecondsOf(pid) - before;
}

/** Run `cmd` to completion; its stdout parsed as the scenario result, with its CPU seconds (GNU time). */
async function runChild(dir: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ScenarioResult> {
  const times = join(dir, 'cpu.txt');
  const { stdout } = await run('/usr/bin/time', ['-f', '%U %S', '-o', times, cmd, ...args], { env, timeout: 120_000 });
  const [user, sys] = readFileSync(times, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ...(JSON.parse(stdout) as ScenarioResult), cpuSeconds: user! + sys! };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-runtime-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run the scenario in `runtime` against the sshd of `p`. */
export async function runIn(runtime: RuntimeName, p: ScenarioParams): Promise<ScenarioResult> {
  switch (runtime) {
    case 'node':
      return runScenario(() => dialNodeWeb(p.port), p, `Node.js ${process.version}`, nodeCryptoProvider);
    case 'node-process':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'node.mjs'), await bundle('node-entry.ts', { external: ['node:*'] }));
        return runChild(dir, process.execPath, [join(dir, 'node.mjs'), JSON.stringify(p)]);
      });
    case 'deno':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'deno.mjs'), await bundle('deno-entry.ts', { external: ['node:*'] }));
        const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
        return runChild(dir, bin('deno'), ['run', '--no-prompt', '--allow-net=127.0.0.1', join(dir, 'deno.mjs'), JSON.stringify(p)], env);
      });
    case 'bun':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'bun.mjs'), await bundle('bun-entry.ts', { external: ['node:*'] }));
        return runChild(dir, bin('bun'), [join(dir, 'bun.mjs'), JSON.stringify(p)]);
      });
    case 'node-websockify':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'node-ws.mjs'), await bundle('node-ws-entry.ts', { external: ['node:*'] }));
        const bridge = await startHelper(WEBSOCKIFY, (port) => [`127.0.0.1:${port}`, `127.0.0.1:${p.port}`]);
        try {
          const args = ['--experimental-websocket', '--no-warnings', join(dir, 'node-ws.mjs'), JSON.stringify(p), `ws://127.0.0.1:${bridge.port}/`];
          const bridgeCpu = cpuSecondsOf(bridge.child.pid!);
          const r = await runChild(dir, process.execPath, args);
          return { ...r, bridgeCpuSeconds: await bridgeCpuAfter(bridge.child.pid!, bridgeCpu) };
        } finally {
          await bridge.stop();
        }
      });
    case 'chromium':
      return withDir(async (dir) => {
        // A page with no DevTools client (runInPage): playwright's Network domain would copy
        // every WebSocket frame into a DevTools event and slow the page to less than half.
        const script = await bundle('browser-entry.ts', { format: 'iife', platform: 'browser' });
        const bridge = await startHelper(WEBSOCKIFY, (port) => [`127.0.0.1:${port}`, `127.0.0.1:${p.port}`]);
        try {
          const bridgeCpu = cpuSecondsOf(bridge.child.pid!);
          const r = await runInPage<ScenarioResult>(script, 'runScenarioOverWebSocket', [p, `ws://127.0.0.1:${bridge.port}/`], join(dir, 'profile')).catch((err: unknown) => {
            throw new Error(`${String(err)}\nwebsockify: ${bridge.logs()}`);
          });
          return { ...r.result, cpuSeconds: r.cpuSeconds, bridgeCpuSeconds: await bridgeCpuAfter(bridge.child.pid!, bridgeCpu) };
        } finally {
          await bridge.stop();
        }
      });
    case 'workerd':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'worker.mjs'), await bundle('worker-entry.ts', { external: ['cloudflare:sockets', 'node:*'] }));
        writeFileSync(join(dir, 'config.capnp'), workerdConfig());
        const workerd = await startHelper(WORKERD, (port) => ['serve', join(dir, 'config.capnp'), `--socket-addr=http=127.0.0.1:${port}`], { cwd: dir });
        try {
          const cpu = cpuSecondsOf(workerd.child.pid!);
          const res = await fetch(`http://127.0.0.1:${workerd.port}/`, { method: 'POST', body: JSON.stringify(p) });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`worker: ${res.status} ${text}\nworkerd: ${workerd.logs()}`);
          return { ...(JSON.parse(text) as ScenarioResult), cpuSeconds: cpuSecondsOf(workerd.child.pid!) - cpu };
        } finally {
          await workerd.stop();
        }
      });
  }
}
