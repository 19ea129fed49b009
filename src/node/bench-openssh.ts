/**
 * OpenSSH's `ssh` as `pure-ssh-bench`'s reference: the same login options as pure-ssh (the
 * user's -p, -l, -i, -o, -F, -J, -4, -6), BatchMode, and the algorithms pinned to the row's.
 * Handshakes are timed from ssh's own `-v` lines ("Connecting to" → "Authenticated to", both
 * written the moment they happen), so process start-up is not counted, as it is not for
 * pure-ssh. Tunnels are one ssh process (ControlMaster) holding the `-R` remote forwards and,
 * added through its control socket once their ports are known, the `-L` local forwards: one
 * connection, as pure-ssh's.
 *
 * The `-v` lines are the destination's own: `-E /dev/stdout` sends ssh's log to its standard
 * output, which is ours alone (with -N, ssh writes nothing else there). A ProxyJump hop is an
 * `ssh -W` ProxyCommand (ssh.c, with -v when ssh has it) whose standard output is the proxy pipe
 * and whose log goes to the standard error it shares with ssh: its own "Connecting to",
 * "kex: ..." and "Authenticated to" lines never mix with the destination's.
 *
 * Every ssh process is registered in the run's {@link Cleanups} before it is spawned and leaves
 * it once it has exited, so that a signal, an error or the end of the run stops it wherever it is
 * (a handshake, a tunnel being set up); a watchdog ends it if this process is killed outright
 * ({@link WATCHDOG}).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What a run must undo (child processes, tunnels, its temporary directory), each registered the
 * moment it exists and removed once undone, so that a signal, an error or the normal end leaves
 * nothing behind. Once {@link Cleanups.run} has started nothing new may start: add() throws.
 */
export class Cleanups {
  private readonly items = new Set<() => Promise<void> | void>();
  private stopping = false;
  private running: Promise<void> | undefined;

  add(undo: () => Promise<void> | void): void {
    if (this.stopping) throw new Error('pure-ssh-bench is stopping');
    this.items.add(undo);
  }

  delete(undo: () => Promise<void> | void): void {
    this.items.delete(undo);
  }

  /** Undoes everything, the latest first; from now on add() throws. Every call shares one run. */
  run(): Promise<void> {
    this.stopping = true;
    return (this.running ??= this.undoAll());
  }

  private async undoAll(): Promise<void> {
    for (const undo of [...this.items].reverse()) {
      this.items.delete(undo);
      try {
        await undo();
      } catch {
        // one failure must not keep the others alive
      }
    }
  }
}

/** What `ssh -Q` lists per category, or undefined when ssh cannot be run. */
export function opensshSupport(ssh: string): { version: string; kex: string[]; hostKey: string[]; cipher: string[]; mac: string[] } | undefined {
  const v = spawnSync(ssh, ['-V'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return undefined;
  const q = (what: string): string[] => {
    const r = spawnSync(ssh, ['-Q', what], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  };
  let hostKey = q('HostKeyAlgorithms');
  if (hostKey.length === 0) hostKey = q('key-sig');
  return { version: (v.stderr || v.stdout).trim(), kex: q('kex'), hostKey, cipher: q('cipher'), mac: q('mac') };
}

/** The pinned algorithms of a run (undefined: ssh's own choice). */
export interface PinnedAlgorithms {
  kex?: string;
  hostKey?: string;
  cipher?: string;
  mac?: string;
}

function pinned(a: PinnedAlgorithms): string[] {
  return [
    ...(a.kex ? ['-o', `KexAlgorithms=${a.kex}`] : []),
    ...(a.hostKey ? ['-o', `HostKeyAlgorithms=${a.hostKey}`] : []),
    ...(a.cipher ? ['-c', a.cipher] : []),
    ...(a.mac ? ['-m', a.mac] : []),
  ];
}

/** The lines of ssh's output that explain a failure (its debug lines left out). */
function explain(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l && !/^(debug\d|OpenSSH_|Authenticated to|Transferred|Bytes per second)/.test(l));
  return lines.slice(-3).join(' / ') || 'ssh exited without a message';
}

/**
 * A pipe for ssh's log: `-E /dev/stdout` opens ssh's standard output anew, which a socket (what
 * Node's 'pipe' is) refuses (ENXIO), so its standard output is a FIFO, removed as soon as both
 * ends are open. Our write end is closed once ssh has its copy: the read end then ends with ssh.
 */
function logFifo(): { read: number; write: number } {
  const dir = mkdtempSync(join(tmpdir(), 'psb-log-'));
  try {
    const path = join(dir, 'log');
    const made = spawnSync('mkfifo', ['-m', '600', path], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mkfifo: ${made.error?.message ?? made.stderr.trim()}`);
    // Non-blocking: the read end opens with no writer yet, the write end then finds a reader.
    const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      return { read, write: openSync(path, constants.O_WRONLY | constants.O_NONBLOCK) };
    } catch (err) {
      closeSync(read);
      throw err;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How ssh is started: `sh -c WATCHDOG ssh ARGS...`. The shell forks a watchdog, says its pid on
 * the first line of its standard error, and execs ssh (the same pid: signals reach ssh itself).
 * The watchdog waits on a pipe from this process; if this process dies by any means, even a
 * SIGKILL that no handler sees, the pipe ends and the watchdog sends ssh SIGTERM, so no `ssh -N`
 * stays logged in with its remote forwards. While this process lives the watchdog never acts: it
 * is killed before ssh is stopped (ssh, its parent, reaps it), or once ssh has exited on its own.
 * `$1` is a directory for it to remove then, if empty (a tunnel's, once ssh has removed its
 * control socket), or ''.
 */
const WATCHDOG =
  'd=$1; shift; exec 3<&0 </dev/null; (read x <&3; kill -TERM $$; [ -z "$d" ] || { sleep 1; rmdir "$d"; }) >/dev/null 2>&1 & echo "$!" >&2; exec "$0" "$@" 3<&-';

/**
 * A spawned ssh whose log (with `ownLog`: `-E /dev/stdout` in its arguments, see above) is
 * watched line by line with arrival times; its standard error (a ProxyJump hop's lines, or all
 * of ssh's without -E) is kept for the explanation of a failure. Registered in `cleanups` from
 * before its spawn until its exit.
 */
class SshProcess {
  readonly child: ChildProcess;
  private log = '';
  private all = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<void>;
  private readonly undo = () => this.stop();
  /** The watchdog's pid, from the first line of stderr; null once it is killed. */
  private watchdog: number | null | undefined;
  private readonly watchdogKnown: Promise<void>;

  constructor(ssh: string, args: string[], cleanups: Cleanups, ownLog: boolean, dir = '') {
    cleanups.add(this.undo);
    let fifo: { read: number; write: number } | undefined;
    try {
      fifo = ownLog ? logFifo() : undefined;
      this.child = spawn('/bin/sh', ['-c', WATCHDOG, ssh, dir, ...args], { stdio: ['pipe', fifo?.write ?? 'ignore', 'pipe'] });
    } catch (err) {
      if (fifo) closeSync(fifo.read);
      cleanups.delete(this.undo);
      throw err;
    } finally {
      // ssh has its copy (or there is no ssh): ours would keep the log from ending.
      if (fifo) closeSync(fifo.write);
    }
    const read = (own: boolean) => (d: string) => {
      if (own && this.log.length < 256 * 1024) this.log += d;
      if (this.all.length < 256 * 1024) this.all += d;
      for (const w of this.waiters) w();
    };
    const logStream = fifo ? new Socket({ fd: fifo.read, readable: true, writable: false }) : undefined;
    logStream?.setEncoding('utf8').on('data', read(true)).on('error', () => {});
    const logEnded = new Promise<void>((res) => (logStream ? logStream.once('close', () => res()) : res()));
    let first = '';
    let known!: () => void;
    this.watchdogKnown = new Promise((res) => (known = res));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (this.watchdog === undefined) {
        first += d;
        const nl = first.indexOf('\n');
        if (nl < 0) return;
        this.watchdog = Number(first.slice(0, nl)) || null;
        known();
        d = first.slice(nl + 1);
      }
      read(false)(d);
    });
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((res) => {
      // Its last log lines may come after the exit: wait for the log's end, briefly (a
      // ProxyCommand of the user's that holds a copy may outlive ssh).
      this.child.once('exit', () => {
        const late = setTimeout(res, 500);
        void logEnded.then(() => {
          clearTimeout(late);
          res();
        });
      });
      this.child.once('error', (e) => {
        this.all += `\n${e.message}`;
        res();
      });
    });
    void this.exited.then(() => {
      this.done = true;
      known();
      // ssh exited on its own: its watchdog, now an orphan, must not act when the pipe ends.
      this.killWatchdog();
      this.child.stdin!.destroy();
      logStream?.destroy();
      cleanups.delete(this.undo);
      for (const w of this.waiters) w();
    });
  }

  /** ssh's own log lines (with -E /dev/stdout). */
  get ownLog(): string {
    return this.log;
  }

  /** Everything it wrote, its log and standard error, for {@link explain}. */
  get output(): string {
    return this.all;
  }

  get exitCode(): number | null {
    return this.child.exitCode;
  }

  private done = false;

  /** Resolves with the time `re` first matched ssh's log (performance.now()); rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s: ${explain(this.all)}`)), timeoutMs);
      const check = () => {
        if (re.test(this.log)) finish(null, performance.now());
        else if (this.done) finish(new Error(explain(this.all)));
      };
      const finish = (err: Error | null, at = 0) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve(at);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves once ssh has exited, killing it after `timeoutMs`. */
  async exit(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => void this.stop(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  private killWatchdog(): void {
    if (this.watchdog) {
      try {
        process.kill(this.watchdog, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.watchdog = null;
  }

  async stop(): Promise<void> {
    // The watchdog first (its pid comes at once, before ssh starts), while ssh can reap it.
    await Promise.race([this.watchdogKnown, this.exited]);
    this.killWatchdog();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** How every run logs in: `ssh` (the program), the user's ssh(1) options, the destination. */
export interface OpensshLogin {
  ssh: string;
  /** The user's ssh(1) options, as given to pure-ssh-bench. */
  userArgs: string[];
  destination: string;
  /** Where each ssh process is registered while it runs. */
  cleanups: Cleanups;
}

/**
 * ssh's log on its standard output (see the top of this file), after the user's options: -E is
 * the one option where ssh keeps the last value (ssh.c: `logfile = optarg`).
 */
const OWN_LOG = ['-E', '/dev/stdout'];

/**
 * One handshake: ms from ssh's "Connecting to" (or "Executing proxy command") line to its
 * "Authenticated to" line. ControlMaster/ControlPath are turned off so a shared connection
 * from the user's configuration is never reused.
 */
export async function opensshHandshake(login: OpensshLogin, algs: PinnedAlgorithms, timeoutMs: number): Promise<number> {
  // ssh keeps the first value of each option: ours come first, then the user's.
  const args = ['-v', '-N', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', ...pinned(algs), ...login.userArgs, ...OWN_LOG, '--', login.destination];
  const p = new SshProcess(login.ssh, args, login.cleanups, true);
  try {
    const start = await p.waitFor(/debug1: (Connecting to |Executing proxy command)/, timeoutMs);
    const end = await p.waitFor(/Authenticated to /, timeoutMs);
    return end - start;
  } finally {
    await p.stop();
  }
}

let controlCount = 0;

/** A running ssh tunnel. */
export interface OpensshTunnel {
  /** Local forward ports, one per requested target, in order. */
  localPorts: number[];
  /** What ssh said it negotiated (from -v). */
  negotiated: { kex?: string; cipher?: string; mac?: string };
  /** The latest channel the server refused since the last call, as ssh logged it (`connect failed: ...`). */
  openFailure(): string | undefined;
  stop(): Promise<void>;
}

/**
 * A tunnel: `ssh -N -M` with a `-R 127.0.0.1:0:127.0.0.1:PORT` per loop endpoint, then `-O
 * forward -L 127.0.0.1:LP:HOST:PORT` through its control socket for each target; for a loop
 * target (`{ loop: PORT }`) the host and port are the server-side listener of that endpoint's
 * remote forward. `freePort()` picks the local ports.
 */
export async function opensshTunnel(
  login: OpensshLogin,
  algs: PinnedAlgorithms,
  targets: ({ loop: number } | { host: string; port: number })[],
  ctlDir: string,
  freePort: () => Promise<number>,
  timeoutMs: number,
): Promise<OpensshTunnel> {
  // A fresh name each time: a master killed hard leaves its socket behind, and ssh then refuses
  // to listen on that path ("ControlSocket ... already exists").
  const ctl = join(ctlDir, `c${++controlCount}`);
  const loops = targets.flatMap((t) => ('loop' in t ? [t.loop] : []));
  const args = [
    '-v', '-N', '-M', '-S', ctl,
    '-o', 'ControlPersist=no',
    '-o', 'BatchMode=yes',
    '-o', 'ExitOnForwardFailure=yes',
    ...pinned(algs),
    ...loops.flatMap((p) => ['-R', `127.0.0.1:0:127.0.0.1:${p}`]),
    ...login.userArgs,
    ...OWN_LOG,
    '--', login.destination,
  ];
  const master = new SshProcess(login.ssh, args, login.cleanups, true, ctlDir);
  try {
    const remote = new Map<number, number>();
    for (const p of loops) {
      // clientloop.c: logit("Allocated port %u for remote forward to %s:%d").
      const re = new RegExp(`Allocated port (\\d+) for remote forward to 127\\.0\\.0\\.1:${p}\\b`);
      await master.waitFor(re, timeoutMs);
      remote.set(p, Number(re.exec(master.ownLog)![1]));
    }
    await master.waitFor(/Entering interactive session/, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(ctl)) {
      if (Date.now() > deadline) throw new Error(`ssh's control socket did not appear: ${explain(master.output)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const localPorts: number[] = [];
    const fwd: string[] = [];
    for (const t of targets) {
      const lp = await freePort();
      localPorts.push(lp);
      fwd.push('-L', 'loop' in t ? `127.0.0.1:${lp}:127.0.0.1:${remote.get(t.loop)}` : `127.0.0.1:${lp}:${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`);
    }
    // A mux client (mux.c): asks the master and exits; registered like every ssh process.
    const add = new SshProcess(login.ssh, ['-S', ctl, '-O', 'forward', ...fwd, ...login.userArgs, '--', login.destination], login.cleanups, false);
    await add.exit(timeoutMs);
    if (add.exitCode !== 0) throw new Error(`ssh -O forward failed: ${explain(add.output)}`);
    // The destination's own kex lines: a ProxyJump hop's are on ssh's standard error.
    const pick = (re: RegExp) => re.exec(master.ownLog)?.[1];
    let seen = master.ownLog.length;
    return {
      localPorts,
      negotiated: {
        kex: pick(/kex: algorithm: (\S+)/),
        cipher: pick(/kex: server->client cipher: (\S+)/),
        mac: pick(/kex: server->client cipher: \S+ MAC: (\S+)/),
      },
      // channels.c channel_input_open_failure: logit("channel %d: open failed: %s%s%s").
      openFailure: () => {
        const failed = [...master.ownLog.slice(seen).matchAll(/channel \d+: open failed: ([^\r\n]*)/g)].pop()?.[1];
        seen = master.ownLog.length;
        return failed;
      },
      stop: () => master.stop(),
    };
  } catch (err) {
    await master.stop();
    throw err;
  }
}
