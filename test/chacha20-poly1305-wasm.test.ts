/**
 * The WebAssembly ChaCha20 + Poly1305 of src/crypto/chacha20-poly1305-wasm.ts: RFC 8439 vectors
 * (Poly1305 §2.5.2 and A.3; ChaCha20 A.1/A.2 in the original variant, see vectors/README.md), the
 * OpenSSH construction's vectors, and random cross-checks against the TypeScript implementations,
 * noble and OpenSSL.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chacha20orig } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { describe, expect, it } from 'vitest';
import { ChaCha20Poly1305Cipher } from '../src/cipher/chacha20-poly1305.js';
import { BLOCK, compileModule, KEY_SLOTS, KEYSTREAM4, KEYSTREAM4_FOR, moduleBytes, PACKET, PAD, SLOT_COUNT, TAG, WasmChaChaPoly, wasmChaChaPolyModule, withWasm, type WasmModule } from '../src/crypto/chacha20-poly1305-wasm.js';
import { buildModule, SMALL_REST } from '../src/crypto/chacha20-poly1305-wasm-module.js';
import { bytesFile } from '../scripts/gen-wasm.js';
import { pureTsCryptoProvider } from '../src/crypto/pure.js';
import { openssl } from './harness/chacha20-reference.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const rand = (n: number) => new Uint8Array(randomBytes(n));


const le32 = (b: Uint8Array, i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

const compiled = new Map<boolean, WasmModule>();
function module(simd: boolean): WasmModule {
  let m = compiled.get(simd);
  if (m === undefined) {
    const c = compileModule(simd);
    if (c instanceof Error) throw c;
    compiled.set(simd, (m = c));
  }
  return m;
}

/** The raw exports, for the primitives the class does not expose (Poly1305 with any key). */
function raw(simd: boolean): { memory: { buffer: ArrayBuffer }; poly1305(key: number, msg: number, len: number, out: number): void } {
  const api = (globalThis as unknown as { WebAssembly: { Instance: new (m: WasmModule, i: object) => { exports: unknown } } }).WebAssembly;
  return new api.Instance(module(simd), {}).exports as ReturnType<typeof raw>;
}

function wasmPoly1305(simd: boolean, key: Uint8Array, msg: Uint8Array, msgOff = 0): string {
  const x = raw(simd);
  const mem = new Uint8Array(x.memory.buffer);
  // A fresh instance: its key slots are free memory (up to 64 KiB).
  mem.set(key, KEY_SLOTS);
  mem.set(msg, KEY_SLOTS + 64 + msgOff);
  x.poly1305(KEY_SLOTS, KEY_SLOTS + 64 + msgOff, msg.length, KEY_SLOTS + 32);
  return toHex(mem.slice(KEY_SLOTS + 32, KEY_SLOTS + 48));
}


/** ChaCha20 through the module with `key` as K_2 (the instance's first 32 key bytes). */
function wasmChaCha(simd: boolean, key: Uint8Array, nonce8: Uint8Array, counter: number, data: Uint8Array, off = 0): Uint8Array {
  const c = new WasmChaChaPoly(module(simd), new Uint8Array([...key, ...new Uint8Array(32)]));
  const buf = new Uint8Array(off + data.length + 3);
  buf.set(data, off);
  c.xor(false, le32(nonce8, 0), le32(nonce8, 4), counter, buf, off, off + data.length);
  return buf.subarray(off, off + data.length);
}

describe('WebAssembly modules', () => {
  it('both compile here (Node 20 has SIMD), and the one in use is the SIMD one', () => {
    expect(compileModule(false)).not.toBeInstanceOf(Error);
    expect(compileModule(true)).not.toBeInstanceOf(Error);
    expect(wasmChaChaPolyModule()).not.toBeInstanceOf(Error);
    expect(withWasm(pureTsCryptoProvider, 'auto').chachaPolyImpl).toBe('WebAssembly SIMD');
    expect(withWasm(pureTsCryptoProvider, 'off').chachaPolyImpl).toBe('TypeScript (WebAssembly off)');
  });

  it('the module without SIMD stays under 4 KiB (older Chromium refused larger synchronous compiles on a page\'s main thread)', () => {
    expect(buildModule(false).length).toBeLessThan(4096);
  });

  it('the committed bytes are what the source builds (else run `npm run gen:wasm`)', () => {
    expect(toHex(moduleBytes(false))).toBe(toHex(buildModule(false)));
    expect(toHex(moduleBytes(true))).toBe(toHex(buildModule(true)));
    expect(readFileSync(new URL('../src/crypto/chacha20-poly1305-wasm-bytes.ts', import.meta.url), 'utf8')).toBe(bytesFile());
  });
});

for (const [label, simd] of [['without SIMD', false], ['SIMD', true]] as const) {
  describe(`Poly1305 in WebAssembly (${label})`, () => {
    for (const v of vectors('poly1305.json').vectors) {
      it(v.name, () => {
        expect(wasmPoly1305(simd, hex(v.key), hex(v.message))).toBe(v.tag);
      });
    }

    it('matches noble on random keys and messages of 0..3000 bytes at misaligned addresses', () => {
      for (let len = 0; len <= 3000; len += len < 100 ? 1 : 37) {
        const key = rand(32);
        const msg = rand(len);
        expect(wasmPoly1305(simd, key, msg, len % 7)).toBe(toHex(poly1305(msg, key)));
      }
    });

    it('matches noble on random keys and bulk-sized messages (32 KiB ± a block, whole and partial last blocks)', () => {
      // A bulk download's packets (sshd sends at most 32 KiB of data per CHANNEL_DATA), with
      // random limbs throughout: a change to the block loop (e.g. several blocks per step) must
      // keep these.
      for (const len of [32, 33, 47, 48, 63, 64, 65, 95, 96, 97, 32768, 32768 + 4, 32768 + 16, 32768 + 31, 32768 + 36, 32768 - 1]) {
        const key = rand(32);
        const msg = rand(len);
        expect(wasmPoly1305(simd, key, msg, len % 5)).toBe(toHex(poly1305(msg, key)));
      }
    });

    it('largest limbs (all-0xff key and messages) match noble', () => {
      const key = new Uint8Array(32).fill(0xff);
      for (const len of [15, 16, 17, 64, 1000, 32768 + 15]) {
        for (const fill of [0xff, 0xfe, 0x00]) {
          const msg = new Uint8Array(len).fill(fill);
          expect(wasmPoly1305(simd, key, msg)).toBe(toHex(poly1305(msg, key)));
        }
      }
    });
  });

  describe(`ChaCha20 (original variant) in WebAssembly (${label})`, () => {
    for (const v of vectors('chacha20.json').vectors) {
      it(v.name, () => {
        for (const off of [0, 1, 3]) expect(toHex(wasmChaCha(simd, hex(v.key), hex(v.nonce8), v.counter, hex(v.plaintext), off))).toBe(v.ciphertext);
      });
    }

    it('matches noble chacha20orig on random keys, nonces, counters, lengths 0..3000 and offsets', () => {
      for (let len = 0; len <= 3000; len += len < 200 ? 1 : 53) {
        const key = rand(32);
        const nonce = rand(8);
        const counter = randomInt(0, 1 << 30);
        const pt = rand(len);
        expect(toHex(wasmChaCha(simd, key, nonce, counter, pt, len % 5))).toBe(toHex(chacha20orig(key, nonce, pt, undefined, counter)));
      }
    });

    it('carries the 64-bit block counter into the high word (checked against OpenSSL)', () => {
      for (const start of [0xfffffffe, 0xffffffff, 0x1_fffffffe]) {
        const key = rand(32);
        const nonce = rand(8);
        const pt = rand(64 * 5 + 7);
        expect(toHex(wasmChaCha(simd, key, nonce, start, pt))).toBe(toHex(openssl(key, nonce, BigInt(start), pt)));
      }
    });
  });

  describe(`chacha20-poly1305@openssh.com in WebAssembly (${label})`, () => {
    const v = vectors('openssh-chacha20-poly1305.json');

    for (const p of v.packets) {
      it(`seq ${p.seq}: seal matches the vector; the length decrypts; open recovers the plaintext`, () => {
        const plaintext = hex(p.plaintext);
        const c = new WasmChaChaPoly(module(simd), hex(v.key));
        const buf = new Uint8Array(plaintext.length + 16);
        buf.set(plaintext);
        c.seal(p.seq, buf, 0, plaintext.length - 4);
        expect(toHex(buf)).toBe(p.sealed);
        const ks = c.lengthKeystream(p.seq);
        expect((le32(buf, 0) ^ ks) >>> 0).toBe(le32(plaintext, 0));
        expect(c.open(p.seq, buf, 0, plaintext.length - 4)).toBe(true);
        expect(toHex(c.memory().subarray(PACKET + 4, PACKET + plaintext.length))).toBe(p.plaintext.slice(8));
        expect(toHex(buf)).toBe(p.sealed);
      });
    }

    it('seals the same bytes as the TypeScript cipher, lengths 0..3000 at misaligned offsets, and opens them', () => {
      const key = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      const ts = new ChaCha20Poly1305Cipher(key, pureTsCryptoProvider);
      for (let len = 0; len <= 3000; len += len < 100 ? 1 : 29) {
        const seq = randomInt(0, 2 ** 32);
        const off = len % 7;
        const plain = rand(4 + len);
        const a = new Uint8Array(off + 4 + len + 16 + 5);
        a.set(plain, off);
        const b = a.slice();
        wasm.seal(seq, a, off, len);
        ts.seal(seq, b, off, len);
        expect(toHex(a)).toBe(toHex(b));
        const sealed = a.slice();
        expect(wasm.verify(seq, a, off, 4 + len)).toBe(true);
        expect(wasm.open(seq, a, off, len)).toBe(true);
        expect(toHex(a)).toBe(toHex(sealed));
        expect(toHex(wasm.memory().subarray(PACKET + 4, PACKET + 4 + len))).toBe(toHex(plain.subarray(4)));
        // mac() alone gives the same tag.
        const c = sealed.slice();
        c.fill(0, off + 4 + len, off + 4 + len + 16);
        wasm.mac(seq, c, off, 4 + len);
        expect(toHex(c)).toBe(toHex(sealed));
      }
    });

    it('a packet built in the engine\'s memory (stage, sealStaged) seals as seal() does, and leaves only ciphertext there', () => {
      const key = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      for (let len = 8; len <= 1200; len += len < 300 ? 8 : 104) {
        const seq = randomInt(0, 2 ** 32);
        const plain = rand(4 + len);
        const a = new Uint8Array(3 + 4 + len + 16);
        a.set(plain, 3);
        wasm.seal(seq, a, 3, len);
        const mem = wasm.stage(len);
        mem.set(plain, wasm.stageAt);
        const out = new Uint8Array(5 + 4 + len + 16 + 2);
        wasm.sealStaged(seq, len, out, 5);
        expect(toHex(out.subarray(5, 5 + 4 + len + 16))).toBe(toHex(a.subarray(3)));
        expect([...out.subarray(0, 5), ...out.subarray(5 + 4 + len + 16)].every((b) => b === 0)).toBe(true);
        expect(toHex(wasm.memory().subarray(PACKET, PACKET + 4 + len + 16))).toBe(toHex(a.subarray(3)));
      }
      wasm.dispose();
      expect(() => wasm.stage(8)).toThrow(/disposed/);
    });

    it('around the limit of the small packets\' four-block pass, every length seals as the TypeScript cipher does and opens; no keystream, block or tag is left in memory, failed opens included', () => {
      const key = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      const ts = new ChaCha20Poly1305Cipher(key, pureTsCryptoProvider);
      const scratchZero = (): void => {
        const mem = wasm.memory();
        for (const [at, n] of [[BLOCK, 64], [PAD, 16], [TAG, 16], [KEYSTREAM4, 256]] as const) expect(mem.subarray(at, at + n).every((b) => b === 0)).toBe(true);
      };
      for (let len = SMALL_REST - 70; len <= SMALL_REST + 70; len++) {
        const seq = randomInt(0, 2 ** 32);
        const off = len % 5;
        const plain = rand(4 + len);
        const a = new Uint8Array(off + 4 + len + 16 + 3);
        a.set(plain, off);
        const b = a.slice();
        wasm.seal(seq, a, off, len);
        scratchZero();
        ts.seal(seq, b, off, len);
        expect(toHex(a)).toBe(toHex(b));
        expect(wasm.open(seq, a, off, len)).toBe(true);
        scratchZero();
        expect(toHex(wasm.plaintext(len))).toBe(toHex(plain.subarray(4)));
        const bad = a.slice();
        bad[off + 4 + randomInt(0, len + 16)]! ^= 1 << randomInt(0, 8);
        expect(wasm.open(seq, bad, off, len)).toBe(false);
        scratchZero();
        expect(toHex(wasm.memory().subarray(PACKET, PACKET + 4 + len + 16))).toBe(toHex(bad.subarray(off, off + 4 + len + 16)));
      }
      wasm.dispose();
    });

    it('a receiver\'s length keystream then its open, with other calls in between (another cipher sealing, another seq, a large packet), all stay right; nothing kept after the open or a dispose', () => {
      const key = rand(64);
      const rx = new WasmChaChaPoly(module(simd), key);
      const tx = new WasmChaChaPoly(module(simd), rand(64));
      const ts = new ChaCha20Poly1305Cipher(key, pureTsCryptoProvider);
      const sealed = (seq: number, len: number): { buf: Uint8Array; plain: Uint8Array } => {
        const plain = rand(4 + len);
        new DataView(plain.buffer).setUint32(0, len);
        const buf = new Uint8Array(4 + len + 16);
        buf.set(plain);
        ts.seal(seq, buf, 0, len);
        return { buf, plain };
      };
      const kept = (): boolean => !rx.memory().subarray(KEYSTREAM4_FOR, KEYSTREAM4 + 256).every((b) => b === 0);
      // As ChaCha20Poly1305Cipher.decryptLength: keystream byte i masks byte i of the big-endian length.
      const lengthOf = (seq: number, buf: Uint8Array): number => {
        const ks = rx.lengthKeystream(seq);
        return (((buf[0]! ^ (ks & 0xff)) << 24) | ((buf[1]! ^ ((ks >>> 8) & 0xff)) << 16) | ((buf[2]! ^ ((ks >>> 16) & 0xff)) << 8) | (buf[3]! ^ (ks >>> 24))) >>> 0;
      };
      const between: ((seq: number) => void)[] = [
        () => {},
        () => tx.seal(1, new Uint8Array(4 + 60 + 16), 0, 60),
        (seq) => rx.lengthKeystream(seq + 1),
        () => tx.seal(2, new Uint8Array(4 + 3000 + 16), 0, 3000),
        () => rx.verify(7, new Uint8Array(4 + 40 + 16), 0, 4 + 40),
      ];
      let seq = 100;
      for (const len of [8, 60, 124, 125, 130, 180, 190, 500]) {
        for (const step of between) {
          seq++;
          const { buf, plain } = sealed(seq, len);
          expect(lengthOf(seq, buf)).toBe(len);
          step(seq);
          expect(rx.open(seq, buf, 0, len)).toBe(true);
          expect(toHex(rx.plaintext(len))).toBe(toHex(plain.subarray(4)));
          expect(kept()).toBe(false);
          // A bad tag after the length: refused, nothing decrypted, nothing kept.
          seq++;
          const bad = sealed(seq, len).buf;
          expect(lengthOf(seq, bad)).toBe(len);
          bad[4 + len + 3]! ^= 0x40;
          expect(rx.open(seq, bad, 0, len)).toBe(false);
          expect(toHex(rx.memory().subarray(PACKET, PACKET + 4 + len + 16))).toBe(toHex(bad));
          expect(kept()).toBe(false);
        }
      }
      // Kept for a packet never opened: gone with the cipher.
      rx.lengthKeystream(5);
      if (simd) expect(kept()).toBe(true);
      rx.dispose();
      expect(tx.memory().subarray(KEYSTREAM4_FOR, KEYSTREAM4 + 256).every((b) => b === 0)).toBe(true);
      tx.dispose();
    });

    it('grows its memory for packets beyond the first page (256 KiB + a tail)', () => {
      const key = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      const ts = new ChaCha20Poly1305Cipher(key, pureTsCryptoProvider);
      const len = 256 * 1024 + 13;
      const a = new Uint8Array(4 + len + 16);
      a.set(rand(4 + len));
      const b = a.slice();
      wasm.seal(9, a, 0, len);
      ts.seal(9, b, 0, len);
      expect(toHex(a)).toBe(toHex(b));
      expect(wasm.open(9, a, 0, len)).toBe(true);
    });

    it('packets of one length in a row, then after another cipher of the instance grew its memory, still seal and open right (the views it keeps follow the memory)', () => {
      const key = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      const ts = new ChaCha20Poly1305Cipher(key, pureTsCryptoProvider);
      const check = (seq: number, len: number): void => {
        const plain = rand(4 + len);
        const a = new Uint8Array(3 + 4 + len + 16);
        a.set(plain, 3);
        const b = a.slice();
        wasm.seal(seq, a, 3, len);
        ts.seal(seq, b, 3, len);
        expect(toHex(a)).toBe(toHex(b));
        expect(wasm.open(seq, a, 3, len)).toBe(true);
        expect(toHex(wasm.plaintext(len))).toBe(toHex(plain.subarray(4)));
      };
      for (let seq = 0; seq < 4; seq++) check(seq, 76);
      check(4, 36);
      check(5, 76);
      // A second cipher shares the instance (one key slot each) and grows its memory.
      const other = new WasmChaChaPoly(module(simd), rand(64));
      const before = wasm.memory().length;
      const big = new Uint8Array(4 + 300 * 1024 + 16);
      other.seal(1, big, 0, 300 * 1024);
      expect(wasm.memory().length).toBeGreaterThan(before);
      check(6, 76);
      check(7, 76);
      other.dispose();
      wasm.dispose();
    });

    it('rejects a bad tag (any bit of tag or data flipped) and leaves the buffer untouched', () => {
      const key = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      const len = 100;
      const a = new Uint8Array(4 + len + 16);
      a.set(rand(4 + len));
      wasm.seal(5, a, 0, len);
      for (const at of [0, 3, 4, 50, 103, 104, 110, 119]) {
        const bad = a.slice();
        bad[at]! ^= 1 << randomInt(0, 8);
        const copy = bad.slice();
        expect(wasm.open(5, bad, 0, len)).toBe(false);
        expect(wasm.verify(5, bad, 0, 4 + len)).toBe(false);
        expect(toHex(bad)).toBe(toHex(copy));
        // Nothing was decrypted in the module's copy either.
        expect(toHex(wasm.memory().subarray(PACKET, PACKET + 4 + len + 16))).toBe(toHex(copy));
      }
      expect(wasm.open(6, a, 0, len)).toBe(false); // wrong sequence number
    });

    it('dispose() zeroes the key and the packet area, leaves other ciphers\' keys, and frees the slot', () => {
      const key = rand(64);
      const other = rand(64);
      const wasm = new WasmChaChaPoly(module(simd), key);
      const neighbour = new WasmChaChaPoly(module(simd), other);
      const a = new Uint8Array(4 + 64 + 16);
      wasm.seal(1, a, 0, 64);
      const mem = wasm.memory();
      const slot = wasm.keySlot();
      expect(toHex(mem.subarray(slot, slot + 64))).toBe(toHex(key));
      // Scratch (keystream block, pad, computed tag) is zeroed after each call.
      expect(mem.subarray(0, KEY_SLOTS).every((b) => b === 0)).toBe(true);
      wasm.dispose();
      expect(mem.subarray(slot, slot + 64).every((b) => b === 0)).toBe(true);
      expect(mem.subarray(PACKET).every((b) => b === 0)).toBe(true);
      expect(toHex(mem.subarray(neighbour.keySlot(), neighbour.keySlot() + 64))).toBe(toHex(other));
      // A disposed cipher refuses to run (its slot may hold another cipher's key by now).
      expect(() => wasm.seal(2, a, 0, 64)).toThrow(/disposed/);
      // The slot is handed out again.
      const next = new WasmChaChaPoly(module(simd), rand(64));
      expect(next.keySlot()).toBe(slot);
      next.dispose();
      neighbour.dispose();
    });

    it('more live ciphers than one instance has key slots get a further instance, and stay correct', () => {
      const live = Array.from({ length: SLOT_COUNT + 3 }, () => ({ key: rand(64), c: undefined as WasmChaChaPoly | undefined }));
      for (const l of live) l.c = new WasmChaChaPoly(module(simd), l.key);
      for (const l of [live[0]!, live[SLOT_COUNT - 1]!, live[SLOT_COUNT]!, live[SLOT_COUNT + 2]!]) {
        const a = new Uint8Array(4 + 100 + 16);
        a.set(rand(104));
        const b = a.slice();
        l.c!.seal(3, a, 0, 100);
        new ChaCha20Poly1305Cipher(l.key, pureTsCryptoProvider).seal(3, b, 0, 100);
        expect(toHex(a)).toBe(toHex(b));
      }
      expect(live[SLOT_COUNT]!.c!.memory()).not.toBe(live[0]!.c!.memory());
      for (const l of live) l.c!.dispose();
    });
  });
}

describe('without WebAssembly (node --jitless has none; needs npm run build)', () => {
  const dist = (p: string) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ['--jitless', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('the default falls back to TypeScript, says why, and still seals what the WebAssembly path seals', () => {
    if (!existsSync(dist('crypto/pure.js'))) throw new Error('dist is missing: run `npm run build` first');
    const key = rand(64);
    const plain = rand(4 + 80);
    const script = `
      const { pureCryptoProvider } = await import(${JSON.stringify(dist('crypto/pure.js'))});
      const { ChaCha20Poly1305Cipher } = await import(${JSON.stringify(dist('cipher/chacha20-poly1305.js'))});
      const c = new ChaCha20Poly1305Cipher(Uint8Array.from(Buffer.from('${toHex(key)}', 'hex')), pureCryptoProvider);
      const b = new Uint8Array(100);
      b.set(Buffer.from('${toHex(plain)}', 'hex'));
      c.seal(7, b, 0, 80);
      console.log(pureCryptoProvider.chachaPolyImpl + '|' + Buffer.from(b).toString('hex'));`;
    const r = run(['--input-type=module', '-e', script]);
    const [impl, sealed] = r.stdout.trim().split('|');
    expect(impl).toBe('TypeScript (WebAssembly: this runtime has no WebAssembly)');
    const b = new Uint8Array(100);
    b.set(plain);
    new WasmChaChaPoly(module(true), key).seal(7, b, 0, 80);
    expect(sealed).toBe(toHex(b));
  });

  it('PURE_SSH_WASM=on is refused with a message naming why (exit 255)', () => {
    if (!existsSync(dist('node/cli.js'))) throw new Error('dist is missing: run `npm run build` first');
    const r = run([dist('node/cli.js'), '-F', 'none', '-G', 'example.com'], { PURE_SSH_WASM: 'on' });
    expect(r.stderr).toContain('PURE_SSH_WASM=on: WebAssembly was required for chacha20-poly1305@openssh.com but cannot be used here: this runtime has no WebAssembly');
    expect(r.status).toBe(255);
  });
});
