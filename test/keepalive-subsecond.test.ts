/**
 * keepaliveInterval below a second (tester tlib's finding 1): the Node client used to round the
 * next probe down to monotime()'s whole second, which put it at or before now for 300/500/750 ms,
 * so probes went out in a burst and a healthy idle connection ended with ERR_KEEPALIVE_TIMEOUT.
 * Against sshd 9.2: the connection stays up and probes go out about once per interval.
 */
import { expect, it } from 'vitest';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd } from './harness/sshd.js';

const IDLE_MS = 2400;

/** sshd's debug1 line for each keepalive@openssh.com it receives (serverloop.c server_input_global_request). */
function keepalivesSeen(logs: string): number {
  return logs.split('\n').filter((l) => l.includes('rtype keepalive@openssh.com want_reply 1')).length;
}

describeInterop('keepaliveInterval under a second', () => {
  it('300, 500 and 750 ms keep an idle connection open, one probe per interval', async () => {
    const sshd = await startSshd();
    try {
      for (const interval of [300, 500, 750]) {
        const before = keepalivesSeen(sshd.logs());
        const ssh = await connectTo(sshd, { keepaliveInterval: interval });
        let closed: unknown = 'open';
        void ssh.closed.then((e) => (closed = e ?? 'closed'));
        await new Promise((r) => setTimeout(r, IDLE_MS));
        expect(closed, `keepaliveInterval ${interval}`).toBe('open');
        // Let the last probe's line reach the log before counting.
        await new Promise((r) => setTimeout(r, 100));
        const probes = keepalivesSeen(sshd.logs()) - before;
        expect(probes, `probes at ${interval} ms over ${IDLE_MS} ms`).toBeGreaterThanOrEqual(Math.floor(IDLE_MS / interval) - 1);
        expect(probes, `probes at ${interval} ms over ${IDLE_MS} ms`).toBeLessThanOrEqual(Math.ceil(IDLE_MS / interval) + 1);
        await ssh.close();
      }
    } finally {
      await sshd.stop();
    }
  }, 30_000);
});
