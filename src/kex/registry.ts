/**
 * The key-exchange registry (RFC 4253 §7.1 kex_algorithms): one row per name, each from its
 * method file. Negotiation, the defaults, the CLI and ssh_config all read this table.
 */
import { curve25519Methods } from './curve25519.js';
import type { KexMethod } from './kex.js';

/** Every method pure-ssh implements, in the default preference order (legacy rows last). */
const ALL: readonly KexMethod[] = [...curve25519Methods];

/** Key-exchange methods by name. */
export const kexMethods: ReadonlyMap<string, KexMethod> = new Map(ALL.map((m) => [m.name, m]));

/** The default KexAlgorithms: every method not marked legacy, in registry order. */
export const DEFAULT_KEX: readonly string[] = ALL.filter((m) => !m.legacy).map((m) => m.name);
