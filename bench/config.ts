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
 * What a tunnel process is pinned to. `cipher` and `mac` left out mean the tool's own defaults
 * (no `-c` / `-m`): the cipher matrix's "defaults" row.
 */
export interface TunnelAlgorithms {
  cipher?: string;
  /** Only for ciphers without their own integrity (CTR); AEAD ciphers imply theirs. */
  mac?: string;
  /**
   * Pinned so that no tool pays for a costlier default (OpenSSH 9.x prefers sntrup761). Left
   * out (the kex matrix's defaults row), no `KexAlgorithms` / `HostKeyAlgorithms` is given.
   */
  kex?: string;
  hostKey?: string;
}

/**
 * One algorithm set the bench pins every tool to. Adding a cipher is adding an entry here
 * (with the tools that support it); every scenario then runs once per entry.
 */
export interface AlgorithmSet extends TunnelAlgorithms {
  cipher: string;
  kex: string;
  hostKey: string;
  tools: readonly Tool[];
}

/** The algorithm set of the classic scenarios: OpenSSH's default cipher, pinned for every client so they compare like for like (the cipher matrix, --matrix, measures the others and each tool's defaults). */
export const ALGORITHM_SETS: readonly AlgorithmSet[] = [
  {
    cipher: 'chacha20-poly1305@openssh.com',
    kex: 'curve25519-sha256',
    hostKey: 'ssh-ed25519',
    tools: TOOLS,
  },
];

/**
 * The cipher matrix (bench/matrix.ts): every cipher here, on each of pure-ssh's crypto
 * providers, against OpenSSH and ssh2 with the same cipher; ciphers without their own
 * integrity run once per MAC listed (a MAC pure-ssh's registry lacks is left out). CBC and
 * other legacy ciphers are not measured.
 */
export const MATRIX_CIPHERS: readonly { cipher: string; macs?: readonly string[] }[] = [
  { cipher: 'chacha20-poly1305@openssh.com' },
  { cipher: 'aes128-gcm@openssh.com' },
  { cipher: 'aes256-gcm@openssh.com' },
  { cipher: 'aes128-ctr', macs: ['hmac-sha2-256-etm@openssh.com', 'umac-64-etm@openssh.com'] },
  { cipher: 'aes256-ctr', macs: ['hmac-sha2-256-etm@openssh.com', 'umac-64-etm@openssh.com'] },
];

/** The matrix's scenarios: bulk transfers only. */
export const MATRIX_SCENARIOS = ['download', 'upload'] as const;
/** One of {@link MATRIX_SCENARIOS}. */
export type MatrixScenario = (typeof MATRIX_SCENARIOS)[number];

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
  /** The classic scenarios to run (none with `--matrix`). */
  only: Scenario[];
  tools: Tool[];
  docker: boolean;
  /** Where results go. */
  outDir: string;
  /** The cipher matrix, when it runs: with no `--only`, or with `--matrix`. */
  matrix?: MatrixOptions;
  /** `--profile`: one profiled transfer instead of the bench. */
  profile?: ProfileOptions;
  /** The kex matrix (bench/kex.ts), when it runs: in a full run, or with `--kex-matrix`. */
  kexMatrix?: KexMatrixOptions;
}

/** What the kex matrix runs. */
export interface KexMatrixOptions {
  /**
   * `--kex`: method names (full, or the part before `@`) and `defaults` for the OpenSSH 10
   * row; empty means every row.
   */
  methods: string[];
  /** Repetitions (default 7, quick 3; `--reps` sets it): a run is a second or two. */
  reps: number;
}

/** What the cipher matrix runs. */
export interface MatrixOptions {
  scenarios: MatrixScenario[];
  /**
   * `--ciphers`: cipher names (full, or the part before `@`), `cipher+mac` for one MAC, and
   * `defaults` for the tools' defaults row; empty means every row.
   */
  ciphers: string[];
  /** Bytes per transfer (default 256 MiB, quick 64 MiB; `--size` sets it). */
  size: number;
  /**
   * Repetitions (default 3, quick 2; `--reps` sets it): the pure-TypeScript AES variants move
   * 256 MiB at a few tens of MiB/s, and the whole matrix should stay near 15 minutes here.
   */
  reps: number;
}

/**
 * `--profile download|upload`: one transfer through one Node tool under `node --cpu-prof`;
 * `--profile startup`: pure-ssh's CLI from process start to the first forwarded byte, with
 * `--kex` pinning the method (left out: pure-ssh's default against OpenSSH 10's sshd).
 */
export interface ProfileOptions {
  scenario: MatrixScenario | 'startup';
  /** `--kex` for `--profile startup`. */
  kex?: string;
  tool: 'pure' | 'ssh2';
  /** `--cipher` / `--mac`; left out, the tool's defaults. */
  cipher?: string;
  mac?: string;
  /** `--crypto`: pure-ssh's provider (default runtime, what a user gets). */
  crypto: CryptoChoice;
  /** Functions listed (`--top`, default 15). */
  top: number;
  size: number;
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
                      [--tools ${TOOLS.join(',')}] [--docker] [--out DIR]
                      [--matrix] [--ciphers CIPHER[+MAC],...|defaults]
                      [--kex-matrix] [--kex METHOD,...|defaults]
       npm run bench -- --profile download|upload [--tool pure|ssh2] [--cipher CIPHER] [--mac MAC]
                      [--crypto runtime|pure] [--size BYTES] [--top N]
       npm run bench -- --profile startup [--kex METHOD] [--top N]`;

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
  let only: string[] | undefined;
  let matrixOnly = false;
  let ciphers: string[] = [];
  let kexOnly = false;
  let kexMethods: string[] | undefined;
  let sizeGiven: number | undefined;
  let repsGiven: number | undefined;
  const profile: Partial<ProfileOptions> = {};
  const profileFlags: string[] = [];
  const profileFlag = (arg: string): Partial<ProfileOptions> => {
    profileFlags.push(arg);
    return profile;
  };
  const cryptoChoice = (text: string): CryptoChoice => (text === 'runtime' || text === 'pure' ? text : fail(`--crypto wants runtime or pure, got ${text}`));
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
        repsGiven = positiveInt(value(), arg, fail);
        break;
      case '--size':
        sizeGiven = positiveInt(value(), arg, fail);
        break;
      case '--out':
        opts.outDir = value();
        break;
      case '--only': {
        only = value().split(',').filter(Boolean);
        for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) fail(`unknown scenario ${s}`);
        break;
      }
      case '--matrix':
        matrixOnly = true;
        break;
      case '--ciphers':
        ciphers = value().split(',').filter(Boolean);
        break;
      case '--kex-matrix':
        kexOnly = true;
        break;
      case '--kex':
        kexMethods = value().split(',').filter(Boolean);
        break;
      case '--profile': {
        const scenario = value();
        if (scenario !== 'startup' && !(MATRIX_SCENARIOS as readonly string[]).includes(scenario)) {
          fail(`--profile runs ${MATRIX_SCENARIOS.join(', ')} or startup, not ${scenario}`);
        }
        profile.scenario = scenario as ProfileOptions['scenario'];
        break;
      }
      case '--tool': {
        const tool = value();
        if (tool !== 'pure' && tool !== 'ssh2') fail(`--tool wants pure or ssh2 (Node processes; OpenSSH is not profiled), got ${tool}`);
        profileFlag(arg).tool = tool as 'pure' | 'ssh2';
        break;
      }
      case '--cipher':
        profileFlag(arg).cipher = value();
        break;
      case '--mac':
        profileFlag(arg).mac = value();
        break;
      case '--crypto':
        profileFlag(arg).crypto = cryptoChoice(value());
        break;
      case '--top':
        profileFlag(arg).top = positiveInt(value(), arg, fail);
        break;
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
  if (sizeGiven !== undefined) opts.size = sizeGiven;
  if (repsGiven !== undefined) opts.reps = repsGiven;
  const matrixSize = sizeGiven ?? (quick ? 64 * MiB : 256 * MiB);
  const matrixReps = repsGiven ?? (quick ? 2 : 3);
  if (profileFlags.length && !profile.scenario) fail(`${profileFlags.join(', ')}: only with --profile`);
  if (profile.scenario) {
    if (kexMethods && (profile.scenario !== 'startup' || kexMethods.length !== 1)) fail('--kex with --profile: one method, and only for --profile startup');
    opts.profile = {
      scenario: profile.scenario,
      kex: kexMethods?.[0],
      tool: profile.tool ?? 'pure',
      cipher: profile.cipher,
      mac: profile.mac,
      crypto: profile.crypto ?? 'runtime',
      top: profile.top ?? 15,
      size: matrixSize,
    };
    return opts;
  }
  const kexReps = repsGiven ?? (quick ? 3 : 7);
  if (kexOnly) {
    if (matrixOnly || only) fail('--kex-matrix runs only the kex matrix: leave out --matrix and --only');
    if (ciphers.length) fail('--ciphers chooses the cipher matrix\'s rows, not the kex matrix\'s (that is --kex)');
    opts.only = [];
    opts.kexMatrix = { methods: kexMethods ?? [], reps: kexReps };
    return opts;
  }
  if (kexMethods) fail('--kex chooses the kex matrix\'s rows: add --kex-matrix');
  if (matrixOnly) {
    const bulk = only ?? [...MATRIX_SCENARIOS];
    for (const s of bulk) if (!(MATRIX_SCENARIOS as readonly string[]).includes(s)) fail(`the matrix runs ${MATRIX_SCENARIOS.join(' and ')}, not ${s}`);
    opts.only = [];
    opts.matrix = { scenarios: MATRIX_SCENARIOS.filter((s) => bulk.includes(s)), ciphers, size: matrixSize, reps: matrixReps };
  } else {
    opts.only = only ? SCENARIOS.filter((s) => only!.includes(s)) : [...SCENARIOS];
    // `--only` picks classic scenarios; the matrix then runs only if asked for (--matrix).
    if (!only) {
      opts.matrix = { scenarios: [...MATRIX_SCENARIOS], ciphers, size: matrixSize, reps: matrixReps };
      opts.kexMatrix = { methods: [], reps: kexReps };
    }
    else if (ciphers.length) fail('--ciphers chooses the matrix\'s rows: add --matrix, or leave out --only');
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
  // Offer every measured cipher and kex, nothing that could be picked by accident. The matrix's
  // ciphers cover what each client's defaults pick (the runs record what was negotiated). MACs
  // stay sshd's defaults, which include every MAC the matrix pins.
  Ciphers: [...new Set([...ALGORITHM_SETS.map((a) => a.cipher), ...MATRIX_CIPHERS.map((m) => m.cipher)])].join(','),
  KexAlgorithms: [...new Set(ALGORITHM_SETS.map((a) => a.kex))].join(','),
};

/**
 * The full sshd_config for the container (bench/docker/entrypoint.sh runs `sshd -f` on it): the
 * harness's defaults plus {@link BENCH_SSHD_CONFIG}, listening on 127.0.0.1:`port`; the
 * container shares the host's network (`docker run --network host`), so that port is the
 * host's. Keys and authorized_keys are the bench's, mounted at /bench.
 */
export function dockerSshdConfig(port: number): string {
  const config: Record<string, string> = {
    Port: String(port),
    ListenAddress: '127.0.0.1',
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
  /** Interface to listen on: loopback (a `--docker` container shares the host's network). */
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
  algorithms: TunnelAlgorithms;
  /** OpenSSH's client to run (default `ssh` from PATH; the kex matrix uses OpenSSH 10's too). */
  ssh?: string;
  /**
   * pure-ssh's crypto provider: `'pure'` sets `PURE_SSH_CRYPTO=pure` for the CLI, `'runtime'`
   * removes it (what a user gets); left out, the bench's own environment is passed on.
   */
  crypto?: CryptoChoice;
  /**
   * Run the tool verbosely (`-v`; ssh2: its debug hook, handshake lines only) so that the
   * negotiated kex, cipher, MAC and provider can be read back from its stderr.
   */
  verbose?: boolean;
}

/**
 * The {@link LoginSpec} for a test-harness sshd (test/harness/sshd.ts startSshd): its address,
 * user, client key and known_hosts, with these algorithms. For the tools in bench/tools/.
 */
export function loginOf(
  sshd: { host: string; port: number; user: string; clientKeyPath: string; knownHostsPath: string },
  algorithms: TunnelAlgorithms,
): LoginSpec {
  return { host: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.clientKeyPath, knownHostsPath: sshd.knownHostsPath, algorithms };
}

/** pure-ssh's two crypto providers (`connect({ crypto })`, `PURE_SSH_CRYPTO`). */
export type CryptoChoice = 'runtime' | 'pure';

/** pure-ssh's connect() options for a {@link LoginSpec} (the library children share them). */
export function pureConnectOptions(login: LoginSpec): ConnectOptions {
  return {
    host: login.host,
    port: login.port,
    username: login.user,
    identityFiles: [login.keyPath],
    knownHosts: login.knownHostsPath,
    strictHostKeyChecking: 'yes',
    algorithms: { cipher: login.algorithms.cipher, mac: login.algorithms.mac, kex: login.algorithms.kex, hostKey: login.algorithms.hostKey },
    ...(login.crypto ? { crypto: login.crypto } : {}),
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

/**
 * ssh2's `algorithms` option for a login: the pinned cipher, MAC, kex and host key algorithm;
 * a cipher or MAC left out keeps ssh2's defaults.
 */
export function ssh2Algorithms(login: LoginSpec): Record<string, string[]> {
  const a = login.algorithms;
  return {
    ...(a.cipher ? { cipher: [a.cipher] } : {}),
    ...(a.mac ? { hmac: [a.mac] } : {}),
    ...(a.kex ? { kex: [a.kex] } : {}),
    ...(a.hostKey ? { serverHostKey: [a.hostKey] } : {}),
  };
}
