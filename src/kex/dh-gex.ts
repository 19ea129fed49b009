/**
 * diffie-hellman-group-exchange-sha256 and the legacy -sha1 (RFC 4419): the server chooses the
 * group. Its own two-round flow, not ./kexgen.ts's:
 *
 *   C: SSH_MSG_KEX_DH_GEX_REQUEST (34)  uint32 min, uint32 n, uint32 max
 *   S: SSH_MSG_KEX_DH_GEX_GROUP   (31)  mpint p, mpint g
 *   C: SSH_MSG_KEX_DH_GEX_INIT    (32)  mpint e
 *   S: SSH_MSG_KEX_DH_GEX_REPLY   (33)  string K_S, mpint f, string signature
 *
 * H = HASH(V_C || V_S || I_C || I_S || K_S || min || n || max || p || g || e || f || K)
 * (RFC 4419 §3). The request follows OpenSSH's kexgexc.c: min 2048, max 8192, n from what the
 * negotiated ciphers need (dh.c dh_estimate).
 */
import { bitLength } from '../crypto/bigint.js';
import type { HashName } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { SshReader, SshWriter } from '../protocol/wire.js';
import { dhGenerateKey, dhPublicValueProblem, dhSharedSecret, keyNeeds, mpintOf, parsePositiveMpint, type DhKeyPair } from './dh.js';
import type { KexClient, KexMethod, KexServer, KexStep } from './kex.js';
import { MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18, type ModpGroup } from './modp-groups.js';

/** RFC 4419 §5: message numbers. */
export const MSG_KEX_DH_GEX_GROUP = 31;
export const MSG_KEX_DH_GEX_INIT = 32;
export const MSG_KEX_DH_GEX_REPLY = 33;
export const MSG_KEX_DH_GEX_REQUEST = 34;

/** OpenSSH dh.h DH_GRP_MIN / DH_GRP_MAX: the group sizes a client accepts, in bits (RFC 8270: at least 2048). */
export const DH_GEX_MIN = 2048;
export const DH_GEX_MAX = 8192;

/**
 * OpenSSH dh.c dh_estimate: the group size (bits) matching a symmetric strength (bits), after
 * NIST SP 800-57 Part 1 Table 2: ≤112 → 2048, ≤128 → 3072, ≤192 → 7680, else 8192.
 */
export function dhEstimate(bits: number): number {
  if (bits <= 112) return 2048;
  if (bits <= 128) return 3072;
  if (bits <= 192) return 7680;
  return 8192;
}

function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, { reason: DisconnectReason.KEY_EXCHANGE_FAILED, cause });
}

/** The request's three sizes, in bits. */
export interface GexRequest {
  min: number;
  n: number;
  max: number;
}

/**
 * RFC 4419 §3's fields of H between K_S and K: `uint32 min || uint32 n || uint32 max || mpint p
 * || mpint g || mpint e || mpint f`.
 */
function exchangeFields(req: GexRequest, p: bigint, g: bigint, e: bigint, f: bigint): Uint8Array {
  return new SshWriter(64 + 4 * (bitLength(p) >> 3))
    .uint32(req.min)
    .uint32(req.n)
    .uint32(req.max)
    .string(mpintOf(p))
    .string(mpintOf(g))
    .string(mpintOf(e))
    .string(mpintOf(f))
    .toBytes();
}

/**
 * The checks OpenSSH's kexgexc.c and dh.c apply to the group a server sends, plus the obvious
 * ones: |p| within [min, max] (OpenSSH refuses a group smaller than it asked for), p odd and
 * 1 < g < p − 1. Returns why the group is refused, or undefined.
 */
export function gexGroupProblem(req: GexRequest, p: bigint, g: bigint): string | undefined {
  const bits = bitLength(p);
  if (bits < req.min || bits > req.max) return `DH GEX group out of range: ${bits} bits, requested ${req.min}..${req.max}`;
  if ((p & 1n) === 0n) return 'DH GEX group: p is even';
  if (g <= 1n || g >= p - 1n) return 'DH GEX group: g is out of range';
  return undefined;
}

type ClientState =
  | { kind: 'requested'; req: GexRequest }
  | { kind: 'init-sent'; req: GexRequest; p: bigint; g: bigint; kp: DhKeyPair }
  | { kind: 'done' };

function gexClient(name: string, random: (n: number) => Uint8Array, weNeed: number, dhNeed: number): KexClient {
  // OpenSSH kexgexc.c kexgex_client: min and max fixed, n from what the ciphers need.
  const req: GexRequest = { min: DH_GEX_MIN, n: dhEstimate(dhNeed * 8), max: DH_GEX_MAX };
  let state: ClientState = { kind: 'requested', req };
  const unexpected = (type: number | undefined) =>
    kexFailed(`${name}: unexpected message ${type} during the group exchange (state ${state.kind})`);
  return {
    start: () =>
      new SshWriter(16).byte(MSG_KEX_DH_GEX_REQUEST).uint32(req.min).uint32(req.n).uint32(req.max).toBytes(),
    receive(payload): KexStep {
      const type = payload[0];
      if (state.kind === 'requested') {
        if (type !== MSG_KEX_DH_GEX_GROUP) throw unexpected(type);
        let p: bigint, g: bigint;
        try {
          const r = new SshReader(payload, 1);
          p = parsePositiveMpint(r.mpint('p'), `${name}: the group's p`);
          g = parsePositiveMpint(r.mpint('g'), `${name}: the group's g`);
          r.end('SSH_MSG_KEX_DH_GEX_GROUP');
        } catch (cause) {
          if (cause instanceof ProtocolError && cause.reason === DisconnectReason.KEY_EXCHANGE_FAILED) throw cause;
          throw kexFailed(`${name}: malformed SSH_MSG_KEX_DH_GEX_GROUP`, cause);
        }
        const problem = gexGroupProblem(state.req, p, g);
        if (problem) throw kexFailed(`${name}: ${problem}`);
        const kp = dhGenerateKey({ p, g }, weNeed, random);
        state = { kind: 'init-sent', req: state.req, p, g, kp };
        return { send: new SshWriter(16 + (bitLength(p) >> 3)).byte(MSG_KEX_DH_GEX_INIT).string(mpintOf(kp.publicValue)).toBytes() };
      }
      if (state.kind === 'init-sent') {
        if (type !== MSG_KEX_DH_GEX_REPLY) throw unexpected(type);
        let hostKeyBlob: Uint8Array, fBody: Uint8Array, signature: Uint8Array;
        try {
          const r = new SshReader(payload, 1);
          hostKeyBlob = r.string('K_S').slice();
          fBody = r.mpint('f');
          signature = r.string('signature').slice();
          r.end('SSH_MSG_KEX_DH_GEX_REPLY');
        } catch (cause) {
          throw kexFailed(`${name}: malformed SSH_MSG_KEX_DH_GEX_REPLY`, cause);
        }
        const f = parsePositiveMpint(fBody, `${name}: the server's f`);
        const { req: r, p, g, kp } = state;
        const sharedSecret = dhSharedSecret(p, kp.x, f, 'server');
        state = { kind: 'done' };
        return { reply: { hostKeyBlob, signature, exchangeFields: exchangeFields(r, p, g, kp.publicValue, f), sharedSecret } };
      }
      throw unexpected(type);
    },
    expects: (type) =>
      (state.kind === 'requested' && type === MSG_KEX_DH_GEX_GROUP) || (state.kind === 'init-sent' && type === MSG_KEX_DH_GEX_REPLY),
    dispose: () => {
      state = { kind: 'done' };
    },
  };
}

/** The groups the in-memory test server chooses from (RFC 3526), smallest first. */
const SERVER_GROUPS: readonly ModpGroup[] = [MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18];

/**
 * The test server's choice (in the spirit of OpenSSH's choose_dh): the smallest group of at
 * least n bits within [min, max], else the largest within it.
 */
export function chooseGexGroup(req: GexRequest): ModpGroup | undefined {
  const fits = SERVER_GROUPS.filter((g) => g.bits >= req.min && g.bits <= req.max);
  return fits.find((g) => g.bits >= req.n) ?? fits[fits.length - 1];
}

function gexServer(name: string, random: (n: number) => Uint8Array, weNeed: number): KexServer {
  let chosen: { req: GexRequest; group: ModpGroup } | undefined;
  return {
    receive(payload, ctx) {
      const r = new SshReader(payload, 1);
      if (payload[0] === MSG_KEX_DH_GEX_REQUEST && !chosen) {
        const req: GexRequest = { min: r.uint32(), n: r.uint32(), max: r.uint32() };
        r.end('SSH_MSG_KEX_DH_GEX_REQUEST');
        // RFC 4419 §3: min ≤ n ≤ max.
        if (req.min > req.n || req.n > req.max) throw kexFailed(`${name}: bad request ${req.min} < ${req.n} < ${req.max}`);
        const group = chooseGexGroup(req);
        if (!group) throw kexFailed(`${name}: no group between ${req.min} and ${req.max} bits`);
        chosen = { req, group };
        return { send: new SshWriter(32 + group.bits / 8).byte(MSG_KEX_DH_GEX_GROUP).string(mpintOf(group.p)).string(mpintOf(group.g)).toBytes() };
      }
      if (payload[0] === MSG_KEX_DH_GEX_INIT && chosen) {
        const e = parsePositiveMpint(r.mpint('e'), `${name}: the client's e`);
        r.end('SSH_MSG_KEX_DH_GEX_INIT');
        const { req, group } = chosen;
        const problem = dhPublicValueProblem(e, group.p);
        if (problem) throw kexFailed(`${name}: invalid public DH value from the client: ${problem}`);
        const kp = dhGenerateKey(group, weNeed, random);
        const sharedSecret = dhSharedSecret(group.p, kp.x, e, 'client');
        const h = ctx.exchangeHash(exchangeFields(req, group.p, group.g, e, kp.publicValue), sharedSecret);
        const send = new SshWriter(64 + group.bits / 8 + ctx.hostKeyBlob.length)
          .byte(MSG_KEX_DH_GEX_REPLY)
          .string(ctx.hostKeyBlob)
          .string(mpintOf(kp.publicValue))
          .string(ctx.sign(h))
          .toBytes();
        return { send, done: { sharedSecret, exchangeHash: h } };
      }
      throw kexFailed(`${name}: unexpected message ${payload[0]}`);
    },
  };
}

function gexMethod(name: string, hash: HashName, legacy: boolean): KexMethod {
  return {
    name,
    hash,
    postQuantum: false,
    legacy,
    client(random, _crypto, negotiated) {
      const { weNeed, dhNeed } = keyNeeds(negotiated);
      return gexClient(name, random, weNeed, dhNeed);
    },
    server(random, _crypto, negotiated) {
      return gexServer(name, random, keyNeeds(negotiated).weNeed);
    },
  };
}

/** RFC 8268 §3 / RFC 4419: in OpenSSH's default list. */
export const dhGexSha256Method: KexMethod = gexMethod('diffie-hellman-group-exchange-sha256', 'sha256', false);

/** RFC 4419 with SHA-1: available with `+` only. */
export const dhGexSha1Method: KexMethod = gexMethod('diffie-hellman-group-exchange-sha1', 'sha1', true);
