/**
 * The name look-ups ssh_config(5) CanonicalizeHostname and CanonicalizePermittedCNAMEs need
 * (ssh.c resolve_host with getaddrinfo(3) and AI_CANONNAME), for the pure decisions in
 * config/canonicalize.ts.
 */
import { execFile } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { validDomain, type HostLookupRequest, type HostLookupResult } from '../config/canonicalize.js';

/** How many CNAME records to follow before giving up (a loop in the DNS). */
const MAX_CNAME_CHAIN = 8;

/**
 * Resolve `request.name` with the system resolver (dns.lookup: getaddrinfo, so /etc/hosts and
 * nsswitch apply); null when it has no address. With `wantCname`, the name's canonical name as
 * ssh.c resolve_host takes it, getaddrinfo(3)'s `ai_canonname` with AI_CANONNAME: Node does not
 * expose it, so it comes from glibc's `getent ahosts` (the same getaddrinfo call, the same
 * nsswitch sources: an /etc/hosts line's first name for its aliases, a DNS CNAME's target);
 * where getent cannot answer (not glibc), the end of the name's CNAME chain in the DNS.
 */
export async function lookupHost(request: HostLookupRequest): Promise<HostLookupResult> {
  try {
    // ssh.c resolve_host: hints.ai_family from AddressFamily (-4, -6).
    const family = request.family === 'inet' ? 4 : request.family === 'inet6' ? 6 : 0;
    await dns.lookup(request.name, { all: true, family });
  } catch {
    return null;
  }
  if (!request.wantCname) return {};
  const canonical = await getentCanonicalName(request);
  if (canonical !== undefined) return canonical === '' ? {} : { canonicalName: canonical };
  let name = request.name.replace(/\.$/, '');
  let canonicalName: string | undefined;
  for (let i = 0; i < MAX_CNAME_CHAIN; i++) {
    let targets: string[];
    try {
      targets = await dns.resolveCname(name);
    } catch {
      break; // no CNAME record: `name` is the canonical name
    }
    if (targets.length === 0) break;
    canonicalName = name = targets[0]!.replace(/\.$/, '');
  }
  return { canonicalName };
}

/**
 * getaddrinfo(3)'s `ai_canonname` for `request.name` through glibc's getent(1): `getent ahosts`
 * (ahostsv4 / ahostsv6 for AddressFamily) calls getaddrinfo with AI_CANONNAME and prints the
 * canonical name after the first address. '' when the name has none, does not resolve (exit 2)
 * or has one that is not a valid domain name (ssh.c resolve_host ignores it, misc.c
 * valid_domain); undefined when getent cannot answer (missing, or not glibc's).
 */
function getentCanonicalName(request: HostLookupRequest): Promise<string | undefined> {
  const database = request.family === 'inet' ? 'ahostsv4' : request.family === 'inet6' ? 'ahostsv6' : 'ahosts';
  return new Promise((resolve) => {
    execFile('getent', [database, '--', request.name], { timeout: 30_000, encoding: 'utf8' }, (err, stdout) => {
      if (err) {
        // getent's exit status 2: the key was not found.
        resolve((err as { code?: unknown }).code === 2 ? '' : undefined);
        return;
      }
      // "ADDRESS  SOCKTYPE  CANONNAME" on the first line only (glibc getent.c ahosts_keys_int).
      const first = /^\S+\s+\S+\s+(\S+)/.exec(stdout.split('\n', 1)[0] ?? '');
      if (first === null) {
        resolve(/^\S+\s+\S+\s*$/.test(stdout.split('\n', 1)[0] ?? '') ? '' : undefined);
        return;
      }
      const name = first[1]!;
      resolve('error' in validDomain(name) ? '' : name);
    });
  });
}
