/**
 * `-v` and each identity file's certificate beside ssh 9.2: without CertificateFile, ssh.c
 * load_public_identity_files looks for the file's "-cert" variant right after it, and logs it
 * found or not: `identity file PATH-cert type -1` when there is none, for a default key that is
 * missing too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

describeInteropWithHome('CLI -v: the "-cert" variant of each identity file, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  const identityLines = async (client: CliClient, args: string[]) => {
    const { stderr } = await startCli(client, [...args, '-v', '-W', '127.0.0.1:1', sshd.target], { env: cliEnv(home, { SSH_AUTH_SOCK: '' }) }).done;
    return stderr.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('debug1: identity file '));
  };

  it('-i KEY: "identity file KEY-cert type -1" right after the key\'s line, as ssh', async () => {
    const args = sshd.clientArgs;
    const key = sshd.clientKeyPath;
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const lines = await identityLines(client, args);
      expect(lines.map((l) => l.replace(/ type \S+$/, ' type T')), client).toEqual([`debug1: identity file ${key} type T`, `debug1: identity file ${key}-cert type T`]);
      expect(lines[1], client).toBe(`debug1: identity file ${key}-cert type -1`);
    }
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
