/**
 * Typed errors. Every error pure-ssh raises is an {@link SshError} with a stable `code`
 * (undici's `UND_ERR_*` style), so callers can branch on `err.code` without parsing messages.
 *
 * Kinds (../shared/STYLE.md "Errors"):
 * - {@link ProtocolError}: the peer broke the protocol (we send DISCONNECT with `reason`).
 * - {@link UsageError}: the caller misused the API.
 * - {@link DisconnectError}: the peer sent DISCONNECT (reason code + its text, verbatim).
 * - {@link ChannelOpenError}: CHANNEL_OPEN_FAILURE (reason code + text).
 * - {@link AuthenticationError}: no method succeeded (methods tried / allowed).
 * - {@link HostKeyError}: host key unknown, changed or revoked (fingerprint, file, line).
 * - {@link NegotiationError}: no common algorithm (category and both lists).
 * - {@link ConnectionLostError}: the transport closed or failed under us.
 * - {@link TimeoutError}: a configured timeout expired.
 * - {@link KeyError}: a key file needs a passphrase, got a wrong one, or cannot be read.
 * - {@link KeyPermissionsError}: a private key file others can read was refused.
 */

import { terminalText } from './log-text.js';

export type SshErrorCode =
  | 'ERR_PROTOCOL'
  | 'ERR_MALFORMED_PACKET'
  | 'ERR_PACKET_TOO_LARGE'
  | 'ERR_MAC'
  | 'ERR_STRICT_KEX'
  | 'ERR_NEGOTIATION'
  | 'ERR_HOST_KEY_SIGNATURE'
  | 'ERR_HOST_KEY_UNKNOWN'
  | 'ERR_HOST_KEY_CHANGED'
  | 'ERR_HOST_KEY_REVOKED'
  | 'ERR_HOST_KEY_REJECTED'
  | 'ERR_AUTH_FAILED'
  // A key file that cannot be read (parse errors are KeyErrorCode's).
  | 'ERR_PRIVATE_KEY'
  // No longer raised (KeyError ERR_KEY_ENCRYPTED took over); kept for code that tests for it.
  | 'ERR_PRIVATE_KEY_ENCRYPTED'
  | KeyErrorCode
  | 'ERR_KEY_PERMISSIONS'
  | 'ERR_DISCONNECTED'
  | 'ERR_CHANNEL_OPEN_FAILED'
  | 'ERR_CHANNEL_CLOSED'
  | 'ERR_CONNECTION_LOST'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_TIMEOUT'
  | 'ERR_KEEPALIVE_TIMEOUT'
  | 'ERR_BANNER_TIMEOUT'
  | 'ERR_PACKET_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_USAGE'
  | 'ERR_INTERNAL'
  | 'ERR_KNOWN_HOSTS'
  | 'ERR_FORWARD_BIND'
  // The server refused a tcpip-forward / streamlocal-forward request (ssh -R).
  | 'ERR_FORWARD_REFUSED'
  // A forwarded connection's target could not be reached here, over a channel already confirmed
  // (the SOCKS server of forwardRemote() without `to`): the SSH connection is unaffected.
  | 'ERR_FORWARD_CONNECT_FAILED'
  // A forwarded channel's SOCKS request was malformed or unsupported (channels.c
  // channel_decode_socks4/5): that channel is closed, the SSH connection is unaffected.
  | 'ERR_SOCKS_REQUEST'
  // A SOCKS destination refused by PermitRemoteOpen (forwardRemote()'s `permitOpen`): that
  // channel is closed, the SSH connection is unaffected.
  | 'ERR_FORWARD_NOT_PERMITTED'
  // ssh-agent: no agent at the socket, or it broke the agent protocol (auth/agent-protocol.ts).
  | 'ERR_AGENT';

/** Base class of every error pure-ssh raises. */
export class SshError extends Error {
  readonly code: SshErrorCode;
  constructor(code: SshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** RFC 4253 §11.1 disconnect reason codes. */
export const DisconnectReason = {
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  PROTOCOL_ERROR: 2,
  KEY_EXCHANGE_FAILED: 3,
  RESERVED: 4,
  MAC_ERROR: 5,
  COMPRESSION_ERROR: 6,
  SERVICE_NOT_AVAILABLE: 7,
  PROTOCOL_VERSION_NOT_SUPPORTED: 8,
  HOST_KEY_NOT_VERIFIABLE: 9,
  CONNECTION_LOST: 10,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  AUTH_CANCELLED_BY_USER: 13,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
  ILLEGAL_USER_NAME: 15,
} as const;
export type DisconnectReasonCode = (typeof DisconnectReason)[keyof typeof DisconnectReason];

const disconnectNames: Record<number, string> = Object.fromEntries(
  Object.entries(DisconnectReason).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, ' ')]),
);

/** Human-readable name of an RFC 4253 §11.1 reason code. */
export function disconnectReasonName(code: number): string {
  return disconnectNames[code] ?? `reason ${code}`;
}

/** The peer broke the protocol. The connection is torn down with DISCONNECT(`reason`). */
export class ProtocolError extends SshError {
  readonly reason: DisconnectReasonCode;
  constructor(
    message: string,
    options?: { code?: SshErrorCode; reason?: DisconnectReasonCode; cause?: unknown },
  ) {
    super(options?.code ?? 'ERR_PROTOCOL', message, options);
    this.reason = options?.reason ?? DisconnectReason.PROTOCOL_ERROR;
  }
}

/** The caller misused the API (bad option, call in the wrong state). */
export class UsageError extends SshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
  }
}

/**
 * A bug in pure-ssh, not the peer's fault (h11 keeps local and remote errors apart): an exception
 * that was not an SshError escaped while processing the server's data. The connection is closed
 * with DISCONNECT reason 2 (protocol error); `cause` holds the original exception.
 */
export class InternalError extends SshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INTERNAL', message, options);
  }
}

/** The server sent SSH_MSG_DISCONNECT (RFC 4253 §11.1); its text is shown verbatim. */
export class DisconnectError extends SshError {
  readonly reason: number;
  /**
   * The server's text, raw: valid UTF-8 decoded, each other byte kept as a lone U+DC80..U+DCFF
   * (src/log-text.ts textForLog), so text in another encoding still ends the connection as a
   * disconnect, as in ssh(1). It may hold control characters and terminal escape sequences: the
   * `message` has them escaped.
   */
  readonly description: string;
  constructor(reason: number, description: string) {
    // The server chooses the text: the message, which is logged and printed, has its control
    // characters and escape sequences as `\ooo` (ESC as `\033`), as ssh(1) shows a server's text
    // (terminalText under a UTF-8 locale: other characters readable); the raw text is `description`.
    super('ERR_DISCONNECTED', `Disconnected by server (${disconnectReasonName(reason)}): ${terminalText(description, true)}`);
    this.reason = reason;
    this.description = description;
  }
}

/** No algorithm in common for a category (RFC 4253 §7.1). Names both sides' lists. */
export class NegotiationError extends SshError {
  readonly category: string;
  readonly client: readonly string[];
  readonly server: readonly string[];
  constructor(category: string, client: readonly string[], server: readonly string[]) {
    super(
      'ERR_NEGOTIATION',
      `Unable to negotiate ${category}: no matching algorithm. ` +
        `Client offers: ${client.join(',') || '(none)'}. Server offers: ${server.join(',') || '(none)'}.`,
    );
    this.category = category;
    this.client = client;
    this.server = server;
  }
}

/** RFC 4254 §5.1 channel open failure reason codes. */
export const ChannelOpenFailureReason = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const;

const openFailureNames: Record<number, string> = {
  1: 'administratively prohibited',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

/** Name of an RFC 4254 §5.1 open failure reason, as OpenSSH prints it. */
export function channelOpenFailureName(reason: number): string {
  return openFailureNames[reason] ?? `unknown reason ${reason}`;
}

/**
 * A channel open refused (SSH_MSG_CHANNEL_OPEN_FAILURE): by the server, or by us for a channel
 * the server opened (forwardRemote's target refused). Only that channel is affected.
 * `options.message` replaces OpenSSH's "channel N: open failed" wording where ssh says another.
 */
export class ChannelOpenError extends SshError {
  readonly reason: number;
  /**
   * The server's text (RFC 4254 §5.1 `description`), raw: bytes that are not UTF-8 kept as in
   * {@link DisconnectError.description}, control characters and escape sequences as they came.
   * The `message` has them escaped as `\ooo`, as DisconnectError's has.
   */
  readonly description: string;
  readonly channel: number;
  constructor(channel: number, reason: number, description: string, options?: { message?: string; cause?: unknown }) {
    // OpenSSH's wording: "channel 3: open failed: administratively prohibited: open failed". The
    // server chooses the text: escaped in the message (ESC as \033), which is logged and printed.
    super(
      'ERR_CHANNEL_OPEN_FAILED',
      options?.message ?? `channel ${channel}: open failed: ${channelOpenFailureName(reason)}: ${terminalText(description, true)}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.channel = channel;
    this.reason = reason;
    this.description = description;
  }
}

/**
 * User authentication failed (RFC 4252 §5.1). The message names the methods we tried, or says
 * `nothing` (no key, no password offered: `methodsTried` empty; it said "none", which read as
 * RFC 4252 §5.2's method), then the methods the
 * server allows (the list ssh(1) prints as "Permission denied (publickey)."), then what was not
 * offered and why: identity files that could not be loaded, an agent that could not be used.
 */
export class AuthenticationError extends SshError {
  /**
   * The methods a request was sent for (`publickey` once a key was offered, `password`,
   * `keyboard-interactive`), in order; empty when nothing was offered. Never the `none` request
   * (RFC 4252 §5.2) that asks the server for its methods.
   */
  readonly methodsTried: readonly string[];
  /** The methods the server's last USERAUTH_FAILURE said can continue. */
  readonly methodsAllowed: readonly string[];
  /**
   * Identity files that were not offered because they could not be loaded, as `warn` reported
   * them (`Warning: Identity file PATH not accessible: ...`, `Load key "PATH": ...`); also named
   * at the end of the message.
   */
  readonly identitiesSkipped: readonly string[];
  /**
   * Why the ssh-agent given as `agent` was not used, as `onWarning` reported it (code
   * `agent-unavailable`): `Error connecting to agent PATH: No such file or directory`, or the
   * agent's protocol failure; also named at the end of the message. Undefined when there was
   * no agent to use or it answered (set by the Node client, the only one with an agent).
   */
  declare readonly agentUnavailable?: string;
  constructor(
    username: string,
    methodsTried: readonly string[],
    methodsAllowed: readonly string[],
    detail?: string,
    identitiesSkipped: readonly string[] = [],
  ) {
    super(
      'ERR_AUTH_FAILED',
      `Permission denied for ${username}` +
        ` (tried: ${methodsTried.join(', ') || 'nothing'}; server allows: ${methodsAllowed.join(',') || 'nothing'})` +
        (detail ? `. ${detail}` : '.') +
        (identitiesSkipped.length ? ` Identity files skipped: ${identitiesSkipped.map((l) => l.replace(/^Warning: |\.$/g, '')).join('; ')}.` : ''),
    );
    this.methodsTried = methodsTried;
    this.methodsAllowed = methodsAllowed;
    this.identitiesSkipped = identitiesSkipped;
    this.#args = [username, detail];
  }
  readonly #args: [string, string | undefined];
  /** The same refusal, naming the identity files that were skipped (see identitiesSkipped). */
  withIdentitiesSkipped(skipped: readonly string[]): AuthenticationError {
    return new AuthenticationError(this.#args[0], this.methodsTried, this.methodsAllowed, this.#args[1], skipped);
  }
}

/** Why a host key was not accepted. */
export type HostKeyProblem = 'unknown' | 'changed' | 'revoked' | 'rejected' | 'key-length';

/** The server's host key was refused. Carries what a person needs to fix it. */
export class HostKeyError extends SshError {
  readonly problem: HostKeyProblem;
  readonly host: string;
  readonly fingerprint: string;
  readonly keyType: string;
  /** known_hosts file and 1-based line of the conflicting entry, when there is one. */
  readonly file: string | undefined;
  readonly line: number | undefined;
  /**
   * The key type of that entry (`ssh-ed25519`), which may differ from the server's `keyType`
   * when the host's recorded key is of another type (ssh's "Offending ECDSA key in FILE:LINE").
   */
  readonly entryKeyType: string | undefined;
  constructor(
    problem: HostKeyProblem,
    details: { host: string; keyType: string; fingerprint: string; file?: string; line?: number; entryKeyType?: string; message?: string },
  ) {
    const code: SshErrorCode =
      problem === 'unknown'
        ? 'ERR_HOST_KEY_UNKNOWN'
        : problem === 'changed'
          ? 'ERR_HOST_KEY_CHANGED'
          : problem === 'revoked'
            ? 'ERR_HOST_KEY_REVOKED'
            : 'ERR_HOST_KEY_REJECTED';
    super(code, details.message ?? defaultHostKeyMessage(problem, details));
    this.problem = problem;
    this.host = details.host;
    this.keyType = details.keyType;
    this.fingerprint = details.fingerprint;
    this.file = details.file;
    this.line = details.line;
    this.entryKeyType = details.entryKeyType;
  }
}

function defaultHostKeyMessage(
  problem: HostKeyProblem,
  d: { host: string; keyType: string; fingerprint: string; file?: string; line?: number },
): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}` : ''}` : 'known_hosts';
  switch (problem) {
    case 'changed':
      return (
        `REMOTE HOST IDENTIFICATION HAS CHANGED for ${d.host}! Someone could be eavesdropping on you ` +
        `right now (man-in-the-middle attack), or the host key has just been changed. ` +
        `The ${d.keyType} key sent by the server has fingerprint ${d.fingerprint}. ` +
        `Offending key in ${where}. If the change is expected, remove that line ` +
        `(ssh-keygen -R ${d.host}) and connect again. Host key verification failed.`
      );
    case 'revoked':
      return `Host key ${d.keyType} ${d.fingerprint} for ${d.host} is marked as revoked in ${where}. Host key verification failed.`;
    case 'unknown':
      return (
        `No matching host key for ${d.host} in ${where} (${d.keyType} key fingerprint ${d.fingerprint}) ` +
        `and strict host key checking is on. Add the key (ssh-keyscan) or use StrictHostKeyChecking=accept-new. ` +
        `Host key verification failed.`
      );
    case 'key-length':
      // sshconnect2.c verify_host_key_callback: fatal_r(SSH_ERR_KEY_LENGTH, "Bad server host key").
      return 'Bad server host key: Invalid key length';
    default:
      return `Host key ${d.keyType} ${d.fingerprint} for ${d.host} was rejected. Host key verification failed.`;
  }
}

/** The connection went away (socket error, EOF, dead server). */
export class ConnectionLostError extends SshError {
  /**
   * Set when the connection ended while a failed packet's data was being discarded (CBC with an
   * encrypt-and-MAC MAC, see PacketDecoder): the line OpenSSH's packet.c logged for that packet,
   * e.g. "Corrupted MAC on input.".
   */
  discarding?: string;
  /**
   * Set when the connection ran through jump hosts (`jump`) and one of them lost its own
   * connection: that jump host, as it was given. The message then starts `jump host HOST:`
   * (`[HOST]:PORT` for a port other than 22) and `cause` is the jump host's own error.
   */
  readonly jumpHost?: { host: string; port: number };
  constructor(message: string, options?: { cause?: unknown; code?: SshErrorCode; jumpHost?: { host: string; port: number } }) {
    super(options?.code ?? 'ERR_CONNECTION_LOST', message, options);
    if (options?.jumpHost) this.jumpHost = options.jumpHost;
  }
}

/** A timeout expired (ConnectTimeout, keepalive). */
export class TimeoutError extends SshError {
  constructor(message: string, code: SshErrorCode = 'ERR_TIMEOUT') {
    super(code, message);
  }
}

/**
 * What went wrong with a key file ({@link KeyError}):
 * - `ERR_KEY_ENCRYPTED`: the key is encrypted and no passphrase was given;
 * - `ERR_KEY_PASSPHRASE`: the passphrase is wrong (OpenSSH: "incorrect passphrase supplied to
 *   decrypt private key"), as the format's check says (check integers, MAC, tag or padding);
 * - `ERR_KEY_FORMAT`: the file is malformed, or of a kind, cipher or key type not supported.
 */
export type KeyErrorCode = 'ERR_KEY_ENCRYPTED' | 'ERR_KEY_PASSPHRASE' | 'ERR_KEY_FORMAT';

/**
 * A private or public key file could not be used. The message names the file (`source`) and its
 * format (`format`, e.g. "OpenSSH", "PKCS#8", "PuTTY PPK v3") when they are known.
 */
export class KeyError extends SshError {
  declare readonly code: KeyErrorCode;
  /** The file name (or other label) given to the parser, when there was one. */
  readonly source: string | undefined;
  /** The key file format, when it was recognised. */
  readonly format: string | undefined;
  constructor(code: KeyErrorCode, message: string, options?: { source?: string; format?: string; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.source = options?.source;
    this.format = options?.format;
  }
}

/**
 * A private key file that others can read was refused, as ssh(1) refuses it (OpenSSH
 * authfile.c sshkey_perm_ok): the file belongs to the user running pure-ssh and has group or
 * other permission bits set. The message is ssh's, plus the fix.
 */
export class KeyPermissionsError extends SshError {
  /** The key file. */
  readonly path: string;
  /** Its permission bits (`mode & 0o777`, e.g. 0o644). */
  readonly mode: number;
  constructor(path: string, mode: number) {
    super(
      'ERR_KEY_PERMISSIONS',
      `Permissions ${formatMode(mode)} for '${path}' are too open. ` +
        `It is required that your private key files are NOT accessible by others. ` +
        `Run chmod 600 '${path}', or pass allowUnprotectedKeyFiles: true to use it anyway.`,
    );
    this.path = path;
    this.mode = mode & 0o777;
  }
}

/** A mode as ssh(1) prints it: `0` and at least three octal digits (`0644`). */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * The server refused a remote forward (RFC 4254 §7.1 tcpip-forward, or OpenSSH's
 * streamlocal-forward@openssh.com, answered REQUEST_FAILURE): sshd's AllowTcpForwarding,
 * PermitListen, or a port it cannot bind. The message is ssh(1)'s.
 */
export class ForwardRefusedError extends SshError {
  /** The listen port requested, or the socket path. */
  readonly listen: { port: number } | { path: string };
  constructor(listen: { port: number } | { path: string }) {
    super(
      'ERR_FORWARD_REFUSED',
      'path' in listen
        ? `remote port forwarding failed for listen path ${listen.path}`
        : `remote port forwarding failed for listen port ${listen.port}`,
    );
    this.listen = 'path' in listen ? { path: listen.path } : { port: listen.port };
  }
}
