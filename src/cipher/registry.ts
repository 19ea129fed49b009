/**
 * The cipher registry (RFC 4253 §7.1 encryption_algorithms): one row per name, each from its
 * cipher file. Negotiation, the defaults, the CLI (`-c`) and ssh_config (`Ciphers`) read it.
 */
import { aesCbcAlgorithms } from './aes-cbc.js';
import { aesCtrAlgorithms } from './aes-ctr.js';
import { aesGcmAlgorithms } from './aes-gcm.js';
import { chacha20Poly1305Algorithm } from './chacha20-poly1305.js';
import type { CipherAlgorithm } from './cipher.js';

const ALL: readonly CipherAlgorithm[] = [chacha20Poly1305Algorithm, ...aesGcmAlgorithms, ...aesCtrAlgorithms, ...aesCbcAlgorithms];

/** Ciphers by name. */
export const cipherAlgorithms: ReadonlyMap<string, CipherAlgorithm> = new Map(ALL.map((c) => [c.name, c]));

/**
 * The default Ciphers: safe ones only (no CBC), fastest first on the provider in use, OpenSSH's
 * list as the reference. Measured in-process (MiB of 32 KiB packets sealed and opened per
 * CPU-second, best of 4, this project's 2-core development machine):
 *
 * | cipher                              | runtime (node:crypto) | pure TypeScript |
 * |-------------------------------------|----------------------:|----------------:|
 * | aes128-gcm@openssh.com              | 962                   | 24              |
 * | aes256-gcm@openssh.com              | 929                   | 20              |
 * | aes128-ctr + hmac-sha2-256-etm      | 489                   | 27              |
 * | aes256-ctr + hmac-sha2-256-etm      | 488                   | 22              |
 * | chacha20-poly1305@openssh.com       | 284                   | 180             |
 *
 * (The runtime provider runs ChaCha20 in OpenSSL but Poly1305 in TypeScript: node:crypto has no
 * Poly1305 of its own.)
 */
export function defaultCiphers(provider: string): string[] {
  return provider === 'pure' || runtimeCipherOrderNote(provider) !== undefined
    ? ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr']
    : ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'chacha20-poly1305@openssh.com'];
}

/**
 * Why the runtime at hand changes the order {@link defaultCiphers} gives `provider`, for `-v`; or
 * undefined. Deno (feature-detected by `globalThis.Deno`): its node:crypto seals AES-GCM at about
 * 130–200 MB/s, against 450–550 MB/s for its ChaCha20 (OpenSSL's, with our Poly1305) and 360 MB/s
 * for the pure chacha20-poly1305 (bench/runtimes/micro.md), so the runtime provider keeps
 * chacha20-poly1305 first there, as the pure one does; AES-GCM in node:crypto stays the fallback
 * (still about 4× the pure AES-GCM).
 */
export function runtimeCipherOrderNote(provider: string): string | undefined {
  if (provider !== 'node') return undefined;
  const deno = (globalThis as { Deno?: { version?: { deno?: unknown } } }).Deno;
  if (typeof deno?.version?.deno !== 'string') return undefined;
  return 'Deno: chacha20-poly1305@openssh.com first (node:crypto AES-GCM is slower than ChaCha20 in Deno)';
}
