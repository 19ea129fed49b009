/**
 * Cost of one small AES-GCM packet (SSH layout: 4 bytes of AAD, then the text) sealed and opened
 * by the block-function GCM of src/crypto/ghash.ts against a new node:crypto GCM context per
 * packet (the path the runtime provider takes above its small-packet limit). CPU time
 * (process.cpuUsage, user + sys) per packet, the variants interleaved round by round so a loaded
 * machine slows them alike; min / median / max over the rounds, in µs.
 *
 *   node dist-bench/bench/tools/gcm-small.js warm [--impl NAME=PATH ...] [--sizes 16,64,...] [--rounds N]
 *   node dist-bench/bench/tools/gcm-small.js cold [--impl NAME=PATH ...] [--sizes ...] [--runs N]
 *
 * `--impl` loads another compiled ghash module (exporting BlockGcm) to compare two versions in
 * the same process; without it the tree's own module is measured. `cold` starts a fresh Node per
 * sample and reports the first packets of a new key while V8 still interprets the code: the first
 * (key set-up included), then the mean of packets 2-10, 11-100 and 101-1000, in wall-clock µs.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface BlockGcmLike {
  seal(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): void;
  open(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): boolean;
}
type MakeGcm = (key: Uint8Array) => BlockGcmLike;

const AAD = 4;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function impls(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < process.argv.length; i++) {
    if (process.argv[i] !== '--impl') continue;
    const [name, path] = process.argv[i + 1]!.split('=') as [string, string];
    out.push([name, pathToFileURL(path).href]);
  }
  if (out.length === 0) out.push(['tree', new URL('../../src/crypto/ghash.js', import.meta.url).href]);
  return out;
}

async function loadBlockGcm(url: string): Promise<MakeGcm> {
  const mod = (await import(url)) as { BlockGcm: new (aes: (b: Uint8Array) => Uint8Array) => BlockGcmLike };
  return (key) => {
    const ecb = createCipheriv('aes-128-ecb', key, null);
    ecb.setAutoPadding(false);
    return new mod.BlockGcm((blocks) => ecb.update(blocks));
  };
}

/** node:crypto, a new context per packet, as NodeGcm does above its limit. */
const opensslGcm: MakeGcm = (key) => ({
  seal(iv, buf, aadStart, start, end) {
    const c = createCipheriv('aes-128-gcm', key, iv, { authTagLength: 16 });
    c.setAAD(buf.subarray(aadStart, start));
    buf.set(c.update(buf.subarray(start, end)), start);
    c.final();
    buf.set(c.getAuthTag(), end);
  },
  open(iv, buf, aadStart, start, end) {
    const d = createDecipheriv('aes-128-gcm', key, iv, { authTagLength: 16 });
    d.setAAD(buf.subarray(aadStart, start));
    d.setAuthTag(buf.subarray(end, end + 16));
    const out = d.update(buf.subarray(start, end));
    try {
      d.final();
    } catch {
      return false;
    }
    buf.set(out, start);
    return true;
  },
});

/** RFC 5647 §7.1: the IV's last 8 bytes count packets. */
function nextIv(iv: Uint8Array): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = (iv[i]! + 1) & 0xff;
    if (iv[i] !== 0) break;
  }
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** µs of CPU per seal and per open over `n` packets of `size` text bytes. */
function measure(g: BlockGcmLike, size: number, n: number, packets: Uint8Array[], ivs: Uint8Array[]): { seal: number; open: number } {
  const t0 = cpuMicros();
  for (let p = 0; p < n; p++) g.seal(ivs[p]!, packets[p]!, 0, AAD, AAD + size);
  const t1 = cpuMicros();
  for (let p = 0; p < n; p++) if (!g.open(ivs[p]!, packets[p]!, 0, AAD, AAD + size)) throw new Error('open failed');
  const t2 = cpuMicros();
  return { seal: (t1 - t0) / n, open: (t2 - t1) / n };
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(2);
  return `${f(s[0]!)} / ${f(s[s.length >> 1]!)} / ${f(s[s.length - 1]!)}`;
}

async function warm(): Promise<void> {
  const sizes = (arg('--sizes') ?? '16,64,80,128,192,256').split(',').map(Number);
  const rounds = Number(arg('--rounds') ?? 15);
  const n = 2000;
  const variants: Array<[string, MakeGcm]> = [];
  for (const [name, url] of impls()) variants.push([name, await loadBlockGcm(url)]);
  variants.push(['openssl-per-packet', opensslGcm]);
  const key = new Uint8Array(randomBytes(16));
  const gcms = variants.map(([name, make]) => [name, make(key)] as const);
  console.log(`warm: µs CPU per packet (min / median / max of ${rounds} rounds of ${n} packets), 4-byte AAD`);
  for (const size of sizes) {
    const iv0 = new Uint8Array(randomBytes(12));
    const ivs: Uint8Array[] = [];
    for (let p = 0, iv = iv0.slice(); p < n; p++, nextIv(iv)) ivs.push(iv.slice());
    const packets = Array.from({ length: n }, () => new Uint8Array(randomBytes(AAD + size + 16)));
    const seal = new Map<string, number[]>();
    const open = new Map<string, number[]>();
    // One untimed round first: every variant optimized before the timed ones.
    for (const [, g] of gcms) measure(g, size, n, packets, ivs);
    for (let r = 0; r < rounds; r++) {
      for (const [name, g] of r % 2 === 0 ? gcms : [...gcms].reverse()) {
        const m = measure(g, size, n, packets, ivs);
        (seal.get(name) ?? seal.set(name, []).get(name)!).push(m.seal);
        (open.get(name) ?? open.set(name, []).get(name)!).push(m.open);
      }
    }
    for (const [name] of gcms) console.log(`${String(size).padStart(4)} B  ${name.padEnd(20)} seal ${stats(seal.get(name)!)}   open ${stats(open.get(name)!)}`);
  }
}

/** Packet ranges a cold process is timed over: [first, last] (1-based), one figure each. */
const COLD_RANGES: ReadonlyArray<readonly [number, number]> = [
  [1, 1],
  [2, 10],
  [11, 100],
  [101, 1000],
];

/**
 * One fresh process: OpenSSL's ciphers loaded first (a GCM and an ECB context on another key:
 * a one-off ~1 ms every path pays alike), then a new key and its first 1,000 packets sealed in
 * order, µs per packet over each of COLD_RANGES (the first includes the key set-up): CPU time of
 * the process (V8's compiler threads included: optimizing the code is part of the cold cost) and
 * wall-clock time (on a loaded machine, waits for a core included).
 */
async function coldChild(): Promise<void> {
  const [, , , which, url, sizeText] = process.argv as [string, string, string, string, string, string];
  const size = Number(sizeText);
  const make = which === 'openssl' ? opensslGcm : await loadBlockGcm(url);
  for (const mode of ['aes-128-gcm', 'aes-128-ecb'] as const) createCipheriv(mode, randomBytes(16), mode === 'aes-128-gcm' ? randomBytes(12) : null).final();
  const key = new Uint8Array(randomBytes(16));
  const iv = new Uint8Array(randomBytes(12));
  const last = COLD_RANGES[COLD_RANGES.length - 1]![1];
  const bufs = Array.from({ length: last }, () => new Uint8Array(randomBytes(AAD + size + 16)));
  const wall: number[] = [performance.now()];
  const cpu: number[] = [cpuMicros()];
  const g = make(key);
  for (let p = 0; p < last; p++, nextIv(iv)) {
    g.seal(iv, bufs[p]!, 0, AAD, AAD + size);
    cpu.push(cpuMicros());
    wall.push(performance.now());
  }
  const per = (at: number[], scale: number) => COLD_RANGES.map(([from, to]) => ((at[to]! - at[from - 1]!) * scale) / (to - from + 1));
  process.stdout.write(JSON.stringify([...per(cpu, 1), ...per(wall, 1000)]));
}

function cold(): void {
  const sizes = (arg('--sizes') ?? '16,80,256').split(',').map(Number);
  const runs = Number(arg('--runs') ?? 15);
  const self = fileURLToPath(import.meta.url);
  const variants: Array<[string, string, string]> = impls().map(([name, url]) => [name, 'block', url]);
  variants.push(['openssl-per-packet', 'openssl', '']);
  console.log(`cold: a new key in a fresh process (OpenSSL already loaded), µs per seal, CPU then wall clock (min / median / max of ${runs} processes)`);
  for (const size of sizes) {
    const figures = new Map<string, number[][]>();
    for (let r = 0; r < runs; r++) {
      for (const [name, which, url] of r % 2 === 0 ? variants : [...variants].reverse()) {
        const out = JSON.parse(execFileSync(process.execPath, [self, 'cold-child', which, url, String(size)], { encoding: 'utf8' })) as number[];
        const rows = figures.get(name) ?? figures.set(name, out.map(() => [])).get(name)!;
        out.forEach((v, i) => rows[i]!.push(v));
      }
    }
    for (const [name] of variants) {
      const rows = figures.get(name)!;
      for (const [kind, offset] of [['cpu', 0], ['wall', COLD_RANGES.length]] as const) {
        const cells = COLD_RANGES.map(([from, to], i) => `${from === to ? `#${from}` : `#${from}-${to}`} ${stats(rows[offset + i]!)}`);
        console.log(`${String(size).padStart(4)} B  ${name.padEnd(20)} ${kind.padEnd(4)} ${cells.join('   ')}`);
      }
    }
  }
}

const mode = process.argv[2];
if (mode === 'warm') await warm();
else if (mode === 'cold') cold();
else if (mode === 'cold-child') await coldChild();
else throw new Error('usage: gcm-small.js warm|cold [--impl NAME=PATH] [--sizes 16,80,256]');
