/**
 * What the sans-IO client core tells its adapter. The adapter drains these with
 * `ClientCore.nextEvent()` after each call into the core.
 */
import type { ChannelOpenParams } from './connection/channel-types.js';
import type { SshError } from './errors.js';
import type { AuthIdentity } from './auth/identity.js';

/**
 * Stable codes of warnings (connect()'s `onWarning`):
 * - `weak-kex`: the negotiated key exchange is not post-quantum (OpenSSH 10.1's WarnWeakCrypto;
 *   ssh_config(5) WarnWeakCrypto `no-pq-kex` turns it off in ssh(1)); a {@link ClientEvent}
 *   `warning` of the core.
 * - `agent-unavailable`: the ssh-agent given as the Node connect()'s `agent` could not be used
 *   (nobody listens on its socket, the path is missing, or it broke the agent protocol), so its
 *   keys are not offered; reported by the Node adapter before connecting, never by the core.
 */
export type WarningCode = 'weak-kex' | 'agent-unavailable';

/**
 * OpenSSH 10.1 sshconnect.c warn_nonpq_kex: the three lines ssh(1) logs when the key exchange
 * is not post-quantum.
 */
export const WEAK_KEX_WARNING = [
  '** WARNING: connection is not using a post-quantum key exchange algorithm.',
  '** This session may be vulnerable to "store now, decrypt later" attacks.',
  '** The server may need to be upgraded. See https://openssh.com/pq.html',
].join('\n');

export type ClientEvent =
  /** The server's host key (signature already verified): call acceptHostKey() or rejectHostKey(). */
  | { type: 'host-key'; algorithm: string; keyType: string; keyBlob: Uint8Array; fingerprint: string }
  /** RFC 4252 §5.4 banner: show it to the user. */
  | { type: 'banner'; message: string }
  /** RFC 4256 §3.3: a keyboard-interactive request's name and instruction (either may be empty): show them to the user. */
  | { type: 'keyboard-interactive-info'; name: string; instruction: string }
  /**
   * A password or keyboard-interactive answer is needed: call providePassword(). `retry`: the
   * server refused this method's previous answer (ssh(1) prints "Permission denied, please try
   * again." for the password method).
   * `method`: which one asks (a keyboard-interactive prompt is the server's text). For
   * keyboard-interactive, `echo` (RFC 4256 §3.2: the answer may be shown as typed), and `index`
   * of `count`: the prompts of one request are asked one event each, in order, and answered in
   * one INFO_RESPONSE once all are had.
   */
  | {
      type: 'password-needed';
      prompt: string;
      retry?: boolean;
      method: 'password' | 'keyboard-interactive';
      echo?: boolean;
      index?: number;
      count?: number;
    }
  /**
   * The server accepted a key the core does not hold (RFC 4252 §7 PK_OK): sign `data` with the
   * key of `keyBlob` using `algorithm` and call provideSignature(id, signatureBlob | null, reason?).
   * `flags` are the ssh-agent SIGN_REQUEST flags for that algorithm (draft-miller-ssh-agent-14 §3.6.1).
   */
  | { type: 'sign-request'; id: number; keyBlob: Uint8Array; algorithm: string; data: Uint8Array; flags: number; identity: AuthIdentity }
  /**
   * An identity given without its public key (a key file whose public half needs its
   * passphrase) has its turn: load its private key, asking the passphrase now, and call
   * provideKey(id, key | null, reason?) (OpenSSH sshconnect2.c userauth_pubkey → load_identity_file).
   */
  | { type: 'key-request'; id: number; identity: AuthIdentity }
  /** RFC 4252 §5.1 success: channels may be opened. */
  | { type: 'authenticated' }
  /**
   * Diagnostics for -v; never contains secrets. `level`: ssh's debug level (log.c debug2, debug3:
   * shown from -vv, -vvv), 1 when absent. A server's bytes that are not UTF-8 (in the lines before
   * its identification) appear as lone U+DC80..U+DCFF, one per byte (src/log-text.ts).
   */
  | { type: 'log'; message: string; level?: 2 | 3 }
  /**
   * Something the user should know about the connection's security, once per occurrence: with
   * code `weak-kex`, emitted once after the first key exchange when the method is not
   * post-quantum (`message` is OpenSSH's wording, lines separated by `\n`).
   */
  | { type: 'warning'; code: WarningCode; message: string }
  /**
   * The connection is over; `error` is undefined after a close we asked for. The core may still
   * hold bytes to send (the DISCONNECT of `ClientCore.disconnect()`, or one it sends for a
   * protocol error): write what `takeOutput()` returns once more, then close the transport.
   */
  | { type: 'closed'; error: SshError | undefined }
  /** RFC 4254 §5.1 CHANNEL_OPEN_CONFIRMATION: the server's initial window and maximum packet size. */
  | { type: 'channel-open'; channel: number; window: number; maxPacket: number }
  | { type: 'channel-open-failed'; channel: number; error: SshError }
  /** Bytes from the server; a view that stays valid. Report consumption with channelConsumed(). */
  | { type: 'channel-data'; channel: number; data: Uint8Array }
  | { type: 'channel-eof'; channel: number }
  /** Everything written to the channel has been packetized; more may be written. */
  | { type: 'channel-drain'; channel: number }
  /** The channel is gone (CLOSE both ways, or the connection died: then `error`). */
  | { type: 'channel-closed'; channel: number; error: SshError | undefined }
  /**
   * A reply to a global request we sent (RFC 4254 §4), paired with it in order: `id` is what
   * `globalRequest()` returned, `name` the request's name, `data` the request-specific reply data.
   */
  | { type: 'global-reply'; id: number; name: string; success: boolean; data: Uint8Array }
  /**
   * The server opens a channel (RFC 4254 §5.1): forwarded-tcpip (§7.2) for a tcpip-forward the
   * server granted, or forwarded-streamlocal@openssh.com (OpenSSH PROTOCOL §2.4) for a granted
   * streamlocal-forward. Opens of other types, or for nothing we asked for, never get here: the
   * core refuses them with reason 1 "open failed" as OpenSSH does. Answer with
   * acceptChannel(channel) or rejectChannel(channel, reason, description); once accepted the
   * channel reports like any other. `data` is the raw type-specific data.
   */
  | {
      type: 'channel-open-request';
      channel: number;
      /** The server's sender channel (RFC 4254 §5.1). */
      remoteChannel: number;
      channelType: string;
      params: ChannelOpenParams;
      data: Uint8Array;
      /** The server's initial window and maximum packet size (bytes). */
      initialWindow: number;
      maxPacket: number;
    };
