/**
 * pure-ssh/web in workerd (Cloudflare's Workers runtime, npm `workerd`): the worker dials sshd
 * with connect() from cloudflare:sockets. workerd refuses loopback unless the worker's outbound
 * network service allows "local" (and "private"): see runtimes/workerd.ts. With the default pure
 * TypeScript crypto, and with node:crypto (nodejs_compat) from pure-ssh/node-crypto.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { runIn } from './runtimes/runners.js';

describeInterop('pure-ssh/web in workerd against sshd', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    f = await startRuntimeFixture();
  });
  afterAll(() => f?.close());

  it('handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    const r = await runIn('workerd', f.params);
    await checkResult(f, r, /^workerd/);
    expect([r.cryptoProvider, r.cipher]).toEqual(['pure', 'chacha20-poly1305@openssh.com']);
    // workerd refuses to compile WebAssembly from bytes at run time: the TypeScript path, saying why.
    expect(r.chachaPoly).toMatch(/^TypeScript \(WebAssembly: .+\)$/);
  }, 60_000);

  it('with node:crypto (nodejs_compat, pure-ssh/node-crypto): AES-GCM by default, same checks', async () => {
    const r = await runIn('workerd', { ...f.params, crypto: 'node' });
    await checkResult(f, r, /^workerd/);
    expect([r.cryptoProvider, r.cipher]).toEqual(['node', 'aes128-gcm@openssh.com']);
  }, 60_000);
});
