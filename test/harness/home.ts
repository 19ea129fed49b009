/**
 * A home directory of the test's own for the CLI run as a subprocess (pure-ssh, and OpenSSH's
 * `ssh` beside it), given the way ssh(1) takes it: from the passwd entry of the uid.
 *
 * Facts about these machines this rests on (kept here, as ../shared/TESTING.md keeps those about
 * the servers; verified on Debian 12 with libnss-wrapper 1.1.12):
 * - ssh(1) takes the home from `getpwuid(getuid())->pw_dir` (ssh.c), never from $HOME, for
 *   `~/.ssh/config`, `~` in file names, the default identity files and known_hosts, Include and
 *   %d. pure-ssh's CLI does the same (src/node/connect-host.ts passwdHome(): Node's
 *   os.userInfo(), i.e. libuv's getpwuid_r; $HOME only when the uid has no passwd entry).
 *   Setting HOME therefore no longer keeps a CLI run away from the real user's ~/.ssh.
 * - nss_wrapper (Debian package libnss-wrapper, from the Samba project) answers getpwuid_r and
 *   the other passwd/group calls from files named by the environment:
 *   `LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD=FILE NSS_WRAPPER_GROUP=FILE`. Both files
 *   must be set or nss_wrapper passes every call through to glibc. A uid missing from the file
 *   has no entry at all (os.userInfo() throws ENOENT): the file must hold the current uid.
 *   Host lookups are passed through to glibc unless NSS_WRAPPER_HOSTS is set (it is not here).
 * - Node and /usr/bin/ssh are dynamically linked against glibc, so LD_PRELOAD reaches them and
 *   every child they start (ProxyCommand, Match exec, askpass); it is ignored for set-uid
 *   programs, which the CLI does not run.
 *
 * {@link cliEnv} gives the environment for one run: the current uid and gid with this test's
 * directory as home, $HOME set to the same directory (Node's os.homedir() and the code cache
 * of the bin use $HOME), the caller's additions last. So the real code path is exercised, not
 * a stand-in: the CLI calls getpwuid_r and gets the temporary directory.
 *
 * With `CI=true` a missing libnss_wrapper.so fails the suites that need it (`.ci/run` installs
 * libnss-wrapper); elsewhere they are skipped, named with the reason, as for the other peers
 * ({@link describeIf} in ./sshd.ts).
 *
 * @example
 * ```ts
 * describeInteropWithHome('the CLI against sshd', () => {
 *   it('logs in', async () => {
 *     const run = runCli([...args], { env: cliEnv(home, { SSH_AUTH_SOCK: '' }) });
 *   });
 * });
 * ```
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, it } from 'vitest';
import { describeIf, inCI, requireSshd, sshdAvailable, type ServerDescribe } from './sshd.js';

/** The Debian package that ships libnss_wrapper.so; named in every "missing" message. */
export const NSS_WRAPPER_PACKAGE = 'libnss-wrapper';
const LIBRARY = 'libnss_wrapper.so';
/** Where {@link cliEnv} writes the passwd and group files, inside the home it is given. */
export const NSS_FILES_DIR = '.nss_wrapper';

/** Library directories to look in: Debian's multiarch ones (/usr/lib/x86_64-linux-gnu), then the plain ones. */
function libraryDirs(): string[] {
  let multiarch: string[] = [];
  try {
    multiarch = readdirSync('/usr/lib')
      .filter((d) => /-linux-gnu/.test(d))
      .map((d) => join('/usr/lib', d));
  } catch {
    // no /usr/lib: not a Linux system nss_wrapper runs on
  }
  return [...multiarch, '/usr/lib64', '/usr/lib', '/usr/local/lib'];
}

let library: string | null | undefined;

/** Absolute path of libnss_wrapper.so, or undefined when it is not installed (or not on Linux). */
export function nssWrapperLibrary(): string | undefined {
  if (library === undefined) {
    library = null;
    if (process.platform === 'linux') {
      for (const dir of libraryDirs()) {
        const path = join(dir, LIBRARY);
        if (existsSync(path)) {
          library = path;
          break;
        }
      }
    }
  }
  return library ?? undefined;
}

/** Whether nss_wrapper is installed, so {@link cliEnv} can give the CLI a passwd home. */
export function nssWrapperAvailable(): boolean {
  return nssWrapperLibrary() !== undefined;
}

/** Throws a clear error when libnss_wrapper.so is missing, naming the package that has it. */
export function requireNssWrapper(): void {
  if (nssWrapperAvailable()) return;
  throw new Error(
    `nss_wrapper is not installed (${LIBRARY} not found in ${libraryDirs().join(', ')}): ` +
      `run \`apt-get install -y ${NSS_WRAPPER_PACKAGE}\`; the CLI tests need it to give the CLI a passwd ` +
      `home of their own${inCI() ? ' (CI=true: these tests never skip)' : ''}`,
  );
}

/** The name of group `gid` in /etc/group, or undefined. */
function groupName(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && Number(f[2]) === gid && f[2] !== '') return f[0];
    }
  } catch {
    // no /etc/group
  }
  return undefined;
}

/**
 * passwd(5) and group(5) lines for the current uid and gid with `home` as pw_dir. The name and
 * shell are the real entry's (so %u, `User` defaults and Match localuser do not change), or
 * `pure-ssh-test` and /bin/sh when the uid has none.
 */
function passwdLines(home: string): { passwd: string; group: string } {
  const uid = process.getuid!();
  const gid = process.getgid!();
  let name = 'pure-ssh-test';
  let shell = '/bin/sh';
  try {
    const me = userInfo();
    name = me.username;
    shell = me.shell ?? shell;
  } catch {
    // the uid has no passwd entry: the made-up name
  }
  return {
    passwd: `${name}:x:${uid}:${gid}:pure-ssh test user:${home}:${shell}\n`,
    group: `${groupName(gid) ?? name}:x:${gid}:\n`,
  };
}

/**
 * Writes `text` to `path` unless it holds that already; when it does not, through a new file
 * renamed over it. A subprocess started earlier with the same home (tests running concurrently)
 * may be reading the file through nss_wrapper right then: it sees the old or the new file,
 * never one truncated mid-rewrite.
 */
function writeIfChanged(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) return;
  } catch {
    // not there yet
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * XDG_CACHE_HOME of every {@link cliEnv} run: the bins' code cache (src/node/cli-bin.cts,
 * `$XDG_CACHE_HOME/pure-ssh`) in one directory for all test files and runs, not one per passwd
 * home. Each home used to start with no cache, so the first runs of each bin in every file
 * compiled the whole bundle and wrote a cache; now they start as a user's second run does. The
 * cache is checked against the bundle's sha256, so a rebuilt bundle is never run from a stale
 * one. Tests of the cache itself name their own directory (`extra`).
 */
export const TEST_CODE_CACHE_HOME = join(tmpdir(), `pure-ssh-test-code-cache-${userInfo().uid}`);

/**
 * The environment for a CLI subprocess whose passwd home is `home`: this process's environment,
 * LD_PRELOAD of nss_wrapper (before any preload already set), NSS_WRAPPER_PASSWD and
 * NSS_WRAPPER_GROUP naming files written to `home`/.nss_wrapper/ (so they go when the test
 * removes its home), HOME=`home`, XDG_CACHE_HOME={@link TEST_CODE_CACHE_HOME}, then `extra`
 * (which may set HOME elsewhere, to show it is not what the CLI reads). `home` is made if
 * missing; it must not contain ':' or a newline (passwd(5) fields). Throws like {@link requireNssWrapper} when nss_wrapper is missing.
 */
export function cliEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  requireNssWrapper();
  const dir = resolve(home);
  if (/[:\n]/.test(dir)) throw new Error(`cliEnv: a home with ':' or a newline cannot be a passwd entry's: ${JSON.stringify(dir)}`);
  const files = join(dir, NSS_FILES_DIR);
  mkdirSync(files, { recursive: true, mode: 0o700 });
  const lines = passwdLines(dir);
  const passwd = join(files, 'passwd');
  const group = join(files, 'group');
  writeIfChanged(passwd, lines.passwd);
  writeIfChanged(group, lines.group);
  const preload = [nssWrapperLibrary()!, process.env.LD_PRELOAD].filter(Boolean).join(':');
  return {
    ...process.env,
    LD_PRELOAD: preload,
    NSS_WRAPPER_PASSWD: passwd,
    NSS_WRAPPER_GROUP: group,
    HOME: dir,
    XDG_CACHE_HOME: TEST_CODE_CACHE_HOME,
    ...extra,
  };
}

/**
 * `describe` for suites that run the CLI under {@link cliEnv} without a server: runs when
 * nss_wrapper is installed; in CI a missing one is a failing test; elsewhere skipped.
 */
export const describeWithHome: ServerDescribe = describeIf(nssWrapperAvailable, requireNssWrapper);

/**
 * {@link describeInterop} for suites that run the CLI under {@link cliEnv} against a real sshd:
 * needs both; in CI a missing one fails, elsewhere the suite is skipped.
 */
export const describeInteropWithHome: ServerDescribe = describeIf(
  () => sshdAvailable() && nssWrapperAvailable(),
  () => {
    requireSshd();
    requireNssWrapper();
  },
);

/**
 * `it` for one test in a wider suite that runs the CLI under {@link cliEnv}: runs when
 * nss_wrapper is installed and in CI (where {@link cliEnv} then fails the test with the
 * reason); elsewhere skipped, named with the reason.
 */
export function itWithHome(name: string, fn: () => Promise<void> | void, timeout?: number): void {
  if (nssWrapperAvailable() || inCI()) it(name, fn, timeout);
  else it.skip(`${name} (skipped: ${LIBRARY} not installed; apt-get install -y ${NSS_WRAPPER_PACKAGE})`, fn, timeout);
}

/**
 * A new empty directory under the system temp dir (`prefix` then random characters), removed
 * (recursively) after the enclosing suite's tests (`afterAll`): call it at a test file's top level
 * or inside a `describe` callback, not inside a test. It is made when the file is collected.
 */
export function suiteDir(prefix = 'pure-ssh-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A {@link suiteDir} to serve as a suite's passwd home with {@link cliEnv}. */
export function suiteHome(prefix = 'pure-ssh-home-'): string {
  return suiteDir(prefix);
}

let processHomeDir: string | undefined;

/**
 * One temporary passwd home for every CLI run of this test process that names none of its own
 * (the default of the harness runners): made on first use, removed when the process exits.
 */
export function processHome(): string {
  if (processHomeDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-home-'));
    processHomeDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return processHomeDir;
}
