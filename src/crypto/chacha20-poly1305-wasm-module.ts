/**
 * The source of the WebAssembly module of ./chacha20-poly1305-wasm.ts: the original ChaCha20 and
 * Poly1305 and the chacha20-poly1305@openssh.com construction, written with the emitter of
 * ./wasm.ts. Not loaded at run time: `npm run gen:wasm` (scripts/gen-wasm.ts) writes its bytes to
 * ./chacha20-poly1305-wasm-bytes.ts, and test/chacha20-poly1305-wasm.test.ts checks they match.
 *
 * Exports (all offsets are into the module's own memory; layout in ./chacha20-poly1305-wasm.ts):
 * `xor`, `poly1305`, `lengthKeystream`, `mac`, `seal`, `verify`, `open`, and `memory`.
 */
import { BLOCK, KEYSTREAM4, KEYSTREAM4_FOR, PAD, TAG } from './chacha20-poly1305-wasm.js';
import { call, block, br, brIf, get, i32, i32x4, i64, I32, I64, if_, loop, ModuleBuilder, ret, seq, set, tee, v128, V128, type Code, type Func, type Local } from './wasm.js';

/**
 * The longest rest of a packet (after its 4-byte length) the SIMD module seals and opens with one
 * four-block pass: K_2's block 0 is the Poly1305 key, blocks 1–3 cover 192 bytes.
 */
export const SMALL_REST = 192;
/**
 * The longest rest the SIMD module seals with one four-block pass of both keys: K_2's blocks 0–2
 * (Poly1305 key, 128 bytes of payload keystream) and K_1's block 0 (the length's mask).
 */
export const SPLIT_REST = 128;

/** RFC 8439 §2.3: the first four state words, "expand 32-byte k". */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

/**
 * RFC 8439 §2.3: the 20 rounds, as 10 column rounds each followed by a diagonal round, over the
 * sixteen state words `x` (scalar words or four blocks' words in vectors): `step` is one line of
 * the quarter round (§2.1: a += b; d ^= a; d <<<= r), `rounds` the counter local.
 */
function twentyRounds(x: Local[], rounds: Local, step: (a: Local, b: Local, d: Local, r: number) => Code): Code {
  const quarter = (a: number, b: number, c: number, d: number): Code =>
    seq(step(x[a]!, x[b]!, x[d]!, 16), step(x[c]!, x[d]!, x[b]!, 12), step(x[a]!, x[b]!, x[d]!, 8), step(x[c]!, x[d]!, x[b]!, 7));
  return seq(
    set(rounds, i32.const(10)),
    loop(
      quarter(0, 4, 8, 12),
      quarter(1, 5, 9, 13),
      quarter(2, 6, 10, 14),
      quarter(3, 7, 11, 15),
      quarter(0, 5, 10, 15),
      quarter(1, 6, 11, 12),
      quarter(2, 7, 8, 13),
      quarter(3, 4, 9, 14),
      brIf(0, tee(rounds, i32.sub(get(rounds), i32.const(1)))),
    ),
  );
}

/**
 * The module's bytes. With `simd`, ChaCha20 also has a four-blocks-at-once path in 128-bit
 * vectors (WebAssembly SIMD) for every whole 256 bytes, and the packets of a request/response
 * protocol take all their keystream from one such pass instead of four scalar blocks: `seal` of
 * a packet whose rest after the length is at most {@link SPLIT_REST} bytes (K_2's blocks 0–2 and
 * K_1's block 0 together), a receiver's `lengthKeystream` likewise (kept for that packet's `open`),
 * and otherwise up to {@link SMALL_REST} bytes K_2's blocks 0–3. Callgrind of `pgbench -S -c 4`
 * through -L (one packet each way per transaction), main thread: the module's instructions
 * 16.2k → ~7k per transaction, of ~37.6k in all. Engines without SIMD refuse that module, and
 * get the one without (unchanged).
 */
export function buildModule(simd: boolean): Uint8Array {
  const m = new ModuleBuilder();
  const c32 = i32.const;
  const c64 = i64.const;

  // ChaCha20 block function (RFC 8439 §2.3), original layout: words 12–13 the 64-bit block
  // counter, 14–15 the nonce. block(key, n0, n1, lo, hi) writes keystream block (hi·2^32 + lo)
  // for key at `key` and nonce words n0, n1 to BLOCK.
  const chachaBlock = m.func([I32, I32, I32, I32, I32], undefined);
  {
    const f = chachaBlock;
    const [key, n0, n1, lo, hi] = f.params as [Local, Local, Local, Local, Local];
    const x = f.locals(I32, 16);
    const rounds = f.local(I32);
    // RFC 8439 §2.3: "expand 32-byte k", then the key, then counter and nonce.
    const initial = (k: number): Code =>
      k < 4 ? c32(SIGMA[k]!) : k < 12 ? i32.load(get(key), 4 * (k - 4)) : get([lo, hi, n0, n1][k - 12]!);
    // RFC 8439 §2.1: the quarter round.
    const step = (a: Local, b: Local, d: Local, r: number): Code =>
      seq(set(a, i32.add(get(a), get(b))), set(d, i32.rotl(i32.xor(get(d), get(a)), c32(r))));
    f.body = seq(
      ...x.map((l, k) => set(l, initial(k))),
      twentyRounds(x, rounds, step),
      // RFC 8439 §2.3: the block is the working state plus the initial state, word by word
      // (serialized little-endian, which WebAssembly memory is).
      ...x.map((l, k) => i32.store(c32(BLOCK), i32.add(get(l), initial(k)), 4 * k)),
    );
  }

  const wipe = (at: number, bytes: number): Code => seq(...Array.from({ length: bytes / 8 }, (_, i) => i64.store(c32(at), c64(0), 8 * i)));

  // Four ChaCha20 blocks at once: vector x[k] holds state word k of the four blocks, one per
  // lane (the same rounds as chachaBlock, lane-wise), then each block's words are gathered from
  // the lanes by shuffles (a 4×4 transpose per four words) and XORed into [ptr, ptr + 256).
  // `initial(k)` is state word k of the four blocks.
  const fourBlocks = (f: Func, initial: (k: number) => Code, ptr: Local): Code => {
    const x = f.locals(V128, 16);
    const t = f.locals(V128, 4);
    const rounds = f.local(I32);
    // Rotations by 16 and 8 move whole bytes within each lane: one byte shuffle (little-endian
    // lanes: result byte k of a lane is byte (k - r/8) mod 4 of the source lane).
    const byteRotl = (l: Local, r: number): Code =>
      v128.shuffleBytes(get(l), get(l), Array.from({ length: 16 }, (_, k) => (k & ~3) + (((k & 3) - r / 8 + 4) & 3)));
    const rotl = (l: Local, r: number): Code =>
      r % 8 === 0 ? byteRotl(l, r) : v128.or(i32x4.shl(get(l), c32(r)), i32x4.shrU(get(l), c32(32 - r)));
    const step = (a: Local, b: Local, d: Local, r: number): Code =>
      seq(set(a, i32x4.add(get(a), get(b))), set(d, v128.xor(get(d), get(a))), set(d, rotl(d, r)));
    // Words 4g..4g+3 of the four blocks: transpose x[4g..4g+3] and XOR each block's 16 bytes in.
    const output = (g: number): Code => {
      const [a, b, c, d] = [x[4 * g]!, x[4 * g + 1]!, x[4 * g + 2]!, x[4 * g + 3]!];
      const xorInto = (blk: number, v: Code): Code => v128.store(get(ptr), v128.xor(v128.load(get(ptr), 64 * blk + 16 * g), v), 64 * blk + 16 * g);
      return seq(
        set(t[0]!, v128.shuffleI32(get(a), get(b), [0, 4, 1, 5])), // a0 b0 a1 b1
        set(t[1]!, v128.shuffleI32(get(a), get(b), [2, 6, 3, 7])), // a2 b2 a3 b3
        set(t[2]!, v128.shuffleI32(get(c), get(d), [0, 4, 1, 5])), // c0 d0 c1 d1
        set(t[3]!, v128.shuffleI32(get(c), get(d), [2, 6, 3, 7])), // c2 d2 c3 d3
        xorInto(0, v128.shuffleI32(get(t[0]!), get(t[2]!), [0, 1, 4, 5])),
        xorInto(1, v128.shuffleI32(get(t[0]!), get(t[2]!), [2, 3, 6, 7])),
        xorInto(2, v128.shuffleI32(get(t[1]!), get(t[3]!), [0, 1, 4, 5])),
        xorInto(3, v128.shuffleI32(get(t[1]!), get(t[3]!), [2, 3, 6, 7])),
      );
    };
    // The initial state is kept for the final addition (emitted once: the module's size counts
    // in the web bundle).
    const y = f.locals(V128, 16);
    return seq(
      ...x.map((l, k) => set(l, tee(y[k]!, initial(k)))),
      twentyRounds(x, rounds, step),
      ...x.map((l, k) => set(l, i32x4.add(get(l), get(y[k]!)))),
      output(0),
      output(1),
      output(2),
      output(3),
    );
  };

  // chacha4(key, key3, n0, n1, lo, hi, c3, ptr): XOR [ptr, ptr + 256) with keystream blocks
  // (hi·2^32 + lo) + 0, 1, 2 of `key` and block (hi·2^32 + lo) + c3 of `key3`, nonce words n0,
  // n1: the four blocks from `lo` on of one key when key3 = key and c3 = 3 (bulk); with
  // chacha20-poly1305@openssh.com's K_2 and K_1 (which share the nonce) and c3 = 0, a small
  // packet's Poly1305 key, payload keystream and length mask at once. One function for both: the
  // module's size counts in the web bundle.
  let chacha4: Func | undefined;
  if (simd) {
    const f = (chacha4 = m.func([I32, I32, I32, I32, I32, I32, I32, I32], undefined));
    const [key, key3, n0, n1, lo, hi, c3, ptr] = f.params as [Local, Local, Local, Local, Local, Local, Local, Local];
    // Lane j's counter is lo + j (lane 3: lo + c3), carrying into hi where it wraps (lt_u gives
    // -1 there).
    const counterLo = (): Code => i32x4.add(i32x4.splat(get(lo)), v128.shuffleI32(v128.constI32x4([0, 1, 2, 0]), i32x4.splat(get(c3)), [0, 1, 2, 4]));
    f.body = fourBlocks(
      f,
      (k) =>
        k < 4
          ? i32x4.splat(c32(SIGMA[k]!))
          : k < 12
            ? // Lanes 0–2 key's word, lane 3 key3's.
              v128.shuffleI32(i32x4.splat(i32.load(get(key), 4 * (k - 4))), i32x4.splat(i32.load(get(key3), 4 * (k - 4))), [0, 1, 2, 4])
            : k === 12
              ? counterLo()
              : k === 13
                ? i32x4.sub(i32x4.splat(get(hi)), i32x4.ltU(counterLo(), i32x4.splat(get(lo))))
                : i32x4.splat(get(k === 14 ? n0 : n1)),
      ptr,
    );
  }

  // xor(key, n0, n1, lo, hi, ptr, len): XOR memory [ptr, ptr + len) with the keystream from
  // block (hi·2^32 + lo); encryption and decryption alike (RFC 8439 §2.4).
  const xor = m.func([I32, I32, I32, I32, I32, I32, I32], undefined, 'xor');
  {
    const f = xor;
    const [key, n0, n1, lo, hi, ptr, len] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
    const i = f.local(I32);
    f.body = seq(
      // Whole 256-byte runs four blocks at a time where the module has SIMD.
      chacha4 === undefined
        ? []
        : block(
            loop(
              brIf(1, i32.ltU(get(len), c32(256))),
              call(chacha4, get(key), get(key), get(n0), get(n1), get(lo), get(hi), c32(3), get(ptr)),
              set(ptr, i32.add(get(ptr), c32(256))),
              set(len, i32.sub(get(len), c32(256))),
              set(lo, i32.add(get(lo), c32(4))),
              set(hi, i32.add(get(hi), i32.ltU(get(lo), c32(4)))),
              br(0),
            ),
          ),
      block(
        loop(
          brIf(1, i32.eqz(get(len))),
          call(chachaBlock, get(key), get(n0), get(n1), get(lo), get(hi)),
          if_(
            i32.geU(get(len), c32(64)),
            [
              ...Array.from({ length: 8 }, (_, w) => i64.store(get(ptr), i64.xor(i64.load(get(ptr), 8 * w), i64.load(c32(BLOCK), 8 * w)), 8 * w)),
              set(ptr, i32.add(get(ptr), c32(64))),
              set(len, i32.sub(get(len), c32(64))),
            ],
            [
              // The last partial block, byte by byte.
              set(i, c32(0)),
              loop(
                i32.store8(i32.add(get(ptr), get(i)), i32.xor(i32.load8u(i32.add(get(ptr), get(i))), i32.load8u(i32.add(c32(BLOCK), get(i))))),
                brIf(0, i32.ne(tee(i, i32.add(get(i), c32(1))), get(len))),
              ),
              set(len, c32(0)),
            ],
          ),
          // The 64-bit block counter: the low word's carry goes into the high word.
          set(lo, i32.add(get(lo), c32(1))),
          set(hi, i32.add(get(hi), i32.eqz(get(lo)))),
          br(0),
        ),
      ),
      wipe(BLOCK, 64),
    );
  }

  // poly1305(key, msg, len, out): the 16-byte tag of memory [msg, msg + len) under the
  // one-time key at `key` (r || s, RFC 8439 §2.5), written to `out`. h, r in radix 2^26, as in
  // poly1305-donna's 32-bit form; products are i64 (limbs < 2^27, 5·r < 2^29: sums < 2^59).
  const poly1305 = m.func([I32, I32, I32, I32], undefined, 'poly1305');
  {
    const f = poly1305;
    const [key, msg, len, out] = f.params as [Local, Local, Local, Local];
    const r = f.locals(I64, 5);
    const s = f.locals(I64, 5); // s[i] = 5·r[i]: 2^130 ≡ 5 (mod p) folds the wrapped products
    const h = f.locals(I64, 5);
    const d = f.locals(I64, 5);
    const carry = f.local(I64);
    const hibit = f.local(I64);
    const p = f.local(I32);
    const i = f.local(I32);
    const MASK26 = c64(0x3ffffff);
    // Little-endian 26-bit limb k of the 16 bytes at `at`: bits 26k .. 26k+25.
    const limb = (at: Code, k: number): Code => i64.shrU(i64.load32u(at, [0, 3, 6, 9, 12][k]!), c64([0, 2, 4, 6, 8][k]!));
    // RFC 8439 §2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff, split into limbs.
    const CLAMP = [0x3ffffff, 0x3ffff03, 0x3ffc0ff, 0x3f03fff, 0x00fffff];
    // h·r mod p, limb k of the product: Σ h[i]·r[k-i], wrapping terms (i > k) use s = 5r.
    const product = (k: number): Code => {
      let sum: Code | undefined;
      for (let j = 0; j < 5; j++) {
        const term = i64.mul(get(h[j]!), get(j <= k ? r[k - j]! : s[k - j + 5]!));
        sum = sum === undefined ? term : i64.add(sum, term);
      }
      return sum!;
    };
    // Carry limb k into limb k + 1 (limb 4's carry wraps to limb 0 times 5, see s).
    const carryFrom = (v: Local[], k: number): Code =>
      seq(
        set(carry, i64.shrU(get(v[k]!), c64(26))),
        set(v[k]!, i64.and(get(v[k]!), MASK26)),
        k < 4 ? set(v[k + 1]!, i64.add(get(v[k + 1]!), get(carry))) : set(v[0]!, i64.add(get(v[0]!), i64.mul(get(carry), c64(5)))),
      );
    const g = d; // the final reduction reuses d as g = h + 5 - 2^130
    const mask = carry;
    f.body = seq(
      ...r.map((l, k) => set(l, i64.and(limb(get(key), k), c64(CLAMP[k]!)))),
      ...s.map((l, k) => (k === 0 ? [] : set(l, i64.mul(get(r[k]!), c64(5))))),
      ...h.map((l) => set(l, c64(0))),
      // RFC 8439 §2.5: every full block gets bit 128 set (bit 24 of limb 4).
      set(hibit, c64(1 << 24)),
      block(
        loop(
          if_(
            i32.geU(get(len), c32(16)),
            [set(p, get(msg)), set(msg, i32.add(get(msg), c32(16))), set(len, i32.sub(get(len), c32(16)))],
            [
              brIf(2, i32.eqz(get(len))),
              // RFC 8439 §2.5: the last partial block is padded with a 1 byte then zeros, and gets
              // no bit 128.
              wipe(PAD, 16),
              set(i, c32(0)),
              loop(
                i32.store8(i32.add(c32(PAD), get(i)), i32.load8u(i32.add(get(msg), get(i)))),
                brIf(0, i32.ne(tee(i, i32.add(get(i), c32(1))), get(len))),
              ),
              i32.store8(i32.add(c32(PAD), get(len)), c32(1)),
              set(p, c32(PAD)),
              set(len, c32(0)),
              set(hibit, c64(0)),
            ],
          ),
          // h += block; h *= r (mod p, partially reduced).
          ...h.map((l, k) => set(l, i64.add(get(l), k < 4 ? i64.and(limb(get(p), k), MASK26) : i64.or(limb(get(p), 4), get(hibit))))),
          ...d.map((l, k) => set(l, product(k))),
          ...[0, 1, 2, 3].map((k) => carryFrom(d, k)),
          carryFrom(d, 4),
          carryFrom(d, 0),
          ...h.map((l, k) => set(l, get(d[k]!))),
          br(0),
        ),
      ),
      wipe(PAD, 16),
      // Full carry, then h mod p: g = h + 5 - 2^130; if g ≥ 0 (no borrow) h ≡ g.
      carryFrom(h, 1),
      carryFrom(h, 2),
      carryFrom(h, 3),
      carryFrom(h, 4),
      carryFrom(h, 0),
      set(g[0]!, i64.add(get(h[0]!), c64(5))),
      ...[1, 2, 3, 4].map((k) =>
        seq(set(g[k]!, i64.add(get(h[k]!), i64.shrU(get(g[k - 1]!), c64(26)))), set(g[k - 1]!, i64.and(get(g[k - 1]!), MASK26))),
      ),
      set(g[4]!, i64.sub(get(g[4]!), c64(1 << 26))),
      // Constant-time select: mask = all ones when g[4] ≥ 0 (top bit clear), else 0.
      set(mask, i64.sub(i64.shrU(get(g[4]!), c64(63)), c64(1))),
      ...h.map((l, k) => set(l, i64.or(i64.and(get(l), i64.xor(get(mask), c64(-1))), i64.and(get(g[k]!), get(mask))))),
      // RFC 8439 §2.5: tag = (h + s) mod 2^128, s = key[16, 32); h repacked into 32-bit words.
      set(d[0]!, i64.or(get(h[0]!), i64.shl(get(h[1]!), c64(26)))),
      set(d[1]!, i64.or(i64.shrU(get(h[1]!), c64(6)), i64.shl(get(h[2]!), c64(20)))),
      set(d[2]!, i64.or(i64.shrU(get(h[2]!), c64(12)), i64.shl(get(h[3]!), c64(14)))),
      set(d[3]!, i64.or(i64.shrU(get(h[3]!), c64(18)), i64.shl(get(h[4]!), c64(8)))),
      set(carry, c64(0)),
      ...[0, 1, 2, 3].map((k) =>
        seq(
          set(carry, i64.add(i64.add(i64.and(get(d[k]!), c64(0xffffffff)), i64.load32u(get(key), 16 + 4 * k)), i64.shrU(get(carry), c64(32)))),
          i64.store32(get(out), get(carry), 4 * k),
        ),
      ),
    );
  }

  // The SSH construction. The nonce is the sequence number as a big-endian uint64
  // (PROTOCOL.chacha20poly1305): state word 14 is 0, word 15 the byte-swapped seq.
  const nonceWord = (sq: Local): Code => i32.or(i32.rotl(i32.and(get(sq), c32(0xff00ff00)), c32(8)), i32.rotr(i32.and(get(sq), c32(0x00ff00ff)), c32(8)));

  // The SIMD module's small packets (rest after the length at most SMALL_REST bytes): K_2's
  // blocks 0–3 in one four-block pass instead of three or four scalar blocks (block 0's first 32
  // bytes are the Poly1305 key, blocks 1–3 the payload's keystream, PROTOCOL.chacha20poly1305).
  // keystream(key, seq) writes them to KEYSTREAM4 (chacha4 XORs into that area, zero between
  // uses); xorRest(ptr, n) XORs [ptr + 4, ptr + n) with blocks 1–3.
  let small: { keystream: Func; xorRest: Func; tagMatches: Func; dropKept: Func } | undefined;
  const isSmall = (n: Local): Code => i32.ltU(get(n), c32(4 + SMALL_REST + 1));
  // Rest at most SPLIT_REST bytes: seal takes K_1's length block from the same pass (chacha4, c3 = 0).
  const isSplit = (n: Local): Code => i32.ltU(get(n), c32(4 + SPLIT_REST + 1));
  if (chacha4 !== undefined) {
    // tagMatches(at) → 1 when the 16 bytes at `at` equal the tag at TAG, else 0, compared without a
    // data-dependent branch (i64.eqz compiles to a compare and a flag-to-register move); TAG is wiped.
    const tagMatches = m.func([I32], I32);
    {
      const [at] = tagMatches.params as [Local];
      const diff = tagMatches.local(I64);
      tagMatches.body = seq(
        set(diff, i64.or(i64.xor(i64.load(c32(TAG)), i64.load(get(at))), i64.xor(i64.load(c32(TAG), 8), i64.load(get(at), 8)))),
        wipe(TAG, 16),
        i64.eqz(get(diff)),
      );
    }
    const keystream = m.func([I32, I32], undefined);
    {
      const [key, sq] = keystream.params as [Local, Local];
      keystream.body = call(chacha4, get(key), get(key), c32(0), nonceWord(sq), c32(0), c32(0), c32(3), c32(KEYSTREAM4));
    }
    const xorRest = m.func([I32, I32], undefined);
    {
      const [ptr, n] = xorRest.params as [Local, Local];
      const i = xorRest.local(I32);
      const len = xorRest.local(I32);
      const at = (): Code => i32.add(i32.add(get(ptr), c32(4)), get(i));
      const ks = (): Code => i32.add(c32(KEYSTREAM4 + 64), get(i));
      xorRest.body = seq(
        set(len, i32.sub(get(n), c32(4))),
        set(i, c32(0)),
        // Eight bytes at a time while whole words remain, then byte by byte.
        block(
          loop(
            brIf(1, i32.ltU(i32.sub(get(len), get(i)), c32(8))),
            i64.store(at(), i64.xor(i64.load(at()), i64.load(ks()))),
            set(i, i32.add(get(i), c32(8))),
            br(0),
          ),
        ),
        block(
          loop(
            brIf(1, i32.eq(get(i), get(len))),
            i32.store8(at(), i32.xor(i32.load8u(at()), i32.load8u(ks()))),
            set(i, i32.add(get(i), c32(1))),
            br(0),
          ),
        ),
      );
    }
    // dropKept(): the keystream lengthKeystream kept, if any, wiped (the area is zero again).
    const dropKept = m.func([], undefined);
    dropKept.body = if_(i32.load(c32(KEYSTREAM4_FOR)), [wipe(KEYSTREAM4, 256), i64.store(c32(KEYSTREAM4_FOR), c64(0))]);
    small = { keystream, xorRest, tagMatches, dropKept };
  }

  // lengthKeystream(key, seq): K_1's keystream block 0, bytes 0–3 as a little-endian word.
  // The packet functions take `key`: the address of a cipher's 64-byte key, K_2 (payload and
  // Poly1305 key) then K_1 (length) as the KDF gives them.
  const lengthKeystream = m.func([I32, I32], I32, 'lengthKeystream');
  {
    const [key, sq] = lengthKeystream.params as [Local, Local];
    const w = lengthKeystream.local(I32);
    lengthKeystream.body =
      small === undefined || chacha4 === undefined
        ? seq(call(chachaBlock, i32.add(get(key), c32(32)), c32(0), nonceWord(sq), c32(0), c32(0)), set(w, i32.load(c32(BLOCK))), wipe(BLOCK, 64), get(w))
        : seq(
            // SIMD: the receiver's length comes first, and the packet's open (same key and seq)
            // next: one four-block pass gives K_1's block 0 and K_2's blocks 0–2, kept (with the
            // key and seq they are for) for that open, which then needs no pass of its own when
            // the rest is at most SPLIT_REST bytes.
            call(small.dropKept),
            call(chacha4, get(key), i32.add(get(key), c32(32)), c32(0), nonceWord(sq), c32(0), c32(0), c32(0), c32(KEYSTREAM4)),
            i32.store(c32(KEYSTREAM4_FOR), get(key)),
            i32.store(c32(KEYSTREAM4_FOR + 4), get(sq)),
            i32.load(c32(KEYSTREAM4 + 192)),
          );
  }

  // mac(key, seq, ptr, n, out): the tag over [ptr, ptr + n) (encrypted length || payload) under the
  // Poly1305 key = first 32 bytes of K_2's keystream block 0.
  const mac = m.func([I32, I32, I32, I32, I32], undefined, 'mac');
  {
    const [key, sq, ptr, n, out] = mac.params as [Local, Local, Local, Local, Local];
    mac.body = seq(call(chachaBlock, get(key), c32(0), nonceWord(sq), c32(0), c32(0)), call(poly1305, c32(BLOCK), get(ptr), get(n), get(out)), wipe(BLOCK, 64));
  }

  // seal(key, seq, ptr, n): [ptr, ptr + 4) is the plaintext length, [ptr + 4, ptr + n) the rest of the
  // packet; both encrypted in place and the tag written to [ptr + n, ptr + n + 16).
  const seal = m.func([I32, I32, I32, I32], undefined, 'seal');
  {
    const [key, sq, ptr, n] = seal.params as [Local, Local, Local, Local];
    const large = seq(
      call(xor, get(key), c32(0), nonceWord(sq), c32(1), c32(0), i32.add(get(ptr), c32(4)), i32.sub(get(n), c32(4))),
      call(mac, get(key), get(sq), get(ptr), get(n), i32.add(get(ptr), get(n))),
    );
    // The tag under block 0's first 32 bytes (in KEYSTREAM4) over the encrypted length and payload.
    const tagSmall = seq(call(poly1305, c32(KEYSTREAM4), get(ptr), get(n), i32.add(get(ptr), get(n))), wipe(KEYSTREAM4, 256));
    // PROTOCOL.chacha20poly1305: the length under K_1 from block 0, the payload under K_2 from block 1.
    const length = seq(
      call(chachaBlock, i32.add(get(key), c32(32)), c32(0), nonceWord(sq), c32(0), c32(0)),
      i32.store(get(ptr), i32.xor(i32.load(get(ptr)), i32.load(c32(BLOCK)))),
    );
    seal.body =
      small === undefined || chacha4 === undefined
        ? seq(length, large) // (xor wipes BLOCK)
        : seq(
            // The four-block area must be zero: a receiver's kept keystream goes (its open redoes it).
            call(small.dropKept),
            if_(
              isSplit(n),
              [
                // All from one four-block pass: K_2's blocks 0–2 and K_1's block 0 (the length mask).
                call(chacha4, get(key), i32.add(get(key), c32(32)), c32(0), nonceWord(sq), c32(0), c32(0), c32(0), c32(KEYSTREAM4)),
                i32.store(get(ptr), i32.xor(i32.load(get(ptr)), i32.load(c32(KEYSTREAM4 + 192)))),
                call(small.xorRest, get(ptr), get(n)),
                tagSmall,
              ],
              [
                length,
                wipe(BLOCK, 64),
                if_(
                  isSmall(n),
                  // The same bytes from one four-block pass of K_2: payload XORed with blocks 1–3.
                  [call(small.keystream, get(key), get(sq)), call(small.xorRest, get(ptr), get(n)), tagSmall],
                  [large],
                ),
              ],
            ),
          );
  }

  // verify(key, seq, ptr, n) → 1 when the tag at [ptr + n, ptr + n + 16) is right, else 0; compared
  // without a data-dependent branch.
  const verify = m.func([I32, I32, I32, I32], I32, 'verify');
  {
    const [key, sq, ptr, n] = verify.params as [Local, Local, Local, Local];
    const diff = verify.local(I64);
    const at = verify.local(I32);
    verify.body = seq(
      call(mac, get(key), get(sq), get(ptr), get(n), c32(TAG)),
      set(at, i32.add(get(ptr), get(n))),
      set(diff, i64.or(i64.xor(i64.load(c32(TAG)), i64.load(get(at))), i64.xor(i64.load(c32(TAG), 8), i64.load(get(at), 8)))),
      wipe(TAG, 16),
      // i64.eqz compiles to a compare and a flag-to-register move, no branch.
      i64.eqz(get(diff)),
    );
  }

  // open(key, seq, ptr, n) → 1 and [ptr + 4, ptr + n) decrypted when the tag verifies; 0 and nothing
  // changed otherwise (PROTOCOL.chacha20poly1305: check the tag before decrypting).
  const open = m.func([I32, I32, I32, I32], I32, 'open');
  {
    const [key, sq, ptr, n] = open.params as [Local, Local, Local, Local];
    const verifyThenXor = seq(
      if_(i32.eqz(call(verify, get(key), get(sq), get(ptr), get(n))), [ret(c32(0))]),
      call(xor, get(key), c32(0), nonceWord(sq), c32(1), c32(0), i32.add(get(ptr), c32(4)), i32.sub(get(n), c32(4))),
    );
    const ok = small === undefined ? undefined : open.local(I32);
    open.body =
      small === undefined || ok === undefined
        ? seq(verifyThenXor, c32(1))
        : seq(
            if_(
              isSmall(n),
              [
                // One four-block pass (or the one lengthKeystream kept for this key and seq, which
                // covers a rest up to SPLIT_REST bytes): the tag checked under block 0's key (in
                // constant time, as verify does), then, only if it matches, the payload XORed with
                // blocks 1–3.
                if_(
                  i32.eqz(i32.and(i32.and(isSplit(n), i32.eq(i32.load(c32(KEYSTREAM4_FOR)), get(key))), i32.eq(i32.load(c32(KEYSTREAM4_FOR + 4)), get(sq)))),
                  [call(small.dropKept), call(small.keystream, get(key), get(sq))],
                ),
                call(poly1305, c32(KEYSTREAM4), get(ptr), get(n), c32(TAG)),
                set(ok, call(small.tagMatches, i32.add(get(ptr), get(n)))),
                if_(get(ok), [call(small.xorRest, get(ptr), get(n))]),
                wipe(KEYSTREAM4, 256),
                i64.store(c32(KEYSTREAM4_FOR), c64(0)),
                ret(get(ok)),
              ],
            ),
            call(small.dropKept),
            verifyThenXor,
            c32(1),
          );
  }

  return m.bytes(1);
}

