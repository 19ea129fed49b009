/**
 * ssh_config(5) ConnectionAttempts as OpenSSH 9.2's sshconnect.c ssh_connect_direct makes them:
 * the TCP connect tried up to N times, one second apart (`Trying again...`), each address that
 * refuses said at debug level (`connect to address ADDR port P: ERROR`); the last try's failure is
 * the connection's (`ssh: connect to host HOST port P: ERROR`). Only a socket of our own: a
 * ProxyCommand, a jump host's channel or a caller's stream is never retried, as ssh retries only
 * its direct connect. Node only.
 */
import type { Socket } from 'node:net';
import { abortedBySignal, untilAborted } from '../user-callback.js';
import { gaiStrerror, strerror } from './strerror.js';

/**
 * sshconnect.c ssh_connect_direct's debug line for each address a connect failed on:
 * `connect to address 127.0.0.1 port 22: Connection refused`. Node names the addresses it tries
 * (net.Socket's `connectionAttempt` events); a try cut short by a timer of ours (ConnectTimeout,
 * a destroy with ETIMEDOUT) is said for the address being tried.
 */
export function sayConnectFailures(sock: Socket, debug: (message: string) => void): void {
  let trying: { ip: string; port: number } | undefined;
  sock.on('connectionAttempt', (ip: string, port: number) => (trying = { ip, port }));
  sock.on('connectionAttemptFailed', (ip: string, port: number, _family: number, err: NodeJS.ErrnoException) => {
    trying = undefined;
    debug(`connect to address ${ip} port ${port}: ${strerror(err)}`);
  });
  sock.once('connect', () => (trying = undefined));
  sock.once('error', (err: NodeJS.ErrnoException) => {
    if (trying) debug(`connect to address ${trying.ip} port ${trying.port}: ${strerror(err)}`);
    trying = undefined;
  });
}

/** How {@link connectAttempts} opens and times each try. */
export interface ConnectAttemptsOptions {
  /** ConnectionAttempts: how many connects to try, a whole number >= 1. */
  attempts: number;
  /** Opens one try's socket, connecting (with an 'error' listener: a failed try is not reported). */
  open: () => Socket;
  /** Milliseconds a try before the last may take, 0: none of ours (the socket may time itself). */
  timeout?: number;
  debug?: (message: string) => void;
  /** Ends the tries (the socket being tried is destroyed) with abortedBySignal's error. */
  signal?: AbortSignal;
}

/**
 * Tries to connect up to `attempts` times, one second apart, as ssh(1) does: resolves with the
 * first socket that connected, or with the last try's socket still connecting, whose failure is
 * then reported as a single try's is (a one-try call returns its socket at once). A name that
 * does not resolve ends the tries at once, its socket returned failed: ssh resolves it once,
 * before its first try (ssh.c resolve_host), and exits there. `started` is
 * when the returned socket's connect began (`performance.now()`): ssh times ConnectTimeout from
 * each try's start.
 *
 * @example
 * const { sock } = await connectAttempts({ attempts: 3, open: () => net.connect({ host, port }).on('error', () => {}) });
 */
export async function connectAttempts(o: ConnectAttemptsOptions): Promise<{ sock: Socket; started: number }> {
  const { signal } = o;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortedBySignal(signal);
    const started = performance.now();
    const sock = o.open();
    if (attempt >= o.attempts) return { sock, started };
    const outcome = await connects(sock, o.timeout ?? 0, signal);
    if (outcome === true || (outcome && gaiStrerror(outcome) !== undefined)) return { sock, started };
    sock.destroy();
    // sshconnect.c: sleep(1), then debug("Trying again...").
    await pause(1000, signal);
    o.debug?.('Trying again...');
  }
}

/**
 * Whether `sock` connects: true, or once it closed (after `timeout` ms it is destroyed with
 * ETIMEDOUT; on abort, destroyed) its error, false without one.
 */
function connects(sock: Socket, timeout: number, signal: AbortSignal | undefined): Promise<true | NodeJS.ErrnoException | false> {
  return new Promise((resolve) => {
    const timer = timeout > 0
      ? setTimeout(() => sock.destroy(Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' })), timeout)
      : undefined;
    const onAbort = () => sock.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (outcome: true | NodeJS.ErrnoException | false) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    sock.once('connect', () => done(true));
    sock.once('close', () => done((sock.errored as NodeJS.ErrnoException | null) ?? false));
  });
}

/** `ms` of waiting, cut short by `signal` (untilAborted: abortedBySignal's error); the timer cleared either way. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return untilAborted(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), signal).finally(() => clearTimeout(timer));
}
