/**
 * The runtime test scenario, run unchanged in Node, Bun, Deno, Chromium and workerd (bundled by
 * esbuild for the others): handshake against the real sshd, host key check, key login, 8 MiB
 * down and 4 MiB up hash-verified through direct-tcpip channels, and a slow reader that stays
 * bounded by the SSH window. Web APIs only.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { connect, type ByteStreamPair, type CryptoProvider, type WebChannel } from '../../src/web/index.js';

export interface ScenarioParams {
  /** Host name and port as known_hosts knows them (`[127.0.0.1]:PORT`). */
  host: string;
  port: number;
  username: string;
  clientKey: string;
  knownHosts: string;
  /** A known_hosts text naming another key for the host: must be refused. */
  wrongKnownHosts: string;
  /** Sends `sourceBytes` bytes then closes. */
  sourcePort: number;
  sourceBytes: number;
  /** Hashes what it receives. */
  sinkPort: number;
  sinkBytes: number;
  /** Sends forever (or a lot): for the slow reader. */
  bigSourcePort: number;
  /**
   * Transfer rounds on the one connection (default 1): the first is hash-verified, later ones
   * only counted; timings are the last (warm) round's.
   */
  rounds?: number;
  /**
   * The crypto provider: `pure` (the default of pure-ssh/web) or `node` (node:crypto through
   * pure-ssh/node-crypto, for the runtimes that have it; the entry passes it in).
   */
  crypto?: 'pure' | 'node';
  /** An experiment's switch (bench/runtimes/ab.ts), set as globalThis.__pureSshVariant; nothing reads it by default. */
  variant?: string;
}

export interface ScenarioResult {
  runtime: string;
  hostKeyRefusal: string;
  kex: string;
  cipher: string;
  cryptoProvider: string;
  downBytes: number;
  downSha256: string;
  downMs: number;
  upBytes: number;
  upSha256: string;
  upMs: number;
  slowReaderBuffered: number;
  /** The adapter turned Nagle's algorithm off on the transport (its `-v` line "TCP_NODELAY set"). */
  transportNoDelay: boolean;
  /**
   * What became of the kex key pair made while the server's KEXINIT was on its way
   * (ClientCore.prepareKex): its `kex:` debug line ("using the ..." / "discarded the prepared ..."), or ''.
   */
  kexPrepared: string;
  /** What computed chacha20-poly1305@openssh.com, from the `chacha20-poly1305@openssh.com: X` debug line: X, or ''. */
  chachaPoly: string;
  /** CPU seconds (user + system) of the runtime's process for the whole run, where the runner can measure it. */
  cpuSeconds?: number;
  /** CPU seconds of the WebSocket bridge (websockify) during the run. */
  bridgeCpuSeconds?: number;
}

/** A new byte stream to sshd, however the runtime makes one. */
export type Dial = () => ByteStreamPair | Promise<ByteStreamPair>;

export async function runScenario(dial: Dial, p: ScenarioParams, runtime: string, nodeCrypto?: CryptoProvider): Promise<ScenarioResult> {
  if (p.crypto === 'node' && !nodeCrypto) throw new Error(`${runtime}: no node:crypto provider in this runtime`);
  const crypto = p.crypto === 'node' ? nodeCrypto : undefined;
  (globalThis as { __pureSshVariant?: string }).__pureSshVariant = p.variant;
  const base = { host: p.host, port: p.port, username: p.username, privateKey: p.clientKey, crypto };
  let hostKeyRefusal = 'accepted';
  try {
    const bad = await connect({ ...base, transport: dial(), knownHosts: p.wrongKnownHosts });
    await bad.close();
  } catch (err) {
    hostKeyRefusal = (err as { code?: string }).code ?? String(err);
  }
  let transportNoDelay = false;
  let kexPrepared = '';
  let chachaPoly = '';
  const debug = (m: string) => {
    const impl = /^chacha20-poly1305@openssh\.com: (.*)$/.exec(m);
    if (impl) chachaPoly = impl[1]!;
    if (m === 'TCP_NODELAY set on the transport') transportNoDelay = true;
    if (/^kex: (using the .* key pair made while waiting|discarded the prepared)/.test(m)) kexPrepared = m;
  };
  const ssh = await connect({ ...base, transport: dial(), knownHosts: p.knownHosts, keepaliveInterval: 30_000, debug });
  try {
    let downBytes = 0;
    let downSha256 = '';
    let downMs = 0;
    let upSha256 = '';
    let upMs = 0;
    for (let round = 0; round < (p.rounds ?? 1); round++) {
      const verify = round === 0;
      const t0 = Date.now();
      const down = await ssh.openDirectTcpip({ host: '127.0.0.1', port: p.sourcePort });
      const h = sha256.create();
      downBytes = 0;
      for await (const chunk of iterate(down)) {
        if (verify) h.update(chunk);
        downBytes += chunk.length;
      }
      downMs = Date.now() - t0;
      if (verify) downSha256 = bytesToHex(h.digest());

      const t1 = Date.now();
      const up = await ssh.openDirectTcpip({ host: '127.0.0.1', port: p.sinkPort });
      const hu = sha256.create();
      const writer = up.writable.getWriter();
      for (const chunk of xorshiftChunks(p.sinkBytes, 7)) {
        if (verify) hu.update(chunk);
        await writer.write(chunk);
      }
      await writer.close();
      // The sink ends its side once it has everything.
      for await (const _ of iterate(up)) void _;
      upMs = Date.now() - t1;
      if (verify) upSha256 = bytesToHex(hu.digest());
    }

    const slow = await ssh.openDirectTcpip({ host: '127.0.0.1', port: p.bigSourcePort });
    const reader = slow.readable.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 700));
    const slowReaderBuffered = slow.bytesReceived;
    await reader.cancel();
    await slow.closed;

    const info = ssh.info;
    return {
      runtime,
      hostKeyRefusal,
      kex: info.negotiated?.kex ?? '',
      cipher: info.negotiated?.cipherServerToClient ?? '',
      cryptoProvider: info.cryptoProvider,
      downBytes,
      downSha256,
      downMs,
      upBytes: p.sinkBytes,
      upSha256,
      upMs,
      slowReaderBuffered,
      transportNoDelay,
      kexPrepared,
      chachaPoly,
    };
  } finally {
    await ssh.close();
  }
}

async function* iterate(ch: WebChannel): AsyncGenerator<Uint8Array> {
  const r = ch.readable.getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) return;
    yield value;
  }
}

/** `n` pseudo-random bytes in 64 KiB chunks (xorshift32; not cryptographic, just fast). */
export function* xorshiftChunks(n: number, seed: number): Generator<Uint8Array> {
  let x = seed >>> 0 || 1;
  for (let left = n; left > 0; ) {
    const size = Math.min(65536, left);
    const words = new Uint32Array(Math.ceil(size / 4));
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    left -= size;
    yield new Uint8Array(words.buffer, 0, size);
  }
}
