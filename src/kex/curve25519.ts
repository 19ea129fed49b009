/**
 * curve25519-sha256 and curve25519-sha256@libssh.org (RFC 8731): X25519 (RFC 7748) in the
 * one-round exchange of ./kexgen.ts, K sent as an mpint, SHA-256.
 *
 * Pure functions: randomness comes in as bytes, so a recorded session replays byte for byte.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError, UsageError } from '../errors.js';
import { encodeSharedMpint, type KexMethod } from './kex.js';
import { kexgenMethod, type KeyAgreement } from './kexgen.js';

/** RFC 8731 §3: both names denote the same method; the @libssh.org one predates the RFC. */
export const KEX_CURVE25519 = ['curve25519-sha256', 'curve25519-sha256@libssh.org'];

/** An ephemeral X25519 key pair (RFC 7748 §6.1), 32 raw bytes each. */
export interface Curve25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * The client's ephemeral key pair from 32 random bytes (RFC 8731 §3.1; clamping is part of the
 * X25519 function, RFC 7748 §5). With a `crypto` provider that has X25519 (the Node adapter's
 * node:crypto one), the public key is computed there; otherwise by @noble/curves. Same bytes either way.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = curve25519GenerateKeyPair(random(32)); // publicKey is Q_C
 * ```
 */
export function curve25519GenerateKeyPair(random32: Uint8Array, crypto?: CryptoProvider): Curve25519KeyPair {
  if (random32.length !== 32) {
    throw new UsageError(`curve25519 private key must be 32 random bytes, got ${random32.length}`);
  }
  const privateKey = random32.slice();
  const publicKey = crypto?.x25519 ? crypto.x25519.publicKey(privateKey) : x25519.getPublicKey(privateKey);
  return { privateKey, publicKey };
}

/**
 * The shared secret X25519(privateKey, Q_S) as 32 raw bytes (RFC 8731 §3). The server's key
 * comes off the wire, so anything wrong with it is the peer's fault: a ProtocolError with reason
 * KEY_EXCHANGE_FAILED. `crypto` as for {@link curve25519GenerateKeyPair}.
 */
export function curve25519SharedSecret(privateKey: Uint8Array, serverPublic: Uint8Array, crypto?: CryptoProvider): Uint8Array {
  // RFC 8731 §3: public keys are exactly 32 bytes.
  if (serverPublic.length !== 32) {
    throw new ProtocolError(`curve25519: server public key is ${serverPublic.length} bytes, expected 32`, {
      reason: DisconnectReason.KEY_EXCHANGE_FAILED,
    });
  }
  let shared: Uint8Array;
  try {
    shared = crypto?.x25519 ? crypto.x25519.sharedSecret(privateKey, serverPublic) : x25519.getSharedSecret(privateKey, serverPublic);
  } catch (cause) {
    // noble and OpenSSL refuse low-order points (their result would be all zero).
    throw new ProtocolError('curve25519: invalid server public key (low-order point)', {
      reason: DisconnectReason.KEY_EXCHANGE_FAILED,
      cause,
    });
  }
  // RFC 8731 §3: abort if the shared secret is all zero (RFC 7748 §6.1).
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  if (acc === 0) {
    throw new ProtocolError('curve25519: shared secret is all zero', {
      reason: DisconnectReason.KEY_EXCHANGE_FAILED,
    });
  }
  return shared;
}

/** X25519 as a one-round key agreement; K is the mpint of the 32-byte output (RFC 8731 §3.1). */
export const x25519Agreement: KeyAgreement = {
  negotiationFree: true,
  client(random, crypto) {
    const kp = curve25519GenerateKeyPair(random(32), crypto);
    return {
      publicValue: kp.publicKey,
      finish(serverValue) {
        const shared = curve25519SharedSecret(kp.privateKey, serverValue, crypto);
        const k = encodeSharedMpint(shared);
        shared.fill(0);
        return k;
      },
      dispose: () => kp.privateKey.fill(0),
    };
  },
  server(clientValue, random, crypto) {
    const kp = curve25519GenerateKeyPair(random(32), crypto);
    const shared = curve25519SharedSecret(kp.privateKey, clientValue, crypto);
    kp.privateKey.fill(0);
    return { publicValue: kp.publicKey, sharedSecret: encodeSharedMpint(shared) };
  },
};

/** RFC 8731 §3: both names denote the same method; the @libssh.org one predates the RFC. */
export const curve25519Methods: readonly KexMethod[] = KEX_CURVE25519.map((name) =>
  kexgenMethod({ name, hash: 'sha256', agreement: x25519Agreement }),
);
