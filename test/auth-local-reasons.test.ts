/**
 * What a library caller is told when its own means of authenticating were not used, against
 * sshd 9.2 and ssh-agent (the lib testers' LOW findings):
 * - an `agent` socket that is missing or that nobody listens on: an `onWarning` of code
 *   `agent-unavailable` (it said nothing but a debug line), and a final AuthenticationError that
 *   names it (`agentUnavailable`, "Agent keys not offered: ...");
 * - nothing offered at all: the message says so ("tried: nothing"), never a name that reads as
 *   a method we tried (it read "tried: none", the name of RFC 4252 §5.2's method);
 * - a Signer whose sign() resolves with no bytes (a string, undefined, an ArrayBuffer): a
 *   UsageError naming the key and the answer, from the core, so in Node and pure-ssh/web (it
 *   was an AuthenticationError, "returned a malformed signature");
 * - a Signer whose sign() resolves with null declines (documented): a debug line and the final
 *   AuthenticationError's reason name it (it went without a word);
 * - an identity file is read once (a key from a pipe, `-i <(pass show key)`, has one reading):
 *   the first bytes said whether it held a private key, and it was then opened and read again.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuthenticationError, parsePrivateKey, SshError, UsageError } from '../src/index.js';
import { connect as webConnect, type Signer } from '../src/web/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/dial-node.js';
import { startSshAgent } from './support/ssh-agent.js';

const execFileP = promisify(execFile);

async function failure(p: Promise<{ close(): Promise<void> }>): Promise<unknown> {
  return p.then(
    async (c) => {
      await c.close();
      return 'connected';
    },
    (err: unknown) => err,
  );
}

describeInterop('a library caller is told what was not offered and why (sshd 9.2, ssh-agent)', () => {
  const sshd = sshdSuite();
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-local-'));
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A socket file nobody listens on: an ssh-agent's, once the agent was killed (SIGKILL: its socket stays). */
  async function deadAgentSocket(): Promise<string> {
    const sock = join(dir, 'dead-agent.sock');
    const child = await startSshAgent(sock);
    children.push(child);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // Still there, refused.
    const refused = await new Promise<string>((r) => net.connect(sock).once('error', (e: NodeJS.ErrnoException) => r(e.code!)).once('connect', () => r('connected')));
    expect(refused).toBe('ECONNREFUSED');
    return sock;
  }

  it('agent: a missing path or a socket nobody listens on is an onWarning (agent-unavailable) and named by the AuthenticationError; the debug line stays', async () => {
    const missing = join(dir, 'no-agent.sock');
    const dead = await deadAgentSocket();
    for (const [agent, why] of [
      [missing, 'No such file or directory'],
      [dead, 'Connection refused'],
    ] as const) {
      const warnings: { code: string; message: string }[] = [];
      const debug: string[] = [];
      const err = await failure(connectTo(sshd, { privateKey: undefined, agent, onWarning: (w) => warnings.push(w), debug: (m) => debug.push(m) }));
      const reason = `Error connecting to agent ${agent}: ${why}`;
      expect(warnings).toEqual([{ code: 'agent-unavailable', message: `${reason}; its keys are not offered` }]);
      expect(debug).toContain(`get_agent_identities: ssh_get_authentication_socket: ${why}`);
      expect(err).toBeInstanceOf(AuthenticationError);
      const e = err as AuthenticationError;
      expect({ tried: e.methodsTried, allowed: e.methodsAllowed, agent: e.agentUnavailable }).toEqual({ tried: [], allowed: ['publickey'], agent: reason });
      expect(e.message).toBe(`Permission denied for root (tried: nothing; server allows: publickey). Agent keys not offered: ${reason}.`);
    }
  });

  it('agent: the warning comes also when another key logs in (the caller can tell the agent was not used)', async () => {
    const warnings: string[] = [];
    const ssh = await connectTo(sshd, { agent: join(dir, 'no-agent.sock'), onWarning: (w) => warnings.push(w.code) });
    await ssh.close();
    expect(warnings).toEqual(['agent-unavailable']);
  });

  it('agent: one that accepts and never answers held connect() for ever, connectTimeout or not (break36); now it is skipped once connectTimeout is up, and the key logs in', async () => {
    // A socket that accepts and reads, and never replies: what a hung agent (or a socket that is
    // no agent) looks like to ssh-agent's client.
    const path = join(dir, 'silent-agent.sock');
    const silent = net.createServer((c) => c.resume());
    await new Promise<void>((r) => silent.listen(path, r));
    try {
      const warnings: { code: string; message: string }[] = [];
      const started = Date.now();
      const hang = new Promise<string>((r) => setTimeout(() => r('still waiting after 8 s'), 8000).unref());
      const outcome = await Promise.race([
        connectTo(sshd, { agent: path, connectTimeout: 1500, onWarning: (w) => warnings.push(w) }).then(async (ssh) => (await ssh.close(), 'connected')),
        hang,
      ]);
      expect(outcome).toBe('connected');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      const reason = `ssh-agent ${path}: no reply within connectTimeout (1500 ms)`;
      expect(warnings).toEqual([{ code: 'agent-unavailable', message: `${reason}; its keys are not offered` }]);
      // Nothing else to offer: the AuthenticationError names the agent and why.
      const err = await failure(connectTo(sshd, { privateKey: undefined, agent: path, connectTimeout: 500 }));
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).agentUnavailable).toBe(`ssh-agent ${path}: no reply within connectTimeout (500 ms)`);
    } finally {
      silent.close();
    }
  });

  it('agent: a socket that answers with no agent protocol is named in the reason (break36: "ssh-agent: message of N bytes ..." named no socket)', async () => {
    const path = join(dir, 'http-not-agent.sock');
    const http = net.createServer((c) => c.on('data', () => c.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await new Promise<void>((r) => http.listen(path, r));
    try {
      const warnings: string[] = [];
      const err = await failure(connectTo(sshd, { privateKey: undefined, agent: path, onWarning: (w) => warnings.push(w.message) }));
      // The session bind read "HTTP" as a length and was refused; the listing reads on, as ssh's
      // authfd.c ssh_request_reply does: "/1.1".
      const reason = `ssh-agent ${path}: message of 791752241 bytes exceeds 262144`;
      expect(warnings).toEqual([`${reason}; its keys are not offered`]);
      expect((err as AuthenticationError).agentUnavailable).toBe(reason);
    } finally {
      http.close();
    }
  });

  it('nothing to offer: "tried: nothing", then what the server allows; a key offered and refused: "tried: publickey"', async () => {
    const none = (await failure(connectTo(sshd, { privateKey: undefined }))) as AuthenticationError;
    expect(none).toBeInstanceOf(AuthenticationError);
    expect(none.message).toBe('Permission denied for root (tried: nothing; server allows: publickey).');
    expect(none.methodsTried).toEqual([]);
    const stranger = join(dir, 'stranger');
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const refused = (await failure(connectTo(sshd, { privateKey: undefined, identityFiles: [stranger] }))) as AuthenticationError;
    expect(refused.message).toBe('Permission denied for root (tried: publickey; server allows: publickey).');
  });

  /** A signer for the harness key whose sign() resolves with `answer`. */
  function signerAnswering(answer: unknown, comment = 'kms://prod/ssh'): Signer {
    const key = parsePrivateKey(sshd.clientKey);
    return { publicKeyBlob: key.publicKeyBlob, comment, sign: async () => answer as Uint8Array };
  }

  const badAnswers: [unknown, string][] = [
    ['c2lnbmF0dXJl', '"c2lnbmF0dXJl"'],
    [undefined, 'undefined'],
    [new ArrayBuffer(83), 'an object'],
    ['x'.repeat(30), `"${'x'.repeat(30)}"`],
  ];
  const usageText = (got: string) =>
    `signing failed for ED25519 "kms://prod/ssh": sign() resolved with ${got}`;

  it('Node: a Signer resolving with no bytes is a UsageError naming it and the answer (it was an AuthenticationError)', async () => {
    for (const [answer, got] of badAnswers) {
      const err = await failure(connectTo(sshd, { privateKey: undefined, signers: [signerAnswering(answer)] }));
      expect(err, got).toBeInstanceOf(UsageError);
      expect((err as SshError).message).toBe(usageText(got));
    }
  });

  it('web: the same UsageError', async () => {
    for (const [answer, got] of badAnswers.slice(0, 2)) {
      const err = await failure(
        webConnect({ transport: dialNodeWeb(sshd.port), host: sshd.host, port: sshd.port, username: sshd.user, knownHosts: sshd.hostKeyLines.join('\n'), signers: [signerAnswering(answer)] }),
      );
      expect(err, got).toBeInstanceOf(UsageError);
      expect((err as SshError).message).toBe(usageText(got));
    }
  });

  const declined = 'signing failed for ED25519 "kms://prod/ssh": sign() resolved with null (declined)';

  it('Node: a Signer resolving with null declines (documented): the key is skipped, with a debug line and the AuthenticationError\'s reason (it went without a word)', async () => {
    const debug: string[] = [];
    const err = await failure(connectTo(sshd, { privateKey: undefined, signers: [signerAnswering(null)], debug: (m) => debug.push(m) }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).message).toContain(declined);
    expect(debug).toContain(declined);
    // Declining is not the end: the next key logs in.
    const ssh = await connectTo(sshd, { signers: [signerAnswering(null)] });
    await ssh.close();
  });

  it('web: the same reason', async () => {
    const debug: string[] = [];
    const err = await failure(
      webConnect({ transport: dialNodeWeb(sshd.port), host: sshd.host, port: sshd.port, username: sshd.user, knownHosts: sshd.hostKeyLines.join('\n'), signers: [signerAnswering(null)], debug: (m: string) => debug.push(m) }),
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).message).toContain(declined);
    expect(debug).toContain(declined);
  });

  it('identityFiles without askPassphrase: a key file is opened and read once (a key from a pipe logs in; it hung)', async () => {
    const fifo = join(dir, 'key.fifo');
    await execFileP('mkfifo', ['-m', '600', fifo]);
    // The key goes down the pipe once, as from `<(pass show key)`. The old code read its first 64
    // bytes, closed it, and opened it again for the whole key: no writer any more, a wait forever.
    const written = writeFile(fifo, await readFile(sshd.clientKeyPath)).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    try {
      const hang = new Promise<string>((r) => (timer = setTimeout(() => r('hang'), 10_000)));
      const result = await Promise.race([connectTo(sshd, { privateKey: undefined, identityFiles: [fifo] }).then(async (ssh) => (await ssh.close(), 'connected'), (e: Error) => e.message), hang]);
      expect(result).toBe('connected');
    } finally {
      clearTimeout(timer);
      // A reader still waiting for a writer (the old code) gets an empty pipe and goes on.
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader waiting (ENXIO).
      }
      await written;
    }
  }, 20_000);
});
