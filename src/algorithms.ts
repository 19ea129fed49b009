/**
 * The algorithm registries and default preference lists (RFC 4253 §7.1). Adding a cipher, MAC
 * or host key type means adding an entry here (and in hostkey.ts), never touching the key
 * exchange.
 */
import type { PacketCipher } from './cipher/cipher.js';
import { ChaCha20Poly1305Cipher } from './cipher/chacha20-poly1305.js';
import { DEFAULT_HOST_KEY_ALGORITHMS, hostKeyAlgorithms } from './keys/hostkey.js';
import { KEX_CURVE25519 } from './kex/curve25519.js';
import { UsageError } from './errors.js';

/** A negotiable cipher (RFC 4253 §6.3). AEAD ciphers carry their own integrity (no MAC). */
export interface CipherAlgorithm {
  readonly name: string;
  readonly keyLength: number;
  readonly ivLength: number;
  readonly aead: boolean;
  create(key: Uint8Array, iv: Uint8Array): PacketCipher;
}

/** Ciphers pure-ssh implements, by name. */
export const cipherAlgorithms: ReadonlyMap<string, CipherAlgorithm> = new Map<string, CipherAlgorithm>([
  [
    'chacha20-poly1305@openssh.com',
    {
      name: 'chacha20-poly1305@openssh.com',
      keyLength: 64, // PROTOCOL.chacha20poly1305: K_2 || K_1
      ivLength: 0,
      aead: true,
      create: (key) => new ChaCha20Poly1305Cipher(key),
    },
  ],
]);

/** Key exchange methods pure-ssh implements. */
export const kexAlgorithms: readonly string[] = KEX_CURVE25519;

/** User-facing algorithm preferences (OpenSSH's Ciphers / KexAlgorithms / HostKeyAlgorithms). */
export interface AlgorithmPreferences {
  kex: string[];
  hostKey: string[];
  cipher: string[];
  mac: string[];
  compression: string[];
}

/** Defaults, strongest and fastest first. */
export function defaultAlgorithms(): AlgorithmPreferences {
  return {
    kex: [...kexAlgorithms],
    hostKey: [...DEFAULT_HOST_KEY_ALGORITHMS],
    cipher: [...cipherAlgorithms.keys()],
    mac: [],
    compression: ['none'],
  };
}

/** Every algorithm name we implement, per category (for validating user lists). */
export function supportedAlgorithms(): AlgorithmPreferences {
  return {
    kex: [...kexAlgorithms],
    hostKey: [...hostKeyAlgorithms.keys()],
    cipher: [...cipherAlgorithms.keys()],
    mac: [],
    compression: ['none'],
  };
}

/**
 * Apply an OpenSSH-style list spec (ssh_config(5) "Ciphers"): a plain list replaces the
 * defaults; `+list` appends, `-list` removes (wildcards allowed), `^list` puts first.
 * Names we do not implement are an error that lists what is available.
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
  const matchAny = (name: string) => names.some((p) => wildcard(p, name));
  let result: string[];
  if (op === '-') {
    result = defaults.filter((n) => !matchAny(n));
  } else {
    const expanded = names.flatMap((p) => (/[*?]/.test(p) ? supported.filter((s) => wildcard(p, s)) : [p]));
    const unknown = expanded.filter((n) => !supported.includes(n));
    if (unknown.length > 0) {
      throw new UsageError(
        `unsupported ${category} algorithm(s): ${unknown.join(',')} (pure-ssh supports: ${supported.join(',') || 'none'})`,
      );
    }
    if (op === '+') result = [...defaults, ...expanded.filter((n) => !defaults.includes(n))];
    else if (op === '^') result = [...expanded, ...defaults.filter((n) => !expanded.includes(n))];
    else result = expanded;
  }
  if (result.length === 0 && category !== 'mac') {
    throw new UsageError(`no ${category} algorithm left after applying "${raw}"`);
  }
  return result;
}

function wildcard(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(name);
}

/**
 * Put the host key algorithms for `knownKeyTypes` first, keeping the rest in order (ssh(1)
 * order_hostkeyalgs): the server then proves the key the user already trusts.
 */
export function preferKnownHostKeyTypes(algorithms: readonly string[], knownKeyTypes: readonly string[]): string[] {
  const isKnown = (alg: string) => knownKeyTypes.includes(hostKeyAlgorithms.get(alg)?.keyType ?? alg);
  return [...algorithms.filter(isKnown), ...algorithms.filter((a) => !isKnown(a))];
}
