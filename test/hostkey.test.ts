import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Decode, base64Encode } from '../src/protocol/base64.js';
import { DisconnectReason, ProtocolError } from '../src/errors.js';
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  fingerprintSha256,
  hostKeyAlgorithms,
  keyBlobType,
  legacyHostKeyAlgorithms,
  verifyHostKeySignature,
} from '../src/keys/hostkey.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';
import { expectProtocolError } from './support/expect-protocol-error.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const rand = (n: number) => new Uint8Array(randomBytes(n));
const SSH_KEYGEN = '/usr/bin/ssh-keygen';

const blob = (...parts: (string | Uint8Array)[]) => {
  const w = new SshWriter();
  for (const p of parts) w.string(p);
  return w.toBytes();
};

function expectSignatureError(fn: () => void): ProtocolError {
  return expectProtocolError(fn, 'ERR_HOST_KEY_SIGNATURE', DisconnectReason.KEY_EXCHANGE_FAILED);
}

describe('registry', () => {
  it('every default algorithm is registered, with the blob type it uses', () => {
    for (const name of DEFAULT_HOST_KEY_ALGORITHMS) expect(hostKeyAlgorithms.get(name)?.name).toBe(name);
    expect(hostKeyAlgorithms.get('rsa-sha2-256')?.keyType).toBe('ssh-rsa');
    expect(hostKeyAlgorithms.get('ssh-ed25519')?.keyType).toBe('ssh-ed25519');
    // OpenSSH 9.2/10 myproposal.h KEX_DEFAULT_PK_ALG: certificates first (test/host-cert-offer compares with ssh -G).
    expect(DEFAULT_HOST_KEY_ALGORITHMS[0]).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(DEFAULT_HOST_KEY_ALGORITHMS.slice(6)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256']);
    expect(hostKeyAlgorithms.has('ssh-rsa')).toBe(false); // SHA-1 signatures are not offered
  });

  it('rejects an unknown algorithm', () => {
    expectSignatureError(() => verifyHostKeySignature('ssh-dss', new Uint8Array(), new Uint8Array(), new Uint8Array()));
  });
});

describe('ssh-ed25519 (RFC 8709) with the RFC 8032 §7.1 vectors', () => {
  const vs = vectors('ed25519.json').vectors;
  for (const v of vs) {
    it(v.name, () => {
      expect(Buffer.from(ed25519.getPublicKey(hex(v.secret))).toString('hex')).toBe(v.public);
      const key = blob('ssh-ed25519', hex(v.public));
      const sig = blob('ssh-ed25519', hex(v.signature));
      verifyHostKeySignature('ssh-ed25519', key, sig, hex(v.message));
    });
  }

  const v = vs[2];
  const key = blob('ssh-ed25519', hex(v.public));
  const sig = blob('ssh-ed25519', hex(v.signature));
  const data = hex(v.message);

  it('rejects a wrong signature, a different message and another key', () => {
    for (const pos of [0, 31, 32, 63]) {
      const s = hex(v.signature);
      s[pos]! ^= 0x04;
      expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', key, blob('ssh-ed25519', s), data));
    }
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', key, sig, new Uint8Array([0xaf, 0x83])));
    const other = blob('ssh-ed25519', hex(vs[0].public));
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', other, sig, data));
  });

  it('rejects a non-canonical S (S + L), RFC 8032 §5.1.7 step 1', () => {
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const raw = hex(v.signature);
    let S = 0n;
    for (let i = 63; i >= 32; i--) S = (S << 8n) | BigInt(raw[i]!);
    S += L;
    for (let i = 32; i < 64; i++) {
      raw[i] = Number(S & 0xffn);
      S >>= 8n;
    }
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', key, blob('ssh-ed25519', raw), data));
  });

  it('rejects malformed blobs, a mismatched signature name and a key of another type', () => {
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', key.subarray(0, key.length - 1), sig, data));
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', new Uint8Array([...key, 0]), sig, data));
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', key, new Uint8Array([...sig, 0]), data));
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', key, sig.subarray(0, 20), data));
    expectSignatureError(() =>
      verifyHostKeySignature('ssh-ed25519', key, blob('ssh-ed25519', hex(v.signature).subarray(0, 63)), data),
    );
    expectSignatureError(() =>
      verifyHostKeySignature('ssh-ed25519', blob('ssh-ed25519', hex(v.public).subarray(1)), sig, data),
    );
    const e = expectSignatureError(() =>
      verifyHostKeySignature('ssh-ed25519', key, blob('ssh-ed448', hex(v.signature)), data),
    );
    expect(e.message).toMatch(/ssh-ed448/);
    expectSignatureError(() => verifyHostKeySignature('ssh-ed25519', blob('ssh-rsa', hex(v.public)), sig, data));
    expectSignatureError(() => verifyHostKeySignature('ecdsa-sha2-nistp256', key, sig, data));
  });
});

describe('real OpenSSH keys and signatures (ssh-keygen)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-hostkey-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Parse an SSHSIG armored signature (OpenSSH PROTOCOL.sshsig) into the data signed and the blobs. */
  function parseSshsig(armored: string, message: Uint8Array) {
    const b64 = armored
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    const raw = base64Decode(b64);
    expect(Buffer.from(raw.subarray(0, 6)).toString()).toBe('SSHSIG');
    const r = new SshReader(raw, 6);
    expect(r.uint32()).toBe(1);
    const publicKey = r.string();
    const namespace = r.string();
    const reserved = r.string();
    const hashAlg = r.string();
    const signature = r.string();
    r.end();
    const hashName = Buffer.from(hashAlg).toString();
    const digest = new Uint8Array(createHash(hashName).update(message).digest());
    const w = new SshWriter().raw(new TextEncoder().encode('SSHSIG'));
    w.string(namespace).string(reserved).string(hashAlg).string(digest);
    return { publicKey, signature, signedData: w.toBytes(), sigAlg: new SshReader(signature).utf8() };
  }

  const cases: { type: string; bits?: number; alg: string }[] = [
    { type: 'ed25519', alg: 'ssh-ed25519' },
    { type: 'ecdsa', bits: 256, alg: 'ecdsa-sha2-nistp256' },
    { type: 'ecdsa', bits: 384, alg: 'ecdsa-sha2-nistp384' },
    { type: 'ecdsa', bits: 521, alg: 'ecdsa-sha2-nistp521' },
    { type: 'rsa', bits: 2048, alg: 'rsa-sha2-512' },
  ];

  for (const c of cases) {
    it(`${c.alg}: fingerprint matches ssh-keygen -lf and ssh-keygen -Y signatures verify`, () => {
      const base = join(dir, `${c.type}${c.bits ?? ''}`);
      execFileSync(SSH_KEYGEN, ['-q', '-t', c.type, ...(c.bits ? ['-b', String(c.bits)] : []), '-N', '', '-C', 't', '-f', base]);
      const [keyType, b64] = readFileSync(`${base}.pub`, 'utf8').trim().split(/\s+/);
      const keyBlob = base64Decode(b64!);
      expect(keyBlobType(keyBlob)).toBe(keyType);
      const listed = execFileSync(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', `${base}.pub`], { encoding: 'utf8' });
      expect(fingerprintSha256(keyBlob)).toBe(listed.split(/\s+/)[1]);

      for (let i = 0; i < (c.type === 'ecdsa' ? 4 : 2); i++) {
        const message = rand(50 + i);
        const msgFile = `${base}.msg${i}`;
        writeFileSync(msgFile, message);
        execFileSync(SSH_KEYGEN, ['-q', '-Y', 'sign', '-f', base, '-n', 'pure-ssh-test', msgFile]);
        const { publicKey, signature, signedData, sigAlg } = parseSshsig(readFileSync(`${msgFile}.sig`, 'utf8'), message);
        expect(Buffer.from(publicKey).equals(Buffer.from(keyBlob))).toBe(true);
        expect(sigAlg).toBe(c.alg);
        verifyHostKeySignature(c.alg, keyBlob, signature, signedData);

        const tampered = signedData.slice();
        tampered[tampered.length - 1]! ^= 1;
        expectSignatureError(() => verifyHostKeySignature(c.alg, keyBlob, signature, tampered));
        const badSig = signature.slice();
        badSig[badSig.length - 5]! ^= 0x10;
        expectSignatureError(() => verifyHostKeySignature(c.alg, keyBlob, badSig, signedData));

        if (c.type === 'ecdsa') {
          // Replace s by n - s: an equally valid signature of the opposite "S-ness". OpenSSH
          // emits both kinds, so both must verify (no low-S rule).
          const curve = c.bits === 256 ? p256 : c.bits === 384 ? p384 : p521;
          const n = curve.Point.Fn.ORDER;
          const body = new SshReader(signature);
          body.string();
          const inner = new SshReader(body.string());
          const rr = inner.mpint();
          const s = BigInt('0x' + Buffer.from(inner.mpint()).toString('hex'));
          let flipped = (n - s).toString(16);
          if (flipped.length % 2) flipped = '0' + flipped;
          const w = new SshWriter().string(rr).mpint(hex(flipped));
          const flippedSig = blob(c.alg, w.toBytes());
          verifyHostKeySignature(c.alg, keyBlob, flippedSig, signedData);
          // A signature blob naming another curve is refused.
          expectSignatureError(() =>
            verifyHostKeySignature(c.alg, keyBlob, blob('ecdsa-sha2-nistp999', w.toBytes()), signedData),
          );
        }
      }
    }, 60_000);
  }
});

describe('rsa-sha2-256 / rsa-sha2-512 (RFC 8332) against node:crypto signatures', () => {
  function rsaKey(bits: number) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const jwk = publicKey.export({ format: 'jwk' });
    const e = new Uint8Array(Buffer.from(jwk.e!, 'base64url'));
    const n = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
    const keyBlob = new SshWriter().string('ssh-rsa').mpint(e).mpint(n).toBytes();
    return { privateKey, keyBlob };
  }
  const k2048 = rsaKey(2048);

  it('verifies PKCS#1 v1.5 signatures with SHA-256 and SHA-512', () => {
    const data = rand(32);
    for (const [alg, hash] of [
      ['rsa-sha2-256', 'sha256'],
      ['rsa-sha2-512', 'sha512'],
    ] as const) {
      const s = new Uint8Array(nodeSign(hash, data, k2048.privateKey));
      verifyHostKeySignature(alg, k2048.keyBlob, blob(alg, s), data);
      const bad = s.slice();
      bad[100]! ^= 1;
      expectSignatureError(() => verifyHostKeySignature(alg, k2048.keyBlob, blob(alg, bad), data));
    }
  });

  it('refuses a SHA-256 signature presented as rsa-sha2-512 and vice versa', () => {
    const data = rand(32);
    const s256 = new Uint8Array(nodeSign('sha256', data, k2048.privateKey));
    expectSignatureError(() => verifyHostKeySignature('rsa-sha2-512', k2048.keyBlob, blob('rsa-sha2-256', s256), data));
    expectSignatureError(() => verifyHostKeySignature('rsa-sha2-512', k2048.keyBlob, blob('rsa-sha2-512', s256), data));
    expectSignatureError(() => verifyHostKeySignature('rsa-sha2-256', k2048.keyBlob, blob('ssh-rsa', s256), data));
  });

  it('accepts a signature with its leading zero byte stripped, as OpenSSH does', () => {
    let data = rand(32);
    let s = new Uint8Array(nodeSign('sha256', data, k2048.privateKey));
    for (let i = 0; i < 5000 && s[0] !== 0; i++) {
      data = rand(32);
      s = new Uint8Array(nodeSign('sha256', data, k2048.privateKey));
    }
    expect(s[0]).toBe(0);
    verifyHostKeySignature('rsa-sha2-256', k2048.keyBlob, blob('rsa-sha2-256', s.subarray(1)), data);
    verifyHostKeySignature('rsa-sha2-256', k2048.keyBlob, blob('rsa-sha2-256', s), data);
  }, 60_000);

  it('refuses a signature longer than the modulus or not below it', () => {
    const data = rand(32);
    const s = new Uint8Array(nodeSign('sha256', data, k2048.privateKey));
    expectSignatureError(() =>
      verifyHostKeySignature('rsa-sha2-256', k2048.keyBlob, blob('rsa-sha2-256', new Uint8Array([0, ...s])), data),
    );
    expectSignatureError(() =>
      verifyHostKeySignature('rsa-sha2-256', k2048.keyBlob, blob('rsa-sha2-256', new Uint8Array(256).fill(0xff)), data),
    );
  });

  it('ssh-rsa (SHA-1) verifies only behind the explicit legacy flag', () => {
    const data = rand(32);
    const s1 = new Uint8Array(nodeSign('sha1', data, k2048.privateKey));
    expect(legacyHostKeyAlgorithms.get('ssh-rsa')?.keyType).toBe('ssh-rsa');
    expectSignatureError(() => verifyHostKeySignature('ssh-rsa', k2048.keyBlob, blob('ssh-rsa', s1), data));
    verifyHostKeySignature('ssh-rsa', k2048.keyBlob, blob('ssh-rsa', s1), data, { legacyRsaSha1: true });
    const other = data.slice();
    other[0]! ^= 1;
    expectSignatureError(() =>
      verifyHostKeySignature('ssh-rsa', k2048.keyBlob, blob('ssh-rsa', s1), other, { legacyRsaSha1: true }),
    );
    // The flag does not make a SHA-256 signature pass as SHA-1.
    const s256 = new Uint8Array(nodeSign('sha256', data, k2048.privateKey));
    expectSignatureError(() =>
      verifyHostKeySignature('ssh-rsa', k2048.keyBlob, blob('ssh-rsa', s256), data, { legacyRsaSha1: true }),
    );
  });

  it('accepts a 1024-bit modulus (OpenSSH minimum) and refuses a 768-bit one', () => {
    const data = rand(32);
    const k1024 = rsaKey(1024);
    verifyHostKeySignature(
      'rsa-sha2-256',
      k1024.keyBlob,
      blob('rsa-sha2-256', new Uint8Array(nodeSign('sha256', data, k1024.privateKey))),
      data,
    );
    const k768 = rsaKey(768);
    expectSignatureError(() =>
      verifyHostKeySignature(
        'rsa-sha2-256',
        k768.keyBlob,
        blob('rsa-sha2-256', new Uint8Array(nodeSign('sha256', data, k768.privateKey))),
        data,
      ),
    );
  });
});

describe('fingerprintSha256, keyBlobType, base64', () => {
  it('fingerprint is SHA256: + unpadded base64 of SHA-256(blob)', () => {
    const b = rand(51);
    const expected = 'SHA256:' + createHash('sha256').update(b).digest('base64').replace(/=+$/, '');
    expect(fingerprintSha256(b)).toBe(expected);
    expect(fingerprintSha256(b)).toHaveLength(7 + 43);
  });

  it('keyBlobType reads the first string and rejects a truncated blob', () => {
    expect(keyBlobType(blob('ssh-ed25519', rand(32)))).toBe('ssh-ed25519');
    expect(() => keyBlobType(new Uint8Array([0, 0, 0, 9, 0x73]))).toThrow(ProtocolError);
  });

  it('base64 round-trips against Buffer for every length 0..100', () => {
    for (let n = 0; n <= 100; n++) {
      const b = rand(n);
      const std = Buffer.from(b).toString('base64');
      expect(base64Encode(b)).toBe(std);
      expect(base64Encode(b, false)).toBe(std.replace(/=+$/, ''));
      expect(Buffer.from(base64Decode(std)).equals(Buffer.from(b))).toBe(true);
      expect(Buffer.from(base64Decode(std.replace(/=+$/, ''))).equals(Buffer.from(b))).toBe(true);
    }
  });

  it('base64Decode rejects invalid input', () => {
    for (const bad of ['A', 'AB$D', 'AB CD', 'ABC=D', 'AQ=', '====', 'AB==CD==', 'AR==']) {
      expect(() => base64Decode(bad), bad).toThrow(ProtocolError);
    }
  });
});
