/**
 * Every option of pure-ssh/web's {@link connect} and how its value is checked before the transport
 * is used (option-check.ts {@link OptionKind}), and the Node connect()'s options it does not have,
 * each with what to do instead: an option not listed is a UsageError, never silently ignored.
 * `satisfies` makes the compiler refuse a table that lacks an option of the interfaces or lists
 * one they do not have, so that the tables and the types cannot drift apart. (The Node interface
 * is imported for its type only: nothing of src/node/ comes into a browser bundle.)
 */
import type { OptionKind } from '../option-check.js';
import type { ConnectOptions } from '../node/client.js';
import type { WebConnectOptions } from './client.js';

/** The kind of each {@link WebConnectOptions} key (`*`: checked by code of its own in connect()). */
export const WEB_CONNECT_OPTIONS = {
  transport: '*',
  host: 'S',
  port: '*',
  username: 'S',
  privateKey: 'k',
  passphrase: 'p',
  signers: '*',
  password: 's',
  askPassword: 'f',
  passwordAttempts: '*',
  passwordAuthentication: 'b',
  kbdInteractiveAuthentication: 'b',
  pubkeyHostbound: 'b',
  knownHosts: 's',
  caSignatureAlgorithms: 'l',
  verifyHostKey: 'f',
  crypto: '*',
  compression: '*',
  algorithms: '*',
  pubkeyAcceptedAlgorithms: 'l',
  signal: 'g',
  connectTimeout: '*',
  keepaliveInterval: '*',
  keepaliveCountMax: '*',
  rekeyBytes: '*',
  rekeyPackets: '*',
  rekeyTime: '*',
  debug: 'f',
  onBanner: 'f',
  extraKeyDecryption: '*',
} as const satisfies Record<keyof WebConnectOptions, OptionKind>;

/** The Node connect()'s options that pure-ssh/web lacks, with what to do instead ('' for nothing to add). */
const NODE_ONLY = {
  identityFiles: "pure-ssh/web reads no files: pass the key's text or bytes as privateKey",
  agent: 'pure-ssh/web has no ssh-agent: pass privateKey or signers',
  strictHostKeyChecking: 'knownHosts text is checked as StrictHostKeyChecking yes; decide otherwise in verifyHostKey',
  askPassphrase: '',
  identitiesOnly: '',
  warn: '',
  certificates: '',
  certificateFiles: '',
  allowUnprotectedKeyFiles: '',
  hostKeyAlias: '',
  bannerTimeout: '',
  connectionAttempts: 'the transport is yours to retry',
  windowAutoTune: '',
  channelWindow: '',
  sock: 'pass the byte stream as transport',
  jump: '',
  onWarning: '',
  onKeyboardInteractiveInfo: '',
  preferredAuthentications: '',
  requiredRsaSize: '',
  fingerprintHash: '',
} satisfies Record<Exclude<keyof ConnectOptions, keyof WebConnectOptions>, string>;

/** {@link NODE_ONLY} as the words after the option's name in checkOptionKeys' UsageError. */
export const NODE_ONLY_OPTIONS: Record<string, string> = {};
for (const [k, hint] of Object.entries(NODE_ONLY)) NODE_ONLY_OPTIONS[k] = `is a Node connect() option, not pure-ssh/web's${hint && `: ${hint}`}`;
