/**
 * known_hosts files, sans-IO: parse the text, match host names, decide whether a server's host key
 * is known, changed or revoked, and format new lines. Format: sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT";
 * decisions follow OpenSSH's client (hostfile.c / sshconnect.c) where the man page is silent.
 *
 * Reading and writing the files lives in `src/node/known-hosts-file.ts`.
 */
import { globMatch } from '../protocol/glob.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { base64Decode, base64Encode } from '../protocol/base64.js';
import { UsageError } from '../errors.js';
import { DEFAULT_CA_SIGNATURE_ALGORITHMS, checkCertificateAuthority, type Certificate } from './certificate.js';
import { keyBlobType } from './hostkey.js';
import { constantTimeEqual, utf8 } from '../protocol/wire.js';

/** One parsed key line of a known_hosts file. */
export interface KnownHostsEntry {
  /** The file it came from (as given to {@link parseKnownHosts}), for messages. */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** sshd(8): `@cert-authority` (the key is a CA) or `@revoked` (never accept this key). */
  marker?: '@revoked' | '@cert-authority';
  /** Either a hashed name (`|1|salt|hash`) or a list of patterns, never both. */
  hosts: { hashed?: { salt: Uint8Array; hash: Uint8Array }; patterns?: string[] };
  /** The key type as written on the line, e.g. `ssh-ed25519`. */
  keyType: string;
  /** The public key blob (RFC 4253 §6.6 encoding). */
  keyBlob: Uint8Array;
  comment?: string;
}

/** A line that could not be parsed (OpenSSH skips those; we report them). */
export interface KnownHostsParseError {
  line: number;
  message: string;
}

// sshd(8): hashed host names start with this magic; OpenSSH's HASH_MAGIC.
const HASH_MAGIC = '|1|';
// OpenSSH hostfile.c: salt and hash are both the size of an HMAC-SHA1 output.
const SHA1_BYTES = 20;

/**
 * Parse a known_hosts file. Bad lines are collected in `errors` (with their 1-based line number)
 * and skipped, never thrown, because OpenSSH ignores them too and one bad line must not make every
 * host unknown.
 *
 * @example
 * const { entries, errors } = parseKnownHosts(text, '~/.ssh/known_hosts');
 */
export function parseKnownHosts(
  text: string,
  file: string,
): { entries: KnownHostsEntry[]; errors: KnownHostsParseError[] } {
  const entries: KnownHostsEntry[] = [];
  const errors: KnownHostsParseError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const result = parseLine(lines[i]!.replace(/\r$/, ''), file, i + 1);
    if (result === undefined) continue;
    if (typeof result === 'string') errors.push({ line: i + 1, message: result });
    else entries.push(result);
  }
  return { entries, errors };
}

/** Split off the next whitespace-separated field (sshd(8): fields are separated by spaces or tabs). */
function nextField(rest: string): [string, string] {
  const m = /^([^ \t]+)[ \t]*(.*)$/s.exec(rest);
  return m ? [m[1]!, m[2]!] : ['', ''];
}

/** One line: undefined for blank/comment lines, a string for an error, else the entry. */
function parseLine(raw: string, file: string, line: number): KnownHostsEntry | string | undefined {
  let rest = raw.replace(/^[ \t]+/, '');
  // sshd(8): blank lines and lines starting with '#' are comments.
  if (rest === '' || rest.startsWith('#')) return undefined;

  let marker: KnownHostsEntry['marker'];
  if (rest.startsWith('@')) {
    let word: string;
    [word, rest] = nextField(rest);
    // sshd(8): only these two markers exist, and OpenSSH allows one per line.
    if (word !== '@cert-authority' && word !== '@revoked') return `unknown marker "${word}"`;
    marker = word;
    if (rest.startsWith('@')) return 'more than one marker';
  }

  let hostField: string;
  [hostField, rest] = nextField(rest);
  if (rest === '') return 'missing key type and key';
  let keyType: string;
  [keyType, rest] = nextField(rest);
  let keyText: string;
  [keyText, rest] = nextField(rest);
  if (keyText === '') {
    // The SSH-1 "bits exponent modulus" form starts with a number: say so rather than "no key".
    return /^\d+$/.test(keyType) ? 'SSH-1 RSA keys are not supported' : `missing base64 key after "${keyType}"`;
  }

  let keyBlob: Uint8Array;
  try {
    keyBlob = base64Decode(keyText);
  } catch {
    return `invalid base64 in the ${keyType} key`;
  }
  let blobType: string;
  try {
    blobType = keyBlobType(keyBlob);
  } catch {
    return `malformed ${keyType} key blob`;
  }
  // OpenSSH sshkey_read(): the type word must name the key inside the blob.
  if (blobType !== keyType) return `key type "${keyType}" does not match the key's own type "${blobType}"`;

  const hosts: KnownHostsEntry['hosts'] = {};
  if (hostField.startsWith('|')) {
    const hashed = parseHashedHost(hostField);
    if (typeof hashed === 'string') return hashed;
    hosts.hashed = hashed;
  } else {
    hosts.patterns = hostField.split(',');
  }

  const entry: KnownHostsEntry = { file, line, hosts, keyType, keyBlob };
  if (marker) entry.marker = marker;
  const comment = rest.trim();
  if (comment !== '') entry.comment = comment;
  return entry;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, host))` (sshd(8), ssh-keygen(1) -H). */
function parseHashedHost(field: string): { salt: Uint8Array; hash: Uint8Array } | string {
  if (!field.startsWith(HASH_MAGIC)) return 'unsupported hashed host name format (only |1| exists)';
  const parts = field.slice(HASH_MAGIC.length).split('|');
  if (parts.length !== 2) return 'malformed hashed host name (expected |1|salt|hash)';
  let salt: Uint8Array;
  let hash: Uint8Array;
  try {
    salt = base64Decode(parts[0]!);
    hash = base64Decode(parts[1]!);
  } catch {
    return 'invalid base64 in the hashed host name';
  }
  // OpenSSH extract_salt(): the salt must be exactly one SHA-1 output long.
  if (salt.length !== SHA1_BYTES || hash.length !== SHA1_BYTES) {
    return `hashed host name has a ${salt.length}-byte salt and ${hash.length}-byte hash; both must be ${SHA1_BYTES}`;
  }
  return { salt, hash };
}

/**
 * The name OpenSSH looks up: the host as typed, or `[host]:port` when the port is not 22
 * (ssh(1) put_host_port()). Lower-cased, as ssh(1) lower-cases the host name before using it.
 */
export function knownHostsName(host: string, port: number): string {
  // sshd(8): "[host]:port" for a non-standard port.
  const name = port === 22 ? host : `[${host}]:${port}`;
  return name.toLowerCase();
}

/**
 * Does this entry's host field name `host` (as the user typed it) on `port`?
 * Patterns are compared case-insensitively and a matching negated pattern (`!pattern`) excludes
 * the line even when another pattern matches (OpenSSH match_hostname()). Hashed entries compare
 * HMAC-SHA1(salt, name).
 */
export function hostMatches(entry: KnownHostsEntry, host: string, port: number): boolean {
  return nameMatches(entry, knownHostsName(host, port));
}

/** {@link hostMatches} for a name already in known_hosts form (`host` or `[host]:port`). */
function nameMatches(entry: KnownHostsEntry, name: string): boolean {
  const hashed = entry.hosts.hashed;
  if (hashed) {
    return constantTimeEqual(hmac(sha1, hashed.salt, utf8(name)), hashed.hash);
  }
  let positive = false;
  for (const raw of entry.hosts.patterns ?? []) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!globMatch(name, pattern)) continue;
    // sshd(8): "a negated pattern that matches causes the line to be ignored".
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** What the known_hosts entries say about one name (see {@link checkHostKey}). */
export type HostKeyVerdict =
  | { status: 'match'; entry: KnownHostsEntry }
  | { status: 'unknown' }
  /** `entry` is a line for this host with another key (of the same type when there is one). */
  | { status: 'changed'; entry: KnownHostsEntry }
  | { status: 'revoked'; entry: KnownHostsEntry }
  /**
   * Only a `@cert-authority` line names this host, and the server showed a plain key: a CA vouches
   * for certificates only, so the key is as good as unknown (OpenSSH: HOST_NEW).
   */
  | { status: 'cert-authority-only'; entry: KnownHostsEntry };

/** Outcome of {@link checkHostKey}: the verdict, and which name it was reached for. */
export type HostKeyCheck = HostKeyVerdict & {
  /**
   * The known_hosts name of the verdict: `[host]:port` (or `host` on port 22), or the plain `host`
   * when the key was found without the port.
   */
  name: string;
  /**
   * True when `[host]:port` named no key and the plain host name was looked up as well (OpenSSH's
   * "checking without port identifier"); with status `match`, the key was found that way.
   */
  triedWithoutPort: boolean;
};

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decide what the known_hosts entries say about the server's host key `keyBlob` for `host:port`,
 * with OpenSSH's precedence:
 * 1. `@revoked` with this exact key, whatever its host patterns → revoked. sshd(8): a revoked
 *    key "must not ever be accepted"; OpenSSH 9.2 itself only honours @revoked lines whose
 *    patterns match the host (usually `*`), so this is deliberately stricter.
 * 2. Any unmarked line for this host with this exact key → match, even if other lines for the
 *    host hold other keys (several keys per host are normal: rotation, several types).
 * 3. Any other unmarked line for this host → changed, even when its key is of another type:
 *    OpenSSH 9.x reports "REMOTE HOST IDENTIFICATION HAS CHANGED" then (check_key_in_hostkeys()
 *    compares whole keys), and rightly so: otherwise a man in the middle could pass by offering a
 *    key type the user has never recorded. The reported entry is the first of the same type if
 *    there is one, else the first one. Clients avoid false alarms the way ssh(1) does, by
 *    preferring the host key algorithms of {@link knownHostKeyTypes} in KEXINIT.
 * 4. A `@cert-authority` line for this host → cert-authority-only (a CA vouches for
 *    certificates, not for plain keys: see {@link checkHostCertificate}).
 * 5. Otherwise unknown.
 *
 * On a port other than 22 the host is looked up as `[host]:port`; when that names no key (4 or
 * 5), OpenSSH's sshconnect.c check_host_key() looks the plain `host` up too, and only an exact
 * match counts there: a different key under the plain name leaves the host unknown (the user is
 * asked, and a new key is recorded as `[host]:port`), never changed.
 *
 * @example
 * checkHostKey(entries, 'example.com', 2222, blob);
 * // { status: 'match', entry, name: 'example.com', triedWithoutPort: true } for "example.com ssh-ed25519 ..."
 */
export function checkHostKey(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  keyBlob: Uint8Array,
): HostKeyCheck {
  const name = knownHostsName(host, port);
  const verdict = checkName(entries, name, keyBlob);
  // sshconnect.c check_host_key(): HOST_NEW for [host]:port → "checking without port identifier".
  if (port !== 22 && (verdict.status === 'unknown' || verdict.status === 'cert-authority-only')) {
    const plain = knownHostsName(host, 22);
    const withoutPort = checkName(entries, plain, keyBlob);
    if (withoutPort.status === 'match') return { ...withoutPort, name: plain, triedWithoutPort: true };
    return { ...verdict, name, triedWithoutPort: true };
  }
  return { ...verdict, name, triedWithoutPort: false };
}

/** Steps 1-5 of {@link checkHostKey} for one known_hosts name. */
function checkName(entries: readonly KnownHostsEntry[], name: string, keyBlob: Uint8Array): HostKeyVerdict {
  for (const entry of entries) {
    if (entry.marker === '@revoked' && bytesEqual(entry.keyBlob, keyBlob)) return { status: 'revoked', entry };
  }
  let type: string | undefined;
  try {
    type = keyBlobType(keyBlob);
  } catch {
    type = undefined;
  }
  let changed: KnownHostsEntry | undefined;
  let ca: KnownHostsEntry | undefined;
  for (const entry of entries) {
    if (entry.marker === '@revoked' || !nameMatches(entry, name)) continue;
    if (entry.marker === '@cert-authority') {
      ca ??= entry;
      continue;
    }
    if (bytesEqual(entry.keyBlob, keyBlob)) return { status: 'match', entry };
    if (!changed || (changed.keyType !== type && entry.keyType === type)) changed = entry;
  }
  if (changed) return { status: 'changed', entry: changed };
  if (ca) return { status: 'cert-authority-only', entry: ca };
  return { status: 'unknown' };
}

/**
 * Key types already recorded for `host:port` (unmarked lines), in file order. ssh(1)
 * (order_hostkeyalgs()) puts the matching host key algorithms first in its KEXINIT so that a
 * server with several host keys presents the one the user knows, instead of a "changed" alarm.
 */
export function knownHostKeyTypes(entries: readonly KnownHostsEntry[], host: string, port: number): string[] {
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker === undefined && !types.includes(e.keyType) && hostMatches(e, host, port)) types.push(e.keyType);
  }
  return types;
}

/** What ssh(1)'s order_hostkeyalgs() reads from known_hosts for one host (see {@link hostKeyOrderHints}). */
export interface HostKeyOrderHints {
  /** Plain key types recorded for the host, in file order, whose first line is not `@revoked`. */
  keyTypes: string[];
  /** Whether a `@cert-authority` line names the host. */
  certAuthority: boolean;
}

/**
 * What OpenSSH's sshconnect2.c order_hostkeyalgs() looks at, for the one name it loads
 * (`[host]:port`, or `host` on port 22; with HostKeyAlias, the alias and port 22): never the
 * port-less name. A key type counts when its first unmarked line for the name holds a key that
 * no `@revoked` line for the name holds (hostfile.c lookup_key_in_hostkeys_by_type(), which
 * stops at the first line of the type and then checks check_key_not_revoked()).
 *
 * @example
 * hostKeyOrderHints(entries, 'example.com', 2222); // { keyTypes: ['ssh-ed25519'], certAuthority: false }
 */
export function hostKeyOrderHints(entries: readonly KnownHostsEntry[], host: string, port: number): HostKeyOrderHints {
  const name = knownHostsName(host, port);
  const loaded = entries.filter((e) => nameMatches(e, name));
  const revoked = loaded.filter((e) => e.marker === '@revoked');
  const seen = new Set<string>();
  const keyTypes: string[] = [];
  for (const e of loaded) {
    if (e.marker !== undefined || seen.has(e.keyType)) continue;
    seen.add(e.keyType);
    if (!revoked.some((r) => bytesEqual(r.keyBlob, e.keyBlob))) keyTypes.push(e.keyType);
  }
  return { keyTypes, certAuthority: loaded.some((e) => e.marker === '@cert-authority') };
}

/**
 * Unmarked entries that hold exactly this key for other names, for the "This host key is known
 * by the following other names/addresses" note of OpenSSH's first-connection prompt.
 */
export function otherNamesForKey(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  keyBlob: Uint8Array,
): KnownHostsEntry[] {
  return entries.filter(
    (e) => e.marker === undefined && bytesEqual(e.keyBlob, keyBlob) && !hostMatches(e, host, port),
  );
}

/**
 * One known_hosts line (without the trailing newline) for `host:port` and a key blob:
 * `host` or `[host]:port`, then the key type and the base64 key, as ssh(1) appends it.
 * With `hashed`, the name is written as `|1|salt|HMAC-SHA1(salt, name)` (HashKnownHosts); the
 * 20-byte salt must come from the caller because this core has no RNG.
 *
 * @example
 * formatKnownHostsLine('example.com', 2222, blob); // "[example.com]:2222 ssh-ed25519 AAAAC3Nza..."
 */
export function formatKnownHostsLine(
  host: string,
  port: number,
  keyBlob: Uint8Array,
  opts?: { hashed?: boolean; salt?: Uint8Array },
): string {
  const name = knownHostsName(host, port);
  let hostField = name;
  if (opts?.hashed) {
    const salt = opts.salt;
    // OpenSSH host_hash(): the salt is one SHA-1 output long.
    if (!salt || salt.length !== SHA1_BYTES) {
      throw new UsageError(`a hashed known_hosts line needs a ${SHA1_BYTES}-byte random salt`);
    }
    hostField = `${HASH_MAGIC}${base64Encode(salt)}|${base64Encode(hmac(sha1, salt, utf8(name)))}`;
  } else if (/[\s,]/.test(name) || name.startsWith('|') || name.startsWith('@') || name.startsWith('#')) {
    // Such a name would read back as several fields, patterns or a comment.
    throw new UsageError(`cannot write host name ${JSON.stringify(host)} to known_hosts`);
  }
  return `${hostField} ${keyBlobType(keyBlob)} ${base64Encode(keyBlob)}`;
}

/** What the known_hosts entries say about a host certificate (see {@link checkHostCertificate}). */
export type HostCertificateVerdict =
  /** `entry` is the `@cert-authority` line of the CA, and the certificate is valid for the host now. */
  | { status: 'match'; entry: KnownHostsEntry; name: string; triedWithoutPort: boolean }
  /** A `@revoked` line names the CA key or the certified key: refuse, never fall back. */
  | { status: 'revoked'; entry: KnownHostsEntry; revokedKey: 'CA' | 'host' }
  /**
   * The CA is trusted for this host but the certificate is not good for it (`reason`, in OpenSSH's
   * words, e.g. "Certificate invalid: name is not a listed principal"). OpenSSH then checks the
   * certified key as a plain key.
   */
  | { status: 'invalid'; entry: KnownHostsEntry; name: string; reason: string; triedWithoutPort: boolean }
  /** No `@cert-authority` line for this host holds the certificate's CA key: check the plain key. */
  | { status: 'no-ca'; triedWithoutPort: boolean };

/**
 * Decide whether a host certificate (already decoded, so its CA signature is verified) is
 * vouched for by known_hosts, as OpenSSH's check_host_key() does (hostfile.c
 * check_hostkeys_by_key_or_type(), sshkey_cert_check_host()):
 * 1. A `@revoked` line holding the CA key or the certified key → revoked (OpenSSH
 *    check_key_not_revoked()), whatever its host patterns.
 * 2. A `@cert-authority` line whose patterns match `[host]:port` (then, on a port other than 22,
 *    the plain `host`) and whose key is the certificate's CA → the certificate must be a host
 *    certificate, valid at `now` (seconds since the epoch), list `host` exactly among its
 *    principals, carry no critical option, and be signed with one of `caSignatureAlgorithms`
 *    (ssh_config(5) CASignatureAlgorithms applied, default OpenSSH's; sshkey_cert_check_host):
 *    match, else invalid with OpenSSH's reason ("Certificate signed with disallowed algorithm").
 * 3. Otherwise no-ca. For invalid and no-ca the caller retries with the plain certified key
 *    (OpenSSH: "No matching CA found. Retry with plain key").
 *
 * @example
 * checkHostCertificate(entries, 'web1.example.com', 22, parseCertificate(blob), Date.now() / 1000);
 */
export function checkHostCertificate(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  cert: Certificate,
  now: number,
  caSignatureAlgorithms: readonly string[] = DEFAULT_CA_SIGNATURE_ALGORITHMS,
): HostCertificateVerdict {
  for (const entry of entries) {
    if (entry.marker !== '@revoked') continue;
    // OpenSSH compares public keys, so a revoked plain key also revokes its certificates.
    if (bytesEqual(entry.keyBlob, cert.signatureKey)) return { status: 'revoked', entry, revokedKey: 'CA' };
    if (bytesEqual(entry.keyBlob, cert.publicKeyBlob) || bytesEqual(entry.keyBlob, cert.blob)) {
      return { status: 'revoked', entry, revokedKey: 'host' };
    }
  }
  const names = [knownHostsName(host, port)];
  // sshconnect.c check_host_key(): HOST_NEW for [host]:port → "checking without port identifier".
  if (port !== 22) names.push(knownHostsName(host, 22));
  let invalid: Extract<HostCertificateVerdict, { status: 'invalid' }> | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const entry = entries.find(
      (e) => e.marker === '@cert-authority' && bytesEqual(e.keyBlob, cert.signatureKey) && nameMatches(e, name),
    );
    if (!entry) continue;
    // The principal is the host name proper (ssh lower-cases it), never `[host]:port`.
    const reason = checkCertificateAuthority(cert, { wantHost: true, now, name: host.toLowerCase(), caSignatureAlgorithms });
    if (!reason) return { status: 'match', entry, name, triedWithoutPort: i > 0 };
    invalid ??= { status: 'invalid', entry, name, reason, triedWithoutPort: i > 0 };
  }
  return invalid ?? { status: 'no-ca', triedWithoutPort: port !== 22 };
}

/**
 * Whether any `@cert-authority` line names `host:port` (or the plain `host`). ssh(1)
 * (order_hostkeyalgs()) then puts the certificate host key algorithms first in its KEXINIT.
 */
export function certAuthorityKnown(entries: readonly KnownHostsEntry[], host: string, port: number): boolean {
  const names = [knownHostsName(host, port), knownHostsName(host, 22)];
  return entries.some((e) => e.marker === '@cert-authority' && names.some((n) => nameMatches(e, n)));
}
