/**
 * The processes tests start. Servers: find descendants through /proc, kill whole trees, and make
 * sure nothing outlives the test process however it ends. Clients: the built `pure-ssh` CLI or
 * ssh(1) run beside it ({@link startCli}), with its output captured and a kill timer.
 *
 * Two layers for servers, because vitest stops its fork workers with SIGTERM (no 'exit' event)
 * and may SIGKILL them: a process 'exit' hook for the ordinary end, and a per-server watchdog, a
 * tiny `sh` whose stdin is a pipe from us; when this process dies by any means the pipe reaches
 * EOF and the watchdog kills the server's tree and removes its temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listening } from './net.js';

/** Parent pid of every live process, from /proc/PID/stat (field 4, after the `(comm)`). */
function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    // comm may contain spaces and ')' so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  return children;
}

/** Every descendant of `pid` (children, grandchildren, ...), not `pid` itself. */
export function descendants(pid: number): number[] {
  const children = parentMap();
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Sends `signal` to each pid, ignoring the ones already gone. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // ESRCH: already exited
    }
  }
}

/** SIGKILLs `pid` and all its descendants (collected first, before reparenting can hide them). */
export function killTree(pid: number): void {
  const all = [pid, ...descendants(pid)];
  signalAll(all, 'SIGKILL');
}

/**
 * The watchdog script. $1 = root pid, $2 = signal tried first, $3 = dir to remove. It waits
 * for EOF on stdin, sends $2 to the root, gives it a moment, then SIGKILLs the root's
 * remaining tree (ppid from /proc/PID/stat, text after the last ')') and removes the dir.
 */
const WATCHDOG = `
cat >/dev/null
tree() {
  sed -n 's/^\\([0-9]*\\) .*) . \\([0-9]*\\) .*/\\2 \\1/p' /proc/[0-9]*/stat 2>/dev/null |
  awk -v root="$1" '{ kids[$1] = kids[$1] " " $2 }
    END { q[0] = root; n = 1
      for (i = 0; i < n; i++) { k = split(kids[q[i]], a, " "); for (j = 1; j <= k; j++) q[n++] = a[j] }
      for (i = 0; i < n; i++) print q[i] }'
}
pids=$(tree "$1")
kill -s "$2" "$1" 2>/dev/null
i=0
while [ $i -lt 20 ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; i=$((i+1)); done
kill -9 $pids $(tree "$1") 2>/dev/null
[ -n "$3" ] && rm -rf -- "$3"
exit 0
`;

interface Owned {
  pid: number;
  dir: string | undefined;
  watchdog: ChildProcess;
}

const owned = new Set<Owned>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const entry of owned) {
      killTree(entry.pid);
      if (entry.dir) rmSync(entry.dir, { recursive: true, force: true });
    }
  });
}

/** A registration returned by {@link own}; call `release()` once the server has stopped. */
export interface Ownership {
  release(): void;
}

/**
 * Registers a server process so that it and its descendants die with this process.
 * `firstSignal` is what the watchdog tries before SIGKILL (SIGQUIT lets postgres clean up
 * its shared memory); `dir` is removed afterwards.
 */
export function own(pid: number, dir?: string, firstSignal: NodeJS.Signals = 'SIGKILL'): Ownership {
  installExitHook();
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'watchdog', String(pid), firstSignal, dir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true, // its own process group: a Ctrl-C to the test run must not kill it first
  });
  watchdog.on('error', () => {});
  watchdog.stdin!.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  const entry: Owned = { pid, dir, watchdog };
  owned.add(entry);
  return {
    release() {
      if (!owned.delete(entry)) return;
      // Kill the shell before closing its stdin, so the EOF reaches only `cat`, which exits.
      if (watchdog.pid !== undefined) signalAll([watchdog.pid], 'SIGKILL');
      watchdog.stdin!.destroy();
    },
  };
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Appends stream output to a bounded log, keeping the tail (debug logs can be large). */
export class LogBuffer {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly limit = 4 * 1024 * 1024) {}
  push(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size > this.limit * 2) {
      const all = this.parts.join('');
      this.parts = [all.slice(all.length - this.limit)];
      this.size = this.parts[0].length;
    }
  }
  text(): string {
    const all = this.parts.join('');
    this.parts = [all];
    return all.length > this.limit ? all.slice(all.length - this.limit) : all;
  }
}

/** OpenSSH's client, which the tests run beside pure-ssh (`ssh -G` and others). */
export const SSH_CLIENT_PATH = '/usr/bin/ssh';

/** Whether `pid` runs {@link SSH_CLIENT_PATH} (by /proc/PID/exe: an `exec`ing `sh -c` counts); false once it has exited. */
function runsReferenceSsh(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === realpathSync(SSH_CLIENT_PATH);
  } catch {
    return false; // gone, or a zombie (its exe link is empty)
  }
}

/**
 * Sends `signal` to `target` (a child, or the pid of a process such as ssh's -f background copy)
 * once, and to OpenSSH 9.2's ssh ({@link SSH_CLIENT_PATH}) again each second until it has exited:
 * its clientloop.c (V_9_2_P1 client_loop) checks quit_pending, then blocks in poll() with the
 * signal unmasked, so a SIGTERM, SIGINT or SIGHUP landing between the two is only noticed at the
 * next event, and with -N and an idle connection none comes. OpenSSH 9.5 closed the race by
 * blocking the signals outside ppoll(). Every other process, pure-ssh among them, gets the signal
 * once: it must end on one.
 *
 * @example
 * deliverSignal(run.child, 'SIGTERM');
 * const { code } = await run.done;
 */
export function deliverSignal(target: ChildProcess | number, signal: NodeJS.Signals = 'SIGTERM'): void {
  const pid = typeof target === 'number' ? target : target.pid;
  const send = (): void => {
    if (typeof target === 'number') signalAll([target], signal);
    else if (target.exitCode === null && target.signalCode === null) target.kill(signal);
  };
  send();
  if (pid === undefined || signal === 'SIGKILL' || !runsReferenceSsh(pid)) return;
  // Stops once it has exited (a zombie no longer names its exe), and never outlives the child.
  const again = setInterval(() => (runsReferenceSsh(pid) ? send() : clearInterval(again)), 1000);
  again.unref();
  if (typeof target !== 'number') target.once('exit', () => clearInterval(again));
}

/** The built CLI (`npm run build`), run under this Node: dist/node/cli.js. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/node/cli.js', import.meta.url));

/** The bundled bin that package.json's `bin.pure-ssh` names: dist/node/cli-bin.cjs. */
export const CLI_BIN_PATH = fileURLToPath(new URL('../../dist/node/cli-bin.cjs', import.meta.url));

/** Throws unless `npm run build` made {@link CLI_PATH} and {@link CLI_BIN_PATH} (for a suite's `beforeAll`). */
export function requireBuiltCli(): void {
  for (const path of [CLI_PATH, CLI_BIN_PATH]) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
  }
}

/**
 * What {@link startCli} runs: `'pure-ssh'` and `'pure-ssh bin'` the installed bin
 * ({@link CLI_BIN_PATH}, package.json bin.pure-ssh: what a user's `pure-ssh` runs), `'pure-ssh
 * cli.js'` the unbundled CLI ({@link CLI_PATH}, the ES modules the bin is bundled from), `'ssh'`
 * ssh(1). The bin is the same code at about half the start-up CPU (0.45 -> 0.25 s per login
 * here), which is most of what a CLI test costs on the suite's two cores; the few files that
 * check both entry points name `'pure-ssh cli.js'` beside it.
 */
export type CliClient = 'pure-ssh' | 'pure-ssh bin' | 'pure-ssh cli.js' | 'ssh';

/** Options of {@link startCli}. */
export interface CliOptions {
  /** The child's environment (`cliEnv(home)` from home.ts for a CLI that reads the passwd home). */
  env: NodeJS.ProcessEnv;
  /** `'pipe'`: a pipe the test holds (`child.stdin`), open until it ends it. Default `'ignore'`. */
  stdin?: 'ignore' | 'pipe';
  /** `'pipe'`: captured into `stdout`. Default `'ignore'`. */
  stdout?: 'ignore' | 'pipe';
  /** SIGKILL the child if it still runs after this many ms. Default 20 000. */
  killAfterMs?: number;
  /**
   * Stop the child once its stderr so far matches (e.g. `/Authenticated to /`: a login checked,
   * the session not wanted), with {@link CliOptions.untilSignal}; else it runs until it exits.
   */
  until?: RegExp;
  /** The signal {@link CliOptions.until} sends. Default SIGKILL. */
  untilSignal?: NodeJS.Signals;
  /**
   * Start it in a session of its own (setsid): no controlling terminal, so ssh and pure-ssh ask
   * for passphrases and passwords through SSH_ASKPASS only, whatever terminal runs the tests.
   */
  detached?: boolean;
}

/** How a {@link startCli} child ended, with everything it wrote. */
export interface CliResult {
  /** Exit status, or null when a signal ended it (`signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its standard output ('' unless {@link CliOptions.stdout} is `'pipe'`). */
  stdout: string;
  stderr: string;
}

/** A running {@link startCli} child. */
export interface CliRun {
  child: ChildProcess;
  /** Standard output so far ('' unless {@link CliOptions.stdout} is `'pipe'`). */
  readonly stdout: string;
  /** Standard error so far. */
  readonly stderr: string;
  /** Resolves once the child has exited and its output is all read ('close'); the kill timer is then cleared. */
  done: Promise<CliResult>;
}

/**
 * Starts `client` with `args`: the built CLI or its bin under this Node, or ssh(1). Its stderr
 * (and stdout when asked) is read as UTF-8; it is stopped once stderr matches
 * {@link CliOptions.until}, and SIGKILLed after {@link CliOptions.killAfterMs}.
 *
 * @example
 * const ssh = startCli('ssh', [...sshd.clientArgs, '-N', sshd.target], { env: cliEnv(home) });
 * await waitForListen(ssh, port);
 * const { code, stderr } = await ssh.done;
 * // A login, checked and left: stopped at ssh's -v line.
 * const { stderr: log } = await startCli('pure-ssh', [...args, '-v', '-N', host], { env, until: /Authenticated to / }).done;
 */
export function startCli(client: CliClient, args: readonly string[], opts: CliOptions): CliRun {
  const [command, argv] = client === 'ssh'
    ? [SSH_CLIENT_PATH, [...args]]
    : [process.execPath, [client === 'pure-ssh cli.js' ? CLI_PATH : CLI_BIN_PATH, ...args]];
  const child = spawn(command, argv, { stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'ignore', 'pipe'], env: opts.env, detached: opts.detached });
  let stdout = '';
  let stderr = '';
  let stopped = false;
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (opts.until !== undefined && !stopped && opts.until.test(stderr)) {
      stopped = true;
      deliverSignal(child, opts.untilSignal ?? 'SIGKILL');
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 20_000);
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => {
    clearTimeout(killer);
    resolve({ code, signal, stdout, stderr });
  }));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
  };
}

/**
 * Resolves once something accepts a TCP connection on 127.0.0.1:`port` (a `-L` listener of
 * `cli`), probing every 50 ms; the probe is closed at once. Rejects, with the child's stderr, if
 * it exited first or after `timeoutMs`.
 */
export async function waitForListen(cli: CliRun, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await listening(port)) return;
    const { exitCode, signalCode } = cli.child;
    const ended = exitCode !== null || signalCode !== null;
    if (ended || Date.now() >= deadline) {
      const why = ended ? `exited (${exitCode ?? signalCode})` : `still not listening after ${timeoutMs} ms`;
      throw new Error(`${cli.child.spawnfile} ${why} before port ${port} listened; stderr:\n${cli.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ssh's VERBOSE byte totals with their figures replaced (they differ from run to run). */
export function withoutTotalsFigures(stderr: string): string {
  return stderr
    .replace(/sent \d+, received \d+ bytes, in [\d.]+ seconds/, 'sent N, received M bytes, in S seconds')
    .replace(/Bytes per second: .*\r\n/, 'Bytes per second: R\r\n');
}

/**
 * {@link withoutTotalsFigures}, from the "Authenticated to" line on, without debug lines (with -v
 * ssh's lines and pure-ssh's differ before it).
 */
export function fromAuthenticated(stderr: string): string {
  const lines = withoutTotalsFigures(stderr).split('\r\n');
  return lines.slice(Math.max(0, lines.findIndex((l) => l.startsWith('Authenticated to')))).filter((l) => !l.startsWith('debug')).join('\r\n');
}

/**
 * Runs `cmd` (the program and its first arguments) with `args`, stdin and stdout ignored, in
 * `env`: its exit code and whole stderr, read as latin1 so that raw bytes show as they came.
 * SIGKILLed after `killAfterMs` (default 30 s): a hung client fails its test instead of the file.
 */
export function runForStderr(
  cmd: readonly string[],
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  killAfterMs = 30_000,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr });
    });
  });
}

/**
 * Runs `cmd` (the program and its first arguments) with `args` until its stderr (UTF-8) matches
 * `until` (then SIGKILLs it: a login checked and left) or it exits: its exit code (null when
 * killed) and stderr. The child is in `children` while it runs, for the file's afterAll to kill.
 * Rejects, with what it said, if neither happens within `timeoutMs`.
 */
export function runUntil(
  cmd: readonly string[],
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; until: RegExp; children: Set<ChildProcess>; timeoutMs: number },
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: opts.env });
    opts.children.add(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      if (opts.until.test(stderr)) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd.join(' ')} did not finish:\n${stderr}`));
    }, opts.timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      opts.children.delete(child);
      resolve({ code, stderr });
    });
  });
}
