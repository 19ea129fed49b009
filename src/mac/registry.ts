/**
 * The MAC registry (RFC 4253 §7.1 mac_algorithms): one row per name. Negotiation, the defaults,
 * the CLI (`-m`) and ssh_config (`MACs`) all read this table.
 */
import { hmacAlgorithms } from './hmac.js';
import type { MacAlgorithm } from './mac.js';

const ALL: readonly MacAlgorithm[] = [...hmacAlgorithms];

/** MACs by name. */
export const macAlgorithms: ReadonlyMap<string, MacAlgorithm> = new Map(ALL.map((m) => [m.name, m]));

/** Default MACs, in OpenSSH's order (encrypt-then-MAC first). */
export const DEFAULT_MACS: readonly string[] = ALL.map((m) => m.name);
