/**
 * CanonicalizePermittedCNAMEs follows the canonical name getaddrinfo(3) gives (ssh.c resolve_host
 * with AI_CANONNAME, check_follow_cname), wherever nsswitch found it: for an /etc/hosts alias,
 * the line's first name (break35). pure-ssh used to look for a CNAME record in the DNS only, so
 * an alias from the hosts file stayed as typed: another `Host` block applied and the host key was
 * looked up under another name. The hosts file here is nss_wrapper's (NSS_WRAPPER_HOSTS), read by
 * ssh, by Node's getaddrinfo and by getent alike. ssh says the follow with verbose() (no
 * `debug1: ` prefix); pure-ssh said it at debug1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshClientAvailable, sshdSuite } from './harness/sshd.js';

describeInteropWithHome('CanonicalizePermittedCNAMEs and an /etc/hosts alias, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });

  it('the alias is replaced by the canonical name: its Host block applies, its host key is found', async () => {
    const hosts = join(sshd.dir, 'hosts');
    writeFileSync(hosts, `${sshd.host} real.b35.example alias.b35.example\n`);
    const knownHosts = join(sshd.dir, 'known_hosts-alias');
    // Only under the canonical name's HostKeyAlias: found only if the alias was followed.
    writeFileSync(knownHosts, sshd.hostKeyLines.map((l) => l.replace(/^\S+/, 'real-b35')).join('\n') + '\n');
    const config = join(sshd.dir, 'config-alias');
    writeFileSync(
      config,
      [
        'CanonicalizeHostname yes',
        'CanonicalizePermittedCNAMEs *.b35.example:*.b35.example',
        'Host real.b35.example',
        '  HostKeyAlias real-b35',
        '',
      ].join('\n'),
    );
    const args = [
      '-F', config, '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-v', '-W', '127.0.0.1:1', 'root@alias.b35.example',
    ];
    const clients: CliClient[] = sshClientAvailable() ? ['ssh', 'pure-ssh'] : ['pure-ssh'];
    const seen: Record<string, { code: number | null; lines: string[] }> = {};
    for (const client of clients) {
      const r = await startCli(client, args, { env: cliEnv(home, { NSS_WRAPPER_HOSTS: hosts }) }).done;
      const lines = r.stderr
        .replace(/\r/g, '')
        .split('\n')
        .filter((l) => /Canonicalized|Authenticated to|Host key verification failed|^stdio forwarding failed/.test(l));
      seen[client] = { code: r.code, lines };
    }
    expect(seen['pure-ssh']).toEqual({
      code: 255,
      lines: [
        'Canonicalized DNS aliased hostname "alias.b35.example" => "real.b35.example"',
        `Authenticated to real.b35.example ([${sshd.host}]:${sshd.port}) using "publickey".`,
        'stdio forwarding failed',
      ],
    });
    if (seen.ssh) expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
