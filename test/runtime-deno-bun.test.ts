/**
 * pure-ssh/web in Deno (Deno.connect's streams) and Bun (Bun.connect wrapped into streams),
 * each a real process from the npm packages `deno` and `bun`, against the real sshd: with the
 * default pure TypeScript crypto, and with node:crypto injected from pure-ssh/node-crypto (both
 * runtimes implement node:crypto; Bun has no chacha20 there, the provider falls back to ours).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop } from './harness/sshd.js';
import { bundle } from './runtimes/bundle.js';
import { checkResult, startRuntimeFixture, type RuntimeFixture } from './runtimes/fixture.js';
import { runIn } from './runtimes/runners.js';

describeInterop('pure-ssh/web in Deno and Bun against sshd', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    f = await startRuntimeFixture();
  });
  afterAll(() => f?.close());

  for (const [runtime, version] of [
    ['deno', /^Deno 2\./],
    ['bun', /^Bun 1\./],
  ] as const) {
    const name = runtime === 'deno' ? 'Deno' : 'Bun';
    it(`${name}: handshake, host key check, key login, hash-verified transfers, slow reader bounded`, async () => {
      const r = await runIn(runtime, f.params);
      await checkResult(f, r, version);
      expect([r.cryptoProvider, r.cipher, r.chachaPoly]).toEqual(['pure', 'chacha20-poly1305@openssh.com', 'WebAssembly SIMD']);
      // Deno.connect leaves Nagle on; the adapter turns it off through Deno.TcpConn.setNoDelay
      // (a channel opened after an upload waited ~40 ms for the delayed ACK). Bun's wrapper has none.
      expect(r.transportNoDelay).toBe(runtime === 'deno');
    }, 60_000);

    it(`${name} with node:crypto (pure-ssh/node-crypto): ${runtime === 'deno' ? 'chacha20-poly1305 (OpenSSL ChaCha20)' : 'AES-GCM'} by default, same checks`, async () => {
      const r = await runIn(runtime, { ...f.params, crypto: 'node' });
      await checkResult(f, r, version);
      // Deno's node:crypto AES-GCM is slower than its ChaCha20 (bench/runtimes/micro.md).
      expect([r.cryptoProvider, r.cipher]).toEqual(['node', runtime === 'deno' ? 'chacha20-poly1305@openssh.com' : 'aes128-gcm@openssh.com']);
      // -v names the chacha20-poly1305 implementation only when it is negotiated.
      expect(r.chachaPoly).toBe(runtime === 'deno' ? 'WebAssembly SIMD' : '');
    }, 60_000);
  }

  it('Deno and Bun: a URL or sub-protocol list their WebSocket refuses is a UsageError from connect() naming it, their SyntaxError as its cause', async () => {
    const run = promisify(execFile);
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-ws-url-'));
    try {
      const cases = [{ url: 'ftp://127.0.0.1/' }, { url: 'ws://127.0.0.1:1/#f' }, { url: 'not a url' }, { url: 'ws://127.0.0.1:1/', protocols: ['a b'] }];
      const entry = join(dir, 'entry.mjs');
      writeFileSync(entry, `${await bundle('ws-url-entry.ts')}\nconsole.log(JSON.stringify(await globalThis.webSocketRefusals(${JSON.stringify(cases)})));\n`);
      const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
      const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
      for (const [runtime, args] of [['deno', ['run', '--no-prompt', '--allow-net=127.0.0.1', entry]], ['bun', [entry]]] as const) {
        const result = JSON.parse((await run(bin(runtime), [...args], { env })).stdout) as Record<string, unknown>[];
        expect(result, runtime).toHaveLength(cases.length);
        result.forEach((r, i) => {
          const c = cases[i]!;
          const what = c.protocols ? `options.protocols ${JSON.stringify(c.protocols)}` : `url "${c.url}"`;
          expect(r, `${runtime} ${JSON.stringify(c)}`).toMatchObject({ name: 'UsageError', code: 'ERR_USAGE', cause: 'SyntaxError' });
          expect((r.message as string).startsWith(`webSocketStreams: invalid ${what}: `), `${runtime}: ${String(r.message)}`).toBe(true);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('the package subpaths pure-ssh/web, pure-ssh/node-crypto and pure-ssh/compress-zlib load unbundled in Deno and Bun (needs npm run build)', async () => {
    const run = promisify(execFile);
    const root = fileURLToPath(new URL('..', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-consumer-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(root, join(dir, 'node_modules', 'pure-ssh'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', dependencies: { 'pure-ssh': '*' } }));
      // AES-GCM seals in the runtime's node:crypto; ChaCha20 is the runtime's (Deno) or ours (Bun): same keystream.
      writeFileSync(
        join(dir, 'main.mjs'),
        `import { nodeCryptoProvider } from 'pure-ssh/node-crypto';
import { zlibCompression } from 'pure-ssh/compress-zlib';
import { connect } from 'pure-ssh/web';
const buf = new Uint8Array(4 + 32 + 16);
nodeCryptoProvider.aesGcm(new Uint8Array(16).fill(1)).seal(new Uint8Array(12), buf, 0, 4, 36);
const ks = new Uint8Array(4096);
nodeCryptoProvider.chacha20(new Uint8Array(32).fill(2)).xor(new Uint8Array(8), 1, ks, 0, ks.length);
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
console.log([typeof connect, typeof zlibCompression.deflater, hex(buf.subarray(36)), hex(ks.subarray(4080))].join(' '));
`,
      );
      const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
      const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
      const node = (await run(process.execPath, ['main.mjs'], { cwd: dir })).stdout;
      const bun = (await run(bin('bun'), ['main.mjs'], { cwd: dir })).stdout;
      const deno = (await run(bin('deno'), ['run', '--no-prompt', '--allow-read', '--allow-env', 'main.mjs'], { cwd: dir, env })).stdout;
      expect(node).toMatch(/^function function [0-9a-f]{32} [0-9a-f]{32}\n$/);
      expect(bun).toBe(node);
      expect(deno).toBe(node);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
