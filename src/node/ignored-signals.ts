/**
 * Which signals this process inherited as ignored (SIG_IGN): `nohup` ignores SIGHUP, a shell
 * without job control ignores SIGINT and SIGQUIT in a `&` job. clientloop.c client_loop installs
 * its SIGHUP, SIGINT, SIGQUIT and SIGTERM handlers only for a signal not already ignored (rsh(1)'s
 * rule), so such a job outlives the terminal or the script's Ctrl-C; the CLI does the same with
 * what this module reports.
 *
 * JavaScript cannot ask for a disposition. On Linux the kernel shows the ignored set as the
 * `SigIgn:` bitmask of /proc/self/status (bit N-1 for signal N), read once when this module loads.
 * That is what the parent left only where the runtime keeps inherited dispositions (Bun does).
 * Node resets every signal but SIGPIPE and SIGXFSZ to SIG_DFL before any script runs (node.cc
 * ResetSignalHandlers), so under Node the mask shows nothing inherited and the CLI keeps
 * catching these signals as before; so do other systems (no /proc) and Deno without read
 * permission on /proc. Reading it later would see our own handlers' effects, hence once, early.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

/** The signals clientloop.c sets handlers for (unless ignored). */
export type SessionSignal = 'SIGHUP' | 'SIGINT' | 'SIGQUIT' | 'SIGTERM';

/** The `SigIgn:` mask of a /proc/PID/status text, or undefined when it has none. */
export function parseSigIgn(status: string): bigint | undefined {
  const m = /^SigIgn:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Whether signal number `n` is set in a SigIgn mask. */
export function maskHas(mask: bigint, n: number): boolean {
  return ((mask >> BigInt(n - 1)) & 1n) === 1n;
}

function readStartMask(): bigint {
  if (process.platform !== 'linux') return 0n;
  try {
    return parseSigIgn(readFileSync('/proc/self/status', 'utf8')) ?? 0n;
  } catch {
    return 0n; // no /proc, or a runtime that may not read it (Deno without --allow-read=/proc)
  }
}

const startMask = readStartMask();

/** Whether `name` was ignored (SIG_IGN) when the process started, as far as can be known (see above). */
export function ignoredAtStart(name: SessionSignal): boolean {
  const n = osConstants.signals[name];
  return n !== undefined && maskHas(startMask, n);
}
