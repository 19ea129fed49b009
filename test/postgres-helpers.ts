/**
 * Client-side helpers for the PostgreSQL tunnel tests (issue 5): run psql/pgbench from the
 * harness's binDir against a tunnel instead of the server itself, stream a large COPY in and
 * out with sha256 on both ends (../shared/TESTING.md "Data endpoints"), and read pgbench's
 * summary. The servers themselves come from ./harness/postgres.ts and ./harness/sshd.ts.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PostgresHandle } from './harness/postgres.js';

/** Where a client tool connects: a TCP host and port, or a Unix socket directory and port. */
export interface PgTarget {
  /** `localhost`, an address, or a directory holding `.s.PGSQL.<port>` (libpq's rule for `-h /dir`). */
  host: string;
  port: number;
}

/** What a tool run produced, and how long it took. */
export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Environment for libpq tools aimed at `target`: nothing inherited from PG* (a developer's
 * PGHOST must not let a test pass without the tunnel), C locale, a short connect timeout so a
 * broken tunnel fails instead of waiting, and extra settings on top.
 */
export function pgEnv(target: PgTarget, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG') && !k.startsWith('LC_')) env[k] = v;
  return {
    ...env,
    LANG: 'C',
    LC_ALL: 'C',
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: 'postgres',
    PGDATABASE: 'postgres',
    PGCONNECT_TIMEOUT: '10',
    ...extra,
  };
}

/**
 * Runs `binDir/name args` with PGHOST/PGPORT pointing at `target` (not at the server: the
 * tunnel is the only way in). SIGKILLed after `timeoutMs` so a hang shows up as a failure
 * with `signal: 'SIGKILL'` rather than as a stuck test.
 */
export function runPgTool(
  pg: Pick<PostgresHandle, 'binDir'>,
  name: string,
  args: string[],
  target: PgTarget,
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(`${pg.binDir}/${name}`, args, {
      env: pgEnv(target, opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** `psql -X -v ON_ERROR_STOP=1 -qtA ...args` at `target` (unaligned, tuples only). */
export function psqlAt(
  pg: Pick<PostgresHandle, 'binDir'>,
  target: PgTarget,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ToolRun> {
  return runPgTool(pg, 'psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-qtA', ...args], target, opts);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * COPY text-format rows `id<TAB>body<LF>` with a 96-hex-digit body from xorshift32, about
 * 64 KiB per chunk, until at least `minBytes`. Both columns print back exactly as written
 * (an int and plain hex text need no escaping), so `COPY t TO STDOUT` of the same rows in
 * the same order is byte-identical to what went in.
 */
export function* copyRows(minBytes: number, seed = 1): Generator<Buffer> {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  let id = 0;
  let total = 0;
  while (total < minBytes) {
    let text = '';
    while (text.length < 64 * 1024 && total + text.length < minBytes) {
      let body = '';
      for (let w = 0; w < 12; w++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        body += HEX[x & 0xff] + HEX[(x >>> 8) & 0xff] + HEX[(x >>> 16) & 0xff] + HEX[x >>> 24];
      }
      text += `${++id}\t${body}\n`;
    }
    total += text.length;
    yield Buffer.from(text, 'latin1');
  }
}

/** Result of {@link copyRoundTrip}. */
export interface CopyRoundTrip {
  rows: number;
  bytesIn: number;
  bytesOut: number;
  sha256In: string;
  sha256Out: string;
  msIn: number;
  msOut: number;
}

/** Streams `source` into a psql child's stdin, hashing what goes in; resolves with psql's run. */
function psqlStreamIn(
  pg: Pick<PostgresHandle, 'binDir'>,
  target: PgTarget,
  sql: string,
  source: Iterable<Buffer>,
  timeoutMs: number,
): Promise<{ run: ToolRun; bytes: number; sha256: string }> {
  const started = Date.now();
  const child = spawn(`${pg.binDir}/psql`, ['-X', '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql], {
    env: pgEnv(target),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const hash = createHash('sha256');
  let bytes = 0;
  function* hashed(): Generator<Buffer> {
    for (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  }
  const fed = pipeline(Readable.from(hashed()), child.stdin).catch(() => {
    // psql died early: its exit status and stderr tell why.
  });
  const exited = new Promise<ToolRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return Promise.all([fed, exited]).then(([, run]) => ({ run, bytes, sha256: hash.digest('hex') }));
}

/** Runs psql with `sql` and hashes its stdout as it arrives (nothing buffered in memory). */
function psqlStreamOut(
  pg: Pick<PostgresHandle, 'binDir'>,
  target: PgTarget,
  sql: string,
  timeoutMs: number,
  env: Record<string, string>,
): Promise<{ run: ToolRun; bytes: number; sha256: string }> {
  const started = Date.now();
  const child = spawn(`${pg.binDir}/psql`, ['-X', '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql], {
    env: pgEnv(target, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const hash = createHash('sha256');
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    hash.update(d);
    bytes += d.length;
  });
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ run: { code, signal, stdout: '', stderr, ms: Date.now() - started }, bytes, sha256: hash.digest('hex') });
    });
  });
}

/**
 * Creates `table`, COPYs at least `minBytes` of {@link copyRows} into it through `target`, then
 * COPYs it back out through `target`; returns both hashes. Throws with psql's stderr if either
 * psql fails. Synchronized seq scans are off so the scan starts at block 0 and rows come back
 * in insertion order (a scan may otherwise start where an earlier one left off).
 */
export async function copyRoundTrip(
  pg: Pick<PostgresHandle, 'binDir'>,
  target: PgTarget,
  minBytes: number,
  opts: { table?: string; seed?: number; timeoutMs?: number } = {},
): Promise<CopyRoundTrip> {
  const table = opts.table ?? 'copy_roundtrip';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const create = await psqlAt(pg, target, ['-c', `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int, body text)`]);
  if (create.code !== 0) throw new Error(`CREATE TABLE through the tunnel failed (${create.code}): ${create.stderr}`);
  const copyIn = await psqlStreamIn(pg, target, `COPY ${table} FROM STDIN`, copyRows(minBytes, opts.seed ?? 1), timeoutMs);
  if (copyIn.run.code !== 0) throw new Error(`COPY FROM STDIN failed (${copyIn.run.code ?? copyIn.run.signal}): ${copyIn.run.stderr}`);
  const count = await psqlAt(pg, target, ['-c', `SELECT count(*) FROM ${table}`]);
  const copyOut = await psqlStreamOut(pg, target, `COPY ${table} TO STDOUT`, timeoutMs, {
    PGOPTIONS: '-c synchronize_seqscans=off',
  });
  if (copyOut.run.code !== 0) throw new Error(`COPY TO STDOUT failed (${copyOut.run.code ?? copyOut.run.signal}): ${copyOut.run.stderr}`);
  return {
    rows: Number(count.stdout.trim()),
    bytesIn: copyIn.bytes,
    bytesOut: copyOut.bytes,
    sha256In: copyIn.sha256,
    sha256Out: copyOut.sha256,
    msIn: copyIn.run.ms,
    msOut: copyOut.run.ms,
  };
}

/** The figures of a pgbench run's summary. */
export interface PgbenchSummary {
  processed: number;
  expected: number;
  failed: number;
  tps: number | undefined;
}

/**
 * Reads `number of transactions actually processed: 800/800`, `number of failed transactions`
 * (pgbench 15+) and `tps = ...` from pgbench's stdout. Throws when the processed line is
 * missing, so a pgbench that died early cannot pass as "0 failures".
 */
export function parsePgbench(stdout: string): PgbenchSummary {
  const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(stdout);
  if (!processed) throw new Error(`pgbench printed no "transactions actually processed" line:\n${stdout}`);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  const tps = /tps = ([\d.]+)/.exec(stdout);
  return {
    processed: Number(processed[1]),
    expected: Number(processed[2]),
    failed: failed ? Number(failed[1]) : 0,
    tps: tps ? Number(tps[1]) : undefined,
  };
}
