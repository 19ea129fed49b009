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
  for (const k of LIST_KEYS) lists[k] = r.nameList(k, () => emptyNamesIn.push(k));
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
 */
export function negotiate(client: KexInit, server: KexInit, isAead: (cipher: string) => boolean): Negotiated {
  const realKex = (l: string[]) => l.filter((n) => !isPseudoKex(n));
  // The server's list whole: its pseudo-algorithms match none of ours, and kex.c's "Their offer"
  // names them (ext-info-s, kex-strict-s-v00@openssh.com).
  const kex = choose('key exchange method', realKex(client.kex), server.kex);
  const hostKey = choose('host key algorithm', client.hostKey, server.hostKey);
  const cipherClientToServer = choose(
    'cipher (client to server)',
    client.cipherClientToServer,
    server.cipherClientToServer,
  );
  const cipherServerToClient = choose(
    'cipher (server to client)',
    client.cipherServerToClient,
    server.cipherServerToClient,
  );
  const macClientToServer = isAead(cipherClientToServer)
    ? undefined
    : choose('MAC (client to server)', client.macClientToServer, server.macClientToServer);
  const macServerToClient = isAead(cipherServerToClient)
    ? undefined
    : choose('MAC (server to client)', client.macServerToClient, server.macServerToClient);
  return {
    kex,
    hostKey,
    cipherClientToServer,
    cipherServerToClient,
    macClientToServer,
    macServerToClient,
    compressionClientToServer: choose(
      'compression (client to server)',
      client.compressionClientToServer,
      server.compressionClientToServer,
    ),
    compressionServerToClient: choose(
      'compression (server to client)',
      client.compressionServerToClient,
      server.compressionServerToClient,
    ),
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
