/**
 * pure-ssh/web in workerd (Cloudflare's Workers runtime, npm `workerd`): the worker dials sshd
 * with connect() from cloudflare:sockets. workerd refuses loopback unless the worker's outbound
 * network service allows "local" (and "private"), so the config below does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { bundle } from './runtimes/bundle.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { startHelper, type Helper } from './runtimes/procs.js';
import type { ScenarioResult } from './runtimes/scenario.js';
import { WORKERD, workerdConfig } from './runtimes/workerd.js';

describeInterop('pure-ssh/web in workerd against sshd', () => {
  let f: RuntimeFixture;
  let dir: string;
  let workerd: Helper;
  beforeAll(async () => {
    f = await startRuntimeFixture();
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-workerd-'));
    writeFileSync(join(dir, 'worker.mjs'), await bundle('worker-entry.ts', { external: ['cloudflare:sockets'] }));
    writeFileSync(join(dir, 'config.capnp'), workerdConfig());
    workerd = await startHelper(WORKERD, (p) => ['serve', join(dir, 'config.capnp'), `--socket-addr=http=127.0.0.1:${p}`], { cwd: dir });
  }, 60_000);
  afterAll(async () => {
    await workerd?.stop();
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('handshake, host key check, key login, hash-verified transfers, slow reader bounded', async () => {
    const res = await fetch(`http://127.0.0.1:${workerd.port}/`, { method: 'POST', body: JSON.stringify(f.params) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`worker: ${res.status} ${text}\nworkerd: ${workerd.logs()}`);
    await checkResult(f, JSON.parse(text) as ScenarioResult, /^workerd/);
  }, 60_000);
});
