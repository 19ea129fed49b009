/**
 * ssh-ed25519 keys (RFC 8709): public blob, signature verification, private keys from OpenSSH
 * key files, PKCS#8 (RFC 8410) and PuTTY files, and signing.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SshWriter, constantTimeEqual, type SshReader } from '../protocol/wire.js';
import { DerReader } from './der.js';
import { decodeSignatureBlob, keyFormatError, readKeyBlob, signingKey, type HostKeyAlgorithm, type SigningKey } from './signing.js';

/** The key type and signature algorithm name (RFC 8709 §4, §6). */
export const SSH_ED25519 = 'ssh-ed25519';

// RFC 8032 §5.1.5, §5.1.6: 32-byte secret (seed) and public key, 64-byte signature.
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** RFC 8410 §3: id-Ed25519, the PKCS#8 / SPKI algorithm OID. */
export const ED25519_OID = '1.3.101.112';

/** The 32-byte public key ENC(A) from an ssh-ed25519 blob (RFC 8709 §4). Throws if malformed. */
export function decodeEd25519PublicKey(keyBlob: Uint8Array): Uint8Array {
  const r = readKeyBlob(SSH_ED25519, keyBlob);
  const pk = r.string('ed25519 key');
  r.end('ssh-ed25519 key blob');
  if (pk.length !== KEY_BYTES) throw new Error(`ssh-ed25519 key is ${pk.length} bytes, expected ${KEY_BYTES}`);
  return pk;
}

/** RFC 8709 §4: `string "ssh-ed25519" || string key (32)`. */
export function encodeEd25519PublicKey(publicKey: Uint8Array): Uint8Array {
  return new SshWriter(51).string(SSH_ED25519).string(publicKey).toBytes();
}

/** ssh-ed25519 signature verification (RFC 8709 §6). */
export const ed25519Signature: HostKeyAlgorithm = {
  name: SSH_ED25519,
  keyType: SSH_ED25519,
  verify(keyBlob, signatureBlob, data, crypto?: CryptoProvider) {
    const pk = decodeEd25519PublicKey(keyBlob);
    const sig = decodeSignatureBlob(SSH_ED25519, signatureBlob);
    // RFC 8709 §6: the 64-byte signature of RFC 8032 §5.1.6.
    if (sig.length !== SIGNATURE_BYTES) return false;
    // The runtime's Ed25519 when the provider has one (it refuses a non-canonical S, checked
    // when the provider is set up), else noble's.
    if (crypto?.ed25519) return crypto.ed25519.verify(pk, sig, data);
    // RFC 8032 §5.1.7 strict checks (canonical S, no ZIP 215 leniency), as OpenSSH's ref10.
    return ed25519.verify(sig, data, pk, { zip215: false });
  },
};

/**
 * ENC([s]B) for the seed's secret scalar s (RFC 8032 §5.1.5): the public key. With the
 * provider's Ed25519 (the runtime's, known-answer-checked before it is offered), that one
 * computes it: ~2 ms of CPU in a fresh process against tens for the BigInt arithmetic below
 * (bench/README.md "Start-up"). Otherwise it is computed on a copy of the base point: noble's
 * own getPublicKey multiplies the shared BASE point, whose first use builds its precomputed
 * tables (tens of ms of CPU in a fresh process); a key loaded for a connection needs one
 * multiplication, so the tables would never pay off. Both cross-checked against
 * `ed25519.getPublicKey` in test/provider.test.ts.
 */
function publicKeyOfSeed(seed: Uint8Array, crypto: CryptoProvider | undefined): Uint8Array {
  const runtime = crypto?.ed25519;
  if (runtime) return runtime.publicKey(seed);
  const { Point } = ed25519;
  // RFC 8032 §5.1.5 steps 1-3: the first half of SHA-512(seed), pruned, read little-endian.
  const h = sha512(seed);
  const head = h.subarray(0, KEY_BYTES);
  head[0]! &= 248;
  head[31]! &= 127;
  head[31]! |= 64;
  let s = 0n;
  for (let i = KEY_BYTES - 1; i >= 0; i--) s = (s << 8n) | BigInt(head[i]!);
  h.fill(0);
  const base = Point.BASE;
  // A fresh Point object has no precomputed window: noble multiplies it in constant time without tables.
  return new Point(base.X, base.Y, base.Z, base.T).multiply(Point.Fn.create(s)).toBytes();
}

/**
 * An Ed25519 signing key from its 32-byte seed (RFC 8032 §5.1.5 "private key"). The seed is
 * copied; when `expectedPublic` is given it must be the seed's public key, or a KeyError
 * ERR_KEY_FORMAT says the halves disagree. The public key is computed with `crypto`'s Ed25519
 * when it has one, else with @noble/curves.
 */
export function ed25519KeyFromSeed(seed: Uint8Array, expectedPublic?: Uint8Array, crypto?: CryptoProvider): SigningKey {
  if (seed.length !== KEY_BYTES) throw keyFormatError(`ssh-ed25519 private key is ${seed.length} bytes, expected ${KEY_BYTES}`);
  const secret = seed.slice();
  const pk = publicKeyOfSeed(secret, crypto);
  if (expectedPublic && !constantTimeEqual(pk, expectedPublic)) {
    secret.fill(0);
    throw keyFormatError('ssh-ed25519 private and public halves do not match (corrupted key file)');
  }
  return signingKey({
    keyType: SSH_ED25519,
    publicKeyBlob: encodeEd25519PublicKey(pk),
    signatureAlgorithms: [SSH_ED25519],
    // RFC 8709 §6: the signature is the 64-byte Ed25519 signature of the data.
    signBody: (_algorithm, data, crypto) => (crypto?.ed25519 ? crypto.ed25519.sign(secret, data) : ed25519.sign(data, secret)),
    wipe: () => secret.fill(0),
  });
}

/**
 * The ssh-ed25519 fields of an OpenSSH private key (PROTOCOL.key §3, the agent encoding of
 * draft-miller-ssh-agent §3.2.3): `string ENC(A)`, `string k || ENC(A)`. `crypto` as in
 * {@link ed25519KeyFromSeed}.
 */
export function readEd25519OpenSsh(r: SshReader, crypto?: CryptoProvider): SigningKey {
  const pk = r.string('ed25519 public key');
  const sk = r.string('ed25519 private key');
  if (pk.length !== KEY_BYTES || sk.length !== 2 * KEY_BYTES) throw keyFormatError('malformed ssh-ed25519 private key');
  if (!constantTimeEqual(sk.subarray(KEY_BYTES), pk)) {
    throw keyFormatError('ssh-ed25519 private and public halves do not match (corrupted key file)');
  }
  return ed25519KeyFromSeed(sk.subarray(0, KEY_BYTES), pk, crypto);
}

/**
 * The PuTTY private blob of an ssh-ed25519 key (PuTTY manual, appendix C.3.4): the 32-byte
 * secret as a string, checked against the public blob stored beside it (`crypto` as in
 * {@link ed25519KeyFromSeed}).
 */
export function readEd25519Ppk(r: SshReader, publicKeyBlob: Uint8Array, crypto?: CryptoProvider): SigningKey {
  const seed = r.string('ed25519 private key');
  return ed25519KeyFromSeed(seed, decodeEd25519PublicKey(publicKeyBlob), crypto);
}

/**
 * An Ed25519 key from PKCS#8's `privateKey` octets (RFC 8410 §7: `CurvePrivateKey ::= OCTET
 * STRING`, the 32-byte seed), checked against PKCS#8 v2's `publicKey` when present (`crypto` as
 * in {@link ed25519KeyFromSeed}).
 */
export function ed25519KeyFromPkcs8(privateKey: Uint8Array, publicKey?: Uint8Array, crypto?: CryptoProvider): SigningKey {
  const r = new DerReader(privateKey, 'Ed25519 CurvePrivateKey');
  const seed = r.octetString('CurvePrivateKey');
  r.end('CurvePrivateKey');
  return ed25519KeyFromSeed(seed, publicKey, crypto);
}
