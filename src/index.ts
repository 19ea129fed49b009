/**
 * pure-ssh: an SSH-2 client in pure TypeScript. The Node entry point: {@link connect} for an
 * authenticated connection, channel streams, and `ssh -L` style local forwarding.
 *
 * @example
 * ```ts
 * import { connect } from 'pure-ssh';
 * const ssh = await connect({ host: 'foo.com', username: 'joe',
 *   identityFiles: ['~/.ssh/id_ed25519'], knownHosts: '~/.ssh/known_hosts' });
 * const fwd = await ssh.forwardLocal({ listen: { port: 63333 }, to: { host: 'localhost', port: 5432 } });
 * // psql -h localhost -p 63333 postgres
 * ```
 */
export { connect, SshClient, type ConnectOptions } from './node/client.js';
export { ChannelStream } from './node/channel-stream.js';
export { WindowBudget, sharedWindowBudget, DEFAULT_WINDOW_BUDGET } from './connection/window-budget.js';
export { LocalForward, type ForwardOptions, type ForwardCounters, type ListenSpec, type TargetSpec } from './node/forward.js';
export { RemoteForward, type RemoteForwardOptions, type RemoteListenSpec } from './node/forward-remote.js';
export type { PermittedOpen } from './node/forward-remote-socks.js';
export { DynamicForward, type DynamicForwardOptions } from './node/forward-dynamic.js';
export type { SocksConnectRequest } from './connection/socks.js';
export {
  knownHostsVerifier,
  terminalPrompt,
  type HostKeyInfo,
  type HostKeyVerifier,
  type StrictHostKeyChecking,
} from './node/known-hosts-file.js';
export {
  loadIdentityFile,
  prepareIdentityFile,
  readIdentityPublicKey,
  unlockIdentityFile,
  type IdentityFileEntry,
  type UnlockOptions,
} from './node/identity-file.js';
export { AgentClient, type AgentIdentity } from './node/agent.js';
export { encodeSignatureBlob, type Signer } from './auth/signer.js';
export * from './errors.js';
export { parsePrivateKey } from './keys/parse-private-key.js';
export { parsePublicKeyFile, type ParsePrivateKeyOptions, type PrivateKey } from './keys/privatekey.js';
export { extraKeyDecryption, type ExtraKeyDecryption } from './keys/extra-key-decryption.js';
export { fingerprintSha256 } from './keys/hostkey.js';
export type { FingerprintHashName } from './keys/fingerprint-hashes.js';
export { PURE_SSH_VERSION } from './transport/transport.js';
export { type JumpHost } from './node/jump.js';
export { proxyCommandStream, ProxyCommandStream, ProxyCommandExit, type ProxyCommandOptions } from './node/proxy-command.js';
export { stdioForward, type StdioStreams } from './node/stdio-forward.js';
export {
  tunnel,
  ReconnectingClient,
  ReconnectingForward,
  type ReconnectAttempt,
  type ReconnectOptions,
  type Tunnel,
} from './node/reconnect.js';
