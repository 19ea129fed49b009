#!/usr/bin/env node
/**
 * The `pure-ssh` bin (package.json "bin"): runs the whole CLI from one bundled file,
 * dist/node/cli-bundle.cjs (scripts/bundle-cli.mjs), with V8's compiled code cached between runs.
 * The same command as dist/node/cli.js, started faster:
 *
 * - One file instead of ~150 ES modules: no per-module resolve, read, compile and link.
 * - Compiled code reused: on Node >= 22.1 through Node's own compile cache
 *   (`module.enableCompileCache`); on older Node through V8's code cache (`vm.Script` with
 *   `cachedData`), written once after a run and reused while the bundle and Node are the same.
 *
 * The cache lives in `$XDG_CACHE_HOME/pure-ssh` (default `~/.cache/pure-ssh`), a directory of
 * mode 0700; a file is used only if this user owns it and no one else can write it, and only if
 * its checksums match (the bundle's sha256 and the payload's): a missing, stale, corrupt or
 * unwritable cache just means compiling as usual. `PURE_SSH_CODE_CACHE=off` turns it off.
 * Figures: bench/README.md "Start-up".
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const BUNDLE = fileURLToPath(new URL('./cli-bundle.cjs', import.meta.url));
const bundleRequire = nodeModule.createRequire(BUNDLE);

/** Our cache file: magic, sha256 of the bundle source, sha256 of the payload, V8's payload. */
const MAGIC = Buffer.from('pure-ssh v8 cache 2\n');
const HEADER = MAGIC.length + 32 + 32;

/**
 * A cache smaller than this share of the bundle's source was written by a run that compiled
 * little beyond the top level (`-V`, `-G`); one that connected compiles most of the CLI (its
 * cache: ~0.8 of the source). Until such a run replaces it, each run checks at exit whether its
 * own cache would be larger (about 1 ms).
 */
const PARTIAL_SHARE = 0.5;

function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The cache directory, created 0700 if missing; undefined if it cannot be had or is not ours alone. */
function cacheDir(): string | undefined {
  try {
    const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const dir = join(base, 'pure-ssh');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return privateToUs(statSync(dir)) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Owned by this user and writable by no one else (like ssh(1)'s checks on its own files). */
function privateToUs(st: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** V8's cached data from `file` if it is ours, intact and made from this very bundle. */
function readCache(file: string, sourceHash: Buffer): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    if (!privateToUs(fstatSync(fd))) return undefined;
    const buf = readFileSync(fd);
    if (buf.length <= HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
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
  // Node 20: the V8 code cache by hand, keyed by the bundle's content and Node's version.
  const source = readFileSync(BUNDLE, 'utf8');
  const dir = cacheDir();
  const sourceHash = sha256(source);
  const file = dir && join(dir, `cli-${process.version}-${process.arch}.v8cache`);
  const cached = file ? readCache(file, sourceHash) : undefined;
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: BUNDLE, cachedData: cached });
  const accepted = cached !== undefined && !script.cachedDataRejected;
  if (file && (!accepted || cached.length < source.length * PARTIAL_SHARE)) {
    // At exit the cache also holds every function this run compiled, not just the top level.
    process.once('exit', () => {
      // V8 ties a cache to the flags in force; the CLI's own flag (v8-tuning.ts) is undone by
      // then: its exit listener comes first.
      const data = script.createCachedData();
      if (!accepted || data.length > cached.length * 1.25) writeCache(file, sourceHash, data);
    });
  }
  const mod = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, bundleRequire, mod, BUNDLE, join(BUNDLE, '..'));
}

run();
