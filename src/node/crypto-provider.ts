/**
 * The runtime crypto provider: the same primitives as the pure provider, computed by the runtime's
 * `node:crypto` (OpenSSL on Node; Bun, Deno and workerd with nodejs_compat implement the same
 * module). Synchronous, so it fits the sans-IO core's packet path. Poly1305 stays ours
 * (node:crypto has no Poly1305 of its own); the ChaCha20 keystream comes from the runtime where
 * it has one (Node, Deno) and from our own ChaCha20 where it does not (Bun, workerd).
 *
 * The Node adapter picks it automatically; force the pure one with `connect({ crypto: 'pure' })`,
 * `-o PureSshCrypto=pure` or `PURE_SSH_CRYPTO=pure`. `pure-ssh/web` users pass it themselves,
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
import { createCipheriv, createDecipheriv, createHash, createHmac, getCiphers, type Cipher, type Decipher } from 'node:crypto';
import { ChaCha20 } from '../crypto/chacha20.js';
import type { AesGcm, BlockStream, ChaCha20Stream, CryptoProvider, HashName, Hmac } from '../crypto/provider.js';

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

class NodeBlockStream implements BlockStream {
  constructor(private readonly c: Cipher | Decipher) {
    c.setAutoPadding(false);
  }
  update(buf: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    put(buf, start, this.c.update(buf.subarray(start, end)));
  }
  dispose(): void {
    // node:crypto cannot wipe its context; dropping it lets OpenSSL free (and clear) it.
  }
}

class NodeGcm implements AesGcm {
  private readonly alg: string;
  constructor(private readonly key: Uint8Array) {
    this.alg = aesName(key, 'gcm');
  }
  seal(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): void {
    const c = createCipheriv(this.alg as 'aes-128-gcm', this.key, iv, { authTagLength: 16 });
    c.setAAD(buf.subarray(aadStart, start));
    const out = c.update(buf.subarray(start, end));
    c.final();
    put(buf, start, out);
    put(buf, end, c.getAuthTag());
  }
  open(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): boolean {
    const d = createDecipheriv(this.alg as 'aes-128-gcm', this.key, iv, { authTagLength: 16 });
    d.setAAD(buf.subarray(aadStart, start));
    d.setAuthTag(buf.subarray(end, end + 16));
    const out = d.update(buf.subarray(start, end));
    try {
      d.final();
    } catch {
      out.fill(0);
      return false;
    }
    put(buf, start, out);
    return true;
  }
  dispose(): void {
    this.key.fill(0);
  }
}

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
  constructor(private readonly key: Uint8Array) {
    this.small = new ChaCha20(key, 0);
  }
  xor(nonce: Uint8Array, counter: number, buf: Uint8Array, start: number, end: number): void {
    if (end - start <= SMALL_CHACHA || !runtimeHasChaCha20()) {
      this.small.xor(nonce, counter, buf, start, end);
      return;
    }
    const iv = this.iv;
    iv[0] = counter;
    iv[1] = counter >>> 8;
    iv[2] = counter >>> 16;
    iv[3] = counter >>> 24;
    iv.set(nonce.subarray(0, 8), 8);
    const c = createCipheriv('chacha20', this.key, iv);
    put(buf, start, c.update(buf.subarray(start, end)));
  }
  dispose(): void {
    this.small.dispose();
    this.key.fill(0);
    this.iv.fill(0);
  }
}

/** Bytes up to which the JS ChaCha20 beats a fresh OpenSSL context (measured: ~1 KiB). */
const SMALL_CHACHA = 1024;

let available: boolean | undefined;
let chacha20: boolean | undefined;

function runtimeCiphers(): Set<string> {
  try {
    return new Set(getCiphers());
  } catch {
    return new Set();
  }
}

/** Whether this runtime's node:crypto has every AES mode the provider needs (ChaCha20 has a fallback). */
export function runtimeCryptoAvailable(): boolean {
  if (available === undefined) {
    const have = runtimeCiphers();
    available = ['aes-128-gcm', 'aes-256-gcm', 'aes-128-ctr', 'aes-256-ctr', 'aes-128-cbc'].every((c) => have.has(c));
  }
  return available;
}

/** Node and Deno have OpenSSL's `chacha20`; Bun and workerd do not. */
function runtimeHasChaCha20(): boolean {
  chacha20 ??= runtimeCiphers().has('chacha20');
  return chacha20;
}

/** The node:crypto provider (see the module comment). */
export const nodeCryptoProvider: CryptoProvider = {
  name: 'node',
  hash(name: HashName, ...parts: Uint8Array[]): Uint8Array {
    const h = createHash(name);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
  hmac: (name, key) => new NodeHmac(name, key.slice()),
  chacha20: (key) => new NodeChaCha20(key.slice(0, 32)),
  aesCtr: (key, iv) => new NodeBlockStream(createCipheriv(aesName(key, 'ctr'), key, iv)),
  aesCbc: (key, iv, encrypt) =>
    new NodeBlockStream(encrypt ? createCipheriv(aesName(key, 'cbc'), key, iv) : createDecipheriv(aesName(key, 'cbc'), key, iv)),
  aesGcm: (key) => new NodeGcm(key.slice()),
};
