/**
 * ssh_config(5) files for the `pure-ssh` command line: line syntax, `Host` blocks, `Match` (match.ts),
 * `Include` (include.ts), and each keyword line handed to the keyword table (keywords.ts), with OpenSSH
 * readconf.c semantics.
 *
 * Pure: files are read through an injected {@link ConfigFileSystem}, so everything here is
 * unit-testable without touching the machine's ~/.ssh.
 */
import { expandIncludePath } from './include.js';
import { applyOption } from './keywords.js';
import { evaluateMatch, type MatchContext } from './match.js';
import { ConfigError, lineError, matchPattern, type LineContext, type SshOptions } from './options.js';
import { connectionTokens, percentExpand, pickTokens, type LocalIdentity } from './tokens.js';

export { applyOption, SSH_CONFIG_KEYWORDS, type KeywordEntry, type KeywordHandling } from './keywords.js';
export { parseDynamicForwardSpec, parseForwardSpec, type DynamicForwardSpec, type ForwardSpec } from './forward-spec.js';
export {
  ConfigError,
  emptyOptions,
  LOG_LEVELS,
  matchPattern,
  parseBytes,
  parseTime,
  type LineContext,
  type LogLevel,
  type SshOptions,
} from './options.js';

/** How the parser reads files; `readFile` returns undefined when the file does not exist. */
export interface ConfigFileSystem {
  readFile(path: string): string | undefined;
  /** Names in a directory (for `Include` globs); undefined when it cannot be read. */
  listDir?(path: string): string[] | undefined;
}

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
  if (!quotesBalanced(rest)) throw new ConfigError('invalid quotes');
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

/**
 * Whether misc.c argv_split, which readconf.c process_config_line runs on every line's
 * arguments (active or not, and on -o values), accepts their quoting: a `'` or `"` opened
 * outside quotes (at the start of a word or inside one) must be closed on the same line; a
 * backslash escapes `'`, `"`, `\` (and a space outside quotes); a `#` starting a word ends the
 * line. OpenSSH refuses the line otherwise: "invalid quotes".
 */
export function quotesBalanced(s: string): boolean {
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') return true;
    let quote = '';
    for (; i < s.length; i++) {
      const ch = s[i];
      if (ch === '\\') {
        const next = s[i + 1];
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) i++;
      } else if (quote === '' && (ch === ' ' || ch === '\t')) break;
      else if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
      else if (quote !== '' && ch === quote) quote = '';
    }
    if (i >= s.length) return quote === '';
  }
  return true;
}

/**
 * readconf.c process_config_line: a line (or a -o value) with nothing after its keyword is
 * refused before the keyword is even looked up. Returns that keyword, lowercased, or undefined.
 */
export function bareKeyword(line: string): string | undefined {
  const m = /^\s*([^\s=]+)\s*(?:=\s*)?$/.exec(line);
  return m ? m[1]!.toLowerCase() : undefined;
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

/** What {@link readConfig} needs to evaluate Host and Match blocks and expand Include. */
export interface ReadConfigContext {
  /**
   * What Host patterns match: the host as given on the command line (lowercased), or in the
   * final pass the final host name (ssh.c re-reads the files with it after canonicalization).
   */
  host: string;
  /** The host as given on the command line (Match originalhost, %n); defaults to `host`. */
  originalHost?: string;
  fs: ConfigFileSystem;
  /** Directory relative Include paths resolve against (~/.ssh for the user file, /etc/ssh for the system one). */
  includeDir: string;
  /** The user's home, for `~` in Include. */
  home: string;
  note: (message: string) => void;
  /** The local user (Match localuser, default remote user, Match exec tokens). */
  local?: LocalIdentity;
  /** True in the second reading (Match canonical / final hold). */
  finalPass?: boolean;
  /** Called when a `Match final` line is read. */
  wantFinalPass?: () => void;
  /** Runs a Match exec command with /bin/sh -c and returns its exit status (-1: could not run). */
  exec?: (command: string) => number;
  /** The environment, for ${VAR} in Match exec commands. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Read one ssh_config file into `o` (first value wins). Returns false when the file does not
 * exist. Throws ConfigError on bad lines, naming the file and line.
 */
export function readConfig(o: SshOptions, path: string, c: ReadConfigContext, depth = 0): boolean {
  const text = c.fs.readFile(path);
  if (text === undefined) return false;
  c.note(`Reading configuration data ${path}`);
  readConfigText(o, text, path, c, depth, { active: true, neverMatch: false });
  return true;
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
    execTokens: () =>
      pickTokens(
        connectionTokens({ local, host, originalHost, port: o.port ?? 22, user, hostKeyAlias: o.hostKeyAlias }),
        'CdhiklLnpru',
      ),
    expand: (text, tokens) => percentExpand(text, tokens, c.env),
  };
}

function readConfigText(o: SshOptions, text: string, source: string, c: ReadConfigContext, depth: number, state: BlockState): void {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const ctx: LineContext = { source, line: i + 1, active: state.active, note: c.note };
    let parsed;
    try {
      parsed = splitConfigLine(lines[i]!);
    } catch (err) {
      throw lineError(ctx, (err as Error).message);
    }
    if (!parsed) continue;
    const bare = bareKeyword(lines[i]!);
    if (bare !== undefined) throw lineError(ctx, `no argument after keyword "${bare}"`);
    const { keyword, args } = parsed;
    const k = keyword.toLowerCase();
    if (k === 'host') {
      if (args.length === 0) throw lineError(ctx, `${keyword}: Missing argument.`);
      state.active = !state.neverMatch && hostMatches(args, c.host);
      if (state.active) c.note(`${source} line ${i + 1}: Applying options for ${args.join(' ')}`);
    } else if (k === 'match') {
      // readconf.c: a Match line is evaluated whatever the state before it (exec commands run),
      // except inside an Include of an inactive block, where pure-ssh runs no command.
      const m = matchContext(o, c);
      if (state.neverMatch) m.exec = () => 1;
      const value = evaluateMatch(args, m, ctx);
      state.active = !state.neverMatch && value;
      c.note(`${source} line ${i + 1}: match ${value ? '' : 'not '}found`);
    } else if (k === 'include') {
      if (args.length === 0) throw lineError(ctx, `${keyword}: Missing argument.`);
      const userConfig = c.includeDir !== '/etc/ssh';
      for (const a of args) {
        let files: string[];
        try {
          files = expandIncludePath(a, { home: c.home, dir: c.includeDir, userConfig, listDir: c.fs.listDir });
        } catch (err) {
          throw lineError(ctx, (err as Error).message);
        }
        const outer = state.active;
        let any = false;
        for (const file of files) {
          const inc = c.fs.readFile(file);
          if (inc === undefined) continue;
          any = true;
          // readconf.c READCONF_MAX_DEPTH 16: the top file is depth 0.
          if (depth + 1 > 16) throw lineError(ctx, 'Too many recursive configuration includes');
          c.note(`${source} line ${i + 1}: Including file ${file} depth ${depth + 1}${outer ? '' : ' (parse only)'}`);
          // An included file starts in the including block's state; its Host/Match lines do not
          // change the including file's state.
          readConfigText(o, inc, file, c, depth + 1, { active: outer, neverMatch: state.neverMatch || !outer });
          state.active = outer;
        }
        if (!any) c.note(`${source} line ${i + 1}: include ${a} matched no files`);
      }
    } else {
      applyOption(o, keyword, args, ctx);
    }
  }
}
