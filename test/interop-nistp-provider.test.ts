/**
 * The NIST curves through the node:crypto provider against the real sshd 9.2: for P-256, P-384
 * and P-521, an ecdsa-sha2-nistp* host key verified with the provider's ECDSA
 * (CryptoProvider.ecdsaVerifier) after an ecdh-sha2-nistp* exchange made with its ECDH
 * (CryptoProvider.ecdh), both counted through a wrapper around the provider; and the Node
 * library's own connect, which picks that provider by itself, on the same pairs (counted by
 * wrapping the provider object's two methods for the duration of the test).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CryptoProvider, EcdhCurveOps, EcdsaCurveName, EcdsaVerifier } from '../src/crypto/provider.js';
import { nodeCryptoProvider, nodeCryptoProviderNoWasm } from '../src/node/crypto-provider.js';
import { connect } from '../src/web/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, systemOpenssh, type SshdHandle } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/runners.js';

const BITS = [256, 384, 521] as const;

/** nodeCryptoProvider with its ECDSA verification and ECDH counted, per curve. */
function counting(): { crypto: CryptoProvider; calls: string[] } {
  const calls: string[] = [];
  // The provider's own methods, taken now (a test below wraps them in place).
  const verifierOf = nodeCryptoProvider.ecdsaVerifier?.bind(nodeCryptoProvider);
  const ecdhOf = nodeCryptoProvider.ecdh?.bind(nodeCryptoProvider);
  const crypto: CryptoProvider = Object.create(nodeCryptoProvider, {
    ecdsaVerifier: {
      value(curve: EcdsaCurveName): EcdsaVerifier | undefined {
        const v = verifierOf?.(curve);
        if (!v) return undefined;
        return { verify: (q, data, rs) => (calls.push(`verify ${curve}`), v.verify(q, data, rs)) };
      },
    },
    ecdh: {
      value(curve: EcdsaCurveName): EcdhCurveOps | undefined {
        const ops = ecdhOf?.(curve);
        if (!ops) return undefined;
        return {
          keyPair(seed) {
            calls.push(`keyPair ${curve}`);
            const kp = ops.keyPair(seed);
            return { publicKey: kp.publicKey, sharedX: (peer) => (calls.push(`sharedX ${curve}`), kp.sharedX(peer)), dispose: () => kp.dispose() };
          },
        };
      },
    },
  });
  return { crypto, calls };
}

describeInterop('ecdh-sha2-nistp* and ecdsa-sha2-nistp* host keys through the node:crypto provider, against sshd 9.2', () => {
  let sshd: SshdHandle;
  let dir: string;
  /** `ecdsa-sha2-nistpN AAAA...` per curve size. */
  const hostKeys = new Map<number, string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-nistp-'));
    const paths = BITS.map((bits) => {
      const path = join(dir, `host_ecdsa${bits}`);
      execFileSync(systemOpenssh().sshKeygen, ['-q', '-t', 'ecdsa', '-b', String(bits), '-N', '', '-C', '', '-f', path]);
      hostKeys.set(bits, readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' '));
      return path;
    });
    sshd = await startSshd({
      config: { HostKey: paths, KexAlgorithms: BITS.map((b) => `ecdh-sha2-nistp${b}`).join(',') },
    });
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const bits of BITS) {
    const curve: EcdsaCurveName = `nistp${bits}`;
    const kex = `ecdh-sha2-nistp${bits}`;
    const hostKey = `ecdsa-sha2-nistp${bits}`;

    it(`${kex} with an ${hostKey} host key: the provider's ECDH and ECDSA verification used (pure-ssh/web, a counting provider)`, async () => {
      const { crypto, calls } = counting();
      const ssh = await connect({
        transport: dialNodeWeb(sshd.port),
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        privateKey: sshd.clientKey,
        knownHosts: `[${sshd.host}]:${sshd.port} ${hostKeys.get(bits)}\n`,
        algorithms: { kex: [kex], hostKey: [hostKey] },
        crypto,
      });
      try {
        expect(ssh.info.negotiated?.kex).toBe(kex);
        expect(ssh.info.negotiated?.hostKey).toBe(hostKey);
      } finally {
        await ssh.close();
      }
      expect(calls).toEqual([`keyPair ${curve}`, `sharedX ${curve}`, `verify ${curve}`]);
    });

    it(`${kex} with an ${hostKey} host key through the Node library's connect: the node provider's ECDH and ECDSA verification`, async () => {
      // nodeCryptoProvider inherits both methods from this object: wrapped, the Node client's
      // own provider counts its calls.
      const base = nodeCryptoProviderNoWasm as { -readonly [K in keyof CryptoProvider]: CryptoProvider[K] };
      const { ecdh, ecdsaVerifier } = base;
      const { crypto: counted, calls } = counting();
      base.ecdh = (c) => counted.ecdh!(c);
      base.ecdsaVerifier = (c) => counted.ecdsaVerifier!(c);
      try {
        const ssh = await connectTo(sshd, {
          knownHosts: undefined,
          verifyHostKey: ({ keyBlob }) => Buffer.from(keyBlob).toString('base64') === hostKeys.get(bits)!.split(' ')[1],
          algorithms: { kex: [kex], hostKey: [hostKey] },
        });
        try {
          expect(ssh.info.cryptoProvider).toBe('node');
          expect(ssh.info.negotiated?.kex).toBe(kex);
          expect(ssh.info.negotiated?.hostKey).toBe(hostKey);
        } finally {
          await ssh.close();
        }
      } finally {
        base.ecdh = ecdh;
        base.ecdsaVerifier = ecdsaVerifier;
      }
      expect(calls).toEqual([`keyPair ${curve}`, `sharedX ${curve}`, `verify ${curve}`]);
    });
  }
});
