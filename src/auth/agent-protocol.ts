/**
 * The ssh-agent protocol, client side, as a sans-IO codec: requests out as framed bytes, replies
 * in as framed bytes (draft-ietf-sshm-ssh-agent, formerly draft-miller-ssh-agent-14; OpenSSH
 * PROTOCOL.agent). Only what a client that authenticates needs: bind the connection to the
 * session (session-bind@openssh.com), list the keys, ask for a signature. The socket lives in
 * `src/node/agent.ts`.
 *
 * @example
 * ```ts
 * const dec = new AgentFrameDecoder();
 * socket.write(encodeRequestIdentities());
 * socket.on('data', (d) => { for (const m of dec.push(d)) console.log(decodeAgentReply(m)); });
 * ```
 */
import { SshError } from '../errors.js';
import { SshReader, SshWriter, fromUtf8 } from '../protocol/wire.js';

/** draft-miller-ssh-agent-14 §5.1: message numbers a client sends and receives. */
export const AGENT_MSG = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  /** draft-miller-ssh-agent-14 §3.8: SSH_AGENTC_EXTENSION. */
  EXTENSION: 27,
  /** draft-miller-ssh-agent-14 §3.8: an extension the agent knows failed. */
  EXTENSION_FAILURE: 28,
} as const;

/** draft-miller-ssh-agent-14 §3.6.1: signature flags of SSH_AGENTC_SIGN_REQUEST. */
export const SSH_AGENT_RSA_SHA2_256 = 0x02;
export const SSH_AGENT_RSA_SHA2_512 = 0x04;

/**
 * Largest agent message accepted, in bytes (OpenSSH authfd.c MAX_AGENT_REPLY_LEN, 256 KiB):
 * checked before buffering, so a broken agent cannot make us allocate without bound.
 */
export const MAX_AGENT_MESSAGE = 256 * 1024;

/** Most keys accepted in one IDENTITIES_ANSWER (OpenSSH authfd.c MAX_AGENT_IDENTITIES). */
export const MAX_AGENT_IDENTITIES = 2048;

/** One key the agent holds (draft-miller-ssh-agent-14 §3.4). */
export interface AgentIdentity {
  /** The public key blob (RFC 4253 §6.6), or a certificate blob (`*-cert-v01@openssh.com`). */
  keyBlob: Uint8Array;
  /** The key's comment, often the path it was added from (`ssh-add -l` shows it). */
  comment: string;
}

/** A decoded agent reply. */
export type AgentReply =
  | { type: 'failure' }
  | { type: 'success' }
  | { type: 'identities'; identities: AgentIdentity[] }
  /** The signature blob: `string format || string signature` (RFC 4253 §6.6). */
  | { type: 'signature'; signature: Uint8Array };

/**
 * Why an agent exchange failed, in OpenSSH ssherr.c's words, as ssh(1) -v logs it
 * (sshconnect2.c get_agent_identities: `ssh_fetch_identitylist: REASON`): SSH_ERR_AGENT_COMMUNICATION
 * (the socket failed or closed, authfd.c ssh_request_reply), SSH_ERR_INVALID_FORMAT (a length over
 * MAX_AGENT_REPLY_LEN, a reply of the wrong type), SSH_ERR_MESSAGE_INCOMPLETE (a reply cut short, "incomplete message")
 * and SSH_ERR_AGENT_FAILURE (an SSH_AGENT_FAILURE reply).
 */
export type AgentFailureReason = 'communication with agent failed' | 'invalid format' | 'incomplete message' | 'agent refused operation';

/**
 * Whether `type` is one of the failure replies OpenSSH authfd.c agent_failed counts:
 * SSH_AGENT_FAILURE (5), SSH2_AGENT_FAILURE (30) and SSH_COM_AGENT2_FAILURE (102), each
 * SSH_ERR_AGENT_FAILURE ("agent refused operation") to a session bind or a listing.
 */
export function agentFailed(type: number): boolean {
  return type === AGENT_MSG.FAILURE || type === 30 || type === 102;
}

/** Attach `reason` (see {@link agentFailureReason}) to an agent error; returns `err`. */
export function withAgentFailureReason<E extends Error>(err: E, reason: AgentFailureReason): E {
  Object.defineProperty(err, 'agentFailureReason', { value: reason, configurable: true });
  return err;
}

/** The OpenSSH wording of why an agent error happened, when it came from the agent exchange. */
export function agentFailureReason(err: unknown): AgentFailureReason | undefined {
  return (err as { agentFailureReason?: AgentFailureReason } | undefined)?.agentFailureReason;
}

/** The agent sent something that is not a well-formed reply (`reason`: ssh(1)'s word for it). */
export function agentProtocolError(message: string, reason: AgentFailureReason = 'invalid format'): SshError {
  return withAgentFailureReason(new SshError('ERR_AGENT', `ssh-agent: ${message}`), reason);
}

/** draft-miller-ssh-agent-14 §3.1: every message is `uint32 length || byte type || contents`. */
function frame(body: Uint8Array): Uint8Array {
  return new SshWriter(body.length + 4).string(body).toBytes();
}

/** draft-miller-ssh-agent-14 §3.4: SSH_AGENTC_REQUEST_IDENTITIES, framed. */
export function encodeRequestIdentities(): Uint8Array {
  return frame(Uint8Array.of(AGENT_MSG.REQUEST_IDENTITIES));
}

/**
 * draft-miller-ssh-agent-14 §3.6: SSH_AGENTC_SIGN_REQUEST (`string key blob, string data,
 * uint32 flags`), framed.
 */
export function encodeSignRequest(keyBlob: Uint8Array, data: Uint8Array, flags: number): Uint8Array {
  const body = new SshWriter(keyBlob.length + data.length + 16)
    .byte(AGENT_MSG.SIGN_REQUEST)
    .string(keyBlob)
    .string(data)
    .uint32(flags >>> 0)
    .toBytes();
  return frame(body);
}

/** OpenSSH PROTOCOL.agent §1: the extension that binds an agent connection to an SSH session. */
export const SESSION_BIND_EXTENSION = 'session-bind@openssh.com';

/**
 * OpenSSH PROTOCOL.agent §1: SSH_AGENTC_EXTENSION "session-bind@openssh.com" (`string hostkey,
 * string session identifier, string signature, bool is_forwarding`), framed. `hostKeyBlob` and
 * `signature` are those of the first key exchange's reply (RFC 4253 §8), `sessionId` its
 * exchange hash (RFC 4253 §7.2). The agent checks the signature and then applies its keys'
 * destination constraints (`ssh-add -h`) to this connection.
 */
export function encodeSessionBind(hostKeyBlob: Uint8Array, sessionId: Uint8Array, signature: Uint8Array, isForwarding: boolean): Uint8Array {
  const body = new SshWriter(hostKeyBlob.length + sessionId.length + signature.length + 64)
    .byte(AGENT_MSG.EXTENSION)
    .string(SESSION_BIND_EXTENSION)
    .string(hostKeyBlob)
    .string(sessionId)
    .string(signature)
    .boolean(isForwarding)
    .toBytes();
  return frame(body);
}

/**
 * The SSH_AGENTC_SIGN_REQUEST flags for a signature algorithm (draft-miller-ssh-agent-14
 * §3.6.1): an RSA key signs with SHA-1 (`ssh-rsa`) unless told rsa-sha2-256 or rsa-sha2-512.
 */
export function agentSignFlags(algorithm: string): number {
  if (algorithm === 'rsa-sha2-256' || algorithm === 'rsa-sha2-256-cert-v01@openssh.com') return SSH_AGENT_RSA_SHA2_256;
  if (algorithm === 'rsa-sha2-512' || algorithm === 'rsa-sha2-512-cert-v01@openssh.com') return SSH_AGENT_RSA_SHA2_512;
  return 0;
}

/**
 * Decode one reply body (the bytes after the length; see {@link AgentFrameDecoder}). Strict:
 * trailing bytes and unknown types are errors (SshError ERR_AGENT).
 */
export function decodeAgentReply(body: Uint8Array): AgentReply {
  // OpenSSH authfd.c: sshbuf_get_u8 of the type byte fails with SSH_ERR_MESSAGE_INCOMPLETE.
  if (body.length === 0) throw agentProtocolError('empty message', 'incomplete message');
  const r = new SshReader(body, 1);
  try {
    switch (body[0]) {
      // draft-miller-ssh-agent-14 §3.3: a generic failure carries no contents.
      case AGENT_MSG.FAILURE:
      case AGENT_MSG.EXTENSION_FAILURE:
        return { type: 'failure' };
      case AGENT_MSG.SUCCESS:
        r.end('SSH_AGENT_SUCCESS');
        return { type: 'success' };
      case AGENT_MSG.IDENTITIES_ANSWER: {
        // draft-miller-ssh-agent-14 §3.4: uint32 nkeys, then nkeys × (string key blob, string comment).
        const n = r.uint32();
        if (n > MAX_AGENT_IDENTITIES) throw agentProtocolError(`too many identities (${n})`);
        const identities: AgentIdentity[] = [];
        for (let i = 0; i < n; i++) {
          const keyBlob = r.string('key blob').slice();
          const comment = fromUtf8(r.string('comment'));
          identities.push({ keyBlob, comment });
        }
        r.end('SSH_AGENT_IDENTITIES_ANSWER');
        return { type: 'identities', identities };
      }
      case AGENT_MSG.SIGN_RESPONSE: {
        // draft-miller-ssh-agent-14 §3.6: string signature.
        const signature = r.string('signature').slice();
        r.end('SSH_AGENT_SIGN_RESPONSE');
        return { type: 'signature', signature };
      }
      default:
        throw agentProtocolError(`unexpected message type ${body[0]}`);
    }
  } catch (err) {
    if (err instanceof SshError && err.code === 'ERR_AGENT') throw err;
    // OpenSSH sshbuf: a read past the end is SSH_ERR_MESSAGE_INCOMPLETE; trailing bytes (which
    // authfd.c leaves unread) are our strictness, reported as a malformed reply.
    const cut = (err as Error).message.startsWith('truncated message');
    throw agentProtocolError(`malformed reply (${(err as Error).message})`, cut ? 'incomplete message' : 'invalid format');
  }
}

/**
 * Splits the agent's byte stream into message bodies (draft-miller-ssh-agent-14 §3.1). A length
 * over {@link MAX_AGENT_MESSAGE} is refused before buffering (a throw, the next time {@link push}
 * reaches it: after the bodies before it were returned), and only its four bytes are consumed:
 * the bytes after it are read as the next message, as OpenSSH authfd.c ssh_request_reply reads
 * on after refusing a length (SSH_ERR_INVALID_FORMAT for that request, the stream kept).
 */
export class AgentFrameDecoder {
  private buf = new Uint8Array(0);

  /** Add bytes (none, to read on after a throw); returns the complete message bodies now available, in order. */
  push(data: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + data.length);
    joined.set(this.buf);
    joined.set(data, this.buf.length);
    const out: Uint8Array[] = [];
    let pos = 0;
    while (joined.length - pos >= 4) {
      const len = new SshReader(joined, pos).uint32();
      if (len > MAX_AGENT_MESSAGE) {
        if (out.length > 0) break;
        this.buf = joined.slice(pos + 4);
        throw agentProtocolError(`message of ${len} bytes exceeds ${MAX_AGENT_MESSAGE}`);
      }
      if (joined.length - pos - 4 < len) break;
      out.push(joined.slice(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    this.buf = joined.slice(pos);
    return out;
  }

  /** Whether a complete length is held back (a message still arriving, or one {@link push} refuses next). */
  get lengthPending(): boolean {
    return this.buf.length >= 4;
  }

  /** Bytes of an incomplete message held back. */
  get pending(): number {
    return this.buf.length;
  }
}
