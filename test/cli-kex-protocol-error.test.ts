/**
 * A transport message that is not the key exchange's (SERVICE_ACCEPT here) from the server
 * before its first KEXINIT, through the built CLI beside ssh(1) 9.2 (FakeServer on TCP). ssh's
 * kex.c kex_protocol_error logs `kex_protocol_error: type N seq M` (ERROR), answers UNIMPLEMENTED
 * and goes on when the server's KEXINIT does not offer strict key exchange; when it does, that
 * KEXINIT is refused as not the first packet (OpenSSH PROTOCOL §1.9, Terrapin). pure-ssh used to
 * end the connection in both cases.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { requireBuiltCli, startCli } from './harness/proc.js';
import { sshClientAvailable } from './harness/sshd.js';
import { MSG } from '../src/protocol/messages.js';
import { SshWriter } from '../src/protocol/wire.js';
import { FakeServer, fakeOnTcp } from './support/fake-server.js';

const SERVICE_ACCEPT = new SshWriter().byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBytes();

describeWithHome("CLI: a server's SERVICE_ACCEPT before its KEXINIT, as ssh(1) 9.2", () => {
  const home = suiteHome();
  let strict = false;
  let server: net.Server;
  let port = 0;
  const fakes: FakeServer[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    ({ server, port } = await fakeOnTcp(() => {
      const f = new FakeServer({ strict, beforeKexInit: [SERVICE_ACCEPT] });
      fakes.push(f);
      return f;
    }));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const run = (client: 'pure-ssh' | 'ssh') => {
    const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=no', '-p', String(port), 'joe@127.0.0.1'];
    return startCli(client, args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
  };

  it('not strict: the error line, UNIMPLEMENTED for seq 0, and on to authentication', async () => {
    strict = false;
    fakes.length = 0;
    const ours = await run('pure-ssh');
    expect(ours.stderr).toBe(
      'kex_protocol_error: type 6 seq 0\r\n' +
        `Warning: Permanently added '[127.0.0.1]:${port}' (ED25519) to the list of known hosts.\r\n` +
        'joe@127.0.0.1: Permission denied (publickey).\r\n',
    );
    expect(ours.code).toBe(255);
    expect(fakes[0]!.received.filter((r) => r.payload[0] === MSG.UNIMPLEMENTED).map((r) => [...r.payload])).toEqual([[MSG.UNIMPLEMENTED, 0, 0, 0, 0]]);
    if (sshClientAvailable()) {
      const theirs = await run('ssh');
      expect(theirs.code).toBe(255);
      expect(ours.stderr).toBe(theirs.stderr);
      expect(fakes[1]!.received.filter((r) => r.payload[0] === MSG.UNIMPLEMENTED).map((r) => [...r.payload])).toEqual([[MSG.UNIMPLEMENTED, 0, 0, 0, 0]]);
    }
  }, 60_000);

  it('strict: still the end, at the KEXINIT (Terrapin)', async () => {
    strict = true;
    const ours = await run('pure-ssh');
    expect(ours.code).toBe(255);
    expect(ours.stderr).toBe(`kex_protocol_error: type 6 seq 0\r\nDisconnecting 127.0.0.1 port ${port}: strict KEX violation: KEXINIT was not the first packet\r\n`);
    if (sshClientAvailable()) {
      const theirs = await run('ssh');
      expect(theirs.code).toBe(255);
      expect(ours.stderr).toBe(theirs.stderr);
    }
  }, 60_000);
});
