/**
 * ecdh-sha2-nistp256, ecdh-sha2-nistp384 and ecdh-sha2-nistp521 (RFC 5656 §4, §6.2, §7.1):
 * ephemeral ECDH on the NIST curves (@noble/curves) in the one-round exchange of ./kexgen.ts.
 * Points travel uncompressed (SEC1 §2.3.3, as OpenSSH sends and requires); K is the shared
 * point's x-coordinate as an mpint.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { HashName } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { encodeSharedMpint, type KexMethod } from './kex.js';
import { kexgenMethod, type KeyAgreement } from './kexgen.js';

/** The part of a noble curve that ECDH needs. */
type NistCurve = typeof p256;

/** One NIST curve's method parameters. */
interface NistParams {
  name: string;
  curve: NistCurve;
  /** RFC 5656 §6.2.1: SHA-256 up to 256-bit curves, SHA-384 up to 384, SHA-512 above. */
  hash: HashName;
}

const NIST: readonly NistParams[] = [
  { name: 'ecdh-sha2-nistp256', curve: p256, hash: 'sha256' },
  { name: 'ecdh-sha2-nistp384', curve: p384, hash: 'sha384' },
  { name: 'ecdh-sha2-nistp521', curve: p521, hash: 'sha512' },
];

function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, { reason: DisconnectReason.KEY_EXCHANGE_FAILED, cause });
}

/**
 * An ephemeral key pair: the private scalar from random bytes reduced into [1, n−1] with
 * negligible bias (FIPS 186-5 A.2.1, noble's randomSecretKey), the public key Q uncompressed.
 */
function keyPair(curve: NistCurve, random: (n: number) => Uint8Array): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const seed = random(curve.lengths.seed!);
  const privateKey = curve.utils.randomSecretKey(seed);
  seed.fill(0);
  return { privateKey, publicKey: curve.getPublicKey(privateKey, false) };
}

/**
 * The x-coordinate of privateKey·Q (RFC 5656 §4). The peer's point must be uncompressed and
 * valid: RFC 5656 §4 requires the SEC1 §3.2.2 public key check, which noble's point decoding
 * performs (coordinates in range, on the curve; the point at infinity has no such encoding,
 * and the cofactor of these curves is 1). Anything else is a ProtocolError, KEY_EXCHANGE_FAILED.
 */
export function ecdhSharedX(name: string, curve: NistCurve, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const expected = curve.lengths.publicKeyUncompressed!;
  // RFC 5656 §3.1 / SEC1 §2.3.3: 0x04 || x || y; OpenSSH accepts nothing else either.
  if (peerPublic.length !== expected || peerPublic[0] !== 0x04) {
    throw kexFailed(`${name}: peer public key is not an uncompressed point of ${expected} bytes`);
  }
  let shared: Uint8Array;
  try {
    shared = curve.getSharedSecret(privateKey, peerPublic, true);
  } catch (cause) {
    throw kexFailed(`${name}: invalid peer public key (not a point on the curve)`, cause);
  }
  const x = shared.slice(1);
  shared.fill(0);
  return x;
}

function nistAgreement({ name, curve }: NistParams): KeyAgreement {
  return {
    client(random) {
      const kp = keyPair(curve, random);
      return {
        publicValue: kp.publicKey,
        finish(serverValue) {
          const x = ecdhSharedX(name, curve, kp.privateKey, serverValue);
          const k = encodeSharedMpint(x);
          x.fill(0);
          return k;
        },
        dispose: () => kp.privateKey.fill(0),
      };
    },
    server(clientValue, random) {
      const kp = keyPair(curve, random);
      const x = ecdhSharedX(name, curve, kp.privateKey, clientValue);
      kp.privateKey.fill(0);
      const sharedSecret = encodeSharedMpint(x);
      x.fill(0);
      return { publicValue: kp.publicKey, sharedSecret };
    },
  };
}

/** The three registry rows, P-256 first (OpenSSH's order). */
export const ecdhNistpMethods: readonly KexMethod[] = NIST.map((p) =>
  kexgenMethod({ name: p.name, hash: p.hash, agreement: nistAgreement(p) }),
);
