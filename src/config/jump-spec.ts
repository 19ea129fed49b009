/**
 * ssh(1) -J and ssh_config(5) ProxyJump: a comma-separated list of jump hosts, each
 * `[user@]host[:port]` or `ssh://[user@]host[:port]` (readconf.c parse_jump), split by
 * destination.ts. Pure.
 */
import { splitUserHostPort, type UserHostPort } from './destination.js';

/** One hop of a ProxyJump list; unset fields come from that hop's own configuration. */
export type JumpSpec = UserHostPort;

/**
 * Parse a ProxyJump / `-J` value into its hops, first hop first. Returns null when any hop is
 * malformed (readconf.c parse_jump fails as a whole), and `'none'` for the keyword `none`.
 * `blanks`: whitespace inside a hop is kept for the caller to judge (see splitUserHostPort).
 *
 * @example
 * parseJumpSpec('alice@bastion:2222,inner'); // [{ user: 'alice', host: 'bastion', port: 2222 }, { host: 'inner' }]
 */
export function parseJumpSpec(text: string, blanks = false): JumpSpec[] | 'none' | null {
  if (text.toLowerCase() === 'none') return 'none';
  const hops: JumpSpec[] = [];
  for (const part of text.split(',')) {
    const hop = splitUserHostPort(part, 'hop', blanks);
    if ('error' in hop) return null;
    hops.push(hop);
  }
  return hops.length > 0 ? hops : null;
}

/** A hop written back in `[user@]host[:port]` form (brackets for IPv6), as -J takes it. */
export function formatJumpSpec(hop: JumpSpec): string {
  return formatHop(hop, 'ipv6');
}

/**
 * {@link formatJumpSpec} with the choice of brackets: around an IPv6 host only (`'ipv6'`), or
 * around any host that looks numeric, a `:` or only digits and dots (`'numeric'`, as readconf.c
 * dump_client_config prints its jump_host).
 */
export function formatHop(hop: JumpSpec, brackets: 'ipv6' | 'numeric'): string {
  const bracket = hop.host.includes(':') || (brackets === 'numeric' && /^[0-9.]*$/.test(hop.host));
  const host = bracket ? `[${hop.host}]` : hop.host;
  return `${hop.user !== undefined ? `${hop.user}@` : ''}${host}${hop.port !== undefined ? `:${hop.port}` : ''}`;
}
