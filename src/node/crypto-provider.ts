/**
 * The runtime crypto provider: the same primitives as the pure provider, computed by the runtime's
 * `node:crypto` (OpenSSL on Node; Bun, Deno and workerd with nodejs_compat implement the same
 * module). Synchronous, so it fits the sans-IO core's packet path. Poly1305 stays ours
 * (node:crypto has no Poly1305 of its own); the ChaCha20 keystream comes from the runtime where
 * it has one (Node, Deno) and from our own ChaCha20 where it does not (Bun, workerd). X25519 and
 * the NIST curves' ECDH (the kex), Ed25519 and ECDSA (host key and user key signatures) come from
 * the runtime too when it passes a known-answer check: a fresh process otherwise spends tens of
 * milliseconds (the NIST curves: 75 to 170) in @noble/curves building its base-point tables
 * before the first packet (bench/README.md "Start-up").
 *
 * The Node adapter picks it automatically; force the pure one with `connect({ crypto: 'pure' })`
 * or `PURE_SSH_CRYPTO=pure` (the CLI too). `pure-ssh/web` users pass it themselves,
 * from the subpath `pure-ssh/node-crypto` (this module):
 *
 * @example
 * ```ts
 * import { connect } from 'pure-ssh/web';
 * import { nodeCryptoProvider } from 'pure-ssh/node-crypto';
 * const conn = await Deno.connect({ hostname: 'foo.com', port: 22 });
 * const ssh = await connect({ transport: conn, host: 'foo.com', username, privateKey, knownHosts, crypto: nodeCryptoProvider });
 * ```
 */
import {
  createCipheriv,
  createDecipheriv,
  createDiffieHellman,
  createECDH,
  getDiffieHellman,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getCiphers,
  sign as nodeSign,
  verify as nodeVerify,
  type Cipher,
  type Decipher,
  type KeyObject,
} from 'node:crypto';
import { bigIntToBytes, bytesToBigInt, modPow } from '../crypto/bigint.js';
import { ChaCha20 } from '../crypto/chacha20.js';
import { withWasm } from '../crypto/chacha20-poly1305-wasm.js';
import { BATCH_BYTES, BlockGcm } from '../crypto/ghash.js';
import { pureTsCryptoProvider } from '../crypto/pure.js';
import { copyToSlab } from '../crypto/slab.js';
import type {
  AesGcm,
  BlockStream,
  ChaCha20Stream,
  CryptoProvider,
  EcdhCurveOps,
  EcdsaCurveName,
  EcdsaCurveOps,
  EcdsaVerifier,
  Ed25519,
  HashName,
  Hmac,
  RsaPrivateKeyBytes,
  X25519,
} from '../crypto/provider.js';
import { noteArrayBufferBytes } from './array-buffer-cap.js';
import { releaseScratch } from './array-buffer-release.js';
import { ED25519_TEST2_MAULED_SIGNATURE } from './ed25519-self-test.js';

const AES_BY_KEY_LENGTH: Readonly<Record<number, string>> = { 16: 'aes-128', 24: 'aes-192', 32: 'aes-256' };

function aesName(key: Uint8Array, mode: string): string {
  const base = AES_BY_KEY_LENGTH[key.length];
  if (!base) throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  return `${base}-${mode}`;
}

/** Copy `src` into `buf` at `at` (node:crypto returns new Buffers; the core works in place). */
function put(buf: Uint8Array, at: number, src: Uint8Array): void {
  buf.set(src, at);
}

/**
 * {@link put} for a node:crypto result dropped right after: its memory is freed at once where the
 * CLI turned that on (./array-buffer-release.ts), not at V8's next collection.
 */
function putAndRelease(buf: Uint8Array, at: number, src: Uint8Array): void {
  buf.set(src, at);
  releaseScratch(src);
}

class NodeBlockStream implements BlockStream {
  constructor(private readonly c: Cipher | Decipher) {
    c.setAutoPadding(false);
  }
  update(buf: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    noteArrayBufferBytes(end - start);
    putAndRelease(buf, start, this.c.update(buf.subarray(start, end)));
  }
  dispose(): void {
    // node:crypto cannot wipe its context; dropping it lets OpenSSL free (and clear) it.
  }
}

class NodeGcm implements AesGcm {
  private readonly alg: string;
  /** Short messages: one ECB context for the key's lifetime and GHASH in TypeScript (crypto/ghash.ts). */
  private readonly small: BlockGcm;
  constructor(private readonly key: Uint8Array) {
    this.alg = aesName(key, 'gcm');
    const ecb = createCipheriv(aesName(key, 'ecb') as 'aes-128-ecb', key, null);
    ecb.setAutoPadding(false);
    this.small = new BlockGcm((blocks) => ecb.update(blocks));
  }
  seal(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): void {
    if (end - start <= SMALL_GCM) return this.small.seal(iv, buf, aadStart, start, end);
    noteArrayBufferBytes(end - start);
    const c = createCipheriv(this.alg as 'aes-128-gcm', this.key, iv, { authTagLength: 16 });
    c.setAAD(buf.subarray(aadStart, start));
    const out = c.update(buf.subarray(start, end));
    c.final();
    putAndRelease(buf, start, out);
    put(buf, end, c.getAuthTag());
  }
  open(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): boolean {
    if (end - start <= SMALL_GCM) return this.small.open(iv, buf, aadStart, start, end);
    const out = this.openCopy(iv, buf, aadStart, start, end);
    if (out === null) return false;
    putAndRelease(buf, start, out);
    return true;
  }
  /** OpenSSL writes the plaintext to a new Buffer: that Buffer is the result (no copy back). */
  openCopy(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): Uint8Array | null {
    if (end - start <= SMALL_GCM) {
      // The small-packet path works in place: on a copy of AAD, ciphertext and tag, so `buf`
      // (possibly a read buffer only lent to us) stays untouched; the copy is carved from a slab
      // (crypto/slab.ts), not an ArrayBuffer of its own per packet.
      const copy = copyToSlab(buf, aadStart, end + 16);
      return this.small.open(iv, copy, 0, start - aadStart, end - aadStart) ? copy.subarray(start - aadStart, end - aadStart) : null;
    }
    noteArrayBufferBytes(end - start);
    const d = createDecipheriv(this.alg as 'aes-128-gcm', this.key, iv, { authTagLength: 16 });
    d.setAAD(buf.subarray(aadStart, start));
    d.setAuthTag(buf.subarray(end, end + 16));
    const out = d.update(buf.subarray(start, end));
    try {
      d.final();
    } catch {
      out.fill(0);
      return null;
    }
    return out;
  }
  dispose(): void {
    this.small.dispose();
    this.key.fill(0);
  }
}

/**
 * Bytes (padding length, payload and padding) up to which an AES-GCM packet is sealed and opened
 * with {@link BlockGcm} rather than a new OpenSSL GCM context per packet. Measured (CPU per seal,
 * warm, Node 20, loaded 2-core machine): 80 bytes 1.8 µs against OpenSSL's 3.5 µs, 256 bytes
 * 3.4–3.5 against 4.4–5.3, 384 bytes 4.7–6.2 against 3.9; on a cold process OpenSSL's context
 * costs 8–10 µs per packet.
 */
const SMALL_GCM = BATCH_BYTES;

class NodeHmac implements Hmac {
  readonly length: number;
  constructor(
    private readonly alg: HashName,
    private readonly key: Uint8Array,
  ) {
    this.length = createHash(alg).digest().length;
  }
  compute(a: Uint8Array, b: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void {
    put(out, outOff, createHmac(this.alg, this.key).update(a).update(b.subarray(start, end)).digest());
  }
  dispose(): void {
    this.key.fill(0);
  }
}

/**
 * The original ChaCha20 through OpenSSL's RFC 8439 ChaCha20: OpenSSL's 16-byte IV is the
 * 32-bit little-endian block counter followed by the 96-bit nonce, so the original variant's
 * 64-bit counter and 64-bit nonce map onto it as counter || 0x00000000 || nonce while the
 * counter stays below 2^32 (an SSH packet needs at most 2^12 blocks).
 */
class NodeChaCha20 implements ChaCha20Stream {
  private readonly iv = new Uint8Array(16);
  /** Short ranges (the length, the Poly1305 key) are cheaper in JS than a new OpenSSL context (~5 µs). */
  private readonly small: ChaCha20;
  /** See ChaCha20Stream.nativeFrom: where OpenSSL has chacha20. */
  readonly nativeFrom: number | undefined;
  constructor(private readonly key: Uint8Array) {
    this.small = new ChaCha20(key, 0);
    this.nativeFrom = runtimeHasChaCha20() ? NATIVE_CHACHA : undefined;
  }
  xor(nonce: Uint8Array, counter: number, buf: Uint8Array, start: number, end: number): void {
    if (end - start <= SMALL_CHACHA || !runtimeHasChaCha20()) {
      this.small.xor(nonce, counter, buf, start, end);
      return;
    }
    putAndRelease(buf, start, this.keystreamXor(nonce, counter, buf, start, end));
  }
  xorCopy(nonce: Uint8Array, counter: number, buf: Uint8Array, start: number, end: number): Uint8Array {
    // Decrypted straight into a slab (one view made per packet, no copy to XOR afterwards).
    if (end - start <= SMALL_CHACHA || !runtimeHasChaCha20()) return this.small.xorToSlab(nonce, counter, buf, start, end);
    return this.keystreamXor(nonce, counter, buf, start, end);
  }
  /** OpenSSL's result, a new Buffer. */
  private keystreamXor(nonce: Uint8Array, counter: number, buf: Uint8Array, start: number, end: number): Uint8Array {
    const iv = this.iv;
    iv[0] = counter;
    iv[1] = counter >>> 8;
    iv[2] = counter >>> 16;
    iv[3] = counter >>> 24;
    iv.set(nonce.subarray(0, 8), 8);
    noteArrayBufferBytes(end - start);
    return createCipheriv('chacha20', this.key, iv).update(buf.subarray(start, end));
  }
  dispose(): void {
    this.small.dispose();
    this.key.fill(0);
    this.iv.fill(0);
  }
}

/** Bytes up to which the JS ChaCha20 beats a fresh OpenSSL context (measured: ~1 KiB). */
const SMALL_CHACHA = 1024;
/** Payload bytes from which OpenSSL's ChaCha20 beats the WebAssembly one (one call per packet included). */
const NATIVE_CHACHA = 3072;

/**
 * RFC 8410 §7 OneAsymmetricKey and §4 SubjectPublicKeyInfo headers (DER) for a raw 32-byte key:
 * OpenSSL imports X25519 and Ed25519 keys this way. OIDs: id-X25519 1.3.101.110, id-Ed25519
 * 1.3.101.112 (§3).
 */
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const RAW_KEY_BYTES = 32;

function rawKey(length: number, key: Uint8Array, what: string): void {
  if (key.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${key.length}`);
}

/** A private KeyObject from a raw 32-byte key; the DER copy holding it is wiped. */
function privateKeyObject(header: Buffer, raw: Uint8Array, what: string): KeyObject {
  rawKey(RAW_KEY_BYTES, raw, what);
  const der = Buffer.concat([header, raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function publicKeyObject(header: Buffer, raw: Uint8Array, what: string): KeyObject {
  rawKey(RAW_KEY_BYTES, raw, what);
  return createPublicKey({ key: Buffer.concat([header, raw]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of a public KeyObject (the end of its SPKI encoding, RFC 8410 §4). */
function rawPublic(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - RAW_KEY_BYTES));
}

const nodeX25519: X25519 = {
  publicKey: (privateKey) => rawPublic(createPublicKey(privateKeyObject(X25519_PKCS8, privateKey, 'X25519 private key'))),
  sharedSecret(privateKey, peerPublic) {
    const out = diffieHellman({
      privateKey: privateKeyObject(X25519_PKCS8, privateKey, 'X25519 private key'),
      publicKey: publicKeyObject(X25519_SPKI, peerPublic, 'X25519 public key'),
    });
    const shared = new Uint8Array(out);
    out.fill(0);
    return shared;
  },
};

/**
 * The encodings of Ed25519's points of small order (1, 2, 4, 8), y little-endian with the sign
 * bit of x cleared, and the two non-canonical ones (y = p, p + 1) that decode to them: libsodium's
 * blocklist (ed25519_ref10.c ge25519_has_small_order). OpenSSL verifies under such a key, where
 * anyone can make a signature that verifies (A = the identity: R = [S]B for any S);
 * @noble/curves' strict verification (the pure provider's) refuses them, and so does this one:
 * both providers give the same answer, and a blob remembered as verified
 * (../keys/certificate.ts) holds whichever checked it.
 */
const ED25519_SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function smallOrderPoint(publicKey: Uint8Array): boolean {
  if (publicKey.length !== RAW_KEY_BYTES) return false;
  const y = Buffer.from(publicKey);
  y[31] = y[31]! & 0x7f;
  const hex = y.toString('hex');
  return ED25519_SMALL_ORDER.includes(hex);
}

const nodeEd25519: Ed25519 = {
  publicKey: (seed) => rawPublic(createPublicKey(privateKeyObject(ED25519_PKCS8, seed, 'Ed25519 seed'))),
  sign: (seed, message) => new Uint8Array(nodeSign(null, message, privateKeyObject(ED25519_PKCS8, seed, 'Ed25519 seed'))),
  verify: (publicKey, signature, message) =>
    signature.length === 64 &&
    !smallOrderPoint(publicKey) &&
    nodeVerify(null, message, publicKeyObject(ED25519_SPKI, publicKey, 'Ed25519 public key'), signature),
};

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/**
 * Whether this runtime's X25519 gives RFC 7748 §6.1's answers (Alice's public key, the shared
 * secret) and refuses a low-order point (u = 0). Bun and Deno implement node:crypto too; one that
 * does not, or differs, keeps the pure X25519. Alice's private key is imported once (through the
 * same PKCS#8 path as every key, {@link privateKeyObject}) and used for all three answers: each
 * PKCS#8 import costs OpenSSL ~0.5 ms of CPU, and these checks run at every start.
 */
function x25519Works(): boolean {
  try {
    const alice = privateKeyObject(X25519_PKCS8, fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'), 'X25519 private key');
    const agree = (peer: Uint8Array) => diffieHellman({ privateKey: alice, publicKey: publicKeyObject(X25519_SPKI, peer, 'X25519 public key') });
    if (Buffer.from(rawPublic(createPublicKey(alice))).toString('hex') !== '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a') return false;
    const k = agree(fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')).toString('hex');
    if (k !== '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742') return false;
    try {
      agree(new Uint8Array(32));
      return false;
    } catch {
      return true;
    }
  } catch {
    return false;
  }
}

/**
 * Whether this runtime's Ed25519 gives RFC 8032 §7.1 TEST 2's public key and signature, verifies
 * it, and refuses it with S + L ({@link ED25519_TEST2_MAULED_SIGNATURE}). The seed is imported
 * once for the public key and the signature (see {@link x25519Works}).
 */
function ed25519Works(): boolean {
  try {
    const seed = privateKeyObject(ED25519_PKCS8, fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'), 'Ed25519 seed');
    const message = fromHex('72');
    const pk = rawPublic(createPublicKey(seed));
    if (Buffer.from(pk).toString('hex') !== '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c') return false;
    const sig = new Uint8Array(nodeSign(null, message, seed));
    const expected =
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
      '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';
    if (Buffer.from(sig).toString('hex') !== expected || !nodeEd25519.verify(pk, sig, message)) return false;
    return !nodeEd25519.verify(pk, fromHex(ED25519_TEST2_MAULED_SIGNATURE), message);
  } catch {
    return false;
  }
}

/** One NIST curve for node:crypto: its namedCurve OID (DER), sizes, hash, and a known answer. */
export interface NodeEcCurve {
  /** RFC 5480 §2.1.1.1 namedCurve, the OBJECT IDENTIFIER's DER encoding. */
  readonly oid: Buffer;
  /** OpenSSL's name of the curve, for createECDH. */
  readonly opensslName: string;
  readonly size: number;
  /** The group order n (FIPS 186-4 §D.1.2), big-endian at {@link size}, lowercase hex. */
  readonly order: string;
  /** RFC 5656 §6.2.1. */
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** A private scalar and its public point (uncompressed), for the check on first use. */
  readonly knownD: string;
  readonly knownQ: string;
  /** The deterministic (RFC 6979 §3.2) signature r || s of "sample" under knownD, a high S. */
  readonly knownSig: string;
  /** The x-coordinate of knownD·knownQ: the ECDH known answer. */
  readonly knownSharedX: string;
}

/**
 * Known answers: RFC 6979 §A.2.5 (P-256) and §A.2.6 (P-384) key pairs and their signatures of
 * "sample" with the curve's hash (as RFC 6979 lists them, with a high S); for P-521 a scalar of
 * our own, and the point and RFC 6979 signature @noble/curves gives for it. The ECDH answer
 * d·(d·G) is noble's on all three (test/ecdsa-provider.test.ts checks them all against noble).
 */
export const NODE_EC_CURVES: Readonly<Record<EcdsaCurveName, NodeEcCurve>> = {
  nistp256: {
    oid: Buffer.from('06082a8648ce3d030107', 'hex'),
    opensslName: 'prime256v1',
    size: 32,
    order: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
    hash: 'sha256',
    knownD: 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
    knownQ:
      '0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6' + '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299',
    knownSig:
      'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716' + 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
    knownSharedX: '2388ee990c93c4bb757203225b7786d69950d2f0de43cdf23dc71f5efaa169c8',
  },
  nistp384: {
    oid: Buffer.from('06052b81040022', 'hex'),
    opensslName: 'secp384r1',
    size: 48,
    order: 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    hash: 'sha384',
    knownD: '6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5',
    knownQ:
      '04ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13' +
      '8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720',
    knownSig:
      '94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46' +
      '99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8',
    knownSharedX: '905b8f97a03235c5cb1752a7984727c2e978287ee1afbaafa89e5ca1d4c601702c1c5f5ed8f12ec243da8281f12932a8',
  },
  nistp521: {
    oid: Buffer.from('06052b81040023', 'hex'),
    opensslName: 'secp521r1',
    size: 66,
    order: '01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
    hash: 'sha512',
    knownD: '0000000000000000000000000000000000000000000000000000000000000000000043c97eae59687576d288156104e80d6916ac61bf99c38af7fe4ec94fb8759b16',
    knownQ:
      '0400145f055ac7c2095f95ba5cb35c684e7decf15b098bae0b3bf61562bf9a1a817f99b574ea9b929422a066bb642d1be0da0f1c520b29d28c568f2c2286b689c19efa' +
      '0083295815e0218c1ff27f1f21266afb4b660b50fa4036c931ec5cac7ba63c79b798772ae056ef336856dd345bed2790b2b7e85ab94359e385c8d643ff30e0c41ad9',
    knownSig:
      '0140f924755829829eb8171acbdd98fa1460c210fc23acb61c33f4e3cba368acae9302d07a4a3bf5f13f83ba03102bfc051b725bf25af03dcd0fe6ba6f1eb210903e' +
      '018e72041ac8356b6dbfa21da46553bbc2d51063b54015e9c9e20ddd686dada79120adc72ef0b7a319f70cea69fde0c055775e4a980a44423fc0cf6ab992985999ad',
    knownSharedX:
      '0014d954df79981cf15891b33866e7ed8530054f24c95996694fc5f0f4f66701a21cc1aea022e6ec37d08668c7a00314f9070ada3aaf35948760e65730b2edb96547',
  },
};

/** DER tag-length-value with a short-form length (every structure here is under 128 bytes). */
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, body.length]), body]);
}

/** RFC 5480 §2.1.1: id-ecPublicKey's DER encoding. */
const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');

/** Per curve: the DER of an SPKI (RFC 5480 §2) up to the uncompressed point it ends with. */
const spkiPrefixes = new Map<NodeEcCurve, Buffer>();

/**
 * A public KeyObject from an uncompressed point: SPKI `SEQUENCE { SEQUENCE { id-ecPublicKey,
 * namedCurve }, BIT STRING (0 unused bits) Q }` (RFC 5480 §2). OpenSSL decodes the point with
 * SEC1 §2.3.4's checks (coordinates below p, on the curve) and throws if it fails them.
 */
function ecPublicKeyObject(c: NodeEcCurve, q: Uint8Array): KeyObject {
  let prefix = spkiPrefixes.get(c);
  if (prefix === undefined) {
    // P-521's SPKI is 158 bytes: the outer lengths take the long form.
    const spki = derTlv(0x30, Buffer.concat([tlv(0x30, EC_PUBLIC_KEY_OID, c.oid), derTlv(0x03, Buffer.alloc(2 + 2 * c.size))]));
    prefix = spki.subarray(0, spki.length - (1 + 2 * c.size));
    spkiPrefixes.set(c, prefix);
  }
  return createPublicKey({ key: Buffer.concat([prefix, q]), format: 'der', type: 'spki' });
}

/**
 * Whether the big-endian `d` (the curve's size) lies in [1, n−1] (SEC1 §3.2.1): OpenSSL 3.0 imports
 * 0, n and n + 1 alike (the last as the key of G), so the check is ours.
 */
function scalarInRange(c: NodeEcCurve, d: Uint8Array): boolean {
  let nonZero = 0;
  // The sign of d − n, from the most significant byte that differs.
  let cmp = 0;
  for (let i = 0; i < d.length; i++) {
    nonZero |= d[i]!;
    if (cmp === 0) cmp = d[i]! - parseInt(c.order.slice(2 * i, 2 * i + 2), 16);
  }
  return nonZero !== 0 && cmp < 0;
}

/**
 * A private KeyObject from the raw scalar: RFC 5915 §3 ECPrivateKey `SEQUENCE { version 1,
 * privateKey OCTET STRING, [0] namedCurve }` without the optional public key, which OpenSSL
 * computes. The DER copies holding `d` are wiped.
 */
function ecPrivateKeyObject(c: NodeEcCurve, d: Uint8Array): KeyObject {
  if (d.length !== c.size) throw new RangeError(`EC private scalar must be ${c.size} bytes, got ${d.length}`);
  if (!scalarInRange(c, d)) throw new RangeError('EC private scalar is not in [1, n-1]');
  const octets = tlv(0x04, Buffer.from(d));
  const der = tlv(0x30, Buffer.from('020101', 'hex'), octets, tlv(0xa0, c.oid));
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  } finally {
    octets.fill(0);
    der.fill(0);
  }
}

/** The uncompressed point of a public KeyObject: the end of its SPKI's BIT STRING (RFC 5480 §2.2). */
function ecRawPublic(c: NodeEcCurve, key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  const q = new Uint8Array(der.subarray(der.length - (1 + 2 * c.size)));
  if (q[0] !== 4) throw new Error('the runtime did not export an uncompressed EC point');
  return q;
}

/** The runtime's ECDSA on one curve, unchecked. */
function nodeEcdsaOps(c: NodeEcCurve): EcdsaCurveOps {
  return {
    publicKey: (d) => ecRawPublic(c, createPublicKey(ecPrivateKeyObject(c, d))),
    sign(d, data) {
      // IEEE P1363: r || s, each at the curve's size.
      const sig = nodeSign(c.hash, data, { key: ecPrivateKeyObject(c, d), dsaEncoding: 'ieee-p1363' });
      if (sig.length !== 2 * c.size) throw new Error(`the runtime's ECDSA signature is ${sig.length} bytes, expected ${2 * c.size}`);
      return new Uint8Array(sig);
    },
  };
}

/** The runtime's ECDSA verification on one curve, unchecked. */
function nodeEcdsaVerifierOps(c: NodeEcCurve): EcdsaVerifier {
  return {
    verify(q, data, rs) {
      if (q.length !== 1 + 2 * c.size || q[0] !== 4 || rs.length !== 2 * c.size) return false;
      let key: KeyObject;
      try {
        key = ecPublicKeyObject(c, q);
      } catch {
        // Not a point of the curve: no signature verifies under it (noble says false too).
        return false;
      }
      // OpenSSL's ECDSA_do_verify refuses r or s outside [1, n−1] and accepts a high S.
      return nodeVerify(c.hash, data, { key, dsaEncoding: 'ieee-p1363' }, rs);
    },
  };
}

/**
 * Whether this runtime's ECDSA on `c` gives the known public point, and a signature that its own
 * verification accepts over the message and refuses over another (k is random: there is no
 * fixed signature to compare).
 */
function ecdsaWorks(c: NodeEcCurve, ops: EcdsaCurveOps): boolean {
  try {
    const d = fromHex(c.knownD);
    if (Buffer.from(ops.publicKey(d)).toString('hex') !== c.knownQ) return false;
    const message = fromHex('73616d706c65'); // "sample", RFC 6979 §A.2's message
    const sig = ops.sign(d, message);
    const pub = createPublicKey(ecPrivateKeyObject(c, d));
    const verify = (m: Uint8Array) => nodeVerify(c.hash, m, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
    return verify(message) && !verify(fromHex('73616d706c66'));
  } catch {
    return false;
  }
}

/**
 * Whether this runtime's ECDSA verification on `c` accepts the known signature (its S is high,
 * which OpenSSH accepts), refuses it with S changed, and refuses it under a point off the curve:
 * two verifications, a few ms on P-521 in a fresh process where the signing check above costs
 * several multiplications more. Exported for the tests.
 */
export function ecdsaVerifierWorks(c: NodeEcCurve, verifier: EcdsaVerifier): boolean {
  try {
    const q = fromHex(c.knownQ);
    const message = fromHex('73616d706c65'); // "sample"
    const known = fromHex(c.knownSig);
    const changed = known.slice();
    changed[changed.length - 1]! ^= 1;
    const offCurve = q.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    return verifier.verify(q, message, known) && !verifier.verify(q, message, changed) && !verifier.verify(offCurve, message, known);
  } catch {
    return false;
  }
}

/**
 * The runtime's operations on a curve, made by `make` and kept only if `works` passes, on the
 * curve's first use (the answer, undefined for a failed check, kept per curve): only what a
 * connection uses is checked, not everything at every start.
 */
function checkedPerCurve<T>(make: (c: NodeEcCurve) => T, works: (c: NodeEcCurve, ops: T) => boolean): (curve: EcdsaCurveName) => T | undefined {
  const byCurve = new Map<EcdsaCurveName, T | undefined>();
  return (curve) => {
    if (!byCurve.has(curve)) {
      const c = NODE_EC_CURVES[curve];
      const ops = c === undefined ? undefined : make(c);
      byCurve.set(curve, ops !== undefined && works(c!, ops) ? ops : undefined);
    }
    return byCurve.get(curve);
  };
}

/** The runtime's ECDSA verification on a curve, checked on its first use. */
const nodeEcdsaVerifier = checkedPerCurve(nodeEcdsaVerifierOps, ecdsaVerifierWorks);

/**
 * The runtime's ECDSA on a curve, checked on its first use (about a millisecond once OpenSSL is
 * warm, a few on P-384 and P-521): only ECDSA key files need it.
 */
const nodeEcdsa = checkedPerCurve(nodeEcdsaOps, ecdsaWorks);

/** DER tag, length (short or long form, X.690 §8.1.3) and contents. */
function derTlv(tag: number, body: Buffer): Buffer {
  const length: number[] = [];
  for (let n = body.length; n > 0; n = Math.floor(n / 256)) length.unshift(n % 256);
  const head = body.length < 128 ? [tag, body.length] : [tag, 0x80 | length.length, ...length];
  return Buffer.concat([Buffer.from(head), body]);
}

/** A non-negative DER INTEGER (X.690 §8.3) from unsigned big-endian bytes. */
function derUnsigned(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const v = Buffer.from(bytes.subarray(start));
  return derTlv(0x02, v.length === 0 || v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/**
 * RSASSA-PKCS1-v1_5 with OpenSSL: the key imported as an RFC 8017 §A.1.2 RSAPrivateKey
 * (`SEQUENCE { version 0, n, e, d, p, q, dP, dQ, qInv }`, DER), its copies wiped after. Undefined
 * when the runtime refuses the key or the call (the caller then signs in TypeScript).
 */
function nodeRsaSign(key: RsaPrivateKeyBytes, hash: HashName, data: Uint8Array): Uint8Array | undefined {
  const fields = [new Uint8Array(1), key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qi].map(derUnsigned);
  const der = derTlv(0x30, Buffer.concat(fields));
  try {
    return new Uint8Array(nodeSign(hash, data, createPrivateKey({ key: der, format: 'der', type: 'pkcs1' })));
  } catch {
    return undefined;
  } finally {
    for (const f of fields) f.fill(0);
    der.fill(0);
  }
}

/**
 * 2^x or y^x mod p in a group OpenSSL knows by its prime (its named safe-prime groups: modp14,
 * modp16, modp18), which it takes without testing the prime; any other prime gives undefined
 * (group 2's 1024 bits are not among them: OpenSSL spent ~0.5 s testing it). Checked on first
 * use against a known answer. The byte copies of x are wiped.
 */
function nodeFixedGroupDh(p: Uint8Array, x: Uint8Array, y?: Uint8Array): Uint8Array | undefined {
  if (!fixedGroupPrimes().some((known) => known.equals(p))) return undefined;
  fixedGroupDhWorks ??= fixedGroupKnownAnswer();
  return fixedGroupDhWorks ? fixedGroupDhUnchecked(p, x, y) : undefined;
}

let fixedGroupDhWorks: boolean | undefined;
let knownPrimes: Buffer[] | undefined;

/**
 * OpenSSL's own copies of the fixed groups' primes (getDiffieHellman), on Node itself only: Bun's
 * createDiffieHellman took 0.7, 5.8 and 38 s for groups 14, 16 and 18 (BigInt: 1–19 ms there),
 * Deno's fails the known answer, workerd's is unmeasured.
 */
function fixedGroupPrimes(): Buffer[] {
  if (knownPrimes === undefined) {
    const node = process.release?.name === 'node' && process.versions.bun === undefined && process.versions.deno === undefined;
    try {
      knownPrimes = node ? ['modp14', 'modp16', 'modp18'].map((name) => getDiffieHellman(name).getPrime()) : [];
    } catch {
      knownPrimes = [];
    }
  }
  return knownPrimes;
}

function fixedGroupDhUnchecked(p: Uint8Array, x: Uint8Array, y?: Uint8Array): Uint8Array | undefined {
  const secret = Buffer.from(x);
  try {
    const dh = createDiffieHellman(Buffer.from(p), Buffer.from([2]));
    dh.setPrivateKey(secret);
    return new Uint8Array(y === undefined ? dh.generateKeys() : dh.computeSecret(Buffer.from(y)));
  } catch {
    return undefined;
  } finally {
    secret.fill(0);
  }
}

/**
 * Group 14 (2048 bits), x = 2^64 + 1: e = 2^x and e^x mod p in BigInt arithmetic (../crypto/bigint.ts
 * modPow; a 65-bit exponent, ~0.1 ms), against the runtime's answers.
 */
function fixedGroupKnownAnswer(): boolean {
  const bytes = fixedGroupPrimes()[0]!;
  const p = bytesToBigInt(bytes);
  const x = (1n << 64n) + 1n;
  const e = modPow(2n, x, p);
  const answer = (y?: bigint) => {
    const got = fixedGroupDhUnchecked(bytes, bigIntToBytes(x), y === undefined ? undefined : bigIntToBytes(y));
    return got === undefined ? undefined : bytesToBigInt(got);
  };
  return answer() === e && answer(e) === modPow(e, x, p);
}

/**
 * The runtime's ECDH on one curve, unchecked: one OpenSSL ECDH object per key pair, which
 * computes Q when given d and keeps d for the shared secret (two multiplications in all). The
 * scalar is reduced here, not with @noble/curves: loading and setting up its NIST curves costs a
 * fresh CLI ~15 ms of CPU (and the lazily loaded bundle file that holds them more).
 */
function nodeEcdhOps(c: NodeEcCurve): EcdhCurveOps {
  const pointBytes = 1 + 2 * c.size;
  return {
    keyPair(seed) {
      if (seed.length < c.size + 8 || seed.length > 1024) throw new RangeError(`ECDH seed must be ${c.size + 8} to 1024 bytes, got ${seed.length}`);
      // FIPS 186-5 A.2.1: d = (c mod (n − 1)) + 1, in [1, n − 1].
      const n = BigInt('0x' + c.order);
      const d = Buffer.from(bigIntToBytes((bytesToBigInt(seed) % (n - 1n)) + 1n, c.size));
      let ecdh: ReturnType<typeof createECDH> | undefined = createECDH(c.opensslName);
      try {
        ecdh.setPrivateKey(d);
      } catch (e) {
        d.fill(0);
        throw e;
      }
      const publicKey = new Uint8Array(ecdh.getPublicKey());
      if (publicKey.length !== pointBytes || publicKey[0] !== 4) throw new Error('the runtime did not give an uncompressed EC point');
      return {
        publicKey,
        sharedX(peer) {
          if (ecdh === undefined) throw new Error('ECDH key pair used after dispose()');
          // SEC1 §2.3.3 uncompressed only: OpenSSL would also decode the compressed forms.
          if (peer.length !== pointBytes || peer[0] !== 4) throw new RangeError(`EC point must be ${pointBytes} bytes, uncompressed`);
          // OpenSSL decodes the point with SEC1 §3.2.2's checks (coordinates below p, on the
          // curve) and throws ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY otherwise; x comes at the field size.
          const out = ecdh.computeSecret(peer);
          const x = new Uint8Array(out);
          out.fill(0);
          if (x.length !== c.size) throw new Error(`the runtime's ECDH secret is ${x.length} bytes, expected ${c.size}`);
          return x;
        },
        dispose() {
          ecdh = undefined;
          // Only now: Deno's ECDH keeps the buffer given to setPrivateKey, not a copy.
          d.fill(0);
        },
      };
    },
  };
}

/**
 * Whether this runtime's ECDH on `c` gives the known public point and the known shared x, and
 * refuses a point off the curve (the known one with y changed). Exported for the tests.
 */
export function ecdhWorks(c: NodeEcCurve, ops: EcdhCurveOps): boolean {
  try {
    // The seed knownD − 1, which A.2.1's reduction maps to knownD.
    const seed = bigIntToBytes(BigInt('0x' + c.knownD) - 1n, Math.ceil((3 * c.size) / 2));
    const pair = ops.keyPair(seed);
    if (Buffer.from(pair.publicKey).toString('hex') !== c.knownQ) return false;
    if (Buffer.from(pair.sharedX(fromHex(c.knownQ))).toString('hex') !== c.knownSharedX) return false;
    const offCurve = fromHex(c.knownQ);
    offCurve[offCurve.length - 1]! ^= 1;
    try {
      pair.sharedX(offCurve);
      return false;
    } catch {
      return true;
    } finally {
      pair.dispose();
    }
  } catch {
    return false;
  }
}

/**
 * The runtime's ECDH on a curve, checked on its first use (two multiplications, a few ms on
 * P-521): only the ecdh-sha2-nistp* key exchanges need it.
 */
const nodeEcdh = checkedPerCurve(nodeEcdhOps, ecdhWorks);

let curves: { x25519?: X25519; ed25519?: Ed25519 } | undefined;

function checkCurves(): { x25519?: X25519; ed25519?: Ed25519 } {
  return { x25519: x25519Works() ? nodeX25519 : undefined, ed25519: ed25519Works() ? nodeEd25519 : undefined };
}

let available: boolean | undefined;
let cipherNames: Set<string> | undefined;
/** Per OpenSSL cipher name: whether this runtime makes a context for it (see {@link runtimeHas}). */
const cipherWorks = new Map<string, boolean>();

function runtimeCiphers(): Set<string> {
  if (cipherNames === undefined) {
    try {
      cipherNames = new Set(getCiphers());
    } catch {
      cipherNames = new Set();
    }
  }
  return cipherNames;
}

/** Key and IV bytes to make a context of each cipher the provider uses, for {@link runtimeHas}. */
function sizesOf(name: string): { key: number; iv: number | null } {
  if (name === 'chacha20') return { key: 32, iv: 16 };
  if (name === 'des-ede3-cbc') return { key: 24, iv: 8 };
  const key = name.startsWith('aes-128-') ? 16 : name.startsWith('aes-192-') ? 24 : 32;
  return { key, iv: name.endsWith('-ecb') ? null : name.endsWith('-gcm') ? 12 : 16 };
}

/**
 * Whether this runtime's node:crypto has the cipher `name` (OpenSSL's name): listed by
 * getCiphers() and a context made for it, once per name (microseconds). Each runtime lacks some:
 * Deno 2.9 has aes-192-ctr and aes-192-ecb but no aes-192-cbc or aes-192-gcm, Bun no chacha20. A
 * mode the runtime lacks is computed by the pure provider instead, so that an algorithm offered
 * and agreed never fails after the key exchange ("Unknown cipher").
 */
function runtimeHas(name: string): boolean {
  let works = cipherWorks.get(name);
  if (works === undefined) {
    works = false;
    if (runtimeCiphers().has(name)) {
      try {
        const { key, iv } = sizesOf(name);
        createCipheriv(name, Buffer.alloc(key), iv === null ? null : Buffer.alloc(iv));
        works = true;
      } catch {
        // listed but refused: the pure provider's
      }
    }
    cipherWorks.set(name, works);
  }
  return works;
}

/**
 * Whether this runtime's node:crypto has the AES modes of the default ciphers (AES-GCM and
 * AES-CTR, 128 and 256 bits), which makes it the provider worth using. Any other mode it lacks
 * (and ChaCha20) falls back to the pure implementation per key, so every algorithm works.
 */
export function runtimeCryptoAvailable(): boolean {
  available ??= ['aes-128-gcm', 'aes-256-gcm', 'aes-128-ecb', 'aes-256-ecb', 'aes-128-ctr', 'aes-256-ctr'].every(runtimeHas);
  return available;
}

/** Node and Deno have OpenSSL's `chacha20`; Bun and workerd do not. */
function runtimeHasChaCha20(): boolean {
  return runtimeHas('chacha20');
}

/** node:crypto without the WebAssembly chacha20-poly1305 engine. */
export const nodeCryptoProviderNoWasm: CryptoProvider = {
  name: 'node',
  hash(name: HashName, ...parts: Uint8Array[]): Uint8Array {
    const h = createHash(name);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
  hmac: (name, key) => new NodeHmac(name, key.slice()),
  chacha20: (key) => new NodeChaCha20(key.slice(0, 32)),
  // A mode this runtime lacks (runtimeHas): the pure provider's, for that key only.
  aesCtr(key, iv) {
    const name = aesName(key, 'ctr');
    return runtimeHas(name) ? new NodeBlockStream(createCipheriv(name, key, iv)) : pureTsCryptoProvider.aesCtr(key, iv);
  },
  aesCbc(key, iv, encrypt) {
    const name = aesName(key, 'cbc');
    if (!runtimeHas(name)) return pureTsCryptoProvider.aesCbc(key, iv, encrypt);
    return new NodeBlockStream(encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv));
  },
  // NodeGcm needs the key's ECB (short packets) and GCM (long ones).
  aesGcm: (key) => (runtimeHas(aesName(key, 'gcm')) && runtimeHas(aesName(key, 'ecb')) ? new NodeGcm(key.slice()) : pureTsCryptoProvider.aesGcm(key)),
  // Checked once, on first use (about a millisecond); undefined where the runtime fails the check.
  get x25519() {
    return (curves ??= checkCurves()).x25519;
  },
  get ed25519() {
    return (curves ??= checkCurves()).ed25519;
  },
  ecdsa: nodeEcdsa,
  ecdsaVerifier: nodeEcdsaVerifier,
  ecdh: nodeEcdh,
  // OpenSSL 3 keeps des-ede3-cbc in its default provider (single DES moved to "legacy").
  desEde3CbcDecrypt(key, iv, ciphertext) {
    if (!runtimeHas('des-ede3-cbc')) return undefined;
    const d = createDecipheriv('des-ede3-cbc', key, iv).setAutoPadding(false);
    return new Uint8Array(Buffer.concat([d.update(ciphertext), d.final()]));
  },
  rsaSign: nodeRsaSign,
  fixedGroupDh: nodeFixedGroupDh,
};


/**
 * The node:crypto provider (see the module comment), with chacha20-poly1305@openssh.com's
 * Poly1305 (and ChaCha20 below {@link NATIVE_CHACHA} bytes) in WebAssembly where it compiles.
 */
export const nodeCryptoProvider: CryptoProvider = withWasm(nodeCryptoProviderNoWasm, 'auto');
