/**
 * User keys: the OpenSSH private key format (OpenSSH PROTOCOL.key, "openssh-key-v1") and public
 * key lines (sshd(8) "AUTHORIZED_KEYS FILE FORMAT", `.pub` files). Sans-IO: text or bytes in, a
 * signing object out; reading files lives in `src/node/identity-file.ts`.
 *
 * Supported: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256/384/521 (RFC 5656), ssh-rsa with
 * rsa-sha2-256/512 signatures (RFC 8332). Unencrypted keys only.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { base64Decode } from '../protocol/base64.js';
import { modPow } from '../crypto/bigint.js';
import { SshError, UsageError } from '../errors.js';
import { keyBlobType } from './hostkey.js';
import { SshReader, SshWriter, constantTimeEqual } from '../protocol/wire.js';

/** A private key that can sign SSH user authentication requests. */
export interface PrivateKey {
  /** The key's type as in its public blob, e.g. `ssh-ed25519`, `ssh-rsa`. */
  readonly keyType: string;
  /** The public key blob (RFC 4253 §6.6), as sent in USERAUTH_REQUEST "publickey". */
  readonly publicKeyBlob: Uint8Array;
  /** The comment stored with the key (often `user@host`). */
  readonly comment: string;
  /** Signature algorithms this key can make, most preferred first (e.g. `['ssh-ed25519']`). */
  readonly signatureAlgorithms: string[];
  /**
   * Sign `data` with `algorithm` (one of {@link signatureAlgorithms}). Returns the signature
   * blob: `string algorithm || string signature` (RFC 4253 §6.6).
   */
  sign(algorithm: string, data: Uint8Array): Uint8Array;
  /** Wipe the secret key material this object holds; `sign` fails afterwards. */
  dispose(): void;
}

// PROTOCOL.key: the armour lines around the base64 body.
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
// PROTOCOL.key: AUTH_MAGIC, NUL-terminated.
const AUTH_MAGIC = 'openssh-key-v1\0';
// PROTOCOL.key: unencrypted keys are padded to the "none" cipher's block size, 8.
const NONE_BLOCK_SIZE = 8;

function keyError(source: string, message: string, cause?: unknown): SshError {
  return new SshError('ERR_PRIVATE_KEY', `${source}: ${message}`, cause === undefined ? undefined : { cause });
}

function toText(input: string | Uint8Array): string {
  if (typeof input === 'string') return input;
  // Key files are ASCII armour; latin1 keeps any stray byte visible instead of throwing.
  let s = '';
  for (let i = 0; i < input.length; i += 8192) s += String.fromCharCode(...input.subarray(i, i + 8192));
  return s;
}

/** Say what a non-OpenSSH key file is and how to convert it, instead of "bad format". */
function describeForeignFormat(text: string, source: string): SshError | undefined {
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (pem && pem[1] !== 'OPENSSH PRIVATE KEY') {
    const kind = pem[1]!;
    const encrypted = kind.includes('ENCRYPTED') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
    return keyError(
      source,
      `is a PEM "${kind}" key${encrypted ? ' (encrypted)' : ''}; only the OpenSSH key format is supported. ` +
        `Convert a copy with: ssh-keygen -p -f <copy> (it rewrites the key in the OpenSSH format)`,
    );
  }
  if (/^PuTTY-User-Key-File-/m.test(text)) {
    return keyError(source, 'is a PuTTY .ppk key; export it in the OpenSSH format (puttygen <file> -O private-openssh-new)');
  }
  if (/^\s*(ssh-|ecdsa-|sk-)\S+\s+AAAA/.test(text)) {
    return keyError(source, 'is a public key; give the private key file (usually the same name without .pub)');
  }
  return undefined;
}

/**
 * Parse an unencrypted OpenSSH private key (`ssh-keygen` output since OpenSSH 7.8).
 * `source` names the file in error messages.
 *
 * Throws SshError `ERR_PRIVATE_KEY_ENCRYPTED` for passphrase-protected keys and `ERR_PRIVATE_KEY`
 * for anything else that is wrong (other formats, corruption, unsupported key types).
 *
 * @example
 * const key = parsePrivateKey(readFileSync('id_ed25519', 'utf8'), 'id_ed25519');
 * const sigBlob = key.sign(key.signatureAlgorithms[0], data);
 */
export function parsePrivateKey(text: string | Uint8Array, source = 'private key'): PrivateKey {
  const armoured = toText(text);
  const begin = armoured.indexOf(BEGIN);
  const end = armoured.indexOf(END);
  if (begin < 0 || end < begin) {
    throw describeForeignFormat(armoured, source) ?? keyError(source, `not an OpenSSH private key (no "${BEGIN}" line)`);
  }
  let raw: Uint8Array;
  try {
    raw = base64Decode(armoured.slice(begin + BEGIN.length, end).replace(/\s+/g, ''));
  } catch (cause) {
    throw keyError(source, 'invalid base64 inside the OpenSSH private key armour', cause);
  }
  try {
    return parseKeyV1(raw, source);
  } catch (err) {
    if (err instanceof SshError && (err.code === 'ERR_PRIVATE_KEY' || err.code === 'ERR_PRIVATE_KEY_ENCRYPTED')) throw err;
    // SshReader raises ProtocolError on truncation: that means a damaged file here, not a peer.
    throw keyError(source, `corrupted OpenSSH private key (${err instanceof Error ? err.message : String(err)})`, err);
  } finally {
    raw.fill(0);
  }
}

function latin(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function parseKeyV1(raw: Uint8Array, source: string): PrivateKey {
  const r = new SshReader(raw);
  if (raw.length < AUTH_MAGIC.length || latin(r.raw(AUTH_MAGIC.length)) !== AUTH_MAGIC) {
    throw keyError(source, 'not an openssh-key-v1 private key (bad magic)');
  }
  // PROTOCOL.key: string ciphername, string kdfname, string kdfoptions, uint32 N.
  const cipher = latin(r.string('ciphername'));
  const kdf = latin(r.string('kdfname'));
  r.string('kdfoptions');
  if (cipher !== 'none') {
    throw new SshError(
      'ERR_PRIVATE_KEY_ENCRYPTED',
      `${source} is encrypted with a passphrase (${cipher}/${kdf}); encrypted keys are not supported yet: ` +
        `decrypt a copy with ssh-keygen -p -N "" -f <copy>, or use ssh-agent`,
    );
  }
  if (kdf !== 'none') throw keyError(source, `kdf "${kdf}" with cipher "none" is not a valid combination`);
  const nkeys = r.uint32();
  // OpenSSH sshkey_private_deserialize: files hold exactly one key.
  if (nkeys !== 1) throw keyError(source, `holds ${nkeys} keys; exactly one is supported`);
  const headerPublic = r.string('public key').slice();
  const priv = r.string('private section');
  r.end('private key file');

  // PROTOCOL.key: the private list is padded to the cipher block size.
  if (priv.length % NONE_BLOCK_SIZE !== 0) {
    throw keyError(source, `private section length ${priv.length} is not a multiple of ${NONE_BLOCK_SIZE} (corrupted)`);
  }
  const p = new SshReader(priv);
  // PROTOCOL.key: two equal random checkints; with encryption they detect a wrong passphrase,
  // here they can only differ if the file is damaged.
  if (p.uint32() !== p.uint32()) throw keyError(source, 'check integers do not match (corrupted key file)');

  const keyType = latin(p.string('key type'));
  const key = parsePrivateFields(keyType, p, source);
  const commentBytes = p.string('comment');
  let comment: string;
  try {
    comment = new TextDecoder('utf-8', { fatal: true }).decode(commentBytes);
  } catch {
    comment = latin(commentBytes);
  }
  // PROTOCOL.key: padding bytes are 1, 2, 3, ... (OpenSSH checks the pattern, not the count).
  const padding = p.rest();
  if (padding.some((b, i) => b !== ((i + 1) & 0xff))) {
    key.dispose();
    throw keyError(source, 'bad padding after the private key (corrupted key file)');
  }
  if (!constantTimeEqual(key.publicKeyBlob, headerPublic)) {
    key.dispose();
    throw keyError(source, 'the private key does not match the public key stored with it (corrupted key file)');
  }
  return Object.assign(key, { comment });
}

type Unnamed = Omit<PrivateKey, 'comment'> & { comment: string };

function parsePrivateFields(keyType: string, p: SshReader, source: string): Unnamed {
  switch (keyType) {
    case 'ssh-ed25519':
      return parseEd25519(p, source);
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return parseEcdsa(keyType, p, source);
    case 'ssh-rsa':
      return parseRsa(p, source);
    default:
      throw keyError(
        source,
        `key type "${keyType}" is not supported (supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)`,
      );
  }
}

function wrongAlgorithm(keyType: string, algorithm: string, allowed: string[]): UsageError {
  return new UsageError(`a ${keyType} key cannot make "${algorithm}" signatures (it makes ${allowed.join(', ')})`);
}

function disposed(keyType: string): UsageError {
  return new UsageError(`this ${keyType} private key was disposed`);
}

function signatureBlob(algorithm: string, sig: Uint8Array): Uint8Array {
  // RFC 4253 §6.6: string signature format identifier, string signature blob.
  return new SshWriter(sig.length + algorithm.length + 8).string(algorithm).string(sig).toBytes();
}

function parseEd25519(p: SshReader, source: string): Unnamed {
  // PROTOCOL.key / RFC 8709: string ENC(A) (32), string k || ENC(A) (64).
  const pk = p.string('ed25519 public key');
  const sk = p.string('ed25519 private key');
  if (pk.length !== 32 || sk.length !== 64) throw keyError(source, 'malformed ssh-ed25519 private key');
  const seed = sk.slice(0, 32);
  if (!constantTimeEqual(sk.subarray(32), pk) || !constantTimeEqual(ed25519.getPublicKey(seed), pk)) {
    seed.fill(0);
    throw keyError(source, 'ssh-ed25519 private and public halves do not match (corrupted key file)');
  }
  const publicKeyBlob = new SshWriter(51).string('ssh-ed25519').string(pk).toBytes();
  const algorithms = ['ssh-ed25519'];
  let live = true;
  return {
    keyType: 'ssh-ed25519',
    publicKeyBlob,
    comment: '',
    signatureAlgorithms: algorithms,
    sign(algorithm, data) {
      if (!live) throw disposed('ssh-ed25519');
      if (algorithm !== 'ssh-ed25519') throw wrongAlgorithm('ssh-ed25519', algorithm, algorithms);
      // RFC 8709 §6: the signature is the 64-byte Ed25519 signature of the data.
      return signatureBlob(algorithm, ed25519.sign(data, seed));
    },
    dispose() {
      live = false;
      seed.fill(0);
    },
  };
}

// RFC 5656 §6.2.1: the hash follows the curve size (noble's curves prehash with exactly these).
const ECDSA_CURVES = {
  'ecdsa-sha2-nistp256': { id: 'nistp256', curve: p256, scalarBytes: 32 },
  'ecdsa-sha2-nistp384': { id: 'nistp384', curve: p384, scalarBytes: 48 },
  'ecdsa-sha2-nistp521': { id: 'nistp521', curve: p521, scalarBytes: 66 },
} as const;

function parseEcdsa(keyType: keyof typeof ECDSA_CURVES, p: SshReader, source: string): Unnamed {
  const { id, curve, scalarBytes } = ECDSA_CURVES[keyType];
  // PROTOCOL.key: string curve identifier, string Q (SEC1 uncompressed point), mpint d.
  const curveId = latin(p.string('curve name'));
  if (curveId !== id) throw keyError(source, `${keyType} key names curve "${curveId}"`);
  const q = p.string('ecdsa public point');
  const dBig = bytesToNumberBE(p.mpint('ecdsa private scalar'));
  let d: Uint8Array;
  try {
    d = numberToBytesBE(dBig, scalarBytes);
  } catch (cause) {
    throw keyError(source, `${keyType} private scalar is too large (corrupted key file)`, cause);
  }
  let derived: Uint8Array;
  try {
    derived = curve.getPublicKey(d, false);
  } catch (cause) {
    d.fill(0);
    throw keyError(source, `${keyType} private scalar is invalid (corrupted key file)`, cause);
  }
  if (!constantTimeEqual(derived, q)) {
    d.fill(0);
    throw keyError(source, `${keyType} private and public halves do not match (corrupted key file)`);
  }
  // RFC 5656 §3.1: string "ecdsa-sha2-[identifier]", string [identifier], string Q.
  const publicKeyBlob = new SshWriter().string(keyType).string(id).string(q).toBytes();
  const algorithms = [keyType];
  let live = true;
  return {
    keyType,
    publicKeyBlob,
    comment: '',
    signatureAlgorithms: algorithms,
    sign(algorithm, data) {
      if (!live) throw disposed(keyType);
      if (algorithm !== keyType) throw wrongAlgorithm(keyType, algorithm, algorithms);
      // Deterministic k (RFC 6979) since this core has no RNG; compact = r || s, fixed width.
      const rs = curve.sign(data, d, { prehash: true });
      // RFC 5656 §3.1.2: the signature blob is mpint r, mpint s.
      const inner = new SshWriter()
        .mpint(rs.subarray(0, scalarBytes))
        .mpint(rs.subarray(scalarBytes))
        .toBytes();
      return signatureBlob(algorithm, inner);
    },
    dispose() {
      live = false;
      d.fill(0);
    },
  };
}

// RFC 8017 §9.2 note 1: DER DigestInfo prefixes for EMSA-PKCS1-v1_5.
const DIGEST_INFO = {
  'rsa-sha2-256': { hash: sha256, prefix: hex('3031300d060960864801650304020105000420') },
  'rsa-sha2-512': { hash: sha512, prefix: hex('3051300d060960864801650304020305000440') },
} as const;

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}


function parseRsa(p: SshReader, source: string): Unnamed {
  // PROTOCOL.key (OpenSSH sshkey_private_serialize): mpint n, e, d, iqmp, p, q.
  const nBytes = p.mpint('rsa n').slice();
  const eBytes = p.mpint('rsa e').slice();
  const n = bytesToNumberBE(nBytes);
  const e = bytesToNumberBE(eBytes);
  let d = bytesToNumberBE(p.mpint('rsa d'));
  let iqmp = bytesToNumberBE(p.mpint('rsa iqmp'));
  let pp = bytesToNumberBE(p.mpint('rsa p'));
  let qq = bytesToNumberBE(p.mpint('rsa q'));
  // OpenSSH refuses RSA keys under 1024 bits (SSH_RSA_MINIMUM_MODULUS_SIZE).
  if (n.toString(2).length < 1024) throw keyError(source, 'RSA key is shorter than 1024 bits');
  if (pp * qq !== n || (iqmp * qq) % pp !== 1n || pp < 2n || qq < 2n) {
    throw keyError(source, 'ssh-rsa private key fields are inconsistent (corrupted key file)');
  }
  let dp = d % (pp - 1n);
  let dq = d % (qq - 1n);
  const k = Math.ceil(n.toString(16).length / 2);
  // RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n.
  const publicKeyBlob = new SshWriter().string('ssh-rsa').mpint(eBytes).mpint(nBytes).toBytes();
  // RFC 8332 §3: SHA-2 signatures only; SHA-1 "ssh-rsa" signatures are disabled by OpenSSH 8.8+.
  const algorithms = ['rsa-sha2-512', 'rsa-sha2-256'];
  let live = true;
  return {
    keyType: 'ssh-rsa',
    publicKeyBlob,
    comment: '',
    signatureAlgorithms: algorithms,
    sign(algorithm, data) {
      if (!live) throw disposed('ssh-rsa');
      if (algorithm !== 'rsa-sha2-256' && algorithm !== 'rsa-sha2-512') {
        throw wrongAlgorithm('ssh-rsa', algorithm, algorithms);
      }
      const { hash, prefix } = DIGEST_INFO[algorithm];
      const t = new Uint8Array(prefix.length + hash.outputLen);
      t.set(prefix);
      t.set(hash(data), prefix.length);
      // RFC 8017 §9.2: EM = 0x00 || 0x01 || PS (0xff, >= 8 bytes) || 0x00 || T.
      if (k < t.length + 11) throw new UsageError('RSA modulus too short for this digest');
      const em = new Uint8Array(k).fill(0xff);
      em[0] = 0;
      em[1] = 1;
      em[k - t.length - 1] = 0;
      em.set(t, k - t.length);
      const m = bytesToNumberBE(em);
      // RFC 8017 §5.1.2: RSASP1 with the CRT (about 4x faster than m^d mod n).
      const m1 = modPow(m, dp, pp);
      const m2 = modPow(m, dq, qq);
      const h = (iqmp * ((m1 - m2 + pp) % pp)) % pp;
      const s = m2 + h * qq;
      // A fault in the CRT path would leak a factor of n: check before releasing the signature.
      if (modPow(s, e, n) !== m) throw new UsageError('RSA signature self-check failed');
      // RFC 8332 §3: the signature is I2OSP(s, k), k = modulus length in bytes.
      return signatureBlob(algorithm, numberToBytesBE(s, k));
    },
    dispose() {
      // BigInts cannot be overwritten in place; drop the references at least.
      live = false;
      d = dp = dq = iqmp = pp = qq = 0n;
    },
  };
}

/**
 * Parse one public key line: `[options] keytype base64 [comment]` as in `.pub` files and
 * authorized_keys (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"). Options, if any, are skipped.
 * The key type word must agree with the type inside the blob.
 *
 * @example
 * parsePublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... joe@laptop').comment; // 'joe@laptop'
 */
export function parsePublicKeyLine(line: string): { keyType: string; keyBlob: Uint8Array; comment: string } {
  const text = line.trim();
  // Find "type base64" where the blob's own type equals the word before it; options before the
  // key may contain quoted spaces, so try each position rather than splitting blindly.
  const re = /(?:^|[ \t])([^ \t]+)[ \t]+([A-Za-z0-9+/]+={0,2})(?=[ \t]|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const keyType = m[1]!;
    let keyBlob: Uint8Array;
    let blobType: string;
    try {
      keyBlob = base64Decode(m[2]!);
      blobType = keyBlobType(keyBlob);
    } catch {
      re.lastIndex = m.index + 1;
      continue;
    }
    if (blobType !== keyType) {
      re.lastIndex = m.index + 1;
      continue;
    }
    const comment = text.slice(m.index + m[0].length).trim();
    return { keyType, keyBlob, comment };
  }
  throw new SshError('ERR_PRIVATE_KEY', `not a public key line: ${JSON.stringify(text.slice(0, 60))}`);
}
