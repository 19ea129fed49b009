/**
 * The numeric connect options checked before any socket is opened: a value outside its range is
 * a UsageError naming the option and the value, never a default silently put in its place nor a
 * Node error from deep inside (ERR_SOCKET_BAD_PORT). Used by the Node `connect()` (before any
 * socket) and by {@link ClientCore} (every adapter).
 *
 * The ranges follow OpenSSH's equivalents (readconf.c and ssh.c; read for behaviour):
 * - `port`: 1 to 65535 (ssh.c refuses "Bad port" for 0 and anything a2port cannot read).
 * - `rekeyBytes`: 0 (the cipher's own limit, as RekeyLimit's `0`/`default`) or a whole number
 *   of bytes >= 16 (readconf.c oRekeyLimit: "RekeyLimit too small" below 16). It can only lower
 *   the cipher's own limit (cipher.ts rekeyLimitBytes), never raise it.
 * - `rekeyPackets`: 0 (the default, 2^31) or a whole number of packets >= 1.
 * - `connectTimeout`, `bannerTimeout`, `keepaliveInterval`, `rekeyTime`: milliseconds, a finite
 *   number >= 0, 0 = off (ConnectTimeout, ServerAliveInterval, RekeyLimit's time: 0 = none).
 * - `keepaliveCountMax`, `passwordAttempts`: whole numbers >= 0 (ServerAliveCountMax,
 *   NumberOfPasswordPrompts).
 */
import { UsageError } from './errors.js';
import { keyBlobType } from './keys/hostkey.js';
import { ALGORITHM_CATEGORIES } from './algorithms.js';
import type { DirectTcpipParams } from './connection/channel-types.js';

export interface NumericOptions {
  port?: number;
  rekeyBytes?: number;
  rekeyPackets?: number;
  connectTimeout?: number;
  bannerTimeout?: number;
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  rekeyTime?: number;
  passwordAttempts?: number;
}

/** RekeyLimit's smallest byte amount other than 0 (OpenSSH readconf.c oRekeyLimit). */
export const MIN_REKEY_BYTES = 16;

/**
 * A value as an error message shows it: strings quoted (so that `'3003'` is told from `3003`),
 * arrays, functions and other objects by kind, the rest as written.
 */
export const show = (v: unknown): string =>
  typeof v === 'string'
    ? JSON.stringify(v)
    : typeof v === 'function'
      ? 'a function'
      : v === null || typeof v !== 'object'
        ? String(v)
        : Array.isArray(v)
          ? 'an array'
          : v instanceof Uint8Array
            ? 'a Uint8Array'
            : 'an object';
const whole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Throws a UsageError for the first option of `o` outside its range (see the module comment). */
export function checkNumericOptions(o: NumericOptions): void {
  const { port, rekeyBytes, rekeyPackets } = o;
  if (port !== undefined && !(whole(port) && port >= 1 && port <= 65535)) {
    throw new UsageError(`port must be a whole number from 1 to 65535, got ${show(port)}`);
  }
  if (rekeyBytes !== undefined && !(whole(rekeyBytes) && (rekeyBytes === 0 || rekeyBytes >= MIN_REKEY_BYTES))) {
    throw new UsageError(`rekeyBytes must be 0 (the cipher's own limit) or a whole number of bytes >= ${MIN_REKEY_BYTES}, got ${show(rekeyBytes)}`);
  }
  if (rekeyPackets !== undefined && !(whole(rekeyPackets) && rekeyPackets >= 0)) {
    throw new UsageError(`rekeyPackets must be 0 (the default, 2^31) or a whole number of packets >= 1, got ${show(rekeyPackets)}`);
  }
  for (const name of ['connectTimeout', 'bannerTimeout', 'keepaliveInterval', 'rekeyTime'] as const) {
    const v = o[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw new UsageError(`${name} must be a number of milliseconds >= 0 (0 = off), got ${show(v)}`);
    }
  }
  for (const name of ['keepaliveCountMax', 'passwordAttempts'] as const) {
    const v = o[name];
    if (v !== undefined && !(whole(v) && v >= 0)) throw new UsageError(`${name} must be a whole number >= 0, got ${show(v)}`);
  }
}

/**
 * How {@link checkOptionTypes} checks an option's value (a one-letter code, to keep the tables of
 * the Node and web `connect()` small in a browser bundle):
 * `S` a non-empty string that must be given (`host`, `username`), `s` a string, `b` true or false, `f` a function, `g` an AbortSignal,
 * `p` a string or a Uint8Array, `k` key text, key bytes or a parsed key, or a list of them,
 * `c` certificate text or bytes, or a list of them, `l` a non-empty string or a list of non-empty
 * strings (what an empty list means is the option's), `a` a list (its entries are checked where they are read), `*` checked by
 * code of its own at the entry point (numbers by {@link checkNumericOptions}).
 */
export type OptionKind = 'S' | 's' | 'b' | 'f' | 'g' | 'p' | 'k' | 'c' | 'l' | 'a' | '*';

const EXPECTED: Record<Exclude<OptionKind, '*'>, string> = {
  S: 'a non-empty string',
  s: 'a string',
  b: 'true or false',
  f: 'a function',
  g: 'an AbortSignal',
  p: 'a string or a Uint8Array',
  k: 'key text, bytes or a PrivateKey (or a list)',
  c: 'certificate text or bytes (or a list)',
  l: 'a non-empty string or a string[]',
  a: 'an array',
};

const isBytes = (v: unknown): boolean => typeof v === 'string' || v instanceof Uint8Array;
const fits = (kind: OptionKind, v: unknown): boolean => {
  switch (kind) {
    case 'S':
      return typeof v === 'string' && v !== '';
    case 's':
      return typeof v === 'string';
    case 'b':
      return typeof v === 'boolean';
    case 'f':
      return typeof v === 'function';
    case 'g':
      // By shape, not instanceof: a signal from another realm (a frame, a vm context) is one too.
      return typeof (v as AbortSignal | null)?.aborted === 'boolean' && typeof (v as AbortSignal).addEventListener === 'function';
    case 'p':
      return isBytes(v);
    case 'k':
    case 'c': {
      const one = (x: unknown) => isBytes(x) || (kind === 'k' && typeof x === 'object' && x !== null && (x as { publicKeyBlob?: unknown }).publicKeyBlob instanceof Uint8Array);
      return Array.isArray(v) ? v.every(one) : one(v);
    }
    case 'l':
      return (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== ''));
    case 'a':
      return Array.isArray(v);
  }
  return true;
};

/**
 * The known option closest to `name`: the same but for case, or one or two letters off
 * (`keepAliveInterval` → `keepaliveInterval`, `identityFile` → `identityFiles`); undefined when
 * none is near.
 */
export function nearestOption(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Math.min(2, name.length >> 2) + 1;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** Edit distance with transpositions (optimal string alignment): `signesr` is one from `signers`. */
function editDistance(a: string, b: string): number {
  let prev: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) next[j] = Math.min(next[j]!, prev[j - 2]! + 1);
    }
    [prev, row] = [row, next];
  }
  return row[b.length]!;
}

/**
 * Throws a UsageError for the first key of `o` that `table` does not list (a misspelt option is
 * a mistake, never a request for the default): `unknown option keepAliveInterval (did you mean
 * keepaliveInterval?)`, or, for a key `elsewhere` knows, `what+key` followed by its text there.
 * Keys whose value is undefined ask for nothing and pass. `what` prefixes nested names
 * (`windowAutoTune.`).
 */
export function checkOptionKeys(o: object, table: object, what = '', elsewhere: Record<string, string> = {}): void {
  for (const k of Object.keys(o)) {
    if ((o as Record<string, unknown>)[k] === undefined || Object.hasOwn(table, k)) continue;
    if (Object.hasOwn(elsewhere, k)) throw new UsageError(`${what}${k} ${elsewhere[k]}`);
    const near = nearestOption(k, Object.keys(table));
    throw new UsageError(`unknown option ${what}${k}${near ? ` (did you mean ${what}${near}?)` : ''}`);
  }
}

/**
 * {@link checkOptionKeys} for the options argument of a call other than connect(), the call named
 * first: `forwardLocal: unknown option listen.hots (did you mean listen.host?)`. `o` not an
 * object is left to the call's own checks.
 */
export function checkCallKeys(call: string, o: unknown, table: object, what = '', elsewhere: Record<string, string> = {}): void {
  if (typeof o !== 'object' || o === null) return;
  try {
    checkOptionKeys(o, table, what, elsewhere);
  } catch (err) {
    throw err instanceof UsageError ? new UsageError(`${call}: ${err.message}`) : err;
  }
}

/**
 * `signal` given to a call that takes none (forwardLocal, forwardRemote, forwardDynamic,
 * openDirectTcpip): refused rather than ignored, as a caller passing it believes the call can be
 * aborted. The words after the option's name in {@link checkCallKeys}' UsageError.
 */
export const NO_SIGNAL = { signal: 'is not taken (no AbortSignal): close the forward, the stream or the connection instead' };

/**
 * Throws a UsageError for the first option of `o` whose value is not of the kind `table` gives
 * it: `compression must be true or false, got "no"` (never coerced: `'no'` is truthy).
 */
export function checkOptionTypes(o: object, table: Record<string, OptionKind>, what = ''): void {
  for (const [k, kind] of Object.entries(table)) {
    const v = (o as Record<string, unknown>)[k];
    if ((v !== undefined || kind === 'S') && kind !== '*' && !fits(kind, v)) throw new UsageError(`${what}${k} must be ${EXPECTED[kind]}, got ${show(v)}`);
  }
}

/**
 * The `signers` option: an array of {@link Signer}-shaped objects whose `sign` is a function and
 * whose `publicKeyBlob` is an SSH public key blob (RFC 4253 §6.6: it starts with its key type
 * string). A bad blob is the caller's mistake, named by the signer's index and comment; it is
 * never sent for the server to be blamed for (a ProtocolError "truncated message").
 */
export function checkSigners(signers: unknown): void {
  if (signers !== undefined && !Array.isArray(signers)) throw new UsageError(`signers must be an array of Signers, got ${show(signers)}`);
  (signers as ({ publicKeyBlob?: unknown; sign?: unknown; comment?: unknown } | null)[] | undefined)?.forEach((s, i) => {
    const name = `signers[${i}]${typeof s?.comment === 'string' ? ` (${JSON.stringify(s.comment)})` : ''}`;
    if (typeof s?.sign !== 'function') throw new UsageError(`${name}: sign must be a function, got ${show(s?.sign)}`);
    const blob = s.publicKeyBlob;
    let cause: unknown;
    try {
      keyBlobType(blob as Uint8Array);
      if (blob instanceof Uint8Array) return;
    } catch (err) {
      cause = err;
    }
    throw new UsageError(`${name}: publicKeyBlob must be an SSH public key blob (RFC 4253 §6.6), got ${show(blob)}`, { cause });
  });
}

/**
 * RFC 4254 §7.2 direct-tcpip's fields, before anything is sent: `host` a non-empty string and
 * `port` a whole number 0..65535, the originator's address and port likewise when given (a host
 * or port of another type made a malformed packet, and sshd dropped the whole connection for it).
 */
export function checkDirectTcpip(p: DirectTcpipParams): void {
  for (const k of ['host', 'port', 'originatorAddress', 'originatorPort'] as const) {
    const v: unknown = p?.[k];
    const port = k.endsWith('ort');
    if (!port && k !== 'host' && v === undefined) continue;
    // An empty host is sent as it is, as ssh -W :port sends it: the server's refusal says why.
    if (port ? (v !== undefined || k === 'port') && !(whole(v) && v >= 0 && v <= 65535) : typeof v !== 'string') {
      throw new UsageError(`openDirectTcpip: ${k} must be ${port ? 'a whole number from 0 to 65535' : 'a string'}, got ${show(v)}`);
    }
  }
}

/**
 * The `algorithms` option: an object of OpenSSH-style lists keyed by category
 * ({@link ALGORITHM_CATEGORIES}), each a non-empty string or list of names. A misspelt category
 * (`ciphers`) or an empty list is a mistake, not a request for the defaults. `elsewhere` words
 * keys that are options of another place (see {@link checkOptionKeys}).
 */
export function checkAlgorithmLists(a: unknown, elsewhere?: Record<string, string>): void {
  if (a === undefined) return;
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new UsageError(`algorithms must be { kex, hostKey, cipher, mac } lists, got ${show(a)}`);
  checkOptionKeys(a, Object.fromEntries(ALGORITHM_CATEGORIES.map((c) => [c.key, 0])), 'algorithms.', elsewhere);
  for (const [k, spec] of Object.entries(a)) {
    const ok = spec === undefined || (typeof spec === 'string' && spec !== '') || (Array.isArray(spec) && spec.length > 0 && spec.every((x) => typeof x === 'string' && x !== ''));
    if (!ok) throw new UsageError(`algorithms.${k} must be a non-empty list of names (string or string[]), got ${show(spec)}`);
  }
}
