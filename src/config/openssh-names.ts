/**
 * The algorithm names OpenSSH's ssh knows (`ssh -Q cipher|mac|kex|key|HostKeyAlgorithms` of
 * OpenSSH 9.2 and 10, united), for readconf.c's checks of an algorithm list at its config line:
 * ciphers_valid(), mac_valid(), kex_names_valid() and sshkey_names_valid2() refuse a list naming
 * anything else ("Bad SSH2 cipher spec 'LIST'." and kin), as a counted bad line. Names OpenSSH
 * knows that pure-ssh does not implement ({@link PURE_SSH_ALGORITHMS}) follow one rule,
 * {@link withoutUnimplemented}: left out, or, for an exact list naming nothing else, refused at
 * the line that sets the list, also as a counted bad line, so that one run reports every bad line
 * of a file.
 *
 * A `-` list is not checked (readconf.c skips it: its names may be patterns); in the others each
 * comma-separated name must be known as written (key type lists may also hold patterns that match
 * a known type, as sshkey_names_valid2() allows), up to the first empty name.
 */

import { globMatch } from '../protocol/glob.js';

export type AlgorithmListKind = 'ciphers' | 'macs' | 'kexAlgorithms' | 'hostKeyAlgorithms';

const CIPHERS = [
  '3des-cbc', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr',
  'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com',
];

const MACS = [
  'hmac-sha1', 'hmac-sha1-96', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-md5', 'hmac-md5-96',
  'umac-64@openssh.com', 'umac-128@openssh.com', 'hmac-sha1-etm@openssh.com',
  'hmac-sha1-96-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com',
  'hmac-md5-etm@openssh.com', 'hmac-md5-96-etm@openssh.com', 'umac-64-etm@openssh.com',
  'umac-128-etm@openssh.com',
];

const KEX = [
  'diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1', 'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group-exchange-sha1',
  'diffie-hellman-group-exchange-sha256', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521',
  'curve25519-sha256', 'curve25519-sha256@libssh.org', 'sntrup761x25519-sha512',
  'sntrup761x25519-sha512@openssh.com', 'mlkem768x25519-sha256',
];

/** Key types and signature algorithms (sshkey_names_valid2 with plain and certificate types). */
const KEY_TYPES = [
  'ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com', 'sk-ssh-ed25519@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-dss', 'ssh-dss-cert-v01@openssh.com', 'ssh-rsa', 'ssh-rsa-cert-v01@openssh.com',
  'rsa-sha2-256', 'rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-512', 'rsa-sha2-512-cert-v01@openssh.com',
];

/**
 * The names OpenSSH's ssh knows per list, in its `ssh -Q` order (the tables of cipher.c, mac.c,
 * kex.c and sshkey.c): pure-ssh's `-Q` lists its own names in this order (src/node/query.ts).
 */
export const OPENSSH_NAMES: Readonly<Record<AlgorithmListKind, readonly string[]>> = {
  ciphers: CIPHERS,
  macs: MACS,
  kexAlgorithms: KEX,
  hostKeyAlgorithms: KEY_TYPES,
};

const KNOWN: Readonly<Record<AlgorithmListKind, ReadonlySet<string>>> = {
  ciphers: new Set(CIPHERS),
  macs: new Set(MACS),
  kexAlgorithms: new Set(KEX),
  hostKeyAlgorithms: new Set(KEY_TYPES),
};

/** readconf.c: the message for a list of `kind` that names an algorithm OpenSSH does not know. */
const BAD_ALGORITHM_LIST: Readonly<Record<AlgorithmListKind, string>> = {
  ciphers: 'Bad SSH2 cipher spec',
  macs: 'Bad SSH2 MAC spec',
  kexAlgorithms: 'Bad SSH2 KexAlgorithms',
  hostKeyAlgorithms: 'Bad key types',
};

/** Debian's GSSAPI key exchange prefixes (its kex.h KEX_GSS_*): a GSSAPI kex name starts with one. */
export const GSS_KEX_PREFIXES: readonly string[] = [
  'gss-group14-sha256-', 'gss-group16-sha512-', 'gss-nistp256-sha256-', 'gss-curve25519-sha256-', 'gss-group14-sha1-',
  'gss-gex-sha1-', 'gss-group1-sha1-',
];

/**
 * Debian's kex.c kex_alg_by_name (GSSAPI patch): a name starting with a GSSAPI prefix is a known
 * key exchange name, so kex_names_valid() takes it in KexAlgorithms as well as in
 * GSSAPIKexAlgorithms.
 */
export function isGssKexName(name: string): boolean {
  return GSS_KEX_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * A KexAlgorithms value without its GSSAPI names (Debian's ssh 9.2): kex_names_valid() accepts
 * them at the line, then fill_default_options' kex_assemble_names() keeps only the names of
 * kex_alg_list(), which lists no GSSAPI one (they belong to GSSAPIKexAlgorithms), so they leave
 * the list without a word, even at -vvv (`ssh -G` prints the list without them). A `-` list is
 * returned as it is (its names remove); a list left with no name becomes `,` (an exact one then
 * fails as `KexAlgorithms ,` does, "fill_default_options: kex_algorithms: invalid argument";
 * `+,` and `^,` leave the defaults, as in ssh).
 *
 * @example
 * withoutGssKexNames('curve25519-sha256,gss-curve25519-sha256-'); // 'curve25519-sha256'
 */
export function withoutGssKexNames(spec: string): string {
  const op = spec[0] === '+' || spec[0] === '^' || spec[0] === '-' ? spec[0] : '';
  if (op === '-') return spec;
  const names = spec.slice(op.length).split(',');
  if (!names.some(isGssKexName)) return spec;
  const kept = names.filter((n) => n !== '' && !isGssKexName(n));
  return op + (kept.length > 0 ? kept.join(',') : ',');
}

/**
 * Whether OpenSSH's ssh accepts `spec` (an ssh_config(5) algorithm list with its optional `+`,
 * `-` or `^`) for `kind` at its config line: a `-` list always; an empty list never; otherwise
 * each name up to the first empty one must be known (ciphers_valid and its kin stop their strsep
 * loop at an empty name). What follows an empty name is checked when the lists are applied.
 */
export function opensshAcceptsList(kind: AlgorithmListKind, spec: string): boolean {
  return listProblem(kind, spec) === undefined;
}

/**
 * readconf.c's message lines for a list OpenSSH refuses (`where` is `FILE line N`), or undefined
 * when it accepts it. kex_names_valid() also prints `Unsupported KEX algorithm "NAME"` first.
 */
export function badListMessage(kind: AlgorithmListKind, spec: string, where: string): string | undefined {
  const problem = listProblem(kind, spec);
  if (problem === undefined) return undefined;
  const line = `${where}: ${BAD_ALGORITHM_LIST[kind]} '${spec}'.`;
  return kind === 'kexAlgorithms' && problem.unknown !== undefined ? `Unsupported KEX algorithm "${problem.unknown}"\n${line}` : line;
}

function listProblem(kind: AlgorithmListKind, spec: string): { unknown?: string } | undefined {
  if (spec.startsWith('-')) return undefined;
  const list = spec.startsWith('+') || spec.startsWith('^') ? spec.slice(1) : spec;
  if (list === '') return {};
  const known = KNOWN[kind];
  for (const name of list.split(',')) {
    if (name === '') return undefined;
    if (known.has(name)) continue;
    if (kind === 'kexAlgorithms' && isGssKexName(name)) continue;
    // sshkey_names_valid2(): a key type list may hold patterns, each matching a known type.
    // A negated one (`!ssh-rsa`) too: match_pattern_list()'s negative match is a match.
    const pattern = name.startsWith('!') ? name.slice(1) : name;
    if (kind === 'hostKeyAlgorithms' && (/[*?]/.test(pattern) || pattern !== name) && [...known].some((k) => globMatch(k, pattern))) continue;
    return { unknown: name };
  }
  return undefined;
}

/**
 * The names pure-ssh implements, per list, in the order `supportedAlgorithms()` (src/algorithms.ts)
 * gives them: that function reads the registries, which the command line's configuration reading
 * does not load; test/registry.test.ts checks that the two agree.
 */
export const PURE_SSH_ALGORITHMS: Readonly<Record<AlgorithmListKind, readonly string[]>> = {
  ciphers: [
    'chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr',
    'aes256-ctr', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc',
  ],
  macs: [
    'umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com',
    'hmac-sha1-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1',
  ],
  kexAlgorithms: [
    'mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256',
    'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1',
    'diffie-hellman-group-exchange-sha1',
  ],
  hostKeyAlgorithms: [
    'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256',
    'ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp384-cert-v01@openssh.com',
    'ecdsa-sha2-nistp521-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com',
    'ssh-rsa', 'ssh-rsa-cert-v01@openssh.com',
  ],
};

/**
 * The error for an algorithm list that {@link withoutUnimplemented} refuses (an exact list naming
 * only algorithms pure-ssh does not implement), worded as applying the list words it
 * (src/algorithms.ts applySpec; `label`: "cipher", "MAC", "key exchange", "host key", "public
 * key"), or undefined: the list applies, less what pure-ssh lacks.
 */
export function unimplementedListMessage(kind: AlgorithmListKind, label: string, spec: string): string | undefined {
  const supported = PURE_SSH_ALGORITHMS[kind];
  const { refused, leftOut } = withoutUnimplemented(kind, spec, supported);
  if (!refused) return undefined;
  return `unsupported ${label} algorithm(s): ${leftOut.join(',')} (pure-ssh supports: ${supported.join(',')})`;
}

/**
 * kex.c kex_assemble_names() on a list as readconf.c fill_default_options (Ciphers, MACs,
 * KexAlgorithms, HostbasedAcceptedAlgorithms, PubkeyAcceptedAlgorithms, CASignatureAlgorithms)
 * and sshconnect2.c ssh_kex2 / readconf.c dump_client_config (HostKeyAlgorithms) apply it: true
 * when it fails. A `-` list never fails; any other fails on a negated name (`!ssh-rsa`: "negated
 * matches are not supported here"; sshkey_names_valid2() accepts one matching a key type at the
 * line, ciphers_valid() and its kin only after an empty name); an explicit list (no `+` or `^`,
 * which bring the defaults) fails when no name matches one of `against` (`,`; for
 * `signatures`, sshkey_alg_list without certificate types, a list of certificate types only).
 * OpenSSH 9.2 then prints `fill_default_options: ciphers: invalid argument` (and kin) and goes
 * on with the list unset; OpenSSH 10.4 exits 255 there.
 */
export function assembledListFails(spec: string, against: AlgorithmListKind | 'signatures'): boolean {
  if (spec.startsWith('-')) return false;
  const explicit = !spec.startsWith('+') && !spec.startsWith('^');
  const names = (explicit ? spec : spec.slice(1)).split(',');
  if (names.some((n) => n.startsWith('!'))) return true;
  if (!explicit) return false;
  const all = against === 'signatures' ? KEY_TYPES.filter((k) => !k.includes('-cert-')) : OPENSSH_NAMES[against];
  return !names.some((n) => n !== '' && all.some((k) => globMatch(k, n)));
}

/**
 * The one rule for names OpenSSH knows and pure-ssh does not implement (`implemented`: its names
 * of that kind) in an algorithm list (`spec`, ssh_config(5) syntax; a pattern stands for every
 * name of OpenSSH's it matches): ssh_config files written for OpenSSH (`HostKeyAlgorithms
 * +ssh-dss` for an old host) must still work where those names cannot be offered, and never
 * weaker than asked.
 * - A `+` or `^` list only adds or prefers: what is left of it applies (`spec` undefined: nothing
 *   is left, the defaults stand).
 * - An exact list keeps its other names; naming nothing else, it is `refused`, returned as written
 *   (its config line is the error: {@link unimplementedListMessage}).
 * - A `-` list is returned as it is (its names remove, whatever they are).
 * `leftOut` names what was left out (a -v line, connect-host.ts offerableAlgorithms).
 *
 * @example
 * withoutUnimplemented('hostKeyAlgorithms', '+ssh-dss', ['ssh-ed25519']);
 * // { spec: undefined, leftOut: ['ssh-dss'] }
 */
export function withoutUnimplemented(
  kind: AlgorithmListKind,
  spec: string,
  implemented: readonly string[],
): { spec: string | undefined; leftOut: string[]; refused?: true } {
  const op = spec[0] === '+' || spec[0] === '^' || spec[0] === '-' ? spec[0] : '';
  if (op === '-') return { spec, leftOut: [] };
  const known = KNOWN[kind];
  const lacking = (name: string) => known.has(name) && !implemented.includes(name);
  const kept: string[] = [];
  const leftOut = new Set<string>();
  for (const name of spec.slice(op.length).split(',')) {
    if (/[*?]/.test(name)) {
      // ssh(1) expands a pattern against every name it knows (kex_assemble_names).
      for (const k of known) if (globMatch(k, name) && lacking(k)) leftOut.add(k);
      if (implemented.some((k) => globMatch(k, name))) kept.push(name);
      continue;
    }
    if (lacking(name)) leftOut.add(name);
    else kept.push(name);
  }
  if (leftOut.size === 0) return { spec, leftOut: [] };
  const left = kept.filter((n) => n !== '');
  if (left.length === 0) return op === '' ? { spec, leftOut: [...leftOut], refused: true } : { spec: undefined, leftOut: [...leftOut] };
  return { spec: op + left.join(','), leftOut: [...leftOut] };
}

/** OpenSSH's names of `kind` that are not in `implemented` (pure-ssh's), among `names`. */
export function unimplementedAmong(kind: AlgorithmListKind, names: readonly string[], implemented: readonly string[]): string[] {
  return names.filter((n) => KNOWN[kind].has(n) && !implemented.includes(n));
}
