/**
 * Terminal questions for the CLI, as ssh(1)'s read_passphrase() asks them: on the controlling
 * terminal (/dev/tty), not on stdin/stdout, so redirected streams are never consumed; passwords
 * without echo; or through an SSH_ASKPASS program.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { strerror } from './strerror.js';

/** Raised when there is no terminal to ask on, or the user cancelled (Ctrl-C, Ctrl-\\). */
export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

function openTty(): { input: ReadStream; inFd: number; out: number } {
  let inFd: number;
  let outFd: number;
  try {
    // Non-blocking, so that discardTypeahead's reads end when the terminal holds nothing.
    inFd = openSync('/dev/tty', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    throw new PromptError('no terminal to ask on (/dev/tty cannot be opened)');
  }
  try {
    outFd = openSync('/dev/tty', 'w');
  } catch {
    closeSync(inFd);
    throw new PromptError('no terminal to ask on (/dev/tty cannot be opened)');
  }
  return { input: new ReadStream(inFd), inFd, out: outFd };
}

/**
 * What was typed before the prompt, discarded: readpassphrase(3) sets the terminal's mode with
 * TCSAFLUSH, which drops the input queue, so text typed ahead (or piped into a terminal) cannot
 * answer a question it was not typed for, such as the host-key question. Node has no tcflush:
 * the queue is read empty instead, in raw mode so that a partial line is readable too, from the
 * non-blocking descriptor ({@link openTty}), until the read would block. Left in raw mode only
 * for a prompt without echo (a password's).
 */
function discardTypeahead(input: ReadStream, fd: number, echo: boolean): void {
  try {
    input.setRawMode(true);
  } catch (err) {
    // Without raw mode a password would be echoed: that prompt fails; a question is asked as is.
    if (!echo) throw err;
    return;
  }
  const buf = Buffer.alloc(4096);
  try {
    // Bounded: a terminal fed faster than it is read cannot keep the prompt from appearing.
    for (let i = 0; i < 256 && readSync(fd, buf, 0, buf.length, null) > 0; i++);
  } catch {
    // EAGAIN: the queue is empty.
  }
  if (echo) input.setRawMode(false);
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
  const { input, inFd, out } = tty;
  try {
    discardTypeahead(input, inFd, opts.echo);
  } catch (err) {
    input.destroy();
    closeSync(out);
    return Promise.reject(err);
  }
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
      // (Raw since discardTypeahead.)
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

/** The environment the prompts read (DISPLAY, WAYLAND_DISPLAY, SSH_ASKPASS, SSH_ASKPASS_REQUIRE). */
export type PromptEnv = Record<string, string | undefined>;

/** ssh's askpass buffer (readpass.c ssh_askpass: `char buf[1024]`, read up to 1023 bytes). */
const ASKPASS_MAX = 1023;

/**
 * ssh(1)'s SSH_ASKPASS (readpass.c ssh_askpass): run the program with the prompt as its one
 * argument (found on PATH as execlp(3) finds it), its standard input and error this process's,
 * and take the first 1023 bytes of its standard output up to the first CR or LF as the answer.
 * A program that cannot be run, exits non-zero or is killed gives null; one that cannot be run is
 * also said as ssh's forked child says it (`ssh_askpass: exec(PROGRAM): REASON`) through `error`.
 * `hint` is set as SSH_ASKPASS_PROMPT (ssh sets it only for its ask_permission() questions); the
 * rest of the environment is `env`.
 */
export function runAskPass(program: string, prompt: string, opts: { env?: PromptEnv; hint?: string; error?: (line: string) => void } = {}): Promise<string | null> {
  const env = { ...(opts.env ?? process.env), ...(opts.hint !== undefined ? { SSH_ASKPASS_PROMPT: opts.hint } : {}) };
  const execFailed = (err: NodeJS.ErrnoException): null => {
    opts.error?.(`ssh_askpass: exec(${program}): ${strerror(err)}`);
    return null;
  };
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(program, [prompt], { env, stdio: ['inherit', 'pipe', 'inherit'] });
    } catch (err) {
      // Node refuses an empty program name before trying: execlp("") fails with ENOENT.
      return resolve(execFailed({ ...(err as Error), code: 'ENOENT' }));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (size < ASKPASS_MAX) chunks.push(d.subarray(0, ASKPASS_MAX - size));
      size += d.length;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      failed = true;
      resolve(execFailed(err));
    });
    child.on('close', (code) => {
      if (failed) return;
      const out = Buffer.concat(chunks);
      if (code !== 0) return resolve(null);
      const text = out.toString('utf8');
      out.fill(0);
      resolve(text.slice(0, text.search(/[\r\n]|$/)));
    });
  });
}

/**
 * readpass.c read_passphrase's askpass policy: askpass is allowed with a non-empty DISPLAY (or,
 * as OpenSSH 10 adds, WAYLAND_DISPLAY); SSH_ASKPASS_REQUIRE, compared without case, `force`
 * requests it and allows it regardless, `prefer` requests it when allowed, `never` forbids it.
 */
function askPassPolicy(env: PromptEnv): { allowed: boolean; requested: boolean } {
  let allowed = !!env.DISPLAY || !!env.WAYLAND_DISPLAY;
  let requested = false;
  switch (env.SSH_ASKPASS_REQUIRE?.toLowerCase()) {
    case 'force':
      requested = allowed = true;
      break;
    case 'prefer':
      requested = allowed;
      break;
    case 'never':
      allowed = false;
      break;
  }
  return { allowed, requested };
}

/** readpass.c _PATH_SSH_ASKPASS_DEFAULT as Debian builds it: run when SSH_ASKPASS is unset. */
export const SSH_ASKPASS_DEFAULT = '/usr/bin/ssh-askpass';

/**
 * Why the controlling terminal cannot be opened, as read_passphrase tries it (open(_PATH_TTY,
 * O_RDWR), then closed); undefined when it opens. Neither stdin nor stderr being a terminal
 * matters: a process under `script` with stdin from /dev/null has one, one started by setsid has
 * none whatever its streams are.
 */
export function controllingTerminalError(): NodeJS.ErrnoException | undefined {
  try {
    closeSync(openSync('/dev/tty', 'r+'));
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** Options of {@link readPassphrase}. */
export interface ReadPassphraseOptions {
  /** Show what is typed (read_passphrase's RP_ECHO: questions); default off (passwords, passphrases). */
  echo?: boolean;
  /** The environment that decides on askpass; default process.env. */
  env?: PromptEnv;
  /** ssh's debug1 lines: `read_passphrase: requested to askpass`, `read_passphrase: can't open /dev/tty: REASON`. */
  debug?: (line: string) => void;
  /** An askpass program that cannot be run (`ssh_askpass: exec(PROGRAM): REASON`). */
  error?: (line: string) => void;
}

/**
 * One prompt as ssh(1)'s readpass.c read_passphrase asks it with flags 0 (passwords, passphrases,
 * keyboard-interactive answers) or RP_ECHO (the host key question), the one decision every CLI
 * prompt goes through: askpass when requested (SSH_ASKPASS_REQUIRE `force`, `prefer` with a
 * display), else the controlling terminal /dev/tty when it opens, else askpass; askpass only when
 * allowed (see askPassPolicy), the terminal otherwise. Never rejects: what ssh gets as "" when
 * the answer is missing is "" here too: no terminal (readpassphrase(3) with RPP_REQUIRE_TTY
 * fails), Ctrl-D on an empty line, an askpass program that fails or exits non-zero. ssh then
 * sends the empty password (and asks again, NumberOfPasswordPrompts times), skips the key, or
 * takes the question's answer as no.
 */
export async function readPassphrase(prompt: string, opts: ReadPassphraseOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const { allowed, requested } = askPassPolicy(env);
  let useAskPass = requested;
  if (requested) opts.debug?.('read_passphrase: requested to askpass');
  else {
    const err = controllingTerminalError();
    if (err !== undefined) {
      opts.debug?.(`read_passphrase: can't open /dev/tty: ${strerror(err)}`);
      useAskPass = true;
    }
  }
  if (useAskPass && allowed) {
    return (await runAskPass(env.SSH_ASKPASS ?? SSH_ASKPASS_DEFAULT, prompt, { env, error: opts.error })) ?? '';
  }
  try {
    return await readTerminalLine(prompt, { echo: opts.echo === true });
  } catch {
    // No terminal after all, or it closed, or a signal the process ignores cancelled it.
    return '';
  }
}
