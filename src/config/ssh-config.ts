/**
 * ssh_config(5) files for the `pure-ssh` command line: line syntax, `Host` blocks, `Match all`,
 * `Include`, and each keyword line handed to the keyword table (keywords.ts), with OpenSSH
 * readconf.c semantics.
 *
 * Pure: files are read through an injected {@link ConfigFileSystem}, so everything here is
 * unit-testable without touching the machine's ~/.ssh.
 */
import { applyOption } from './keywords.js';
import { ConfigError, lineError, matchPattern, type LineContext, type SshOptions } from './options.js';

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
      throw lineError(ctx, (err as Error).message);
    }
    if (!parsed) continue;
    const { keyword, args } = parsed;
    const k = keyword.toLowerCase();
    if (k === 'host') {
      if (args.length === 0) throw lineError(ctx, `${keyword}: Missing argument.`);
      active = hostMatches(args, c.host);
      if (active) c.note(`${source} line ${i + 1}: Applying options for ${args.join(' ')}`);
    } else if (k === 'match') {
      // ssh_config(5) Match: only "all" is evaluated yet. Any other criterion decides whether
      // the block applies in a way pure-ssh cannot check, so neither applying nor skipping the
      // block would be honest.
      if (args.length === 0) throw lineError(ctx, 'One or more attributes required for Match');
      if (args.length !== 1 || args[0]!.toLowerCase() !== 'all') {
        throw lineError(ctx, `unsupported option "Match ${args.join(' ')}": pure-ssh implements only "Match all" yet`);
      }
      active = true;
    } else if (k === 'include') {
      if (args.length === 0) throw lineError(ctx, `${keyword}: Missing argument.`);
      // readconf.c: READCONF_MAX_DEPTH 16.
      if (depth >= 16) throw lineError(ctx, 'Include: too many nested includes');
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
