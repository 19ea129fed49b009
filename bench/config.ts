/**
 * Options of `npm run bench`, the tools and ciphers it compares, and the sshd configuration
 * shared by the local server and the Docker image.
 */
import type { ConnectOptions } from '../src/index.js';

/** The three clients compared in every scenario. */
export const TOOLS = ['pure', 'openssh', 'ssh2'] as const;
/** One of {@link TOOLS}. */
export type Tool = (typeof TOOLS)[number];

/**
 * What a run measures through: one of the {@link TOOLS}, or `direct` (no tunnel), the reference
 * that only the pgbench scenario runs, to show what the tunnels cost.
 */
export type RunTool = Tool | 'direct';

/** Human names for tables and charts. */
export const TOOL_LABEL: Record<RunTool, string> = {
  pure: 'pure-ssh',
  openssh: 'OpenSSH ssh',
  ssh2: 'ssh2 (npm)',
  direct: 'direct (no tunnel)',
};

/**
 * One algorithm set the bench pins every tool to. Adding a cipher is adding an entry here
 * (with the tools that support it); every scenario then runs once per entry.
 */
export interface AlgorithmSet {
  cipher: string;
  /** Pinned so that no tool pays for a costlier default (OpenSSH 9.x prefers sntrup761). */
  kex: string;
  hostKey: string;
  tools: readonly Tool[];
}

/** The algorithm sets measured; pure-ssh implements only chacha20-poly1305 so far. */
export const ALGORITHM_SETS: readonly AlgorithmSet[] = [
  {
    cipher: 'chacha20-poly1305@openssh.com',
    kex: 'curve25519-sha256',
    hostKey: 'ssh-ed25519',
    tools: TOOLS,
  },
];

/** Scenario names, in the order they run. */
export const SCENARIOS = ['download', 'upload', 'concurrent', 'latency', 'startup', 'startup-lib', 'conns', 'pgbench'] as const;
/** One of {@link SCENARIOS}. */
export type Scenario = (typeof SCENARIOS)[number];

/** Parsed command line. */
export interface BenchOptions {
  quick: boolean;
  reps: number;
  /** Bytes each way for the bulk scenarios. */
  size: number;
  /** Connections in the concurrency scenario, and bytes each. */
  concurrent: number;
  concurrentSize: number;
  /** Sequential echo round trips in the latency scenario, and bytes per message. */
  roundTrips: number;
  messageSize: number;
  /** Sequential connections in the RSS-flatness scenario. */
  conns: number;
  /** The pgbench scenario's runs (bench/pgbench.ts). */
  pgbench: PgbenchOptions;
  only: Scenario[];
  tools: Tool[];
  docker: boolean;
  /** Where results go. */
  outDir: string;
}

/** pgbench settings: one `-i -s scale` up front, then per run a read-only and a write run. */
export interface PgbenchOptions {
  /** `pgbench -i -s`: 10 is 1,000,000 accounts rows (~150 MiB), done once per bench. */
  scale: number;
  /** `-c` and `-j` of both runs. */
  clients: number;
  threads: number;
  /** `-T` of the read-only (`-S`) run. */
  seconds: number;
  /** `-t` (per client) of the TPC-B-like write run. */
  transactions: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const USAGE = `usage: npm run bench -- [--quick] [--reps N] [--size BYTES] [--only ${SCENARIOS.join(',')}]
                      [--tools ${TOOLS.join(',')}] [--docker] [--out DIR]`;

/** Parses argv (after `node run.js`); exits with usage on nonsense. */
export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const opts: BenchOptions = {
    quick,
    reps: quick ? 2 : 5,
    size: quick ? 64 * MiB : GiB,
    concurrent: 100,
    concurrentSize: quick ? 256 * 1024 : MiB,
    roundTrips: quick ? 200 : 1000,
    messageSize: 64,
    conns: quick ? 200 : 1000,
    pgbench: { scale: 10, clients: 4, threads: 2, seconds: quick ? 2 : 5, transactions: quick ? 100 : 500 },
    only: [...SCENARIOS],
    tools: [...TOOLS],
    docker: false,
    outDir: 'bench/results',
  };
  const fail = (msg: string): never => {
    process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => argv[++i] ?? fail(`${arg} needs a value`);
    switch (arg) {
      case '--quick':
        break;
      case '--docker':
        opts.docker = true;
        break;
      case '--reps':
        opts.reps = positiveInt(value(), arg, fail);
        break;
      case '--size':
        opts.size = positiveInt(value(), arg, fail);
        break;
      case '--out':
        opts.outDir = value();
        break;
      case '--only': {
        const list = value().split(',').filter(Boolean);
        for (const s of list) if (!(SCENARIOS as readonly string[]).includes(s)) fail(`unknown scenario ${s}`);
        opts.only = SCENARIOS.filter((s) => list.includes(s));
        break;
      }
      case '--tools': {
        const list = value().split(',').filter(Boolean);
        for (const t of list) if (!(TOOLS as readonly string[]).includes(t)) fail(`unknown tool ${t}`);
        opts.tools = TOOLS.filter((t) => list.includes(t));
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      default:
        fail(`unknown option ${arg}`);
    }
  }
  return opts;
}

function positiveInt(text: string, name: string, fail: (m: string) => never): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) fail(`${name} wants a positive integer, got ${text}`);
  return n;
}

/**
 * sshd_config keywords the bench adds to the test harness's defaults (test/harness/sshd.ts).
 * The Docker image gets the same list through {@link dockerSshdConfig}.
 */
export const BENCH_SSHD_CONFIG: Record<string, string> = {
  // The bench is about the client: no per-channel debug lines (the harness default is DEBUG1);
  // INFO still prints the "Server listening" line the harness waits for.
  LogLevel: 'INFO',
  // Offer every measured cipher and kex, nothing that could be picked by accident.
  Ciphers: [...new Set(ALGORITHM_SETS.map((a) => a.cipher))].join(','),
  KexAlgorithms: [...new Set(ALGORITHM_SETS.map((a) => a.kex))].join(','),
};

/** The full sshd_config for the container: the harness defaults plus {@link BENCH_SSHD_CONFIG}. */
export function dockerSshdConfig(): string {
  const config: Record<string, string> = {
    Port: '22',
    ListenAddress: '0.0.0.0',
    HostKey: '/bench/host_ed25519',
    AuthorizedKeysFile: '/bench/authorized_keys',
    PidFile: '/run/sshd-bench.pid',
    StrictModes: 'no',
    UsePAM: 'no',
    PermitRootLogin: 'prohibit-password',
    PasswordAuthentication: 'no',
    KbdInteractiveAuthentication: 'no',
    AllowTcpForwarding: 'yes',
    PrintMotd: 'no',
    ...BENCH_SSHD_CONFIG,
  };
  return Object.entries(config).map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
}

/** What to serve. */
export interface EndpointConfig {
  /** Interface to listen on: loopback, or 0.0.0.0 when sshd runs in a container. */
  host: string;
  bulkBytes: number;
  smallBytes: number;
}

/** Seeds of the deterministic streams; the upload seed differs so a reflected stream fails. */
export const SEED = { bulk: 1, small: 2, upload: 3 } as const;

/** The text the server-first endpoint sends. */
export const GREETING = 'pure-ssh-bench: server speaks first\n';

/** Message from the endpoint process once listening. */
export interface EndpointsReady {
  kind: 'ready';
  ports: { bulk: number; small: number; sink: number; echo: number; first: number };
  /** sha256 of the bulk and small source streams. */
  sha256: { bulk: string; small: string };
}

/** Message for every sink connection that ended. */
export interface SinkResult {
  kind: 'sink';
  bytes: number;
  sha256: string;
}


/** How a child process logs in (the same server, key and known_hosts for every tool). */
export interface LoginSpec {
  host: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
  algorithms: AlgorithmSet;
}

/** pure-ssh's connect() options for a {@link LoginSpec} (the library children share them). */
export function pureConnectOptions(login: LoginSpec): ConnectOptions {
  return {
    host: login.host,
    port: login.port,
    username: login.user,
    identityFiles: [login.keyPath],
    knownHosts: login.knownHostsPath,
    strictHostKeyChecking: 'yes',
    algorithms: { cipher: login.algorithms.cipher, kex: login.algorithms.kex, hostKey: login.algorithms.hostKey },
  };
}

/** One `-L 127.0.0.1:listenPort:host:port`. */
export interface ForwardSpec {
  listenPort: number;
  host: string;
  port: number;
}

/** argv[2] of the Node tunnel children (tools/ssh2-forward.ts, tools/pure-forward.ts). */
export interface TunnelChildArgs {
  login: LoginSpec;
  forwards: ForwardSpec[];
}

/** The key blob (base64) of the first known_hosts line, for clients that compare it themselves. */
export function knownHostBlob(knownHostsText: string): string {
  const line = knownHostsText.split('\n').find((l) => l.trim() && !l.startsWith('#'));
  if (!line) throw new Error('known_hosts file is empty');
  return line.trim().split(/\s+/)[2];
}

/** argv[2] of tools/inproc-startup.ts. */
export interface InprocArgs {
  tool: 'pure' | 'ssh2';
  login: LoginSpec;
  target: { host: string; port: number };
}
