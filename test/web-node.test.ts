/**
 * pure-ssh/web in Node 20: the WHATWG-streams adapter over Node's web streams (Duplex.toWeb of a
 * net.Socket) against the real sshd; the same scenario the other runtimes run.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ClientCore } from '../src/client-core.js';
import { zlibCompression } from '../src/compress/zlib.js';
import { connect, HostKeyError, parsePrivateKey, TimeoutError, UsageError, type Signer } from '../src/web/index.js';
import { extraKeyDecryption } from '../src/keys/extra-key-decryption.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { describeInterop } from './harness/sshd.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { dialNodeWeb as dialTcp, runIn } from './runtimes/runners.js';

describeInterop('pure-ssh/web on Node web streams against sshd', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    f = await startRuntimeFixture();
  });
  afterAll(() => f?.close());

  it('handshake, host key check, key login, 8 MiB down / 4 MiB up hash-verified, slow reader bounded', async () => {
    const r = await runIn('node', f.params);
    await checkResult(f, r, /^Node\.js v20/);
  }, 60_000);

  it('an unknown host key is refused with a HostKeyError naming known_hosts', async () => {
    const err = await connect({
      transport: dialTcp(f.sshd.port),
      host: f.sshd.host,
      port: f.sshd.port,
      username: f.sshd.user,
      privateKey: f.sshd.clientKey,
      knownHosts: '',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_UNKNOWN');
  });

  it('a verifyHostKey that returns false refuses the host, as in the Node library', async () => {
    const err = await connect({
      transport: dialTcp(f.sshd.port),
      host: f.sshd.host,
      port: f.sshd.port,
      username: f.sshd.user,
      privateKey: f.sshd.clientKey,
      verifyHostKey: () => false,
    }).catch((e: unknown) => e);
    expect((err as HostKeyError).code).toBe('ERR_HOST_KEY_REJECTED');
  });

  it('ConnectTimeout through the core timer: a silent server times out', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      const err = await connect({
        transport: dialTcp(port),
        host: '127.0.0.1',
        port,
        username: 'root',
        knownHosts: '',
        connectTimeout: 300,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as TimeoutError).message).toMatch(/Connection timed out during handshake/);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('an AbortSignal ends the connection with ERR_ABORTED', async () => {
    const ac = new AbortController();
    const ssh = await connect({
      transport: dialTcp(f.sshd.port),
      host: f.sshd.host,
      port: f.sshd.port,
      username: f.sshd.user,
      privateKey: f.sshd.clientKey,
      knownHosts: f.params.knownHosts,
      signal: ac.signal,
    });
    ac.abort();
    const err = await ssh.closed;
    expect(err?.code).toBe('ERR_ABORTED');
  });

  it('TCP_NODELAY: setNoDelay(true) is called on a transport that has one (as Deno.TcpConn), before the first byte; one that throws is used as it is', async () => {
    for (const failing of [false, true]) {
      const pair = await dialTcp(f.sshd.port);
      const calls: { arg: unknown; bytesWritten: number }[] = [];
      let bytesWritten = 0;
      const inner = pair.writable.getWriter();
      const writable = new WritableStream<Uint8Array>({
        write: (c) => {
          bytesWritten += c.length;
          return inner.write(c);
        },
        close: () => inner.close(),
      });
      const lines: string[] = [];
      const ssh = await connect({
        transport: {
          readable: pair.readable,
          writable,
          setNoDelay: (arg?: boolean) => {
            calls.push({ arg, bytesWritten });
            if (failing) throw new Error('not a TCP socket');
          },
        },
        host: f.sshd.host,
        port: f.sshd.port,
        username: f.sshd.user,
        privateKey: f.sshd.clientKey,
        knownHosts: f.params.knownHosts,
        debug: (m) => lines.push(m),
      });
      expect(calls).toEqual([{ arg: true, bytesWritten: 0 }]);
      expect(lines).toContain(failing ? 'TCP_NODELAY not set: not a TCP socket' : 'TCP_NODELAY set on the transport');
      expect(ssh.info.negotiated?.kex).toBeTruthy();
      await ssh.close();
    }
  });

  it("prepareKex: once our version line and KEXINIT are written, the kex key pair is made while the server's KEXINIT is on its way", async () => {
    // The server's bytes are held until 150 ms after our first write, so the server's KEXINIT
    // cannot come first however loaded the machine is.
    for (const [kex, line] of [
      ['curve25519-sha256', "kex: using the curve25519-sha256 key pair made while waiting for the server's KEXINIT"],
      // sshd 9.2 has no ML-KEM: its version line makes us prepare sntrup761x25519 instead of our first preference.
      [undefined, "kex: using the sntrup761x25519-sha512 key pair made while waiting for the server's KEXINIT"],
    ] as const) {
      const pair = await dialTcp(f.sshd.port);
      let firstWrite: (() => void) | undefined;
      const written = new Promise<void>((r) => (firstWrite = r));
      const gate = written.then(() => new Promise((r) => setTimeout(r, 150)));
      const inner = pair.writable.getWriter();
      const innerReader = pair.readable.getReader();
      const transport = {
        readable: new ReadableStream<Uint8Array>({
          async pull(c) {
            await gate;
            const r = await innerReader.read();
            if (r.done) c.close();
            else c.enqueue(r.value);
          },
          cancel: (reason) => innerReader.cancel(reason),
        }),
        writable: new WritableStream<Uint8Array>({
          write: async (c) => {
            await inner.write(c);
            firstWrite?.();
          },
          close: () => inner.close(),
        }),
      };
      const lines: string[] = [];
      const ssh = await connect({
        transport,
        host: f.sshd.host,
        port: f.sshd.port,
        username: f.sshd.user,
        privateKey: f.sshd.clientKey,
        knownHosts: f.params.knownHosts,
        algorithms: kex ? { kex } : undefined,
        debug: (m) => lines.push(m),
      });
      expect(lines).toContain(line);
      expect(lines.filter((m) => /^kex: (using the|discarded the prepared)/.test(m))).toHaveLength(1);
      await ssh.close();
    }
  });

  it('where globalThis.Deno is (Deno), the node:crypto provider puts chacha20-poly1305 first and -v says why; a cipher list given is kept as it is', async () => {
    const note = 'Deno: chacha20-poly1305@openssh.com first (node:crypto AES-GCM is slower than ChaCha20 in Deno)';
    const g = globalThis as { Deno?: unknown };
    const run = async (cipher?: string) => {
      const lines: string[] = [];
      const ssh = await connect({
        transport: dialTcp(f.sshd.port),
        host: f.sshd.host,
        port: f.sshd.port,
        username: f.sshd.user,
        privateKey: f.sshd.clientKey,
        knownHosts: f.params.knownHosts,
        crypto: nodeCryptoProvider,
        algorithms: cipher ? { cipher } : undefined,
        debug: (m) => lines.push(m),
      });
      await ssh.close();
      return { cipher: ssh.info.negotiated?.cipherClientToServer, noted: lines.includes(note) };
    };
    expect(await run()).toEqual({ cipher: 'aes128-gcm@openssh.com', noted: false });
    g.Deno = { version: { deno: '2.9.6' } };
    try {
      expect(await run()).toEqual({ cipher: 'chacha20-poly1305@openssh.com', noted: true });
      expect(await run('aes128-gcm@openssh.com')).toEqual({ cipher: 'aes128-gcm@openssh.com', noted: false });
    } finally {
      delete g.Deno;
    }
  });

  it('a Signer (the key held outside the core, as a WebAuthn or KMS key would be) logs in: asked once, after the server accepted the key', async () => {
    const key = parsePrivateKey(f.sshd.clientKey);
    const asked: string[] = [];
    const signer: Signer = {
      publicKeyBlob: key.publicKeyBlob,
      comment: 'external',
      sign: async (data, algorithm) => {
        asked.push(algorithm);
        return key.sign(algorithm, data);
      },
    };
    const ssh = await connect({
      transport: dialTcp(f.sshd.port),
      host: f.sshd.host,
      port: f.sshd.port,
      username: f.sshd.user,
      signers: [signer],
      knownHosts: f.params.knownHosts,
    });
    expect(asked).toEqual(['ssh-ed25519']);
    await ssh.close();
  });

  it('a 3DES key (openssl genrsa -des3): ERR_KEY_FORMAT naming the opt-in without it, logs in with extraKeyDecryption from pure-ssh/key-decryption', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-web-des3-'));
    try {
      const file = join(dir, 'key.pem');
      execFileSync('/usr/bin/openssl', ['genrsa', '-des3', '-passout', 'pass:web pass', '-out', file, '2048'], { stdio: 'pipe' });
      chmodSync(file, 0o600);
      appendFileSync(join(f.sshd.dir, 'authorized_keys'), execFileSync('/usr/bin/ssh-keygen', ['-y', '-P', 'web pass', '-f', file], { encoding: 'utf8' }));
      const options = {
        host: f.sshd.host,
        port: f.sshd.port,
        username: f.sshd.user,
        knownHosts: f.params.knownHosts,
        privateKey: readFileSync(file, 'utf8'),
        passphrase: 'web pass',
      };
      const err = await connect({ ...options, transport: dialTcp(f.sshd.port) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_KEY_FORMAT', message: expect.stringMatching(/DES-EDE3-CBC needs the extraKeyDecryption option \(from pure-ssh\/key-decryption\)/) });
      const ssh = await connect({ ...options, transport: dialTcp(f.sshd.port), extraKeyDecryption });
      await ssh.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a PuTTY PPK v3 key under a passphrase (Argon2id): ERR_KEY_FORMAT naming the opt-in without it, logs in with extraKeyDecryption; plain v3 and v2 need none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-web-ppk-'));
    try {
      const key = join(dir, 'id_ed25519');
      execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'web-ppk', '-f', key], { stdio: 'pipe' });
      appendFileSync(join(f.sshd.dir, 'authorized_keys'), readFileSync(`${key}.pub`, 'utf8'));
      const passFile = join(dir, 'pass');
      writeFileSync(passFile, 'web pass');
      const ppk = (name: string, params: string, pass: string) => {
        const out = join(dir, name);
        execFileSync('/usr/bin/puttygen', [key, '-O', 'private', '-o', out, '--ppk-param', params, '--new-passphrase', pass], { stdio: 'pipe' });
        return readFileSync(out, 'utf8');
      };
      const empty = join(dir, 'empty');
      writeFileSync(empty, '');
      const v3 = ppk('v3.ppk', 'version=3,passes=1', passFile);
      expect(v3).toMatch(/Key-Derivation: Argon2id/);
      const options = { host: f.sshd.host, port: f.sshd.port, username: f.sshd.user, knownHosts: f.params.knownHosts, passphrase: 'web pass' };
      const err = await connect({ ...options, privateKey: v3, transport: dialTcp(f.sshd.port) }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'ERR_KEY_FORMAT',
        message: expect.stringMatching(/PuTTY PPK v3 encryption aes256-cbc with Argon2id key derivation needs the extraKeyDecryption option \(from pure-ssh\/key-decryption\)/),
      });
      await (await connect({ ...options, privateKey: v3, transport: dialTcp(f.sshd.port), extraKeyDecryption })).close();
      for (const other of [ppk('v2.ppk', 'version=2', passFile), ppk('v3-plain.ppk', 'version=3', empty)]) {
        await (await connect({ ...options, privateKey: other, transport: dialTcp(f.sshd.port) })).close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Signer that refuses: an AuthenticationError, no login', async () => {
    const key = parsePrivateKey(f.sshd.clientKey);
    const err = await connect({
      transport: dialTcp(f.sshd.port),
      host: f.sshd.host,
      port: f.sshd.port,
      username: f.sshd.user,
      signers: [{ publicKeyBlob: key.publicKeyBlob, sign: async () => Promise.reject(new Error('user cancelled')) }],
      knownHosts: f.params.knownHosts,
    }).catch((e: unknown) => e);
    expect((err as Error & { code?: string }).code).toBe('ERR_AUTH_FAILED');
  });

  it('compression: off without a provider; with zlibCompression (pure-ssh/compress-zlib) zlib@openssh.com carries hash-verified data', async () => {
    const base = { host: f.sshd.host, port: f.sshd.port, username: f.sshd.user, privateKey: f.sshd.clientKey, knownHosts: f.params.knownHosts };
    const plain = await connect({ ...base, transport: dialTcp(f.sshd.port) });
    expect(plain.info.negotiated?.compressionServerToClient).toBe('none');
    await plain.close();
    const logs: string[] = [];
    const ssh = await connect({ ...base, transport: dialTcp(f.sshd.port), compression: zlibCompression, debug: (m) => logs.push(m) });
    try {
      expect(ssh.info.negotiated?.compressionServerToClient).toBe('zlib@openssh.com');
      expect(ssh.info.negotiated?.compressionClientToServer).toBe('zlib@openssh.com');
      expect(logs).toContain('Enabling compression at level 6.');
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: f.params.sourcePort });
      const h = sha256.create();
      let n = 0;
      const r = ch.readable.getReader();
      for (let c = await r.read(); !c.done; c = await r.read()) {
        h.update(c.value);
        n += c.value.length;
      }
      expect(n).toBe(f.params.sourceBytes);
      expect(bytesToHex(h.digest())).toBe(f.source.sha256);
    } finally {
      await ssh.close();
    }
  }, 60_000);

  it('the core refuses to offer zlib without a compression provider (a UsageError naming the fix)', () => {
    const offer = () => new ClientCore({ username: 'u', random: (n) => new Uint8Array(n), algorithms: { compression: ['zlib@openssh.com', 'none'] } });
    expect(offer).toThrow(UsageError);
    expect(offer).toThrow(/compression zlib@openssh.com needs a compression provider.*pure-ssh\/compress-zlib/);
  });

  it('connect() refuses an algorithms key it does not know instead of dropping it (compression is its own option)', async () => {
    const base = { transport: new TransformStream<Uint8Array, Uint8Array>(), host: 'h', username: 'u', knownHosts: '' };
    const bad = (algorithms: Record<string, string>) => connect({ ...base, algorithms } as Parameters<typeof connect>[0]);
    await expect(bad({ compression: 'zlib@openssh.com' })).rejects.toThrow(UsageError);
    await expect(bad({ compression: 'zlib@openssh.com' })).rejects.toThrow(/pass `compression` .*pure-ssh\/compress-zlib/);
    await expect(bad({ ciphers: 'aes128-ctr' })).rejects.toThrow(/^unknown option algorithms\.ciphers \(did you mean algorithms\.cipher\?\)$/);
  });
});
