/**
 * ssh(1) -f (ForkAfterAuthentication) without fork(2): the command starts itself again,
 * detached (its own session, standard input from /dev/null as with -n), with a pipe on which
 * the background copy writes `ready` once it is authenticated and every forward listens. The
 * foreground copy exits 0 only then; if the background copy fails first, its error has already
 * been printed and the foreground copy exits with its status.
 *
 * Standard output and error as ssh.c fork_postauth leaves them after daemon(1, 1) and
 * stdfd_devnull(): the background copy's standard output is /dev/null, and so is its standard
 * error unless `-v` was given with the log on stderr (no `-E`), when it keeps the caller's. Until
 * it is ready, what it writes to stderr (warnings, errors) travels in order on the ready pipe
 * and the foreground copy prints it, so `x=$(pure-ssh -f …)` or `pure-ssh -f … 2>&1 | cat`
 * return once the tunnel is up instead of waiting for the background copy to exit.
 */
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { commandLineArgs, rawArgsEnv } from './raw-argv.js';

/** The variable marking the background copy; its value is the descriptor of the ready pipe. */
export const BACKGROUND_ENV = 'PURE_SSH_BACKGROUND_FD';

/** Set in the background copy whose stderr is /dev/null: until ready, stderr goes on the pipe. */
const RELAY_ENV = 'PURE_SSH_BACKGROUND_RELAY';

/**
 * Set with {@link RELAY_ENV} for a proxied route: the descriptor holding the caller's stderr, which
 * the jump hosts' lines and a ProxyCommand keep (ssh starts them before its fork, with its stderr).
 */
const CALLER_STDERR_ENV = 'PURE_SSH_BACKGROUND_STDERR_FD';

/**
 * Frames on the ready pipe, one per line: `e` + base64 of bytes written to stderr, or `ready`.
 * (Lines, so a frame split across reads is put together by the reader.)
 */
const READY = 'ready';

/** True in the copy started by {@link goBackground}. */
export function isBackgroundCopy(): boolean {
  return process.env[BACKGROUND_ENV] !== undefined;
}

/**
 * Start the background copy with the same arguments and wait for its verdict: exits 0 once it
 * reported ready, or with its exit status (255 if it died from a signal). Never returns.
 * `proxied`: the route starts processes of its own (ProxyJump's hops, a ProxyCommand), which
 * ssh(1) starts before its fork with its stderr: the copy is then given the caller's stderr as
 * well ({@link callerStderrFd}), and holds it as long as ssh's hop processes would.
 */
export function goBackground(keepStderr: boolean, proxied = false, keepStdio = false): Promise<never> {
  const giveStderr = !keepStderr && proxied;
  // -f -W: ssh.c ssh_init_stdio_forwarding dups stdin and stdout for the channel before the fork,
  // so the background ssh forwards the caller's; the copy is given them likewise.
  const stdio = keepStdio ? 'inherit' : 'ignore';
  return new Promise<never>(() => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      detached: true,
      stdio: [stdio, stdio, keepStderr ? 'inherit' : 'ignore', 'pipe', ...(giveStderr ? [2] : [])],
      env: { ...process.env, ...rawArgsEnv(commandLineArgs(process.argv.slice(2))), [BACKGROUND_ENV]: '3', ...(keepStderr ? {} : { [RELAY_ENV]: '1' }), ...(giveStderr ? { [CALLER_STDERR_ENV]: '4' } : {}) },
    });
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    let text = '';
    let ready = false;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => {
      text += d;
      let nl: number;
      while (!ready && (nl = text.indexOf('\n')) >= 0) {
        const frame = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (frame === READY) {
          ready = true;
          child.unref();
          process.exit(0);
        } else if (frame.startsWith('e')) {
          process.stderr.write(Buffer.from(frame.slice(1), 'base64'));
        }
      }
    });
    // 'close', not 'exit': the pipe's last frames (the error that ended it) are read by then.
    child.on('close', (code) => {
      if (!ready) process.exit(code ?? 255);
    });
    child.on('error', (err) => {
      process.stderr.write(`pure-ssh: cannot go to the background: ${err.message}\n`);
      process.exit(255);
    });
  });
}

/**
 * In the background copy, at start: until {@link reportReady}, stderr's writes go to the
 * foreground copy on the ready pipe (synchronously, in order) when this copy's own stderr is
 * /dev/null. A no-op in any other process.
 */
export function relayStderrUntilReady(): void {
  const fd = Number(process.env[BACKGROUND_ENV]);
  if (!Number.isInteger(fd) || process.env[RELAY_ENV] === undefined) return;
  delete process.env[RELAY_ENV];
  const caller = Number(process.env[CALLER_STDERR_ENV]);
  delete process.env[CALLER_STDERR_ENV];
  if (Number.isInteger(caller)) callerStderr = caller;
  const stderr = process.stderr;
  const original = stderr.write;
  relayed = { stderr, original };
  stderr.write = function relayWrite(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
    try {
      writeSync(fd, `e${bytes.toString('base64')}\n`);
    } catch {
      // The foreground copy is gone: nobody to show it to.
    }
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  } as typeof stderr.write;
}

let relayed: { stderr: NodeJS.WriteStream; original: NodeJS.WriteStream['write'] } | undefined;

let callerStderr: number | undefined;

/**
 * In the background copy whose own stderr is /dev/null: the descriptor of the caller's stderr
 * (what ssh's jump host processes keep writing to after its fork). Undefined in any other process.
 */
export function callerStderrFd(): number | undefined {
  return callerStderr;
}

/** In the background copy: tell the foreground copy that everything is up, once. */
export function reportReady(): void {
  const fd = Number(process.env[BACKGROUND_ENV]);
  if (!Number.isInteger(fd)) return;
  delete process.env[BACKGROUND_ENV];
  try {
    writeSync(fd, `${READY}\n`);
    closeSync(fd);
  } catch {
    // The foreground copy is gone already: nothing to tell.
  }
  // From here on stderr is this copy's own: /dev/null, or the caller's with -v (ssh.c).
  if (relayed) relayed.stderr.write = relayed.original;
  relayed = undefined;
}
