/**
 * identityFiles naming an agent key by its public half (tester break18 F1): the private half only
 * in ssh-agent (a hardware key, a password manager's agent), `identityFiles: ['key.pub']` or a
 * path with only `PATH.pub` beside it. ssh 9.2 and the CLI log in through the agent (`Offering
 * public key: PATH ED25519 ... explicit agent`); connect() refused a 0644 `.pub`
 * (KeyPermissionsError), skipped a 0600 one ("is a public key") and a path with only PATH.pub
 * ("not accessible"). Against sshd 9.2 and Debian's ssh-agent, with ssh 9.2 alongside.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuthenticationError, connect, type ConnectOptions } from '../src/index.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { startSshAgent } from './support/ssh-agent.js';

describeInterop('identityFiles: a .pub names an agent key, as ssh IdentityFile does', () => {
  let sshd: SshdHandle;
  let dir: string;
  let agent: ChildProcess;
  let sock: string;
  let base: ConnectOptions;
  // The key the agent holds (authorized), by its .pub only: 0644 as ssh-keygen writes it, 0600,
  // and as `only` where only `only.pub` exists; `stranger.pub`: authorized, in no agent.
  let pub644: string;
  let pub600: string;
  let only: string;
  let stranger: string;

  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'agent-pub-'));
    const key = join(dir, 'held');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'held@test', '-f', key]);
    const other = join(dir, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger@test', '-f', other]);
    const auth = join(sshd.dir, 'authorized_keys');
    execFileSync('sh', ['-c', `cat "${key}.pub" "${other}.pub" >> "${auth}"`]);
    sock = join(dir, 'agent.sock');
    agent = await startSshAgent(sock);
    execFileSync('/usr/bin/ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    // The agent alone holds the private halves now.
    rmSync(key);
    rmSync(other);
    pub644 = `${key}.pub`;
    chmodSync(pub644, 0o644);
    pub600 = join(dir, 'held600.pub');
    copyFileSync(pub644, pub600);
    chmodSync(pub600, 0o600);
    only = join(dir, 'only');
    copyFileSync(pub644, `${only}.pub`);
    stranger = `${other}.pub`;
    chmodSync(stranger, 0o644);
    base = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      knownHosts: sshd.knownHostsPath,
      passwordAuthentication: false,
      kbdInteractiveAuthentication: false,
    };
  }, 60_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ssh 9.2 itself: IdentitiesOnly with IdentityFile=key.pub logs in through the agent', () => {
    const r = spawnSync(
      'ssh',
      ['-F', 'none', '-v', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `IdentityFile=${pub644}`, `${sshd.user}@${sshd.host}`, 'true'],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SSH_AUTH_SOCK: sock } },
    );
    expect(r.stderr).toMatch(new RegExp(`Offering public key: ${pub644} ED25519 \\S+ explicit agent`));
    expect(r.status).toBe(0);
  });

  for (const [name, file] of [
    ['a 0644 key.pub', () => pub644],
    ['a 0600 key.pub', () => pub600],
    ['a path with only PATH.pub', () => only],
  ] as const) {
    it(`${name}, identitiesOnly: logs in through the agent`, async () => {
      const lines: string[] = [];
      const warnings: string[] = [];
      const path = file();
      const ssh = await connect({ ...base, agent: sock, identitiesOnly: true, identityFiles: [path], debug: (m) => lines.push(m), warn: (m) => warnings.push(m) });
      await ssh.close();
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Server accepts key: ${path} ED25519 \\S+ agent$`)));
      expect(warnings).toEqual([]);
    });
  }

  it('without identitiesOnly too: the .pub does not end connect() and the agent key logs in', async () => {
    const ssh = await connect({ ...base, agent: sock, identityFiles: [pub644] });
    await ssh.close();
  });

  it('a .pub whose key no agent holds: offered by its public half, skipped when it cannot sign, as ssh does', async () => {
    // ssh 9.2: `Offering public key: PATH`, `Server accepts key`, then sshkey_perm_ok's block and
    // `Load key "PATH": bad permissions` (0644); the next method, Permission denied.
    const r = spawnSync(
      'ssh',
      ['-F', 'none', '-v', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', stranger, `${sshd.user}@${sshd.host}`, 'true'],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SSH_AUTH_SOCK: '' } },
    );
    expect(r.stderr).toContain(`Load key "${stranger}": bad permissions`);
    expect(r.status).toBe(255);
    const lines: string[] = [];
    const err = (await connect({ ...base, agent: sock, identitiesOnly: true, identityFiles: [stranger], debug: (m) => lines.push(m) }).catch((e: unknown) => e)) as AuthenticationError;
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Server accepts key: ${stranger} ED25519 \\S+$`)));
    expect(err.message).toContain(`Permissions 0644 for '${stranger}' are too open`);
    expect(readFileSync(stranger, 'utf8')).toMatch(/^ssh-ed25519 /);
  });
});
