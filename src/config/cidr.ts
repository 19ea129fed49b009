/**
 * Address/prefix lists as OpenSSH's addrmatch.c addr_match_cidr_list reads them (ssh_config(5)
 * `Match localnetwork`): comma-separated `ADDRESS[/MASKLEN]`, IPv4 or IPv6, without host bits
 * set. Pure.
 */
import { parseIpv4, parseIpv6 } from './numeric-address.js';

/** One network of a list: its family, address bytes and prefix length. */
interface Network {
  bytes: Uint8Array;
  masklen: number;
}

/** A parsed list: its networks, or the error lines ssh prints for it (error(), in order). */
export type CidrList = { networks: Network[]; errors: [] } | { networks: undefined; errors: string[] };

/** addrmatch.c: INET6_ADDRSTRLEN (46) plus 3 for `/128`; a longer entry is refused unparsed. */
const MAX_ENTRY = 46 + 3;

/** getaddrinfo(3) with AI_NUMERICHOST: IPv4 as inet_aton reads it, or IPv6 (a `%scope` dropped). */
function addressBytes(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return new Uint8Array([v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff]);
  const pct = text.indexOf('%');
  const words = parseIpv6(pct < 0 ? text : text.slice(0, pct));
  if (!words || (pct >= 0 && pct === text.length - 1)) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** addr.c addr_pton_cidr: a network, -1 for a bad entry, -2 for a bad mask length or host bits. */
function parseNetwork(entry: string): Network | -1 | -2 {
  const slash = entry.indexOf('/');
  let masklen: number | undefined;
  if (slash >= 0) {
    // strtonum(3), 0..INT_MAX.
    const m = entry.slice(slash + 1);
    if (!/^[0-9]+$/.test(m) || Number(m) > 2 ** 31 - 1) return -1;
    masklen = Number(m);
  }
  const bytes = addressBytes(slash >= 0 ? entry.slice(0, slash) : entry);
  if (!bytes) return -1;
  const bits = bytes.length * 8;
  masklen ??= bits;
  if (masklen > bits) return -2;
  // addr.c addr_host_is_all0s: no bit after the prefix may be set.
  for (let i = masklen; i < bits; i++) if ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) return -2;
  return { bytes, masklen };
}

/**
 * addrmatch.c addr_match_cidr_list(NULL, list): the list's networks, or every line ssh's
 * error() prints for it (`addr_match_cidr_list: empty entry in list "..."`, `... too long`,
 * `... contains invalid characters`, `Invalid network entry "..."`, `Inconsistent mask length
 * for network "..."`), as ssh does: an empty, long, bad or inconsistent entry stops the reading,
 * invalid characters alone do not.
 *
 * @example
 * parseCidrList('10.0.0.0/8,::1').errors // []
 */
export function parseCidrList(list: string): CidrList {
  const fn = 'addr_match_cidr_list';
  const errors: string[] = [];
  const networks: Network[] = [];
  const quoted = (s: string) => `"${s.slice(0, 100)}"`;
  for (const entry of list.split(',')) {
    if (entry === '') {
      // strsep(3) has cut the list at its first comma by then: ssh names that much of it.
      errors.push(`${fn}: empty entry in list ${quoted(list.split(',')[0]!)}`);
      break;
    }
    if (entry.length > MAX_ENTRY) {
      errors.push(`${fn}: list entry ${quoted(entry)} too long`);
      break;
    }
    if (!/^[0-9a-fA-F.:/]*$/.test(entry)) errors.push(`${fn}: list entry ${quoted(entry)} contains invalid characters`);
    const n = parseNetwork(entry);
    if (n === -1) {
      errors.push(`Invalid network entry ${quoted(entry)}`);
      break;
    }
    if (n === -2) {
      errors.push(`Inconsistent mask length for network ${quoted(entry)}`);
      break;
    }
    networks.push(n);
  }
  return errors.length > 0 ? { networks: undefined, errors } : { networks, errors: [] };
}

/** addrmatch.c addr_netmatch over a list: whether `address` lies in one of `networks` (same family). */
export function cidrListMatches(address: string, networks: readonly Network[]): boolean {
  // addr.c addr_cmp compares the IPv6 scope too, and a list entry cannot carry one (`%` is not
  // among its characters): a scoped (link-local) address matches no entry.
  if (address.includes('%')) return false;
  const a = addressBytes(address);
  if (!a) return false;
  return networks.some((n) => {
    if (n.bytes.length !== a.length) return false;
    for (let i = 0; i < n.masklen; i++) {
      if (((a[i >> 3]! ^ n.bytes[i >> 3]!) >> (7 - (i & 7))) & 1) return false;
    }
    return true;
  });
}
