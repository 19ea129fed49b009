/**
 * Microbenchmark of the packet ciphers alone (no IO): seal then open of 32 KiB packets, in
 * whatever runtime runs it. Bundled by bench/runtimes/cipher-micro-run.ts for Node, Bun, Deno,
 * Chromium; prints one JSON line per cipher and provider: MB/s of payload sealed and opened, the
 * best pass of 64 packets (2 MiB) of each kind. workerd's clock only advances on I/O, so CPU-only
 * work cannot be timed inside it: there {@link cpuWork} does a fixed amount of work, timed from
 * outside by the process's CPU seconds (bench/runtimes/micro.ts).
 */
import { cipherAlgorithms } from '../../src/cipher/registry.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { pureCryptoProvider } from '../../src/crypto/pure.js';

export interface MicroResult {
  cipher: string;
  provider: string;
  sealMBps: number;
  openMBps: number;
}

const PACKET = 32768;

function packetsFor(name: string, crypto: CryptoProvider) {
  const alg = cipherAlgorithms.get(name)!;
  const key = new Uint8Array(alg.keyLength).fill(7);
  const iv = new Uint8Array(alg.ivLength).fill(9);
  const enc = alg.create(key, iv, undefined, crypto, true);
  const dec = alg.create(key, iv, undefined, crypto, false);
  const pkts: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) pkts.push(new Uint8Array(4 + PACKET + enc.macLength));
  return { enc, dec, pkts };
}

/**
 * A fixed amount of work, to be timed by CPU seconds from outside: `passes` passes of 64 packets
 * of 32 KiB sealed, each opened again when `open` (open alone = the difference of two runs).
 * Returns the payload bytes processed per direction.
 */
export function cpuWork(name: string, crypto: CryptoProvider, passes: number, open: boolean): number {
  const { enc, dec, pkts } = packetsFor(name, crypto);
  let seq = 0;
  for (let p = 0; p < passes; p++) {
    for (const b of pkts) {
      new DataView(b.buffer).setUint32(0, PACKET);
      enc.seal(seq, b, 0, PACKET);
      if (open) {
        dec.decryptLength(seq, b, 0);
        dec.open(seq, b, 0, PACKET);
      }
      seq++;
    }
  }
  return passes * pkts.length * PACKET;
}

function bench(name: string, crypto: CryptoProvider, ms: number): MicroResult {
  // The length field is written before each seal (in `pass`), as in cpuWork.
  const { enc, dec, pkts } = packetsFor(name, crypto);
  // Warm up, then time seal and open separately over the same packets.
  let seq = 0;
  const pass = (open: boolean, seq0: number) => {
    for (let i = 0; i < pkts.length; i++) {
      const b = pkts[i]!;
      if (open) {
        dec.decryptLength(seq0 + i, b, 0);
        dec.open(seq0 + i, b, 0, PACKET);
      } else {
        new DataView(b.buffer).setUint32(0, PACKET);
        enc.seal(seq0 + i, b, 0, PACKET);
      }
    }
  };
  for (let w = 0; w < 20; w++) {
    pass(false, seq);
    pass(true, seq);
    seq += pkts.length;
  }
  // On a shared machine other processes only ever slow a pass down: the fastest passes are the
  // runtime's own speed. Report the best pass of each kind.
  let sealBest = 0;
  let openBest = 0;
  const passBytes = pkts.length * PACKET;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    pass(false, seq);
    const t1 = performance.now();
    pass(true, seq);
    const t2 = performance.now();
    if (t1 > t0) sealBest = Math.max(sealBest, passBytes / 1e3 / (t1 - t0));
    if (t2 > t1) openBest = Math.max(openBest, passBytes / 1e3 / (t2 - t1));
    seq += pkts.length;
  }
  return { cipher: name, provider: crypto.name, sealMBps: sealBest, openMBps: openBest };
}

/** Run every case for about `ms` each. */
export function runMicro(providers: CryptoProvider[] = [pureCryptoProvider], ms = 1500): MicroResult[] {
  const out: MicroResult[] = [];
  for (const p of providers) {
    for (const c of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com']) out.push(bench(c, p, ms));
  }
  return out;
}
