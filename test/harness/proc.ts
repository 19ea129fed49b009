/**
 * Process hygiene for servers the tests start: find descendants through /proc, kill whole
 * trees, and make sure nothing outlives the test process however it ends.
 *
 * Two layers, because vitest stops its fork workers with SIGTERM (no 'exit' event) and may
 * SIGKILL them: a process 'exit' hook for the ordinary end, and a per-server watchdog, a tiny
 * `sh` whose stdin is a pipe from us; when this process dies by any means the pipe reaches EOF
 * and the watchdog kills the server's tree and removes its temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

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
