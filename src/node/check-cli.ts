#!/usr/bin/env node
/**
 * The `pure-ssh-check` command: a conformance and posture report on one SSH server (inventory,
 * algorithm posture, strict-kex enforcement and protocol probes; docs/pure-ssh-check.md).
 * This file is the IO around src/check: arguments, one TCP socket per probe, the output, the exit
 * status (0: no MUST violated, 1: a MUST violated, 255: the check could not run, as ssh(1)).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { ProbeLink } from '../check/connection.js';
import { logLines } from './log-vis.js';
import { couldNotResolve } from './strerror.js';

const EXIT_MUST_VIOLATED = 1;
const EXIT_ERROR = 255;

const USAGE = `usage: pure-ssh-check [-v] [--json] [--inventory-only] [--kex list] [--command cmd | --loop]
           [-t seconds] [-F configfile] [-i identity_file] [-l login_name]
           [-o option] [-p port] [user@]host
  -p port           server port (default 22)
  -t seconds        budget of each wait for the server (default 5)
  --json            the report as JSON on stdout
  --inventory-only  inventory and posture only, no probes (one connection per host key type)
  --kex list        kex methods the probes offer, comma-separated (default: curve25519 first,
                    then every other method pure-ssh has)
  --command cmd     with a login: the command whose output the window probe reads
                    (default: ${'`'}head -c 65536 /dev/zero${'`'})
  --loop            with a login: loop the window probe's data through a remote forward on the
                    server's loopback and a direct-tcpip to it instead (no shell needed)
  -v                progress on stderr
  -F -i -l -o       as in ssh(1); ssh_config is read as pure-ssh reads it
  user@host, -l, -i, -o User=/IdentityFile=/IdentityAgent=: log in (as pure-ssh does: keys,
                    ssh-agent, password prompt; known_hosts checked) and run the connection probes
exit status: 0 no MUST violated, 1 a MUST violated, 255 the check (or the login) could not run
`;

/** What the command line asks for; the ssh(1) options are resolved by pure-ssh's own parser. */
export interface CheckArgs {
  host: string;
  timeoutMs: number;
  json: boolean;
  inventoryOnly: boolean;
  verbose: boolean;
  kex?: string[];
  command?: string;
  loop: boolean;
  /** The ssh(1) options (-F -i -l -o -p) and the destination, for resolveCommandLine. */
  sshArgv: string[];
  /** A user or identity was named: log in and run the connection probes. */
  login: boolean;
}

class ArgError extends Error {}

/** ssh(1) options pure-ssh-check takes, all with a value. */
const SSH_OPTIONS = new Set(['-F', '-i', '-l', '-o', '-p']);
/** -o keywords that ask for a login (ssh_config(5)). */
const LOGIN_KEYWORDS = new Set(['user', 'identityfile', 'identityagent', 'certificatefile']);

/** Parse the command line: our long options and -t, ssh(1)'s -F -i -l -o -p, the destination. */
export function parseCheckArgs(argv: string[]): CheckArgs | 'help' | 'version' {
  const a: CheckArgs = { host: '', timeoutMs: 5000, json: false, inventoryOnly: false, verbose: false, loop: false, sshArgv: [], login: false };
  let target: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new ArgError(`option requires an argument -- ${arg.replace(/^-+/, '')}`);
      return v;
    };
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '-V' || arg === '--version') return 'version';
    if (arg === '--json') a.json = true;
    else if (arg === '--inventory-only') a.inventoryOnly = true;
    else if (arg === '-v') a.verbose = true;
    else if (arg === '--kex') {
      const v = value();
      a.kex = v.split(',');
      if (a.kex.some((k) => k === '')) throw new ArgError(`Bad kex list '${v}'`);
    } else if (arg === '--command') a.command = value();
    else if (arg === '--loop') a.loop = true;
    else if (arg === '-t') {
      const v = value();
      const s = Number(v);
      if (!(s > 0) || s > 600) throw new ArgError(`Bad timeout '${v}' (seconds, 0 < t <= 600)`);
      a.timeoutMs = Math.round(s * 1000);
    } else if (SSH_OPTIONS.has(arg.slice(0, 2)) && !arg.startsWith('--')) {
      // ssh(1) takes the value attached (-p22, -oUser=x) or as the next word.
      const flag = arg.slice(0, 2);
      const v = arg.length > 2 ? arg.slice(2) : value();
      a.sshArgv.push(flag, v);
      if (flag === '-l' || flag === '-i') a.login = true;
      if (flag === '-o' && LOGIN_KEYWORDS.has(v.split(/[=\s]/, 1)[0]!.toLowerCase())) a.login = true;
    } else if (arg.startsWith('-')) throw new ArgError(`unknown option -- ${arg.replace(/^-+/, '')}`);
    else if (target === undefined) target = arg;
    else throw new ArgError(`unexpected argument: ${arg}`);
  }
  if (target === undefined) throw new ArgError('no host given');
  if (target.includes('@')) a.login = true;
  let host = target.includes('@') ? target.slice(target.lastIndexOf('@') + 1) : target;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw new ArgError('no host given');
  a.host = host;
  a.sshArgv.push(target);
  return a;
}

/** A TCP connection as a {@link ProbeLink}: reads queue up until a probe asks for them. */
function tcpLink(host: string, port: number, timeoutMs: number): Promise<ProbeLink> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    socket.setNoDelay(true);
    const queue: Uint8Array[] = [];
    let closed = false;
    // Node clears socket.connecting before a failed connect's 'error': track it ourselves.
    let connected = false;
    let wake: (() => void) | undefined;
    const connectTimer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to host ${host} port ${port}: Connection timed out`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      queue.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      wake?.();
    });
    const end = () => {
      closed = true;
      wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return end();
      clearTimeout(connectTimer);
      // ssh.c's words for a name that does not resolve (ssh_connect's getaddrinfo), without "ssh: ".
      const unresolved = couldNotResolve(host, err)?.replace(/^ssh: /, '');
      if (unresolved) return reject(new Error(unresolved));
      const why = err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message;
      reject(new Error(`connect to host ${host} port ${port}: ${why}`));
    });
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      resolve({
        write(bytes) {
          if (!closed && !socket.destroyed) socket.write(bytes);
        },
        read(ms) {
          if (queue.length > 0) return Promise.resolve(queue.shift()!);
          if (closed) return Promise.resolve(null);
          return new Promise((res) => {
            const timer = setTimeout(() => {
              wake = undefined;
              res('timeout');
            }, ms);
            wake = () => {
              clearTimeout(timer);
              wake = undefined;
              res(queue.length > 0 ? queue.shift()! : null);
            };
          });
        },
        close() {
          closed = true;
          socket.end();
          socket.destroySoon();
        },
      });
    });
  });
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The configuration pure-ssh would use for this destination (ssh_config files, -o, -l, -i...). */
async function resolveSsh(args: CheckArgs) {
  const [{ resolveCommandLineAsync, ConfigError }, { processCliEnvironment }] = await Promise.all([
    import('../config/cli-args.js'),
    import('./connect-host.js'),
  ]);
  try {
    // -N: pure-ssh's parser refuses a destination without forwards otherwise; the check runs no shell.
    // No Match exec: the check runs no commands of the configuration (an error names the line).
    const outcome = await resolveCommandLineAsync(['-N', ...args.sshArgv], { ...processCliEnvironment(), exec: undefined });
    if (outcome.kind !== 'run') throw new ArgError(outcome.kind === 'usage' ? outcome.message ?? 'bad arguments' : 'bad arguments');
    return outcome.config;
  } catch (err) {
    if (err instanceof ConfigError) throw new ArgError(err.message.replace(/^pure-ssh: /, ''));
    throw err;
  }
}

type Resolved = Awaited<ReturnType<typeof resolveSsh>>;

/**
 * Credentials and host key checking as pure-ssh's CLI has them: identity files (missing default
 * ones skipped silently), certificates, the agent, password prompts (SSH_ASKPASS, BatchMode),
 * known_hosts with StrictHostKeyChecking. Returns the login and a function closing the agent.
 */
async function prepareLogin(cfg: Resolved, log: (m: string) => void, verbose: boolean): Promise<{ login: import('../check/login.js').ProbeLogin; close: () => void }> {
  const [{ prepareAuth, cryptoProviderFor, bindAgentToSession, closeAgent }, prompt, { knownHostsVerifier, hostKeyOrderHintsFor }, { orderHostKeyAlgorithms }, { describeFatal, hostKeyVerifier, loadIdentities, Log, passwordAsker }, { LOG_LEVELS }] = await Promise.all([
    import('./client.js'),
    import('./prompt.js'),
    import('./known-hosts-file.js'),
    import('../algorithms.js'),
    import('./connect-host.js'),
    import('../config/ssh-config.js'),
  ]);
  // pure-ssh's log for the lines it shares with the CLI (LogLevel; -v shows its debug1 lines too).
  const sshLog = new Log(verbose && LOG_LEVELS.indexOf(cfg.logLevel) < LOG_LEVELS.indexOf('DEBUG1') ? 'DEBUG1' : cfg.logLevel);
  // ssh(1)'s read_passphrase decision, shared with pure-ssh (prompt.ts readPassphrase): askpass or
  // the controlling terminal; "" for an answer it could not get.
  const readPassphrase = (question: string, echo = false): Promise<string> =>
    prompt.readPassphrase(question, { echo, env: process.env, debug: log, error: log });
  const ask = async (question: string): Promise<string | null> => (cfg.batchMode ? null : readPassphrase(question));
  // The login's provider (PURE_SSH_CRYPTO): it signs, and its Ed25519 checks an Ed25519 key file's public half.
  const crypto = cryptoProviderFor(undefined);
  // The identity files as pure-ssh loads them and words their failures (connect-host.ts).
  const identityFiles = await loadIdentities(cfg, sshLog, {
    askPassphrase: (p) => ask(`Enter passphrase for key '${p}': `),
    attempts: cfg.numberOfPasswordPrompts,
    debug: log,
    crypto,
  });
  const auth = await prepareAuth({
    host: cfg.hostName,
    port: cfg.port,
    username: cfg.user,
    identityFiles,
    // loadIdentities paired the certificates (CertificateFile or KEY-cert.pub) with their keys.
    certificateFiles: [],
    agent: cfg.pubkeyAuthentication ? cfg.identityAgent : undefined,
    identitiesOnly: cfg.identitiesOnly,
    debug: log,
  }, crypto);
  // The known_hosts check as pure-ssh makes it, its refusals in pure-ssh's words (connect-host.ts).
  const verify = hostKeyVerifier(cfg, sshLog, knownHostsVerifier, (q) => readPassphrase(q, true));
  // ssh(1) order_hostkeyalgs(): with HostKeyAlias, by the alias's (port-less) entries.
  const orderHints = await hostKeyOrderHintsFor(cfg.knownHostsFiles, cfg.hostKeyAlias ?? cfg.hostName, cfg.hostKeyAlias !== undefined ? 22 : cfg.port);
  // The password and keyboard-interactive prompts as pure-ssh asks them (connect-host.ts).
  const askPassword = passwordAsker(cfg, sshLog, readPassphrase);
  return {
    close: () => closeAgent(auth),
    login: {
      auth: {
        username: cfg.user,
        privateKeys: auth.privateKeys,
        identities: auth.identities,
        askPassword: askPassword !== undefined,
        passwordAttempts: cfg.numberOfPasswordPrompts,
        passwordPrompt: `${cfg.user}@${cfg.hostName}'s password: `,
        passwordAuthentication: cfg.passwordAuthentication,
        kbdInteractiveAuthentication: cfg.kbdInteractiveAuthentication,
        // sshconnect2.c sign_and_send_pubkey: host-bound requests unless PubkeyAuthentication unbound.
        pubkeyHostbound: cfg.pubkeyAuthentication !== 'unbound',
      },
      async verifyHostKey(key) {
        try {
          if ((await verify({ ...key, host: cfg.hostName, port: cfg.port })) === false) throw new Error('Host key verification failed.');
        } catch (err) {
          // pure-ssh's words (describeFatal): the lines before its last on stderr as it logs them
          // ("No ED25519 host key is known ...", the changed-key block); the last, "Host key
          // verification failed.", is the report's (and the check's closing line).
          const lines = (await describeFatal(err, cfg, sshLog)).split('\n');
          const last = lines.pop();
          if (lines.length > 0) sshLog.error(lines.join('\n'));
          throw new Error(last || 'Host key verification failed.');
        }
      },
      orderHostKeyAlgorithms: (algorithms) => orderHostKeyAlgorithms(algorithms, orderHints).algorithms,
      // ssh(1) contacts its agent once the host key is trusted, binds it to the session, then
      // lists its keys (sshconnect2.c pubkey_prepare, get_agent_identities).
      bindAgent: async (session) => {
        await bindAgentToSession(auth, session, (m) => log(m));
        return auth.identities;
      },
      async sign(req) {
        // The identity's own signer first (two identities may hold the same key blob), else one by its blob.
        const signer =
          auth.signers.find((s) => s.identity === req.identity) ??
          auth.signers.find((s) => s.identity === undefined && s.publicKeyBlob.length === req.keyBlob.length && s.publicKeyBlob.every((b, i) => b === req.keyBlob[i]));
        return signer ? signer.sign(req.data, req.algorithm, req.flags) : null;
      },
      async loadKey(req) {
        const load = auth.keyLoaders.get(req.identity);
        return load ? load() : null;
      },
      askPassword,
    },
  };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseCheckArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ArgError)) throw err;
    process.stderr.write(`pure-ssh-check: ${err.message}\n${USAGE}`);
    return EXIT_ERROR;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args === 'version') {
    process.stderr.write(`pure-ssh-check_${version()}\n`);
    return 0;
  }
  const [{ runCheck }, { renderJson, renderTable, mustViolations }, { cryptoProviderFor }, { kexMethods }, { DEFAULT_EXEC_BYTES }] = await Promise.all([
    import('../check/check.js'),
    import('../check/report.js'),
    import('./client.js'),
    import('../kex/registry.js'),
    import('../check/connection-probes.js'),
  ]);
  // The lines ssh(1) would log (debug1, the known_hosts and password ones) end as its log.c ends
  // them, "\r\n" (log-vis.ts); pure-ssh-check's own messages are plain lines.
  const log = args.verbose ? (m: string) => process.stderr.write(logLines(`debug1: ${m}`)) : () => {};
  let cfg: Resolved;
  try {
    const unknownKex = args.kex?.find((k) => !kexMethods.has(k));
    if (unknownKex !== undefined) throw new ArgError(`unknown kex method '${unknownKex}' (pure-ssh has ${[...kexMethods.keys()].join(',')})`);
    cfg = await resolveSsh(args);
    // The probes connect straight to the server: a route the user configured cannot be honoured.
    if (cfg.proxy) throw new ArgError(`${cfg.proxy.kind === 'jump' ? 'ProxyJump' : 'ProxyCommand'} is not supported by pure-ssh-check: it connects directly to ${cfg.hostName} port ${cfg.port}`);
    if (args.command !== undefined && args.loop) throw new ArgError('--command and --loop exclude each other');
    if ((args.command !== undefined || args.loop) && !args.login) throw new ArgError(`${args.loop ? '--loop' : '--command'} needs a login (user@host, -l or -i)`);
    // What pure-ssh and ssh(1) report once connected (cli-args.ts connectedError: `~user` naming
    // no user in IdentityFile, CertificateFile or GlobalKnownHostsFile), ending the run: a login
    // would use those files, so it is refused the same way; without one they are not read.
    const late = cfg.connectedError?.message.replace(/^pure-ssh: /, '');
    if (late !== undefined) {
      if (args.login && !args.inventoryOnly) throw new ArgError(late);
      process.stderr.write(`pure-ssh-check: warning: ${late} (pure-ssh would stop there once connected; no login here, so those files are not read)\n`);
    }
  } catch (err) {
    if (!(err instanceof ArgError)) throw err;
    process.stderr.write(`pure-ssh-check: ${err.message}\n`);
    return EXIT_ERROR;
  }
  // The probes offer every algorithm on purpose; ssh_config's lists do not apply to them.
  for (const [k, v] of Object.entries(cfg.algorithms)) if (v) log(`${k} list '${v}' from the configuration is not used: the probes offer every algorithm (see --kex)`);
  const host = cfg.hostName;
  const port = cfg.port;
  const { timeoutMs } = args;
  let prepared: Awaited<ReturnType<typeof prepareLogin>> | undefined;
  let report;
  const startedAt = new Date().toISOString();
  try {
    if (args.login && args.inventoryOnly) log('--inventory-only: no login, so no connection probes');
    if (args.login && !args.inventoryOnly) prepared = await prepareLogin(cfg, log, args.verbose);
    report = await runCheck({
      host,
      port,
      timeoutMs,
      inventoryOnly: args.inventoryOnly,
      kex: args.kex,
      login: prepared?.login,
      source: args.loop ? { kind: 'loop', bytes: DEFAULT_EXEC_BYTES } : args.command !== undefined ? { command: args.command } : undefined,
      connect: () => tcpLink(host, port, timeoutMs),
      random: (n) => new Uint8Array(randomBytes(n)),
      crypto: cryptoProviderFor(undefined),
      now: () => startedAt,
      log: args.verbose ? log : undefined,
    });
  } catch (err) {
    // The login's preparation failed (a later connection the probes cannot make is the report's
    // own `error`, with the findings made before): a JSON consumer still gets a document saying why.
    const message = (err as Error).message;
    if (args.json) process.stdout.write(renderJson({ target: { host, port }, startedAt, error: message, findings: [] }));
    process.stderr.write(`pure-ssh-check: ${message}\n`);
    return EXIT_ERROR;
  } finally {
    prepared?.close();
  }
  // No connection at all: the reason on stderr, and for --json a document with it.
  if (args.json || report.serverVersion !== undefined || report.findings.length > 0) process.stdout.write(args.json ? renderJson(report) : renderTable(report));
  if (report.login?.error) {
    process.stderr.write(`pure-ssh-check: ${report.login.user}@${host}: login failed, connection probes not run: ${report.login.error}\n`);
    return EXIT_ERROR;
  }
  // The check could not run (no connection, no SSH server, no key exchange with pure-ssh).
  if (report.error !== undefined) {
    process.stderr.write(`pure-ssh-check: ${report.error}\n`);
    return EXIT_ERROR;
  }
  if (!report.serverVersion) return EXIT_ERROR;
  return mustViolations(report).length > 0 ? EXIT_MUST_VIOLATED : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pure-ssh-check: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = EXIT_ERROR;
  },
);
