/**
 * Finite-field Diffie-Hellman through the node:crypto provider (CryptoProvider.fixedGroupDh): the
 * fixed groups' e and K (RFC 4253 §8, RFC 3526 groups 14, 16, 18) come from OpenSSL, equal to the
 * BigInt path's; group exchange (RFC 4419) never asks it, and the provider refuses every prime
 * OpenSSL does not know by name (it would test it for primality: ~45 s for 8192 bits).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bytesToBigInt, modPow } from '../src/crypto/bigint.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import type { KexReply } from '../src/kex/kex.js';
import { MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18 } from '../src/kex/modp-groups.js';
import { kexMethods } from '../src/kex/registry.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { ed25519Key, seededRandom } from './support/fake-server.js';
import { negotiatedFor } from './support/negotiated.js';

const GROUPS = { 'diffie-hellman-group14-sha256': MODP_GROUP_14, 'diffie-hellman-group16-sha512': MODP_GROUP_16, 'diffie-hellman-group18-sha512': MODP_GROUP_18 };

/** The node provider with fixedGroupDh counted. */
function counted(): { provider: CryptoProvider; calls: () => number } {
  let calls = 0;
  const provider: CryptoProvider = Object.create(nodeCryptoProvider, {
    fixedGroupDh: { value: (p: Uint8Array, x: Uint8Array, y?: Uint8Array) => (calls++, nodeCryptoProvider.fixedGroupDh!(p, x, y)) },
  });
  return { provider, calls: () => calls };
}

/** One exchange between the registry's client and server halves; the client's messages and K. */
function exchange(method: string, clientCrypto: CryptoProvider, serverCrypto: CryptoProvider, seed: number) {
  const m = kexMethods.get(method)!;
  const negotiated = negotiatedFor({ kex: method });
  const client = m.client(seededRandom(seed), clientCrypto, negotiated);
  const server = m.server(seededRandom(seed + 1), serverCrypto, negotiated);
  const host = ed25519Key(new Uint8Array(32).fill(9));
  const ctx = { hostKeyBlob: host.blob, sign: () => new Uint8Array(0), exchangeHash: () => new Uint8Array(32) };
  const sent: Uint8Array[] = [client.start()];
  let reply: KexReply | undefined;
  let serverK: Uint8Array | undefined;
  while (!reply) {
    const answer = server.receive(sent[sent.length - 1]!, ctx);
    if (answer.done) serverK = answer.done.sharedSecret;
    const step = client.receive(answer.send);
    if ('send' in step) sent.push(step.send);
    else reply = step.reply;
  }
  return { sent: sent.map((s) => Buffer.from(s).toString('hex')), clientK: Buffer.from(reply.sharedSecret).toString('hex'), serverK: Buffer.from(serverK!).toString('hex') };
}

describe.each(Object.entries(GROUPS))('%s', (method, group) => {
  it('e and K from OpenSSL on both sides, the same bytes as the BigInt path with the same random', () => {
    const node = counted();
    const viaNode = exchange(method, node.provider, node.provider, 11);
    // Client: e, K; server: f, K.
    expect(node.calls()).toBe(4);
    expect(viaNode.clientK).toBe(viaNode.serverK);
    expect(viaNode).toEqual(exchange(method, pureCryptoProvider, pureCryptoProvider, 11));
  });

  it('fixedGroupDh: 2^x and y^x mod p as modPow computes them', () => {
    const x = 0xa5n << 500n | 0x1234567n;
    const y = (group.p * 3n) / 7n;
    const p = bigIntToBytes(group.p);
    expect(bytesToBigInt(nodeCryptoProvider.fixedGroupDh!(p, bigIntToBytes(x))!)).toBe(modPow(2n, x, group.p));
    expect(bytesToBigInt(nodeCryptoProvider.fixedGroupDh!(p, bigIntToBytes(x), bigIntToBytes(y))!)).toBe(modPow(y, x, group.p));
  });
});

it('group exchange computes in BigInt arithmetic (never asks the provider), and the provider refuses primes it does not know by name', () => {
  const node = counted();
  const r = exchange('diffie-hellman-group-exchange-sha256', node.provider, node.provider, 5);
  expect(r.clientK).toBe(r.serverK);
  expect(node.calls()).toBe(0);
  // sshd's group-exchange primes (/etc/ssh/moduli, 8191 bits: OpenSSL would test it for ~45 s).
  const line = readFileSync('/etc/ssh/moduli', 'utf8').split('\n').find((l) => l.split(' ')[4] === '8191')!;
  const p = Buffer.from(line.split(' ')[6]!.padStart(2048, '0'), 'hex');
  expect(nodeCryptoProvider.fixedGroupDh!(p, bigIntToBytes(1n << 511n))).toBeUndefined();
  expect(nodeCryptoProvider.fixedGroupDh!(bigIntToBytes(MODP_GROUP_14.p + 2n), bigIntToBytes(1n << 511n))).toBeUndefined();
});
