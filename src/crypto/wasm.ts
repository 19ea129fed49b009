/**
 * A tiny WebAssembly binary emitter: enough of the WebAssembly 1.0 binary format (W3C WebAssembly
 * Core Specification, §5 "Binary Format") to write the module of ./chacha20-poly1305-wasm.ts as
 * readable TypeScript rather than as an opaque blob or a build-time dependency.
 *
 * Code is built from expressions: every helper returns the bytes of one instruction sequence that
 * leaves its value (if any) on the operand stack, and takes its operands as such sequences, so
 * `i32.add(get(a), i32.const(1))` reads as the expression it computes (spec §5.4: instructions
 * are a prefix opcode, then immediates). Only what that module needs is here: i32/i64 arithmetic,
 * loads and stores, locals, blocks, loops, branches and calls; one memory, functions exported by
 * name, no imports, no tables, no globals; and a few 128-bit SIMD instructions (WebAssembly 2.0).
 */

/** Bytes of an instruction sequence (or of any part of the module). */
export type Code = number[];

/** Value types (spec §5.3.1). */
export const I32 = 0x7f;
export const I64 = 0x7e;
/** The 128-bit vector type of the SIMD proposal (WebAssembly 2.0, spec §5.3.2). */
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof V128;

/** Unsigned LEB128 (spec §5.2.2), for sizes, counts and indices (< 2^32). */
export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Signed LEB128 (spec §5.2.2), for i32.const and i64.const immediates. */
export function sleb(n: bigint): Code {
  const out: Code = [];
  for (;;) {
    const b = Number(n & BigInt(0x7f));
    n >>= BigInt(7);
    const done = (n === BigInt(0) && (b & 0x40) === 0) || (n === BigInt(-1) && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** A name (spec §5.2.4): its UTF-8 length, then the bytes (ASCII here). */
function name(s: string): Code {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** A vector (spec §5.1.3): count, then the items. */
function vec(items: Code[]): Code {
  return [...uleb(items.length), ...items.flat()];
}

/** A section (spec §5.5.2): id, byte size, contents. */
function section(id: number, contents: Code): Code {
  return [id, ...uleb(contents.length), ...contents];
}

/** Concatenate instruction sequences. */
export function seq(...parts: Code[]): Code {
  return parts.flat();
}

/** A local variable (parameters are the first locals, spec §5.5.13). */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

export const get = (l: Local): Code => [0x20, ...uleb(l.index)];
export const set = (l: Local, v: Code): Code => [...v, 0x21, ...uleb(l.index)];
export const tee = (l: Local, v: Code): Code => [...v, 0x22, ...uleb(l.index)];

/** Block types (spec §5.4.1): no result. */
const EMPTY = 0x40;

/** Control instructions (spec §5.4.1). Branch depths count enclosing blocks/loops outwards from 0. */
export const block = (...body: Code[]): Code => [0x02, EMPTY, ...body.flat(), 0x0b];
export const loop = (...body: Code[]): Code => [0x03, EMPTY, ...body.flat(), 0x0b];
export const if_ = (cond: Code, then: Code[], otherwise?: Code[]): Code =>
  otherwise === undefined ? [...cond, 0x04, EMPTY, ...then.flat(), 0x0b] : [...cond, 0x04, EMPTY, ...then.flat(), 0x05, ...otherwise.flat(), 0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number, cond: Code): Code => [...cond, 0x0d, ...uleb(depth)];
export const ret = (v: Code = []): Code => [...v, 0x0f];
export const call = (f: Func, ...args: Code[]): Code => [...args.flat(), 0x10, ...uleb(f.index)];

/** A memory access's immediate (spec §5.4.6): log2 alignment hint, then a constant byte offset. */
const memarg = (align: number, offset: number): Code => [align, ...uleb(offset)];

const unary = (op: number) => (a: Code): Code => [...a, op];
const binary = (op: number) => (a: Code, b: Code): Code => [...a, ...b, op];
const load = (op: number, align: number) => (addr: Code, offset = 0): Code => [...addr, op, ...memarg(align, offset)];
const store = (op: number, align: number) => (addr: Code, v: Code, offset = 0): Code => [...addr, ...v, op, ...memarg(align, offset)];

/** i32 instructions (spec §5.4.5 numeric, §5.4.6 memory). */
export const i32 = {
  const: (n: number): Code => [0x41, ...sleb(BigInt(n | 0))],
  load: load(0x28, 2),
  load8u: load(0x2d, 0),
  store: store(0x36, 2),
  store8: store(0x3a, 0),
  eqz: unary(0x45),
  eq: binary(0x46),
  ne: binary(0x47),
  ltU: binary(0x49),
  geU: binary(0x4f),
  add: binary(0x6a),
  sub: binary(0x6b),
  and: binary(0x71),
  or: binary(0x72),
  xor: binary(0x73),
  shl: binary(0x74),
  shrU: binary(0x76),
  rotl: binary(0x77),
  rotr: binary(0x78),
  /** i32.wrap_i64: the low 32 bits. */
  wrap: unary(0xa7),
};

/** i64 instructions (spec §5.4.5 numeric, §5.4.6 memory). */
export const i64 = {
  const: (n: number | bigint): Code => [0x42, ...sleb(BigInt(n))],
  load: load(0x29, 3),
  /** i64.load32_u: 4 bytes, zero-extended. */
  load32u: load(0x35, 2),
  store: store(0x37, 3),
  store32: store(0x3e, 2),
  /** i64.eqz: 1 when zero, as an i32. */
  eqz: unary(0x50),
  add: binary(0x7c),
  sub: binary(0x7d),
  mul: binary(0x7e),
  and: binary(0x83),
  or: binary(0x84),
  xor: binary(0x85),
  shl: binary(0x86),
  shrU: binary(0x88),
  /** i64.extend_i32_u. */
  extendU: unary(0xad),
};

/** A SIMD instruction (spec §5.4.8): the prefix 0xfd, then the opcode as an unsigned LEB128. */
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const simdUnary = (op: number) => (a: Code): Code => [...a, ...simd(op)];
const simdBinary = (op: number) => (a: Code, b: Code): Code => [...a, ...b, ...simd(op)];

/** v128 and i32x4 instructions (spec §5.4.8); loads and stores make no alignment promise. */
export const v128 = {
  load: (addr: Code, offset = 0): Code => [...addr, ...simd(0x00), ...memarg(0, offset)],
  store: (addr: Code, v: Code, offset = 0): Code => [...addr, ...v, ...simd(0x0b), ...memarg(0, offset)],
  /** Four i32 lanes, lane 0 first (little-endian bytes). */
  constI32x4: (lanes: [number, number, number, number]): Code => [...simd(0x0c), ...lanes.flatMap((n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff])],
  /**
   * i8x16.shuffle with i32 lanes: lane k of the result is lane `lanes[k]` of `a` (0–3) or of
   * `b` (4–7).
   */
  shuffleI32: (a: Code, b: Code, lanes: [number, number, number, number]): Code => [...a, ...b, ...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
  /** i8x16.shuffle: byte k of the result is byte `bytes[k]` of `a` (0–15) or of `b` (16–31). */
  shuffleBytes: (a: Code, b: Code, bytes: number[]): Code => [...a, ...b, ...simd(0x0d), ...bytes],
  or: simdBinary(0x50),
  xor: simdBinary(0x51),
};
export const i32x4 = {
  splat: simdUnary(0x11),
  /** Lane-wise unsigned a < b: all ones or zero. */
  ltU: simdBinary(0x3a),
  /** Shifts take the count as an i32 (mod 32). */
  shl: simdBinary(0xab),
  shrU: simdBinary(0xad),
  add: simdBinary(0xae),
  sub: simdBinary(0xb1),
};

/**
 * A function being defined: its signature, its locals and its body. `index` is its place in the
 * module's function index space (definition order, spec §2.5.1: no imported functions here).
 */
export class Func {
  readonly params: Local[];
  private readonly extra: ValType[] = [];
  body: Code = [];

  constructor(
    readonly index: number,
    readonly paramTypes: ValType[],
    readonly result: ValType | undefined,
    readonly exportName: string | undefined,
  ) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  /** A new local of `type`. */
  local(type: ValType): Local {
    this.extra.push(type);
    return { index: this.paramTypes.length + this.extra.length - 1, type };
  }

  /** `n` new locals of `type`. */
  locals(type: ValType, n: number): Local[] {
    return Array.from({ length: n }, () => this.local(type));
  }

  /** The function type (spec §5.3.6). */
  typeBytes(): Code {
    return [0x60, ...vec(this.paramTypes.map((t) => [t])), ...vec(this.result === undefined ? [] : [[this.result]])];
  }

  /** The code section entry (spec §5.5.13): size, locals as runs of one type, body, `end`. */
  codeBytes(): Code {
    const runs: Code[] = [];
    for (let i = 0; i < this.extra.length; ) {
      let j = i;
      while (j < this.extra.length && this.extra[j] === this.extra[i]) j++;
      runs.push([...uleb(j - i), this.extra[i]!]);
      i = j;
    }
    const entry = [...vec(runs), ...this.body, 0x0b];
    return [...uleb(entry.length), ...entry];
  }
}

/** A module under construction: functions, then {@link bytes}. */
export class ModuleBuilder {
  private readonly funcs: Func[] = [];

  /** Declare a function; set its `body` before {@link bytes}. Exported as `exportName` if given. */
  func(params: ValType[], result: ValType | undefined, exportName?: string): Func {
    const f = new Func(this.funcs.length, params, result, exportName);
    this.funcs.push(f);
    return f;
  }

  /**
   * The module's binary (spec §5.5): one function type per function (no deduplication: a handful
   * of functions), one memory of `memoryPages` 64-KiB pages exported as `memory`, the functions.
   */
  bytes(memoryPages: number): Uint8Array {
    // (Code sections with SIMD need no feature flag in the binary: an engine without SIMD refuses
    // the module at compile time, which callers treat as "compile the module without it".)
    const exported = this.funcs.filter((f) => f.exportName !== undefined);
    return new Uint8Array([
      // Magic "\0asm" and version 1 (spec §5.5.16).
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      // Type section (1): function i has type i.
      ...section(1, vec(this.funcs.map((f) => f.typeBytes()))),
      // Function section (3): type indices.
      ...section(3, vec(this.funcs.map((f) => uleb(f.index)))),
      // Memory section (5): limits with a minimum only (flag 0x00).
      ...section(5, vec([[0x00, ...uleb(memoryPages)]])),
      // Export section (7): kind 0x00 = function, 0x02 = memory.
      ...section(7, vec([...exported.map((f) => [...name(f.exportName!), 0x00, ...uleb(f.index)]), [...name('memory'), 0x02, 0x00]])),
      // Code section (10).
      ...section(10, vec(this.funcs.map((f) => f.codeBytes()))),
    ]);
  }
}
