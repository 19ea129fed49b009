/**
 * Finite-field DH sizing as OpenSSH does it (kex.c we_need/dh_need, dh.c dh_estimate and
 * dh_gen_key, kexgexc.c's request), the group checks of group exchange, and the BigInt helpers.
 */
import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bitLength, bytesToBigInt, modPow } from '../src/crypto/bigint.js';
import { dhGenerateKey, dhPublicValueProblem, keyNeeds, parsePositiveMpint } from '../src/kex/dh.js';
import { chooseGexGroup, dhEstimate, gexGroupProblem } from '../src/kex/dh-gex.js';
import { MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18, OAKLEY_GROUP_2 } from '../src/kex/modp-groups.js';
import { kexMethods } from '../src/kex/registry.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import type { Negotiated } from '../src/transport/kexinit.js';
import { negotiatedFor } from './support/negotiated.js';

const GEX = 'diffie-hellman-group-exchange-sha256';
import { seededRandom } from './support/fake-server.js';

/** The n of the client's SSH_MSG_KEX_DH_GEX_REQUEST (RFC 4419 §3) for these algorithms. */
function requested(n: Negotiated): number[] {
  const start = kexMethods.get('diffie-hellman-group-exchange-sha256')!.client(seededRandom(1), pureCryptoProvider, n).start();
  const b = Buffer.from(start);
  return [b[0]!, b.readUInt32BE(1), b.readUInt32BE(5), b.readUInt32BE(9)];
}

describe('what the ciphers need (OpenSSH kex.c kex_choose_conf)', () => {
  it('chacha20-poly1305: 64-byte key → need 64; the MAC is not used', () => {
    expect(keyNeeds(negotiatedFor({ kex: GEX, cipher: 'chacha20-poly1305@openssh.com', mac: 'hmac-sha2-512' }))).toEqual({ weNeed: 64, dhNeed: 64 });
  });
  it('aes128-gcm: max(key 16, block 16, IV 12) = 16', () => {
    expect(keyNeeds(negotiatedFor({ kex: GEX, cipher: 'aes128-gcm@openssh.com' }))).toEqual({ weNeed: 16, dhNeed: 16 });
  });
  it('aes128-ctr with hmac-sha2-256: the MAC key (32) dominates', () => {
    expect(keyNeeds(negotiatedFor({ kex: GEX, cipher: 'aes128-ctr', mac: 'hmac-sha2-256' }))).toEqual({ weNeed: 32, dhNeed: 32 });
  });
  it('without negotiated algorithms: the largest need of any registered cipher and MAC', () => {
    expect(keyNeeds().weNeed).toBe(64);
  });
});

describe('group exchange request (OpenSSH kexgexc.c, dh.c dh_estimate)', () => {
  it('dh_estimate thresholds: ≤112 → 2048, ≤128 → 3072, ≤192 → 7680, else 8192', () => {
    expect([112, 113, 128, 129, 192, 193, 512].map(dhEstimate)).toEqual([2048, 3072, 3072, 7680, 7680, 8192, 8192]);
  });
  it('message 34 with min 2048, n from the cipher, max 8192', () => {
    expect(requested(negotiatedFor({ kex: GEX, cipher: 'aes128-gcm@openssh.com' }))).toEqual([34, 2048, 3072, 8192]);
    expect(requested(negotiatedFor({ kex: GEX, cipher: 'aes256-gcm@openssh.com' }))).toEqual([34, 2048, 8192, 8192]);
    expect(requested(negotiatedFor({ kex: GEX, cipher: 'chacha20-poly1305@openssh.com' }))).toEqual([34, 2048, 8192, 8192]);
  });
  it('group checks: size within [min, max], p odd, 1 < g < p − 1', () => {
    const req = { min: 2048, n: 3072, max: 8192 };
    expect(gexGroupProblem(req, MODP_GROUP_16.p, 2n)).toBeUndefined();
    expect(gexGroupProblem(req, OAKLEY_GROUP_2.p, 2n)).toMatch(/DH GEX group out of range: 1024 bits/);
    expect(gexGroupProblem({ ...req, max: 4096 }, MODP_GROUP_18.p, 2n)).toMatch(/out of range/);
    expect(gexGroupProblem(req, MODP_GROUP_14.p + 1n, 2n)).toMatch(/p is even/);
    expect(gexGroupProblem(req, MODP_GROUP_14.p, 1n)).toMatch(/g is out of range/);
    expect(gexGroupProblem(req, MODP_GROUP_14.p, MODP_GROUP_14.p - 1n)).toMatch(/g is out of range/);
  });
  it("the test server's choice: smallest RFC 3526 group ≥ n within [min, max]", () => {
    expect(chooseGexGroup({ min: 2048, n: 3072, max: 8192 })).toBe(MODP_GROUP_16);
    expect(chooseGexGroup({ min: 2048, n: 8192, max: 8192 })).toBe(MODP_GROUP_18);
    expect(chooseGexGroup({ min: 2048, n: 8192, max: 4096 })).toBe(MODP_GROUP_16);
    expect(chooseGexGroup({ min: 1024, n: 1024, max: 1024 })).toBeUndefined();
  });
});

describe('DH keys (OpenSSH dh.c dh_gen_key, dh_pub_is_valid)', () => {
  it('the private exponent has twice the needed bits (at least 512), top bit set; e = g^x mod p', () => {
    for (const [need, bits] of [
      [16, 512],
      [32, 512],
      [64, 1024],
    ] as const) {
      const kp = dhGenerateKey(MODP_GROUP_14, need, seededRandom(need));
      expect(bitLength(kp.x)).toBe(bits);
      expect(kp.publicValue).toBe(modPow(2n, kp.x, MODP_GROUP_14.p));
    }
  });
  it('group 1 (1024 bits) with a 64-byte need: exponent capped at |p| − 1 = 1023 bits', () => {
    expect(bitLength(dhGenerateKey(OAKLEY_GROUP_2, 64, seededRandom(3)).x)).toBe(1023);
  });
  it('public values: 1 < y < p − 1 with at least 4 bits set', () => {
    const p = MODP_GROUP_14.p;
    expect(dhPublicValueProblem(0n, p)).toBe('<= 1');
    expect(dhPublicValueProblem(1n, p)).toBe('<= 1');
    expect(dhPublicValueProblem(p - 1n, p)).toBe('>= p-1');
    expect(dhPublicValueProblem(p, p)).toBe('>= p-1');
    expect(dhPublicValueProblem((1n << 200n) | 1n, p)).toBe('fewer than 4 bits set');
    expect(dhPublicValueProblem(0b1111n, p)).toBeUndefined();
  });
  it('mpints from the wire: negative and non-minimal encodings are refused', () => {
    expect(parsePositiveMpint(Uint8Array.of(0x00, 0x80), 'f')).toBe(0x80n);
    expect(parsePositiveMpint(new Uint8Array(0), 'f')).toBe(0n);
    expect(() => parsePositiveMpint(Uint8Array.of(0x80), 'f')).toThrow(/f is negative/);
    expect(() => parsePositiveMpint(Uint8Array.of(0x00, 0x01), 'f')).toThrow(/not a minimal mpint/);
  });
});

describe('BigInt helpers (src/crypto/bigint.ts)', () => {
  it('bytes ↔ BigInt round trip, padding, limits', () => {
    expect(bytesToBigInt(Uint8Array.of(1, 0))).toBe(256n);
    expect(bytesToBigInt(new Uint8Array(0))).toBe(0n);
    expect([...bigIntToBytes(256n)]).toEqual([1, 0]);
    expect([...bigIntToBytes(1n, 3)]).toEqual([0, 0, 1]);
    expect(bigIntToBytes(0n).length).toBe(0);
    expect(() => bigIntToBytes(65536n, 2)).toThrow(RangeError);
    expect(() => bigIntToBytes(-1n)).toThrow(RangeError);
  });
  it('modPow matches square-and-multiply on edge exponents', () => {
    const naive = (b: bigint, e: bigint, m: bigint) => {
      let r = 1n;
      for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
      return r;
    };
    const m = MODP_GROUP_14.p;
    for (const e of [0n, 1n, 2n, 15n, 16n, 17n, (1n << 255n) - 1n, 1n << 256n, 0xdeadbeefcafebaben]) {
      expect(modPow(3n, e, m)).toBe(naive(3n, e, m));
    }
    expect(modPow(-2n, 3n, 7n)).toBe(6n);
    expect(() => modPow(2n, 1n, 1n)).toThrow(RangeError);
  });
});
