/**
 * The pgbench scenario's PostgreSQL side: one throwaway server (test/harness/postgres.ts) with
 * `pgbench -i` done once over a direct connection, and the pair of pgbench runs each tunnel (and
 * the direct reference) is measured with. The client tools come from the server's own binDir
 * (test/postgres-helpers.ts), so client and server versions always match.
 */
import { inCI } from '../test/harness/sshd.js';
import { postgresAvailable, requirePostgres, startPostgres, type PostgresHandle } from '../test/harness/postgres.js';
import { parsePgbench, runPgTool, type PgTarget, type ToolRun } from '../test/postgres-helpers.js';
import type { PgbenchOptions } from './config.js';

/** The initialised server, and where a tunnel forwards to reach it. */
export interface PgbenchServer {
  pg: PostgresHandle;
  /**
   * Forward destination as sshd sees it: `localhost`, resolved by the server, as in the
   * PostgreSQL manual's "Secure TCP/IP Connections with SSH Tunnels" chapter.
   */
  target: { host: string; port: number };
  /** One line for the report: version, scale, settings. */
  description: string;
  stop(): Promise<void>;
}

/** What {@link preparePgbench} found: a server, or why the scenario is skipped. */
export type PgbenchSetup = { kind: 'ready'; server: PgbenchServer } | { kind: 'skip'; note: string };

/**
 * Starts PostgreSQL (listen_addresses=localhost, its own port and socket dir) and runs
 * `pgbench -i -s scale` through a direct connection. Skips (with a note) when PostgreSQL is not
 * installed; in CI (`CI=true`) a missing install throws, so the scenario is FAILED, not skipped.
 * With `--docker` sshd shares the host's network, so `localhost` reaches it from the container too.
 */
export async function preparePgbench(opts: PgbenchOptions): Promise<PgbenchSetup> {
  if (!postgresAvailable()) {
    if (inCI()) requirePostgres();
    return {
      kind: 'skip',
      note: 'pgbench: skipped, PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb and the postgres user); `apt-get install -y postgresql` to run it',
    };
  }
  const pg = await startPostgres({ listen: 'localhost' });
  try {
    // -q: progress every 5 s instead of every 100,000 rows.
    const init = await pg.tool('pgbench', ['-i', '-s', String(opts.scale), '-q']);
    if (init.code !== 0) throw new Error(`pgbench -i -s ${opts.scale} failed (${init.code}): ${init.stderr.trim()}`);
    const version = await pg.psql(['-tAc', 'SHOW server_version']);
    return {
      kind: 'ready',
      server: {
        pg,
        target: { host: 'localhost', port: pg.port },
        description:
          `PostgreSQL ${version.stdout.trim()} (fsync=off), pgbench -i -s ${opts.scale}; ` +
          `read-only: pgbench -S -c ${opts.clients} -j ${opts.threads} -T ${opts.seconds} -n; ` +
          `write (TPC-B-like): pgbench -c ${opts.clients} -j ${opts.threads} -t ${opts.transactions} -n`,
        stop: () => pg.stop(),
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

function failed(what: string, run: ToolRun, why: string): Error {
  const detail = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-3).join(' | ');
  return new Error(`FAILED: ${what} ${why}${detail ? `: ${detail}` : ''}`);
}

/**
 * The read-only run: `-T` runs print `number of transactions actually processed: N` without
 * the `/expected` that test/postgres-helpers.ts's parsePgbench requires, so it is read here.
 */
function readOnlyTps(run: ToolRun): number {
  const what = 'pgbench -S';
  if (run.code !== 0) throw failed(what, run, `exited ${run.code ?? run.signal}`);
  const processed = /number of transactions actually processed: (\d+)(?:\/(\d+))?/.exec(run.stdout);
  const failures = /number of failed transactions: (\d+)/.exec(run.stdout);
  const tps = /tps = ([\d.]+)/.exec(run.stdout);
  if (!processed || !tps) throw failed(what, run, 'printed no summary');
  if (Number(processed[1]) === 0) throw failed(what, run, 'processed no transactions');
  if (processed[2] !== undefined && processed[1] !== processed[2]) throw failed(what, run, `processed ${processed[1]}/${processed[2]}`);
  if (failures && Number(failures[1]) !== 0) throw failed(what, run, `${failures[1]} transactions failed`);
  return Number(tps[1]);
}

/** The write run: every one of clients × transactions must be committed. */
function writeTps(run: ToolRun, expected: number): number {
  const what = 'pgbench (TPC-B-like)';
  if (run.code !== 0) throw failed(what, run, `exited ${run.code ?? run.signal}`);
  let s;
  try {
    s = parsePgbench(run.stdout);
  } catch {
    throw failed(what, run, 'printed no summary');
  }
  if (s.processed !== s.expected || s.expected !== expected || s.failed !== 0) {
    throw failed(what, run, `processed ${s.processed}/${s.expected} (want ${expected}/${expected}), ${s.failed} failed`);
  }
  if (s.tps === undefined) throw failed(what, run, 'printed no tps line');
  return s.tps;
}

/**
 * Runs the read-only and then the write pgbench against `target` (a tunnel's local port, or
 * the server itself) and returns both TPS figures. Throws a `FAILED: ...` error when pgbench
 * fails, hangs or commits less than everything.
 */
export async function runPgbenchPair(server: PgbenchServer, target: PgTarget, opts: PgbenchOptions): Promise<{ roTps: number; rwTps: number }> {
  const common = ['-c', String(opts.clients), '-j', String(opts.threads), '-n', '-h', target.host, '-p', String(target.port)];
  // A tunnel that stalls turns into a SIGKILLed pgbench, i.e. a FAILED run, well before the
  // bench's per-run limit.
  const ro = await runPgTool(server.pg, 'pgbench', ['-S', '-T', String(opts.seconds), ...common], target, {
    timeoutMs: opts.seconds * 1000 + 60_000,
  });
  const roTps = readOnlyTps(ro);
  const rw = await runPgTool(server.pg, 'pgbench', ['-t', String(opts.transactions), ...common], target, { timeoutMs: 60_000 });
  const rwTps = writeTps(rw, opts.clients * opts.transactions);
  return { roTps, rwTps };
}
