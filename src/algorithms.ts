/**
 * Algorithm categories, preferences and OpenSSH's list syntax (RFC 4253 §7.1; ssh_config(5)
 * "Ciphers", "MACs", "KexAlgorithms", "HostKeyAlgorithms"). Every category reads its registry
 * (kex/, keys/, cipher/, mac/), so adding an algorithm is one file plus one registry row; the
 * CLI flags, ssh_config keywords and `connect()` options come from {@link ALGORITHM_CATEGORIES}.
 */
import { cipherAlgorithms, defaultCiphers } from './cipher/registry.js';
import { UsageError } from './errors.js';
import { DEFAULT_KEX, kexMethods } from './kex/registry.js';
import { DEFAULT_HOST_KEY_ALGORITHMS, hostKeyAlgorithms } from './keys/hostkey.js';
import { DEFAULT_MACS, macAlgorithms } from './mac/registry.js';
import { globMatch } from './protocol/glob.js';

/** User-facing algorithm preferences (OpenSSH's Ciphers / MACs / KexAlgorithms / HostKeyAlgorithms). */
export interface AlgorithmPreferences {
  kex: string[];
  hostKey: string[];
  cipher: string[];
  mac: string[];
  compression: string[];
}

/** A user-selectable category: its ssh_config keyword and ssh(1) flag. */
export interface AlgorithmCategory {
  key: Exclude<keyof AlgorithmPreferences, 'compression'>;
  /** ssh_config(5) keyword. */
  configKeyword: string;
  /** ssh(1) flag taking the same list (`-c`, `-m`), if any. */
  cliFlag?: string;
  /** What a person calls it in messages. */
  label: string;
}

/** The categories a user can set, one row each (the review's "categories become data"). */
export const ALGORITHM_CATEGORIES: readonly AlgorithmCategory[] = [
  { key: 'kex', configKeyword: 'KexAlgorithms', label: 'key exchange' },
  { key: 'hostKey', configKeyword: 'HostKeyAlgorithms', label: 'host key' },
  { key: 'cipher', configKeyword: 'Ciphers', cliFlag: 'c', label: 'cipher' },
  { key: 'mac', configKeyword: 'MACs', cliFlag: 'm', label: 'MAC' },
];

/**
 * Defaults, safe algorithms only, for the crypto provider in use (`pure` or a runtime provider's
 * name): the cipher order depends on which is faster there (cipher/registry.ts).
 */
export function defaultAlgorithms(provider = 'pure'): AlgorithmPreferences {
  return {
    kex: [...DEFAULT_KEX],
    hostKey: [...DEFAULT_HOST_KEY_ALGORITHMS],
    cipher: defaultCiphers(provider),
    mac: [...DEFAULT_MACS],
    compression: ['none'],
  };
}

/** Every algorithm name we implement, per category (for validating user lists). */
export function supportedAlgorithms(): AlgorithmPreferences {
  return {
    kex: [...kexMethods.keys()],
    hostKey: [...hostKeyAlgorithms.keys()],
    cipher: [...cipherAlgorithms.keys()],
    mac: [...macAlgorithms.keys()],
    compression: ['none'],
  };
}

/** What a person calls a category in messages ("host key", not "hostKey"). */
function categoryLabel(category: keyof AlgorithmPreferences): string {
  return ALGORITHM_CATEGORIES.find((c) => c.key === category)?.label ?? category;
}

/**
 * Apply an OpenSSH-style list spec (ssh_config(5) "Ciphers"): a plain list replaces the
 * defaults; `+list` appends (the way to enable legacy algorithms), `-list` removes, `^list` puts
 * first; wildcards `*` and `?` everywhere. Names we do not implement are an error that lists
 * what is available.
 */
export function applyAlgorithmSpec(
  category: keyof AlgorithmPreferences,
  defaults: readonly string[],
  spec: string | readonly string[],
): string[] {
  const supported = supportedAlgorithms()[category];
  const raw = typeof spec === 'string' ? spec : spec.join(',');
  const op = raw[0];
  const names = (op === '+' || op === '-' || op === '^' ? raw.slice(1) : raw).split(',').filter(Boolean);
  const matchAny = (name: string) => names.some((p) => globMatch(name, p));
  let result: string[];
  if (op === '-') {
    result = defaults.filter((n) => !matchAny(n));
  } else {
    const expanded = names.flatMap((p) => (/[*?]/.test(p) ? supported.filter((s) => globMatch(s, p)) : [p]));
    const unknown = expanded.filter((n) => !supported.includes(n));
    if (unknown.length > 0) {
      throw new UsageError(
        `unsupported ${categoryLabel(category)} algorithm(s): ${unknown.join(',')} (pure-ssh supports: ${supported.join(',') || 'none'})`,
      );
    }
    const unique = [...new Set(expanded)];
    if (op === '+') result = [...defaults, ...unique.filter((n) => !defaults.includes(n))];
    else if (op === '^') result = [...unique, ...defaults.filter((n) => !unique.includes(n))];
    else result = unique;
  }
  if (result.length === 0) {
    throw new UsageError(`no ${categoryLabel(category)} algorithm left after applying "${raw}"`);
  }
  return result;
}

/**
 * Put the host key algorithms for `knownKeyTypes` first, keeping the rest in order (ssh(1)
 * order_hostkeyalgs): the server then proves the key the user already trusts.
 */
export function preferKnownHostKeyTypes(algorithms: readonly string[], knownKeyTypes: readonly string[]): string[] {
  const isKnown = (alg: string) => knownKeyTypes.includes(hostKeyAlgorithms.get(alg)?.keyType ?? alg);
  return [...algorithms.filter(isKnown), ...algorithms.filter((a) => !isKnown(a))];
}
