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
 * The default Ciphers, safe ones only (no CBC), fastest first on the provider in use: measured
 * with bench/ciphers (1 GiB through sshd on the development machine; see bench/README.md).
 * - runtime crypto (OpenSSL): AES-GCM first (hardware AES), then chacha20-poly1305, then CTR;
 * - pure TypeScript: chacha20-poly1305 first (our specialised ChaCha20/Poly1305), then AES-GCM
 *   and CTR (table-based AES in JavaScript).
 */
export function defaultCiphers(provider: string): string[] {
  return provider === 'pure'
    ? ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr']
    : ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
}
