/**
 * The signer interface: a private key held somewhere else (a KMS, a hardware token, a
 * WebAuthn-backed key, an ssh-agent) that can still authenticate a connection. The core never
 * sees the private half: it offers `publicKeyBlob` (RFC 4252 §7) and, once the server accepts
 * it, asks for a signature through its `sign-request` event; the adapter calls {@link Signer.sign}.
 */

/** Frame a raw signature as a signature blob (RFC 4253 §6.6), for {@link Signer.sign}. */
export { encodeSignatureBlob } from '../keys/signing.js';

/**
 * A key that signs on request.
 *
 * @example
 * ```ts
 * const signer: Signer = {
 *   publicKeyBlob: parsePublicKeyFile(readFileSync('kms-key.pub', 'utf8')).keyBlob,
 *   comment: 'kms://prod/ssh',
 *   async sign(data, algorithm) {
 *     const raw = await kms.sign(data); // e.g. a 64-byte Ed25519 signature
 *     return encodeSignatureBlob(algorithm, raw); // string algorithm || string raw (RFC 4253 §6.6)
 *   },
 * };
 * await connect({ host, username, knownHosts, signers: [signer] });
 * ```
 */
export interface Signer {
  /** The public key (or certificate) blob, RFC 4253 §6.6 (the base64 part of a `.pub` line, decoded). */
  readonly publicKeyBlob: Uint8Array;
  /** Names the key in -v lines and errors (default: its key type). */
  readonly comment?: string;
  /**
   * Sign `data` (the RFC 4252 §7 bytes: session id and the request) with `algorithm`, the
   * signature format wanted (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `rsa-sha2-512`, ...). Resolve
   * with the signature blob `string algorithm || string signature` (RFC 4253 §6.6), or reject:
   * the key is then skipped and the rejection's message says why in the final error. Resolve
   * with null to decline: the key is skipped, with a debug line and, if authentication then
   * fails, the final AuthenticationError's reason (`signing failed for ED25519 "comment":
   * sign() resolved with null (declined)`). Resolving with anything else (a string, undefined,
   * WebCrypto's ArrayBuffer) is a bug in the signer: connect() rejects with a UsageError naming
   * the key and what it resolved with (`signing failed for ED25519 "comment": sign() resolved
   * with undefined`), and tries no other key.
   */
  sign(data: Uint8Array, algorithm: string): Promise<Uint8Array | null>;
}
