/**
 * pure-ssh/web in Deno (Deno.connect's streams) and Bun (Bun.connect wrapped into streams),
 * each a real process from the npm packages `deno` and `bun`, against the real sshd.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { bundle } from './runtimes/bundle.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import type { ScenarioResult } from './runtimes/scenario.js';

const run = promisify(execFile);
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

describeInterop('pure-ssh/web in Deno and Bun against sshd', () => {
  let f: RuntimeFixture;
  let dir: string;
  beforeAll(async () => {
    f = await startRuntimeFixture();
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-runtimes-'));
    writeFileSync(join(dir, 'deno.mjs'), await bundle('deno-entry.ts'));
    writeFileSync(join(dir, 'bun.mjs'), await bundle('bun-entry.ts'));
  });
  afterAll(async () => {
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Deno: handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    const { stdout } = await run(bin('deno'), ['run', '--no-prompt', '--allow-net=127.0.0.1', join(dir, 'deno.mjs'), JSON.stringify(f.params)], {
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      timeout: 60_000,
    });
    await checkResult(f, JSON.parse(stdout) as ScenarioResult, /^Deno 2\./);
  }, 60_000);

  it('Bun: handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    const { stdout } = await run(bin('bun'), [join(dir, 'bun.mjs'), JSON.stringify(f.params)], { timeout: 60_000 });
    await checkResult(f, JSON.parse(stdout) as ScenarioResult, /^Bun 1\./);
  }, 60_000);
});
