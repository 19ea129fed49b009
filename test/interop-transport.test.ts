/**
 * Issue 2 against the real OpenSSH sshd: key exchange, strict kex, host key checking, user
 * authentication and rekeying in both directions, with traffic across the rekeys.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { AuthenticationError, HostKeyError, SshError } from '../src/errors.js';
import { parsePrivateKey } from '../src/keys/privatekey.js';
import { connectTo } from './harness/client.js';
import { startEchoServer, startSourceServer, type TestServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

async function download(ssh: SshClient, port: number) {
  const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port });
  const h = createHash('sha256');
  let bytes = 0;
  for await (const d of ch) {
    h.update(d as Buffer);
    bytes += (d as Buffer).length;
  }
  return { bytes, sha256: h.digest('hex') };
}

function countRekeys(logs: string[]): number {
  return logs.filter((l) => l.startsWith('rekey done')).length;
}

describeInterop('transport and authentication against sshd', () => {
  let sshd: SshdHandle;
  let tmp: string;
  beforeAll(async () => {
    sshd = await startSshd({ password: true });
    tmp = await mkdtemp(join(tmpdir(), 'pure-ssh-t-'));
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('connects with ed25519 publickey, strict kex on, sntrup761x25519-sha512 (9.2 has no mlkem); runtime crypto picks aes128-gcm first', async () => {
    const ssh = await connectTo(sshd);
    const info = ssh.info;
    expect(info.strictKex).toBe(true);
    // Debian's OpenSSH 9.2 lists sntrup761x25519-sha512 (no mlkem): our first post-quantum match.
    expect(info.negotiated?.kex).toBe('sntrup761x25519-sha512');
    expect(info.cryptoProvider).toBe('node');
    expect(info.negotiated?.cipherClientToServer).toBe('aes128-gcm@openssh.com');
    expect(info.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(info.serverSigAlgs).toContain('ssh-ed25519');
    await ssh.close();
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Accepted publickey for root/);
  });

  it('with the pure provider forced, chacha20-poly1305 comes first', async () => {
    const ssh = await connectTo(sshd, { crypto: 'pure' });
    expect(ssh.info.cryptoProvider).toBe('pure');
    expect(ssh.info.negotiated?.cipherClientToServer).toBe('chacha20-poly1305@openssh.com');
    await ssh.close();
  });

  it('authenticates by password', async () => {
    const pw = sshd.password!;
    const ssh = await connectTo(sshd, { username: pw.user, privateKey: undefined, password: pw.password });
    // The session id is H of the first exchange: SHA-512 for sntrup761x25519-sha512.
    expect(ssh.info.sessionId?.length).toBe(64);
    await ssh.close();
    expect(sshd.logs()).toMatch(new RegExp(`Accepted password for ${pw.user}`));
  });

  it('asks for a password through the callback after a wrong one, like NumberOfPasswordPrompts', async () => {
    const pw = sshd.password!;
    const prompts: string[] = [];
    const ssh = await connectTo(sshd, {
      username: pw.user,
      privateKey: undefined,
      password: 'wrong-password',
      askPassword: async (p) => {
        prompts.push(p);
        return pw.password;
      },
    });
    expect(prompts).toEqual([`${pw.user}@${sshd.host}'s password: `]);
    await ssh.close();
  });

  it('refuses a wrong user key and names the methods tried and allowed', async () => {
    const other = await readFile(new URL('./fixtures/id_ed25519', import.meta.url), 'utf8');
    const err = await connectTo(sshd, { privateKey: other }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.code).toBe('ERR_AUTH_FAILED');
    expect(err.methodsTried).toEqual(['publickey']);
    expect(err.methodsAllowed).toContain('publickey');
    expect(err.message).toMatch(/Permission denied for root \(tried: publickey; server allows: .*publickey/);
  });

  it('refuses a changed host key with the fingerprint, file and line, in every mode', async () => {
    const file = join(tmp, 'known_hosts_changed');
    const fixture = (await readFile(new URL('./fixtures/host_a.pub', import.meta.url), 'utf8')).trim().split(/\s+/);
    await writeFile(file, `# comment\n[127.0.0.1]:${sshd.port} ${fixture[0]} ${fixture[1]}\n`);
    for (const mode of ['yes', 'accept-new', 'no'] as const) {
      const err = await connectTo(sshd, { knownHosts: file, strictHostKeyChecking: mode }).catch((e) => e);
      expect(err).toBeInstanceOf(HostKeyError);
      expect(err.code).toBe('ERR_HOST_KEY_CHANGED');
      expect(err.file).toBe(file);
      expect(err.line).toBe(2);
      expect(err.message).toContain(err.fingerprint);
      expect(err.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    }
    // The server saw us give up on purpose (reason 9, host key not verifiable) or just close.
    expect(await readFile(file, 'utf8')).not.toContain(sshd.hostKeyLines[0]!.split(' ')[2]);
  });

  it('handles an unknown host key per StrictHostKeyChecking', async () => {
    const file = join(tmp, 'known_hosts_empty');
    const err = await connectTo(sshd, { knownHosts: file, strictHostKeyChecking: 'yes' }).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.code).toBe('ERR_HOST_KEY_UNKNOWN');
    const ssh = await connectTo(sshd, { knownHosts: file, strictHostKeyChecking: 'accept-new' });
    await ssh.close();
    const added = await readFile(file, 'utf8');
    expect(added).toContain(`[127.0.0.1]:${sshd.port} ssh-ed25519 `);
    // Now known: 'yes' accepts it.
    const again = await connectTo(sshd, { knownHosts: file, strictHostKeyChecking: 'yes' });
    await again.close();
  });

  it('requires a host key decision from library callers', async () => {
    const err = await connectTo(sshd, { knownHosts: undefined }).catch((e) => e);
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_USAGE');
  });

  it('a verifier callback that throws refuses the key', async () => {
    const err = await connectTo(sshd, {
      knownHosts: undefined,
      verifyHostKey: () => {
        throw new Error('not this one');
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain('not this one');
  });

  it('names both sides\' lists when negotiation fails', async () => {
    // CBC is legacy: not offered unless asked for with `+` (as OpenSSH).
    const sshd2 = await startSshd({ config: { Ciphers: 'aes128-cbc' } });
    try {
      const err = await connectTo(sshd2).catch((e) => e);
      expect(err.code).toBe('ERR_NEGOTIATION');
      expect(err.message).toContain('chacha20-poly1305@openssh.com');
      expect(err.message).toContain('aes128-cbc');
      // kex.c kex_choose_conf chooses the incoming direction first (server to client, for a client).
      expect(err.message).toMatch(/cipher \(server to client\)/);
    } finally {
      await sshd2.stop();
    }
  });

  it('prefers the host key type known_hosts already holds (no false "changed" alarm), and verifies ECDSA and RSA host keys', async () => {
    const multi = await startSshd({ hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });
    try {
      for (const [i, alg] of [[1, 'ecdsa-sha2-nistp256'], [2, 'rsa-sha2-512']] as const) {
        const file = join(tmp, `known_hosts_only_${i}`);
        await writeFile(file, multi.hostKeyLines[i] + '\n');
        const ssh = await connectTo(multi, { knownHosts: file });
        expect(ssh.info.negotiated?.hostKey).toBe(alg);
        await ssh.close();
      }
    } finally {
      await multi.stop();
    }
  });

  it('parses the harness key with parsePrivateKey and connects with it', async () => {
    const key = parsePrivateKey(sshd.clientKey, sshd.clientKeyPath);
    expect(key.keyType).toBe('ssh-ed25519');
    const ssh = await connectTo(sshd, { privateKey: key });
    await ssh.close();
  });
});

describeInterop('rekeying against sshd', () => {
  let sshd: SshdHandle;
  let source: TestServer & { sha256: string; bytes: number };
  let echo: TestServer;
  beforeAll(async () => {
    // RekeyLimit 1M: the server starts a key exchange after every MiB (TESTING.md).
    sshd = await startSshd({ config: { RekeyLimit: '1M' } });
    source = await startSourceServer(16 * 1024 * 1024, 7);
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await source?.close();
    await echo?.close();
    await sshd?.stop();
  });

  it('keeps working across server-initiated rekeys, data intact', async () => {
    const logs: string[] = [];
    const ssh = await connectTo(sshd, { debug: (m) => logs.push(m) });
    const got = await download(ssh, source.port);
    expect(got.bytes).toBe(source.bytes);
    expect(got.sha256).toBe(source.sha256);
    expect(countRekeys(logs)).toBeGreaterThanOrEqual(8);
    expect(ssh.info.kexCount).toBe(countRekeys(logs) + 1);
    await ssh.close();
  });

  it('starts rekeys itself at the configured byte limit, with traffic both ways across them', async () => {
    const sshd2 = await startSshd();
    try {
      const logs: string[] = [];
      const ssh = await connectTo(sshd2, { rekeyBytes: 512 * 1024, debug: (m) => logs.push(m) });
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      const total = 8 * 1024 * 1024;
      const sent = createHash('sha256');
      const recv = createHash('sha256');
      let received = 0;
      const done = new Promise<void>((resolve, reject) => {
        ch.on('data', (d: Buffer) => {
          recv.update(d);
          received += d.length;
        });
        ch.on('end', resolve);
        ch.on('error', reject);
      });
      let seed = 12345;
      for (let off = 0; off < total; off += 65536) {
        const chunk = Buffer.alloc(65536);
        for (let i = 0; i < chunk.length; i += 4) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          chunk.writeUInt32LE(seed, i);
        }
        sent.update(chunk);
        if (!ch.write(chunk)) await new Promise((r) => ch.once('drain', r));
      }
      ch.end();
      await done;
      expect(received).toBe(total);
      expect(recv.digest('hex')).toBe(sent.digest('hex'));
      expect(logs.filter((l) => l.startsWith('rekeying: SSH2_MSG_KEXINIT sent')).length).toBeGreaterThanOrEqual(10);
      expect(countRekeys(logs)).toBeGreaterThanOrEqual(10);
      // A manual rekey works too.
      ssh.rekey();
      await ssh.close();
    } finally {
      await sshd2.stop();
    }
  });
});
