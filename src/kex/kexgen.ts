/**
 * The one-round-trip exchange every method but group exchange shares (OpenSSH's kexgen.c):
 * the client sends its ephemeral public value in message 30 (SSH_MSG_KEX_ECDH_INIT, RFC 5656
 * §7.1; SSH_MSG_KEXDH_INIT, RFC 4253 §8; the hybrids' SSH_MSG_KEX_HYBRID_INIT), the server answers
 * with message 31 (host key, its public value or ciphertext, signature over H). A method supplies
 * only its key agreement; H's fields are `string Q_C || string Q_S` (for DH the values are kept as
 * mpint bodies, so the same string encoding yields RFC 4253 §8's `mpint e || mpint f`).
 */
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { SshReader, SshWriter } from '../protocol/wire.js';
import type { Negotiated } from '../transport/kexinit.js';
import type { KexClient, KexMethod, KexServer, KexStep, Random } from './kex.js';

/** RFC 4250 §4.1.2 / RFC 5656 §7.1: the method-specific numbers of the one-round exchanges. */
export const MSG_KEX_INIT = 30;
export const MSG_KEX_REPLY = 31;

/** A key agreement with one message each way. */
export interface KeyAgreement {
  /**
   * The client's ephemeral key; `finish` takes the server's value and returns K encoded, or
   * throws a ProtocolError (reason KEY_EXCHANGE_FAILED) when that value is unacceptable.
   */
  client(
    random: Random,
    crypto: CryptoProvider,
    negotiated?: Negotiated,
  ): { publicValue: Uint8Array; finish(serverValue: Uint8Array): Uint8Array; dispose(): void };
  /** The server's answer to the client's value: its own value and K encoded. */
  server(
    clientValue: Uint8Array,
    random: Random,
    crypto: CryptoProvider,
    negotiated?: Negotiated,
  ): { publicValue: Uint8Array; sharedSecret: Uint8Array };
  /**
   * `client()` ignores `negotiated` (X25519, the NIST curves, the KEM hybrids): the key pair can be
   * made before negotiation ({@link KexMethod.preparable}). Absent for the finite-field groups.
   */
  readonly negotiationFree?: boolean;
}

/** Options of {@link kexgenMethod}. */
export interface KexgenOptions {
  name: string;
  hash: HashName;
  postQuantum?: boolean;
  legacy?: boolean;
  agreement: KeyAgreement;
}

function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, { reason: DisconnectReason.KEY_EXCHANGE_FAILED, cause });
}

/** A registry row for a one-round-trip method. */
export function kexgenMethod(o: KexgenOptions): KexMethod {
  const { name, agreement } = o;
  return {
    name,
    hash: o.hash,
    postQuantum: o.postQuantum ?? false,
    legacy: o.legacy ?? false,
    preparable: agreement.negotiationFree === true,
    client(random, crypto, negotiated): KexClient {
      const ours = agreement.client(random, crypto, negotiated);
      let done = false;
      return {
        start: () => new SshWriter(16 + ours.publicValue.length).byte(MSG_KEX_INIT).string(ours.publicValue).toBytes(),
        receive(payload: Uint8Array): KexStep {
          if (done || payload[0] !== MSG_KEX_REPLY) {
            throw kexFailed(`${name}: unexpected message ${payload[0]} during the key exchange`);
          }
          done = true;
          let hostKeyBlob: Uint8Array, serverValue: Uint8Array, signature: Uint8Array;
          try {
            const r = new SshReader(payload, 1);
            hostKeyBlob = r.string().slice();
            serverValue = r.string().slice();
            signature = r.string().slice();
            r.end('the key exchange reply');
          } catch (cause) {
            throw kexFailed(`${name}: malformed key exchange reply`, cause);
          }
          // Disposed whether or not the server's value is accepted: a refused one (a point off
          // the curve, f out of range) must not leave the ephemeral private key unwiped.
          let sharedSecret: Uint8Array;
          try {
            sharedSecret = ours.finish(serverValue);
          } finally {
            ours.dispose();
          }
          const exchangeFields = new SshWriter(16 + ours.publicValue.length + serverValue.length)
            .string(ours.publicValue)
            .string(serverValue)
            .toBytes();
          return { reply: { hostKeyBlob, signature, exchangeFields, sharedSecret } };
        },
        expects: (type) => !done && type === MSG_KEX_REPLY,
        dispose: () => ours.dispose(),
      };
    },
    server(random, crypto, negotiated): KexServer {
      return {
        receive(payload, ctx) {
          if (payload[0] !== MSG_KEX_INIT) throw kexFailed(`${name}: expected message ${MSG_KEX_INIT}, got ${payload[0]}`);
          const r = new SshReader(payload, 1);
          const clientValue = r.string().slice();
          r.end('the key exchange init');
          const { publicValue, sharedSecret } = agreement.server(clientValue, random, crypto, negotiated);
          const fields = new SshWriter(16 + clientValue.length + publicValue.length).string(clientValue).string(publicValue).toBytes();
          const h = ctx.exchangeHash(fields, sharedSecret);
          const send = new SshWriter(64 + publicValue.length + ctx.hostKeyBlob.length)
            .byte(MSG_KEX_REPLY)
            .string(ctx.hostKeyBlob)
            .string(publicValue)
            .string(ctx.sign(h))
            .toBytes();
          return { send, done: { sharedSecret, exchangeHash: h } };
        },
      };
    },
  };
}
