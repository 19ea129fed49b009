/**
 * A jump host lost during the session (its sshd's process for the connection killed), with the
 * jump hosts on 127.0.0.1 and the destination on 127.0.0.2, so that which host is named shows.
 *
 * Library: the connection ends with a ConnectionLostError naming the jump host whose connection
 * was lost (`jumpHost`, and `jump host [127.0.0.1]:PORT: ` before the jump host's own message,
 * which is its `cause`), whichever hop of a chain it was; the destination's own loss is still the
 * destination's (`Connection to 127.0.0.2 closed by remote host.`, no `jumpHost`).
 *
 * CLI beside ssh 9.2: ssh's hop process (`ssh -W`) says its own line first, naming the jump host,
 * `Connection to 127.0.0.1 closed by remote host.`; then ssh, writing its DISCONNECT into the
 * exited hop's pipe, `client_loop: send disconnect: Broken pipe` (or, when its write wins the
 * race with the hop's exit, its own `Connection to 127.0.0.2 closed by remote host.`, sometimes alone:
 * the hop writes its line only after closing its end of the pipe). pure-ssh always says the first of
 * ssh's endings (connect-host.ts sendDisconnectFails). Exit 255.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionLostError, type SshClient, type SshError } from '../src/index.js';
import { clientOptions, connectTo } from './harness/client.js';
import { cliEnv, itWithHome, suiteDir, suiteHome } from './harness/home.js';
import { freePort, listening } from './harness/net.js';
import { descendants, requireBuiltCli, startCli } from './harness/proc.js';
import { describeInterop, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

/**
 * The jump host's own error: its server's kernel closes the killed connection with a FIN, or with
 * a reset when bytes the client sent were still unread there.
 */
const HOP_LOST = /^(Connection to 127\.0\.0\.1 closed by remote host\.|Read from remote host 127\.0\.0\.1: Connection reset by peer)$/;

/** Kills the per-connection sshd processes of `sshd` that were not in `before`. */
function killNew(sshd: SshdHandle, before: Set<number>): void {
  for (const pid of descendants(sshd.pid)) if (!before.has(pid)) process.kill(pid, 'SIGKILL');
}

/** How the client's connection ended (its `closed` error). */
async function lostWith(ssh: SshClient): Promise<SshError | undefined> {
  return ssh.closed;
}

describeInterop('a jump host lost during the session', () => {
  let hop1: SshdHandle;
  let hop2: SshdHandle;
  let target: SshdHandle;
  const dir = suiteDir('pure-ssh-hop-lost-');
  const home = suiteHome();

  beforeAll(async () => {
    [hop1, hop2, target] = await Promise.all([startSshd(), startSshd(), startSshd({ listen: '127.0.0.2' })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([hop1?.stop(), hop2?.stop(), target?.stop()]);
  });

  /** Logged in to the target through `hops`; then the connections of `victim` that are new are killed. */
  const loseOne = async (hops: SshdHandle[], victim: SshdHandle): Promise<SshError | undefined> => {
    const before = new Set(descendants(victim.pid));
    const ssh = await connectTo(target, { jump: hops.map((h) => clientOptions(h)) });
    // The route works: a channel to the target's own sshd answers with its identification line.
    const probe = await ssh.openDirectTcpip({ host: '127.0.0.2', port: target.port });
    await new Promise((r) => probe.once('data', r));
    probe.destroy();
    // That channel settles first: sshd's kernel then closes the killed connection with a FIN.
    await new Promise((r) => setTimeout(r, 300));
    killNew(victim, before);
    return lostWith(ssh);
  };

  it('library: one jump host lost: a ConnectionLostError naming it, its own error as cause', async () => {
    const err = await loseOne([hop1], hop1);
    expect(err).toBeInstanceOf(ConnectionLostError);
    const lost = err as ConnectionLostError;
    expect(lost.code).toBe('ERR_CONNECTION_LOST');
    expect(lost.jumpHost).toEqual({ host: '127.0.0.1', port: hop1.port });
    expect(lost.cause).toBeInstanceOf(ConnectionLostError);
    expect((lost.cause as Error).message).toMatch(HOP_LOST);
    expect(lost.message).toBe(`jump host [127.0.0.1]:${hop1.port}: ${(lost.cause as Error).message}`);
  }, 60_000);

  it('library: two jump hosts, either lost: the one lost is named, not the one after it', async () => {
    const first = (await loseOne([hop1, hop2], hop1)) as ConnectionLostError;
    expect(first).toBeInstanceOf(ConnectionLostError);
    expect(first.jumpHost).toEqual({ host: '127.0.0.1', port: hop1.port });
    expect(first.message).toMatch(new RegExp(`^jump host \\[127\\.0\\.0\\.1\\]:${hop1.port}: ${HOP_LOST.source.slice(1)}`));

    const second = (await loseOne([hop1, hop2], hop2)) as ConnectionLostError;
    expect(second).toBeInstanceOf(ConnectionLostError);
    expect(second.jumpHost).toEqual({ host: '127.0.0.1', port: hop2.port });
    expect(second.message).toMatch(new RegExp(`^jump host \\[127\\.0\\.0\\.1\\]:${hop2.port}: ${HOP_LOST.source.slice(1)}`));
  }, 60_000);

  it("library: the destination's own loss is the destination's", async () => {
    const err = (await loseOne([hop1], target)) as ConnectionLostError;
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect(err.jumpHost).toBeUndefined();
    expect(err.message).toBe('Connection to 127.0.0.2 closed by remote host.');
  }, 60_000);

  itWithHome("CLI: the jump host's line names the jump host, then the failed DISCONNECT, as ssh 9.2", async () => {
    requireBuiltCli();
    const config = join(dir, 'config');
    const block = (name: string, sshd: SshdHandle) =>
      `Host ${name}\n  HostName ${sshd.host}\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKeyPath}\n` +
      `  UserKnownHostsFile ${sshd.knownHostsPath}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n`;
    await writeFile(config, block('hop', hop1) + block('target', target) + 'Host *\n  IdentitiesOnly yes\n  IdentityAgent none\n');
    const run = async (client: 'pure-ssh' | 'ssh') => {
      const port = await freePort();
      const before = new Set(descendants(hop1.pid));
      const cli = startCli(client, ['-F', config, '-N', '-J', 'hop', '-L', `127.0.0.1:${port}:127.0.0.2:${target.port}`, 'target'], { env: cliEnv(home) });
      const deadline = Date.now() + 15_000;
      while (!(await listening(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // The listener probe's channel settles first (a FIN from the killed sshd, not a reset).
      await new Promise((r) => setTimeout(r, 300));
      killNew(hop1, before);
      return cli.done;
    };
    const hopLine = 'Connection to 127.0.0.1 closed by remote host.\r\n';
    const ours = await run('pure-ssh');
    expect(ours.code).toBe(255);
    expect(ours.stderr).toBe(`${hopLine}client_loop: send disconnect: Broken pipe\r\n`);
    if (sshClientAvailable()) {
      const theirs = await run('ssh');
      expect(theirs.code).toBe(255);
      // ssh's endings race its two processes: the hop's line is buffered and written only after the hop has
      // closed its -W channel's descriptors (clientloop.c: channel_free_all before the stderr buffer goes
      // out), so ssh may read that EOF, say its own line and SIGHUP the hop first (seen in CI under load);
      // or write its DISCONNECT into the exited hop's pipe. Every line ssh prints is one of these three,
      // once each; ours is one of ssh's outcomes, always the same.
      const known = [hopLine, 'client_loop: send disconnect: Broken pipe\r\n', 'Connection to 127.0.0.2 closed by remote host.\r\n'];
      const lines = theirs.stderr.split(/(?<=\r\n)/);
      const printed = `ssh 9.2 printed ${JSON.stringify(theirs.stderr)}`;
      expect(lines.length, printed).toBeGreaterThan(0);
      for (const line of lines) expect(known, printed).toContain(line);
      expect(new Set(lines).size, printed).toBe(lines.length);
    }
  }, 60_000);
});
