/**
 * `LogLevel FATAL` still says why the run ended, as ssh 9.2 does (break35): log.c shows fatal()
 * from FATAL on (QUIET, `-q`, alone silences it), and these ends are fatal() in ssh:
 * sshconnect2.c userauth's `Permission denied (...)`, verify_host_key_callback's `Host key
 * verification failed.` (after check_host_key's error() lines, hidden at FATAL), ssh.c
 * ssh_stdio_confirm's `stdio forwarding failed`, ssh_init_forwarding's `Could not request local
 * forwarding.` and ssh_confirm_remote_forward's `Error: remote port forwarding failed ...` (both
 * with ExitOnForwardFailure). pure-ssh printed them as error() lines, so it ended with exit 255
 * and nothing on stderr.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshClientAvailable, sshdSuite } from './harness/sshd.js';

describeInteropWithHome('LogLevel FATAL: the fatal() line of each end, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });
  // A port in use on 127.0.0.1: the -L listener cannot bind it, nor can sshd for -R.
  let busy: net.Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => busy.close(r));
  });

  const cases: { name: string; args: () => string[]; stderr: () => string }[] = [
    { name: 'no authentication method left', args: () => ['-N', '-o', 'PubkeyAuthentication=no'], stderr: () => new RegExp(`^${sshd.target}: Permission denied \\(publickey[^)]*\\)\\.\r\n$`).source },
    { name: 'an unknown host key under StrictHostKeyChecking=yes', args: () => ['-N', '-o', 'UserKnownHostsFile=/dev/null'], stderr: () => '^Host key verification failed\\.\r\n$' },
    {
      name: 'a changed host key (its warning block is error()\'s)',
      args: () => {
        const changed = join(sshd.dir, 'known_hosts-changed');
        writeFileSync(changed, `[${sshd.host}]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3WTPcyjUP8yqjMc4cQVFXKdfTRCxr/wmIN1ZMQjfVb\n`);
        return ['-N', '-o', `UserKnownHostsFile=${changed}`];
      },
      stderr: () => '^Host key verification failed\\.\r\n$',
    },
    { name: '-W to a closed port', args: () => ['-W', '127.0.0.1:1'], stderr: () => '^stdio forwarding failed\r\n$' },
    {
      name: '-L on a port in use, ExitOnForwardFailure',
      args: () => ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${busyPort}:127.0.0.1:1`],
      stderr: () => '^Could not request local forwarding\\.\r\n$',
    },
    {
      name: '-R on a port in use on the server, ExitOnForwardFailure',
      args: () => ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:${busyPort}:127.0.0.1:1`],
      stderr: () => `^Error: remote port forwarding failed for listen port ${busyPort}\r\n$`,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: exit 255 and ssh's fatal() line only`, async () => {
      const clients: CliClient[] = sshClientAvailable() ? ['ssh', 'pure-ssh'] : ['pure-ssh'];
      const seen: Record<string, { code: number | null; stderr: string }> = {};
      for (const client of clients) {
        // LogLevel first: ssh keeps the first value obtained.
        const args = ['-o', 'LogLevel=FATAL', ...c.args(), ...sshd.clientArgs, sshd.target];
        const r = await startCli(client, args, { env: cliEnv(home) }).done;
        seen[client] = { code: r.code, stderr: r.stderr };
        expect(r.code, client).toBe(255);
        expect(r.stderr, client).toMatch(new RegExp(c.stderr()));
      }
      if (seen.ssh) expect(seen['pure-ssh']).toEqual(seen.ssh);
    }, 60_000);
  }
});
