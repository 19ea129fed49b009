/**
 * ssh-ed25519 keys (RFC 8709): public blob, signature verification, private keys from OpenSSH
 * key files, PKCS#8 (RFC 8410) and PuTTY files, and signing.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
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
  verify(keyBlob, signatureBlob, data) {
    const pk = decodeEd25519PublicKey(keyBlob);
    const sig = decodeSignatureBlob(SSH_ED25519, signatureBlob);
    // RFC 8709 §6: the 64-byte signature of RFC 8032 §5.1.6.
    if (sig.length !== SIGNATURE_BYTES) return false;
    // RFC 8032 §5.1.7 strict checks (canonical S, no ZIP 215 leniency), as OpenSSH's ref10.
    return ed25519.verify(sig, data, pk, { zip215: false });
  },
};

/**
 * An Ed25519 signing key from its 32-byte seed (RFC 8032 §5.1.5 "private key"). The seed is
 * copied; when `expectedPublic` is given it must be the seed's public key, or a KeyError
 * ERR_KEY_FORMAT says the halves disagree.
 */
export function ed25519KeyFromSeed(seed: Uint8Array, expectedPublic?: Uint8Array): SigningKey {
  if (seed.length !== KEY_BYTES) throw keyFormatError(`ssh-ed25519 private key is ${seed.length} bytes, expected ${KEY_BYTES}`);
  const secret = seed.slice();
  const pk = ed25519.getPublicKey(secret);
  if (expectedPublic && !constantTimeEqual(pk, expectedPublic)) {
    secret.fill(0);
    throw keyFormatError('ssh-ed25519 private and public halves do not match (corrupted key file)');
  }
  return signingKey({
    keyType: SSH_ED25519,
    publicKeyBlob: encodeEd25519PublicKey(pk),
    signatureAlgorithms: [SSH_ED25519],
    // RFC 8709 §6: the signature is the 64-byte Ed25519 signature of the data.
    signBody: (_algorithm, data) => ed25519.sign(data, secret),
    wipe: () => secret.fill(0),
  });
}

/**
 * The ssh-ed25519 fields of an OpenSSH private key (PROTOCOL.key §3, the agent encoding of
 * draft-miller-ssh-agent §3.2.3): `string ENC(A)`, `string k || ENC(A)`.
 */
export function readEd25519OpenSsh(r: SshReader): SigningKey {
  const pk = r.string('ed25519 public key');
  const sk = r.string('ed25519 private key');
  if (pk.length !== KEY_BYTES || sk.length !== 2 * KEY_BYTES) throw keyFormatError('malformed ssh-ed25519 private key');
  if (!constantTimeEqual(sk.subarray(KEY_BYTES), pk)) {
    throw keyFormatError('ssh-ed25519 private and public halves do not match (corrupted key file)');
  }
  return ed25519KeyFromSeed(sk.subarray(0, KEY_BYTES), pk);
}

/**
 * The PuTTY private blob of an ssh-ed25519 key (PuTTY manual, appendix C.3.4): the 32-byte
 * secret as a string, checked against the public blob stored beside it.
 */
export function readEd25519Ppk(r: SshReader, publicKeyBlob: Uint8Array): SigningKey {
  const seed = r.string('ed25519 private key');
  return ed25519KeyFromSeed(seed, decodeEd25519PublicKey(publicKeyBlob));
}

/**
 * An Ed25519 key from PKCS#8's `privateKey` octets (RFC 8410 §7: `CurvePrivateKey ::= OCTET
 * STRING`, the 32-byte seed), checked against PKCS#8 v2's `publicKey` when present.
 */
export function ed25519KeyFromPkcs8(privateKey: Uint8Array, publicKey?: Uint8Array): SigningKey {
  const r = new DerReader(privateKey, 'Ed25519 CurvePrivateKey');
  const seed = r.octetString('CurvePrivateKey');
  r.end('CurvePrivateKey');
  return ed25519KeyFromSeed(seed, publicKey);
}
