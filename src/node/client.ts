/**
 * The Node adapter: runs the sans-IO {@link ClientCore} over a `net.Socket` (or any Duplex),
 * with timers for ConnectTimeout and ServerAlive*, host key verification and channel streams.
 */
import { knownHostsThenCallback, settleHostKey } from '../keys/host-key-verdict.js';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AlgorithmPreferences } from '../algorithms.js';
import { ALGORITHM_CATEGORIES, applyAlgorithmSpec, applyPubkeyAcceptedSpec, defaultAlgorithms, orderHostKeyAlgorithms, ordersHostKeyAlgorithms } from '../algorithms.js';
import { COMPRESSION_NO, COMPRESSION_YES } from '../compress/registry.js';
import { zlibCompression } from '../compress/zlib.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { withWasm } from '../crypto/chacha20-poly1305-wasm.js';
import { pureCryptoProvider } from '../crypto/pure.js';
import { runtimeCipherOrderNote } from '../cipher/registry.js';
import { nodeCryptoProvider, runtimeCryptoAvailable } from './crypto-provider.js';
import { ClientCore, type ClientCoreOptions } from '../client-core.js';
import { checkWindowAutoTune, type DirectTcpipParams } from '../connection/connection.js';
import type { WindowBudget } from '../connection/window-budget.js';
import { MAX_WINDOW } from '../connection/channel.js';
import {
  AuthenticationError,
  ChannelOpenError,
  ConnectionLostError,
  HostKeyError,
  KeyError,
  KeyPermissionsError,
  SshError,
  TimeoutError,
  UsageError,
} from '../errors.js';
import type { ClientEvent, WarningCode } from '../events.js';
import type { PrivateKey } from '../keys/privatekey.js';
import { parsePrivateKey } from '../keys/parse-private-key.js';
import {
  certificateRefusalDetail,
  isCertificateType,
  isCertifiedKey,
  parseCertificate,
  rsaKeyTooShort,
  parseCertificateFile,
  withCertificates,
  type CertificateSource,
} from '../keys/certificate.js';
import type { TransportInfo } from '../transport/transport.js';
import { ChannelStream } from './channel-stream.js';
import { connectLendingReads, lendingReadsOf } from './socket-read.js';
import { connectAttempts, sayConnectFailures } from './connect-attempts.js';
import { handleWriterFor, WRITE_DONE, WRITE_REFUSED, type HandleWriter } from './socket-write.js';
import { certificateNameMatches, certifyIdentityFiles, expandHome, isPathLookupFailure, loadCertificateFile, loadIdentityFile, loadIdentityFileIfPrivate, loadKeyErrorLine, prepareIdentityFile, unlockIdentityFile, unprotectedKeyLines, type IdentityFileEntry } from './identity-file.js';
import { AgentClient } from './agent.js';
import { agentFailureReason, type AgentIdentity } from '../auth/agent-protocol.js';
import { orderIdentities, sshKeyTypeLabel, type AuthIdentity } from '../auth/identity.js';
import { keyboardInteractiveInfoLine, SIGNER_DECLINED } from '../auth/userauth.js';
import type { Signer } from '../auth/signer.js';
import { fingerprintHashNamed, type FingerprintHashName } from '../keys/fingerprint-hashes.js';
import { keyBlobType } from '../keys/hostkey.js';
import { keyFingerprint } from '../keys/fingerprint.js';
import { keepSshReason } from '../keys/signing.js';
import { constantTimeEqual } from '../protocol/wire.js';
import type { HostKeyVerifier, StrictHostKeyChecking } from './known-hosts-file.js';
import { checksKnownHostsFiles, hostKeyOrderHintsFor, knownHostsVerifier } from './known-hosts-file.js';
import type { ForwardedChannelName, ForwardOptions, ListenSpec, LocalForward } from './forward.js';
import { checkForwardOptions, startLocalForward } from './forward.js';
import { checkJumpHosts, connectThroughJumps, jumpHostsOf, type JumpHost } from './jump.js';
import type { RemoteForward, RemoteForwardOptions } from './forward-remote.js';
import { startRemoteForward } from './forward-remote.js';
import type { DynamicForward, DynamicForwardOptions } from './forward-dynamic.js';
import { startDynamicForward } from './forward-dynamic.js';
import { decodeTcpipForwardReply } from '../connection/global-requests.js';
import { ChannelOpenFailureReason } from '../errors.js';
import { MAX_TIMER_DELAY_MS, setLongTimeout, type LongTimeout } from '../long-timeout.js';
import { closedByRemoteHost, closedDuringKexOrAuth, KEX_IDENTIFICATION_CLOSED } from '../quit-message.js';
import { couldNotResolve, strerror } from './strerror.js';
import { checkAlgorithmLists, checkCallKeys, checkNumericOptions, checkOptionKeys, checkOptionTypes, checkSigners, NO_SIGNAL, show } from '../option-check.js';
import { CONNECT_OPTIONS } from './connect-option-table.js';
import { abortedBySignal, askUser, guardHooks, isCallbackFailure, untilAborted } from '../user-callback.js';

/** Options of {@link connect}. A host key decision is required: knownHosts or verifyHostKey. */
export interface ConnectOptions {
  host: string;
  /** The server's port, a whole number from 1 to 65535 (default 22). */
  port?: number;
  username: string;
  /** Private key(s): key file text or bytes (OpenSSH, PEM, PKCS#8, PuTTY .ppk), or parsed keys. */
  privateKey?: string | Uint8Array | PrivateKey | (string | Uint8Array | PrivateKey)[];
  /**
   * Private key files (`~/` expanded), or entries already prepared with `prepareIdentityFile`:
   * always an array (a single path string is a UsageError, not a list of its characters).
   * With `askPassphrase`, a file whose public half is known (`KEY.pub`, or the clear part of an
   * OpenSSH key) is offered first and decrypted only once the server accepts it (RFC 4252 §7),
   * as ssh(1) does; otherwise files are loaded (with `passphrase`) before connecting. A file that
   * cannot be loaded (missing, wrong or no passphrase, not a key) is skipped with ssh's line
   * through `warn`, as `ssh -i` does; one others can read (OpenSSH authfile.c sshkey_perm_ok) is
   * never used: connect() rejects with a KeyPermissionsError before connecting, even when other
   * keys follow, since every entry is the caller's own choice (the library looks for no default
   * key files). For ssh's order instead (offered by its public half, skipped at its turn with
   * ssh's UNPROTECTED PRIVATE KEY FILE block through `warn`, the next key tried), pass
   * `prepareIdentityFile(path, { deferPermissionCheck: true })`.
   * A public key file (`key.pub`, whatever its mode), or a path with only `PATH.pub` beside it,
   * names a key by its public half as ssh_config IdentityFile does: the agent's key (with
   * `identitiesOnly`, the one to use), else offered and skipped if it cannot sign.
   */
  identityFiles?: (string | IdentityFileEntry)[];
  /** Passphrase for the encrypted ones among privateKey and identityFiles (see parsePrivateKey). */
  passphrase?: string | Uint8Array;
  /**
   * Asked for the passphrase of an encrypted identity file (its path) when `passphrase` is
   * missing or wrong, up to `passwordAttempts` times: return the passphrase (or a promise of it);
   * null, undefined or '' skips that key. A callback that throws or rejects ends connect() with
   * an SshError ERR_ABORTED whose `cause` is its error; any other answer is a UsageError.
   */
  askPassphrase?: (keyPath: string) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Keys that sign elsewhere (a KMS, a hardware token, WebAuthn): offered after `privateKey`
   * and before the agent's keys and identityFiles. See {@link Signer}.
   */
  signers?: Signer[];
  /**
   * An ssh-agent's socket path (e.g. `process.env.SSH_AUTH_SOCK`) whose keys to offer, or false
   * or '' (the default: no agent; `true` is a UsageError). It is contacted as ssh(1) contacts its
   * own (sshconnect2.c pubkey_prepare): once the host key is trusted, never for a host key that
   * is refused, its connection bound to the session (session-bind@openssh.com) before its keys
   * are listed. An agent that cannot be used (a path
   * that is missing or nobody listens on, an agent that breaks the agent protocol) is skipped
   * with ssh's debug line (`get_agent_identities: ssh_get_authentication_socket: No such file or
   * directory`) and an `onWarning` of code `agent-unavailable` (`Error connecting to agent PATH:
   * Connection refused; its keys are not offered`); if authentication then fails, the
   * AuthenticationError says so (`agentUnavailable`, and `Agent keys not offered: ...` in its
   * message).
   */
  agent?: string | false;
  /**
   * ssh_config IdentitiesOnly: offer only the agent keys that match an identityFiles entry.
   * Order (ssh(1)'s pubkey_prepare): agent keys matching a file, other agent keys, other files.
   */
  identitiesOnly?: boolean;
  /**
   * Problems a user should see even without debug (ssh(1)'s error level): an identity file
   * skipped because it could not be loaded, a key that could not sign.
   */
  warn?: (message: string) => void;
  /**
   * User certificates (OpenSSH PROTOCOL.certkeys, ssh_config CertificateFile): the text of
   * `-cert.pub` files, or certificate blobs. Each is offered, before the plain keys, with the
   * private key it certifies (from privateKey / identityFiles); one without its key is skipped.
   */
  certificates?: string | Uint8Array | (string | Uint8Array)[];
  /**
   * Certificate files to load (`~/` expanded), like ssh_config CertificateFile. When neither
   * this nor `certificates` is given, `FILE-cert.pub` beside each of `identityFiles` is used if
   * it exists, as ssh(1) does.
   */
  certificateFiles?: string[];
  /** Load identityFiles even when others can read them (default false: KeyPermissionsError, as ssh refuses them). */
  allowUnprotectedKeyFiles?: boolean;
  password?: string;
  /**
   * Called when the server wants a password (or a keyboard-interactive answer) and none was given
   * (or it failed): return it, or a promise of it; null or undefined gives that method up.
   * `context.method`: `'password'` (the prompt is `passwordPrompt`'s) or `'keyboard-interactive'`
   * (the prompt is the server's text; ssh(1) shows it as `(user@host) PROMPT`). `context.retry`:
   * the server refused this method's previous answer (the password, or the answer to the last
   * keyboard-interactive request), e.g. to say "wrong password". A keyboard-interactive request
   * with several prompts (RFC 4256 §3.2) is one call per prompt, in order, as ssh(1) asks them;
   * for keyboard-interactive `context.echo` is the prompt's echo flag (true: the answer is not
   * secret, show it as typed), `context.index` its place (from 0) among the request's
   * `context.count` prompts, and `context.retry` is set on a request's first prompt only. A callback that
   * throws or rejects ends connect() with an SshError ERR_ABORTED whose `cause` is its error; any
   * other answer (a number, an object) is a UsageError.
   */
  askPassword?: (
    prompt: string,
    context: { retry: boolean; method: 'password' | 'keyboard-interactive'; echo?: boolean; index?: number; count?: number },
  ) => string | null | undefined | Promise<string | null | undefined>;
  /** OpenSSH's NumberOfPasswordPrompts, a whole number >= 0 (default 3). */
  passwordAttempts?: number;
  /** ssh_config PasswordAuthentication (default true). */
  passwordAuthentication?: boolean;
  /** ssh_config KbdInteractiveAuthentication (default true). */
  kbdInteractiveAuthentication?: boolean;
  /**
   * ssh_config PubkeyAuthentication's host-bound half: sign public key requests with OpenSSH's
   * host-bound method (`publickey-hostbound-v00@openssh.com`, which names the server's host key in
   * the signed data) wherever the server offers it (its EXT_INFO's
   * `publickey-hostbound@openssh.com`), as ssh(1) does by default; false signs the plain
   * `publickey` request only (PubkeyAuthentication unbound). Default true.
   */
  pubkeyHostbound?: boolean;
  /**
   * known_hosts file(s) to check the host key against; the first is the one new keys go to.
   * With verifyHostKey as well, these speak first and are only read: a key they record as
   * changed or revoked is refused without asking the callback; a key they list (or a host
   * certificate a `@cert-authority` line vouches for) is shown to the callback, which may still
   * refuse it; a key they do not list is the callback's to decide (strictHostKeyChecking is then
   * a UsageError). They also order the host key algorithms (types already known first, as ssh(1) does).
   * Only `~/.ssh` is made (0700) to record a key, as ssh(1) does: the first file's directory
   * must exist otherwise, or the new key is accepted without being recorded (a log line says so).
   */
  knownHosts?: string | string[];
  /** ssh_config(5) HostKeyAlias: known_hosts entries are looked up and written under this name, without the port. */
  hostKeyAlias?: string;
  /** With knownHosts and no verifyHostKey: OpenSSH's StrictHostKeyChecking (default 'yes'). */
  strictHostKeyChecking?: StrictHostKeyChecking;
  /**
   * With knownHosts: ssh_config(5) CASignatureAlgorithms, the algorithms a CA may have signed a
   * host certificate with, in OpenSSH's list syntax (`'ssh-ed25519,ecdsa-sha2-nistp256'`,
   * `'-rsa-sha2-*'`, `'+ssh-rsa'`; an array is an exact list). Default OpenSSH's: every one but
   * SHA-1 `ssh-rsa`. A certificate signed otherwise is not accepted through its `@cert-authority`
   * line ("Certificate signed with disallowed algorithm") and its key is checked as a plain key,
   * as ssh(1) does. Without knownHosts it is a UsageError (a verifyHostKey callback decides alone).
   */
  caSignatureAlgorithms?: string | string[];
  /**
   * ssh_config(5) RequiredRSASize: the smallest RSA key accepted, in bits of its modulus (an
   * integer; default and floor 1024, OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE). A server whose RSA
   * host key (or the key of its RSA host certificate) is smaller is refused before any host key
   * check with a HostKeyError, problem `'key-length'`, "Bad server host key: Invalid key length",
   * as ssh(1) does (sshconnect2.c verify_host_key_callback); smaller RSA identity files and agent
   * keys are not offered (sshconnect2.c load_identity_file, pubkey_prepare).
   */
  requiredRsaSize?: number;
  /**
   * ssh_config(5) FingerprintHash: how key fingerprints are written in the `debug` lines, in the
   * `fingerprint` verifyHostKey is given (HostKeyInfo) and HostKeyError carries, and in the
   * knownHosts question: `'sha256'` (default: `SHA256:` and unpadded base64) or `'md5'` (`MD5:`
   * and hex pairs), or `'sha1'`, `'sha384'`, `'sha512'`, which OpenSSH's readconf.c takes too.
   * known_hosts matching is by the whole key either way.
   */
  fingerprintHash?: FingerprintHashName;
  /**
   * Or decide yourself: return true or nothing to accept, throw (e.g. a HostKeyError) or return
   * false to refuse (any other result refuses the key with a UsageError; with knownHosts: asked
   * after them, for keys they do not refuse; see knownHosts). Given without
   * knownHosts, the `*-cert-v01@openssh.com` host key algorithms are left out of the default
   * offer (name them in `algorithms.hostKey` to have host certificates shown to the callback);
   * with knownHosts, they are offered first as ssh(1) does, and a server with a host certificate
   * shows the callback its certificate.
   */
  verifyHostKey?: HostKeyVerifier;
  /**
   * OpenSSH-style algorithm lists (replace, `+`append, `-`remove, `^`prepend; `*` and `?`
   * wildcards), per category: the same as ssh_config's KexAlgorithms, HostKeyAlgorithms, Ciphers
   * and MACs. Legacy algorithms (CBC, SHA-1 key exchanges) are only used when listed.
   */
  algorithms?: { kex?: string | string[]; hostKey?: string | string[]; cipher?: string | string[]; mac?: string | string[] };
  /**
   * ssh_config(5) PubkeyAcceptedAlgorithms, in the same list syntax: which key types and signature
   * algorithms public key authentication may use. Default OpenSSH's (no SHA-1 `ssh-rsa`);
   * `'+ssh-rsa'` lets an RSA key sign with SHA-1 for a server that takes nothing else.
   */
  pubkeyAcceptedAlgorithms?: string | string[];
  /**
   * ssh_config(5) PreferredAuthentications: the authentication methods to try, in this order,
   * among those the server allows (a comma-separated string or an array), e.g.
   * `'keyboard-interactive,publickey'`. pure-ssh implements `publickey`, `keyboard-interactive`
   * and `password`; other names are skipped with a debug line. Default
   * `publickey,keyboard-interactive,password`, ssh(1)'s order without the methods pure-ssh lacks.
   */
  preferredAuthentications?: string | string[];
  /**
   * ssh_config(5) Compression / `ssh -C` (default false): offer `zlib@openssh.com,zlib,none`, so
   * payloads are zlib-compressed (RFC 4253 §6.2) if the server agrees, from USERAUTH_SUCCESS on.
   * `client.info.negotiated` names what was agreed per direction.
   */
  compression?: boolean;
  /**
   * The symmetric crypto: 'runtime' (node:crypto, i.e. OpenSSL, when this runtime has it; the
   * default) or 'pure' (pure TypeScript, the same code as in browsers). The environment variable
   * PURE_SSH_CRYPTO=pure forces pure when this option is not given. `-v` names the one in use.
   * Both run chacha20-poly1305@openssh.com in WebAssembly where it compiles; PURE_SSH_WASM=off
   * keeps it in TypeScript, PURE_SSH_WASM=on makes WebAssembly a requirement.
   */
  crypto?: 'runtime' | 'pure';
  /** Abort connecting (and later, the connection). */
  signal?: AbortSignal;
  /**
   * ConnectTimeout in ms: TCP connect and the SSH handshake up to the host key (not user
   * prompts). A finite number >= 0; 0 or absent: off. An `agent` that does not answer (the
   * session bind and its key list) within it is skipped as unusable (`agent-unavailable`);
   * without it, such an agent holds
   * connect() as it holds ssh(1) (bound it with `signal`).
   */
  connectTimeout?: number;
  /**
   * ConnectTimeout as ssh(1) applies it, in ms: from connect() until the server's identification
   * line (a socket opened here: its TCP connect too); the key exchange and authentication are not
   * timed. Expiry: TimeoutError ERR_BANNER_TIMEOUT "Connection timed out during banner exchange".
   * The CLI uses this one; `connectTimeout` keeps its wider scope for library callers.
   * A finite number >= 0; 0 or absent: off.
   */
  bannerTimeout?: number;
  /**
   * ssh_config(5) ConnectionAttempts: how many times the TCP connect is tried, one second apart,
   * before connect() fails with the last try's error; a whole number >= 1 (default 1). Each try
   * gets the whole `bannerTimeout` or `connectTimeout` (the smaller, when both are set) for its
   * TCP connect, as ssh(1) gives each try the whole ConnectTimeout. `debug` gets ssh's lines:
   * `connect to address ADDR port P: ERROR`, `Trying again...`. Only for the socket connect()
   * opens: not with `sock`, and with `jump` only for the first hop's.
   */
  connectionAttempts?: number;
  /**
   * ServerAliveInterval in ms, a finite number >= 0 (0 = off). Whole seconds fall on the
   * monotonic clock's seconds as ssh(1)'s probes do; any other value (e.g. 500) probes exactly
   * that long after the last packet from the server.
   */
  keepaliveInterval?: number;
  /** ServerAliveCountMax, a whole number >= 0 (default 3). */
  keepaliveCountMax?: number;
  /** RekeyLimit's time part in ms, a finite number >= 0: a key exchange this long after the last one (0 = off). */
  rekeyTime?: number;
  /**
   * RekeyLimit's amount: a key exchange after this many bytes either way. 0 or absent: the
   * cipher's own limit (1 GiB for chacha20-poly1305, 64 GiB for AES); otherwise a whole number
   * >= 16 (as ssh_config), which can only lower the cipher's limit.
   */
  rekeyBytes?: number;
  /** A key exchange after this many packets either way: a whole number >= 1; 0 or absent: 2^31. */
  rekeyPackets?: number;
  /**
   * Receive-window auto-tuning (default on): each channel's window grows from OpenSSH's 2 MiB
   * with the measured bandwidth × round-trip time while its reader keeps up, and shrinks when
   * the reader falls behind. `max` caps the windows of all channels of this connection
   * together, in bytes (default 32 MiB, at most 2^32 - 1). `budget` bounds the growth beyond
   * the initial 2 MiB windows of every connection sharing it ({@link WindowBudget}; default
   * {@link sharedWindowBudget}: 64 MiB for the whole process), so that a process holding many
   * connections buffers at most channels × 2 MiB + the budget for its slow readers, however
   * many connections there are. `false`: fixed 2 MiB windows, as ssh(1).
   *
   * @example
   * ```ts
   * // 500 downloads on their own budget of 256 MiB (2 MiB windows each, 256 MiB of growth in all):
   * const budget = new WindowBudget(256 * 1024 * 1024);
   * const ssh = await connect({ host, username, privateKey, windowAutoTune: { budget } });
   * ```
   */
  windowAutoTune?: boolean | { max?: number; budget?: WindowBudget };
  /**
   * Initial receive window of each channel, in bytes (default 2 MiB, as ssh(1)): what one
   * channel buffers for a reader that stopped, before any auto-tuned growth. A process with
   * many channels buffers up to channels × this (plus the window budget); a smaller window
   * lowers that at the cost of throughput on long paths with auto-tuning off.
   */
  channelWindow?: number;
  /**
   * Use this stream instead of opening a TCP connection (e.g. `sshd -i`, a proxy). connect()
   * owns it from the call on: it is destroyed when connecting fails, a usage error included.
   */
  sock?: Duplex;
  /**
   * Jump hosts (ssh -J / ProxyJump), first hop first: `'user@bastion:2222,inner'`, or a list
   * of {@link JumpHost} with their own auth and host key options. Each hop is reached through a
   * direct-tcpip channel of the previous one and checks its own host key under its own name
   * and port. A hop's unset options come from these options (see JumpHost; never `password`).
   * `'none'` or an empty list: connect directly. Not with `sock`.
   */
  jump?: string | JumpHost[];
  /**
   * Diagnostic lines (like ssh -v). Never receives secrets. `level` is ssh's debug level of the
   * line when above 1 (2 for -vv, 3 for -vvv), e.g. the KEXINIT proposals at 2.
   */
  debug?: (message: string, level?: 2 | 3) => void;
  /** Called with the server's banner (RFC 4252 §5.4). */
  onBanner?: (message: string) => void;
  /**
   * Called with a keyboard-interactive request's name and instruction (RFC 4256 §3.3; either may
   * be empty), which are for the user: ssh(1) shows each non-empty one as a log line at INFO.
   * Without it they go to `debug` as `keyboard-interactive: NAME: INSTRUCTION`.
   */
  onKeyboardInteractiveInfo?: (info: { name: string; instruction: string }) => void;
  /**
   * Called with warnings, each with a stable code ({@link WarningCode}):
   * - `weak-kex`: a security warning as OpenSSH 10.1 gives it (WarnWeakCrypto), once after the
   *   key exchange when it is not post-quantum, before `connect()` resolves. Unlike ssh(1), which
   *   stays quiet when KexAlgorithms was set explicitly, this always reports.
   * - `agent-unavailable`: the `agent` given could not be used, so its keys are not offered
   *   (see `agent`); once the host key is trusted, when the agent is contacted.
   */
  onWarning?: (warning: { code: WarningCode; message: string }) => void;
}

/**
 * Connect, verify the host key, authenticate. Resolves once authenticated.
 *
 * @example
 * ```ts
 * import { connect } from 'pure-ssh';
 * const ssh = await connect({
 *   host: 'foo.com', username: 'joe',
 *   identityFiles: ['~/.ssh/id_ed25519'], knownHosts: '~/.ssh/known_hosts',
 * });
 * const stream = await ssh.openDirectTcpip({ host: 'localhost', port: 5432 });
 * await ssh.close();
 * ```
 */
export async function connect(options: ConnectOptions): Promise<SshClient> {
  // From the call on, a `sock` given here is connect()'s: whatever fails before the SSH connection
  // exists (a usage error, a key file) closes it, as a failure after it does (a ProxyCommand's
  // child is ended with it, a socket does not keep the process alive).
  const sock: Partial<Duplex> | undefined = typeof options === 'object' && options !== null ? options.sock : undefined;
  let early: EarlyWatch | undefined;
  try {
    const hops = checkConnect(options);
    // Aborted already: no socket opened, no key file read. After every check without I/O (the
    // jump hosts' too): a caller's mistake is reported first, whatever the signal says.
    if (options.signal?.aborted) throw abortedBySignal(options.signal);
    if (hops.length > 0) return await connectThroughJumps(options);
    // A caller's socket may fail while we read keys and known_hosts: note it now, report it later.
    early = options.sock ? watchEarlyFailure(options.sock) : undefined;
    return await connectWith(options, early);
  } catch (err) {
    if (typeof sock?.destroy === 'function' && !sock.destroyed) sock.destroy();
    throw err;
  } finally {
    early?.dispose();
  }
}

/**
 * @internal The CLI's (connect-host.ts), by the stream it gives connect() as `sock`: core options
 * ConnectOptions does not offer, for ssh(1)'s exits through fatal() before the session, where it
 * sends no SSH_MSG_DISCONNECT (ClientCoreOptions disconnectOnRefusal, and failAfterVersion with
 * a UsageError of this message).
 */
export const fatalEndings = new WeakMap<Duplex, { disconnectOnRefusal?: boolean; failAfterVersion?: string }>();

function fatalCoreOptions(sock: Duplex | undefined): Pick<ClientCoreOptions, 'disconnectOnRefusal' | 'failAfterVersion'> {
  const ending = sock ? fatalEndings.get(sock) : undefined;
  if (!ending) return {};
  const { disconnectOnRefusal, failAfterVersion } = ending;
  return { disconnectOnRefusal, failAfterVersion: failAfterVersion === undefined ? undefined : new UsageError(failAfterVersion) };
}

/**
 * Every check connect() makes without I/O ({@link checkConnectOptions}), on the jump hosts too;
 * returns the hops (none without `jump`). Each failure is a UsageError.
 *
 * @internal also tunnel()'s, before its first connection.
 */
export function checkConnect(options: ConnectOptions): ConnectOptions[] {
  checkConnectOptions(options);
  const hops = options.jump !== undefined ? jumpHostsOf(options) : [];
  if (hops.length > 0) {
    if (options.sock) throw new UsageError('connect(): give either jump or sock, not both');
    // Every hop before the first socket: a bad hop port would otherwise reach the previous hop's
    // server in a direct-tcpip request before its own connect() refused it.
    checkJumpHosts(hops, checkConnectOptions);
  }
  return hops;
}

/**
 * The checks connect() makes before any socket, on one host's options, all without I/O: an
 * option the interface does not have (connect-option-table.ts, with a "did you mean" hint), a
 * value of the wrong type (`compression: 'no'` is no `false`), a number out of range
 * (option-check.ts), a channel window that is no uint32 (RFC 4254 §5.2) or empty (it would let
 * nothing through), no host key decision, an unknown crypto, host key mode or algorithm name.
 * Each is a UsageError naming the option and the value.
 */
/**
 * A known_hosts line (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT: an optional marker, host patterns or a
 * `|1|` hash, the key type, the base64 key, whose blob starts with a length that encodes as AAAA).
 */
const KNOWN_HOSTS_LINE = /^\s*(@\S+\s+)?\S+\s+(ssh-|ecdsa-|sk-)\S+\s+AAAA/m;

/**
 * knownHosts names files; known_hosts text given there (as pure-ssh/web's knownHosts takes it)
 * would be looked up as one file name and the host refused as unknown, the whole text quoted
 * (break25 F3): a UsageError saying what to pass instead.
 */
function checkKnownHostsPaths(knownHosts: string | string[] | undefined): void {
  for (const path of typeof knownHosts === 'string' ? [knownHosts] : (knownHosts ?? [])) {
    if (path.includes('\n') || KNOWN_HOSTS_LINE.test(path)) {
      throw new UsageError(
        'knownHosts takes known_hosts file paths, got known_hosts text: write it to a file and pass its path, ' +
          'or decide with verifyHostKey (pure-ssh/web\'s knownHosts is the text)',
      );
    }
  }
}

/**
 * Options of the ssh2 package a caller moving from it passes as they were (break36: `unknown
 * option readyTimeout` said nothing of what to use): what pure-ssh calls them.
 */
const SSH2_OPTION_NAMES: Record<string, string> = {
  readyTimeout: "is ssh2's name: pure-ssh's is connectTimeout (ms, up to the host key)",
  hostVerifier: "is ssh2's name: pure-ssh's is verifyHostKey (or knownHosts)",
  tryKeyboard: "is ssh2's name: keyboard-interactive is on by default (kbdInteractiveAuthentication), its prompts answered by askPassword",
};
const SSH2_ALGORITHM_NAMES: Record<string, string> = {
  serverHostKey: "is ssh2's name: pure-ssh's is algorithms.hostKey",
  hmac: "is ssh2's name: pure-ssh's is algorithms.mac",
  compress: "is ssh2's name: compression is the compression option (true or false)",
};

function checkConnectOptions(options: ConnectOptions): void {
  if (typeof options !== 'object' || options === null) throw new UsageError(`connect() needs an options object, got ${show(options)}`);
  checkOptionKeys(options, CONNECT_OPTIONS, '', SSH2_OPTION_NAMES);
  checkOptionTypes(options, CONNECT_OPTIONS);
  checkNumericOptions(options);
  const tune = options.windowAutoTune;
  checkWindowAutoTune(tune === undefined || tune === true ? {} : tune);
  const w = options.channelWindow;
  if (w !== undefined && !(Number.isInteger(w) && w >= 1 && w <= MAX_WINDOW)) {
    throw new UsageError(`channelWindow must be a whole number of bytes from 1 to ${MAX_WINDOW}, got ${show(w)}`);
  }
  checkKnownHostsPaths(options.knownHosts);
  // A list of files, never a string (whose characters would be read as paths one by one).
  options.identityFiles?.forEach((f: unknown, i) => {
    if (!(typeof f === 'string' && f !== '') && !(typeof f === 'object' && f !== null && typeof (f as IdentityFileEntry).path === 'string')) {
      throw new UsageError(`identityFiles[${i}] must be a key file path (or a prepareIdentityFile entry), got ${show(f)}`);
    }
  });
  options.certificateFiles?.forEach((f: unknown, i) => {
    if (!(typeof f === 'string' && f !== '')) throw new UsageError(`certificateFiles[${i}] must be a certificate file path, got ${show(f)}`);
  });
  const hash: unknown = options.fingerprintHash;
  if (hash !== undefined && (typeof hash !== 'string' || fingerprintHashNamed(hash) === undefined)) {
    throw new UsageError(`fingerprintHash must be 'sha256', 'md5', 'sha1', 'sha384' or 'sha512', got ${show(hash)}`);
  }
  const attempts = options.connectionAttempts;
  if (attempts !== undefined && !(Number.isSafeInteger(attempts) && attempts >= 1)) {
    throw new UsageError(`connectionAttempts must be a whole number >= 1, got ${show(attempts)}`);
  }
  const { agent, sock } = options as { agent: unknown; sock: unknown };
  if (agent !== undefined && agent !== false && typeof agent !== 'string') {
    throw new UsageError(`agent must be an ssh-agent socket path (e.g. process.env.SSH_AUTH_SOCK) or false, got ${show(agent)}`);
  }
  if (sock !== undefined && !(typeof (sock as Duplex | null)?.on === 'function' && typeof (sock as Duplex).write === 'function')) {
    throw new UsageError(`sock must be a Duplex stream, got ${show(sock)}`);
  }
  const mode: unknown = options.strictHostKeyChecking;
  // Anything but the four ssh_config(5) words is a mistake, never a reason to trust a host.
  if (mode !== undefined && !['yes', 'accept-new', 'no', 'ask'].includes(mode as string)) {
    throw new UsageError(`strictHostKeyChecking must be 'yes', 'accept-new', 'no' or 'ask', got ${show(mode)}`);
  }
  checkSigners(options.signers);
  hostKeyVerifierFor(options);
  // The algorithm lists as connect() will apply them: an unknown name or category is refused now.
  algorithmsFor(options, cryptoProviderFor(options.crypto));
  applyPubkeyAcceptedSpec(options.pubkeyAcceptedAlgorithms);
}

interface EarlyWatch {
  error: Error | undefined;
  closed: boolean;
  dispose(): void;
}

/** A TCP socket's peer address; undefined for another stream (a proxy command's, a jump channel). */
function peerAddress(sock: Duplex): string | undefined {
  const a = (sock as Partial<Socket>).remoteAddress;
  return typeof a === 'string' ? a : undefined;
}

function watchEarlyFailure(sock: Duplex): EarlyWatch {
  const w: EarlyWatch = {
    error: undefined,
    closed: false,
    dispose: () => {
      sock.off('error', onError);
      sock.off('close', onClose);
    },
  };
  const onError = (err: Error) => (w.error ??= err);
  const onClose = () => (w.closed = true);
  sock.on('error', onError);
  sock.on('close', onClose);
  return w;
}

async function connectWith(given: ConnectOptions, early: EarlyWatch | undefined): Promise<SshClient> {
  // The hooks (debug, warn, ...) run from here on, in key loading, in the known_hosts check (a
  // throw there would read as the verifier's refusal, a HostKeyError) and inside the IO loop:
  // one that throws ends connect() with ERR_ABORTED, its error as `cause` (user-callback.ts).
  let client: SshClient | undefined;
  let hookError: SshError | undefined;
  const options = guardHooks(given, HOOKS, (err) => (client ? client.hookFailed(err) : (hookError ??= err)));
  const verifier = hostKeyVerifierFor(options);
  const crypto = cryptoProviderFor(options.crypto);
  // A step that waits on the application (askPassphrase for a certified key) is not waited for
  // once the signal fires. The agent is contacted later, once the host key is trusted.
  const auth = await untilAborted(prepareAuth(options, crypto), options.signal);
  const algorithms = algorithmsFor(options, crypto);
  const orderNote = runtimeCipherOrderNote(crypto.name);
  if (orderNote && !options.algorithms?.cipher) options.debug?.(orderNote);
  const knownFiles = options.knownHosts === undefined ? [] : Array.isArray(options.knownHosts) ? options.knownHosts : [options.knownHosts];
  // sshconnect2.c ssh_kex2(): order_hostkeyalgs() unless HostKeyAlgorithms is an exact list or `^`.
  const orderLines: [string, 3 | undefined][] = [];
  if (knownFiles.length > 0 && ordersHostKeyAlgorithms(options.algorithms?.hostKey) && algorithms.hostKey) {
    // sshconnect.c get_hostfile_hostname_ipaddr(): with HostKeyAlias, the alias alone (port-less).
    if (options.hostKeyAlias !== undefined) orderLines.push([`using hostkeyalias: ${options.hostKeyAlias}`, undefined]);
    const keyHost = options.hostKeyAlias ?? options.host;
    const keyPort = options.hostKeyAlias !== undefined ? 22 : (options.port ?? 22);
    // hostfile.c load_hostkeys: a file it cannot open is said (debug1), for each file read.
    const hints = await hostKeyOrderHintsFor(knownFiles, keyHost, keyPort, (line) => orderLines.push([line, undefined]));
    const ordered = orderHostKeyAlgorithms(algorithms.hostKey, hints);
    algorithms.hostKey = ordered.algorithms;
    orderLines.push([ordered.note, 3]);
  }
  // ssh(1) runs order_hostkeyalgs() once the server's version line is in: its lines come there.
  const debug = options.debug;
  const noteAfterBanner =
    orderLines.length > 0 && debug
      ? (m: string, level?: 2 | 3) => {
          debug(m, level);
          if (m.startsWith('Remote protocol version ')) for (const [line, l] of orderLines.splice(0)) debug(line, l);
        }
      : debug;
  if (hookError) throw hookError;
  // ssh_config(5) ConnectionAttempts: the tries before the last, each waited for, one second apart.
  let opened: Socket | undefined;
  if (!options.sock && (options.connectionAttempts ?? 1) > 1) {
    const timeouts = [options.bannerTimeout ?? 0, options.connectTimeout ?? 0].filter((t) => t > 0);
    const say = debug && ((m: string) => debug(m));
    ({ sock: opened } = await connectAttempts({
      attempts: options.connectionAttempts!,
      open: () => {
        const s = connectLendingReads({ host: options.host, port: options.port ?? 22, noDelay: true });
        s.on('error', () => {}); // the last try's is the client's to report
        if (say) sayConnectFailures(s, say);
        return s;
      },
      timeout: timeouts.length > 0 ? Math.min(...timeouts) : 0,
      debug: say,
      signal: options.signal,
    }));
  }
  client = new SshClient({ ...options, debug: noteAfterBanner }, auth, algorithms, verifier, early, crypto, opened);
  // A hook that threw before the client existed (its constructor's first lines included).
  if (hookError) client.hookFailed(hookError);
  try {
    await client.ready;
  } finally {
    // bindAgentToSession's connection: used until authentication is over.
    closeAgent(auth);
  }
  return client;
}

function requiredRsaSizeOf(options: ConnectOptions): number | undefined {
  const n = options.requiredRsaSize;
  if (n === undefined) return undefined;
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`requiredRsaSize must be a whole number of bits, 0 or more, got ${show(n)}`);
  return n;
}

function hostKeyVerifierFor(options: ConnectOptions): HostKeyVerifier {
  const verify = knownHostsOrCallbackFor(options);
  const minBits = requiredRsaSizeOf(options);
  if (minBits === undefined) return verify;
  // sshconnect2.c verify_host_key_callback: the size first, then verify_host_key.
  return (info) => {
    if (rsaKeyTooShort(info.keyBlob, minBits)) {
      throw new HostKeyError('key-length', { host: info.host, keyType: info.keyType, fingerprint: info.fingerprint });
    }
    return verify(info);
  };
}

function knownHostsOrCallbackFor(options: ConnectOptions): HostKeyVerifier {
  const callback = options.verifyHostKey;
  const caSignatureAlgorithms = options.caSignatureAlgorithms;
  if (caSignatureAlgorithms !== undefined && options.knownHosts === undefined) {
    throw new UsageError('caSignatureAlgorithms applies to the knownHosts check: without knownHosts, verifyHostKey decides on host certificates alone');
  }
  if (callback && options.knownHosts === undefined) return callback;
  if (options.knownHosts !== undefined) {
    const files = Array.isArray(options.knownHosts) ? options.knownHosts : [options.knownHosts];
    if (files.length === 0) throw new UsageError('knownHosts is an empty list');
    if (callback) {
      if (options.strictHostKeyChecking !== undefined) {
        throw new UsageError(
          `strictHostKeyChecking (${JSON.stringify(options.strictHostKeyChecking)}) decides the keys known_hosts does not list; ` +
            'with verifyHostKey your callback decides them: pass one or the other',
        );
      }
      if (checksKnownHostsFiles(callback, files)) return callback;
      // The known_hosts verdict first: a changed or revoked key is refused whatever the callback says.
      const known = knownHostsVerifier({ files, mode: 'yes', log: options.debug, hostKeyAlias: options.hostKeyAlias, caSignatureAlgorithms, fingerprintHash: options.fingerprintHash });
      return knownHostsThenCallback(known, callback);
    }
    const mode = options.strictHostKeyChecking ?? 'yes';
    // Anything but the four ssh_config(5) words is a mistake, never a reason to trust a host.
    if (!['yes', 'accept-new', 'no', 'ask'].includes(mode as string)) {
      throw new UsageError(`strictHostKeyChecking must be 'yes', 'accept-new', 'no' or 'ask', got ${JSON.stringify(mode)}`);
    }
    return knownHostsVerifier({ files, mode, log: options.debug, hostKeyAlias: options.hostKeyAlias, caSignatureAlgorithms, fingerprintHash: options.fingerprintHash });
  }
  throw new UsageError(
    'connect() needs a host key decision: pass knownHosts (known_hosts file paths) or verifyHostKey. ' +
      'pure-ssh never accepts an unverified host key by default.',
  );
}

/** A key offered without the core holding it, and how to get its signature. */
export interface ExternalSigner {
  publicKeyBlob: Uint8Array;
  /**
   * The identity this signer signs for, when several may hold the same public key (two identity
   * files with one stale FILE.pub): the sign request names the identity the server accepted.
   */
  identity?: AuthIdentity;
  /** ssh(1)'s words for it in "signing failed for ...": `ED25519 "label" from agent`. */
  name: string;
  sign(data: Uint8Array, algorithm: string, flags: number): Promise<Uint8Array>;
  /**
   * Called once, while the server answers our `none` request: a key file without a passphrase
   * is read and parsed now (no prompt, no log line, nothing sent), so that its first signature
   * does not pay for the parse, @noble/curves' Ed25519 set-up and the first run of that code
   * (~8 ms of CPU in a fresh CLI) after the server accepted the key. The key is still offered
   * and signed at ssh(1)'s protocol steps (the signature after the server's PK_OK, RFC 4252 §7);
   * only the local parse moved. A key that needs a passphrase, or fails to load, is left to
   * {@link sign} as before. Resolves once the key is loaded or left (never rejects).
   */
  prepare?(): Promise<void>;
  /** Authentication is over: wipe what {@link prepare} loaded and {@link sign} did not use. */
  discard?(): void;
}

/** What the core is given to authenticate with, and who signs for the keys it does not hold. */
export interface PreparedAuth {
  privateKeys: PrivateKey[];
  /**
   * The keys to offer, in ssh(1)'s order. With an `agent`, empty until {@link bindAgentToSession}
   * has listed its keys (ssh contacts its agent only then, sshconnect2.c pubkey_prepare); the
   * same array is filled again for each session.
   */
  identities: AuthIdentity[];
  signers: ExternalSigner[];
  /** The agent connection of the current session ({@link bindAgentToSession} opens it): the caller closes it. */
  agent: AgentClient | undefined;
  /** The identities above that are the agent's keys. */
  agentIdentities: AuthIdentity[];
  /**
   * Loaders of the identities given without a public key (a key file whose public half needs
   * its passphrase), for the core's `key-request`: the key is loaded, its passphrase asked, at
   * its turn (OpenSSH sshconnect2.c userauth_pubkey → load_identity_file).
   */
  keyLoaders: Map<AuthIdentity, () => Promise<PrivateKey>>;
  /**
   * The `warn` lines of the identityFiles that could not be loaded (missing, no or a wrong
   * passphrase, not a key): named by a final AuthenticationError (its `identitiesSkipped`).
   */
  skipped?: string[];
  /**
   * Why the `agent` given could not be used (its socket could not be reached, or it broke the
   * agent protocol), as `onWarning` reported it: named by a final AuthenticationError (its
   * `agentUnavailable`).
   */
  agentUnavailable?: string;
  /** The ConnectOptions `agent`, {@link bindAgentToSession}'s to contact; undefined without one. */
  agentPath?: string;
  /** ConnectOptions.connectTimeout: how long the agent may take (see {@link bindAgentToSession}). */
  agentWait?: number;
  /** ConnectOptions.onWarning, for `agent-unavailable`. */
  onWarning?: ConnectOptions['onWarning'];
  /**
   * Fill {@link identities}, {@link signers} and {@link agentIdentities} afresh: the identity
   * files, certificates and signers with `agentKeys` (the bound agent's list; undefined: none).
   */
  arrange(agentKeys: readonly AgentIdentity[] | undefined): void;
}

/**
 * `err` naming the `agent` that could not be used: its `agentUnavailable` (the reason), and
 * "Agent keys not offered: REASON." at the end of its message. Set here, by the only client with
 * an agent, so that pure-ssh/web's bundle does not carry it.
 */
function withAgentUnavailable(err: AuthenticationError, reason: string): AuthenticationError {
  Object.defineProperty(err, 'agentUnavailable', { value: reason, enumerable: true });
  err.message += ` Agent keys not offered: ${reason}.`;
  return err;
}

/**
 * ssh(1)'s -v line for the agent's key count (sshconnect2.c get_agent_identities): an empty list
 * is its SSH_ERR_AGENT_NO_IDENTITIES from ssh_fetch_identitylist (authfd.c), in ssherr.c's words.
 */
function agentCountLine(count: number): string {
  if (count === 0) return 'get_agent_identities: ssh_fetch_identitylist: agent contains no identities';
  return `get_agent_identities: agent returned ${count} keys`;
}

/**
 * sshconnect2.c get_agent_identities' debug line when the agent cannot be used: a socket it cannot
 * connect to is authfd.c ssh_get_authentication_socket's failure, with strerror(3); a listing
 * that fails (the peer closes, answers garbage or refuses) is ssh_fetch_identitylist's, in
 * ssherr.c's words (agentFailureReason); the other failures (connectTimeout) keep their message.
 */
function agentFailureLine(err: unknown): string {
  const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
  if ((err as SshError).code === 'ERR_AGENT' && typeof cause?.code === 'string' && cause.syscall === 'connect') {
    return `get_agent_identities: ssh_get_authentication_socket: ${strerror(cause)}`;
  }
  const reason = agentFailureReason(err);
  if (reason) return `get_agent_identities: ssh_fetch_identitylist: ${reason}`;
  return `get_agent_identities: ${(err as Error).message}`;
}

/**
 * ssh(1)'s get_agent_identities for the session whose first key exchange had `session`'s host
 * key, exchange hash and signature, once its host key is trusted (sshconnect2.c pubkey_prepare,
 * called by ssh_userauth2 after the key exchange): a new connection to `auth.agentPath` (one
 * per session: a connection bound for authentication cannot be bound again, ssh-agent.c
 * process_ext_session_bind), bound to the session first (OpenSSH PROTOCOL.agent §1,
 * session-bind@openssh.com; authfd.c ssh_agent_bind_hostkey, is_forwarding false: no agent
 * forwarding here), so that the agent applies its keys' destination constraints (`ssh-add -h`),
 * then asked for its keys; {@link PreparedAuth.arrange} then places them among the identities.
 * A refused binding (agents before OpenSSH 8.9 answer FAILURE) is logged at debug2 and the keys
 * listed all the same, as ssh does; an agent that cannot be reached or does not list its keys
 * is logged at debug1 (ssh's words) and reported (`agent-unavailable`), and none of its keys is
 * offered. Without an agent, nothing is done.
 */
export async function bindAgentToSession(
  auth: PreparedAuth,
  session: { hostKeyBlob: Uint8Array | undefined; sessionId: Uint8Array | undefined; signature: Uint8Array | undefined },
  log: (message: string, level?: 2 | 3) => void,
): Promise<void> {
  const path = auth.agentPath;
  if (path === undefined) return;
  closeAgent(auth);
  let keys: AgentIdentity[] | undefined;
  // Set once the wait is over: a connection made after it is closed at once.
  let late = false;
  try {
    keys = await withinAgentWait(auth.agentWait ?? 0, path, async () => {
      const agent = await AgentClient.connect(path);
      if (late) {
        agent.close();
        throw new SshError('ERR_AGENT', `ssh-agent ${path}: connected too late`);
      }
      auth.agent = agent;
      try {
        const { hostKeyBlob, sessionId, signature } = session;
        // OpenSSH ssherr.c SSH_ERR_INVALID_ARGUMENT, as ssh_agent_bind_hostkey returns without them.
        if (!hostKeyBlob || !sessionId || !signature) throw new SshError('ERR_AGENT', 'invalid argument');
        await agent.bindSession(hostKeyBlob, sessionId, signature, false);
        log('get_agent_identities: bound agent to hostkey');
      } catch (err) {
        log(`get_agent_identities: ssh_agent_bind_hostkey: ${agentFailureReason(err) ?? (err as Error).message}`, 2);
      }
      return agent.identities();
    });
    log(agentCountLine(keys.length));
  } catch (err) {
    late = true;
    log(agentFailureLine(err));
    closeAgent(auth);
    // The caller named this agent: say it was not used (ssh(1), whose agent is the
    // environment's, says it at -v only: the CLI shows only `weak-kex` warnings), and name it
    // in a final AuthenticationError.
    auth.agentUnavailable = (err as Error).message;
    auth.onWarning?.({ code: 'agent-unavailable', message: `${auth.agentUnavailable}; its keys are not offered` });
  }
  auth.arrange(keys);
}

/** Close `auth`'s agent connection, if any. */
export function closeAgent(auth: PreparedAuth): void {
  auth.agent?.close();
  auth.agent = undefined;
}

/**
 * `exchange` with the agent at `path`, bounded by `wait` ms when > 0: an agent that accepts and
 * never answers would hold it for ever (ssh(1) blocks the same way, authfd.c ssh_request_reply,
 * but has no ConnectTimeout running then); with the library's `connectTimeout` it is skipped as
 * one that cannot be used. `bannerTimeout` (the CLI's, ssh's scope) leaves it waiting, as ssh does.
 */
async function withinAgentWait<T>(wait: number, path: string, exchange: () => Promise<T>): Promise<T> {
  if (!(wait > 0)) return exchange();
  let timer: LongTimeout | undefined;
  try {
    return await Promise.race([
      exchange(),
      new Promise<never>((_, reject) => {
        timer = setLongTimeout(() => reject(new SshError('ERR_AGENT', `ssh-agent ${path}: no reply within connectTimeout (${wait} ms)`)), wait);
      }),
    ]);
  } finally {
    timer?.clear();
  }
}

/**
 * The keys and external signers `options` names, ready for the core's user authentication:
 * the identity files read (their passphrases asked for now if needed) and, without an agent,
 * arranged in ssh(1)'s order (pubkey_prepare). With an `agent`, nothing is asked of it here:
 * {@link bindAgentToSession} lists its keys once the host key is trusted and arranges them with
 * the files. Used by connect() and by pure-ssh-check's login. Key files sign through `crypto`,
 * and an Ed25519 key file's public half is checked with it (its Ed25519 when the runtime passed
 * the known-answer check).
 */
export async function prepareAuth(options: ConnectOptions, crypto: CryptoProvider = cryptoProviderFor(options.crypto)): Promise<PreparedAuth> {
  const privateKeys: PrivateKey[] = [];
  const given = options.privateKey === undefined ? [] : Array.isArray(options.privateKey) ? options.privateKey : [options.privateKey];
  const { passphrase, askPassphrase } = options;
  const attempts = options.passwordAttempts;
  const debug = options.debug;
  const allowUnprotectedKeyFiles = options.allowUnprotectedKeyFiles;
  for (const k of given) privateKeys.push(typeof k === 'string' || k instanceof Uint8Array ? parsePrivateKey(k, { passphrase, crypto }) : k);
  const files: IdentityFileEntry[] = [];
  const skipped: string[] = [];
  // Encrypted files skipped for want of a passphrase: kept in `files` only while certificates are
  // placed, so that a FILE-cert.pub still goes at FILE's place (ssh.c load_public_identity_files
  // loads it whatever the key), to be offered if the agent holds its key (prepareAuth below).
  const locked = new Set<IdentityFileEntry>();
  // The public half of a file holding no private key (undefined: none, or unreadable; the load
  // below then says why).
  const publicHalfOnly = (f: string) => prepareIdentityFile(f, { allowUnprotectedKeyFiles, crypto, deferPermissionCheck: true }).then((e) => (e.publicKeyBlob ? e : undefined), () => undefined);
  for (const f of options.identityFiles ?? []) {
    if (typeof f !== 'string') {
      files.push(f);
      continue;
    }
    let named: IdentityFileEntry | undefined;
    try {
      // Only a prompt is worth deferring for; a given passphrase is checked now.
      if (askPassphrase) files.push(await prepareIdentityFile(f, { passphrase, askPassphrase, attempts, debug, allowUnprotectedKeyFiles, crypto }));
      else {
        // One read of a private key file: its first bytes say it is one, the rest is read then.
        let key = await loadIdentityFileIfPrivate(f, { passphrase, allowUnprotectedKeyFiles, crypto });
        if (!key && (named = await publicHalfOnly(f))) {
          // A public key file (`key.pub`), or a path with only PATH.pub beside it, names a key by
          // its public half, as the CLI's IdentityFile does (loadIdentities): an agent key (the
          // private half only in a hardware token or password manager's agent), or a key offered
          // and loaded once the server accepts it (sshconnect2.c pubkey_prepare, load_identity_file).
          files.push(named);
        } else {
          // Neither: the load says why (missing, unreadable, not a key).
          key ??= await loadIdentityFile(f, { passphrase, allowUnprotectedKeyFiles, crypto });
          files.push({ path: expandHome(f), publicKeyBlob: key.publicKeyBlob, key });
        }
      }
    } catch (err) {
      // sshconnect2.c load_identity_file: a key that cannot be loaded (missing, unreadable, a
      // wrong or no passphrase, not a key) is reported and the next one tried. A key others can
      // read still fails connect() (KeyPermissionsError), as documented.
      const warning = identitySkipped(f, err);
      if (warning === undefined) throw err;
      skipped.push(warning);
      options.warn?.(warning);
      debug?.(warning);
      const code = (err as SshError)?.code;
      if (code === 'ERR_KEY_ENCRYPTED' || code === 'ERR_KEY_PASSPHRASE') {
        const entry: IdentityFileEntry = { path: expandHome(f) };
        locked.add(entry);
        files.push(entry);
      }
    }
  }
  await addCertificates(options, privateKeys, files, crypto);
  if (locked.size > 0) files.splice(0, files.length, ...files.filter((e) => !locked.has(e)));
  const prepared: PreparedAuth = {
    privateKeys,
    identities: [],
    signers: [],
    agent: undefined,
    agentIdentities: [],
    keyLoaders: new Map(),
    skipped,
    agentPath: options.agent || undefined,
    agentWait: options.connectTimeout,
    onWarning: options.onWarning,
    arrange: (agentKeys) => arrangeIdentities(prepared, options, files, agentKeys, crypto),
  };
  // ssh(1) contacts its agent only once the host key is trusted (bindAgentToSession).
  if (prepared.agentPath === undefined) prepared.arrange(undefined);
  return prepared;
}

/**
 * {@link PreparedAuth.arrange}: `prepared`'s identities, signers and agent identities filled
 * afresh, in ssh(1)'s order (sshconnect2.c pubkey_prepare): the signers given, CertificateFile's
 * certificates, then the agent's keys `listed` (its list as the bound agent gave it; undefined:
 * no agent or none usable) that match an identity file, its other keys, and the other files.
 */
function arrangeIdentities(prepared: PreparedAuth, options: ConnectOptions, files: IdentityFileEntry[], listed: readonly AgentIdentity[] | undefined, crypto: CryptoProvider): void {
  const { passphrase, askPassphrase } = options;
  const attempts = options.passwordAttempts;
  const debug = options.debug;
  const allowUnprotectedKeyFiles = options.allowUnprotectedKeyFiles;
  const { identities, signers, agentIdentities, keyLoaders } = prepared;
  identities.length = 0;
  signers.length = 0;
  agentIdentities.length = 0;
  keyLoaders.clear();
  for (const s of options.signers ?? []) {
    identities.push({ publicKeyBlob: s.publicKeyBlob, label: s.comment || keyBlobType(s.publicKeyBlob) });
    signers.push({
      publicKeyBlob: s.publicKeyBlob,
      name: `${sshKeyTypeLabel(keyBlobType(s.publicKeyBlob))} "${s.comment || keyBlobType(s.publicKeyBlob)}"`,
      // async: a signer that throws, or returns a blob rather than a promise, is settled the
      // same way (a throw skips the key with its reason, as a rejection does). An answer that is
      // no bytes is the caller's bug: the core ends authentication with a UsageError; null
      // declines (passed on as it is, to the sign-request handler below).
      sign: async (data, algorithm) => (await s.sign(data, algorithm)) as Uint8Array,
    });
  }
  // sshconnect2.c pubkey_prepare: first the agent's keys RequiredRSASize rules out, each ignored
  // with a debug line, in the agent's order (IdentitiesOnly or not), before any is matched to a file.
  const agentKeys = (listed ?? []).filter((k) => {
    if (!rsaKeyTooShort(k.keyBlob, options.requiredRsaSize)) return true;
    debug?.(`pubkey_prepare: ignoring ${keyBlobType(k.keyBlob)} agent key: Invalid key length`);
    return false;
  });
  // A certificate needs a key to sign for it (PROTOCOL.certkeys): one among the identity files
  // (by its public half, or by name when that is unknown), the agent's keys (only those offered:
  // with identitiesOnly, those of a file) or the signers; without one it is left out, as
  // withCertificates leaves it (ssh(1) would offer it and fail to sign).
  const identitiesOnly = options.identitiesOnly === true;
  const signable = (f: IdentityFileEntry): boolean => {
    if (f.key) return true;
    const plain = f.certificate!.certificate.publicKeyBlob;
    const same = (blob: Uint8Array | undefined) => blob !== undefined && constantTimeEqual(blob, plain);
    if (files.some((g) => !g.certificate && (same(g.publicKeyBlob) || (g.publicKeyBlob === undefined && certificateNameMatches(f.path, g.path))))) return true;
    if ((options.signers ?? []).some((sg) => same(sg.publicKeyBlob))) return true;
    if (!identitiesOnly && agentKeys.some((k) => same(k.keyBlob))) return true;
    const { certificate, source } = f.certificate!;
    // ssh_config(5) FingerprintHash, as every fingerprint ssh logs (options.fingerprint_hash).
    const hash = options.fingerprintHash === undefined ? undefined : fingerprintHashNamed(options.fingerprintHash);
    debug?.(`ignoring certificate ${source}: no private key for ${certificate.keyType} ${keyFingerprint(plain, hash)} among the identities`);
    return false;
  };
  const offered = files.filter((f) => f.certificate === undefined || signable(f));
  // The certificates offered without their key, signed for by certificateSigner below.
  const certificates: { identity: AuthIdentity; entry: IdentityFileEntry }[] = [];
  const certificateIdentity = (f: IdentityFileEntry, label: string, note: string | undefined): AuthIdentity => {
    const { certificate, source } = f.certificate!;
    const identity: AuthIdentity = { publicKeyBlob: f.publicKeyBlob, label, note, refusalDetail: () => certificateRefusalDetail(certificate, source, () => Date.now() / 1000) };
    certificates.push({ identity, entry: f });
    return identity;
  };
  // sshconnect2.c pubkey_prepare: CertificateFile's certificates before the agent's keys.
  for (const f of offered) {
    if (f.certificateFile === undefined) continue;
    const note = f.explicit ? 'explicit' : undefined;
    identities.push(f.key ? { publicKeyBlob: f.publicKeyBlob, label: f.certificateFile, note, key: f.key } : certificateIdentity(f, f.certificateFile, note));
  }
  const order = orderIdentities(
    offered.filter((f) => f.certificateFile === undefined).map((f) => ({ publicKeyBlob: f.publicKeyBlob, item: f })),
    agentKeys.map((k) => ({ publicKeyBlob: k.keyBlob, item: k })),
    identitiesOnly,
  );
  for (const o of order) {
    if (o.kind === 'agent') {
      const { keyBlob, comment } = o.agent;
      const note = o.file?.explicit ? 'explicit agent' : 'agent';
      const label = o.file ? o.file.path : comment;
      const identity: AuthIdentity = { publicKeyBlob: keyBlob, label, note };
      identities.push(identity);
      agentIdentities.push(identity);
      signers.push({
        publicKeyBlob: keyBlob,
        identity,
        name: `${sshKeyTypeLabel(keyBlobType(keyBlob))} "${label}" from agent`,
        sign: async (data, _algorithm, flags) => {
          // The connection of the moment: bindAgentToSession opens a new one for each session.
          const sig = await prepared.agent!.sign(keyBlob, data, flags);
          // OpenSSH ssherr.c SSH_ERR_AGENT_FAILURE.
          if (!sig) throw new SshError('ERR_AGENT', 'agent refused operation');
          return sig;
        },
      });
      continue;
    }
    addFile(o.file);
  }
  /** An identity file's identity, and who signs for it unless the core holds its key. */
  function addFile(f: IdentityFileEntry): void {
    const note = f.explicit ? 'explicit' : undefined;
    if (f.key) {
      identities.push({ publicKeyBlob: f.publicKeyBlob ?? f.key.publicKeyBlob, label: f.path, note, key: f.key });
      return;
    }
    if (f.certificate) {
      identities.push(certificateIdentity(f, f.path, note));
      return;
    }
    const publicKeyBlob = f.publicKeyBlob;
    if (publicKeyBlob === undefined) {
      const identity: AuthIdentity = { label: f.path, note };
      identities.push(identity);
      keyLoaders.set(identity, () => unlockIdentityFile(f.path, { passphrase, askPassphrase, attempts, debug, allowUnprotectedKeyFiles, crypto }));
      return;
    }
    const identity: AuthIdentity = { publicKeyBlob, label: f.path, note };
    identities.push(identity);
    // The key prepare() loaded, for the next signature only (it is disposed after it).
    let early: Promise<PrivateKey | undefined> | undefined;
    signers.push({
      publicKeyBlob,
      identity,
      name: `${sshKeyTypeLabel(keyBlobType(publicKeyBlob))} "${f.path}"`,
      async prepare() {
        // No passphrase: an encrypted key fails at once (before any KDF) and is left to sign().
        early ??= unlockIdentityFile(f.path, { allowUnprotectedKeyFiles, crypto }).catch(() => undefined);
        await early;
      },
      discard() {
        const e = early;
        early = undefined;
        void e?.then((k) => k?.dispose());
      },
      sign: async (data, algorithm) => {
        const prepared = early;
        early = undefined;
        let key: PrivateKey | undefined = await prepared;
        try {
          key ??= await unlockIdentityFile(f.path, { passphrase, askPassphrase, attempts, debug, allowUnprotectedKeyFiles, crypto });
        } catch (err) {
          // The message names the file; the core's "signing failed for TYPE "path"" does already.
          if (err instanceof KeyError && err.message.startsWith(`${f.path}: `)) {
            throw keepSshReason(err, new KeyError(err.code, err.message.slice(f.path.length + 2), { source: f.path, cause: err }));
          }
          throw err;
        }
        try {
          if (!constantTimeEqual(key.publicKeyBlob, publicKeyBlob)) throw new PublicHalfMismatch(f.path);
          return key.sign(algorithm, data, crypto);
        } finally {
          key.dispose();
        }
      },
    });
  }
  for (const { identity, entry } of certificates) signers.push(certificateSigner(prepared, identity, entry, crypto, debug));
}

/**
 * The signer of a user certificate offered without its key (see IdentityFileEntry's
 * `certificate`), as sshconnect2.c sign_and_send_pubkey finds one once the server accepted the
 * certificate: the first identity offered, in order, with the key it certifies (an agent's key,
 * an identity file, whose passphrase is asked now, a signer), those the bound agent withdrew
 * left out; else the key file of its name whose public half was unknown (id_filename_matches),
 * loaded now. The signature is the plain key's (PROTOCOL.certkeys): the algorithm asked for is
 * already the plain one (signatureFormatOf).
 */
function certificateSigner(auth: PreparedAuth, identity: AuthIdentity, entry: IdentityFileEntry, crypto: CryptoProvider, debug: ConnectOptions['debug']): ExternalSigner {
  const plain = entry.certificate!.certificate.publicKeyBlob;
  const blob = entry.publicKeyBlob!;
  const signer: ExternalSigner = {
    publicKeyBlob: blob,
    identity,
    name: `${sshKeyTypeLabel(keyBlobType(blob))} "${identity.label}"`,
    sign: async (data, algorithm, flags) => {
      const candidates = [...auth.privateKeys.map((key) => ({ publicKeyBlob: key.publicKeyBlob, label: key.comment || key.keyType, key }) as AuthIdentity), ...auth.identities];
      const by = candidates.find((id) => id.publicKeyBlob !== undefined && constantTimeEqual(id.publicKeyBlob, plain));
      if (by) {
        // ssh's "signing failed for TYPE "PATH"" names the key that signs, not the certificate.
        signer.name = `${sshKeyTypeLabel(keyBlobType(plain))} "${by.label}"`;
        const fromAgent = auth.agentIdentities.includes(by);
        debug?.(`sign_and_send_pubkey: using private key "${by.label}"${fromAgent ? ' from agent' : ''} for certificate`, 2);
        if (by.key) return by.key.sign(algorithm, data, crypto);
        const its = auth.signers.find((s) => s.identity === by) ?? auth.signers.find((s) => s.identity === undefined && constantTimeEqual(s.publicKeyBlob, plain));
        if (!its) throw new SshError('ERR_PRIVATE_KEY', 'no signer for this key');
        return its.sign(data, algorithm, flags);
      }
      const named = auth.identities.find((id) => id.publicKeyBlob === undefined && certificateNameMatches(entry.path, id.label) && auth.keyLoaders.has(id));
      if (!named) {
        // ssherr.c SSH_ERR_KEY_NOT_FOUND.
        debug?.(`sign_and_send_pubkey: no separate private key for certificate "${identity.label}"`);
        throw new SshError('ERR_PRIVATE_KEY', 'key not found');
      }
      signer.name = `${sshKeyTypeLabel(keyBlobType(plain))} "${named.label}"`;
      debug?.(`sign_and_send_pubkey: using private key "${named.label}" for certificate`, 2);
      const key = await auth.keyLoaders.get(named)!();
      try {
        if (!constantTimeEqual(key.publicKeyBlob, plain)) throw new PublicHalfMismatch(named.label);
        return key.sign(algorithm, data, crypto);
      } finally {
        key.dispose();
      }
    },
  };
  return signer;
}

/**
 * An identity file whose private key is not the public half it was offered by (its FILE.pub is
 * stale, or names another key): sshconnect2.c identity_sign's sshkey_equal_public() check.
 */
class PublicHalfMismatch extends SshError {
  readonly path: string;
  constructor(path: string) {
    super('ERR_PRIVATE_KEY', `${path} does not hold the private half of the public key offered for it (${path}.pub?)`);
    this.path = path;
  }
}

/**
 * ssh(1)'s line for an identity file it skips: ssh.c's `Warning: Identity file PATH not
 * accessible: No such file or directory.`, or sshconnect2.c load_identity_file's `Load key
 * "PATH": REASON`; undefined for an
 * error that is not about loading the key (KeyPermissionsError, a UsageError).
 */
function identitySkipped(path: string, err: unknown): string | undefined {
  if (err instanceof KeyPermissionsError || !(err instanceof SshError)) return undefined;
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  // ssh.c, for a `-i` file it cannot reach (identityFiles are the library's -i).
  if (err.code === 'ERR_PRIVATE_KEY' && cause?.code === 'ENOENT') return `Warning: Identity file ${path} not accessible: No such file or directory.`;
  if (err.code === 'ERR_PRIVATE_KEY' && cause?.code !== undefined) return `Load key "${path}": ${strerror(cause)}`;
  if (err.code === 'ERR_KEY_PASSPHRASE' || err.code === 'ERR_KEY_ENCRYPTED' || err.code === 'ERR_KEY_FORMAT') {
    const full = expandHome(path);
    const reason = err.message.startsWith(`${full}: `) ? err.message.slice(full.length + 2) : err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
    return `Load key "${path}": ${reason}`;
  }
  return undefined;
}

/**
 * User certificates (OpenSSH PROTOCOL.certkeys) placed among the keys as ssh(1)'s pubkey_prepare()
 * places them: `certificates`, `certificateFiles`, or else `FILE-cert.pub` beside each identity
 * file. One for a `privateKey` is paired with it now; the others go among `files`, loaded
 * nothing (see certifyIdentityFiles): prepareAuth finds what signs for them.
 */
async function addCertificates(options: ConnectOptions, privateKeys: PrivateKey[], files: IdentityFileEntry[], crypto: CryptoProvider): Promise<void> {
  const certs: CertificateSource[] = [];
  const givenCerts = options.certificates === undefined ? [] : Array.isArray(options.certificates) ? options.certificates : [options.certificates];
  givenCerts.forEach((c, i) => {
    const source = `certificates[${i}]`;
    certs.push({ certificate: typeof c === 'string' ? parseCertificateFile(c, source, { crypto }) : parseCertificate(c, { crypto }), source });
  });
  for (const f of options.certificateFiles ?? []) certs.push((await loadCertificateFile(f, { crypto }))!);
  if (givenCerts.length === 0 && options.certificateFiles === undefined) {
    // ssh.c load_public_identity_files(): without CertificateFile, try "IDENTITY-cert.pub".
    for (const f of options.identityFiles ?? []) {
      if (typeof f !== 'string') continue;
      const c = await loadCertificateFile(`${f}-cert.pub`, { optional: true, crypto });
      if (c) certs.push(c);
    }
  }
  if (certs.length === 0) return;
  const given = givenCerts.length > 0 || options.certificateFiles !== undefined;
  const forPrivateKey = (c: CertificateSource) => privateKeys.some((k) => constantTimeEqual(k.publicKeyBlob, c.certificate.publicKeyBlob));
  files.splice(0, files.length, ...certifyIdentityFiles(files, certs.filter((c) => !forPrivateKey(c)), { given, debug: options.debug }));
  const now = () => Date.now() / 1000;
  const skipped = (m: string) => options.debug?.(m);
  const forGiven = certs.filter(forPrivateKey);
  const fingerprintHash = options.fingerprintHash === undefined ? undefined : fingerprintHashNamed(options.fingerprintHash);
  if (forGiven.length > 0) privateKeys.splice(0, privateKeys.length, ...withCertificates(privateKeys, forGiven, { now, skipped, fingerprintHash }));
}

/**
 * The provider `options.crypto` (or PURE_SSH_CRYPTO) asks for, runtime where available, with
 * chacha20-poly1305@openssh.com in WebAssembly as PURE_SSH_WASM says: `auto` (the default: where
 * it compiles), `off` (TypeScript ChaCha20 and Poly1305), `on` (a UsageError where it cannot).
 */
export function cryptoProviderFor(choice: ConnectOptions['crypto']): CryptoProvider {
  const env = process.env.PURE_SSH_CRYPTO;
  if (choice === undefined && env !== undefined && env !== '' && env !== 'pure' && env !== 'runtime') {
    throw new UsageError(`PURE_SSH_CRYPTO must be 'pure' or 'runtime', got ${JSON.stringify(env)}`);
  }
  const wanted = choice ?? (env === 'pure' ? 'pure' : 'runtime');
  if (wanted !== 'pure' && wanted !== 'runtime') {
    throw new UsageError(`crypto must be 'runtime' or 'pure', got ${show(wanted)}`);
  }
  const provider = wanted === 'runtime' && runtimeCryptoAvailable() ? nodeCryptoProvider : pureCryptoProvider;
  const wasm = process.env.PURE_SSH_WASM;
  if (wasm === undefined || wasm === '' || wasm === 'auto') return provider;
  if (wasm !== 'on' && wasm !== 'off') throw new UsageError(`PURE_SSH_WASM must be 'auto', 'on' or 'off', got ${JSON.stringify(wasm)}`);
  try {
    return withWasm(provider, wasm);
  } catch (e) {
    throw new UsageError(`PURE_SSH_WASM=on: ${(e as Error).message}`);
  }
}

function algorithmsFor(options: ConnectOptions, crypto: CryptoProvider): Partial<AlgorithmPreferences> {
  const d = defaultAlgorithms(crypto.name);
  // A verifyHostKey callback alone was written for plain keys: no certificate unless listed.
  if (options.verifyHostKey && options.knownHosts === undefined) d.hostKey = d.hostKey.filter((n) => !isCertificateType(n));
  // A misspelt category or a value of the wrong kind is a mistake, not a request for the defaults.
  checkAlgorithmLists(options.algorithms, SSH2_ALGORITHM_NAMES);
  const a = options.algorithms ?? {};
  const out: Partial<AlgorithmPreferences> = {};
  for (const { key } of ALGORITHM_CATEGORIES) {
    const spec = a[key];
    out[key] = spec === undefined ? d[key] : applyAlgorithmSpec(key, d[key], spec);
  }
  // ssh_config(5) Compression: the list OpenSSH's cipher.c compression_alg_list gives.
  out.compression = [...(options.compression ? COMPRESSION_YES : COMPRESSION_NO)];
  return out;
}

/**
 * The options that are the application's hooks, called inside the IO loop: each goes through
 * guardHooks (user-callback.ts), a throw ending the connection with ERR_ABORTED.
 */
const HOOKS = ['debug', 'warn', 'onBanner', 'onWarning', 'onKeyboardInteractiveInfo'];

/** Settled once: `.then` on it schedules a microtask (see SshClient.pump). */
const FLUSH_SOON = Promise.resolve();

/**
 * Channel data up to this many bytes waits for the end of the event loop's turn before it is
 * written (see SshClient.pump); more goes out at the end of the task that wrote it: a bulk
 * upload's 64 KiB reads are a batch already, and holding them would only delay them.
 */
const COALESCE_MAX_BYTES = 16 * 1024;

/**
 * An authenticated SSH connection. Emits 'close' (error?). The server's banner and the
 * connection's warnings all come before {@link connect} resolves, so they reach the `onBanner`
 * and `onWarning` options, not events.
 */
export class SshClient extends EventEmitter {
  /** Resolves once authenticated; rejects with the reason the connection failed. */
  readonly ready: Promise<void>;
  /** Resolves when the connection is over, with the error that ended it (undefined: clean). */
  readonly closed: Promise<SshError | undefined>;
  private readonly core: ClientCore;
  private readonly socket: Duplex;
  private readonly streams = new Map<number, ChannelStream>();
  /**
   * ssh(1)'s remote_name of each channel of a forward that ssh would free with its `free` line
   * (channels.c channel_free): from its `new` line (logNewChannel, holdChannel, nameChannel) until
   * that line is said.
   */
  private readonly channelNames = new Map<number, string>();
  /**
   * Keep the free lines of the forwards' channels the connection's loss ends, those still opening
   * too, for {@link takeChannelsToFree} instead of saying them as each ends (@internal: the CLI).
   */
  keepLostChannels = false;
  /** {@link takeChannelsToFree} said every channel's end. */
  private freesSaid = false;
  private outputPaused = false;
  private connected = false;
  /**
   * Our TCP socket's connect completed (false for a stream of the caller's that is no socket): a
   * socket error after it is a failed read or write, not a failed connect.
   */
  private tcpUp = false;
  private pumping = false;
  /** ExternalSigner.prepare has been scheduled (once per connection). */
  private signersPrepared = false;
  private flushScheduled = false;
  /** A flush at the end of this turn of the event loop is scheduled (see {@link pump}). */
  private turnFlushScheduled = false;
  /** Channel bytes handed to the core since the last socket write. */
  private unflushedChannelBytes = 0;
  /** A read of the SSH socket is being handled (see {@link deferToReadEnd}). */
  private reading = false;
  /** Callbacks for the end of the read being handled: the first {@link readEndCount}. */
  private readonly readEnd: ((() => void) | undefined)[] = [];
  private readEndCount = 0;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private resolveClosed!: (e: SshError | undefined) => void;
  private isDone = false;
  /** {@link close} under way: the remote forwards end with the DISCONNECT, none is cancelled first. */
  private disconnecting = false;
  /** What ended the connection (undefined: a clean close), for {@link assertUsable}. */
  private endError: SshError | undefined;
  /** The one timer, armed at the core's getTimer() (ConnectTimeout, ServerAlive*, RekeyLimit time). */
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private readonly forwards = new Set<LocalForward | DynamicForward<ListenSpec>>();
  /** Remote forwards by where the server listens (`tcpip HOST PORT`, `streamlocal PATH`). */
  private readonly remoteForwards = new Map<string, RemoteForward>();
  /** Global requests sent with want_reply, by the core's request id. */
  private readonly globalWaiters = new Map<number, (reply: { success: boolean; data: Uint8Array } | undefined) => void>();
  private readonly abortListener: (() => void) | undefined;
  /** Writes to our own TCP socket's handle past its Writable (socket-write.ts), where Node allows it. */
  private readonly directWrite: HandleWriter | undefined;

  /** @internal use {@link connect}. */

  /**
   * The core, made once the socket exists (whether its reads are lent decides its input mode).
   * An option the core refuses (UsageError) is thrown to `connect()`'s caller; the socket this
   * client opened for it is destroyed first, so that its own failure (a refused connect) cannot
   * follow as an 'error' no one listens to. A caller's `sock` is left to connect(), which closes it.
   */
  private makeCore(options: ConnectOptions, coreOptions: ClientCoreOptions): ClientCore {
    try {
      return new ClientCore(coreOptions);
    } catch (err) {
      if (!options.sock) (this.socket as Socket).destroy();
      throw err;
    }
  }
  /**
   * The options without `password`, `passphrase` and `privateKey`: those went to the core and
   * prepareAuth, and are not kept where util.inspect or JSON.stringify of the client would show them.
   */
  private readonly options: Omit<ConnectOptions, 'password' | 'passphrase' | 'privateKey'>;

  constructor(
    options: ConnectOptions,
    private readonly auth: PreparedAuth,
    algorithms: Partial<AlgorithmPreferences>,
    private readonly verifier: HostKeyVerifier,
    early?: { error: Error | undefined; closed: boolean },
    crypto: CryptoProvider = pureCryptoProvider,
    /** A socket connectionAttempts opened (connected, or the last try still connecting). */
    opened?: Socket,
  ) {
    super();
    const { password: _password, passphrase: _passphrase, privateKey: _privateKey, ...kept } = options;
    // The hooks come guarded by connectWith (guardHooks).
    this.options = kept;
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {});
    this.closed = new Promise((res) => (this.resolveClosed = res));
    const port = options.port ?? 22;
    if (options.sock) {
      this.socket = options.sock;
    } else {
      const s: Socket = opened ?? connectLendingReads({ host: options.host, port, noDelay: true });
      this.socket = s;
      const established = () => {
        this.notePeer();
        this.log(`Connection established to ${s.remoteAddress} port ${s.remotePort}.`);
      };
      if (s.connecting || s.pending) s.on('connect', established);
      else if (!s.destroyed) established();
    }
    this.notePeer();
    const lentReads = lendingReadsOf(this.socket);
    const lendsReads = lentReads !== undefined;
    this.core = this.makeCore(options, {
      username: options.username,
      random: (n) => new Uint8Array(randomBytes(n)),
      privateKeys: auth.privateKeys,
      identities: auth.identities,
      password: options.password,
      askPassword: options.askPassword !== undefined,
      passwordAttempts: options.passwordAttempts,
      // sshconnect2.c userauth_passwd: "%.30s@%.128s's password: ", the host being HostKeyAlias when set.
      passwordPrompt: `${options.username.slice(0, 30)}@${(options.hostKeyAlias ?? options.host).slice(0, 128)}'s password: `,
      passwordAuthentication: options.passwordAuthentication,
      kbdInteractiveAuthentication: options.kbdInteractiveAuthentication,
      pubkeyHostbound: options.pubkeyHostbound,
      preferredAuthentications: typeof options.preferredAuthentications === 'string' ? options.preferredAuthentications.split(',') : options.preferredAuthentications,
      pubkeyAcceptedAlgorithms: applyPubkeyAcceptedSpec(options.pubkeyAcceptedAlgorithms),
      requiredRsaSize: options.requiredRsaSize,
      // The core carries SHA-256 only: another digest is passed in (keys/fingerprint-hashes.ts).
      fingerprintHash: options.fingerprintHash === undefined ? undefined : fingerprintHashNamed(options.fingerprintHash),
      algorithms,
      crypto,
      // -C / Compression yes: zlib through pako (unused unless negotiated).
      compression: zlibCompression,
      // A socket of ours reads into one reused buffer (socket-read.ts): its bytes are only lent.
      // Any other stream's 'data' hands each read its own Buffer, never reused: decrypt in place.
      borrowInput: !lendsReads,
      // Our own TCP socket: a completed write means the kernel has the bytes, so the core may
      // refill the buffer (the write callback reports it). Not for a stream given by the caller.
      recycleOutput: lendsReads,
      rekeyBytes: options.rekeyBytes,
      rekeyPackets: options.rekeyPackets,
      // Monotonic: keepalive, ConnectTimeout and RekeyLimit's time are intervals, and window
      // tuning times round trips in fractions of a millisecond with it.
      now: () => performance.now(),
      connectTimeout: options.connectTimeout ?? 0,
      bannerTimeout: options.bannerTimeout ?? 0,
      keepaliveInterval: options.keepaliveInterval ?? 0,
      keepaliveCountMax: options.keepaliveCountMax,
      // OpenSSH's monotime() (CLOCK_BOOTTIME; Node's hrtime is CLOCK_MONOTONIC, the same clock
      // unless the machine was suspended): keepalives on its whole seconds, as ssh(1) sends them.
      monotimeOffset: Number(process.hrtime.bigint() / 1000n) / 1000 - performance.now(),
      rekeyTime: options.rekeyTime ?? 0,
      host: options.host,
      port: options.port ?? 22,
      windowAutoTune: options.windowAutoTune === false ? false : options.windowAutoTune === true ? {} : options.windowAutoTune,
      channelWindow: options.channelWindow,
      // The CLI's ssh(1) endings (fatalEndings), for the stream it passed as `sock`.
      ...fatalCoreOptions(options.sock),
    });
    const sock = this.socket;
    this.directWrite = lendsReads ? handleWriterFor(sock as Socket) : undefined;
    // A net.Socket has `pending` (no handle yet, or still connecting); a failed one has none.
    const tcp = sock as { connecting?: boolean; pending?: boolean };
    if (typeof tcp.pending === 'boolean') {
      if (tcp.connecting) sock.once('connect', () => (this.tcpUp = true));
      else this.tcpUp = !tcp.pending && !sock.destroyed;
    }
    const onRead = (d: Uint8Array): void => {
      if (!this.connected) this.notePeer();
      this.connected = true;
      this.reading = true;
      try {
        this.core.receive(d);
        this.pump();
      } finally {
        this.reading = false;
        if (this.readEndCount > 0) this.runReadEnd();
      }
    };
    if (!lentReads) sock.on('data', onRead);
    sock.on('drain', () => {
      if (!this.outputPaused) return;
      this.outputPaused = false;
      this.core.setOutputPaused(false);
      this.pump();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // A stream that already words its failure (a ProxyCommand, a jump host's channel).
      if (err instanceof SshError) {
        this.core.connectionLost(err);
        this.pump();
        return;
      }
      // A write into a connection the server already closed (EPIPE) is the server closing it:
      // the same words as when the close is seen on the read side.
      if (this.connected && err.code === 'EPIPE') {
        this.core.connectionLost(new ConnectionLostError(this.closedMessage(), { cause: err }));
        this.pump();
        return;
      }
      // ssh(1)'s wording: before the TCP connect completed it is a connect error; after it (even
      // with no byte from the server yet, e.g. a reset before its identification line) a read's.
      // A connect that libuv reports failed with ECONNRESET had succeeded: the handshake completed
      // and the server reset it before this process's loop saw the connect (a busy start-up; a
      // refused connect is ECONNREFUSED). ssh's blocking connect(2) returned, so its read fails.
      const message = this.connected || this.tcpUp || err.code === 'ECONNRESET'
        ? `Read from remote host ${options.host}: ${describeSocketError(err)}`
        : (couldNotResolve(options.host, err) ?? `ssh: connect to host ${options.host} port ${port}: ${describeSocketError(err)}`);
      this.core.connectionLost(new ConnectionLostError(message, { cause: err }));
      this.pump();
    });
    // The server's TCP connection ended in session. libuv reports a reset that arrives behind
    // data as an EOF too (uv__stream_io: POLLHUP after a partial read ends the stream without
    // reading the pending ECONNRESET), so 'end' may be either. ssh(1), once its loop has seen
    // the end, sends SSH2_MSG_DISCONNECT (clientloop.c client_loop), and the outcome is worded by
    // that write: a reset socket (TCP CLOSED) refuses it at once with ECONNRESET or EPIPE (ssh:
    // "client_loop: send disconnect: Broken pipe", connect-host.ts sendDisconnectFails), one the
    // server closed (CLOSE_WAIT) takes it ("Connection to HOST closed by remote host.").
    if (typeof tcp.pending === 'boolean') {
      sock.on('end', () => {
        // (Not after abandon(): its end is ours, with no DISCONNECT.)
        if (this.isDone || !this.core.isAuthenticated || this.disconnecting) return;
        this.core.queueDisconnect();
        const out = this.core.takeOutput();
        if (out) this.write(out);
        // A write the kernel refuses destroys the socket with it, synchronously (socket-write.ts,
        // and Node's own write); one the Writable still holds behind others is not known yet.
        const refused = (sock as Socket).errored as NodeJS.ErrnoException | null;
        this.core.connectionLost(
          refused?.syscall === 'write'
            ? new ConnectionLostError(`Read from remote host ${options.host}: Connection reset by peer`, { cause: refused })
            : new ConnectionLostError(closedByRemoteHost(options.host)),
        );
        this.pump();
      });
    }
    sock.on('close', () => {
      this.core.connectionLost(new ConnectionLostError(this.closedMessage()));
      this.pump();
    });
    if (options.signal) {
      // The signal's reason (an AbortSignal.timeout()'s TimeoutError, the caller's own) is the cause.
      const signal = options.signal;
      if (signal.aborted) queueMicrotask(() => this.fail(abortedBySignal(signal)));
      this.abortListener = () => this.fail(abortedBySignal(signal));
      options.signal.addEventListener('abort', this.abortListener, { once: true });
    }
    this.core.start();
    this.pump();
    // What the server sent before we listened is handed over now, before a close noted below.
    lentReads?.attach(onRead);
    this.schedulePrepareKex(sock);
    // The socket may have failed before we were listening (it was opened by the caller).
    const earlyError = early?.error ?? (sock.errored as Error | null) ?? undefined;
    if (earlyError) sock.emit('error', earlyError);
    else if (early?.closed || sock.destroyed) sock.emit('close');
  }

  /**
   * packet.c's remote id (ssh_remote_ipaddr / ssh_remote_port) of a TCP socket, noted while it is
   * connected: a closed socket no longer tells its peer.
   */
  private peer: { address: string; port: number } | undefined;

  private notePeer(): void {
    const s = this.socket as Partial<Socket>;
    if (this.peer === undefined && typeof s.remoteAddress === 'string' && typeof s.remotePort === 'number') this.peer = { address: s.remoteAddress, port: s.remotePort };
  }

  /**
   * ssh(1)'s words for a connection the server ended (src/quit-message.ts), by how far it got, as
   * the web client says them: before the server's identification line kex.c's; after it and
   * before login packet.c sshpkt_fatal's `Connection closed by ADDR port N` (the TCP peer's
   * address, or the host and port given for another stream); in session clientloop.c's
   * `Connection to HOST closed by remote host.`.
   */
  private closedMessage(): string {
    if (this.core.info.serverVersion === undefined) return KEX_IDENTIFICATION_CLOSED;
    if (this.core.isAuthenticated) return closedByRemoteHost(this.options.host);
    return closedDuringKexOrAuth(this.peer?.address ?? this.options.host, this.peer?.port ?? this.options.port ?? 22);
  }

  /**
   * Our version line and KEXINIT go out first (the flush above is a microtask; a connecting
   * socket sends them on 'connect'); then, in a later turn of the loop, the kex key pair is made
   * while the server works towards its KEXINIT (ClientCore.prepareKex; sshd spends tens of ms
   * there, ML-KEM-768 keygen a few to 20 ms here).
   */
  private schedulePrepareKex(sock: Duplex): void {
    const prepare = (): void => {
      setImmediate(() => {
        if (this.isDone) return;
        this.core.prepareKex();
        this.pump();
      });
    };
    if ((sock as { connecting?: boolean }).connecting) sock.once('connect', prepare);
    else prepare();
  }

  /** Negotiated algorithms, server version, session id. */
  get info(): TransportInfo & { serverSigAlgs: string[] | undefined } {
    return this.core.info;
  }

  /** Open a direct-tcpip channel (RFC 4254 §7.2); resolves when the server has connected. */
  async openDirectTcpip(params: DirectTcpipParams): Promise<ChannelStream> {
    // async: a connection already over (or a bad argument) rejects, never throws.
    // A second argument (`{ signal }`, as fetch() takes one) is refused, not ignored: see NO_SIGNAL.
    if (arguments[1] !== undefined) throw new UsageError(`openDirectTcpip takes one argument, { host, port, originatorAddress?, originatorPort? }; got a second, ${show(arguments[1])}: a signal ${NO_SIGNAL.signal}`);
    return this.whenOpen(this.directTcpip(params));
  }

  /**
   * Open a direct-tcpip channel and return its stream at once (writes are queued until the
   * server confirms; a refusal destroys the stream with a ChannelOpenError). `name` is the
   * forwards' own (@internal): how ssh(1) names the channel in its debug lines.
   */
  directTcpip(params: DirectTcpipParams, name?: ForwardedChannelName): ChannelStream {
    this.assertUsable();
    // A key it does not take is refused, as connect() refuses one (here, not in the core's
    // checkDirectTcpip: the web bundle's size budget).
    checkCallKeys('openDirectTcpip', params, { host: 0, port: 0, originatorAddress: 0, originatorPort: 0 }, '', NO_SIGNAL);
    const id = this.core.openDirectTcpip(params, name?.channel !== undefined ? { channel: name.channel } : undefined);
    this.logNewChannel(id, name, `[direct-tcpip] to ${params.host}:${params.port}`);
    return this.track(id);
  }

  /**
   * channels.c channel_free's line for a forward's channel: its remote_name, and `open`, the
   * channels still open with it, to which the numbers held by {@link reserveChannelNumber} (the
   * CLI's listeners, which are channels in ssh) are added.
   */
  private logFreed(id: number, remoteName: string, open: number): void {
    this.log(`channel ${id}: free: ${remoteName}, nchannels ${open + this.core.reservedChannels}`);
  }

  /**
   * The channels ssh(1) would still hold while this one is freed: the core's, and those the core
   * released in the same read whose end is not handled here yet (a batch of closes: ssh frees
   * them one by one, nchannels counting down). O(open channels), said only with a debug hook.
   */
  private channelsNotFreed(): number {
    let n = this.core.channelCount;
    for (const id of this.streams.keys()) if (this.core.channelStats(id) === undefined) n++;
    return n;
  }

  /**
   * The debug line of a channel just opened: ssh(1)'s for a forward's connection (channels.c
   * channel_new, `channel N: new TYPE [TYPE] (inactive timeout: 0)`; ChannelTimeout is not
   * implemented), whose name its close line then gives (see ForwardedChannelName); else `plain`.
   */
  private logNewChannel(id: number, name: ForwardedChannelName | undefined, plain: string): void {
    if (name === undefined) return this.log(`channel ${id}: new ${plain}`);
    this.channelNames.set(id, name.remoteName);
    // A number held at accept had its line then (holdChannel).
    if (name.channel === undefined) this.log(`channel ${id}: new ${name.ctype} [${name.ctype}] (inactive timeout: 0)`);
  }

  /**
   * A forward's connection accepted before it is known where it goes (-D): its channel number is
   * held now, with channels.c channel_new's line, as ssh makes the channel at accept; the open
   * then takes it (ForwardedChannelName.channel), or {@link releaseChannel} gives it up (@internal).
   */
  holdChannel(ctype: string): number {
    const id = this.core.reserveChannelNumber();
    this.channelNames.set(id, ctype);
    this.log(`channel ${id}: new ${ctype} [${ctype}] (inactive timeout: 0)`);
    return id;
  }

  /** A number from {@link holdChannel} given up unopened, with channel_free's line (@internal). */
  releaseChannel(id: number, remoteName: string): void {
    // Unsaid once the session's end took it (takeChannelsToFree said it then).
    if (this.channelNames.delete(id)) this.logFreed(id, remoteName, this.core.channelCount);
    this.core.releaseChannelNumber(id);
  }

  /** OpenSSH direct-streamlocal@openssh.com: a Unix socket path on the server. */
  async openDirectStreamlocal(socketPath: string): Promise<ChannelStream> {
    this.assertUsable();
    const id = this.core.openDirectStreamlocal(socketPath);
    this.log(`channel ${id}: new [direct-streamlocal@openssh.com] to ${socketPath}`);
    return this.whenOpen(this.track(id));
  }

  /** Stream form of {@link openDirectStreamlocal}; `name` as {@link directTcpip}'s (@internal). */
  directStreamlocal(socketPath: string, name?: ForwardedChannelName): ChannelStream {
    this.assertUsable();
    const id = this.core.openDirectStreamlocal(socketPath);
    this.logNewChannel(id, name, `[direct-streamlocal@openssh.com] to ${socketPath}`);
    return this.track(id);
  }

  /**
   * Local port forwarding, like `ssh -L`. Listens on loopback unless told otherwise;
   * `port: 0` picks a free port.
   *
   * @example
   * ```ts
   * const fwd = await ssh.forwardLocal({ listen: { port: 63333 }, to: { host: 'localhost', port: 5432 } });
   * console.log(fwd.address); // { host: '127.0.0.1', port: 63333 }
   * ```
   */
  async forwardLocal(options: ForwardOptions): Promise<LocalForward> {
    this.assertUsable();
    const fwd = await startLocalForward(this, options);
    this.forwards.add(fwd);
    fwd.once('close', () => this.forwards.delete(fwd));
    return fwd;
  }

  /**
   * Remote port forwarding, like `ssh -R`: the server listens (on loopback unless told
   * otherwise: `host` is sent as is, `''` for all addresses, subject to sshd's GatewayPorts) and
   * each connection it accepts is connected here to `to`. `port: 0` lets the server pick; the
   * bound port is in `address`. Rejects with ForwardRefusedError when the server refuses.
   * Without `to` (reverse dynamic forwarding, `ssh -R port`): each connection is a SOCKS4/4a/5
   * client served here, connected here to the host and port it asks for.
   *
   * @example
   * ```ts
   * const fwd = await ssh.forwardRemote({ listen: { port: 0 }, to: { host: 'localhost', port: 3000 } });
   * const socks = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 } }); // a SOCKS proxy on the server
   * console.log(fwd.address); // { host: 'localhost', port: 41234 } on the server
   * await fwd.close(); // cancel-tcpip-forward
   * ```
   */
  async forwardRemote(options: RemoteForwardOptions): Promise<RemoteForward> {
    this.assertUsable();
    checkForwardOptions(options, 'forwardRemote');
    return startRemoteForward(
      {
        requestForward: async (listen) => {
          this.assertUsable();
          const id = 'path' in listen ? this.core.requestStreamlocalForward(listen.path) : this.core.requestTcpipForward(listen.host, listen.port);
          const reply = await this.globalReply(id);
          // No reply: the connection ended first, which is no refusal by the server (break25 F6):
          // the ConnectionLostError a request made after the end gets.
          if (reply === undefined) this.assertUsable();
          if (!reply?.success) return { success: false, port: 0 };
          return { success: true, port: 'path' in listen ? 0 : decodeTcpipForwardReply(reply.data, listen.port) };
        },
        cancelForward: async (listen) => {
          this.remoteForwards.delete(remoteKey(listen));
          if (this.isDone || this.disconnecting) return;
          const id = 'path' in listen ? this.core.cancelStreamlocalForward(listen.path) : this.core.cancelTcpipForward(listen.host, listen.port);
          await this.globalReply(id);
        },
        acceptChannel: (channel, remoteName) => {
          this.assertUsable();
          this.core.acceptChannel(channel);
          if (remoteName !== undefined) this.channelNames.set(channel, remoteName);
          const stream = this.track(channel);
          stream._opened();
          return stream;
        },
        nameChannel: (channel, remoteName) => this.channelNames.set(channel, remoteName),
        rejectChannel: (channel, reason, description, remoteName) => {
          if (this.isDone) return;
          this.channelNames.delete(channel);
          // channels.c channel_free's line, nchannels counting this one (not yet released).
          const n = this.core.channelCount;
          this.core.rejectChannel(channel, reason, description);
          if (remoteName !== undefined) this.logFreed(channel, remoteName, n);
          this.pump();
        },
        log: (m, level) => this.log(m, level),
      },
      options,
      (fwd) => this.remoteForwards.set(remoteKey(fwd.address), fwd),
    );
  }

  /**
   * Dynamic port forwarding, like `ssh -D`: a SOCKS4/4a/5 listener (CONNECT, no authentication)
   * on loopback unless told otherwise; each request becomes a direct-tcpip channel, host names
   * resolved by the server. `port: 0` picks a free port; `{ path }` listens on a Unix socket (0600).
   *
   * @example
   * ```ts
   * const socks = await ssh.forwardDynamic({ listen: { port: 1080 } });
   * // curl --socks5-hostname 127.0.0.1:1080 http://intranet/
   * ```
   */
  async forwardDynamic<L extends ListenSpec = { host?: string; port: number }>(options: DynamicForwardOptions<L>): Promise<DynamicForward<L>> {
    this.assertUsable();
    checkForwardOptions(options, 'forwardDynamic');
    const fwd = await startDynamicForward(this, options);
    this.forwards.add(fwd);
    fwd.once('close', () => this.forwards.delete(fwd));
    return fwd;
  }

  /**
   * Disconnect cleanly; resolves when the socket is closed. The local forwards stop listening
   * first; the remote ones end with the connection, without a cancel-tcpip-forward or
   * cancel-streamlocal-forward@openssh.com each, as ssh(1) leaves (clientloop.c client_loop: its
   * DISCONNECT, then channel_free_all; the server frees their listeners with the connection).
   */
  async close(): Promise<void> {
    this.disconnecting = true;
    for (const f of [...this.forwards]) await f.close();
    for (const f of [...this.remoteForwards.values()]) await f.close();
    if (!this.isDone) {
      this.core.disconnect();
      this.pump();
    }
    await this.closed;
    await this.socketClosed();
  }

  /**
   * The socket's 'close' (break36: close() resolved as the DISCONNECT was queued, before the
   * socket had written it and closed, so the TCP handle was still there after `await close()`).
   * finish() destroys the socket once its end is written, or after 1 s: bounded the same way
   * here, for a caller's `sock` that emits no 'close'.
   */
  private socketClosed(): Promise<void> {
    const sock = this.socket as Duplex & { closed?: boolean };
    if (sock.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1500);
      sock.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * End the connection without SSH_MSG_DISCONNECT, as ssh(1) does when it leaves through fatal()
   * or cleanup_exit() (-W's end, clientloop.c client_cleanup_stdio_fwd; "stdio forwarding
   * failed"; ExitOnForwardFailure): the local forwards stop listening, what was written is
   * flushed, and the TCP connection closes (sshd then logs "Connection closed by", not "Received
   * disconnect"). Its normal end (client_loop's, a signal's) is {@link close}'s DISCONNECT.
   * Resolves when the socket is closed.
   *
   * @internal the CLI's.
   */
  async abandon(): Promise<void> {
    this.disconnecting = true;
    for (const f of [...this.forwards]) await f.close();
    if (!this.isDone) this.socket.end();
    await this.closed;
    await this.socketClosed();
  }

  /** Start a key exchange now (RFC 4253 §9). */
  rekey(): void {
    this.core.rekey();
    this.pump();
  }

  /** Send a keepalive@openssh.com global request now (ServerAlive*); any reply counts as alive. */
  ping(): void {
    this.core.sendKeepalive();
    this.pump();
  }

  /**
   * Tell the server this connection will open no session channels (OpenSSH PROTOCOL §2.2
   * no-more-sessions@openssh.com, no reply asked): the server then refuses any "session" channel
   * on it, so whoever takes this client over later cannot start a shell through it. ssh(1) sends
   * it once its forwards are set up, unless it multiplexes (ControlMaster), to OpenSSH 5.0 and
   * later (compat.c SSH_NEW_OPENSSH); the pure-ssh CLI does
   * the same. pure-ssh itself never opens sessions. Each call sends the request (sshd only sets
   * its flag again). Returns false, sending nothing, before authentication or once the connection
   * is closed.
   */
  noMoreSessions(): boolean {
    if (!this.core.sendNoMoreSessions()) return false;
    this.pump();
    return true;
  }

  /** Number of open channels. */
  get channelCount(): number {
    return this.core.channelCount;
  }

  /**
   * Hold the lowest free channel number for a channel of the caller's own that never reaches the
   * wire, as ssh(1) numbers its listeners among its channels (channels.c channel_new): the
   * channels opened afterwards carry the numbers ssh's would, in the debug lines and on the wire
   * (the server's log names them by the same numbers). Held until the connection ends (@internal:
   * the CLI, one per listener).
   */
  reserveChannelNumber(): number {
    return this.core.reserveChannelNumber();
  }

  /**
   * The forwards' channels whose `free` line is not said yet (open, opening, held at accept, or
   * ended by the connection's loss with {@link keepLostChannels}), lowest number first, each with
   * the name channels.c channel_free gives it, taken once (@internal: the CLI says their free lines
   * with its listeners' at the session's end, clientloop.c channel_free_all).
   */
  takeChannelsToFree(): { channels: { channel: number; remoteName: string }[]; others: number } {
    const channels = [...this.channelNames].map(([channel, remoteName]) => ({ channel, remoteName })).sort((a, b) => a.channel - b.channel);
    this.channelNames.clear();
    // Said once: the channels' own ends after this say nothing more.
    this.freesSaid = true;
    // The open channels without a name (a -W channel), which ssh frees too, unsaid here: the
    // core's channels but those in the list (not the numbers held, which the core does not count).
    const others = this.core.channelCount - channels.filter((c) => this.core.channelStats(c.channel) !== undefined).length;
    return { channels, others: Math.max(0, others) };
  }

  /**
   * This connection's receive windows (RFC 4254 §5.2), in bytes: `windows`, the sum of the
   * window sizes its channels maintain; `committed`, the most they may hold (received and not
   * yet read, plus what the server may still send); `borrowed`, the part taken from the window
   * budget (`windowAutoTune.budget`) beyond the channels' initial windows.
   */
  get receiveWindows(): { windows: number; committed: number; borrowed: number } {
    return this.core.receiveWindows;
  }

  // ---- ChannelHost (used by ChannelStream) ----

  /** @internal */
  channelWrite(channel: number, data: Uint8Array, lent = false): boolean {
    const done = this.core.channelWrite(channel, data, lent);
    this.unflushedChannelBytes += data.length;
    this.pump();
    return done || this.core.channelPendingBytes(channel) === 0;
  }
  /** @internal */
  channelEnd(channel: number): void {
    this.core.channelEnd(channel);
    this.pump();
  }
  /** @internal */
  channelClose(channel: number): void {
    if (this.isDone) return;
    this.core.channelClose(channel);
    this.pump();
  }
  /** @internal */
  channelConsumed(channel: number, n: number): void {
    this.core.channelConsumed(channel, n);
    if (!this.pumping) this.pump();
  }
  /**
   * @internal Run `fn` once the socket read being handled now is done (its packets decrypted and
   * their events delivered), before the task's microtasks: false when no read is being handled
   * (the caller then waits for the end of its task itself). The local forwarders gather a read's
   * data for one local socket this way (forward.ts pipeFromChannel): one callback per read
   * instead of a promise reaction per channel and read (~700 instructions each in callgrind of
   * `pgbench -S -c 4` through -L).
   */
  deferToReadEnd(fn: () => void): boolean {
    if (!this.reading) return false;
    this.readEnd[this.readEndCount++] = fn;
    return true;
  }

  /** The callbacks {@link deferToReadEnd} took, in order; those they defer in turn wait for a later read's end or their task's. */
  private runReadEnd(): void {
    const q = this.readEnd;
    const n = this.readEndCount;
    this.readEndCount = 0;
    try {
      for (let i = 0; i < n; i++) q[i]!();
    } finally {
      // Not `q.length = 0`: that frees the array's backing store, which the next read allocates
      // again; nor `q.fill(undefined, 0, n)`, a call into V8's C++ builtin (~220 instructions per
      // read in a callgrind profile of `pgbench -S -c 4` through -L) for a slot or two.
      for (let i = 0; i < n; i++) q[i] = undefined;
    }
  }

  /**
   * {@link bindAgentToSession} with this connection's first key exchange, then the keys to offer
   * handed to the core. An agent connection made for a client already gone is closed.
   */
  private async bindAgent(): Promise<void> {
    const { hostKey, sessionId, hostKeySignature } = this.core.info;
    await bindAgentToSession(this.auth, { hostKeyBlob: hostKey, sessionId, signature: hostKeySignature }, (m, l) => this.log(m, l));
    if (this.isDone) closeAgent(this.auth);
    else this.core.replaceIdentities(this.auth.identities);
  }

  /** @internal for -v logs of the forwarder. */
  log(message: string, level?: 2 | 3): void {
    if (level) this.options.debug?.(message, level);
    else this.options.debug?.(message);
  }

  // ---- the IO loop ----

  /** The reply to global request `id`; undefined if the connection ends first. */
  private globalReply(id: number): Promise<{ success: boolean; data: Uint8Array } | undefined> {
    this.pump();
    return new Promise((resolve) => this.globalWaiters.set(id, resolve));
  }

  /**
   * Once the connection is over, a new channel or forward fails as the streams it carried did: a
   * ConnectionLostError, ERR_CONNECTION_LOST with what ended it as `cause`, or
   * ERR_CONNECTION_CLOSED after a clean close (`close()`).
   */
  private assertUsable(): void {
    if (!this.isDone) return;
    const end = this.endError;
    if (end) throw new ConnectionLostError(`the SSH connection was lost: ${end.message}`, { cause: end });
    throw new ConnectionLostError('the SSH connection is closed', { code: 'ERR_CONNECTION_CLOSED' });
  }

  private track(id: number): ChannelStream {
    const stream = new ChannelStream(this, id);
    this.streams.set(id, stream);
    // The CHANNEL_OPEN is queued in the core: send it now.
    this.pump();
    return stream;
  }

  private whenOpen(stream: ChannelStream): Promise<ChannelStream> {
    return new Promise((resolve, reject) => {
      if (stream.isOpen) return resolve(stream);
      const onOpen = () => {
        stream.off('error', onError);
        resolve(stream);
      };
      const onError = (err: Error) => {
        stream.off('open', onOpen);
        reject(err);
      };
      stream.once('open', onOpen);
      stream.once('error', onError);
    });
  }

  /** Move bytes out and events up until both are empty. Re-entrant calls are folded in. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let e = this.core.nextEvent(); e; e = this.core.nextEvent()) {
        // The per-message event here, the rest in handle(): its switch (every event the login
        // and the channels' lives produce, closures included) is so much bytecode that V8's
        // tiering, which counts a function's ticks by its own bytecode run and asks more of a
        // large one, optimized it only ~1,900 round trips into a fresh tunnel's echo, so the
        // first thousands of messages each went through its baseline code.
        if (e.type === 'channel-data') this.streams.get(e.channel)?._data(e.data);
        else this.handle(e);
      }
    } finally {
      this.pumping = false;
    }
    if (!this.signersPrepared && this.core.awaitingAuthMethods) {
      // In a later turn of the loop, once the `none` request is written (the flush below is a
      // microtask): the first key file to be offered loads while the server answers it
      // (ExternalSigner.prepare). Only the first: the others may never be needed.
      this.signersPrepared = true;
      setImmediate(() => {
        if (this.isDone || this.core.isAuthenticated) return;
        void this.auth.signers.find((s) => s.prepare)?.prepare!();
      });
    }
    if (this.core.outputPending) {
      if (this.unflushedChannelBytes <= COALESCE_MAX_BYTES && this.core.channelCount > 1 && this.core.isAuthenticated) {
        // One socket write per turn of the event loop, as ssh(1) writes once per pass of its
        // poll loop: the messages of every callback of this turn's poll phase (several local
        // sockets readable at once: a channel each) leave together when it ends (the check
        // phase, before the loop waits again), in one segment instead of one per channel.
        // pgbench -S -c 4 through -L: 1.22 messages per segment to sshd instead of 1.00 (ssh(1):
        // 1.41), 1.69 write calls per transaction instead of 2.00, and sshd's syscalls per
        // transaction 11.6 instead of 13.3 (with ssh(1): 11.9). Only with two channels or more:
        // a lone channel has nothing to wait for, and its round trip keeps the per-task flush.
        if (!this.turnFlushScheduled) {
          this.turnFlushScheduled = true;
          setImmediate(this.flushTurn);
        }
      } else if (!this.flushScheduled) {
        // Bulk data, a lone channel and the handshake: one socket write per task, without
        // waiting for the end of the turn (what a task produced is already a batch).
        this.flushScheduled = true;
        // A reaction on a settled promise is the same microtask as queueMicrotask's, without the
        // AsyncResource Node allocates for each queueMicrotask (this runs for every message).
        void FLUSH_SOON.then(this.flush);
      }
    }
    this.armTimer();
  }

  private armTimer(): void {
    const at = this.isDone ? undefined : this.core.getTimer();
    if (at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    // A deadline past setTimeout's range fires early and is re-armed (long-timeout.ts).
    this.timer = setTimeout(this.onTimer, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, at - performance.now())));
    this.timer.unref?.();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = undefined;
    this.core.handleTimer(performance.now());
    this.pump();
  };

  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.writeOutput();
  };

  private readonly flushTurn = (): void => {
    this.turnFlushScheduled = false;
    this.writeOutput();
  };

  private writeOutput(): void {
    this.unflushedChannelBytes = 0;
    // finish() wrote the last of it (a DISCONNECT) and disposed of the core.
    if (this.isDone) return;
    const out = this.core.takeOutput();
    if (out) this.write(out);
  }

  /** A write of a buffer from takeOutput() completed: the core may reuse it (recycleOutput). */
  private readonly onWritten = (err?: Error | null): void => {
    this.core.outputWritten(!err);
  };

  /**
   * A direct write (socket-write.ts) that waited in libuv completed: it is reported, and output
   * paused for it resumes unless the socket's Writable holds enough to emit 'drain' itself.
   */
  private readonly onDirectWritten = (err: Error | null): void => {
    this.core.outputWritten(!err);
    if (err || !this.outputPaused || this.socket.writableNeedDrain) return;
    this.outputPaused = false;
    this.core.setOutputPaused(false);
    this.pump();
  };

  private write(chunks: Uint8Array[]): void {
    const sock = this.socket;
    if (sock.destroyed || !sock.writable) {
      // Never written, never reported: the core stops reusing output buffers.
      this.core.outputWritten(false);
      return;
    }
    let ok = true;
    let i = 0;
    const direct = this.directWrite;
    if (direct !== undefined) {
      // While the kernel takes each chunk whole; the rest follows through the Writable, behind
      // a chunk left waiting in libuv (which writes in order).
      for (; i < chunks.length; i++) {
        const r = direct(chunks[i]!, this.onDirectWritten);
        if (r === WRITE_REFUSED) break;
        if (r === WRITE_DONE) {
          this.core.outputWritten(true);
          continue;
        }
        // The socket is congested (or failed): pause until that chunk is written.
        ok = false;
        i++;
        break;
      }
    }
    const rest = chunks.length - i;
    if (rest > 1 && 'cork' in sock) sock.cork();
    for (; i < chunks.length; i++) {
      if (!sock.write(chunks[i]!, this.onWritten)) ok = false;
    }
    if (rest > 1 && 'uncork' in sock) sock.uncork();
    if (!ok && !this.outputPaused) {
      // The socket is congested: stop packetizing channel data until 'drain' (or the direct
      // write's completion).
      this.outputPaused = true;
      this.core.setOutputPaused(true);
    }
  }

  /** Every event but 'channel-data', which pump() handles itself. */
  private handle(e: Exclude<ClientEvent, { type: 'channel-data' }>): void {
    switch (e.type) {
      // The frequent events first: a switch on strings tests its cases in order.
      case 'channel-drain':
        this.streams.get(e.channel)?._drain();
        return;
      case 'log':
        this.log(e.message, e.level);
        return;
      case 'host-key':
        void settleHostKey(
          {
            // ssh(1) binds its agent to the session once the host key is trusted, before it lists
            // the agent's keys (sshconnect2.c get_agent_identities): ours, before our NEWKEYS.
            acceptHostKey: () =>
              this.bindAgent().then(() => {
                if (!this.isDone) this.core.acceptHostKey();
              }),
            rejectHostKey: (error) => this.core.rejectHostKey(error),
          },
          e,
          // The peer's address for ssh's "host (IP)" question (sshconnect.c get_hostfile_hostname_ipaddr).
          { host: this.options.host, port: this.options.port ?? 22, address: peerAddress(this.socket) },
          this.verifier,
          (m) => this.log(m),
        ).then(() => this.pump());
        return;
      case 'banner':
        this.options.onBanner?.(e.message);
        return;
      case 'keyboard-interactive-info':
        if (this.options.onKeyboardInteractiveInfo) this.options.onKeyboardInteractiveInfo({ name: e.name, instruction: e.instruction });
        else this.log(keyboardInteractiveInfoLine(e.name, e.instruction));
        return;
      case 'warning':
        this.options.onWarning?.({ code: e.code, message: e.message });
        return;
      case 'sign-request': {
        // The signer of the identity offered: another identity file may hold the same public key
        // (a stale FILE.pub), and ssh(1) signs with the one the server accepted.
        const signer =
          this.auth.signers.find((s) => s.identity === e.identity) ??
          this.auth.signers.find((s) => s.identity === undefined && constantTimeEqual(s.publicKeyBlob, e.keyBlob));
        if (!signer) {
          this.core.provideSignature(e.id, null, 'no signer for this key');
          return;
        }
        signer.sign(e.data, e.algorithm, e.flags).then(
          (sig) => {
            // Only a caller's Signer resolves with null: it declined (src/auth/signer.ts).
            this.core.provideSignature(e.id, sig, sig === null ? SIGNER_DECLINED : undefined);
            this.pump();
          },
          (err: unknown) => {
            // askPassphrase threw or answered nonsense: the connection ends with that.
            if (isCallbackFailure(err)) return this.fail(err);
            const reason = (err as Error)?.message ?? String(err);
            // OpenSSH sshconnect2.c sign_and_send_pubkey's error line; a key the user chose not
            // to unlock (or could not) only gets debug lines, as in its load_identity_file.
            const code = (err as SshError)?.code;
            // No or a wrong passphrase: skipped, named in identitiesSkipped as with `passphrase`.
            const passphraseProblem = code === 'ERR_KEY_ENCRYPTED' || code === 'ERR_KEY_PASSPHRASE';
            const skipped = signer.identity && passphraseProblem ? this.noteSkipped(signer.identity.label, err) : undefined;
            if (skipped) {
              this.core.provideSignature(e.id, null);
              this.pump();
              return;
            }
            // load_identity_file: sshkey_perm_ok's block and "Load key": a soft failure, no
            // "signing failed" line; the next key is tried.
            const warn = this.options.warn;
            const unparsable = code === 'ERR_KEY_FORMAT' && signer.identity !== undefined;
            // sshconnect2.c identity_sign: error_f() of a private key other than the public half
            // offered (a stale FILE.pub), SSH_ERR_KEY_NOT_FOUND: a soft failure, no "signing failed".
            if (err instanceof PublicHalfMismatch) warn?.(`identity_sign: private key ${err.path} contents do not match public`);
            else if (err instanceof KeyPermissionsError) warn?.(unprotectedKeyLines(err));
            // A private half that cannot be read (mode 000): load_identity_file's `Load key
            // "PATH": Permission denied`, and no "signing failed" line, as ssh.
            else if (code === 'ERR_PRIVATE_KEY' && (err as { cause?: NodeJS.ErrnoException }).cause?.code !== undefined) {
              // A default key's private half that is not there (its .pub is): load_identity_file's
              // `no such identity` at debug3 only, as at its turn (key-request below).
              const defaultMissing = !(e.identity.note ?? '').includes('explicit') && isPathLookupFailure((err as { cause?: NodeJS.ErrnoException }).cause?.code);
              if (!defaultMissing) warn?.(loadKeyErrorLine(signer.identity?.label ?? e.identity.label, err)!);
            } else if (unparsable) {
              // A private half that does not parse, its FILE.pub offered and accepted:
              // sshconnect2.c sign_and_send_pubkey → load_identity_file's `Load key "PATH":
              // REASON` (ssherr.c), a soft failure with no "signing failed" line, as at its turn;
              // pure-ssh's own why stays in the core's debug line below.
              warn?.(loadKeyErrorLine(signer.identity!.label, err)!);
            } else if (!passphraseProblem) {
              warn?.(`sign_and_send_pubkey: signing failed for ${signer.name}: ${reason}`);
            }
            // Said once, in ssh's words, when there is a warn: not again as the core's debug line
            // (ssh -v has none). Without one, the core's line is all there is.
            this.core.provideSignature(e.id, null, reason, { reported: warn !== undefined && !passphraseProblem && !unparsable });
            this.pump();
          },
        );
        return;
      }
      case 'key-request': {
        const load = this.auth.keyLoaders.get(e.identity);
        if (!load) {
          this.core.provideKey(e.id, null, 'no private key for this identity');
          return;
        }
        load().then(
          (key) => {
            this.core.provideKey(e.id, key);
            this.pump();
          },
          (err: unknown) => {
            if (isCallbackFailure(err)) return this.fail(err);
            const reason = (err as Error)?.message ?? String(err);
            // load_identity_file's stat(2): `no such identity` at INFO for a file the user named,
            // at debug3 for a default key (the CLI keeps missing ones for their turn, as ssh).
            const missingDefault = e.identity.note === undefined && isPathLookupFailure((err as { cause?: NodeJS.ErrnoException })?.cause?.code);
            const line = missingDefault ? undefined : loadKeyErrorLine(e.identity.label, err);
            // Why a file no parser takes was refused, at -v (ssh says only "invalid format").
            if ((err as SshError)?.code === 'ERR_KEY_FORMAT') this.log(reason.includes(e.identity.label) ? reason : `${e.identity.label}: ${reason}`);
            if (line !== undefined) this.options.warn?.(line);
            // Named in identitiesSkipped (as a file loaded before connecting is), not as the reason.
            const skipped = missingDefault ? undefined : this.noteSkipped(e.identity.label, err);
            this.core.provideKey(e.id, null, missingDefault || skipped ? undefined : reason);
            this.pump();
          },
        );
        return;
      }
      case 'password-needed': {
        const ask = this.options.askPassword;
        if (!ask) {
          this.core.providePassword(null);
          return;
        }
        // context: method, and for keyboard-interactive the prompt's echo, index and count.
        const { type: _, prompt, retry, ...context } = e;
        // A sync throw, a plain string and a promise alike (user-callback.ts): never an uncaught
        // exception out of the socket's read, nor an answer that never comes.
        askUser('askPassword', () => ask(prompt, { ...context, retry: retry === true })).then(
          (pw) => {
            if (this.isDone) return;
            this.core.providePassword(pw);
            this.pump();
          },
          (err: SshError) => this.fail(err),
        );
        return;
      }
      case 'authenticated':
        for (const s of this.auth.signers) s.discard?.();
        // Their closures hold the passphrase for keys not yet unlocked: no longer needed.
        this.auth.signers = [];
        this.resolveReady();
        return;
      case 'closed':
        for (const s of this.auth.signers) s.discard?.();
        this.finish(e.error);
        return;
      case 'channel-open': {
        const s = this.streams.get(e.channel);
        // channels.c channel_input_open_confirmation: debug2, the server's window and packet size.
        this.log(`channel ${e.channel}: open confirm rwindow ${e.window} rmax ${e.maxPacket}`, 2);
        s?._opened();
        return;
      }
      case 'channel-open-failed': {
        const s = this.streams.get(e.channel);
        this.streams.delete(e.channel);
        const name = this.channelNames.get(e.channel);
        // Still opening when the connection was lost: freed at the session's end with the others.
        const kept = name !== undefined && this.keepLostChannels && !(e.error instanceof ChannelOpenError);
        if (!kept) this.channelNames.delete(e.channel);
        // A forward's connection: its forward reports the refusal (the CLI, ssh's error line);
        // then channels.c channel_free's line, once the stream's error went out (destroy emits
        // it on the next tick), as ssh frees the channel after saying why.
        if (name === undefined && !this.freesSaid) this.log(e.error.message);
        s?.destroy(e.error);
        if (name !== undefined && !kept && !this.freesSaid) {
          const n = this.core.channelCount + 1;
          process.nextTick(() => this.logFreed(e.channel, name, n));
        }
        return;
      }
      case 'channel-eof':
        // nchan.c chan_rcvd_ieof: debug2.
        this.log(`channel ${e.channel}: rcvd eof`, 2);
        this.streams.get(e.channel)?._eof();
        return;
      case 'channel-closed': {
        const s = this.streams.get(e.channel);
        this.streams.delete(e.channel);
        const name = this.channelNames.get(e.channel);
        // A forward's connection: channels.c channel_free's line, nchannels counting the channels
        // still open and this one. Ended by the connection's loss (the only closed event with an
        // error): kept for the session's end, where ssh frees every channel in number order.
        // (Nothing once the session's end said every channel's: takeChannelsToFree.)
        if (!this.freesSaid) {
          if (name === undefined) this.log(`channel ${e.channel}: closed${e.error ? `: ${e.error.message}` : ''}`);
          else if (!(e.error && this.keepLostChannels)) {
            this.channelNames.delete(e.channel);
            if (this.options.debug) this.logFreed(e.channel, name, this.channelsNotFreed() + 1);
          }
        }
        s?._closed(e.error);
        return;
      }
      case 'global-reply': {
        const waiter = this.globalWaiters.get(e.id);
        this.globalWaiters.delete(e.id);
        waiter?.({ success: e.success, data: e.data.slice() });
        return;
      }
      case 'channel-open-request': {
        const open = e.params;
        // clientloop.c client_input_channel_open: rchan is the server's channel number.
        this.log(`client_input_channel_open: ctype ${e.channelType} rchan ${e.remoteChannel} win ${e.initialWindow} max ${e.maxPacket}`);
        const fwd = this.remoteForwards.get(
          remoteKey(open.channelType === 'forwarded-tcpip' ? { host: open.params.address, port: open.params.port } : { path: open.params.socketPath }),
        );
        if (!fwd) {
          // Cancelled here while the open was on its way: refused as OpenSSH refuses opens it did not ask for.
          this.core.rejectChannel(e.channel, ChannelOpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'open failed');
          return;
        }
        fwd._incoming(e.channel, open);
        return;
      }
    }
  }

  /**
   * An identity file loaded at its turn that could not be (no or a wrong passphrase, not a key):
   * its line (prepareAuth's for the files it loads) for a final AuthenticationError's
   * identitiesSkipped; undefined for other failures.
   */
  private noteSkipped(path: string, err: unknown): string | undefined {
    const line = identitySkipped(path, err);
    if (line !== undefined) (this.auth.skipped ??= []).push(line);
    return line;
  }

  /** @internal One of the application's hooks threw (see guardHooks): the connection ends with it. */
  hookFailed(err: SshError): void {
    if (!this.isDone) queueMicrotask(() => this.fail(err));
  }

  /** Local failure (timeout, abort): tell the server if we can, then tear down. */
  private fail(error: SshError): void {
    if (this.isDone) return;
    this.core.connectionLost(error);
    this.pump();
  }

  private finish(error: SshError | undefined): void {
    if (this.isDone) return;
    this.isDone = true;
    // Why identity files or the agent's keys were not offered, which the server's refusal cannot
    // say ("tried: nothing" for a path with a typo, a key with a wrong passphrase, an
    // agent socket nobody listens on).
    const { skipped, agentUnavailable } = this.auth;
    if (error instanceof AuthenticationError && skipped?.length) error = error.withIdentitiesSkipped(skipped);
    if (error instanceof AuthenticationError && agentUnavailable) error = withAgentUnavailable(error, agentUnavailable);
    this.endError = error;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
    this.rejectReady(error ?? new ConnectionLostError('the connection closed before authentication completed'));
    // Flush what the core queued (a DISCONNECT), then close the socket.
    const out = this.core.takeOutput();
    if (out) this.write(out);
    const sock = this.socket;
    if (!sock.destroyed) {
      sock.end(() => sock.destroy());
      setTimeout(() => sock.destroy(), 1000).unref();
    }
    for (const f of this.forwards) void f.close();
    for (const f of this.remoteForwards.values()) void f.close();
    for (const w of this.globalWaiters.values()) w(undefined);
    this.globalWaiters.clear();
    this.core.dispose();
    // `closed` settles even if a 'close' listener throws (its throw is the EventEmitter's).
    this.resolveClosed(error);
    this.emit('close', error);
  }
}

function remoteKey(a: { host: string; port: number } | { path: string }): string {
  return 'path' in a ? `streamlocal ${a.path}` : `tcpip ${a.port} ${a.host}`;
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'ECONNRESET':
      return 'Connection reset by peer';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    default:
      return err.message;
  }
}
