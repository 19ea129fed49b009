/**
 * The key-exchange registry (RFC 4253 §7.1 kex_algorithms): one row per name, each from its
 * method file. Negotiation, the defaults, the CLI and ssh_config all read this table.
 *
 * The default order is OpenSSH 10's (myproposal.h KEX_CLIENT_KEX, ssh_config(5) KexAlgorithms):
 * the post-quantum hybrids first, then curve25519, the NIST curves, group exchange and the fixed
 * groups. SHA-1 and the 1024-bit group are `legacy`: listed only when asked for with `+`.
 */
import { curve25519Methods } from './curve25519.js';
import { dhGroupLegacyMethods, dhGroupMethods } from './dh.js';
import { dhGexSha1Method, dhGexSha256Method } from './dh-gex.js';
import { ecdhNistpMethods } from './ecdh-nistp.js';
import type { KexMethod } from './kex.js';
import { mlkem768x25519Method } from './mlkem768x25519.js';
import { sntrup761 } from '../crypto/sntrup761.js';
import { sntrup761x25519Methods } from './sntrup761x25519.js';

/** Every method pure-ssh implements, in the default preference order (legacy rows last). */
const ALL: readonly KexMethod[] = [
  mlkem768x25519Method,
  ...sntrup761x25519Methods(sntrup761),
  ...curve25519Methods,
  ...ecdhNistpMethods,
  dhGexSha256Method,
  ...dhGroupMethods,
  ...dhGroupLegacyMethods,
  dhGexSha1Method,
];

/** Key-exchange methods by name. */
export const kexMethods: ReadonlyMap<string, KexMethod> = new Map(ALL.map((m) => [m.name, m]));

/** The default KexAlgorithms: every method not marked legacy, in registry order. */
export const DEFAULT_KEX: readonly string[] = ALL.filter((m) => !m.legacy).map((m) => m.name);
