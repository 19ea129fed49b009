/**
 * ssh_config(5) Include paths: glob(3) wildcards (`*`, `?`, `[...]`) in any path component,
 * relative paths under ~/.ssh (user configuration) or /etc/ssh (system configuration), `~` for
 * user files only (readconf.c oInclude). The `~` is glob(3)'s GLOB_TILDE, not misc.c
 * tilde_expand: `~` and `~/` are $HOME (the passwd home only when HOME is unset or empty),
 * `~user` that user's home, and `~user` naming no user stays as written (so matches nothing).
 *
 * Pure: directories are listed through the injected function.
 */
import { ConfigError } from './options.js';
import { tildeParts, type UserHomeLookup } from './tokens.js';

const MAGIC = /[*?[]/;

/** glob(3)'s fnmatch for one path component: a leading `.` is only matched by a literal `.`. */
export function globMatch(name: string, pattern: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      re += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 's').test(name);
}

/**
 * glibc glob(3) GLOB_TILDE on a path: a leading `~` up to the first `/` is replaced by a home
 * directory, the rest kept as it is (`~/x` is `$HOME/x`, `~joe` is joe's home). `~` alone or
 * with `/` is $HOME when it is set and not empty, else `home`; `~user` naming no user is left
 * as written.
 */
export function globTilde(path: string, home: string, envHome: string | undefined, userHome?: UserHomeLookup): string {
  const parts = tildeParts(path);
  if (parts === undefined) return path;
  const dir = parts.user === '' ? envHome || home : userHome?.(parts.user);
  return dir === undefined ? path : dir + parts.rest;
}

/**
 * The files an Include argument names, sorted as glob(3) returns them; a path without
 * wildcards is returned as is (its absence shows when it is read).
 *
 * @param o.dir where relative paths are: `~/.ssh` for user configurations (itself `~`-expanded,
 *   as readconf.c prefixes "~/.ssh/" before glob), /etc/ssh for the system one
 * @param o.userConfig the including file is a user configuration (-F, ~/.ssh/config or a file they include)
 * @param o.home the passwd home, for `~` when `o.envHome` ($HOME) is unset or empty
 * @param o.userHome getpwnam for `~user`; without it no user is known
 * @throws ConfigError for `~` in a system configuration (readconf.c "bad include path").
 */
export function expandIncludePath(
  arg: string,
  o: {
    home: string;
    dir: string;
    userConfig: boolean;
    listDir?: (dir: string) => string[] | undefined;
    envHome?: string;
    userHome?: UserHomeLookup;
  },
): string[] {
  if (arg.startsWith('~') && !o.userConfig) throw new ConfigError(`bad include path ${arg}.`);
  const relative = !arg.startsWith('/') && !arg.startsWith('~');
  const path = globTilde(relative ? `${o.dir}/${arg}` : arg, o.home, o.envHome, o.userHome);
  if (!MAGIC.test(path)) return [path];
  const parts = path.split('/').filter((p, i) => p !== '' || i === 0);
  let found = [parts[0] === '' ? '' : '.'];
  for (let i = parts[0] === '' ? 1 : 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next: string[] = [];
    for (const dir of found) {
      if (!MAGIC.test(part)) {
        next.push(`${dir}/${part}`);
        continue;
      }
      const names = o.listDir?.(dir === '' ? '/' : dir) ?? [];
      for (const n of names) if (globMatch(n, part)) next.push(`${dir}/${n}`);
    }
    found = next;
  }
  return found.sort();
}
