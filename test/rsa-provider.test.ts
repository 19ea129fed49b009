/**
 * RSA signing keys through the node:crypto provider (CryptoProvider.rsaSign): ssh-keygen's keys of
 * 2048, 3072 and 4096 bits sign with OpenSSL, byte for byte the TypeScript CRT path's signature
 * (RSASSA-PKCS1-v1_5 is deterministic, RFC 8017 §8.2.1), for each of the three algorithms; a
 * runtime answer that does not verify (s^e mod n ≠ EM) or no answer falls back to TypeScript.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CryptoProvider, HashName, RsaPrivateKeyBytes } from '../src/crypto/provider.js';
import { hostKeyAlgorithms, legacyHostKeyAlgorithms } from '../src/keys/hostkey.js';
import { parsePrivateKey } from '../src/keys/privatekey.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-rsa-provider-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rsaKeyFile(bits: number): Buffer {
  const path = join(dir, `rsa${bits}`);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'rsa', '-b', String(bits), '-N', '', '-f', path], { stdio: 'pipe' });
  return readFileSync(path);
}

/** The node provider with its rsaSign wrapped: calls counted, and the answer given to `alter`. */
function watched(alter: (s: Uint8Array | undefined) => Uint8Array | undefined = (s) => s): { provider: CryptoProvider; calls: HashName[] } {
  const calls: HashName[] = [];
  const provider: CryptoProvider = Object.create(nodeCryptoProvider, {
    rsaSign: {
      value: (key: RsaPrivateKeyBytes, hash: HashName, data: Uint8Array) => (calls.push(hash), alter(nodeCryptoProvider.rsaSign!(key, hash, data))),
    },
  });
  return { provider, calls };
}

const data = new TextEncoder().encode('the exchange hash and the rest of the signed data');

describe.each([2048, 3072, 4096])('a %i-bit key', (bits) => {
  const key = parsePrivateKey(rsaKeyFile(bits));

  it("signs through the runtime, the same bytes as the TypeScript path, for rsa-sha2-512, rsa-sha2-256 and ssh-rsa", () => {
    const { provider, calls } = watched();
    for (const alg of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) {
      const viaRuntime = key.sign(alg, data, provider);
      expect(Buffer.from(viaRuntime).equals(Buffer.from(key.sign(alg, data))), alg).toBe(true);
      const verifier = hostKeyAlgorithms.get(alg) ?? legacyHostKeyAlgorithms.get(alg)!;
      expect(verifier.verify(key.publicKeyBlob, viaRuntime, data), alg).toBe(true);
    }
    expect(calls).toEqual(['sha512', 'sha256', 'sha1']);
  });

  it('a runtime signature that does not verify, or none, is replaced by the TypeScript one', () => {
    const expected = Buffer.from(key.sign('rsa-sha2-512', data));
    const flipped = watched((s) => {
      const bad = s!.slice();
      bad[bad.length - 1]! ^= 1;
      return bad;
    });
    expect(Buffer.from(key.sign('rsa-sha2-512', data, flipped.provider)).equals(expected)).toBe(true);
    const short = watched((s) => s!.subarray(1));
    expect(Buffer.from(key.sign('rsa-sha2-512', data, short.provider)).equals(expected)).toBe(true);
    const none = watched(() => undefined);
    expect(Buffer.from(key.sign('rsa-sha2-512', data, none.provider)).equals(expected)).toBe(true);
    expect([flipped.calls, short.calls, none.calls]).toEqual([['sha512'], ['sha512'], ['sha512']]);
  });
});
