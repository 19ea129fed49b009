/**
 * pure-ssh/web in workerd (Cloudflare's Workers runtime, npm `workerd`): the worker dials sshd
 * with connect() from cloudflare:sockets. workerd refuses loopback unless the worker's outbound
 * network service allows "local" (and "private"): see runtimes/workerd.ts.
 */
import { afterAll, beforeAll, it } from 'vitest';
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
    await checkResult(f, await runIn('workerd', f.params), /^workerd/);
  }, 60_000);
});
