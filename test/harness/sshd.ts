/**
 * A real OpenSSH sshd on loopback, started per test file with a generated config in a temp
 * dir (../shared/TESTING.md "OpenSSH sshd"), the way Go's `ssh/test/` and OpenSSH's own
 * regress suite do it.
 *
 * @example
 * ```ts
 * describeInterop('forwarding against sshd', () => {
 *   const sshd = sshdSuite({ config: { RekeyLimit: '1M' } }); // startSshd in beforeAll, stop in afterAll
 *   it('logs in', async () => { ... sshd.port, sshd.clientKey, sshd.knownHostsPath ... });
 * });
 * ```
 *
 * OpenSSH 10 (post-quantum key exchange by default) runs the same way from a build made by
 * scripts/build-openssh.sh: `describeInteropOpenssh10(...)` and `startSshd({ openssh: '10' })`.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { freePort, LOOPBACK, startRelay, waitForPort, type Relay } from './net.js';
import { descendants, exited, LogBuffer, own, requireBuiltCli, signalAll, SSH_CLIENT_PATH } from './proc.js';

const execFileP = promisify(execFile);

/** Where Debian's openssh-server puts the daemon. */
export const SSHD_PATH = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** Debian's OpenSSH client, the side-by-side reference for the system sshd. */
const SSH_PATH = '/usr/bin/ssh';

/**
 * Which OpenSSH runs the server: `'system'`, Debian 12's packaged 9.2 at {@link SSHD_PATH}, or
 * `'10'`, the OpenSSH 10 build of scripts/build-openssh.sh (see {@link openssh10}).
 */
export type OpenSshRelease = 'system' | '10';

/** The binaries of one OpenSSH installation. */
export interface OpenSshPaths {
  /** Install prefix; undefined for the system's packages. */
  dir?: string;
  sshd: string;
  /** The client of the same release, for side-by-side runs against its sshd. */
  ssh: string;
  sshKeygen: string;
}

/** The script that builds OpenSSH 10 into the cache; named in every "missing" message. */
export const OPENSSH10_BUILD_SCRIPT = 'scripts/build-openssh.sh';
/** Env var naming the OpenSSH 10 install dir (set by .ci/run from the build script's output). */
export const OPENSSH10_ENV = 'PURE_SSH_OPENSSH10';
/** Written last by the build script: a directory without it is an interrupted build. */
const BUILD_STAMP = '.pure-ssh-build-complete';
/** Besides sshd, ssh and ssh-keygen: sshd 10 execs these from its compiled-in libexec dir. */
const OPENSSH10_HELPERS = ['libexec/sshd-session', 'libexec/sshd-auth'];

/** The system user created for password tests. */
export const PASSWORD_USER = 'pssh_test';

/** Host key algorithms the harness can generate. */
export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** Options for {@link startSshd}. */
export interface SshdOptions {
  /**
   * Extra sshd_config keywords; they replace the harness defaults of the same name (matched
   * case-insensitively). An array writes the keyword once per element (HostKey, Subsystem).
   */
  config?: Record<string, string | string[]>;
  /** Host keys to generate and serve, in order. Default `['ed25519']`. */
  hostKeyTypes?: HostKeyType[];
  /** Create (or reuse) the {@link PASSWORD_USER} system user with a password and allow passwords. */
  password?: boolean;
  /** ListenAddress. Default 127.0.0.1. */
  listen?: string;
  /** Which OpenSSH serves. Default `'system'` (Debian's 9.2); `'10'` needs {@link openssh10}. */
  openssh?: OpenSshRelease;
  /**
   * A PAM service of the test's own (with `config: { UsePAM: 'yes' }`; the system sshd only):
   * sshd names its PAM service after its program name (auth-pam.c SSHD_PAM_SERVICE), so it is
   * started through a symlink called `name` in its dir, and /etc/pam.d/`name` is written with
   * `config` (a PAM stack, e.g. pam_echo's text then pam_deny to make keyboard-interactive
   * carry an instruction). Use a name of the test's own: the file stays for later runs.
   */
  pamService?: { name: string; config: string };
}

/** One generated host key. */
export interface HostKey {
  type: HostKeyType;
  /** Private key file (OpenSSH format). */
  path: string;
  /** `ssh-ed25519 AAAA...` (algorithm and base64 blob, no comment). */
  publicKey: string;
}

/** A running sshd owned by the test. */
export interface SshdHandle {
  host: string;
  port: number;
  /** Temp dir with the config, keys, authorized_keys and known_hosts; removed by stop(). */
  dir: string;
  /** The generated sshd_config, inside {@link SshdHandle.dir}. */
  configPath: string;
  /** Which OpenSSH serves, and its binaries (`openssh.ssh` is the matching client). */
  openssh: OpenSshPaths & { release: OpenSshRelease };
  /** User the client key is authorised for: `root`. */
  user: string;
  /** ed25519 private key file authorised for {@link SshdHandle.user} (and the password user). */
  clientKeyPath: string;
  /** Text of that private key file. */
  clientKey: string;
  /** `ssh-ed25519 AAAA...` of the client key. */
  clientPublicKey: string;
  /** Private host key files, in the order of `hostKeyTypes`. */
  hostKeyPaths: string[];
  hostKeys: HostKey[];
  /** known_hosts lines: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`. */
  hostKeyLines: string[];
  /** A known_hosts file holding {@link SshdHandle.hostKeyLines}. */
  knownHostsPath: string;
  /** Present in password mode. */
  password?: { user: string; password: string };
  /** Options for OpenSSH's `ssh` that log in as `user` with the client key and pinned host key. */
  clientArgs: string[];
  /** `root@127.0.0.1`, to follow {@link SshdHandle.clientArgs}. */
  target: string;
  /** Pid of the listening sshd. */
  pid: number;
  /** sshd's stderr so far (the listener and every connection; `-e`). */
  logs(): string;
  /** SIGKILLs every per-connection sshd (the listener's descendants); the listener stays. */
  killConnections(): void;
  /** Kills connections and the listener, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * {@link SshdHandle.clientArgs} for a connection through a relay on `port` (in front of `sshd`):
 * the relay's port, and HostKeyAlias naming sshd's own so that its known_hosts line matches.
 */
export function clientArgsVia(sshd: SshdHandle, port: number): string[] {
  return [...sshd.clientArgs.map((a) => (a === String(sshd.port) ? String(port) : a)), '-o', `HostKeyAlias=[${sshd.host}]:${sshd.port}`];
}

/** What {@link relayedSshdSuite} starts: sshd, and a relay in front of it that can end its connections. */
export interface RelayedSshd {
  sshd: SshdHandle;
  relay: Relay;
}

/**
 * For a suite that runs the built CLI (and ssh) against sshd through {@link startRelay}: before
 * the suite, checks the build ({@link requireBuiltCli}) and starts {@link startSshd} then the
 * relay; after it, stops both. Call it in the `describe` body; the fields are set once the
 * suite's `beforeAll` ran (read them inside tests). Connect with {@link clientArgsVia}.
 */
export function relayedSshdSuite(): RelayedSshd {
  const suite = {} as RelayedSshd;
  beforeAll(async () => {
    requireBuiltCli();
    suite.sshd = await startSshd();
    suite.relay = await startRelay(suite.sshd.port, suite.sshd.host);
  }, 30_000);
  afterAll(async () => {
    await suite.relay?.close();
    await suite.sshd?.stop();
  });
  return suite;
}

/** Options for {@link sshdSuite}: {@link startSshd}'s, and whether the suite needs the built CLI. */
export interface SshdSuiteOptions extends SshdOptions {
  /** Check the build first ({@link requireBuiltCli}): for suites that run dist/ (the CLI, its bin). */
  builtCli?: boolean;
}

/**
 * The sshd of a suite: {@link startSshd} with `opts` in a `beforeAll`, stopped in an `afterAll`,
 * the set-up most interop suites share. Call it in the `describe` body (or at a file's top level),
 * before any hook that uses the server. The handle it returns reads through to the started one:
 * its fields (`port`, `clientArgs`, `target`, ...) and methods can be used as a
 * {@link SshdHandle}'s inside tests and in hooks registered after it (vitest runs `beforeAll`s in
 * order); read any sooner, it throws.
 *
 * @example
 * ```ts
 * describeInteropWithHome('the CLI beside ssh 9.2', () => {
 *   const home = suiteHome();
 *   const sshd = sshdSuite({ builtCli: true, config: { Compression: 'yes' } });
 *   it('logs in', async () => { ... startCli('ssh', [...sshd.clientArgs, '-N', sshd.target], { env: cliEnv(home) }) ... });
 * });
 * ```
 */
export function sshdSuite(opts: SshdSuiteOptions = {}): SshdHandle {
  const { builtCli, ...sshdOptions } = opts;
  let started: SshdHandle | undefined;
  beforeAll(async () => {
    if (builtCli) requireBuiltCli();
    started = await startSshd(sshdOptions);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as SshdHandle, {
    get(_, key) {
      if (started === undefined) {
        throw new Error(`sshdSuite(): sshd.${String(key)} read before the suite's beforeAll started sshd (read it inside a test or a later hook)`);
      }
      return Reflect.get(started, key);
    },
  });
}

/** Whether `path` exists and this process may execute it (tools a suite needs, e.g. puttygen). */
export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether OpenSSH's sshd and ssh-keygen are installed where the harness expects them. */
export function sshdAvailable(): boolean {
  return executable(SSHD_PATH) && executable(SSH_KEYGEN);
}

/** True when running under CI, where a missing server must fail the run, never skip it. */
export function inCI(): boolean {
  return process.env.CI === 'true';
}

/** OpenSSH's client (defined in proc.ts, which runs it: see startCli). */
export { SSH_CLIENT_PATH };

/** Whether {@link SSH_CLIENT_PATH} is there; under CI its absence throws (a comparison must not skip). */
export function sshClientAvailable(): boolean {
  const have = existsSync(SSH_CLIENT_PATH);
  if (!have && inCI()) throw new Error(`OpenSSH client (${SSH_CLIENT_PATH}) is missing`);
  return have;
}

/** The binaries of Debian's openssh-server and openssh-client packages. */
export function systemOpenssh(): OpenSshPaths {
  return { sshd: SSHD_PATH, ssh: SSH_PATH, sshKeygen: SSH_KEYGEN };
}

function opensshAt(dir: string): OpenSshPaths {
  return { dir, sshd: join(dir, 'sbin/sshd'), ssh: join(dir, 'bin/ssh'), sshKeygen: join(dir, 'bin/ssh-keygen') };
}

function completeOpenssh10(dir: string): boolean {
  const p = opensshAt(dir);
  return [p.sshd, p.ssh, p.sshKeygen, ...OPENSSH10_HELPERS.map((h) => join(dir, h))].every(executable);
}

/** Compares `10.0p2` and `10.1p1` like `sort -V` does for these names. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.p]/).map(Number);
  const pb = b.split(/[.p]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The cache scripts/build-openssh.sh uses: `${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}`. */
export function pureSshCacheDir(): string {
  return process.env.PURE_SSH_CACHE || join(homedir(), '.cache', 'pure-ssh');
}

/**
 * Where the OpenSSH 10 build should be: `$PURE_SSH_OPENSSH10` when set, else the newest complete
 * `openssh-10.*` build (stamp present) in `${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}`, the
 * build script's default. Undefined when neither names a directory.
 */
export function openssh10Dir(): string | undefined {
  const fromEnv = process.env[OPENSSH10_ENV];
  if (fromEnv) return fromEnv;
  const cache = pureSshCacheDir();
  let names: string[];
  try {
    names = readdirSync(cache);
  } catch {
    return undefined;
  }
  const builds = names
    .filter((n) => /^openssh-10\.\d+p\d+$/.test(n) && existsSync(join(cache, n, BUILD_STAMP)))
    .sort((a, b) => compareVersions(b.slice('openssh-'.length), a.slice('openssh-'.length)));
  return builds.length > 0 ? join(cache, builds[0]!) : undefined;
}

/** Whether the OpenSSH 10 build is there, every binary included. */
export function openssh10Available(): boolean {
  const dir = openssh10Dir();
  return dir !== undefined && completeOpenssh10(dir);
}

/**
 * Throws a clear error when the OpenSSH 10 build is missing or incomplete, naming the script
 * that makes it. {@link startSshd} calls it for `openssh: '10'`.
 */
export function requireOpenssh10(): void {
  if (openssh10Available()) return;
  const dir = openssh10Dir();
  const where = dir
    ? `${dir} lacks sbin/sshd, bin/ssh, bin/ssh-keygen or ${OPENSSH10_HELPERS.join(', ')}`
    : `no complete build in ${process.env.PURE_SSH_CACHE || '~/.cache/pure-ssh'} and ${OPENSSH10_ENV} is not set`;
  throw new Error(
    `OpenSSH 10 is not built (${where}): run \`${OPENSSH10_BUILD_SCRIPT}\` (about 3 minutes) and ` +
      `set ${OPENSSH10_ENV} to the directory it prints${inCI() ? ' (CI=true: interop tests never skip)' : ''}`,
  );
}

/**
 * The OpenSSH 10 binaries (sshd, and its `ssh` client for side-by-side runs). Throws like
 * {@link requireOpenssh10} when the build is missing.
 */
export function openssh10(): OpenSshPaths {
  requireOpenssh10();
  return opensshAt(openssh10Dir()!);
}

/**
 * Throws a clear error when sshd is missing. Interop tests call it (through
 * {@link startSshd}) so that a CI machine without openssh-server fails loudly.
 */
export function requireSshd(): void {
  if (sshdAvailable()) return;
  throw new Error(
    `OpenSSH sshd is not installed (${SSHD_PATH} or ${SSH_KEYGEN} missing): ` +
      `run \`apt-get install -y openssh-server\`${inCI() ? ' (CI=true: interop tests never skip)' : ''}`,
  );
}

/** A `describe` for suites needing a server: runs, fails in CI if missing, skips otherwise. */
export type ServerDescribe = (name: string, fn: () => void) => void;

/**
 * Builds a {@link ServerDescribe} from an availability check and its requirement error; a
 * skipped suite's name carries that error's message, so the report says what to install.
 */
export function describeIf(available: () => boolean, require: () => void): ServerDescribe {
  return (name, fn) => {
    if (available()) describe(name, fn);
    else if (inCI()) describe(name, () => it('has its server installed', () => require()));
    else describe.skip(`${name} (skipped: ${missing(require)})`, fn);
  };
}

/** The message `require` throws, for a skipped suite's name. */
function missing(require: () => void): string {
  try {
    require();
  } catch (err) {
    return (err as Error).message;
  }
  return 'not available';
}

/**
 * `describe` for suites that talk to a real sshd: runs when sshd is installed; in CI
 * (`CI=true`) a missing sshd becomes one failing test; elsewhere the suite is skipped.
 */
export const describeInterop: ServerDescribe = describeIf(sshdAvailable, requireSshd);

/**
 * {@link describeInterop} for suites that need OpenSSH 10 (`startSshd({ openssh: '10' })`):
 * runs when the build of scripts/build-openssh.sh is there; in CI a missing build becomes one
 * failing test; elsewhere the suite is skipped.
 */
export const describeInteropOpenssh10: ServerDescribe = describeIf(openssh10Available, requireOpenssh10);

async function keygen(sshKeygen: string, type: HostKeyType, path: string): Promise<void> {
  if (type === 'rsa') return rsaHostKey(sshKeygen, path);
  await execFileP(sshKeygen, ['-q', '-t', type, '-N', '', '-C', '', '-f', path]);
}

/** Where {@link rsaHostKey} keeps its keys: one directory per key, `rsa-N/key` and `key.pub`. */
const RSA_HOST_KEYS = join(tmpdir(), `pure-ssh-test-rsa-host-keys-${userInfo().uid}`);
/** RSA host keys this process (one test file) has handed out. */
let rsaHostKeysUsed = 0;

/**
 * An RSA host key (ssh-keygen's default size, 3072 bits) written to `path` and `path.pub`. The
 * n-th one a process asks for is the n-th of a set kept in the temp dir for every test file and
 * run, made by ssh-keygen the first time: an RSA keygen is a prime search, 0.2 to 2 s of CPU,
 * where the other types take milliseconds. Within one test file every key is still distinct, as
 * freshly made ones would be; files have their own servers and known_hosts files. A key is made
 * whole in a temp dir and renamed into place (a second file making the same one at once keeps
 * the first).
 */
async function rsaHostKey(sshKeygen: string, path: string): Promise<void> {
  const kept = join(RSA_HOST_KEYS, `rsa-${rsaHostKeysUsed++}`);
  if (!existsSync(join(kept, 'key.pub'))) {
    mkdirSync(RSA_HOST_KEYS, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(join(RSA_HOST_KEYS, 'new-'));
    try {
      await execFileP(sshKeygen, ['-q', '-t', 'rsa', '-N', '', '-C', '', '-f', join(work, 'key')]);
      await rename(work, kept).catch((err: unknown) => {
        if (!existsSync(join(kept, 'key.pub'))) throw err;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  // sshd refuses a private host key others can read; the copies are the test's to remove.
  await copyFile(join(kept, 'key'), path);
  await copyFile(join(kept, 'key.pub'), `${path}.pub`);
  await chmod(path, 0o600);
}

/** `type base64` of a .pub file, without the comment. */
export async function publicKeyOf(privatePath: string): Promise<string> {
  const text = await readFile(`${privatePath}.pub`, 'utf8');
  return text.trim().split(/\s+/).slice(0, 2).join(' ');
}

/**
 * The password for {@link PASSWORD_USER}: random, made once per machine and shared through a
 * file, because test files run in parallel and each calls chpasswd; a per-call password would
 * let one file's chpasswd break another's login.
 */
function sharedPassword(): string {
  const file = join(tmpdir(), `pure-ssh-${PASSWORD_USER}.password`);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    // create it below
  }
  const candidate = randomBytes(12).toString('base64url');
  const temp = `${file}.${process.pid}.${Date.now()}`;
  writeFileSync(temp, candidate, { mode: 0o600 });
  try {
    linkSync(temp, file); // atomic: exactly one writer wins
  } catch {
    // another process won; use its password
  } finally {
    rmSync(temp, { force: true });
  }
  return readFileSync(file, 'utf8').trim();
}

/** Create (or reuse) {@link PASSWORD_USER} with the shared password; returns both (for servers other than sshd, e.g. Dropbear). */
export async function ensurePasswordUser(): Promise<{ user: string; password: string }> {
  const password = sharedPassword();
  try {
    await execFileP('id', ['-u', PASSWORD_USER]);
  } catch {
    try {
      await execFileP('useradd', ['-m', '-s', '/bin/sh', PASSWORD_USER]);
    } catch (err) {
      // exit 9: a parallel test file created it first
      if ((err as { code?: number }).code !== 9) throw err;
    }
  }
  // Parallel test files all run chpasswd; /etc/shadow is locked while one does, so retry.
  for (let attempt = 1; ; attempt++) {
    try {
      await chpasswd(`${PASSWORD_USER}:${password}\n`);
      break;
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  return { user: PASSWORD_USER, password };
}

function chpasswd(input: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('chpasswd', [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`chpasswd failed (${code}): ${stderr}`)),
    );
    child.stdin.end(input);
  });
}

function renderConfig(defaults: Record<string, string | string[]>, extra: Record<string, string | string[]>): string {
  const merged = new Map<string, [string, string | string[]]>();
  for (const [k, v] of Object.entries(defaults)) merged.set(k.toLowerCase(), [k, v]);
  for (const [k, v] of Object.entries(extra)) merged.set(k.toLowerCase(), [k, v]);
  const lines: string[] = [];
  for (const [key, value] of merged.values()) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key} ${v}`);
  }
  return lines.join('\n') + '\n';
}

class BindError extends Error {}

interface Started {
  child: ReturnType<typeof spawn>;
  log: LogBuffer;
}

/** Starts sshd and resolves once it printed "Server listening"; BindError if the port was taken. */
function launch(sshd: string, configPath: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const log = new LogBuffer();
    const child = spawn(sshd, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let settled = false;
    let seen = '';
    const timer = setTimeout(() => fail(new Error('sshd did not report "Server listening" within 15 s')), 15_000);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(err);
    };
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      log.push(text);
      if (settled) return;
      seen += text;
      if (/Server listening on /.test(seen)) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, log });
      }
    });
    child.on('error', (err) => fail(err));
    child.on('exit', (code, signal) => {
      const text = log.text();
      if (/Address already in use|Cannot bind any address/.test(text)) fail(new BindError(text));
      else fail(new Error(`sshd exited (${code ?? signal}) before listening:\n${text}`));
    });
  });
}

/**
 * Starts `/usr/sbin/sshd -D -e` (or OpenSSH 10's `sbin/sshd` with `openssh: '10'`) on a free
 * loopback port with fresh host keys and an ed25519 client key authorised for root. Resolves
 * once sshd printed "Server listening" and the port accepts connections. Call `stop()` in
 * `afterAll`; anything left is killed at process exit.
 */
export async function startSshd(opts: SshdOptions = {}): Promise<SshdHandle> {
  const release = opts.openssh ?? 'system';
  let paths: OpenSshPaths;
  if (release === '10') {
    // Its privilege-separation dir is the build's empty/, compiled in.
    paths = openssh10();
  } else {
    requireSshd();
    paths = systemOpenssh();
    mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation dir
  }
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-sshd-'));
  try {
    const types = opts.hostKeyTypes ?? ['ed25519'];
    const host = opts.listen ?? LOOPBACK;
    const hostKeyPaths = types.map((t) => join(dir, `host_${t}`));
    const clientKeyPath = join(dir, 'client_ed25519');
    const [password] = await Promise.all([
      opts.password ? ensurePasswordUser() : Promise.resolve(undefined),
      keygen(paths.sshKeygen, 'ed25519', clientKeyPath),
      ...types.map((t, i) => keygen(paths.sshKeygen, t, hostKeyPaths[i])),
    ]);
    const clientPublicKey = await publicKeyOf(clientKeyPath);
    const hostKeys: HostKey[] = await Promise.all(
      types.map(async (type, i) => ({ type, path: hostKeyPaths[i], publicKey: await publicKeyOf(hostKeyPaths[i]) })),
    );
    const authorizedKeys = join(dir, 'authorized_keys');
    await writeFile(authorizedKeys, `${clientPublicKey}\n`);
    const configPath = join(dir, 'sshd_config');
    let sshdProgram = paths.sshd;
    if (opts.pamService) {
      const { name, config } = opts.pamService;
      if (release !== 'system' || !/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`pamService ${name}: a lowercase name, with the system sshd`);
      const pamFile = join('/etc/pam.d', name);
      // Written only when it differs: test files running in parallel may share the name.
      if (!existsSync(pamFile) || readFileSync(pamFile, 'utf8') !== config) writeFileSync(pamFile, config);
      sshdProgram = join(dir, name);
      symlinkSync(paths.sshd, sshdProgram);
    }

    let attempt = 0;
    for (;;) {
      const port = await freePort(host);
      const defaults: Record<string, string | string[]> = {
        Port: String(port),
        ListenAddress: host,
        HostKey: hostKeyPaths,
        AuthorizedKeysFile: authorizedKeys,
        PidFile: join(dir, 'sshd.pid'),
        StrictModes: 'no',
        // The OpenSSH 10 build has no PAM (--without-pam) and would warn "Unsupported option".
        ...(release === '10' ? {} : { UsePAM: 'no' }),
        PermitRootLogin: opts.password ? 'yes' : 'prohibit-password',
        PasswordAuthentication: opts.password ? 'yes' : 'no',
        KbdInteractiveAuthentication: 'no',
        AllowTcpForwarding: 'yes',
        // DEBUG1 names the negotiated algorithms, auth attempts and channel opens without the
        // per-packet volume of DEBUG3, which would swamp the log during benchmarks.
        LogLevel: 'DEBUG1',
        PrintMotd: 'no',
        // sshd 9.8+ keyword: its default penalties would refuse 127.0.0.1 for a while after a
        // test's deliberate failed logins; 9.2 has no penalties, so this keeps them alike.
        ...(release === '10' ? { PerSourcePenalties: 'no' } : {}),
        // A remote command runs as `$SHELL -c COMMAND`; bash (Debian builds it with
        // SSH_SOURCE_BASHRC, shell.c run_startup_files) then reads the user's ~/.bashrc when it
        // is a top-level shell (SHLVL unset: level 1). Root's on these machines runs `pyenv init`
        // twice: 0.6 s of CPU and over 1 s of wall per command, for nothing a test looks at.
        // At level 2 it is not read; the command runs the same.
        SetEnv: 'SHLVL=1',
      };
      await writeFile(configPath, renderConfig(defaults, opts.config ?? {}));
      let started: Started;
      try {
        started = await launch(sshdProgram, configPath);
      } catch (err) {
        if (err instanceof BindError && ++attempt < 5) continue;
        throw err;
      }
      const { child, log } = started;
      const pid = child.pid!;
      const ownership = own(pid, dir);
      child.unref();
      (child.stderr as unknown as { unref?: () => void }).unref?.();

      let stopping: Promise<void> | undefined;
      const killConnections = () => signalAll(descendants(pid), 'SIGKILL');
      const stop = () => {
        stopping ??= (async () => {
          const kids = descendants(pid);
          signalAll([pid], 'SIGKILL');
          signalAll(kids, 'SIGKILL');
          await exited(child);
          ownership.release();
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      };
      try {
        await waitForPort(host, port, 10_000);
      } catch (err) {
        await stop();
        throw new Error(`sshd printed "Server listening" but port ${port} refused:\n${log.text()}`, { cause: err });
      }

      const hostPattern = port === 22 ? host : `[${host}]:${port}`;
      const hostKeyLines = hostKeys.map((k) => `${hostPattern} ${k.publicKey}`);
      const knownHostsPath = join(dir, 'known_hosts');
      await writeFile(knownHostsPath, hostKeyLines.join('\n') + '\n');
      const clientArgs = [
        '-F', '/dev/null',
        '-p', String(port),
        '-i', clientKeyPath,
        '-o', 'IdentitiesOnly=yes',
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${knownHostsPath}`,
        '-o', 'GlobalKnownHostsFile=/dev/null',
      ];
      return {
        host,
        port,
        dir,
        configPath,
        openssh: { ...paths, release },
        user: 'root',
        clientKeyPath,
        clientKey: await readFile(clientKeyPath, 'utf8'),
        clientPublicKey,
        hostKeyPaths,
        hostKeys,
        hostKeyLines,
        knownHostsPath,
        password,
        clientArgs,
        target: `root@${host}`,
        pid,
        logs: () => log.text(),
        killConnections,
        stop,
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
