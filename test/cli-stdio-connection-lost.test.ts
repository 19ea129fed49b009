/**
 * `pure-ssh -W` when the connection itself is lost while the channel open is unanswered: the
 * error is the connection's, reported once, as ssh(1) does ("stdio forwarding failed" is
 * ssh(1)'s line for a refused open only, channel_open_failure in clientloop.c/mux.c).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { runCli } from './support/cli-run.js';
import { describeInteropWithHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

/**
 * A TCP port where connect(2) hangs: a listener in a stopped process whose accept queue
 * (backlog 1: two connections; Node takes 0 for its default, 511) is full, so the kernel drops further SYNs. sshd answers a
 * direct-tcpip open only once its connect completes (RFC 4254 §7.2), so the open stays pending.
 */
async function blackholePort(): Promise<{ port: number; stop(): void }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', "const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  child.kill('SIGSTOP');
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  return {
    port,
    stop() {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

describeInteropWithHome('pure-ssh -W, connection lost during the open', () => {
  let sshd: SshdHandle | undefined;
  let hole: { stop(): void } | undefined;
  afterEach(async () => {
    hole?.stop();
    await sshd?.stop();
  });

  it('reports the lost connection once, without "stdio forwarding failed"', async () => {
    sshd = await startSshd();
    const h = await blackholePort();
    hole = h;
    // prettier-ignore
    const cli = runCli([
      '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'BatchMode=yes', '-W', `127.0.0.1:${h.port}`, 'root@127.0.0.1',
    ]);
    try {
      await cli.waitFor(/channel_connect_stdio_fwd/);
      await new Promise((r) => setTimeout(r, 500));
      // The open is still unanswered: the process waits.
      expect(cli.child.exitCode).toBeNull();
      sshd.killConnections();
      const { code } = await cli.exited;
      expect({ code, err: cli.stderr() }).toMatchObject({ code: 255 });
      const err = cli.stderr();
      expect(err).toContain('Connection to 127.0.0.1 closed by remote host.');
      expect(err).not.toContain('stdio forwarding failed');
      expect(err.match(/^Connection to 127\.0\.0\.1 closed by remote host\.$/gm)).toHaveLength(1);
    } finally {
      await cli.kill();
    }
  }, 30_000);
});
