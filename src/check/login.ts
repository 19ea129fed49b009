/**
 * User authentication (RFC 4252) on a probe connection, for the credentialed probes of
 * pure-ssh-check. The client's own state machine (src/auth/userauth.ts) chooses and builds each
 * request; this file only moves its messages over a {@link ProbeConnection} and hands signing,
 * password prompts and the host key decision to the embedder (the Node CLI reuses pure-ssh's
 * identity, agent, prompt and known_hosts code for them).
 */
import type { AuthOptions, KeyRequest, SignRequest } from '../auth/userauth.js';
import type { PrivateKey } from '../keys/privatekey.js';
import type { AuthIdentity } from '../auth/identity.js';
import { keyboardInteractiveInfoLine, offersPubkeyHostbound, PUBLICKEY_HOSTBOUND, UserAuth } from '../auth/userauth.js';
import { SshError } from '../errors.js';
import type { HostKeyInfo } from '../keys/host-key-verdict.js';
import { keyBlobType } from '../keys/hostkey.js';
import { MSG, decodeMessage, encodeRequestReply } from '../protocol/messages.js';
import { SshReader } from '../protocol/wire.js';
import { describeIncoming, type ProbeConnection } from './connection.js';
import type { ExchangeDone } from './exchange.js';

/** What the server's host key looked like, for the embedder's verdict (ssh's known_hosts check). */
export type ProbeHostKey = HostKeyInfo;

/**
 * Credentials and the decisions that need a person or a file. Secrets never reach the report
 * or the log.
 */
export interface ProbeLogin {
  /** The user name and what to offer, as for the client core (RFC 4252). */
  auth: AuthOptions;
  /** Resolve to accept the host key; throw (with the reason a person reads) to refuse. */
  verifyHostKey(key: ProbeHostKey): Promise<void>;
  /**
   * The host key algorithms to offer on the login connections, reordered from the probes' list
   * (ssh(1)'s order_hostkeyalgs: the key types known_hosts holds for the host first, so the key
   * the server proves is one that can be checked).
   */
  orderHostKeyAlgorithms?(algorithms: string[]): string[];
  /**
   * Once the host key is accepted, before authentication: contact the agent, bind it to the
   * session (OpenSSH PROTOCOL.agent §1, session-bind@openssh.com) and list its keys, as ssh(1)
   * does then (sshconnect2.c pubkey_prepare); resolves to the identities to offer in place of
   * `auth.identities` (the agent's keys among them), or undefined to keep those.
   */
  bindAgent?(session: { hostKeyBlob: Uint8Array; sessionId: Uint8Array; signature: Uint8Array }): Promise<readonly AuthIdentity[] | undefined>;
  /** Signature blob for a key the core does not hold (agent, encrypted file); null: cannot sign. */
  sign?(request: SignRequest): Promise<Uint8Array | null>;
  /** The private key of an identity given without its public key, loaded at its turn; null: none. */
  loadKey?(request: KeyRequest): Promise<PrivateKey | null>;
  /**
   * A password for `prompt`, or a keyboard-interactive answer; null gives up on the method. Time
   * spent here is not a server's. The context is the Node client's askPassword's: `retry`, the
   * password method's previous answer was refused; `method`; for a keyboard-interactive prompt
   * (RFC 4256 §3.2) its `echo` flag and its `index` of `count` in the server's request.
   */
  askPassword?(prompt: string, context: PasswordContext): Promise<string | null>;
}

/** What {@link ProbeLogin.askPassword} is told about a prompt. */
export interface PasswordContext {
  retry: boolean;
  method: 'password' | 'keyboard-interactive';
  echo?: boolean;
  index?: number;
  count?: number;
}

/** Extensions the server announced (RFC 8308 §2.3), from both EXT_INFOs (§2.4). */
export type Extensions = Map<string, Uint8Array>;

export type LoginOutcome = { ok: true; method: string; extensions: Extensions } | { ok: false; error: string };

/**
 * Run RFC 4252 on an established connection (after {@link runInitialExchange}): host key check,
 * SERVICE_REQUEST, then the methods the core chooses. Each wait for the server is bounded by
 * `timeoutMs`; waits for the embedder (prompts, the agent) are not.
 */
export async function authenticate(
  conn: ProbeConnection,
  x: ExchangeDone,
  target: { host: string; port: number },
  login: ProbeLogin,
  timeoutMs: number,
  log: (message: string) => void,
): Promise<LoginOutcome> {
  try {
    await login.verifyHostKey({
      ...target,
      algorithm: x.hostKeyAlgorithm,
      keyType: keyBlobType(x.hostKeyBlob),
      keyBlob: x.hostKeyBlob,
      fingerprint: x.fingerprint,
    });
  } catch (error) {
    return { ok: false, error: (error as Error).message || 'Host key verification failed.' };
  }
  const identities = await login.bindAgent?.({ hostKeyBlob: x.hostKeyBlob, sessionId: x.sessionId, signature: x.hostKeySignature });
  const extensions: Extensions = new Map();
  let pending: Promise<void> | undefined;
  let result: LoginOutcome | undefined;
  let method = 'none';
  const ua: UserAuth = new UserAuth(login.auth, {
    send: (p) => {
      if (p[0] === MSG.USERAUTH_REQUEST) {
        const r = new SshReader(p, 1);
        r.string();
        r.string();
        method = r.utf8();
        // ssh(1)'s name for the method either way (sshconnect2.c authmethods[]: "publickey").
        if (method === PUBLICKEY_HOSTBOUND) method = 'publickey';
      }
      conn.send(p);
    },
    sessionId: () => x.sessionId,
    hostBoundKey: () => (offersPubkeyHostbound(extensions) ? x.hostKeyBlob : undefined),
    serverSigAlgs: () => {
      const v = extensions.get('server-sig-algs');
      return v ? new TextDecoder().decode(v).split(',') : undefined;
    },
    banner: () => {},
    keyboardInteractiveInfo: (name, instruction) => log(keyboardInteractiveInfoLine(name, instruction)),
    passwordNeeded: (prompt, retry, method, kbd) => {
      const ask = login.askPassword;
      pending = (ask ? ask(prompt, { retry, method, ...kbd }) : Promise.resolve(null)).then(
        (pw) => ua.providePassword(pw),
        () => ua.providePassword(null),
      );
    },
    signRequest: (req) => {
      const sign = login.sign;
      pending = (sign ? sign(req) : Promise.resolve(null)).then(
        (sig) => ua.provideSignature(req.id, sig, sig === null ? 'no signer for this key' : undefined),
        (err: unknown) => ua.provideSignature(req.id, null, (err as Error)?.message ?? String(err)),
      );
    },
    keyRequest: (req) => {
      const load = login.loadKey;
      pending = (load ? load(req) : Promise.resolve(null)).then(
        (key) => ua.provideKey(req.id, key, key === null ? 'no private key for this identity' : undefined),
        (err: unknown) => ua.provideKey(req.id, null, (err as Error)?.message ?? String(err)),
      );
    },
    success: () => (result = { ok: true, method, extensions }),
    failure: (e) => (result = { ok: false, error: e.message }),
    log,
  });
  try {
    if (identities) ua.replaceIdentities(identities);
    ua.start();
    while (result === undefined) {
      if (pending) {
        const p = pending;
        pending = undefined;
        await p;
        continue;
      }
      const e = await conn.next(timeoutMs);
      if (e.kind !== 'packet') return { ok: false, error: `during user authentication: ${describeIncoming(e)}` };
      switch (e.type) {
        case MSG.EXT_INFO: {
          // RFC 8308 §2.4: a second EXT_INFO may come just before USERAUTH_SUCCESS.
          const m = decodeMessage(e.payload);
          if (m?.type === MSG.EXT_INFO) for (const [k, v] of m.extensions) extensions.set(k, v);
          continue;
        }
        case MSG.IGNORE:
        case MSG.DEBUG:
        case MSG.UNIMPLEMENTED:
          continue;
        case MSG.GLOBAL_REQUEST:
          answerGlobalRequest(conn, e.payload);
          continue;
      }
      if (!ua.handle(e.payload)) return { ok: false, error: `unexpected message ${e.type} during user authentication` };
    }
    return result;
  } catch (error) {
    if (error instanceof SshError) return { ok: false, error: error.message };
    throw error;
  }
}

/**
 * RFC 4254 §4: a global request from the server that wants a reply gets REQUEST_FAILURE (we
 * support none; OpenSSH's hostkeys-00@openssh.com wants none).
 */
export function answerGlobalRequest(conn: ProbeConnection, payload: Uint8Array): void {
  const r = new SshReader(payload, 1);
  r.string();
  if (r.boolean()) conn.send(encodeRequestReply(false));
}
