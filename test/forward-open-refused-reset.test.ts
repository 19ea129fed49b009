/**
 * -L to a target the server refuses (connect failed): the local client is reset if it had sent
 * anything, closed cleanly if not, as with ssh 9.2. ssh never reads a channel's socket while the
 * open is in flight, so its close after OPEN_FAILURE leaves the client's bytes unread and the
 * kernel answers with RST (curl: exit 56, "Recv failure: Connection reset by peer"); pure-ssh
 * reads ahead and used to close cleanly (curl 52, "Empty reply from server").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from './harness/net.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

/** What a client that connects, writes `request` (if any) and waits, sees: 'reset' or 'end'. */
function outcome(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      if (request) s.write(request);
    });
    s.resume();
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNRESET' ? 'reset' : `error ${e.code}`));
    s.on('end', () => resolve('end'));
    setTimeout(() => reject(new Error('neither reset nor closed within 10 s')), 10_000).unref();
  });
}

describeInteropWithHome('-L to a target the server refuses, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let closedPort: number;
  const children = new Set<ChildProcess>();
  beforeAll(async () => {
    sshd = await startSshd();
    closedPort = await freePort();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await sshd?.stop();
  });

  it('a client that sent a request is reset; one that sent nothing is closed', async () => {
    const seen: Record<string, string[]> = {};
    for (const [name, cmd] of [['ssh', [sshd.openssh.ssh]], ['pure-ssh', [process.execPath, CLI]]] as const) {
      const lport = await freePort();
      const child = spawn(cmd[0]!, [...cmd.slice(1), '-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-v', '-N', '-L', `127.0.0.1:${lport}:127.0.0.1:${closedPort}`, sshd.target], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: cliEnv(home),
      });
      children.add(child);
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      const deadline = Date.now() + 20_000;
      while (!err.includes(`Local forwarding listening on 127.0.0.1 port ${lport}.`)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} not listening:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      seen[name] = [await outcome(lport, 'GET / HTTP/1.0\r\n\r\n'), await outcome(lport, '')];
      expect(err).toContain('open failed: connect failed: Connection refused');
      child.kill('SIGKILL');
    }
    expect(seen.ssh).toEqual(['reset', 'end']);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
