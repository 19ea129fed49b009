/**
 * The library client logged in to a harness sshd ({@link SshdHandle}): the login every interop
 * test starts from, so that a test writes only the options particular to it.
 *
 * @example
 * ```ts
 * const ssh = await connectTo(sshd, { rekeyTime: 400 });
 * const t = await tunnel(clientOptions(sshd), { listen: { port: 0 }, to }, retry);
 * ```
 */
import { connect, type ConnectOptions, type SshClient } from '../../src/index.js';
import type { SshdHandle } from './sshd.js';

/**
 * {@link connect}'s options for `sshd`: its host and port, its user (`root`) with the harness
 * client key, and its known_hosts file (the one pinned host key line per host key type).
 * `overrides` are spread last: they replace any of these (`knownHosts: undefined` drops the
 * file, `privateKey: undefined` the key) and add the rest.
 */
export function clientOptions(sshd: SshdHandle, overrides: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.clientKey,
    knownHosts: sshd.knownHostsPath,
    ...overrides,
  };
}

/** `connect(clientOptions(sshd, overrides))`: resolves once logged in; rejects as {@link connect} does. */
export function connectTo(sshd: SshdHandle, overrides: Partial<ConnectOptions> = {}): Promise<SshClient> {
  return connect(clientOptions(sshd, overrides));
}
