/**
 * What a caller gets once the connection is over, and for a failed connect (tester tlib's
 * finding 10c): a new channel after the connection was lost rejects with ConnectionLostError
 * (ERR_CONNECTION_LOST, the loss as `cause`; ERR_CONNECTION_CLOSED after close()), not a
 * UsageError; a name that does not resolve is worded as ssh(1) words it (ssh.c: "Could not
 * resolve hostname HOST: ..."); an AbortSignal's reason is the ERR_ABORTED error's `cause`.
 */
import { expect, it } from 'vitest';
import { connect, ConnectionLostError, SshError } from '../src/index.js';
import { connect as webConnect } from '../src/web/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/runners.js';

describeInterop('errors once the connection is over', () => {
  const sshd = sshdSuite();

  it('openDirectTcpip after the connection was lost rejects with ConnectionLostError, the loss as cause', async () => {
    const ssh = await connectTo(sshd);
    sshd.killConnections();
    const lost = await ssh.closed;
    expect(lost?.code).toBe('ERR_CONNECTION_LOST');
    const opening = ssh.openDirectTcpip({ host: '127.0.0.1', port: 1 });
    const err = await opening.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect((err as SshError).code).toBe('ERR_CONNECTION_LOST');
    expect((err as Error).cause).toBe(lost);
    expect((err as Error).message).toBe(`the SSH connection was lost: ${lost!.message}`);
    expect(() => ssh.directTcpip({ host: '127.0.0.1', port: 1 })).toThrow(ConnectionLostError);
  });

  it('after close(): ERR_CONNECTION_CLOSED', async () => {
    const ssh = await connectTo(sshd);
    await ssh.close();
    const err = await ssh.openDirectTcpip({ host: '127.0.0.1', port: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect((err as SshError).code).toBe('ERR_CONNECTION_CLOSED');
  });

  it('web client: the same after a loss', async () => {
    const ssh = await webConnect({
      transport: dialNodeWeb(sshd.port),
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: sshd.hostKeyLines.join('\n'),
    });
    sshd.killConnections();
    const lost = await ssh.closed;
    const err = await ssh.openDirectTcpip({ host: '127.0.0.1', port: 1 }).catch((e: unknown) => e);
    expect((err as SshError).code).toBe('ERR_CONNECTION_LOST');
    expect((err as Error).cause).toBe(lost);
  });

  it("a name that does not resolve: ssh's words", async () => {
    const err = await connect({ host: 'no-such-host.invalid', username: 'u', knownHosts: '/dev/null' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect((err as Error).message).toBe('ssh: Could not resolve hostname no-such-host.invalid: Name or service not known');
  });

  it("an AbortSignal's reason is the cause of ERR_ABORTED", async () => {
    const reason = new Error('the caller gave up');
    const err = await connectTo(sshd, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect((err as SshError).code).toBe('ERR_ABORTED');
    expect((err as Error).cause).toBe(reason);
    const c = new AbortController();
    const ssh = await connectTo(sshd, { signal: c.signal });
    c.abort(reason);
    const ended = await ssh.closed;
    expect(ended?.code).toBe('ERR_ABORTED');
    expect(ended?.cause).toBe(reason);
  });
});
