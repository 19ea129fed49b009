/**
 * The `pure-ssh` command line, ssh(1) style: argument parsing (getopt with ssh's option string,
 * options allowed after the destination), config files, and the resolution of every option to
 * its final value with OpenSSH's precedence (command line, then ~/.ssh/config, then
 * /etc/ssh/ssh_config; the first value obtained wins).
 *
 * Pure: argv, environment and file access are passed in; the result is a plain object or a
 * {@link ConfigError} carrying the exit status. The IO lives in cli.ts.
 */
import type { StrictHostKeyChecking } from '../node/known-hosts-file.js';
import type { FingerprintHashName } from '../keys/fingerprint-hashes.js';
import { addForward, addLocalForward, dynamicAsLocalForward, REMOTE_SOCKS_TARGET, parseStdioForwardSpec } from './forward-spec.js';
import type { TargetSpec } from '../node/forward.js';
import { LOG_BACKSLASH } from '../log-text.js';
import {
  applyOption,
  ConfigError,
  emptyOptions,
  escapeCharText,
  escapeCharValue,
  SESSION_ONLY,
  LOG_LEVELS,
  parseForwardSpec,
  parseDynamicForwardSpec,
  splitConfigLine,
  type ConfigLine,
  readConfig,
  type ConfigFileSystem,
  type DynamicForwardSpec,
  type ForwardSpec,
  type DebugLevel,
  type LineContext,
  type LogLevel,
  type LogNote,
  type NoteLevel,
  type SshOptions,
} from './ssh-config.js';
import { parsePort, setServicePortLookup } from './options.js';
import type { PubkeyAuthentication } from './options.js';

import { splitUserHostPort, validCommandLineHost, validCommandLineUser } from './destination.js';
import { assembledListFails, opensshAcceptsList } from './openssh-names.js';
import { applyCaSignatureSpec } from '../keys/certificate.js';
import type { LocalInterfaceAddress } from './match.js';
import { formatJumpSpec, parseJumpSpec, type JumpSpec } from './jump-spec.js';
import {
  canonicalizeHost,
  type CanonicalizeOptions,
  type HostLookupRequest,
  type HostLookupResult,
} from './canonicalize.js';
import { canonicalAddress, isAddress } from './numeric-address.js';
import { connectionTokens, dollarExpand, percentExpand, pickTokens, tildeExpand, type LocalIdentity, type UserHomeLookup } from './tokens.js';

export { ConfigError, parseForwardSpec, type DynamicForwardSpec, type ForwardSpec, type LogLevel } from './ssh-config.js';
export { formatJumpSpec, parseJumpSpec, type JumpSpec } from './jump-spec.js';
export type { CanonicalizeOptions, HostLookupRequest, HostLookupResult } from './canonicalize.js';

/** What the parser may know about the process it runs in. */
export interface CliEnvironment {
  env: Record<string, string | undefined>;
  /** The user's home directory (for `~` and the default files). */
  home: string;
  /** The local user name (default remote user, %u). */
  localUser: string;
  fs: ConfigFileSystem;
  /** The local user id (%i); -1 when unknown. */
  uid?: number;
  /** The local host name with its domain (%l, %L, %C); `localhost` when unknown. */
  localHostName?: string;
  /**
   * Match exec: run the command with /bin/sh -c and return its exit status (-1: it could not
   * be run). Without it, a Match exec line that is reached is an error.
   */
  exec?: (command: string) => number;
  /**
   * CanonicalizeHostname and CanonicalizePermittedCNAMEs: resolve a name as getaddrinfo(3)
   * would (a trailing `.` means no search domains); null when it does not resolve. Without it,
   * a configuration that needs a look-up is an error. {@link resolveCommandLine} needs an
   * answer at once; {@link resolveCommandLineAsync} awaits a promise.
   */
  lookupHost?: (request: HostLookupRequest) => HostLookupResult | Promise<HostLookupResult>;
  /**
   * getservbyname(name, "tcp"): the port of a service name, which misc.c a2port falls back to
   * for `-p ssh`, `Port ssh`, `-L 8080:host:http` and the like; undefined when unknown. Without
   * it, ports are numeric only.
   */
  servicePort?: (name: string) => number | undefined;
  /**
   * stat(2) of an `-i` file: undefined when it can be reached, else strerror(errno) (`No such
   * file or directory`). Without it, `-i` files are not checked here.
   */
  statError?: (path: string) => string | undefined;
  /** getifaddrs(3) for `Match localnetwork`: the addresses of the interfaces that are up. */
  interfaces?: () => readonly LocalInterfaceAddress[];
  /**
   * ssh.c log_redirect_stderr_to for `-E FILE`: called once the command line is read and before
   * any configuration file (whose errors then go to the file), also under -G. It may exit, as
   * ssh does when the file cannot be opened.
   */
  openLog?: (path: string) => void;
  /** ssh.c's messages printed straight to stderr while reading the options (the `-i` warning). */
  warn?: (message: string) => void;
  /**
   * getpwnam(3) for `~user` in file names (misc.c tilde_expand): the home directory of user
   * `name`, undefined when there is no such user. Without it, every `~user` is ssh's
   * `tilde_expand: No such user USER`.
   */
  userHome?: UserHomeLookup;
}

/** Every option resolved to the value pure-ssh will use. */
export interface ResolvedConfig {
  /** The destination host, lowercased (ssh.c lowercases it after the first reading of the files; Host patterns see it as typed). */
  host: string;
  /** Where to connect: HostName (with %h expanded) or the host. */
  hostName: string;
  port: number;
  user: string;
  /**
   * Identity files, `~` and tokens expanded; `explicit` ones warn when missing. One whose `~user`
   * names no user is left as written and {@link ResolvedConfig.connectedError} is set.
   */
  identityFiles: { path: string; explicit: boolean }[];
  /** CertificateFile entries, `~` and tokens expanded; empty: `IDENTITY-cert.pub` is tried. */
  certificateFiles: string[];
  /** ssh_config IdentitiesOnly. */
  identitiesOnly: boolean;
  /** The ssh-agent socket to use (IdentityAgent, else $SSH_AUTH_SOCK); undefined: none. */
  identityAgent: string | undefined;
  /**
   * IdentityAgent as ssh.c holds it when -G prints it: `~`, %-tokens and `${VAR}` expanded,
   * `none`, `SSH_AUTH_SOCK` and `$VAR` as written; undefined when not set.
   */
  identityAgentSetting?: string;
  /** PubkeyAuthentication: true (yes), false (no), `unbound` or `host-bound` (see {@link PubkeyAuthentication}). */
  pubkeyAuthentication: PubkeyAuthentication;
  passwordAuthentication: boolean;
  kbdInteractiveAuthentication: boolean;
  batchMode: boolean;
  numberOfPasswordPrompts: number;
  strictHostKeyChecking: StrictHostKeyChecking;
  /** UserKnownHostsFile entries then GlobalKnownHostsFile ones (`~` expanded); new keys go to the first. */
  knownHostsFiles: string[];
  /**
   * What ssh(1) reports only once connected, as ssh.c load_public_identity_files and
   * tilde_expand_paths do after ssh_connect: the first `~user` naming no user in IdentityFile,
   * CertificateFile or GlobalKnownHostsFile (`tilde_expand: No such user USER`, exit 255).
   * `ssh -G` never sees it; the connection is made, then this ends the run.
   */
  connectedError?: ConfigError;
  hashKnownHosts: boolean;
  /** ssh_config(5) VisualHostKey (default no). */
  visualHostKey: boolean;
  /** ssh_config(5) FingerprintHash (default sha256). */
  fingerprintHash: FingerprintHashName;
  exitOnForwardFailure: boolean;
  /** Seconds, 0 = off. */
  serverAliveInterval: number;
  serverAliveCountMax: number;
  /** Seconds, 0 = the system's. */
  connectTimeout: number;
  /** ConnectTimeout was given a number (0 included): ssh -G prints it rather than `none`. */
  connectTimeoutSet: boolean;
  /** ssh_config(5) ConnectionAttempts, >= 1 (default 1): direct TCP connects tried, one second apart. */
  connectionAttempts: number;
  /** ssh_config(5) StreamLocalBindUnlink: unlink a local forward's socket path before binding it. */
  streamLocalBindUnlink: boolean;
  /** OpenSSH list specs as given (`+`, `-`, `^` prefixes), validated later by the library. */
  algorithms: { cipher?: string; mac?: string; kex?: string; hostKey?: string };
  /** Where each of `algorithms` was set (`FILE line N`, `command-line line 0`, `-c`, `-m`), for errors. */
  algorithmOrigins: { cipher?: string; mac?: string; kex?: string; hostKey?: string; pubkeyAccepted?: string };
  /** PubkeyAcceptedAlgorithms as given (`+`, `-`, `^` prefixes), applied by the library. */
  pubkeyAcceptedAlgorithms: string | undefined;
  /**
   * CASignatureAlgorithms applied (readconf.c fill_default_options, kex_assemble_names; default
   * OpenSSH's): the algorithms a CA may have signed a host certificate with
   * (sshconnect.c check_host_key, sshkey_cert_check_host), names pure-ssh does not verify
   * (`ssh-dss`, `sk-*`) included as ssh lists them. A list that matches no signature algorithm
   * is refused (ConfigError), as OpenSSH 10.4 does.
   */
  caSignatureAlgorithms: string[];
  /**
   * RequiredRSASize (default OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE, 1024): the smallest RSA host
   * key and identity accepted, in bits (sshkey.c sshkey_check_rsa_length).
   */
  requiredRsaSize: number;
  localForwards: ForwardSpec[];
  /** -R / RemoteForward: `listen` is on the server, `to` here. */
  remoteForwards: ForwardSpec[];
  /** -D / DynamicForward: SOCKS listeners. */
  dynamicForwards: DynamicForwardSpec[];
  gatewayPorts: boolean;
  /** ssh_config(5) PermitRemoteOpen's words as given; `[]` when unset (any). */
  permitRemoteOpen: string[];
  /**
   * ssh_config(5) RemoteCommand with its %-tokens expanded, only ever set where no session runs
   * (-N, -W, SessionType none), where ssh leaves it unused too; `-G` prints it.
   */
  remoteCommand?: string;
  /** ssh_config Compression / -C: offer zlib@openssh.com (RFC 4253 §6.2). */
  compression: boolean;
  logLevel: LogLevel;
  /** Bytes before rekeying; undefined = the library's default. */
  rekeyLimit?: number;
  /** RekeyLimit's time part in seconds; undefined or 0 = none. */
  rekeyLimitSeconds?: number;
  addressFamily: 'any' | 'inet' | 'inet6';
  /** True when shells/commands were implied but pure-ssh continues as with -N (warn once). */
  warnNoShell: boolean;
  /**
   * ssh.c would allocate a pseudo-terminal by default: no command, a session (not -N, -W or
   * SessionType none) and no -T. With stdin not a terminal (or -n) it says it will not.
   */
  ttyByDefault: boolean;
  /** -n, -f or StdinNull yes: stdin as if from /dev/null (ssh.c options.stdin_null; -f sets it too). */
  stdinNull: boolean;
  /** Debug notes gathered while reading the configuration (printed with -v), their text. */
  notes: string[];
  /** The same notes with ssh's debug level each (-v shows 1, -vv 2, -vvv 3), in ssh's order. */
  debugNotes: DebugNote[];
  /**
   * How many of {@link debugNotes} ssh prints before it decides on a pseudo-terminal (its
   * "Pseudo-terminal will not be allocated" line goes there, ahead of the later debug3 lines).
   * These are said at {@link startLogLevel}, the rest at {@link logLevel}.
   */
  ttyDecisionAt: number;
  /**
   * The level of ssh's log while it reads the configuration (ssh.c log_init before
   * process_config_files): the command line's -v, -q and -o LogLevel, not the files' LogLevel
   * (`LogLevel DEBUG3` in a file shows no "Reading configuration data" line).
   */
  startLogLevel: LogLevel;
  /** OpenSSH 10.1 WarnWeakCrypto (default yes). */
  warnWeakCrypto: boolean;
  /**
   * The route: ProxyJump hops (first hop first; each hop resolves its own configuration), a
   * ProxyCommand as written (its %-tokens are expanded when connecting: {@link expandProxyCommand}),
   * or undefined for a direct TCP connection.
   */
  proxy?: { kind: 'jump'; hops: JumpSpec[]; extra?: string } | { kind: 'command'; command: string };
  /** -W host:port: standard input and output forwarded to this address on the server side. */
  stdioForward?: TargetSpec;
  /** -f / ForkAfterAuthentication: go to the background once authenticated and forwarding. */
  forkAfterAuthentication: boolean;
  /** -E log_file: log lines are appended to this file instead of standard error. */
  logFile?: string;
  /** -F as given (passed on to jump hops, as ssh does); undefined = the default files. */
  configFile?: string;
  /** Number of -v flags (passed on to jump hops, as ssh does). */
  verbose: number;
  /** PureSshReconnect (pure-ssh's own): local forwards reconnect when the connection drops. */
  reconnect: boolean;
  /** HostKeyAlias, lowercased (ssh.c): the name known_hosts entries are looked up and written under. */
  hostKeyAlias?: string;
  /** The destination exactly as given on the command line (`ssh -G` prints it as `host`). */
  hostArg: string;
  /** The option values as read, before defaults and expansion (for `-G`). */
  options: SshOptions;
  /** UserKnownHostsFile entries, expanded (the first part of knownHostsFiles). */
  userKnownHostsFiles: string[];
  /** GlobalKnownHostsFile entries (the rest of knownHostsFiles). */
  globalKnownHostsFiles: string[];
  /** CanonicalizeHostname and its family with their defaults (readconf.c fill_default_options). */
  canonicalize: CanonicalizeOptions;
}

/** The outcome of parsing: run, print the version, or print usage (exit 255). */
/**
 * readconf.c fill_default_options: the identity files of ~/.ssh tried when none is configured,
 * in OpenSSH 9.2's and 10's order (`ssh -G` prints them all). pure-ssh signs with none of the
 * FIDO (`_sk`), XMSS or DSA ones: such a file, when present, is skipped with a -v line.
 */
export const DEFAULT_IDENTITY_FILES: readonly string[] = [
  'id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa',
];

export type CliOutcome =
  | { kind: 'run'; config: ResolvedConfig }
  | { kind: 'version' }
  /** -G: print the configuration (ssh's dump_client_config) and exit. */
  | { kind: 'dump'; config: ResolvedConfig }
  /** -Q: list the algorithms of one kind (ssh.c's queries) and exit. */
  | { kind: 'query'; query: string }
  | { kind: 'usage'; message?: string };

/**
 * ssh(1) usage text (OpenSSH 10's, whose options pure-ssh takes: -P), limited to what pure-ssh
 * accepts, -a, -k and -x included (they ask for what it does anyway), wrapped as ssh's is; -Q on
 * a line of its own, as in OpenSSH 10. `-e escape_char` is taken as ssh takes it, though no
 * session reads escapes (-G prints it, -v says it has no effect).
 */
export const USAGE =
  'usage: pure-ssh [-46aCfGgkNnqTVvx] [-c cipher_spec] [-D [bind_address:]port]\n' +
  '           [-E log_file] [-e escape_char] [-F configfile] [-i identity_file]\n' +
  '           [-J destination] [-L [bind_address:]port:host:hostport]\n' +
  '           [-l login_name] [-m mac_spec] [-o option] [-P tag] [-p port]\n' +
  '           [-R [bind_address:]port:host:hostport] [-W host:port] destination\n' +
  '       pure-ssh [-Q query_option]\n';

// OpenSSH 10.5 ssh.c's getopt string: options followed by ':' take an argument.
const OPTSTRING = '1246ACGKMNTVXYZafgknqstvxyB:D:E:F:I:J:L:O:P:Q:R:S:W:b:c:e:i:l:m:o:p:w:';
const TAKES_ARG = new Set([...OPTSTRING.matchAll(/([A-Za-z0-9]):/g)].map((m) => m[1]!));
const KNOWN = new Set(OPTSTRING.replace(/:/g, ''));
/**
 * Flags that ask for what pure-ssh does anyway: no pty (-T), no stdin (-n), no X11 (-x), no agent
 * forwarding (-a), no GSSAPI delegation (-k), protocol 2 (-2; ssh.c ignores it too).
 */
const HONOURED = new Set(['T', 'n', 'x', 'a', 'k', '2']);
/** ssh(1) flags pure-ssh does not implement yet, with what they do: each is an error, never skipped. */
const UNSUPPORTED_FLAGS: Record<string, string> = {
  A: 'agent forwarding', B: 'binding to an interface',
  I: 'PKCS#11 keys', K: 'GSSAPI',
  M: 'connection multiplexing', O: 'connection multiplexing',
  S: 'connection multiplexing', X: 'X11 forwarding', Y: 'X11 forwarding',
  Z: 'listing the keys to offer', b: 'binding to an address',
  s: 'subsystems', t: 'pseudo-terminals', w: 'tunnel devices', y: 'logging to syslog',
};

/** The queries ssh.c's `-Q` answers: its `-Q help` list (with Debian's kex-gss). */
export const QUERIES: readonly string[] = [
  'cipher', 'cipher-auth', 'compression', 'kex', 'kex-gss', 'key', 'key-cert', 'key-plain', 'key-sig', 'mac',
  'protocol-version', 'sig',
];

/**
 * ssh.c: the query `-Q` names, as one of {@link QUERIES}, or undefined when ssh refuses it
 * (`Unsupported query "NAME"`). The short names are exact (strcmp); the ssh_config keywords
 * are matched case-insensitively (strcasecmp) and stand for the list that keyword takes.
 */
export function queryName(arg: string): string | undefined {
  if (QUERIES.includes(arg) || arg === 'help') return arg;
  const keyword = arg.toLowerCase();
  if (keyword === 'ciphers') return 'cipher';
  if (keyword === 'macs') return 'mac';
  if (keyword === 'kexalgorithms') return 'kex';
  // ssh.c: the key and signature algorithm keywords, the deprecated names among them.
  const keySig = ['pubkeyacceptedkeytypes', 'pubkeyacceptedalgorithms', 'hostkeyalgorithms', 'hostbasedkeytypes',
    'hostbasedacceptedkeytypes', 'hostbasedacceptedalgorithms'];
  return keySig.includes(keyword) ? 'key-sig' : undefined;
}

interface Flags {
  noShell: boolean;
  quiet: boolean;
  verbose: number;
  family?: 'inet' | 'inet6';
  configFile?: string;
  port?: number;
  /** -c and -m: assigned directly, the last one wins and beats -o (ssh.c). */
  ciphers?: string;
  macs?: string;
  /** -C: assigned directly, so it beats `-o Compression=no` wherever that is (ssh.c). */
  compression?: boolean;
  host?: string;
  command: string[];
  stdioForward?: TargetSpec;
  fork: boolean;
  /** -T (RequestTTY no) and -n (stdin from /dev/null): recorded for ssh -G's pseudo-terminal note. */
  noTty: boolean;
  stdinNull: boolean;
  logFile?: string;
  jumpGiven: boolean;
  /** -G: print the configuration instead of connecting. */
  dump: boolean;
  /** -e, the last one (ssh.c assigns options.escape_char directly: it beats -o and the files). */
  escapeChar?: number | 'none';
}

/**
 * One of ssh's debug lines: its text and level (log.c debug, debug2, debug3); while the files are
 * read, also readconf.c's error() and fatal() lines (options.ts {@link LogNote}).
 */
export type DebugNote = LogNote;

function commandLineContext(notes: DebugNote[], env: Readonly<Record<string, string | undefined>>): LineContext {
  return { source: 'command-line', line: 0, active: true, env, note: (text, level = 1) => notes.push({ level, text }) };
}

/**
 * Parse argv (without `node` and the script) with ssh(1)'s rules: clustered flags (`-Nv`),
 * attached values (`-p2222`), options before and after the destination, then the command.
 * Options go to `o` in order (first value wins); returns the flags that are not config options.
 */
function parseArgv(argv: string[], o: SshOptions, notes: DebugNote[], cenv: CliEnvironment): Flags | CliOutcome {
  const flags: Flags = { noShell: false, quiet: false, verbose: 0, command: [], fork: false, jumpGiven: false, dump: false, noTty: false, stdinNull: false };
  const ctx = commandLineContext(notes, cenv.env);
  let i = 0;
  let optionsDone = false;
  for (;;) {
    // getopt(3) without permutation: options until the first non-option or `--`.
    while (!optionsDone && i < argv.length) {
      const a = argv[i]!;
      if (a === '--') {
        i++;
        optionsDone = true;
        break;
      }
      if (!a.startsWith('-') || a === '-') break;
      i++;
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        // ssh.c's optstring has no `h`: -h is getopt's "unknown option -- h" like any other letter.
        if (!KNOWN.has(c)) return { kind: 'usage', message: `unknown option -- ${c}` };
        let value: string | undefined;
        if (TAKES_ARG.has(c)) {
          if (j + 1 < a.length) value = a.slice(j + 1);
          else if (i < argv.length) value = argv[i++]!;
          else return { kind: 'usage', message: `option requires an argument -- ${c}` };
          j = a.length;
        }
        const out = applyFlag(c, value, o, flags, ctx, cenv);
        if (out) return out;
      }
    }
    if (i >= argv.length) break;
    if (flags.host === undefined) {
      const dest = argv[i++]!;
      const err = applyDestination(dest, o, flags, ctx);
      if (err) return err;
      continue; // ssh.c "goto again": options may follow the destination
    }
    // ssh.c: the words joined by spaces into its command buffer, and only that buffer's length is
    // looked at after: a lone empty word (`ssh host ''`) is no command (a shell, a pty by default).
    const words = argv.slice(i);
    flags.command = words.join(' ') === '' ? [] : words;
    break;
  }
  return flags;
}

function applyDestination(dest: string, o: SshOptions, flags: Flags, ctx: LineContext): CliOutcome | undefined {
  // ssh.c: an ssh:// URI first, else `[user@]hostname`; a bad one is a usage error.
  const d = splitUserHostPort(dest, 'destination');
  if ('error' in d) {
    // ssh.c: a destination ssh cannot parse is usage() alone. Connection parameters, which ssh
    // drops and pure-ssh refuses (destination.ts), are named, since ssh would have gone on.
    const params = dest.startsWith('ssh://') && d.error.startsWith('connection parameters');
    return { kind: 'usage', message: params ? `invalid ssh:// destination '${dest}': ${d.error}` : undefined };
  }
  if (d.user !== undefined) applyOption(o, 'User', [d.user], ctx);
  if (d.port !== undefined) applyOption(o, 'Port', [String(d.port)], ctx);
  flags.host = d.host;
  return undefined;
}

function applyFlag(c: string, value: string | undefined, o: SshOptions, flags: Flags, ctx: LineContext, cenv: CliEnvironment): CliOutcome | undefined {
  switch (c) {
    case 'V':
      return { kind: 'version' };
    case 'N':
      flags.noShell = true;
      return;
    case 'q':
      // ssh.c: -q sets the level at once, whatever came before (`-v -q` is QUIET).
      flags.quiet = true;
      o.logLevel = 'QUIET';
      return;
    case 'G':
      flags.dump = true;
      return;
    case 'Q': {
      // ssh.c: answered at once (options after it are not read), or fatal() before log_init
      // (on stderr whatever the level, "\r\n" ended as its log lines are).
      const query = queryName(value!);
      if (query === undefined) throw new ConfigError(`Unsupported query "${value}"`);
      return { kind: 'query', query };
    }
    case 'v':
      // ssh.c: the first -v sets DEBUG1 whatever came before (`-q -v` is DEBUG1, `-o LogLevel=`
      // before it is overridden); each further one raises the level by one, up to DEBUG3 (so
      // `-v -q -v` is FATAL). flags.verbose counts them as ssh's debug_flag does (-J passes it on).
      if (flags.verbose === 0) {
        flags.verbose = 1;
        o.logLevel = 'DEBUG1';
      } else {
        const rank = LOG_LEVELS.indexOf(o.logLevel ?? 'INFO');
        if (rank < LOG_LEVELS.indexOf('DEBUG3')) {
          flags.verbose++;
          o.logLevel = LOG_LEVELS[rank + 1]!;
        }
      }
      return;
    case '4':
      flags.family = 'inet';
      return;
    case '6':
      flags.family = 'inet6';
      return;
    case 'g':
      applyOption(o, 'GatewayPorts', ['yes'], ctx);
      return;
    case 'F':
      flags.configFile = value!;
      return;
    case 'p': {
      // ssh.c: the first of -p and -o Port wins; a later -p is not even checked. The port is
      // read by misc.c a2port, as for Port: `-p ' 22'` and `-p +22` are port 22.
      if (flags.port !== undefined || o.port !== undefined) return;
      const port = parsePort(value!);
      if (port <= 0) throw ConfigError.plain(`Bad port '${value}'`);
      flags.port = port;
      return;
    }
    case 'l':
      // ssh.c: `if (options.user == NULL)`: the first of -l, -o User and user@host wins, in the
      // order given (`-l a -l b` is a, `-o User=x -l y` is x), as for -p.
      if (o.user === undefined) o.user = value!;
      return;
    case 'i': {
      // ssh.c: -i is tilde-expanded and stat(2)ed at once (`~user` naming no user ends ssh here,
      // exit 255); a file it cannot reach is a warning (printed whatever -q says) and is not added.
      const path = tildeExpand(value!, cenv.home, cenv.userHome);
      const error = cenv.statError?.(path);
      if (error !== undefined) {
        cenv.warn?.(`Warning: Identity file ${path} not accessible: ${error}.`);
        return;
      }
      applyOption(o, 'IdentityFile', [path], ctx);
      return;
    }
    case 'c':
      // ssh.c: ciphers_valid() on the list (a leading + or ^ allowed), else "Unknown cipher type".
      if (value!.startsWith('-') || !opensshAcceptsList('ciphers', value!)) throw ConfigError.plain(`Unknown cipher type '${value}'`);
      flags.ciphers = value!;
      return;
    case 'm':
      // ssh.c: mac_valid() on the value as given (no + or ^ here, unlike -c), else "Unknown mac type".
      if (/^[-+^]/.test(value!) || !opensshAcceptsList('macs', value!)) throw ConfigError.plain(`Unknown mac type '${value}'`);
      flags.macs = value!;
      return;
    case 'C':
      flags.compression = true;
      return;
    case '1':
      // ssh.c's wording.
      throw new ConfigError('SSH protocol v.1 is no longer supported');
    case 'L': {
      // readconf.c parse_forward expands ${VAR} first, as for -R, -D and -W.
      const spec = dollarExpand(value!, ctx.env ?? {});
      const fwd = spec.value === undefined ? null : parseForwardSpec(spec.value);
      if (!fwd) throw ConfigError.plain(`Bad local forwarding specification '${value}'`, spec.errors);
      addLocalForward(o, fwd, false);
      return;
    }
    case 'J': {
      // ssh.c: one -J only, and none after -o ProxyJump (jump_host set, `none` included); never
      // with ProxyCommand (`none` included); it also sets ProxyCommand none.
      if (flags.jumpGiven || o.proxy?.kind === 'jump' || (o.proxy?.kind === 'none' && o.proxy.via === 'ProxyJump')) {
        throw new ConfigError('Only a single -J option is permitted (use commas to separate multiple jump hops)');
      }
      if (o.proxy?.kind === 'command' || o.proxy?.kind === 'none') throw new ConfigError('Cannot specify -J with ProxyCommand');
      flags.jumpGiven = true;
      try {
        applyOption(o, 'ProxyJump', [value!], ctx);
      } catch (err) {
        // readconf.c parse_jump (strict on the command line, keywords.ts) says which hop name is
        // invalid; ssh.c then fails with its own line for -J.
        const first = (err as Error).message.split('\n')[0]!;
        throw new ConfigError(`${first.startsWith('parse_jump: ') ? `${first}\n` : ''}Invalid -J argument`);
      }
      return;
    }
    case 'W': {
      // ssh.c: -W host:port implies no session (SessionType none) and no tty.
      if (flags.stdioForward) throw new ConfigError('stdio forward already specified');
      const spec = dollarExpand(value!, ctx.env ?? {});
      const w = spec.value === undefined ? null : parseStdioForwardSpec(spec.value);
      if (!w) throw ConfigError.plain(`Bad stdio forwarding specification '${value}'`, spec.errors);
      // A bare port names no host: ssh forwards nothing and goes on as with -N -T.
      if (w !== 'none') flags.stdioForward = w;
      flags.noShell = true;
      flags.noTty = true;
      return;
    }
    case 'f':
      // ssh.c: -f implies -n; pure-ssh never reads standard input without -W anyway.
      flags.fork = true;
      return;
    case 'E':
      flags.logFile = value!;
      return;
    case 'P':
      // OpenSSH 10 ssh.c: -P sets Tag; the first -P wins and beats the files (read later).
      if (o.tag === undefined) o.tag = value!;
      return;
    case 'R': {
      const spec = dollarExpand(value!, ctx.env ?? {});
      const fwd = spec.value === undefined ? null : parseForwardSpec(spec.value, true);
      if (!fwd) {
        // ssh.c -R: parse_forward with a target, then the SOCKS form `[bind_address:]port`
        // (OpenSSH 7.6+ reverse dynamic forwarding, see forward-remote-socks.ts).
        const socks = spec.value === undefined ? null : parseDynamicForwardSpec(spec.value, true);
        if (socks && !('path' in socks)) {
          addForward(o.remoteForwards, { listen: socks, to: { ...REMOTE_SOCKS_TARGET } });
          return;
        }
        // ssh.c -R tries parse_forward twice (with a target, then the SOCKS form): each expands.
        throw ConfigError.plain(`Bad remote forwarding specification '${value}'`, [...spec.errors, ...spec.errors]);
      }
      addForward(o.remoteForwards, fwd);
      return;
    }
    case 'D': {
      const spec = dollarExpand(value!, ctx.env ?? {});
      const local = spec.value === undefined ? null : dynamicAsLocalForward(spec.value);
      if (local) {
        addLocalForward(o, local, false);
        return;
      }
      const fwd = spec.value === undefined ? null : parseDynamicForwardSpec(spec.value);
      if (!fwd) throw ConfigError.plain(`Bad dynamic forwarding specification '${value}'`, spec.errors);
      addLocalForward(o, fwd, true);
      return;
    }
    case 'e': {
      // ssh.c: `^X` (X from 64 to 127), one byte, or `none`; else its fprintf and exit 255.
      const escape = escapeCharValue(value!);
      if (escape === undefined) throw ConfigError.plain(`Bad escape character '${value}'.`);
      flags.escapeChar = escape;
      return;
    }
    case 'o': {
      const line = splitOption(value!);
      // readconf.c: an empty value or a comment asks for nothing; ssh accepts it without a word.
      if (!line) return;
      if (line.bare) throw new ConfigError(`command-line line 0: no argument after keyword "${line.keyword.toLowerCase()}"`);
      applyOption(o, line.keyword, line.args, { ...ctx, rest: line.rest });
      return;
    }
  }
  if (c === 'T') flags.noTty = true;
  if (c === 'n') flags.stdinNull = true;
  if (HONOURED.has(c)) return;
  throw unsupportedFlag(c);
}

function unsupportedFlag(c: string): ConfigError {
  return new ConfigError(`pure-ssh: option -${c} is not supported yet (${UNSUPPORTED_FLAGS[c] ?? 'not implemented'})`);
}

/**
 * ssh_config(5) ProxyCommand tokens: only %%, %h, %k (HostKeyAlias, else the host as given), %n,
 * %p and %r are accepted there (sshconnect.c expand_proxy_command); anything else fails as
 * OpenSSH's percent_expand does: `vdollar_percent_expand: unknown key %z`, `percent_expand: failed`.
 */
export function expandProxyCommand(
  command: string,
  t: { host: string; originalHost: string; hostKeyAlias?: string; port: number; user: string },
): string {
  return percentExpand(command, { h: t.host, k: t.hostKeyAlias ?? t.originalHost, n: t.originalHost, p: String(t.port), r: t.user });
}

/**
 * The command a ProxyCommand route runs: `cfg`'s ProxyCommand (kept as written, so `-G` prints it
 * so) with its %-tokens expanded for the destination, as sshconnect.c ssh_proxy_connect does only
 * when it connects. Undefined for any other route.
 *
 * @throws ConfigError on an unknown token, e.g. `vdollar_percent_expand: unknown key %Z` + `percent_expand: failed`.
 */
export function proxyCommandToRun(cfg: Pick<ResolvedConfig, 'proxy' | 'hostName' | 'hostArg' | 'hostKeyAlias' | 'port' | 'user'>): string | undefined {
  if (cfg.proxy?.kind !== 'command') return undefined;
  return expandProxyCommand(cfg.proxy.command, { host: cfg.hostName, originalHost: cfg.hostArg, hostKeyAlias: cfg.hostKeyAlias, port: cfg.port, user: cfg.user });
}

/** A `-o` value: the same split as a config file line (ssh.c hands it to process_config_line). */
function splitOption(text: string): ConfigLine | null {
  try {
    return splitConfigLine(text);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`command-line line 0: ${err.message}`);
    throw err;
  }
}

/**
 * ssh_config(5) IdentityAgent: `none` disables the agent, `SSH_AUTH_SOCK` (the default) reads
 * that variable, a value starting with `$` names another variable; otherwise a path whose
 * `${VAR}` are replaced, then `expand`ed (%-tokens; the caller expands `~` first, as ssh.c does).
 */
export function resolveIdentityAgent(
  value: string | undefined,
  env: Record<string, string | undefined>,
  expand: (s: string) => string,
): string | undefined {
  if (value === undefined || value === 'SSH_AUTH_SOCK') return env.SSH_AUTH_SOCK || undefined;
  if (value === 'none') return undefined;
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return env[value.slice(1)] || undefined;
  const withEnv = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_w, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ConfigError(`env_expand_path: env var \${${name}} has no value`);
    return v;
  });
  return expand(withEnv);
}

/**
 * ssh_config(5) TOKENS: %% %d %h %p %r %u (and %n, the host as typed), plus a leading `~` or
 * `~user` ({@link tildeExpand}, which throws for a user that does not exist).
 */
export function expandTokens(
  text: string,
  t: { home: string; host: string; originalHost: string; port: number; user: string; localUser: string; userHome?: UserHomeLookup },
): string {
  return percentExpand(tildeExpand(text, t.home, t.userHome), {
    d: t.home,
    h: t.host,
    n: t.originalHost,
    p: String(t.port),
    r: t.user,
    u: t.localUser,
  });
}

/**
 * The command ssh(1) would run for a ProxyJump (ssh.c: `ssh -l user -p port -J rest -F file -v
 * -W '[%h]:%p' last`), for the -v line; pure-ssh makes the same hops in-process.
 */
function impliedJumpCommand(hops: JumpSpec[], flags: Flags): string {
  const last = hops[hops.length - 1]!;
  const parts = ['pure-ssh'];
  if (last.user !== undefined) parts.push('-l', last.user);
  if (last.port !== undefined) parts.push('-p', String(last.port));
  if (hops.length > 1) parts.push('-J', hops.slice(0, -1).map(formatJumpSpec).join(','));
  if (flags.configFile !== undefined) parts.push('-F', flags.configFile);
  if (flags.verbose > 0) parts.push(`-${'v'.repeat(Math.min(flags.verbose, 3))}`);
  parts.push("-W '[%h]:%p'", last.host);
  return parts.join(' ');
}

/**
 * A ProxyJump list's hops with ProxyCommand's %-tokens expanded for the destination `cfg`: ssh.c
 * writes the hops (and -F's file) into the text of its implicit ProxyCommand, which
 * sshconnect.c expand_proxy_command then expands as any ProxyCommand (%h, %k, %n, %p, %r), when
 * it connects (so `-G` prints the list as written). `-J 'hop%h'` to `target` goes through
 * `hoptarget`; an unknown token fails with percent_expand's two lines. Expanded in the order the
 * command line holds them: the last hop's user, the hops before it, the file, the last hop.
 *
 * @throws ConfigError e.g. `vdollar_percent_expand: unknown key %z` + `percent_expand: failed`.
 */
export function expandJumpHops(
  hops: JumpSpec[],
  cfg: Pick<ResolvedConfig, 'configFile' | 'hostName' | 'hostArg' | 'hostKeyAlias' | 'port' | 'user'>,
): { hops: JumpSpec[]; configFile?: string } {
  const expand = (text: string) => expandProxyCommand(text, { host: cfg.hostName, originalHost: cfg.hostArg, hostKeyAlias: cfg.hostKeyAlias, port: cfg.port, user: cfg.user });
  const hop = (h: JumpSpec): JumpSpec => {
    const user = h.user === undefined ? undefined : expand(h.user);
    return { ...h, ...(user === undefined ? {} : { user }), host: expand(h.host) };
  };
  const last = hops[hops.length - 1]!;
  const lastUser = last.user === undefined ? undefined : expand(last.user);
  const before = hops.slice(0, -1).map(hop);
  const configFile = cfg.configFile === undefined ? undefined : expand(cfg.configFile);
  const lastHop: JumpSpec = { ...last, ...(lastUser === undefined ? {} : { user: lastUser }), host: expand(last.host) };
  return { hops: [...before, lastHop], ...(configFile === undefined ? {} : { configFile }) };
}

/**
 * The command line ssh(1) gives the last hop of a ProxyJump list (ssh.c main, the implicit
 * ProxyCommand `ssh -l user -p port -J rest -F file -v -W '[%h]:%p' last`, the same in 9.2 and
 * 10.0): the hop's user and port if the list names them, the hops before it as -J, the same -F
 * and -v flags (nothing else of this command line: not -4/-6, -o, -i, -q), and -W to `next`, the
 * host it carries the connection to (its HostName and Port, %h and %p). Its own User, Port,
 * IdentityFile, ... then come from the configuration for that host name; -W is what makes it a
 * hop: readconf.c fill_default_options then defaults ClearAllForwardings and
 * ExitOnForwardFailure to yes (its own LocalForward, RemoteForward, DynamicForward and Tunnel are
 * cleared), and ssh.c's -W sets RequestTTY no and SessionType none before the files are read.
 */
export function jumpHostArgv(hops: JumpSpec[], cfg: Pick<ResolvedConfig, 'configFile' | 'verbose'>, next: { hostName: string; port: number }): string[] {
  const last = hops[hops.length - 1]!;
  const argv: string[] = [];
  if (last.user !== undefined) argv.push('-l', last.user);
  if (last.port !== undefined) argv.push('-p', String(last.port));
  if (hops.length > 1) argv.push('-J', hops.slice(0, -1).map(formatJumpSpec).join(','));
  if (cfg.configFile !== undefined) argv.push('-F', cfg.configFile);
  if (cfg.verbose > 0) argv.push(`-${'v'.repeat(Math.min(cfg.verbose, 3))}`);
  // ssh.c: `-W '[%h]:%p'`, the brackets through /bin/sh's quotes.
  argv.push('-W', `[${next.hostName}]:${next.port}`, last.host);
  return argv;
}

/**
 * Parse the command line and the configuration files into a {@link ResolvedConfig}.
 * Throws {@link ConfigError} (exit 255) on bad options, specs or config lines.
 *
 * @example
 * const out = resolveCommandLine(['-N', '-L', '63333:localhost:5432', 'joe@foo.com'], env);
 * if (out.kind === 'run') console.log(out.config.localForwards);
 */
export function resolveCommandLine(argv: string[], cenv: CliEnvironment): CliOutcome {
  const steps = resolveSteps(argv, cenv);
  let r = steps.next();
  while (!r.done) {
    if (!cenv.lookupHost) throw new ConfigError(`pure-ssh: cannot resolve "${r.value.name}" for CanonicalizeHostname here`);
    const answer = cenv.lookupHost(r.value);
    if (answer instanceof Promise) throw new TypeError('lookupHost returned a promise: use resolveCommandLineAsync');
    r = steps.next(answer);
  }
  return r.value;
}

/**
 * {@link resolveCommandLine} with an asynchronous `lookupHost` (node:dns): the same outcome.
 *
 * @throws ConfigError as resolveCommandLine does, including the canonicalization errors.
 */
export async function resolveCommandLineAsync(argv: string[], cenv: CliEnvironment): Promise<CliOutcome> {
  const steps = resolveSteps(argv, cenv);
  let r = steps.next();
  while (!r.done) {
    if (!cenv.lookupHost) throw new ConfigError(`pure-ssh: cannot resolve "${r.value.name}" for CanonicalizeHostname here`);
    r = steps.next(await cenv.lookupHost(r.value));
  }
  return r.value;
}

/** Where {@link resolveStepsLogged} stands: the notes said so far and the log's level, once set. */
interface LogState {
  notes: DebugNote[];
  /** Undefined until ssh.c's first log_init (after the command line); then its level. */
  level?: LogLevel;
}

/** ssh's log as it stood when an error ended the reading of the configuration (see {@link configErrorLog}). */
export interface ConfigErrorLog {
  /** The level then in force: the command line's while the files are read, then the files'. */
  level: LogLevel;
  /** What it said up to the error: the debug lines, each bad line's error(), then the fatal(). */
  notes: DebugNote[];
}

const errorLogs = new WeakMap<ConfigError, ConfigErrorLog>();

/**
 * For a ConfigError thrown by {@link resolveCommandLine} after ssh.c's log_init (from the reading
 * of the files on): ssh's log as it stood, to print instead of the message. Undefined for the
 * errors of the command line itself, which ssh prints whatever the level.
 */
export function configErrorLog(err: ConfigError): ConfigErrorLog | undefined {
  return errorLogs.get(err);
}

/**
 * The body of resolveCommandLine: yields each DNS look-up canonicalization needs. An error after
 * ssh.c's log_init gets the log as it stood ({@link configErrorLog}): the lines said so far,
 * then the error as fatal(), less its first lines when they are the bad lines already said.
 */
function* resolveSteps(argv: string[], cenv: CliEnvironment): Generator<HostLookupRequest, CliOutcome, HostLookupResult> {
  const state: LogState = { notes: [] };
  try {
    return yield* resolveStepsLogged(argv, cenv, state);
  } catch (err) {
    if (err instanceof ConfigError && !errorLogs.has(err) && state.level !== undefined) {
      // Each error() note is one of the message's first lines (ssh-config.ts readConfigText).
      const said = state.notes.reduce((k, n) => k + (n.level === 'error' ? n.text.split('\n').length : 0), 0);
      const rest = err.message.split('\n').slice(said).join('\n');
      errorLogs.set(err, { level: state.level, notes: rest === '' ? [...state.notes] : [...state.notes, { level: 'fatal', text: rest }] });
    }
    throw err;
  }
}

function* resolveStepsLogged(argv: string[], cenv: CliEnvironment, state: LogState): Generator<HostLookupRequest, CliOutcome, HostLookupResult> {
  setServicePortLookup(cenv.servicePort);
  const o = emptyOptions();
  const notes = state.notes;
  const parsed = parseArgv(argv, o, notes, cenv);
  if ('kind' in parsed) return parsed;
  const flags = parsed;
  if (flags.host === undefined) return { kind: 'usage' };
  // ssh.c: -e sets options.escape_char itself, so the files' EscapeChar lines find it set.
  if (flags.escapeChar !== undefined) o.escapeChar = { value: flags.escapeChar, where: '-e' };
  // ssh.c lowercases the host name after the first reading of the files (Host patterns match
  // it as typed: readFiles(flags.host) below) and before connecting.
  const host = flags.host.toLowerCase();
  // ssh.c: the command line's user and host end up in %r and %h (ProxyCommand, Match exec).
  if (o.user !== undefined && !validCommandLineUser(o.user)) throw new ConfigError('remote username contains invalid characters');
  if (!validCommandLineHost(flags.host)) throw new ConfigError('hostname contains invalid characters');
  // ssh.c: -E takes effect after the command line (its errors stay on stderr), before the files.
  if (flags.logFile !== undefined) cenv.openLog?.(flags.logFile);
  // ssh.c log_init: the command line's level (-v, -q, -o LogLevel) while the files are read;
  // the files' LogLevel takes effect only once they all have been (see ttyDecisionAt).
  const startLogLevel: LogLevel = o.logLevel ?? 'INFO';
  state.level = startLogLevel;
  if (flags.port !== undefined) o.port = flags.port;
  if (flags.ciphers !== undefined) {
    o.ciphers = flags.ciphers;
    (o.algorithmOrigins ??= {}).ciphers = '-c';
  }
  if (flags.macs !== undefined) {
    o.macs = flags.macs;
    (o.algorithmOrigins ??= {}).macs = '-m';
  }
  if (flags.compression) o.compression = true;

  const note = (text: string, level: NoteLevel = 1) => notes.push({ level, text });
  const local: LocalIdentity = {
    user: cenv.localUser,
    home: cenv.home,
    uid: cenv.uid ?? -1,
    hostName: cenv.localHostName ?? 'localhost',
  };
  let wantFinalPass = false;
  // ssh.c process_config_files: -F alone, or ~/.ssh/config then /etc/ssh/ssh_config.
  const readFiles = (matchHost: string, finalPass: boolean) => {
    const readCtx = (includeDir: string) => ({
      host: matchHost,
      originalHost: flags.host!,
      fs: cenv.fs,
      includeDir,
      home: cenv.home,
      note,
      local,
      finalPass,
      wantFinalPass: () => (wantFinalPass = true),
      exec: cenv.exec,
      // ssh.c: the command's words joined by single spaces, before the files are read.
      command: flags.command.join(' '),
      env: cenv.env,
      userHome: cenv.userHome,
      // ssh.c: -N and -W set SessionType none before the files are read (Match sessiontype).
      sessionType: flags.noShell ? ('none' as const) : undefined,
      interfaces: cenv.interfaces,
    });
    if (flags.configFile !== undefined) {
      if (flags.configFile !== 'none') {
        // ssh.c: -F is opened as written, `~` included.
        const path = flags.configFile;
        // readconf.c: relative Include paths get "~/.ssh/" before glob(3) expands the `~`.
        if (!readConfig(o, path, readCtx('~/.ssh'))) {
          // ssh.c: fopen(3) opens a directory and getline(3) reads no line from it (EISDIR):
          // `-F /etc` is an empty configuration.
          const st = cenv.fs.stat?.(path);
          if (st !== undefined && (st.mode & 0o170000) === 0o040000) note(`Reading configuration data ${path}`);
          else throw new ConfigError(`Can't open user config file ${path}: No such file or directory`);
        }
      }
    } else {
      // ssh.c: SSHCONF_CHECKPERM for the user's own file only (not -F, not the system file).
      readConfig(o, `${cenv.home}/.ssh/config`, readCtx('~/.ssh'), 0, true);
      readConfig(o, '/etc/ssh/ssh_config', readCtx('/etc/ssh'));
    }
  };
  readFiles(flags.host, false);
  if (wantFinalPass) note('configuration requests final Match pass');

  // ssh.c: HostName (its %h expanded) replaces the host; names (not addresses) are lowercased.
  let hostName = o.hostName === undefined ? flags.host : percentExpand(o.hostName, { h: flags.host });
  const family = flags.family ?? o.addressFamily ?? 'any';
  const wasAddress = isAddress(hostName, family);
  if (!wasAddress) hostName = hostName.toLowerCase();
  // ssh.c resolve_canonicalize(), whatever CanonicalizeHostname says: an address is rewritten
  // into getnameinfo(3)'s numeric form (`::0001` -> `::1`, `0x7f.1` -> `127.0.0.1`), but only when
  // the two differ by more than case (its strcasecmp test): `FE80::1` stays as written.
  else {
    const numeric = canonicalAddress(hostName, family);
    if (numeric !== undefined && numeric.toLowerCase() !== hostName.toLowerCase()) hostName = numeric;
  }
  // readconf.c fill_default_options_for_canonicalization, then ssh.c main()'s canonicalization
  // (canonicalize.ts). Addresses are left as they are.
  const permitted = o.canonicalizePermittedCnames ?? [];
  const canonicalize: CanonicalizeOptions = {
    mode: o.canonicalizeHostname ?? 'no',
    domains: o.canonicalDomains ?? [],
    fallbackLocal: o.canonicalizeFallbackLocal ?? true,
    maxDots: o.canonicalizeMaxDots ?? 1,
    // readconf.c config_has_permitted_cnames: `none` alone is no rule.
    permittedCnames: permitted.length === 1 && permitted[0]!.target === '' ? [] : permitted,
    family,
  };
  if (!wasAddress) {
    const direct = o.proxy === undefined || o.proxy.kind === 'none';
    hostName = (yield* canonicalizeHost(hostName, canonicalize, direct, note)).host;
  }
  if (canonicalize.mode !== 'no' && !wantFinalPass) {
    // ssh.c: new Host and Match blocks may apply to the canonical name.
    note('hostname canonicalisation enabled, will re-parse configuration');
    wantFinalPass = true;
  }
  if (wantFinalPass) {
    // ssh.c: the files are read again with the final host name; values already obtained stay.
    note('re-parsing configuration');
    o.hostName = hostName;
    readFiles(hostName, true);
  }
  // readconf.c fill_default_options, after the files' last reading: kex_assemble_names() fails
  // on a list that matches no algorithm (`Ciphers ,`; a CASignatureAlgorithms of certificate
  // types only) or holds a negated name (`PubkeyAcceptedAlgorithms !ssh-rsa`), and ssh error()s
  // `fill_default_options: ciphers: invalid argument` (no file nor line), in this order.
  // OpenSSH 9.2-10.3 then go on with the list unset (a NULL CASignatureAlgorithms checks no CA
  // signature algorithm at all: a SHA-1 CA's host certificate is accepted); OpenSSH 10.4 exits
  // 255 at the first (upstream c87161382, "report errors in fill_default_options() properly").
  // Never less safe than OpenSSH: 10.4's refusal.
  const assembled = [
    ['ciphers', o.ciphers, 'ciphers'],
    ['macs', o.macs, 'macs'],
    ['kex_algorithms', o.kexAlgorithms, 'kexAlgorithms'],
    ['hostbased_accepted_algos', o.hostbasedAcceptedAlgorithms, 'hostKeyAlgorithms'],
    ['pubkey_accepted_algos', o.pubkeyAcceptedAlgorithms, 'hostKeyAlgorithms'],
    ['ca_sign_algorithms', o.caSignatureAlgorithms, 'signatures'],
  ] as const;
  for (const [what, spec, against] of assembled) {
    if (spec !== undefined && assembledListFails(spec, against)) throw new ConfigError(`fill_default_options: ${what}: invalid argument`);
  }

  // keywords.ts: StreamLocalBindMask ends with the last line read (readconf.c sets it on every
  // line); refused, naming that line, unless it asks for pure-ssh's 0177.
  if (o.streamLocalBindMaskRefusal) throw o.streamLocalBindMaskRefusal;

  // readconf.c fill_default_options: -W defaults ExitOnForwardFailure and ClearAllForwardings to yes.
  if (flags.stdioForward) {
    o.exitOnForwardFailure ??= true;
    o.clearAllForwardings ??= true;
  }
  // keywords.ts: Tunnel is refused (naming its line) unless ClearAllForwardings clears it, as
  // readconf.c clear_forwardings does (`ssh -G -W h:1 -o Tunnel=yes` prints `tunnel false`).
  if (o.tunnelRefusal && !o.clearAllForwardings) throw o.tunnelRefusal;
  const port = o.port ?? 22;
  const user = o.user ?? cenv.localUser;
  const hostKeyAlias = o.hostKeyAlias?.toLowerCase();
  // ssh_config(5) TOKENS and ENVIRONMENT VARIABLES for IdentityFile, CertificateFile,
  // UserKnownHostsFile and forwarded socket paths (ssh.c default_client_percent_dollar_expand).
  const connTokens = connectionTokens({
    local,
    host: hostName,
    originalHost: flags.host,
    port,
    user,
    hostKeyAlias,
    jump: o.proxy?.kind === 'jump' ? o.proxy.hops.map(formatJumpSpec).join(',') : '',
  });
  const fileTokens = pickTokens(connTokens, 'CdhijkLlnpru');
  // misc.c tilde_expand_filename, then the tokens and ${VAR} (ssh.c default_client_percent_dollar_expand).
  const tilde = (s: string) => tildeExpand(s, cenv.home, cenv.userHome);
  // ssh.c expands IdentityFile and CertificateFile in load_public_identity_files and
  // GlobalKnownHostsFile in tilde_expand_paths, both after ssh_connect: `~user` naming no user
  // fails there, not under -G.
  let connectedError: ConfigError | undefined;
  const tildeOnceConnected = (s: string): string => {
    try {
      return tilde(s);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      connectedError ??= err;
      return s;
    }
  };

  // ssh.c load_public_identity_files: their tokens and ${VAR} too once connected (ssh -G prints
  // `IdentityFile ~/.ssh/id_%z` as written, exit 0).
  const expandOnceConnected = (s: string): string => {
    const t = tildeOnceConnected(s);
    try {
      return percentExpand(t, fileTokens, cenv.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      connectedError ??= err;
      return t;
    }
  };
  // readconf.c fill_default_options: the default identities only when none was configured;
  // ssh.c load_public_identity_files passes over an IdentityFile `none` (strcasecmp), which
  // -G still prints: `IdentityFile none` alone means no identity file.
  const identityFiles =
    o.identityFiles.length > 0
      ? o.identityFiles.filter((p) => p.toLowerCase() !== 'none').map((p) => ({ path: expandOnceConnected(p), explicit: true }))
      : DEFAULT_IDENTITY_FILES.map((n) => ({ path: `${cenv.home}/.ssh/${n}`, explicit: false }));
  const certificateFiles = (o.certificateFiles ?? []).map(expandOnceConnected);
  // ssh.c main, before -G prints: default_client_percent_expand (no ${VAR}).
  const remoteCommand = o.remoteCommand && percentExpand(o.remoteCommand.command, fileTokens, undefined, 'percent_expand');

  // readconf.c fill_default_options: the first value obtained (-v and -q set it on the command
  // line, parseArgv), else INFO.
  const logLevel: LogLevel = o.logLevel ?? 'INFO';

  // ssh.c, before -G prints: IdentityAgent's `~` first, then the tokens and ${VAR}; then
  // UserKnownHostsFile's (so a `~user` naming no user fails -G too). Its log is set up by then:
  // at LogLevel QUIET or FATAL (-q) tilde_expand's error() says nothing, and ssh still exits 255
  // (a ConfigError without a message, which the CLI does not print).
  const tildeNow = (s: string): string => {
    try {
      return tilde(s);
    } catch (err) {
      if (err instanceof ConfigError && (logLevel === 'QUIET' || logLevel === 'FATAL')) throw new ConfigError('', err.exitCode);
      throw err;
    }
  };
  const identityAgent = resolveIdentityAgent(o.identityAgent && tildeNow(o.identityAgent), cenv.env, (s) => percentExpand(s, fileTokens, undefined, 'percent_dollar_expand'));
  // ssh.c expands every IdentityAgent value so (default_client_percent_dollar_expand), `none`
  // and `$VAR` included, where they are unchanged; -G prints the result.
  const identityAgentSetting = o.identityAgent === undefined ? undefined : percentExpand(tildeNow(o.identityAgent), fileTokens, cenv.env, 'percent_dollar_expand');
  // ssh.c main, next: ForwardAgent's socket path likewise (`~`, then the tokens and ${VAR}), stat(2)ed
  // below. pure-ssh forwards no agent (keywords.ts), but says what ssh says of a missing path.
  const forwardAgentSockPath = o.forwardAgentSockPath === undefined ? undefined : percentExpand(tildeNow(o.forwardAgentSockPath), fileTokens, cenv.env, 'percent_dollar_expand');
  const userFilesAsWritten = (o.userKnownHostsFiles ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).filter((f) => f !== 'none');
  const userFiles = userFilesAsWritten.map((s) => percentExpand(tildeNow(s), fileTokens, cenv.env));
  // ssh.c: GlobalKnownHostsFile gets no tokens, only `~` (as written under -G, which prints it
  // before tilde_expand_paths).
  const globalFiles = (o.globalKnownHostsFiles ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']).filter(
    (f) => f !== 'none',
  );
  const globalFilesExpanded = globalFiles.map(tildeOnceConnected);

  let proxy: ResolvedConfig['proxy'];
  if (o.proxy?.kind === 'jump') {
    proxy = o.proxy;
    // ssh.c: the last hop (jump_host) being the destination itself, same port and user, is a loop.
    const last = o.proxy.hops[o.proxy.hops.length - 1]!;
    if (last.host === hostName && (last.port ?? 22) === port && (last.user ?? user) === user) {
      // fatal(), at the command line's level (resolveSteps): not said with -q (exit 255 still).
      throw new ConfigError(`jumphost loop via ${last.host}`);
    }
    note(`Setting implicit ProxyCommand from ProxyJump: ${impliedJumpCommand(o.proxy.hops, flags)}`);
  } else if (o.proxy?.kind === 'command') {
    // As written: sshconnect.c expand_proxy_command expands its %-tokens only when it connects
    // (ssh_proxy_connect), after -G has printed it (`ProxyCommand nc %Z %h` prints, exit 0) and
    // after -vvv's UserKnownHostsFile lines. connect-host.ts openRoute expands it ({@link proxyCommandToRun}).
    proxy = { kind: 'command', command: o.proxy.command };
  }
  // ssh.c main, after the ProxyJump line, before its command-line and -f checks below and before
  // -G prints: fatal() (not said with -q, exit 255).
  if (o.connectionAttempts !== undefined && o.connectionAttempts <= 0) throw new ConfigError('Invalid number of ConnectionAttempts');

  // ssh.c: -N and -W set SessionType none; ssh_session2 then opens no session channel, and
  // neither the command words nor RemoteCommand are ever used.
  const noSession = flags.noShell || o.sessionType === 'none';
  // ssh.c main, before its -f check and -G: both a command and RemoteCommand is fatal().
  if (flags.command.length > 0 && o.remoteCommand !== undefined) throw new ConfigError('Cannot execute command-line and remote command.');
  // ssh -G prints the configuration whatever else the command line asks for. Where ssh would run
  // the command, pure-ssh (which opens no session) refuses it; where ssh opens no session it
  // takes it, unused, as ssh does (silently there: a -v line here).
  if (flags.command.length > 0 && !flags.dump && !noSession) {
    throw new ConfigError(
      `pure-ssh: remote commands are not supported (got '${flags.command.join(' ')}'); ` +
        'use -N with -L for port forwarding',
    );
  }
  if (flags.command.length > 0 && noSession) note(`remote command '${flags.command.join(' ')}' not run: no session is opened (-N, -W or SessionType none), as by ssh`);
  // readconf.c fill_default_options: ClearAllForwardings drops the forwards of every source.
  // ssh.c: forward socket paths get the % tokens (default_client_percent_expand) and, from
  // readconf.c parse_forward's dollar_expand, ${VAR}; not `~` (`LocalForward ~/s` stays relative).
  const expandForwardPath = (s: string) => percentExpand(s, fileTokens, cenv.env, 'percent_expand');
  const localForwards = o.clearAllForwardings ? [] : o.localForwards.map((f) => expandForwardPaths(f, expandForwardPath));
  const remoteForwards = o.clearAllForwardings ? [] : o.remoteForwards.map((f) => expandForwardPaths(f, expandForwardPath));
  const dynamicForwards = o.clearAllForwardings ? [] : o.dynamicForwards;
  // PureSshReconnect (pure-ssh's own) keeps the -L listeners across reconnections (cli.ts
  // runReconnecting); a -D or -R would be gone after the first one (or, alone, never reconnect):
  // refused, not dropped then. With nothing else (or with -W: a ProxyJump hop resolves its own
  // configuration so) there is nothing to keep: a -v line.
  if (o.pureSshReconnect && !flags.dump) {
    if (!flags.stdioForward && (dynamicForwards.length > 0 || remoteForwards.length > 0)) {
      throw new ConfigError(
        `pure-ssh: PureSshReconnect keeps -L forwards across reconnections, and cannot carry ${dynamicForwards.length > 0 ? '-D (DynamicForward)' : '-R (RemoteForward)'} over to a new connection; use a separate pure-ssh for it`,
      );
    }
    if (localForwards.length === 0 || flags.stdioForward) note('PureSshReconnect: no -L forward to keep across reconnections; not used');
  }
  // An escape character is read from a session's input only (clientloop.c), and pure-ssh opens
  // no session: taken as ssh takes it (-G prints it), and said to do nothing. `none` asks for that.
  if (o.escapeChar !== undefined && o.escapeChar.value !== 'none') {
    const { value, where } = o.escapeChar;
    // As -G prints it (`\^A`): its backslashes are vis(3)'s already, not to be doubled by the log's.
    note(`${where === '-e' ? '-e' : `${where}: EscapeChar`} ${escapeCharText(value).replaceAll('\\', LOG_BACKSLASH)} has no effect: ${SESSION_ONLY}`);
  }
  // Silently, as readconf.c clear_forwardings: a ProxyJump hop (-W) clears its own forwards, and
  // its -v says nothing about them.
  // ssh.c runs RemoteCommand in the session channel only (ssh_session2_open), which -N, -W and
  // SessionType none (a ProxyJump hop is a -W) do not open: refused, naming its line, only where
  // pure-ssh would otherwise go on without the session ssh runs it in. Before ssh's -f check, which
  // a RemoteCommand satisfies.
  if (o.remoteCommand !== undefined && !noSession) throw o.remoteCommand.refusal;
  const forkAfterAuthentication = flags.fork || (o.forkAfterAuthentication ?? false);
  // ssh.c main, before it connects and before -G prints anything: -f needs a command or
  // SessionType none (-N, -W). It comes before our own refusal of a shell, as ssh's check does.
  if (forkAfterAuthentication && flags.command.length === 0 && !noSession) {
    throw new ConfigError('Cannot fork into background without a command to execute.');
  }
  let warnNoShell = false;
  // ssh.c: -N is SessionType none.
  if (!noSession && !flags.dump) {
    if (localForwards.length + remoteForwards.length + dynamicForwards.length === 0) {
      throw new ConfigError(
        'pure-ssh: remote shells are not supported; use -N with -L [bind_address:]port:host:hostport for port forwarding',
      );
    }
    warnNoShell = true;
  }

  // ssh.c: -N (and -W) set SessionType none.
  if (flags.noShell) o.sessionType = 'none';
  // sshconnect.c ssh_connect: ProxyUseFdpass yes has the ProxyCommand (other than `-`) pass back
  // a connected descriptor (SCM_RIGHTS), which Node cannot receive: refused, naming its line,
  // rather than reading that message as the server's banner. ssh.c clears it for ProxyJump.
  if (o.proxy?.kind === 'command' && o.proxy.command !== '-' && o.proxyUseFdpass?.value === true) {
    const refused = new ConfigError(
      `${o.proxyUseFdpass.where}: unsupported option "ProxyUseFdpass": pure-ssh does not implement it yet ` +
        '(the ProxyCommand would pass back a connected socket, which Node cannot receive; without it pure-ssh speaks on its stdin and stdout)',
    );
    // Given with -o: said under -q too, as the other refused -o options (a file's line is not:
    // ssh's error() about a file's line is silenced by -q).
    refused.commandLine = o.proxyUseFdpass.where === 'command-line line 0';
    throw refused;
  }
  // ssh.c main decides on a pseudo-terminal here, after the ProxyJump line and before the
  // UserKnownHostsFile expansions (its logit, which the caller prints, falls between them).
  const ttyDecisionAt = notes.length;
  // ssh.c: log_init again, with the level the files gave.
  state.level = logLevel;
  // ssh.c main, after the pseudo-terminal decision and before -G prints or it connects: a
  // ForwardAgent socket path it cannot stat(2) is an error() (an ERROR line, silenced by -q), and
  // it goes on, unless ExitOnForwardFailure (yes by default with -W) ends it there: cleanup_exit(255),
  // nothing more said. The legacy `$NAME` form is stat(2)ed as written too (ssh 9.2 reads the
  // variable only later), so it is reported unless a file of that name exists.
  if (forwardAgentSockPath !== undefined) {
    const error = cenv.statError?.(forwardAgentSockPath);
    if (error !== undefined) {
      note(`Cannot forward agent socket path "${forwardAgentSockPath}": ${error}`, 'error');
      if (o.exitOnForwardFailure === true) throw new ConfigError('');
    }
  }
  // ssh.c: debug3 for each UserKnownHostsFile its expansion changed (after the ProxyJump line).
  userFilesAsWritten.forEach((f, i) => {
    if (f !== userFiles[i]) note(`expanded UserKnownHostsFile '${f}' -> '${userFiles[i]}'`, 3);
  });
  return {
    kind: flags.dump ? 'dump' : 'run',
    config: {
      host,
      hostName,
      port,
      user,
      identityFiles,
      certificateFiles,
      identitiesOnly: o.identitiesOnly ?? false,
      identityAgent,
      identityAgentSetting,
      pubkeyAuthentication: o.pubkeyAuthentication ?? true,
      passwordAuthentication: o.passwordAuthentication ?? true,
      kbdInteractiveAuthentication: o.kbdInteractiveAuthentication ?? true,
      batchMode: o.batchMode ?? false,
      numberOfPasswordPrompts: o.numberOfPasswordPrompts ?? 3,
      strictHostKeyChecking: o.strictHostKeyChecking ?? 'ask',
      knownHostsFiles: [...userFiles, ...globalFilesExpanded],
      connectedError,
      hashKnownHosts: o.hashKnownHosts ?? false,
      visualHostKey: o.visualHostKey ?? false,
      fingerprintHash: o.fingerprintHash ?? 'sha256',
      exitOnForwardFailure: o.exitOnForwardFailure ?? false,
      serverAliveInterval: o.serverAliveInterval ?? 0,
      serverAliveCountMax: o.serverAliveCountMax ?? 3,
      connectTimeout: Math.max(0, o.connectTimeout ?? 0),
      connectTimeoutSet: (o.connectTimeout ?? -1) >= 0,
      connectionAttempts: o.connectionAttempts ?? 1,
      streamLocalBindUnlink: o.streamLocalBindUnlink ?? false,
      algorithms: { cipher: o.ciphers, mac: o.macs, kex: o.kexAlgorithms, hostKey: o.hostKeyAlgorithms },
      algorithmOrigins: {
        cipher: o.algorithmOrigins?.ciphers,
        mac: o.algorithmOrigins?.macs,
        kex: o.algorithmOrigins?.kexAlgorithms,
        hostKey: o.algorithmOrigins?.hostKeyAlgorithms,
        pubkeyAccepted: o.algorithmOrigins?.pubkeyAcceptedAlgorithms,
      },
      pubkeyAcceptedAlgorithms: o.pubkeyAcceptedAlgorithms,
      caSignatureAlgorithms: applyCaSignatureSpec(o.caSignatureAlgorithms),
      requiredRsaSize: o.requiredRsaSize ?? 1024,
      localForwards,
      remoteForwards,
      dynamicForwards,
      gatewayPorts: o.gatewayPorts ?? false,
      permitRemoteOpen: o.permitRemoteOpen ?? [],
      remoteCommand,
      compression: o.compression ?? false,
      logLevel,
      rekeyLimit: o.rekeyLimit ? Number(o.rekeyLimit) : undefined,
      rekeyLimitSeconds: o.rekeyLimitSeconds || undefined,
      addressFamily: flags.family ?? o.addressFamily ?? 'any',
      warnNoShell,
      ttyByDefault: flags.command.length === 0 && o.sessionType !== 'none' && !flags.noTty,
      // ssh.c: -n, -f, and StdinNull from the files (-f sets it however ForkAfterAuthentication came).
      stdinNull: flags.stdinNull || flags.fork || (o.stdinNull ?? false),
      notes: notes.map((n) => n.text),
      debugNotes: notes,
      ttyDecisionAt,
      startLogLevel,
      warnWeakCrypto: o.warnWeakCrypto ?? true,
      proxy,
      stdioForward: flags.stdioForward,
      forkAfterAuthentication,
      // ssh.c log_redirect_stderr_to: -E is opened as written, no `~` nor tokens.
      logFile: flags.logFile,
      configFile: flags.configFile,
      verbose: flags.verbose,
      reconnect: o.pureSshReconnect ?? false,
      hostKeyAlias,
      hostArg: flags.host,
      options: o,
      userKnownHostsFiles: userFiles,
      globalKnownHostsFiles: globalFiles,
      canonicalize,
    },
  };
}

/** ssh.c: the Unix socket paths of a forward get the tokens (TCP host names do not). */
function expandForwardPaths(f: ForwardSpec, expand: (s: string) => string): ForwardSpec {
  const listen = 'path' in f.listen ? { ...f.listen, path: expand(f.listen.path) } : f.listen;
  const to = 'path' in f.to ? { ...f.to, path: expand(f.to.path) } : f.to;
  return { ...f, listen, to } as ForwardSpec;
}
