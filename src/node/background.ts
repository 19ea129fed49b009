/**
 * ssh(1) -f (ForkAfterAuthentication) without fork(2): the command starts itself again,
 * detached (its own session, standard input from /dev/null as with -n), with a pipe on which
 * the background copy writes `ready` once it is authenticated and every forward listens. The
 * foreground copy exits 0 only then; if the background copy fails first, its error has already
 * been printed (standard error is shared, as after ssh's daemon(1, 1)) and the foreground copy
 * exits with its status.
 */
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';

/** The variable marking the background copy; its value is the descriptor of the ready pipe. */
export const BACKGROUND_ENV = 'PURE_SSH_BACKGROUND_FD';

/** True in the copy started by {@link goBackground}. */
export function isBackgroundCopy(): boolean {
  return process.env[BACKGROUND_ENV] !== undefined;
}

/**
 * Start the background copy with the same arguments and wait for its verdict: exits 0 once it
 * reported ready, or with its exit status (255 if it died from a signal). Never returns.
 */
export function goBackground(): Promise<never> {
  return new Promise<never>(() => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, [BACKGROUND_ENV]: '3' },
    });
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    let text = '';
    let ready = false;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => {
      text += d;
      if (!ready && text.includes('ready\n')) {
        ready = true;
        child.unref();
        process.exit(0);
      }
    });
    child.on('exit', (code) => {
      if (!ready) process.exit(code ?? 255);
    });
    child.on('error', (err) => {
      process.stderr.write(`pure-ssh: cannot go to the background: ${err.message}\n`);
      process.exit(255);
    });
  });
}

/** In the background copy: tell the foreground copy that everything is up, once. */
export function reportReady(): void {
  const fd = Number(process.env[BACKGROUND_ENV]);
  if (!Number.isInteger(fd)) return;
  delete process.env[BACKGROUND_ENV];
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
  } catch {
    // The foreground copy is gone already: nothing to tell.
  }
}
