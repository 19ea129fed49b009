/**
 * The initial key exchange (RFC 4253 §7–§8) as a script a probe can interrupt: at each step a
 * probe may slip in extra packets, guess the server's first kex packet wrong, or skip the
 * strict-kex sequence-number reset (OpenSSH PROTOCOL, "strict key exchange"). The pieces are the
 * client's own: KEXINIT codec and negotiation, the kex method's client half from the registry,
 * the exchange hash, host key signature check, and per-direction key derivation.
 */
import { cipherAlgorithms } from '../cipher/registry.js';
import { exchangeHash, type KexClient, type KexReply, type KexStep as KexMethodStep } from '../kex/kex.js';
import { kexMethods } from '../kex/registry.js';
import { hostKeyFingerprint, verifyHostKeySignature } from '../keys/hostkey.js';
import { MSG, encodeNewKeys } from '../protocol/messages.js';
import { SshError } from '../errors.js';
import { decodeKexInit, encodeKexInit, negotiate, type AlgorithmLists, type KexInit, type Negotiated } from '../transport/kexinit.js';
import { EXT_INFO_CLIENT, KEX_STRICT_CLIENT, KEX_STRICT_SERVER } from '../transport/handshake.js';
import { newDirection } from '../transport/keys.js';
import type { Incoming, ProbeConnection } from './connection.js';

/** Where in the initial exchange a probe injects packets. */
export type KexStep = 'before-kexinit' | 'after-kexinit' | 'before-kex-init-message' | 'before-newkeys';

/** The steps in wire order. */
export const KEX_STEPS: readonly KexStep[] = ['before-kexinit', 'after-kexinit', 'before-kex-init-message', 'before-newkeys'];

/** How to run one initial exchange. */
export interface ExchangePlan {
  clientVersion: string;
  /** The kex methods we offer (the markers ext-info-c and kex-strict-c are appended). */
  kex: string[];
  hostKey: string[];
  cipher: string[];
  /** The server-to-client ciphers when they differ from {@link cipher} (which is then client to server only). */
  cipherServerToClient?: string[];
  mac: string[];
  /** Payloads sent at a step (RFC 4253 §11.2/§11.3/§11.4 messages, an unknown number, ...). */
  inject?: Partial<Record<KexStep, Uint8Array[]>>;
  /**
   * RFC 4253 §7.1: set first_kex_packet_follows and send this payload as the guessed packet
   * right after KEXINIT; with `kex[0]` unlike the server's first method the guess is wrong and
   * the server must ignore it.
   */
  wrongGuess?: Uint8Array;
  /** Keep our send sequence number running across NEWKEYS even under strict kex (a probe). */
  skipSendSequenceReset?: boolean;
  /** Also accept ssh-rsa (SHA-1) host key signatures, for the inventory. */
  legacyRsaSha1?: boolean;
  /** Budget per wait, milliseconds. */
  timeoutMs: number;
}

/** A completed exchange: the connection now runs under the new keys both ways. */
export interface ExchangeDone {
  ok: true;
  serverKexInit: KexInit;
  negotiated: Negotiated;
  strict: boolean;
  hostKeyAlgorithm: string;
  hostKeyBlob: Uint8Array;
  fingerprint: string;
  sessionId: Uint8Array;
  /** The server's signature over the session identifier (RFC 4253 §8), for session-bind@openssh.com. */
  hostKeySignature: Uint8Array;
  /** Messages the server sent during the exchange other than its kex messages, by number. */
  serverExtraMessages: number[];
  /** Whether the server's first packet was its KEXINIT (OpenSSH PROTOCOL, strict kex a). */
  kexInitFirst: boolean;
}

/** An exchange the server ended (or that failed): where, and how. */
export interface ExchangeFailed {
  ok: false;
  /** The step at which it stopped: a KexStep, or 'version', 'kexinit', 'reply', 'newkeys'. */
  stage: string;
  event: Incoming;
  /** The server's KEXINIT if it arrived. */
  serverKexInit?: KexInit;
  strict?: boolean;
  /** Set when the failure is ours to explain (no common algorithm, a bad signature). */
  error?: SshError;
}

export type ExchangeOutcome = ExchangeDone | ExchangeFailed;

/** Read packets until one that `accept` takes; other messages are collected in `extra`. */
async function awaitPacket(
  conn: ProbeConnection,
  timeoutMs: number,
  accept: (type: number) => boolean,
  extra: number[],
): Promise<Incoming> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await conn.next(Math.max(1, deadline - Date.now()));
    if (e.kind !== 'packet' || accept(e.type)) return e;
    extra.push(e.type);
  }
}

/**
 * The method's messages (RFC 4250 §4.1.2: numbers 30–49) until its reply: one round trip for
 * ECDH, the KEMs and fixed-group DH; two for group exchange (RFC 4419 §3: GROUP, then REPLY).
 */
async function kexReply(
  conn: ProbeConnection,
  client: KexClient,
  timeoutMs: number,
  extra: number[],
): Promise<{ reply: KexReply; event: Incoming } | { failed: true; event: Incoming; error?: SshError }> {
  for (;;) {
    const event = await awaitPacket(conn, timeoutMs, (type) => type >= 30 && type <= 49, extra);
    if (event.kind !== 'packet') return { failed: true, event };
    let step: KexMethodStep;
    try {
      step = client.receive(event.payload);
    } catch (error) {
      return { failed: true, event, error: error as SshError };
    }
    if ('reply' in step) return { reply: step.reply, event };
    conn.send(step.send);
  }
}

/**
 * RFC 4253 §7.1 name-lists of one KEXINIT: the plan's algorithms both ways, no compression, no
 * languages; `kex` as given (the first KEXINIT adds the ext-info and strict-kex markers).
 */
function kexInitLists(plan: ExchangePlan, kex: string[]): AlgorithmLists {
  return {
    kex,
    hostKey: plan.hostKey,
    cipherClientToServer: plan.cipher,
    cipherServerToClient: plan.cipherServerToClient ?? plan.cipher,
    macClientToServer: plan.mac,
    macServerToClient: plan.mac,
    compressionClientToServer: ['none'],
    compressionServerToClient: ['none'],
    languagesClientToServer: [],
    languagesServerToClient: [],
  };
}

/**
 * Run the initial exchange of `plan` on a fresh connection (identification not yet sent).
 * Stops at the first step where the server ends the connection.
 */
export async function runInitialExchange(conn: ProbeConnection, plan: ExchangePlan): Promise<ExchangeOutcome> {
  const t = plan.timeoutMs;
  const inject = (step: KexStep) => {
    for (const p of plan.inject?.[step] ?? []) conn.send(p);
  };
  conn.sendVersion(plan.clientVersion);
  inject('before-kexinit');
  // OpenSSH PROTOCOL / RFC 8308 §2.1: the markers go in the first KEXINIT only.
  const lists = kexInitLists(plan, [...plan.kex, EXT_INFO_CLIENT, KEX_STRICT_CLIENT]);
  const ourPayload = encodeKexInit(conn.random(16), lists, plan.wrongGuess !== undefined);
  conn.send(ourPayload);
  if (plan.wrongGuess) conn.send(plan.wrongGuess);
  inject('after-kexinit');

  const v = await conn.readVersion(t);
  if (v) return { ok: false, stage: 'version', event: v };
  const extra: number[] = [];
  const kexInitEvent = await awaitPacket(conn, t, (type) => type === MSG.KEXINIT, extra);
  if (kexInitEvent.kind !== 'packet') return { ok: false, stage: 'kexinit', event: kexInitEvent };
  const serverPayload = kexInitEvent.payload;
  let serverKexInit: KexInit;
  try {
    serverKexInit = decodeKexInit(serverPayload);
  } catch (error) {
    return { ok: false, stage: 'kexinit', event: kexInitEvent, error: error as SshError };
  }
  const kexInitFirst = extra.length === 0;
  // OpenSSH PROTOCOL, strict kex: on iff both first KEXINITs carry the markers (ours always does).
  const strict = serverKexInit.kex.includes(KEX_STRICT_SERVER);
  const failed = (stage: string, event: Incoming, error?: SshError): ExchangeFailed => ({ ok: false, stage, event, serverKexInit, strict, error });

  let negotiated: Negotiated;
  try {
    negotiated = negotiate(decodeKexInit(ourPayload), serverKexInit, (c) => cipherAlgorithms.get(c)?.aead ?? false);
  } catch (error) {
    return failed('kexinit', kexInitEvent, error as SshError);
  }
  const method = kexMethods.get(negotiated.kex)!;
  const client = method.client(conn.random, conn.crypto, negotiated);
  try {
    inject('before-kex-init-message');
    conn.send(client.start());
    const got = await kexReply(conn, client, t, extra);
    if ('failed' in got) return failed('reply', got.event, got.error);
    const replyEvent = got.event;
    const reply: KexReply = got.reply;
    let h: Uint8Array;
    try {
      h = exchangeHash(
        method.hash,
        conn.crypto,
        {
          clientVersion: plan.clientVersion,
          serverVersion: conn.serverVersion!,
          clientKexInit: ourPayload,
          serverKexInit: serverPayload,
          hostKeyBlob: reply.hostKeyBlob,
        },
        reply.exchangeFields,
        reply.sharedSecret,
      );
      // RFC 4253 §8: the server proves possession of the host key by signing H.
      verifyHostKeySignature(negotiated.hostKey, reply.hostKeyBlob, reply.signature, h, { legacyRsaSha1: plan.legacyRsaSha1 });
    } catch (error) {
      return failed('reply', replyEvent, error as SshError);
    }
    const secrets = { hash: method.hash, sharedSecret: reply.sharedSecret, exchangeHash: h, sessionId: h };
    inject('before-newkeys');
    // RFC 4253 §7.3: NEWKEYS under the old keys, everything after under the new ones.
    conn.send(encodeNewKeys());
    conn.setSendCipher(newDirection('client-to-server', negotiated, secrets, conn.crypto, true));
    if (strict && !plan.skipSendSequenceReset) conn.encoder.resetSequence();
    const newKeysEvent = await awaitPacket(conn, t, (type) => type === MSG.NEWKEYS, extra);
    if (newKeysEvent.kind !== 'packet') return failed('newkeys', newKeysEvent);
    conn.setReceiveCipher(newDirection('server-to-client', negotiated, secrets, conn.crypto, false));
    if (strict) conn.decoder.resetSequence();
    secrets.sharedSecret.fill(0);
    return {
      ok: true,
      serverKexInit,
      negotiated,
      strict,
      hostKeyAlgorithm: negotiated.hostKey,
      hostKeyBlob: reply.hostKeyBlob,
      fingerprint: hostKeyFingerprint(reply.hostKeyBlob),
      sessionId: h,
      hostKeySignature: reply.signature.slice(),
      serverExtraMessages: extra,
      kexInitFirst,
    };
  } finally {
    client.dispose();
  }
}

/**
 * RFC 4253 §9: a key re-exchange started by us on an established connection (no strict or
 * ext-info markers: they belong in the first KEXINIT only). The session id stays the first H.
 */
export async function runRekey(conn: ProbeConnection, first: ExchangeDone, plan: ExchangePlan): Promise<ExchangeOutcome> {
  const t = plan.timeoutMs;
  const lists = kexInitLists(plan, plan.kex);
  const ourPayload = encodeKexInit(conn.random(16), lists);
  conn.send(ourPayload);
  const extra: number[] = [];
  // A server that refuses a re-exchange at this point answers UNIMPLEMENTED (RFC 4253 §11.4).
  const kexInitEvent = await awaitPacket(conn, t, (type) => type === MSG.KEXINIT || type === MSG.UNIMPLEMENTED, extra);
  if (kexInitEvent.kind !== 'packet' || kexInitEvent.type !== MSG.KEXINIT) return { ok: false, stage: 'kexinit', event: kexInitEvent };
  const serverPayload = kexInitEvent.payload;
  const serverKexInit = decodeKexInit(serverPayload);
  const negotiated = negotiate(decodeKexInit(ourPayload), serverKexInit, (c) => cipherAlgorithms.get(c)?.aead ?? false);
  const method = kexMethods.get(negotiated.kex)!;
  const client = method.client(conn.random, conn.crypto, negotiated);
  try {
    conn.send(client.start());
    const got = await kexReply(conn, client, t, extra);
    if ('failed' in got) return { ok: false, stage: 'reply', event: got.event, error: got.error };
    const replyEvent = got.event;
    const reply: KexReply = got.reply;
    let h: Uint8Array;
    try {
      h = exchangeHash(
        method.hash,
        conn.crypto,
        { clientVersion: plan.clientVersion, serverVersion: conn.serverVersion!, clientKexInit: ourPayload, serverKexInit: serverPayload, hostKeyBlob: reply.hostKeyBlob },
        reply.exchangeFields,
        reply.sharedSecret,
      );
      verifyHostKeySignature(negotiated.hostKey, reply.hostKeyBlob, reply.signature, h, { legacyRsaSha1: plan.legacyRsaSha1 });
    } catch (error) {
      return { ok: false, stage: 'reply', event: replyEvent, error: error as SshError };
    }
    const secrets = { hash: method.hash, sharedSecret: reply.sharedSecret, exchangeHash: h, sessionId: first.sessionId };
    conn.send(encodeNewKeys());
    conn.setSendCipher(newDirection('client-to-server', negotiated, secrets, conn.crypto, true));
    // OpenSSH PROTOCOL, strict kex b: the reset applies after every NEWKEYS.
    if (first.strict) conn.encoder.resetSequence();
    const newKeysEvent = await awaitPacket(conn, t, (type) => type === MSG.NEWKEYS, extra);
    if (newKeysEvent.kind !== 'packet') return { ok: false, stage: 'newkeys', event: newKeysEvent };
    conn.setReceiveCipher(newDirection('server-to-client', negotiated, secrets, conn.crypto, false));
    if (first.strict) conn.decoder.resetSequence();
    secrets.sharedSecret.fill(0);
    return { ...first, negotiated, serverExtraMessages: extra };
  } finally {
    client.dispose();
  }
}
