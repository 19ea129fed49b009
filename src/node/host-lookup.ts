/**
 * The name look-ups ssh_config(5) CanonicalizeHostname and CanonicalizePermittedCNAMEs need
 * (ssh.c resolve_host with getaddrinfo(3) and AI_CANONNAME), for the pure decisions in
 * config/canonicalize.ts.
 */
import { promises as dns } from 'node:dns';
import type { HostLookupRequest, HostLookupResult } from '../config/canonicalize.js';

/** How many CNAME records to follow before giving up (a loop in the DNS). */
const MAX_CNAME_CHAIN = 8;

/**
 * Resolve `request.name` with the system resolver (dns.lookup: getaddrinfo, so /etc/hosts and
 * nsswitch apply); null when it has no address. With `wantCname`, the end of the name's CNAME
 * chain is looked up in the DNS too (getaddrinfo's canonical name; Node does not expose it).
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
