/**
 * ssh_config(5) Include paths: glob(3) wildcards (`*`, `?`, `[...]`) in any path component,
 * relative paths under ~/.ssh (user configuration) or /etc/ssh (system configuration), `~` for
 * user files only (readconf.c oInclude).
 *
 * Pure: directories are listed through the injected function.
 */
import { ConfigError } from './options.js';

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
 * The files an Include argument names, sorted as glob(3) returns them; a path without
 * wildcards is returned as is (its absence shows when it is read).
 *
 * @param o.dir where relative paths are: ~/.ssh for user configurations, /etc/ssh for the system one
 * @param o.userConfig the including file is a user configuration (-F, ~/.ssh/config or a file they include)
 * @throws ConfigError for `~` in a system configuration (readconf.c "bad include path").
 */
export function expandIncludePath(
  arg: string,
  o: { home: string; dir: string; userConfig: boolean; listDir?: (dir: string) => string[] | undefined },
): string[] {
  if (arg.startsWith('~') && !o.userConfig) throw new ConfigError(`bad include path ${arg}.`);
  let path: string;
  if (arg === '~' || arg.startsWith('~/')) path = o.home + arg.slice(1);
  else if (arg.startsWith('/')) path = arg;
  else path = `${o.dir}/${arg}`;
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
