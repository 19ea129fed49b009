/**
 * forwardLocal, forwardRemote, forwardDynamic and openDirectTcpip refuse a key they do not take,
 * as connect() does (tester break18 F2): a typo (`listen.hots`) or `signal` used to be ignored,
 * the forward bound on loopback, the open not abortable. The UsageError names the call and the
 * nearest known key (option-check.ts checkOptionKeys); `signal` says it is not taken. Against
 * sshd 9.2; nothing is bound or opened for a refused call.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import type { SshClient } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

describeInterop('forward and direct-tcpip options: unknown keys refused, as connect() refuses them', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  const to = { host: '127.0.0.1', port: 9 };
  beforeAll(async () => {
    sshd = await startSshd();
    ssh = await connectTo(sshd);
  }, 30_000);
  afterAll(async () => {
    await ssh?.close();
    await sshd?.stop();
  });

  const refused = async (p: Promise<unknown>, message: string) => {
    const err = await p.then(
      (r) => r,
      (e: unknown) => e,
    );
    if (!(err instanceof UsageError)) await (err as { close?: () => Promise<void> })?.close?.();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(message);
  };
  // Reaching past the types, as a JavaScript caller (or a cast) does.
  const any = (o: object) => o as never;

  it('a misspelt key names the call and the nearest known one', async () => {
    await refused(ssh.forwardLocal(any({ listen: { port: 0, hots: '0.0.0.0' }, to })), 'forwardLocal: unknown option listen.hots (did you mean listen.host?)');
    await refused(ssh.forwardLocal(any({ listen: { port: 0 }, to, tp: 1 })), 'forwardLocal: unknown option tp');
    await refused(ssh.forwardLocal(any({ listen: { port: 0 }, to: { host: 'x', prot: 1, port: 9 } })), 'forwardLocal: unknown option to.prot (did you mean to.port?)');
    await refused(ssh.forwardDynamic(any({ listen: { port: 0 }, to })), 'forwardDynamic: unknown option to');
    await refused(ssh.forwardDynamic(any({ lisen: { port: 0 } })), 'forwardDynamic: unknown option lisen (did you mean listen?)');
    await refused(ssh.forwardRemote(any({ listen: { port: 0 }, to, permitOpn: [] })), 'forwardRemote: unknown option permitOpn (did you mean permitOpen?)');
    // ipv6Only is a local listener's (net.Server); the server's listener has none.
    await refused(ssh.forwardRemote(any({ listen: { port: 0, ipv6Only: true }, to })), 'forwardRemote: unknown option listen.ipv6Only');
    await refused(ssh.forwardLocal(any({ listen: { path: '/tmp/x.sock', port: 1 }, to })), 'forwardLocal: listen.port cannot be given with listen.path');
    await refused(ssh.openDirectTcpip(any({ host: '127.0.0.1', prot: 22, port: 22 })), 'openDirectTcpip: unknown option prot (did you mean port?)');
    expect(ssh.channelCount).toBe(0);
  });

  it('signal is refused, in the options or as a second argument, rather than ignored', async () => {
    const signal = new AbortController().signal;
    const not = 'is not taken (no AbortSignal): close the forward, the stream or the connection instead';
    await refused(ssh.forwardLocal(any({ listen: { port: 0 }, to, signal })), `forwardLocal: signal ${not}`);
    await refused(ssh.forwardDynamic(any({ listen: { port: 0 }, signal })), `forwardDynamic: signal ${not}`);
    await refused(ssh.forwardRemote(any({ listen: { port: 0 }, to, signal })), `forwardRemote: signal ${not}`);
    await refused(ssh.openDirectTcpip(any({ host: '127.0.0.1', port: 22, signal })), `openDirectTcpip: signal ${not}`);
    const second = await (ssh.openDirectTcpip as (...a: unknown[]) => Promise<unknown>)({ host: '127.0.0.1', port: 22 }, { signal }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(UsageError);
    expect((second as Error).message).toMatch(/^openDirectTcpip takes one argument, .*: a signal is not taken/);
    expect(ssh.channelCount).toBe(0);
  });

  it('the known keys still work (undefined values ask for nothing)', async () => {
    const fwd = await ssh.forwardLocal({ listen: { host: '127.0.0.1', port: 0, ipv6Only: undefined }, to: { host: '127.0.0.1', port: sshd.port } });
    await fwd.close();
    const socks = await ssh.forwardDynamic({ listen: { host: '127.0.0.1', port: 0, ipv6Only: false } });
    await socks.close();
    const rf = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, permitOpen: [{ host: 'localhost', port: '*' }] });
    await rf.close();
    const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: sshd.port, originatorAddress: '127.0.0.1', originatorPort: 1 });
    ch.destroy();
  });
});
