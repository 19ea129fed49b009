/**
 * pure-ssh/web in Node 20: the WHATWG-streams adapter over Node's web streams (Duplex.toWeb of a
 * net.Socket) against the real sshd; the same scenario the other runtimes run.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, HostKeyError, parsePrivateKey, TimeoutError, type Signer } from '../src/web/index.js';
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
});
