/**
 * Run the scenario in each runtime: Node (in this process, over Node's web streams), Deno and
 * Bun (child processes from the npm packages), Chromium (through websockify) and workerd.
 * Shared by the runtime tests and bench/runtimes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import type { ByteStreamPair } from '../../src/web/index.js';
import { launchChromium, WEBSOCKIFY } from './browser.js';
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { bundle } from './bundle.js';
import { startHelper } from './procs.js';
import { runScenario, type ScenarioParams, type ScenarioResult } from './scenario.js';
import { WORKERD, workerdConfig } from './workerd.js';

const run = promisify(execFile);
const bin = (name: string) => new URL(`../../node_modules/.bin/${name}`, import.meta.url).pathname;

export type RuntimeName = 'node' | 'deno' | 'bun' | 'chromium' | 'workerd';

/** A net.Socket as WHATWG streams (Node's Duplex.toWeb). */
export function dialNodeWeb(port: number): Promise<ByteStreamPair> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      s.off('error', reject);
      resolve(Duplex.toWeb(s) as unknown as ByteStreamPair);
    });
    s.once('error', reject);
  });
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
    case 'deno':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'deno.mjs'), await bundle('deno-entry.ts', { external: ['node:*'] }));
        const { stdout } = await run(bin('deno'), ['run', '--no-prompt', '--allow-net=127.0.0.1', join(dir, 'deno.mjs'), JSON.stringify(p)], {
          env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
          timeout: 120_000,
        });
        return JSON.parse(stdout) as ScenarioResult;
      });
    case 'bun':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'bun.mjs'), await bundle('bun-entry.ts', { external: ['node:*'] }));
        const { stdout } = await run(bin('bun'), [join(dir, 'bun.mjs'), JSON.stringify(p)], { timeout: 120_000 });
        return JSON.parse(stdout) as ScenarioResult;
      });
    case 'chromium':
      return withDir(async (dir) => {
        // websockify serves the page too (--web): Chromium's Local Network Access checks refuse
        // a public or opaque origin (about:blank) reaching 127.0.0.1; a page from 127.0.0.1 may.
        const web = join(dir, 'web');
        mkdirSync(web);
        writeFileSync(join(web, 'scenario.js'), await bundle('browser-entry.ts', { format: 'iife', platform: 'browser' }));
        writeFileSync(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><script src="scenario.js"></script>');
        const bridge = await startHelper(WEBSOCKIFY, (port) => ['--web', web, `127.0.0.1:${port}`, `127.0.0.1:${p.port}`]);
        const browser = await launchChromium(join(dir, 'profile'));
        try {
          const page = await browser.newPage();
          await page.goto(`http://127.0.0.1:${bridge.port}/index.html`);
          type Run = (p: ScenarioParams, u: string) => Promise<ScenarioResult>;
          return await page
            .evaluate(([params, url]) => (globalThis as unknown as { runScenarioOverWebSocket: Run }).runScenarioOverWebSocket(params as ScenarioParams, url as string), [
              p,
              `ws://127.0.0.1:${bridge.port}/`,
            ] as const)
            .catch((err: unknown) => {
              throw new Error(`${String(err)}\nwebsockify: ${bridge.logs()}`);
            });
        } finally {
          await browser.close();
          await bridge.stop();
        }
      });
    case 'workerd':
      return withDir(async (dir) => {
        writeFileSync(join(dir, 'worker.mjs'), await bundle('worker-entry.ts', { external: ['cloudflare:sockets', 'node:*'] }));
        writeFileSync(join(dir, 'config.capnp'), workerdConfig());
        const workerd = await startHelper(WORKERD, (port) => ['serve', join(dir, 'config.capnp'), `--socket-addr=http=127.0.0.1:${port}`], { cwd: dir });
        try {
          const res = await fetch(`http://127.0.0.1:${workerd.port}/`, { method: 'POST', body: JSON.stringify(p) });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`worker: ${res.status} ${text}\nworkerd: ${workerd.logs()}`);
          return JSON.parse(text) as ScenarioResult;
        } finally {
          await workerd.stop();
        }
      });
  }
}
