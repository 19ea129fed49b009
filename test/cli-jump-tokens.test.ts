/**
 * %-tokens in a ProxyJump hop, beside ssh 9.2 and sshd 9.2. ssh.c writes the hops into the text
 * of its implicit ProxyCommand (`ssh -l user -J rest -F file -W '[%h]:%p' last`), and
 * sshconnect.c expand_proxy_command expands that text as any ProxyCommand when it connects: %h,
 * %k, %n, %p and %r of the destination, anything else percent_expand's two lines (exit 255).
 * `-G` prints the list as written. pure-ssh connected to the hop `jump-%n` as written (low-cli 1).
 * Needs `npm run build`.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    return runWith(client, config, args);
  }

  async function runWith(client: CliClient, file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const r = await startCli(client, ['-F', file, ...args], { env: cliEnv(home), stdout: 'pipe' }).done;
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

  // break38 F12, a deliberate divergence (CVE-2023-51385 class): ssh 9.2 pastes the expanded %r and
  // %h into its implicit ProxyCommand's text, which /bin/sh runs, so backticks in a User or
  // HostName from the configuration run. pure-ssh makes the hops in-process and checks the
  // expanded names as command-line names (readconf.c ssh_valid_ruser / ssh_valid_hostname's
  // rules): refused, and no shell ever sees them. ssh runs first, to show the marker path is one
  // a shell would write.
  it('a %r or %h holding backticks never reaches a shell: refused, the marker the backticks would write does not exist', async () => {
    const cases: { line: string; hop: string; refusal: string }[] = [
      { line: 'User "a`touch MARKER`b"', hop: '%r@127.0.0.1', refusal: 'remote username contains invalid characters' },
      { line: 'HostName "a`touch MARKER`b"', hop: '%h', refusal: 'hostname contains invalid characters' },
      // A hop before the last one: the hop's own -J (parse_jump's strict check).
      { line: 'HostName "a`touch MARKER`b"', hop: '%h,127.0.0.1', refusal: 'Invalid -J argument' },
    ];
    // ssh lowercases a HostName: a marker directory without capitals (suiteDir's random name has some).
    const markers = join(tmpdir(), `pure-ssh-jump-shell-${process.pid}`);
    mkdirSync(markers, { recursive: true });
    try {
      for (const [i, c] of cases.entries()) {
        for (const client of CLIENTS) {
          const marker = join(markers, `pwned-${i}-${client}`);
          const file = join(dir, `shell-${i}-${client}.conf`);
          await writeFile(file, [
            'Host dest', `  ${c.line.replace('MARKER', marker)}`, `  Port ${sshd.port}`,
            'Host *', `  User ${sshd.user}`, `  IdentityFile ${sshd.clientKeyPath}`, '  IdentitiesOnly yes', '  IdentityAgent none',
            `  UserKnownHostsFile ${sshd.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null', '  BatchMode yes', '',
          ].join('\n'));
          const r = await runWith(client, file, ['-J', c.hop, '-W', `127.0.0.1:${sshd.port}`, 'dest']);
          expect(r.code, `${client} ${c.line} ${r.stderr}`).toBe(255);
          if (client === 'ssh') {
            expect(existsSync(marker), `ssh 9.2 ran the backticks of ${c.line}: ${r.stderr}`).toBe(true);
          } else {
            expect(existsSync(marker), c.line).toBe(false);
            expect(r.stderr.split(/\r?\n/)[0], c.line).toBe(c.refusal);
          }
        }
      }
    } finally {
      rmSync(markers, { recursive: true, force: true });
    }
  }, 90_000);
});
