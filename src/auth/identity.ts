/**
 * Identities for publickey authentication (RFC 4252 §7): what the core offers, how OpenSSH names
 * them in its messages, which signature algorithms a key blob allows, and the order in which
 * agent keys and identity files are tried (OpenSSH sshconnect2.c pubkey_prepare). Sans-IO.
 */
import { KeyError } from '../errors.js';
import { keepSshReason, markLibcrypto } from '../keys/signing.js';
import { decodePublicKeyBlob } from '../keys/hostkey.js';
import type { PrivateKey } from '../keys/privatekey.js';
import { base64Decode } from '../protocol/base64.js';
import { SshReader, constantTimeEqual, fromUtf8 } from '../protocol/wire.js';

/**
 * One key to offer. With `key`, the core signs itself (synchronously, no event). Without it the
 * core first asks the server whether it would accept the key (RFC 4252 §7, a request without a
 * signature); only on SSH_MSG_USERAUTH_PK_OK does it emit a `sign-request` event, answered with
 * `ClientCore.provideSignature` by whatever holds the private half (an agent, a token, a key
 * file still to be decrypted).
 */
export interface AuthIdentity {
  /**
   * The public key (or certificate) blob, RFC 4253 §6.6. Absent for a key file whose public
   * half cannot be read without decrypting it (a PEM, PKCS#8 or PuTTY key with no `.pub`): at
   * its turn the core emits `key-request` and, given the key, signs at once with no query first
   * (OpenSSH sshconnect2.c userauth_pubkey → load_identity_file).
   */
  publicKeyBlob?: Uint8Array;
  /** Names the key in -v lines: its file path, or the agent's comment (ssh(1)'s `id->filename`). */
  label: string;
  /** What ssh(1) appends to the name: `explicit` (a file the user listed), `agent`, or both. */
  note?: string;
  /** A private key held here; signed in the core without an event. */
  key?: PrivateKey;
  /**
   * Why the server may have refused it, for the authentication error: a user certificate
   * offered without its key here says its terms (see CertifiedKey.refusalDetail), since the
   * server never says why (OpenSSH PROTOCOL.certkeys).
   */
  refusalDetail?: () => string;
}

/**
 * OpenSSH's short name of a key type (sshkey_type()): `ED25519`, `ECDSA`, `RSA`, with `-CERT`
 * for certificates, as in `Offering public key: ... ED25519 SHA256:...`.
 */
export function sshKeyTypeLabel(keyType: string): string {
  const cert = keyType.endsWith('-cert-v01@openssh.com');
  const base = cert ? keyType.slice(0, -'-cert-v01@openssh.com'.length) : keyType;
  const name = base === 'ssh-ed25519' ? 'ED25519' : base.startsWith('ecdsa-sha2-') ? 'ECDSA' : base === 'ssh-rsa' ? 'RSA' : base;
  return cert ? `${name}-CERT` : name;
}

/**
 * The public key algorithm names a key blob of this type may be offered under, most preferred
 * first: RSA keys sign with rsa-sha2-512 or rsa-sha2-256 (RFC 8332 §3), or SHA-1 ssh-rsa (RFC
 * 4253 §6.6), which userauth.ts uses only when PubkeyAcceptedAlgorithms names it (OpenSSH 8.8+);
 * certificates under their `*-cert-v01@openssh.com` names (OpenSSH PROTOCOL.certkeys).
 */
export function publicKeyAlgorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (keyType === 'ssh-rsa-cert-v01@openssh.com') {
    return ['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com'];
  }
  return [keyType];
}

/**
 * The signature format a public key algorithm produces (RFC 4253 §6.6): the algorithm itself,
 * or for a certificate algorithm the plain one (PROTOCOL.certkeys: certificates sign as their key).
 */
export function signatureFormatOf(algorithm: string): string {
  return algorithm.endsWith('-cert-v01@openssh.com') ? algorithm.slice(0, -'-cert-v01@openssh.com'.length) : algorithm;
}

const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const AUTH_MAGIC = 'openssh-key-v1\0';

/**
 * The public key stored in the clear in an OpenSSH private key file (PROTOCOL.key §1: the
 * public keys precede the encrypted private list), so an encrypted key can be offered before
 * it is decrypted, as ssh(1)'s sshkey_load_public does. Undefined for other formats; throws
 * KeyError ERR_KEY_FORMAT for a damaged OpenSSH file, and for one whose public key does not
 * decode strictly (decodePublicKeyBlob, marked with ssh's reason).
 */
export function publicKeyOfPrivateKeyFile(text: string): Uint8Array | undefined {
  const begin = text.indexOf(BEGIN);
  if (begin < 0) return undefined;
  const end = text.indexOf(END, begin);
  const fail = (why: string) => new KeyError('ERR_KEY_FORMAT', `OpenSSH private key: ${why}`, { format: 'OpenSSH private key' });
  // OpenSSH sshkey.c private2_uudecode's SSH_ERR_INVALID_FORMAT sends ssh(1) on to the PEM
  // parser, whose failure it reports as "error in libcrypto" (libcryptoKeyError).
  if (end < 0) throw markLibcrypto(fail(`no "${END}" line`));
  let raw: Uint8Array;
  try {
    raw = base64Decode(text.slice(begin + BEGIN.length, end).replace(/\s+/g, ''));
  } catch {
    throw markLibcrypto(fail('invalid base64'));
  }
  try {
    const r = new SshReader(raw);
    if (raw.length < AUTH_MAGIC.length || fromUtf8(r.raw(AUTH_MAGIC.length)) !== AUTH_MAGIC) throw markLibcrypto(fail('bad magic'));
    // PROTOCOL.key §1: ciphername, kdfname, kdfoptions, number of keys, then public key 1.
    r.string('ciphername');
    r.string('kdfname');
    r.string('kdfoptions');
    if (r.uint32() !== 1) throw fail('holds more than one key');
    const blob = r.string('public key').slice();
    // sshkey.c sshkey_parse_private2_pubkey: sshkey_froms, strict (`type -1` when it fails); the
    // key as ssh holds it (sshkey_to_blob) is what is offered and fingerprinted.
    return decodePublicKeyBlob(blob).blob;
  } catch (err) {
    if (err instanceof KeyError) throw keepSshReason(err, err.format ? err : fail(err.message));
    throw fail(`corrupted (${(err as Error).message})`);
  } finally {
    raw.fill(0);
  }
}

/** An identity file as pubkey_prepare sees it: its public half when known without decrypting. */
export interface FileIdentity<T> {
  publicKeyBlob: Uint8Array | undefined;
  item: T;
}

/** A key the agent holds. */
export interface AgentKey<T> {
  publicKeyBlob: Uint8Array;
  item: T;
}

/** One entry of {@link orderIdentities}: an agent key (standing for the file it matched), or a file. */
export type OrderedIdentity<F, A> = { kind: 'agent'; agent: A; file?: F } | { kind: 'file'; file: F };

/**
 * The order ssh(1) tries keys in (sshconnect2.c pubkey_prepare): first the agent keys that
 * match an identity file (in the agent's order; each stands for its file), then the other agent
 * keys (dropped with `identitiesOnly`), then the identity files the agent does not hold, in
 * their order. `agentKeys` is the list of an agent bound to the session (get_agent_identities):
 * a key whose destination constraints (`ssh-add -h`) rule the host out is not in it, and the
 * file it would have matched stays among the files.
 */
export function orderIdentities<F, A>(files: FileIdentity<F>[], agentKeys: AgentKey<A>[], identitiesOnly: boolean): OrderedIdentity<F, A>[] {
  const held = new Set<FileIdentity<F>>();
  const matched: { kind: 'agent'; agent: A; file?: F }[] = [];
  const others: { kind: 'agent'; agent: A }[] = [];
  for (const a of agentKeys) {
    // The first file not yet matched whose public half is the agent's key.
    const f = files.find((f) => !held.has(f) && f.publicKeyBlob !== undefined && constantTimeEqual(f.publicKeyBlob, a.publicKeyBlob));
    if (f !== undefined) {
      matched.push({ kind: 'agent', agent: a.item, file: f.item });
      held.add(f);
    } else if (!identitiesOnly) {
      others.push({ kind: 'agent', agent: a.item });
    }
  }
  const rest = files.filter((f) => !held.has(f)).map((f): OrderedIdentity<F, A> => ({ kind: 'file', file: f.item }));
  return [...matched, ...others, ...rest];
}
