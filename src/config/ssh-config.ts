/**
 * ssh_config(5) for the `pure-ssh` command line: the keywords pure-ssh understands, `Host`
 * blocks, `Include`, and `-L` / `LocalForward` specifications (OpenSSH readconf.c semantics).
 *
 * Pure: files are read through an injected {@link ConfigFileSystem}, so everything here is
 * unit-testable without touching the machine's ~/.ssh.
 */
import type { StrictHostKeyChecking } from '../node/known-hosts-file.js';
import type { TargetSpec } from '../node/forward.js';

/** ssh_config(5) LogLevel, quietest first. */
export const LOG_LEVELS = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG1', 'DEBUG2', 'DEBUG3'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A parsed `-L` / `LocalForward`: where to listen and what the server should connect to. */
export interface ForwardSpec {
  /**
   * TCP: `bindAddress` undefined = the default (loopback, or all interfaces with GatewayPorts);
   * `''` or `'*'` = all interfaces; `'localhost'` = loopback. Or a local Unix socket path.
   */
  listen: { bindAddress?: string; port: number } | { path: string };
  to: TargetSpec;
}

/** Option values as obtained so far; `undefined` = not set yet (the first value obtained wins). */
export interface SshOptions {
  port?: number;
  user?: string;
  hostName?: string;
  /** Cumulative, command line first (ssh_config(5) IdentityFile). */
  identityFiles: string[];
  identitiesOnly?: boolean;
  strictHostKeyChecking?: StrictHostKeyChecking;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  exitOnForwardFailure?: boolean;
  /** Seconds; 0 = off. */
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  /** Seconds; 0 = none. */
  connectTimeout?: number;
  batchMode?: boolean;
  passwordAuthentication?: boolean;
  pubkeyAuthentication?: boolean;
  kbdInteractiveAuthentication?: boolean;
  numberOfPasswordPrompts?: number;
  ciphers?: string;
  kexAlgorithms?: string;
  hostKeyAlgorithms?: string;
  /** Cumulative, command line first. */
  localForwards: ForwardSpec[];
  gatewayPorts?: boolean;
  logLevel?: LogLevel;
  /** Bytes; null = `default`. */
  rekeyLimit?: number | null;
  hashKnownHosts?: boolean;
  addressFamily?: 'any' | 'inet' | 'inet6';
  /** IgnoreUnknown patterns. */
  ignoreUnknown?: string[];
  /** OpenSSH 10.1 WarnWeakCrypto: false for `no` (and `no-pq-kex`, the only warning there is). */
  warnWeakCrypto?: boolean;
}

/** A fresh, empty {@link SshOptions}. */
export function emptyOptions(): SshOptions {
  return { identityFiles: [], localForwards: [] };
}

/** A configuration or command-line error: ssh(1) prints it and exits 255. */
export class ConfigError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 255) {
    super(message);
    this.name = 'ConfigError';
    this.exitCode = exitCode;
  }
}

/** How the parser reads files; `readFile` returns undefined when the file does not exist. */
export interface ConfigFileSystem {
  readFile(path: string): string | undefined;
  /** Names in a directory (for `Include` globs); undefined when it cannot be read. */
  listDir?(path: string): string[] | undefined;
}

/** Where a line comes from, for error messages and for deciding whether it applies. */
export interface LineContext {
  /** `command-line` or the file's path. */
  source: string;
  /** 1-based; 0 for the command line (OpenSSH prints "command-line line 0"). */
  line: number;
  /** False inside a Host block that does not match: the line is checked but not applied. */
  active: boolean;
  /** Debug notes (printed with -v). */
  note: (message: string) => void;
}

/**
 * OpenSSH client keywords pure-ssh recognises but does not implement (readconf.c keywords[]).
 * In files they are skipped with a debug note, since real ~/.ssh/config files carry them; on
 * the command line they are an error, because the user explicitly asked for the behaviour.
 */
const UNSUPPORTED_KEYWORDS = new Set(
  [
    'AddKeysToAgent', 'BindAddress', 'BindInterface', 'CanonicalDomains', 'CanonicalizeFallbackLocal',
    'CanonicalizeHostname', 'CanonicalizeMaxDots', 'CanonicalizePermittedCNAMEs', 'CASignatureAlgorithms',
    'CertificateFile', 'ChannelTimeout', 'CheckHostIP', 'ClearAllForwardings', 'Compression',
    'ConnectionAttempts', 'ControlMaster', 'ControlPath', 'ControlPersist', 'DynamicForward',
    'EnableEscapeCommandlineOption', 'EnableSSHKeysign', 'EscapeChar', 'FingerprintHash',
    'ForkAfterAuthentication', 'ForwardAgent', 'ForwardX11', 'ForwardX11Timeout', 'ForwardX11Trusted',
    'GSSAPIAuthentication', 'GSSAPIDelegateCredentials', 'GSSAPIKeyExchange', 'GSSAPITrustDNS',
    'GSSAPIClientIdentity', 'GSSAPIServerIdentity', 'GSSAPIRenewalForcesRekey', 'GSSAPIKexAlgorithms',
    'HostbasedAcceptedAlgorithms', 'HostbasedAuthentication', 'HostbasedKeyTypes', 'HostKeyAlias',
    'IdentityAgent', 'IPQoS', 'KbdInteractiveDevices', 'KnownHostsCommand', 'LocalCommand', 'LogVerbose',
    'MACs', 'NoHostAuthenticationForLocalhost', 'ObscureKeystrokeTiming', 'PermitLocalCommand',
    'PermitRemoteOpen', 'PKCS11Provider', 'PreferredAuthentications', 'ProxyCommand', 'ProxyJump',
    'ProxyUseFdpass', 'PubkeyAcceptedAlgorithms', 'PubkeyAcceptedKeyTypes', 'RemoteCommand',
    'RemoteForward', 'RequestTTY', 'RequiredRSASize', 'RevokedHostKeys', 'SecurityKeyProvider',
    'SendEnv', 'SessionType', 'SetEnv', 'StdinNull', 'StreamLocalBindMask', 'StreamLocalBindUnlink',
    'SyslogFacility', 'Tag', 'TCPKeepAlive', 'Tunnel', 'TunnelDevice', 'UpdateHostKeys', 'UseKeychain',
    'UserKnownHostsCommand', 'VerifyHostKeyDNS', 'VisualHostKey', 'XAuthLocation',
    // Deprecated or removed in OpenSSH, still found in old files.
    'Cipher', 'Protocol', 'UseRoaming', 'UsePrivilegedPort', 'RSAAuthentication',
    'RhostsRSAAuthentication', 'CompressionLevel', 'UseBlacklistedKeys', 'GSSAPIDelegateCreds',
  ].map((k) => k.toLowerCase()),
);

/**
 * Split one config line into keyword and arguments: the keyword ends at whitespace or a single
 * `=` (readconf.c strdelim); arguments are whitespace-separated, `"double quoted"` when they
 * hold spaces. Returns null for blank and comment lines.
 */
export function splitConfigLine(line: string): { keyword: string; args: string[] } | null {
  const s = line.replace(/^[\s]+/, '');
  if (s === '' || s.startsWith('#')) return null;
  const m = /^([^\s=]+)\s*(?:=\s*)?/.exec(s);
  if (!m) return null;
  const keyword = m[1]!;
  const args: string[] = [];
  let rest = s.slice(m[0].length).replace(/\s+$/, '');
  while (rest !== '') {
    if (rest.startsWith('#')) break; // ssh_config(5): a trailing comment
    if (rest.startsWith('"')) {
      const end = rest.indexOf('"', 1);
      if (end < 0) throw new ConfigError('no matching quote');
      args.push(rest.slice(1, end));
      rest = rest.slice(end + 1).replace(/^\s+/, '');
    } else {
      const w = /^\S+/.exec(rest)![0];
      args.push(w);
      rest = rest.slice(w.length).replace(/^\s+/, '');
    }
  }
  return { keyword, args };
}

/** OpenSSH match_pattern(): `*` any run, `?` one character, case-sensitive on the given case. */
export function matchPattern(text: string, pattern: string): boolean {
  let re = '^';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 's').test(text);
}

/**
 * ssh_config(5) Host: the block applies when some pattern matches the host and no negated
 * (`!pattern`) one does. Host names compare case-insensitively (match_hostname lowercases).
 */
export function hostMatches(patterns: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  let matched = false;
  for (const raw of patterns.flatMap((p) => p.split(','))) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    const p = (negated ? raw.slice(1) : raw).toLowerCase();
    if (matchPattern(h, p)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** misc.c a2port: a decimal port 0-65535, or -1. */
function toPort(s: string): number {
  if (!/^\d{1,5}$/.test(s)) return -1;
  const n = Number(s);
  return n <= 65535 ? n : -1;
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
 * Parse a local forwarding specification as ssh(1) -L does (readconf.c parse_forward):
 * `[bind_address:]port:host:hostport`, `[bind_address:]port:remote_socket`,
 * `local_socket:host:hostport`, `local_socket:remote_socket`; IPv6 addresses in `[...]`.
 * A spec that fails those may use the historical `/` separator (`[bind/]port/host/hostport`).
 * Returns null when the spec is invalid.
 *
 * @example
 * parseForwardSpec('63333:localhost:5432')
 * // { listen: { port: 63333 }, to: { host: 'localhost', port: 5432 } }
 */
export function parseForwardSpec(spec: string): ForwardSpec | null {
  const s = spec.replace(/^\s+/, '');
  return parseColonForm(s) ?? parseSlashForm(s);
}

/** ssh(1) before 6.7: "IPv6 addresses can be specified with an alternative syntax" using `/`. */
function parseSlashForm(s: string): ForwardSpec | null {
  const parts = s.split('/');
  if (parts.length !== 3 && parts.length !== 4) return null;
  const [bind, lp, host, hp] = parts.length === 4 ? parts : [undefined, ...parts];
  const listenPort = toPort(lp!);
  const port = toPort(hp!);
  if (listenPort < 0 || port <= 0 || !host) return null;
  return {
    listen: bind === undefined ? { port: listenPort } : { bindAddress: bind, port: listenPort },
    to: { host, port },
  };
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
      else if (f[1]!.isPath) out = { listen: { port: toPort(f[0]!.arg) }, to: { path: f[1]!.arg } };
      break;
    case 3:
      if (f[0]!.isPath) out = { listen: { path: f[0]!.arg }, to: { host: f[1]!.arg, port: toPort(f[2]!.arg) } };
      else if (f[2]!.isPath)
        out = { listen: { bindAddress: f[0]!.arg, port: toPort(f[1]!.arg) }, to: { path: f[2]!.arg } };
      else out = { listen: { port: toPort(f[0]!.arg) }, to: { host: f[1]!.arg, port: toPort(f[2]!.arg) } };
      break;
    case 4:
      out = {
        listen: { bindAddress: f[0]!.arg, port: toPort(f[1]!.arg) },
        to: { host: f[2]!.arg, port: toPort(f[3]!.arg) },
      };
      break;
  }
  if (!out) return null;
  if ('port' in out.listen && out.listen.port < 0) return null;
  if ('path' in out.listen && out.listen.path === '') return null;
  if ('port' in out.to && (out.to.port <= 0 || out.to.host === '')) return null;
  if ('path' in out.to && out.to.path === '') return null;
  return out;
}

/** misc.c convtime: `90`, `1m30s`, `2h` → seconds; -1 when malformed. */
export function parseTime(s: string): number {
  if (s === '') return -1;
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  const re = /(\d+)([smhdwSMHDW]?)/y;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return -1;
    total += Number(m[1]) * units[m[2]!.toLowerCase()]!;
    i = re.lastIndex;
  }
  return total;
}

/** ssh_config(5) RekeyLimit's amount: bytes with an optional K, M or G suffix. */
export function parseBytes(s: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) return -1;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase()]!;
  return Number(m[1]) * mult;
}

function flag(keyword: string, args: string[], ctx: LineContext, extra: Record<string, boolean> = {}): boolean {
  const v = args[0]?.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  if (v !== undefined && v in extra) return extra[v]!;
  throw bad(ctx, `unsupported option "${args[0] ?? ''}".`, keyword);
}

function bad(ctx: LineContext, what: string, keyword?: string): ConfigError {
  return new ConfigError(`${ctx.source} line ${ctx.line}: ${keyword ? `${keyword}: ` : ''}${what}`);
}

function one(keyword: string, args: string[], ctx: LineContext): string {
  if (args.length === 0 || args[0] === '') throw bad(ctx, `Missing argument.`, keyword);
  return args[0]!;
}

function setFirst<K extends keyof SshOptions>(o: SshOptions, key: K, value: SshOptions[K], ctx: LineContext): void {
  if (ctx.active && o[key] === undefined) o[key] = value;
}

/**
 * Apply one keyword line to `o` (readconf.c process_config_line): validates always, applies
 * only when `ctx.active` and the option is still unset (lists accumulate). Throws ConfigError
 * for unknown keywords (unless IgnoreUnknown covers them) and bad values.
 * `Host`, `Match` and `Include` are handled by {@link readConfig}, not here.
 */
export function applyOption(o: SshOptions, keyword: string, args: string[], ctx: LineContext): void {
  const k = keyword.toLowerCase();
  const fromCommandLine = ctx.line === 0;
  switch (k) {
    case 'port': {
      const p = toPort(one(keyword, args, ctx));
      if (p <= 0) throw bad(ctx, 'Badly formatted port number.');
      return setFirst(o, 'port', p, ctx);
    }
    case 'user':
      return setFirst(o, 'user', one(keyword, args, ctx), ctx);
    case 'hostname':
      return setFirst(o, 'hostName', one(keyword, args, ctx), ctx);
    case 'identityfile':
      one(keyword, args, ctx);
      if (ctx.active) o.identityFiles.push(args[0]!);
      return;
    case 'identitiesonly':
      return setFirst(o, 'identitiesOnly', flag(keyword, args, ctx), ctx);
    case 'stricthostkeychecking': {
      const v = one(keyword, args, ctx).toLowerCase();
      const map: Record<string, StrictHostKeyChecking> = {
        yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', 'accept-new': 'accept-new', ask: 'ask',
      };
      if (!(v in map)) throw bad(ctx, `unsupported option "${args[0]}".`, keyword);
      return setFirst(o, 'strictHostKeyChecking', map[v], ctx);
    }
    case 'userknownhostsfile':
      one(keyword, args, ctx);
      return setFirst(o, 'userKnownHostsFiles', [...args], ctx);
    case 'globalknownhostsfile':
      one(keyword, args, ctx);
      return setFirst(o, 'globalKnownHostsFiles', [...args], ctx);
    case 'exitonforwardfailure':
      return setFirst(o, 'exitOnForwardFailure', flag(keyword, args, ctx), ctx);
    case 'serveraliveinterval':
    case 'connecttimeout': {
      const v = one(keyword, args, ctx);
      const t = v.toLowerCase() === 'none' ? 0 : parseTime(v);
      if (t < 0) throw bad(ctx, `invalid time value.`, keyword);
      return setFirst(o, k === 'connecttimeout' ? 'connectTimeout' : 'serverAliveInterval', t, ctx);
    }
    case 'serveralivecountmax':
    case 'numberofpasswordprompts': {
      const v = one(keyword, args, ctx);
      if (!/^\d+$/.test(v)) throw bad(ctx, `Bad number.`, keyword);
      return setFirst(o, k === 'serveralivecountmax' ? 'serverAliveCountMax' : 'numberOfPasswordPrompts', Number(v), ctx);
    }
    case 'batchmode':
      return setFirst(o, 'batchMode', flag(keyword, args, ctx), ctx);
    case 'passwordauthentication':
      return setFirst(o, 'passwordAuthentication', flag(keyword, args, ctx), ctx);
    case 'pubkeyauthentication':
      // OpenSSH 8.9+ also accepts unbound / host-bound (both mean yes for us).
      return setFirst(o, 'pubkeyAuthentication', flag(keyword, args, ctx, { unbound: true, 'host-bound': true }), ctx);
    case 'kbdinteractiveauthentication':
    case 'challengeresponseauthentication': // its old name (readconf.c alias)
      return setFirst(o, 'kbdInteractiveAuthentication', flag(keyword, args, ctx), ctx);
    case 'ciphers':
      return setFirst(o, 'ciphers', one(keyword, args, ctx), ctx);
    case 'kexalgorithms':
      return setFirst(o, 'kexAlgorithms', one(keyword, args, ctx), ctx);
    case 'hostkeyalgorithms':
      return setFirst(o, 'hostKeyAlgorithms', one(keyword, args, ctx), ctx);
    case 'localforward': {
      // readconf.c: "LocalForward [bind:]port host:hostport" → the two joined with ':'.
      if (args.length < 1 || args.length > 2) throw bad(ctx, 'Missing target argument.', keyword);
      const spec = args.length === 2 ? `${args[0]}:${args[1]}` : args[0]!;
      const fwd = args.length === 2 ? parseForwardSpec(spec) : null;
      if (!fwd) throw bad(ctx, 'Bad forwarding specification.');
      if (ctx.active) o.localForwards.push(fwd);
      return;
    }
    case 'gatewayports':
      return setFirst(o, 'gatewayPorts', flag(keyword, args, ctx), ctx);
    case 'loglevel': {
      let v = one(keyword, args, ctx).toUpperCase();
      if (v === 'DEBUG') v = 'DEBUG1';
      if (!(LOG_LEVELS as readonly string[]).includes(v)) throw bad(ctx, `unsupported log level '${args[0]}'`);
      return setFirst(o, 'logLevel', v as LogLevel, ctx);
    }
    case 'rekeylimit': {
      const v = one(keyword, args, ctx);
      let bytes: number | null;
      if (v.toLowerCase() === 'default' || v.toLowerCase() === 'none') bytes = null;
      else {
        bytes = parseBytes(v);
        // readconf.c: "RekeyLimit too small" below 16 bytes.
        if (bytes < 16) throw bad(ctx, 'Bad RekeyLimit.', keyword);
      }
      if (args[1] !== undefined) {
        const t = args[1].toLowerCase() === 'none' || args[1].toLowerCase() === 'default' ? 0 : parseTime(args[1]);
        if (t < 0) throw bad(ctx, 'invalid time value.', keyword);
        if (ctx.active) ctx.note(`RekeyLimit time limit ${args[1]} ignored: pure-ssh rekeys by data volume only`);
      }
      return setFirst(o, 'rekeyLimit', bytes, ctx);
    }
    case 'hashknownhosts':
      return setFirst(o, 'hashKnownHosts', flag(keyword, args, ctx), ctx);
    case 'addressfamily': {
      const v = one(keyword, args, ctx).toLowerCase();
      if (v !== 'any' && v !== 'inet' && v !== 'inet6') throw bad(ctx, `unsupported option "${args[0]}".`, keyword);
      return setFirst(o, 'addressFamily', v, ctx);
    }
    case 'ignoreunknown':
      one(keyword, args, ctx);
      return setFirst(o, 'ignoreUnknown', args.flatMap((a) => a.split(',')), ctx);
    case 'warnweakcrypto': {
      // OpenSSH 10.1 readconf.c multistate_warnweakcrypto.
      const v = one(keyword, args, ctx).toLowerCase();
      const map: Record<string, boolean> = { yes: true, true: true, no: false, false: false, 'no-pq-kex': false };
      if (!(v in map)) throw bad(ctx, `unsupported option "${args[0]}".`, keyword);
      return setFirst(o, 'warnWeakCrypto', map[v]!, ctx);
    }
  }
  if (UNSUPPORTED_KEYWORDS.has(k)) {
    if (fromCommandLine) {
      throw new ConfigError(
        `${ctx.source} line ${ctx.line}: ${keyword} is an OpenSSH option that pure-ssh does not support.`,
      );
    }
    if (ctx.active) ctx.note(`${ctx.source} line ${ctx.line}: ignoring unsupported option "${keyword}"`);
    return;
  }
  if (o.ignoreUnknown?.some((p) => matchPattern(k, p.toLowerCase()))) {
    ctx.note(`${ctx.source} line ${ctx.line}: Ignored unknown option "${keyword}"`);
    return;
  }
  throw new ConfigError(`${ctx.source} line ${ctx.line}: Bad configuration option: ${k}`);
}

/** What {@link readConfig} needs to evaluate Host blocks and expand Include. */
export interface ReadConfigContext {
  /** The host as given on the command line (Host patterns match it). */
  host: string;
  fs: ConfigFileSystem;
  /** Directory relative Include paths resolve against (~/.ssh for the user file, /etc/ssh for the system one). */
  includeDir: string;
  /** The user's home, for `~` in Include. */
  home: string;
  note: (message: string) => void;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Include's argument → the files it names (a glob in the last path component only). */
function expandInclude(arg: string, c: ReadConfigContext): string[] {
  let path = arg.startsWith('~/') ? joinPath(c.home, arg.slice(2)) : arg;
  if (!path.startsWith('/')) path = joinPath(c.includeDir, path);
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash) || '/';
  const base = path.slice(slash + 1);
  if (!/[*?]/.test(base)) return [path];
  const names = c.fs.listDir?.(dir) ?? [];
  return names.filter((n) => !n.startsWith('.') && matchPattern(n, base)).sort().map((n) => joinPath(dir, n));
}

/**
 * Read one ssh_config file into `o` (first value wins). Returns false when the file does not
 * exist. Throws ConfigError on bad lines, naming the file and line.
 */
export function readConfig(o: SshOptions, path: string, c: ReadConfigContext, depth = 0): boolean {
  const text = c.fs.readFile(path);
  if (text === undefined) return false;
  c.note(`Reading configuration data ${path}`);
  readConfigText(o, text, path, c, depth, true);
  return true;
}

function readConfigText(
  o: SshOptions,
  text: string,
  source: string,
  c: ReadConfigContext,
  depth: number,
  initiallyActive: boolean,
): void {
  // readconf.c: lines before the first Host/Match apply to every host.
  let active = initiallyActive;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const ctx: LineContext = { source, line: i + 1, active, note: c.note };
    let parsed;
    try {
      parsed = splitConfigLine(lines[i]!);
    } catch (err) {
      throw bad(ctx, (err as Error).message);
    }
    if (!parsed) continue;
    const { keyword, args } = parsed;
    const k = keyword.toLowerCase();
    if (k === 'host') {
      if (args.length === 0) throw bad(ctx, 'Missing argument.', keyword);
      active = hostMatches(args, c.host);
      if (active) c.note(`${source} line ${i + 1}: Applying options for ${args.join(' ')}`);
    } else if (k === 'match') {
      if (args.length === 1 && args[0]!.toLowerCase() === 'all') {
        active = true;
      } else {
        // Match criteria (exec, host, user, ...) are not evaluated: the block is skipped.
        active = false;
        c.note(`${source} line ${i + 1}: Match is not supported by pure-ssh; skipping this block`);
      }
    } else if (k === 'include') {
      if (args.length === 0) throw bad(ctx, 'Missing argument.', keyword);
      // readconf.c: READCONF_MAX_DEPTH 16.
      if (depth >= 16) throw bad(ctx, 'Include: too many nested includes');
      if (!active) continue;
      for (const a of args) {
        for (const file of expandInclude(a, c)) {
          const inc = c.fs.readFile(file);
          if (inc === undefined) {
            c.note(`${source} line ${i + 1}: include ${file} matched no files`);
            continue;
          }
          c.note(`${source} line ${i + 1}: Including file ${file} depth ${depth + 1}`);
          // An included file's lines start in the including block's state.
          readConfigText(o, inc, file, c, depth + 1, active);
        }
      }
    } else {
      applyOption(o, keyword, args, ctx);
    }
  }
}
