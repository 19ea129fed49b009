/**
 * ssh_config(5) TOKENS and ENVIRONMENT VARIABLES: `%x` tokens and `${VAR}` in the keywords that
 * allow them, with OpenSSH's rules (misc.c percent_expand / dollar_expand, ssh.c cinfo).
 *
 * Pure: the local facts (host name, uid, home, environment) are passed in.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { ConfigError } from './options.js';

/** What the local machine and user are (ssh.c: gethostname, getpwuid). */
export interface LocalIdentity {
  /** The local user name (%u, Match localuser). */
  user: string;
  /** The local user's home directory (%d, `~`). */
  home: string;
  /** The local user id (%i). */
  uid: number;
  /** The local host name with its domain (%l); %L is its first label. */
  hostName: string;
}

/** The values of the connection tokens once the destination is known (ssh.c struct ssh_conn_info). */
export interface ConnectionTokenValues {
  local: LocalIdentity;
  /** The remote host name being connected to (%h). */
  host: string;
  /** The host as given on the command line (%n). */
  originalHost: string;
  port: number;
  /** The remote user (%r). */
  user: string;
  /** HostKeyAlias when set (%k falls back to the original host). */
  hostKeyAlias?: string;
  /** The ProxyJump as written (%j, OpenSSH 10); empty when none. */
  jump?: string;
}

/**
 * ssh_config(5) %C: the SHA-1 of %l%h%p%r (OpenSSH 10 appends %j), lower-case hex
 * (ssh.c ssh_connection_hash).
 */
export function connectionHash(thisHost: string, host: string, port: string, user: string, jump = ''): string {
  return bytesToHex(sha1(utf8ToBytes(thisHost + host + port + user + jump)));
}

/**
 * ssh_config(5) TOKENS: the tokens CertificateFile, IdentityAgent, IdentityFile, LocalForward,
 * RemoteForward, Match exec and UserKnownHostsFile accept: %C %d %h %i %j %k %L %l %n %p %r %u.
 */
export function connectionTokens(t: ConnectionTokenValues): Record<string, string> {
  const port = String(t.port);
  const jump = t.jump ?? '';
  const tokens: Record<string, string> = {
    d: t.local.home,
    h: t.host,
    i: String(t.local.uid),
    j: jump,
    k: t.hostKeyAlias ?? t.originalHost,
    L: t.local.hostName.split('.')[0]!,
    l: t.local.hostName,
    n: t.originalHost,
    p: port,
    r: t.user,
    u: t.local.user,
  };
  // %C is a SHA-1: computed when a text first uses it (most runs expand none), not at every start.
  let c: string | undefined;
  Object.defineProperty(tokens, 'C', {
    enumerable: true,
    get: () => (c ??= connectionHash(t.local.hostName, t.host, port, t.user, jump)),
  });
  return tokens;
}

/**
 * misc.c percent_expand / percent_dollar_expand: `%%` is `%`, `%x` the token's value (an
 * unknown token is an error), and with `env` each `${VAR}` the variable's value (ssh_config(5)
 * ENVIRONMENT VARIABLES; a variable that is not set is an error).
 *
 * The errors are OpenSSH's two lines: vdollar_percent_expand's error_f() and the caller's fatal,
 * `fn: failed` (`fn`: percent_expand, or percent_dollar_expand for the keywords ssh.c expands
 * with ${VAR}), or, for variables that are not set (each named), ssh.c
 * default_client_percent_dollar_expand's `invalid environment variable expansion`.
 *
 * @throws ConfigError e.g. `vdollar_percent_expand: unknown key %x` + `percent_expand: failed`.
 * @example
 * percentExpand('~/.ssh/%r@%h', { h: 'db', r: 'joe' }) // '~/.ssh/joe@db'
 */
export function percentExpand(
  text: string,
  tokens: Readonly<Record<string, string>>,
  env?: Readonly<Record<string, string | undefined>>,
  fn: 'percent_expand' | 'percent_dollar_expand' = env ? 'percent_dollar_expand' : 'percent_expand',
): string {
  const lines: string[] = [];
  const fail = (why: string) => new ConfigError([...lines, `vdollar_percent_expand: ${why}`, `${fn}: failed`].join('\n'));
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (env && ch === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw fail(`environment variable '${text.slice(i + 2)}' missing closing '}'`);
      const name = text.slice(i + 2, end);
      if (name === '') throw fail('zero-length environment variable');
      const value = env[name];
      if (value === undefined) lines.push(`vdollar_percent_expand: env var \${${name}} has no value`);
      else out += value;
      i = end;
      continue;
    }
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const key = text[++i];
    if (key === undefined) throw fail('invalid format');
    if (key === '%') out += '%';
    else if (Object.prototype.hasOwnProperty.call(tokens, key)) out += tokens[key];
    else throw fail(`unknown key %${key}`);
  }
  if (lines.length > 0) throw new ConfigError([...lines, 'invalid environment variable expansion'].join('\n'));
  return out;
}

/**
 * misc.c dollar_expand: each `${VAR}` replaced by the variable's value, as readconf.c
 * parse_forward does first for -L, -R, -D, -W and the *Forward keywords (so a variable that
 * holds a path makes a path field). Every variable that is not set is named, then the whole text
 * fails; an unclosed or empty `${}` fails at once. `errors` holds OpenSSH's error() lines for the
 * log (misc.c names its function, `vdollar_percent_expand`, in 9.2 and 10).
 *
 * @example
 * dollarExpand('${PORT}:db:5432', { PORT: '6000' }) // { value: '6000:db:5432', errors: [] }
 */
export function dollarExpand(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { value: string | undefined; errors: string[] } {
  const fn = 'vdollar_percent_expand';
  const errors: string[] = [];
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$' || text[i + 1] !== '{') {
      out += text[i];
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) return { value: undefined, errors: [...errors, `${fn}: environment variable '${text.slice(i + 2)}' missing closing '}'`] };
    const name = text.slice(i + 2, end);
    if (name === '') return { value: undefined, errors: [...errors, `${fn}: zero-length environment variable`] };
    const value = env[name];
    if (value === undefined) errors.push(`${fn}: env var \${${name}} has no value`);
    else out += value;
    i = end;
  }
  return { value: errors.length > 0 ? undefined : out, errors };
}

/**
 * getpwnam(3)'s answer for `~user`: the home directory (pw_dir) of user `name`, undefined when
 * there is no such user (src/node/user-home.ts gives the CLI's).
 */
export type UserHomeLookup = (name: string) => string | undefined;

/**
 * A leading `~` split as misc.c tilde_expand and glob(3)'s GLOB_TILDE split it: the user name
 * (`''` for the current user) and the rest of the path from its first `/` (`''` when there is
 * none); undefined for a path that does not start with `~`.
 * `tildeParts('~joe/.ssh/id')` → `{ user: 'joe', rest: '/.ssh/id' }`.
 */
export function tildeParts(path: string): { user: string; rest: string } | undefined {
  if (!path.startsWith('~')) return undefined;
  const slash = path.indexOf('/');
  return slash < 0 ? { user: path.slice(1), rest: '' } : { user: path.slice(1, slash), rest: path.slice(slash) };
}

/** Linux PATH_MAX: misc.c tilde_expand refuses a result this long or longer (bytes). */
const PATH_MAX = 4096;

/**
 * misc.c tilde_expand_filename: a leading `~` or `~/` is the current user's home (`home`, the
 * passwd entry's), `~user` or `~user/` the home of `user` (`userHome`, getpwnam); the slashes
 * after the name are dropped and one `/` joins the home to the rest, so `~` is `HOME/`,
 * `~//x` is `HOME/x`. Anything else is returned as it is.
 *
 * @param userHome without it, no user is known: every `~user` is an error.
 * @throws ConfigError `tilde_expand: No such user USER` (ssh then exits 255, as
 *   tilde_expand_filename's cleanup_exit does), `tilde_expand: Path too long`.
 * @example
 * tildeExpand('~/.ssh/id_ed25519', '/home/joe') // '/home/joe/.ssh/id_ed25519'
 * tildeExpand('~root/k', '/home/joe', () => '/root') // '/root/k'
 */
export function tildeExpand(path: string, home: string, userHome?: UserHomeLookup): string {
  const parts = tildeParts(path);
  if (parts === undefined) return path;
  const { user } = parts;
  const rest = parts.rest.replace(/^\/+/, '');
  let dir = home;
  if (user !== '') {
    const found = userHome?.(user);
    if (found === undefined) throw new ConfigError(`tilde_expand: No such user ${user}`);
    dir = found;
  }
  const out = `${dir}${dir.endsWith('/') ? '' : '/'}${rest}`;
  if (utf8ToBytes(out).length >= PATH_MAX) throw new ConfigError('tilde_expand: Path too long');
  return out;
}

/** Only the given token letters of `all` (ssh_config(5): each keyword accepts its own set). */
export function pickTokens(all: Readonly<Record<string, string>>, letters: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Descriptors, not values: a token computed on first use (%C) stays so in the copy.
  for (const l of letters) {
    const d = Object.getOwnPropertyDescriptor(all, l);
    if (d !== undefined && (d.get !== undefined || d.value !== undefined)) Object.defineProperty(out, l, d);
  }
  return out;
}
