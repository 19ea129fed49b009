/**
 * Runs the built `pure-ssh` (the installed bin, so `npm run build` first) as a child process and
 * watches its stderr, for tests that need the real command's process (its pid, signals, fds).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cliEnv, processHome } from '../harness/home.js';
import { CLI_BIN_PATH } from '../harness/proc.js';

/**
 * The built command as package.json's `bin.pure-ssh` installs it (dist/node/cli-bin.cjs): the
 * same CLI as dist/node/cli.js, bundled from tsc's output, at about half its start-up CPU
 * (`-G`: 0.24 s against 0.47 s), which is most of what a CLI run in these tests costs.
 */
export const CLI = CLI_BIN_PATH;

/** A running pure-ssh. */
export interface CliRun {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  /** Resolves once stderr matches; rejects with what was printed on timeout or exit. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running, and wait for the exit. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Start `node dist/node/cli-bin.cjs ...args` with stdin from /dev/null. `detached`: a new session
 * without a controlling terminal, so /dev/tty cannot be opened. `env` defaults to
 * `cliEnv(processHome())`: a temporary passwd home, never the real user's ~/.ssh (throws when
 * nss_wrapper is missing, see ../harness/home.ts).
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; execArgv?: string[]; detached?: boolean } = {}): CliRun {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [...(opts.execArgv ?? []), CLI, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: opts.env ?? cliEnv(processHome()),
    detached: opts.detached ?? false,
  });
  running.add(child);
  let err = '';
  const listeners = new Set<() => void>();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    err += d;
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
      for (const l of listeners) l();
    }),
  );
  return {
    child,
    pid: child.pid!,
    stderr: () => err,
    exited,
    waitFor(re, ms = 15_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(err)) done(null);
          else if (child.exitCode !== null || child.signalCode !== null)
            done(new Error(`pure-ssh exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${err}`));
        };
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}; stderr:\n${err}`)), ms);
        const done = (e: Error | null) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (e) reject(e);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
