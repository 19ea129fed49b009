/**
 * session-bind@openssh.com (OpenSSH PROTOCOL.agent §1) against the real peers: Debian's
 * ssh-agent holding keys added with destination constraints (`ssh-add -H KNOWN_HOSTS -h HOST`,
 * OpenSSH 8.9+) and sshd 9.2, through the library and the built CLI, side by side with ssh 9.2.
 * An agent signs with such a key only on a connection bound to a session with an allowed host
 * key; before the bind it refuses ("agent refused operation"), after binding to another host
 * it no longer lists the key. Needs `npm run build` first for the CLI cases.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentClient, AuthenticationError, connect, type ConnectOptions } from '../src/index.js';
import { cliEnv, itWithHome } from './harness/home.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { startSshAgent } from './support/ssh-agent.js';
import { CLI_BIN_PATH as CLI, runUntil } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh-check): check-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url));

const execFileP = promisify(execFile);
const children = new Set<ChildProcess>();

async function startAgent(dir: string, name: string): Promise<string> {
  const sock = join(dir, `${name}.sock`);
  children.add(await startSshAgent(sock));
  return sock;
}

/** A new ed25519 key, authorized on the server, added to the agent at `sock` for `-h host` only. */
async function addConstrainedKey(dir: string, name: string, sshd: SshdHandle, sock: string, knownHosts: string, host: string): Promise<void> {
  const path = join(dir, name);
  await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', path]);
  await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${path}.pub`, 'utf8'));
  // ssh-add(1) -h: the host's keys come from the -H file, looked up under the name as given.
  await execFileP('/usr/bin/ssh-add', ['-H', knownHosts, '-h', host, path], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
  await rm(path);
  await rm(`${path}.pub`);
}

/** Run `bin` (pure-ssh's CLI or ssh 9.2) until it authenticates (then stop it) or exits. */
function run(bin: string[], args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return runUntil(bin, args, { env, until: /Authenticated to /, children, timeoutMs: 20_000 });
}

/** The lines of a -v log that concern the agent binding and its outcome. */
function bindLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .filter((l) => /get_agent_identities|Authenticated to|Permission denied/.test(l))
    .map((l) => l.replace(/ \(via proxy\)| using "publickey"\.?/, '').replace(/ \(\[127\.0\.0\.1\]:\d+\)/, ''));
}

describeInterop('ssh-agent destination constraints (session-bind@openssh.com) against sshd', () => {
  let sshd: SshdHandle;
  let dir: string;
  let home: string;
  /** An agent whose key may be used on 127.0.0.1 (this sshd's host key). */
  let here: string;
  /** An agent whose key may be used only on another host (another host key). */
  let elsewhere: string;
  let base: ConnectOptions;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd({});
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-agentbind-'));
    home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    // ssh-add -h 127.0.0.1 looks "127.0.0.1" up in the -H file: the test sshd's key under that name.
    const hostKey = (await readFile(sshd.knownHostsPath, 'utf8')).trim().split('\n')[0]!.split(' ').slice(1).join(' ');
    const hereHosts = join(dir, 'known_hosts_here');
    await writeFile(hereHosts, `127.0.0.1 ${hostKey}\n`);
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other_host')]);
    const otherHosts = join(dir, 'known_hosts_other');
    await writeFile(otherHosts, `other.example ${(await readFile(join(dir, 'other_host.pub'), 'utf8')).trim()}\n`);
    here = await startAgent(dir, 'here');
    elsewhere = await startAgent(dir, 'elsewhere');
    await addConstrainedKey(dir, 'bound_here', sshd, here, hereHosts, '127.0.0.1');
    await addConstrainedKey(dir, 'bound_elsewhere', sshd, elsewhere, otherHosts, 'other.example');
    base = { host: sshd.host, port: sshd.port, username: sshd.user, knownHosts: sshd.knownHostsPath };
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('library: a key constrained to this host signs once the agent is bound', async () => {
    const lines: string[] = [];
    const ssh = await connect({ ...base, agent: here, debug: (m, level) => lines.push(`debug${level ?? 1}: ${m}`) });
    await ssh.close();
    const bound = lines.indexOf('debug1: get_agent_identities: bound agent to hostkey');
    expect(bound).toBeGreaterThanOrEqual(0);
    // ssh(1)'s order: bound, then the keys the bound agent lists.
    expect(lines.indexOf('debug1: get_agent_identities: agent returned 1 keys')).toBeGreaterThan(bound);
  }, 30_000);

  it('library: a key constrained to another host is not offered; the agent would refuse it', async () => {
    const lines: string[] = [];
    const err = await connect({ ...base, agent: elsewhere, debug: (m, level) => lines.push(`debug${level ?? 1}: ${m}`) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(lines).toContain('debug1: get_agent_identities: bound agent to hostkey');
    // ssh(1)'s words for an empty list (authfd.c ssh_fetch_identitylist: SSH_ERR_AGENT_NO_IDENTITIES).
    expect(lines).toContain('debug1: get_agent_identities: ssh_fetch_identitylist: agent contains no identities');
    expect(lines.some((l) => l.includes('Offering public key'))).toBe(false);
  }, 30_000);

  it('AgentClient: unbound it cannot sign with the key; bound it lists it; a second bind for authentication is refused', async () => {
    // A real session's binding: the first kex's host key, session id and signature.
    const ssh = await connect({ ...base, agent: here });
    const { hostKey, sessionId, hostKeySignature } = ssh.info;
    await ssh.close();
    const agent = await AgentClient.connect(here);
    try {
      const [key] = await agent.identities();
      expect(key).toBeDefined();
      // OpenSSH ssh-agent.c process_sign_request: a destination-constrained key on an unbound connection.
      expect(await agent.sign(key!.keyBlob, new Uint8Array(32), 0)).toBeNull();
      await agent.bindSession(hostKey!, sessionId!, hostKeySignature!);
      expect((await agent.identities()).length).toBe(1);
      // ssh-agent.c process_ext_session_bind: a connection bound for authentication stays so.
      await expect(agent.bindSession(hostKey!, sessionId!, hostKeySignature!)).rejects.toThrow('agent refused operation');
    } finally {
      agent.close();
    }
  }, 30_000);

  itWithHome('CLI: the same -v binding lines and outcome as ssh 9.2, for both keys', async () => {
    const args = ['-F', 'none', '-N', '-v', '-p', String(sshd.port), '-l', 'root', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '127.0.0.1'];
    for (const [sock, ok] of [
      [here, true],
      [elsewhere, false],
    ] as const) {
      const env = cliEnv(home, { SSH_AUTH_SOCK: sock });
      const ours = await run([process.execPath, CLI], args, env);
      const theirs = await run(['/usr/bin/ssh'], args, env);
      expect(bindLines(ours.stderr)).toEqual(bindLines(theirs.stderr));
      expect(ours.stderr).toContain('debug1: get_agent_identities: bound agent to hostkey');
      if (ok) expect(ours.stderr).toContain('Authenticated to 127.0.0.1');
      else {
        expect(ours.code).toBe(255);
        expect(ours.stderr).toContain('root@127.0.0.1: Permission denied (publickey).');
      }
    }
  }, 60_000);

  itWithHome('pure-ssh-check: logs in with the key constrained to this host', async () => {
    const args = ['--json', '-v', '-F', 'none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-p', String(sshd.port), 'root@127.0.0.1'];
    const env = cliEnv(home, { SSH_AUTH_SOCK: here });
    const r = await execFileP(process.execPath, [CHECK_CLI, ...args], { env, timeout: 110_000 }).catch((e: { stdout: string; stderr: string }) => e);
    expect((JSON.parse(r.stdout) as { login?: unknown }).login, r.stderr).toEqual({ user: 'root', method: 'publickey' });
    expect(r.stderr).toContain('get_agent_identities: bound agent to hostkey');
  }, 120_000);
});
