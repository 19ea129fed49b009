/**
 * What the private key file parsers share (privatekey.ts for OpenSSH, pem.ts, pkcs8.ts, ppk.ts):
 * the parse context, the text of the file, and the errors for a missing or wrong passphrase.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { KeyError } from '../errors.js';
import { MalformedDerError } from './der.js';
import type { ExtraKeyDecryption } from './extra-key-decryption.js';
import type { SigningKey } from './signing.js';

/** The container a private key was read from. */
export type PrivateKeyFormat = 'openssh' | 'pkcs1' | 'sec1' | 'pkcs8' | 'ppk';

/** A parser's input besides the text: who the key is (for messages) and the passphrase, if any. */
export interface KeyFileContext {
  /** Names the key in messages, e.g. its path. */
  readonly source: string;
  /** The passphrase as bytes (UTF-8 for a string); undefined or empty when none was given. */
  readonly passphrase: Uint8Array | undefined;
  /** Computes an Ed25519 key's public half with its runtime Ed25519, when it has one. */
  readonly crypto?: CryptoProvider;
  /** 3DES, PKCS#12 PBE, scrypt and Argon2 (./extra-key-decryption.ts); absent: such files are refused. */
  readonly extra?: ExtraKeyDecryption;
  /**
   * What to do about an encrypted key given without a passphrase, in the words of the runtime
   * that parses it ({@link ENCRYPTED_KEY_HINT_NODE}, {@link ENCRYPTED_KEY_HINT_WEB}).
   */
  readonly encryptedKeyHint: string;
}

/** The Node adapter and the CLI, which read ssh-agent (the `agent` option, SSH_AUTH_SOCK). */
export const ENCRYPTED_KEY_HINT_NODE = 'Give it as the passphrase option, or load the key into ssh-agent';

/**
 * pure-ssh/web, where no ssh-agent can be reached: the passphrase, or a key kept elsewhere
 * (WebAuthn, a KMS) signing through connect()'s `signers`.
 */
export const ENCRYPTED_KEY_HINT_WEB = 'Give it as the passphrase option (no ssh-agent in a browser; or sign through the signers option)';

/** What a format parser returns: the key, its comment (empty if the format has none) and format. */
export interface ParsedKeyFile {
  readonly key: SigningKey;
  readonly comment: string;
  readonly format: PrivateKeyFormat;
}

/** A key file as text, with the way back to the bytes it was read from. */
export interface KeyFileText {
  /** A string input as given; bytes decoded as UTF-8 or, when that fails, as Latin-1. */
  readonly text: string;
  /** The bytes `s` (a piece of {@link text}) stood for in the file, e.g. for a MAC over a header. */
  bytesOf(s: string): Uint8Array;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Read a key file given as a string or as the file's bytes. */
export function keyFileText(input: string | Uint8Array): KeyFileText {
  const utf8 = { bytesOf: (s: string) => utf8Encoder.encode(s) };
  if (typeof input === 'string') return { text: input, ...utf8 };
  try {
    return { text: utf8Decoder.decode(input), ...utf8 };
  } catch {
    // Not UTF-8 (a comment in a legacy charset): Latin-1 maps every byte to one character.
    let text = '';
    for (let i = 0; i < input.length; i += 8192) text += String.fromCharCode(...input.subarray(i, i + 8192));
    return { text, bytesOf: latin1 };
  }
}

/**
 * ERR_KEY_ENCRYPTED: the key needs a passphrase and none was given. `detail` says how it is
 * protected, e.g. "aes256-ctr/bcrypt".
 */
export function passphraseNeeded(ctx: KeyFileContext, format: string, detail: string): KeyError {
  return new KeyError(
    'ERR_KEY_ENCRYPTED',
    `${ctx.source} is encrypted (${format}, ${detail}): a passphrase is needed. ${ctx.encryptedKeyHint}`,
    { source: ctx.source, format },
  );
}

/** ERR_KEY_PASSPHRASE, in ssh(1)'s words; `evidence` says which check failed. */
export function wrongPassphrase(ctx: KeyFileContext, format: string, evidence: string, cause?: unknown): KeyError {
  return new KeyError(
    'ERR_KEY_PASSPHRASE',
    `${ctx.source}: incorrect passphrase supplied to decrypt private key (${format}: ${evidence})`,
    { source: ctx.source, format, cause },
  );
}

/**
 * Run `parse` on freshly decrypted DER: formats without a MAC tell a wrong passphrase only by
 * the garbage it yields, so DER that does not parse is reported as ERR_KEY_PASSPHRASE (a
 * well-formed key of an unsupported kind still says so).
 */
export function parseDecrypted<T>(ctx: KeyFileContext, format: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof MalformedDerError)) throw err;
    throw wrongPassphrase(ctx, format, `the decrypted data is not a key (${err.message})`, err);
  }
}

/**
 * ERR_KEY_FORMAT for a file protected with `what` (e.g. "DES-EDE3-CBC") when the parse context
 * has no {@link ExtraKeyDecryption}: only a web build that did not opt in gets this.
 */
export function extraDecryptionMissing(format: string, what: string): KeyError {
  return new KeyError('ERR_KEY_FORMAT', `${format} encryption ${what} needs the extraKeyDecryption option (from pure-ssh/key-decryption)`, { format });
}
