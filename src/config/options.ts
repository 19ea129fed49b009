/**
 * What ssh_config(5) options hold once read, where a line comes from, the error a bad line
 * raises, and the value formats shared by several keywords (misc.c a2port, convtime). Pure.
 */
import { globMatch } from '../protocol/glob.js';
import { scanScaled } from './scan-scaled.js';
import type { StrictHostKeyChecking } from '../node/known-hosts-file.js';
import type { FingerprintHashName } from '../keys/fingerprint-hashes.js';
import type { DynamicForwardSpec, ForwardSpec } from './forward-spec.js';
import type { JumpSpec } from './jump-spec.js';
import type { CanonicalizeMode, PermittedCname } from './canonicalize.js';

/** ssh_config(5) LogLevel, quietest first. */
export const LOG_LEVELS = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG1', 'DEBUG2', 'DEBUG3'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * ssh_config(5) PubkeyAuthentication (OpenSSH 8.9+, readconf.c multistate_pubkey_auth): true for
 * `yes` (SSH_PUBKEY_AUTH_ALL: the plain `publickey` request and, where the server offers it,
 * `publickey-hostbound-v00@openssh.com`), false for `no`, `unbound` (plain requests only) or
 * `host-bound` (SSH_PUBKEY_AUTH_HBOUND: host-bound where offered; plain elsewhere, as with yes).
 */
export type PubkeyAuthentication = boolean | 'unbound' | 'host-bound';

/** Option values as obtained so far; `undefined` = not set yet (the first value obtained wins). */
export interface SshOptions {
  port?: number;
  user?: string;
  hostName?: string;
  /** Cumulative, command line first (ssh_config(5) IdentityFile). */
  identityFiles: string[];
  identitiesOnly?: boolean;
  /** Cumulative, command line first (ssh_config(5) CertificateFile). */
  certificateFiles?: string[];
  /** ssh_config(5) IdentityAgent as written: a socket path, `SSH_AUTH_SOCK`, `$VAR`, or `none`. */
  identityAgent?: string;
  /**
   * The first ForwardAgent socket path of a line that applies, as written (readconf.c
   * forward_agent_sock_path, kept whatever yes/no line came first). pure-ssh forwards no agent;
   * ssh.c still checks that the path exists (cli-args.ts).
   */
  forwardAgentSockPath?: string;
  strictHostKeyChecking?: StrictHostKeyChecking;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  exitOnForwardFailure?: boolean;
  /** Seconds; 0 = off. */
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  /** Seconds; 0 (as written) and -1 (`none`) both mean no timeout, told apart by -G. */
  connectTimeout?: number;
  /** ssh_config(5) ConnectionAttempts: TCP connects tried, one second apart (0 is refused once resolved, as ssh.c does). */
  connectionAttempts?: number;
  /** ssh_config(5) StreamLocalBindUnlink: remove an existing file at a local forward's socket path before binding it. */
  streamLocalBindUnlink?: boolean;
  /**
   * ssh_config(5) ProxyUseFdpass, and where it was set (`FILE line N`): pure-ssh cannot receive
   * the descriptor, so `yes` is refused once a ProxyCommand is the route (the only place ssh uses it).
   */
  proxyUseFdpass?: { value: boolean; where: string };
  /**
   * ssh_config(5) EscapeChar or -e (keywords.ts escapeCharValue), and where it was set (`FILE
   * line N`, or `-e`). pure-ssh opens no session to read it in: only -G prints it.
   */
  escapeChar?: { value: number | 'none'; where: string };
  batchMode?: boolean;
  /** OpenSSH 10.1 WarnWeakCrypto: warn when the key exchange is not post-quantum (default yes). */
  warnWeakCrypto?: boolean;
  passwordAuthentication?: boolean;
  /**
   * readconf.c multistate_pubkey_auth: true (`yes`/`true`: unbound and host-bound requests), false
   * (`no`/`false`), or one of the two kinds alone.
   */
  pubkeyAuthentication?: PubkeyAuthentication;
  kbdInteractiveAuthentication?: boolean;
  numberOfPasswordPrompts?: number;
  /** OpenSSH algorithm list specs as written (`+`, `-`, `^` prefixes kept). */
  ciphers?: string;
  macs?: string;
  kexAlgorithms?: string;
  hostKeyAlgorithms?: string;
  /** ssh_config(5) PubkeyAcceptedAlgorithms as written (alias PubkeyAcceptedKeyTypes). */
  pubkeyAcceptedAlgorithms?: string;
  /** ssh_config(5) CASignatureAlgorithms as written (`+`, `-`, `^` prefixes kept). */
  caSignatureAlgorithms?: string;
  /**
   * ssh_config(5) HostbasedAcceptedAlgorithms as written: only checked as ssh assembles it
   * (pure-ssh has no host-based authentication).
   */
  hostbasedAcceptedAlgorithms?: string;
  /** ssh_config(5) RequiredRSASize: the smallest RSA key accepted, in bits (readconf.c parse_int). */
  requiredRsaSize?: number;
  /** ssh_config(5) PreferredAuthentications as written (a comma-separated list of methods). */
  preferredAuthentications?: string;
  /**
   * Where each algorithm list above came from (`FILE line N`, `command-line line 0`, `-c`, `-m`):
   * its names are checked against what pure-ssh implements only once the lists are applied, and
   * that error must still point at the line.
   */
  algorithmOrigins?: Partial<Record<'ciphers' | 'macs' | 'kexAlgorithms' | 'hostKeyAlgorithms' | 'pubkeyAcceptedAlgorithms', string>>;
  /** Cumulative, command line first. */
  localForwards: ForwardSpec[];
  /** Cumulative, command line first (ssh -R, RemoteForward): `listen` is on the server. */
  remoteForwards: ForwardSpec[];
  /** Cumulative, command line first (ssh -D, DynamicForward). */
  dynamicForwards: DynamicForwardSpec[];
  /**
   * readconf.c keeps -L and -D in one list (local_forwards, a SOCKS one's target is "socks"):
   * the order they were added in across {@link localForwards} and {@link dynamicForwards}, as
   * indices into them, for `-G` (forward-spec.ts addLocalForward).
   */
  localForwardOrder?: { dynamic: boolean; index: number }[];
  /** ssh_config(5) ClearAllForwardings: drop every forward, wherever it was given. */
  clearAllForwardings?: boolean;
  gatewayPorts?: boolean;
  /** ssh_config(5) Compression (ssh -C): offer zlib@openssh.com first. */
  compression?: boolean;
  logLevel?: LogLevel;
  /** RekeyLimit's amount in bytes, exact as ssh -G prints it; 0n = `default`. */
  rekeyLimit?: bigint;
  /** RekeyLimit's time part in seconds (0 = none). */
  rekeyLimitSeconds?: number;
  hashKnownHosts?: boolean;
  /** ssh_config(5) VisualHostKey: the host key's random art with its fingerprint. */
  visualHostKey?: boolean;
  /** ssh_config(5) FingerprintHash, lower case (ssh -G prints it in upper case). */
  fingerprintHash?: FingerprintHashName;
  addressFamily?: 'any' | 'inet' | 'inet6';
  /** ssh_config(5) SessionType: `none` is what -N asks for; `subsystem` is refused. */
  sessionType?: 'none' | 'default';
  /** ssh_config(5) Tag (ssh -P): the name `Match tagged` compares with. */
  tag?: string;
  /** IgnoreUnknown patterns. */
  ignoreUnknown?: string[];
  /**
   * ProxyJump or ProxyCommand, whichever was obtained first (readconf.c: each is ignored once the
   * other is set); `none` for either keyword means a direct connection. The command is kept
   * unexpanded (its %-tokens are expanded once the host is known).
   */
  proxy?: { kind: 'jump'; hops: JumpSpec[]; extra?: string } | { kind: 'command'; command: string } | { kind: 'none'; via: 'ProxyJump' | 'ProxyCommand' };
  /** ssh_config(5) StdinNull (-n): standard input as if from /dev/null. */
  stdinNull?: boolean;
  /** ssh_config(5) ForkAfterAuthentication (-f). */
  forkAfterAuthentication?: boolean;
  /** pure-ssh's own PureSshReconnect: local forwards reconnect when the connection drops. */
  pureSshReconnect?: boolean;
  /** ssh_config(5) HostKeyAlias: the name host keys are looked up and recorded under. */
  hostKeyAlias?: string;
  /** ssh_config(5) CanonicalizeHostname (readconf.c multistate: yes/true, no/false, always). */
  canonicalizeHostname?: CanonicalizeMode;
  /** ssh_config(5) CanonicalDomains, lowercased, without trailing dots; `['none']` = none. */
  canonicalDomains?: string[];
  canonicalizeFallbackLocal?: boolean;
  canonicalizeMaxDots?: number;
  /** ssh_config(5) CanonicalizePermittedCNAMEs; `none` is one rule with source `none`, target ''. */
  canonicalizePermittedCnames?: PermittedCname[];
  /** ssh_config(5) PermitRemoteOpen: the words as given (`any`, `none`, or host:port ones). */
  permitRemoteOpen?: string[];
  /**
   * The refused keywords (keywords.ts) whose value was obtained, by name: readconf.c keeps the
   * first value, so a later line of one is inert, whatever it asks for.
   */
  refusedObtained?: Record<string, true>;
  /**
   * ssh_config(5) RemoteCommand, obtained and not `none`: as written, and the refusal naming its
   * line, made only when a session would run it (cli-args.ts: not with -N, -W, SessionType none).
   */
  remoteCommand?: { command: string; refusal: ConfigError };
  /**
   * ssh_config(5) Tunnel, obtained and not `no`: its refusal, made only when ClearAllForwardings
   * (yes with -W) does not clear it (readconf.c clear_forwardings sets tun_open to no; cli-args.ts).
   */
  tunnelRefusal?: ConfigError;
  /**
   * The refusal of the last StreamLocalBindMask line read (readconf.c sets it on every line, the
   * lines of blocks that do not apply too, so the last one read wins); null when that line asks
   * for 0177, the mask pure-ssh binds with. Made once every file is read (cli-args.ts).
   */
  streamLocalBindMaskRefusal?: ConfigError | null;
}

/** A fresh, empty {@link SshOptions}. */
export function emptyOptions(): SshOptions {
  return { identityFiles: [], localForwards: [], remoteForwards: [], dynamicForwards: [] };
}

/** A configuration or command-line error: ssh(1) prints it and exits 255. */
export class ConfigError extends Error {
  readonly exitCode: number;
  /**
   * True when reading must stop here (readconf.c calls fatal()): a file's `terminating, N bad
   * configuration options`, bad permissions, too deep an Include. Other errors about one line
   * are counted and reading goes on, as process_config_line's error returns are.
   */
  readonly fatal: boolean;
  /**
   * True for the command-line errors ssh.c prints with fprintf(stderr, ...) rather than its log
   * (a line ended by "\n", not the log's "\r\n", and not escaped): see {@link ConfigError.plain}.
   */
  plain = false;
  /**
   * True for pure-ssh's refusal of a `-o` option found only once the files are read (ProxyUseFdpass
   * with their ProxyCommand): said whatever the level, -q included, as the refusals of `-o`
   * options checked while the command line is read are (ssh.c prints its bad `-o` lines before
   * -q takes effect).
   */
  commandLine = false;
  constructor(message: string, exitCode = 255, fatal = false) {
    super(message);
    this.name = 'ConfigError';
    this.exitCode = exitCode;
    this.fatal = fatal;
  }
  /**
   * An error ssh.c reports with fprintf(stderr, ...) and exit(255) while reading its arguments
   * (`Bad port`, `Unknown cipher type`, `Bad local forwarding specification`, ...), not through
   * log.c: checked with `ssh -p x h 2>&1 | cat -A` on ssh 9.2 (no `^M`).
   */
  static plain(message: string, logged: string[] = []): ConfigError {
    const err = new ConfigError(message);
    err.plain = true;
    err.logged = logged;
    return err;
  }
  /**
   * Lines ssh's log (error()) said before a plain message, e.g. misc.c's `env var ${X} has no
   * value` before `Bad local forwarding specification`: "\r\n"-ended, as log.c writes them.
   */
  logged: string[] = [];
}

/** ssh's debug levels as -v, -vv and -vvv show them (log.c debug, debug2, debug3). */
export type DebugLevel = 1 | 2 | 3;

/**
 * The level of a line ssh's log says while it reads the configuration: a debug level, `'error'`
 * for readconf.c's error() about a bad line (shown from LogLevel ERROR), `'fatal'` for the
 * fatal() that ends the run (shown from LogLevel FATAL).
 */
/** A note's level: ssh's debug1-3, verbose() (VERBOSE, no prefix), error() or fatal(). */
export type NoteLevel = DebugLevel | 'verbose' | 'error' | 'fatal';

/** One line of ssh's log from the reading of the configuration: its text and level. */
export interface LogNote {
  level: NoteLevel;
  text: string;
}

/** Where a line comes from, for error messages and for deciding whether it applies. */
export interface LineContext {
  /** `command-line` or the file's path. */
  source: string;
  /** 1-based; 0 for the command line (OpenSSH prints "command-line line 0"). */
  line: number;
  /** False inside a Host block that does not match: the line is checked but not applied. */
  active: boolean;
  /** Debug notes: ssh's debug lines, at its level (1: -v, the default; 2: -vv; 3: -vvv). */
  note: (message: string, level?: DebugLevel) => void;
  /** The environment, for `${VAR}` in forwarding specifications (readconf.c parse_forward). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The line's text after its keyword as written (quotes and escapes kept, trailing whitespace
   * removed), for the keywords readconf.c takes raw rather than split (ProxyCommand).
   */
  rest?: string;
}

/** True for `-o` options, which OpenSSH reports as "command-line line 0". */
export function fromCommandLine(ctx: LineContext): boolean {
  return ctx.line === 0;
}

/** `FILE line N` (`command-line line 0` for -o): where readconf.c says a line is. */
export function lineWhere(ctx: LineContext): string {
  return `${ctx.source} line ${ctx.line}`;
}

/** `FILE line N: what` (readconf.c's prefix for every message about a line). */
export function lineError(ctx: LineContext, what: string): ConfigError {
  return new ConfigError(`${lineWhere(ctx)}: ${what}`);
}

/** Like {@link lineError}, for what readconf.c fatal()s on at once instead of counting. */
export function fatalLineError(ctx: LineContext, what: string): ConfigError {
  return new ConfigError(`${lineWhere(ctx)}: ${what}`, 255, true);
}

/** OpenSSH match_pattern(): `*` any run, `?` one character, case-sensitive on the given case. */
export function matchPattern(text: string, pattern: string): boolean {
  // One linear matcher for every pattern (a RegExp built from a hostile pattern can backtrack).
  return globMatch(text, pattern);
}

/**
 * getservbyname(name, "tcp") as the platform answers it, installed by {@link setServicePortLookup};
 * none by default (numeric ports only: the core has no services(5)).
 */
let servicePortLookup: ((name: string) => number | undefined) | undefined;

/**
 * Install (or remove, with undefined) the service-name look-up {@link parsePort} falls back to,
 * as misc.c a2port calls getservbyname(3): the Node CLI passes its services(5) reader
 * (src/node/services.ts) through CliEnvironment.servicePort.
 */
export function setServicePortLookup(lookup: ((name: string) => number | undefined) | undefined): void {
  servicePortLookup = lookup;
}

/**
 * misc.c a2port: a port 0-65535, or -1. The number is read as strtonum(3) reads it (strtoll base
 * 10): leading isspace(3) characters and one `+` or `-` sign are allowed (`" 22"`, `+22` and
 * `-0` are ports), nothing may follow the digits. Anything else is looked up as a tcp service
 * name (getservbyname: `ssh` = 22, case-sensitive) when a look-up is installed
 * ({@link setServicePortLookup}); -1 when there is none or the name is unknown.
 */
export function parsePort(s: string): number {
  const m = /^[ \t\n\v\f\r]*([-+]?)(\d+)$/.exec(s);
  if (m) {
    const n = Number(m[2]);
    if (!(m[1] === '-' && n !== 0) && n <= 65535) return n;
  }
  return servicePortLookup?.(s) ?? -1;
}

/**
 * misc.c convtime as OpenSSH 10.0 reads it: `90`, `1m30s`, `2h` → seconds; -1 when malformed or
 * beyond INT_MAX (each part, and the sum). Each part is digits and one optional unit letter (s m h
 * d w, either case); no sign, no space (OpenSSH 9.2's strtol also took `+5`, 10.0 refuses it).
 */
export function parseTime(s: string): number {
  if (s === '') return -1;
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  const re = /(\d*)([smhdwSMHDW]?)/y;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s)!;
    // strtonum(digits, 0, INT_MAX): no digits, or too many, fails.
    const secs = m[1] === '' ? NaN : Number(m[1]);
    if (!(secs <= INT_MAX)) return -1;
    const multiplier = units[m[2]!.toLowerCase()]!;
    if (m[2] === '' && re.lastIndex < s.length) return -1;
    if (secs > Math.trunc(INT_MAX / multiplier)) return -1;
    total += secs * multiplier;
    if (total > INT_MAX) return -1;
    i = re.lastIndex;
  }
  return total;
}

const INT_MAX = 2147483647;

/**
 * ssh_config(5) RekeyLimit's amount as readconf.c reads it (scan-scaled.ts): bytes with an
 * optional fraction and K, M, G, T, P or E suffix (`1.5M` = 1572864). -1 when malformed, out of
 * range or negative.
 */
export function parseBytes(s: string): number {
  const v = scanScaled(s);
  return typeof v === 'bigint' && v >= 0n ? Number(v) : -1;
}
