#!/usr/bin/env node
/**
 * The `pure-ssh` bin (package.json "bin"): runs the whole CLI from one bundled file,
 * dist/node/cli-bundle.cjs (scripts/bundle-cli.mjs; the modules it loads on first use are in a
 * second one, dist/node/cli-lazy.cjs), with V8's compiled code cached between runs.
 * The same command as dist/node/cli.js, started faster:
 *
 * - One file instead of ~150 ES modules: no per-module resolve, read, compile and link.
 * - CommonJS itself (this file is cli-bin.cts, built to cli-bin.cjs): an ES module entry point
 *   makes Node set up its ES module loader first, about 6 ms of CPU before our first line.
 * - Compiled code reused: on Node >= 22.1 through Node's own compile cache
 *   (`module.enableCompileCache`); on older Node through V8's code cache (`vm.Script` with
 *   `cachedData`), written once a run has compiled what a connection needs, and reused while the
 *   bundle and Node are the same.
 *
 * The cache lives in `$XDG_CACHE_HOME/pure-ssh` (default `~/.cache/pure-ssh`), a directory of
 * mode 0700; a file is used only if this user owns it and no one else can write it, and only if
 * its checksums match (the bundle's sha256 and the payload's): a missing, stale, corrupt or
 * unwritable cache just means compiling as usual. One file per Node version and bundle (its name
 * carries a prefix of the bundle's sha256), so two installed versions do not overwrite each
 * other's; the oldest beyond {@link KEEP} are removed when one is written.
 * `PURE_SSH_CODE_CACHE=off` turns it off. Figures: bench/README.md "Start-up".
 *
 * The same file, copied by scripts/bundle-cli.mjs, is the bin of `pure-ssh-check`
 * (check-bin.cjs) and `pure-ssh-bench` (bench-bin.cjs): `NAME-bin.cjs` runs `NAME-bundle.cjs`
 * ({@link NAME}), with the same lazy file and cache directory.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  constants as fsConstants,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import nodeModule = require('node:module');
import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * Which command this file runs, from its own name (`cli-bin.cjs` -> `cli`, the copies
 * `check-bin.cjs` and `bench-bin.cjs` -> `check`, `bench`): names its bundle and cache files.
 * `__filename` is the file itself, not an npm `.bin/` link to it (Node resolves the main module's
 * links).
 */
const NAME = basename(__filename).replace(/-bin\.c[jt]s$/, '');
const BUNDLE = join(__dirname, `${NAME}-bundle.cjs`);
const bundleRequire = nodeModule.createRequire(BUNDLE);
/**
 * The bundle's second file (scripts/bundle-cli.mjs LAZY_MODULES): the modules it loads on first
 * use, required by the bundle as `./cli-lazy.cjs`, compiled here with a code cache of its own.
 */
const LAZY = join(__dirname, 'cli-lazy.cjs');
const LAZY_REQUEST = './cli-lazy.cjs';

/**
 * Our cache file: magic, sha256 of the bundle source, sha256 of the payload, V8's payload. The
 * magic is padded to 24 bytes so that the payload starts 8-aligned in the buffer read: V8 copies
 * a misaligned payload before deserializing it (AlignedCachedData), a 0.8 MB malloc'd copy
 * (see "Memory" below).
 */
const MAGIC = Buffer.from('pure-ssh v8 cache 3\n\0\0\0\0');
const HEADER = MAGIC.length + 32 + 32;

/*
 * Memory (issue 14): no malloc'd block of 128 KiB or more may be freed here. glibc serves such a
 * block with its own mmap, and freeing one raises its mmap threshold to that size and its trim
 * threshold to twice that (mallopt(3), M_MMAP_THRESHOLD "dynamic"): from then on every block up
 * to that size comes from the heaps, given back to the kernel only when twice that much is free
 * at their top. The 1.1 MB bundle read into a Buffer, the external string Node made of it (V8
 * compiled a wrapped copy) and the 0.8 MB code cache, freed after start-up, set them to 1.1 and 2.2 MB for the rest of the run: V8's
 * compiler threads then kept ~6 MiB of their arenas resident through a transfer, and the main
 * heap more. So the files are read into WebAssembly memory ({@link pageBuffer}), the bundle's
 * text is compiled as read (scripts/bundle-cli.mjs makes the file evaluate to its function), and
 * that string, the one malloc'd copy, lives as long as the process.
 */

/**
 * A cache smaller than this share of the bundle's source was written by a run that compiled
 * little beyond the top level (`-V`, `-G`, the foreground half of `-f`); one that connected
 * compiles most of the CLI (its cache: ~0.8 of the source). Until such a run replaces it, each
 * run checks whether its own cache would be larger.
 */
const PARTIAL_SHARE = 0.5;

/**
 * When a run without a (complete) cache writes its own: this long after start, by then past
 * authentication and the first forwarded connection on any ordinary network, and long before a
 * session that runs for hours (`-f`, `-N`) might be killed without an exit handler. A run that
 * ends sooner writes it at exit. Creating the cache takes about 10 ms of CPU.
 */
const WRITE_AFTER_MS = 3000;
/**
 * Where src/node/v8-tuning.ts (inside the bundle) leaves a function that runs its argument under
 * V8's default flags, once the CLI has changed one (the same Symbol.for key on both sides).
 */
const V8_DEFAULTS_HOOK = Symbol.for('pure-ssh.v8-defaults');

/** Cache files kept per Node version: this one and the most recently written others. */
const KEEP = 3;

/**
 * The text of `path` (the bundle or its lazy file), the sha256 of its bytes, and the buffer they
 * were read into (free once this returns: {@link readCache} reads the code cache into it). Both
 * files are ASCII (scripts/bundle-cli.mjs makes sure), so latin1 is the exact text and the
 * cheapest decoding: a one-byte string, no UTF-8 validation; Node makes one this size an external
 * string (a malloc'd copy, outside V8's heap), which V8 compiles in place.
 */
function readSource(path: string): { source: string; hash: Buffer; spare: Buffer } {
  const bytes = readWhole(path);
  if (bytes === undefined) throw new Error(`${path}: changed while being read`);
  return { source: bytes.toString('latin1'), hash: sha256(bytes), spare: bytes };
}

/**
 * The whole of file or descriptor `f`, read into the start of `spare` when it is large enough,
 * else into a new {@link pageBuffer}; undefined if it shrank meanwhile. Reusing the bundle's
 * buffer for the code cache spares touching 0.7 MB of fresh pages: a page fault costs ~20 µs of
 * CPU on the VMs measured (bench/results/startup.md, fifth pass), ~3.5 ms for the cache.
 */
function readWhole(f: string | number, spare?: Buffer): Buffer | undefined {
  const fd = typeof f === 'number' ? f : openSync(f, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = spare !== undefined && spare.length >= size ? spare.subarray(0, size) : pageBuffer(size);
    for (let at = 0, n; at < buf.length; at += n) {
      n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) return undefined;
    }
    return buf;
  } finally {
    if (fd !== f) closeSync(fd);
  }
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The cache directory, created 0700 if missing; undefined if it cannot be had or is not ours alone. */
function cacheDir(): string | undefined {
  try {
    // XDG Base Directory Specification: a relative XDG_CACHE_HOME is invalid and ignored (else
    // the cache would land in whatever directory the command runs from).
    const xdg = process.env.XDG_CACHE_HOME;
    const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
    const dir = join(base, 'pure-ssh');
    // Two plain mkdir calls, not `recursive: true`: Node's recursive mkdir loops forever where
    // mkdir says ENOENT under an existing parent (XDG_CACHE_HOME=/proc/self), and the CLI hung.
    mkdirIfMissing(base);
    mkdirIfMissing(dir);
    return privateToUs(statSync(dir)) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** mkdir(2) with mode 0700; an existing entry is left as it is (the caller checks what it is). */
function mkdirIfMissing(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Owned by this user and writable by no one else (like ssh(1)'s checks on its own files). */
function privateToUs(st: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** The part of the WebAssembly JS API used here (not in the TypeScript libraries this builds with). */
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}

/** A WebAssembly page, bytes. */
const WASM_PAGE = 65536;

/**
 * A zero-filled Buffer of `size` bytes whose memory is mapped for it alone and unmapped when it
 * is collected, not malloc'd: a WebAssembly memory (see "Memory" above). A plain Buffer where
 * WebAssembly is missing (`--jitless`) or refuses (its address-space reservation under
 * `ulimit -v`).
 */
function pageBuffer(size: number): Buffer {
  try {
    const pages = Math.ceil(size / WASM_PAGE);
    return Buffer.from(new (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
  } catch {
    return Buffer.alloc(size);
  }
}

/** V8's cached data from `file` if it is ours, intact and made from this very bundle; read into `spare` if it fits (see {@link readWhole}). */
function readCache(file: string, sourceHash: Buffer, spare: Buffer): Buffer | undefined {
  let fd: number | undefined;
  try {
    // Non-blocking: a FIFO put there would otherwise hold the start-up forever; only a regular
    // file is a cache (O_NONBLOCK changes nothing for one).
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || !privateToUs(st)) return undefined;
    const buf = readWhole(fd, spare);
    if (buf === undefined || buf.length <= HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    let at = MAGIC.length;
    if (!buf.subarray(at, at + 32).equals(sourceHash)) return undefined;
    at += 32;
    const payloadHash = buf.subarray(at, at + 32);
    const data = buf.subarray(HEADER);
    return sha256(data).equals(payloadHash) ? data : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Replace `file` atomically (write a private temporary file, rename it over). Errors are ignored. */
function writeCache(file: string, sourceHash: Buffer, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([MAGIC, sourceHash, sha256(data), data]), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // Nothing was written.
    }
  }
}

/** Remove this Node version's cache files of other bundles beyond the {@link KEEP} newest. */
function pruneCaches(dir: string, prefix: string, keep: string): void {
  try {
    const others = readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.v8cache') && join(dir, f) !== keep)
      .map((f) => ({ path: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { path } of others.slice(KEEP - 1)) unlinkSync(path);
  } catch {
    // Another run pruned them first, or the directory is not ours to clean: harmless.
  }
}

/** Node >= 22.1: Node's compile cache covers the bundle (CommonJS) by itself. */
type EnableCompileCache = (dir?: string) => unknown;

function run(): void {
  const off = process.env.PURE_SSH_CODE_CACHE === 'off';
  const enableCompileCache = (nodeModule as unknown as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (off || typeof enableCompileCache === 'function') {
    const dir = off ? undefined : cacheDir();
    if (dir) {
      try {
        enableCompileCache!(join(dir, 'node-compile-cache'));
      } catch {
        // Compiling as usual.
      }
    }
    bundleRequire(BUNDLE);
    return;
  }
  // Node 20: the V8 code cache by hand, keyed by each file's content and Node's version.
  const dir = cacheDir();
  let lazy: unknown;
  const scriptRequire = ((id: string) =>
    id === LAZY_REQUEST ? (lazy ??= runCached(LAZY, 'lazy', bundleRequire, dir)) : bundleRequire(id)) as NodeJS.Require;
  runCached(BUNDLE, NAME, scriptRequire, dir);
}

/**
 * Compile `path` with V8's code cache from `dir` (files named `NAME-NODEVERSION-ARCH-HASH`), run
 * it as a CommonJS module with `require`, and return its exports; the cache is written (once, see
 * below) when it was missing, stale or partial.
 */
function runCached(path: string, name: string, require: NodeJS.Require, dir: string | undefined): unknown {
  const { source, hash: sourceHash, spare } = readSource(path);
  const prefix = `${name}-${process.version}-${process.arch}-`;
  const file = dir && join(dir, `${prefix}${sourceHash.toString('hex', 0, 8)}.v8cache`);
  const cached = file ? readCache(file, sourceHash, spare) : undefined;
  // V8 accepts a cache only under the flags it was made with, V8's defaults (see the write
  // below): the lazy file is compiled during the login, under the CLI's own flags
  // (src/node/v8-tuning.ts), so under V8's defaults again for this moment.
  const underDefaults = (globalThis as Record<symbol, unknown>)[V8_DEFAULTS_HOOK] as (<T>(fn: () => T) => T) | undefined;
  const compile = () => new Script(source, { filename: path, cachedData: cached });
  const script = underDefaults ? underDefaults(compile) : compile();
  const accepted = cached !== undefined && !script.cachedDataRejected;
  // Its length only, for the write below: a closure that kept the buffer itself (a WebAssembly
  // memory, 0.8 MB, see "Memory" above) would keep it mapped for the whole run.
  const cachedLength = accepted ? cached.length : 0;
  if (dir && file && (!accepted || cachedLength < source.length * PARTIAL_SHARE)) {
    // Written once: when a connection is surely up (a timer that does not keep the process
    // alive), or at exit if that comes first. By then the cache also holds every function the
    // run compiled, not just the top level.
    let done = false;
    const write = () => {
      if (done) return;
      done = true;
      // V8 ties a cache to the flags in force: the CLI's own flag (src/node/v8-tuning.ts) is set
      // back to V8's default while the cache is made (and at exit, before this listener).
      const underDefaults = (globalThis as Record<symbol, unknown>)[V8_DEFAULTS_HOOK] as ((fn: () => Buffer) => Buffer) | undefined;
      const data = underDefaults ? underDefaults(() => script.createCachedData()) : script.createCachedData();
      if (!accepted || data.length > cachedLength * 1.25) {
        writeCache(file, sourceHash, data);
        pruneCaches(dir, prefix, file);
      }
    };
    setTimeout(write, WRITE_AFTER_MS).unref();
    process.once('exit', write);
  }
  const mod = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, require, mod, path, __dirname);
  return mod.exports;
}

run();
