/**
 * -L to a target the server refuses (connect failed): the local client is reset if it had sent
 * anything, closed cleanly if not, as with ssh 9.2. ssh never reads a channel's socket while the
 * open is in flight, so its close after OPEN_FAILURE leaves the client's bytes unread and the
 * kernel answers with RST (curl: exit 56, "Recv failure: Connection reset by peer"); pure-ssh
 * reads ahead and used to close cleanly (curl 52, "Empty reply from server").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from './harness/net.js';
import { descendants, signalAll } from './harness/proc.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Recv-Q of the TCP socket 127.0.0.1:`local` <-> 127.0.0.1:`remote` (/proc/net/tcp), or undefined. */
function recvQueue(local: number, remote: number): number | undefined {
  const hex = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === hex(local) && f[2] === hex(remote)) return parseInt(f[4]!.split(':')[1]!, 16);
  }
  return undefined;
}

/**
 * What a client that connects, writes `request` (if any) and waits, sees: 'reset' or 'end'.
 * Deterministic on a loaded machine: the forwarder (ssh or pure-ssh) is stopped (SIGSTOP) until
 * the request is in the kernel, so the handshake completes into its listen backlog and the bytes
 * wait in the socket before it has even accepted (written after its close, they would meet a
 * closed socket: a clean end whatever the forwarder does). And the server is stopped until the
 * forwarder has read the request if it reads ahead (pure-ssh does; ssh never reads a socket whose
 * channel is opening: there the 2 s pass), so the refusal always comes after that read: a
 * forwarder that closed cleanly after reading would show 'end' here every time, not only when
 * its read happened to come first.
 */
async function outcome(forwarder: ChildProcess, sshd: SshdHandle, port: number, request: string): Promise<string> {
  forwarder.kill('SIGSTOP');
  const server = request ? descendants(sshd.pid) : [];
  try {
    return await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        if (!request) return void forwarder.kill('SIGCONT');
        // The write's callback: the bytes are in the kernel (on loopback, in the receive queue
        // of the connection the forwarder has still to accept).
        s.write(request, async () => {
          signalAll(server, 'SIGSTOP');
          forwarder.kill('SIGCONT');
          for (const end = Date.now() + 2_000; Date.now() < end && recvQueue(port, s.localPort!) !== 0; ) await sleep(20);
          signalAll(server, 'SIGCONT');
        });
      });
      s.resume();
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNRESET' ? 'reset' : `error ${e.code}`));
      s.on('end', () => resolve('end'));
      setTimeout(() => reject(new Error('neither reset nor closed within 10 s')), 10_000).unref();
    });
  } finally {
    forwarder.kill('SIGCONT');
    signalAll(server, 'SIGCONT');
  }
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
      seen[name] = [await outcome(child, sshd, lport, 'GET / HTTP/1.0\r\n\r\n'), await outcome(child, sshd, lport, '')];
      expect(err).toContain('open failed: connect failed: Connection refused');
      child.kill('SIGKILL');
    }
    // ssh 9.2 shows what is expected; pure-ssh must show the same.
    expect(seen).toEqual({ ssh: ['reset', 'end'], 'pure-ssh': ['reset', 'end'] });
  }, 60_000);
});
