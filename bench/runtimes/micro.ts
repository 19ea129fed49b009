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
import { launchChromium } from '../../test/runtimes/browser.js';
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
    `Packet ciphers alone (no IO), 32 KiB packets, the best 2 MiB pass of about 1.5 s of sealing and opening, one process per runtime,`,
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
