/**
 * Issue 14: the CLI frees each node:crypto result's memory the moment it is done with it, by
 * detaching its ArrayBuffer (src/node/array-buffer-release.ts), instead of leaving it for V8's
 * next collection. Detaching memory someone else still reads would corrupt data, so: a detached
 * buffer is only ever one the packet decoder marked as a single packet's own memory
 * (src/transport/exclusive-payload.ts), never a slab, a pooled Buffer or the read buffer, and a
 * forwarded download through the real sshd stays hash-correct with a fast and a slow reader, in
 * process and through the CLI. Taking the function on Node 20 (a V8 flag set and cleared around
 * a fresh context) leaves V8's code cache good for the next process.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCore } from '../src/client-core.js';
import type { ClientEvent } from '../src/events.js';
import { connect, type SshClient } from '../src/index.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import * as release from '../src/node/array-buffer-release.js';
import { takeTransfer } from '../src/node/v8-gc.js';
import { EXCLUSIVE_MIN_BYTES, markingExclusivePayloads, takeExclusive } from '../src/transport/exclusive-payload.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { deterministicStream, freePort, startSinkServer, startSourceServer, type SinkServer, type SourceServer } from './harness/net.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';
import { FakeServer, seededRandom } from './support/fake-server.js';
import { fixtureKey } from './support/pair.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const transfer = takeTransfer();

function withRelease<T>(fn: () => T): T {
  expect(release.enableArrayBufferRelease(transfer)).toBe(true);
  try {
    return fn();
  } finally {
    release.disableArrayBufferRelease();
  }
}

/**
 * A session against the fake server through one reused read buffer of `readSize` bytes. Every
 * chunk of channel data is handled as the forwarder does: its bytes copied out ("written"), then
 * released; chunks are also kept (as views) to check afterwards which buffers were detached.
 */
function session(cipher: string, readSize: number, writes: number[]) {
  const key = fixtureKey();
  const client = new ClientCore({
    username: 'alice',
    random: seededRandom(3),
    privateKeys: [key],
    algorithms: { cipher: [cipher] },
    crypto: nodeCryptoProvider,
  });
  const server = new FakeServer({ random: seededRandom(4), authorizedKeys: [key.publicKeyBlob] });
  const ring = new Uint8Array(readSize);
  const copies: Uint8Array[] = [];
  const chunks: { view: Uint8Array; buffer: ArrayBufferLike; length: number; marked: boolean }[] = [];
  const drain = () => {
    for (let e: ClientEvent | undefined; (e = client.nextEvent()); ) {
      if (e.type === 'host-key') client.acceptHostKey();
      if (e.type === 'channel-data') {
        const d = e.data;
        copies.push(d.slice());
        const buffer = d.buffer;
        const before = release.releasedBuffers;
        release.releaseWritten(d);
        chunks.push({ view: d, buffer, length: copies[copies.length - 1]!.length, marked: release.releasedBuffers > before });
        client.channelConsumed(e.channel, copies[copies.length - 1]!.length);
      }
    }
  };
  const pump = () => {
    for (let round = 0; round < 100_000; round++) {
      drain();
      let moved = false;
      for (const b of client.takeOutput() ?? []) (server.receive(b.slice()), (moved = true));
      for (const b of server.takeOutput()) {
        moved = true;
        for (let i = 0; i < b.length; i += ring.length) {
          const n = Math.min(ring.length, b.length - i);
          ring.set(b.subarray(i, i + n));
          client.receive(ring.subarray(0, n));
          ring.fill(0xa5);
          drain();
        }
      }
      if (!moved) return;
    }
  };
  client.start();
  server.start();
  pump();
  const channel = client.openDirectTcpip({ host: 'localhost', port: 5432, originatorAddress: '127.0.0.1', originatorPort: 1 });
  pump();
  const rnd = seededRandom(9);
  const sent: Uint8Array[] = [];
  for (const n of writes) {
    const data = rnd(n);
    sent.push(data);
    server.write(server.channelForClient(channel)!.id, data);
    pump();
  }
  const join = (parts: Uint8Array[]) => {
    const all = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const p of parts) (all.set(p, o), (o += p.length));
    return all;
  };
  return { sent: sha(join(sent)), got: sha(join(copies)), chunks };
}

describe('which buffers are detached (issue 14)', () => {
  it('takes ArrayBuffer.prototype.transfer without leaving it on the main context (Node 20) or uses the standard one', () => {
    expect(typeof transfer).toBe('function');
    const ab = new ArrayBuffer(64);
    transfer!.call(ab, 0);
    expect(ab.byteLength).toBe(0);
    if (process.versions.v8.startsWith('11.3.')) {
      expect((ArrayBuffer.prototype as { transfer?: unknown }).transfer).toBeUndefined();
    }
  });

  // Large packets come from OpenSSL (one new buffer each), small ones from slabs shared by many
  // packets (crypto/slab.ts); aes128-ctr decrypts in place, in the decoder's own copy of a packet.
  // Reads of 1500 bytes split every large packet across reads; reads of 200 KiB hold several.
  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr']) {
    for (const readSize of [1500, 200 * 1024]) {
      it(`${cipher}, reads of ${readSize} bytes: only a packet's own buffer is detached, and the data stays intact`, () => {
        const writes = [300_000, ...Array.from({ length: 40 }, (_, i) => 20 + i * 7), 70_000, 5, 3000, 9000, 40_000];
        const r = withRelease(() => session(cipher, readSize, writes));
        expect(r.got).toBe(r.sent);
        const marked = r.chunks.filter((c) => c.marked);
        // Every large packet's buffer was freed (OpenSSL's result, or aes128-ctr's own copy).
        expect(marked.length).toBeGreaterThanOrEqual(5);
        for (const c of r.chunks) if (c.length >= 4096) expect(c.marked).toBe(true);
        // Small payloads are never marked or taken (not even aes128-ctr's own copies): no
        // bookkeeping on the per-message path of a request/response protocol.
        expect(r.chunks.some((c) => c.length < EXCLUSIVE_MIN_BYTES)).toBe(true);
        for (const c of r.chunks) if (c.length < EXCLUSIVE_MIN_BYTES) expect(c.marked).toBe(false);
        for (const c of marked) {
          expect(c.buffer.byteLength).toBe(0); // detached
          expect(c.view.length).toBe(0);
        }
        // A buffer that served two chunks (a slab) is never detached; what was not detached is intact.
        const byBuffer = new Map<ArrayBufferLike, number>();
        for (const c of r.chunks) byBuffer.set(c.buffer, (byBuffer.get(c.buffer) ?? 0) + 1);
        for (const c of r.chunks) {
          if (byBuffer.get(c.buffer)! > 1) expect(c.marked).toBe(false);
          if (!c.marked) expect(c.view.length).toBe(c.length);
        }
        // The slabs were there to be mistaken (small packets decrypted by node:crypto's provider in TypeScript).
        if (cipher !== 'aes128-ctr') expect(r.chunks.some((c) => !c.marked && byBuffer.get(c.buffer)! > 1)).toBe(true);
      });
    }
  }

  it('with release off, nothing is marked or detached', () => {
    expect(markingExclusivePayloads()).toBe(false);
    const before = release.releasedBuffers;
    const r = session('aes128-gcm@openssh.com', 1500, [300_000]);
    expect(r.got).toBe(r.sent);
    expect(release.releasedBuffers).toBe(before);
    expect(r.chunks.every((c) => c.view.length === c.length)).toBe(true);
  });

  it('pooled Buffers, views of part of a buffer and unmarked buffers are never detached', () =>
    withRelease(() => {
      const pooled = Buffer.from('from the 8 KiB pool');
      release.releaseScratch(pooled);
      release.releaseWritten(pooled);
      expect(pooled.toString()).toBe('from the 8 KiB pool');
      const whole = new Uint8Array(4096).fill(7);
      const part = whole.subarray(0, 100);
      release.releaseScratch(part);
      expect(whole.length).toBe(4096);
      // A whole buffer nobody marked: releaseWritten leaves it, releaseScratch (the provider's own result) frees it.
      release.releaseWritten(whole);
      expect(whole.length).toBe(4096);
      expect(takeExclusive(whole)).toBeUndefined();
      release.releaseScratch(whole);
      expect(whole.length).toBe(0);
      // A WebAssembly memory cannot be detached: left alone, no exception.
      // (`WebAssembly` is not in this project's type libraries: the global, typed here.)
      const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
      const mem = new wasm.Memory({ initial: 1 });
      release.releaseScratch(new Uint8Array(mem.buffer));
      expect(mem.buffer.byteLength).toBe(65536);
    }));

  it('frees a node:crypto result at once: 64 MiB of 32 KiB results kept referenced leave ArrayBuffer memory where it was', () =>
    withRelease(() => {
      const c = createCipheriv('aes-128-ctr', new Uint8Array(16), new Uint8Array(16));
      const input = new Uint8Array(32 * 1024);
      const kept: Uint8Array[] = [];
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 2048; i++) {
        const out = c.update(input);
        kept.push(out);
        release.releaseScratch(out);
      }
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * MiB);
      expect(kept.every((k) => k.length === 0)).toBe(true);
    }));

  it('taking it leaves a code cache made afterwards good for a fresh node (the flags are back as they were)', () => {
    const source = 'function triple(x) { return x * 3 } triple(14)';
    takeTransfer();
    const s = new Script(source);
    s.runInThisContext();
    const cache = s.createCachedData();
    const code = `const { Script } = require('node:vm'); const s = new Script(${JSON.stringify(source)}, { cachedData: Buffer.from(process.argv[1], 'base64') }); process.stdout.write(String(!s.cachedDataRejected));`;
    expect(execFileSync(process.execPath, ['-e', code, cache.toString('base64')], { encoding: 'utf8' })).toBe('true');
  });
});

type Digest = { sha256: string; bytes: number };

/**
 * The reader of {@link download} and {@link socksDownload}: `take` hashes what it is given from
 * `s`, pausing `s` 2 ms every 256 KiB when `slow`; the digest is resolved at `s`'s end.
 */
function hashingReader(s: net.Socket, slow: boolean, resolve: (d: Digest) => void, reject: (e: Error) => void): (d: Buffer) => void {
  const h = createHash('sha256');
  let bytes = 0;
  let sinceBreak = 0;
  s.on('end', () => resolve({ sha256: h.digest('hex'), bytes }));
  s.on('error', reject);
  return (d: Buffer) => {
    h.update(d);
    bytes += d.length;
    sinceBreak += d.length;
    if (slow && sinceBreak >= 256 * 1024) {
      sinceBreak = 0;
      s.pause();
      setTimeout(() => s.resume(), 2);
    }
  };
}

/** Reads `port` to the end, pausing 2 ms every 256 KiB when `slow`; sha256 and length. */
function download(port: number, slow: boolean): Promise<Digest> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('data', hashingReader(s, slow, resolve, reject));
  });
}

/** {@link download} through a SOCKS5 proxy at `proxy`, CONNECT to 127.0.0.1:`target`. */
function socksDownload(proxy: number, target: number, slow: boolean): Promise<Digest> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let stage = 0;
    const s = net.connect({ host: '127.0.0.1', port: proxy }, () => s.write(Buffer.from([5, 1, 0])));
    const take = hashingReader(s, slow, resolve, reject);
    s.on('data', (d: Buffer) => {
      if (stage === 2) return take(d);
      head = Buffer.concat([head, d]);
      if (stage === 0 && head.length >= 2) {
        if (head[0] !== 5 || head[1] !== 0) return reject(new Error('SOCKS method refused'));
        head = head.subarray(2);
        stage = 1;
        s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 0xff]));
      }
      // The reply to CONNECT: VER REP RSV ATYP=1 BND.ADDR(4) BND.PORT(2).
      if (stage === 1 && head.length >= 10) {
        if (head[1] !== 0) return reject(new Error(`SOCKS CONNECT failed: ${head[1]}`));
        stage = 2;
        if (head.length > 10) take(head.subarray(10));
      }
    });
  });
}

describeInteropWithHome('a -L download with plaintexts freed once written (issue 14)', () => {
  const sshd = sshdSuite();
  let source: SourceServer;
  let sink: SinkServer;
  beforeAll(async () => {
    source = await startSourceServer(24 * MiB, 41);
    sink = await startSinkServer();
  });
  afterAll(async () => {
    await source?.close();
    await sink?.close();
  });

  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
    it(`in process, ${cipher}: fast and slow readers get every byte; the plaintexts were detached`, async () => {
      expect(release.enableArrayBufferRelease(transfer)).toBe(true);
      let ssh: SshClient | undefined;
      try {
        ssh = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath, algorithms: { cipher: [cipher] } });
        const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: '127.0.0.1', port: source.port } });
        const port = (fwd.address as { port: number }).port;
        for (const slow of [false, true]) {
          const before = release.releasedBuffers;
          const got = await download(port, slow);
          expect(got.bytes).toBe(source.bytes);
          expect(got.sha256).toBe(source.sha256);
          // 24 MiB in packets of up to 32 KiB: most of them freed once written.
          expect(release.releasedBuffers - before).toBeGreaterThan(300);
        }
        await fwd.close();
      } finally {
        release.disableArrayBufferRelease();
        await ssh?.close();
      }
    }, 60_000);
  }

  it('through the CLI (-L, -D, -R; node:crypto, the release on after the first MiB): fast and slow readers get every byte', async () => {
    const port = await freePort();
    const socksPort = await freePort();
    const remotePort = await freePort();
    const child = spawn(
      process.execPath,
      [CLI, '-F', 'none', '-N', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
        '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${port}:127.0.0.1:${source.port}`, '-D', `127.0.0.1:${socksPort}`,
        '-R', `127.0.0.1:${remotePort}:127.0.0.1:${sink.port}`, `${sshd.user}@${sshd.host}`],
      { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) },
    );
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d));
    try {
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        up = await new Promise<boolean>((r) => {
          const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), r(true)));
          s.on('error', () => r(false));
        });
        if (!up) await sleep(50);
      }
      expect(up).toBe(true);
      for (const slow of [false, true, false]) {
        const got = await download(port, slow);
        expect(got.bytes).toBe(source.bytes);
        expect(got.sha256).toBe(source.sha256);
      }
      // -D: the same download through a SOCKS5 CONNECT (RFC 1928 §4) to the source.
      for (const slow of [false, true]) {
        const got = await socksDownload(socksPort, source.port, slow);
        expect(got.bytes).toBe(source.bytes);
        expect(got.sha256).toBe(source.sha256);
      }
      // -R: what a client sends to sshd's listener reaches the local sink through the CLI.
      let s: net.Socket | undefined;
      for (let i = 0; i < 100 && s === undefined; i++) {
        const c = net.connect({ host: '127.0.0.1', port: remotePort });
        if (await new Promise<boolean>((r) => (c.once('connect', () => r(true)), c.once('error', () => r(false))))) s = c;
        else await sleep(50);
      }
      if (s === undefined) throw new Error(`sshd's -R listener ${remotePort} never came up`);
      deterministicStream(source.bytes, 41).pipe(s);
      const got = await sink.next();
      s.destroy();
      expect(got.bytes).toBe(source.bytes);
      expect(got.sha256).toBe(source.sha256);
      expect(err).toBe('');
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
