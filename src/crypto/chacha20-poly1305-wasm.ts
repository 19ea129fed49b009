/**
 * chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305) in WebAssembly: the original ChaCha20
 * (64-bit nonce, 64-bit block counter; RFC 8439 §2.3 with Bernstein's original state layout) and
 * Poly1305 (RFC 8439 §2.5), compiled once per process: with ChaCha20 four blocks at a time in
 * 128-bit SIMD where the engine has WebAssembly SIMD, else a module without.
 *
 * Why (measured, bench/README.md "chacha20-poly1305 in WebAssembly"): JavaScript starts in V8's
 * interpreter, so the first thousand packets of a connection paid ~70-90 ms of crypto warm-up
 * (~13 ms here), and Poly1305 in doubles was ~1.3 s of CPU per GiB of a bulk download (2.4×
 * faster here). WebAssembly is compiled before its first call and has 64-bit integer multiplies:
 * Poly1305 here is the 26-bit-limb form (5 limbs, 25 products per block).
 *
 * One call per packet: {@link WasmChaChaPoly.seal} encrypts the length with K_1, the payload with
 * K_2 from block 1, and appends the Poly1305 tag keyed by K_2's block 0; {@link WasmChaChaPoly.open}
 * verifies the tag (compared in constant time) before it decrypts anything. The 64-byte key lives
 * in a slot of the instance's memory (one instance serves many ciphers), packets are copied in and
 * out, and dispose() zeroes the key and the packet area. No branch depends on key or data, only on lengths (which the wire shows anyway) and on
 * whether the tag matched (which the peer learns anyway).
 *
 * The module is written in ./chacha20-poly1305-wasm-module.ts with the emitter of ./wasm.ts; its
 * bytes are committed, generated, in ./chacha20-poly1305-wasm-bytes.ts (`npm run gen:wasm`;
 * test/chacha20-poly1305-wasm.test.ts checks that they are what the source builds), because
 * running the emitter on a cold process cost ~25 ms.
 *
 * Where WebAssembly is missing or refuses to compile from bytes (Cloudflare workerd, pages with a
 * strict Content-Security-Policy), {@link wasmChaChaPolyModule} says why and the cipher keeps the
 * TypeScript ChaCha20 and Poly1305.
 */
import { UsageError } from '../errors.js';
import { chacha20Poly1305Wasm, chacha20Poly1305WasmSimd } from './chacha20-poly1305-wasm-bytes.js';
import type { ChaChaPolyEngine, CryptoProvider } from './provider.js';

// Memory layout (bytes).
/** One keystream block; zeroed after each use. */
export const BLOCK = 64;
/** The last partial Poly1305 block, padded (RFC 8439 §2.5); zeroed after each use. */
export const PAD = 128;
/** A computed tag, for comparison; zeroed after each use. */
export const TAG = 144;
/**
 * SIMD module: the key slot and sequence number (two 32-bit words) whose keystream
 * `lengthKeystream` kept in {@link KEYSTREAM4} for the packet's `open`; zero when none is kept.
 */
export const KEYSTREAM4_FOR = 160;
/**
 * SIMD module: the four keystream blocks of one small packet (the Poly1305 key, the payload's
 * first blocks, and K_1's length mask where it fits), from one four-block pass; zeroed after each
 * use, except that a receiver's `lengthKeystream` keeps them for the packet's `open` (see
 * {@link KEYSTREAM4_FOR}).
 */
export const KEYSTREAM4 = 256;
/** The ciphers' keys: one 64-byte slot each (K_2 then K_1, as the KDF gives them). */
export const KEY_SLOTS = 512;
/** Key slots per instance; more live ciphers than this get a further instance. */
export const SLOT_COUNT = 512;
/** Packets are copied here (memory grows to fit the largest). */
export const PACKET = KEY_SLOTS + 64 * SLOT_COUNT;
const PAGE = 65536;
const NO_BYTES = new Uint8Array(0);

/** The error of a call on a disposed engine (its key slot may hold another cipher's key by now). */
function disposed(): UsageError {
  return new UsageError('chacha20-poly1305@openssh.com: the key was disposed');
}

/** The module's bytes (built from ./chacha20-poly1305-wasm-module.ts; see the generated file). */
export function moduleBytes(simd: boolean): Uint8Array {
  return simd ? chacha20Poly1305WasmSimd() : chacha20Poly1305Wasm();
}

/**
 * The part of the WebAssembly JavaScript API used here (declared locally: the project compiles
 * without the DOM library, and @types/node does not declare it).
 */
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
/** A compiled module (WebAssembly.Module). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

/** The module's exports (see ./chacha20-poly1305-wasm-module.ts). */
interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  xor(key: number, n0: number, n1: number, lo: number, hi: number, ptr: number, len: number): void;
  lengthKeystream(key: number, seq: number): number;
  mac(key: number, seq: number, ptr: number, n: number, out: number): void;
  seal(key: number, seq: number, ptr: number, n: number): void;
  verify(key: number, seq: number, ptr: number, n: number): number;
  open(key: number, seq: number, ptr: number, n: number): number;
}

let compiled: WasmModule | Error | undefined;
let compiledSimd = false;

/** The module built with or without SIMD, compiled; an Error where this runtime refuses it. */
export function compileModule(simd: boolean): WasmModule | Error {
  try {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (typeof api !== 'object' || api === null) throw new Error('this runtime has no WebAssembly');
    return new api.Module(moduleBytes(simd));
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * The compiled module, compiled on first call and kept: the SIMD one where the engine has
 * WebAssembly SIMD, else the one without; an Error saying why where this runtime compiles
 * neither (no `WebAssembly`, or compiling from bytes forbidden: Cloudflare workerd, a page whose
 * Content-Security-Policy lacks 'wasm-unsafe-eval').
 */
export function wasmChaChaPolyModule(): WasmModule | Error {
  if (compiled === undefined) {
    compiled = compileModule(true);
    compiledSimd = !(compiled instanceof Error);
    if (compiled instanceof Error) compiled = compileModule(false);
  }
  return compiled;
}

/** What {@link wasmChaChaPolyModule} gives, for `-v`: `WebAssembly SIMD`, `WebAssembly`, or why not. */
function wasmDescription(): string {
  const m = wasmChaChaPolyModule();
  return m instanceof Error ? `TypeScript (WebAssembly: ${m.message})` : compiledSimd ? 'WebAssembly SIMD' : 'WebAssembly';
}

/**
 * One instance of the module, shared by up to {@link SLOT_COUNT} ciphers: each has a key slot in
 * its memory, and packets pass through one packet area (JavaScript runs one call at a time, and
 * every call copies its result out before returning). Sharing matters: each instance has a memory
 * of its own, which V8 makes with a multi-GiB address-space reservation (~0.5–1 ms per instance,
 * measured, two per connection and per rekey otherwise).
 */
class SharedInstance {
  readonly x: Exports;
  mem: Uint8Array;
  private readonly free: number[] = [];
  /** Bytes of the packet area ever written (zeroed when a cipher is disposed). */
  used = 0;

  constructor(module: WasmModule) {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly!;
    this.x = new api.Instance(module, {}).exports as Exports;
    this.mem = new Uint8Array(this.x.memory.buffer);
    for (let i = SLOT_COUNT - 1; i >= 0; i--) this.free.push(KEY_SLOTS + 64 * i);
  }

  /** A free key slot's address, or undefined when all are taken. */
  take(): number | undefined {
    return this.free.pop();
  }

  /** Zero the slot and the packet area, and make the slot free. */
  release(slot: number): void {
    this.mem.fill(0, slot, slot + 64);
    // A keystream kept for a packet not opened (the area then holds nothing, as its tag says).
    this.mem.fill(0, KEYSTREAM4_FOR, KEYSTREAM4 + 256);
    this.mem.fill(0, PACKET, PACKET + this.used);
    this.used = 0;
    this.free.push(slot);
  }

  /**
   * Memory for `n` bytes plus a tag at {@link PACKET}, grown as needed. The packet methods check
   * inline whether the memory is already there (`n + 16 <= used` and within `mem`) and call this
   * only when not: called per packet, this small function was one more TurboFan compile (~5M
   * instructions) within a fresh tunnel's first thousand messages, as were `live()`'s.
   */
  room(n: number): Uint8Array {
    const need = PACKET + n + 16;
    if (need > this.mem.length) {
      this.x.memory.grow(Math.ceil((need - this.mem.length) / PAGE));
      this.mem = new Uint8Array(this.x.memory.buffer);
    }
    if (n + 16 > this.used) this.used = n + 16;
    return this.mem;
  }
}

const instances = new WeakMap<WasmModule, SharedInstance[]>();

/** An instance of `module` with a free key slot, and the slot. */
function slotIn(module: WasmModule): [SharedInstance, number] {
  let list = instances.get(module);
  if (list === undefined) instances.set(module, (list = []));
  for (const inst of list) {
    const slot = inst.take();
    if (slot !== undefined) return [inst, slot];
  }
  const inst = new SharedInstance(module);
  list.push(inst);
  return [inst, inst.take()!];
}

/**
 * One direction's chacha20-poly1305@openssh.com key (64 bytes: K_2 || K_1) in a key slot of a
 * shared WebAssembly instance. Methods mirror PacketCipher's, on caller buffers: the bytes are
 * copied into the instance's memory and the results copied out.
 *
 * @example
 * ```ts
 * const m = wasmChaChaPolyModule();
 * if (!(m instanceof Error)) {
 *   const c = new WasmChaChaPoly(m, key64);
 *   c.seal(seq, buf, off, packetLength); // buf[off + 4 + packetLength, + 16) gets the tag
 * }
 * ```
 */
export class WasmChaChaPoly implements ChaChaPolyEngine {
  private readonly inst: SharedInstance;
  /** The address of this cipher's key slot; -1 once disposed. */
  private key: number;
  // The views of the instance's memory that the last seal copied out (`mem[PACKET, + n + 16)`)
  // and the last plaintext was (`mem[PACKET + 4, + packetLength)`), each with the memory it is of
  // (a grown memory is a new one): made again only when the length changes. A `subarray()` is a
  // typed-array construction V8 does not inline, ~550 instructions; consecutive packets of a
  // request/response protocol mostly have one length per direction.
  private sealed: Uint8Array = NO_BYTES;
  private sealedOf: Uint8Array = NO_BYTES;
  private opened: Uint8Array = NO_BYTES;
  private openedOf: Uint8Array = NO_BYTES;

  constructor(module: WasmModule, key: Uint8Array) {
    if (key.length !== 64) throw new RangeError(`chacha20-poly1305@openssh.com needs a 64-byte key, got ${key.length}`);
    [this.inst, this.key] = slotIn(module);
    this.inst.mem.set(key, this.key);
  }

  /** K_1's keystream block 0 for `seq`, bytes 0–3 as a little-endian word (the length's mask). */
  lengthKeystream(seq: number): number {
    const key = this.key;
    if (key < 0) throw disposed();
    return this.inst.x.lengthKeystream(key, seq);
  }

  /** Encrypt `buf[off, off + 4 + packetLength)` in place and write the tag after it. */
  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void {
    const n = 4 + packetLength;
    this.stage(packetLength).set(buf.subarray(off, off + n), PACKET);
    this.sealStaged(seq, packetLength, buf, off);
  }

  /** Where a packet is built for {@link sealStaged}: in the instance's memory, at {@link stageAt}. */
  readonly stageAt = PACKET;

  /**
   * The instance's memory, with room for a packet of `packetLength` and its tag at
   * {@link stageAt}, for the caller to write the plaintext packet there (length field included)
   * and call {@link sealStaged} next, with no other call between. The memory may move at the next
   * call: the view is for this packet only.
   */
  stage(packetLength: number): Uint8Array {
    if (this.key < 0) throw disposed();
    const n = 4 + packetLength;
    const inst = this.inst;
    return n + 16 <= inst.used && PACKET + n + 16 <= inst.mem.length ? inst.mem : inst.room(n);
  }

  /**
   * Encrypt the packet {@link stage}d, write its tag after it, and copy the sealed packet to
   * `out[outOff, outOff + 4 + packetLength + 16)`. The module's memory keeps only ciphertext.
   */
  sealStaged(seq: number, packetLength: number, out: Uint8Array, outOff: number): void {
    const n = 4 + packetLength;
    const key = this.key;
    if (key < 0) throw disposed();
    const inst = this.inst;
    const mem = inst.mem;
    inst.x.seal(key, seq, PACKET, n);
    let sealed = this.sealed;
    if (sealed.length !== n + 16 || this.sealedOf !== mem) {
      sealed = mem.subarray(PACKET, PACKET + n + 16);
      this.sealed = sealed;
      this.sealedOf = mem;
    }
    out.set(sealed, outOff);
  }

  /**
   * Verify the tag after `buf[off, off + 4 + packetLength)` and decrypt into the instance's
   * memory: {@link plaintext} until the next call. False when the tag does not match (nothing
   * decrypted). `buf` is not changed.
   */
  open(seq: number, buf: Uint8Array, off: number, packetLength: number): boolean {
    const n = 4 + packetLength;
    const key = this.key;
    if (key < 0) throw disposed();
    const inst = this.inst;
    const mem = n + 16 <= inst.used && PACKET + n + 16 <= inst.mem.length ? inst.mem : inst.room(n);
    // A buffer that holds this packet alone (a socket read's, often) is copied as it is: a view
    // of it would be another typed array per packet.
    mem.set(off === 0 && buf.length === n + 16 ? buf : buf.subarray(off, off + n + 16), PACKET);
    return inst.x.open(key, seq, PACKET, n) === 1;
  }

  /** The last {@link open}'s plaintext: a view of the instance's memory, valid until the next call. */
  plaintext(packetLength: number): Uint8Array {
    const mem = this.inst.mem;
    let plain = this.opened;
    if (plain.length !== packetLength || this.openedOf !== mem) {
      plain = mem.subarray(PACKET + 4, PACKET + 4 + packetLength);
      this.opened = plain;
      this.openedOf = mem;
    }
    return plain;
  }

  /** The tag of `buf[off, off + n)` (encrypted length and payload) into `buf[off + n, + 16)`. */
  mac(seq: number, buf: Uint8Array, off: number, n: number): void {
    const mem = this.inst.room(n);
    mem.set(buf.subarray(off, off + n), PACKET);
    this.inst.x.mac(this.live(), seq, PACKET, n, PACKET + n);
    buf.set(mem.subarray(PACKET + n, PACKET + n + 16), off + n);
  }

  /** Whether the tag after `buf[off, off + n)` is right (for a caller that decrypts elsewhere). */
  verify(seq: number, buf: Uint8Array, off: number, n: number): boolean {
    const mem = this.inst.room(n);
    mem.set(buf.subarray(off, off + n + 16), PACKET);
    return this.inst.x.verify(this.live(), seq, PACKET, n) === 1;
  }

  /**
   * XOR `buf[start, end)` with the keystream of K_2 (`header` false) or K_1 (true) for nonce
   * words `n0`, `n1` (the 8 nonce bytes as two little-endian words) from block `counter` (< 2^53).
   */
  xor(header: boolean, n0: number, n1: number, counter: number, buf: Uint8Array, start: number, end: number): void {
    const mem = this.inst.room(end - start);
    mem.set(buf.subarray(start, end), PACKET);
    this.inst.x.xor(this.live() + (header ? 32 : 0), n0, n1, counter >>> 0, Math.floor(counter / 2 ** 32), PACKET, end - start);
    buf.set(mem.subarray(PACKET, PACKET + end - start), start);
  }

  /** The instance's memory as bytes (for tests: the key slot is at {@link keySlot}). */
  memory(): Uint8Array {
    return this.inst.mem;
  }

  /** The address of this cipher's key in {@link memory}. */
  keySlot(): number {
    return this.key;
  }

  /** Zero the key and the packet area, and give the key slot back. */
  dispose(): void {
    if (this.key < 0) return;
    this.inst.release(this.key);
    this.key = -1;
    this.sealed = this.sealedOf = this.opened = this.openedOf = NO_BYTES;
  }

  private live(): number {
    if (this.key < 0) throw disposed();
    return this.key;
  }
}

/**
 * Whether chacha20-poly1305@openssh.com uses WebAssembly: `auto` where it compiles (else the
 * TypeScript ChaCha20 and Poly1305), `on` always (an error where it cannot), `off` never.
 */
export type WasmChoice = 'auto' | 'on' | 'off';

/**
 * `base` with chacha20-poly1305@openssh.com in WebAssembly per `choice` (the other primitives,
 * lazy getters included, stay `base`'s). `on` compiles the module now and throws a UsageError
 * saying why where it cannot.
 *
 * @example
 * ```ts
 * const tsOnly = withWasm(pureCryptoProvider, 'off'); // e.g. to compare, or for a strict CSP
 * ```
 */
export function withWasm(base: CryptoProvider, choice: WasmChoice): CryptoProvider {
  if (choice === 'on') {
    const m = wasmChaChaPolyModule();
    if (m instanceof Error) throw new UsageError(`WebAssembly was required for chacha20-poly1305@openssh.com but cannot be used here: ${m.message}`);
  }
  const p = Object.create(base) as { -readonly [K in keyof CryptoProvider]: CryptoProvider[K] };
  if (choice === 'off') {
    Object.defineProperty(p, 'chachaPoly', { value: undefined });
    Object.defineProperty(p, 'chachaPolyImpl', { value: 'TypeScript (WebAssembly off)' });
    return p;
  }
  Object.defineProperty(p, 'chachaPoly', {
    value(key: Uint8Array): ChaChaPolyEngine | undefined {
      const m = wasmChaChaPolyModule();
      return m instanceof Error ? undefined : new WasmChaChaPoly(m, key);
    },
  });
  Object.defineProperty(p, 'chachaPolyImpl', {
    get: wasmDescription,
  });
  return p;
}
