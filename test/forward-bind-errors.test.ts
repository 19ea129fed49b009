/**
 * A listener that cannot be bound is worded as ssh(1) words it, strerror(3) (break36): only
 * EADDRINUSE was ("Address already in use"); an address not on this host gave Node's text
 * ("listen EADDRNOTAVAIL: address not available 10.255.255.1"), a socket path in a missing
 * directory libuv's EACCES, "listen EACCES: permission denied PATH" (bind(2) said ENOENT; ssh
 * prints "No such file or directory"), and tunnel()'s listener Node's text for all of them. Against sshd 9.2: the connection is real, only the local bind fails.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { expect, it } from 'vitest';
import { SshError, tunnel } from '../src/index.js';
import { clientOptions, connectTo } from './harness/client.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

describeInterop('forwards: a listener that cannot be bound says why in strerror(3)\'s words (sshd 9.2)', () => {
  const sshd = sshdSuite();
  // TEST-NET-1 style address no interface here holds (RFC 5737's are as good; this one is private).
  const notHere = '10.255.255.1';
  const missingDir = join(tmpdir(), 'pure-ssh-no-such-dir-break36', 'fwd.sock');
  const to = { host: '127.0.0.1', port: 1 };

  const bindError = async (p: Promise<{ close(): Promise<void> }>): Promise<string> => {
    const err = await p.then(
      async (f) => (await f.close(), undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('ERR_FORWARD_BIND');
    return (err as Error).message;
  };

  it('forwardLocal, forwardDynamic and tunnel()', async () => {
    const ssh = await connectTo(sshd);
    try {
      expect(await bindError(ssh.forwardLocal({ listen: { host: notHere, port: 0 }, to }))).toBe(
        `bind ${notHere}:0: Cannot assign requested address (could not request local forwarding)`,
      );
      expect(await bindError(ssh.forwardLocal({ listen: { path: missingDir }, to }))).toBe(`bind ${missingDir}: No such file or directory (could not request local forwarding)`);
      expect(await bindError(ssh.forwardDynamic({ listen: { host: notHere, port: 0 } }))).toMatch(/: Cannot assign requested address \(could not request dynamic forwarding\)$/);
      // libuv says EACCES for a missing directory; bind(2) said ENOENT, and ssh prints that.
      expect(await bindError(ssh.forwardDynamic({ listen: { path: missingDir } }))).toBe(`bind ${missingDir}: No such file or directory (could not request dynamic forwarding)`);
      // The connection is unaffected.
      const s = await ssh.openDirectTcpip({ host: '127.0.0.1', port: sshd.port });
      s.destroy();
    } finally {
      await ssh.close();
    }
    expect(await bindError(tunnel(clientOptions(sshd), { listen: { host: notHere, port: 0 }, to }))).toBe(`bind ${notHere}:0: Cannot assign requested address`);
  });
});
