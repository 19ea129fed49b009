/**
 * Compression against the real OpenSSH sshd, 9.2 (Debian's) and 10: with `Compression yes` a
 * direct-tcpip channel to an echo server carries highly compressible text and random data both
 * ways, hash-verified, across the server's rekeys (RekeyLimit 1M), and the wire carries far
 * fewer bytes than the text; `-C -v` names zlib@openssh.com; with sshd `Compression no`, `-C`
 * negotiates none.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { runCli } from './support/cli-run.js';
import { noise } from './support/noise.js';
import { connectTo } from './harness/client.js';
import { itWithHome } from './harness/home.js';
import { startEchoServer, type TestServer } from './harness/net.js';
import { describeInterop, describeInteropOpenssh10, sshdSuite, type OpenSshRelease } from './harness/sshd.js';

const MiB = 1024 * 1024;
const LINE = Buffer.from('2026-11-30T10:00:00Z INFO request served path=/api/v1/items status=200 bytes=5120\n');

function textChunk(n: number): Buffer {
  return Buffer.alloc(n, LINE);
}

/** Writes `chunks` into a channel to the echo server while hashing what comes back. */
async function echoThrough(ssh: SshClient, echoPort: number, chunks: Uint8Array[]): Promise<{ sent: string; got: string; bytes: number }> {
  const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echoPort });
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let total = 0;
  let received = 0;
  for (const c of chunks) total += c.length;
  const done = new Promise<void>((resolve, reject) => {
    ch.on('data', (d: Buffer) => {
      got.update(d);
      received += d.length;
      if (received >= total) resolve();
    });
    ch.on('error', reject);
    ch.on('close', () => (received >= total ? resolve() : reject(new Error(`channel closed after ${received} of ${total} bytes`))));
  });
  for (const c of chunks) {
    sent.update(c);
    if (!ch.write(c)) await new Promise((r) => ch.once('drain', r));
  }
  await done;
  ch.destroy();
  return { sent: sent.digest('hex'), got: got.digest('hex'), bytes: received };
}

function compressionSuite(release: OpenSshRelease) {
  // RekeyLimit 1M: the server starts a key exchange after every MiB on the wire (TESTING.md).
  const sshd = sshdSuite({ openssh: release, config: { Compression: 'yes', RekeyLimit: '1M' } });
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('text and random data both ways, hash-verified, across server rekeys; the text shrinks on the wire', async () => {
    const logs: string[] = [];
    const sock = net.connect(sshd.port, sshd.host);
    const ssh = await connectTo(sshd, {
      sock,
      strictHostKeyChecking: 'yes',
      compression: true,
      debug: (m) => logs.push(m),
    });
    expect(ssh.info.negotiated?.compressionClientToServer).toBe('zlib@openssh.com');
    expect(ssh.info.negotiated?.compressionServerToClient).toBe('zlib@openssh.com');

    // 16 MiB of repeated log lines each way: with compression a few hundred KiB on the wire.
    const readBefore = sock.bytesRead;
    const writtenBefore = sock.bytesWritten;
    const text = await echoThrough(ssh, echo.port, Array.from({ length: 16 }, () => textChunk(MiB)));
    expect(text.bytes).toBe(16 * MiB);
    expect(text.got).toBe(text.sent);
    expect(sock.bytesRead - readBefore).toBeLessThan(2 * MiB);
    expect(sock.bytesWritten - writtenBefore).toBeLessThan(2 * MiB);

    // Random data does not compress: 6 MiB each way makes the server rekey several times, then
    // text again on the streams each rekey started afresh.
    const kexBefore = ssh.info.kexCount;
    const mixed = await echoThrough(ssh, echo.port, [
      ...Array.from({ length: 6 }, (_, i) => noise(MiB, i + 1)),
      ...Array.from({ length: 4 }, () => textChunk(MiB)),
    ]);
    expect(mixed.bytes).toBe(10 * MiB);
    expect(mixed.got).toBe(mixed.sent);
    expect(ssh.info.kexCount - kexBefore).toBeGreaterThanOrEqual(5);
    expect(logs.filter((l) => l === 'Enabling compression at level 6.').length).toBe(ssh.info.kexCount);
    await ssh.close();
  });

  itWithHome('pure-ssh -C -v names zlib@openssh.com in the kex line', async () => {
    const run = runCli([
      '-C', '-v', '-N',
      '-p', String(sshd.port),
      '-i', sshd.clientKeyPath,
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      sshd.target,
    ]);
    try {
      await run.waitFor(/Authenticated to /);
      await run.waitFor(/Enabling compression at level 6\./);
      expect(run.stderr()).toMatch(/kex: server->client cipher: \S+ MAC: \S+ compression: zlib@openssh\.com\r\n/);
    } finally {
      await run.kill();
    }
  });
}

describeInterop('compression against sshd 9.2 (Compression yes)', () => compressionSuite('system'));
describeInteropOpenssh10('compression against sshd 10 (Compression yes)', () => compressionSuite('10'));

describeInterop('compression refused by sshd (Compression no)', () => {
  const sshd = sshdSuite({ config: { Compression: 'no' } });

  it('-C negotiates none and the session works uncompressed', async () => {
    const echo = await startEchoServer();
    const logs: string[] = [];
    try {
      const ssh = await connectTo(sshd, { compression: true, debug: (m) => logs.push(m) });
      expect(ssh.info.negotiated?.compressionClientToServer).toBe('none');
      expect(ssh.info.negotiated?.compressionServerToClient).toBe('none');
      const r = await echoThrough(ssh, echo.port, [textChunk(MiB)]);
      expect(r.got).toBe(r.sent);
      expect(logs.some((l) => l.startsWith('Enabling compression'))).toBe(false);
      await ssh.close();
    } finally {
      await echo.close();
    }
  });
});
