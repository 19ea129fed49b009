/**
 * ssh_config(5) files for the `pure-ssh` command line: line syntax, `Host` blocks, `Match` (match.ts),
 * `Include` (include.ts), and each keyword line handed to the keyword table (keywords.ts), with OpenSSH
 * readconf.c semantics.
 *
 * Pure: files are read through an injected {@link ConfigFileSystem}, so everything here is
 * unit-testable without touching the machine's ~/.ssh.
 */
import { argvSplit } from './argv-split.js';
import { expandIncludePath } from './include.js';
import { applyOption, noEmptyArgument } from './keywords.js';
import { evaluateMatch, type LocalInterfaceAddress, type MatchContext } from './match.js';
import { ConfigError, lineError, matchPattern, type LineContext, type NoteLevel, type SshOptions } from './options.js';
import { connectionTokens, percentExpand, pickTokens, type LocalIdentity, type UserHomeLookup } from './tokens.js';
import { PURE_SSH_VERSION } from '../transport/version.js';
import { cutBytes } from '../node/log-vis.js';

export { applyOption, escapeCharText, escapeCharValue, SESSION_ONLY, SSH_CONFIG_KEYWORDS, type KeywordEntry, type KeywordHandling } from './keywords.js';
export { parseDynamicForwardSpec, parseForwardSpec, type DynamicForwardSpec, type ForwardSpec } from './forward-spec.js';
export {
  ConfigError,
  emptyOptions,
  LOG_LEVELS,
  matchPattern,
  parseBytes,
  parseTime,
  type DebugLevel,
  type LineContext,
  type LogLevel,
  type LogNote,
  type NoteLevel,
  type SshOptions,
} from './options.js';

/** How the parser reads files; `readFile` returns undefined when the file does not exist. */
export interface ConfigFileSystem {
  readFile(path: string): string | undefined;
  /**
   * The file's owner and mode bits (stat(2) st_uid, st_mode), for readconf.c's permission check
   * of the user's own config and of included files; undefined when it cannot be stat'ed. Without
   * it the check is not made (unit tests with in-memory files).
   */
  stat?(path: string): { uid: number; mode: number } | undefined;
  /** Names in a directory (for `Include` globs); undefined when it cannot be read. */
  listDir?(path: string): string[] | undefined;
}

/** misc.h WHITESPACE: what separates words in ssh_config (not every Unicode space). */
const WHITESPACE = ' \t\r\n';

/** Index of the first non-WHITESPACE character of `s` at or after `at` (`s.length` if none). */
function skipWhitespace(s: string, at: number): number {
  while (at < s.length && WHITESPACE.includes(s[at]!)) at++;
  return at;
}

/**
 * misc.c strdelim (split_equals): the word of `s` starting at `at`. It ends at whitespace, a
 * single `=` or a double quote; from a quote on, the text up to the next quote belongs to the
 * word without the quotes (`Us"er"` and `"User"` are both `User`), and only whitespace is
 * skipped after it. `next` is where the rest starts, undefined when the word ran to the end of
 * `s`. Null when a quote is never closed.
 */
function strdelim(s: string, at: number): { word: string; next: number | undefined } | null {
  let i = at;
  while (i < s.length && !(WHITESPACE.includes(s[i]!) || s[i] === '"' || s[i] === '=')) i++;
  if (i === s.length) return { word: s.slice(at), next: undefined };
  if (s[i] === '"') {
    const close = s.indexOf('"', i + 1);
    if (close < 0) return null;
    return { word: s.slice(at, i) + s.slice(i + 1, close), next: skipWhitespace(s, close + 1) };
  }
  let next = skipWhitespace(s, i + 1);
  // "Allow only one '=' to be skipped": `Port = 22` and `Port=22`, not `Port = = 22`.
  if (s[i] !== '=' && s[next] === '=') next = skipWhitespace(s, next + 1);
  return { word: s.slice(at, i), next };
}

/** One config line split into its keyword and what follows (see {@link splitConfigLine}). */
export interface ConfigLine {
  /** As written (quotes removed); readconf.c lowercases it to look it up. */
  keyword: string;
  /** The arguments, split as misc.c argv_split does. */
  args: string[];
  /** The text after the keyword, trailing whitespace removed, quotes kept (ProxyCommand takes it raw). */
  rest: string;
  /** Nothing follows the keyword: readconf.c refuses the line ("no argument after keyword"). */
  bare: boolean;
}

/**
 * Split one config line (or a `-o` value) into keyword and arguments, as readconf.c
 * process_config_line_depth does: trailing whitespace (and form feeds) removed, the keyword is
 * the first misc.c strdelim word, or the second when the line starts with whitespace or an empty
 * `""`; the rest is kept as written in `rest` and split by misc.c argv_split rules into `args`
 * (argv-split.ts: `"` and `'` quoting anywhere in an argument, backslash escapes, a trailing `#`
 * comment). Returns null for blank and comment lines (and, as ssh, for a line that is only `""`).
 * Throws ConfigError('invalid quotes') for a quote left open, also in the keyword, where ssh
 * skips the line without a word: pure-ssh says so instead of ignoring what the user wrote.
 */
export function splitConfigLine(line: string): ConfigLine | null {
  const s = line.replace(/[ \t\r\n\f]+$/, '');
  let first = strdelim(s, 0);
  if (first === null) throw new ConfigError('invalid quotes');
  // readconf.c: "Ignore leading whitespace" (an empty first word): the keyword is the next one.
  if (first.word === '' && first.next !== undefined) {
    first = strdelim(s, first.next);
    if (first === null) throw new ConfigError('invalid quotes');
  }
  const keyword = first.word;
  if (keyword === '' || keyword.startsWith('#')) return null;
  const at = first.next === undefined ? s.length : skipWhitespace(s, first.next);
  const rest = s.slice(at);
  const args = argvSplit(rest);
  if (args === null) throw new ConfigError('invalid quotes');
  return { keyword, args, rest, bare: rest === '' };
}

/**
 * ssh_config(5) Host: the block applies when some pattern matches the host and no negated
 * (`!pattern`) one does. readconf.c `case oHost:` calls match_pattern(host, arg) on each word:
 * case-sensitive and with no comma lists (`Host web1,web2` is one pattern that matches the
 * name `web1,web2` only), unlike Match host, which lowercases (match_hostname). The host is
 * the one given on the command line as typed (OpenSSH 9.2 and 10 alike; ssh.c lowercases it only
 * after this first reading), or in the final pass the lowercased, canonical name.
 */
export function hostMatches(patterns: readonly string[], host: string): boolean {
  return hostBlock(patterns, host).active;
}

/**
 * readconf.c process_config_line_depth's Host line: whether it applies, the first pattern that
 * made it apply (its `Applying options for` line names that one), or the negated pattern that
 * matched (`Skipping Host block because of negated match for`, the `!` left off), which ends the
 * line with the block inactive.
 */
function hostBlock(patterns: readonly string[], host: string): { active: boolean; applying?: string; negated?: string } {
  let applying: string | undefined;
  for (const word of patterns) {
    const negated = word.startsWith('!');
    const pattern = negated ? word.slice(1) : word;
    if (matchPattern(host, pattern)) {
      if (negated) return { active: false, negated: pattern };
      applying ??= pattern;
    }
  }
  return applying === undefined ? { active: false } : { active: true, applying };
}

/** What {@link readConfig} needs to evaluate Host and Match blocks and expand Include. */
export interface ReadConfigContext {
  /**
   * What Host patterns match: the host as given on the command line (as typed, not lowercased),
   * or in the final pass the final host name (ssh.c re-reads the files with it, lowercased and
   * canonicalized).
   */
  host: string;
  /** The host as given on the command line (Match originalhost, %n); defaults to `host`. */
  originalHost?: string;
  fs: ConfigFileSystem;
  /** Directory relative Include paths resolve against (~/.ssh for the user file, /etc/ssh for the system one). */
  includeDir: string;
  /** The user's home (the passwd entry's), for `~` in Include when $HOME is unset or empty. */
  home: string;
  /** getpwnam for `~user` in Include paths; without it no user is known. */
  userHome?: UserHomeLookup;
  /** ssh's debug lines (level 1 when not given: -v), and its error() lines for bad lines. */
  note: (message: string, level?: NoteLevel) => void;
  /** The local user (Match localuser, default remote user, Match exec tokens). */
  local?: LocalIdentity;
  /** True in the second reading (Match canonical / final hold). */
  finalPass?: boolean;
  /** Called when a `Match final` line is read. */
  wantFinalPass?: () => void;
  /** Runs a Match exec command with /bin/sh -c and returns its exit status (-1: could not run). */
  exec?: (command: string) => number;
  /** The remote command given on the command line, words joined by spaces (Match command). */
  command?: string;
  /** The environment, for ${VAR} in Match exec commands. */
  env?: Readonly<Record<string, string | undefined>>;
  /** `none` when the command line asked for no session (-N, -W): Match sessiontype. */
  sessionType?: 'none';
  /** Match localnetwork: the local interfaces' addresses (none known without it: an error). */
  interfaces?: () => readonly LocalInterfaceAddress[];
}

/**
 * Read one ssh_config file into `o` (first value wins). Returns false when the file does not
 * exist. `checkPermissions`: readconf.c SSHCONF_CHECKPERM, set by ssh.c for ~/.ssh/config (not for
 * `-F` or the system file) and always for included files: the file must be owned by root or the
 * local user and not writable by group or others.
 *
 * Throws ConfigError naming the file and line. As readconf.c read_config_file_depth does, every
 * bad line is reported (one message line each, in order) and the file is refused at its end:
 * `FILE: terminating, N bad configuration options`.
 */
export function readConfig(o: SshOptions, path: string, c: ReadConfigContext, depth = 0, checkPermissions = false): boolean {
  const text = c.fs.readFile(path);
  if (text === undefined) return false;
  if (checkPermissions) checkOwnerAndMode(path, c);
  c.note(`Reading configuration data ${path}`);
  readConfigText(o, text, path, c, depth, { active: true, neverMatch: false });
  return true;
}

/** readconf.c read_config_file_depth, SSHCONF_CHECKPERM: another user could write ProxyCommand lines. */
function checkOwnerAndMode(path: string, c: ReadConfigContext): void {
  const st = c.fs.stat?.(path);
  if (st === undefined) return;
  const uid = c.local?.uid ?? -1;
  if ((st.uid !== 0 && uid >= 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new ConfigError(`Bad owner or permissions on ${path}`, 255, true);
  }
}

/** readconf.c: the Host/Match state, shared by a file and the files it includes. */
interface BlockState {
  active: boolean;
  /** An Include inside an inactive block: its lines are checked, never applied. */
  neverMatch: boolean;
}

function matchContext(o: SshOptions, c: ReadConfigContext): MatchContext {
  const local = c.local ?? { user: '', home: c.home, uid: -1, hostName: 'localhost' };
  const originalHost = c.originalHost ?? c.host;
  // readconf.c match_cfg_line: HostName with %h expanded once set (as is in the final pass).
  const host =
    o.hostName === undefined ? c.host : c.finalPass ? o.hostName : percentExpand(o.hostName, { h: c.host });
  const user = o.user ?? local.user;
  return {
    host,
    originalHost,
    user,
    localUser: local.user,
    finalPass: c.finalPass ?? false,
    wantFinalPass: () => c.wantFinalPass?.(),
    exec: c.exec,
    tag: o.tag,
    command: c.command ?? '',
    sessionType: c.sessionType ?? o.sessionType,
    // OpenSSH 10 readconf.c: ssh's SSH_RELEASE; pure-ssh's own, as -V prints it.
    version: `pure-ssh_${PURE_SSH_VERSION}`,
    interfaces: c.interfaces,
    execTokens: () =>
      pickTokens(
        connectionTokens({ local, host, originalHost, port: o.port ?? 22, user, hostKeyAlias: o.hostKeyAlias }),
        'CdhiklLnpru',
      ),
    expand: (text, tokens) => percentExpand(text, tokens, c.env, 'percent_expand'),
  };
}

function readConfigText(o: SshOptions, text: string, source: string, c: ReadConfigContext, depth: number, state: BlockState): void {
  const lines = text.split(/\r?\n/);
  // A trailing newline ends the last line; it does not start another (getline(3)).
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    // readconf.c reads each line as a C string: a NUL byte ends it, what follows is not read.
    // pure-ssh does the same and says so with -v.
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      c.note(`${source} line ${i + 1}: text after a NUL byte ignored, as ssh does`);
      line = line.slice(0, nul);
    }
    try {
      readConfigLine(o, line, i + 1, source, c, depth, state);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // What ssh has printed so far comes first: this file's bad lines, then the fatal message.
      if (err.fatal) throw new ConfigError([...errors, err.message].join('\n'), err.exitCode, true);
      // readconf.c: error() for the line, among the debug lines (-v) read so far; reading goes on.
      errors.push(err.message);
      c.note(err.message, 'error');
    }
  }
  if (errors.length > 0) {
    // readconf.c read_config_file_depth: fatal() once the whole file has been read.
    errors.push(`${source}: terminating, ${errors.length} bad configuration options`);
    throw new ConfigError(errors.join('\n'), 255, true);
  }
}

/** readconf.c process_config_line_depth: one line; throws ConfigError when it is bad. */
function readConfigLine(o: SshOptions, line: string, lineNumber: number, source: string, c: ReadConfigContext, depth: number, state: BlockState): void {
  const ctx: LineContext = { source, line: lineNumber, active: state.active, note: c.note, env: c.env };
  let parsed;
  try {
    parsed = splitConfigLine(line);
  } catch (err) {
    throw lineError(ctx, (err as Error).message);
  }
  if (!parsed) return;
  if (parsed.bare) throw lineError(ctx, `no argument after keyword "${parsed.keyword.toLowerCase()}"`);
  const { keyword, args } = parsed;
  ctx.rest = parsed.rest;
  const k = keyword.toLowerCase();
  if (k === 'host') {
    if (args.length === 0) throw lineError(ctx, `${keyword}: Missing argument.`);
    // readconf.c: the block is inactive from the Host line on, also when the line is refused.
    state.active = false;
    noEmptyArgument(keyword, args, ctx);
    if (state.neverMatch) return;
    const block = hostBlock(args, c.host);
    state.active = block.active;
    // readconf.c: debug() of each, the pattern cut at 100 bytes (%.100s).
    if (block.negated !== undefined) c.note(`${source} line ${lineNumber}: Skipping Host block because of negated match for ${cutBytes(block.negated, 100)}`);
    if (block.applying !== undefined) c.note(`${source} line ${lineNumber}: Applying options for ${cutBytes(block.applying, 100)}`);
  } else if (k === 'match') {
    // readconf.c: a Match line is evaluated whatever the state before it (exec commands run),
    // except inside an Include of an inactive block, where pure-ssh runs no command.
    const m = matchContext(o, c);
    if (state.neverMatch) m.exec = () => 1;
    // readconf.c match_cfg_line's debug2 lines around the criteria's debug3 ones (match.ts).
    c.note(`checking match for '${parsed.rest}' host ${m.host} originally ${m.originalHost}`, 2);
    const value = evaluateMatch(args, m, ctx);
    state.active = !state.neverMatch && value;
    c.note(`match ${value ? '' : 'not '}found`, 2);
  } else if (k === 'include') {
    if (args.length === 0) throw lineError(ctx, `${keyword}: Missing argument.`);
    noEmptyArgument(keyword, args, ctx);
    const userConfig = c.includeDir !== '/etc/ssh';
    for (const a of args) {
      let files: string[];
      try {
        files = expandIncludePath(a, { home: c.home, dir: c.includeDir, userConfig, listDir: c.fs.listDir, envHome: c.env?.HOME, userHome: c.userHome });
      } catch (err) {
        throw lineError(ctx, (err as Error).message);
      }
      const outer = state.active;
      let any = false;
      for (const file of files) {
        const inc = c.fs.readFile(file);
        if (inc === undefined) continue;
        any = true;
        // readconf.c process_config_line_depth: debug3, the depth printed is the including
        // file's (0 for the top file); then read_config_file_depth checks the depth and the
        // file's owner and mode, and prints its debug1 line for the file.
        c.note(`${source} line ${lineNumber}: Including file ${file} depth ${depth}${outer ? '' : ' (parse only)'}`, 3);
        // readconf.c READCONF_MAX_DEPTH 16: the top file is depth 0.
        if (depth + 1 > 16) throw new ConfigError(`${source} line ${lineNumber}: Too many recursive configuration includes`, 255, true);
        // readconf.c: included files are read with SSHCONF_CHECKPERM, whoever includes them.
        checkOwnerAndMode(file, c);
        c.note(`Reading configuration data ${file}`);
        // An included file starts in the including block's state; its Host/Match lines do not
        // change the including file's state.
        readConfigText(o, inc, file, c, depth + 1, { active: outer, neverMatch: state.neverMatch || !outer });
        state.active = outer;
      }
      // readconf.c names the pattern as it globbed it: a relative one after "~/.ssh/" (user
      // configuration) or "/etc/ssh/" (system), before the `~` is expanded.
      const shown = a.startsWith('/') || a.startsWith('~') ? a : `${c.includeDir}/${a}`;
      if (!any) c.note(`${source} line ${lineNumber}: include ${shown} matched no files`);
    }
  } else {
    applyOption(o, keyword, args, ctx);
  }
}
