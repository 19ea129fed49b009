/**
 * The application's verdict on the server's host key, as every adapter asks for it (Node's
 * `verifyHostKey`/known_hosts verifier, pure-ssh/web's): the verifier accepts by returning (or
 * resolving with) nothing or `true`, and refuses by throwing, rejecting or returning `false`
 * (ssh2's hostVerifier style). Any other result (`0`, `'no'`, null) refuses the key with a
 * UsageError saying so: it is no answer, and a key is never accepted on a guess.
 * Runtime-neutral: no `node:*`.
 */
import { HostKeyError, SshError, UsageError } from '../errors.js';
import { show } from '../option-check.js';

/** What a refusal names. */
export interface HostKeyVerdictInfo {
  host: string;
  keyType: string;
  fingerprint: string;
}

/**
 * Run `verify` and settle on undefined (accepted) or the SshError to close the connection with:
 * the verifier's own SshError as is, anything else wrapped in a HostKeyError 'rejected'
 * (RFC 4253 §8: the client must be able to refuse the server's key).
 */
export async function hostKeyVerdict(verify: () => unknown, info: HostKeyVerdictInfo): Promise<SshError | undefined> {
  try {
    const verdict = await verify();
    if (verdict === false) throw new Error('the verifyHostKey callback returned false');
    // `0`, `'no'`, null: the caller meant something, and a key is never accepted on a guess.
    if (verdict !== undefined && verdict !== true) {
      return new UsageError(`verifyHostKey must return true, false or nothing, got ${show(verdict)}: the host key is refused`);
    }
    return undefined;
  } catch (err) {
    if (err instanceof SshError) return err;
    return new HostKeyError('rejected', {
      host: info.host,
      keyType: info.keyType,
      fingerprint: info.fingerprint,
      message: `Host key verification failed: ${(err as Error)?.message ?? err}`,
    });
  }
}

/**
 * known_hosts and the application's callback together (connect()'s `knownHosts` and
 * `verifyHostKey`): known_hosts speaks first, read only. A key it records as changed or revoked
 * (or a certificate whose CA or key is `@revoked`) is refused whatever the callback would say,
 * and the callback is not asked (ssh_config(5): a changed key is refused even with
 * StrictHostKeyChecking=no). A key it lists, or a host certificate a `@cert-authority` line
 * vouches for, is still shown to the callback, which may refuse it. A key it does not list
 * (HostKeyError 'unknown') is the callback's to decide; nothing is written to known_hosts.
 *
 * @example
 * const verify = knownHostsThenCallback(knownHostsTextVerifier(known), (info) => info.keyType === 'ssh-ed25519');
 */
export function knownHostsThenCallback<I>(
  knownHosts: (info: I) => unknown,
  callback: (info: I) => unknown,
): (info: I) => Promise<void | boolean> {
  return async (info) => {
    try {
      if ((await knownHosts(info)) === false) return false;
    } catch (err) {
      if (!(err instanceof HostKeyError && err.problem === 'unknown')) throw err;
    }
    return (await callback(info)) === false ? false : undefined;
  };
}

/** The parts of a core's `host-key` event the verdict needs (ClientEvent, type 'host-key'). */
export interface HostKeyEventFields {
  /** The negotiated host key signature algorithm, e.g. `rsa-sha2-256`. */
  algorithm: string;
  /** The key's own type, e.g. `ssh-rsa`. */
  keyType: string;
  /** RFC 4253 §6.6 public key blob. */
  keyBlob: Uint8Array;
  /** `SHA256:...` as ssh-keygen -l prints it (for a certificate: of the key it certifies). */
  fingerprint: string;
}

/**
 * What a host key verifier is shown: the Node client's `verifyHostKey` and known_hosts verifier,
 * pure-ssh-check's probes.
 */
export interface HostKeyInfo extends HostKeyEventFields {
  /** The host name as the user gave it (not resolved). */
  host: string;
  port: number;
  /**
   * The server's IP address when the client connected to it over TCP itself; undefined through
   * a ProxyCommand, a jump host or another stream (ssh(1) then has none either).
   */
  address?: string;
}

/**
 * One adapter step for the core's `host-key` event: ask `verifier` about the key presented for
 * `host`:`port` (the info every adapter's verifier receives), then tell the core
 * (`acceptHostKey()` with a log line, awaited when it returns a promise, or `rejectHostKey(error)`).
 * Resolves once the core is told;
 * the adapter then flushes what the core has to send.
 */
export async function settleHostKey(
  core: { acceptHostKey(): void | Promise<void>; rejectHostKey(error: SshError): void },
  e: HostKeyEventFields,
  target: { host: string; port: number; address?: string },
  verifier: (info: HostKeyInfo) => unknown,
  log: (message: string) => void,
): Promise<void> {
  const info: HostKeyInfo = { host: target.host, port: target.port, ...(target.address !== undefined && { address: target.address }), algorithm: e.algorithm, keyType: e.keyType, keyBlob: e.keyBlob, fingerprint: e.fingerprint };
  const error = await hostKeyVerdict(() => verifier(info), info);
  if (error) {
    core.rejectHostKey(error);
  } else {
    log(`Host key for ${info.host} accepted (${e.fingerprint})`);
    await core.acceptHostKey();
  }
}
