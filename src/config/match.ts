/**
 * ssh_config(5) Match: the criteria `all`, `canonical`, `final`, `exec`, `host`, `originalhost`,
 * `user`, `localuser`, and OpenSSH 10's `localnetwork`, `version`, `tagged`, `command` and
 * `sessiontype`, each negatable with `!`, all of them ANDed (readconf.c match_cfg_line).
 *
 * Pure: `Match exec` runs through an injected function (the Node adapter uses /bin/sh -c).
 */
import { cidrListMatches, parseCidrList } from './cidr.js';
import { ConfigError, fatalLineError, lineError, matchPattern, type LineContext } from './options.js';

/** What a Match line is evaluated against. */
export interface MatchContext {
  /** `Match host`: HostName (its %h expanded) once set, else the host argument; the final host name in the final pass. */
  host: string;
  /** `Match originalhost`: the host as given on the command line. */
  originalHost: string;
  /** `Match user`: the remote user obtained so far, else the local one. */
  user: string;
  /** `Match localuser`. */
  localUser: string;
  /** True while the configuration is read again after canonicalization or for `Match final`. */
  finalPass: boolean;
  /** Called when `final` appears without `!`: ssh then reads the configuration a second time. */
  wantFinalPass: () => void;
  /**
   * `Match exec`: the command after token expansion, run with /bin/sh -c; its exit status
   * (0 = match). Undefined when the embedding cannot run commands.
   */
  exec?: (command: string) => number;
  /** The tokens `Match exec` accepts (%C %d %h %i %k %L %l %n %p %r %u), as they stand now. */
  execTokens: () => Record<string, string>;
  /** `Match tagged`: Tag (ssh -P) as obtained so far. */
  tag?: string;
  /** `Match command`: the command line's remote command, its words joined by spaces ("" for none). */
  command: string;
  /**
   * `Match sessiontype`: SessionType as obtained so far (-N and -W give `none`); with `default`
   * or nothing, `exec` when there is a remote command, else `shell`.
   */
  sessionType?: 'none' | 'default';
  /** `Match version`: this program's release as -V prints it (ssh: SSH_RELEASE). */
  version: string;
  /**
   * `Match localnetwork`: the addresses of the interfaces that are up, as getifaddrs(3) lists
   * them (IPv6 link-local with `%interface`). Undefined when the embedding cannot list them.
   */
  interfaces?: () => readonly LocalInterfaceAddress[];
  /** `percentExpand`, passed in to keep this file free of the token table. */
  expand: (text: string, tokens: Record<string, string>) => string;
}

/** One address of a local interface, for `Match localnetwork`. */
export interface LocalInterfaceAddress {
  /** The interface's name (`lo`, `eth0`). */
  name: string;
  family: 'IPv4' | 'IPv6';
  /** Numeric, as getnameinfo(3) prints it. */
  address: string;
}

/**
 * match.c match_pattern_list: true when some comma-separated pattern matches and no negated one
 * (`!pattern`) does. `foldCase` lowercases the text and the patterns (host names).
 */
export function matchPatternList(text: string, list: string, foldCase: boolean): boolean {
  const s = foldCase ? text.toLowerCase() : text;
  let matched = false;
  for (const raw of list.split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    let p = negated ? raw.slice(1) : raw;
    if (foldCase) p = p.toLowerCase();
    if (matchPattern(s, p)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** readconf.c match_cfg_line: the criteria that may be written `NAME=ARGUMENT` in one word. */
const EQUALS_FORM = new Set(['host', 'originalhost', 'user', 'localuser', 'localnetwork', 'version', 'tagged', 'command', 'exec']);

/** OpenSSH 10 readconf.c match_cfg_line: the criteria whose argument may be the empty string. */
const EMPTY_ALLOWED = new Set(['tagged', 'command']);

/**
 * A syntax error of a Match line as ssh prints it: match_cfg_line's own line, then
 * process_config_line's `FILE line N: Bad Match condition`.
 */
function badMatch(ctx: LineContext, detail: string): ConfigError {
  return new ConfigError(`${detail}\n${ctx.source} line ${ctx.line}: Bad Match condition`);
}

/**
 * Evaluate one Match line's criteria (readconf.c match_cfg_line). Returns whether the block
 * applies. `exec` commands run only while every earlier criterion matched.
 *
 * @throws ConfigError naming the file and line: no criteria, `all` combined with others, a
 *   criterion without its argument, an unknown criterion (these four in ssh's two lines, the
 *   second `FILE line N: Bad Match condition`), `exec` without a way to run it or a command that
 *   could not be run.
 */
export function evaluateMatch(args: readonly string[], m: MatchContext, ctx: LineContext): boolean {
  if (args.length === 0) throw badMatch(ctx, 'One or more attributes required for Match');
  let result = true;
  let attributes = 0;
  for (let i = 0; i < args.length; i++) {
    const original = args[i]!;
    // readconf.c match_cfg_line: a word starting with `#` ends the line (a comment).
    if (original.startsWith('#')) break;
    const negate = original.startsWith('!');
    let name = negate ? original.slice(1) : original;
    let attrib = name.toLowerCase();
    // readconf.c: "all" takes no argument and ends the line; only "canonical" or "final" may
    // come before it ("Match canonical all"). An empty word or a comment may follow it
    // (`Match all ""`, `Match all # note`).
    if (attrib === 'all') {
      const after = args[i + 1];
      if (attributes > 1 || (after !== undefined && after !== '' && !after.startsWith('#'))) {
        throw badMatch(ctx, `${ctx.source} line ${ctx.line}: '${original}' cannot be combined with other Match attributes`);
      }
      // readconf.c process_config_line_depth: match_cfg_line took `all` and the word after it
      // (a comment's first word ends the line there); a word left is "extra arguments at end of
      // line" (`Match all "" x`, `Match all "" ""`: ssh 9.2 and 10). OpenSSH 10 reads the line
      // with argv_split, which drops a trailing comment first, so `Match all "" # note` is
      // accepted; ssh 9.2, which cut words from the raw line (strdelim), refused it.
      if (after !== undefined && !after.startsWith('#') && args[i + 2] !== undefined) {
        throw lineError(ctx, 'keyword match extra arguments at end of line');
      }
      return result && !negate;
    }
    attributes++;
    if (attrib === 'canonical' || attrib === 'final') {
      // ssh_config(5): `final` asks for the second reading of the files (only when not negated:
      // readconf.c "*want_final_pass |= !negate"); that reading happens anyway when
      // CanonicalizeHostname is on. Both criteria hold exactly in that second reading (readconf.c
      // match_cfg_line: r = final_pass), whether or not the name was changed.
      if (attrib === 'final' && !negate) m.wantFinalPass();
      const holds = m.finalPass !== negate;
      if (!holds) result = false;
      ctx.note(`${ctx.source} line ${ctx.line}: ${holds ? '' : 'not '}matched '${original}'`, 3);
      continue;
    }
    // readconf.c: every other criterion takes an argument, checked before the criterion's name
    // (`Match canonical foo`: "Missing Match criteria for foo").
    // OpenSSH 10 readconf.c: `host=PATTERNS` and its kin carry their argument in the same word
    // (the names match case-insensitively; `host=` alone is a missing argument).
    const eq = name.indexOf('=');
    let arg: string | undefined;
    // What the debug3 line names: the word, or in the `=` form what precedes the `=` (`!` kept).
    let shown = original;
    if (eq > 0 && EQUALS_FORM.has(attrib.slice(0, eq))) {
      arg = name.slice(eq + 1);
      name = name.slice(0, eq);
      attrib = attrib.slice(0, eq);
      shown = `${negate ? '!' : ''}${name}`;
    } else {
      arg = args[++i];
      // OpenSSH 10 readconf.c: no word left (a comment already dropped) has its own message;
      // ssh 9.2 said "Missing Match criteria" here too.
      if (arg === undefined) throw badMatch(ctx, `${ctx.source} line ${ctx.line}: missing argument for Match '${original}'`);
    }
    // OpenSSH 10 readconf.c: `tagged ""` and `command ""` are valid (they match no tag, no command).
    if ((arg === '' && !EMPTY_ALLOWED.has(attrib)) || arg.startsWith('#')) throw badMatch(ctx, `Missing Match criteria for ${name}`);
    if (!['host', 'originalhost', 'user', 'localuser', 'localnetwork', 'version', 'tagged', 'command', 'sessiontype', 'exec'].includes(attrib)) {
      throw badMatch(ctx, `Unsupported Match attribute ${name}`);
    }
    let r: boolean;
    let criteria: string | undefined;
    switch (attrib) {
      case 'localnetwork': {
        // OpenSSH 10 readconf.c: the list is checked first (addrmatch.c's lines, then the Match
        // line is bad), then check_match_ifaddrs looks for an interface address in it.
        const list = parseCidrList(arg);
        if (!list.networks) throw badMatch(ctx, list.errors.join('\n'));
        if (!m.interfaces) throw lineError(ctx, 'unsupported option "Match localnetwork": the local interfaces cannot be listed here');
        r = localNetworkMatches(m.interfaces(), arg, list.networks, ctx);
        criteria = undefined;
        break;
      }
      case 'version':
        criteria = m.version;
        r = matchPatternList(m.version, arg, false);
        break;
      case 'sessiontype':
        // OpenSSH 10 readconf.c: subsystem (-s, which pure-ssh lacks), none, exec with a remote
        // command, else shell.
        criteria = m.sessionType === 'none' ? 'none' : m.command !== '' ? 'exec' : 'shell';
        r = matchPatternList(criteria, arg, false);
        break;
      case 'host':
        criteria = m.host;
        r = matchPatternList(m.host, arg, true);
        break;
      case 'originalhost':
        criteria = m.originalHost;
        r = matchPatternList(m.originalHost, arg, true);
        break;
      case 'user':
        criteria = m.user;
        r = matchPatternList(m.user, arg, false);
        break;
      case 'localuser':
        criteria = m.localUser;
        r = matchPatternList(m.localUser, arg, false);
        break;
      case 'tagged':
      case 'command':
        // OpenSSH 10 readconf.c: an empty value matches only the empty argument, else the
        // comma-separated patterns (case-sensitive).
        criteria = attrib === 'tagged' ? (m.tag ?? '') : m.command;
        r = criteria === '' ? arg === '' : matchPatternList(criteria, arg, false);
        break;
      default: {
        const cmd = m.expand(arg, m.execTokens());
        if (!result) {
          // readconf.c: skip execution if a prior criterion failed.
          ctx.note(`${ctx.source} line ${ctx.line}: skipped exec "${cmd}"`, 3);
          continue;
        }
        if (!m.exec) throw lineError(ctx, `unsupported option "Match exec": commands cannot be run here`);
        // readconf.c execute_in_shell's debug lines around the command.
        ctx.note(`Executing command: '${cmd}'`);
        const status = m.exec(cmd);
        // readconf.c match_cfg_line: fatal(), not a counted bad line.
        if (status < 0) throw fatalLineError(ctx, `match exec '${cmd}' error`);
        ctx.note(`command returned status ${status}`, 3);
        criteria = cmd;
        r = status === 0;
      }
    }
    if (r === negate) result = false;
    // readconf.c match_cfg_line's debug3 line, the blank at its end included.
    ctx.note(`${ctx.source} line ${ctx.line}: ${r !== negate ? '' : 'not '}matched '${shown}${criteria === undefined ? '' : ` "${criteria}"`}' `, 3);
  }
  return result;
}

/**
 * OpenSSH 10 readconf.c check_match_ifaddrs: whether an address of an interface that is up lies
 * in `networks`, with its debug lines. getifaddrs(3) on Linux lists each interface's link-layer
 * entry (AF_PACKET, family 17, which ssh skips) first, then the IPv4 addresses, then the IPv6 ones.
 */
function localNetworkMatches(addrs: readonly LocalInterfaceAddress[], list: string, networks: Parameters<typeof cidrListMatches>[1], ctx: LineContext): boolean {
  const fn = 'check_match_ifaddrs';
  for (const name of new Set(addrs.map((a) => a.name))) ctx.note(`${fn}: interface ${name}: unsupported address family 17`, 2);
  const ordered = [...addrs.filter((a) => a.family === 'IPv4'), ...addrs.filter((a) => a.family === 'IPv6')];
  for (const a of ordered) {
    ctx.note(`${fn}: interface ${a.name} addr ${a.address}`, 3);
    if (cidrListMatches(a.address, networks)) {
      ctx.note(`${fn}: matched interface ${a.name}: address ${a.address} in ${list}`, 3);
      return true;
    }
  }
  return false;
}
