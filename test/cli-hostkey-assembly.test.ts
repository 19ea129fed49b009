/**
 * A HostKeyAlgorithms list that kex.c kex_assemble_names refuses (a negated name, `!ssh-rsa`, or
 * a list naming nothing, `,`): readconf.c takes the line, and ssh(1) 9.2 fails where the list is
 * assembled, sshconnect2.c ssh_kex2, after the banner exchange: "ssh_kex2: kex_assemble_namelist:
 * invalid argument", exit 255. For a jump host that is its own `ssh -W` process's line, then what
 * the ssh above it says of its proxy closing. Beside ssh 9.2, against a real sshd (LogLevel
 * DEBUG3), whose log shows what reached it: ssh's identification line and nothing more, then the
 * TCP close (`Connection closed by ... [preauth]`); pure-ssh used to send its KEXINIT with the
 * default list and reset the connection with sshd's KEXINIT unread (`Connection reset by`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli } from './harness/proc.js';
import { sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

const FAILED = 'ssh_kex2: kex_assemble_namelist: invalid argument';

describeInteropWithHome('CLI: HostKeyAlgorithms that cannot be assembled, as ssh(1) 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd({ config: { LogLevel: 'DEBUG3' } });
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  const run = async (client: 'ssh' | 'pure-ssh', args: string[]) => {
    const r = await startCli(client, args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
    return { code: r.code, stderr: r.stderr.replace(/\r/g, '') };
  };

  /** `client`'s run and sshd's log of its one connection: its close after our banner alone, no KEXINIT or DISCONNECT of ours. */
  const runSeenBySshd = async (client: 'ssh' | 'pure-ssh', args: string[]) => {
    const before = sshd.logs().length;
    const r = await run(client, args);
    let log = '';
    for (let i = 0; i < 400; i++) {
      log = sshd.logs().slice(before);
      // Only the close of a connection that reached privsep ([preauth]): a probe's connection,
      // closed before its identification line (the harness's readiness check, its line read late),
      // may be in the log first.
      if (/Connection (closed|reset) by 127\.0\.0\.1 port \d+ \[preauth\]|Received disconnect from|Broken pipe/.test(log)) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    // The client closes after the banner exchange; when it exits with sshd's KEXINIT still unread in its
    // socket, its kernel answers with a reset instead of a FIN (both clients, seen under load).
    expect(log, `${client}, sshd's log:\n${log}`).toMatch(/Connection (closed|reset) by 127\.0\.0\.1 port \d+ \[preauth\]/);
    // Our KEXINIT never sent (sshd: kex.c kex_input_kexinit's "SSH2_MSG_KEXINIT received"), nor a DISCONNECT.
    expect(log, client).not.toMatch(/SSH2_MSG_KEXINIT received|Received disconnect from/);
    return r;
  };

  it('a jump host\'s (its config block): the hop\'s ssh_kex2 line after its banner exchange, then the proxy closing', async () => {
    for (const spec of ['!ssh-rsa', ',', 'ssh-ed25519,!ssh-rsa']) {
      const cfg = join(sshd.dir, 'jump-config');
      const common = `  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ${sshd.clientKeyPath}\n  UserKnownHostsFile ${sshd.knownHostsPath}\n`;
      writeFileSync(cfg, `Host jump\n${common}  HostKeyAlgorithms ${spec}\nHost target\n${common}  ProxyJump jump\n  BatchMode yes\n`);
      const args = ['-F', cfg, '-W', '127.0.0.1:1', 'target'];
      const ours = await runSeenBySshd('pure-ssh', args);
      const lines = [FAILED, 'kex_exchange_identification: Connection closed by remote host', 'Connection closed by UNKNOWN port 65535'];
      expect(ours).toEqual({ code: 255, stderr: lines.map((l) => `${l}\n`).join('') });
      if (sshClientAvailable()) expect(await runSeenBySshd('ssh', args)).toEqual(ours);
      // -v: the hop connected and read the server's identification line first (pure-ssh used to
      // refuse the hop's list with its own words before connecting it).
      const verbose = (await run('pure-ssh', ['-v', ...args])).stderr.split('\n');
      const remote = verbose.findIndex((l) => l.startsWith('debug1: Remote protocol version 2.0'));
      expect(remote).toBeGreaterThan(0);
      // sshconnect.c ssh_login's line comes before ssh_kex2 assembles the list.
      expect(verbose[remote + 1]).toBe(`debug1: Authenticating to 127.0.0.1:${sshd.port} as 'root'`);
      expect(verbose[remote + 2]).toBe(FAILED);
    }
  }, 60_000);

  it("the destination's (-o): after the banner exchange, as ssh 9.2 (pure-ssh said it before connecting)", async () => {
    for (const spec of ['!ssh-rsa', ',']) {
      const args = [...sshd.clientArgs, '-o', `HostKeyAlgorithms=${spec}`, '-W', '127.0.0.1:1', sshd.target];
      const ours = await runSeenBySshd('pure-ssh', args);
      expect(ours).toEqual({ code: 255, stderr: `${FAILED}\n` });
      if (sshClientAvailable()) expect(await runSeenBySshd('ssh', args)).toEqual(ours);
      const verbose = (await run('pure-ssh', ['-v', ...args])).stderr.split('\n');
      const remote = verbose.findIndex((l) => l.startsWith('debug1: Remote protocol version 2.0'));
      expect(remote).toBeGreaterThan(0);
      expect(verbose[remote + 1]).toBe(`debug1: Authenticating to ${sshd.host}:${sshd.port} as '${sshd.user}'`);
      expect(verbose[remote + 2]).toBe(FAILED);
      // The server saw the connection and its identification line, nothing more from ssh.
      expect(verbose.some((l) => l.startsWith('debug1: Connection established.'))).toBe(true);
    }
    // Nothing listening: the connect's error, as ssh.
    const refused = await run('pure-ssh', ['-F', 'none', '-o', 'HostKeyAlgorithms=!ssh-rsa', '-p', '1', '-N', '127.0.0.1']);
    expect(refused).toEqual({ code: 255, stderr: 'ssh: connect to host 127.0.0.1 port 1: Connection refused\n' });
  }, 60_000);
});
