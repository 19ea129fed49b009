/**
 * A transport message that is not the key exchange's (SERVICE_ACCEPT here) from the server
 * before its first KEXINIT, through the built CLI beside ssh(1) 9.2 (FakeServer on TCP). ssh's
 * kex.c kex_protocol_error logs `kex_protocol_error: type N seq M` (ERROR), answers UNIMPLEMENTED
 * and goes on when the server's KEXINIT does not offer strict key exchange; when it does, that
 * KEXINIT is refused as not the first packet (OpenSSH PROTOCOL §1.9, Terrapin). pure-ssh used to
 * end the connection in both cases.
 *
 * The key-exchange numbers 20–49 (second describe) have the same handler in ssh 9.2 but for the
 * one the exchange waits for at that step (kex.c kex_reset_dispatch, kex_input_kexinit,
 * kex_send_newkeys; kexgen.c): before the server's KEXINIT, strict or not, and during a non-strict
 * first exchange, logged, answered UNIMPLEMENTED and ignored; during a strict one, after the
 * server's KEXINIT, the end ("strict KEX violation: unexpected packet type N (seqnr M)"); between
 * the exchange and USERAUTH_SUCCESS, sshconnect2.c input_userauth_error's fatal. pure-ssh used to
 * end the connection at each with its own words.
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

type Phase = 'before the KEXINIT' | 'before the reply' | "before the server's NEWKEYS" | 'during authentication';
const stray = (type: number) => new Uint8Array([type, 0, 0, 0, 0]);

describeWithHome("CLI: a server's key-exchange message (20-49) out of turn, as ssh(1) 9.2", () => {
  const home = suiteHome();
  let c: { phase: Phase; type: number; strict: boolean } = { phase: 'before the KEXINIT', type: 21, strict: false };
  let server: net.Server;
  let port = 0;
  const fakes: FakeServer[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    ({ server, port } = await fakeOnTcp(() => {
      const { phase, type, strict } = c;
      let sent = false;
      const f = new FakeServer({
        strict,
        beforeKexInit: phase === 'before the KEXINIT' ? [stray(type)] : [],
        beforeNewKeys: phase === "before the server's NEWKEYS" ? [stray(type)] : [],
        onPacket(payload, _seq, s) {
          const at = phase === 'before the reply' ? MSG.KEX_ECDH_INIT : phase === 'during authentication' ? MSG.SERVICE_REQUEST : -1;
          if (!sent && payload[0] === at) {
            sent = true;
            s.sendRaw(stray(type));
          }
          return false;
        },
      });
      fakes.push(f);
      return f;
    }));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const run = async (client: 'pure-ssh' | 'ssh') => {
    fakes.length = 0;
    const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=no', '-p', String(port), 'joe@127.0.0.1'];
    const r = await startCli(client, args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
    // What the client sent: message numbers, UNIMPLEMENTED with its sequence number (a closing
    // DISCONNECT left out: pure-ssh sends one where ssh's fatal() does not).
    const sent = fakes[0]!.received.map((x) => (x.payload[0] === MSG.UNIMPLEMENTED ? `U${[...x.payload.subarray(1)].join('.')}` : String(x.payload[0])));
    if (sent.at(-1) === String(MSG.DISCONNECT)) sent.pop();
    return { ...r, sent: sent.join(' ') };
  };

  const peer = () => `127.0.0.1 port ${port}`;
  const added = () => `Warning: Permanently added '[127.0.0.1]:${port}' (ED25519) to the list of known hosts.`;
  const denied = 'joe@127.0.0.1: Permission denied (publickey).';
  const CASES: { phase: Phase; type: number; strict: boolean; lines: () => string[]; sent: string }[] = [
    { phase: 'before the KEXINIT', type: 21, strict: false, lines: () => ['kex_protocol_error: type 21 seq 0', added(), denied], sent: '20 U0.0.0.0 30 21 5 50' },
    { phase: 'before the KEXINIT', type: 31, strict: false, lines: () => ['kex_protocol_error: type 31 seq 0', added(), denied], sent: '20 U0.0.0.0 30 21 5 50' },
    { phase: 'before the KEXINIT', type: 49, strict: true, lines: () => ['kex_protocol_error: type 49 seq 0', `Disconnecting ${peer()}: strict KEX violation: KEXINIT was not the first packet`], sent: '20 U0.0.0.0' },
    { phase: 'before the reply', type: 20, strict: false, lines: () => ['kex_protocol_error: type 20 seq 1', added(), denied], sent: '20 30 U0.0.0.1 21 5 50' },
    { phase: 'before the reply', type: 21, strict: false, lines: () => ['kex_protocol_error: type 21 seq 1', added(), denied], sent: '20 30 U0.0.0.1 21 5 50' },
    { phase: 'before the reply', type: 30, strict: false, lines: () => ['kex_protocol_error: type 30 seq 1', added(), denied], sent: '20 30 U0.0.0.1 21 5 50' },
    { phase: 'before the reply', type: 21, strict: true, lines: () => [`Disconnecting ${peer()}: strict KEX violation: unexpected packet type 21 (seqnr 1)`], sent: '20 30' },
    { phase: 'before the reply', type: 49, strict: true, lines: () => [`Disconnecting ${peer()}: strict KEX violation: unexpected packet type 49 (seqnr 1)`], sent: '20 30' },
    // The same for a transport message the strict exchange does not take (Handshake.screen).
    { phase: 'before the reply', type: MSG.IGNORE, strict: true, lines: () => [`Disconnecting ${peer()}: strict KEX violation: unexpected packet type 2 (seqnr 1)`], sent: '20 30' },
    { phase: "before the server's NEWKEYS", type: 31, strict: false, lines: () => [added(), 'kex_protocol_error: type 31 seq 2', denied], sent: '20 30 21 U0.0.0.2 5 50' },
    { phase: "before the server's NEWKEYS", type: 20, strict: true, lines: () => [added(), `Disconnecting ${peer()}: strict KEX violation: unexpected packet type 20 (seqnr 2)`], sent: '20 30 21' },
    // The NEWKEYS awaited, with 4 bytes after its number: kex.c kex_input_newkeys's sshpkt_get_end.
    { phase: "before the server's NEWKEYS", type: 21, strict: false, lines: () => [added(), `ssh_dispatch_run_fatal: Connection to ${peer()}: unexpected bytes remain after decoding`], sent: '20 30 21' },
    { phase: 'during authentication', type: 21, strict: false, lines: () => [added(), 'input_userauth_error: bad message during authentication: type 21'], sent: '20 30 21 5' },
    // ssh starts no exchange before USERAUTH_SUCCESS and takes none from the server.
    { phase: 'during authentication', type: 20, strict: false, lines: () => [added(), 'input_userauth_error: bad message during authentication: type 20'], sent: '20 30 21 5' },
    { phase: 'during authentication', type: 31, strict: true, lines: () => [added(), 'input_userauth_error: bad message during authentication: type 31'], sent: '20 30 21 5' },
  ];

  for (const k of CASES) {
    it(`message ${k.type} ${k.phase}, ${k.strict ? 'strict' : 'not strict'}: ssh's lines, exit 255, and what it sends`, async () => {
      c = k;
      const ours = await run('pure-ssh');
      expect(ours.stderr).toBe(k.lines().map((l) => `${l}\r\n`).join(''));
      expect(ours.code).toBe(255);
      expect(ours.sent).toBe(k.sent);
      if (sshClientAvailable()) {
        const theirs = await run('ssh');
        expect(theirs.code).toBe(255);
        expect(ours.stderr).toBe(theirs.stderr);
        expect(ours.sent).toBe(theirs.sent);
      }
    }, 60_000);
  }
});

/**
 * After authentication (ssh -N, the server takes "none"): clientloop.c client_init_dispatch has
 * dispatch_protocol_error (INFO) for 21–49, kex_protocol_error (ERROR) once a rekey has sent its
 * NEWKEYS (kex_reset_dispatch); both answer UNIMPLEMENTED and go on, strict or not. Under strict
 * kex, packet.c resets the receiving sequence number at any NEWKEYS, due or not: a server that
 * goes on counting is then unreadable (chacha20-poly1305: "Bad packet length").
 */
describeWithHome("CLI: a server's key-exchange message after authentication, as ssh(1) 9.2", () => {
  const home = suiteHome();
  let server: net.Server;
  let port = 0;
  let strict = false;
  const fakes: { f: FakeServer; flush: () => void }[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    // The server speaks unprompted after authentication: each test flushes its fake itself.
    ({ server, port } = await fakeOnTcp(
      () => new FakeServer({ strict, authHook: (req) => (req.method === 'none' ? { kind: 'success' } : undefined) }),
      (f, flush) => fakes.push({ f, flush }),
    ));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const run = async (client: 'pure-ssh' | 'ssh', type: number, rekey: boolean) => {
    fakes.length = 0;
    const args = ['-F', 'none', '-c', 'chacha20-poly1305@openssh.com', '-N', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-p', String(port), 'joe@127.0.0.1'];
    const proc = startCli(client, args, { env: cliEnv(home), killAfterMs: 15_000 });
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await until(() => fakes[0]?.f.received.some((x) => x.payload[0] === MSG.USERAUTH_REQUEST) === true);
    const { f, flush } = fakes[0]!;
    if (rekey) {
      f.rekey();
      flush();
      await until(() => f.newKeysReceived === 2);
    }
    f.sendRaw(stray(type));
    f.sendRaw(new SshWriter().byte(MSG.DISCONNECT).uint32(11).string('bye').string('').toBytes());
    flush();
    const r = await proc.done;
    return { ...r, unimplemented: f.received.filter((x) => x.payload[0] === MSG.UNIMPLEMENTED).map((x) => [...x.payload]) };
  };

  const added = () => `Warning: Permanently added '[127.0.0.1]:${port}' (ED25519) to the list of known hosts.`;
  const bye = () => [`Received disconnect from 127.0.0.1 port ${port}:11: bye`, `Disconnected from 127.0.0.1 port ${port}`];
  // Not strict, the server's numbers run on from the exchange (KEXINIT, reply, NEWKEYS,
  // SERVICE_ACCEPT, USERAUTH_SUCCESS: 0-4); strict, they start again after NEWKEYS.
  const CASES: { type: number; strict: boolean; rekey: boolean; lines: () => string[] }[] = [
    { type: 31, strict: false, rekey: false, lines: () => [added(), 'dispatch_protocol_error: type 31 seq 5', ...bye()] },
    { type: 49, strict: true, rekey: false, lines: () => [added(), 'dispatch_protocol_error: type 49 seq 2', ...bye()] },
    { type: 31, strict: true, rekey: true, lines: () => [added(), 'kex_protocol_error: type 31 seq 0', ...bye()] },
    { type: 21, strict: false, rekey: false, lines: () => [added(), 'dispatch_protocol_error: type 21 seq 5', ...bye()] },
  ];

  for (const k of CASES) {
    it(`message ${k.type}${k.rekey ? ' after a rekey' : ''}, ${k.strict ? 'strict' : 'not strict'}: ssh's line, UNIMPLEMENTED, and on`, async () => {
      strict = k.strict;
      const ours = await run('pure-ssh', k.type, k.rekey);
      expect(ours.stderr).toBe(k.lines().map((l) => `${l}\r\n`).join(''));
      expect(ours.code).toBe(255);
      expect(ours.unimplemented).toHaveLength(1);
      if (sshClientAvailable()) {
        const theirs = await run('ssh', k.type, k.rekey);
        expect(theirs.code).toBe(255);
        expect(ours.stderr).toBe(theirs.stderr);
      }
    }, 60_000);
  }

  it("a stray NEWKEYS under strict kex: the receiving sequence number starts again, the server's next packet is unreadable", async () => {
    strict = true;
    const ours = await run('pure-ssh', MSG.NEWKEYS, false);
    expect(ours.code).toBe(255);
    const want = new RegExp(`^${added().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\r\ndispatch_protocol_error: type 21 seq 2\r\nBad packet length \\d+\\.\r\nssh_dispatch_run_fatal: Connection to 127\\.0\\.0\\.1 port ${port}: Connection corrupted\r\n$`);
    expect(ours.stderr).toMatch(want);
    if (sshClientAvailable()) {
      const theirs = await run('ssh', MSG.NEWKEYS, false);
      expect(theirs.code).toBe(255);
      expect(theirs.stderr).toMatch(want);
    }
  }, 60_000);
});
