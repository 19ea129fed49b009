/**
 * pure-ssh/web in headless Chromium (Debian's chromium driven by playwright-core), through
 * websockify (WebSocket to TCP) to the real sshd: the page holds the keys and the encryption;
 * the bridge only carries TCP bytes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { launchChromium, requireBrowserTools, WEBSOCKIFY } from './runtimes/browser.js';
import { bundle } from './runtimes/bundle.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { startHelper, type Helper } from './runtimes/procs.js';
import type { ScenarioParams, ScenarioResult } from './runtimes/scenario.js';

describeInterop('pure-ssh/web in Chromium through websockify against sshd', () => {
  let f: RuntimeFixture;
  let bridge: Helper;
  let browser: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    requireBrowserTools();
    f = await startRuntimeFixture();
    profile = mkdtempSync(join(tmpdir(), 'pure-ssh-chromium-'));
    // websockify serves the page too (--web): Chromium's Local Network Access checks refuse a
    // public or opaque origin (about:blank) reaching 127.0.0.1, a page from 127.0.0.1 may.
    const web = join(profile, 'web');
    mkdirSync(web);
    writeFileSync(join(web, 'scenario.js'), await bundle('browser-entry.ts', { format: 'iife', platform: 'browser' }));
    writeFileSync(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><script src="scenario.js"></script>');
    bridge = await startHelper(WEBSOCKIFY, (p) => ['--web', web, `127.0.0.1:${p}`, `127.0.0.1:${f.sshd.port}`]);
    browser = await launchChromium(join(profile, 'profile'));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
    await f?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${bridge.port}/index.html`);
    page.on('console', (m) => console.log(`[chromium] ${m.text()}`));
    const r = await page.evaluate(
      ([p, url]) =>
        (globalThis as unknown as { runScenarioOverWebSocket: (p: ScenarioParams, u: string) => Promise<ScenarioResult> }).runScenarioOverWebSocket(
          p as ScenarioParams,
          url as string,
        ),
      [f.params, `ws://127.0.0.1:${bridge.port}/`] as const,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nwebsockify: ${bridge.logs()}`);
    });
    await checkResult(f, r, /^Chromium \d+/);
  }, 60_000);
});
