/**
 * A throwaway PostgreSQL server for forwarding tests and the pgbench benchmark
 * (../shared/TESTING.md "PostgreSQL"): a fresh cluster in a temp dir (a copy of one initdb made
 * as the unprivileged `postgres` system user, which initdb needs, see {@link clusterTemplate}),
 * trust auth, then the server in the foreground as our child, so the test owns it, reads its log
 * and nothing is left daemonised behind it.
 *
 * @example
 * ```ts
 * describePostgres('through the tunnel', () => {
 *   let pg: PostgresHandle;
 *   beforeAll(async () => { pg = await startPostgres(); });
 *   afterAll(() => pg.stop());
 *   it('answers', async () => expect((await pg.psql(['-tAc', 'select 1'])).stdout).toBe('1\n'));
 * });
 * ```
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.js';
import { descendants, exited, LogBuffer, own, signalAll } from './proc.js';
import { describeIf, inCI, type ServerDescribe } from './sshd.js';

/** Debian's per-version binaries: the newest /usr/lib/postgresql/N/bin holding initdb. */
export function postgresBinDir(): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync('/usr/lib/postgresql');
  } catch {
    return undefined;
  }
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    try {
      accessSync(join(dir, 'initdb'), constants.X_OK);
      accessSync(join(dir, 'postgres'), constants.X_OK);
      return dir;
    } catch {
      // incomplete install of this version
    }
  }
  return undefined;
}

/** uid and gid of the `postgres` system user the Debian package creates. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether PostgreSQL's server binaries and its `postgres` user are installed. */
export function postgresAvailable(): boolean {
  try {
    return postgresBinDir() !== undefined && postgresUser() !== undefined;
  } catch {
    return false;
  }
}

/** Throws a clear error when PostgreSQL is missing (CI must fail, not skip). */
export function requirePostgres(): void {
  if (postgresAvailable()) return;
  throw new Error(
    'PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb or the postgres user missing): ' +
      `run \`apt-get install -y postgresql\`${inCI() ? ' (CI=true: these tests never skip)' : ''}`,
  );
}

/**
 * `describe` for suites that need PostgreSQL: runs when installed; in CI (`CI=true`) a missing
 * install becomes one failing test; elsewhere the suite is skipped.
 */
export const describePostgres: ServerDescribe = describeIf(postgresAvailable, requirePostgres);

/** Output of a client tool run. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link startPostgres}. */
export interface PostgresOptions {
  /** listen_addresses. Default 'localhost'. */
  listen?: string;
  /** TCP port. Default: a free one. */
  port?: number;
}

/** A running PostgreSQL owned by the test. */
export interface PostgresHandle {
  port: number;
  /** Address clients connect to over TCP (127.0.0.1 for 'localhost', '*' or '0.0.0.0'). */
  host: string;
  /** Unix socket directory (socket: `${socketDir}/.s.PGSQL.${port}`). */
  socketDir: string;
  dataDir: string;
  binDir: string;
  superuser: 'postgres';
  pid: number;
  /** The server's log (stderr) so far. */
  logs(): string;
  /**
   * Runs a client tool from binDir (`psql`, `pgbench`, ...) as root with PGHOST/PGPORT/PGUSER
   * set to this server over TCP; `args` can override them. `input` goes to stdin.
   */
  tool(name: string, args: string[], input?: string): Promise<ToolResult>;
  /** `psql -X -v ON_ERROR_STOP=1 -d postgres ...args` over TCP (see {@link PostgresHandle.tool}). */
  psql(args: string[], input?: string): Promise<ToolResult>;
  /** Fast shutdown, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

function run(
  file: string,
  args: string[],
  options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        uid: options.uid,
        gid: options.gid,
        env: options.env,
        timeout: options.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (err && typeof err.code !== 'number' && !err.killed) reject(err);
        else resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** Environment for postgres tools: no inherited PG* variables, C locale (no locale packages). */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG') && !k.startsWith('LC_')) env[k] = v;
  env.LANG = 'C';
  env.LC_ALL = 'C';
  return env;
}

/** initdb's arguments after `-D DIR`: trust auth, superuser `postgres`, UTF-8, the C locale. */
const INITDB_ARGS = ['-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C'];

/**
 * A cluster as initdb makes it with {@link INITDB_ARGS}, kept in the temp dir for every later
 * server of this PostgreSQL (one per bin dir and uid), which starts from a copy (`cp -a`, owner
 * and modes kept): initdb costs about 1 s of CPU (its bootstrap runs postgres single-user), the
 * copy a fifth of that. Each copy is a cluster of its own, as a fresh initdb's would be. Made
 * whole in a temp dir of its own and renamed into place, so a reader sees none or all of it; two
 * files making it at once both succeed. Undefined if initdb fails (the caller runs initdb itself
 * and reports why).
 */
async function clusterTemplate(binDir: string, uid: number, gid: number, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const template = join(tmpdir(), `pure-ssh-pg-template-${uid}-${binDir.replace(/[^A-Za-z0-9]+/g, '_')}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const work = await mkdtemp(join(tmpdir(), 'pure-ssh-pg-template-new-'));
  try {
    chownSync(work, uid, gid);
    const init = await run(join(binDir, 'initdb'), ['-D', join(work, 'data'), ...INITDB_ARGS], { uid, gid, env: { ...env, HOME: work } });
    if (init.code !== 0) return undefined;
    try {
      await rename(join(work, 'data'), template);
    } catch (err) {
      // Another file made it first (ENOTEMPTY/EEXIST): theirs is as good.
      if (!existsSync(join(template, 'PG_VERSION'))) throw err;
    }
    return template;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Creates a cluster in a temp dir and starts PostgreSQL on a free port (unless `port` is given)
 * with its socket in the temp dir; resolves once it accepts TCP connections.
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresHandle> {
  requirePostgres();
  const binDir = postgresBinDir()!;
  const { uid, gid } = postgresUser()!;
  const listen = opts.listen ?? 'localhost';
  const host = ['localhost', '*', '0.0.0.0', ''].includes(listen) ? '127.0.0.1' : listen.split(',')[0].trim();
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  try {
    chownSync(dir, uid, gid);
    mkdirSync(socketDir, { mode: 0o700 });
    chownSync(socketDir, uid, gid);
    const env = { ...baseEnv(), HOME: dir };
    const template = await clusterTemplate(binDir, uid, gid, env);
    const copied = template !== undefined && (await run('cp', ['-a', template, dataDir], {})).code === 0;
    if (!copied) {
      await rm(dataDir, { recursive: true, force: true });
      const init = await run(join(binDir, 'initdb'), ['-D', dataDir, ...INITDB_ARGS], { uid, gid, env });
      if (init.code !== 0) throw new Error(`initdb failed (${init.code}):\n${init.stdout}${init.stderr}`);
    }

    for (let attempt = 0; ; attempt++) {
      const port = opts.port ?? (await freePort(host));
      const log = new LogBuffer();
      const child = spawn(
        join(binDir, 'postgres'),
        [
          '-D', dataDir,
          '-p', String(port),
          '-k', socketDir,
          '-c', `listen_addresses=${listen}`,
          // A test cluster: durability buys nothing and fsync would dominate pgbench setup.
          '-c', 'fsync=off',
          '-c', 'logging_collector=off',
        ],
        { uid, gid, env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.on('error', () => {});
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (t: string) => log.push(t));
      const ready = await new Promise<'ready' | 'bind' | Error>((resolve) => {
        const timer = setTimeout(() => resolve(new Error('PostgreSQL did not become ready within 30 s')), 30_000);
        const onData = () => {
          if (log.text().includes('database system is ready to accept connections')) {
            clearTimeout(timer);
            child.stderr!.off('data', onData);
            resolve('ready');
          }
        };
        child.stderr!.on('data', onData);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          const text = log.text();
          if (/could not bind|Address already in use|could not create any TCP\/IP sockets/.test(text)) resolve('bind');
          else resolve(new Error(`postgres exited (${code ?? signal}) before it was ready`));
        });
        child.once('error', (err) => {
          clearTimeout(timer);
          resolve(err);
        });
      });
      if (ready !== 'ready') {
        signalAll([child.pid ?? -1], 'SIGKILL');
        await exited(child);
        if (ready === 'bind' && opts.port === undefined && attempt < 4) continue;
        const why = ready === 'bind' ? new Error(`port ${port} is taken`) : ready;
        throw new Error(`${why.message}:\n${log.text()}`, { cause: why });
      }

      const pid = child.pid!;
      const ownership = own(pid, dir, 'SIGQUIT');
      child.unref();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      let stopping: Promise<void> | undefined;
      const stop = () => {
        stopping ??= (async () => {
          // SIGINT = fast shutdown: disconnects clients, checkpoints, removes shared memory.
          signalAll([pid], 'SIGINT');
          const done = exited(child);
          const late = await Promise.race([done.then(() => false), new Promise((r) => setTimeout(() => r(true), 10_000))]);
          if (late) {
            signalAll([pid, ...descendants(pid)], 'SIGKILL');
            await done;
          }
          ownership.release();
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      };
      try {
        await waitForPort(host, port, 10_000);
      } catch (err) {
        await stop();
        throw err;
      }

      const toolEnv = { ...baseEnv(), PGHOST: host, PGPORT: String(port), PGUSER: 'postgres', PGCONNECT_TIMEOUT: '10' };
      const tool = (name: string, args: string[], input?: string) =>
        run(join(binDir, name), args, { env: toolEnv, input });
      return {
        port,
        host,
        socketDir,
        dataDir,
        binDir,
        superuser: 'postgres',
        pid,
        logs: () => log.text(),
        tool,
        psql: (args, input) => tool('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', ...args], input),
        stop,
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
