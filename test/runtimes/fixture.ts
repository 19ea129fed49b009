/**
 * The Node side of the runtime tests: a real sshd, the servers behind it (an 8 MiB source, a
 * hashing sink, a big source for the slow reader), the scenario's parameters, and the checks
 * every runtime's result must pass.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startSinkServer, startSourceServer, type SinkServer, type SourceServer } from '../harness/net.js';
import { startSshd, type SshdHandle } from '../harness/sshd.js';
import type { ScenarioParams, ScenarioResult } from './scenario.js';

const MiB = 1024 * 1024;
export const DOWN_BYTES = 8 * MiB;
export const UP_BYTES = 4 * MiB;

export interface RuntimeFixture {
  sshd: SshdHandle;
  params: ScenarioParams;
  source: SourceServer;
  sink: SinkServer;
  close(): Promise<void>;
}

export async function startRuntimeFixture(): Promise<RuntimeFixture> {
  const sshd = await startSshd();
  const source = await startSourceServer(DOWN_BYTES, 3);
  const big = await startSourceServer(256 * MiB, 5);
  const sink = await startSinkServer();
  const params: ScenarioParams = {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    clientKey: sshd.clientKey,
    knownHosts: readFileSync(sshd.knownHostsPath, 'utf8'),
    wrongKnownHosts: otherKeyLine(sshd),
    sourcePort: source.port,
    sourceBytes: DOWN_BYTES,
    sinkPort: sink.port,
    sinkBytes: UP_BYTES,
    bigSourcePort: big.port,
  };
  return {
    sshd,
    params,
    source,
    sink,
    async close() {
      await Promise.all([source.close(), big.close(), sink.close()]);
      await sshd.stop();
    },
  };
}

/** A known_hosts line for the sshd's host name with a freshly generated (wrong) key. */
function otherKeyLine(sshd: SshdHandle): string {
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-wrongkey-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    return `[${sshd.host}]:${sshd.port} ${pub}\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What every runtime must have done. */
export async function checkResult(f: RuntimeFixture, r: ScenarioResult, runtime: RegExp): Promise<void> {
  expect(r.runtime).toMatch(runtime);
  expect(r.hostKeyRefusal).toBe('ERR_HOST_KEY_CHANGED');
  expect(r.kex).not.toBe('');
  // The adapter made the kex key pair while the server's KEXINIT was on its way (sshd 9.2: our
  // first preference, ML-KEM, is then discarded for what was negotiated).
  expect(r.kexPrepared).toMatch(/^kex: (using the .* key pair made while waiting|discarded the prepared)/);
  expect(r.downBytes).toBe(DOWN_BYTES);
  expect(r.downSha256).toBe(f.source.sha256);
  const sunk = f.sink.results.find((d) => d.sha256 === r.upSha256);
  expect(sunk, `the sink received ${JSON.stringify(f.sink.results)}, the runtime sent ${r.upSha256}`).toBeDefined();
  expect(sunk!.bytes).toBe(UP_BYTES);
  // The SSH window (2 MiB) bounds what a reader that does not read can be sent.
  expect(r.slowReaderBuffered).toBeGreaterThan(0);
  expect(r.slowReaderBuffered).toBeLessThanOrEqual(2 * MiB + 64 * 1024);
}
