/**
 * ssh(1) -L and ssh_config(5) LocalForward specifications (readconf.c parse_forward), parsed
 * into where to listen and what the server should connect to. Pure.
 */
import type { TargetSpec } from '../node/forward.js';
import { parsePort, type SshOptions } from './options.js';

/**
 * readconf.c parse_forward: a Unix socket path of PATH_MAX_SUN (the size of sockaddr_un's
 * sun_path: 108 bytes on Linux) or more is a bad specification; libuv would bind a path cut
 * short without a word. (macOS and the BSDs have 104 bytes; this is Linux's figure, as ssh's there.)
 */
export const PATH_MAX_SUN = 108;

/** Whether `path`, in UTF-8, is too long for sun_path (see {@link PATH_MAX_SUN}). */
export function unixPathTooLong(path: string): boolean {
  return new TextEncoder().encode(path).length >= PATH_MAX_SUN;
}

/**
 * The target of a `-R [bind_address:]port` with none given (reverse dynamic forwarding, a SOCKS
 * proxy served over each forwarded channel): readconf.c parse_forward keeps such a forward with
 * connect host "socks" and port 0, which `ssh -G` prints as `[socks]:0` and channels.c
 * (channel_connect_by_listen_address: port_to_connect 0) takes for the SOCKS form. A real target
 * never has port 0 (`-R 1:socks:0` is a bad specification), so the two cannot be confused.
 */
export const REMOTE_SOCKS_TARGET: { readonly host: 'socks'; readonly port: 0 } = { host: 'socks', port: 0 };

/** Whether a `-R` target is {@link REMOTE_SOCKS_TARGET} (the client serves SOCKS per channel). */
export function isRemoteSocksTarget(to: TargetSpec): boolean {
  return !('path' in to) && to.port === 0;
}

/** A parsed `-L` / `LocalForward`: where to listen and what the server should connect to. */
export interface ForwardSpec {
  /**
   * TCP: `bindAddress` undefined = the default (loopback, or all interfaces with GatewayPorts);
   * `''` or `'*'` = all interfaces; `'localhost'` = loopback. Or a local Unix socket path.
   */
  listen: { bindAddress?: string; port: number } | { path: string };
  to: TargetSpec;
}

interface FwdField {
  arg: string;
  isPath: boolean;
}

/** readconf.c parse_fwd_field: one `:`-separated field; `[...]` literal; `/` marks a path. */
function nextField(s: string): { field: FwdField; rest: string | null } | null {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    const after = s[end + 1];
    if (after !== ':' && after !== undefined) return null;
    const arg = s.slice(1, end);
    return { field: { arg, isPath: arg.includes('/') }, rest: after === undefined ? null : s.slice(end + 2) };
  }
  let arg = '';
  let isPath = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      i++;
      if (i >= s.length) return null;
      arg += s[i];
    } else if (c === ':') {
      return { field: { arg, isPath }, rest: s.slice(i + 1) };
    } else {
      if (c === '/') isPath = true;
      arg += c;
    }
  }
  return { field: { arg, isPath }, rest: null };
}

/**
 * Parse a forwarding specification as ssh(1) -L and -R do (readconf.c parse_forward):
 * `[bind_address:]port:host:hostport`, `[bind_address:]port:remote_socket`,
 * `local_socket:host:hostport`, `local_socket:remote_socket`; IPv6 addresses in `[...]`.
 * Listening port 0 (the server picks one) is for `remote` (-R, RemoteForward) only, as in
 * OpenSSH; the `/` separator of ssh before 6.7 (`8080/host/80`) is refused as ssh 9 refuses it.
 * Returns null when the spec is invalid.
 *
 * @example
 * parseForwardSpec('63333:localhost:5432')
 * // { listen: { port: 63333 }, to: { host: 'localhost', port: 5432 } }
 */
export function parseForwardSpec(spec: string, remote = false): ForwardSpec | null {
  const out = parseColonForm(spec.replace(/^\s+/, ''));
  // readconf.c parse_forward: `!remotefwd && listen_port == 0` is a bad specification.
  if (out && !remote && 'port' in out.listen && out.listen.port === 0) return null;
  return out;
}

/**
 * readconf.c add_local_forward / add_remote_forward: a forward already listed (-L twice, or -L
 * and LocalForward alike) is not added again.
 */
export function addForward<F>(list: F[], fwd: F): void {
  const key = JSON.stringify(fwd);
  if (!list.some((f) => JSON.stringify(f) === key)) list.push(fwd);
}

/**
 * readconf.c add_local_forward for -L / LocalForward (`dynamic` false) and -D / DynamicForward
 * (true, a SOCKS listener): added to its list unless already there, and its place in ssh's one
 * list of both recorded in `o.localForwardOrder` (`ssh -G` prints in that order).
 */
export function addLocalForward(o: SshOptions, fwd: ForwardSpec | DynamicForwardSpec, dynamic: boolean): void {
  const list: (ForwardSpec | DynamicForwardSpec)[] = dynamic ? o.dynamicForwards : o.localForwards;
  const index = list.length;
  addForward(list, fwd);
  if (list.length > index) (o.localForwardOrder ??= []).push({ dynamic, index });
}

function parseColonForm(s: string): ForwardSpec | null {
  const fields: FwdField[] = [];
  let rest = s;
  while (fields.length < 4 && rest !== '') {
    const r = nextField(rest);
    if (!r) break; // a malformed [bracketed] field: what is left counts as garbage below
    fields.push(r.field);
    rest = r.rest ?? '';
  }
  if (rest !== '') return null; // trailing garbage
  const f = fields;
  let out: ForwardSpec | null = null;
  switch (f.length) {
    case 2:
      if (f[0]!.isPath && f[1]!.isPath) out = { listen: { path: f[0]!.arg }, to: { path: f[1]!.arg } };
      else if (f[1]!.isPath) out = { listen: { port: parsePort(f[0]!.arg) }, to: { path: f[1]!.arg } };
      break;
    case 3:
      if (f[0]!.isPath) out = { listen: { path: f[0]!.arg }, to: { host: f[1]!.arg, port: parsePort(f[2]!.arg) } };
      else if (f[2]!.isPath)
        out = { listen: { bindAddress: f[0]!.arg, port: parsePort(f[1]!.arg) }, to: { path: f[2]!.arg } };
      else out = { listen: { port: parsePort(f[0]!.arg) }, to: { host: f[1]!.arg, port: parsePort(f[2]!.arg) } };
      break;
    case 4:
      out = {
        listen: { bindAddress: f[0]!.arg, port: parsePort(f[1]!.arg) },
        to: { host: f[2]!.arg, port: parsePort(f[3]!.arg) },
      };
      break;
  }
  if (!out) return null;
  if ('port' in out.listen && out.listen.port < 0) return null;
  if ('path' in out.listen && (out.listen.path === '' || unixPathTooLong(out.listen.path))) return null;
  if ('port' in out.to && (out.to.port <= 0 || out.to.host === '')) return null;
  if ('path' in out.to && (out.to.path === '' || unixPathTooLong(out.to.path))) return null;
  return out;
}

/**
 * A parsed `-D` / `DynamicForward`: where the SOCKS listener binds (as {@link ForwardSpec}'s
 * listen), a TCP address or a local Unix socket path.
 */
export type DynamicForwardSpec = { bindAddress?: string; port: number } | { path: string };

/**
 * Parse a dynamic forwarding specification as ssh(1) -D does (readconf.c parse_forward with
 * dynamicfwd): `[bind_address:]port`, IPv6 addresses in `[...]`, or a Unix socket path (any
 * single field with a `/`: `-D /tmp/socks`, `-D 1080/x`).
 * Port 0 is for `remote` (-R port) only. Returns null when the spec is invalid.
 *
 * @example
 * parseDynamicForwardSpec('127.0.0.1:1080') // { bindAddress: '127.0.0.1', port: 1080 }
 */
export function parseDynamicForwardSpec(spec: string, remote = false): DynamicForwardSpec | null {
  const s = spec.replace(/^\s+/, '');
  const fields: FwdField[] = [];
  let rest = s;
  while (fields.length < 3 && rest !== '') {
    const r = nextField(rest);
    if (!r) return null;
    fields.push(r.field);
    rest = r.rest ?? '';
  }
  if (rest !== '' || fields.length === 0 || fields.length > 2) return null;
  // readconf.c parse_forward: one field holding a `/` is a Unix socket path to listen on (a
  // SOCKS proxy there, channels.c's streamlocal listener). Not for the server's side: ssh
  // refuses `-R /path` too.
  if (fields.length === 1 && fields[0]!.isPath) {
    const path = fields[0]!.arg;
    return remote || path === '' || unixPathTooLong(path) ? null : { path };
  }
  // Two fields with a path in the second: a local forward, see dynamicAsLocalForward.
  if (fields[1]?.isPath) return null;
  const port = parsePort(fields[fields.length - 1]!.arg);
  // readconf.c parse_forward: port 0 only for the server's side (-R port, a SOCKS proxy there).
  if (port < 0 || (port === 0 && !remote)) return null;
  return fields.length === 2 ? { bindAddress: fields[0]!.arg, port } : { port };
}

/**
 * readconf.c parse_forward with dynamicfwd takes two fields with a path in the second
 * (`-D 1080:/run/app.sock`, `-D /tmp/in:/run/app.sock`, DynamicForward alike) and fills in a
 * target, so ssh.c / channels.c set up no SOCKS proxy but a local forward to that socket on the
 * server, as -L would. Returns that forward, or null for any other text (then
 * {@link parseDynamicForwardSpec} decides).
 *
 * @example
 * dynamicAsLocalForward('1080:/run/app.sock') // { listen: { port: 1080 }, to: { path: '/run/app.sock' } }
 */
export function dynamicAsLocalForward(spec: string): ForwardSpec | null {
  const fields: FwdField[] = [];
  let rest = spec.replace(/^\s+/, '');
  while (fields.length < 3 && rest !== '') {
    const r = nextField(rest);
    if (!r) return null;
    fields.push(r.field);
    rest = r.rest ?? '';
  }
  if (rest !== '' || fields.length !== 2 || !fields[1]!.isPath) return null;
  return parseForwardSpec(spec);
}

/**
 * Parse ssh(1) -W (ssh.c: readconf.c parse_forward with dynamicfwd, as for -D): `host:port`
 * (`[v6]:port`, an empty host allowed as ssh sends it), or a Unix socket path on the server
 * (OpenSSH 9.4+: a field with a `/`, or `path:path`). Port 0 and a missing port are refused.
 * A bare port (`-W 22`, and `-W 22:/path`) is valid but names no host: ssh.c keeps no stdio
 * forward then (its stdio_forward_host stays NULL) and the session is a -N one; that is `'none'`.
 */
export function parseStdioForwardSpec(spec: string): TargetSpec | 'none' | null {
  const fields: FwdField[] = [];
  let rest = spec.replace(/^\s+/, '');
  while (fields.length < 4 && rest !== '') {
    const r = nextField(rest);
    if (!r) return null;
    fields.push(r.field);
    rest = r.rest ?? '';
  }
  if (rest !== '') return null;
  const [a, b] = fields;
  if (fields.length === 1 && a!.isPath) return a!.arg === '' || unixPathTooLong(a!.arg) ? null : { path: a!.arg };
  // readconf.c parse_forward: one field, or a port and a path, leave listen_host NULL; the port
  // must still be 1..65535 and the path short enough for sun_path.
  if (fields.length === 1 || (fields.length === 2 && !a!.isPath && b!.isPath)) {
    if (b !== undefined && (b.arg === '' || unixPathTooLong(b.arg))) return null;
    return parsePort(a!.arg) > 0 ? 'none' : null;
  }
  if (fields.length !== 2) return null;
  if (a!.isPath && b!.isPath) return unixPathTooLong(a!.arg) ? null : { path: a!.arg };
  const port = parsePort(b!.arg);
  // readconf.c: the port must be 1..65535; the host shorter than NI_MAXHOST (1025).
  return port > 0 && a!.arg.length < 1025 ? { host: a!.arg, port } : null;
}
