/**
 * The MAC registry (RFC 4253 §7.1 mac_algorithms): one row per name. Negotiation, the defaults,
 * the CLI (`-m`) and ssh_config (`MACs`) all read this table.
 */
import { hmacAlgorithms } from './hmac.js';
import type { MacAlgorithm } from './mac.js';
import { umacAlgorithms } from './umac.js';

const byName = new Map([...umacAlgorithms, ...hmacAlgorithms].map((m) => [m.name, m]));

/** OpenSSH's default MAC order (ssh_config(5) MACs): encrypt-then-MAC first, UMAC before HMAC. */
const ORDER = [
  'umac-64-etm@openssh.com',
  'umac-128-etm@openssh.com',
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha1-etm@openssh.com',
  'umac-64@openssh.com',
  'umac-128@openssh.com',
  'hmac-sha2-256',
  'hmac-sha2-512',
  'hmac-sha1',
];

/** MACs by name, in {@link DEFAULT_MACS} order. */
export const macAlgorithms: ReadonlyMap<string, MacAlgorithm> = new Map(ORDER.map((n) => [n, byName.get(n)!]));

/** Default MACs, in OpenSSH's order. */
export const DEFAULT_MACS: readonly string[] = ORDER;
