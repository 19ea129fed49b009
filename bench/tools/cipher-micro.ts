/**
 * Micro-benchmark of chacha20-poly1305@openssh.com's parts: Poly1305, the ChaCha20 block function
 * and the whole packet seal/open, ours against @noble/ciphers and node:crypto.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/tools/cipher-micro.js [--time S] [--only NAME,...]
 *   node dist-bench/bench/tools/cipher-micro.js --cold        # first-call costs, one fresh process each
 *
 * Warm figures are MB processed per CPU second (user + system of this process, so a loaded machine
 * changes them less than wall-clock rates), after a warm-up that lets the JIT optimise. Sizes: a
 * 32 KiB channel packet as a bulk download carries it, and an 88-byte packet (4-byte length +
 * 84-byte body: the 64-byte echo of the bench's round-trip scenario in a CHANNEL_DATA message, with
 * padding). Cold figures are microseconds for the first call and for the first 1,000 calls in a
 * new process, the JIT cost the first round trips of a connection pay.
 */
import { createCipheriv } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chacha20orig } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { ChaCha20, WordViews } from '../../src/crypto/chacha20.js';
import { poly1305Into } from '../../src/crypto/poly1305.js';
import { ChaCha20Poly1305Cipher } from '../../src/cipher/chacha20-poly1305.js';
import { pureTsCryptoProvider } from '../../src/crypto/pure.js';
import { WasmChaChaPoly, wasmChaChaPolyModule } from '../../src/crypto/chacha20-poly1305-wasm.js';
import { nodeCryptoProvider, nodeCryptoProviderNoWasm } from '../../src/node/crypto-provider.js';

const BULK = 32768;
const SMALL = 88;

interface Case {
  name: string;
  /** Bytes per call. */
  bytes: number;
  /** One call (fresh closure state prepared once). */
  run: () => void;
}

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7) & 0xff;
  return b;
}

function cases(size: number): Case[] {
  const key = filled(32, 1);
  const key64 = filled(64, 2);
  const nonce = filled(8, 3);
  const msg = filled(size + 64, 4);
  const out = new Uint8Array(16);
  const views = new WordViews();
  const words = views.of(msg.buffer);
  const chacha = new ChaCha20(key);
  const nodeIv = new Uint8Array(16);
  nodeIv.set(nonce, 8);
  const list: Case[] = [
    { name: `poly1305Into aligned+words ${size}`, bytes: size, run: () => poly1305Into(key, 0, msg, 0, size, out, 0, words) },
    { name: `poly1305Into aligned ${size}`, bytes: size, run: () => poly1305Into(key, 0, msg, 0, size, out, 0) },
    { name: `poly1305Into misaligned ${size}`, bytes: size, run: () => poly1305Into(key, 0, msg, 1, 1 + size, out, 0) },
    { name: `noble poly1305 ${size}`, bytes: size, run: () => poly1305(msg.subarray(0, size), key) },
    { name: `ChaCha20.xor aligned ${size}`, bytes: size, run: () => chacha.xor(nonce, 1, msg, 0, size) },
    { name: `ChaCha20.xor misaligned ${size}`, bytes: size, run: () => chacha.xor(nonce, 1, msg, 1, 1 + size) },
    { name: `noble chacha20orig ${size}`, bytes: size, run: () => chacha20orig(key, nonce, msg.subarray(0, size), msg.subarray(0, size), 1) },
    { name: `node:crypto chacha20 ${size}`, bytes: size, run: () => createCipheriv('chacha20', key, nodeIv).update(msg.subarray(0, size)) },
  ];
  const wasmModule = wasmChaChaPolyModule();
  if (!(wasmModule instanceof Error)) {
    // The WebAssembly engine's parts, each with its copy into (and out of) the instance's memory.
    const wasm = new WasmChaChaPoly(wasmModule, key64);
    list.push(
      { name: `wasm Poly1305 (mac) ${size}`, bytes: size, run: () => wasm.mac(0, msg, 0, size) },
      { name: `wasm ChaCha20 (xor) ${size}`, bytes: size, run: () => wasm.xor(false, 0, 0, 1, msg, 0, size) },
    );
  }
  // A whole packet: seal then open (two passes over the data), with each provider, with and
  // without the WebAssembly engine (src/crypto/chacha20-poly1305-wasm.ts; the defaults use it).
  for (const [label, provider] of [
    ['pure', undefined],
    ['pure-ts', pureTsCryptoProvider],
    ['node', nodeCryptoProvider],
    ['node-ts', nodeCryptoProviderNoWasm],
  ] as const) {
    const tx = new ChaCha20Poly1305Cipher(key64, provider);
    const rx = new ChaCha20Poly1305Cipher(key64, provider);
    const buf = new Uint8Array(4 + size + 16 + 4);
    const plen = size;
    buf[0] = plen >>> 24;
    buf[1] = plen >>> 16;
    buf[2] = plen >>> 8;
    buf[3] = plen;
    let seq = 0;
    list.push({
      name: `seal+open ${label} ${4 + size}`,
      bytes: 4 + size,
      run: () => {
        tx.seal(seq, buf, 0, plen);
        rx.decryptLength(seq, buf, 0);
        rx.open(seq, buf, 0, plen);
        buf[0] = plen >>> 24;
        buf[1] = plen >>> 16;
        buf[2] = plen >>> 8;
        buf[3] = plen;
        seq = (seq + 1) >>> 0;
      },
    });
  }
  return list;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** MB per CPU second over about `seconds` of CPU time, after a warm-up. */
function measure(c: Case, seconds: number): number {
  const warm = Math.max(200, Math.ceil(4e6 / c.bytes));
  for (let i = 0; i < warm; i++) c.run();
  let calls = Math.max(1, Math.ceil(1e6 / c.bytes));
  let best = 0;
  const deadline = cpuSeconds() + seconds;
  while (cpuSeconds() < deadline) {
    const t0 = cpuSeconds();
    for (let i = 0; i < calls; i++) c.run();
    const dt = cpuSeconds() - t0;
    if (dt < 0.05) {
      calls *= 2;
      continue;
    }
    best = Math.max(best, (calls * c.bytes) / 1e6 / dt);
  }
  return best;
}

function cold(name: string, size: number): void {
  const c = cases(size).find((x) => x.name === name);
  if (!c) throw new Error(`no case ${name}`);
  const t0 = performance.now();
  c.run();
  const t1 = performance.now();
  for (let i = 1; i < 1000; i++) c.run();
  const t2 = performance.now();
  process.stdout.write(`${(1000 * (t1 - t0)).toFixed(0)} ${(1000 * (t2 - t0)).toFixed(0)}\n`);
}

const args = process.argv.slice(2);
const opt = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('--only')?.split(',');
const pick = (n: string): boolean => !only || only.some((o) => n.includes(o));

if (args[0] === '--cold-one') {
  cold(args[1]!, Number(args[2]));
} else if (args.includes('--cold')) {
  const self = fileURLToPath(import.meta.url);
  const reps = Number(opt('--reps') ?? 5);
  for (const c of cases(SMALL)) {
    if (!pick(c.name)) continue;
    const first: number[] = [];
    const thousand: number[] = [];
    for (let r = 0; r < reps; r++) {
      const [a, b] = execFileSync(process.execPath, [self, '--cold-one', c.name, String(SMALL)], { encoding: 'utf8' })
        .trim()
        .split(' ')
        .map(Number);
      first.push(a!);
      thousand.push(b!);
    }
    const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    console.log(`${c.name.padEnd(40)} first call ${String(med(first)).padStart(6)} µs   first 1000 calls ${String(med(thousand)).padStart(7)} µs  (median of ${reps})`);
  }
} else {
  const seconds = Number(opt('--time') ?? 1);
  for (const size of [BULK, SMALL]) {
    for (const c of cases(size)) {
      if (!pick(c.name)) continue;
      console.log(`${c.name.padEnd(40)} ${measure(c, seconds).toFixed(1).padStart(8)} MB/CPU-s`);
    }
  }
}
