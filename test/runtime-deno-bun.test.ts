/**
 * pure-ssh/web in Deno (Deno.connect's streams) and Bun (Bun.connect wrapped into streams),
 * each a real process from the npm packages `deno` and `bun`, against the real sshd: with the
 * default pure TypeScript crypto, and with node:crypto injected from pure-ssh/node-crypto (both
 * runtimes implement node:crypto; Bun has no chacha20 there, the provider falls back to ours).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { runIn } from './runtimes/runners.js';

describeInterop('pure-ssh/web in Deno and Bun against sshd', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    f = await startRuntimeFixture();
  });
  afterAll(() => f?.close());

  for (const [runtime, version] of [
    ['deno', /^Deno 2\./],
    ['bun', /^Bun 1\./],
  ] as const) {
    const name = runtime === 'deno' ? 'Deno' : 'Bun';
    it(`${name}: handshake, host key check, key login, hash-verified transfers, slow reader bounded`, async () => {
      const r = await runIn(runtime, f.params);
      await checkResult(f, r, version);
      expect([r.cryptoProvider, r.cipher]).toEqual(['pure', 'chacha20-poly1305@openssh.com']);
    }, 60_000);

    it(`${name} with node:crypto (pure-ssh/node-crypto): AES-GCM by default, same checks`, async () => {
      const r = await runIn(runtime, { ...f.params, crypto: 'node' });
      await checkResult(f, r, version);
      expect([r.cryptoProvider, r.cipher]).toEqual(['node', 'aes128-gcm@openssh.com']);
    }, 60_000);
  }
});
