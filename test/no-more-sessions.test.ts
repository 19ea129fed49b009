/**
 * no-more-sessions@openssh.com (OpenSSH PROTOCOL §2.2): ssh(1) tells an OpenSSH 5.0+ server, once
 * its forwards (or its -W channel) are requested, that the connection will open no session, so
 * that a client taken over later cannot start a shell through it (ssh.c ssh_session2; sshd
 * serverloop.c then refuses "session" channels). Each jump host's `ssh -W` does the same on its
 * own connection. pure-ssh, which opens no sessions, did not send it; the CLI now does as ssh,
 * and the library offers it (SshClient.noMoreSessions).
 *
 * Checked beside ssh 9.2 against real sshd processes (LogLevel DEBUG: serverloop.c's
 * "server_input_global_request: rtype no-more-sessions@openssh.com want_reply 0"), and the -v lines.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendsNoMoreSessions } from '../src/connection/global-requests.js';
import { connectTo } from './harness/client.js';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { freePort, listening } from './harness/net.js';
import { deliverSignal, requireBuiltCli, startCli } from './harness/proc.js';
import { sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

const RECEIVED = /server_input_global_request: rtype no-more-sessions@openssh\.com want_reply 0/g;

describe('which servers get no-more-sessions@openssh.com (compat.c SSH_NEW_OPENSSH)', () => {
  it('OpenSSH 5.0 and later, by the software version of the identification line', () => {
    for (const v of ['SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10', 'SSH-2.0-OpenSSH_10.0', 'SSH-2.0-OpenSSH_5.1', 'SSH-1.99-OpenSSH_7.4', 'SSH-2.0-OpenSSH_for_Windows_9.5']) {
      expect(sendsNoMoreSessions(v), v).toBe(true);
    }
    for (const v of ['SSH-2.0-OpenSSH_4.7p1', 'SSH-2.0-OpenSSH_3.9', 'SSH-2.0-OpenSSH_2.5.2', 'SSH-2.0-dropbear_2022.83', 'SSH-2.0-openssh_9.2', 'SSH-2.0-Go', 'SSH-2.0-libssh_0.10.4', undefined]) {
      expect(sendsNoMoreSessions(v), String(v)).toBe(false);
    }
  });
});

describeInteropWithHome('no-more-sessions@openssh.com against sshd, as ssh 9.2', () => {
  let hop: SshdHandle;
  let target: SshdHandle;
  const dir = suiteDir('pure-ssh-no-more-sessions-');
  const home = suiteHome();

  beforeAll(async () => {
    [hop, target] = await Promise.all([startSshd({ config: { LogLevel: 'DEBUG' } }), startSshd({ listen: '127.0.0.2', config: { LogLevel: 'DEBUG' } })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([hop?.stop(), target?.stop()]);
  });

  /** How many no-more-sessions requests `sshd` logged from `before` (a logs() length) on, waiting up to 3 s for `want`. */
  const received = async (sshd: SshdHandle, before: number, want: number) => {
    let n = 0;
    for (let i = 0; i < 60; i++) {
      n = sshd.logs().slice(before).match(RECEIVED)?.length ?? 0;
      if (n >= want) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return n;
  };

  it('library: noMoreSessions() sends it once authenticated; forwarding goes on; false once closed', async () => {
    const before = target.logs().length;
    const ssh = await connectTo(target);
    try {
      expect(ssh.noMoreSessions()).toBe(true);
      expect(await received(target, before, 1)).toBe(1);
      // Only sessions are refused: a direct-tcpip channel still opens (sshd's own port answers).
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.2', port: target.port });
      const line = await new Promise<Buffer>((r) => ch.once('data', r));
      expect(line.toString('latin1')).toMatch(/^SSH-2\.0-OpenSSH/);
      ch.destroy();
    } finally {
      await ssh.close();
    }
    expect(ssh.noMoreSessions()).toBe(false);
  }, 30_000);

  it('CLI -N -L, direct and through a jump host: sent on each connection, its -v line before "Entering interactive session."', async () => {
    requireBuiltCli();
    const config = join(dir, 'config');
    const block = (name: string, sshd: SshdHandle) =>
      `Host ${name}\n  HostName ${sshd.host}\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKeyPath}\n` +
      `  UserKnownHostsFile ${sshd.knownHostsPath}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n`;
    await writeFile(config, block('hop', hop) + block('target', target) + 'Host *\n  IdentitiesOnly yes\n  IdentityAgent none\n');
    const run = async (client: 'pure-ssh' | 'ssh', route: string[]) => {
      const [hopBefore, targetBefore] = [hop.logs().length, target.logs().length];
      const port = await freePort();
      const cli = startCli(client, ['-F', config, '-v', '-N', ...route, '-L', `127.0.0.1:${port}:127.0.0.2:${target.port}`, 'target'], { env: cliEnv(home) });
      const hops = route.length > 0 ? 1 : 0;
      try {
        const deadline = Date.now() + 15_000;
        const entered = () => cli.stderr.split('Entering interactive session.').length - 1;
        while ((entered() < 1 + hops || !(await listening(port))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const lines = cli.stderr
          .split(/\r?\n/)
          .filter((l) => /^debug1: (Requesting no-more-sessions|Entering interactive session)/.test(l));
        return { lines, atHop: await received(hop, hopBefore, hops), atTarget: await received(target, targetBefore, 1) };
      } finally {
        deliverSignal(cli.child, 'SIGTERM');
        await cli.done;
      }
    };
    const pair = ['debug1: Requesting no-more-sessions@openssh.com', 'debug1: Entering interactive session.'];
    for (const route of [[], ['-J', 'hop']]) {
      const ours = await run('pure-ssh', route);
      const hops = route.length > 0 ? 1 : 0;
      // The hop's pair first (its `ssh -W`), then the destination's.
      expect(ours, route.join(' ')).toEqual({ lines: route.length > 0 ? [...pair, ...pair] : pair, atHop: hops, atTarget: 1 });
      if (sshClientAvailable()) expect(await run('ssh', route), route.join(' ')).toEqual(ours);
    }
  }, 90_000);
});
