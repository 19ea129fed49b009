/**
 * Issue 11: certificates held by ssh-agent. `ssh-add KEY` also loads `KEY-cert.pub`; the agent
 * then lists the certificate as an identity of its own and signs for it with the plain key
 * (OpenSSH PROTOCOL.certkeys, PROTOCOL.agent). With the key files removed, pure-ssh must log in
 * to an sshd that trusts only the CA (TrustedUserCAKeys), offering the certificate.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuthenticationError } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { waitForAgentSocket } from './support/ssh-agent.js';

const execFileP = promisify(execFile);

describeInterop('a user certificate held by ssh-agent, against sshd with TrustedUserCAKeys', () => {
  let sshd: SshdHandle;
  let dir: string;
  let agent: ChildProcess;
  let sock: string;
  const keygen = (...args: string[]) => execFileP('/usr/bin/ssh-keygen', ['-q', ...args]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-agent-cert-'));
    const p = (n: string) => join(dir, n);
    await keygen('-t', 'ed25519', '-N', '', '-C', 'user_ca', '-f', p('user_ca'));
    await keygen('-t', 'ed25519', '-N', '', '-C', 'certified@test', '-f', p('certified'));
    await keygen('-s', p('user_ca'), '-I', 'agent cert', '-n', 'root', '-V', '-5m:+1h', p('certified.pub'));
    // Only the CA is trusted: the plain key is in no authorized_keys.
    sshd = await startSshd({ config: { TrustedUserCAKeys: p('user_ca.pub'), AuthorizedKeysFile: '/dev/null', LogLevel: 'VERBOSE' } });
    sock = p('agent.sock');
    agent = spawn('/usr/bin/ssh-agent', ['-a', sock, '-D'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    await waitForAgentSocket(sock);
    // ssh-add loads certified-cert.pub beside the key as well.
    await execFileP('/usr/bin/ssh-add', [p('certified')], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    const { stdout } = await execFileP('/usr/bin/ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    expect(stdout).toMatch(/ED25519-CERT/);
    for (const f of ['certified', 'certified.pub', 'certified-cert.pub']) await rm(p(f));
  }, 60_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('logs in with the certificate from the agent (no key file present)', async () => {
    const lines: string[] = [];
    // No key but the agent's: the harness key is not authorised here (AuthorizedKeysFile /dev/null).
    const ssh = await connectTo(sshd, { privateKey: undefined, agent: sock, debug: (m) => lines.push(m) });
    await ssh.close();
    expect(lines.some((l) => /Offering public key: .*ED25519-CERT/.test(l))).toBe(true);
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID agent cert/);
  });

  it('without the agent the same server refuses: the certificate is what logged in', async () => {
    const err = await connectTo(sshd, { privateKey: undefined, agent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
  });
});
