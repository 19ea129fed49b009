/**
 * The pure-TypeScript crypto provider: @noble/ciphers for AES, @noble/hashes for SHA and HMAC,
 * and our own packet-path ChaCha20 (./chacha20.ts) and Poly1305 (./poly1305.ts); with
 * chacha20-poly1305@openssh.com in WebAssembly (./chacha20-poly1305-wasm.ts) where the runtime
 * compiles it. Runs on every JavaScript runtime.
 */
import { cbc, ctr, gcm } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';
import { ChaCha20 } from './chacha20.js';
import { withWasm } from './chacha20-poly1305-wasm.js';
import type { AesGcm, BlockStream, CryptoProvider, HashName, Hmac } from './provider.js';

type NobleHash = CHash;

const HASHES: Readonly<Record<HashName, NobleHash>> = { sha1, sha256, sha384, sha512 };

/** RFC 4344 §4: the counter is a 128-bit big-endian integer incremented once per block. */
function addToCounter(counter: Uint8Array, blocks: number): void {
  let carry = blocks;
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const v = counter[i]! + (carry & 0xff);
    counter[i] = v & 0xff;
    carry = Math.floor(carry / 256) + (v >> 8);
  }
}

/** noble writes 32-bit words: in place only when the view is 4-byte aligned, else via a copy. */
function aligned(view: Uint8Array): boolean {
  return (view.byteOffset & 3) === 0;
}

class PureCtr implements BlockStream {
  private readonly counter: Uint8Array;
  constructor(
    private readonly key: Uint8Array,
    iv: Uint8Array,
  ) {
    this.counter = iv.slice(0, 16);
  }
  update(buf: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    const view = buf.subarray(start, end);
    const c = ctr(this.key, this.counter);
    if (aligned(view)) c.encrypt(view, view);
    else view.set(c.encrypt(view));
    addToCounter(this.counter, (end - start) / 16);
  }
  dispose(): void {
    this.key.fill(0);
    this.counter.fill(0);
  }
}

class PureCbc implements BlockStream {
  private readonly iv: Uint8Array;
  constructor(
    private readonly key: Uint8Array,
    iv: Uint8Array,
    private readonly encrypt: boolean,
  ) {
    this.iv = iv.slice(0, 16);
  }
  update(buf: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    const view = buf.subarray(start, end);
    const c = cbc(this.key, this.iv, { disablePadding: true });
    // RFC 4253 §6.3: the chaining runs on across packets: the next IV is the last ciphertext block.
    if (this.encrypt) {
      if (aligned(view)) c.encrypt(view, view);
      else view.set(c.encrypt(view));
      this.iv.set(view.subarray(view.length - 16));
    } else {
      const last = view.slice(view.length - 16);
      if (aligned(view)) c.decrypt(view, view);
      else view.set(c.decrypt(view));
      this.iv.set(last);
    }
  }
  dispose(): void {
    this.key.fill(0);
    this.iv.fill(0);
  }
}

class PureGcm implements AesGcm {
  constructor(private readonly key: Uint8Array) {}
  seal(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): void {
    const sealed = gcm(this.key, iv, buf.subarray(aadStart, start)).encrypt(buf.subarray(start, end));
    buf.set(sealed, start);
  }
  open(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): boolean {
    let plain: Uint8Array;
    try {
      plain = gcm(this.key, iv, buf.subarray(aadStart, start)).decrypt(buf.subarray(start, end + 16));
    } catch {
      return false;
    }
    buf.set(plain, start);
    return true;
  }
  dispose(): void {
    this.key.fill(0);
  }
}

class PureHmac implements Hmac {
  readonly length: number;
  private readonly keyed: ReturnType<typeof hmac.create>;
  constructor(h: NobleHash, key: Uint8Array) {
    this.keyed = hmac.create(h, key);
    this.length = h.outputLen;
  }
  compute(a: Uint8Array, b: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void {
    // A copy of the keyed state saves hashing the padded key twice per packet.
    const m = this.keyed._cloneInto();
    m.update(a);
    m.update(b.subarray(start, end));
    if (outOff === 0 && out.length === this.length) m.digestInto(out);
    else out.set(m.digest(), outOff);
  }
  dispose(): void {
    this.keyed.destroy();
  }
}

/** Pure TypeScript, on every runtime, without WebAssembly. */
export const pureTsCryptoProvider: CryptoProvider = {
  name: 'pure',
  hash(name: HashName, ...parts: Uint8Array[]): Uint8Array {
    const h = HASHES[name].create();
    for (const p of parts) h.update(p);
    return h.digest();
  },
  hmac: (name, key) => new PureHmac(HASHES[name], key),
  chacha20: (key) => new ChaCha20(key, 0),
  aesCtr: (key, iv) => new PureCtr(key.slice(), iv),
  aesCbc: (key, iv, encrypt) => new PureCbc(key.slice(), iv, encrypt),
  aesGcm: (key) => new PureGcm(key.slice()),
};

/**
 * The default provider of `pure-ssh/web` and the core: {@link pureTsCryptoProvider}, with
 * chacha20-poly1305@openssh.com in WebAssembly where this runtime compiles it (TypeScript where
 * it does not: Cloudflare workerd, pages whose Content-Security-Policy forbids it).
 */
export const pureCryptoProvider: CryptoProvider = withWasm(pureTsCryptoProvider, 'auto');
