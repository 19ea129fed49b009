/**
 * -v with SSH_AUTH_SOCK naming something that is not an agent: a regular file, a socket that
 * closes at once, one that answers garbage, one that refuses, one whose replies are cut short,
 * and ones that answer the first request only (the session bind) and close.
 * ssh 9.2's lines (sshconnect2.c get_agent_identities: authfd.c ssh_get_authentication_socket's
 * strerror, ssh_agent_bind_hostkey's and ssh_fetch_identitylist's ssherr.c words) beside
 * pure-ssh's, at the same place (after the host key, before the keys to try: ssh contacts its
 * agent in pubkey_prepare; pure-ssh did at start-up, before the version exchange, break38 F5);
 * the key file logs in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli, type CliClient } from './harness/proc.js';

async function stderrOf(client: CliClient, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return (await startCli(client, args, { env }).done).stderr.replace(/\r/g, '');
}

/** A Unix socket at `path` whose every connection gets `onConnect`. */
function fakeAgent(path: string, onConnect: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnect);
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

/** Answers the first request (the session bind) with `reply` and closes: the listing finds the socket closed. */
const answeringOnce = (reply: Uint8Array) => (socket: Socket) => {
  socket.once('data', () => socket.end(reply));
  socket.on('error', () => {});
};

/**
 * The -vv lines that place the agent's: the version exchange, the host key, the agent's lines
 * (debug2: the session bind's outcome), the keys to try, the login.
 */
function agentLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /get_agent_identities|Local version string|Server host key:|Will attempt key:|Authenticated to /.test(l))
    .map((l) => l.replace(/Local version string .*/, 'Local version string'));
}

/** Answers each request (any chunk read) with `reply`, keeping the connection: the same word whatever ssh asks first. */
const answering = (reply: Uint8Array) => (socket: Socket) => {
  socket.on('data', () => socket.write(reply));
  socket.on('error', () => {});
};

describeInteropWithHome('CLI: SSH_AUTH_SOCK that is not an agent, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();
  const servers: Server[] = [];
  const cases: [name: string, line: string][] = [
    ['regular-file', 'ssh_get_authentication_socket: Connection refused'],
    ['a-directory', 'ssh_get_authentication_socket: Connection refused'],
    ['closes-at-once', 'ssh_fetch_identitylist: communication with agent failed'],
    ['garbage', 'ssh_fetch_identitylist: invalid format'],
    ['refuses', 'ssh_fetch_identitylist: agent refused operation'],
    ['empty-reply', 'ssh_fetch_identitylist: incomplete message'],
    ['cut-short', 'ssh_fetch_identitylist: incomplete message'],
    // authfd.c ssh_request_reply reads the listing's reply from a socket the agent closed.
    ['garbage-then-closes', 'ssh_fetch_identitylist: communication with agent failed'],
    ['refuses-then-closes', 'ssh_fetch_identitylist: communication with agent failed'],
    ['empty-then-closes', 'ssh_fetch_identitylist: communication with agent failed'],
    ['too-long-then-closes', 'ssh_fetch_identitylist: communication with agent failed'],
  ];

  beforeAll(async () => {
    writeFileSync(join(sshd.dir, 'regular-file'), 'not a socket\n');
    mkdirSync(join(sshd.dir, 'a-directory'));
    const at = (name: string) => join(sshd.dir, name);
    servers.push(
      await fakeAgent(at('closes-at-once'), (s) => s.destroy()),
      // "hell" as a length is over authfd.c's MAX_AGENT_REPLY_LEN.
      await fakeAgent(at('garbage'), answering(new TextEncoder().encode('hello, this is no agent\n'))),
      // SSH_AGENT_FAILURE (draft-miller-ssh-agent-14 §3.3) to everything, session-bind included.
      await fakeAgent(at('refuses'), answering(Uint8Array.of(0, 0, 0, 1, 5))),
      await fakeAgent(at('empty-reply'), answering(Uint8Array.of(0, 0, 0, 0))),
      // SSH2_AGENT_IDENTITIES_ANSWER whose key count is two bytes short.
      await fakeAgent(at('cut-short'), answering(Uint8Array.of(0, 0, 0, 3, 12, 0, 0))),
      // A 5-byte message of type 'c' (99), one byte more: ssh_agent_bind_hostkey's "invalid format".
      await fakeAgent(at('garbage-then-closes'), answeringOnce(new TextEncoder().encode('\0\0\0\x05chello'))),
      await fakeAgent(at('refuses-then-closes'), answeringOnce(Uint8Array.of(0, 0, 0, 1, 5))),
      await fakeAgent(at('empty-then-closes'), answeringOnce(Uint8Array.of(0, 0, 0, 0))),
      // A length over MAX_AGENT_REPLY_LEN: refused, nothing more read (the stream is kept).
      await fakeAgent(at('too-long-then-closes'), answeringOnce(Uint8Array.of(0x7f, 0xff, 0xff, 0xff))),
    );
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('lists a key unbound, then closes at session-bind: ssh uses none of its keys (get_agent_identities lists after the bind, and that fails), not the list read before', async () => {
    // The authorized key itself, which this "agent" cannot sign with: offered from a stale list,
    // the server accepts it and the signature fails (`sign_and_send_pubkey: signing failed ...`).
    const blob = Buffer.from(sshd.clientPublicKey.split(' ')[1]!, 'base64');
    const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
    // draft-miller-ssh-agent-14 §4.4: SSH_AGENT_IDENTITIES_ANSWER, one key, comment "stale".
    const body = Buffer.concat([Buffer.from([12]), u32(1), u32(blob.length), blob, u32(5), Buffer.from('stale')]);
    const answer = Buffer.concat([u32(body.length), body]);
    const path = join(sshd.dir, 'closes-at-bind');
    servers.push(await fakeAgent(path, (socket) => {
      let buf = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 5 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const type = buf[4];
          buf = buf.subarray(4 + buf.readUInt32BE(0));
          // SSH2_AGENTC_REQUEST_IDENTITIES answered; SSH_AGENTC_EXTENSION (session-bind) ends the connection.
          if (type === 11) socket.write(answer);
          else socket.destroy();
        }
      });
    }));
    const env = cliEnv(home, { SSH_AUTH_SOCK: path });
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-v', '-W', '127.0.0.1:1', sshd.target];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const err = await stderrOf(client, args, env);
      expect(err, client).toContain('debug1: get_agent_identities: ssh_fetch_identitylist: communication with agent failed\n');
      expect(err, client).not.toMatch(/signing failed|Will attempt key: stale/);
      expect(err, client).toContain('Authenticated to ');
    }
  }, 60_000);

  it.each(cases)('%s: debug1: get_agent_identities: %s', async (name, line) => {
    const env = cliEnv(home, { SSH_AUTH_SOCK: join(sshd.dir, name) });
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-vv', '-W', '127.0.0.1:1', sshd.target];
    const seen: Record<string, string[]> = {};
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const err = await stderrOf(client, args, env);
      expect(err, client).toContain(`debug1: get_agent_identities: ${line}\n`);
      expect(err, client).toContain('Authenticated to ');
      seen[client] = agentLines(err);
    }
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
