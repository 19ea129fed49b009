/**
 * SshClient.close() "resolves when the socket is closed" (its docstring): it resolved as soon as
 * the DISCONNECT was queued, before the socket had written it and closed (break36: after
 * `await ssh.close()` the TCP socket to sshd was still among the process's handles, not yet
 * destroyed). Against sshd 9.2, right after login (the server is still sending then) and after a
 * channel was used.
 */
import net from 'node:net';
import { expect, it } from 'vitest';
import { connectTo } from './harness/client.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

/** The process's TCP sockets to `port` (node's own list of live handles). */
function socketsTo(port: number): net.Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is net.Socket => h instanceof net.Socket && h.remotePort === port);
}

describeInterop('close() resolves once the socket is closed (sshd 9.2)', () => {
  const sshd = sshdSuite();

  it('right after login, and after a channel, ten times each: no socket to sshd is left when close() resolves', async () => {
    for (let run = 0; run < 10; run++) {
      const ssh = await connectTo(sshd);
      if (run % 2 === 1) {
        const s = await ssh.openDirectTcpip({ host: sshd.host, port: sshd.port });
        await new Promise((r) => s.once('data', r)); // sshd's own identification line
        s.destroy();
      }
      expect(socketsTo(sshd.port).length, `run ${run}: before close()`).toBeGreaterThan(0);
      await ssh.close();
      const left = socketsTo(sshd.port).filter((s) => !s.destroyed || !s.closed);
      expect(left.length, `run ${run}: sockets to sshd left open when close() resolved`).toBe(0);
    }
  });
});
