import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { sntrup761 } from '../src/crypto/sntrup761.js';
import { UsageError } from '../src/errors.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/sntrup761.json', import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const rand = (n: number) => new Uint8Array(randomBytes(n));

// Secret key layout: f (191) || 1/g (191) || public key (1158) || rho (191) || Hash_4(pk) (32).
const RHO_AT = 2 * 191 + 1158;

/**
 * The RNG the vectors were made with (vectors/README.md): block k = SHA-512(seed || uint32be(k)),
 * random(n) hands out the next n bytes; `prefix` bytes, if any, come first. Records every request.
 */
function counterStream(seed: Uint8Array, prefix = new Uint8Array(0)) {
  let k = 0;
  let block = new Uint8Array(0);
  let at = 0;
  let prefixAt = 0;
  const requests: number[] = [];
  const random = (n: number): Uint8Array => {
    requests.push(n);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (prefixAt < prefix.length) {
        out[i] = prefix[prefixAt++]!;
        continue;
      }
      if (at === block.length) {
        const input = new Uint8Array(36);
        input.set(seed);
        new DataView(input.buffer).setUint32(32, k++);
        block = sha512(input);
        at = 0;
      }
      out[i] = block[at++]!;
    }
    return out;
  };
  return { random, requests };
}

/** The NIST PQC KAT generator's AES-256 CTR_DRBG (no reseeding, no personalisation), on OpenSSL's AES. */
class NistDrbg {
  private key = Buffer.alloc(32);
  private v = Buffer.alloc(16);
  constructor(entropy: Uint8Array) {
    this.update(entropy);
  }
  private block(): Buffer {
    for (let j = 15; j >= 0; j--) {
      if (this.v[j] === 0xff) this.v[j] = 0;
      else {
        this.v[j]!++;
        break;
      }
    }
    const aes = createCipheriv('aes-256-ecb', this.key, null).setAutoPadding(false);
    return aes.update(this.v);
  }
  private update(data: Uint8Array | null): void {
    const t = Buffer.concat([this.block(), this.block(), this.block()]);
    if (data) for (let i = 0; i < 48; i++) t[i]! ^= data[i]!;
    this.key = t.subarray(0, 32);
    this.v = Buffer.from(t.subarray(32, 48));
  }
  /** randombytes(): whole blocks, the unused rest of the last one dropped, then a state update. */
  bytes = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 16) out.set(this.block().subarray(0, Math.min(16, n - at)), at);
    this.update(null);
    return out;
  };
}

/** Hash_b(x) = the first 32 bytes of SHA-512(b || x), written out here independently of the module. */
function hashPrefix(b: number, x: Uint8Array): Uint8Array {
  return sha512(new Uint8Array([b, ...x])).subarray(0, 32);
}

/** The implicit-rejection secret the KEM specifies: Hash_0(Hash_3(rho) || ciphertext). */
function rejectionSecret(cipherText: Uint8Array, secretKey: Uint8Array): string {
  const rho = secretKey.subarray(RHO_AT, RHO_AT + 191);
  return toHex(hashPrefix(0, new Uint8Array([...hashPrefix(3, rho), ...cipherText])));
}

function expectField(entry: Record<string, string>, name: string, value: Uint8Array): void {
  if (entry[name] !== undefined) expect(toHex(value)).toBe(entry[name]);
  else expect(sha256(value)).toBe(entry[`${name}Sha256`]);
}

describe('sntrup761', () => {
  it('has the sizes OpenSSH uses (crypto_api.h)', () => {
    expect(sntrup761.publicKeyLength).toBe(1158);
    expect(sntrup761.secretKeyLength).toBe(1763);
    expect(sntrup761.cipherTextLength).toBe(1039);
    expect(sntrup761.sharedSecretLength).toBe(32);
  });

  vectors.kat.forEach((v: Record<string, string> & { keygenRandomBytes: number }, i: number) => {
    it(`matches OpenSSH's sntrup761.c, known answer ${i}`, () => {
      const { random, requests } = counterStream(hex(v.seed));
      const { publicKey, secretKey } = sntrup761.keygen(random);
      expect(requests.reduce((a, b) => a + b, 0)).toBe(v.keygenRandomBytes);
      const { cipherText, sharedSecret } = sntrup761.encapsulate(publicKey, random);
      expectField(v, 'publicKey', publicKey);
      expectField(v, 'secretKey', secretKey);
      expectField(v, 'cipherText', cipherText);
      expect(toHex(sharedSecret)).toBe(v.sharedSecret);
      expect(toHex(sntrup761.decapsulate(cipherText, secretKey))).toBe(v.sharedSecret);
    });
  });

  it('draws randomness as OpenSSH does: 4p bytes for g, 4p for f, 191 for rho; 4p for r', () => {
    const { random, requests } = counterStream(hex(vectors.kat[0].seed));
    const { publicKey } = sntrup761.keygen(random);
    expect(requests).toEqual([3044, 3044, 191]);
    sntrup761.encapsulate(publicKey, random);
    expect(requests).toEqual([3044, 3044, 191, 3044]);
  });

  it('retries keygen when g is not invertible mod 3, drawing 4p more bytes (known answer)', () => {
    const v = vectors.keygenRetry;
    // Every word 0x20000000 makes a coefficient floor(3 * 2^29 / 2^30) - 1 = 0, so g = 0.
    const prefix = new Uint8Array(3044);
    for (let i = 3; i < prefix.length; i += 4) prefix[i] = 0x20;
    const { random, requests } = counterStream(hex(v.seed), prefix);
    const { publicKey, secretKey } = sntrup761.keygen(random);
    expect(requests).toEqual([3044, 3044, 3044, 191]);
    expect(requests.reduce((a, b) => a + b, 0)).toBe(v.keygenRandomBytes);
    const { cipherText, sharedSecret } = sntrup761.encapsulate(publicKey, random);
    expectField(v, 'publicKey', publicKey);
    expectField(v, 'secretKey', secretKey);
    expectField(v, 'cipherText', cipherText);
    expect(toHex(sharedSecret)).toBe(v.sharedSecret);
  });

  describe('implicit rejection', () => {
    const kat = vectors.kat[vectors.rejection.secretKeyOf];
    const secretKey = hex(kat.secretKey);
    const valid = hex(vectors.kat[vectors.rejection.cipherTextOf].cipherText);

    for (const c of vectors.rejection.cases) {
      it(`${c.name}: the reference's rejection secret Hash_0(Hash_3(rho) || c), not the real one`, () => {
        let cipherText: Uint8Array;
        if (c.xor) {
          cipherText = valid.slice();
          cipherText[c.xor.offset]! ^= c.xor.mask;
        } else if (c.fill !== undefined) cipherText = new Uint8Array(1039).fill(c.fill);
        else cipherText = hex(vectors.kat[c.fromKat].cipherText);
        const secret = toHex(sntrup761.decapsulate(cipherText, secretKey));
        expect(secret).toBe(c.sharedSecret);
        expect(secret).not.toBe(kat.sharedSecret);
        expect(secret).toBe(rejectionSecret(cipherText, secretKey));
      });
    }

    it('every single-bit flip of a ciphertext is rejected, at sampled positions', () => {
      for (let bit = 0; bit < 1039 * 8; bit += 211) {
        const cipherText = valid.slice();
        cipherText[bit >> 3]! ^= 1 << (bit & 7);
        expect(toHex(sntrup761.decapsulate(cipherText, secretKey))).toBe(rejectionSecret(cipherText, secretKey));
      }
    });
  });

  it('round-trips with fresh random keys, and leaves its inputs untouched', () => {
    for (let i = 0; i < 4; i++) {
      const { publicKey, secretKey } = sntrup761.keygen(rand);
      const pkCopy = publicKey.slice();
      const skCopy = secretKey.slice();
      const secrets = new Set<string>();
      for (let j = 0; j < 2; j++) {
        const { cipherText, sharedSecret } = sntrup761.encapsulate(publicKey, rand);
        const ctCopy = cipherText.slice();
        expect(sharedSecret.length).toBe(32);
        expect(toHex(sntrup761.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
        expect(cipherText).toEqual(ctCopy);
        secrets.add(toHex(sharedSecret));
      }
      expect(secrets.size).toBe(2);
      expect(publicKey).toEqual(pkCopy);
      expect(secretKey).toEqual(skCopy);
      // The secret key carries the public key and Hash_4(pk) (OpenSSH's layout).
      expect(secretKey.subarray(382, 382 + 1158)).toEqual(publicKey);
      expect(secretKey.subarray(1731)).toEqual(hashPrefix(4, publicKey));
    }
  });

  it('wipes the random bytes it was given', () => {
    const handed: Uint8Array[] = [];
    const random = (n: number) => {
      const b = rand(n);
      handed.push(b);
      return b;
    };
    const { publicKey } = sntrup761.keygen(random);
    sntrup761.encapsulate(publicKey, random);
    expect(handed.length).toBe(4);
    for (const b of handed) expect(b.every((x) => x === 0)).toBe(true);
  });

  it('reproduces the published NIST KAT digests (PQClean, liboqs): first entry and all 100', () => {
    const outer = new NistDrbg(new Uint8Array(48).map((_, i) => i));
    const all = createHash('sha256');
    const H = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
    for (let count = 0; count < 100; count++) {
      const seed = outer.bytes(48);
      const random = new NistDrbg(seed).bytes;
      const { publicKey, secretKey } = sntrup761.keygen(random);
      const { cipherText, sharedSecret } = sntrup761.encapsulate(publicKey, random);
      const entry = `count = ${count}\nseed = ${H(seed)}\npk = ${H(publicKey)}\nsk = ${H(secretKey)}\nct = ${H(cipherText)}\nss = ${H(sharedSecret)}\n`;
      if (count === 0) expect(createHash('sha256').update(entry).digest('hex')).toBe(vectors.nist.single);
      all.update(count === 99 ? entry : `${entry}\n`);
      if (count % 10 === 0) expect(toHex(sntrup761.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
    }
    expect(all.digest('hex')).toBe(vectors.nist.all);
  });

  describe('wrong lengths throw UsageError', () => {
    const { publicKey, secretKey } = sntrup761.keygen(rand);
    const { cipherText } = sntrup761.encapsulate(publicKey, rand);

    it('public key', () => {
      for (const n of [0, 1157, 1159]) {
        expect(() => sntrup761.encapsulate(new Uint8Array(n), rand)).toThrow(UsageError);
      }
      expect(() => sntrup761.encapsulate(publicKey.subarray(1), rand)).toThrow('sntrup761: public key must be 1158 bytes, got 1157 bytes');
    });

    it('ciphertext and secret key', () => {
      expect(() => sntrup761.decapsulate(cipherText.subarray(0, 1038), secretKey)).toThrow(UsageError);
      expect(() => sntrup761.decapsulate(new Uint8Array(1040), secretKey)).toThrow('sntrup761: ciphertext must be 1039 bytes, got 1040 bytes');
      expect(() => sntrup761.decapsulate(cipherText, secretKey.subarray(1))).toThrow('sntrup761: secret key must be 1763 bytes, got 1762 bytes');
      expect(() => sntrup761.decapsulate(cipherText, new Uint8Array(1764))).toThrow(UsageError);
    });

    it('a random() that returns the wrong number of bytes', () => {
      expect(() => sntrup761.keygen((n) => rand(n - 1))).toThrow('sntrup761: random(3044) must return 3044 bytes, got 3043');
      expect(() => sntrup761.encapsulate(publicKey, (n) => rand(n + 1))).toThrow(UsageError);
    });
  });
});
