/**
 * The key-exchange method interface (RFC 4253 §7–§8), in the shape of OpenSSH's kexgen.c: every
 * method is one file that produces the client's message, reads the server's, and hands back the
 * shared secret ALREADY ENCODED for the exchange hash and the KDF (an mpint for the classical
 * methods, a string for the post-quantum hybrids). The generic parts live here: the exchange
 * hash H and the key derivation of RFC 4253 §7.2. The transport never knows which method runs.
 */
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { SshWriter, mpintBody } from '../protocol/wire.js';
import type { Negotiated } from '../transport/kexinit.js';

/** Cryptographically secure random bytes (injected: the core has no RNG of its own). */
export type Random = (n: number) => Uint8Array;

/** What the server's final kex message carries, as the exchange hash needs it. */
export interface KexReply {
  /** K_S, the server's host key blob. */
  hostKeyBlob: Uint8Array;
  /** The signature over H by that host key. */
  signature: Uint8Array;
  /**
   * The method's own fields of H between K_S and K, already encoded: `string Q_C || string Q_S`
   * (RFC 5656 §4, RFC 8731), `mpint e || mpint f` (RFC 4253 §8), or with group exchange
   * `uint32 min || uint32 n || uint32 max || mpint p || mpint g || mpint e || mpint f` (RFC 4419 §3).
   */
  exchangeFields: Uint8Array;
  /** K with its length prefix: mpint (RFC 4253 §8) or string (the KEM hybrids). */
  sharedSecret: Uint8Array;
}

/** One step of the client's exchange: a message to send, or the server's reply, complete. */
export type KexStep = { send: Uint8Array } | { reply: KexReply };

/** The client half of one key exchange. */
export interface KexClient {
  /** The first message to send (KEX_ECDH_INIT, KEXDH_INIT or KEX_DH_GEX_REQUEST). */
  start(): Uint8Array;
  /**
   * A key-exchange message from the server (RFC 4250 §4.1.2: numbers 30–49). Throws a
   * ProtocolError (reason KEY_EXCHANGE_FAILED) when it is malformed or out of order.
   */
  receive(payload: Uint8Array): KexStep;
  /**
   * Whether `type` is the message this exchange waits for now: the one number OpenSSH's kex
   * method has a handler for at this step (kexgen.c input_kex_gen_reply, kexgexc.c
   * input_kex_dh_gex_group then input_kex_dh_gex_reply); any other is kex.c kex_protocol_error's.
   */
  expects(type: number): boolean;
  /** Wipe ephemeral secrets. */
  dispose(): void;
}

/** What the server half needs from its caller to finish an exchange. */
export interface KexServerContext {
  hostKeyBlob: Uint8Array;
  /** The host key's signature blob over `data`. */
  sign(data: Uint8Array): Uint8Array;
  /** H for the given method fields and encoded K (see {@link exchangeHash}). */
  exchangeHash(exchangeFields: Uint8Array, sharedSecret: Uint8Array): Uint8Array;
}

/** The server half: used by the in-memory test server and the registry tests, never shipped to users' servers. */
export interface KexServer {
  /** A client kex message; returns the answer and, once done, K (encoded) and H. */
  receive(
    payload: Uint8Array,
    ctx: KexServerContext,
  ): { send: Uint8Array; done?: { sharedSecret: Uint8Array; exchangeHash: Uint8Array } };
}

/** A negotiable key-exchange method (one registry row per name). */
export interface KexMethod {
  /** The name in KEXINIT, e.g. "mlkem768x25519-sha256". */
  readonly name: string;
  /** HASH of RFC 4253 §7.2 and the exchange hash. */
  readonly hash: HashName;
  /** A post-quantum hybrid (OpenSSH 10.1's WarnWeakCrypto warns about the others). */
  readonly postQuantum: boolean;
  /** Never in the default list: enabled only with `+` (as OpenSSH keeps SHA-1 and group1 available). */
  readonly legacy: boolean;
  /**
   * `client()` does not depend on `negotiated` (its ephemeral key has one size whatever the
   * ciphers), so the client's key pair may be made before the server's KEXINIT arrives: see
   * Handshake.prepareKex. Absent (false) for the finite-field groups, whose exponent is sized by the ciphers.
   */
  readonly preparable?: boolean;
  /**
   * The client half of one exchange. `negotiated` (the whole outcome of KEXINIT) sizes what
   * depends on the ciphers and MACs, as OpenSSH's kex.c does with `we_need` / `dh_need`: the
   * group size requested by group exchange and the DH private exponent. Without it the
   * largest need of any registered cipher is assumed.
   */
  client(random: Random, crypto: CryptoProvider, negotiated?: Negotiated): KexClient;
  server(random: Random, crypto: CryptoProvider, negotiated?: Negotiated): KexServer;
}

/** The transcript parts of H shared by every method (RFC 4253 §8, RFC 5656 §4). */
export interface ExchangeHashPrefix {
  /** V_C, without CR LF. */
  clientVersion: string;
  /** V_S, without CR LF. */
  serverVersion: string;
  /** I_C: the exact payload of the client's KEXINIT. */
  clientKexInit: Uint8Array;
  /** I_S: the exact payload of the server's KEXINIT. */
  serverKexInit: Uint8Array;
  /** K_S. */
  hostKeyBlob: Uint8Array;
}

/**
 * H = HASH(string V_C || string V_S || string I_C || string I_S || string K_S || fields || K),
 * RFC 4253 §8 with the method's fields (RFC 5656 §4, RFC 4419 §3, RFC 8731 §3.1); K arrives encoded.
 */
export function exchangeHash(
  hash: HashName,
  crypto: CryptoProvider,
  prefix: ExchangeHashPrefix,
  exchangeFields: Uint8Array,
  sharedSecret: Uint8Array,
): Uint8Array {
  const w = new SshWriter(
    64 + prefix.clientKexInit.length + prefix.serverKexInit.length + prefix.hostKeyBlob.length + exchangeFields.length,
  );
  w.string(prefix.clientVersion)
    .string(prefix.serverVersion)
    .string(prefix.clientKexInit)
    .string(prefix.serverKexInit)
    .string(prefix.hostKeyBlob)
    .raw(exchangeFields);
  const data = w.toBytes();
  return crypto.hash(hash, data, sharedSecret);
}

/** K as an mpint with its length prefix (RFC 4251 §5): the classical methods' encoding. */
export function encodeSharedMpint(raw: Uint8Array): Uint8Array {
  const body = mpintBody(raw);
  const out = new Uint8Array(4 + body.length);
  writeLength(out, body.length);
  out.set(body, 4);
  body.fill(0);
  return out;
}

/** K as a string with its length prefix: the post-quantum hybrids' encoding (their K is a hash output). */
export function encodeSharedString(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + raw.length);
  writeLength(out, raw.length);
  out.set(raw, 4);
  return out;
}

function writeLength(out: Uint8Array, n: number): void {
  out[0] = n >>> 24;
  out[1] = n >>> 16;
  out[2] = n >>> 8;
  out[3] = n;
}

/** The six key-derivation letters of RFC 4253 §7.2 (IVs, keys, integrity keys, each direction). */
export type KdfLetter = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

/**
 * One key of RFC 4253 §7.2: K1 = HASH(K || H || letter || session_id), then
 * K(n+1) = HASH(K || H || K1 || ... || Kn), concatenated and cut to `length` bytes.
 * `sharedSecret` is K already encoded (mpint or string, length prefix included).
 *
 * @example
 * ```ts
 * const c2s = deriveKey(sha256, encodeSharedMpint(rawK), H, 'C', sessionId, 64); // chacha20-poly1305, client→server
 * ```
 */
export function deriveKey(
  hash: (d: Uint8Array) => Uint8Array,
  sharedSecret: Uint8Array,
  exchangeHashH: Uint8Array,
  letter: KdfLetter,
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  // K || H, shared by every round.
  const prefix = new Uint8Array(sharedSecret.length + exchangeHashH.length);
  prefix.set(sharedSecret);
  prefix.set(exchangeHashH, sharedSecret.length);

  const first = new Uint8Array(prefix.length + 1 + sessionId.length);
  first.set(prefix);
  first[prefix.length] = letter.charCodeAt(0);
  first.set(sessionId, prefix.length + 1);
  let out = hash(first);
  first.fill(0);

  while (out.length < length) {
    // RFC 4253 §7.2: Kn+1 = HASH(K || H || K1 || ... || Kn).
    const next = new Uint8Array(prefix.length + out.length);
    next.set(prefix);
    next.set(out, prefix.length);
    const k = hash(next);
    next.fill(0);
    const grown = new Uint8Array(out.length + k.length);
    grown.set(out);
    grown.set(k, out.length);
    out.fill(0);
    out = grown;
  }
  prefix.fill(0);
  const key = out.slice(0, length);
  out.fill(0);
  return key;
}
