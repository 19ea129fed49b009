#!/usr/bin/env node
/**
 * The `pure-ssh` command: ssh(1)'s syntax for local port forwarding (`pure-ssh -N -L ...`).
 * Thin on purpose: parsing and option resolution live in cli-args.ts; this file does the IO
 * (files, terminal, sockets, signals) and maps outcomes to ssh's messages and exit status 255.
 * The SSH library is imported only once the command line is known to be good, so `-h`, `-V`
 * and argument errors answer at once.
 */
import { openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { commandLineArgs } from './raw-argv.js';
import { textBytes } from '../log-text.js';
import { dirname } from 'node:path';
import { constants as osConstants } from 'node:os';
import {
  ConfigError,
  configErrorLog,
  resolveCommandLineAsync,
  USAGE,
  type CliEnvironment,
  type DynamicForwardSpec,
  type ForwardSpec,
  type ResolvedConfig,
} from '../config/cli-args.js';
import { isRemoteSocksTarget } from '../config/forward-spec.js';
import { assembledListFails } from '../config/openssh-names.js';
import { permitRemoteOpenEntries } from '../config/keywords.js';
import type { SshClient } from './client.js';
import { tuneV8ForForwarding, tuneV8ForLogin } from './v8-tuning.js';
import { enableArrayBufferCap, scavengeByTraffic } from './array-buffer-cap.js';
import { enableArrayBufferRelease } from './array-buffer-release.js';
import { takeGcAndTransfer } from './v8-gc.js';
import { configOf, connectHost, describeFatal, logFatal, requestNoMoreSessions, offerableAlgorithms, failureLog, loadLibraries, Log, logConfigNotes, logHopsKilled, logJumpFailure, openFailedLine, processCliEnvironment, reportCompressionTotals, reportTransferTotals, SEND_DISCONNECT_FAILED, sendDisconnectFails, hopReportsSettled, setHopStderr, setProxyCommandStderr, stdioForwardRemoteName, type HopSession, type Libraries, type RouteContext } from './connect-host.js';
import type { ForwardOptions, ListenSpec, LocalForward } from './forward.js';
import type { DynamicForward } from './forward-dynamic.js';
import type { RemoteForward } from './forward-remote.js';
import { ForwardRefusedError, type SshError } from '../errors.js';
import type { AlgorithmPreferences } from '../algorithms.js';
import { gaiStrerror, strerror } from './strerror.js';
import { isClosedByRemoteHost } from '../quit-message.js';
import { logLines } from './log-vis.js';
import { ignoredAtStart } from './ignored-signals.js';

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

/** How many bytes the destination's transport carried (every SSH byte), and when the session began. */
const transfer: { count?: () => { sent: number; received: number }; start?: number } = {};

/**
 * clientloop.c at exit: `Transferred: sent N, received M bytes, in S seconds` and the rates,
 * counted on the connection's transport (every SSH byte, as ssh's packet counters), whatever
 * the route (TCP, ProxyCommand, ProxyJump).
 */
function reportTransfer(log: Log): void {
  const { count, start } = transfer;
  if (!count || start === undefined) return;
  reportTransferTotals(log, count(), (performance.now() - start) / 1000);
}

/** What the command line was resolved with: jump hosts resolve their own configuration with it. */
let cliEnv: CliEnvironment;

/** The jump hosts of the latest route in their session (ssh's `ssh -W` processes), for the exit. */
let hopSessions: HopSession[] = [];

/** The route context of this command's connections (jump hosts, the byte totals' counter). */
function routeContext(): RouteContext {
  // A new route (PureSshReconnect) replaces the last one, whose hops went with it.
  const sessions: HopSession[] = [];
  hopSessions = sessions;
  return {
    env: cliEnv,
    onTransport: (count) => (transfer.count = count),
    onHopSession: (s) => sessions.push(s),
    versionLine: () => `pure-ssh_${version()}, ${runtimeName()}`,
  };
}

/**
 * The name of the crypto provider the connection will use, as client.ts `cryptoProviderFor(undefined)`
 * picks it, without loading client.js: that comes before the connect, and the client's modules
 * (~10 ms of CPU) are meant to load while sshd starts (connect-host.ts `connectHost`). A value of
 * PURE_SSH_CRYPTO that function refuses is left to it, for its UsageError, and so is any
 * PURE_SSH_WASM but the default (`on` where WebAssembly cannot be had is refused there too).
 */
async function providerName(): Promise<string> {
  const env = process.env.PURE_SSH_CRYPTO;
  const wasm = process.env.PURE_SSH_WASM;
  if (wasm === undefined || wasm === '' || wasm === 'auto') {
    if (env === 'pure') return 'pure';
    if (env === undefined || env === '' || env === 'runtime') return (await import('./crypto-provider.js')).runtimeCryptoAvailable() ? 'node' : 'pure';
  }
  return (await import('./client.js')).cryptoProviderFor(undefined).name;
}

/**
 * HostKeyAlgorithms that kex_assemble_names() refuses (see appliedAlgorithms), under -G; once
 * connected it is sshconnect2.c ssh_kex2's line (connect-host.ts HOST_KEY_ASSEMBLY_FAILED).
 */
class HostKeyAssemblyError extends Error {
  /** readconf.c dump_client_config (ssh -G). */
  static readonly dump = 'dump_client_config: expand HostKeyAlgorithms: invalid argument';
  constructor() {
    super(HostKeyAssemblyError.dump);
  }
}

/**
 * The algorithm lists the configuration asks for, applied to pure-ssh's defaults (ssh_config(5)
 * `+`, `-`, `^`). Throws UsageError naming where a list came from (`FILE line N: ...`, `-c: ...`)
 * when it names an algorithm pure-ssh does not implement or leaves a category empty.
 */
async function appliedAlgorithms(cfg: ResolvedConfig, dump = false): Promise<AlgorithmPreferences & { pubkeyAccepted: string[]; notes: string[] }> {
  const { ALGORITHM_CATEGORIES, applyAlgorithmSpec, applyPubkeyAcceptedSpec, defaultAlgorithms, supportedAlgorithms } = await import('../algorithms.js');
  const { UsageError } = await import('../errors.js');
  // HostKeyAlgorithms is assembled (kex.c kex_assemble_names) only when used, after
  // fill_default_options' lists (cli-args.ts): a negated name (`!ssh-rsa`, which readconf.c
  // takes) or a list matching nothing (`,`) is fatal there, in ssh_kex2 once connected or in
  // dump_client_config for -G (OpenSSH 9.2 and 10.4). Connecting, connectHost says so after the
  // banner exchange, as ssh_kex2 comes there; the other lists are checked here all the same.
  if (cfg.algorithms.hostKey !== undefined && assembledListFails(cfg.algorithms.hostKey, 'hostKeyAlgorithms')) {
    if (dump) throw new HostKeyAssemblyError();
    cfg = { ...cfg, algorithms: { ...cfg.algorithms, hostKey: undefined } };
  }
  // Names OpenSSH knows and pure-ssh does not implement (`HostKeyAlgorithms +ssh-dss`) are left
  // out, each list's with a -v line (connect-host.ts offerableAlgorithms); the rest applies.
  const offered = offerableAlgorithms(cfg, supportedAlgorithms());
  cfg = { ...cfg, algorithms: offered.algorithms, pubkeyAcceptedAlgorithms: offered.pubkeyAcceptedAlgorithms };
  // The defaults of the provider the connection would use (PURE_SSH_CRYPTO, node:crypto where it
  // works): their cipher order differs (src/cipher/registry.ts defaultCiphers), and -G prints
  // the list the connection offers.
  const d = defaultAlgorithms(await providerName());
  const algorithms = { ...d };
  for (const { key } of ALGORITHM_CATEGORIES) {
    const spec = cfg.algorithms[key];
    if (!spec) continue;
    try {
      algorithms[key] = applyAlgorithmSpec(key, d[key], spec);
    } catch (err) {
      const origin = cfg.algorithmOrigins[key];
      if (origin === undefined || !(err instanceof UsageError)) throw err;
      throw new UsageError(`${origin}: ${err.message}`);
    }
  }
  let pubkeyAccepted: string[];
  try {
    pubkeyAccepted = applyPubkeyAcceptedSpec(cfg.pubkeyAcceptedAlgorithms);
  } catch (err) {
    const origin = cfg.algorithmOrigins.pubkeyAccepted;
    if (origin === undefined || !(err instanceof UsageError)) throw err;
    throw new UsageError(`${origin}: ${err.message}`);
  }
  return { ...algorithms, pubkeyAccepted, notes: offered.notes };
}

async function main(): Promise<void> {
  // ssh(1) ignores SIGPIPE and failed writes of its log and -G output (a reader that went away,
  // `ssh -v ... 2>&1 | head`): without a listener Node would crash on the stream's 'error'
  // event. -W handles its own stdout (stdio-forward.ts).
  process.stderr.on('error', () => {});
  process.stdout.on('error', () => {});
  await closeInspector();
  let outcome;
  try {
    cliEnv = { ...processCliEnvironment(), openLog };
    outcome = await resolveCommandLineAsync(commandLineArgs(process.argv.slice(2)), cliEnv);
  } catch (err) {
    if (err instanceof ConfigError) {
      const said = configErrorLog(err);
      // ssh.c's fprintf(stderr) errors: as given, "\n". No message: ssh's error() said nothing at
      // the LogLevel asked for (-q).
      if (err.plain) {
        if (err.logged.length > 0) writeLog(logLines(err.logged.join('\n')));
        // An argument's bytes that are no UTF-8 as given (raw-argv.ts), as fprintf writes them.
        process.stderr.write(textBytes(`${err.message}\n`));
      } else if (said) {
        // After ssh.c's log_init: what its log said up to the error, at the level then in force
        // (the version line, the files' debug lines with their bad lines among them, the fatal).
        const log = new Log(said.level, logFd);
        log.debug1(`pure-ssh_${version()}, ${runtimeName()}`);
        for (const n of said.notes) log.note(n);
        // A refused -o option: said even where the level silences fatal() (-q).
        if (err.commandLine && !log.shows('FATAL')) writeLog(logLines(err.message));
      } else if (err.message !== '') writeLog(logLines(err.message));
      process.exit(err.exitCode);
    }
    throw err;
  }
  if (outcome.kind === 'version') {
    // ssh -V prints its version on stderr and exits 0.
    process.stderr.write(`pure-ssh_${version()}\n`);
    process.exit(0);
  }
  if (outcome.kind === 'query') {
    // ssh -Q: the list on stdout, one name a line, exit 0.
    const { queryLines } = await import('./query.js');
    process.stdout.write(queryLines(outcome.query).map((l) => `${l}\n`).join(''));
    process.exit(0);
  }
  if (outcome.kind === 'dump') {
    // ssh -G: the configuration on stdout, exit 0, no connection.
    const { dumpConfig } = await import('../config/dump.js');
    // ssh.c prints its configuration-reading debug lines (-v, -vv, -vvv) under -G as well, on
    // its log (stderr or -E), before the configuration on stdout (and
    // before readconf.c fill_default_options refuses an algorithm list).
    const log = new Log(outcome.config.logLevel, logFd);
    log.withLevel(outcome.config.startLogLevel).debug1(`pure-ssh_${version()}, ${runtimeName()}`);
    const { ttyDecisionAt } = outcome.config;
    let algorithms;
    try {
      algorithms = await appliedAlgorithms(outcome.config, true);
    } catch (err) {
      if (err instanceof HostKeyAssemblyError) {
        // dump_client_config: after the pseudo-terminal decision, before the first line printed.
        logConfigNotes(log, outcome.config, 0, ttyDecisionAt);
        if (outcome.config.ttyByDefault && (outcome.config.stdinNull || !process.stdin.isTTY)) {
          log.info('Pseudo-terminal will not be allocated because stdin is not a terminal.');
        }
        logConfigNotes(log, outcome.config, ttyDecisionAt);
        writeLog(logLines(HostKeyAssemblyError.dump));
        process.exit(EXIT_ERROR);
      }
      // readconf.c fill_default_options comes before ssh.c's pseudo-terminal decision.
      logConfigNotes(log, outcome.config, 0, ttyDecisionAt);
      writeLog(logLines((err as Error).message));
      process.exit(EXIT_ERROR);
    }
    logConfigNotes(log, outcome.config, 0, ttyDecisionAt);
    // ssh.c main decides on a pseudo-terminal before -G prints, amid its debug lines: its logit()
    // at INFO when one would be allocated by default but stdin is not a terminal (or -n).
    if (outcome.config.ttyByDefault && (outcome.config.stdinNull || !process.stdin.isTTY)) {
      log.info('Pseudo-terminal will not be allocated because stdin is not a terminal.');
    }
    logConfigNotes(log, outcome.config, ttyDecisionAt);
    for (const n of algorithms.notes) log.debug1(n);
    process.stdout.write(dumpConfig(outcome.config, algorithms).map((l) => `${l}\n`).join(''));
    process.exit(0);
  }
  if (outcome.kind === 'usage') {
    // getopt's complaint goes through ssh's log (openbsd-compat/getopt_long.c: warnx is logit),
    // without a program name; the usage text is a plain fprintf.
    if (outcome.message) writeLog(logLines(outcome.message.startsWith('invalid ssh://') ? `pure-ssh: ${outcome.message}` : outcome.message));
    process.stderr.write(USAGE);
    process.exit(EXIT_ERROR);
  }
  await run(outcome.config);
}

/** The local addresses ssh(1) binds for a -L listen spec (channels.c channel_fwd_bind_addr). */
function bindAddresses(spec: ForwardSpec, cfg: ResolvedConfig): { hosts: string[]; label: string } {
  const listen = spec.listen as { bindAddress?: string; port: number };
  const bind = listen.bindAddress;
  const fam = cfg.addressFamily;
  // channels.c channel_setup_fwd_listener_tcpip binds each address getaddrinfo gives, in its
  // order (glibc, Debian's /etc/hosts): "localhost" is ::1 then 127.0.0.1, the wildcard
  // (AI_PASSIVE, no name) 0.0.0.0 then ::, each IPv6 one v6-only.
  const loopback = fam === 'inet' ? ['127.0.0.1'] : fam === 'inet6' ? ['::1'] : ['::1', '127.0.0.1'];
  const wildcard = fam === 'inet' ? ['0.0.0.0'] : fam === 'inet6' ? ['::'] : ['0.0.0.0', '::'];
  if (bind === undefined) return cfg.gatewayPorts ? { hosts: wildcard, label: '*' } : { hosts: loopback, label: 'LOCALHOST' };
  if (bind === '' || bind === '*') return { hosts: wildcard, label: '*' };
  // ssh.c names the bind address as given; "LOCALHOST" is its word for none.
  if (bind === 'localhost') return { hosts: loopback, label: 'localhost' };
  return { hosts: [bind], label: bind };
}

function describeBindError(err: unknown): { code: string | undefined; text: string } {
  const cause = ((err as { cause?: NodeJS.ErrnoException }).cause ?? err) as NodeJS.ErrnoException;
  return { code: cause.code, text: strerror(cause) };
}

/**
 * strerror(3) of a failed bind(2) of a Unix socket, as misc.c unix_listener prints it. libuv turns
 * ENOENT (a missing directory on the path) into EACCES; bind(2)'s own ENOENT is put back by
 * looking at the directory, so `-L /nonexistent/dir/sock:h:p` says what ssh says.
 */
function describeUnixBindError(err: unknown, path: string): string {
  const { code, text } = describeBindError(err);
  if (code === 'EACCES') {
    try {
      statSync(dirname(path));
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      if (c === 'ENOENT' || c === 'ENOTDIR') return strerror(e as NodeJS.ErrnoException);
    }
  }
  return text;
}

/**
 * ssh_config(5) StreamLocalBindUnlink: misc.c unix_listener unlinks the socket path just before
 * its bind(2), so a file left there (a socket of an earlier run killed with -9) does not make the
 * bind fail; a failure other than ENOENT is said (`unlink(PATH): ERROR`) and the bind tried anyway.
 */
function unlinkBeforeBind(cfg: ResolvedConfig, path: string, log: Log): void {
  if (!cfg.streamLocalBindUnlink) return;
  try {
    unlinkSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') log.error(`unlink(${path}): ${strerror(e)}`);
  }
}

/** Every listener we started, closed when the connection ends. */
const forwards = new Set<LocalForward | DynamicForward<ListenSpec>>();

/** SshClient.forwardLocal, keeping every listener so the connection's end can close them all. */
async function openForward(client: SshClient, options: ForwardOptions): Promise<LocalForward> {
  const fwd = await client.forwardLocal(options);
  forwards.add(fwd);
  return fwd;
}

/** Start the listeners of one -D (a SOCKS proxy); null when none could be bound. */
async function startDynamic(client: SshClient, spec: DynamicForwardSpec, cfg: ResolvedConfig, log: Log): Promise<DynamicForward<ListenSpec>[] | null> {
  // OpenSSH keeps -D among the local forwards, with "socks" as the remote address.
  if ('path' in spec) {
    log.debug1(`Local connections to ${spec.path}:-2 forwarded to remote address socks:0`);
    unlinkBeforeBind(cfg, spec.path, log);
    try {
      // keepFile: ssh leaves its forwards' socket files at exit (see forward-listener.ts).
      const fwd = await client.forwardDynamic({ listen: { path: spec.path, keepFile: true } });
      log.debug1(`Local forwarding listening on path ${spec.path}.`);
      forwards.add(fwd);
      log.listenerBound('unix', client.reserveChannelNumber());
      return [fwd];
    } catch (err) {
      log.error(`unix_listener: cannot bind to path ${spec.path}: ${describeUnixBindError(err, spec.path)}`);
      return null;
    }
  }
  log.debug1(`Local connections to ${bindAddresses({ listen: spec } as ForwardSpec, cfg).label}:${spec.port} forwarded to remote address socks:0`);
  return bindListeners(client, { listen: spec } as ForwardSpec, cfg, log, 'socks', async (host, port, ipv6Only) => {
    const fwd = await client.forwardDynamic({ listen: { host, port, ipv6Only } });
    forwards.add(fwd);
    return fwd;
  });
}

/** One -R: ssh(1)'s messages for port 0, a refusal, and ExitOnForwardFailure. */
/** A forward's target as ssh.c logs it: "HOST:PORT", a socket path with PORT_STREAMLOCAL (-2) as its port. */
function loggedTarget(to: { host: string; port: number } | { path: string }): string {
  return 'path' in to ? `${to.path}:-2` : `${to.host}:${to.port}`;
}

async function startRemote(
  client: SshClient,
  spec: ForwardSpec,
  cfg: ResolvedConfig,
  log: Log,
  stop: () => void,
  permitOpen?: { host: string; port: number | '*' }[],
  confirms: { pending: number } = { pending: -1 },
): Promise<RemoteForward | null> {
  // ssh.c forwarding_success, after each reply (not after ExitOnForwardFailure's fatal()).
  const forwardingSuccess = () => {
    if (confirms.pending === -1) return;
    if (--confirms.pending === 0) log.debug1('forwarding_success: all expected forwarding replies received');
    else log.debug(2, `forwarding_success: ${confirms.pending} expected forwarding replies remaining`);
  };
  const to = spec.to;
  const l = spec.listen;
  // channels.c channel_rfwd_bind_host: no address = "localhost"; "" or "*" = all addresses.
  const listen = 'path' in l ? { path: l.path } : { host: l.bindAddress === undefined ? 'localhost' : l.bindAddress === '*' ? '' : l.bindAddress, port: l.port };
  // ssh.c ssh_confirm_remote_forward: "remote forward %s for: listen %s%s%d, connect %s:%d" with
  // the forward as given (the bind address, if any, and its port: -2 for a path, 0 when the
  // server picks), before "Allocated port".
  const connect = loggedTarget(to);
  const ident = `listen ${'path' in l ? `${l.path}:-2` : `${l.bindAddress !== undefined ? `${l.bindAddress}:` : ''}${l.port}`}, connect ${connect}`;
  try {
    // `-R [bind:]port` alone (readconf.c's "socks" target, port 0): a SOCKS server per channel.
    const fwd = await client.forwardRemote(isRemoteSocksTarget(to) ? { listen, permitOpen } : { listen, to });
    const bound = fwd.address;
    log.debug1(`remote forward success for: ${ident}`);
    if ('port' in bound && !('path' in l) && l.port === 0) log.info(`Allocated port ${bound.port} for remote forward to ${connect}`);
    forwardingSuccess();
    // A destination PermitRemoteOpen refuses, and a SOCKS request the SOCKS form refuses, are
    // only ssh's debug lines (logged as they happen; channels.c channel_decode_socks4/5).
    fwd.on('connection-error', (e: SshError) => {
      if (e.code !== 'ERR_FORWARD_NOT_PERMITTED' && e.code !== 'ERR_SOCKS_REQUEST') log.error(e.message);
    });
    return fwd;
  } catch (err) {
    if (!(err instanceof ForwardRefusedError)) throw err;
    log.debug1(`remote forward failure for: ${ident}`);
    if (cfg.exitOnForwardFailure) {
      // ssh.c ssh_confirm_remote_forward: fatal() - this line, exit 255, nothing about the
      // connection's end (our close must not print "Connection to H closed." or the totals).
      stop();
      log.fatal(`Error: ${err.message}`);
      // fatal(): no DISCONNECT (SshClient.abandon).
      await Promise.race([client.abandon(), new Promise((r) => setTimeout(r, 2000).unref())]);
      process.exit(EXIT_ERROR);
    }
    log.info(`Warning: ${err.message}`);
    forwardingSuccess();
    return null;
  }
}

/**
 * clientloop.c channel_free_all at the session's end: takes now, from `client`, the channels to
 * free besides the listeners (the forwards', SshClient.takeChannelsToFree, and the -W channel),
 * and returns what says every free line, the listeners' too, in number order.
 */
function channelFreesAtEnd(client: SshClient | undefined, cfg: ResolvedConfig, log: Log): () => void {
  const toFree = client?.takeChannelsToFree() ?? { channels: [], others: 0 };
  // ssh.c ssh_init_stdio_forwarding opens the -W channel first: channel 0, one of the unnamed.
  const stdio = cfg.stdioForward && client ? [{ channel: 0, remoteName: stdioForwardRemoteName(cfg.stdioForward) }] : [];
  return () => log.listenersFreed(Math.max(0, toFree.others - stdio.length), [...stdio, ...toFree.channels]);
}

/** Start the listeners of one -L; null when none could be bound (the errors are printed). */
async function startForward(client: SshClient, spec: ForwardSpec, cfg: ResolvedConfig, log: Log): Promise<LocalForward[] | null> {
  const to = spec.to;
  const target = 'path' in to ? to.path : `${to.host}:${to.port}`;
  // ssh.c: "Local connections to %s:%d forwarded to remote address %s:%d", a path's port being
  // PORT_STREAMLOCAL (-2) on either side; "listening on path" once unix_listener bound it.
  const remote = loggedTarget(to);
  if ('path' in spec.listen) {
    log.debug1(`Local connections to ${spec.listen.path}:-2 forwarded to remote address ${remote}`);
    unlinkBeforeBind(cfg, spec.listen.path, log);
    try {
      // keepFile: ssh leaves its forwards' socket files at exit (see forward-listener.ts).
      const fwd = await openForward(client, { listen: { path: spec.listen.path, keepFile: true }, to });
      log.debug1(`Local forwarding listening on path ${spec.listen.path}.`);
      log.listenerBound('unix', client.reserveChannelNumber());
      return [fwd];
    } catch (err) {
      log.error(`unix_listener: cannot bind to path ${spec.listen.path}: ${describeUnixBindError(err, spec.listen.path)}`);
      return null;
    }
  }
  log.debug1(`Local connections to ${bindAddresses(spec, cfg).label}:${spec.listen.port} forwarded to remote address ${remote}`);
  return bindListeners(client, spec, cfg, log, target, (host, port, ipv6Only) => openForward(client, { listen: { host, port, ipv6Only }, to }));
}

/**
 * Bind a TCP listen spec on every address it stands for (both loopbacks, or the wildcard), each
 * listener holding a channel number on `client` as ssh's do (Log.listenerBound).
 */
async function bindListeners<F extends { address: unknown }>(
  client: SshClient,
  spec: ForwardSpec,
  cfg: ResolvedConfig,
  log: Log,
  target: string,
  open: (host: string, port: number, ipv6Only: boolean) => Promise<F>,
): Promise<F[] | null> {
  const { hosts } = bindAddresses(spec, cfg);
  let port = (spec.listen as { port: number }).port;
  const started: F[] = [];
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i]!;
    try {
      const fwd = await open(host, port, host.includes(':'));
      if (port === 0) {
        port = (fwd.address as { port: number }).port;
        log.debug1(`Allocated port ${port} for local forward to ${target}`);
      }
      log.debug1(`Local forwarding listening on ${host} port ${port}.`);
      log.listenerBound('port', client.reserveChannelNumber());
      started.push(fwd);
    } catch (err) {
      const { code, text } = describeBindError(err);
      // channels.c channel_setup_fwd_listener_tcpip: a bind address getaddrinfo(3) does not
      // resolve is its one error_f() line (the name cut at 64 bytes), before any listener.
      const gai = gaiStrerror({ code });
      if (gai !== undefined && started.length === 0) {
        log.error(`channel_setup_fwd_listener_tcpip: getaddrinfo(${host.slice(0, 64)}): ${gai}`);
        return null;
      }
      // channels.c: a socket(2) refused (no IPv6 here) is verbose() and skipped; a failed
      // bind(2) follows the "listening" line, an error() for the last address, verbose() before.
      if (code === 'EAFNOSUPPORT') {
        log.notice(`socket [${host}]:${port}: ${text}`);
        continue;
      }
      log.debug1(`Local forwarding listening on ${host} port ${port}.`);
      if (i === hosts.length - 1) log.error(`bind [${host}]:${port}: ${text}`);
      else log.notice(`bind [${host}]:${port}: ${text}`);
    }
  }
  if (started.length === 0) {
    log.error(`channel_setup_fwd_listener_tcpip: cannot listen to port: ${port}`);
    return null;
  }
  return started;
}

/** Where log lines go: stderr, or the -E file once {@link openLog} opened it. */
let logFd = 2;

/**
 * ssh -E (log.c log_redirect_stderr_to): the file opened for appending, created 0600; when it
 * cannot be, ssh's message on stderr and exit status 1. Called by the configuration resolution
 * before the files are read, -G included, so their errors land in the file as ssh's do.
 */
function openLog(path: string): void {
  if (logFd !== 2) return;
  try {
    logFd = openSync(path, 'a', 0o600);
  } catch (err) {
    process.stderr.write(`Couldn't open logfile ${path}: ${strerror(err as NodeJS.ErrnoException)}\n`);
    process.exit(1);
  }
}

/** Text to the log's destination (stderr or the -E file), as {@link Log.write}. */
function writeLog(text: string): void {
  if (logFd === 2) process.stderr.write(text);
  else writeSync(logFd, text);
}

async function run(cfg: ResolvedConfig): Promise<void> {
  if (cfg.logFile !== undefined) openLog(cfg.logFile);
  const log = new Log(cfg.logLevel, logFd);
  const background = await import('./background.js');
  // ssh.c fork_postauth: stderr stays the caller's only with -v and the log on stderr.
  if (cfg.forkAfterAuthentication && !background.isBackgroundCopy()) return background.goBackground(cfg.verbose > 0 && cfg.logFile === undefined, cfg.proxy !== undefined, cfg.stdioForward !== undefined);
  background.relayStderrUntilReady();
  // -f: a ProxyCommand writes to the caller's stderr, as ssh's, started before its fork.
  const callerStderr = background.callerStderrFd();
  if (callerStderr !== undefined) setProxyCommandStderr(callerStderr);
  // ssh.c / clientloop.c cleanup_exit: however ssh ends, its -J hops are sent SIGHUP, and say so.
  process.once('exit', () => logHopsKilled(hopSessions));
  log.withLevel(cfg.startLogLevel).debug1(`pure-ssh_${version()}, ${runtimeName()}`);
  logConfigNotes(log, cfg);
  if (cfg.warnNoShell) log.error('pure-ssh: remote commands and shells are not supported; continuing as with -N');

  let client: SshClient | undefined;
  let shuttingDown = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const num = osConstants.signals[name];
    // The channels as they are now (open, opening, held at accept), freed once the DISCONNECT is out.
    const sayFrees = channelFreesAtEnd(client, cfg, log);
    const done = () => {
      // clientloop.c client_loop: its DISCONNECT sent, every channel is freed (channel_free_all).
      sayFrees();
      // With no session (-N, -W), SIGTERM is a deliberate end (exit 0, the byte totals); any
      // other signal is "Killed by signal N." and 255, without totals.
      if (name === 'SIGTERM' && (cfg.options.sessionType === 'none' || cfg.stdioForward)) {
        reportTransfer(log);
        log.debug1('Exit status 0');
        if (client) reportCompressionTotals(log, client.info.compression);
        process.exit(0);
      }
      log.notice(`Killed by signal ${num}.`);
      process.exit(EXIT_ERROR);
    };
    if (!client) {
      // ssh(1) sets its signal handlers only for the session: before that a signal kills it.
      process.removeAllListeners(name);
      process.kill(process.pid, name);
      return;
    }
    // Say goodbye (SSH_MSG_DISCONNECT) but do not hang on a dead peer.
    setTimeout(done, 2000).unref();
    client.close().then(done, done);
  };
  // clientloop.c client_loop: a handler only for a signal the caller did not set to SIG_IGN (nohup,
  // a script's `&` job), which then stays ignored. Known where the runtime keeps the inherited
  // dispositions (ignored-signals.ts: Bun on Linux; Node resets them before any script runs).
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) if (!ignoredAtStart(s)) process.on(s, () => onSignal(s));

  const fail = async (err: unknown): Promise<never> => {
    const at = configOf(err, cfg);
    // A jump host's failure is its own process's line, at its level (not -q's); then what each
    // ssh(1) process of the -J chain above it says.
    const said = failureLog(err, log);
    await logFatal(err, await describeFatal(err, at, said), said);
    logJumpFailure(err, log);
    process.exit(EXIT_ERROR);
  };

  // Check algorithm lists before connecting, so a typo is a config error, not a network one.
  try {
    for (const n of (await appliedAlgorithms(cfg)).notes) log.debug1(n);
  } catch (err) {
    return fail(err);
  }

  try {
    // The client's modules load while the connection is being set up (connectHost), and so do
    // the Node modules and V8 flags of the login, once the connect is under way.
    const listens = cfg.localForwards.length + cfg.dynamicForwards.length > 0;
    client = await connectHost(cfg, log, undefined, { ...routeContext(), connecting: () => tuneV8ForLogin(listens) });
  } catch (err) {
    if (err instanceof ConfigError) {
      const said = configErrorLog(err);
      if (said) {
        // A jump host's configuration refused: its ssh -W process's log, at its own level.
        const hopLog = Log.forHop(said.level);
        hopLog.debug1(`pure-ssh_${version()}, ${runtimeName()}`);
        for (const n of said.notes) hopLog.note(n);
      } else failureLog(err, log).error(err.message);
      // A jump host's configuration refused: ssh's outer processes then see their proxy close.
      process.exit(logJumpFailure(err, log) ? EXIT_ERROR : err.exitCode);
    }
    if (shuttingDown) return;
    return fail(err);
  }
  if (shuttingDown) return;

  const ssh = client;
  tuneV8ForForwarding();
  // V8's `gc` is taken at the cap's first look (the first MiB of traffic), not before the first
  // byte; so is ArrayBuffer.prototype.transfer, with which node:crypto's results are freed as soon
  // as they are copied or written to the local socket (array-buffer-release.ts).
  enableArrayBufferCap({
    take: () => {
      const { gc, transfer } = takeGcAndTransfer();
      // Freed at once, node:crypto's results no longer make the ArrayBuffer figure grow: the cap
      // then scavenges by traffic, as often as before (see scavengeByTraffic).
      if (enableArrayBufferRelease(transfer)) scavengeByTraffic(true);
      return gc;
    },
  });
  // clientloop.c: the session's clock starts once authenticated.
  transfer.start = performance.now();
  const reconnecting = cfg.reconnect && cfg.localForwards.length > 0 && !cfg.stdioForward;
  // The forwards' channels a lost connection ends are freed with the listeners, in number order
  // (clientloop.c channel_free_all), below.
  ssh.keepLostChannels = !reconnecting;
  ssh.on('close', (err: SshError | undefined) => {
    if (reconnecting) return; // the reconnecting forwards take over (see below)
    for (const f of forwards) void f.close();
    if (shuttingDown) return;
    shuttingDown = true;
    const end = async () => {
      await hopReportsSettled();
      if (err?.code === 'ERR_KEEPALIVE_TIMEOUT') {
        // clientloop.c server_alive_check: logit() (INFO), then cleanup_exit(255), no totals.
        log.info(err.message);
        process.exit(EXIT_ERROR);
      }
      if (sendDisconnectFails(err, cfg)) {
        // clientloop.c: the loop's message is lost with its failed DISCONNECT, totals too.
        log.fatal(SEND_DISCONNECT_FAILED);
        process.exit(EXIT_ERROR);
      }
      const said = err ? await describeFatal(err, cfg, log, true) : `Connection to ${cfg.hostName} closed.`;
      // clientloop.c quit_message: the closed connection's line is buffered and written to stderr
      // itself, not logged: shown with -q, and on stderr with -E; after the loop has sent its
      // DISCONNECT and freed the channels (channel_free_all).
      const closedByRemote = isClosedByRemoteHost(said);
      if (closedByRemote) {
        channelFreesAtEnd(ssh, cfg, log)();
        process.stderr.write(`${said}\r\n`);
      }
      else log.error(said);
      reportTransfer(log);
      if (closedByRemote) {
        // clientloop.c client_loop returns as at any orderly end: "Exit status %d" with the
        // status no session set (-1, so ssh exits 255), then ssh.c main's ssh_packet_close
        // says the compression totals (packet.c).
        log.debug1('Exit status -1');
        reportCompressionTotals(log, ssh.info.compression);
      }
      process.exit(EXIT_ERROR);
    };
    void end();
  });

  // ssh.c ssh_session2: the -W channel is opened first (ssh_init_stdio_forwarding), then the
  // forwards are set up (ssh_init_forwarding; -W clears them unless ClearAllForwardings=no).
  let stdio: Promise<unknown> | undefined;
  if (cfg.stdioForward) {
    const { stdioForward } = await import('./stdio-forward.js');
    const w = cfg.stdioForward;
    // channels.c: a socket path is shown with PORT_STREAMLOCAL (-2) as its port.
    log.debug1(`channel_connect_stdio_fwd: ${loggedTarget(w)}`);
    log.stdioChannel = true;
    const opened = stdioForward(ssh, cfg.stdioForward, { input: process.stdin, output: process.stdout, debug: (m) => log.debug1(m) });
    // Its outcome is awaited once the forwards are set up (see endStdio).
    opened.catch(() => {});
    stdio = opened;
  }
  /** The -W channel's end: ssh's lines, then the exit (0 at its end, 255 for a refused open). */
  const endStdio = async (opened: Promise<unknown>): Promise<void> => {
    try {
      await opened;
      // A signal's end is under way (its close() ended the channel): it says what ssh says.
      if (shuttingDown) return;
      // clientloop.c client_cleanup_stdio_fwd, the channel's end: its line, then cleanup_exit(0)
      // at once (no byte totals); nothing more is said.
      log.debug1('stdio forwarding: done');
      log.silence();
    } catch (err) {
      if (shuttingDown) return;
      // The connection itself was lost, while the open was unanswered or once the channel was
      // open: the 'close' handler above reports that once and exits 255, as ssh(1)'s client loop
      // does; "stdio forwarding failed" is for a refused open only.
      if ((err as SshError).code !== 'ERR_CHANNEL_OPEN_FAILED') {
        const lost = await Promise.race([ssh.closed.then(() => true), new Promise<boolean>((r) => setTimeout(r, 100, false).unref())]);
        if (lost) return;
      }
      // ssh(1): "channel 0: open failed: ..." then "stdio forwarding failed".
      log.error(openFailedLine(err as SshError));
      // ssh.c ssh_stdio_confirm: fatal(), shown from LogLevel FATAL.
      log.fatal('stdio forwarding failed');
      shuttingDown = true;
      // ssh.c ssh_stdio_confirm's fatal(), client_cleanup_stdio_fwd's cleanup_exit(0): neither
      // sends a DISCONNECT (SshClient.abandon).
      await Promise.race([ssh.abandon(), new Promise((r) => setTimeout(r, 2000).unref())]);
      process.exit(EXIT_ERROR);
    }
    shuttingDown = true;
    await Promise.race([ssh.abandon(), new Promise((r) => setTimeout(r, 2000).unref())]);
    process.exit(0);
  };

  // ssh.c ssh_init_forward_permissions, before any forward: PermitRemoteOpen's destinations.
  const permitOpen = permitRemoteOpenEntries(cfg.permitRemoteOpen);
  if (permitOpen !== undefined && 'error' in permitOpen) {
    log.error(`ssh_init_forward_permissions: ${permitOpen.error}`);
    shuttingDown = true;
    await Promise.race([ssh.abandon(), new Promise((r) => setTimeout(r, 2000).unref())]);
    process.exit(EXIT_ERROR);
  }
  // channels.c channel_add_permission (debug1); `*` is port 0 there (FWD_PERMIT_ANY_PORT).
  for (const p of permitOpen ?? []) log.debug1(`allow admin local forwarding to host ${p.host} port ${p.port === '*' ? 0 : p.port}`);
  if (reconnecting) {
    await runReconnecting(ssh, cfg, log, await loadLibraries(), () => (shuttingDown = true), (c) => (client = c), () => shuttingDown);
  } else {
    // -L and -D in the order given: OpenSSH keeps -D among its local forwards (readconf.c
    // add_local_forward), set up in that one list's order (so its listeners' channel numbers),
    // and both count alike towards ExitOnForwardFailure and "Could not request local forwarding.".
    const order = cfg.options.localForwardOrder ?? [
      ...cfg.localForwards.map((_, index) => ({ dynamic: false, index })),
      ...cfg.dynamicForwards.map((_, index) => ({ dynamic: true, index })),
    ];
    const starts = order.flatMap(({ dynamic, index }) => {
      const spec = dynamic ? cfg.dynamicForwards[index] : cfg.localForwards[index];
      if (spec === undefined) return [];
      return [dynamic ? () => startDynamic(ssh, spec as DynamicForwardSpec, cfg, log) : () => startForward(ssh, spec as ForwardSpec, cfg, log)];
    });
    let failures = 0;
    for (const start of starts) {
      const fwds = await start();
      if (shuttingDown) return;
      if (!fwds) {
        failures++;
        if (cfg.exitOnForwardFailure) {
          // ssh.c ssh_init_forwarding: fatal() with ExitOnForwardFailure (error() without it).
          log.fatal('Could not request local forwarding.');
          shuttingDown = true;
          // ssh.c ssh_init_forwarding's fatal(): no DISCONNECT (SshClient.abandon).
          await Promise.race([ssh.abandon(), new Promise((r) => setTimeout(r, 2000).unref())]);
          process.exit(EXIT_ERROR);
        }
        continue;
      }
      for (const fwd of fwds) {
        fwd.on('connection-error', (e: SshError) => {
          // OpenSSH reports a refused channel and keeps the tunnel up.
          if (e.code === 'ERR_CHANNEL_OPEN_FAILED') log.error(openFailedLine(e));
          // The connection's own end (lost, or ours) is said once, as ssh does, not per connection.
          else if (!shuttingDown) log.debug1(e.message);
        });
      }
    }
    if (starts.length > 0 && failures === starts.length) {
      log.error('Could not request local forwarding.');
    }
  }
  // ssh_init_forwarding: every -R request is sent before any reply is awaited.
  for (const spec of cfg.remoteForwards) {
    const l = spec.listen;
    // ssh.c: a path's port is PORT_STREAMLOCAL (-2) on either side.
    const from = 'path' in l ? `${l.path}:-2` : `${l.bindAddress ?? 'LOCALHOST'}:${l.port}`;
    log.debug1(`Remote connections from ${from} forwarded to local address ${loggedTarget(spec.to)}`);
  }
  // ssh.c ssh_init_forwarding: forward_confirms_pending is 0 with ExitOnForwardFailure, -1 (not
  // counting) without, and each request sent adds one all the same: ssh 9.2 then "expects"
  // one reply fewer than it sent and counts on below 0 (its -v lines, reproduced as they are).
  const confirms = { pending: cfg.exitOnForwardFailure ? 0 : -1 };
  confirms.pending += cfg.remoteForwards.length;
  if (confirms.pending > 0) log.debug1(`ssh_init_forwarding: expecting replies for ${confirms.pending} forwards`);
  // Each -R request is sent as its startRemote begins (no await before it).
  const remotes = Promise.all(cfg.remoteForwards.map((spec) => startRemote(ssh, spec, cfg, log, () => (shuttingDown = true), permitOpen, confirms)));
  // ssh.c ssh_session2: then no-more-sessions@openssh.com, before any reply is read.
  requestNoMoreSessions(ssh, log);
  // ssh -f: into the background once every forward listens, the -R ones too, whose replies are
  // read in the session (ssh.c ssh_session2 defers the fork to the last reply with
  // ExitOnForwardFailure, and says so; without it ssh forks before the replies, pure-ssh after
  // them, so that a forward is there when -f returns, README). With -W, once the stdio channel's
  // open is sent, not confirmed.
  const forkPostauth = () => {
    // ssh.c fork_postauth: debug("forking to background"), no pid.
    log.debug1('forking to background');
    background.reportReady();
    // The jump hosts' lines keep the caller's stderr (see setHopStderr), this copy's own is /dev/null.
    if (callerStderr !== undefined) setHopStderr(callerStderr);
  };
  const deferFork = cfg.forkAfterAuthentication && cfg.remoteForwards.length > 0;
  if (deferFork) log.debug1('deferring postauth fork until remote forward confirmation received');
  else if (cfg.forkAfterAuthentication) forkPostauth();
  // clientloop.c client_loop's first line (its session is none here, as with -N; -W too), before
  // the -R replies, which its loop reads.
  log.debug1('Entering interactive session.');
  await remotes;
  if (shuttingDown) return;
  if (deferFork) forkPostauth();
  if (stdio) return endStdio(stdio);
}

/**
 * PureSshReconnect: the -L listeners stay when the connection drops; the connection is made
 * again (same route, same authentication) with backoff, and new local connections wait for it.
 */
async function runReconnecting(
  first: SshClient,
  cfg: ResolvedConfig,
  log: Log,
  libs: Libraries,
  stop: () => void,
  setClient: (c: SshClient) => void,
  stopping: () => boolean = () => false,
): Promise<void> {
  const { ReconnectingClient, ReconnectingForward } = await import('./reconnect.js');
  const rc = new ReconnectingClient(() => connectHost(cfg, log, libs, routeContext()), {
    initialDelay: 1000,
    maxDelay: 30_000,
    waitForConnection: 15_000,
  });
  await rc.start(first);
  // The lines go out in the order of the events: ssh's own line for the drop (which needs an
  // asynchronous look at the error) before pure-ssh's reconnect lines.
  let said: Promise<void> = Promise.resolve();
  const say = (line: () => string | Promise<string>) => {
    said = said.then(async () => log.info(await line())).catch(() => {});
  };
  rc.on('connected', (c: SshClient) => {
    setClient(c);
    // A new connection holds the listeners' channel numbers again (Log.listenerBound).
    for (let i = 0; i < log.listenerChannels; i++) c.reserveChannelNumber();
    // As on the first connection (ssh.c ssh_session2): this one, too, will open no session.
    requestNoMoreSessions(c, log);
    say(() => `Reconnected to ${cfg.hostName} port ${cfg.port}.`);
  });
  // The drop's error, which each local connection it cut also reports ('connection-error').
  let drop: SshError | undefined;
  // A close we asked for (Ctrl-C, SIGTERM) is the end, not a dropped link to recover.
  rc.on('disconnected', (err: SshError | undefined) => {
    drop = err;
    if (stopping()) return;
    say(() => (err ? describeFatal(err, cfg, log, true) : `Connection to ${cfg.hostName} closed.`));
  });
  rc.on('reconnecting', ({ attempt, delay }: { attempt: number; delay: number }) => {
    if (!stopping()) say(() => `pure-ssh: reconnecting to ${cfg.hostName} port ${cfg.port} in ${(delay / 1000).toFixed(1)} s (attempt ${attempt})`);
  });
  rc.on('reconnect-failed', ({ error }: { error: unknown }) => {
    say(() => describeFatal(error, configOf(error, cfg), log));
  });
  rc.on('give-up', () => {
    stop();
    log.error(`pure-ssh: giving up reconnecting to ${cfg.hostName}`);
    process.exit(EXIT_ERROR);
  });
  let started = 0;
  for (const spec of cfg.localForwards) {
    const sl = spec.listen;
    const { hosts } = 'path' in sl ? { hosts: [undefined] } : bindAddresses(spec, cfg);
    let bound = false;
    for (const [i, host] of hosts.entries()) {
      const listen: ListenSpec = 'path' in sl ? { path: sl.path, keepFile: true } : { host, port: sl.port, ipv6Only: host?.includes(':') === true };
      if ('path' in listen) unlinkBeforeBind(cfg, listen.path, log);
      try {
        const fwd = await ReconnectingForward.start(rc, { listen, to: spec.to });
        fwd.on('connection-error', (e: SshError) => (e === drop ? log.debug1(e.message) : log.error(e.message)));
        log.debug1(`Local forwarding listening on ${'path' in listen ? listen.path : `${host} port ${listen.port}`} (reconnecting).`);
        bound = true;
        started++;
        // The connection holds its number, as each later one does ('connected' above).
        log.listenerBound('path' in listen ? 'unix' : 'port', rc.client?.reserveChannelNumber() ?? log.listenerChannels);
      } catch (err) {
        // One of the addresses may be missing on this machine (IPv6): as in bindListeners, only
        // the last one's failure, with none bound, is an error.
        if (bound || i < hosts.length - 1) {
          log.debug1(`${(err as Error).message} (skipped)`);
          continue;
        }
        log.error((err as Error).message);
        if (cfg.exitOnForwardFailure) {
          log.fatal('Could not request local forwarding.');
          stop();
          await rc.close();
          process.exit(EXIT_ERROR);
        }
      }
    }
  }
  if (started === 0) log.error('Could not request local forwarding.');
}

main().catch((err: unknown) => {
  process.stderr.write(`pure-ssh: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT_ERROR);
});
