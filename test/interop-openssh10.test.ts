/**
 * OpenSSH 10 as a real peer (built by scripts/build-openssh.sh; its sshd offers the
 * post-quantum mlkem768x25519-sha256 first): key exchange, host key checking, key login, a
 * local forward carrying hash-verified data both ways, and server-initiated rekeys.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { HostKeyError } from '../src/errors.js';
import { defaultAlgorithms } from '../src/algorithms.js';
import { connectTo } from './harness/client.js';
import { cliEnv, itWithHome, processHome } from './harness/home.js';
import {
  deterministicChunks,
  deterministicSha256,
  dial,
  hashStream,
  startEchoServer,
  startSinkServer,
  startSourceServer,
  type SinkServer,
  type SourceServer,
  type TestServer,
} from './harness/net.js';
import { describeInteropOpenssh10, startSshd, type SshdHandle } from './harness/sshd.js';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;

/** The server's effective algorithm lists, from `sshd -T` on its own config. */
async function serverAlgorithms(sshd: SshdHandle): Promise<{ kex: string[]; ciphers: string[] }> {
  const { stdout } = await execFileP(sshd.openssh.sshd, ['-T', '-f', sshd.configPath]);
  const list = (keyword: string) => {
    const line = stdout.split('\n').find((l) => l.startsWith(`${keyword} `));
    if (!line) throw new Error(`sshd -T printed no ${keyword}:\n${stdout}`);
    return line.slice(keyword.length + 1).trim().split(',');
  };
  return { kex: list('kexalgorithms'), ciphers: list('ciphers') };
}

/** RFC 4253 §7.1: the chosen algorithm is the client's first one that the server also supports. */
function expectedChoice(client: readonly string[], server: readonly string[]): string | undefined {
  return client.find((a) => server.includes(a));
}

async function writeDeterministic(s: net.Socket, n: number, seed: number): Promise<void> {
  for (const chunk of deterministicChunks(n, seed)) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
}

describeInteropOpenssh10('OpenSSH 10 sshd', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let source: SourceServer;
  let sink: SinkServer;
  let echo: TestServer;
  beforeAll(async () => {
    sshd = await startSshd({ openssh: '10' });
    ssh = await connectTo(sshd, { strictHostKeyChecking: 'yes' });
    source = await startSourceServer(16 * MiB, 21);
    sink = await startSinkServer();
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await ssh?.close();
    await Promise.all([source?.close(), sink?.close(), echo?.close()]);
    await sshd?.stop();
  });

  it('is OpenSSH 10 and offers mlkem768x25519-sha256 first', async () => {
    expect(ssh.info.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_10\./);
    const server = await serverAlgorithms(sshd);
    expect(server.kex[0]).toBe('mlkem768x25519-sha256');
  });

  it('negotiates per RFC 4253 §7.1 with strict kex, logs in with the ed25519 key', async () => {
    const server = await serverAlgorithms(sshd);
    const info = ssh.info;
    const ours = defaultAlgorithms(info.cryptoProvider);
    expect(info.strictKex).toBe(true);
    // The first of our defaults (for the crypto provider in use) that the server also offers.
    expect(info.negotiated?.kex).toBe(expectedChoice(ours.kex, server.kex));
    expect(info.negotiated?.cipherClientToServer).toBe(expectedChoice(ours.cipher, server.ciphers));
    expect(info.negotiated?.cipherServerToClient).toBe(info.negotiated?.cipherClientToServer);
    expect(info.negotiated?.hostKey).toBe('ssh-ed25519');
    expect(info.sessionId?.length).toBe(32);
    expect(sshd.logs()).toMatch(/Accepted publickey for root from 127\.0\.0\.1 port \d+ ssh2: ED25519 /);
  });

  it('checks the host key: a different key for the host is refused, naming file and line', async () => {
    const file = join(sshd.dir, 'known_hosts_other');
    const other = await startSshd({ openssh: '10' });
    try {
      // The other server's key, recorded under this server's name.
      await writeFile(file, `[127.0.0.1]:${sshd.port} ${other.hostKeys[0]!.publicKey}\n`);
    } finally {
      await other.stop();
    }
    const err = await connectTo(sshd, { knownHosts: file, strictHostKeyChecking: 'yes' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_CHANGED');
    expect((err as HostKeyError).file).toBe(file);
    expect((err as HostKeyError).line).toBe(1);
  });

  it('carries 16 MiB down and 16 MiB up through a forwardLocal tunnel, verified by hash', async () => {
    const down = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: source.port } });
    const up = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: sink.port } });
    try {
      const c1 = await dial((down.address as { port: number }).port);
      const got = await hashStream(c1);
      expect(got.bytes).toBe(16 * MiB);
      expect(got.sha256).toBe(source.sha256);

      const c2 = await dial((up.address as { port: number }).port);
      const result = sink.next();
      await writeDeterministic(c2, 16 * MiB, 22);
      c2.end();
      const r = await result;
      expect(r.bytes).toBe(16 * MiB);
      expect(r.sha256).toBe(deterministicSha256(16 * MiB, 22));
      c2.destroy();
      expect(down.counters.bytesIn).toBe(16 * MiB);
      expect(up.counters.bytesOut).toBe(16 * MiB);
    } finally {
      await down.close();
      await up.close();
    }
  }, 60_000);

  it('echoes 4 MiB through one direct-tcpip channel, both directions hashed', async () => {
    const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
    const reply = hashStream(ch);
    for (const chunk of deterministicChunks(4 * MiB, 23)) {
      if (!ch.write(chunk)) await new Promise((r) => ch.once('drain', r));
    }
    ch.end();
    const r = await reply;
    expect(r.bytes).toBe(4 * MiB);
    expect(r.sha256).toBe(deterministicSha256(4 * MiB, 23));
  });

  itWithHome('its own ssh client (for side-by-side runs) negotiates mlkem768x25519-sha256 with it', async () => {
    const { stderr } = await execFileP(sshd.openssh.ssh, [...sshd.clientArgs, '-v', sshd.target, 'true'], { env: cliEnv(processHome()) });
    expect(stderr).toMatch(/kex: algorithm: mlkem768x25519-sha256/);
    expect(stderr).toMatch(/Remote protocol version 2\.0, remote software version OpenSSH_10\./);
  });
});

describeInteropOpenssh10('rekeying against OpenSSH 10 sshd', () => {
  let sshd: SshdHandle;
  let source: SourceServer;
  beforeAll(async () => {
    // RekeyLimit 1M: the server starts a key exchange after every MiB (TESTING.md).
    sshd = await startSshd({ openssh: '10', config: { RekeyLimit: '1M' } });
    source = await startSourceServer(16 * MiB, 24);
  });
  afterAll(async () => {
    await source?.close();
    await sshd?.stop();
  });

  it('keeps working across server-initiated rekeys, data intact', async () => {
    const logs: string[] = [];
    const ssh = await connectTo(sshd, { strictHostKeyChecking: 'yes', debug: (m) => logs.push(m) });
    try {
      expect(ssh.info.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_10\./);
      const sessionId = ssh.info.sessionId;
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: source.port });
      const got = await hashStream(ch);
      expect(got.bytes).toBe(16 * MiB);
      expect(got.sha256).toBe(source.sha256);
      const rekeys = logs.filter((l) => l.startsWith('rekey done')).length;
      // 16 MiB at one server-initiated rekey per MiB.
      expect(rekeys).toBeGreaterThanOrEqual(8);
      expect(ssh.info.kexCount).toBe(rekeys + 1);
      // RFC 4253 §7.2: the session identifier stays the first exchange's hash.
      expect(ssh.info.sessionId).toEqual(sessionId);
    } finally {
      await ssh.close();
    }
  }, 60_000);
});
