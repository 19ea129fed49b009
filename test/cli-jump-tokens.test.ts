/**
 * %-tokens in a ProxyJump hop, beside ssh 9.2 and sshd 9.2. ssh.c writes the hops into the text
 * of its implicit ProxyCommand (`ssh -l user -J rest -F file -W '[%h]:%p' last`), and
 * sshconnect.c expand_proxy_command expands that text as any ProxyCommand when it connects: %h,
 * %k, %n, %p and %r of the destination, anything else percent_expand's two lines (exit 255).
 * `-G` prints the list as written. pure-ssh connected to the hop `jump-%n` as written (low-cli 1).
 * Needs `npm run build`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

const CLIENTS: CliClient[] = ['ssh', 'pure-ssh'];

describeInteropWithHome('ProxyJump hops with %-tokens, beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-jump-tokens-');
  const sshd = sshdSuite({ builtCli: true });
  const config = join(dir, 'ssh_config');
  // Only the hop names with the destination's tokens expanded are hosts this file knows.
  const write = () =>
    writeFile(config, [
      'Host jump-dest jump-127.0.0.1 dest', `  HostName ${sshd.host}`, `  Port ${sshd.port}`,
      'Host *', `  User ${sshd.user}`, `  IdentityFile ${sshd.clientKeyPath}`, '  IdentitiesOnly yes', '  IdentityAgent none',
      `  UserKnownHostsFile ${sshd.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  BatchMode yes', '',
    ].join('\n'));

  async function run(client: CliClient, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const r = await startCli(client, ['-F', config, ...args], { env: cliEnv(home), stdout: 'pipe' }).done;
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  it('-J jump-%n and -J %r@jump-%h: the hop is the expanded name (the stdio forward reaches sshd)', async () => {
    await write();
    for (const hop of ['jump-%n', '%r@jump-%h', 'jump-%k']) {
      const args = ['-J', hop, '-W', `127.0.0.1:${sshd.port}`, 'dest'];
      const seen: Record<string, unknown> = {};
      for (const client of CLIENTS) {
        const r = await run(client, args);
        seen[client] = { code: r.code, stderr: r.stderr, banner: r.stdout.startsWith('SSH-2.0-OpenSSH') };
      }
      expect(seen.ssh, hop).toEqual({ code: 0, stderr: '', banner: true });
      expect(seen['pure-ssh'], hop).toEqual(seen.ssh);
    }
  }, 90_000);

  it('an unknown token and a lone %: percent_expand\'s lines, exit 255; -G prints the list as written', async () => {
    await write();
    for (const hop of ['jump-%z', 'jump-%', 'a%h,jump-%d']) {
      const seen: Record<string, unknown> = {};
      for (const client of CLIENTS) {
        const r = await run(client, ['-J', hop, '-N', 'dest']);
        const g = await run(client, ['-G', '-J', hop, 'dest']);
        seen[client] = { code: r.code, stderr: r.stderr, g: g.code, jump: g.stdout.split('\n').filter((l) => l.startsWith('proxyjump ')) };
      }
      expect(seen.ssh, hop).toMatchObject({ code: 255, g: 0, jump: [`proxyjump ${hop}`] });
      expect((seen.ssh as { stderr: string }).stderr, hop).toMatch(/^vdollar_percent_expand: .*\r\npercent_expand: failed\r\n$/);
      expect(seen['pure-ssh'], hop).toEqual(seen.ssh);
    }
  }, 90_000);
});
