/**
 * Starting each tool's `-L` tunnel as its own process, pinned to one algorithm set, and
 * stopping it. All three log in to the same sshd with the same key and known_hosts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ForwardSpec, LoginSpec, Tool, TunnelChildArgs } from './config.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist-bench/bench/). */
export const REPO_ROOT = resolve(here, '..', '..');
/**
 * The real pure-ssh CLI as package.json's `bin` runs it: dist/node/cli-bin.cjs, which runs the
 * single-file bundle `npm run build` makes, with its code cache in ~/.cache/pure-ssh (the first
 * run writes it).
 */
export const PURE_CLI = join(REPO_ROOT, 'dist', 'node', 'cli-bin.cjs');
/** Compiled tool children next to this file. */
export const TOOL_DIR = join(here, 'tools');

/** Which pure-ssh program the bench drives: the CLI when built, else the library stand-in. */
export function pureVariant(): 'cli' | 'library stand-in' {
  return existsSync(PURE_CLI) ? 'cli' : 'library stand-in';
}

/** A running tunnel process. */
export interface Tunnel {
  tool: Tool;
  child: ChildProcess;
  pid: number;
  /** stderr so far, for error messages. */
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** Extra settings for how a tunnel process is started (not how it logs in). */
export interface SpawnExtras {
  /** Flags for `node` itself, before the script (e.g. `--cpu-prof`); ignored for OpenSSH. */
  nodeArgs?: string[];
  /** Environment variables the tunnel process is started without (the bench's own stay set). */
  unsetEnv?: string[];
}

/**
 * The command line and environment that run `tool` with these forwards (exported for the
 * README and logs). Without `login.algorithms.cipher` no `-c` is given (the tool's defaults),
 * likewise `-m`, `KexAlgorithms` and `HostKeyAlgorithms`. OpenSSH is `login.ssh` (default `ssh`).
 */
export function tunnelCommand(
  tool: Tool,
  login: LoginSpec,
  forwards: ForwardSpec[],
  extras: SpawnExtras = {},
): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const l = forwards.flatMap((f) => ['-L', `127.0.0.1:${f.listenPort}:${f.host}:${f.port}`]);
  const a = login.algorithms;
  const common = [
    '-N', '-F', 'none',
    '-p', String(login.port),
    '-i', login.keyPath,
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${login.knownHostsPath}`,
    ...(a.cipher ? ['-c', a.cipher] : []),
    ...(a.mac ? ['-m', a.mac] : []),
    ...(a.kex ? ['-o', `KexAlgorithms=${a.kex}`] : []),
    ...(a.hostKey ? ['-o', `HostKeyAlgorithms=${a.hostKey}`] : []),
    ...(login.verbose ? ['-v'] : []),
  ];
  const target = `${login.user}@${login.host}`;
  const node = extras.nodeArgs ?? [];
  switch (tool) {
    case 'openssh':
      return {
        cmd: login.ssh ?? 'ssh',
        args: [...common, '-o', 'IdentitiesOnly=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ExitOnForwardFailure=yes', ...l, target],
        env: process.env,
      };
    case 'pure': {
      const env = pureEnv(login);
      if (pureVariant() === 'cli') return { cmd: process.execPath, args: [...node, PURE_CLI, ...common, ...l, target], env };
      return { cmd: process.execPath, args: [...node, join(TOOL_DIR, 'pure-forward.js'), childArgs(login, forwards)], env };
    }
    case 'ssh2':
      return { cmd: process.execPath, args: [...node, join(TOOL_DIR, 'ssh2-forward.js'), childArgs(login, forwards)], env: process.env };
  }
}

/** The environment that selects pure-ssh's crypto provider (see LoginSpec.crypto). */
function pureEnv(login: LoginSpec): NodeJS.ProcessEnv {
  if (!login.crypto) return process.env;
  const env = { ...process.env };
  if (login.crypto === 'pure') env.PURE_SSH_CRYPTO = 'pure';
  else delete env.PURE_SSH_CRYPTO;
  return env;
}

/** What a verbose tunnel says it negotiated (see LoginSpec.verbose). */
export interface Negotiated {
  /** The key exchange method. */
  kex?: string;
  /** Server-to-client cipher and MAC (`<implicit>` for AEAD ciphers). */
  cipher?: string;
  mac?: string;
  /** pure-ssh's crypto provider as its `-v` names it (`node` or `pure`). */
  provider?: string;
}

/**
 * Reads the negotiated algorithms from a verbose tunnel's stderr: OpenSSH's
 * and pure-ssh's `kex: algorithm: K` and `kex: server->client cipher: C MAC: M compression: none`
 * (pure-ssh also `crypto provider: P`), ssh2's `Handshake: KEX
 * algorithm: K` and `Handshake: S->C cipher: C`.
 */
export function parseNegotiated(tool: Tool, stderr: string): Negotiated {
  const out: Negotiated = {};
  const pick = (re: RegExp): string | undefined => re.exec(stderr)?.[1];
  switch (tool) {
    case 'openssh':
    case 'pure':
      out.kex = pick(/kex: algorithm: (\S+)/);
      out.cipher = pick(/kex: server->client cipher: (\S+)/);
      out.mac = pick(/kex: server->client cipher: \S+ MAC: (\S+)/);
      if (tool === 'pure') out.provider = pick(/crypto provider: (\S+)/);
      break;
    case 'ssh2':
      out.kex = pick(/Handshake: KEX algorithm: (\S+)/i);
      out.cipher = pick(/Handshake: S->C cipher: (\S+)/i);
      out.mac = pick(/Handshake: S->C MAC: (\S+)/i);
      break;
  }
  return out;
}

function childArgs(login: LoginSpec, forwards: ForwardSpec[]): string {
  const a: TunnelChildArgs = { login, forwards };
  return JSON.stringify(a);
}

/** Spawns the tunnel process; it is listening once {@link waitListening} resolves. */
export function spawnTunnel(tool: Tool, login: LoginSpec, forwards: ForwardSpec[], extras: SpawnExtras = {}): Tunnel {
  const { cmd, args, env: given } = tunnelCommand(tool, login, forwards, extras);
  const env = extras.unsetEnv?.length ? { ...given } : given;
  for (const name of extras.unsetEnv ?? []) delete env[name];
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => {
    if (stderr.length < 64 * 1024) stderr += t;
  });
  const exited = new Promise<void>((res) => {
    if (child.exitCode !== null) res();
    child.once('exit', () => res());
    child.once('error', (err) => {
      stderr += String(err);
      res();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    tool,
    child,
    pid: child.pid ?? -1,
    stderr: () => stderr,
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; rejects if the tunnel dies first. */
export async function waitListening(tunnel: Tunnel, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tunnel.child.exitCode !== null || tunnel.child.signalCode !== null) {
      throw new Error(`${tunnel.tool} tunnel exited (${tunnel.child.exitCode ?? tunnel.child.signalCode}): ${tunnel.stderr().trim()}`);
    }
    const ok = await new Promise<boolean>((res) => {
      const s = netConnect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${tunnel.tool} tunnel did not listen on ${port} within ${timeoutMs} ms: ${tunnel.stderr().trim()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
