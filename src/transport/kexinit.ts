/**
 * SSH_MSG_KEXINIT (RFC 4253 §7.1): encoding, decoding and algorithm negotiation.
 * The raw payloads are kept by the caller: the exchange hash needs the exact bytes (I_C, I_S).
 */
import { NegotiationError } from '../errors.js';
import { MSG } from '../protocol/messages.js';
import { SshReader, SshWriter } from '../protocol/wire.js';

/** The ten name-lists of a KEXINIT, in wire order (RFC 4253 §7.1). */
export interface AlgorithmLists {
  kex: string[];
  hostKey: string[];
  cipherClientToServer: string[];
  cipherServerToClient: string[];
  macClientToServer: string[];
  macServerToClient: string[];
  compressionClientToServer: string[];
  compressionServerToClient: string[];
  languagesClientToServer: string[];
  languagesServerToClient: string[];
}

export interface KexInit extends AlgorithmLists {
  cookie: Uint8Array;
  firstKexPacketFollows: boolean;
  /** Lists that held empty names, skipped (a peer's trailing comma; OpenSSH tolerates it). */
  emptyNamesIn: (keyof AlgorithmLists)[];
}

/** What both sides agreed on (RFC 4253 §7.1). `mac*` is undefined for AEAD ciphers. */
export interface Negotiated {
  kex: string;
  hostKey: string;
  cipherClientToServer: string;
  cipherServerToClient: string;
  macClientToServer: string | undefined;
  macServerToClient: string | undefined;
  compressionClientToServer: string;
  compressionServerToClient: string;
}

const LIST_KEYS: (keyof AlgorithmLists)[] = [
  'kex',
  'hostKey',
  'cipherClientToServer',
  'cipherServerToClient',
  'macClientToServer',
  'macServerToClient',
  'compressionClientToServer',
  'compressionServerToClient',
  'languagesClientToServer',
  'languagesServerToClient',
];

/**
 * RFC 4253 §7.1: byte 20, cookie[16], ten name-lists, boolean, uint32 0. The client never
 * guesses, so `firstKexPacketFollows` is only set by test peers.
 */
export function encodeKexInit(cookie: Uint8Array, lists: AlgorithmLists, firstKexPacketFollows = false): Uint8Array {
  const w = new SshWriter(1024).byte(MSG.KEXINIT).raw(cookie.subarray(0, 16));
  for (const k of LIST_KEYS) w.nameList(lists[k]);
  // Reserved uint32 0.
  return w.boolean(firstKexPacketFollows).uint32(0).toBytes();
}

/**
 * Strict decode of a KEXINIT payload, except that empty names in the lists are skipped and
 * listed in `emptyNamesIn` (libssh 0.10 servers end lists with a comma; OpenSSH accepts that).
 * The lists a user writes are still checked strictly (algorithms.ts).
 */
export function decodeKexInit(payload: Uint8Array): KexInit {
  const r = new SshReader(payload, 1);
  const cookie = r.raw(16, 'KEXINIT cookie');
  const lists = {} as AlgorithmLists;
  const emptyNamesIn: (keyof AlgorithmLists)[] = [];
  // Named so, a short proposal is told from a short cookie (as OpenSSH kex.c kex_input_kexinit does).
  for (const k of LIST_KEYS) lists[k] = r.nameList(`KEXINIT ${k}`, () => emptyNamesIn.push(k));
  const firstKexPacketFollows = r.boolean();
  r.uint32(); // RFC 4253 §7.1: reserved for future extension
  r.end('SSH_MSG_KEXINIT');
  return { cookie, firstKexPacketFollows, emptyNamesIn, ...lists };
}

/** OpenSSH kex.c proposal_names: how ssh names the ten lists in its debug output. */
const PROPOSAL_NAMES = [
  'KEX algorithms',
  'host key algorithms',
  'ciphers ctos',
  'ciphers stoc',
  'MACs ctos',
  'MACs stoc',
  'compression ctos',
  'compression stoc',
  'languages ctos',
  'languages stoc',
];

/**
 * A KEXINIT as ssh(1) -vv shows it (OpenSSH kex.c kex_buf2prop's debug2 lines): each name-list
 * as sent, then first_kex_follows and the reserved word (each line ending with a blank, as
 * ssh's do). For a payload {@link decodeKexInit} accepted (printable name-lists).
 */
export function kexInitProposalLines(payload: Uint8Array): string[] {
  const r = new SshReader(payload, 1);
  r.raw(16, 'KEXINIT cookie');
  const lines = PROPOSAL_NAMES.map((name) => `${name}: ${String.fromCharCode(...r.string(name))}`);
  lines.push(`first_kex_follows ${r.byte()} `, `reserved ${r.uint32()} `);
  return lines;
}

/** RFC 4253 §7.1: the first algorithm on the client's list that the server also supports. */
function choose(category: string, client: readonly string[], server: readonly string[]): string {
  for (const name of client) if (server.includes(name)) return name;
  throw new NegotiationError(category, client, server);
}

/**
 * Pick the algorithms per RFC 4253 §7.1. `isAead(cipher)` tells when a cipher carries its own
 * integrity, in which case the MAC lists are not negotiated (OpenSSH's kex.c does the same).
 * Pseudo-algorithms (ext-info-*, kex-strict-*) never count as a key exchange method.
 *
 * The choices are made in OpenSSH kex.c kex_choose_conf's order (the method, the host key
 * algorithm, then per direction cipher, MAC, compression, a client's server->client first), and
 * `chosen`, when given, gets ssh(1)'s debug line for each step as it is taken: "(no match)" for a
 * failed method or host key algorithm, a direction's line once all three of it are chosen. A
 * failure thus leaves the lines ssh prints before it.
 */
export function negotiate(client: KexInit, server: KexInit, isAead: (cipher: string) => boolean, chosen?: (line: string) => void): Negotiated {
  const realKex = (l: string[]) => l.filter((n) => !isPseudoKex(n));
  // kex.c choose_kex / choose_hostkeyalg: "kex: algorithm: %s", "(no match)" when none.
  const noted = (line: string, category: string, c: readonly string[], s: readonly string[]): string => {
    try {
      const name = choose(category, c, s);
      chosen?.(`${line}: ${name}`);
      return name;
    } catch (err) {
      chosen?.(`${line}: (no match)`);
      throw err;
    }
  };
  // The server's list whole: its pseudo-algorithms match none of ours, and kex.c's "Their offer"
  // names them (ext-info-s, kex-strict-s-v00@openssh.com).
  const kex = noted('kex: algorithm', 'key exchange method', realKex(client.kex), server.kex);
  const hostKey = noted('kex: host key algorithm', 'host key algorithm', client.hostKey, server.hostKey);
  // kex.c: MODE_IN (server to client, for a client) then MODE_OUT; each direction's line
  // ("kex: %s cipher: %s MAC: %s compression: %s") once its three are chosen.
  const direction = (name: 'server to client' | 'client to server', ciphers: [string[], string[]], macs: [string[], string[]], comps: [string[], string[]]) => {
    const cipher = choose(`cipher (${name})`, ...ciphers);
    const mac = isAead(cipher) ? undefined : choose(`MAC (${name})`, ...macs);
    const compression = choose(`compression (${name})`, ...comps);
    chosen?.(`kex: ${name === 'server to client' ? 'server->client' : 'client->server'} cipher: ${cipher} MAC: ${mac ?? '<implicit>'} compression: ${compression}`);
    return { cipher, mac, compression };
  };
  const s2c = direction(
    'server to client',
    [client.cipherServerToClient, server.cipherServerToClient],
    [client.macServerToClient, server.macServerToClient],
    [client.compressionServerToClient, server.compressionServerToClient],
  );
  const c2s = direction(
    'client to server',
    [client.cipherClientToServer, server.cipherClientToServer],
    [client.macClientToServer, server.macClientToServer],
    [client.compressionClientToServer, server.compressionClientToServer],
  );
  return {
    kex,
    hostKey,
    cipherClientToServer: c2s.cipher,
    cipherServerToClient: s2c.cipher,
    macClientToServer: c2s.mac,
    macServerToClient: s2c.mac,
    compressionClientToServer: c2s.compression,
    compressionServerToClient: s2c.compression,
  };
}

/** Names that signal extensions inside the kex list (RFC 8308 §2.1, OpenSSH PROTOCOL §1.9). */
export function isPseudoKex(name: string): boolean {
  return name.startsWith('ext-info-') || name.startsWith('kex-strict-');
}

/**
 * RFC 4253 §7.1: when the peer guessed (first_kex_packet_follows) and the guess was wrong, the
 * packet that follows must be ignored. The guess is right when both lists' first kex and host key
 * algorithms agree.
 */
export function guessWasWrong(client: KexInit, server: KexInit): boolean {
  if (!server.firstKexPacketFollows) return false;
  return client.kex[0] !== server.kex[0] || client.hostKey[0] !== server.hostKey[0];
}
