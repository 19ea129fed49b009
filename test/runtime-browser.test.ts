/**
 * pure-ssh/web in headless Chromium (Debian's chromium, a page with no DevTools client attached:
 * test/runtimes/browser.ts runInPage), through
 * websockify (WebSocket to TCP) to the real sshd: the page holds the keys and the encryption;
 * the bridge only carries TCP bytes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { requireBrowserTools } from './runtimes/browser.js';
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

  it('Node through the same bridge (webSocketStreams over Node\'s WebSocket; the benchmark\'s baseline for Chromium): same checks', async () => {
    const r = await runIn('node-websockify', f.params);
    await checkResult(f, r, /^Node\.js v20/);
    expect([r.cipher, r.chachaPoly]).toEqual(['chacha20-poly1305@openssh.com', 'WebAssembly SIMD']);
  }, 60_000);
});
