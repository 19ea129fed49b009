/**
 * The sans-IO protocol core, for runtimes other than Node (browsers, Workers, Deno, Bun):
 * no `node:*` imports. Bring your own byte transport, RNG and timers.
 */
export { ClientCore, type ClientCoreOptions } from './client-core.js';
export { WindowBudget, sharedWindowBudget, DEFAULT_WINDOW_BUDGET } from './connection/window-budget.js';
export type { ClientEvent } from './events.js';
export type { AuthIdentity } from './auth/identity.js';
export { encodeSignatureBlob, type Signer } from './auth/signer.js';
export {
  AgentFrameDecoder,
  agentSignFlags,
  decodeAgentReply,
  encodeRequestIdentities,
  encodeSignRequest,
  type AgentIdentity,
  type AgentReply,
} from './auth/agent-protocol.js';
export * from './errors.js';
export { parsePrivateKey } from './keys/parse-private-key.js';
export { parsePublicKeyFile, parsePublicKeyLine, type ParsePrivateKeyOptions, type PrivateKey } from './keys/privatekey.js';
export { extraKeyDecryption, type ExtraKeyDecryption } from './keys/extra-key-decryption.js';
export { parseKnownHosts, checkHostKey, formatKnownHostsLine, hostMatches, type KnownHostsEntry, type HostKeyCheck } from './keys/knownhosts.js';
export { fingerprintSha256, keyBlobType, hostKeyAlgorithms } from './keys/hostkey.js';
export type { FingerprintHash } from './keys/fingerprint.js';
export { defaultAlgorithms, supportedAlgorithms, applyAlgorithmSpec, type AlgorithmPreferences } from './algorithms.js';
export { PURE_SSH_VERSION, DEFAULT_REKEY_BYTES, DEFAULT_REKEY_PACKETS } from './transport/transport.js';
