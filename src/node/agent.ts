/**
 * A client of a running ssh-agent over its Unix socket (SSH_AUTH_SOCK, ssh_config IdentityAgent):
 * bind the connection to an SSH session, list the keys it holds and ask it to sign. The bytes are made and read by the sans-IO codec in
 * `src/auth/agent-protocol.ts`; this file only moves them. One request at a time, in order.
 *
 * @example
 * ```ts
 * const agent = await AgentClient.connect(process.env.SSH_AUTH_SOCK!);
 * for (const { keyBlob, comment } of await agent.identities()) console.log(comment);
 * agent.close();
 * ```
 */
import { connect as netConnect, type Socket } from 'node:net';
import { SshError } from '../errors.js';
import {
  AGENT_MSG,
  AgentFrameDecoder,
  agentFailed,
  agentSignFlags,
  decodeAgentReply,
  encodeRequestIdentities,
  encodeSessionBind,
  encodeSignRequest,
  agentFailureReason,
  withAgentFailureReason,
  type AgentIdentity,
  type AgentReply,
} from '../auth/agent-protocol.js';
import type { Signer } from '../auth/signer.js';
import { strerror } from './strerror.js';

export type { AgentIdentity } from '../auth/agent-protocol.js';

const NO_BYTES = new Uint8Array(0);

interface Pending {
  /** The reply's body, undecoded: each request reads it as OpenSSH authfd.c does for it. */
  resolve(body: Uint8Array): void;
  reject(err: Error): void;
}


/** A connection to an ssh-agent. Errors are SshError `ERR_AGENT`. */
export class AgentClient {
  private readonly decoder = new AgentFrameDecoder();
  private readonly queue: Pending[] = [];
  private failure: Error | undefined;
  /** The socket failed or closed (not a reply we could not read): see {@link sign}. */
  private lost = false;

  private constructor(
    private readonly socket: Socket,
    /** The socket path, for messages. */
    readonly path: string,
  ) {
    const named = (err: unknown) => this.named(err);
    socket.on('data', (d: Buffer) => {
      let chunk = new Uint8Array(d);
      for (;;) {
        let bodies: Uint8Array[];
        try {
          bodies = this.decoder.push(chunk);
        } catch (err) {
          // A length over the limit fails the request it answers; the stream is read on
          // (OpenSSH authfd.c ssh_request_reply: SSH_ERR_INVALID_FORMAT, nothing more read).
          const p = this.queue.shift();
          if (!p) return this.fail(named(err));
          p.reject(named(err));
          chunk = NO_BYTES;
          continue;
        }
        for (const body of bodies) {
          const p = this.queue.shift();
          if (!p) {
            this.fail(new SshError('ERR_AGENT', `ssh-agent ${path}: a reply nobody asked for`));
            return;
          }
          p.resolve(body);
        }
        // Bodies before a refused length come first: push again to reach it.
        if (bodies.length === 0 || !this.decoder.lengthPending) return;
        chunk = NO_BYTES;
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lost = true;
      // OpenSSH authfd.c ssh_request_reply: a failed write or read is SSH_ERR_AGENT_COMMUNICATION.
      const lost = new SshError('ERR_AGENT', `ssh-agent ${path}: ${strerror(err)}`, { cause: err });
      this.fail(withAgentFailureReason(lost, 'communication with agent failed'));
    });
    socket.on('close', () => {
      this.lost = true;
      const closed = new SshError('ERR_AGENT', `ssh-agent ${path}: the agent closed the connection`);
      this.fail(withAgentFailureReason(closed, 'communication with agent failed'));
    });
  }

  /**
   * Connect to the agent's socket. Rejects with SshError ERR_AGENT, in ssh-add's words
   * (`Error connecting to agent: No such file or directory`), when nothing listens there.
   */
  static connect(path: string): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ path });
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new SshError('ERR_AGENT', `Error connecting to agent ${path}: ${strerror(err)}`, { cause: err }));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new AgentClient(socket, path));
      });
    });
  }

  /**
   * OpenSSH PROTOCOL.agent §1, session-bind@openssh.com: bind this agent connection to the SSH
   * session whose first key exchange had host key `hostKeyBlob`, exchange hash `sessionId` and
   * server signature `signature`, so that the agent can apply its keys' destination constraints
   * (`ssh-add -h`): once bound, it lists and signs with only the keys allowed for this host.
   * Resolves on SSH_AGENT_SUCCESS; rejects with SshError ERR_AGENT in ssh's words otherwise:
   * `agent refused operation` on a failure reply (an agent older than OpenSSH 8.9, or a binding
   * it refuses), `incomplete message` on an empty one, `invalid format` on any other reply
   * (OpenSSH authfd.c decode_reply).
   */
  async bindSession(hostKeyBlob: Uint8Array, sessionId: Uint8Array, signature: Uint8Array, isForwarding = false): Promise<void> {
    const body = await this.request(encodeSessionBind(hostKeyBlob, sessionId, signature, isForwarding));
    // OpenSSH authfd.c ssh_request_reply_decode: the type byte alone (SSH_ERR_MESSAGE_INCOMPLETE
    // without one), then decode_reply: SSH_ERR_AGENT_FAILURE, success, else SSH_ERR_INVALID_FORMAT.
    if (body.length === 0) throw withAgentFailureReason(new SshError('ERR_AGENT', 'incomplete message'), 'incomplete message');
    if (agentFailed(body[0]!)) throw withAgentFailureReason(new SshError('ERR_AGENT', 'agent refused operation'), 'agent refused operation');
    if (body[0] !== AGENT_MSG.SUCCESS) throw withAgentFailureReason(new SshError('ERR_AGENT', 'invalid format'), 'invalid format');
  }

  /** draft-miller-ssh-agent-14 §3.4: the keys the agent holds, in its order. */
  async identities(): Promise<AgentIdentity[]> {
    const body = await this.request(encodeRequestIdentities());
    // OpenSSH authfd.c ssh_fetch_identitylist: SSH_ERR_AGENT_FAILURE, else SSH_ERR_INVALID_FORMAT.
    if (body.length > 0 && agentFailed(body[0]!)) {
      throw withAgentFailureReason(new SshError('ERR_AGENT', `ssh-agent ${this.path}: it refused to list its keys`), 'agent refused operation');
    }
    const reply = this.decode(body);
    if (reply.type === 'identities') return reply.identities;
    throw withAgentFailureReason(new SshError('ERR_AGENT', `ssh-agent ${this.path}: unexpected reply to REQUEST_IDENTITIES`), 'invalid format');
  }

  /**
   * draft-miller-ssh-agent-14 §3.6: a signature of `data` by the key `keyBlob`, or null when the
   * agent answers SSH_AGENT_FAILURE (it does not hold the key, the user did not confirm it, ...).
   * A connection that fails or closes first (the agent died) rejects with ssh(1)'s words for it,
   * `communication with agent failed` (OpenSSH authfd.c ssh_request_reply's
   * SSH_ERR_AGENT_COMMUNICATION), the socket's own error as its cause.
   */
  async sign(keyBlob: Uint8Array, data: Uint8Array, flags: number): Promise<Uint8Array | null> {
    let body: Uint8Array;
    try {
      body = await this.request(encodeSignRequest(keyBlob, data, flags));
    } catch (err) {
      if (this.lost) throw new SshError('ERR_AGENT', 'communication with agent failed', { cause: err });
      throw err;
    }
    const reply = this.decode(body);
    if (reply.type === 'signature') return reply.signature;
    if (reply.type === 'failure') return null;
    throw new SshError('ERR_AGENT', `ssh-agent ${this.path}: unexpected reply to SIGN_REQUEST`);
  }

  /** The agent's keys as {@link Signer}s on this connection (a refusal rejects with `agent refused operation`). */
  async signers(): Promise<(Signer & { comment: string })[]> {
    return (await this.identities()).map(({ keyBlob, comment }) => ({
      publicKeyBlob: keyBlob,
      comment,
      sign: async (data: Uint8Array, algorithm: string) => {
        const sig = await this.sign(keyBlob, data, agentSignFlags(algorithm));
        // OpenSSH ssherr.c SSH_ERR_AGENT_FAILURE: "agent refused operation".
        if (!sig) throw new SshError('ERR_AGENT', 'agent refused operation');
        return sig;
      },
    }));
  }

  /** Close the connection; pending requests reject. */
  close(): void {
    this.fail(new SshError('ERR_AGENT', `ssh-agent ${this.path}: connection closed`));
  }

  /** {@link decodeAgentReply}, its errors naming this agent's socket. */
  private decode(body: Uint8Array): AgentReply {
    try {
      return decodeAgentReply(body);
    } catch (err) {
      throw this.named(err);
    }
  }

  /**
   * The protocol's errors ("ssh-agent: message of N bytes exceeds ...") name the socket, as its
   * socket errors do: with several agents (or a path that is no agent) the caller can tell which
   * one answered nonsense.
   */
  private named(err: unknown): Error {
    if (!(err instanceof SshError && err.message.startsWith('ssh-agent: '))) return err as Error;
    const renamed = new SshError(err.code, `ssh-agent ${this.path}: ${err.message.slice('ssh-agent: '.length)}`, { cause: err.cause });
    const reason = agentFailureReason(err);
    return reason ? withAgentFailureReason(renamed, reason) : renamed;
  }

  private request(message: Uint8Array): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.socket.write(message);
    });
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const p of this.queue.splice(0)) p.reject(this.failure);
    this.socket.destroy();
  }
}
