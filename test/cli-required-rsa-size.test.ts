/**
 * RequiredRSASize (break21 F5) against a real sshd 9.2, beside ssh 9.2: a 1024-bit RSA host key
 * is refused under `RequiredRSASize 2048` ("Bad server host key: Invalid key length",
 * sshconnect2.c verify_host_key_callback → sshkey_check_rsa_length) and accepted without it; a
 * 1024-bit RSA user key is not offered under it (the login fails), and logs in without it. The
 * library's `requiredRsaSize` refuses the same host key with HostKeyError 'key-length'.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { HostKeyError } from '../src/errors.js';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI_BIN_PATH as CLI, runForStderr } from './harness/proc.js';

const keygen = (...args: string[]) => execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });

describeInteropWithHome('RequiredRSASize beside ssh 9.2, against sshd 9.2 with 1024-bit RSA keys', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-rrs-');
  const p = (name: string) => join(dir, name);
  let sshd: SshdHandle;
  let knownHosts = '';

  beforeAll(async () => {
    keygen('-t', 'rsa', '-b', '1024', '-N', '', '-f', p('host_rsa1024'));
    keygen('-t', 'ed25519', '-N', '', '-f', p('host_ed25519'));
    keygen('-t', 'rsa', '-b', '1024', '-N', '', '-C', '', '-f', p('user_rsa1024'));
    sshd = await startSshd({ config: { HostKey: [p('host_rsa1024'), p('host_ed25519')] } });
    writeFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(p('user_rsa1024.pub')), { flag: 'a' });
    const line = (f: string) => `[127.0.0.1]:${sshd.port} ${readFileSync(p(f), 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    knownHosts = p('known_hosts');
    writeFileSync(knownHosts, line('host_rsa1024.pub') + line('host_ed25519.pub'));
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const run = (cmd: string[], args: string[]) => runForStderr(cmd, args, cliEnv(home));

  /** ssh 9.2 and pure-ssh with the same arguments: [theirs, ours]. */
  async function both(config: string[], identity: string, hostKey = 'rsa-sha2-512') {
    const cfg = p(`cfg-${config.join('-').replace(/\W/g, '') || 'none'}`);
    writeFileSync(cfg, config.map((l) => `${l}\n`).join(''));
    const args = ['-F', cfg, '-p', String(sshd.port), '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
      '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-o', `HostKeyAlgorithms=${hostKey}`, '-W', `127.0.0.1:${sshd.port}`, 'root@127.0.0.1'];
    return Promise.all([run([sshd.openssh.ssh], args), run([process.execPath, CLI], args)]);
  }

  it('a 1024-bit RSA host key: refused under RequiredRSASize 2048 as ssh words it, accepted at the default', async () => {
    const [theirs, ours] = await both(['RequiredRSASize 2048'], sshd.clientKeyPath);
    expect(theirs.code).toBe(255);
    expect(theirs.stderr).toContain('Bad server host key: Invalid key length');
    expect(ours).toEqual(theirs);
    const [theirsDefault, oursDefault] = await both([], sshd.clientKeyPath);
    expect(theirsDefault).toEqual({ code: 0, stderr: '' });
    expect(oursDefault).toEqual(theirsDefault);
  }, 60_000);

  it('a 1024-bit RSA user key (an ed25519 host key): not offered under RequiredRSASize 2048, the login fails as ssh\'s; used at the default', async () => {
    const user = p('user_rsa1024');
    const [theirs, ours] = await both(['RequiredRSASize 2048'], user, 'ssh-ed25519');
    expect(theirs.code).toBe(255);
    expect(ours.code).toBe(255);
    const last = (t: string) => t.trimEnd().split('\r\n').at(-1);
    expect(last(theirs.stderr)).toBe('root@127.0.0.1: Permission denied (publickey).');
    expect(last(ours.stderr)).toBe(last(theirs.stderr));
    const [theirsDefault, oursDefault] = await both([], user, 'ssh-ed25519');
    expect(theirsDefault).toEqual({ code: 0, stderr: '' });
    expect(oursDefault).toEqual(theirsDefault);
  }, 60_000);

  it('library: requiredRsaSize 2048 refuses the host key with HostKeyError key-length; 1024 connects', async () => {
    const base = {
      host: '127.0.0.1', port: sshd.port, username: 'root', identityFiles: [sshd.clientKeyPath], agent: false as const,
      knownHosts, algorithms: { hostKey: ['rsa-sha2-512'] },
    };
    const err = await connect({ ...base, requiredRsaSize: 2048 }).then(
      (c) => (void c.close(), undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe('key-length');
    const ok = await connect({ ...base, requiredRsaSize: 1024 });
    await ok.close();
  }, 60_000);
});
