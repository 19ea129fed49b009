/**
 * Every ssh_config(5) keyword OpenSSH accepts, in one table, with what pure-ssh does with it
 * (readconf.c keywords[] plus the keywords of Debian's patches and Apple's build):
 *
 * - `implemented`: parsed and honoured.
 * - `refused`: it would change where the connection goes, the route to it, how the host key is
 *   checked or how pure-ssh authenticates (or it asks for a feature whose absence would go
 *   unnoticed). The value obtained, as readconf.c keeps it (the first line that applies; later
 *   lines are inert), is an error naming its file and line unless it is a `noop` one; connecting
 *   without it would silently do something else than what the user configured. See `judged`
 *   for RemoteCommand (refused only where a session would run it) and StreamLocalBindMask.
 * - `ignored`: harmless to leave out (it tunes behaviour pure-ssh does not have). In files it is
 *   skipped with a -v line; with `-o` it is an error, since the user asked for it explicitly.
 * - `deprecated`: OpenSSH's own deprecated or SSH-1-only keywords; a -v line, as OpenSSH does.
 *
 * `noop` lists values that ask for exactly what pure-ssh does anyway (`ForwardAgent no`,
 * `Tunnel no`): those lines are accepted silently, as honoured.
 *
 * Obsolete spellings OpenSSH still reads (`PubkeyAcceptedKeyTypes`, `ChallengeResponseAuthentication`,
 * ...) are rows with `aliasOf`, handled like the keyword they stand for.
 */
import {
  ConfigError,
  fatalLineError,
  fromCommandLine,
  LOG_LEVELS,
  lineError,
  lineWhere,
  matchPattern,
  parsePort,
  parseTime,
  type LineContext,
  type LogLevel,
  type SshOptions,
} from './options.js';
import { addForward, addLocalForward, dynamicAsLocalForward, parseDynamicForwardSpec, parseForwardSpec, REMOTE_SOCKS_TARGET } from './forward-spec.js';
import { parseJumpSpec } from './jump-spec.js';
import { dollarExpand } from './tokens.js';
import { validCommandLineHost, validCommandLineUser } from './destination.js';
import { rawByteOf } from '../log-text.js';
import { SCAN_SCALED_STRERROR, scanScaled } from './scan-scaled.js';
import { assembledListFails, badListMessage, isGssKexName, unimplementedListMessage, withoutGssKexNames, type AlgorithmListKind } from './openssh-names.js';
import { validDomain, type CanonicalizeMode, type PermittedCname } from './canonicalize.js';
import type { StrictHostKeyChecking } from '../node/known-hosts-file.js';
import type { FingerprintHashName } from '../keys/fingerprint-hashes.js';

/** Parse one line's arguments and store them (first value wins, lists accumulate). */
type Apply = (o: SshOptions, args: string[], ctx: LineContext, keyword: string) => void;

/** One row of {@link SSH_CONFIG_KEYWORDS}. */
export type KeywordEntry =
  | { readonly name: string; readonly handling: 'implemented'; readonly apply: Apply; readonly aliasOf?: string; readonly origin?: Origin }
  | {
      readonly name: string;
      readonly handling: 'refused' | 'ignored';
      /** Why: for refused, what leaving it out would change; for ignored, why that is harmless. */
      readonly reason: string;
      /** First-argument values (lower case) that ask for what pure-ssh does anyway. */
      readonly noop?: readonly string[];
      readonly aliasOf?: string;
      readonly origin?: Origin;
      /**
       * readconf.c's check of the value, made whether or not the line applies and before the
       * keyword is ignored or refused: a value ssh would refuse is refused here too.
       */
      readonly check?: (args: string[], ctx: LineContext, keyword: string, o: SshOptions) => void;
      /**
       * Ignored with `-o` too (a -v line, not an error): leaving it out changes nothing of this
       * connection, and it is common enough in copied command lines and wrappers to refuse.
       */
      readonly alsoOnCommandLine?: boolean;
      /**
       * For a refused keyword, which value is judged when not the first one obtained (readconf.c
       * keeps the first value of a line that applies): `session`, that value, refused only once
       * the command line and the files show a session would use it (RemoteCommand, cli-args.ts);
       * `lastRead`, the last line read, applying or not (StreamLocalBindMask, which readconf.c
       * sets on every line), judged once every file is read; `forwarding`, that value, refused
       * only when ClearAllForwardings (yes with -W) does not clear it (Tunnel).
       */
      readonly judged?: 'session' | 'lastRead' | 'forwarding';
    }
  | {
      readonly name: string;
      readonly handling: 'deprecated';
      readonly reason: string;
      /** readconf.c's word in its debug line: oDeprecated/oIgnore say "Deprecated", oUnsupported "Unsupported". */
      readonly openssh: 'Deprecated' | 'Unsupported';
      readonly aliasOf?: string;
      readonly origin?: Origin;
    };

/** Where a keyword comes from when it is not upstream OpenSSH's (`pure-ssh`: this project's own). */
type Origin = 'debian' | 'apple' | 'pure-ssh';

/** The ways pure-ssh handles a keyword (see the file comment). */
export type KeywordHandling = KeywordEntry['handling'];

// ---- value parsing, with readconf.c's messages -------------------------------------------

/** readconf.c process_config_line_depth: arguments left over, with the keyword lowercased as it prints it. */
function extraArguments(keyword: string, ctx: LineContext): ConfigError {
  return lineError(ctx, `keyword ${keyword.toLowerCase()} extra arguments at end of line`);
}

/** Exactly one argument (readconf.c: "Missing argument." / "extra arguments at end of line"). */
function single(keyword: string, args: string[], ctx: LineContext): string {
  if (args.length === 0 || args[0] === '') throw lineError(ctx, 'Missing argument.');
  if (args.length > 1) throw extraArguments(keyword, ctx);
  return args[0]!;
}

/**
 * readconf.c's loop over a list keyword's arguments (Host, Include, UserKnownHostsFile,
 * GlobalKnownHostsFile, CanonicalDomains, LogVerbose): an empty one (`""`) is refused.
 */
export function noEmptyArgument(keyword: string, args: readonly string[], ctx: LineContext): void {
  if (args.includes('')) throw lineError(ctx, `keyword ${keyword.toLowerCase()} empty argument`);
}

function atLeastOne(keyword: string, args: string[], ctx: LineContext): string[] {
  if (args.length === 0 || args[0] === '') throw lineError(ctx, 'Missing argument.');
  return args;
}

/** readconf.c parse_flag: yes/true or no/false, plus the keyword's own extra words. */
function flag(keyword: string, args: string[], ctx: LineContext, extra: Record<string, boolean> = {}): boolean {
  const v = single(keyword, args, ctx).toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  if (v in extra) return extra[v]!;
  throw lineError(ctx, `unsupported option "${args[0]}".`);
}

function setFirst<K extends keyof SshOptions>(o: SshOptions, key: K, value: SshOptions[K], ctx: LineContext): void {
  if (ctx.active && o[key] === undefined) o[key] = value;
}

type FlagOption = { [K in keyof SshOptions]-?: SshOptions[K] extends boolean | undefined ? K : never }[keyof SshOptions];

const flagInto =
  (key: FlagOption, extra?: Record<string, boolean>): Apply =>
  (o, args, ctx, kw) =>
    setFirst(o, key, flag(kw, args, ctx, extra), ctx);

const stringInto =
  (key: 'user' | 'hostName'): Apply =>
  (o, args, ctx, kw) =>
    setFirst(o, key, single(kw, args, ctx), ctx);

/** What messages call each list's algorithms (src/algorithms.ts ALGORITHM_CATEGORIES labels). */
const ALGORITHM_LABELS: Readonly<Record<AlgorithmListKind, string>> = {
  ciphers: 'cipher', macs: 'MAC', kexAlgorithms: 'key exchange', hostKeyAlgorithms: 'host key',
};

/**
 * An algorithm list (ssh_config(5) Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms): readconf.c
 * refuses at its line a list naming what OpenSSH does not know (openssh-names.ts: an empty list
 * after `+` or `^`, a pattern, a typo), as a counted bad line; a `-` list is only checked when
 * applied. Names OpenSSH knows but pure-ssh does not implement (openssh-names.ts
 * withoutUnimplemented decides): a list that rule refuses is refused at the line that sets it (the
 * one that applies and comes first), counted with the file's other bad lines, so one run reports
 * them all; otherwise they are left out with a -v line when applied (connect-host.ts
 * offerableAlgorithms). What applying the list finds names this line (`algorithmOrigins`).
 */
const algorithmsInto =
  (key: AlgorithmListKind): Apply =>
  (o, args, ctx, kw) => {
    const written = single(kw, args, ctx);
    const bad = badListMessage(key, written, lineWhere(ctx));
    if (bad !== undefined) throw new ConfigError(bad);
    // Debian's ssh 9.2 takes GSSAPI kex names here and drops them (openssh-names.ts withoutGssKexNames).
    const v = key === 'kexAlgorithms' ? withoutGssKexNames(written) : written;
    // setFirst, keeping where the value came from.
    if (ctx.active && o[key] === undefined) {
      const unimplemented = unimplementedListMessage(key, ALGORITHM_LABELS[key], v);
      if (unimplemented !== undefined) throw lineError(ctx, unimplemented);
      o[key] = v;
      (o.algorithmOrigins ??= {})[key] = lineWhere(ctx);
    }
  };

/**
 * PubkeyAcceptedAlgorithms (alias PubkeyAcceptedKeyTypes): readconf.c checks it as a key type
 * list (sshkey_names_valid2(), "Bad key types"), like HostKeyAlgorithms; names pure-ssh does not
 * implement are refused at the line or left out when applied, as for HostKeyAlgorithms (see
 * algorithmsInto).
 */
const pubkeyAcceptedInto: Apply = (o, args, ctx, kw) => {
  const v = single(kw, args, ctx);
  const bad = badListMessage('hostKeyAlgorithms', v, lineWhere(ctx));
  if (bad !== undefined) throw new ConfigError(bad);
  if (ctx.active && o.pubkeyAcceptedAlgorithms === undefined) {
    const unimplemented = unimplementedListMessage('hostKeyAlgorithms', 'public key', v);
    if (unimplemented !== undefined) throw lineError(ctx, unimplemented);
    o.pubkeyAcceptedAlgorithms = v;
    (o.algorithmOrigins ??= {}).pubkeyAcceptedAlgorithms = lineWhere(ctx);
  }
};

/** PreferredAuthentications: readconf.c parse_string, one word kept as written, first one wins. */
const preferredAuthenticationsInto: Apply = (o, args, ctx, kw) => setFirst(o, 'preferredAuthentications', single(kw, args, ctx), ctx);

const timeInto =
  (key: 'connectTimeout' | 'serverAliveInterval'): Apply =>
  (o, args, ctx, kw) => {
    // readconf.c parse_time: the value's own messages first, then extra arguments.
    const v = args[0] ?? '';
    if (v === '') throw lineError(ctx, 'missing time value.');
    const none = v === 'none'; // strcmp: `NONE` is an invalid time
    const t = none ? 0 : parseTime(v);
    if (t < 0) throw lineError(ctx, 'invalid time value.');
    if (args.length > 1) throw extraArguments(kw, ctx);
    // readconf.c keeps ConnectTimeout `none` (-1, no timeout) apart from 0 (also no timeout):
    // ssh -G prints `none` and `0`.
    setFirst(o, key, none && key === 'connectTimeout' ? -1 : t, ctx);
  };

/**
 * An integer keyword's value, 0 to INT_MAX, as readconf.c parse_int reads it (atoi_err, that is
 * strtonum(s, 0, INT_MAX)) with its messages: "integer value invalid." / "too small." / "too large.".
 */
function intValue(ctx: LineContext, v: string): number {
  if (!/^[-+]?\d+$/.test(v)) throw lineError(ctx, 'integer value invalid.');
  const n = Number(v);
  if (n < 0) throw lineError(ctx, 'integer value too small.');
  if (n > 2147483647) throw lineError(ctx, 'integer value too large.');
  return n;
}

const numberInto =
  (key: 'serverAliveCountMax' | 'numberOfPasswordPrompts' | 'connectionAttempts'): Apply =>
  (o, args, ctx, kw) => {
    setFirst(o, key, intValue(ctx, single(kw, args, ctx)), ctx);
  };

const STRICT_HOST_KEY_CHECKING: Record<string, StrictHostKeyChecking> = {
  yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', 'accept-new': 'accept-new', ask: 'ask',
};

/**
 * `Host`, `Match` and `Include` shape the file; readConfig handles them, never a `-o`.
 * readconf.c words it without the `command-line line 0` prefix, and says "Host" for `Match` too.
 */
const directive: Apply = (_o, _args, _ctx, kw) => {
  throw new ConfigError(`${kw.toLowerCase() === 'include' ? 'Include' : 'Host'} directive not supported as a command-line option`);
};

/**
 * readconf.c oRekeyLimit: `default` or a scan_scaled amount (0 = default; 1 to 15 and negative
 * amounts are "too small"), then optionally the time: `none` (which leaves it unset), or a
 * convtime value set on its own, first one wins, whichever line set the amount. `default` and
 * `none` are matched case-sensitively, as strcmp does.
 */
const applyRekeyLimit: Apply = (o, args, ctx, kw) => {
  const v = atLeastOne(kw, args, ctx)[0]!;
  let bytes = 0n;
  if (v !== 'default') {
    const r = scanScaled(v);
    if (typeof r === 'string') throw lineError(ctx, `Bad number '${v}': ${SCAN_SCALED_STRERROR[r]}`);
    if (r !== 0n && r < 16n) throw lineError(ctx, 'RekeyLimit too small');
    bytes = r;
  }
  setFirst(o, 'rekeyLimit', bytes, ctx);
  if (args.length === 1) return;
  if (args[1] === 'none') {
    if (args.length > 2) throw extraArguments(kw, ctx);
    return;
  }
  // readconf.c parse_time's messages.
  if (args[1] === '') throw lineError(ctx, 'missing time value.');
  const t = parseTime(args[1]!);
  if (t < 0) throw lineError(ctx, 'invalid time value.');
  if (args.length > 2) throw extraArguments(kw, ctx);
  setFirst(o, 'rekeyLimitSeconds', t, ctx);
};

const applyLocalForward: Apply = (o, args, ctx, kw) => {
  // readconf.c: "LocalForward [bind:]port host:hostport" → the two joined with ':'.
  if (args.length < 1 || args[0] === '') throw lineError(ctx, 'Missing port argument.');
  if (args.length < 2 || args[1] === '') throw lineError(ctx, 'Missing target argument.');
  if (args.length > 2) throw extraArguments(kw, ctx);
  const spec = forwardText(`${args[0]}:${args[1]}`, ctx);
  const fwd = spec.value === undefined ? null : parseForwardSpec(spec.value);
  if (!fwd) throw badForward(spec.errors, ctx);
  if (ctx.active) addLocalForward(o, fwd, false);
};

const applyRemoteForward: Apply = (o, args, ctx, kw) => {
  // readconf.c: "RemoteForward [bind:]port host:hostport" → joined with ':'; one argument is the
  // SOCKS form (reverse dynamic forwarding, parse_forward with dynamicfwd set for -R).
  if (args.length < 1 || args[0] === '') throw lineError(ctx, 'Missing port argument.');
  if (args.length > 2) throw extraArguments(kw, ctx);
  const spec = forwardText(args.join(':'), ctx);
  if (args.length === 1) {
    const socks = spec.value === undefined ? null : parseDynamicForwardSpec(spec.value, true);
    if (!socks || 'path' in socks) throw badForward(spec.errors, ctx);
    if (ctx.active) addForward(o.remoteForwards, { listen: socks, to: { ...REMOTE_SOCKS_TARGET } });
    return;
  }
  const fwd = spec.value !== undefined ? parseForwardSpec(spec.value, true) : null;
  if (!fwd) throw badForward(spec.errors, ctx);
  if (ctx.active) addForward(o.remoteForwards, fwd);
};

const applyDynamicForward: Apply = (o, args, ctx, kw) => {
  if (args.length < 1 || args[0] === '') throw lineError(ctx, 'Missing port argument.');
  if (args.length > 1) throw extraArguments(kw, ctx);
  const spec = forwardText(args[0]!, ctx);
  // readconf.c parse_forward: `port:/path` here is a local forward to the server's socket.
  const local = spec.value === undefined ? null : dynamicAsLocalForward(spec.value);
  if (local) {
    if (ctx.active) addLocalForward(o, local, false);
    return;
  }
  const fwd = spec.value === undefined ? null : parseDynamicForwardSpec(spec.value);
  if (!fwd) throw badForward(spec.errors, ctx);
  if (ctx.active) addLocalForward(o, fwd, true);
};

/** readconf.c parse_forward: `${VAR}` expanded before the fields are read (tokens.ts dollarExpand). */
function forwardText(text: string, ctx: LineContext): { value: string | undefined; errors: string[] } {
  return dollarExpand(text, ctx.env ?? {});
}

/**
 * readconf.c oIdentityAgent: the value's `${VAR}` are checked at its line, whether or not it
 * applies (misc.c's line about the variable, then `Invalid environment expansion VALUE.`).
 */
const applyIdentityAgent: Apply = (o, args, ctx, kw) => {
  const v = single(kw, args, ctx);
  const { errors } = dollarExpand(v, ctx.env ?? {});
  if (errors.length > 0) throw new ConfigError([...errors, lineError(ctx, `Invalid environment expansion ${v}.`).message].join('\n'));
  setFirst(o, 'identityAgent', v, ctx);
};

/**
 * readconf.c oForwardAgent: yes/no (true/false), or else a socket path, checked at its line whether
 * or not it applies: its `${VAR}` must expand (misc.c's line about the variable, then `Invalid
 * environment expansion VALUE.`) and the legacy `$NAME` form must be a valid name (misc.c
 * valid_env_name: letters, digits and `_`). A path on a line that applies is kept when none was
 * (parse_agent_path: `*activep && *charptr == NULL`), even after a `ForwardAgent no`.
 */
const forwardAgentCheck = (args: string[], ctx: LineContext, kw: string, o: SshOptions): void => {
  const v = args[0] ?? '';
  if (v === '') throw lineError(ctx, 'missing argument.');
  if (!['yes', 'no', 'true', 'false'].includes(v.toLowerCase())) {
    const { errors } = dollarExpand(v, ctx.env ?? {});
    if (errors.length > 0) throw new ConfigError([...errors, lineError(ctx, `Invalid environment expansion ${v}.`).message].join('\n'));
    if (v[0] === '$' && v[1] !== '{' && !/^[A-Za-z0-9_]+$/.test(v.slice(1))) throw lineError(ctx, `Invalid environment name ${v}.`);
    if (ctx.active) o.forwardAgentSockPath ??= v;
  }
  if (args.length > 1) throw extraArguments(kw, ctx);
};

/** readconf.c: a *Forward line parse_forward refused, after misc.c's lines about variables. */
function badForward(errors: string[], ctx: LineContext): ConfigError {
  return new ConfigError([...errors, lineError(ctx, 'Bad forwarding specification.').message].join('\n'));
}

const applySessionType: Apply = (o, args, ctx, kw) => {
  const v = single(kw, args, ctx).toLowerCase();
  if (v === 'none' || v === 'default') return setFirst(o, 'sessionType', v, ctx);
  if (v === 'subsystem') {
    if (ctx.active) {
      throw lineError(ctx, `unsupported option "SessionType subsystem": pure-ssh does not implement it yet (subsystems such as sftp need a session)`);
    }
    return;
  }
  throw lineError(ctx, `unsupported option "${args[0]}".`);
};

/** readconf.c oProxyJump / parse_jump: ignored once ProxyCommand or ProxyJump was obtained. */
const applyProxyJump: Apply = (o, args, ctx, kw) => {
  // readconf.c parse_jump: a `#` ends the value, trailing whitespace goes. (ssh 9.2 and 10.0 cut
  // at the first blank instead, misc.c's rtrim bug fixed in 10.1, and so quietly drop the hops
  // after it; pure-ssh trims as 10.1 does and names a blank inside a hop below.)
  const commandLine = ctx.source === 'command-line';
  // readconf.c oProxyJump takes the rest of the line as written (quotes included), not a word;
  // from the command line (-o) pure-ssh does too, so parse_jump's check names a blank hop.
  const raw = commandLine && ctx.rest !== undefined
    ? (args.length === 0 || args[0] === '' ? single(kw, args, ctx) : ctx.rest.replace(/^[\s=]+/, ''))
    : single(kw, args, ctx);
  const text = raw.replace(/#.*$/s, '').replace(/\s+$/, '');
  const hops = parseJumpSpec(text, commandLine);
  if (!hops) throw lineError(ctx, `Invalid ProxyJump "${raw}"`);
  // readconf.c parse_jump as Debian 12's ssh 9.2 has it (the CVE-2023-51385 fix): from the
  // command line (-o, -J) every hop, last first, must be a valid host and user name, whether or
  // not the option takes effect; a config file's hops are checked only by the hop's own ssh.
  if (hops !== 'none' && commandLine) {
    for (const hop of [...hops].reverse()) {
      const bad = !validCommandLineHost(hop.host)
        ? `invalid hostname "${hop.host}"`
        : hop.user !== undefined && !validCommandLineUser(hop.user)
          ? `invalid username "${hop.user}"`
          : undefined;
      if (bad !== undefined) throw new ConfigError(`parse_jump: ${bad}\n${lineError(ctx, `Invalid ProxyJump "${raw}"`).message}`);
    }
  }
  // readconf.c parse_jump keeps the hops before the last one as written (jump_extra), which is
  // what ssh -G prints for them.
  const comma = text.lastIndexOf(',');
  const extra = comma > 0 ? text.slice(0, comma) : undefined;
  setFirst(o, 'proxy', hops === 'none' ? { kind: 'none', via: 'ProxyJump' } : { kind: 'jump', hops, ...(extra !== undefined ? { extra } : {}) }, ctx);
};

/**
 * readconf.c oProxyCommand (parse_command): the rest of the line as written, quotes and all, for
 * /bin/sh; ignored once ProxyJump was obtained.
 */
const applyProxyCommand: Apply = (o, args, ctx, kw) => {
  atLeastOne(kw, args, ctx);
  // Leading whitespace and `=` skipped (strspn(str, WHITESPACE "=")); callers without the raw
  // text (the library's option objects) get the arguments joined.
  const command = (ctx.rest ?? args.join(' ')).replace(/^[\s=]+/, '');
  // sshconnect.c ssh_connect: `-` is no command but the SSH connection on ssh's own standard
  // input and output (dup'ed), which pure-ssh does not provide: refused where it is the value
  // obtained, rather than run as a shell command (`exec -`).
  if (command === '-' && ctx.active && o.proxy === undefined) {
    throw lineError(ctx, 'unsupported option "ProxyCommand -": pure-ssh does not implement it yet (it carries the connection on standard input and output)');
  }
  setFirst(o, 'proxy', command.toLowerCase() === 'none' ? { kind: 'none', via: 'ProxyCommand' } : { kind: 'command', command }, ctx);
};

/**
 * readconf.c oUserKnownHostsFile / oGlobalKnownHostsFile: one or more files, none of them `""`,
 * and `none` ("Allow "none" only in first position") only alone.
 */
const knownHostsFilesInto =
  (key: 'userKnownHostsFiles' | 'globalKnownHostsFiles'): Apply =>
  (o, args, ctx, kw) => {
    noEmptyArgument(kw, args, ctx);
    if (args.length > 1 && args.some((a) => a.toLowerCase() === 'none')) {
      throw lineError(ctx, `keyword ${kw.toLowerCase()} "none" argument must appear alone.`);
    }
    setFirst(o, key, [...atLeastOne(kw, args, ctx)], ctx);
  };

/** readconf.c multistate_canonicalizehostname. */
const CANONICALIZE_HOSTNAME: Record<string, CanonicalizeMode> = { yes: 'yes', true: 'yes', no: 'no', false: 'no', always: 'always' };

/** readconf.c oCanonicalDomains: domains checked by misc.c valid_domain; `none` only alone. */
const applyCanonicalDomains: Apply = (o, args, ctx, kw) => {
  noEmptyArgument(kw, args, ctx);
  const domains: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg.toLowerCase() === 'none' && (i > 0 || args.length > 1)) {
      throw lineError(ctx, `keyword ${kw} "none" argument must appear alone.`);
    }
    const v = validDomain(arg);
    if ('error' in v) throw lineError(ctx, v.error);
    domains.push(v.domain);
  }
  if (domains.length === 0) throw lineError(ctx, `no ${kw} specified`);
  setFirst(o, 'canonicalDomains', domains, ctx);
};

/** readconf.c oCanonicalizePermittedCNAMEs: `none` alone, `*`, or `source_list:target_list` (lowercased). */
const applyPermittedCnames: Apply = (o, args, ctx, kw) => {
  const rules: PermittedCname[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg.toLowerCase() === 'none') {
      if (i > 0 || args.length > 1) throw lineError(ctx, `keyword ${kw} "none" argument must appear alone.`);
      rules.push({ source: arg, target: '' });
    } else if (arg === '*') {
      rules.push({ source: '*', target: '*' });
    } else {
      const lower = arg.toLowerCase();
      const colon = lower.indexOf(':');
      if (colon < 0 || colon === lower.length - 1) throw lineError(ctx, `Invalid permitted CNAME "${lower}"`);
      rules.push({ source: lower.slice(0, colon), target: lower.slice(colon + 1) });
    }
  }
  if (rules.length === 0) throw lineError(ctx, `no ${kw} specified`);
  setFirst(o, 'canonicalizePermittedCnames', rules, ctx);
};

// ---- readconf.c's checks of the keywords pure-ssh refuses or ignores --------------------------
// readconf.c parses every line's value, whether or not the line applies, and counts a bad one
// among the file's bad lines: a refused or ignored keyword's value is checked the same way, so
// one run reports every bad line of a file as ssh does.

type Check = (args: string[], ctx: LineContext, keyword: string) => void;

/** readconf.c parse_string: one word. */
const oneWord: Check = (args, ctx, kw) => void single(kw, args, ctx);

/** readconf.c parse_flag. */
const flagValue: Check = (args, ctx, kw) => void flag(kw, args, ctx);

/** readconf.c parse_multistate with one of its tables (multistate_yesnoask, _controlmaster, ...). */
const multistate =
  (...words: string[]): Check =>
  (args, ctx, kw) => {
    const v = single(kw, args, ctx).toLowerCase();
    if (v !== 'yes' && v !== 'no' && v !== 'true' && v !== 'false' && !words.includes(v)) throw lineError(ctx, `unsupported option "${args[0]}".`);
  };

/** readconf.c parse_int (atoi_err). */
const intCheck: Check = (args, ctx, kw) => void intValue(ctx, single(kw, args, ctx));

/** readconf.c parse_time: `none` or a convtime value. */
const timeCheck: Check = (args, ctx, kw) => {
  const v = args[0] ?? '';
  if (v === '') throw lineError(ctx, 'missing time value.');
  if (v !== 'none' && parseTime(v) < 0) throw lineError(ctx, 'invalid time value.');
  if (args.length > 1) throw extraArguments(kw, ctx);
};

/** readconf.c oControlPersist: yes/true, no/false (as written: strcmp) or a convtime value. */
const controlPersistCheck: Check = (args, ctx, kw) => {
  const v = args[0] ?? '';
  if (v === '') throw lineError(ctx, 'Missing ControlPersist argument.');
  if (!['yes', 'true', 'no', 'false'].includes(v) && parseTime(v) < 0) throw lineError(ctx, 'Bad ControlPersist argument.');
  if (args.length > 1) throw extraArguments(kw, ctx);
};

/** misc.c ipqos[]: the names parse_ipqos takes (strcasecmp), besides a number 0 to 255. */
const IPQOS_NAMES = new Set([
  'none', 'af11', 'af12', 'af13', 'af21', 'af22', 'af23', 'af31', 'af32', 'af33', 'af41', 'af42', 'af43',
  'cs0', 'cs1', 'cs2', 'cs3', 'cs4', 'cs5', 'cs6', 'cs7', 'ef', 'le', 'lowdelay', 'throughput', 'reliability',
]);

/** misc.c parse_ipqos: a name, or strtol(s, 0) of the whole word (decimal, 0x hex, 0 octal) in 0..255. */
function ipqosValid(v: string): boolean {
  if (IPQOS_NAMES.has(v.toLowerCase())) return true;
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(v);
  if (m === null) return false;
  const digits = m[2]!;
  const n = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.startsWith('0') ? parseInt(digits, 8) : Number(digits);
  return (m[1] === '-' ? -n : n) >= 0 && n <= 255;
}

/** readconf.c oIPQoS: one or two values (interactive, bulk). */
const ipqosCheck: Check = (args, ctx, kw) => {
  for (const v of args.slice(0, 2)) if (!ipqosValid(v)) throw lineError(ctx, `Bad IPQoS value: ${v}`);
  if (args.length > 2) throw extraArguments(kw, ctx);
};

/**
 * readconf.c oEscapeChar and ssh.c -e: `none`, one byte (that byte), or `^` and a byte from @ to
 * DEL (that byte & 31: a control character); undefined for anything else ("Bad escape character").
 *
 * @example
 * escapeCharValue('~'); // 126
 * escapeCharValue('^A'); // 1
 * escapeCharValue('ab'); // undefined
 */
export function escapeCharValue(text: string): number | 'none' | undefined {
  if (text === 'none') return 'none';
  // A byte that is no UTF-8 (`-e $'\xe9'`), kept as U+DC00 + byte (log-text.ts; node/raw-argv.ts,
  // the configuration files' reading): that one byte, as ssh takes it.
  const raw = rawByteOf(text);
  if (raw !== undefined) return raw;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length === 1) return bytes[0]!;
  if (bytes.length === 2 && bytes[0] === 0x5e && bytes[1]! >= 64 && bytes[1]! < 128) return bytes[1]! & 31;
  return undefined;
}

/**
 * readconf.c dump_client_config's escape character: `none`, else the byte through vis(3) with
 * VIS_WHITE (openbsd-compat/vis.c): a graphic ASCII byte as it is, a backslash doubled, a blank
 * (0x20, 0xa0) in octal, other bytes as `\^X`, `\M^X` or `\M-X`.
 *
 * @example
 * escapeCharText(0x7e); // '~'
 * escapeCharText(1); // '\\^A'
 */
export function escapeCharText(value: number | 'none'): string {
  if (value === 'none') return 'none';
  if (value === 0x5c) return '\\\\';
  if (value > 0x20 && value < 0x7f) return String.fromCharCode(value);
  if ((value & 0x7f) === 0x20) return `\\${value.toString(8).padStart(3, '0')}`;
  const c = value & 0x7f;
  const meta = value & 0x80 ? 'M' : '';
  if (c < 0x20 || c === 0x7f) return `\\${meta}^${c === 0x7f ? '?' : String.fromCharCode(c + 0x40)}`;
  return `\\${meta}-${String.fromCharCode(c)}`;
}

/**
 * readconf.c oFingerprintHash: digest.c ssh_digest_alg_by_name (strcasecmp), any digest it knows
 * (the manual names md5 and sha256); the first line obtained wins.
 */
const fingerprintHashInto: Apply = (o, args, ctx, kw) => {
  const v = single(kw, args, ctx);
  const name = v.toLowerCase();
  if (!['md5', 'sha1', 'sha256', 'sha384', 'sha512'].includes(name)) throw lineError(ctx, `Invalid hash algorithm "${v}".`);
  setFirst(o, 'fingerprintHash', name as FingerprintHashName, ctx);
};

/** readconf.c oStreamLocalBindMask: strtol(s, 8) reading at least one digit, 0 to 0777. */
const bindMaskCheck: Check = (args, ctx, kw) => {
  const v = args[0] ?? '';
  if (v === '') throw lineError(ctx, 'Missing StreamLocalBindMask argument.');
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-7]+)/.exec(v);
  const n = m === null ? -1 : (m[1] === '-' ? -1 : 1) * parseInt(m[2]!, 8);
  if (m === null || n < 0 || n > 0o777) throw lineError(ctx, 'Bad mask.');
  if (args.length > 1) throw extraArguments(kw, ctx);
};

/** misc.c a2tun: `any` or strtonum(s, 0, SSH_TUNID_MAX); `local:remote` both so. */
const tunnelDeviceCheck: Check = (args, ctx, kw) => {
  const v = single(kw, args, ctx);
  const one = (s: string) => s.toLowerCase() === 'any' || (/^[ \t\n\v\f\r]*\+?\d+$/.test(s) && Number(s) <= 0x7ffffffd);
  const colon = v.indexOf(':');
  if (!(colon < 0 ? one(v) : one(v.slice(0, colon)) && one(v.slice(colon + 1)))) throw lineError(ctx, 'Bad tun device.');
};

/** readconf.c oAddKeysToAgent: yes/no/ask/confirm (with an optional time after confirm) or a time. */
const addKeysToAgentCheck: Check = (args, ctx, kw) => {
  const [v = '', time] = args;
  const word = ['yes', 'no', 'true', 'false', 'ask', 'confirm'].includes(v.toLowerCase()) ? v.toLowerCase() : undefined;
  // parse_multistate_value says "missing argument." first, then the keyword's own line.
  const missing = v === '' ? `${lineError(ctx, 'missing argument.').message}\n` : '';
  if (word === 'confirm' && time !== undefined) {
    if (parseTime(time) < 0) throw lineError(ctx, 'invalid time value.');
  } else if (word === undefined && time === undefined) {
    if (parseTime(v) < 0) throw new ConfigError(`${missing}${lineError(ctx, 'unsupported option').message}`);
  } else if (word === undefined || time !== undefined) {
    throw new ConfigError(`${missing}${lineError(ctx, 'unsupported option').message}`);
  }
  if (args.length > 2) throw extraArguments(kw, ctx);
};

/** readconf.c oSendEnv: names, not empty and without `=`. */
const sendEnvCheck: Check = (args, ctx) => {
  if (args.some((a) => a === '' || a.includes('='))) throw lineError(ctx, 'Invalid environment name.');
};

/** readconf.c oSetEnv: NAME=VALUE words. */
const setEnvCheck: Check = (args, ctx) => {
  if (args.some((a) => !a.includes('='))) throw lineError(ctx, 'Invalid SetEnv.');
};

/** log.c log_facility_number (strcasecmp); readconf.c prints `<NONE>` for a missing value. */
const syslogFacilityCheck: Check = (args, ctx, kw) => {
  const v = args[0];
  const names = ['daemon', 'user', 'auth', 'authpriv', ...Array.from({ length: 8 }, (_, i) => `local${i}`)];
  if (v === undefined || !names.includes(v.toLowerCase())) throw lineError(ctx, `unsupported log facility '${v ?? '<NONE>'}'`);
  if (args.length > 1) throw extraArguments(kw, ctx);
};

/** readconf.c oLogVerbose: words, none of them empty, `none` only alone. */
const logVerboseCheck: Check = (args, ctx, kw) => {
  noEmptyArgument(kw, args, ctx);
  if (args.length > 1 && args.some((a) => a.toLowerCase() === 'none')) throw lineError(ctx, `keyword ${kw.toLowerCase()} "none" argument must appear alone.`);
};

/**
 * Debian's readconf.c oGssKexAlgorithms (kex_gss_names_valid): each name, up to the first empty
 * one, starts with a GSSAPI key exchange prefix; no `+`, `-` or `^` form.
 */
const gssKexCheck: Check = (args, ctx, kw) => {
  const v = single(kw, args, ctx);
  for (const name of v.split(',')) {
    if (name === '') break;
    if (isGssKexName(name)) continue;
    throw new ConfigError(`Unsupported KEX algorithm "${name}"\n${lineWhere(ctx)}: Bad GSSAPI KexAlgorithms '${v}'.`);
  }
};

/**
 * readconf.c oPermitRemoteOpen: `any` or `none` alone, else host:port words (the port a number
 * or `*`). A bad one is fatal() there, the rest of the file unread.
 */
const permitRemoteOpenCheck: Check = (args, ctx, kw) => {
  const name = kw.toLowerCase();
  for (const [i, a] of args.entries()) {
    if (a.toLowerCase() === 'none' || a.toLowerCase() === 'any') {
      if (i > 0 || args.length > 1) throw lineError(ctx, `keyword ${name} "${a}" argument must appear alone.`);
      continue;
    }
    // misc.c hpdelim: the host ends at ':' (a '/' there is refused too), `[v6]` in brackets.
    const close = a.startsWith('[') ? a.indexOf(']') : -1;
    const at = a.startsWith('[') ? (close < 0 ? -1 : close + 1) : a.search(/[:/]|$/);
    const delim = at < 0 ? 'x' : a[at];
    if (delim !== undefined && delim !== ':') throw fatalLineError(ctx, `missing host in ${name}`);
    const port = delim === undefined ? undefined : a.slice(at + 1);
    if (port === undefined || (port !== '*' && parsePort(port) <= 0)) throw fatalLineError(ctx, `bad port number in ${name}`);
  }
};

/**
 * ssh.c ssh_init_forward_permissions on PermitRemoteOpen's words (readconf.c kept them as given):
 * nothing or `any` alone = any destination (undefined); `none` alone = none (`[]`); else each
 * host:port (misc.c hpdelim, then cleanhostname drops `[ ]`; port a number or `*`). `any`/`none`
 * count only in lower case there: `ANY` is a host without a port, which ssh.c fatal()s on.
 */
export function permitRemoteOpenEntries(words: readonly string[]): { host: string; port: number | '*' }[] | undefined | { error: string } {
  if (words.length === 0 || (words.length === 1 && words[0] === 'any')) return undefined;
  if (words.length === 1 && words[0] === 'none') return [];
  const out: { host: string; port: number | '*' }[] = [];
  for (const a of words) {
    const close = a.startsWith('[') ? a.indexOf(']') : -1;
    const at = a.startsWith('[') ? (close < 0 ? -1 : close + 1) : a.search(/[:/]|$/);
    const delim = at < 0 ? 'x' : a[at];
    if (delim !== undefined && delim !== ':') return { error: 'missing host in permitremoteopen' };
    const portWord = delim === undefined ? undefined : a.slice(at + 1);
    const port = portWord === '*' ? '*' : portWord === undefined ? -1 : parsePort(portWord);
    if (port !== '*' && port <= 0) return { error: 'bad port number in permitremoteopen' };
    const host = a.slice(0, at);
    out.push({ host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port });
  }
  return out;
}

// ---- the table ------------------------------------------------------------------------------

const implemented = (name: string, apply: Apply, origin?: Origin): KeywordEntry => ({ name, handling: 'implemented', apply, origin });
/** An entry for a keyword pure-ssh does not implement: refused (an error) or ignored (a -v line). */
const notImplemented =
  (handling: 'refused' | 'ignored') =>
  (
    name: string,
    reason: string,
    noop?: readonly string[],
    origin?: Origin,
    check?: (args: string[], ctx: LineContext, keyword: string, o: SshOptions) => void,
  ): KeywordEntry => ({ name, handling, reason, noop, origin, check });
const refused = notImplemented('refused');
const ignored = notImplemented('ignored');

/** readconf.c sshkey_names_valid2() on a key type list (`+`, `-`, `^` as for HostKeyAlgorithms). */
const keyTypeList = (args: string[], ctx: LineContext, keyword: string): void => {
  const v = single(keyword, args, ctx);
  const bad = badListMessage('hostKeyAlgorithms', v, lineWhere(ctx));
  if (bad !== undefined) throw new ConfigError(bad);
};
const deprecated = (name: string, reason: string, openssh: 'Deprecated' | 'Unsupported' = 'Deprecated', origin?: Origin): KeywordEntry => ({
  name, handling: 'deprecated', reason, openssh, origin,
});

/** Why a session's keyword (and -e) changes nothing here. */
export const SESSION_ONLY = 'it applies to sessions, and pure-ssh opens none, like ssh -N';
const NO_GSSAPI = 'it only applies to GSSAPI, which pure-ssh does not implement';
const NO_MULTIPLEXING = 'connections are not shared: each run makes its own';
const NO_X11 = 'X11 forwarding is requested on a session, and pure-ssh opens none, like ssh -N';
const SSH1 = 'SSH protocol 1 only';

const ROWS: readonly KeywordEntry[] = [
  // Structure of the file (ssh_config(5) Host, Match, Include), handled by readConfig.
  implemented('Host', directive),
  implemented('Match', directive),
  implemented('Include', directive),

  // Implemented.
  implemented('AddressFamily', (o, args, ctx, kw) => {
    const v = single(kw, args, ctx).toLowerCase();
    if (v !== 'any' && v !== 'inet' && v !== 'inet6') throw lineError(ctx, `unsupported option "${args[0]}".`);
    setFirst(o, 'addressFamily', v, ctx);
  }),
  implemented('BatchMode', flagInto('batchMode')),
  // ssh_config(5) CanonicalizeHostname and its family: canonicalize.ts does what they ask.
  implemented('CanonicalDomains', applyCanonicalDomains),
  implemented('CanonicalizeFallbackLocal', flagInto('canonicalizeFallbackLocal')),
  implemented('CanonicalizeHostname', (o, args, ctx, kw) => {
    const v = single(kw, args, ctx).toLowerCase();
    if (!(v in CANONICALIZE_HOSTNAME)) throw lineError(ctx, `unsupported option "${args[0]}".`);
    setFirst(o, 'canonicalizeHostname', CANONICALIZE_HOSTNAME[v], ctx);
  }),
  implemented('CanonicalizeMaxDots', (o, args, ctx, kw) => {
    setFirst(o, 'canonicalizeMaxDots', intValue(ctx, single(kw, args, ctx)), ctx);
  }),
  implemented('CanonicalizePermittedCNAMEs', applyPermittedCnames),
  implemented('Ciphers', algorithmsInto('ciphers')),
  // Cumulative like IdentityFile (readconf.c add_certificate_file()). `none` is no keyword here:
  // ssh 9.2 and 10 keep it as a file name (-G prints `certificatefile none`; once connected a
  // file `none` is looked for and, missing, passed over), and, a CertificateFile being given, no
  // `IDENTITY-cert` is looked for.
  implemented('CertificateFile', (o, args, ctx, kw) => {
    const path = single(kw, args, ctx);
    if (ctx.active && !o.certificateFiles?.includes(path)) (o.certificateFiles ??= []).push(path);
  }),
  implemented('ClearAllForwardings', flagInto('clearAllForwardings')),
  // readconf.c multistate_compression: yes or no only.
  implemented('Compression', flagInto('compression')),
  implemented('ConnectTimeout', timeInto('connectTimeout')),
  // readconf.c oConnectionAttempts (parse_int); sshconnect.c ssh_connect_direct tries the TCP
  // connect this many times, one second apart (ssh.c refuses 0 once the options are read).
  implemented('ConnectionAttempts', numberInto('connectionAttempts')),
  implemented('ExitOnForwardFailure', flagInto('exitOnForwardFailure')),
  implemented('ForkAfterAuthentication', flagInto('forkAfterAuthentication')),
  // ssh_config(5) StdinNull (-n): a session's input from /dev/null. pure-ssh opens no session;
  // -W reads standard input whatever it says, as ssh.c ssh_init_stdio_forwarding does.
  implemented('StdinNull', flagInto('stdinNull')),
  implemented('GatewayPorts', flagInto('gatewayPorts')),
  implemented('GlobalKnownHostsFile', knownHostsFilesInto('globalKnownHostsFiles')),
  implemented('HashKnownHosts', flagInto('hashKnownHosts')),
  // sshconnect.c check_host_key: the random art with the host key's fingerprint.
  implemented('VisualHostKey', flagInto('visualHostKey')),
  // sshkey_fingerprint(key, options.fingerprint_hash, ...) wherever ssh(1) writes a fingerprint.
  implemented('FingerprintHash', fingerprintHashInto),
  implemented('HostKeyAlgorithms', algorithmsInto('hostKeyAlgorithms')),
  implemented('PubkeyAcceptedAlgorithms', pubkeyAcceptedInto),
  // ssh_config(5) CASignatureAlgorithms: readconf.c parse_pubkey_algos (a key type list, "Bad key
  // types"), the first line obtained wins; applied by cli-args.ts (applyCaSignatureSpec, or ssh
  // 9.2's error line and no restriction when it leaves nothing) and used by the host key check
  // (sshconnect.c check_host_key, sshkey_cert_check_host).
  implemented('CASignatureAlgorithms', (o, args, ctx, kw) => {
    const v = single(kw, args, ctx);
    // sshkey_names_valid2() also takes a negated name that matches a known type (its
    // match_pattern_list() is -1 then), which kex_assemble_names() refuses afterwards.
    const op = v[0] === '+' || v[0] === '^' ? v[0] : '';
    const unnegated = op + v.slice(op.length).split(',').map((n) => n.replace(/^!/, '')).join(',');
    if (badListMessage('hostKeyAlgorithms', unnegated, lineWhere(ctx)) !== undefined) keyTypeList(args, ctx, kw);
    setFirst(o, 'caSignatureAlgorithms', v, ctx);
  }),
  // ssh_config(5) HostKeyAlias: known_hosts lookups and writes use this name (lowercased, ssh.c).
  // readconf.c oTag: a string, the first one obtained wins; only `Match tagged` reads it.
  implemented('Tag', (o, args, ctx, kw) => setFirst(o, 'tag', single(kw, args, ctx), ctx)),
  implemented('HostKeyAlias', (o, args, ctx, kw) => setFirst(o, 'hostKeyAlias', single(kw, args, ctx), ctx)),
  implemented('Hostname', stringInto('hostName')),
  // ssh_config(5): only the agent keys that match an IdentityFile are offered.
  implemented('IdentitiesOnly', flagInto('identitiesOnly')),
  implemented('IdentityAgent', applyIdentityAgent),
  // readconf.c add_identity_file: cumulative, a path already listed is not added again.
  implemented('IdentityFile', (o, args, ctx, kw) => {
    const path = single(kw, args, ctx);
    if (ctx.active && !o.identityFiles.includes(path)) o.identityFiles.push(path);
  }),
  implemented('IgnoreUnknown', (o, args, ctx, kw) => setFirst(o, 'ignoreUnknown', single(kw, args, ctx).split(','), ctx)),
  implemented('KbdInteractiveAuthentication', flagInto('kbdInteractiveAuthentication')),
  implemented('PreferredAuthentications', preferredAuthenticationsInto),
  implemented('KexAlgorithms', algorithmsInto('kexAlgorithms')),
  // OpenSSH 10.1 ssh_config(5): yes (default), no; no-pq-kex turns off the post-quantum warning.
  implemented('WarnWeakCrypto', flagInto('warnWeakCrypto', { 'no-pq-kex': false })),
  implemented('LocalForward', applyLocalForward),
  implemented('RemoteForward', applyRemoteForward),
  implemented('DynamicForward', applyDynamicForward),
  implemented('LogLevel', (o, args, ctx, kw) => {
    let v = single(kw, args, ctx).toUpperCase();
    if (v === 'DEBUG') v = 'DEBUG1';
    if (!(LOG_LEVELS as readonly string[]).includes(v)) throw lineError(ctx, `unsupported log level '${args[0]}'`);
    setFirst(o, 'logLevel', v as LogLevel, ctx);
  }),
  implemented('MACs', algorithmsInto('macs')),
  implemented('NumberOfPasswordPrompts', numberInto('numberOfPasswordPrompts')),
  implemented('PasswordAuthentication', flagInto('passwordAuthentication')),
  implemented('ProxyCommand', applyProxyCommand),
  // readconf.c oProxyUseFdpass (parse_flag), first value wins. sshconnect.c uses it only to run a
  // ProxyCommand (not `-`, never for ProxyJump): pure-ssh cannot receive the descriptor the
  // command passes back (SCM_RIGHTS; Node has no API for it), so `yes` is refused where it would
  // be used, naming this line (cli-args.ts), and is otherwise what ssh does: nothing.
  implemented('ProxyUseFdpass', (o, args, ctx, kw) => {
    const value = flag(kw, args, ctx);
    if (ctx.active && o.proxyUseFdpass === undefined) o.proxyUseFdpass = { value, where: lineWhere(ctx) };
  }),
  implemented('ProxyJump', applyProxyJump),
  // readconf.c oEscapeChar: the first value obtained (ssh.c's -e beats it: cli-args.ts). pure-ssh
  // opens no session, so no escape is ever read: ssh -G's line, and a -v line (cli-args.ts).
  implemented('EscapeChar', (o, args, ctx, kw) => {
    const value = escapeCharValue(single(kw, args, ctx));
    if (value === undefined) throw lineError(ctx, 'Bad escape character.');
    if (ctx.active && o.escapeChar === undefined) o.escapeChar = { value, where: lineWhere(ctx) };
  }),
  implemented('Port', (o, args, ctx, kw) => {
    const p = parsePort(single(kw, args, ctx));
    if (p <= 0) throw lineError(ctx, `Bad port '${args[0]}'.`);
    setFirst(o, 'port', p, ctx);
  }),
  // readconf.c multistate_pubkey_auth (OpenSSH 8.9+): yes/true, no/false, unbound, host-bound.
  implemented('PubkeyAuthentication', (o, args, ctx, kw) => {
    const v = single(kw, args, ctx).toLowerCase();
    const value = v === 'unbound' || v === 'host-bound' ? v : flag(kw, args, ctx);
    setFirst(o, 'pubkeyAuthentication', value, ctx);
  }),
  // ssh_config(5): "terminate the connection with the given message" when the line applies
  // (readconf.c: fatal() at once, the rest of the file unread).
  implemented('RefuseConnection', (_o, args, ctx, kw) => {
    const message = single(kw, args, ctx);
    if (ctx.active) throw fatalLineError(ctx, `RefuseConnection: ${message}`);
  }),
  implemented('RekeyLimit', applyRekeyLimit),
  // ssh_config(5) RequiredRSASize: readconf.c parse_int, first value wins; applied to the host
  // key and the identities by connect() (client.ts requiredRsaSize).
  implemented('RequiredRSASize', (o, args, ctx, kw) => setFirst(o, 'requiredRsaSize', intValue(ctx, single(kw, args, ctx)), ctx)),
  implemented('ServerAliveCountMax', numberInto('serverAliveCountMax')),
  implemented('ServerAliveInterval', timeInto('serverAliveInterval')),
  implemented('SessionType', applySessionType),
  // ssh_config(5) StreamLocalBindUnlink: channels.c channel_setup_fwd_listener_streamlocal hands
  // it to misc.c unix_listener, which unlinks the path before bind(2) (cli.ts). Only for this
  // side's listeners (-L, -D on a path); a -R socket is the server's (sshd's own option).
  implemented('StreamLocalBindUnlink', flagInto('streamLocalBindUnlink')),
  implemented('StrictHostKeyChecking', (o, args, ctx, kw) => {
    const v = single(kw, args, ctx).toLowerCase();
    if (!(v in STRICT_HOST_KEY_CHECKING)) throw lineError(ctx, `unsupported option "${args[0]}".`);
    setFirst(o, 'strictHostKeyChecking', STRICT_HOST_KEY_CHECKING[v], ctx);
  }),
  implemented('User', stringInto('user')),
  implemented('UserKnownHostsFile', knownHostsFilesInto('userKnownHostsFiles')),

  // pure-ssh's own (not OpenSSH's): -L listeners survive a dropped connection and reconnect.
  implemented('PureSshReconnect', flagInto('pureSshReconnect'), 'pure-ssh'),
  // ssh_config(5) PermitRemoteOpen: the words as given, the first line obtained wins (readconf.c
  // `uvalue == 0`); ssh.c ssh_init_forward_permissions reads them (cli-args.ts here).
  implemented('PermitRemoteOpen', (o, args, ctx, kw) => {
    if (args.length === 0) throw fatalLineError(ctx, `missing ${kw.toLowerCase()} specification`);
    permitRemoteOpenCheck(args, ctx, kw);
    setFirst(o, 'permitRemoteOpen', [...args], ctx);
  }),

  // Refused: leaving these out would change the destination, the route, the host key check,
  // the authentication, or silently drop something the user asked for.
  refused('BindAddress', 'it sets the local address the connection leaves from', undefined, undefined, oneWord),
  refused('BindInterface', 'it sets the local interface the connection leaves from', undefined, undefined, oneWord),
  refused('CheckHostIP', "it also checks the server's address in known_hosts", ['no'], undefined, flagValue),
  refused('GSSAPIKeyExchange', 'it changes the key exchange and how the server is authenticated', ['no'], 'debian', flagValue),
  refused('HostbasedAuthentication', 'it adds host-based authentication', ['no'], undefined, flagValue),
  refused('KbdInteractiveDevices', 'it selects keyboard-interactive submethods', undefined, undefined, oneWord),
  refused('KnownHostsCommand', 'it takes host keys from a command', ['none']),
  refused('NoHostAuthenticationForLocalhost', 'it turns host key checking off for localhost', ['no'], undefined, flagValue),
  refused('PermitLocalCommand', 'it runs LocalCommand on this machine after connecting', ['no'], undefined, flagValue),
  refused('PKCS11Provider', 'it takes authentication keys from a PKCS#11 token', ['none'], undefined, oneWord),
  // ssh.c runs it only in the session channel (ssh_session2_open), which -N, -W, SessionType
  // none and a ProxyJump hop (a -W) do not open: refused only where a session would run it.
  {
    ...refused('RemoteCommand', 'it asks for a command on the server, and pure-ssh only forwards ports', ['none']),
    judged: 'session',
  } as KeywordEntry,
  refused('RevokedHostKeys', 'it adds a list of revoked host keys to the host key check', ['none'], undefined, oneWord),
  {
    ...refused('StreamLocalBindMask', 'forwarded Unix sockets are always bound with the default mask, 0177 (mode 0600)', ['0177', '177'], undefined, bindMaskCheck),
    judged: 'lastRead',
  } as KeywordEntry,
  // readconf.c clear_forwardings: ClearAllForwardings (yes with -W) sets tun_open to no too.
  {
    ...refused('Tunnel', 'it asks for tun/tap device forwarding, which pure-ssh does not provide', ['no'], undefined, multistate('ethernet', 'point-to-point')),
    judged: 'forwarding',
  } as KeywordEntry,
  refused('VerifyHostKeyDNS', 'it checks the host key against SSHFP records in DNS', ['no'], undefined, multistate('ask')),

  // Ignored: harmless to leave out.
  {
    ...ignored(
      'AddKeysToAgent',
      'pure-ssh uses the keys an ssh-agent holds but does not add keys to it; authentication is unchanged (a later connection asks for the passphrase again)',
      ['no'],
      undefined,
      addKeysToAgentCheck,
    ),
    alsoOnCommandLine: true,
  } as KeywordEntry,
  ignored('ChannelTimeout', 'idle channels stay open until either end closes them', ['none']),
  ignored('ControlMaster', NO_MULTIPLEXING, ['no'], undefined, multistate('auto', 'ask', 'autoask')),
  ignored('ControlPath', NO_MULTIPLEXING, ['none'], undefined, oneWord),
  ignored('ControlPersist', NO_MULTIPLEXING, ['no'], undefined, controlPersistCheck),
  ignored('EnableEscapeCommandline', SESSION_ONLY, ['no'], undefined, flagValue),
  ignored('EnableSSHKeysign', 'it only serves host-based authentication, which pure-ssh refuses', ['no'], undefined, flagValue),
  ignored('ForwardAgent', 'agent forwarding is requested on a session, and pure-ssh opens none, like ssh -N', ['no'], undefined, forwardAgentCheck),
  ignored('ForwardX11', NO_X11, ['no'], undefined, flagValue),
  ignored('ForwardX11Timeout', NO_X11, undefined, undefined, timeCheck),
  ignored('ForwardX11Trusted', NO_X11, ['no'], undefined, flagValue),
  ignored(
    'GSSAPIAuthentication',
    'there is no GSSAPI/Kerberos authentication; the other methods are tried, as by an OpenSSH built without GSSAPI',
    ['no'],
    undefined,
    flagValue,
  ),
  ignored('GSSAPIClientIdentity', NO_GSSAPI, undefined, 'debian', oneWord),
  ignored('GSSAPIDelegateCredentials', NO_GSSAPI, ['no'], undefined, flagValue),
  ignored('GSSAPIKexAlgorithms', NO_GSSAPI, undefined, 'debian', gssKexCheck),
  ignored('GSSAPIRenewalForcesRekey', NO_GSSAPI, ['no'], 'debian', flagValue),
  ignored('GSSAPIServerIdentity', NO_GSSAPI, undefined, 'debian', oneWord),
  ignored('GSSAPITrustDns', NO_GSSAPI, ['no'], 'debian', flagValue),
  ignored('HostbasedAcceptedAlgorithms', 'it only applies to host-based authentication, which pure-ssh refuses', undefined, undefined, (args, ctx, kw, o) => {
    keyTypeList(args, ctx, kw);
    // The first value obtained, for readconf.c fill_default_options' kex_assemble_names()
    // (cli-args.ts, after the files' last reading).
    if (ctx.active) o.hostbasedAcceptedAlgorithms ??= args[0]!;
    // From -o, where the keyword is refused anyway (pure-ssh's rule for ignored keywords), the
    // line ssh would print for that list first.
    if (ctx.active && fromCommandLine(ctx) && assembledListFails(args[0]!, 'hostKeyAlgorithms')) {
      throw new ConfigError('fill_default_options: hostbased_accepted_algos: invalid argument');
    }
  }),
  ignored('IPQoS', 'the type of service is left to the system', ['none'], undefined, ipqosCheck),
  ignored('LocalCommand', 'it only runs with PermitLocalCommand, which pure-ssh refuses', ['none']),
  ignored('LogVerbose', 'there is no per-function debug logging; use -v', ['none'], undefined, logVerboseCheck),
  ignored('ObscureKeystrokeTiming', SESSION_ONLY, ['no']),
  ignored('RequestTTY', SESSION_ONLY, ['no'], undefined, multistate('force', 'auto')),
  ignored('SecurityKeyProvider', 'FIDO security keys cannot be used at all; loading one is reported as an error', ['internal'], undefined, oneWord),
  ignored('SendEnv', SESSION_ONLY, undefined, undefined, sendEnvCheck),
  ignored('SetEnv', SESSION_ONLY, undefined, undefined, setEnvCheck),
  ignored('SyslogFacility', 'logs go to standard error only', undefined, undefined, syslogFacilityCheck),
  ignored('TCPKeepAlive', 'no TCP keepalives are sent; ServerAliveInterval detects a dead server', ['no'], undefined, flagValue),
  ignored('TunnelDevice', 'it only applies to Tunnel, which pure-ssh refuses', undefined, undefined, tunnelDeviceCheck),
  ignored('UpdateHostKeys', 'no extra host keys are learnt after authentication; known_hosts keeps what it has', ['no'], undefined, multistate('ask')),
  ignored('UseKeychain', "Apple's option to keep passphrases in the macOS keychain; they are asked for instead", undefined, 'apple'),
  ignored('VersionAddendum', 'the version string is sent unchanged', ['none']),
  ignored('XAuthLocation', NO_X11, undefined, undefined, oneWord),

  // Deprecated: readconf.c's oDeprecated, oIgnore and oUnsupported rows.
  deprecated('AFSTokenPassing', SSH1, 'Unsupported'),
  deprecated('Cipher', SSH1),
  deprecated('CompressionLevel', SSH1, 'Unsupported'),
  deprecated('FallBackToRsh', 'rsh is gone'),
  deprecated('GlobalKnownHostsFile2', 'the second file is part of GlobalKnownHostsFile now'),
  deprecated('KerberosAuthentication', SSH1, 'Unsupported'),
  deprecated('KerberosTGTPassing', SSH1, 'Unsupported'),
  deprecated('Protocol', 'only SSH protocol 2 exists'),
  deprecated('RhostsAuthentication', SSH1),
  deprecated('RhostsRSAAuthentication', SSH1, 'Unsupported'),
  deprecated('RSAAuthentication', SSH1, 'Unsupported'),
  deprecated('UseBlacklistedKeys', "Debian's old weak-key blacklist", 'Deprecated', 'debian'),
  deprecated('UsePrivilegedPort', 'only for rhosts authentication'),
  deprecated('UserKnownHostsFile2', 'the second file is part of UserKnownHostsFile now'),
  deprecated('UseRoaming', 'the roaming extension was removed'),
  deprecated('UseRsh', 'rsh is gone'),
];

/** Obsolete names readconf.c still maps to another keyword, with that keyword. */
const ALIASES: readonly [alias: string, of: string, origin?: Origin][] = [
  ['ChallengeResponseAuthentication', 'KbdInteractiveAuthentication'],
  ['DSAAuthentication', 'PubkeyAuthentication'],
  ['HostbasedKeyTypes', 'HostbasedAcceptedAlgorithms'],
  ['IdentityFile2', 'IdentityFile'],
  ['KeepAlive', 'TCPKeepAlive'],
  ['ProtocolKeepAlives', 'ServerAliveInterval', 'debian'],
  ['PubkeyAcceptedKeyTypes', 'PubkeyAcceptedAlgorithms'],
  ['SetupTimeOut', 'ConnectTimeout', 'debian'],
  ['SKeyAuthentication', 'KbdInteractiveAuthentication'],
  ['SmartcardDevice', 'PKCS11Provider'],
  ['TISAuthentication', 'KbdInteractiveAuthentication'],
];

function buildTable(): ReadonlyMap<string, KeywordEntry> {
  const table = new Map<string, KeywordEntry>();
  for (const row of ROWS) table.set(row.name.toLowerCase(), row);
  for (const [alias, of, origin] of ALIASES) {
    const target = table.get(of.toLowerCase())!;
    table.set(alias.toLowerCase(), { ...target, name: alias, aliasOf: target.name, origin: origin ?? target.origin });
  }
  return table;
}

/**
 * Every ssh_config(5) keyword, lower-cased (keywords are case-insensitive), to how pure-ssh
 * handles it. A keyword missing here is unknown: "Bad configuration option" unless IgnoreUnknown.
 */
export const SSH_CONFIG_KEYWORDS: ReadonlyMap<string, KeywordEntry> = buildTable();

/** `FILE line N: unsupported option "K": ...`, the error for a refused keyword (or an ignored one given with -o). */
function unsupported(ctx: LineContext, entry: KeywordEntry & { reason: string }): ConfigError {
  return lineError(ctx, `unsupported option "${entry.name}": pure-ssh does not implement it yet (${entry.reason})`);
}

/**
 * Apply one keyword line to `o` (readconf.c process_config_line), as {@link SSH_CONFIG_KEYWORDS}
 * says: implemented keywords are validated always and stored only when `ctx.active` and still
 * unset (lists accumulate); refused ones throw {@link ConfigError} naming the source and line
 * when the line applies and is the first of the keyword to apply (its value is the one ssh
 * keeps), unless it asks for what pure-ssh does (`CheckHostIP no`); ignored and deprecated ones
 * leave a note (-v). Unknown keywords throw
 * "Bad configuration option" unless IgnoreUnknown covers them.
 *
 * @example
 * applyOption(o, 'HostKeyAlias', ['other'], ctx);
 * // ConfigError: ~/.ssh/config line 3: unsupported option "HostKeyAlias": pure-ssh does not implement it yet (...)
 */
export function applyOption(o: SshOptions, keyword: string, args: string[], ctx: LineContext): void {
  const k = keyword.toLowerCase();
  const entry = SSH_CONFIG_KEYWORDS.get(k);
  if (!entry) {
    if (o.ignoreUnknown?.some((p) => matchPattern(k, p.toLowerCase()))) {
      ctx.note(`${ctx.source} line ${ctx.line}: Ignored unknown option "${keyword.toLowerCase()}"`);
      return;
    }
    // readconf.c process_config_line_depth: this one message has a colon after the file name.
    throw new ConfigError(`${ctx.source}: line ${ctx.line}: Bad configuration option: ${k}`);
  }
  switch (entry.handling) {
    case 'implemented':
      return entry.apply(o, args, ctx, entry.name);
    case 'deprecated':
      // readconf.c: debug("%s line %d: Deprecated option \"%s\"").
      if (ctx.active) ctx.note(`${ctx.source} line ${ctx.line}: ${entry.openssh} option "${keyword}"`);
      return;
    case 'refused':
    case 'ignored': {
      entry.check?.(args, ctx, entry.name, o);
      // readconf.c's flag and multistate tables take true/false for yes/no (ssh -G prints
      // `tunnel false`): the same no-op either way.
      const word = args[0]?.toLowerCase();
      const value = word === 'false' ? 'no' : word === 'true' ? 'yes' : word;
      const noop = value !== undefined && args.length === 1 && entry.noop?.includes(value) === true;
      if (entry.handling === 'refused' && entry.judged === 'lastRead') {
        // readconf.c oStreamLocalBindMask: set by every line read, active or not; the mask's value
        // (strtol base 8, bindMaskCheck) is what counts, `00177` as much as `0177`.
        const mask = /^[ \t\n\v\f\r]*\+?([0-7]+)/.exec(args[0] ?? '');
        o.streamLocalBindMaskRefusal = mask !== null && parseInt(mask[1]!, 8) === 0o177 ? null : unsupported(ctx, entry);
        return;
      }
      if (!ctx.active) return;
      if (entry.handling === 'refused') {
        // readconf.c: the first value obtained is kept, later lines are inert (a `Host *` block's
        // `CheckHostIP yes` after a host's own `CheckHostIP no`). The value judged is that one.
        const name = entry.aliasOf ?? entry.name;
        const obtained = (o.refusedObtained ??= {});
        if (obtained[name]) return;
        obtained[name] = true;
        if (noop) return;
        if (entry.judged === 'session') {
          // readconf.c parse_command: the rest of the line, as written.
          o.remoteCommand = { command: ctx.rest ?? args.join(' '), refusal: unsupported(ctx, entry) };
          return;
        }
        if (entry.judged === 'forwarding') {
          o.tunnelRefusal = unsupported(ctx, entry);
          return;
        }
        throw unsupported(ctx, entry);
      }
      if (noop) return;
      if (!fromCommandLine(ctx) || entry.alsoOnCommandLine === true) {
        ctx.note(`${ctx.source} line ${ctx.line}: ignoring unsupported option "${entry.name}": ${entry.reason}`);
        return;
      }
      throw unsupported(ctx, entry);
    }
  }
}
