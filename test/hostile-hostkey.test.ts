/**
 * break32: a hostile server's host key and signature over H (RFC 4253 §8: the client MUST verify
 * it) for the host key algorithms added after 0.1: rsa-sha2-256/512 (RFC 8332), ecdsa-sha2-nistp*
 * (RFC 5656 §3.1.2), with ssh-ed25519 (RFC 8709) through both providers.
 */
import { readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { DisconnectReason, InternalError, ProtocolError } from '../src/errors.js';
import { parsePrivateKey } from '../src/keys/privatekey.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { mpintBody, SshReader, SshWriter } from '../src/protocol/wire.js';
import { bigIntToBytes, bytesToBigInt } from '../src/crypto/bigint.js';
import { ed25519Key, type Ed25519Key } from './support/fake-server.js';
import { Pair } from './support/pair.js';

const fixture = (name: string) => parsePrivateKey(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'), name);
const RSA = fixture('id_rsa');
const ECDSA256 = fixture('id_ecdsa256');
const ECDSA384 = fixture('id_ecdsa384');

/** A FakeServer host key from a fixture key, signing with `algorithm` then `mutate` on the signature blob. */
function hostKey(key: ReturnType<typeof fixture>, algorithm: string, mutate: (sig: Uint8Array) => Uint8Array = (s) => s, blob = key.publicKeyBlob): Ed25519Key {
  return { secret: new Uint8Array(32), blob, sign: (h) => mutate(key.sign(algorithm, h)) };
}

function run(key: Ed25519Key, negotiated: string, client: NonNullable<ConstructorParameters<typeof Pair>[0]>['client'] = {}): Pair {
  const p = new Pair({ client: { algorithms: { hostKey: [negotiated] }, ...client }, server: { hostKey: key, lists: { hostKey: [negotiated] } } });
  p.start();
  return p;
}

function expectSignatureRefused(p: Pair): void {
  expect(p.eventsOf('host-key'), 'host-key event: the key was accepted as proven').toEqual([]);
  expect(p.client.isAuthenticated).toBe(false);
  const err = p.closedError as ProtocolError;
  expect(err).toBeInstanceOf(ProtocolError);
  expect(err).not.toBeInstanceOf(InternalError);
  expect(err.code).toBe('ERR_HOST_KEY_SIGNATURE');
  expect(err.reason).toBe(DisconnectReason.KEY_EXCHANGE_FAILED);
}

/** Rebuild `string name || string body` with the body changed. */
function withBody(f: (body: Uint8Array, name: string) => Uint8Array, rename?: string) {
  return (sig: Uint8Array) => {
    const r = new SshReader(sig);
    const name = new TextDecoder().decode(r.string());
    const body = r.string().slice();
    return new SshWriter(64 + body.length).string(rename ?? name).string(f(body, name)).toBytes();
  };
}

/** ECDSA body `mpint r || mpint s` with r, s rewritten. */
function ecdsaRS(f: (r: bigint, s: bigint) => [bigint, bigint]) {
  return withBody((body) => {
    const r = new SshReader(body);
    const [rr, ss] = f(bytesToBigInt(r.mpint()), bytesToBigInt(r.mpint()));
    return new SshWriter(140).string(mpintBody(bigIntToBytes(rr))).string(mpintBody(bigIntToBytes(ss))).toBytes();
  });
}
const N = p256.Point.Fn.ORDER;

describe('host key signatures that must be refused', () => {
  it('baselines: rsa-sha2-512, rsa-sha2-256, ecdsa-sha2-nistp256 host keys are accepted', () => {
    for (const [key, alg] of [[RSA, 'rsa-sha2-512'], [RSA, 'rsa-sha2-256'], [ECDSA256, 'ecdsa-sha2-nistp256']] as const) {
      const p = run(hostKey(key, alg), alg);
      expect(p.client.isAuthenticated, alg).toBe(true);
    }
  });

  it('rsa-sha2-512 negotiated, the server signs with SHA-1 "ssh-rsa" (RFC 8332 §3)', () => {
    expectSignatureRefused(run(hostKey(RSA, 'ssh-rsa'), 'rsa-sha2-512'));
  });

  it('rsa-sha2-512 negotiated, an rsa-sha2-256 signature renamed rsa-sha2-512', () => {
    expectSignatureRefused(run(hostKey(RSA, 'rsa-sha2-256', withBody((b) => b, 'rsa-sha2-512')), 'rsa-sha2-512'));
  });

  it('rsa-sha2-512: a byte after the signature blob / after the key blob', () => {
    expectSignatureRefused(run(hostKey(RSA, 'rsa-sha2-512', (s) => Buffer.concat([s, Uint8Array.of(0)])), 'rsa-sha2-512'));
    const p = run(hostKey(RSA, 'rsa-sha2-512', undefined, Buffer.concat([RSA.publicKeyBlob, Uint8Array.of(0)])), 'rsa-sha2-512');
    expectSignatureRefused(p);
  });

  for (const [what, f] of [
    ['r = 0', (_r: bigint, s: bigint) => [0n, s]],
    ['s = 0', (r: bigint) => [r, 0n]],
    ['r + n', (r: bigint, s: bigint) => [r + N, s]],
    ['s + n', (r: bigint, s: bigint) => [r, s + N]],
    ['r = n', (_r: bigint, s: bigint) => [N, s]],
  ] as const) {
    it(`ecdsa-sha2-nistp256: ${what} (RFC 5656 §3.1.2, SEC1 §4.1.4 step 1: r, s in [1, n−1])`, () => {
      expectSignatureRefused(run(hostKey(ECDSA256, 'ecdsa-sha2-nistp256', ecdsaRS(f as (r: bigint, s: bigint) => [bigint, bigint])), 'ecdsa-sha2-nistp256'));
    });
  }

  it('ecdsa-sha2-nistp256 negotiated, a nistp384 key and signature', () => {
    expectSignatureRefused(run(hostKey(ECDSA384, 'ecdsa-sha2-nistp384'), 'ecdsa-sha2-nistp256'));
  });

  for (const [provider, crypto] of [['pure', undefined], ['node', nodeCryptoProvider]] as const) {
    it(`ssh-ed25519 S + L (RFC 8032 §5.1.7: S < L), ${provider} provider`, () => {
      const ed = ed25519Key(new Uint8Array(32).fill(7));
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const bad: Ed25519Key = {
        ...ed,
        sign: (h) =>
          withBody((sig) => {
            let s = 0n;
            for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
            s += L;
            const out = sig.slice();
            for (let i = 0; i < 32; i++) out[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
            return out;
          })(ed.sign(h)),
      };
      expectSignatureRefused(run(bad, 'ssh-ed25519', crypto ? { crypto } : {}));
    });
  }
});

describe('an RSA host key with a huge public exponent', () => {
  // OpenSSH verifies through OpenSSL, whose RSA public operation refuses e above 64 bits when n is
  // above 3072 bits (rsa_ossl_public_decrypt: OPENSSL_RSA_SMALL_MODULUS_BITS / _MAX_PUBEXP_BITS,
  // "bad e value"). pure-ssh's decodeRsaPublicKey (src/keys/rsa.ts) only required 3 ≤ e < n, odd,
  // so a 16384-bit n with a 16382-bit e cost a full-size modPow (≈ 1.4 s of blocked event loop
  // here) for every signature the client checks: the host key's signature over H, and every CA
  // signature of a host certificate (parseCertificate runs again for the fingerprint, the -v lines
  // and the known_hosts check): a hostile server burnt client CPU before any verdict (break32 F4).
  it('is refused (or at least checked) without seconds of CPU', () => {
    const n = (1n << 16383n) | (12345678901234567890n << 100n) | 1n;
    const e = (1n << 16382n) - 1n;
    const blob = new SshWriter(5000).string('ssh-rsa').string(mpintBody(bigIntToBytes(e))).string(mpintBody(bigIntToBytes(n))).toBytes();
    const sig = new SshWriter(2100).string('rsa-sha2-512').string(bigIntToBytes((1n << 16000n) + 17n, 2048)).toBytes();
    const key: Ed25519Key = { secret: new Uint8Array(32), blob, sign: () => sig };
    const t0 = performance.now();
    const p = run(key, 'rsa-sha2-512');
    const ms = performance.now() - t0;
    expectSignatureRefused(p);
    expect(ms, 'ms spent refusing the host key').toBeLessThan(400);
  });
});
