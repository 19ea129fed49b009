/**
 * ssh_config(5) CanonicalizeHostname and its family (CanonicalDomains, CanonicalizeFallbackLocal,
 * CanonicalizeMaxDots, CanonicalizePermittedCNAMEs): the decisions of OpenSSH's ssh.c
 * resolve_canonicalize() and check_follow_cname(), and its step in main() that follows a CNAME
 * for a name canonicalization left alone.
 *
 * Pure: every DNS look-up is a {@link HostLookupRequest} the generator yields; the caller answers
 * it (the Node CLI with node:dns, tests with a table) and passes the answer back with `next()`.
 * The generator returns the host name to use from then on, or throws {@link ConfigError} with
 * ssh's wording when ssh would exit.
 */
import { ConfigError, type DebugLevel } from './options.js';
import { matchPatternList } from './match.js';

/** ssh_config(5) CanonicalizeHostname: `no`, `yes` (direct connections only) or `always`. */
export type CanonicalizeMode = 'no' | 'yes' | 'always';

/** One CanonicalizePermittedCNAMEs rule, `source_domain_list:target_domain_list`, lowercased. */
export interface PermittedCname {
  source: string;
  target: string;
}

/** The options canonicalization reads, with readconf.c fill_default_options' defaults applied. */
export interface CanonicalizeOptions {
  mode: CanonicalizeMode;
  /** CanonicalDomains in order; empty = none. */
  domains: readonly string[];
  /** CanonicalizeFallbackLocal (default yes). */
  fallbackLocal: boolean;
  /** CanonicalizeMaxDots (default 1). */
  maxDots: number;
  /** CanonicalizePermittedCNAMEs; empty = none. */
  permittedCnames: readonly PermittedCname[];
  /** AddressFamily / -4 / -6: ssh.c resolve_host asks getaddrinfo(3) for this family only. */
  family?: 'any' | 'inet' | 'inet6';
}

/**
 * A name to resolve, as ssh's resolve_host() does with getaddrinfo(3): `name` may end in `.`
 * (fully qualified, no search domains); `wantCname` asks for the canonical name too.
 */
export interface HostLookupRequest {
  name: string;
  wantCname: boolean;
  /** Only addresses of this family count (AddressFamily, -4, -6); absent or `any`: both. */
  family?: 'any' | 'inet' | 'inet6';
}

/** A successful look-up; `canonicalName` is the end of the CNAME chain, when asked for and known. */
export interface HostLookupAnswer {
  canonicalName?: string;
}

/** What the caller answers: null when the name does not resolve. */
export type HostLookupResult = HostLookupAnswer | null;

/** The outcome: the host name from now on, and whether it was resolved on the way (ssh's addrs != NULL). */
export interface CanonicalizeResult {
  host: string;
  resolved: boolean;
}

/**
 * ssh.c main(): canonicalize `host` (HostName already applied and lowercased) as ssh would.
 *
 * - `CanonicalizeHostname no`: nothing, unless CanonicalizePermittedCNAMEs is set and the
 *   connection is direct or the mode is `always` (then the CNAME rules apply to the bare name).
 * - `yes` only for direct connections (no ProxyCommand, no ProxyJump), `always` for every one.
 * - A name ending in `.` is resolved as it is; a name with more than CanonicalizeMaxDots dots is
 *   left alone; otherwise `HOST.DOMAIN.` is tried for each CanonicalDomains entry in order
 *   (`none` stops the list); the first that resolves wins, and its CNAME is followed when a
 *   CanonicalizePermittedCNAMEs rule allows it.
 * - Nothing found: an error unless CanonicalizeFallbackLocal (then the name stays as given).
 *
 * `direct` is false when a ProxyCommand or ProxyJump carries the connection. `note` receives
 * ssh's debug lines (printed with -v).
 *
 * @throws ConfigError `ssh: Could not resolve host "NAME"` (CanonicalizeFallbackLocal no), or
 *   `ssh: Could not resolve hostname NAME: Name or service not known` (the CNAME step of a direct
 *   connection found no address).
 */
export function* canonicalizeHost(
  host: string,
  o: CanonicalizeOptions,
  direct: boolean,
  note: (message: string, level?: DebugLevel | 'verbose') => void,
): Generator<HostLookupRequest, CanonicalizeResult, HostLookupResult> {
  let result: CanonicalizeResult = { host, resolved: false };
  if (o.mode !== 'no') result = yield* resolveCanonicalize(host, o, direct, note);
  // ssh.c: "If CanonicalizePermittedCNAMEs have been specified but other canonicalization did
  // not happen ... the hostname may still be changed as a result of CNAME following."
  if (!result.resolved && o.permittedCnames.length > 0 && (direct || o.mode === 'always')) {
    const answer = yield { name: result.host, wantCname: true, family: o.family };
    if (answer === null) {
      // ssh.c: a proxied name need not be in the DNS; a direct one must.
      if (direct) throw new ConfigError(`ssh: Could not resolve hostname ${result.host}: Name or service not known`);
    } else {
      result = { host: followCname(direct, result.host, answer.canonicalName, o, note) ?? result.host, resolved: true };
    }
  }
  return result;
}

/** ssh.c resolve_canonicalize(), for names that are not addresses. */
function* resolveCanonicalize(
  host: string,
  o: CanonicalizeOptions,
  direct: boolean,
  note: (message: string, level?: DebugLevel | 'verbose') => void,
): Generator<HostLookupRequest, CanonicalizeResult, HostLookupResult> {
  const fn = 'resolve_canonicalize';
  // ssh.c: names a proxy or jump host will resolve are left alone, unless `always`.
  if (!direct && o.mode !== 'always') return { host, resolved: false };
  const wantCname = o.permittedCnames.length > 0;
  const found = (fullhost: string, answer: HostLookupAnswer): CanonicalizeResult => {
    const name = fullhost.slice(0, -1); // the trailing '.'
    const followed = followCname(direct, name, answer.canonicalName, o, note);
    if (followed === undefined) note(`Canonicalized hostname "${host}" => "${name}"`);
    return { host: followed ?? name, resolved: true };
  };
  if (host.endsWith('.')) {
    // ssh.c: an anchored name is resolved as it is.
    note(`${fn}: name is fully qualified`, 3);
    const answer = yield { name: host, wantCname, family: o.family };
    if (answer !== null) return found(host, answer);
  } else {
    const dots = [...host].filter((c) => c === '.').length;
    if (dots > o.maxDots) {
      note(`${fn}: not canonicalizing hostname "${host}" (max dots ${o.maxDots})`, 3);
      return { host, resolved: false };
    }
    for (const domain of o.domains) {
      if (domain.toLowerCase() === 'none') break;
      const fullhost = `${host}.${domain}.`;
      note(`${fn}: attempting "${host}" => "${fullhost}"`, 3);
      const answer = yield { name: fullhost, wantCname, family: o.family };
      if (answer !== null) return found(fullhost, answer);
    }
  }
  if (!o.fallbackLocal) throw new ConfigError(`ssh: Could not resolve host "${host}"`);
  note(`${fn}: host ${host} not found in any suffix`, 2);
  return { host, resolved: false };
}

/**
 * ssh.c check_follow_cname(): the CNAME target replaces `name` when some permitted rule's source
 * list matches the name and its target list the CNAME. Returns the new name (lowercased), or
 * undefined when nothing changes.
 */
export function followCname(
  direct: boolean,
  name: string,
  cname: string | undefined,
  o: CanonicalizeOptions,
  note: (message: string, level?: DebugLevel | 'verbose') => void = () => {},
): string | undefined {
  if (cname === undefined || cname === '' || o.permittedCnames.length === 0 || cname === name) return undefined;
  if (o.mode === 'no') return undefined;
  if (!direct && o.mode !== 'always') return undefined;
  note(`check_follow_cname: check "${name}" CNAME "${cname}"`, 3);
  for (const rule of o.permittedCnames) {
    if (!matchPatternList(name, rule.source, true) || !matchPatternList(cname, rule.target, true)) continue;
    // ssh.c check_follow_cname: verbose(), shown from LogLevel VERBOSE without a prefix.
    note(`Canonicalized DNS aliased hostname "${name}" => "${cname}"`, 'verbose');
    return cname.toLowerCase();
  }
  return undefined;
}

/**
 * misc.c valid_domain(): a CanonicalDomains entry. Returns the name lowercased without a
 * trailing `.`, or an error text in readconf.c's words.
 */
export function validDomain(name: string): { domain: string } | { error: string } {
  if (name === '') return { error: 'empty domain name' };
  // misc.c valid_domain: `_` may appear inside a name, but a name starts with a letter or digit.
  if (!/^[A-Za-z0-9]/.test(name)) return { error: `domain name "${name}" starts with invalid character` };
  const lower = name.toLowerCase();
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i]!;
    if (c === '.' && lower[i - 1] === '.') return { error: `domain name "${lower.slice(0, i + 1)}${name.slice(i + 1)}" contains consecutive separators` };
    if (!/[a-z0-9._-]/.test(c)) return { error: `domain name "${lower.slice(0, i + 1)}${name.slice(i + 1)}" contains invalid characters` };
  }
  return { domain: lower.endsWith('.') ? lower.slice(0, -1) : lower };
}

/**
 * Run a canonicalization generator with a synchronous resolver (tests, embeddings with a table
 * of names).
 */
export function runCanonicalizeSync<T>(
  steps: Generator<HostLookupRequest, T, HostLookupResult>,
  lookup: (request: HostLookupRequest) => HostLookupResult,
): T {
  let r = steps.next();
  while (!r.done) r = steps.next(lookup(r.value));
  return r.value;
}
