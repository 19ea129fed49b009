/**
 * `-v` and each identity file's certificate beside ssh 9.2: without CertificateFile, ssh.c
 * load_public_identity_files looks for the file's "-cert" variant right after it, and logs it
 * found or not: `identity file PATH-cert type -1` when there is none, for a default key that is
 * missing too.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

describeInteropWithHome('CLI -v: the "-cert" variant of each identity file, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  const identityLines = async (client: CliClient, args: string[]) => {
    const { stderr } = await startCli(client, [...args, '-v', '-W', '127.0.0.1:1', sshd.target], { env: cliEnv(home, { SSH_AUTH_SOCK: '' }) }).done;
    return stderr.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('debug1: identity file '));
  };

  it('-i KEY: "identity file KEY-cert type -1" right after the key\'s line, as ssh', async () => {
    const args = sshd.clientArgs;
    const key = sshd.clientKeyPath;
    const ssh = await identityLines('ssh', args);
    // sshkey.h's number for the type: KEY_ED25519, 3 (pure-ssh printed "ssh-ed25519", break17 F1).
    expect(ssh).toEqual([`debug1: identity file ${key} type 3`, `debug1: identity file ${key}-cert type -1`]);
    expect(await identityLines('pure-ssh', args)).toEqual(ssh);
  }, 60_000);

  it('a certificate beside the key, RSA and ECDSA keys: the numbers ssh prints (sshkey.h)', async () => {
    const keys = [];
    for (const type of ['rsa', 'ecdsa', 'ed25519']) {
      const key = join(sshd.dir, `variant_${type}`);
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', key]);
      keys.push(key);
    }
    execFileSync('ssh-keygen', ['-q', '-s', keys[2]!, '-I', 'id', '-n', 'root', '-V', '+1h', `${keys[1]}.pub`]);
    const args = [...sshd.clientArgs, ...keys.flatMap((k) => ['-i', k])];
    const ssh = await identityLines('ssh', args);
    expect(ssh.slice(2)).toEqual([
      `debug1: identity file ${keys[0]} type 0`, `debug1: identity file ${keys[0]}-cert type -1`,
      `debug1: identity file ${keys[1]} type 2`, `debug1: identity file ${keys[1]}-cert type 6`,
      `debug1: identity file ${keys[2]} type 3`, `debug1: identity file ${keys[2]}-cert type -1`,
    ]);
    expect(await identityLines('pure-ssh', args)).toEqual(ssh);
  }, 60_000);

  it('default keys, none there: each one\'s "-cert type -1" line after its own, as ssh', async () => {
    const args = sshd.clientArgs.filter((a, i, all) => a !== '-i' && all[i - 1] !== '-i' && a !== 'IdentitiesOnly=yes' && !(a === '-o' && all[i + 1] === 'IdentitiesOnly=yes'));
    const pairs = (lines: string[]) =>
      ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => {
        const at = lines.findIndex((l) => l.endsWith(`/.ssh/${name} type -1`));
        return lines.slice(at, at + 2).map((l) => l.replace(/^debug1: identity file .*\/\.ssh\//, ''));
      });
    const ssh = pairs(await identityLines('ssh', args));
    const ours = pairs(await identityLines('pure-ssh', args));
    expect(ssh).toEqual([['id_ed25519 type -1', 'id_ed25519-cert type -1'], ['id_ecdsa type -1', 'id_ecdsa-cert type -1'], ['id_rsa type -1', 'id_rsa-cert type -1']]);
    expect(ours).toEqual(ssh);
  }, 60_000);
});
