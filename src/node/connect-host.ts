/**
 * Connecting as the `pure-ssh` command does, shared by its bins (`pure-ssh`, `pure-ssh-bench`):
 * the route (TCP with AddressFamily and ConnectTimeout, ProxyCommand, ProxyJump), identity files
 * and certificates as ssh(1) prepares them, known_hosts with StrictHostKeyChecking / BatchMode,
 * password and passphrase prompts, and ssh(1)'s wording of each fatal error. Moved out of cli.ts
 * unchanged so that every bin authenticates exactly like `pure-ssh`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { isIP, Socket } from 'node:net';
import { homedir, hostname as osHostname, networkInterfaces, userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { ConfigError, expandJumpHops, proxyCommandToRun, jumpHostArgv, resolveCommandLineAsync, type CliEnvironment, type ResolvedConfig } from '../config/cli-args.js';
import { LOG_LEVELS, type LogLevel, type LogNote } from '../config/ssh-config.js';
import type { CompressionTotals } from '../compress/compressor.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { SshError } from '../errors.js';
import type { LocalInterfaceAddress } from '../config/match.js';
import type { SshClient } from './client.js';
import { sendsNoMoreSessions } from '../connection/global-requests.js';
import { lookupHost } from './host-lookup.js';
import { DEFAULT_CLIENT_VERSION } from '../transport/version.js';
import { tcpServicePort } from './services.js';
import { userHome } from './user-home.js';
import { connectLendingReads } from './socket-read.js';
import { connectAttempts, sayConnectFailures } from './connect-attempts.js';
import type { IdentityFileEntry, UnlockOptions } from './identity-file.js';
import { setLongTimeout } from '../long-timeout.js';
import { closedByRemoteHost, isClosedByRemoteHost, KEX_IDENTIFICATION_CLOSED } from '../quit-message.js';
import { couldNotResolve, strerror } from './strerror.js';
import { cutBytes, logLines, oneLogCall } from './log-vis.js';
import { terminalText, textForLog } from '../log-text.js';
import { utf8Locale } from './terminal-text.js';
import { assembledListFails, unimplementedAmong, withoutUnimplemented, type AlgorithmListKind } from '../config/openssh-names.js';
import { globMatch } from '../protocol/glob.js';
import { tildeExpand } from '../config/tokens.js';
import { sshKeyParseReason } from '../keys/signing.js';
import { parseCertificateFile } from '../keys/certificate.js';

/**
 * The descriptor {@link Log.forHop} stands for: the standard error ssh(1) gives its ProxyJump
 * `ssh -W` processes (see {@link setHopStderr}).
 */
const HOP_STDERR = -1;

/** Where jump hosts' lines go: stderr, or the caller's stderr kept by a -f background copy. */
let hopStderrFd = 2;

/**
 * Jump hosts' lines go to `fd` from now on. ssh(1) starts each hop's `ssh -W` (ProxyJump) with its
 * own standard error before it forks for -f (ssh.c fork_postauth: daemon(1, 1), then
 * stdfd_devnull() for ssh itself only), so a hop keeps writing to the caller's stderr after ssh's
 * own has become /dev/null; and it is never given -E (ssh.c passes only -F and -v down).
 */
export function setHopStderr(fd: number): void {
  hopStderrFd = fd;
}

/** A ProxyCommand's standard error: this process's, or the descriptor {@link setProxyCommandStderr} gave. */
let proxyCommandStderr: number | 'inherit' = 'inherit';

/**
 * ProxyCommands started from now on write their stderr to `fd`: the caller's, in a -f background
 * copy whose own is /dev/null (ssh(1) starts its ProxyCommand before it forks).
 */
export function setProxyCommandStderr(fd: number): void {
  proxyCommandStderr = fd;
}

/** ssh(1)'s log levels over stderr (or the -E file's descriptor). */
export class Log {
  private readonly rank: number;
  /** ssh -E: lines go to this descriptor (the file, opened for appending) instead of stderr. */
  constructor(
    level: LogLevel,
    private readonly fd: number = 2,
  ) {
    this.rank = LOG_LEVELS.indexOf(level);
  }
  /**
   * The log of a jump host at its own `level`: what ssh(1)'s `ssh -W` process for that hop
   * writes, on its standard error whatever -E and -f did to this one's ({@link setHopStderr}).
   */
  static forHop(level: LogLevel): Log {
    return new Log(level, HOP_STDERR);
  }
  /** Raw text (a banner) to the log's destination. */
  write(text: string): void {
    const fd = this.fd === HOP_STDERR ? hopStderrFd : this.fd;
    if (fd === 2) process.stderr.write(text);
    else if (this.fd !== HOP_STDERR) writeSync(fd, text);
    else {
      try {
        writeSync(fd, text);
      } catch {
        // The caller's stderr is gone (a closed pipe): ssh ignores SIGPIPE and log.c a failed
        // write, so its hop goes on; so does the tunnel here.
      }
    }
  }
  /** One log line (or several, split at `\n`), escaped and ended with "\r\n" as ssh's log.c does (log-vis.ts). */
  private line(message: string): void {
    if (!this.silenced) this.write(logLines(message));
  }
  /** Set by {@link silence}. */
  silenced = false;
  /** No more lines from this log (a jump host's, once the connection it carried is gone). */
  silence(): void {
    this.silenced = true;
  }
  private at(level: LogLevel): boolean {
    return this.rank >= LOG_LEVELS.indexOf(level);
  }
  /** Whether lines of `level` are shown (LogLevel, -v, -q). */
  shows(level: LogLevel): boolean {
    return this.at(level);
  }
  /** The same destination at another level (a jump host's own LogLevel, see openRoute). */
  withLevel(level: LogLevel): Log {
    return new Log(level, this.fd);
  }
  /**
   * ssh.c ssh_session2: the -W channel is opened before the forwards are set up (-W with
   * ClearAllForwardings=no), so it is channel 0 and the listeners come after it.
   */
  stdioChannel = false;
  /**
   * Each listener channel (-L, -D: one per address), with channels.c's remote_name, in channel
   * order (see listenerBound).
   */
  private readonly listeners: { channel: number; remoteName: string }[] = [];
  /** Listeners bound so far. */
  get listenerChannels(): number {
    return this.listeners.length;
  }
  /**
   * A listener bound: in ssh(1) it is a channel (channels.c channel_new: the lowest free number),
   * which channel_new announces as `channel N: new port-listener [port listener] (inactive
   * timeout: 0)` (a Unix socket's: `unix-listener [unix listener]`; ChannelTimeout is not
   * implemented, so no timeout). `channel` is the number the connection holds for it
   * (SshClient.reserveChannelNumber), so that its forwarded connections' channels, on the wire and
   * in these lines, carry the numbers ssh's would.
   */
  listenerBound(kind: 'port' | 'unix', channel: number): void {
    this.listeners.push({ channel, remoteName: `${kind} listener` });
    if (this.at('DEBUG1')) this.line(`debug1: channel ${channel}: new ${kind}-listener [${kind} listener] (inactive timeout: 0)`);
  }
  /**
   * The session's end as clientloop.c client_loop ends it (channel_free_all): every channel's
   * `channel N: free: NAME, nchannels M` in number order, the listeners' and `forwarded` (the
   * forwards' channels, SshClient.takeChannelsToFree), M counting the channels not yet freed,
   * `open` other channels among them (freed after these, unsaid).
   */
  listenersFreed(open: number, forwarded: readonly { channel: number; remoteName: string }[] = []): void {
    const all = [...this.listeners.splice(0), ...forwarded].sort((a, b) => a.channel - b.channel);
    if (!this.at('DEBUG1')) return;
    all.forEach(({ channel, remoteName }, i) => this.line(`debug1: channel ${channel}: free: ${remoteName}, nchannels ${all.length - i + open}`));
  }
  /** Errors the user must see (suppressed only by -q). */
  error(message: string): void {
    // An error ssh shows only at a level above this one (describeFatal) leaves nothing to print.
    if (message === '') return;
    // channels.c channel_input_open_failure: one call, the server's description included.
    if (/^channel \d+: open failed: /.test(message)) message = oneLogCall(message);
    if (this.at('ERROR')) this.line(message);
  }
  info(message: string): void {
    if (this.at('INFO')) this.line(message);
  }
  /** ssh's verbose(): shown from LogLevel VERBOSE (and with -v), without a prefix. */
  notice(message: string): void {
    if (this.at('VERBOSE')) this.line(message);
  }
  debug1(message: string): void {
    if (this.at('DEBUG1')) this.line(`debug1: ${message}`);
  }
  get verbose(): boolean {
    return this.at('DEBUG1');
  }
  /** ssh's debug, debug2 and debug3 (log.c): shown from -v, -vv and -vvv. */
  debug(level: 1 | 2 | 3, message: string): void {
    if (this.at(`DEBUG${level}`)) this.line(`debug${level}: ${message}`);
  }
  /** ssh's fatal() (log.c): shown from LogLevel FATAL, so silenced only by -q / QUIET. */
  fatal(message: string): void {
    if (message !== '' && this.at('FATAL')) this.line(message);
  }
  /** A line of the configuration's reading ({@link LogNote}) at its level. */
  note(n: LogNote): void {
    if (n.level === 'error') this.error(n.text);
    else if (n.level === 'fatal') this.fatal(n.text);
    else if (n.level === 'verbose') this.notice(n.text);
    else this.debug(n.level, n.text);
  }
}

/**
 * The configuration's debug lines as ssh says them: those before its second log_init at the
 * command line's level, the rest at the files' ({@link ResolvedConfig.ttyDecisionAt}). `log` is
 * at `cfg.logLevel`; `from` and `to` pick a part of the notes.
 */
export function logConfigNotes(log: Log, cfg: Pick<ResolvedConfig, 'debugNotes' | 'ttyDecisionAt' | 'startLogLevel' | 'logLevel'>, from = 0, to = cfg.debugNotes.length): void {
  const early = cfg.startLogLevel === cfg.logLevel ? log : log.withLevel(cfg.startLogLevel);
  cfg.debugNotes.forEach((n, i) => {
    if (i >= from && i < to) (i < cfg.ttyDecisionAt ? early : log).note(n);
  });
}

/**
 * The user's home directory as ssh(1) takes it: the passwd entry's (getpwuid(getuid())->pw_dir,
 * through os.userInfo()), not $HOME: `~/.ssh/config`, `~` in file names and %d. ssh exits when
 * the uid has no passwd entry; pure-ssh then falls back to $HOME, as on runtimes without
 * getpwuid. (The library's own `~` expansion, identity-file.ts expandHome, keeps Node's
 * os.homedir(), $HOME first; the CLI hands it paths already expanded.)
 */
export function passwdHome(): string {
  try {
    const home = userInfo().homedir;
    if (home) return home;
  } catch {
    // no passwd entry for this uid, or no getpwuid in this runtime
  }
  return process.env.HOME || homedir();
}

export function localUser(): string {
  // ssh.c: the passwd entry's name (getpwuid), not $USER; $USER only without one.
  try {
    return userInfo().username;
  } catch {
    return process.env.USER || 'root';
  }
}

/**
 * ssh_config(5) Match exec (readconf.c execute_in_shell): `$SHELL -c command` (/bin/sh without
 * SHELL), standard input and output on /dev/null, standard error kept; the exit status, or -1
 * when the shell could not be run or died from a signal.
 */
export function matchExec(command: string): number {
  const shell = process.env.SHELL || '/bin/sh';
  const r = spawnSync(shell, ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.error || r.status === null) return -1;
  return r.status;
}


/**
 * What this process gives the ssh_config resolution (config/cli-args.ts): its environment, home,
 * local user and host name, the files it can read, Match exec and the DNS look-ups
 * CanonicalizeHostname needs, services(5),
 * the -i check and its warning. One for every bin, so each resolves a destination as `pure-ssh` does.
 */
/**
 * getifaddrs(3) as OpenSSH's check_match_ifaddrs reads it (Match localnetwork): the interfaces
 * that are up, in order; an IPv6 link-local address named with `%interface` as getnameinfo(3)
 * prints it.
 */
function localInterfaceAddresses(): LocalInterfaceAddress[] {
  const out: LocalInterfaceAddress[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const scoped = a.family === 'IPv6' && (a.scopeid ?? 0) !== 0 ? `${a.address}%${name}` : a.address;
      out.push({ name, family: a.family, address: scoped });
    }
  }
  return out;
}

export function processCliEnvironment(): CliEnvironment {
  const orUndefined = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch {
      return undefined;
    }
  };
  return {
    env: process.env,
    // ssh.c: the passwd entry's home (getpwuid), not $HOME.
    home: passwdHome(),
    localUser: localUser(),
    uid: process.getuid?.() ?? -1,
    localHostName: osHostname(),
    exec: matchExec,
    interfaces: localInterfaceAddresses,
    lookupHost,
    servicePort: (name) => tcpServicePort(name),
    userHome: (name) => userHome(name),
    statError: (path) => {
      try {
        statSync(path);
        return undefined;
      } catch (e) {
        return strerror(e as NodeJS.ErrnoException);
      }
    },
    // ssh.c fprintf(stderr, ...): a plain newline, not the log's "\r\n".
    warn: (message) => process.stderr.write(`${message}\n`),
    fs: {
      // As bytes, the way readconf.c reads them: a byte that is no UTF-8 kept as U+DC00 + byte
      // (log-text.ts textForLog), not U+FFFD, so that `EscapeChar <0xE9>` is the byte ssh takes.
      readFile: (p) => orUndefined(() => textForLog(readFileSync(p))),
      stat: (p) => orUndefined(() => statSync(p)),
      listDir: (p) => orUndefined(() => readdirSync(p)),
    },
  };
}


/** sshkey.c sshkey_type() of the plain public key types a certificate file may hold by mistake. */
const PLAIN_KEY_LABELS: Readonly<Record<string, string>> = {
  'ssh-ed25519': 'ED25519', 'ssh-rsa': 'RSA', 'ssh-dss': 'DSA', 'ecdsa-sha2-nistp256': 'ECDSA', 'ecdsa-sha2-nistp384': 'ECDSA',
  'ecdsa-sha2-nistp521': 'ECDSA', 'sk-ssh-ed25519@openssh.com': 'ED25519-SK', 'sk-ecdsa-sha2-nistp256@openssh.com': 'ECDSA-SK',
};

/**
 * ssh(1)'s number for a key type name, as its `identity file PATH type N` and `certificate file
 * PATH type N` lines print it: sshkey.h enum sshkey_types (OpenSSH 9.2: KEY_RSA 0, KEY_DSA 1,
 * KEY_ECDSA 2, KEY_ED25519 3, their certificates 4-7, XMSS 8-9, the FIDO keys 10-13); -1 for
 * none or a name it does not know.
 */
export function sshkeyTypeNumber(name: string | undefined): number {
  if (name === undefined) return -1;
  const cert = name.endsWith('-cert-v01@openssh.com');
  const base = cert ? name.slice(0, -'-cert-v01@openssh.com'.length) : name;
  const plain =
    base === 'ssh-rsa' ? 0
    : base === 'ssh-dss' ? 1
    : /^ecdsa-sha2-nistp(256|384|521)$/.test(base) ? 2
    : base === 'ssh-ed25519' ? 3
    : base === 'ssh-xmss@openssh.com' || base === 'ssh-xmss' ? 8
    : base === 'sk-ecdsa-sha2-nistp256@openssh.com' || base === 'sk-ecdsa-sha2-nistp256' ? 10
    : base === 'sk-ssh-ed25519@openssh.com' || base === 'sk-ssh-ed25519' ? 12
    : -1;
  if (plain < 0) return -1;
  // The certificate of each type follows it: 0-3 → 4-7, 8 → 9, 10 → 11, 12 → 13.
  return !cert ? plain : plain < 4 ? plain + 4 : plain + 1;
}

/** The key type name a file's first line starts with (a public key or a certificate), else undefined. */
function publicLineType(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trimStart().split(/\s/, 1)[0] || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a certificate file reads and decodes (parseCertificateFile: its CA signature verified). */
function certificateLoads(path: string): boolean {
  try {
    parseCertificateFile(readFileSync(path, 'utf8'), path);
    return true;
  } catch {
    return false;
  }
}

/** sshkey_type() of a file holding a plain (not certified) public key line, else undefined. */
function plainPublicKeyType(path: string): string | undefined {
  let first: string | undefined;
  try {
    first = readFileSync(path, 'utf8').trimStart().split(/\s/, 1)[0];
  } catch {
    return undefined;
  }
  return first === undefined ? undefined : PLAIN_KEY_LABELS[first];
}

/**
 * Prepare the identity files the way ssh(1) does: missing default keys are silent, others are
 * reported and skipped; nothing is decrypted now: a key whose public half is known stays
 * encrypted until the server accepts it, the others until their turn in the publickey order
 * (sshconnect2.c userauth_pubkey), when their passphrase is asked.
 */
export async function loadIdentities(cfg: ResolvedConfig, log: Log, unlock: UnlockOptions): Promise<IdentityFileEntry[]> {
  if (!cfg.pubkeyAuthentication) return [];
  const [{ certifyIdentityFiles, expandHome, isPathLookupFailure, loadCertificateFile, prepareIdentityFile, unprotectedKeyLines }, { KeyPermissionsError }, { keyBlobType }, { rsaKeyTooShort }] =
    await Promise.all([import('./identity-file.js'), import('../errors.js'), import('../keys/hostkey.js'), import('../keys/certificate.js')]);
  const entries: IdentityFileEntry[] = [];
  // ssh.c load_public_identity_files(): without CertificateFile, "IDENTITY-cert.pub" is tried.
  const certPaths = cfg.certificateFiles.map((path) => ({ path, explicit: true }));
  // ssh.c load_public_identity_files: with no CertificateFile, each identity file's "-cert"
  // variant is looked for (sshkey_load_public: PATH-cert, then PATH-cert.pub) and logged right
  // after it, found or not (a missing default key's too): `identity file PATH-cert type -1`. A
  // certificate found is loaded below, and its line is this one.
  const certVariant = async (path: string): Promise<void> => {
    if (cfg.certificateFiles.length > 0) return;
    const found = [`${path}-cert`, `${path}-cert.pub`].some((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    // authfile.c sshkey_load_public answers a certificate that does not decode (cut short, bytes
    // after it, a CA signature that does not verify, a type word not its own) as a missing file
    // ("Pretend we couldn't find the key"): `type -1`, and it is not offered.
    const loads = found && certificateLoads(`${path}-cert.pub`);
    if (found && !loads) broken.add(`${path}-cert.pub`);
    let type = loads ? sshkeyTypeNumber(publicLineType(`${path}-cert.pub`)) : -1;
    // ssh.c check_load, as for the key: an RSA certificate under RequiredRSASize is error()'d
    // under the key's name, `load pubkey "PATH": Invalid key length`, and dropped (`type -1`).
    const short = found ? await certificateTooShort(`${path}-cert.pub`) : undefined;
    if (short !== undefined) {
      if (short === 'required') log.error(`load pubkey "${path}": Invalid key length`);
      tooShort.add(`${path}-cert.pub`);
      type = -1;
    }
    log.debug1(`identity file ${path}-cert type ${type}`);
  };
  // RSA certificates under RequiredRSASize (sshkey_check_rsa_length), said where ssh.c check_load
  // says them and left out: `required` under RequiredRSASize alone, `floor` under 1024 bits too,
  // which sshkey_load_public fails on in silence (ssh-rsa.c ssh_rsa_deserialize_public).
  const tooShort = new Set<string>();
  // "-cert" variants found but not decoding (certVariant said `type -1`): passed over in silence.
  const broken = new Set<string>();
  const rsaSize = (blob: Uint8Array): 'required' | 'floor' | undefined =>
    !rsaKeyTooShort(blob, cfg.requiredRsaSize) ? undefined : rsaKeyTooShort(blob, 0) ? 'floor' : 'required';
  const certificateTooShort = async (certPath: string): Promise<'required' | 'floor' | undefined> => {
    try {
      const c = await loadCertificateFile(certPath, { optional: true, crypto: unlock.crypto });
      return c ? rsaSize(c.certificate.publicKeyBlob) : undefined;
    } catch {
      // Said when the certificates are loaded, below.
      return undefined;
    }
  };
  for (const { path, explicit } of cfg.identityFiles) {
    try {
      // sshconnect2.c: a key file others can read is offered, and refused when the server accepts it.
      let entry = await prepareIdentityFile(path, { ...unlock, explicit, deferPermissionCheck: true });
      // ssh.c check_load: an RSA public half (PATH.pub, or the clear part of an OpenSSH key file,
      // encrypted or not) under RequiredRSASize is error()'d, `load pubkey "PATH": Invalid key
      // length` (sshkey_check_rsa_length, SSH_ERR_KEY_LENGTH), and dropped: the file stays, as
      // one whose public half is unknown (`type -1`), loaded at its turn (`Trying private key`),
      // its passphrase asked then, and skipped once loaded (sshconnect2.c load_identity_file,
      // userauth.ts provideKey). One under 1024 bits fails sshkey_try_load_public itself
      // (ssh-rsa.c ssh_rsa_deserialize_public), which ssh.c passes over in silence.
      const short = entry.publicKeyBlob && rsaSize(entry.publicKeyBlob);
      if (short) {
        if (short === 'required') log.error(`load pubkey "${path}": Invalid key length`);
        entry = { path: entry.path, explicit: entry.explicit };
      }
      // ssh.c load_public_identity_files: `type -1` for a key whose public half it could not read.
      const type = entry.publicKeyBlob ? keyBlobType(entry.publicKeyBlob) : undefined;
      log.debug1(`identity file ${path} type ${sshkeyTypeNumber(type)}`);
      await certVariant(path);
      // ssh(1) signs with FIDO (sk-*) and DSA keys; pure-ssh does not: said, not silently left out
      // (the publickey method then skips it with sshconnect2.c's "Skipping" line).
      if (type !== undefined && /^(sk-|ssh-dss|ssh-xmss)/.test(type)) log.debug1(`identity file ${path}: ${type} keys are not supported by pure-ssh`);
      // ssh 9.2 offers a FIDO key the user named and, once the server accepts it, fails to sign
      // with it at the error level (`sign_and_send_pubkey: signing failed for ED25519-SK "PATH":
      // device not found`, or the token's own reason). pure-ssh cannot use one at all: said at
      // the same level, in its own words, for a file the user named (-i, IdentityFile).
      if (explicit && type !== undefined && type.startsWith('sk-')) {
        log.error(`${path}: ${type} is a FIDO security key, which pure-ssh does not support: key not offered`);
      }
      entries.push(entry);
      if (cfg.certificateFiles.length === 0) certPaths.push({ path: `${path}-cert.pub`, explicit: false });
    } catch (err) {
      const e = err as SshError & { cause?: NodeJS.ErrnoException };
      if (e.code === 'ERR_PRIVATE_KEY' && isPathLookupFailure(e.cause?.code)) {
        // ssh.c load_public_identity_files keeps a file the user named (IdentityFile; -i files
        // it cannot reach were dropped with ssh.c's warning while reading the options); at its
        // turn sshconnect2.c load_identity_file says `no such identity` at INFO.
        // A missing default key is kept too: sshconnect2.c pubkey_prepare lists it (`Will attempt
        // key: PATH ` with nothing after) and its turn says `Trying private key: PATH`, then
        // load_identity_file's `no such identity` at debug3 only.
        log.debug1(`identity file ${path} type -1`);
        await certVariant(path);
        entries.push({ path: expandHome(path), explicit });
        if (explicit && cfg.certificateFiles.length === 0) certPaths.push({ path: `${path}-cert.pub`, explicit: false });
      } else if (e instanceof KeyPermissionsError) {
        // A key without a public half to offer (or a directory): ssh(1)'s block (authfile.c
        // sshkey_perm_ok), then its load error; the key is skipped.
        log.error(unprotectedKeyLines(e));
      } else if (e.code === 'ERR_KEY_ENCRYPTED' || e.code === 'ERR_KEY_PASSPHRASE') {
        log.debug1(`${e.message} (key skipped)`);
      } else if (e.code === 'ERR_PRIVATE_KEY' && e.cause?.code !== undefined) {
        // sshconnect2.c load_identity_file: a file it cannot read (mode 000, a directory) is
        // error()'d with strerror(3) alone: `Load key "PATH": Permission denied`.
        log.error(`Load key "${path}": ${strerror(e.cause)}`);
      } else if (e.code === 'ERR_KEY_FORMAT') {
        // Not a key ssh(1) can parse: it says ssherr.c's "invalid format" or "error in
        // libcrypto" (sshKeyParseReason); why, at -v.
        log.debug1(e.message.includes(path) ? e.message : `${path}: ${e.message}`);
        log.error(`Load key "${path}": ${sshKeyParseReason(e)}`);
      } else {
        log.error(`Load key "${path}": ${e.message}`);
      }
    }
  }
  const certs = [];
  for (const { path, explicit } of certPaths) {
    if (tooShort.has(path) || broken.has(path)) continue;
    try {
      const c = await loadCertificateFile(path, { optional: !explicit, crypto: unlock.crypto });
      if (!c) continue;
      // ssh.c check_load for a CertificateFile: `load certificate "PATH": Invalid key length`.
      const short = rsaSize(c.certificate.publicKeyBlob);
      if (explicit && short !== undefined) {
        if (short === 'required') log.error(`load certificate "${path}": Invalid key length`);
        log.debug1(`certificate file ${path} type -1`);
        continue;
      }
      // A "-cert" variant's line was said with its key (certVariant).
      if (explicit) log.debug1(`certificate file ${path} type ${sshkeyTypeNumber(c.certificate.certType)}`);
      certs.push(c);
    } catch (err) {
      // ssh.c load_public_identity_files / check_load: a missing file is passed over in silence
      // (explicit or not), a plain public key with a debug line; anything else is error()'d.
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      if (isPathLookupFailure(cause?.code)) {
        log.debug1(`certificate file ${path} type -1`);
        continue;
      }
      const plain = plainPublicKeyType(path);
      if (plain !== undefined) {
        log.debug1(`load_public_identity_files: key ${path} type ${plain} is not a certificate`);
        continue;
      }
      // authfile.c sshkey_load_public: any other failure (a directory, a certificate that does
      // not decode or verify) is answered as ENOENT, which check_load passes over: `type -1`, and
      // why at -vv.
      log.debug1(`certificate file ${path} type -1`);
      log.debug(2, `${path}: ${(err as Error).message}`);
    }
  }
  if (certs.length === 0) return entries;
  // Each certificate in ssh's place among the keys (CertificateFile's first, FILE-cert.pub after
  // FILE), nothing decrypted: it is offered by its blob, and signed for by its key (the agent's,
  // or the file's, its passphrase asked then) once the server accepts it (sshconnect2.c).
  return certifyIdentityFiles(entries, certs, { given: cfg.certificateFiles.length > 0, debug: (m) => log.debug1(m) });
}

/**
 * The known_hosts check as pure-ssh makes it (and pure-ssh-check, so both say the same): the
 * files of UserKnownHostsFile (none: /dev/null), StrictHostKeyChecking, BatchMode, HashKnownHosts,
 * HostKeyAlias, and ssh(1)'s levels for the verifier's lines. Its refusals are worded by
 * {@link describeFatal}.
 */
export function hostKeyVerifier(
  cfg: ResolvedConfig,
  log: Log,
  knownHostsVerifier: Libraries[1]['knownHostsVerifier'],
  askQuestion: (question: string) => Promise<string>,
): ReturnType<Libraries[1]['knownHostsVerifier']> {
  // BatchMode: never ask; an unknown host key is then refused as with StrictHostKeyChecking=yes.
  return knownHostsVerifier({
    files: cfg.knownHostsFiles.length > 0 ? cfg.knownHostsFiles : ['/dev/null'],
    mode: cfg.strictHostKeyChecking,
    // UserKnownHostsFile none: the global files are read, never written (break20 F11: a new key
    // went into /etc/ssh/ssh_known_hosts).
    readonly: cfg.userKnownHostsFiles.length === 0,
    batchMode: cfg.batchMode,
    // hostfile.c hostfile_create_user_ssh_dir: tilde_expand_filename("~/.ssh"), the passwd home's.
    userSshDir: tildeExpand('~/.ssh', passwdHome()),
    hashKnownHosts: cfg.hashKnownHosts,
    hostKeyAlias: cfg.hostKeyAlias,
    // CASignatureAlgorithms, applied (sshconnect.c check_host_key, sshkey_cert_check_host).
    caSignatureAlgorithms: cfg.caSignatureAlgorithms,
    fingerprintHash: cfg.fingerprintHash,
    visualHostKey: cfg.visualHostKey,
    prompt: askQuestion,
    // ssh(1) prints a host certificate's rejection reason, a known_hosts file it cannot open for
    // its question (hostkeys_find_by_key_hostfile's error_fr) and a ~/.ssh it cannot make
    // (hostfile_create_user_ssh_dir) as errors, the rest as debug; VisualHostKey's "Host key
    // fingerprint is" and its art are one logit() call, its inner lines ending in a bare "\n"
    // and only its end in log.c's "\r\n" (oneLogCall).
    log: (line) =>
      line.startsWith('Host key fingerprint is ')
        ? log.info(oneLogCall(line))
        : line.startsWith('Warning: Permanently added') || line.startsWith('Failed to add the host')
          ? log.info(line)
          : /^(Certificate (invalid|lacks|contains|signed)|hostkeys_find_by_key_hostfile: |Could not (stat|create directory) )/.test(line)
            ? log.error(line)
            : log.debug1(line),
  });
}

/**
 * The provider connect() will pick (PURE_SSH_CRYPTO), for the identity files loaded before it: its
 * Ed25519 checks an Ed25519 key's public half. Undefined (noble does it) when the variable is
 * invalid: connect() reports that with its UsageError, as before.
 */
function providerOrUndefined(pick: (choice: undefined) => CryptoProvider): CryptoProvider | undefined {
  try {
    return pick(undefined);
  } catch {
    return undefined;
  }
}

/**
 * Whether ssh(1), with its session up, ends on this loss with clientloop.c's failed DISCONNECT
 * rather than its "closed by remote host" / "Read from remote host" message: the loop notes the
 * message (quit_message, buffered) and leaves, then its SSH2_MSG_DISCONNECT cannot be written and
 * `fatal_fr(r, "send disconnect")` exits 255 before the buffered message or the byte totals are
 * printed: `client_loop: send disconnect: Broken pipe`, see {@link SEND_DISCONNECT_FAILED}.
 * That happens when the socket's read failed (a reset, a TCP timeout: the socket is dead and the
 * write gets EPIPE), and when the connection ran over a jump host that went away (ssh's hop
 * process exited, so the pipe to it has no reader), or over a ProxyCommand that exited
 * (proxy-command.ts PROXY_EXIT_GRACE_MS). A plain EOF on a TCP socket still takes the
 * write (the peer's reset comes after it): ssh then prints its message and the totals.
 */
export function sendDisconnectFails(err: unknown, cfg: ResolvedConfig): boolean {
  // Whatever ended the hop (a reset, its server's DISCONNECT, a bad MAC): its process exited.
  if (err && typeof err === 'object' && proxyEndedWith.get(cfg) === err) return true;
  if ((err as SshError | undefined)?.code !== 'ERR_CONNECTION_LOST') return false;
  const code = ((err as SshError).cause as NodeJS.ErrnoException | undefined)?.code;
  return /^Read from remote host /.test((err as SshError).message) && typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** clientloop.c client_loop's fatal_fr(r, "send disconnect") on EPIPE (see {@link sendDisconnectFails}). */
export const SEND_DISCONNECT_FAILED = 'client_loop: send disconnect: Broken pipe';

/** The configuration's algorithm lists: ssh_config(5) keyword and openssh-names.ts kind of each. */
const ALGORITHM_LISTS = [
  { key: 'cipher', keyword: 'Ciphers', kind: 'ciphers' },
  { key: 'mac', keyword: 'MACs', kind: 'macs' },
  { key: 'kex', keyword: 'KexAlgorithms', kind: 'kexAlgorithms' },
  { key: 'hostKey', keyword: 'HostKeyAlgorithms', kind: 'hostKeyAlgorithms' },
  { key: 'pubkeyAccepted', keyword: 'PubkeyAcceptedAlgorithms', kind: 'hostKeyAlgorithms' },
] as const satisfies readonly { key: keyof ResolvedConfig['algorithmOrigins']; keyword: string; kind: AlgorithmListKind }[];

/**
 * The configuration's algorithm lists without the names OpenSSH knows and pure-ssh does not
 * implement (ssh-dss, the FIDO `sk-*` key types, 3des-cbc, hmac-md5...: see
 * openssh-names.ts withoutUnimplemented), so a configuration written for ssh(1) still connects;
 * `notes` says, at -v, what was left out of each list and where it was asked for. `implemented`:
 * pure-ssh's names per category (algorithms.ts supportedAlgorithms).
 */
export function offerableAlgorithms(
  cfg: Pick<ResolvedConfig, 'algorithms' | 'algorithmOrigins' | 'pubkeyAcceptedAlgorithms'>,
  implemented: { cipher: readonly string[]; mac: readonly string[]; kex: readonly string[]; hostKey: readonly string[] },
): { algorithms: ResolvedConfig['algorithms']; pubkeyAcceptedAlgorithms: string | undefined; notes: string[] } {
  const algorithms = { ...cfg.algorithms };
  let pubkeyAcceptedAlgorithms = cfg.pubkeyAcceptedAlgorithms;
  const notes: string[] = [];
  for (const { key, keyword, kind } of ALGORITHM_LISTS) {
    const spec = key === 'pubkeyAccepted' ? pubkeyAcceptedAlgorithms : algorithms[key];
    if (spec === undefined) continue;
    const { spec: left, leftOut } = withoutUnimplemented(kind, spec, implemented[key === 'pubkeyAccepted' ? 'hostKey' : key]);
    if (leftOut.length === 0) continue;
    notes.push(`${cfg.algorithmOrigins[key] ?? keyword}: ${keyword} ${spec}: pure-ssh does not implement ${leftOut.join(',')}; left out`);
    if (key === 'pubkeyAccepted') pubkeyAcceptedAlgorithms = left;
    else algorithms[key] = left;
  }
  return { algorithms, pubkeyAcceptedAlgorithms, notes };
}

/**
 * After ssh's "no matching X found" line: the names of the server's offer that pure-ssh does not
 * implement (OpenSSH knows them), and the configuration line that asked for them, if any; empty
 * when the server offered none.
 */
async function unimplementedOffer(err: { category: string; server: readonly string[] }, cfg: ResolvedConfig): Promise<string> {
  const list = /^key exchange/.test(err.category)
    ? ALGORITHM_LISTS[2]
    : /^host key/.test(err.category)
      ? ALGORITHM_LISTS[3]
      : /^cipher/.test(err.category)
        ? ALGORITHM_LISTS[0]
        : /^MAC/.test(err.category)
          ? ALGORITHM_LISTS[1]
          : undefined;
  if (list === undefined) return '';
  const { supportedAlgorithms } = await import('../algorithms.js');
  const lacking = unimplementedAmong(list.kind, err.server, supportedAlgorithms()[list.key]);
  if (lacking.length === 0) return '';
  const spec = cfg.algorithms[list.key];
  const origin = cfg.algorithmOrigins[list.key];
  const asked = spec !== undefined && !spec.startsWith('-') && lacking.some((n) => spec.replace(/^[+^]/, '').split(',').some((p) => globMatch(n, p)));
  const where = asked ? ` (${list.keyword} ${spec}${origin ? ` at ${origin}` : ''} asks for ${lacking.length > 1 ? 'them' : 'it'})` : '';
  return `\npure-ssh does not support ${lacking.join(',')}, which this server offers${where}`;
}

/**
 * Writes {@link describeFatal}'s `text` for `err` as ssh(1) logs it: the line ssh says with
 * fatal() (log.c: shown from LogLevel FATAL, silenced only by QUIET) through {@link Log.fatal},
 * the lines before it, error()'s, through {@link Log.error}. So `LogLevel FATAL` still says why
 * the run ended, as ssh does:
 * - sshconnect2.c userauth: fatal("%s@%s: Permission denied (%s).");
 * - sshconnect2.c verify_host_key_callback: fatal("Host key verification failed."), after
 *   sshconnect.c check_host_key's error() lines (the changed or revoked key's block);
 * - sshconnect2.c input_userauth_error: fatal_f("bad message during authentication: ...").
 * Anything else is error()'s or logdie()'s (INFO, which describeFatal decided already).
 */
export async function logFatal(err: unknown, text: string, log: Log): Promise<void> {
  const errors = await import('../errors.js');
  const FAILED = 'Host key verification failed.';
  if (err instanceof errors.AuthenticationError || /^input_userauth_error: /.test(text)) {
    log.fatal(text);
  } else if (err instanceof errors.HostKeyError && (text === FAILED || text.endsWith(`\n${FAILED}`))) {
    log.error(text.slice(0, -FAILED.length - 1));
    log.fatal(FAILED);
  } else {
    log.error(text);
  }
}

/**
 * The message ssh(1) prints for an error that ends the connection. A line for which
 * {@link isClosedByRemoteHost} holds is clientloop.c's quit_message(): the caller writes it raw to
 * its stderr, not through `log`.
 */
export async function describeFatal(err: unknown, cfg: ResolvedConfig, log: Log, established = false): Promise<string> {
  const errors = await import('../errors.js');
  if (err instanceof errors.AuthenticationError) {
    // sshconnect2.c userauth: fatal("%s@%s: Permission denied (%s).") and no other line of its
    // own; authmethod_get's "No more authentication methods to try." came from the core.
    const allowed = err.methodsAllowed.length > 0 ? err.methodsAllowed.join(',') : err.methodsTried.join(',');
    return `${cfg.user}@${cfg.hostName}: Permission denied (${allowed}).`;
  }
  if (err instanceof errors.NegotiationError) {
    // ssh(1) kex.c kex_choose_conf: "Unable to negotiate with HOST port N: no matching X found.
    // Their offer: ...", HOST port N being packet.c's remote id (the address connected to; "UNKNOWN
    // port 65535" through a ProxyCommand or -J).
    const what = /^key exchange/.test(err.category)
      ? 'key exchange method'
      : /^host key/.test(err.category)
        ? 'host key type'
        : /^cipher/.test(err.category)
          ? 'cipher'
          : /^MAC/.test(err.category)
            ? 'MAC'
            : /^compression/.test(err.category)
              ? 'compression method'
              : err.category;
    log.debug1(err.message);
    return `Unable to negotiate with ${peerOrDestination(err, cfg)}: no matching ${what} found. Their offer: ${err.server.join(',')}${await unimplementedOffer(err, cfg)}`;
  }
  if (err instanceof errors.DisconnectError) {
    // packet.c ssh_packet_read_poll_seqnr: error("Received disconnect from %s:%u: %.400s") (one
    // call, the server's newlines kept), then sshpkt_fatal's logdie("Disconnected from %s") at INFO.
    const peer = peerOrDestination(err, cfg);
    const received = `Received disconnect from ${peer}:${err.reason}: ${oneLogCall(cutBytes(err.description, 400))}`;
    return log.shows('INFO') ? `${received}\nDisconnected from ${peer}` : received;
  }
  // transport/packet.ts PacketFramingError: packet.c's logit line for the bad length or padding
  // (INFO), then sshpkt_fatal with SSH_ERR_CONN_CORRUPT or SSH_ERR_MAC_INVALID.
  const framing = err as { detected?: unknown; corrupt?: unknown } | undefined;
  if (typeof framing?.detected === 'string' && typeof framing.corrupt === 'boolean') {
    const peer = peerOrDestination(err, cfg);
    const fatal = `ssh_dispatch_run_fatal: Connection to ${peer}: ${framing.corrupt ? 'Connection corrupted' : 'message authentication code incorrect'}`;
    return log.shows('INFO') ? `${framing.detected}\n${fatal}` : fatal;
  }
  const hostKeySshErr = (err as { code?: unknown } | undefined)?.code === 'ERR_HOST_KEY_SIGNATURE' ? hostKeySignatureSshErr((err as Error).message) : undefined;
  if (hostKeySshErr !== undefined) {
    // ssh_dispatch_run_fatal's sshpkt_fatal logdie (INFO) says only ssh_err()'s text. The detail at debug1.
    log.debug1((err as Error).message);
    const peer = peerOrDestination(err, cfg);
    return log.shows('INFO') ? `ssh_dispatch_run_fatal: Connection to ${peer}: ${hostKeySshErr}` : '';
  }
  if ((err as { code?: unknown } | undefined)?.code === 'ERR_MAC') {
    // packet.c: with a separate MAC, logit("Corrupted MAC on input.") (INFO); then, for every
    // cipher, ssh_dispatch_run_fatal's sshpkt_fatal: "Connection to HOST port N: " and
    // ssh_err(SSH_ERR_MAC_INVALID).
    const peer = peerOrDestination(err, cfg);
    const fatal = `ssh_dispatch_run_fatal: Connection to ${peer}: message authentication code incorrect`;
    // packet.c discard mode (CBC, encrypt-and-MAC; see PacketDecoder): the failed check's line,
    // then ssh_packet_stop_discard's logit("Finished discarding for ADDR port P") (INFO).
    // The count completed by a later read fails in clientloop.c's read instead (quit_message).
    const discarded = err as { detected?: unknown; afterRead?: unknown };
    if (typeof discarded.detected === 'string') {
      const last = discarded.afterRead === true ? `Read from remote host ${cfg.hostName}: message authentication code incorrect` : fatal;
      return log.shows('INFO') ? `${discarded.detected}\nFinished discarding for ${peer}\n${last}` : last;
    }
    return /^Corrupted MAC on input/.test((err as Error).message) && log.shows('INFO') ? `Corrupted MAC on input.\n${fatal}` : fatal;
  }
  if (err instanceof errors.HostKeyError) {
    // Loaded already: the host key was checked by it.
    const { shortKeyType } = await import('./known-hosts-file.js');
    const type = shortKeyType(err.keyType);
    const bar = '@'.repeat(59);
    // ssh(1) says "you have requested strict checking" for every mode but `no`, under which it
    // goes on (passwords and forwarding off); pure-ssh refuses there too, and says so truly.
    const refusal = (what: string): string =>
      cfg.strictHostKeyChecking === 'no' ? `${what}; pure-ssh refuses it even with StrictHostKeyChecking=no.` : `${what} and you have requested strict checking.`;
    if (err.problem === 'changed') {
      return [
        bar,
        '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
        bar,
        'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
        'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
        'It is also possible that a host key has just been changed.',
        // sshconnect.c warn_changed_key: the fingerprint follows a newline inside ONE error()
        // call, so only the call's end gets log.c's "\r\n" (the line before it ends in "\n").
        oneLogCall(`The fingerprint for the ${type} key sent by the remote host is\n${err.fingerprint}.`),
        'Please contact your system administrator.',
        `Add correct host key in ${err.file ?? cfg.knownHostsFiles[0]} to get rid of this message.`,
        // sshconnect.c: the type of the known_hosts line's key, not of the server's.
        `Offending ${shortKeyType(err.entryKeyType ?? err.keyType)} key in ${err.file}:${err.line}`,
        `  remove with:`,
        `  ssh-keygen -f "${err.file}" -R "${err.host}"`,
        refusal(`Host key for ${err.host} has changed`),
        'Host key verification failed.',
      ].join('\n');
    }
    if (err.problem === 'revoked') {
      // sshconnect.c check_host_key, HOST_REVOKED: the key type and name are the key the server
      // showed (a certificate's is `ED25519-CERT`, when its CA or its key is @revoked). ssh(1)
      // goes on without passwords under StrictHostKeyChecking=no; pure-ssh refuses in every mode,
      // as it does a changed key.
      return [
        bar,
        '@       WARNING: REVOKED HOST KEY DETECTED!               @',
        bar,
        `The ${type} host key for ${err.host} is marked as revoked.`,
        'This could mean that a stolen key is being used to',
        'impersonate this host.',
        refusal(`${type} host key for ${err.host} was revoked`),
        'Host key verification failed.',
      ].join('\n');
    }
    // sshconnect.c check_host_key: this line only for StrictHostKeyChecking=yes; with BatchMode
    // and ask, confirm() answers no at once and ssh says only "Host key verification failed.".
    if (err.problem === 'unknown' && cfg.strictHostKeyChecking === 'yes' && cfg.userKnownHostsFiles.length > 0) {
      return `No ${type} host key is known for ${err.host} and you have requested strict checking.\nHost key verification failed.`;
    }
    if (err.problem === 'unknown' || err.problem === 'rejected') {
      // No terminal to ask, BatchMode, or the user said no: ssh(1) just says this, at -v too
      // (the verifier's own lines, a certificate's reason among them, were said already).
      return 'Host key verification failed.';
    }
    return err.message;
  }
  if (err instanceof errors.ConnectionLostError && err.discarding !== undefined && log.shows('INFO')) {
    // packet.c logged the failed CBC packet at once; its discard mode ended with the connection.
    const detected = err.discarding;
    err.discarding = undefined;
    try {
      const rest = await describeFatal(err, cfg, log, established);
      return rest === '' ? detected : `${detected}\n${rest}`;
    } finally {
      err.discarding = detected;
    }
  }
  // kex.c kex_exchange_identification: a banner line with a NUL or a bare CR, one over
  // SSH_MAX_BANNER_LEN, or no identification in SSH_MAX_PRE_BANNER_LINES lines is its error_f()
  // line, then SSH_ERR_INVALID_FORMAT under sshconnect.c's "banner exchange" tag (sshpkt_fatal's
  // logdie, INFO).
  if (err instanceof errors.ProtocolError) {
    // (kex.c's sscanf refusal too: "Bad remote protocol version identification: '…'", error().)
    const banner = /^kex_exchange_identification: (banner line contains invalid characters|No SSH version received in first \d+ lines from server)$|^Bad remote protocol version identification: '.*'$/s.exec(err.message)?.[0] ??
      (/^a line from the server is longer than \d+ bytes before its identification/.test(err.message) ? 'kex_exchange_identification: banner line too long' : undefined);
    if (banner !== undefined) {
      const peer = peerOrDestination(err, cfg);
      return log.shows('INFO') ? `${banner}\nbanner exchange: Connection to ${peer}: invalid format` : banner;
    }
  }
  // kex.c kex_exchange_identification: a server of another major version (1.99 counts as 2) is
  // error("Protocol major versions differ: 2 vs. N"), then sshpkt_fatal's logdie (INFO) under
  // sshconnect.c's "banner exchange" tag, with the error code's text as ssh 9.2 prints it.
  const major = err instanceof errors.ProtocolError ? /^Protocol major versions differ: server sent "SSH-\s*([+-]?\d+)\./.exec(err.message) : null;
  if (major && Number(major[1]) !== 2) {
    const differ = `Protocol major versions differ: 2 vs. ${Number(major[1])}`;
    const peer = peerOrDestination(err, cfg);
    return log.shows('INFO') ? `${differ}\nbanner exchange: Connection to ${peer}: could not read protocol version` : differ;
  }
  // sshconnect2.c input_userauth_error: fatal_f() for a message authentication has no handler for
  // (Handshake.refusal: key-exchange numbers between the first exchange and USERAUTH_SUCCESS).
  if (err instanceof errors.ProtocolError && /^bad message during authentication: type \d+$/.test(err.message)) {
    return `input_userauth_error: ${err.message}`;
  }
  if (err instanceof errors.ProtocolError) {
    const fatal = packetFatal(err);
    if (fatal !== undefined) {
      const peer = peerOrDestination(err, cfg);
      const last = 'disconnecting' in fatal ? `Disconnecting ${peer}: ${fatal.disconnecting}` : `ssh_dispatch_run_fatal: Connection to ${peer}: ${fatal.sshErr}`;
      return [fatal.error, log.shows('INFO') ? last : undefined].filter((l) => l !== undefined).join('\n');
    }
  }
  if (err instanceof errors.ConnectionLostError) {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    const unresolved = couldNotResolve(cfg.hostName, cause);
    if (unresolved) return unresolved;
    // Closed before authentication (ssh 9.2): kex.c's error before the server's identification
    // line, then packet.c sshpkt_fatal's logdie("Connection closed by %s") at INFO. The library
    // already words a close so (client.ts closedMessage); the CLI puts in its own remote id,
    // which is "UNKNOWN port 65535" through a ProxyCommand or -J, as for ssh.
    const peer = peerOf.get(err);
    if (!established && peer !== undefined) {
      // A ProxyCommand that exited after printing something (proxy-command.ts outputEnded) is, for
      // ssh 9.2, an EOF like any other before the session: kex.c kex_exchange_identification's
      // "Connection closed by remote host" before an identification line, then sshpkt_fatal's
      // SSH_ERR_CONN_CLOSED line (packet.c), which alone follows once the line was read.
      const proxyEnded = /^the proxy command .* during the session$/.test(err.message);
      const ended = proxyEnded || /^Connection closed by .* port \d+$/.test(err.message) || isClosedByRemoteHost(err.message);
      // (The library adds a ProxyCommand's exit to kex.c's line, which ssh does not report.)
      const early = err.message === KEX_IDENTIFICATION_CLOSED || err.message.startsWith(`${KEX_IDENTIFICATION_CLOSED}: the proxy command `) || (beforeBanner.has(err) && proxyEnded);
      const closed = `Connection closed by ${peer}`;
      if (early) return log.shows('INFO') ? `${KEX_IDENTIFICATION_CLOSED}\n${closed}` : KEX_IDENTIFICATION_CLOSED;
      if (ended) return log.shows('INFO') ? closed : '';
      // A read that failed once connected (the library's "Read from remote host"), before the
      // session (ssh 9.2): before the server's identification line kex.c kex_exchange_identification
      // says error("read: <strerror>") with its function's name; then packet.c sshpkt_fatal's
      // logdie (INFO) for the SSH_ERR_SYSTEM_ERROR: "Connection reset by ADDR port N" for
      // ECONNRESET (also after the identification line, during kex or authentication), otherwise
      // sshconnect.c's "banner exchange" tag and "Connection to ADDR port N" with the strerror.
      const failed = /^Read from remote host .*?: (.*)$/.exec(err.message);
      const code = cause?.code;
      if (failed && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
        const reset = code === 'ECONNRESET';
        if (beforeBanner.has(err)) {
          const read = `kex_exchange_identification: read: ${failed[1]}`;
          const fatal = reset ? `Connection reset by ${peer}` : `banner exchange: Connection to ${peer}: ${failed[1]}`;
          return log.shows('INFO') ? `${read}\n${fatal}` : read;
        }
        if (reset) return log.shows('INFO') ? `Connection reset by ${peer}` : '';
      }
    }
    // The library words every socket error as a connect error; once connected ssh(1) says this.
    const read = /^ssh: connect to host .* port \d+: (.*)$/.exec(err.message);
    if (established && read) return `Read from remote host ${cfg.hostName}: ${read[1]}`;
  }
  if (err instanceof errors.ChannelOpenError) return openFailedLine(err);
  return (err as Error)?.message ?? String(err);
}

/**
 * How ssh(1) 9.2 ends on a server's packet that pure-ssh's transport refused (a ProtocolError,
 * by its message): the error line some OpenSSH functions log first (ERROR), and either the
 * ssh_err() text of the code packet.c sshpkt_fatal() words as `ssh_dispatch_run_fatal:
 * Connection to ADDR port P: TEXT`, or packet.c ssh_packet_disconnect()'s `Disconnecting ADDR
 * port P: TEXT` (both logdie/logit, INFO). Undefined for an error ssh words otherwise.
 */
/**
 * ssh_err()'s text for the error ssh 9.2 meets where the library's host key signature check
 * (keys/hostkey.ts verifyHostKeySignature) failed with `message`; undefined for another failure.
 * - kexgen.c input_kex_gen_reply (and the other kex replies): sshkey_verify fails with
 *   SSH_ERR_SIGNATURE_INVALID for a signature that does not verify, and ssh-rsa.c ssh_rsa_verify
 *   for an RSA signature of another algorithm than the one agreed ("incorrect signature").
 * - sshkey_fromb of the host key blob: sshkey_check_rsa_length refuses a modulus under
 *   SSH_RSA_MINIMUM_MODULUS_SIZE (1024 bits) with SSH_ERR_KEY_LENGTH ("Invalid key length").
 */
function hostKeySignatureSshErr(message: string): string | undefined {
  if (/ does not verify for key /.test(message)) return 'incorrect signature';
  if (/ could not be checked: signature is (rsa-sha2-256|rsa-sha2-512|ssh-rsa), expected (rsa-sha2-256|rsa-sha2-512|ssh-rsa)$/.test(message)) return 'incorrect signature';
  const bits = / could not be checked: RSA modulus of (\d+) bits /.exec(message)?.[1];
  if (bits !== undefined && Number(bits) < 1024) return 'Invalid key length';
  return undefined;
}

function packetFatal(err: Error): { error?: string } & ({ sshErr: string } | { disconnecting: string }) | undefined {
  const m = err.message;
  // sshbuf's reads past the end: SSH_ERR_MESSAGE_INCOMPLETE. kex.c kex_input_kexinit first
  // discards the cookie, then the ten proposals, with error_fr naming which one was short.
  if (m.startsWith('truncated message: ')) {
    const part = /^truncated message: KEXINIT (cookie|\w+) needs /.exec(m)?.[1];
    const error = part === undefined ? undefined : `kex_input_kexinit: discard ${part === 'cookie' ? 'cookie' : 'proposal'}: incomplete message`;
    return { error, sshErr: 'incomplete message' };
  }
  // sshpkt_get_end: SSH_ERR_UNEXPECTED_TRAILING_DATA.
  if (/: \d+ unexpected trailing bytes$/.test(m)) return { sshErr: 'unexpected bytes remain after decoding' };
  // packet.c ssh_packet_read_poll2: padding under 4 bytes is SSH_ERR_CONN_CORRUPT (after its
  // DISCONNECT "Corrupted padlen N on input."); more than the packet holds fails sshbuf_consume_end
  // (or, leaving no message type, sshbuf_get_u8): SSH_ERR_MESSAGE_INCOMPLETE.
  const padding = /^bad padding length (\d+) in a \d+-byte packet$/.exec(m);
  if (padding) return { sshErr: Number(padding[1]) < 4 ? 'Connection corrupted' : 'incomplete message' };
  // packet.c: a message number under 1 or from 192 (SSH2_MSG_LOCAL_MIN) on is SSH_ERR_PROTOCOL_ERROR.
  if (/^Invalid ssh2 packet type: \d+$/.test(m)) return { sshErr: 'Protocol error' };
  // packet.c (the strict key exchange backport): a packet before the server's KEXINIT.
  if (m === "strict key exchange violation: the server's KEXINIT was not its first packet") {
    return { disconnecting: 'strict KEX violation: KEXINIT was not the first packet' };
  }
  // kex.c kex_protocol_error under strict key exchange: a packet the initial exchange has no
  // handler for (Handshake.refusal, Handshake.screen).
  const strict = /^strict key exchange violation: unexpected message (\d+) \(seq (\d+)\) during the initial key exchange$/.exec(m);
  if (strict) return { disconnecting: `strict KEX violation: unexpected packet type ${strict[1]} (seqnr ${strict[2]})` };
  return undefined;
}

/**
 * channels.c channel_input_open_failure's logit line for a refused open, with the server's text
 * raw, for the log to escape as log.c does (a ChannelOpenError's message has it escaped already,
 * for a library caller's terminal: escaping that again would show `\\033` for ssh's `\033`).
 * Any other error (forwardRemote's own wording) keeps its message. Also for a jump host's channel
 * to the next host ({@link describeFatal}).
 */
export function openFailedLine(err: SshError): string {
  const prefix = /^channel \d+: open failed: [^:]*: /.exec(err.message);
  const description = (err as { description?: unknown }).description;
  return prefix && typeof description === 'string' ? prefix[0] + description : err.message;
}

/**
 * The address and port each socket of openSocket's last tried: a connect the server resets at
 * once completes in libuv, yet getpeername may already fail by the time 'connect' is emitted
 * (remoteAddress undefined), and packet.c's remote id is the address connected to.
 */
const attempted = new WeakMap<Socket, { address: string; port: number }>();

/** A socket we open ourselves: AddressFamily (-4/-6) and ConnectTimeout for connect + banner, as ssh(1). */
function openSocket(cfg: ResolvedConfig, log: Log): Socket {
  const family = cfg.addressFamily === 'inet' ? 4 : cfg.addressFamily === 'inet6' ? 6 : 0;
  // Node ignores `family` for an address literal; ssh(1)'s getaddrinfo refuses the mismatch
  // (-6 with 127.0.0.1, -4 with ::1): fail the same way instead of connecting anyway.
  const literal = isIP(cfg.hostName);
  if (family !== 0 && literal !== 0 && literal !== family) {
    const sock = new Socket();
    sock.on('error', () => {}); // reported by the SSH client
    queueMicrotask(() => sock.destroy(Object.assign(new Error('Address family for hostname not supported'), { code: 'EAI_ADDRFAMILY' })));
    return sock;
  }
  // Reads into one reused buffer (socket-read.ts), which the SSH client takes over.
  const sock = connectLendingReads({ host: cfg.hostName, port: cfg.port, family, noDelay: true });
  sock.on('error', () => {}); // reported by the SSH client
  // sshconnect.c ssh_connect_direct: debug("Connecting to %.200s [%.100s] port %s.") for each
  // address tried, the host as given and the address getnameinfo's numeric form (an IPv6 one
  // bare, as Node names it); a name that does not resolve is tried at no address, said nowhere.
  sock.on('connectionAttempt', (ip: string, port: number) => {
    attempted.set(sock, { address: ip, port });
    log.debug1(`Connecting to ${cfg.hostName} [${ip}] port ${port}.`);
  });
  sayConnectFailures(sock, (m) => log.debug1(m));
  // sshconnect.c ssh_connect_direct: debug("Connection established.") once a connect succeeded.
  sock.once('connect', () => log.debug1('Connection established.'));
  if (cfg.connectTimeout > 0) {
    // ssh_config(5) ConnectTimeout: the TCP connect and the wait for the server's banner.
    const timer = setLongTimeout(() => {
      sock.destroy(Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' }));
    }, cfg.connectTimeout * 1000);
    // Only the TCP connect here: a 'data' listener would start the socket flowing and drop the
    // server's banner if it came before the SSH client listens; connect() times the handshake.
    sock.once('connect', () => timer.clear());
    sock.once('close', () => timer.clear());
  }
  return sock;
}

/**
 * What a route needs beyond the host's configuration: the environment the command line was
 * resolved with (jump hosts resolve their own configuration with it), and who wants to count the
 * bytes of the destination's transport (the CLI, for `Transferred:`): `onTransport` gets a counter
 * of every SSH byte sent and received, whatever the route (TCP, ProxyCommand, ProxyJump).
 */
export interface RouteContext {
  env: CliEnvironment;
  onTransport?: (count: () => { sent: number; received: number }) => void;
  /**
   * Called by each {@link connectHost} that loads the client's modules, once its connect is under
   * way and before they load: work only the login needs goes here, after the connect, while the
   * server forks for the connection (the CLI's V8 tuning, src/node/v8-tuning.ts).
   */
  connecting?: () => void;
  /** Each jump host once it carries the next connection (see {@link HopSession}). */
  onHopSession?: (session: HopSession) => void;
  /** The command's version line (`pure-ssh_0.1.0, Node.js v20.19.0`), which each hop says under -v. */
  versionLine?: () => string;
}

/**
 * A jump host in its session: what ssh(1) runs as an `ssh -W` ProxyCommand process that has
 * opened its stdio channel and entered clientloop.c client_loop, where SIGHUP is caught. When
 * ssh exits, for whatever reason, it sends its ProxyCommand SIGHUP (sshconnect.c
 * ssh_kill_proxy_command, from cleanup_exit and main's end); the hop's client_loop then says
 * "Killed by signal 1." (verbose(), so at its own LogLevel VERBOSE or with -v) and, exiting,
 * does the same to its own ProxyCommand: the hop next to the destination first. See
 * {@link logHopsKilled}.
 */
export interface HopSession {
  /** 1 for the hop next to the destination, 2 for the one before it, ... */
  depth: number;
  /** The hop's own LogLevel. */
  level: LogLevel;
  /** The host its channel goes to (its `ssh -W` argument). */
  next: { host: string; port: number };
  /**
   * The hop's connection ended on its own (its server or link went away, with an error) before
   * this process exits: its `ssh -W` would have exited already, with nothing to kill.
   */
  ended: boolean;
  /**
   * The hop's own ForkAfterAuthentication: its `ssh -W` forked once authenticated (ssh.c
   * fork_postauth: daemon(1, 1), then its stderr /dev/null unless -v), so ssh's SIGHUP at exit
   * goes to the parent that already exited, and the forked hop leaves at its standard input's end
   * (clientloop.c client_cleanup_stdio_fwd): `'stderr'` when it kept its stderr, `'silent'` when
   * not, false without the fork.
   */
  forked: false | 'silent' | 'stderr';
}

/**
 * Whether a jump host's `ssh -W` says nothing once forked (its ForkAfterAuthentication): ssh.c
 * fork_postauth's stdfd_devnull makes its stderr /dev/null unless -v was given with the log on
 * stderr (log_is_on_stderr() && debug_flag).
 */
function quietAfterFork(hop: ResolvedConfig): boolean {
  return hop.forkAfterAuthentication && !(hop.verbose > 0 && hop.logFile === undefined);
}

/**
 * At exit: each jump host still in its session says what its `ssh -W` process says when ssh
 * kills it ({@link HopSession}), after every line of this process, the nearest hop first.
 */
export function logHopsKilled(sessions: readonly HopSession[]): void {
  for (const s of [...sessions].sort((a, b) => a.depth - b.depth)) {
    if (s.ended) continue;
    const log = Log.forHop(s.level);
    // A forked hop: the SIGHUP missed it; its standard input's end closes its stdio channel
    // (clientloop.c client_cleanup_stdio_fwd), said with -v only (its stderr kept, see forked).
    if (s.forked) {
      if (s.forked === 'stderr') log.debug1('stdio forwarding: done');
      continue;
    }
    // clientloop.c client_loop, leaving at the signal: channels.c channel_free_all frees the stdio
    // channel (its name as channel_connect_stdio_fwd set it), then the signal's verbose().
    log.debug1(`channel 0: free: ${stdioForwardRemoteName(s.next)}, nchannels 1`);
    log.notice('Killed by signal 1.');
  }
}

/**
 * The -W channel's remote_name (channels.c channel_connect_stdio_fwd → port_open_helper: listening
 * port 0, the target, and a peer its standard input does not have), for its `free` line.
 */
export function stdioForwardRemoteName(to: { host: string; port: number } | { path: string }): string {
  const [rtype, target, port] = 'path' in to ? ['direct-streamlocal@openssh.com', to.path, -2] : ['direct-tcpip', to.host, to.port];
  return `${rtype}: listening port 0 for ${target} port ${port}, connect from 127.0.0.1 port 65535 to UNKNOWN port 65536`;
}

/**
 * Byte counters on a transport that is not a socket (a ProxyCommand's stdio, a jump host's
 * direct-tcpip channel): what the SSH client writes, and what the stream pushes to it.
 */
function countStream(sock: Duplex): () => { sent: number; received: number } {
  let sent = 0;
  let received = 0;
  const write = sock.write.bind(sock) as (chunk: unknown, ...rest: unknown[]) => boolean;
  sock.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk instanceof Uint8Array) sent += chunk.length;
    return write(chunk, ...rest);
  }) as typeof sock.write;
  const push = sock.push.bind(sock);
  sock.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk instanceof Uint8Array) received += chunk.length;
    return push(chunk, encoding);
  };
  return () => ({ sent, received });
}

export type Libraries = Awaited<ReturnType<typeof loadLibraries>>;

export function loadLibraries() {
  return Promise.all([import('./client.js'), import('./known-hosts-file.js'), import('../algorithms.js'), import('./prompt.js')]);
}

/** The configuration each failed connection belongs to (a jump host's, or the destination's). */
const failedAt = new WeakMap<object, ResolvedConfig>();

export function configOf(err: unknown, fallback: ResolvedConfig): ResolvedConfig {
  return (err && typeof err === 'object' ? failedAt.get(err) : undefined) ?? fallback;
}

/** packet.c's remote id of the connection an error ended: "ADDRESS port N", or "UNKNOWN port 65535" without a socket. */
const peerOf = new WeakMap<object, string>();

/** {@link peerOf} for `err`, else the destination as packet.c would name it ("HOST port N"). */
function peerOrDestination(err: unknown, cfg: ResolvedConfig): string {
  return (err && typeof err === 'object' ? peerOf.get(err) : undefined) ?? `${cfg.hostName} port ${cfg.port}`;
}
/** Connection errors that came before the server's identification line. */
const beforeBanner = new WeakSet<object>();

/** How many connections were to be carried over the failed one (0: the destination's own). */
const failedDepth = new WeakMap<object, number>();
/** A jump host's configuration refused (its failedAt is the host above it): the hop's log level. */
const refusedHopLevel = new WeakMap<object, LogLevel>();
/** Failures of a jump host's channel to the next host (ssh -W's "stdio forwarding failed"). */
const stdioFailed = new WeakSet<object>();
/**
 * The configuration of each connection a failure passed through on its way up, by depth (0: the
 * destination's): ssh(1) runs one process per host, each logging at its own host's LogLevel.
 */
const routeLevels = new WeakMap<object, ResolvedConfig[]>();

/** Note that `err` went up through the connection to `cfg` at `depth` (see routeLevels). */
function passedThrough(err: unknown, cfg: ResolvedConfig, depth: number): void {
  if (!err || typeof err !== 'object') return;
  let levels = routeLevels.get(err);
  if (!levels) routeLevels.set(err, (levels = []));
  levels[depth] ??= cfg;
}

function tagged(err: unknown, cfg: ResolvedConfig, depth: number): unknown {
  if (err && typeof err === 'object' && !failedAt.has(err)) {
    failedAt.set(err, cfg);
    failedDepth.set(err, depth);
  }
  return err;
}

/**
 * The log of the ssh(1) process that reports `err` itself: for a jump host's failure its `ssh -W`
 * process, which ssh.c starts with only -F and the -v flags (no -q, -E or -o LogLevel), so the
 * hop's own LogLevel on stderr; otherwise `log`.
 */
export function failureLog(err: unknown, log: Log): Log {
  if (!err || typeof err !== 'object' || (failedDepth.get(err) ?? 0) === 0) return log;
  const level = refusedHopLevel.get(err) ?? failedAt.get(err)?.logLevel;
  return level ? Log.forHop(level) : log;
}

/**
 * What ssh(1) prints after a jump host's own error, each line at its process's level: -J is a
 * ProxyCommand `ssh -W` per hop, so the hop whose channel to the next host failed says "stdio
 * forwarding failed" (ssh.c, error), then each ssh process above it sees its proxy close before
 * any banner: kex.c's "kex_exchange_identification: Connection closed by remote host" (error) and
 * packet.c's "Connection closed by UNKNOWN port 65535" (sshpkt_fatal's logdie, INFO; no socket:
 * no address). The command itself logs at `log`'s level (-q, LogLevel); a hop in between at its
 * own host's LogLevel, as its `ssh -W` process reads it from the configuration (ssh 9.2 passes
 * neither -q nor LogLevel down the chain, only -F and -v).
 * Returns whether `err` was a jump host's (false: nothing printed).
 */
export function logJumpFailure(err: unknown, log: Log): boolean {
  if (!err || typeof err !== 'object') return false;
  const depth = failedDepth.get(err) ?? 0;
  const hopLog = failureLog(err, log);
  const levels = routeLevels.get(err) ?? [];
  if (stdioFailed.has(err)) hopLog.error('stdio forwarding failed');
  for (let i = depth; i > 0; i--) {
    // The process of the host at depth i - 1, which connected through the one that failed.
    const own = levels[i - 1];
    const above = i === 1 ? log : own ? Log.forHop(own.logLevel) : hopLog;
    above.error(KEX_IDENTIFICATION_CLOSED);
    above.info('Connection closed by UNKNOWN port 65535');
  }
  return depth > 0 || stdioFailed.has(err);
}

/**
 * The transport to `cfg`'s host: a TCP socket, a ProxyCommand's stdio, or a direct-tcpip channel
 * of the connection to the last jump host (ssh.c's implicit `ssh -W` ProxyCommand, made
 * in-process). The jump host resolves its own configuration, as `ssh -J` does.
 */
export async function openRoute(
  cfg: ResolvedConfig,
  log: Log,
  libs: Libraries | undefined,
  route: RouteContext,
  depth: number,
): Promise<{ sock: Duplex; via?: SshClient; viaLog?: Log; started?: number }> {
  // An empty destination (`''`, `user@`) with no HostName: ssh.c keeps the name "". Through a
  // ProxyCommand ssh 9.2 then records the server's key under that empty name (a known_hosts line
  // starting with a blank): refused here instead. Through -J, the hop's channel to "" fails as
  // ssh's does; directly, see below.
  if (cfg.hostName === '' && cfg.proxy?.kind === 'command') {
    throw new ConfigError('pure-ssh: no host name to check the server\'s host key under (the destination is empty); set HostName or give a destination');
  }
  if (cfg.proxy?.kind === 'command') {
    const { proxyCommandStream } = await import('./proxy-command.js');
    // sshconnect.c ssh_proxy_connect: expand_proxy_command's %h, %k, %n, %p and %r only now;
    // an unknown token is percent_expand's two lines, exit 255.
    const command = proxyCommandToRun(cfg)!;
    const sock = proxyCommandStream(command, { debug: (m) => log.debug1(m), stderr: proxyCommandStderr });
    sock.on('error', () => {}); // reported by the SSH client
    // The command exited during the session: ssh(1)'s DISCONNECT meets its closed pipe (sendDisconnectFails).
    sock.prependListener('error', (err: unknown) => {
      if (sock.exitedInSession && err && typeof err === 'object') proxyEndedWith.set(cfg, err);
    });
    if (depth === 0) route.onTransport?.(countStream(sock));
    return { sock };
  }
  if (cfg.proxy?.kind === 'jump') {
    // readconf.c READCONF_MAX_DEPTH-like guard against a ProxyJump loop in the configuration.
    if (depth >= 16) throw new ConfigError('pure-ssh: too many jump hosts (a ProxyJump loop in the configuration?)');
    // The hop's configuration is the hop's ssh process's to refuse (its error, then this level's lines).
    // sshconnect.c expand_proxy_command: the implicit ProxyCommand's %-tokens, in this process.
    const expanded = expandJumpHops(cfg.proxy.hops, cfg);
    const argv = jumpHostArgv(expanded.hops, { configFile: expanded.configFile, verbose: cfg.verbose }, cfg);
    const outcome = await resolveCommandLineAsync(argv, route.env).catch((err: unknown) => {
      // Said by the hop's process, whose configuration is what failed: INFO, or its -v level.
      if (err && typeof err === 'object') refusedHopLevel.set(err, cfg.verbose > 0 ? LOG_LEVELS[Math.min(LOG_LEVELS.indexOf('DEBUG1') + cfg.verbose - 1, LOG_LEVELS.length - 1)]! : 'INFO');
      passedThrough(err, cfg, depth);
      throw tagged(err, cfg, depth + 1);
    });
    if (outcome.kind !== 'run') throw tagged(new ConfigError(`Invalid ProxyJump: ${cfg.proxy.hops.map((h) => h.host).join(',')}`), cfg, depth + 1);
    const hop = outcome.config;
    // ssh(1) runs the hop as its own `ssh -W` process, given only -F and the -v flags: the hop's
    // lines (its configuration, host key, authentication) come at the hop's own LogLevel, not
    // this host's (ssh.c, the ProxyCommand made from ProxyJump).
    const hopLog = Log.forHop(hop.logLevel);
    // ssh.c's "Executing proxy command" comes before anything its hop process says; the hop then
    // starts as ssh does, with its version line under -v (pure-ssh's own, as for this command).
    log.debug1(`Connecting to jump host ${hop.hostName} port ${hop.port}.`);
    const start = hopLog.withLevel(hop.startLogLevel);
    if (route.versionLine && start.verbose) start.debug1(route.versionLine());
    logConfigNotes(hopLog, hop);
    const via = await connectHost(hop, hopLog, libs, route, depth + 1).catch((err: unknown) => {
      passedThrough(err, cfg, depth);
      throw err;
    });
    try {
      // ssh.c ssh_init_stdio_forwarding (the hop's -W), as `pure-ssh -W` says it.
      hopLog.debug1(`channel_connect_stdio_fwd: ${cfg.hostName}:${cfg.port}`);
      hopLog.stdioChannel = true;
      const opening = via.openDirectTcpip({ host: cfg.hostName, port: cfg.port, originatorAddress: '127.0.0.1', originatorPort: 65535 });
      // ssh.c ssh_session2: a hop with its own ForkAfterAuthentication forks once the channel's
      // open is sent, not confirmed (fork_postauth's debug line).
      // The hop's `ssh -W` then asks for no more sessions, before it forks (ssh.c ssh_session2).
      requestNoMoreSessions(via, hopLog);
      if (hop.forkAfterAuthentication) hopLog.debug1('forking to background');
      // Its client_loop's first line (clientloop.c).
      hopLog.debug1('Entering interactive session.');
      const sock = await opening;
      // ssh -W: the channel's EOF (the next host's server went away) closes the hop's stdout,
      // which ssh reads as its connection closed; here the stream ends and the client must see
      // its transport close, or it would wait on a channel no one closes.
      sock.once('end', () => sock.destroy());
      // The hop's own connection lost (its socket reset, a bad packet): ssh(1)'s hop process
      // says that itself and exits, and this host's ssh reads its proxy's EOF, then fails to
      // write its DISCONNECT into the pipe (sendDisconnectFails). The error the channel is torn
      // down with is the hop's own: noted here, for this host's words.
      sock.prependListener('error', (err: unknown) => {
        if (err && typeof err === 'object') proxyEndedWith.set(cfg, err);
      });
      if (route.onHopSession) {
        const session: HopSession = { depth: depth + 1, level: hop.logLevel, next: { host: cfg.hostName, port: cfg.port }, ended: false,
          forked: hop.forkAfterAuthentication && (quietAfterFork(hop) ? 'silent' : 'stderr') };
        const started = performance.now();
        const count = transportCount.get(via);
        via.once('close', (err: unknown) => {
          // Closed by us (this connection went, or we exit): still "running" for ssh's SIGHUP.
          if (!err) return;
          session.ended = true;
          // The hop's connection ended first: its `ssh -W` says so, as `ssh` does at a lost
          // connection (clientloop.c: the error, then the VERBOSE byte totals), and exits. Unless
          // this connection went first and its hop is only being closed behind it (silenced);
          // or the hop forked with its stderr /dev/null (ssh.c fork_postauth without -v).
          if (hopLog.silenced || quietAfterFork(hop)) return;
          const said = Log.forHop(hop.logLevel);
          const ended = (performance.now() - started) / 1000;
          // In ssh the nearer hop's process says its words and exits before the next one reads
          // its proxy's EOF: this report waits for those already being worded.
          const before = Promise.all(hopReports);
          const report = before.then(async () => {
            if (sendDisconnectFails(err, hop)) return said.fatal(SEND_DISCONNECT_FAILED);
            const text = await describeFatal(err, hop, said, true);
            // clientloop.c quit_message: written to the hop's stderr itself, whatever its LogLevel.
            if (isClosedByRemoteHost(text)) said.write(`${text}\r\n`);
            else said.error(text);
            if (count) reportTransferTotals(said, count(), ended);
          });
          hopReports.add(report);
          void report.finally(() => hopReports.delete(report));
        });
        route.onHopSession(session);
      }
      if (depth === 0) route.onTransport?.(countStream(sock));
      return { sock, via, viaLog: hopLog };
    } catch (err) {
      await via.close().catch(() => {});
      if (err && typeof err === 'object') stdioFailed.add(err);
      passedThrough(err, cfg, depth);
      throw tagged(err, hop, depth + 1);
    }
  }
  // ssh.c resolve_host: getaddrinfo(3) finds no address for "" (EAI_NONAME), where Node's
  // connect would take it for localhost.
  if (cfg.hostName === '') throw new ConfigError(couldNotResolve('', { code: 'ENOTFOUND' })!);
  // ssh_config(5) ConnectionAttempts: sshconnect.c ssh_connect_direct's tries, one second apart.
  const { sock, started } = await connectAttempts({ attempts: cfg.connectionAttempts, open: () => openSocket(cfg, log), debug: (m) => log.debug1(m) });
  if (depth === 0) route.onTransport?.(() => ({ sent: sock.bytesWritten, received: sock.bytesRead }));
  return { sock, started };
}

/**
 * What answers the server's password and keyboard-interactive prompts, as ssh(1)'s sshconnect2.c
 * asks them (undefined with BatchMode or both methods off): NumberOfPasswordPrompts per method,
 * "Permission denied, please try again." before a password asked again, a keyboard-interactive
 * prompt shown as `(user@host) PROMPT`, escaped, read with echo when the server says so. `read`
 * is read_passphrase (prompt.ts readPassphrase: askpass or the terminal, "" when neither answers).
 * The CLI's and pure-ssh-check's.
 */
export function passwordAsker(
  cfg: ResolvedConfig,
  log: Log,
  read: (text: string, echo: boolean) => Promise<string>,
): ((question: string, context: { retry: boolean; method: 'password' | 'keyboard-interactive'; echo?: boolean; index?: number }) => Promise<string | null>) | undefined {
  if (cfg.batchMode || !(cfg.passwordAuthentication || cfg.kbdInteractiveAuthentication)) return undefined;
  // Counted per method, as sshconnect2.c counts attempt_passwd and attempt_kbdint apart.
  const prompts = { password: 0, 'keyboard-interactive': 0 };
  return async (
    question: string,
    context: { retry: boolean; method: 'password' | 'keyboard-interactive'; echo?: boolean; index?: number },
  ): Promise<string | null> => {
    // ssh_config(5) NumberOfPasswordPrompts. A keyboard-interactive INFO_REQUEST counts once,
    // at its first prompt: sshconnect2.c input_userauth_info_req reads every prompt of it
    // uncounted (attempt_kbdint counts the method's USERAUTH_REQUESTs, the core's kbdAttempts).
    if (!context.index && ++prompts[context.method] > cfg.numberOfPasswordPrompts) return null;
    // OpenSSH sshconnect2.c userauth_passwd: said before each prompt after a refusal
    // (input_userauth_info_req says nothing before a keyboard-interactive one).
    if (context.retry && context.method === 'password') log.error('Permission denied, please try again.');
    // A keyboard-interactive prompt is the server's text, shown by sshconnect2.c
    // input_userauth_info_req as "(%s@%s) %s": the server user, HostKeyAlias or the host
    // name, the prompt; escaped as its asmprintf escapes it (utf8.c) before read_passphrase
    // shows it or hands it to SSH_ASKPASS (a password prompt of ours is unchanged by it).
    const text = context.method === 'keyboard-interactive' ? `(${cfg.user}@${cfg.hostKeyAlias ?? cfg.hostName}) ${question}` : question;
    const shown = terminalText(text, utf8Locale(process.env));
    // An answer not had (no terminal, Ctrl-D, a failed askpass) is "", sent as ssh sends it;
    // refused, it is asked again (sshconnect2.c userauth_passwd, input_userauth_info_req).
    // A keyboard-interactive prompt with its echo flag set is read with echo on
    // (input_userauth_info_req: read_passphrase(display_prompt, echo ? RP_ECHO : 0)).
    return read(shown, context.echo === true);
  };
}

/**
 * ssh.c ssh_session2: once its forwards (or a -W channel) are requested, ssh(1) sends
 * no-more-sessions@openssh.com (OpenSSH PROTOCOL §2.2; no reply asked) to a server compat.c
 * marks SSH_NEW_OPENSSH, unless ControlMaster is on (never here: pure-ssh does not multiplex), and
 * says so at -v. pure-ssh opens no sessions at all; the server then refuses any on `ssh`.
 */
export function requestNoMoreSessions(ssh: SshClient, log: Log): void {
  if (!sendsNoMoreSessions(ssh.info.serverVersion)) return;
  log.debug1('Requesting no-more-sessions@openssh.com');
  ssh.noMoreSessions();
}

/**
 * The error a jump host's channel (the stream a host's connection runs over) was torn down with,
 * by the host it feeds: that host's ssh(1) saw its ProxyCommand's EOF, whatever the hop said;
 * and a ProxyCommand's that exited during the session (proxy-command.ts exitedInSession).
 */
const proxyEndedWith = new WeakMap<ResolvedConfig, object>();

/** Jump hosts' last words being worded (describeFatal is async): said before the command's. */
const hopReports = new Set<Promise<void>>();

/**
 * Resolves once the jump hosts that lost their own connection have said so: ssh(1)'s hop process
 * prints and exits before the command behind it reads its proxy's EOF, so the command's last line
 * waits for this (a turn of the event loop for the hops' 'close' events, then their reports).
 */
export async function hopReportsSettled(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all(hopReports);
}

/** Each jump host's transport byte counter, for its `Transferred:` line when it ends on its own. */
const transportCount = new WeakMap<SshClient, () => { sent: number; received: number }>();

/**
 * clientloop.c at the end of a session: `Transferred: sent N, received M bytes, in S seconds` and
 * the rates (VERBOSE), counted on the connection's transport (every SSH byte, as ssh's packet
 * counters).
 */
export function reportTransferTotals(log: Log, { sent, received }: { sent: number; received: number }, seconds: number): void {
  log.notice(`Transferred: sent ${sent}, received ${received} bytes, in ${seconds.toFixed(1)} seconds`);
  if (seconds > 0) log.notice(`Bytes per second: sent ${(sent / seconds).toFixed(1)}, received ${(received / seconds).toFixed(1)}`);
}

/**
 * OpenSSH packet.c ssh_packet_close, when compression ran (debug1): each direction's zlib stream
 * in force at the end, "compress outgoing: raw data N, compressed M, factor F" (F = M/N with two
 * decimals, 0.00 for no data), then incoming. ssh closes its packet layer this way on an orderly
 * exit only (a fatal error exits without it).
 */
export function reportCompressionTotals(log: Log, totals: CompressionTotals): void {
  const line = (what: string, c: { raw: number; compressed: number }) =>
    `compress ${what}: raw data ${c.raw}, compressed ${c.compressed}, factor ${c.raw === 0 ? '0.00' : (c.compressed / c.raw).toFixed(2)}`;
  if (totals.outgoing) log.debug1(line('outgoing', totals.outgoing));
  if (totals.incoming) log.debug1(line('incoming', totals.incoming));
}

/**
 * A -J route within ConnectTimeout: ssh(1) runs the hop as its ProxyCommand and starts the banner
 * wait at once, so the jump host's whole connection counts against the destination's
 * ConnectTimeout; past it, ssh says kex.c's and sshpkt_fatal's lines with no peer address. The
 * hop's connection, if it comes later, is closed. Other routes: timed by the socket and connect().
 */
async function routeWithin(routed: ReturnType<typeof openRoute>, cfg: ResolvedConfig, started: number, depth: number): ReturnType<typeof openRoute> {
  if (cfg.proxy?.kind !== 'jump' || !(cfg.connectTimeout > 0)) return routed;
  const left = cfg.connectTimeout * 1000 - (performance.now() - started);
  let timer: { clear(): void } | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setLongTimeout(() => resolve('expired'), Math.max(0, left));
  });
  try {
    const first = await Promise.race([routed, expired]);
    if (first !== 'expired') return first;
  } finally {
    timer?.clear();
  }
  routed.then(({ sock, via }) => {
    sock.destroy();
    void via?.close().catch(() => {});
  }, () => {});
  const { TimeoutError } = await import('../errors.js');
  throw tagged(new TimeoutError('Connection timed out during banner exchange\nConnection to UNKNOWN port 65535 timed out', 'ERR_BANNER_TIMEOUT'), cfg, depth);
}

/** Whether a socket still connecting (TCP) gets connected; true at once for other streams. */
function connected(sock: Duplex): Promise<boolean> {
  // openSocket's stand-in for an address literal of the wrong family: failed on the next microtask.
  const refused = sock instanceof Socket && !sock.connecting && sock.remoteAddress === undefined;
  if (!refused && !(sock as { connecting?: boolean }).connecting) return Promise.resolve(!sock.destroyed);
  if (sock.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    sock.once('connect', () => resolve(true));
    sock.once('close', () => resolve(false));
  });
}

/**
 * Connect to `cfg`'s host over its route and authenticate; errors are tagged with the hop's config.
 * Without `libs` (the client's modules, {@link loadLibraries}), they are loaded once the route is
 * under way: the server's side of a new connection (sshd forks and execs itself, reads its keys)
 * then overlaps our loading of the client, instead of following it.
 */
export async function connectHost(cfg: ResolvedConfig, log: Log, libs: Libraries | undefined, route: RouteContext, depth = 0): Promise<SshClient> {
  // ssh.c: one ConnectTimeout budget for the TCP connect (or from the ProxyCommand's start, which
  // for -J includes the jump host's connection) and then the banner exchange (kex.c
  // kex_exchange_identification gets what is left); the key exchange and authentication are not timed.
  const routeStarted = performance.now();
  const routed = openRoute(cfg, log, libs, route, depth);
  // Rejections are handled where `routed` is awaited, below; this only stops Node from calling
  // one unhandled while the modules load.
  routed.catch(() => {});
  // net.connect makes its connect(2) for an address literal on the next tick; loading first would
  // put the modules' evaluation (synchronous) before it.
  let loaded: Libraries | undefined = libs;
  if (!loaded) {
    await new Promise<void>((resolve) => process.nextTick(resolve));
    route.connecting?.();
    loaded = await loadLibraries();
  }
  const [{ connect, cryptoProviderFor, fatalEndings }, { knownHostsVerifier }, { supportedAlgorithms }, prompt] = loaded;
  // HostKeyAlgorithms that kex.c kex_assemble_names refuses (a negated name, a list matching
  // nothing): readconf.c takes the line and sshconnect2.c ssh_kex2 fails assembling it, after the
  // banner exchange (a jump host's too: its own ssh -W process). The version exchange runs as
  // usual (without that list) and ends there with ssh's line.
  const hostKeyUnassembled = cfg.algorithms.hostKey !== undefined && assembledListFails(cfg.algorithms.hostKey, 'hostKeyAlgorithms');
  const offered = offerableAlgorithms(hostKeyUnassembled ? { ...cfg, algorithms: { ...cfg.algorithms, hostKey: undefined } } : cfg, supportedAlgorithms());
  if (depth > 0) for (const n of offered.notes) log.debug1(n);
  // `started`: the TCP try that is the connection (ConnectionAttempts), whose start ConnectTimeout counts from.
  const { sock, via, viaLog, started = routeStarted } = await routeWithin(routed, cfg, routeStarted, depth);
  // A jump host's `Transferred:` (see openRoute): every byte of its transport.
  const count = depth === 0 ? undefined : sock instanceof Socket ? () => ({ sent: sock.bytesWritten, received: sock.bytesRead }) : countStream(sock);
  // packet.c ssh_remote_ipaddr/ssh_remote_port in ssh's fatal messages: "UNKNOWN port 65535" when
  // the transport is not a socket (ProxyCommand, and ssh -J's ssh -W).
  let remoteId = 'UNKNOWN port 65535';
  const tcp = sock instanceof Socket ? sock : undefined;
  // Whether the TCP connect completed: kept here, since connect() destroys the socket when it
  // fails (and `connecting` is then false whether or not it ever connected).
  let tcpConnected = false;
  if (tcp) {
    const note = (): void => {
      tcpConnected = true;
      const peer = tcp.remoteAddress ? { address: tcp.remoteAddress, port: tcp.remotePort } : attempted.get(tcp);
      if (peer) remoteId = `${peer.address} port ${peer.port}`;
    };
    if (tcp.connecting) tcp.once('connect', note);
    else note();
  }
  // ssh.c load_public_identity_files and tilde_expand_paths, once ssh_connect has succeeded: a
  // TCP connect that fails reads no key and says no `identity file` line; the client reports the
  // failure, below. Then `~user` naming no user.
  const up = await connected(sock);
  if (cfg.connectedError && up) {
    sock.destroy();
    throw cfg.connectedError;
  }
  // Every prompt through readpass.c read_passphrase's decision (prompt.ts readPassphrase): askpass
  // or the controlling terminal, its -v lines, and "" for an answer it could not get.
  const readPassphrase = (question: string, echo = false): Promise<string> =>
    prompt.readPassphrase(question, { echo, env: process.env, debug: (m) => log.debug1(m), error: (m) => log.error(m) });
  // ssh(1) load_identity_file: "Enter passphrase for key '%s': ", NumberOfPasswordPrompts times;
  // with BatchMode it never asks.
  const askPassphrase = async (path: string): Promise<string | null> => {
    if (cfg.batchMode) {
      log.debug1(`Key ${path} is encrypted and BatchMode is set: not asking for its passphrase, key skipped`);
      return null;
    }
    // An empty answer skips the key (sshconnect2.c load_identity_file: "no passphrase given").
    return readPassphrase(`Enter passphrase for key '${path}': `);
  };
  // (Not connected, the connection failed: the client reports that; no key is read.)
  const identityFiles = cfg.connectedError || !up ? [] : await loadIdentities(cfg, log, {
    askPassphrase,
    attempts: cfg.numberOfPasswordPrompts,
    debug: (m, level) => log.debug(level ?? 1, m),
    crypto: providerOrUndefined(cryptoProviderFor),
  });

  // sshconnect.c confirm(): read_passphrase(msg, RP_ECHO).
  const verifyHostKey = hostKeyVerifier(cfg, log, knownHostsVerifier, (q) => readPassphrase(q, true));

  const askPassword = passwordAsker(cfg, log, readPassphrase);

  let method = 'none';
  let bannerSeen = false;
  let assemblyFailed = false;
  // ssh(1) leaves through fatal(), sending no SSH_MSG_DISCONNECT, when it refuses the host key
  // (sshconnect2.c verify_host_key_callback: "Host key verification failed.") and when
  // authentication fails (ssh_userauth2: "Permission denied (...)."); and sends only its
  // identification line for a HostKeyAlgorithms list it cannot assemble (ssh_kex2 fails before
  // its KEXINIT, after the banner exchange), so that sshd logs "Connection closed by".
  fatalEndings.set(sock, {
    disconnectOnRefusal: false,
    failAfterVersion: hostKeyUnassembled ? HOST_KEY_ASSEMBLY_FAILED : undefined,
  });
  try {
    const client = await connect({
      host: cfg.hostName,
      port: cfg.port,
      username: cfg.user,
      identityFiles,
      agent: cfg.pubkeyAuthentication ? cfg.identityAgent : undefined,
      identitiesOnly: cfg.identitiesOnly,
      askPassphrase,
      warn: (m) => log.error(m),
      verifyHostKey,
      // Also orders the host key algorithms by the types already known (ssh's order_hostkeyalgs).
      knownHosts: cfg.knownHostsFiles,
      hostKeyAlias: cfg.hostKeyAlias,
      // RequiredRSASize: host key and identities (sshconnect2.c verify_host_key_callback, pubkey_prepare).
      requiredRsaSize: cfg.requiredRsaSize,
      // FingerprintHash: the -v lines' fingerprints (sshconnect.c verify_host_key, sshconnect2.c format_identity).
      fingerprintHash: cfg.fingerprintHash,
      askPassword,
      passwordAttempts: cfg.numberOfPasswordPrompts,
      passwordAuthentication: cfg.passwordAuthentication,
      kbdInteractiveAuthentication: cfg.kbdInteractiveAuthentication,
      // sshconnect2.c sign_and_send_pubkey: host-bound requests unless PubkeyAuthentication unbound.
      pubkeyHostbound: cfg.pubkeyAuthentication !== 'unbound',
      preferredAuthentications: cfg.options.preferredAuthentications,
      // What OpenSSH knows and pure-ssh cannot offer is left out (said at -v: cli.ts for the
      // destination, below for a jump host).
      pubkeyAcceptedAlgorithms: offered.pubkeyAcceptedAlgorithms,
      algorithms: offered.algorithms,
      compression: cfg.compression,
      bannerTimeout: cfg.connectTimeout > 0 ? Math.max(1, cfg.connectTimeout * 1000 - (performance.now() - started)) : 0,
      keepaliveInterval: cfg.serverAliveInterval * 1000,
      keepaliveCountMax: cfg.serverAliveCountMax,
      rekeyBytes: cfg.rekeyLimit,
      rekeyTime: cfg.rekeyLimitSeconds === undefined ? undefined : cfg.rekeyLimitSeconds * 1000,
      sock,
      debug: (m, level) => {
        if (assemblyFailed) return;
        if (level) return log.debug(level, m);
        // transport/version.ts: the server's identification line arrived.
        if (m.startsWith('Remote protocol version ')) {
          bannerSeen = true;
          // kex.c kex_exchange_identification: ours was sent first, "Local version string %.100s";
          // then sshconnect.c ssh_login: "Authenticating to %s:%d as '%s'", before the key
          // exchange (and before its HostKeyAlgorithms assembly fails).
          log.debug1(`Local version string ${DEFAULT_CLIENT_VERSION}`);
          log.debug1(m);
          log.debug1(`Authenticating to ${cfg.hostName}:${cfg.port} as '${cfg.user}'`);
          if (hostKeyUnassembled) {
            // The client ends here (failAfterVersion, above): no KEXINIT was sent.
            assemblyFailed = true;
          }
          return;
        }
        // sshconnect2.c: the method that succeeded is in ssh's verbose line below.
        const auth = /^Authenticated using "(.*)"\.$/.exec(m);
        if (auth) method = auth[1]!;
        // sshconnect2.c input_userauth_failure: verbose("Authenticated using \"%s\" with partial success.").
        else if (/^Authenticated using ".*" with partial success\.$/.test(m)) log.notice(m);
        // kex.c kex_protocol_error: error_f("type %u seq %u"); dispatch.c dispatch_protocol_error:
        // logit("type %d seq %u") (transport.ts route, Handshake.refusal).
        else if (/^kex_protocol_error: type \d+ seq \d+$/.test(m)) log.error(m);
        else if (/^dispatch_protocol_error: type \d+ seq \d+$/.test(m)) log.info(m);
        // The -W channel (a hop's too: its `ssh -W`) as ssh.c ssh_init_stdio_forwarding names it.
        else if (log.stdioChannel && /^channel 0: /.test(m)) {
          const line = stdioChannelLine(m);
          if (line) log.debug1(line);
        }
        // packet.c: a server's SSH_MSG_DEBUG is "Remote: %.900s", one log call whatever its newlines.
        else log.debug1(m.startsWith('server debug: ') ? `Remote: ${oneLogCall(cutBytes(m.slice('server debug: '.length), 900))}` : m);
      },
      // sshconnect2.c input_userauth_info_req: logit() of the name, then of the instruction, each
      // when not empty (one log call each, its newlines kept).
      onKeyboardInteractiveInfo: ({ name, instruction }) => {
        if (name) log.info(oneLogCall(name));
        if (instruction) log.info(oneLogCall(instruction));
      },
      onBanner: (m) => {
        // sshconnect2.c input_userauth_banner: fmprintf, escaped for the terminal as utf8.c does.
        if (LOG_LEVELS.indexOf(cfg.logLevel) >= LOG_LEVELS.indexOf('INFO')) log.write(terminalText(m, utf8Locale(process.env)));
      },
      // OpenSSH 10.1 ssh_login: no warning when KexAlgorithms was set explicitly; logged at INFO.
      onWarning: (w) => {
        if (w.code === 'weak-kex' && cfg.warnWeakCrypto && !cfg.algorithms.kex) for (const l of w.message.split('\n')) log.info(l);
      },
    });
    // sshconnect2.c ssh_userauth2: verbose(), with the peer's address on a socket, else "(via proxy)".
    const peer = sock instanceof Socket && sock.remoteAddress ? `[${sock.remoteAddress}]:${sock.remotePort}` : undefined;
    log.notice(`Authenticated to ${cfg.hostName} (${peer ?? 'via proxy'}) using "${method}".`);
    if (count) transportCount.set(client, count);
    // The jump host's connection carries this one: it goes when this one does, without a word
    // (ssh's hop process is still running until ssh's exit sends it SIGHUP: logHopsKilled).
    if (via) {
      client.once('close', () => {
        viaLog?.silence();
        void via.close().catch(() => {});
      });
    }
    // Registered before the caller's 'close' listener: its describeFatal finds the peer.
    client.once('close', (e: unknown) => {
      if (e && typeof e === 'object') peerOf.set(e, remoteId);
    });
    return client;
  } catch (err) {
    if (assemblyFailed) {
      if (via) await via.close().catch(() => {});
      throw tagged(new Error(HOST_KEY_ASSEMBLY_FAILED), cfg, depth);
    }
    const code = (err as Partial<SshError> | undefined)?.code;
    if (code === 'ERR_BANNER_TIMEOUT') {
      // ssh(1): a TCP connect still under way when the time is up is a connect timeout
      // (sshconnect.c); otherwise kex.c's line, then sshpkt_fatal's for SSH_ERR_CONN_TIMEOUT.
      (err as Error).message = tcp && !tcpConnected
        ? `ssh: connect to host ${cfg.hostName} port ${cfg.port}: Connection timed out`
        : `Connection timed out during banner exchange\nConnection to ${remoteId} timed out`;
    } else if (code === 'ERR_PACKET_TIMEOUT') {
      // ServerAliveInterval × ServerAliveCountMax without a packet before the session: sshpkt_fatal.
      (err as Error).message = `Connection to ${remoteId} timed out`;
    }
    if (err && typeof err === 'object') {
      // A TCP connect libuv reported failed with ECONNRESET (the server reset it before our loop
      // saw the connect: client.ts) never gave the socket its peer: Node's error names it.
      const cause = (err as { cause?: { code?: unknown; address?: unknown; port?: unknown } }).cause;
      if (tcp && !tcp.remoteAddress && cause?.code === 'ECONNRESET' && typeof cause.address === 'string' && typeof cause.port === 'number') remoteId = `${cause.address} port ${cause.port}`;
      peerOf.set(err, remoteId);
      if (!bannerSeen) beforeBanner.add(err);
    }
    sock.destroy();
    if (via) await via.close().catch(() => {});
    throw tagged(err, cfg, depth);
  }
}

/** sshconnect2.c ssh_kex2's fatal for a HostKeyAlgorithms list kex_assemble_names refuses. */
export const HOST_KEY_ASSEMBLY_FAILED = 'ssh_kex2: kex_assemble_namelist: invalid argument';

/**
 * The library's line about the -W channel (channel 0) as ssh(1) 9.2 logs its stdio forward,
 * or '' where ssh has no debug1 line: channels.c channel_new names it by its type, ssh.c
 * channel_connect_stdio_fwd's "stdio-forward", not its direct-tcpip open (ChannelTimeout is not
 * implemented, so no timeout); the confirmation is its debug2 line (channel_input_open_confirmation,
 * which the library logs at that level, so not through here), a refusal only the error line the
 * CLI prints, and the close nothing before clientloop.c client_cleanup_stdio_fwd's
 * "stdio forwarding: done".
 */
export function stdioChannelLine(m: string): string {
  if (/^channel 0: new \[direct-(tcpip|streamlocal@openssh\.com)\] to /.test(m)) return 'channel 0: new stdio-forward [stdio-forward] (inactive timeout: 0)';
  if (m.startsWith('channel 0: open failed: ') || m === 'channel 0: closed' || m.startsWith('channel 0: closed: ')) return '';
  return m;
}
