/**
 * Issue 11: certificates held by ssh-agent. `ssh-add KEY` also loads `KEY-cert.pub`; the agent
 * then lists the certificate as an identity of its own and signs for it with the plain key
 * (OpenSSH PROTOCOL.certkeys, PROTOCOL.agent). With the key files removed, pure-ssh must log in
 * to an sshd that trusts only the CA (TrustedUserCAKeys), offering the certificate.
 *
 * And a certificate on disk whose key the agent holds (break20 F12): ssh 9.2 offers it and has
 * the agent sign (sshconnect2.c sign_and_send_pubkey); pure-ssh dropped it, its private key file
 * being absent. An encrypted key with its certificate beside it (F4, L6): the certificate is
 * offered by query, the passphrase asked only once the server accepts it, never when the agent
 * holds the key (pure-ssh asked it before connecting). The same key given without askPassphrase
 * is skipped before connecting, but its certificate is still offered and the agent signs for it
 * (it was dropped with the key).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuthenticationError } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { startSshAgent, waitForAgentSocket } from './support/ssh-agent.js';

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
    // F12: a key only in the agent (its file removed after ssh-add), its .pub and a certificate
    // under another name kept on disk (ssh-add loads no such certificate).
    await keygen('-t', 'ed25519', '-N', '', '-C', 'agent-only', '-f', p('ao'));
    await keygen('-s', p('user_ca'), '-I', 'ao-root', '-n', 'root', '-V', '-5m:+1h', p('ao.pub'));
    await copyFile(p('ao-cert.pub'), p('certs_ao.pub'));
    await rm(p('ao-cert.pub'));
    await execFileP('/usr/bin/ssh-add', [p('ao')], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    await rm(p('ao'));
    // F4: an encrypted key with its certificate beside it; a clear copy for an agent.
    await keygen('-t', 'ed25519', '-N', 'pp', '-C', 'enc', '-f', p('enc'));
    await keygen('-s', p('user_ca'), '-I', 'enc-root', '-n', 'root', '-V', '-5m:+1h', p('enc.pub'));
    await copyFile(p('enc'), p('enc_clear'));
    await keygen('-p', '-P', 'pp', '-N', '', '-f', p('enc_clear'));
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

  it('CertificateFile with the key only in the agent (IdentityFile KEY.pub): the certificate is offered and the agent signs, as ssh', async () => {
    const lines: string[] = [];
    const ssh = await connectTo(sshd, {
      privateKey: undefined,
      agent: sock,
      identitiesOnly: true,
      identityFiles: [join(dir, 'ao.pub')],
      certificateFiles: [join(dir, 'certs_ao.pub')],
      debug: (m) => lines.push(m),
    });
    await ssh.close();
    const cert = `${join(dir, 'certs_ao.pub')} ED25519-CERT SHA256:`;
    expect(lines.filter((l) => l.startsWith('Will attempt key: ')).map((l) => l.replace(/SHA256:\S+/, 'SHA256:'))).toEqual([
      `Will attempt key: ${cert} explicit`,
      `Will attempt key: ${join(dir, 'ao.pub')} ED25519 SHA256: agent`,
    ]);
    expect(lines.some((l) => l.startsWith(`Server accepts key: ${cert}`))).toBe(true);
    expect(lines).toContain(`sign_and_send_pubkey: using private key "${join(dir, 'ao.pub')}" from agent for certificate`);
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID ao-root/);
  });

  /** connect() with the encrypted key (its -cert.pub beside it): what was asked, and the debug lines around it, in order. */
  async function withEncrypted(agent: string | false, overrides: Parameters<typeof connectTo>[1] = {}) {
    const events: string[] = [];
    const result = await connectTo(sshd, {
      privateKey: undefined,
      agent,
      identitiesOnly: true,
      identityFiles: [join(dir, 'enc')],
      askPassphrase: (path) => {
        events.push(`ASKED ${path}`);
        return 'pp';
      },
      debug: (m) => events.push(m),
      ...overrides,
    }).then(
      async (ssh) => {
        await ssh.close();
        return 'logged in';
      },
      (err: Error) => err,
    );
    return { result, events, asked: events.filter((e) => e.startsWith('ASKED ')) };
  }

  it('encrypted key with KEY-cert.pub, no agent: the certificate is offered by query, the passphrase asked once the server accepts it', async () => {
    const { result, events, asked } = await withEncrypted(false);
    expect(result).toBe('logged in');
    expect(asked).toEqual([`ASKED ${join(dir, 'enc')}`]);
    const accepts = events.findIndex((e) => e.startsWith(`Server accepts key: ${join(dir, 'enc')} ED25519-CERT `));
    expect(accepts).toBeGreaterThan(-1);
    expect(events.indexOf(asked[0]!)).toBeGreaterThan(accepts);
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID enc-root/);
  });

  it('encrypted key with KEY-cert.pub, an unknown host key: refused, no passphrase asked', async () => {
    const { result, asked } = await withEncrypted(false, { knownHosts: '/dev/null' });
    expect(result).toBeInstanceOf(Error);
    expect(asked).toEqual([]);
  });

  it('encrypted key with KEY-cert.pub, the key (then the key and certificate) in an agent: logs in, nothing asked', async () => {
    const agentSock = join(dir, 'agent2.sock');
    const agent2 = await startSshAgent(agentSock);
    try {
      const env = { ...process.env, SSH_AUTH_SOCK: agentSock };
      await execFileP('/usr/bin/ssh-add', [join(dir, 'enc_clear')], { env });
      const keyOnly = await withEncrypted(agentSock);
      expect(keyOnly.result).toBe('logged in');
      expect(keyOnly.asked).toEqual([]);
      expect(keyOnly.events).toContain(`sign_and_send_pubkey: using private key "${join(dir, 'enc')}" from agent for certificate`);
      // ssh-add KEY also loads KEY-cert.pub: the agent's certificate stands for the file's.
      await copyFile(join(dir, 'enc-cert.pub'), join(dir, 'enc_clear-cert.pub'));
      await execFileP('/usr/bin/ssh-add', [join(dir, 'enc_clear')], { env });
      const both = await withEncrypted(agentSock);
      expect(both.result).toBe('logged in');
      expect(both.asked).toEqual([]);
      expect(both.events).toContainEqual(expect.stringMatching(/^Server accepts key: \S+\/enc ED25519-CERT SHA256:\S+ agent$/));
    } finally {
      agent2.kill('SIGKILL');
    }
  });

  it('encrypted key with KEY-cert.pub, no askPassphrase, the key in an agent: the key file is skipped, its certificate offered and signed by the agent, as ssh', async () => {
    const agentSock = join(dir, 'agent3.sock');
    const agent3 = await startSshAgent(agentSock);
    try {
      // The key alone: not the certificate an earlier test put beside enc_clear (ssh-add would load it).
      await rm(join(dir, 'enc_clear-cert.pub'), { force: true });
      await execFileP('/usr/bin/ssh-add', [join(dir, 'enc_clear')], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
      const lines: string[] = [];
      const ssh = await connectTo(sshd, { privateKey: undefined, agent: agentSock, identityFiles: [join(dir, 'enc')], debug: (m) => lines.push(m) });
      await ssh.close();
      // The file is skipped before connecting (no passphrase), as before; its certificate is not.
      expect(lines).toContainEqual(expect.stringMatching(/^Load key ".*\/enc": .* is encrypted /));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Server accepts key: ${join(dir, 'enc')} ED25519-CERT SHA256:\\S+$`)));
      expect(lines).toContain('sign_and_send_pubkey: using private key "enc" from agent for certificate');
      await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID enc-root/);
    } finally {
      agent3.kill('SIGKILL');
    }
  });

  it('without the agent the same server refuses: the certificate is what logged in', async () => {
    const err = await connectTo(sshd, { privateKey: undefined, agent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
  });
});
