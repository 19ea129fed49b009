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

const EXIT_MUST_VIOLATED = 1;
const EXIT_ERROR = 255;

const USAGE = `usage: pure-ssh-check [-v] [--json] [--inventory-only] [-p port] [-t seconds] [user@]host
  -p port           server port (default 22)
  -t seconds        budget of each wait for the server (default 5)
  --json            the report as JSON on stdout
  --inventory-only  inventory and posture only, no probes (one connection per host key type)
  -v                progress on stderr
exit status: 0 no MUST violated, 1 a MUST violated, 255 the check could not run
`;

interface Args {
  host: string;
  port: number;
  timeoutMs: number;
  json: boolean;
  inventoryOnly: boolean;
  verbose: boolean;
}

class ArgError extends Error {}

/** Parse the command line (ssh(1)'s -p; the rest long options of our own). */
export function parseCheckArgs(argv: string[]): Args | 'help' | 'version' {
  const a: Args = { host: '', port: 22, timeoutMs: 5000, json: false, inventoryOnly: false, verbose: false };
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
    else if (arg === '-p') {
      const v = value();
      const port = Number(v);
      if (!/^\d+$/.test(v) || port < 1 || port > 65535) throw new ArgError(`Bad port '${v}'`);
      a.port = port;
    } else if (arg === '-t') {
      const v = value();
      const s = Number(v);
      if (!(s > 0) || s > 600) throw new ArgError(`Bad timeout '${v}' (seconds, 0 < t <= 600)`);
      a.timeoutMs = Math.round(s * 1000);
    } else if (arg.startsWith('-')) throw new ArgError(`unknown option -- ${arg.replace(/^-+/, '')}`);
    else if (target === undefined) target = arg;
    else throw new ArgError(`unexpected argument: ${arg}`);
  }
  if (target === undefined) throw new ArgError('no host given');
  // The user part is accepted for ssh(1)'s syntax; the pre-authentication probes do not log in.
  let host = target.includes('@') ? target.slice(target.lastIndexOf('@') + 1) : target;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw new ArgError('no host given');
  a.host = host;
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
  const [{ runCheck }, { renderJson, renderTable, mustViolations }, { cryptoProviderFor }] = await Promise.all([
    import('../check/check.js'),
    import('../check/report.js'),
    import('./client.js'),
  ]);
  const { host, port, timeoutMs } = args;
  let report;
  try {
    report = await runCheck({
      host,
      port,
      timeoutMs,
      inventoryOnly: args.inventoryOnly,
      connect: () => tcpLink(host, port, timeoutMs),
      random: (n) => new Uint8Array(randomBytes(n)),
      crypto: cryptoProviderFor(undefined),
      now: () => new Date().toISOString(),
      log: args.verbose ? (m) => process.stderr.write(`debug1: ${m}\n`) : undefined,
    });
  } catch (err) {
    process.stderr.write(`pure-ssh-check: ${(err as Error).message}\n`);
    return EXIT_ERROR;
  }
  process.stdout.write(args.json ? renderJson(report) : renderTable(report));
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
