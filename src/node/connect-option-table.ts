/**
 * Every option of the Node {@link connect} and how its value is checked before any socket
 * (option-check.ts {@link OptionKind}): an option not listed here is a UsageError with a "did you
 * mean" hint, never silently ignored. `satisfies Record<keyof ConnectOptions, …>` makes the
 * compiler refuse this table when it lacks an option of the interface or lists one it does not
 * have, so that the two cannot drift apart.
 */
import type { OptionKind } from '../option-check.js';
import type { ConnectOptions } from './client.js';

/** The kind of each {@link ConnectOptions} key (`*`: checked by connect-option code of its own). */
export const CONNECT_OPTIONS = {
  host: 'S',
  port: '*',
  username: 'S',
  privateKey: 'k',
  identityFiles: 'a',
  passphrase: 'p',
  askPassphrase: 'f',
  signers: '*',
  agent: '*',
  identitiesOnly: 'b',
  warn: 'f',
  certificates: 'c',
  certificateFiles: 'a',
  allowUnprotectedKeyFiles: 'b',
  password: 's',
  askPassword: 'f',
  passwordAttempts: '*',
  passwordAuthentication: 'b',
  kbdInteractiveAuthentication: 'b',
  pubkeyHostbound: 'b',
  knownHosts: 'l',
  hostKeyAlias: 's',
  strictHostKeyChecking: '*',
  caSignatureAlgorithms: 'l',
  requiredRsaSize: '*',
  fingerprintHash: '*',
  verifyHostKey: 'f',
  algorithms: '*',
  pubkeyAcceptedAlgorithms: 'l',
  preferredAuthentications: 'l',
  compression: 'b',
  crypto: '*',
  signal: 'g',
  connectTimeout: '*',
  bannerTimeout: '*',
  connectionAttempts: '*',
  keepaliveInterval: '*',
  keepaliveCountMax: '*',
  rekeyTime: '*',
  rekeyBytes: '*',
  rekeyPackets: '*',
  windowAutoTune: '*',
  channelWindow: '*',
  sock: '*',
  jump: '*',
  debug: 'f',
  onBanner: 'f',
  onWarning: 'f',
  onKeyboardInteractiveInfo: 'f',
} as const satisfies Record<keyof ConnectOptions, OptionKind>;
