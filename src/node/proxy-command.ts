/**
 * ssh_config(5) ProxyCommand: the SSH connection runs over a command's standard input and
 * output instead of a TCP socket. The command runs as `$SHELL -c 'exec COMMAND'` (/bin/sh when
 * SHELL is unset or empty, sshconnect.c ssh_proxy_connect); its standard error is the user's; when the connection ends
 * the command gets SIGHUP, as OpenSSH does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import { ConnectionLostError, UsageError } from '../errors.js';
import { checkCallKeys, checkOptionTypes, show } from '../option-check.js';
import { KEX_IDENTIFICATION_CLOSED } from '../quit-message.js';

/**
 * How long after the command's output ended its exit still counts as "the command had exited":
 * the kernel closes an exiting process's pipes before its parent hears of the exit (SIGCHLD,
 * then Node's 'exit'), a matter of a millisecond or so. ssh(1) writes at once, so what it says
 * depends on that race (measured against sshd 9.2 for a killed `nc`, `socat`, `ssh -W` and a
 * relay that exits: mostly the failed DISCONNECT, now and then the closed connection); pure-ssh
 * says the failed DISCONNECT for a command that exits within this, and the closed connection for
 * one still running after it, a relay that closed its output and still reads its input (ssh's
 * write always succeeds then). Commands that end on their own close their output a few ms
 * before they exit (socat, `ssh -W`, a relay: 0.4 to 13 ms measured), too close to a kill to
 * tell apart: they count as exited.
 */
export const PROXY_EXIT_GRACE_MS = 200;

/** Options of {@link proxyCommandStream}. */
export interface ProxyCommandOptions {
  /** Where the command's standard error goes: the user's (default), discarded, or this descriptor. */
  stderr?: 'inherit' | 'ignore' | number;
  /** Diagnostic lines (like ssh -v). */
  debug?: (message: string) => void;
}

/**
 * How a proxy command ended: the `cause` of the ConnectionLostError its stream fails with when
 * the command exits before the server spoke, and the cause of that error's `EPIPE` cause when it
 * exits during the session. `status` is its exit status, or null when a signal ended it.
 */
export class ProxyCommandExit extends Error {
  /** `exited with status N` or `was killed by SIGNAL`. */
  readonly how: string;
  constructor(
    /** The command as given (run as `exec COMMAND`). */
    readonly command: string,
    readonly status: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${status}`;
    super(`the proxy command ${how}: ${command}`);
    this.name = 'ProxyCommandExit';
    this.how = how;
  }
}

/** The command's exit, once it has exited. */
function exitOf(command: string, child: ChildProcess): ProxyCommandExit | undefined {
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return new ProxyCommandExit(command, child.signalCode !== null ? null : child.exitCode, child.signalCode);
}

/**
 * The command's stdio as one Duplex, for `connect({ sock })`. If the command ends before it
 * printed anything, the stream fails with OpenSSH's words for a server that closed before its
 * version line, then the command's exit: `kex_exchange_identification: Connection closed by
 * remote host: the proxy command exited with status 3`, its `cause` a {@link ProxyCommandExit}
 * naming the command (just ssh's words for a command whose output closed and that has not
 * exited a second later). If its output ends later and the command has exited, the stream fails
 * with a ConnectionLostError naming the exit (`the proxy command was killed by SIGKILL during
 * the session`); a command still running ends the stream as a closed socket does (see
 * {@link PROXY_EXIT_GRACE_MS}). What the command writes to its standard error goes where
 * {@link ProxyCommandOptions.stderr} says (the process's own stderr by default), before the
 * stream fails.
 */
export class ProxyCommandStream extends Duplex {
  /** The running command (`$SHELL -c 'exec ...'`). */
  readonly child: ChildProcess;
  /** The command as given (run as `exec COMMAND`). */
  readonly command: string;
  private received = false;

  constructor(command: string, options: ProxyCommandOptions = {}) {
    // The caller's mistakes before anything runs: a command that is no string was run as its
    // String() (`exec 5`), a misspelt option (stdErr) ignored, and stderr 'pipe' left a pipe
    // nobody reads (a chatty command then blocks once it is full).
    if (typeof command !== 'string' || command.trim() === '') throw new UsageError(`proxyCommandStream: the command must be a non-empty string, got ${show(command)}`);
    checkCallKeys('proxyCommandStream', options, { stderr: 0, debug: 0 });
    checkOptionTypes(options ?? {}, { debug: 'f' }, 'proxyCommandStream: ');
    const err = options?.stderr;
    if (err !== undefined && err !== 'inherit' && err !== 'ignore' && !(Number.isSafeInteger(err) && (err as number) >= 0)) {
      throw new UsageError(`proxyCommandStream: stderr must be 'inherit', 'ignore' or a file descriptor, got ${show(err)}`);
    }
    super({ allowHalfOpen: false });
    this.command = command;
    options.debug?.(`Executing proxy command: exec ${command}`);
    // sshconnect.c ssh_proxy_connect: the user's shell, as for Match exec (so bash syntax works).
    const shell = process.env.SHELL || '/bin/sh';
    const child = spawn(shell, ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'] });
    this.child = child;
    const out = child.stdout!;
    const input = child.stdin!;
    // A proxy that exits leaves its stdin closed under our writes (EPIPE): its exit says why.
    input.on('error', () => {});
    out.on('data', (d: Buffer) => {
      this.received = true;
      if (!this.push(d)) out.pause();
    });
    // Closed before the server's first byte: OpenSSH's words for it (kex_exchange_identification),
    // said once the command has exited (or after a short grace), so what it wrote to stderr
    // comes first and the error does not depend on which of 'end' and 'exit' Node reports first.
    // The command's exit, which ssh(1) does not report, is the message's tail and its cause.
    let grace: NodeJS.Timeout | undefined;
    const failEarly = (): void => {
      clearTimeout(grace);
      if (this.received || this.destroyed) return;
      const exit = exitOf(command, child);
      this.destroy(
        exit
          ? new ConnectionLostError(`${KEX_IDENTIFICATION_CLOSED}: the proxy command ${exit.how}`, { cause: exit })
          : new ConnectionLostError(KEX_IDENTIFICATION_CLOSED),
      );
    };
    out.on('end', () => {
      if (this.received) return this.outputEnded();
      if (child.exitCode !== null || child.signalCode !== null) return failEarly();
      grace = setTimeout(failEarly, 1000);
      child.once('exit', failEarly);
    });
    child.on('error', (err) => this.destroy(new ConnectionLostError(`proxy command failed: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      options.debug?.(`proxy command exited (${code ?? signal})`);
      // Node may hear of the exit before it has read the command's last output (the kernel
      // closes the pipe as the process exits): 'end' decides, which follows at once; a pipe
      // that a process the command started still holds open does not hold the error back long.
      if (!this.received && !this.destroyed && !out.readableEnded) grace = setTimeout(failEarly, PROXY_EXIT_GRACE_MS);
    });
  }

  /**
   * Whether the command had exited when its output ended during the session (see
   * {@link PROXY_EXIT_GRACE_MS}): ssh(1)'s SSH2_MSG_DISCONNECT then goes into a pipe no one reads.
   */
  get exitedInSession(): boolean {
    return this.lostToExit;
  }

  private lostToExit = false;

  /**
   * The command's standard output ended after the server spoke. ssh(1) (clientloop.c) notes
   * "Connection to HOST closed by remote host." and leaves its loop, then writes its
   * SSH2_MSG_DISCONNECT into the command's standard input: that succeeds while the command runs
   * (it only closed its output), and the noted line is printed; it fails with EPIPE once the
   * command has exited, and ssh ends on `client_loop: send disconnect: Broken pipe`. Which of
   * the two ssh meets when the command exits is a race between the kernel closing the command's
   * two pipes and ssh's write; pure-ssh decides by the command's exit instead, see
   * {@link PROXY_EXIT_GRACE_MS}. Here the stream then fails with a ConnectionLostError naming
   * the exit, and {@link exitedInSession} is true; otherwise it ends as a closed socket does.
   */
  private outputEnded(): void {
    const child = this.child;
    // Our own end of the session (our DISCONNECT already went): nothing for ssh to write.
    if (this.writableEnded) return void this.push(null);
    let decided = false;
    const exited = (): void => {
      clearTimeout(grace);
      if (decided || this.destroyed) return;
      decided = true;
      this.lostToExit = true;
      failOnceRead();
    };
    // destroy() drops what is still buffered, and ssh(1) reads the pipe to its end first: a
    // command that printed its lines and exited before the client began to read (it loads its
    // keys meanwhile) still has them read, e.g. an identification line (kex.c then reports the
    // close after it, not before it).
    const failOnceRead = (): void => {
      if (this.destroyed) return;
      if (this.readableFlowing !== true || this.readableLength > 0) return void setTimeout(failOnceRead, 5);
      const exit = exitOf(this.command, child)!;
      // ssh(1)'s DISCONNECT meets the exited command's pipe (EPIPE); the exit is that error's cause.
      const cause = Object.assign(new Error('Broken pipe', { cause: exit }), { code: 'EPIPE' });
      this.destroy(new ConnectionLostError(`the proxy command ${exit.how} during the session`, { cause }));
    };
    const running = (): void => {
      if (decided) return;
      decided = true;
      child.off('exit', exited);
      if (!this.destroyed) this.push(null);
    };
    // Decided after the next poll: an exit that came while this process was not scheduled (a
    // loaded machine) is heard first, not taken for a command still running.
    const grace = setTimeout(() => setImmediate(running), PROXY_EXIT_GRACE_MS);
    if (child.exitCode !== null || child.signalCode !== null) exited();
    else child.once('exit', exited);
  }

  /** @internal */
  override _read(): void {
    this.child.stdout?.resume();
  }

  /** @internal */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const input = this.child.stdin!;
    if (input.destroyed) return callback();
    if (input.write(chunk)) callback();
    else input.once('drain', () => callback());
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin?.end();
    callback();
  }

  /** @internal */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // sshconnect.c / ssh.c: the proxy command is sent SIGHUP when the connection is over.
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGHUP');
    callback(err);
  }
}

/**
 * Start a ProxyCommand (tokens already expanded) and return its stdio as a stream to pass as
 * `connect({ sock })`.
 *
 * @example
 * ```ts
 * const sock = proxyCommandStream('ssh -W %h:%p bastion'.replace('%h', 'db').replace('%p', '22'));
 * const ssh = await connect({ host: 'db', username: 'joe', sock, knownHosts: '~/.ssh/known_hosts' });
 * ```
 */
export function proxyCommandStream(command: string, options: ProxyCommandOptions = {}): ProxyCommandStream {
  return new ProxyCommandStream(command, options);
}
