/**
 * ecdh-sha2-nistp256, ecdh-sha2-nistp384 and ecdh-sha2-nistp521 (RFC 5656 §4, §6.2, §7.1):
 * ephemeral ECDH on the NIST curves in the one-round exchange of ./kexgen.ts, computed by the
 * crypto provider's `ecdh` when it has one (the runtime's OpenSSL: a few ms in a fresh process
 * where @noble/curves spends 75-170 ms building its base-point tables), else by @noble/curves.
 * Points travel uncompressed (SEC1 §2.3.3, as OpenSSH sends and requires); K is the shared
 * point's x-coordinate as an mpint.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { CryptoProvider, EcdhKeyPair, EcdsaCurveName, HashName } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { encodeSharedMpint, type KexMethod } from './kex.js';
import { kexgenMethod, type KeyAgreement } from './kexgen.js';

/** The part of a noble curve that ECDH needs. */
type NistCurve = typeof p256;

/** One NIST curve's method parameters. */
interface NistParams {
  /** `ecdh-sha2-` and the RFC 5656 §6.1 curve identifier, which the provider names curves by. */
  name: `ecdh-sha2-${EcdsaCurveName}`;
  curve: NistCurve;
  /** Bytes of a coordinate and of the order n (SEC1 §2.3.3 points are 1 + 2 × size). */
  size: number;
  /** RFC 5656 §6.2.1: SHA-256 up to 256-bit curves, SHA-384 up to 384, SHA-512 above. */
  hash: HashName;
}

const NIST: readonly NistParams[] = [
  { name: 'ecdh-sha2-nistp256', curve: p256, size: 32, hash: 'sha256' },
  { name: 'ecdh-sha2-nistp384', curve: p384, size: 48, hash: 'sha384' },
  { name: 'ecdh-sha2-nistp521', curve: p521, size: 66, hash: 'sha512' },
];

function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, { reason: DisconnectReason.KEY_EXCHANGE_FAILED, cause });
}

/**
 * An ephemeral key pair: the private scalar from 1.5 × size random bytes reduced into [1, n−1]
 * with negligible bias (FIPS 186-5 A.2.1), the public key Q uncompressed; computed by `crypto`'s
 * ECDH when it has the curve (which never loads @noble/curves' NIST curves), else by noble
 * (randomSecretKey). The same scalar either way, so a recorded session replays byte for byte on both.
 */
function keyPair({ name, curve, size }: NistParams, random: (n: number) => Uint8Array, crypto: CryptoProvider | undefined): EcdhKeyPair {
  // 1.5 × size rounded up, noble's lengths.seed (test/ecdh-provider.test.ts checks).
  const seed = random((3 * size + 1) >> 1);
  const runtime = crypto?.ecdh?.(name.slice(10) as EcdsaCurveName);
  let privateKey: Uint8Array;
  try {
    if (runtime) return runtime.keyPair(seed);
    privateKey = curve.utils.randomSecretKey(seed);
  } finally {
    seed.fill(0);
  }
  return {
    publicKey: curve.getPublicKey(privateKey, false),
    sharedX(peer) {
      const shared = curve.getSharedSecret(privateKey, peer, true);
      const x = shared.slice(1);
      shared.fill(0);
      return x;
    },
    dispose: () => privateKey.fill(0),
  };
}

/**
 * K, the x-coordinate of the key pair's d·Q as an mpint (RFC 5656 §4). The peer's point must be
 * uncompressed and valid: RFC 5656 §4 requires the SEC1 §3.2.2 public key check, which noble's
 * point decoding and OpenSSL's perform (coordinates in range, on the curve; the point at
 * infinity has no such encoding, and the cofactor of these curves is 1). Anything else is a
 * ProtocolError, KEY_EXCHANGE_FAILED.
 */
function sharedSecretOf({ name, size }: NistParams, kp: EcdhKeyPair, peerPublic: Uint8Array): Uint8Array {
  const expected = 1 + 2 * size;
  // RFC 5656 §3.1 / SEC1 §2.3.3: 0x04 || x || y; OpenSSH accepts nothing else either.
  if (peerPublic.length !== expected || peerPublic[0] !== 0x04) {
    throw kexFailed(`${name}: peer public key is not an uncompressed point of ${expected} bytes`);
  }
  let x: Uint8Array;
  try {
    x = kp.sharedX(peerPublic);
  } catch (cause) {
    throw kexFailed(`${name}: invalid peer public key (not a point on the curve)`, cause);
  }
  const k = encodeSharedMpint(x);
  x.fill(0);
  return k;
}

function nistAgreement(params: NistParams): KeyAgreement {
  return {
    client(random, crypto) {
      const kp = keyPair(params, random, crypto);
      return {
        publicValue: kp.publicKey,
        finish: (serverValue) => sharedSecretOf(params, kp, serverValue),
        dispose: () => kp.dispose(),
      };
    },
    server(clientValue, random, crypto) {
      const kp = keyPair(params, random, crypto);
      try {
        return { publicValue: kp.publicKey, sharedSecret: sharedSecretOf(params, kp, clientValue) };
      } finally {
        // Also when the client's point is refused: the private key is wiped either way.
        kp.dispose();
      }
    },
  };
}

/** The three registry rows, P-256 first (OpenSSH's order). */
export const ecdhNistpMethods: readonly KexMethod[] = NIST.map((p) =>
  kexgenMethod({ name: p.name, hash: p.hash, agreement: nistAgreement(p) }),
);
