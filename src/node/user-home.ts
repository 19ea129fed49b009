/**
 * getpwnam(3)'s home directory for `~user` in file names (misc.c tilde_expand), which Node lacks
 * (os.userInfo() answers for the current uid only).
 *
 * The answer comes from getent(1), `getent passwd NAME`, which asks the C library: every source
 * the system's nsswitch.conf names is consulted as ssh's own getpwnam would consult it (files,
 * LDAP, sssd, systemd-userdb), and so is nss_wrapper when it is preloaded (the child inherits
 * LD_PRELOAD and NSS_WRAPPER_*: test/harness/home.ts). Only when getent cannot be run or cannot
 * answer (not installed, as on macOS and Windows) is a passwd(5) file read directly: the file of
 * nss_wrapper when it is preloaded, else /etc/passwd. A name missing from that file is then
 * reported as no such user, in ssh's words: a loud error, never a path silently different from
 * ssh's, though a user known only to another NSS source is refused there.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Where passwd(5) lives. */
export const PASSWD_FILE = '/etc/passwd';

/**
 * The home directory (pw_dir, the sixth field) of the first passwd(5) line of `text` whose name
 * is `name`, compared exactly as glibc's files backend does; undefined when there is none.
 * Lines of fewer than seven fields are skipped.
 */
export function passwdHomeOf(text: string, name: string): string | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || f[0] !== name) continue;
    return f[5];
  }
  return undefined;
}

/**
 * glibc getent looks a key up with getpwuid(3), not getpwnam(3), when strtoul(3) reads all of it
 * as a number (` +12`): for such a name its answer counts only if it is the entry of that name.
 */
const NUMERIC = /^[ \t\n\v\f\r]*[+-]?[0-9]+$/;

/** What getent said: the home, no such user, or no answer (getent could not be run or failed). */
function askGetent(name: string, env: NodeJS.ProcessEnv): { home: string | undefined } | undefined {
  // glibc's getent parses options with argp: a name starting with `-` goes after `--`.
  const args = name.startsWith('-') ? ['--', 'passwd', name] : ['passwd', name];
  const r = spawnSync('getent', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.error || r.status === null) return undefined;
  // getent(1): 0 found, 2 not found; 1 (bad arguments, unknown database), 3 (no enumeration)
  // say nothing about the user.
  if (r.status === 2) return { home: undefined };
  if (r.status !== 0) return undefined;
  const f = r.stdout.split('\n')[0]!.split(':');
  if (f.length < 7) return undefined;
  if (NUMERIC.test(name) && f[0] !== name) return undefined;
  return { home: f[5] };
}

/** The passwd file to read when getent cannot answer: nss_wrapper's when it is preloaded. */
function passwdFile(env: NodeJS.ProcessEnv): string {
  const wrapped = /(^|[:\s/])libnss_wrapper\.so/.test(env.LD_PRELOAD ?? '') && env.NSS_WRAPPER_PASSWD && env.NSS_WRAPPER_GROUP;
  return wrapped ? env.NSS_WRAPPER_PASSWD! : PASSWD_FILE;
}

const cache = new Map<string, string | undefined>();

/**
 * The home directory of user `name` as getpwnam(3) gives it (see the file comment for how), or
 * undefined when there is no such user. Answers are kept for the life of the process (ssh asks
 * once per path; the files are read again for the final Match pass).
 *
 * @example
 * userHome('root') // '/root'
 * userHome('no-such-user') // undefined
 */
export function userHome(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cache.has(name)) return cache.get(name);
  let home: string | undefined;
  const asked = askGetent(name, env);
  if (asked !== undefined) home = asked.home;
  else {
    try {
      home = passwdHomeOf(readFileSync(passwdFile(env), 'utf8'), name);
    } catch {
      // no passwd file either: no user is known
    }
  }
  cache.set(name, home);
  return home;
}
