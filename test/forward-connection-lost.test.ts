/**
 * A local forward's connection in flight when its SSH connection is lost (no CHANNEL_EOF or
 * CLOSE from the server) is reset, never ended cleanly: a clean end would pass a truncated
 * download off as complete. Whatever cut the link: the server's TCP connection reset, closed
 * (FIN), or dead (a keepalive timeout), and the caller's own close() under a running download.
 * A relay in front of sshd cuts the connection after 4 MB of a 32 MiB download; the local client
 * is Python (a Node client's libuv often reports a reset behind data as a clean end, see
 * harness/net.ts downloadOutsideNode).
 *
 * Before this test: forwardLocal's connections got a FIN every time (SshClient's close ended
 * its forwards' sockets with destroy(), before the channels' errors), so the client saw a clean,
 * short stream. ssh(1) 9.2 is no better: it exits and the kernel closes its sockets with a FIN
 * (a client with nothing left unread gets a clean EOF, checked by hand through the same relay).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tunnel, type SshClient } from '../src/index.js';
import { clientOptions, connectTo } from './harness/client.js';
import { downloadOutsideNode, startCuttingRelay, startSourceServer, type CuttingRelay, type SourceServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const SIZE = 32 * 1024 * 1024;
const CUT_AFTER = 4 * 1000 * 1000;

describeInterop('a -L connection in flight when the SSH connection is lost is reset', () => {
  let sshd: SshdHandle;
  let source: SourceServer;
  const relays: CuttingRelay[] = [];

  beforeAll(async () => {
    [sshd, source] = await Promise.all([startSshd(), startSourceServer(SIZE, 7)]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
    await source?.close();
    await sshd?.stop();
  });

  const through = async (how: 'reset' | 'close' | 'stall'): Promise<{ port: number; alias: string }> => {
    const relay = await startCuttingRelay(sshd.port, sshd.host, CUT_AFTER, how);
    relays.push(relay);
    return { port: relay.port, alias: `[${sshd.host}]:${sshd.port}` };
  };
  const download = async (ssh: SshClient) => {
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: source.host, port: source.port } });
    return downloadOutsideNode((fwd.address as { port: number }).port);
  };

  it('control: the same download without a cut ends cleanly, whole', async () => {
    const ssh = await connectTo(sshd);
    try {
      expect(await download(ssh)).toEqual({ outcome: 'ended', bytes: SIZE, sha256: source.sha256 });
    } finally {
      await ssh.close();
    }
  }, 60_000);

  for (const how of ['reset', 'close', 'stall'] as const) {
    it(`forwardLocal: the server's TCP connection ${how === 'stall' ? 'goes dead (keepalive timeout)' : how === 'reset' ? 'is reset' : 'is closed (FIN)'}`, async () => {
      const { port, alias } = await through(how);
      const ssh = await connectTo(sshd, { port, hostKeyAlias: alias, ...(how === 'stall' ? { keepaliveInterval: 1000, keepaliveCountMax: 1 } : {}) });
      const lost = ssh.closed;
      const got = await download(ssh);
      expect(got.outcome).toBe('reset');
      expect(got.bytes).toBeLessThan(SIZE);
      expect((await lost)?.code).toMatch(/^ERR_(CONNECTION_LOST|KEEPALIVE_TIMEOUT)$/);
    }, 60_000);
  }

  it("forwardLocal: the caller's close() under a running download", async () => {
    const ssh = await connectTo(sshd);
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: source.host, port: source.port } });
    const got = downloadOutsideNode((fwd.address as { port: number }).port);
    await expect.poll(() => fwd.counters.bytesIn, { timeout: 10_000, interval: 5 }).toBeGreaterThan(1_000_000);
    await ssh.close();
    expect((await got).outcome).toBe('reset');
  }, 60_000);

  it('forwardLocal and forwardDynamic: `address` after the connection is lost is the address they had (threw a TypeError)', async () => {
    const ssh = await connectTo(sshd);
    const fwd = await ssh.forwardLocal({ listen: { port: 0 }, to: { host: source.host, port: source.port } });
    const dyn = await ssh.forwardDynamic({ listen: { port: 0 } });
    const before = [fwd.address, dyn.address];
    const closed = [new Promise((r) => fwd.once('close', r)), new Promise((r) => dyn.once('close', r))];
    sshd.killConnections();
    await ssh.closed;
    await Promise.all(closed);
    expect([fwd.address, dyn.address]).toEqual(before);
    expect((before[0] as { port: number }).port).toBeGreaterThan(0);
  }, 30_000);

  it('tunnel() (reconnecting): the server\'s TCP connection is reset', async () => {
    const { port, alias } = await through('reset');
    const t = await tunnel(clientOptions(sshd, { port, hostKeyAlias: alias }), { listen: { port: 0 }, to: { host: source.host, port: source.port } }, { initialDelay: 60_000, maxDelay: 60_000 });
    try {
      const got = await downloadOutsideNode((t.forward.address as { port: number }).port);
      expect(got.outcome).toBe('reset');
      expect(got.bytes).toBeLessThan(SIZE);
    } finally {
      await t.close();
    }
  }, 60_000);
});
