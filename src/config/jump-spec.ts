/**
 * ssh(1) -J and ssh_config(5) ProxyJump: a comma-separated list of jump hosts, each
 * `[user@]host[:port]` or `ssh://[user@]host[:port]` (readconf.c parse_jump). Pure.
 */

/** One hop of a ProxyJump list; unset fields come from that hop's own configuration. */
export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

/** `[user@]host[:port]`, `[v6]:port`, or `ssh://[user@]host[:port]`; null when malformed. */
function parseHop(text: string): JumpSpec | null {
  let rest = text;
  if (rest.startsWith('ssh://')) {
    rest = rest.slice('ssh://'.length);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
  }
  if (rest === '' || /[\s/]/.test(rest)) return null;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    if (user === '') return null;
    rest = rest.slice(at + 1);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) return null;
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) return null;
    portText = after === '' ? undefined : after.slice(1);
  } else {
    // misc.c parse_user_host_port: the port follows the last ':' (a bare IPv6 needs brackets).
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) >= 0) return null;
    host = colon < 0 ? rest : rest.slice(0, colon);
    portText = colon < 0 ? undefined : rest.slice(colon + 1);
  }
  if (host === '') return null;
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) <= 0 || Number(portText) > 65535) return null;
    port = Number(portText);
  }
  return { user, host, port };
}

/**
 * Parse a ProxyJump / `-J` value into its hops, first hop first. Returns null when any hop is
 * malformed (readconf.c parse_jump fails as a whole), and `'none'` for the keyword `none`.
 *
 * @example
 * parseJumpSpec('alice@bastion:2222,inner'); // [{ user: 'alice', host: 'bastion', port: 2222 }, { host: 'inner' }]
 */
export function parseJumpSpec(text: string): JumpSpec[] | 'none' | null {
  if (text.toLowerCase() === 'none') return 'none';
  const hops: JumpSpec[] = [];
  for (const part of text.split(',')) {
    const hop = parseHop(part);
    if (!hop) return null;
    hops.push(hop);
  }
  return hops.length > 0 ? hops : null;
}

/** A hop written back in `[user@]host[:port]` form (brackets for IPv6), as -J takes it. */
export function formatJumpSpec(hop: JumpSpec): string {
  const host = hop.host.includes(':') ? `[${hop.host}]` : hop.host;
  return `${hop.user !== undefined ? `${hop.user}@` : ''}${host}${hop.port !== undefined ? `:${hop.port}` : ''}`;
}
