/**
 * What the sans-IO client core tells its adapter. The adapter drains these with
 * `ClientCore.nextEvent()` after each call into the core.
 */
import type { SshError } from './errors.js';

export type ClientEvent =
  /** The server's host key (signature already verified): call acceptHostKey() or rejectHostKey(). */
  | { type: 'host-key'; algorithm: string; keyType: string; keyBlob: Uint8Array; fingerprint: string }
  /** RFC 4252 §5.4 banner: show it to the user. */
  | { type: 'banner'; message: string }
  /**
   * A password or keyboard-interactive answer is needed: call providePassword(). `retry`: a
   * password was already refused (ssh(1) prints "Permission denied, please try again.").
   */
  | { type: 'password-needed'; prompt: string; retry?: boolean }
  /**
   * The server accepted a key the core does not hold (RFC 4252 §7 PK_OK): sign `data` with the
   * key of `keyBlob` using `algorithm` and call provideSignature(id, signatureBlob | null, reason?).
   * `flags` are the ssh-agent SIGN_REQUEST flags for that algorithm (draft-miller-ssh-agent-14 §3.6.1).
   */
  | { type: 'sign-request'; id: number; keyBlob: Uint8Array; algorithm: string; data: Uint8Array; flags: number }
  /** RFC 4252 §5.1 success: channels may be opened. */
  | { type: 'authenticated' }
  /** Diagnostics for -v; never contains secrets. */
  | { type: 'log'; message: string }
  /** The connection is over; `error` is undefined after a close we asked for. */
  | { type: 'closed'; error: SshError | undefined }
  | { type: 'channel-open'; channel: number }
  | { type: 'channel-open-failed'; channel: number; error: SshError }
  /** Bytes from the server; a view that stays valid. Report consumption with channelConsumed(). */
  | { type: 'channel-data'; channel: number; data: Uint8Array }
  | { type: 'channel-eof'; channel: number }
  /** Everything written to the channel has been packetized; more may be written. */
  | { type: 'channel-drain'; channel: number }
  /** The channel is gone (CLOSE both ways, or the connection died: then `error`). */
  | { type: 'channel-closed'; channel: number; error: SshError | undefined }
  /** A reply to a global request we sent (RFC 4254 §4). */
  | { type: 'global-reply'; success: boolean; data: Uint8Array };
