/**
 * Terminal questions for the CLI, as ssh(1)'s read_passphrase() asks them: on the controlling
 * terminal (/dev/tty), not on stdin/stdout, so redirected streams are never consumed; passwords
 * without echo; or through an SSH_ASKPASS program.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';

/** Raised when there is no terminal to ask on, or the user cancelled (Ctrl-C, Ctrl-\\). */
export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

function openTty(): { input: ReadStream; out: number } {
  let inFd: number;
  let outFd: number;
  try {
    inFd = openSync('/dev/tty', 'r');
  } catch {
    throw new PromptError('no terminal to ask on (/dev/tty cannot be opened)');
  }
  try {
    outFd = openSync('/dev/tty', 'w');
  } catch {
    closeSync(inFd);
    throw new PromptError('no terminal to ask on (/dev/tty cannot be opened)');
  }
  return { input: new ReadStream(inFd), out: outFd };
}

/**
 * The signals a terminal's ISIG would raise for these bytes (Ctrl-C, Ctrl-\\), which raw mode
 * hands over as bytes instead.
 */
const SIGNAL_BYTES: ReadonlyMap<number, NodeJS.Signals> = new Map([
  [0x03, 'SIGINT'],
  [0x1c, 'SIGQUIT'],
]);

/** Signals that end the process while the terminal is in raw mode: it is restored first, as readpassphrase(3) does. */
const RESTORE_ON: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM'];

/**
 * Read one line from the terminal. With `echo: false` (passwords) the terminal is put in raw
 * mode and nothing typed is shown; Backspace and Ctrl-U edit, and Ctrl-D is the end of file of
 * the canonical terminal readpassphrase(3) reads (ECHO off, ICANON on): on an empty line it ends
 * the answer with what was typed before it, "" when nothing (ssh then sends an empty password
 * and, refused, asks again; an empty passphrase skips the key); after some characters it hands
 * them over, out of reach of Backspace and Ctrl-U, and the line goes on.
 * Ctrl-C and Ctrl-\\ do what they do at ssh's prompt, where readpassphrase(3) leaves ISIG on and
 * the terminal sends SIGINT / SIGQUIT to its whole foreground process group (so a shell loop or
 * script around ssh stops too), then restores the terminal and ends by the signal: here the
 * terminal is restored first, then the signal is sent to the process group (kill(0, sig)), which
 * is the terminal's foreground group (a process outside it could not have read the byte: it would
 * have been stopped by SIGTTIN), this process included; the CLI's listener, or the default action,
 * ends it by the signal. Only a process that ignores the signal goes on, with the prompt
 * cancelled. SIGHUP, SIGINT, SIGQUIT and SIGTERM from elsewhere while the prompt is up restore the
 * terminal before the process's other listeners (or the default action) end it.
 */
export function readTerminalLine(question: string, opts: { echo: boolean }): Promise<string> {
  let tty: ReturnType<typeof openTty>;
  try {
    tty = openTty();
  } catch (err) {
    return Promise.reject(err);
  }
  const { input, out } = tty;
  return new Promise<string>((resolve, reject) => {
    let line = '';
    // The length of `line` the terminal has already handed over (a Ctrl-D after some characters).
    let flushed = 0;
    let done = false;
    const listeners = new Map<NodeJS.Signals, () => void>();
    // The terminal restored, the streams closed; true the first time only.
    const close = (): boolean => {
      if (done) return false;
      done = true;
      input.off('data', onData);
      for (const [sig, fn] of listeners) process.off(sig, fn);
      if (!opts.echo) {
        try {
          input.setRawMode(false);
        } catch {
          // the terminal went away
        }
        // Enter was swallowed by raw mode: move to the next line as the echoing terminal would.
        try {
          writeSync(out, '\n');
        } catch {
          // ignore
        }
      }
      input.destroy();
      closeSync(out);
      return true;
    };
    const finish = (err: Error | null) => {
      if (!close()) return;
      if (err) reject(err);
      else resolve(line);
    };
    // A signal from elsewhere (kill, a hang-up): the terminal restored, then the process's other
    // listeners run (the CLI's ends the process by it); with none, the default action.
    const onSignal = (sig: NodeJS.Signals) => {
      if (!close()) return;
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      reject(new PromptError('cancelled'));
    };
    const onData = (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a) return finish(null);
        const signal = SIGNAL_BYTES.get(byte);
        if (signal !== undefined) {
          close();
          // What the terminal's ISIG does: the signal to its foreground process group, ours.
          process.kill(0, signal);
          // A listener (the CLI's, before the session: it re-raises) ends the process on its
          // turn: no next prompt meanwhile. Still here without one: the signal is ignored.
          if (process.listenerCount(signal) > 0) return;
          return reject(new PromptError('cancelled'));
        }
        // termios VEOF: read(2) returns what the line holds, 0 bytes when it is empty, which ends
        // readpassphrase(3)'s loop with the answer so far (readpassphrase.c returns buf at EOF).
        if (byte === 0x04) {
          if (line.length === flushed) return finish(null);
          flushed = line.length;
          continue;
        }
        // VERASE and VKILL edit only what the terminal still holds.
        if (byte === 0x7f || byte === 0x08) line = line.length > flushed ? line.slice(0, -1) : line;
        else if (byte === 0x15) line = line.slice(0, flushed);
        else line += String.fromCharCode(byte);
      }
    };
    if (!opts.echo) {
      input.setRawMode(true);
      for (const sig of RESTORE_ON) {
        const fn = () => onSignal(sig);
        listeners.set(sig, fn);
        process.prependListener(sig, fn);
      }
    }
    // readpass.c read_passphrase: "\r" first, so the prompt starts its line and clobbers what
    // was typed ahead before echo went off.
    writeSync(out, `\r${question}`);
    input.on('data', onData);
    input.on('end', () => finish(new PromptError('the terminal closed')));
  }).then((s) => Buffer.from(s, 'latin1').toString('utf8'));
}

/** A password prompt without echo, on /dev/tty. */
export function readPassword(prompt: string): Promise<string> {
  return readTerminalLine(prompt, { echo: false });
}

/**
 * A yes/no question on /dev/tty (with echo); resolves with the raw answer, so callers that
 * accept more than yes/no (OpenSSH's host key question also takes a fingerprint) can.
 */
export function askQuestion(question: string): Promise<string> {
  return readTerminalLine(question, { echo: true });
}

/** Ask until the answer is yes or no (case-insensitive); true for yes. */
export async function askYesNo(question: string): Promise<boolean> {
  let q = question;
  for (;;) {
    const a = (await askQuestion(q)).trim().toLowerCase();
    if (a === 'yes') return true;
    if (a === 'no') return false;
    q = "Please type 'yes' or 'no': ";
  }
}

/**
 * ssh(1)'s SSH_ASKPASS: run the program with the prompt as its argument and take its standard
 * output, without the trailing newline, as the answer. A non-zero exit cancels.
 */
export function askPassProgram(program: string, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, [prompt], { encoding: 'utf8', maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err) return reject(new PromptError(`${program}: ${err.message}`));
      resolve(stdout.replace(/\r?\n$/, ''));
    });
  });
}

/**
 * readpass.c read_passphrase: SSH_ASKPASS_REQUIRE `force`, or `prefer` with a DISPLAY, is said
 * at each prompt as `debug1: read_passphrase: requested to askpass` (strcasecmp'd values).
 */
export function askPassRequested(env: Record<string, string | undefined>): boolean {
  const require = env.SSH_ASKPASS_REQUIRE?.toLowerCase();
  return require === 'force' || (require === 'prefer' && !!env.DISPLAY);
}

/** readpass.c _PATH_SSH_ASKPASS_DEFAULT as Debian builds it: run when SSH_ASKPASS is unset. */
export const SSH_ASKPASS_DEFAULT = '/usr/bin/ssh-askpass';

/**
 * The askpass program to run instead of the terminal, or undefined for the terminal, as ssh(1)'s
 * readpass.c read_passphrase decides: askpass is allowed only with a non-empty DISPLAY (or, as
 * OpenSSH 10 adds, WAYLAND_DISPLAY); SSH_ASKPASS_REQUIRE (compared without case) `force` uses it
 * and allows it regardless, `prefer` uses it when allowed, `never` forbids it; otherwise it is used
 * when allowed and there is no terminal. The program is SSH_ASKPASS, or ssh's default path.
 */
export function askPassFor(env: Record<string, string | undefined>, hasTerminal: boolean): string | undefined {
  let allowed = !!env.DISPLAY || !!env.WAYLAND_DISPLAY;
  let use = false;
  switch (env.SSH_ASKPASS_REQUIRE?.toLowerCase()) {
    case 'force':
      use = allowed = true;
      break;
    case 'prefer':
      use = allowed;
      break;
    case 'never':
      allowed = false;
      break;
  }
  if (!hasTerminal) use = true;
  return use && allowed ? (env.SSH_ASKPASS ?? SSH_ASKPASS_DEFAULT) : undefined;
}
