/**
 * The built CLI (`node dist/node/cli-bin.cjs`) against SSH servers that are not OpenSSH or
 * Dropbear, each started by the test on a free loopback port with host and client keys made in
 * the suite's temp dir, and Debian's ssh 9.2 run the same way beside it, so that a failure
 * tells the server's fault (both fail) from pure-ssh's (only it fails):
 *
 * - asyncssh 2.10 (python3-asyncssh; test/servers/asyncssh-server.py),
 * - paramiko 2.12 (python3-paramiko; test/servers/paramiko-server.py),
 * - Go's golang.org/x/crypto/ssh 0.4 (golang-go, golang-golang-x-crypto-dev;
 *   test/servers/go-ssh-server/main.go, built here offline and cached in ~/.cache/pure-ssh),
 * - tinysshd 20230101 (tinysshd, and ucspi-tcp's tcpserver to listen for it).
 *
 * The first three: `-N -L` to an echo server, 8 concurrent connections each echoing its own
 * deterministic bytes, sha256-checked, also with `-o RekeyLimit=256K` (a key re-exchange every
 * 256 KiB); and password authentication through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force), right
 * and wrong ("Permission denied (...)." and exit 255, as ssh). tinysshd has no port forwarding
 * (it allows one session channel only, which pure-ssh does not open) and no passwords: a public
 * key login at -v, then SIGTERM and ssh's clean end. tinysshd takes ~/.ssh/authorized_keys from
 * the passwd entry of the user logging in, so it runs under nss_wrapper (test/harness/home.ts)
 * with a passwd home of its own for root; that home is under the cache dir rather than /tmp,
 * because tinysshd refuses an authorized_keys file below a group- or world-writable directory.
 *
 * Left out: Erlang/OTP's ssh server (erlang-ssh). Its direct-tcpip channels truncate the data
 * going from the server to the client (OTP 25: 64 MiB arrive as 64-760 KiB with a clean EOF,
 * with ssh 9.2 as with pure-ssh; an echo stalls), so the tunnel check cannot pass through it
 * (seen by hand beside ssh 9.2, which gets the same).
 *
 * Each of these was first run by hand beside ssh 9.2 (a tester's session). In CI (`CI=true`) a missing
 * server fails its suite with the `apt-get install` that provides it; elsewhere the suite is
 * skipped with that message (as for Dropbear in check-interop.test.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, nssWrapperAvailable, requireNssWrapper, suiteDir } from './harness/home.js';
import {
  deterministicSha256,
  deterministicStream,
  dial,
  freePort,
  hashStream,
  LOOPBACK,
  pidsListeningOn,
  startEchoServer,
  waitForPort,
  type StreamDigest,
  type TestServer,
} from './harness/net.js';
import { deliverSignal, exited, killTree, LogBuffer, own, requireBuiltCli, startCli, type CliClient, type CliResult, type Ownership } from './harness/proc.js';
import { describeIf, executable, inCI, publicKeyOf, pureSshCacheDir, sshClientAvailable, type ServerDescribe } from './harness/sshd.js';

const execFileP = promisify(execFile);

const SERVERS_DIR = fileURLToPath(new URL('./servers/', import.meta.url));
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** Debian's Python, which has the python3-asyncssh and python3-paramiko modules (not a pyenv one). */
const PYTHON_PATH = '/usr/bin/python3';
/** The user every server lets in: root, the name nss_wrapper's passwd entry keeps (tinysshd needs a real one). */
const USER = 'root';
const PASSWORD = 'interop-password';

/** Concurrent connections through each tunnel, and the bytes each one echoes. */
const CONNECTIONS = 8;
const BYTES_EACH = 1024 * 1024;
/** RekeyLimit of the second tunnel case, in bytes. */
const REKEY_LIMIT = 256 * 1024;

/** One server under test: the files that show it is installed, each with its Debian package. */
interface ServerKind {
  name: string;
  files: Record<string, string>;
}

const ASYNCSSH: ServerKind = {
  name: 'asyncssh',
  files: { '/usr/bin/python3': 'python3', '/usr/lib/python3/dist-packages/asyncssh/__init__.py': 'python3-asyncssh' },
};
const PARAMIKO: ServerKind = {
  name: 'paramiko',
  files: { '/usr/bin/python3': 'python3', '/usr/lib/python3/dist-packages/paramiko/__init__.py': 'python3-paramiko' },
};
const GO: ServerKind = {
  name: "Go's x/crypto/ssh",
  files: { '/usr/bin/go': 'golang-go', '/usr/share/gocode/src/golang.org/x/crypto/ssh/server.go': 'golang-golang-x-crypto-dev' },
};
const TINYSSHD: ServerKind = {
  name: 'tinysshd',
  files: { '/usr/sbin/tinysshd': 'tinysshd', '/usr/sbin/tinysshd-makekey': 'tinysshd', '/usr/bin/tcpserver': 'ucspi-tcp' },
};

/**
 * A suite that runs when `kind`'s files (and ssh-keygen, nss_wrapper) are there; otherwise one
 * failing test in CI and a skipped suite elsewhere, both naming the `apt-get install` to run.
 */
function describeServer(kind: ServerKind): ServerDescribe {
  const files: Record<string, string> = { ...kind.files, [SSH_KEYGEN]: 'openssh-client' };
  const missing = () => Object.keys(files).filter((f) => !existsSync(f));
  return describeIf(
    () => missing().length === 0 && nssWrapperAvailable(),
    () => {
      requireNssWrapper();
      const packages = [...new Set(missing().map((f) => files[f]))];
      throw new Error(
        `${kind.name} is not installed (${missing().join(', ')} missing): run \`apt-get install -y ${packages.join(' ')}\`` +
          `${inCI() ? ' (CI=true: interop tests never skip)' : ''}`,
      );
    },
  );
}

/**
 * test/servers/go-ssh-server/main.go built into `cache/go-ssh-server-HASH/` (HASH: of main.go),
 * offline against Debian's x/crypto in /usr/share/gocode; an existing build is reused. The build
 * goes to a temp dir renamed into place, so an interrupted or concurrent one leaves no half binary.
 */
async function goServerBinary(): Promise<string> {
  const source = join(SERVERS_DIR, 'go-ssh-server', 'main.go');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const dir = join(pureSshCacheDir(), `go-ssh-server-${hash}`);
  const binary = join(dir, 'go-ssh-server');
  if (executable(binary)) return binary;
  mkdirSync(pureSshCacheDir(), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    await execFileP('/usr/bin/go', ['build', '-o', join(tmp, 'go-ssh-server'), source], {
      cwd: tmp,
      timeout: 120_000,
      env: {
        ...process.env,
        GOPATH: '/usr/share/gocode',
        GO111MODULE: 'off',
        GOFLAGS: '',
        GOPROXY: 'off',
        CGO_ENABLED: '0', // no C compiler needed; the server resolves nothing but 127.0.0.1
        GOCACHE: join(pureSshCacheDir(), 'go-build'),
      },
    });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!executable(binary)) throw err; // else another run put its build there first
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return binary;
}

/** A server the suite started. */
interface Running {
  port: number;
  /** known_hosts holding the server's host key for `[127.0.0.1]:port`. */
  knownHosts: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command` (its arguments from `argsFor(port)`) on a free port and waits until the port
 * accepts a connection from it; a start that loses its port to another process is retried.
 * The process (and what it starts: tcpserver's children) dies with the test process.
 */
async function startServer(
  command: string,
  argsFor: (port: number) => string[],
  opts: { env?: NodeJS.ProcessEnv; hostKeyLine: string; dir: string; cleanupDir?: string },
): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = new LogBuffer();
    const child: ChildProcess = spawn(command, argsFor(port), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => log.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => log.push(d));
    const ownership: Ownership = own(child.pid!, opts.cleanupDir);
    const ended = exited(child).then(() => 'exited' as const);
    const up = await Promise.race([waitForPort(LOOPBACK, port, 20_000).then(() => 'up' as const), ended]);
    // The listener must be ours: a port taken by another process meanwhile also accepts.
    if (up === 'up' && pidsListeningOn(port).includes(child.pid!)) {
      const knownHosts = join(opts.dir, `known_hosts.${port}`);
      writeFileSync(knownHosts, `[${LOOPBACK}]:${port} ${opts.hostKeyLine}\n`);
      return {
        port,
        knownHosts,
        logs: () => log.text(),
        async stop() {
          killTree(child.pid!);
          await exited(child);
          ownership.release();
          if (opts.cleanupDir) rmSync(opts.cleanupDir, { recursive: true, force: true });
        },
      };
    }
    killTree(child.pid!);
    await exited(child);
    ownership.release();
    if (attempt < 3 && (up === 'up' || /in use/i.test(log.text()))) continue;
    const why = up === 'up' ? `found another process listening on ${port}` : `exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`;
    throw new Error(`${command} ${why}:\n${log.text()}`);
  }
}

/** Keys and files shared by a suite: a host key, a client key authorised for {@link USER}, an askpass. */
interface Fixture {
  dir: string;
  /** The client's passwd home (nss_wrapper), so neither client reads the real ~/.ssh. */
  home: string;
  hostKey: string;
  /** `ssh-ed25519 AAAA...` of the host key. */
  hostKeyLine: string;
  clientKey: string;
  authorizedKeys: string;
  askpass: string;
}

function fixture(prefix: string): () => Fixture {
  const dir = suiteDir(`pure-ssh-${prefix}-`);
  let f: Fixture | undefined;
  beforeAll(async () => {
    requireBuiltCli();
    const hostKey = join(dir, 'host_ed25519');
    const clientKey = join(dir, 'id_ed25519');
    await Promise.all([
      execFileP(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', hostKey]),
      execFileP(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', clientKey]),
    ]);
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, `${await publicKeyOf(clientKey)}\n`);
    // The answer comes from the client's environment, so one script serves the right and the wrong password.
    const askpass = join(dir, 'askpass');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$PURE_SSH_TEST_PASSWORD"\n`, { mode: 0o700 });
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    f = { dir, home, hostKey, hostKeyLine: await publicKeyOf(hostKey), clientKey, authorizedKeys, askpass };
  });
  return () => f!;
}

/** Options both clients take: no config, the server's pinned host key, the suite's key only, no agent. */
function clientArgs(server: Running, f: Fixture): string[] {
  return [
    '-F', '/dev/null',
    '-o', `UserKnownHostsFile=${server.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-i', f.clientKey,
    '-p', String(server.port),
  ];
}

const TARGET = `${USER}@${LOOPBACK}`;

/** The clients run: pure-ssh's bundled bin, and ssh 9.2 when installed (in CI it must be). */
function clients(): CliClient[] {
  return sshClientAvailable() ? ['pure-ssh bin', 'ssh'] : ['pure-ssh bin'];
}

/** Sends `n` deterministic bytes (`seed`) through `port` while reading the echo; what came back. */
async function echoThrough(port: number, n: number, seed: number): Promise<StreamDigest> {
  const socket = await dial(port);
  deterministicStream(n, seed).pipe(socket);
  return hashStream(socket);
}

/**
 * Runs `client` with `-N -L` to `echo` and `extra`, sends {@link CONNECTIONS} echoes of
 * {@link BYTES_EACH} bytes through it at once, checks each digest, then SIGTERMs the client:
 * its result (ssh ends with 0 after a SIGTERM).
 */
async function tunnel(client: CliClient, server: Running, f: Fixture, echo: TestServer, extra: string[]): Promise<CliResult> {
  const lport = await freePort();
  const run = startCli(
    client,
    [...clientArgs(server, f), '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-v', '-N', '-L', `${LOOPBACK}:${lport}:${LOOPBACK}:${echo.port}`, ...extra, TARGET],
    { env: cliEnv(f.home), detached: true, killAfterMs: 50_000 },
  );
  try {
    // Its own listener, by its -v line (both print it): a port another process took meanwhile
    // must not pass for the tunnel.
    const listeningLine = new RegExp(`^debug1: Local forwarding listening on 127\\.0\\.0\\.1 port ${lport}\\.\\r?$`, 'm');
    // (No probe connection: it would be tunnelled too, an extra connection at the echo server.)
    for (let i = 0; !listeningLine.test(run.stderr); i++) {
      if (i > 300 || run.child.exitCode !== null || run.child.signalCode !== null) {
        throw new Error(`${client}: no "Local forwarding listening" line for port ${lport}:\n${run.stderr}\nserver:\n${server.logs()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const accepted = echo.accepted;
    const got = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => echoThrough(lport, BYTES_EACH, i + 1)));
    const want = Array.from({ length: CONNECTIONS }, (_, i) => ({ bytes: BYTES_EACH, sha256: deterministicSha256(BYTES_EACH, i + 1) }));
    expect(got, `${client}: the echoes\n${run.stderr}\nserver:\n${server.logs()}`).toEqual(want);
    expect(echo.accepted - accepted, 'connections that reached the echo server').toBe(CONNECTIONS);
  } finally {
    deliverSignal(run.child, 'SIGTERM');
  }
  const result = await run.done;
  expect(result.code, `${client} after SIGTERM:\n${result.stderr}`).toBe(0);
  expect(result.stderr).toMatch(/^Authenticated to 127\.0\.0\.1 \(\[127\.0\.0\.1\]:\d+\) using "publickey"\.\r?$/m);
  return result;
}

/** Key exchanges after the first that `client` logged at -v. */
function rekeys(client: CliClient, stderr: string): number {
  // ssh: every exchange logs "SSH2_MSG_NEWKEYS received"; pure-ssh: "rekey done (key exchange #N)".
  if (client === 'ssh') return Math.max(0, (stderr.match(/SSH2_MSG_NEWKEYS received/g) ?? []).length - 1);
  return (stderr.match(/rekey done \(key exchange #\d+\)/g) ?? []).length;
}

/**
 * Runs `client` with `args` until it exits or is in session ("Entering interactive session" at
 * -v), then, a moment later (ssh installs its SIGTERM handler just after that line), SIGTERMs it.
 */
async function sessionThenSigterm(client: CliClient, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const run = startCli(client, args, { env, detached: true, killAfterMs: 20_000 });
  const ended = run.done.then(() => true);
  for (;;) {
    if (/^debug1: Entering interactive session\.\r?$/m.test(run.stderr)) break;
    if (await Promise.race([ended, new Promise<false>((r) => setTimeout(() => r(false), 50))])) return run.done;
  }
  await new Promise((r) => setTimeout(r, 300));
  deliverSignal(run.child, 'SIGTERM');
  return run.done;
}

/**
 * Logs in with `password` through SSH_ASKPASS (forced: no terminal is asked) and password
 * authentication only, one prompt; a login is ended by SIGTERM once in session.
 */
function passwordLogin(client: CliClient, server: Running, f: Fixture, password: string): Promise<CliResult> {
  return sessionThenSigterm(
    client,
    [
      ...clientArgs(server, f),
      '-o', 'PreferredAuthentications=password',
      '-o', 'PubkeyAuthentication=no',
      '-o', 'KbdInteractiveAuthentication=no',
      '-o', 'NumberOfPasswordPrompts=1',
      '-v', '-N', TARGET,
    ],
    cliEnv(f.home, { SSH_ASKPASS: f.askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: '', PURE_SSH_TEST_PASSWORD: password }),
  );
}

/** The forwarding and password cases shared by asyncssh, paramiko and Go. */
function forwardingAndPasswordCases(getServer: () => Running, f: () => Fixture): void {
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  it(`-N -L: ${CONNECTIONS} concurrent echoes of ${BYTES_EACH / 1024} KiB arrive intact (ssh 9.2 beside it)`, async () => {
    for (const client of clients()) await tunnel(client, getServer(), f(), echo, []);
  });

  // pure-ssh alone: ssh 9.2 itself stalls now and then in these frequent exchanges (seen against
  // Go's server in CI, and against sshd 9.2 at 64K by hand: "rekeying in progress" with nothing
  // moving), which would make the reference the flaky part of this check.
  it('-o RekeyLimit=256K: the same echoes across client-initiated key re-exchanges', async () => {
    for (const client of ['pure-ssh'] as const) {
      const { stderr } = await tunnel(client, getServer(), f(), echo, ['-o', `RekeyLimit=${REKEY_LIMIT / 1024}K`]);
      // At 256 KiB per key, 32 MiB each way would be 128 exchanges; but what is sent between our
      // NEWKEYS and the server's is not checked until the exchange is over (OpenSSH packet.c
      // ssh_packet_need_rekeying: not while kex->done is 0), so a slow server stretches a key's
      // share: seen 26 (pure-ssh) to 100+ here. Several exchanges mid-transfer is the point.
      expect(rekeys(client, stderr), `${client}:\n${stderr}`).toBeGreaterThanOrEqual(4);
    }
  });

  it('password authentication through SSH_ASKPASS: the right one logs in, a wrong one is "Permission denied" and 255', async () => {
    const denied: string[] = [];
    for (const client of clients()) {
      const ok = await passwordLogin(client, getServer(), f(), PASSWORD);
      expect(ok.stderr, `${client}:\n${ok.stderr}\nserver:\n${getServer().logs()}`).toMatch(/^Authenticated to 127\.0\.0\.1 \(\[127\.0\.0\.1\]:\d+\) using "password"\.\r?$/m);
      expect(ok.code, ok.stderr).toBe(0);
      const bad = await passwordLogin(client, getServer(), f(), 'not-the-password');
      const line = /^root@127\.0\.0\.1: Permission denied \([a-z,-]+\)\.\r?$/m.exec(bad.stderr);
      expect(line, `${client}:\n${bad.stderr}`).not.toBeNull();
      expect(line![0]).toContain('password');
      expect(bad.code, bad.stderr).toBe(255);
      denied.push(line![0].trimEnd());
    }
    // ssh 9.2 prints the same line (the server's method list).
    expect(new Set(denied).size).toBe(1);
  });
}

/**
 * The forwarding and password cases against a server started as `command` (resolved in the
 * suite's beforeAll) with `args(port, fixture)`: its port, host key, authorized keys, user and
 * password, each server spelling its own flags.
 */
function forwardingSuite(
  describeIt: ServerDescribe,
  title: string,
  name: string,
  command: () => string | Promise<string>,
  args: (port: number, f: Fixture) => string[],
): void {
  describeIt(title, () => {
    const f = fixture(name);
    let server: Running;
    beforeAll(async () => {
      server = await startServer(await command(), (port) => args(port, f()), { dir: f().dir, hostKeyLine: f().hostKeyLine });
    });
    afterAll(async () => {
      await server?.stop();
    });
    forwardingAndPasswordCases(() => server, f);
  });
}

/** Python servers' flags (argparse). */
const pythonArgs = (script: string) => (port: number, f: Fixture) => [
  join(SERVERS_DIR, script),
  '--port', String(port),
  '--host-key', f.hostKey,
  '--authorized-keys', f.authorizedKeys,
  '--user', USER,
  '--password', PASSWORD,
];

forwardingSuite(describeServer(ASYNCSSH), 'pure-ssh against asyncssh', 'asyncssh', () => PYTHON_PATH, pythonArgs('asyncssh-server.py'));
forwardingSuite(describeServer(PARAMIKO), 'pure-ssh against paramiko', 'paramiko', () => PYTHON_PATH, pythonArgs('paramiko-server.py'));
forwardingSuite(describeServer(GO), "pure-ssh against Go's x/crypto/ssh", 'gossh', goServerBinary, (port, f) => [
  '-port', String(port),
  '-host-key', f.hostKey,
  '-authorized-keys', f.authorizedKeys,
  '-user', USER,
  '-password', PASSWORD,
]);

/** The known_hosts key of a tinysshd key dir: its ed25519.pk is the raw 32-byte public key. */
function tinysshHostKeyLine(keyDir: string): string {
  const raw = readFileSync(join(keyDir, 'ed25519.pk'));
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')}`;
}

describeServer(TINYSSHD)('pure-ssh against tinysshd', () => {
  const f = fixture('tinysshd');
  let server: Running;
  beforeAll(async () => {
    // tinysshd's passwd home for root: not under /tmp (a world-writable dir above authorized_keys
    // is refused), so in the cache dir; removed by stop(), or by the watchdog if this process dies.
    mkdirSync(pureSshCacheDir(), { recursive: true });
    const serverHome = mkdtempSync(join(pureSshCacheDir(), 'tinysshd-home-'));
    mkdirSync(join(serverHome, '.ssh'), { mode: 0o700 });
    writeFileSync(join(serverHome, '.ssh', 'authorized_keys'), readFileSync(f().authorizedKeys));
    const keyDir = join(f().dir, 'tinysshd-keys');
    await execFileP('/usr/sbin/tinysshd-makekey', [keyDir]);
    // tcpserver -H -R: no DNS or ident lookups; -D: TCP_NODELAY; -l0: local name "0".
    server = await startServer('/usr/bin/tcpserver', (port) => ['-HRDl0', LOOPBACK, String(port), '/usr/sbin/tinysshd', '-v', keyDir], {
      env: cliEnv(serverHome),
      dir: f().dir,
      hostKeyLine: tinysshHostKeyLine(keyDir),
      cleanupDir: serverHome,
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('logs in with an ed25519 key at -v and ends cleanly on SIGTERM, as ssh 9.2 does', async () => {
    for (const client of clients()) {
      const result = await sessionThenSigterm(client, [...clientArgs(server, f()), '-o', 'BatchMode=yes', '-v', '-N', TARGET], cliEnv(f().home));
      expect(result.stderr, `${client}:\n${result.stderr}\nserver:\n${server.logs()}`).toMatch(/^Authenticated to 127\.0\.0\.1 \(\[127\.0\.0\.1\]:\d+\) using "publickey"\.\r?$/m);
      expect(result.stderr).toMatch(/^Transferred: sent \d+, received \d+ bytes/m);
      expect(result.code, `${client}:\n${result.stderr}`).toBe(0);
    }
  });
});
