/**
 * What `pure-ssh-bench` measures: the handshake rows (kex method × host key algorithm) and the
 * data rows (cipher, and MAC for ciphers without built-in integrity), chosen from what the server
 * offers in its KEXINIT (RFC 4253 §7.1), what pure-ssh implements and what the local OpenSSH
 * client supports (`ssh -Q`). Runtime-agnostic.
 */
import { defaultAlgorithms, supportedAlgorithms } from '../algorithms.js';
import { cipherAlgorithms } from '../cipher/registry.js';
import { isPseudoKex } from '../transport/kexinit.js';
import { BenchArgError } from './args.js';

/** The server's offer, from its KEXINIT (client-to-server lists for ciphers and MACs). */
export interface ServerOffer {
  kex: string[];
  hostKey: string[];
  cipher: string[];
  mac: string[];
}

/** One handshake row: both clients pinned to this kex method and host key algorithm. */
export interface HandshakeRow {
  key: string;
  kex: string;
  hostKey: string;
  /** Why OpenSSH's ssh does not run this row (it lacks an algorithm); undefined: it runs. */
  opensshMissing?: string;
}

/** One data row: both clients pinned to this cipher (and MAC; none for AEAD ciphers). */
export interface DataRow {
  key: string;
  cipher: string;
  mac?: string;
  opensshMissing?: string;
}

/** The rows and what was left out and why. */
export interface BenchPlan {
  handshake: HandshakeRow[];
  data: DataRow[];
  notes: string[];
}

/** What the user selected, per category (undefined: defaults). */
export interface PlanSelection {
  kex?: string[];
  hostKeys?: string[];
  ciphers?: string[];
  macs?: string[];
  /** At most this many rows per category (the `--quick` bound); undefined: all. */
  limit?: number;
}

type Category = 'kex' | 'hostKey' | 'cipher' | 'mac';

const WHAT: Record<Category, string> = { kex: 'kex method', hostKey: 'host key algorithm', cipher: 'cipher', mac: 'MAC' };
const FLAG: Record<Category, string> = { kex: '--kex', hostKey: '--host-keys', cipher: '--ciphers', mac: '--macs' };

/**
 * The candidates of one category: the user's names (each must be one pure-ssh implements and the
 * server offers; anything else is an error naming it) or pure-ssh's defaults in their order,
 * kept when the server offers them.
 */
function candidates(cat: Category, chosen: string[] | undefined, server: string[], provider: string, notes: string[]): string[] {
  const supported = supportedAlgorithms()[cat];
  if (chosen) {
    for (const n of chosen) {
      if (!supported.includes(n)) throw new BenchArgError(`${FLAG[cat]}: pure-ssh does not implement the ${WHAT[cat]} ${n} (it has: ${supported.join(',')})`);
      if (!server.includes(n)) throw new BenchArgError(`${FLAG[cat]}: the server does not offer the ${WHAT[cat]} ${n} (it offers: ${server.join(',')})`);
    }
    return [...new Set(chosen)];
  }
  const defaults = defaultAlgorithms(provider)[cat].filter((n) => !(cat === 'kex' && isPseudoKex(n)));
  const both = defaults.filter((n) => server.includes(n));
  // The same method under two names (curve25519-sha256 and its @libssh.org original, RFC 8731 §1):
  // measured once, under the first name.
  const offered = cat === 'kex' ? both.filter((n, i) => both.findIndex((m) => m.split('@')[0] === n.split('@')[0]) === i) : both;
  const aliases = both.filter((n) => !offered.includes(n));
  if (aliases.length) notes.push(`not measured separately, other names of a measured kex method: ${aliases.join(', ')}`);
  if (offered.length === 0) throw new BenchArgError(`the server offers no ${WHAT[cat]} among pure-ssh's defaults (it offers: ${server.join(',')}); name one with ${FLAG[cat]}`);
  const extra = server.filter((n) => !(cat === 'kex' && isPseudoKex(n)) && !both.includes(n));
  if (extra.length) notes.push(`${WHAT[cat]}s the server also offers, not measured by default: ${extra.join(', ')} (name them with ${FLAG[cat]})`);
  return offered;
}

function bounded<T>(items: T[], limit: number | undefined, what: string, notes: string[]): T[] {
  if (limit === undefined || items.length <= limit) return items;
  notes.push(`--quick: the first ${limit} of ${items.length} ${what} only`);
  return items.slice(0, limit);
}

/**
 * The rows: each kex method with the first host key algorithm, then each other host key
 * algorithm with the first kex method (not the whole cross product); each cipher, an AEAD one
 * alone, the others once per MAC. `openssh` holds what `ssh -Q` lists per category (undefined:
 * no OpenSSH side), to mark the rows it cannot run. `provider` orders pure-ssh's default ciphers
 * (cipher/registry.ts).
 */
export function planRows(server: ServerOffer, sel: PlanSelection, provider: string, openssh?: Record<Category, string[]>): BenchPlan {
  const notes: string[] = [];
  const kex = bounded(candidates('kex', sel.kex, server.kex, provider, notes), sel.limit, 'kex methods', notes);
  const hostKeys = bounded(candidates('hostKey', sel.hostKeys, server.hostKey, provider, notes), sel.limit, 'host key algorithms', notes);
  const ciphers = bounded(candidates('cipher', sel.ciphers, server.cipher, provider, notes), sel.limit, 'ciphers', notes);
  const needsMac = ciphers.some((c) => !cipherAlgorithms.get(c)!.aead);
  const macs = needsMac ? candidates('mac', sel.macs, server.mac, provider, notes) : [];
  const macsUsed = sel.macs ? macs : macs.slice(0, 1);
  const missing = (pairs: [Category, string | undefined][]): string | undefined => {
    if (!openssh) return undefined;
    const lacking = pairs.filter(([c, n]) => n !== undefined && !openssh[c].includes(n)).map(([c, n]) => `${WHAT[c]} ${n}`);
    return lacking.length ? `OpenSSH's ssh does not support the ${lacking.join(' and ')}` : undefined;
  };
  const handshake: HandshakeRow[] = [];
  for (const k of kex) handshake.push({ key: `${k} / ${hostKeys[0]}`, kex: k, hostKey: hostKeys[0]!, opensshMissing: missing([['kex', k], ['hostKey', hostKeys[0]]]) });
  for (const h of hostKeys.slice(1)) handshake.push({ key: `${kex[0]} / ${h}`, kex: kex[0]!, hostKey: h, opensshMissing: missing([['kex', kex[0]], ['hostKey', h]]) });
  const data: DataRow[] = [];
  for (const c of ciphers) {
    if (cipherAlgorithms.get(c)!.aead) data.push({ key: c, cipher: c, opensshMissing: missing([['cipher', c]]) });
    else for (const m of macsUsed) data.push({ key: `${c} + ${m}`, cipher: c, mac: m, opensshMissing: missing([['cipher', c], ['mac', m]]) });
  }
  for (const r of [...handshake, ...data]) if (r.opensshMissing) notes.push(`${r.key}: ${r.opensshMissing}; pure-ssh alone`);
  return { handshake, data, notes };
}

/**
 * The kex method the data rows pin both clients to: the one pure-ssh negotiates by default, when
 * OpenSSH's ssh has it too (or there is no OpenSSH side); else the first of pure-ssh's defaults
 * that the server offers and ssh has, with a note. The data rows measure ciphers: a kex method
 * one client lacks (ssh 9.2 and mlkem768x25519-sha256, an OpenSSH 10 server's first) would fail
 * every run of that client. With none in common the default stays (ssh then says why it fails).
 */
export function dataKex(server: ServerOffer, negotiated: string, provider: string, openssh?: { kex: string[] }): { kex: string; note?: string } {
  if (!openssh || openssh.kex.includes(negotiated)) return { kex: negotiated };
  const common = defaultAlgorithms(provider).kex.find((n) => !isPseudoKex(n) && server.kex.includes(n) && openssh.kex.includes(n));
  if (!common) return { kex: negotiated };
  return { kex: common, note: `data rows: OpenSSH's ssh does not support the kex method ${negotiated} (pure-ssh's choice with this server), so both clients use ${common}` };
}
