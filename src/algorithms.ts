/**
 * Algorithm categories, preferences and OpenSSH's list syntax (RFC 4253 §7.1; ssh_config(5)
 * "Ciphers", "MACs", "KexAlgorithms", "HostKeyAlgorithms"). Every category reads its registry
 * (kex/, keys/, cipher/, mac/), so adding an algorithm is one file plus one registry row; the
 * CLI flags, ssh_config keywords and `connect()` options come from {@link ALGORITHM_CATEGORIES}.
 */
import { cipherAlgorithms, defaultCiphers } from './cipher/registry.js';
import { UsageError } from './errors.js';
import { DEFAULT_KEX, kexMethods } from './kex/registry.js';
import { certifiedKeyType, isCertificateType } from './keys/certificate.js';
import { DEFAULT_HOST_KEY_ALGORITHMS, hostKeyAlgorithms, legacyHostKeyAlgorithms } from './keys/hostkey.js';
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

/**
 * Every algorithm name we implement, per category (for validating user lists). The legacy host
 * key algorithms (SHA-1 `ssh-rsa`, `ssh-rsa-cert-v01@openssh.com`) are here so a user can name
 * them (`HostKeyAlgorithms +ssh-rsa`) and so wildcards reach them as in ssh(1), whose `+ssh-rsa*`
 * appends both (readconf.c / kex_assemble_names() match against every algorithm ssh knows); they
 * are never in {@link defaultAlgorithms}.
 */
export function supportedAlgorithms(): AlgorithmPreferences {
  return {
    kex: [...kexMethods.keys()],
    hostKey: [...hostKeyAlgorithms.keys(), ...legacyHostKeyAlgorithms.keys()],
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
  return applySpec(supportedAlgorithms()[category], categoryLabel(category), defaults, spec);
}

/**
 * ssh_config(5) PubkeyAcceptedAlgorithms (`+`/`-`/`^` and wildcards as for HostKeyAlgorithms,
 * the same names, readconf.c): the key types and signature algorithms public key authentication
 * may use. The default is OpenSSH's (KEX_DEFAULT_PK_ALG, as HostKeyAlgorithms', without `sk-*`),
 * so SHA-1 `ssh-rsa` only when named (`+ssh-rsa`).
 */
export function applyPubkeyAcceptedSpec(spec: string | readonly string[] | undefined): string[] {
  if (spec === undefined) return [...DEFAULT_HOST_KEY_ALGORITHMS];
  return applySpec(supportedAlgorithms().hostKey, 'public key', DEFAULT_HOST_KEY_ALGORITHMS, spec);
}

function applySpec(supported: readonly string[], label: string, defaults: readonly string[], spec: string | readonly string[]): string[] {
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
        `unsupported ${label} algorithm(s): ${unknown.join(',')} (pure-ssh supports: ${supported.join(',') || 'none'})`,
      );
    }
    const unique = [...new Set(expanded)];
    if (op === '+') result = [...defaults, ...unique.filter((n) => !defaults.includes(n))];
    else if (op === '^') result = [...unique, ...defaults.filter((n) => !unique.includes(n))];
    else result = unique;
  }
  if (result.length === 0) {
    throw new UsageError(`no ${label} algorithm left after applying "${raw}"`);
  }
  return result;
}

/**
 * Whether ssh(1) reorders this HostKeyAlgorithms setting by known_hosts (sshconnect2.c
 * ssh_kex2(): when it is unset or only appends `+` or removes `-`; a plain list or `^` is kept
 * exactly).
 */
export function ordersHostKeyAlgorithms(spec: string | readonly string[] | undefined): boolean {
  if (spec === undefined) return true;
  const raw = typeof spec === 'string' ? spec : spec.join(',');
  return raw.startsWith('+') || raw.startsWith('-');
}

/**
 * ssh(1)'s order_hostkeyalgs() (sshconnect2.c): when known_hosts holds a plain key of the type
 * of the first algorithm (a certificate type counts as its plain type), the list is kept as is;
 * otherwise the certificate algorithms go first when a `@cert-authority` line names the host,
 * and so do the algorithms of the key types recorded for it, the rest keeping their order. The
 * server then proves a key the user already trusts, and a certificate it shows is still checked
 * as its plain key when no CA vouches for it. `note` is ssh's debug3 line about the choice.
 *
 * @example
 * orderHostKeyAlgorithms(['ssh-ed25519', 'rsa-sha2-512'], { keyTypes: ['ssh-rsa'], certAuthority: false });
 * // { algorithms: ['rsa-sha2-512', 'ssh-ed25519'], note: 'order_hostkeyalgs: prefer hostkeyalgs: rsa-sha2-512' }
 */
export function orderHostKeyAlgorithms(
  algorithms: readonly string[],
  known: { keyTypes: readonly string[]; certAuthority: boolean },
): { algorithms: string[]; note: string } {
  const plainType = (alg: string) => certifiedKeyType(hostKeyAlgorithms.get(alg)?.keyType ?? legacyHostKeyAlgorithms.get(alg)?.keyType ?? alg);
  const best = algorithms[0];
  if (best !== undefined && known.keyTypes.includes(plainType(best))) {
    return {
      algorithms: [...algorithms],
      note: `order_hostkeyalgs: have matching best-preference key type ${best}, using HostkeyAlgorithms verbatim`,
    };
  }
  const first: string[] = [];
  const last: string[] = [];
  for (const alg of algorithms) {
    const preferred = (known.certAuthority && isCertificateType(alg)) || known.keyTypes.includes(plainType(alg));
    (preferred ? first : last).push(alg);
  }
  return {
    algorithms: [...first, ...last],
    note: first.length > 0 ? `order_hostkeyalgs: prefer hostkeyalgs: ${first.join(',')}` : 'order_hostkeyalgs: no algorithms matched; accept original',
  };
}
