/**
 * pure-ssh/web in Deno (Deno.connect's streams) and Bun (Bun.connect wrapped into streams),
 * each a real process from the npm packages `deno` and `bun`, against the real sshd.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { runIn } from './runtimes/runners.js';

describeInterop('pure-ssh/web in Deno and Bun against sshd', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    f = await startRuntimeFixture();
  });
  afterAll(() => f?.close());

  it('Deno: handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    await checkResult(f, await runIn('deno', f.params), /^Deno 2\./);
  }, 60_000);

  it('Bun: handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    await checkResult(f, await runIn('bun', f.params), /^Bun 1\./);
  }, 60_000);
});
