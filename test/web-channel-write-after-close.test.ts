/**
 * pure-ssh/web: a write after the caller's own `ch.close()` is refused (break25 F7: it resolved
 * as if sent and the bytes were dropped; the Node ChannelStream refuses a write after destroy()).
 * A write racing the server's CLOSE is still dropped quietly. Against sshd 9.2, over Node's TCP
 * socket as web streams.
 */
import { expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { connect } from '../src/web/index.js';
import { startEchoServer } from './harness/net.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/runners.js';

describeInterop('pure-ssh/web: writes after close()', () => {
  const sshd = sshdSuite();

  it('a write after our close() rejects with a UsageError; the connection stays usable', async () => {
    const echo = await startEchoServer();
    const ssh = await connect({
      transport: dialNodeWeb(sshd.port),
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      knownHosts: sshd.hostKeyLines.join('\n'),
      privateKey: sshd.clientKey,
    });
    try {
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      const w = ch.writable.getWriter();
      await w.write(new Uint8Array([1]));
      ch.close();
      const err = await w.write(new Uint8Array([2])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(`channel ${ch.channel}: closed, write refused`);
      await ch.closed;
      // Another channel works.
      const ch2 = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      const w2 = ch2.writable.getWriter();
      await w2.write(new TextEncoder().encode('ok'));
      const { value } = await ch2.readable.getReader().read();
      expect(new TextDecoder().decode(value)).toBe('ok');
      ch2.close();
    } finally {
      await ssh.close();
      await echo.close();
    }
  });
});
