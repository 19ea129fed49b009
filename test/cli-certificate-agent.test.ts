/**
 * User certificates whose key is in ssh-agent or still encrypted, the CLI beside ssh 9.2, against
 * sshd 9.2 that trusts only the CA (TrustedUserCAKeys, no authorized_keys).
 * - break20 F12: a certificate on disk (CertificateFile, or KEY-cert.pub beside KEY.pub) whose
 *   private key is only in the agent: ssh offers it and the agent signs (sshconnect2.c
 *   sign_and_send_pubkey); pure-ssh dropped it ("is a public key ... (certificate skipped)").
 * - F4 / L6: an encrypted key with KEY-cert.pub beside it: ssh offers the certificate by query
 *   (sshd: "publickey test pkalg ...-cert") and asks the passphrase only once the server accepts
 *   it, never when the agent holds the key nor before the host key is checked; pure-ssh asked it at
 *   start-up, every run, and signed at once. Prompts are logged by an SSH_ASKPASS script.
 * Needs `npm run build`.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';
import { startSshAgent } from './support/ssh-agent.js';

const keygen = (...args: string[]) => execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });

describeInteropWithHome('CLI: certificates whose key is in ssh-agent or encrypted, beside ssh 9.2', () => {
  const dir = suiteDir('pure-ssh-cert-agent-');
  const p = (n: string) => join(dir, n);
  beforeAll(() => {
    keygen('-t', 'ed25519', '-N', '', '-C', 'user_ca', '-f', p('user_ca'));
  });
  const sshd = sshdSuite({ builtCli: true, config: { TrustedUserCAKeys: p('user_ca.pub'), AuthorizedKeysFile: '/dev/null', LogLevel: 'DEBUG1' } });
  const agents: ChildProcess[] = [];
  afterAll(() => {
    for (const a of agents) a.kill('SIGKILL');
  });

  /** An agent of its own holding `keys` (ssh-add also loads each one's KEY-cert.pub if there). */
  async function agentWith(name: string, keys: string[]): Promise<string> {
    const sock = p(`${name}.sock`);
    agents.push(await startSshAgent(sock));
    for (const k of keys) execFileSync('/usr/bin/ssh-add', [k], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });
    return sock;
  }

  /** A certified ed25519 key KEY (principal root), its certificate at KEY-cert.pub. */
  function certifiedKey(name: string, passphrase = ''): string {
    keygen('-t', 'ed25519', '-N', passphrase, '-C', name, '-f', p(name));
    keygen('-s', p('user_ca'), '-I', `${name}-root`, '-n', 'root', '-V', '-5m:+1h', p(`${name}.pub`));
    return p(name);
  }

  /** The options every run has (ssh keeps an option's first value: `knownHosts` is set here). */
  const common = (knownHosts = sshd.knownHostsPath) => ['-F', 'none', '-p', String(sshd.port), '-l', 'root', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'];

  interface Run {
    stderr: string;
    /** The prompts the SSH_ASKPASS script was asked, in order. */
    prompts: string[];
    /** -v lines naming keys: Will attempt, Offering, Server accepts. */
    keyLines: string[];
    /** What sshd logged during the run. */
    sshdLog: string;
  }

  /** `client` with `args`, no terminal (setsid), SSH_ASKPASS answering "pp" and logging each prompt. */
  async function run(client: CliClient, tag: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
    const log = p(`prompts-${tag}-${client}`);
    const askpass = p(`askpass-${tag}-${client}.sh`);
    writeFileSync(log, '');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${log}\necho pp\n`, { mode: 0o755 });
    const before = sshd.logs().length;
    // -W to a closed port: logged in, then the forward fails and the run ends.
    const { stderr } = await startCli(client, [...args, '-v', '-W', '127.0.0.1:1', '127.0.0.1'], {
      env: { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
      detached: true,
      killAfterMs: 30_000,
    }).done;
    const keyLines = stderr.replace(/\r/g, '').split('\n').filter((l) => /^debug1: (Will attempt key|Offering public key|Server accepts key): /.test(l));
    const prompts = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    return { stderr: stderr.replace(/\r/g, ''), prompts, keyLines, sshdLog: sshd.logs().slice(before) };
  }

  async function both(tag: string, args: string[], env: NodeJS.ProcessEnv): Promise<Record<'ssh' | 'pure-ssh', Run>> {
    return { ssh: await run('ssh', tag, args, env), 'pure-ssh': await run('pure-ssh', tag, args, env) };
  }

  it('F12: CertificateFile, IdentityFile KEY.pub, the key only in the agent: logs in with the certificate, the same -v lines', async () => {
    const key = certifiedKey('ao');
    copyFileSync(`${key}-cert.pub`, p('certs_ao.pub'));
    rmSync(`${key}-cert.pub`);
    const sock = await agentWith('agent-ao', [key]);
    rmSync(key);
    const args = [...common(), '-o', 'BatchMode=yes', '-o', `IdentityFile=${key}.pub`, '-o', `CertificateFile=${p('certs_ao.pub')}`];
    const runs = await both('ao', args, cliEnv(p('home-ao'), { SSH_AUTH_SOCK: sock }));
    expect(runs.ssh.stderr).toContain('Authenticated to 127.0.0.1');
    expect(runs.ssh.keyLines.map((l) => l.replace(/SHA256:\S+/, 'SHA256:'))).toEqual([
      `debug1: Will attempt key: ${p('certs_ao.pub')} ED25519-CERT SHA256: explicit`,
      `debug1: Will attempt key: ${key}.pub ED25519 SHA256: explicit agent`,
      `debug1: Offering public key: ${p('certs_ao.pub')} ED25519-CERT SHA256: explicit`,
      `debug1: Server accepts key: ${p('certs_ao.pub')} ED25519-CERT SHA256: explicit`,
    ]);
    expect(runs['pure-ssh'].stderr).toContain('Authenticated to 127.0.0.1');
    expect(runs['pure-ssh'].keyLines).toEqual(runs.ssh.keyLines);
    for (const r of Object.values(runs)) expect(r.sshdLog).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID ao-root/);
  }, 60_000);

  it('F12: the agent refuses to sign (ssh-add -c, confirmation denied): ssh\'s "signing failed" line, naming the key that signs', async () => {
    const key = certifiedKey('cc');
    copyFileSync(`${key}-cert.pub`, p('certs_cc.pub'));
    rmSync(`${key}-cert.pub`);
    const deny = p('deny.sh');
    writeFileSync(deny, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const sock = p('agent-cc.sock');
    agents.push(await startSshAgent(sock, { ...process.env, SSH_ASKPASS: deny, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }));
    execFileSync('/usr/bin/ssh-add', ['-c', key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });
    rmSync(key);
    const args = [...common(), '-o', 'BatchMode=yes', '-o', `IdentityFile=${key}.pub`, '-o', `CertificateFile=${p('certs_cc.pub')}`];
    const errors = (r: Run) => r.stderr.split('\n').filter((l) => l !== '' && !/^(debug\d: |OpenSSH_)/.test(l));
    const runs = await both('cc', args, cliEnv(p('home-cc'), { SSH_AUTH_SOCK: sock }));
    expect(errors(runs.ssh)).toEqual([`sign_and_send_pubkey: signing failed for ED25519 "${key}.pub": agent refused operation`, 'root@127.0.0.1: Permission denied (publickey).']);
    expect(errors(runs['pure-ssh'])).toEqual(errors(runs.ssh));
  }, 60_000);

  it('F12: ~/.ssh/id_ed25519-cert.pub beside id_ed25519.pub, the private key only in the agent, no configuration: logs in, as ssh', async () => {
    const home = p('home-default');
    execFileSync('mkdir', ['-p', '-m', '700', join(home, '.ssh')]);
    const key = join(home, '.ssh', 'id_ed25519');
    keygen('-t', 'ed25519', '-N', '', '-C', 'default', '-f', key);
    keygen('-s', p('user_ca'), '-I', 'default-root', '-n', 'root', '-V', '-5m:+1h', `${key}.pub`);
    // ssh-add would load the certificate too: hold it aside while the key is added.
    copyFileSync(`${key}-cert.pub`, p('default-cert.keep'));
    rmSync(`${key}-cert.pub`);
    const sock = await agentWith('agent-default', [key]);
    rmSync(key);
    copyFileSync(p('default-cert.keep'), `${key}-cert.pub`);
    const runs = await both('default', [...common(), '-o', 'BatchMode=yes'], cliEnv(home, { SSH_AUTH_SOCK: sock }));
    expect(runs.ssh.stderr).toContain('Authenticated to 127.0.0.1');
    expect(runs.ssh.keyLines).toContainEqual(expect.stringMatching(/^debug1: Server accepts key: \S+\/\.ssh\/id_ed25519 ED25519-CERT SHA256:\S+$/));
    expect(runs['pure-ssh'].stderr).toContain('Authenticated to 127.0.0.1');
    expect(runs['pure-ssh'].keyLines).toEqual(runs.ssh.keyLines);
    for (const r of Object.values(runs)) expect(r.sshdLog).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID default-root/);
  }, 60_000);

  it('F4/L6: encrypted key with KEY-cert.pub, no agent: queried first, the passphrase asked once the server accepts the certificate', async () => {
    const key = certifiedKey('enc', 'pp');
    const args = [...common(), '-o', `IdentityFile=${key}`, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none'];
    const runs = await both('enc', args, cliEnv(p('home-enc')));
    const ask = `Enter passphrase for key '${key}': `;
    for (const [client, r] of Object.entries(runs)) {
      expect(r.stderr, client).toContain('Authenticated to 127.0.0.1');
      expect(r.prompts, client).toEqual([ask]);
      // The prompt follows the server's acceptance of the certificate.
      const accepts = r.stderr.indexOf(`debug1: Server accepts key: ${key} ED25519-CERT `);
      expect(accepts, client).toBeGreaterThan(-1);
      expect(r.stderr.indexOf('debug1: read_passphrase: requested to askpass'), client).toBeGreaterThan(accepts);
      // sshd saw the certificate offered without a signature first (L6).
      expect(r.sshdLog, client).toMatch(/publickey test pkalg ssh-ed25519-cert-v01@openssh\.com pkblob ED25519-CERT/);
    }
    expect(runs['pure-ssh'].keyLines).toEqual(runs.ssh.keyLines);
  }, 60_000);

  it('F4: the same key, host key unknown (StrictHostKeyChecking yes): no passphrase asked before the refusal', async () => {
    const key = p('enc');
    const args = [...common('/dev/null'), '-o', `IdentityFile=${key}`, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'StrictHostKeyChecking=yes'];
    const runs = await both('enc-unknown', args, cliEnv(p('home-enc')));
    for (const [client, r] of Object.entries(runs)) {
      expect(r.stderr, client).toContain('Host key verification failed.');
      expect(r.prompts, client).toEqual([]);
    }
  }, 60_000);

  it('F4: an encrypted key whose certificate the server refuses (wrong principal), no agent: offered by query, nothing asked, as ssh', async () => {
    keygen('-t', 'ed25519', '-N', 'pp', '-C', 'nobody', '-f', p('nob'));
    keygen('-s', p('user_ca'), '-I', 'nob', '-n', 'nobody', '-V', '-5m:+1h', p('nob.pub'));
    const args = [...common(), '-o', `IdentityFile=${p('nob')}`, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'PreferredAuthentications=publickey'];
    const runs = await both('nob', args, cliEnv(p('home-enc')));
    for (const [client, r] of Object.entries(runs)) {
      expect(r.stderr, client).toContain('root@127.0.0.1: Permission denied (publickey');
      expect(r.prompts, client).toEqual([]);
    }
    expect(runs.ssh.keyLines).toContainEqual(expect.stringMatching(/^debug1: Offering public key: \S+\/nob ED25519-CERT SHA256:\S+ explicit$/));
    expect(runs['pure-ssh'].keyLines).toEqual(runs.ssh.keyLines);
  }, 60_000);

  it('F4: the same key in an agent (key alone, then key and certificate): logs in, nothing asked, as ssh', async () => {
    const key = p('enc');
    copyFileSync(key, p('enc_clear'));
    keygen('-p', '-P', 'pp', '-N', '', '-f', p('enc_clear'));
    const sock = await agentWith('agent-enc', [p('enc_clear')]);
    const args = [...common(), '-o', `IdentityFile=${key}`, '-o', 'IdentitiesOnly=yes'];
    const keyOnly = await both('enc-agent-key', args, cliEnv(p('home-enc'), { SSH_AUTH_SOCK: sock }));
    // ssh-add KEY loads KEY-cert.pub too: now the agent holds the certificate as well.
    copyFileSync(`${key}-cert.pub`, p('enc_clear-cert.pub'));
    execFileSync('/usr/bin/ssh-add', [p('enc_clear')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });
    const keyAndCert = await both('enc-agent-cert', args, cliEnv(p('home-enc'), { SSH_AUTH_SOCK: sock }));
    for (const runs of [keyOnly, keyAndCert]) {
      for (const [client, r] of Object.entries(runs)) {
        expect(r.stderr, client).toContain('Authenticated to 127.0.0.1');
        expect(r.prompts, client).toEqual([]);
        expect(r.sshdLog, client).toMatch(/Accepted publickey for root .*ED25519-CERT .*ID enc-root/);
      }
      expect(runs['pure-ssh'].keyLines).toEqual(runs.ssh.keyLines);
    }
  }, 60_000);
});
