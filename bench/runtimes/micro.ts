/**
 * The packet ciphers alone, per runtime (no IO): why a runtime is slower than Node on the
 * transfer. `npx vitest run --config bench/runtimes/vitest.config.ts bench/runtimes/micro.ts`;
 * writes bench/runtimes/micro.md.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { cpuSecondsOf, launchChromium } from '../../test/runtimes/browser.js';
import { startHelper } from '../../test/runtimes/procs.js';
import { WORKERD, workerdConfig } from '../../test/runtimes/workerd.js';
import type { MicroResult } from './cipher-micro.js';

const run = promisify(execFile);
const bin = (name: string) => new URL(`../../node_modules/.bin/${name}`, import.meta.url).pathname;

async function bundle(entry: string, format: 'esm' | 'iife'): Promise<string> {
  const r = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    format,
    platform: format === 'esm' ? 'neutral' : 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    external: ['node:*'],
  });
  return r.outputFiles![0]!.text;
}

/**
 * workerd: its clock stands still during CPU work, so each case does a fixed amount of work
 * (cipher-micro-worker.ts) timed by the process's CPU seconds (/proc, 10 ms ticks): seal alone,
 * then seal and open, enough passes for at least 0.4 s, the least CPU of 3 tries of each.
 */
async function workerdRows(dir: string): Promise<MicroResult[]> {
  writeFileSync(join(dir, 'worker.mjs'), await bundle('cipher-micro-worker.ts', 'esm'));
  writeFileSync(join(dir, 'config.capnp'), workerdConfig());
  const w = await startHelper(WORKERD, (port) => ['serve', join(dir, 'config.capnp'), `--socket-addr=http=127.0.0.1:${port}`], { cwd: dir });
  const work = async (q: { cipher: string; provider: string; passes: number; open: boolean }) => {
    const before = cpuSecondsOf(w.child.pid!);
    const res = await fetch(`http://127.0.0.1:${w.port}/`, { method: 'POST', body: JSON.stringify(q) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`workerd: ${text}`);
    return { cpu: cpuSecondsOf(w.child.pid!) - before, bytes: (JSON.parse(text) as { bytes: number }).bytes };
  };
  const out: MicroResult[] = [];
  try {
    for (const provider of ['pure', 'node']) {
      for (const cipher of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com']) {
        await work({ cipher, provider, passes: 4, open: true });
        let passes = 2;
        while ((await work({ cipher, provider, passes, open: false })).cpu < 0.4) passes *= 2;
        let seal = Infinity;
        let both = Infinity;
        let bytes = 0;
        for (let i = 0; i < 3; i++) {
          const a = await work({ cipher, provider, passes, open: false });
          const b = await work({ cipher, provider, passes, open: true });
          seal = Math.min(seal, a.cpu);
          both = Math.min(both, b.cpu);
          bytes = a.bytes;
        }
        out.push({ cipher, provider, sealMBps: bytes / 1e6 / seal, openMBps: bytes / 1e6 / Math.max(both - seal, 0.01) });
      }
    }
  } finally {
    await w.stop();
  }
  return out;
}

it('cipher microbenchmark per runtime', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-micro-'));
  const rows: string[] = [];
  const add = (runtime: string, rs: MicroResult[]) => {
    for (const r of rs) rows.push(`| ${runtime} | ${r.cipher} | ${r.provider} | ${r.sealMBps.toFixed(0)} | ${r.openMBps.toFixed(0)} |`);
  };
  try {
    const script = join(dir, 'micro.mjs');
    writeFileSync(script, await bundle('cipher-micro-entry.ts', 'esm'));
    const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
    const version = async (cmd: string, args: string[]) => (await run(cmd, args, { env })).stdout.split('\n')[0]!.trim();
    add(`Node.js ${process.version}`, JSON.parse((await run(process.execPath, [script], { env })).stdout));
    add(`Bun ${await version(bin('bun'), ['--version'])}`, JSON.parse((await run(bin('bun'), [script], { env })).stdout));
    add(await version(bin('deno'), ['--version']), JSON.parse((await run(bin('deno'), ['run', '--no-prompt', script], { env })).stdout));
    add('workerd (MB per CPU second)', await workerdRows(dir));
    const browser = await launchChromium(join(dir, 'profile'));
    try {
      const page = await browser.newPage();
      await page.addScriptTag({ content: await bundle('cipher-micro-browser.ts', 'iife') });
      const ua = await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent);
      add(`Chromium ${ua.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'}`, await page.evaluate(() => (globalThis as unknown as { runMicro: () => MicroResult[] }).runMicro()));
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const table = [
    `Packet ciphers alone (no IO), 32 KiB packets, the best 2 MiB pass of about 1.5 s of sealing and opening, one process per runtime`,
    `(workerd, whose clock stands still while JavaScript runs: payload bytes per CPU second of the process, the least of 3 runs),`,
    `${cpus()[0]?.model ?? 'CPU'} (${new Date().toISOString().slice(0, 10)}); MB/s of payload:`,
    '',
    '| runtime | cipher | provider | seal MB/s | open MB/s |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  console.log(table);
  writeFileSync(new URL('./micro.md', import.meta.url), table);
}, 600_000);
