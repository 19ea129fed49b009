/**
 * The cipher matrix: bulk download and upload through pure-ssh on each crypto provider,
 * OpenSSH's `ssh` and ssh2, all pinned to the same cipher (and MAC), plus a row where every
 * tool keeps its own defaults. Every variant runs once per repetition, in turn, through the
 * same sshd and endpoints as the classic scenarios. See bench/README.md "Cipher matrix".
 */
import { createRequire } from 'node:module';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import { macAlgorithms } from '../src/mac/registry.js';
import {
  ALGORITHM_SETS,
  MATRIX_CIPHERS,
  type CryptoChoice,
  type MatrixOptions,
  type MatrixScenario,
  type Tool,
  type TunnelAlgorithms,
} from './config.js';
import { runOnce, type BenchContext, type RunResult } from './scenarios.js';
import { pureVariant } from './tunnels.js';

/** The matrix's columns: pure-ssh once per crypto provider, then the two references. */
export const MATRIX_CLIENTS = ['pure-runtime', 'pure-pure', 'openssh', 'ssh2'] as const;
/** One of {@link MATRIX_CLIENTS}. */
export type MatrixClient = (typeof MATRIX_CLIENTS)[number];

/** Column headings. */
export const CLIENT_LABEL: Record<MatrixClient, string> = {
  'pure-runtime': 'pure-ssh (runtime)',
  'pure-pure': 'pure-ssh (pure TS)',
  openssh: 'OpenSSH ssh',
  ssh2: 'ssh2 (npm)',
};

const CLIENT_TOOL: Record<MatrixClient, Tool> = { 'pure-runtime': 'pure', 'pure-pure': 'pure', openssh: 'openssh', ssh2: 'ssh2' };
const CLIENT_CRYPTO: Partial<Record<MatrixClient, CryptoChoice>> = { 'pure-runtime': 'runtime', 'pure-pure': 'pure' };
/** What pure-ssh's `-v` calls each provider on Node (`crypto provider: …`). */
const PROVIDER_NAME: Record<CryptoChoice, string> = { runtime: 'node', pure: 'pure' };

/** The key of the row where no tool gets `-c` or `-m`. */
export const DEFAULTS_ROW = 'defaults';

/** A row of the matrix: one cipher (and MAC) every client is pinned to, or everyone's defaults. */
export interface MatrixRow {
  /** `cipher`, `cipher+mac`, or {@link DEFAULTS_ROW}. */
  key: string;
  cipher?: string;
  mac?: string;
}

/** One matrix run: a {@link RunResult} plus its row and column. */
export interface MatrixRunResult extends RunResult {
  scenario: MatrixScenario;
  row: string;
  client: MatrixClient;
}

/** `aes128-gcm@openssh.com` → `aes128-gcm`: what `--ciphers` also accepts. */
function short(name: string): string {
  return name.split('@')[0];
}

/**
 * The rows to run: every {@link MATRIX_CIPHERS} entry that pure-ssh's registries implement
 * (one row per MAC for CTR), the defaults row first; `selection` (`--ciphers`) narrows them.
 * Throws on a selection item that matches no row. `notes` says what was left out and why.
 */
export function matrixRows(selection: string[]): { rows: MatrixRow[]; notes: string[] } {
  const notes: string[] = [];
  const all: MatrixRow[] = [{ key: DEFAULTS_ROW }];
  for (const { cipher, macs } of MATRIX_CIPHERS) {
    if (!cipherAlgorithms.has(cipher)) {
      notes.push(`${cipher}: not in pure-ssh's cipher registry (src/cipher/registry.ts), left out`);
      continue;
    }
    if (!macs) {
      all.push({ key: cipher, cipher });
      continue;
    }
    for (const mac of macs) {
      if (macAlgorithms.has(mac)) all.push({ key: `${cipher}+${mac}`, cipher, mac });
      else notes.push(`${cipher} with ${mac}: ${mac} is not in pure-ssh's MAC registry (src/mac/registry.ts) yet, left out`);
    }
  }
  if (selection.length === 0) return { rows: all, notes };
  const matches = (item: string, row: MatrixRow): boolean => {
    if (item === DEFAULTS_ROW) return row.key === DEFAULTS_ROW;
    if (!row.cipher) return false;
    const [c, m] = item.split('+');
    const cipherOk = c === row.cipher || c === short(row.cipher);
    return m === undefined ? cipherOk : cipherOk && row.mac !== undefined && (m === row.mac || m === short(row.mac));
  };
  for (const item of selection) {
    if (!all.some((row) => matches(item, row))) {
      throw new Error(`--ciphers: ${item} is not a row of the matrix (rows: ${all.map((r) => r.key).join(', ')})`);
    }
  }
  return { rows: all.filter((row) => selection.some((item) => matches(item, row))), notes };
}

/** ssh2's own lists of what it can use here (its cipher support depends on OpenSSL). */
function ssh2Supported(): { ciphers?: string[]; macs?: string[] } {
  try {
    const c = createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as { SUPPORTED_CIPHER: string[]; SUPPORTED_MAC: string[] };
    return { ciphers: c.SUPPORTED_CIPHER, macs: c.SUPPORTED_MAC };
  } catch {
    return {};
  }
}

/**
 * The columns a row runs with, among `tools`: pure-ssh's pure-TypeScript provider only for
 * pinned ciphers (its defaults row would repeat the chacha20-poly1305 one), ssh2 only where it
 * supports the cipher and MAC (it has no UMAC).
 */
export function clientsFor(row: MatrixRow, tools: readonly Tool[]): MatrixClient[] {
  const ssh2 = ssh2Supported();
  return MATRIX_CLIENTS.filter((c) => {
    if (!tools.includes(CLIENT_TOOL[c])) return false;
    if (c === 'pure-pure') return row.key !== DEFAULTS_ROW;
    if (c === 'ssh2') {
      return (!row.cipher || !ssh2.ciphers || ssh2.ciphers.includes(row.cipher)) && (!row.mac || !ssh2.macs || ssh2.macs.includes(row.mac));
    }
    return true;
  });
}

/** Why a verbose run's negotiated algorithms are not what the variant asked for, if so. */
function mismatch(r: RunResult, row: MatrixRow, client: MatrixClient): string | undefined {
  const n = r.negotiated ?? {};
  if (!n.cipher) return 'could not read the negotiated cipher from the tool\'s verbose output';
  if (row.cipher && n.cipher !== row.cipher) return `negotiated ${n.cipher}, not ${row.cipher}`;
  if (row.mac && n.mac !== row.mac) return `negotiated MAC ${n.mac ?? '(none read)'}, not ${row.mac}`;
  const crypto = CLIENT_CRYPTO[client];
  if (crypto && n.provider !== PROVIDER_NAME[crypto]) return `crypto provider ${n.provider ?? '(none read)'}, not ${PROVIDER_NAME[crypto]}`;
  return undefined;
}

/**
 * Runs the matrix: for each scenario and repetition, every (row, column) once, in turn, so
 * drift on a shared machine hits all of them alike. Each tunnel runs verbosely and a run whose
 * negotiated cipher, MAC or provider differs from its variant's is FAILED. `ctx.opts.size`
 * must already be the matrix's size. Never throws for a failed run; `onRun` sees each result.
 */
export async function runMatrix(
  ctx: BenchContext,
  matrix: MatrixOptions,
  rows: MatrixRow[],
  tools: readonly Tool[],
  onRun: (r: MatrixRunResult) => void,
): Promise<MatrixRunResult[]> {
  const pinned = ALGORITHM_SETS[0];
  const variants = rows.flatMap((row) => clientsFor(row, tools).map((client) => ({ row, client })));
  const runs: MatrixRunResult[] = [];
  for (const scenario of matrix.scenarios) {
    for (let rep = 0; rep < matrix.reps; rep++) {
      for (const { row, client } of variants) {
        const tool = CLIENT_TOOL[client];
        const algs: TunnelAlgorithms = { cipher: row.cipher, mac: row.mac, kex: pinned.kex, hostKey: pinned.hostKey };
        const login = { ...ctx.login, crypto: CLIENT_CRYPTO[client], verbose: true };
        const r = await runOnce({ ...ctx, login }, scenario, tool, rep, algs);
        const m: MatrixRunResult = { ...r, scenario, row: row.key, client };
        const wrong = m.ok ? mismatch(m, row, client) : undefined;
        if (wrong) Object.assign(m, { ok: false, error: `FAILED: ${wrong}` });
        runs.push(m);
        onRun(m);
      }
    }
  }
  return runs;
}

/** How the pure-ssh columns ran, for the report. */
export function matrixProgramNote(): string {
  return pureVariant() === 'cli'
    ? 'pure-ssh: the CLI with `-c`/`-m`, `PURE_SSH_CRYPTO=pure` for the pure-TypeScript provider (unset for runtime and defaults)'
    : 'pure-ssh: the library stand-in (CLI not built), `crypto` option per provider';
}

/** A target of the matrix: a ratio of two cells' throughput medians, shown as met / not met. */
export interface MatrixTargetSpec {
  label: string;
  numerator: { row: string; client: MatrixClient };
  denominator: { row: string; client: MatrixClient };
  /** The ratio must be at least this, in download and in upload. */
  goal: number;
}

/**
 * The project's targets for bulk throughput (issue "Algorithms as plug-ins" §4). They live here
 * and in results.md, never in unit tests: on a shared 2-core machine they are measurements.
 */
export const MATRIX_TARGETS: readonly MatrixTargetSpec[] = [
  {
    label: "pure-ssh's defaults / OpenSSH's defaults",
    numerator: { row: DEFAULTS_ROW, client: 'pure-runtime' },
    denominator: { row: DEFAULTS_ROW, client: 'openssh' },
    goal: 1.0,
  },
  {
    label: 'aes128-gcm: pure-ssh (runtime) / OpenSSH',
    numerator: { row: 'aes128-gcm@openssh.com', client: 'pure-runtime' },
    denominator: { row: 'aes128-gcm@openssh.com', client: 'openssh' },
    goal: 0.8,
  },
  {
    label: 'chacha20-poly1305: pure-ssh (pure TS) / OpenSSH',
    numerator: { row: 'chacha20-poly1305@openssh.com', client: 'pure-pure' },
    denominator: { row: 'chacha20-poly1305@openssh.com', client: 'openssh' },
    goal: 0.6,
  },
];
