/**
 * When the agent is contacted, against a real ssh-agent (`ssh-agent -d`, which logs each request
 * it processes) and sshd 9.2, beside ssh 9.2. ssh opens SSH_AUTH_SOCK only in sshconnect2.c
 * pubkey_prepare, once the key exchange is over and the host key trusted, and sends
 * session-bind@openssh.com before SSH2_AGENTC_REQUEST_IDENTITIES (get_agent_identities). pure-ssh
 * listed the agent's keys at start-up, before the version exchange, unbound: an agent that
 * prompts or logs on access saw a request for a host whose key was then refused (break38 F5).
 * Needs `npm run build` first.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, HostKeyError } from '../src/index.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli, type CliClient } from './harness/proc.js';
import { waitForAgentSocket } from './support/ssh-agent.js';

const execFileP = promisify(execFile);

/** ssh-agent(1) -d: in the foreground, its debug log on stderr, kept here. */
interface LoggingAgent {
  sock: string;
  child: ChildProcess;
  log: string;
}

async function startLoggingAgent(sock: string): Promise<LoggingAgent> {
  const child = spawn('/usr/bin/ssh-agent', ['-d', '-a', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
  const agent: LoggingAgent = { sock, child, log: '' };
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (agent.log += d));
  try {
    await waitForAgentSocket(sock);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return agent;
}

/**
 * The requests the agent processed in `log`, in order: `bind` (session-bind@openssh.com
 * recorded), `list(N bound)` (REQUEST_IDENTITIES on a connection with N session bindings, as
 * identity_permitted logs it for each key), `sign`, or `type N` for another message.
 */
function requests(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    const m = /process_message: socket \d+ \(fd=\d+\) type (\d+)/.exec(line);
    if (m) out.push(m[1] === '27' ? 'extension' : m[1] === '11' ? 'list' : m[1] === '13' ? 'sign' : `type ${m[1]}`);
    if (/process_ext_session_bind: recorded /.test(line) && out.at(-1) === 'extension') out[out.length - 1] = 'bind';
    const bound = /identity_permitted: entering: .* (\d+) socket bindings/.exec(line);
    if (bound && out.at(-1) === 'list') out[out.length - 1] = `list(${bound[1]} bound)`;
  }
  return out;
}

/** What the agent logs from here on. */
function mark(agent: LoggingAgent): () => Promise<string[]> {
  const from = agent.log.length;
  return async () => {
    // The agent logs a request before it answers it; its pipe may lag the client's exit a little.
    await new Promise((r) => setTimeout(r, 200));
    return requests(agent.log.slice(from));
  };
}

describeInteropWithHome('the agent is contacted once the host key is trusted, bound first (ssh 9.2 pubkey_prepare)', () => {
  const home = suiteHome();
  const sshd = sshdSuite();
  let agent: LoggingAgent;
  let trusted: string;
  let untrusted: string;
  let config: string;

  beforeAll(async () => {
    agent = await startLoggingAgent(join(sshd.dir, 'agent.sock'));
    const key = join(sshd.dir, 'agent_key');
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'agent_key', '-f', key]);
    writeFileSync(join(sshd.dir, 'authorized_keys'), await readFile(`${key}.pub`, 'utf8'), { flag: 'a' });
    await execFileP('/usr/bin/ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: agent.sock } });
    trusted = sshd.knownHostsPath;
    untrusted = join(sshd.dir, 'known_hosts_empty');
    writeFileSync(untrusted, '');
    // For ProxyJump: ssh's hop is another ssh reading this file, not the -o options.
    config = join(sshd.dir, 'jump_config');
    writeFileSync(
      config,
      ['Host *', '  User root', `  UserKnownHostsFile ${trusted}`, '  GlobalKnownHostsFile /dev/null', '  BatchMode yes', '  StrictHostKeyChecking yes', ''].join('\n'),
    );
  }, 30_000);

  afterAll(() => {
    agent?.child.kill('SIGKILL');
  });

  const run = async (client: CliClient, args: string[]) => {
    const seen = mark(agent);
    const done = await startCli(client, args, { env: cliEnv(home, { SSH_AUTH_SOCK: agent.sock }) }).done;
    return { code: done.code, stderr: done.stderr.replace(/\r/g, ''), requests: await seen() };
  };
  /** ssh, then pure-ssh, with `argv`: each run through `check`, and the requests the agent saw from each. */
  const both = async (argv: string[], check: (r: Awaited<ReturnType<typeof run>>, client: CliClient) => void) => {
    const seen: Record<string, string[]> = {};
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const r = await run(client, argv);
      check(r, client);
      seen[client] = r.requests;
    }
    return seen;
  };
  const refused = (r: Awaited<ReturnType<typeof run>>, client: CliClient) => {
    expect(r.code, client).toBe(255);
    expect(r.stderr, client).toContain('Host key verification failed.');
  };
  const args = (knownHosts: string) => ['-F', 'none', '-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-W', '127.0.0.1:1', sshd.target];

  it('a host key not trusted: the agent is asked nothing, as by ssh', async () => {
    expect(await both(args(untrusted), refused)).toEqual({ ssh: [], 'pure-ssh': [] });
  }, 60_000);

  it('a host key trusted: the session bind first, then the listing on the bound connection, then the signature, as ssh', async () => {
    const seen = await both([...args(trusted), '-v'], (r, client) => expect(r.stderr, client).toContain('Authenticated to '));
    expect(seen.ssh).toEqual(['bind', 'list(1 bound)', 'sign']);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);

  it('ProxyJump: the hop (trusted) binds and lists for its own session; the destination (not trusted) asks nothing, as ssh', async () => {
    // The destination, reached through the hop as "localhost", is not in known_hosts.
    const seen = await both(['-F', config, '-J', `127.0.0.1:${sshd.port}`, '-p', String(sshd.port), '-W', '127.0.0.1:1', 'localhost'], refused);
    expect(seen.ssh).toEqual(['bind', 'list(1 bound)', 'sign']);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);

  it('library: connect() with an agent asks it nothing for a refused host key; trusted, it binds, then lists', async () => {
    const base = { host: sshd.host, port: sshd.port, username: sshd.user, agent: agent.sock };
    let seen = mark(agent);
    const err = await connect({ ...base, knownHosts: untrusted }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(await seen()).toEqual([]);
    seen = mark(agent);
    const ssh = await connect({ ...base, knownHosts: trusted });
    await ssh.close();
    expect(await seen()).toEqual(['bind', 'list(1 bound)', 'sign']);
  }, 30_000);
});
