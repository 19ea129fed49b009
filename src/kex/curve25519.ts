/**
 * curve25519-sha256 key agreement (RFC 8731) and the key derivation of RFC 4253 §7.2.
 *
 * Pure functions: randomness comes in as bytes, so a recorded session replays byte for byte.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DisconnectReason, ProtocolError, UsageError } from '../errors.js';
import { SshWriter, mpintBody } from '../protocol/wire.js';

/** RFC 8731 §3: both names denote the same method; the @libssh.org one predates the RFC. */
export const KEX_CURVE25519 = ['curve25519-sha256', 'curve25519-sha256@libssh.org'];

/** An ephemeral X25519 key pair (RFC 7748 §6.1), 32 raw bytes each. */
export interface Curve25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * The client's ephemeral key pair from 32 random bytes (RFC 8731 §3.1; clamping is part of the
 * X25519 function, RFC 7748 §5).
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = curve25519GenerateKeyPair(random(32)); // publicKey is Q_C
 * ```
 */
export function curve25519GenerateKeyPair(random32: Uint8Array): Curve25519KeyPair {
  if (random32.length !== 32) {
    throw new UsageError(`curve25519 private key must be 32 random bytes, got ${random32.length}`);
  }
  const privateKey = random32.slice();
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

/**
 * The shared secret X25519(privateKey, Q_S) as 32 raw bytes (RFC 8731 §3). The server's key
 * comes off the wire, so anything wrong with it is the peer's fault: a ProtocolError with reason
 * KEY_EXCHANGE_FAILED.
 */
export function curve25519SharedSecret(privateKey: Uint8Array, serverPublic: Uint8Array): Uint8Array {
  // RFC 8731 §3: public keys are exactly 32 bytes.
  if (serverPublic.length !== 32) {
    throw new ProtocolError(`curve25519: server public key is ${serverPublic.length} bytes, expected 32`, {
      reason: DisconnectReason.KEY_EXCHANGE_FAILED,
    });
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, serverPublic);
  } catch (cause) {
    // noble refuses low-order points (their result would be all zero).
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

/** Inputs of the curve25519-sha256 exchange hash (RFC 8731 §3.1, RFC 5656 §4). */
export interface Curve25519HashInput {
  /** V_C: our identification string, without CR LF. */
  clientVersion: string;
  /** V_S: the server's identification string, without CR LF. */
  serverVersion: string;
  /** I_C: the exact payload of the KEXINIT we sent (first byte 20). */
  clientKexInit: Uint8Array;
  /** I_S: the exact payload of the KEXINIT we received (first byte 20). */
  serverKexInit: Uint8Array;
  /** K_S: the server's host key blob. */
  hostKeyBlob: Uint8Array;
  /** Q_C: our ephemeral public key (32 bytes). */
  clientPublic: Uint8Array;
  /** Q_S: the server's ephemeral public key (32 bytes). */
  serverPublic: Uint8Array;
  /** K: the raw 32-byte X25519 output. */
  sharedSecret: Uint8Array;
}

/**
 * H = SHA-256(string V_C, string V_S, string I_C, string I_S, string K_S, string Q_C,
 * string Q_S, mpint K) (RFC 5656 §4 as used by RFC 8731 §3.1). The first H is the session_id.
 */
export function exchangeHashCurve25519(p: Curve25519HashInput): Uint8Array {
  const w = new SshWriter(
    512 + p.clientKexInit.length + p.serverKexInit.length + p.hostKeyBlob.length,
  );
  w.string(p.clientVersion)
    .string(p.serverVersion)
    .string(p.clientKexInit)
    .string(p.serverKexInit)
    .string(p.hostKeyBlob)
    .string(p.clientPublic)
    .string(p.serverPublic)
    // RFC 8731 §3.1: the X25519 output is read as a big-endian unsigned integer and sent as mpint.
    .mpint(p.sharedSecret);
  return sha256(w.toBytes());
}

/** The six key-derivation letters of RFC 4253 §7.2 (IVs, keys, integrity keys, each direction). */
export type KdfLetter = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

/**
 * One key of RFC 4253 §7.2: K1 = HASH(K || H || letter || session_id), then
 * K(n+1) = HASH(K || H || K1 || ... || Kn), concatenated and cut to `length` bytes.
 * K is the raw shared secret, encoded here as an mpint (with its length prefix).
 *
 * @example
 * ```ts
 * const c2s = deriveKey(sha256, K, H, 'C', sessionId, 64); // chacha20-poly1305 key, client→server
 * ```
 */
export function deriveKey(
  hash: (d: Uint8Array) => Uint8Array,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  letter: KdfLetter,
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  const body = mpintBody(sharedSecret);
  // K || H, shared by every round.
  const prefix = new Uint8Array(4 + body.length + exchangeHash.length);
  const n = body.length;
  prefix[0] = n >>> 24;
  prefix[1] = n >>> 16;
  prefix[2] = n >>> 8;
  prefix[3] = n;
  prefix.set(body, 4);
  prefix.set(exchangeHash, 4 + n);

  const first = new Uint8Array(prefix.length + 1 + sessionId.length);
  first.set(prefix);
  first[prefix.length] = letter.charCodeAt(0);
  first.set(sessionId, prefix.length + 1);
  let out = hash(first);
  first.fill(0);

  while (out.length < length) {
    // RFC 4253 §7.2: Kn+1 = HASH(K || H || K1 || ... || Kn).
    const next = new Uint8Array(prefix.length + out.length);
    next.set(prefix);
    next.set(out, prefix.length);
    const k = hash(next);
    next.fill(0);
    const grown = new Uint8Array(out.length + k.length);
    grown.set(out);
    grown.set(k, out.length);
    out.fill(0);
    out = grown;
  }
  prefix.fill(0);
  body.fill(0);
  const key = out.slice(0, length);
  out.fill(0);
  return key;
}
