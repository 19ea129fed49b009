/**
 * The command line of `pure-ssh-bench` (docs/pure-ssh-bench.md): ssh(1)'s login options, passed
 * unchanged to pure-ssh's configuration code and to OpenSSH's `ssh`, plus the bench's own long
 * options. Runtime-agnostic: no IO here.
 */

/** What the user asked for. */
export interface BenchArgs {
  /** ssh(1) options in the order given (`-p`, `-l`, `-i`, `-o`, `-F`, `-J`, `-4`, `-6`, `-v`). */
  sshArgs: string[];
  /** `[user@]host` as typed. */
  destination: string;
  quick: boolean;
  json: boolean;
  /** Write the SVG chart here. */
  svg?: string;
  /** Exact algorithm names to measure (undefined: from the server's offer and the defaults). */
  ciphers?: string[];
  macs?: string[];
  kex?: string[];
  hostKeys?: string[];
  /** Bytes per transfer (`--size`; K, M, G suffixes are powers of 1024). */
  size: number;
  /** Timed repetitions per row and tool. */
  reps: number;
  /** Round trips per latency run. */
  roundTrips: number;
  /** An echo service (RFC 862) the server can reach, instead of the loop through the server. */
  target?: { host: string; port: number };
  openssh: boolean;
  /** The OpenSSH client to compare with (`--ssh`, default `ssh` on PATH). */
  ssh: string;
  /** Whether `--ssh` named it: one that cannot run is then an error, not "pure-ssh alone". */
  sshGiven: boolean;
  /** Whole run, in seconds. */
  timeLimit: number;
  /** Which parts run. */
  handshake: boolean;
  data: boolean;
}

/** A command-line mistake: printed with the usage, exit status 255. */
export class BenchArgError extends Error {
  override name = 'BenchArgError';
}

export const BENCH_USAGE = `usage: pure-ssh-bench [-46v] [-F configfile] [-i identity_file] [-J destination]
           [-l login_name] [-o option] [-p port] [--quick] [--json] [--svg FILE]
           [--ciphers LIST] [--macs LIST] [--kex LIST] [--host-keys LIST] [--size BYTES]
           [--reps N] [--round-trips N] [--target host:port] [--only handshake|data]
           [--no-openssh] [--ssh PATH] [--time-limit SECONDS] [user@]host
  -p -l -i -o -F -J -4 -6 -v  as in ssh(1); also given to OpenSSH's ssh for the comparison
  --quick               2 kex, 2 host key and 2 cipher rows, 3 repetitions, 8 MiB (about a minute)
  --json                the report as JSON on stdout (default: tables)
  --svg FILE            also write an SVG chart to FILE
  --ciphers/--macs/--kex/--host-keys LIST
                        comma-separated algorithm names to measure (default: those the server
                        offers among pure-ssh's defaults)
  --size BYTES          bytes per transfer (K, M, G suffixes; default 64M, quick 8M)
  --reps N              timed repetitions per row and client (default 5, quick 3)
  --round-trips N       64-byte round trips per latency run (default 200, quick 50)
  --target host:port    an echo service (RFC 862) the server can reach; default: loop the data
                        through the server (a remote forward on its loopback)
  --only handshake|data run one part only
  --no-openssh          pure-ssh alone (default: OpenSSH's ssh side by side, when installed)
  --ssh PATH            the OpenSSH client to compare with (default: ssh)
  --time-limit SECONDS  bound on the whole run (default 600, quick 180)
exit status: 0 all runs succeeded, 1 some runs failed, 255 the bench could not run
`;

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `64M` → 67108864 (K, M, G are powers of 1024). */
export function parseSize(text: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(text);
  if (!m) throw new BenchArgError(`Bad size '${text}' (bytes, with an optional K, M or G suffix)`);
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  if (n < 1024 || n > 64 * 1024 ** 3) throw new BenchArgError(`Bad size '${text}' (1K to 64G)`);
  return n;
}

function positiveInt(text: string, what: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new BenchArgError(`Bad ${what} '${text}' (1 to ${max})`);
  return n;
}

function list(text: string, what: string): string[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new BenchArgError(`Bad ${what} list '${text}' (comma-separated names)`);
  return names;
}

/** `host:port` or `[v6]:port`. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new BenchArgError(`Bad target '${text}' (host:port)`);
  return { host: m[1]!, port };
}

/**
 * Parses the command line. ssh(1)'s options with a value may be glued (`-p2222`) or separate;
 * `--quick` changes the defaults of `--size`, `--reps`, `--round-trips` and `--time-limit` (an
 * explicit value wins). Throws {@link BenchArgError}.
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | 'help' | 'version' {
  const sshArgs: string[] = [];
  const given: Partial<BenchArgs> = {};
  let quick = false;
  let json = false;
  let openssh = true;
  let destination: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new BenchArgError(`option requires an argument -- ${arg.replace(/^-+/, '')}`);
      return v;
    };
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '-V' || arg === '--version') return 'version';
    if (arg === '--') {
      if (i + 1 < argv.length) destination ??= argv[++i];
      continue;
    }
    if (arg.startsWith('--')) {
      switch (arg) {
        case '--quick':
          quick = true;
          break;
        case '--json':
          json = true;
          break;
        case '--no-openssh':
          openssh = false;
          break;
        case '--svg':
          given.svg = value();
          break;
        case '--ciphers':
          given.ciphers = list(value(), 'cipher');
          break;
        case '--macs':
          given.macs = list(value(), 'MAC');
          break;
        case '--kex':
          given.kex = list(value(), 'kex');
          break;
        case '--host-keys':
          given.hostKeys = list(value(), 'host key algorithm');
          break;
        case '--size':
          given.size = parseSize(value());
          break;
        case '--reps':
          given.reps = positiveInt(value(), 'repetition count', 1000);
          break;
        case '--round-trips':
          given.roundTrips = positiveInt(value(), 'round-trip count', 1_000_000);
          break;
        case '--target':
          given.target = parseHostPort(value());
          break;
        case '--ssh':
          given.ssh = value();
          break;
        case '--time-limit':
          given.timeLimit = positiveInt(value(), 'time limit', 24 * 3600);
          break;
        case '--only': {
          const v = value();
          if (v !== 'handshake' && v !== 'data') throw new BenchArgError(`Bad --only '${v}' (handshake or data)`);
          given.handshake = v === 'handshake';
          given.data = v === 'data';
          break;
        }
        default:
          throw new BenchArgError(`unknown option -- ${arg.slice(2)}`);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // ssh(1)'s flags, possibly grouped (-4v); those with a value take the rest or the next word.
      for (let j = 1; j < arg.length; j++) {
        const f = arg[j]!;
        if (f === '4' || f === '6' || f === 'v') {
          sshArgs.push(`-${f}`);
        } else if ('plioFJ'.includes(f)) {
          const rest = arg.slice(j + 1);
          sshArgs.push(`-${f}`, rest !== '' ? rest : value());
          break;
        } else {
          throw new BenchArgError(`unknown option -- ${f}`);
        }
      }
      continue;
    }
    if (destination === undefined) destination = arg;
    else throw new BenchArgError(`unexpected argument: ${arg} (pure-ssh-bench runs no remote command)`);
  }
  if (destination === undefined) throw new BenchArgError('no host given');
  return {
    sshArgs,
    destination,
    quick,
    json,
    svg: given.svg,
    ciphers: given.ciphers,
    macs: given.macs,
    kex: given.kex,
    hostKeys: given.hostKeys,
    size: given.size ?? (quick ? 8 * 1024 ** 2 : 64 * 1024 ** 2),
    reps: given.reps ?? (quick ? 3 : 5),
    roundTrips: given.roundTrips ?? (quick ? 50 : 200),
    target: given.target,
    openssh,
    ssh: given.ssh ?? 'ssh',
    sshGiven: given.ssh !== undefined,
    timeLimit: given.timeLimit ?? (quick ? 180 : 600),
    handshake: given.handshake ?? true,
    data: given.data ?? true,
  };
}
