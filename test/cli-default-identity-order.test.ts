/**
 * The default identity files, in readconf.c fill_default_options' order (OpenSSH 9.2 and 10):
 * ~/.ssh/id_rsa, id_ecdsa, id_ecdsa_sk, id_ed25519, id_ed25519_sk, id_xmss, id_dsa. pure-ssh tried
 * id_ed25519, id_ecdsa, id_rsa, so with id_rsa and id_ed25519 both authorised it logged in with
 * another key than ssh (another account where the key picks it: git@ hosts, forced commands),
 * and `-G` printed its three files instead of ssh's seven. A FIDO key file among the defaults
 * (pure-ssh cannot sign with one) is said at -v. Side by side with ssh 9.2 against a real sshd;
 * needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { requireBuiltCli, startCli, type CliClient } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { fidoKeyFiles } from './support/fido-key.js';

describeInteropWithHome('default identity files in ssh 9.2\'s order', () => {
  const home = suiteHome();
  const dotSsh = join(home, '.ssh');
  let sshd: SshdHandle;
  beforeAll(async () => {
    requireBuiltCli();
    sshd = await startSshd();
    await mkdir(dotSsh, { recursive: true, mode: 0o700 });
    for (const [name, type] of [['id_rsa', 'rsa'], ['id_ed25519', 'ed25519']]) {
      execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', type!, '-N', '', '-C', name!, '-f', join(dotSsh, name!)]);
      await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(join(dotSsh, `${name}.pub`)));
    }
    const fido = fidoKeyFiles('sk-ssh-ed25519@openssh.com');
    await writeFile(join(dotSsh, 'id_ed25519_sk'), fido.key, { mode: 0o600 });
    await chmod(join(dotSsh, 'id_ed25519_sk'), 0o600);
    await writeFile(join(dotSsh, 'id_ed25519_sk.pub'), fido.pub);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  async function run(client: CliClient, args: string[]): Promise<string[]> {
    const result = await startCli(client, ['-F', 'none', ...args], { env: cliEnv(home), stdout: 'pipe' }).done;
    return (result.stdout + result.stderr).split(/\r?\n/);
  }

  it('-G prints the seven files, in ssh\'s order', async () => {
    const lines = async (c: CliClient) => (await run(c, ['-G', 'h'])).filter((l) => l.startsWith('identityfile '));
    const theirs = await lines('ssh');
    expect(theirs).toEqual(['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((n) => `identityfile ~/.ssh/${n}`));
    expect(await lines('pure-ssh')).toEqual(theirs);
  });

  it('with id_rsa and id_ed25519 both authorised, id_rsa is offered first and accepted, as by ssh; the FIDO file is said at -v', async () => {
    const args = ['-v', '-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none', '-W', `127.0.0.1:${sshd.port}`, sshd.target];
    const offered = (lines: string[]) => lines.filter((l) => /^debug1: (Offering public key|Server accepts key):/.test(l)).map((l) => l.replace(/ SHA256:\S+/, ''));
    const theirs = offered(await run('ssh', args));
    const oursAll = await run('pure-ssh', args);
    expect(theirs).toEqual([`debug1: Offering public key: ${dotSsh}/id_rsa RSA`, `debug1: Server accepts key: ${dotSsh}/id_rsa RSA`]);
    expect(offered(oursAll)).toEqual(theirs);
    expect(oursAll).toContain(`debug1: identity file ${dotSsh}/id_ed25519_sk: sk-ssh-ed25519@openssh.com keys are not supported by pure-ssh`);
  });
});
