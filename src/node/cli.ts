#!/usr/bin/env node
/**
 * The `pure-ssh` command: ssh(1)'s syntax for local port forwarding (`pure-ssh -N -L ...`).
 * Thin on purpose: parsing and option resolution live in cli-args.ts; this file does the IO
 * (files, terminal, sockets, signals) and maps outcomes to ssh's messages and exit status 255.
 * The SSH library is imported only once the command line is known to be good, so `-h`, `-V`
 * and argument errors answer at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { homedir, userInfo, constants as osConstants } from 'node:os';
import { ConfigError, resolveCommandLine, USAGE, type ForwardSpec, type ResolvedConfig } from '../config/cli-args.js';
import { LOG_LEVELS, type LogLevel } from '../config/ssh-config.js';
import type { SshClient } from './client.js';
import type { ForwardOptions, LocalForward } from './forward.js';
import type { SshError } from '../errors.js';
import type { PrivateKey } from '../keys/privatekey.js';

/** ssh(1): "ssh exits with the exit status of the remote command or with 255 if an error occurred." */
const EXIT_ERROR = 255;

// This process holds private keys: it must not be open to debuggers. Node starts its inspector
// (127.0.0.1:9229) when it receives SIGUSR1, which any process of the same user may send
// (kill -USR1, process._debugProcess). A listener of our own replaces that default; the signal
// is then ignored (test/no-debugger.test.ts checks it on the running Node).
process.on('SIGUSR1', () => {});

/**
 * Close a Node.js inspector that is already listening (`--inspect` on node's command line or in
 * an inherited NODE_OPTIONS), before any key is read, and say so.
 */
async function closeInspector(): Promise<void> {
  let inspector: typeof import('node:inspector');
  try {
    inspector = await import('node:inspector');
  } catch {
    return; // a Node built without the inspector
  }
  if (inspector.url() === undefined) return;
  inspector.close();
  const isFlag = (a: string) => /^--inspect(-brk|-wait)?(=|$)/.test(a);
  const fromArgv = process.execArgv.find(isFlag);
  const fromEnv = (process.env.NODE_OPTIONS ?? '').split(/\s+/).find(isFlag);
  const how = fromArgv ?? (fromEnv ? `${fromEnv} in NODE_OPTIONS` : 'inspector');
  process.stderr.write(`pure-ssh: closed the Node.js inspector opened by ${how}: a process holding private keys does not accept debuggers\n`);
}

class Log {
  private readonly rank: number;
  constructor(level: LogLevel) {
    this.rank = LOG_LEVELS.indexOf(level);
  }
  private at(level: LogLevel): boolean {
    return this.rank >= LOG_LEVELS.indexOf(level);
  }
  /** Errors the user must see (suppressed only by -q). */
  error(message: string): void {
    if (this.at('ERROR')) process.stderr.write(`${message}\n`);
  }
  info(message: string): void {
    if (this.at('INFO')) process.stderr.write(`${message}\n`);
  }
  debug1(message: string): void {
    if (this.at('DEBUG1')) process.stderr.write(`debug1: ${message}\n`);
  }
  get verbose(): boolean {
    return this.at('DEBUG1');
  }
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/**
 * The JavaScript runtime and its version, e.g. `Node.js v20.19.0`, `Bun 1.2.3`, `Deno 2.1.0`.
 * Bun and Deno both report a Node version in process.version; their own are elsewhere.
 */
function runtimeName(): string {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno?.version?.deno;
  if (deno) return `Deno ${deno}`;
  const bun = (process.versions as { bun?: string }).bun;
  if (bun) return `Bun ${bun}`;
  return `Node.js ${process.version}`;
}

function localUser(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

async function main(): Promise<void> {
  await closeInspector();
  const home = process.env.HOME || homedir();
  let outcome;
  try {
    outcome = resolveCommandLine(process.argv.slice(2), {
      env: process.env,
      home,
      localUser: localUser(),
      fs: {
        readFile: (p) => {
          try {
            return readFileSync(p, 'utf8');
          } catch {
            return undefined;
          }
        },
        listDir: (p) => {
          try {
            return readdirSync(p);
          } catch {
            return undefined;
          }
        },
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err.exitCode);
    }
    throw err;
  }
  if (outcome.kind === 'version') {
    // ssh -V prints its version on stderr and exits 0.
    process.stderr.write(`pure-ssh_${version()}\n`);
    process.exit(0);
  }
  if (outcome.kind === 'usage') {
    if (outcome.message) process.stderr.write(`pure-ssh: ${outcome.message}\n`);
    process.stderr.write(USAGE);
    process.exit(EXIT_ERROR);
  }
  await run(outcome.config);
}

/** Load the identities the way ssh(1) does: missing default keys are silent, others are reported and skipped. */
async function loadIdentities(cfg: ResolvedConfig, log: Log): Promise<PrivateKey[]> {
  if (!cfg.pubkeyAuthentication) return [];
  const [{ loadIdentityFile }, { KeyPermissionsError, formatMode }] = await Promise.all([
    import('./identity-file.js'),
    import('../errors.js'),
  ]);
  const keys: PrivateKey[] = [];
  for (const { path, explicit } of cfg.identityFiles) {
    try {
      const key = await loadIdentityFile(path);
      log.debug1(`identity file ${path} type ${key.keyType}`);
      keys.push(key);
    } catch (err) {
      const e = err as SshError & { cause?: NodeJS.ErrnoException };
      if (e.code === 'ERR_PRIVATE_KEY' && e.cause?.code === 'ENOENT') {
        if (explicit) log.info(`Warning: Identity file ${path} not accessible: No such file or directory.`);
        else log.debug1(`identity file ${path} type -1`);
      } else if (e instanceof KeyPermissionsError) {
        // ssh(1)'s block (authfile.c sshkey_perm_ok), then its load error; the key is skipped.
        const bar = '@'.repeat(59);
        log.error(bar);
        log.error('@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @');
        log.error(bar);
        log.error(`Permissions ${formatMode(e.mode)} for '${e.path}' are too open.`);
        log.error('It is required that your private key files are NOT accessible by others.');
        log.error('This private key will be ignored.');
        log.error(`Load key "${path}": bad permissions`);
      } else {
        log.error(`Load key "${path}": ${e.message} (skipped)`);
      }
    }
  }
  return keys;
}

/** OpenSSH's short key type names, as in its host key messages. */
function shortKeyType(keyType: string): string {
  if (keyType.startsWith('ssh-ed25519')) return 'ED25519';
  if (keyType.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (keyType.startsWith('ssh-rsa')) return 'RSA';
  return keyType;
}

/** The message ssh(1) prints for an error that ends the connection. */
async function describeFatal(err: unknown, cfg: ResolvedConfig, log: Log, established = false): Promise<string> {
  const errors = await import('../errors.js');
  if (err instanceof errors.AuthenticationError) {
    log.debug1(err.message);
    const allowed = err.methodsAllowed.length > 0 ? err.methodsAllowed.join(',') : err.methodsTried.join(',');
    return `${cfg.user}@${cfg.hostName}: Permission denied (${allowed}).`;
  }
  if (err instanceof errors.HostKeyError) {
    const type = shortKeyType(err.keyType);
    if (err.problem === 'changed') {
      const bar = '@'.repeat(59);
      return [
        bar,
        '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
        bar,
        'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
        'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
        'It is also possible that a host key has just been changed.',
        `The fingerprint for the ${type} key sent by the remote host is`,
        `${err.fingerprint}.`,
        'Please contact your system administrator.',
        `Add correct host key in ${err.file ?? cfg.knownHostsFiles[0]} to get rid of this message.`,
        `Offending ${type} key in ${err.file}:${err.line}`,
        `  remove with:`,
        `  ssh-keygen -f "${err.file}" -R "${err.host}"`,
        `Host key for ${err.host} has changed and you have requested strict checking.`,
        'Host key verification failed.',
      ].join('\n');
    }
    if (err.problem === 'unknown' && (cfg.strictHostKeyChecking === 'yes' || cfg.batchMode)) {
      return `No ${type} host key is known for ${err.host} and you have requested strict checking.\nHost key verification failed.`;
    }
    if (err.problem === 'unknown' || err.problem === 'rejected') {
      // No terminal to ask, or the user said no: ssh(1) just says this.
      log.debug1(err.message);
      return 'Host key verification failed.';
    }
    return err.message;
  }
  if (err instanceof errors.ConnectionLostError) {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') {
      return `ssh: Could not resolve hostname ${cfg.hostName}: Name or service not known`;
    }
    const m = /^Connection to (.*) port \d+ closed by remote host\.$/.exec(err.message);
    if (m) return `Connection to ${m[1]} closed by remote host.`;
    // The library words every socket error as a connect error; once connected ssh(1) says this.
    const read = /^ssh: connect to host .* port \d+: (.*)$/.exec(err.message);
    if (established && read) return `Read from remote host ${cfg.hostName}: ${read[1]}`;
  }
  return (err as Error)?.message ?? String(err);
}

/** The local addresses ssh(1) binds for a -L listen spec (channels.c channel_fwd_bind_addr). */
function bindAddresses(spec: ForwardSpec, cfg: ResolvedConfig): { hosts: string[]; label: string } {
  const listen = spec.listen as { bindAddress?: string; port: number };
  const bind = listen.bindAddress;
  const fam = cfg.addressFamily;
  const loopback = fam === 'inet' ? ['127.0.0.1'] : fam === 'inet6' ? ['::1'] : ['127.0.0.1', '::1'];
  // Node's '::' listener is dual-stack; '0.0.0.0' is the fallback without IPv6.
  const wildcard = fam === 'inet' ? ['0.0.0.0'] : ['::'];
  if (bind === undefined) return cfg.gatewayPorts ? { hosts: wildcard, label: '*' } : { hosts: loopback, label: 'LOCALHOST' };
  if (bind === '' || bind === '*') return { hosts: wildcard, label: '*' };
  if (bind === 'localhost') return { hosts: loopback, label: 'LOCALHOST' };
  return { hosts: [bind], label: bind };
}

function describeBindError(err: unknown): { code: string | undefined; text: string } {
  const cause = ((err as { cause?: NodeJS.ErrnoException }).cause ?? err) as NodeJS.ErrnoException;
  const texts: Record<string, string> = {
    EADDRINUSE: 'Address already in use',
    EACCES: 'Permission denied',
    EADDRNOTAVAIL: 'Cannot assign requested address',
    EAFNOSUPPORT: 'Address family not supported by protocol',
  };
  return { code: cause.code, text: (cause.code && texts[cause.code]) || cause.message };
}

/** Every listener we started, closed when the connection ends. */
const forwards = new Set<LocalForward>();

/** SshClient.forwardLocal, keeping every listener so the connection's end can close them all. */
async function openForward(client: SshClient, options: ForwardOptions): Promise<LocalForward> {
  const fwd = await client.forwardLocal(options);
  forwards.add(fwd);
  return fwd;
}

/** Start the listeners of one -L; null when none could be bound (the errors are printed). */
async function startForward(client: SshClient, spec: ForwardSpec, cfg: ResolvedConfig, log: Log): Promise<LocalForward[] | null> {
  const to = spec.to;
  const target = 'path' in to ? to.path : `${to.host}:${to.port}`;
  if ('path' in spec.listen) {
    log.debug1(`Local connections to ${spec.listen.path} forwarded to remote ${'path' in to ? 'socket' : 'address'} ${target}`);
    try {
      return [await openForward(client, { listen: { path: spec.listen.path }, to })];
    } catch (err) {
      log.error(`unix_listener: cannot bind to path ${spec.listen.path}: ${describeBindError(err).text}`);
      return null;
    }
  }
  const { hosts, label } = bindAddresses(spec, cfg);
  let port = spec.listen.port;
  log.debug1(`Local connections to ${label}:${port} forwarded to remote ${'path' in to ? 'socket' : 'address'} ${target}`);
  const started: LocalForward[] = [];
  const optional = hosts.length > 1; // the IPv6 half of "loopback" may be missing on this machine
  for (let i = 0; i < hosts.length; i++) {
    let host = hosts[i]!;
    for (;;) {
      try {
        const fwd = await openForward(client, { listen: { host, port }, to });
        if (port === 0) {
          port = (fwd.address as { port: number }).port;
          log.debug1(`Allocated port ${port} for local forward to ${target}`);
        }
        log.debug1(`Local forwarding listening on ${host} port ${port}.`);
        started.push(fwd);
      } catch (err) {
        const { code, text } = describeBindError(err);
        if ((code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL') && host === '::') {
          host = '0.0.0.0'; // no IPv6 here: the IPv4 wildcard
          continue;
        }
        if ((code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL') && optional && i > 0) {
          log.debug1(`bind [${host}]:${port}: ${text} (no IPv6 loopback; skipped)`);
        } else {
          log.error(`bind [${host}]:${port}: ${text}`);
        }
      }
      break;
    }
  }
  if (started.length === 0) {
    log.error(`channel_setup_fwd_listener_tcpip: cannot listen to port: ${port}`);
    return null;
  }
  return started;
}

/** A socket we open ourselves: AddressFamily (-4/-6) and ConnectTimeout for connect + banner, as ssh(1). */
function openSocket(cfg: ResolvedConfig, log: Log): Socket {
  const family = cfg.addressFamily === 'inet' ? 4 : cfg.addressFamily === 'inet6' ? 6 : 0;
  log.debug1(`Connecting to ${cfg.hostName} port ${cfg.port}.`);
  const sock = netConnect({ host: cfg.hostName, port: cfg.port, family, noDelay: true });
  sock.on('error', () => {}); // reported by the SSH client
  sock.once('connect', () => log.debug1(`Connection established to ${sock.remoteAddress} port ${sock.remotePort}.`));
  if (cfg.connectTimeout > 0) {
    // ssh_config(5) ConnectTimeout: the TCP connect and the wait for the server's banner.
    const timer = setTimeout(() => {
      sock.destroy(Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' }));
    }, cfg.connectTimeout * 1000);
    sock.once('data', () => clearTimeout(timer));
    sock.once('close', () => clearTimeout(timer));
  }
  return sock;
}

async function run(cfg: ResolvedConfig): Promise<void> {
  const log = new Log(cfg.logLevel);
  log.debug1(`pure-ssh_${version()}, ${runtimeName()}`);
  for (const n of cfg.notes) log.debug1(n);
  if (cfg.warnNoShell) log.error('pure-ssh: remote commands and shells are not supported; continuing as with -N');

  let client: SshClient | undefined;
  let shuttingDown = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const num = osConstants.signals[name];
    const done = () => {
      log.debug1(`Killed by signal ${num}.`);
      process.exit(EXIT_ERROR);
    };
    if (!client) return done();
    // Say goodbye (SSH_MSG_DISCONNECT) but do not hang on a dead peer.
    setTimeout(done, 2000).unref();
    client.close().then(done, done);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => onSignal(s));

  // Start the TCP handshake (and let sshd start its side) while the library loads and keys parse.
  const sock = openSocket(cfg, log);
  const [{ connect }, { knownHostsVerifier }, { ALGORITHM_CATEGORIES, applyAlgorithmSpec, defaultAlgorithms }, prompt] = await Promise.all([
    import('./client.js'),
    import('./known-hosts-file.js'),
    import('../algorithms.js'),
    import('./prompt.js'),
  ]);

  const fail = async (err: unknown): Promise<never> => {
    sock.destroy();
    log.error(await describeFatal(err, cfg, log));
    process.exit(EXIT_ERROR);
  };

  // Check algorithm lists before connecting, so a typo is a config error, not a network one.
  const d = defaultAlgorithms();
  try {
    for (const { key } of ALGORITHM_CATEGORIES) {
      const spec = cfg.algorithms[key];
      if (spec) applyAlgorithmSpec(key, d[key], spec);
    }
  } catch (err) {
    return fail(err);
  }

  const keys = await loadIdentities(cfg, log);

  // BatchMode: never ask; an unknown host key is then refused as with StrictHostKeyChecking=yes.
  const mode = cfg.batchMode && cfg.strictHostKeyChecking === 'ask' ? 'yes' : cfg.strictHostKeyChecking;
  const verifyHostKey = knownHostsVerifier({
    files: cfg.knownHostsFiles.length > 0 ? cfg.knownHostsFiles : ['/dev/null'],
    mode,
    hashKnownHosts: cfg.hashKnownHosts,
    prompt: prompt.askQuestion,
    log: (line) => (line.startsWith('Warning: Permanently added') ? log.info(line) : log.debug1(line)),
  });

  const canPrompt = !cfg.batchMode && (cfg.passwordAuthentication || cfg.kbdInteractiveAuthentication);
  let prompts = 0;
  const askpass = prompt.askPassFor(process.env, process.stdin.isTTY === true || process.stderr.isTTY === true);
  const askPassword = canPrompt
    ? async (question: string): Promise<string | null> => {
        // ssh_config(5) NumberOfPasswordPrompts.
        if (++prompts > cfg.numberOfPasswordPrompts) return null;
        try {
          return askpass ? await prompt.askPassProgram(askpass, question) : await prompt.readPassword(question);
        } catch (err) {
          log.debug1(`password prompt: ${(err as Error).message}`);
          return null;
        }
      }
    : undefined;

  try {
    client = await connect({
      host: cfg.hostName,
      port: cfg.port,
      username: cfg.user,
      privateKey: keys,
      verifyHostKey,
      // Also orders the host key algorithms by the types already known (ssh's order_hostkeyalgs).
      knownHosts: cfg.knownHostsFiles,
      askPassword,
      passwordAttempts: cfg.numberOfPasswordPrompts,
      passwordAuthentication: cfg.passwordAuthentication,
      kbdInteractiveAuthentication: cfg.kbdInteractiveAuthentication,
      algorithms: cfg.algorithms,
      keepaliveInterval: cfg.serverAliveInterval * 1000,
      keepaliveCountMax: cfg.serverAliveCountMax,
      rekeyBytes: cfg.rekeyLimit,
      sock,
      debug: (m) => log.debug1(m),
      onBanner: (m) => {
        if (LOG_LEVELS.indexOf(cfg.logLevel) >= LOG_LEVELS.indexOf('INFO')) process.stderr.write(m);
      },
    });
  } catch (err) {
    if (shuttingDown) return;
    return fail(err);
  }
  if (shuttingDown) return;
  log.debug1(`Authenticated to ${cfg.hostName} port ${cfg.port}.`);

  const ssh = client;
  ssh.on('close', (err: SshError | undefined) => {
    for (const f of forwards) void f.close();
    if (shuttingDown) return;
    shuttingDown = true;
    const end = async () => {
      log.error(err ? await describeFatal(err, cfg, log, true) : `Connection to ${cfg.hostName} closed.`);
      process.exit(EXIT_ERROR);
    };
    void end();
  });

  let failures = 0;
  for (const spec of cfg.localForwards) {
    const fwds = await startForward(ssh, spec, cfg, log);
    if (shuttingDown) return;
    if (!fwds) {
      failures++;
      if (cfg.exitOnForwardFailure) {
        log.error('Could not request local forwarding.');
        shuttingDown = true;
        await Promise.race([ssh.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
        process.exit(EXIT_ERROR);
      }
      continue;
    }
    for (const fwd of fwds) {
      fwd.on('connection-error', (e: SshError) => {
        // OpenSSH reports a refused channel and keeps the tunnel up.
        if (e.code === 'ERR_CHANNEL_OPEN_FAILED') log.error(e.message);
        else log.debug1(e.message);
      });
    }
  }
  if (cfg.localForwards.length > 0 && failures === cfg.localForwards.length) {
    log.error('Could not request local forwarding.');
  }
  log.debug1('Entering interactive session (forwarding only).');
}

main().catch((err: unknown) => {
  process.stderr.write(`pure-ssh: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT_ERROR);
});
