/**
 * sntrup761x25519-sha512 (./src/kex/sntrup761x25519.ts) before its primitive lands: the hybrid's
 * own rules — C_INIT / S_REPLY layout and lengths, K = string SHA-512(K_kem || K_x25519), the
 * refusals — checked with a stand-in KEM that has sntrup761's sizes. The stand-in is NOT a KEM
 * anyone could use (its "secret" is public); it only lets the combiner run end to end. Once
 * src/crypto/sntrup761.ts is registered, the registry, vector and interop tests cover the real one.
 */
import { createHash, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import { DisconnectReason, ProtocolError, UsageError } from '../src/errors.js';
import type { Kem } from '../src/kex/kem-hybrid.js';
import { KEX_SNTRUP761X25519, sntrup761x25519Methods } from '../src/kex/sntrup761x25519.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';
import { seededRandom } from './support/fake-server.js';

/** Stand-in with sntrup761's sizes: ss = SHA-256(pk || ct), the "secret key" holds pk. */
const standIn: Kem = {
  publicKeyLength: 1158,
  cipherTextLength: 1039,
  keygen: (random) => {
    const publicKey = random(1158);
    return { publicKey, secretKey: publicKey.slice() };
  },
  encapsulate: (publicKey, random) => {
    if (publicKey.length !== 1158) throw new Error('bad public key');
    const cipherText = random(1039);
    return { cipherText, sharedSecret: createHash('sha256').update(publicKey).update(cipherText).digest() };
  },
  decapsulate: (cipherText, secretKey) => createHash('sha256').update(secretKey).update(cipherText).digest(),
};

const x25519Private = (priv: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), priv]), format: 'der', type: 'pkcs8' });
const x25519Public = (pub: Uint8Array) =>
  createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), pub]), format: 'der', type: 'spki' });

const ctx = {
  hostKeyBlob: new SshWriter(64).string('ssh-ed25519').string(new Uint8Array(32).fill(1)).toBytes(),
  sign: () => new Uint8Array(8),
  exchangeHash: () => new Uint8Array(64),
};

describe('sntrup761x25519-sha512 (draft-ietf-sshm-ntruprime-ssh) over a stand-in KEM', () => {
  const methods = sntrup761x25519Methods(standIn);

  it('both names, SHA-512, post-quantum, default (not legacy)', () => {
    expect(methods.map((m) => m.name)).toEqual(KEX_SNTRUP761X25519);
    expect(KEX_SNTRUP761X25519).toEqual(['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']);
    for (const m of methods) expect([m.hash, m.postQuantum, m.legacy]).toEqual(['sha512', true, false]);
  });

  it('refuses a primitive without sntrup761 sizes', () => {
    expect(() => sntrup761x25519Methods({ ...standIn, cipherTextLength: 1088 })).toThrow(UsageError);
  });

  it('C_INIT = pk (1158) || X25519 (32); S_REPLY = ct (1039) || X25519 (32); both sides get K = string SHA-512(K_kem || K_x25519)', () => {
    const m = methods[0]!;
    const clientRandom = seededRandom(11);
    const client = m.client(clientRandom, pureCryptoProvider);
    const init = client.start();
    const cInit = new SshReader(init, 1).string();
    expect(init[0]).toBe(30);
    expect(cInit.length).toBe(1158 + 32);

    const serverRandom = seededRandom(12);
    const server = m.server(serverRandom, pureCryptoProvider).receive(init, ctx);
    const r = new SshReader(server.send, 1);
    r.string();
    const sReply = r.string();
    expect(sReply.length).toBe(1039 + 32);
    const step = client.receive(server.send);
    if (!('reply' in step)) throw new Error('expected the reply');
    expect(step.reply.sharedSecret).toEqual(server.done!.sharedSecret);

    // Independently: the KEM secret from the stand-in, X25519 by OpenSSL with the server's
    // private key (the seeded source's bytes after the 1039-byte ciphertext), SHA-512 by node.
    const replay = seededRandom(12);
    replay(1039);
    const serverX = replay(32);
    const kKem = createHash('sha256').update(cInit.subarray(0, 1158)).update(sReply.subarray(0, 1039)).digest();
    const kX = diffieHellman({ privateKey: x25519Private(serverX), publicKey: x25519Public(cInit.subarray(1158)) });
    const k = createHash('sha512').update(Buffer.concat([kKem, kX])).digest();
    expect(Buffer.from(step.reply.sharedSecret).toString('hex')).toBe('00000040' + k.toString('hex'));
  });

  it('a reply of the wrong length or with a low-order X25519 key is KEY_EXCHANGE_FAILED', () => {
    const m = methods[1]!;
    for (const value of [new Uint8Array(1039 + 31).fill(5), new Uint8Array(1039 + 32)]) {
      const client = m.client(seededRandom(3), pureCryptoProvider);
      client.start();
      const reply = new SshWriter(2000).byte(31).string(ctx.hostKeyBlob).string(value).string(new Uint8Array(8)).toBytes();
      let caught: unknown;
      try {
        client.receive(reply);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect((caught as ProtocolError).reason).toBe(DisconnectReason.KEY_EXCHANGE_FAILED);
    }
  });
});
