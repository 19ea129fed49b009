/**
 * "Unable to negotiate … Their offer: …" names the server's whole key exchange list, as ssh 9.2's
 * kex.c does, its pseudo-algorithms included (kex-strict-s-v00@openssh.com; OpenSSH 10 also
 * sends ext-info-s).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite, startSshd, type SshdHandle } from './harness/sshd.js';
import { startCli, type CliClient } from './harness/proc.js';

async function stderrOf(client: CliClient, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return (await startCli(client, args, { env }).done).stderr.replace(/\r/g, '');
}

describeInteropWithHome('CLI: no common key exchange method, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ config: { KexAlgorithms: 'diffie-hellman-group14-sha1' } });

  it('the same line as ssh', async () => {
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-N', sshd.target];
    const ssh = await stderrOf('ssh', args, cliEnv(home));
    const ours = await stderrOf('pure-ssh', args, cliEnv(home));
    const line = (s: string) => s.split('\n').find((l) => l.startsWith('Unable to negotiate'));
    expect(line(ssh)).toContain('Their offer: diffie-hellman-group14-sha1,kex-strict-s-v00@openssh.com');
    expect(line(ours)).toBe(line(ssh));
  }, 60_000);
});

/**
 * kex.c kex_choose_conf names the peer with packet.c's ssh_remote_ipaddr/ssh_remote_port, which
 * is "UNKNOWN port 65535" when the transport is not a socket: a ProxyCommand, and -J's ssh -W.
 */
describeInteropWithHome('CLI: no common key exchange method through a ProxyCommand or -J, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let jump: SshdHandle;
  let config: string;
  beforeAll(async () => {
    [sshd, jump] = await Promise.all([startSshd({ config: { KexAlgorithms: 'diffie-hellman-group14-sha1' } }), startSshd()]);
    const known = join(sshd.dir, 'known_hosts_both');
    await writeFile(known, [...sshd.hostKeyLines, ...jump.hostKeyLines].join('\n') + '\n');
    const host = (name: string, s: SshdHandle) =>
      [`Host ${name}`, '  HostName 127.0.0.1', `  Port ${s.port}`, '  User root', `  IdentityFile ${s.clientKeyPath}`, '  IdentitiesOnly yes', '  BatchMode yes',
        `  UserKnownHostsFile ${known}`, '  GlobalKnownHostsFile /dev/null'].join('\n');
    config = join(sshd.dir, 'ssh_config_jump');
    await writeFile(config, `${host('target', sshd)}\n${host('jump', jump)}\n`);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), jump?.stop()]);
  });
  const line = (s: string) => s.split('\n').find((l) => l.startsWith('Unable to negotiate'));

  it('ProxyCommand: "Unable to negotiate with UNKNOWN port 65535"', async () => {
    const args = [...sshd.clientArgs, '-o', 'ProxyCommand=nc %h %p', '-N', sshd.target];
    const ssh = await stderrOf('ssh', args, cliEnv(home));
    const ours = await stderrOf('pure-ssh', args, cliEnv(home));
    expect(line(ssh)).toBe('Unable to negotiate with UNKNOWN port 65535: no matching key exchange method found. Their offer: diffie-hellman-group14-sha1,kex-strict-s-v00@openssh.com');
    expect(line(ours)).toBe(line(ssh));
  }, 60_000);

  it('-J: the same, for the host behind the jump host', async () => {
    const args = ['-F', config, '-J', 'jump', '-N', 'target'];
    const ssh = await stderrOf('ssh', args, cliEnv(home));
    const ours = await stderrOf('pure-ssh', args, cliEnv(home));
    expect(line(ssh)).toMatch(/^Unable to negotiate with UNKNOWN port 65535: no matching key exchange method found/);
    expect(line(ours)).toBe(line(ssh));
  }, 60_000);
});

/**
 * With -v, kex.c kex_choose_conf logs each choice as it makes it: when the cipher or MAC fails,
 * the method and host key algorithm lines come first ("kex: algorithm: …", "kex: host key
 * algorithm: …"); a direction's line only once its cipher, MAC and compression are all chosen.
 */
describeInteropWithHome('CLI -v: the kex lines before a failed cipher or MAC choice, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ config: { Ciphers: 'aes128-ctr', MACs: 'hmac-sha1' } });
  const kexLines = (s: string) => s.split('\n').filter((l) => /^debug1: kex: (algorithm|host key algorithm|server->client|client->server)/.test(l) || l.startsWith('Unable to negotiate'));

  for (const [what, pin] of [['cipher', ['-c', 'aes256-ctr']], ['MAC', ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256']]] as const) {
    it(`no matching ${what}`, async () => {
      const args = [...sshd.clientArgs, '-v', ...pin, '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'KexAlgorithms=curve25519-sha256', '-N', sshd.target];
      const ssh = kexLines(await stderrOf('ssh', args, cliEnv(home)));
      const ours = kexLines(await stderrOf('pure-ssh', args, cliEnv(home)));
      expect(ssh).toEqual([
        'debug1: kex: algorithm: curve25519-sha256',
        'debug1: kex: host key algorithm: ssh-ed25519',
        `Unable to negotiate with 127.0.0.1 port ${sshd.port}: no matching ${what} found. Their offer: ${what === 'MAC' ? 'hmac-sha1' : 'aes128-ctr'}`,
      ]);
      expect(ours).toEqual(ssh);
    }, 60_000);
  }
});
