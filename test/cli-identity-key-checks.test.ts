/**
 * Identity files ssh 9.2 will not sign with, side by side with ssh 9.2 against sshd 9.2 (a
 * tester's cases):
 * - RequiredRSASize over an RSA user key's size: ssh.c check_load error()s `load pubkey "PATH":
 *   Invalid key length` at the default level and keeps the file with no public half (`identity
 *   file PATH type -1`); at its turn sshconnect2.c load_identity_file loads it (`Trying private
 *   key`, its passphrase asked when encrypted) and skips it (`load_identity_file: Skipping key
 *   PATH: Invalid key length`, debug). pure-ssh said nothing without -v, and dropped the file
 *   (another -v). An encrypted OpenSSH key without its .pub is the same (the public half is in
 *   the clear); an encrypted PEM key has none: nothing said, the passphrase asked, skipped.
 *   A user certificate under the size is said too: FILE-cert.pub under the key's name (`load
 *   pubkey "FILE"`), a CertificateFile as `load certificate "PATH"`. An agent's key under the
 *   size is ignored with a debug line only (pubkey_prepare).
 * - A FIDO (sk-*) key named with -i: ssh offers it and, accepted, fails to sign at the error
 *   level (`sign_and_send_pubkey: signing failed for ED25519-SK "PATH": ...`); pure-ssh, which
 *   has no FIDO support, said why only at -v: now an error line naming the file.
 * Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI, requireBuiltCli, runForStderr } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { fidoKeyFiles } from './support/fido-key.js';
import { startSshAgent } from './support/ssh-agent.js';
import type { ChildProcess } from 'node:child_process';

const keygen = (...args: string[]) => execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });

describeInteropWithHome('identity files ssh will not sign with (RequiredRSASize, FIDO), beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-keylen-');
  const p = (name: string) => join(dir, name);
  let sshd: SshdHandle;
  let agent: ChildProcess | undefined;
  const agentSock = () => p('agent.sock');
  const askpass = () => p('askpass');

  beforeAll(async () => {
    requireBuiltCli();
    sshd = await startSshd();
    const authorize = (pubLine: string) => appendFileSync(join(sshd.dir, 'authorized_keys'), pubLine.endsWith('\n') ? pubLine : `${pubLine}\n`);
    // A 1024-bit RSA key with its .pub; the same size encrypted, OpenSSH format and PEM, without.
    keygen('-t', 'rsa', '-b', '1024', '-N', '', '-C', '', '-f', p('ck_rsa'));
    keygen('-t', 'rsa', '-b', '1024', '-N', 'secret', '-C', '', '-f', p('enc_rsa'));
    keygen('-t', 'rsa', '-b', '1024', '-N', 'secret', '-C', '', '-m', 'PEM', '-f', p('pem_rsa'));
    keygen('-t', 'rsa', '-b', '1024', '-N', '', '-C', 'agent1024', '-f', p('agent_rsa'));
    // A 1024-bit RSA key with a user certificate beside it (cert_rsa-cert.pub).
    keygen('-t', 'rsa', '-b', '1024', '-N', '', '-C', '', '-f', p('cert_rsa'));
    keygen('-t', 'ed25519', '-N', '', '-C', 'ca', '-f', p('user_ca'));
    keygen('-s', p('user_ca'), '-I', 'short rsa', '-n', 'root', p('cert_rsa.pub'));
    for (const k of ['ck_rsa', 'enc_rsa', 'pem_rsa', 'agent_rsa']) authorize(readFileSync(p(`${k}.pub`), 'utf8'));
    rmSync(p('enc_rsa.pub'));
    rmSync(p('pem_rsa.pub'));
    for (const [name, type] of [['sk_ed', 'sk-ssh-ed25519@openssh.com'], ['sk_ec', 'sk-ecdsa-sha2-nistp256@openssh.com']] as const) {
      const f = fidoKeyFiles(type);
      writeFileSync(p(name), f.key, { mode: 0o600 });
      chmodSync(p(name), 0o600);
      writeFileSync(p(`${name}.pub`), f.pub);
      authorize(f.pub);
    }
    // SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force): each prompt appended to $ASKLOG, the passphrase printed.
    writeFileSync(askpass(), '#!/bin/sh\nprintf "%s\\n" "$1" >> "$ASKLOG"\necho secret\n', { mode: 0o755 });
    agent = await startSshAgent(agentSock());
    execFileSync('/usr/bin/ssh-add', [p('agent_rsa')], { stdio: 'pipe', env: { ...process.env, SSH_AUTH_SOCK: agentSock(), SSH_ASKPASS: '', DISPLAY: '' } });
  });
  afterAll(async () => {
    agent?.kill('SIGKILL');
    await sshd?.stop();
  });

  /**
   * ssh 9.2 and pure-ssh with the same arguments, at the default level and at -v: [theirs, ours],
   * each with the prompts its askpass was given.
   */
  async function both(args: string[], env: NodeJS.ProcessEnv = {}) {
    const out = [];
    let n = 0;
    for (const cmd of [[sshd.openssh.ssh], [process.execPath, CLI]]) {
      const runs = [];
      for (const level of [[], ['-v']]) {
        const askLog = p(`asklog-${Date.now()}-${n++}`);
        writeFileSync(askLog, '');
        const all = ['-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
          ...level, ...args, '-W', `127.0.0.1:${sshd.port}`, sshd.target];
        const r = await runForStderr(cmd, all, cliEnv(home, { SSH_ASKPASS: askpass(), SSH_ASKPASS_REQUIRE: 'force', ASKLOG: askLog, ...env }));
        runs.push({ ...r, prompts: readFileSync(askLog, 'utf8') });
      }
      const [plain, verbose] = runs;
      out.push({ code: plain!.code, stderr: plain!.stderr, prompts: plain!.prompts, verbose: verbose!.stderr.split('\r\n'), verbosePrompts: verbose!.prompts });
    }
    return out as [(typeof out)[0], (typeof out)[0]];
  }

  /** ssh -v's lines about loading and offering identity files. */
  const identityLines = (lines: string[]) =>
    lines.filter((l) =>
      /^(debug1: )?(identity file |certificate file |load pubkey|load certificate|Load key|Will attempt key:|Trying private key:|load_identity_file:|Offering public key:|Skipping |pubkey_prepare: )/.test(l),
    );

  const denied = 'root@127.0.0.1: Permission denied (publickey).\r\n';

  it('RequiredRSASize 2048, a 1024-bit RSA key with its .pub: `load pubkey "PATH": Invalid key length` at the default level, type -1, skipped once loaded', async () => {
    const key = p('ck_rsa');
    const [theirs, ours] = await both(['-o', 'RequiredRSASize=2048', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes']);
    expect(theirs.code).toBe(255);
    expect(theirs.stderr).toBe(`load pubkey "${key}": Invalid key length\r\n${denied}`);
    expect(ours.code).toBe(255);
    expect(ours.stderr).toBe(theirs.stderr);
    expect(identityLines(theirs.verbose)).toEqual([
      `load pubkey "${key}": Invalid key length`,
      `debug1: identity file ${key} type -1`,
      `debug1: identity file ${key}-cert type -1`,
      `debug1: Will attempt key: ${key}  explicit`,
      `debug1: Trying private key: ${key}`,
      `debug1: load_identity_file: Skipping key ${key}: Invalid key length`,
    ]);
    expect(identityLines(ours.verbose)).toEqual(identityLines(theirs.verbose));
  }, 60_000);

  it('an encrypted OpenSSH-format RSA key without .pub: the same line before connecting, the passphrase asked at its turn, then skipped; BatchMode asks nothing', async () => {
    const key = p('enc_rsa');
    const args = ['-o', 'RequiredRSASize=2048', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none'];
    const [theirs, ours] = await both(args);
    expect(theirs).toMatchObject({ code: 255, stderr: `load pubkey "${key}": Invalid key length\r\n${denied}`, prompts: `Enter passphrase for key '${key}': \n` });
    expect({ ...ours, verbose: identityLines(ours.verbose) }).toEqual({ ...theirs, verbose: identityLines(theirs.verbose) });
    expect(identityLines(theirs.verbose).slice(-2)).toEqual([`debug1: Trying private key: ${key}`, `debug1: load_identity_file: Skipping key ${key}: Invalid key length`]);
    const [theirsBatch, oursBatch] = await both([...args, '-o', 'BatchMode=yes']);
    expect(theirsBatch).toMatchObject({ code: 255, stderr: `load pubkey "${key}": Invalid key length\r\n${denied}`, prompts: '' });
    expect({ ...oursBatch, verbose: identityLines(oursBatch.verbose) }).toEqual({ ...theirsBatch, verbose: identityLines(theirsBatch.verbose) });
  }, 60_000);

  it('an encrypted PEM RSA key without .pub: no public half, nothing said; the passphrase asked, the key skipped at -v', async () => {
    const key = p('pem_rsa');
    const [theirs, ours] = await both(['-o', 'RequiredRSASize=2048', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none']);
    expect(theirs).toMatchObject({ code: 255, stderr: denied, prompts: `Enter passphrase for key '${key}': \n` });
    expect({ ...ours, verbose: identityLines(ours.verbose) }).toEqual({ ...theirs, verbose: identityLines(theirs.verbose) });
  }, 60_000);

  it('its certificate under RequiredRSASize too: FILE-cert.pub is said under the key\'s name (`load pubkey`), a CertificateFile as `load certificate "PATH"`', async () => {
    const key = p('cert_rsa');
    const base = ['-o', 'RequiredRSASize=2048', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes'];
    const [theirs, ours] = await both(base);
    expect(theirs).toMatchObject({ code: 255, stderr: `load pubkey "${key}": Invalid key length\r\nload pubkey "${key}": Invalid key length\r\n${denied}` });
    expect(identityLines(theirs.verbose)).toContain(`debug1: identity file ${key}-cert type -1`);
    expect({ ...ours, verbose: identityLines(ours.verbose) }).toEqual({ ...theirs, verbose: identityLines(theirs.verbose) });
    const cert = `${key}-cert.pub`;
    const [theirsFile, oursFile] = await both([...base, '-o', `CertificateFile=${cert}`]);
    expect(theirsFile).toMatchObject({ code: 255, stderr: `load pubkey "${key}": Invalid key length\r\nload certificate "${cert}": Invalid key length\r\n${denied}` });
    expect(identityLines(theirsFile.verbose)).toContain(`debug1: certificate file ${cert} type -1`);
    expect({ ...oursFile, verbose: identityLines(oursFile.verbose) }).toEqual({ ...theirsFile, verbose: identityLines(theirsFile.verbose) });
  }, 60_000);

  it("an agent's 1024-bit RSA key under RequiredRSASize 2048: ignored with a debug line only, as by ssh", async () => {
    const [theirs, ours] = await both(['-o', 'RequiredRSASize=2048', '-o', 'IdentityFile=none', '-o', 'BatchMode=yes'], { SSH_AUTH_SOCK: agentSock() });
    expect(theirs).toMatchObject({ code: 255, stderr: denied });
    expect(ours.code).toBe(255);
    expect(ours.stderr).toBe(theirs.stderr);
    expect(identityLines(theirs.verbose)).toContain('debug1: pubkey_prepare: ignoring ssh-rsa agent key: Invalid key length');
    expect(identityLines(ours.verbose)).toEqual(identityLines(theirs.verbose));
    // Without RequiredRSASize it logs in, for both.
    const [theirsOk, oursOk] = await both(['-o', 'IdentityFile=none', '-o', 'BatchMode=yes'], { SSH_AUTH_SOCK: agentSock() });
    expect(theirsOk).toMatchObject({ code: 0, stderr: '' });
    expect(oursOk).toMatchObject({ code: 0, stderr: '' });
  }, 60_000);

  it.each([
    ['sk_ed', 'sk-ssh-ed25519@openssh.com', 'ED25519-SK'],
    ['sk_ec', 'sk-ecdsa-sha2-nistp256@openssh.com', 'ECDSA-SK'],
  ])('a FIDO key named with -i (%s): ssh fails to sign with it at the error level; pure-ssh says at that level that it does not support it', async (name, type, label) => {
    const key = p(name);
    const [theirs, ours] = await both(['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes']);
    expect(theirs.code).toBe(255);
    expect(theirs.stderr).toMatch(new RegExp(`^sign_and_send_pubkey: signing failed for ${label} "${key}": .+\\r\\n${denied.replace(/[.()]/g, '\\$&')}$`));
    expect(ours.code).toBe(255);
    expect(ours.stderr).toBe(`${key}: ${type} is a FIDO security key, which pure-ssh does not support: key not offered\r\n${denied}`);
    // -v keeps the detail: its type, and why it is not used.
    expect(ours.verbose).toContain(`debug1: identity file ${key} type ${type.startsWith('sk-ssh') ? 12 : 10}`);
    expect(ours.verbose).toContain(`debug1: identity file ${key}: ${type} keys are not supported by pure-ssh`);
    expect(identityLines(theirs.verbose)).toContain(`debug1: identity file ${key} type ${type.startsWith('sk-ssh') ? 12 : 10}`);
  }, 60_000);

  it('a FIDO key named by IdentityFile after an authorised key: said at the error level, the authorised key logs in (ssh: no line, as its turn never comes)', async () => {
    const [theirs, ours] = await both(['-i', sshd.clientKeyPath, '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', '-o', `IdentityFile=${p('sk_ed')}`]);
    expect(theirs).toMatchObject({ code: 0, stderr: '' });
    expect(ours.code).toBe(0);
    expect(ours.stderr).toBe(`${p('sk_ed')}: sk-ssh-ed25519@openssh.com is a FIDO security key, which pure-ssh does not support: key not offered\r\n`);
  }, 60_000);
});
