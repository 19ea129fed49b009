/**
 * pure-ssh/web in headless Chromium (Debian's chromium, a page with no DevTools client attached:
 * test/runtimes/browser.ts runInPage), through
 * websockify (WebSocket to TCP) to the real sshd: the page holds the keys and the encryption;
 * the bridge only carries TCP bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { requireBrowserTools, runInPage } from './runtimes/browser.js';
import { bundle } from './runtimes/bundle.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { runIn } from './runtimes/runners.js';

describeInterop('pure-ssh/web in Chromium through websockify against sshd', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    requireBrowserTools();
    f = await startRuntimeFixture();
  });
  afterAll(() => f?.close());

  it('handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    const r = await runIn('chromium', f.params);
    await checkResult(f, r, /^Chromium \d+/);
    // The page compiles the chacha20-poly1305 module (no Content-Security-Policy forbids it).
    expect([r.cipher, r.chachaPoly]).toEqual(['chacha20-poly1305@openssh.com', 'WebAssembly SIMD']);
  }, 60_000);

  it('a URL or sub-protocol list the page\'s WebSocket refuses: connect() rejects with a UsageError naming it, Chromium\'s SyntaxError as its cause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-ws-url-'));
    try {
      const script = await bundle('ws-url-entry.ts', { format: 'iife', platform: 'browser' });
      const cases = [{ url: 'ftp://127.0.0.1/' }, { url: 'ws://127.0.0.1:1/#f' }, { url: 'ws://[::1' }, { url: 'ws://127.0.0.1:1/', protocols: ['a b'] }];
      const { result } = await runInPage<Record<string, unknown>[]>(script, 'webSocketRefusals', [cases], join(dir, 'profile'), 60_000);
      expect(result).toHaveLength(cases.length);
      result.forEach((r, i) => {
        const c = cases[i]!;
        const what = c.protocols ? `options.protocols ${JSON.stringify(c.protocols)}` : `url "${c.url}"`;
        expect(r, JSON.stringify(c)).toEqual({ name: 'UsageError', code: 'ERR_USAGE', message: expect.stringMatching(new RegExp(`^webSocketStreams: invalid ${what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: Failed to construct 'WebSocket': `)), cause: 'SyntaxError' });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('Node through the same bridge (webSocketStreams over Node\'s WebSocket; the benchmark\'s baseline for Chromium): same checks', async () => {
    const r = await runIn('node-websockify', f.params);
    await checkResult(f, r, /^Node\.js v20/);
    expect([r.cipher, r.chachaPoly]).toEqual(['chacha20-poly1305@openssh.com', 'WebAssembly SIMD']);
  }, 60_000);
});
