/**
 * A server's message that ssh(1) 9.2 has no handler for at that point, after the first key
 * exchange (the key-exchange numbers 20–49 are cli-kex-protocol-error.test.ts's), through the
 * built CLI beside ssh 9.2 (FakeServer on TCP: a real sshd sends none of these).
 *
 * - Until USERAUTH_SUCCESS, sshconnect2.c ssh_userauth2's dispatch table gives every number
 *   input_userauth_error ("bad message during authentication: type N", fatal) but
 *   SERVICE_ACCEPT, EXT_INFO and what the user authentication in progress takes.
 * - After it, clientloop.c client_init_dispatch gives every number the client does not take
 *   dispatch_protocol_error: logit() (shown by default), UNIMPLEMENTED, and on; a transport
 *   number once a rekey sent its NEWKEYS is kex_protocol_error's (kex.c kex_reset_dispatch).
 * pure-ssh used to answer all of these UNIMPLEMENTED without a word and go on.
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
const EXT_INFO = new SshWriter().byte(MSG.EXT_INFO).uint32(0).toBytes();
const stray = (type: number) => (type === MSG.SERVICE_ACCEPT ? SERVICE_ACCEPT : type === MSG.EXT_INFO ? EXT_INFO : new Uint8Array([type, 0, 0, 0, 0]));

/** When the server sends it: before its SERVICE_ACCEPT, before its answer to "none", or after USERAUTH_SUCCESS. */
type When = 'before SERVICE_ACCEPT' | 'during "none"' | 'after authentication';
interface Case {
  when: When;
  type: number;
  rekey?: boolean;
  lines: () => string[];
  /** What the client sent (message numbers, U for UNIMPLEMENTED with its sequence number). */
  sent: string;
  /** Deliberately not as ssh 9.2: what it does instead. */
  differs?: string;
}

describeWithHome("CLI: a server's message with no handler after the key exchange, as ssh(1) 9.2", () => {
  const home = suiteHome();
  let c: Case;
  let server: net.Server;
  let port = 0;
  const fakes: { f: FakeServer; flush: () => void }[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    // The server speaks unprompted after authentication: each test flushes its fake itself.
    ({ server, port } = await fakeOnTcp(
      () => {
        const k = c;
        let sent = false;
        const f = new FakeServer({
          authHook: (req) => (req.method === 'none' && k.when === 'after authentication' ? { kind: 'success' } : undefined),
          onPacket(payload, _seq, s) {
            const at = k.when === 'before SERVICE_ACCEPT' ? MSG.SERVICE_REQUEST : k.when === 'during "none"' ? MSG.USERAUTH_REQUEST : -1;
            if (!sent && payload[0] === at) {
              sent = true;
              s.sendRaw(stray(k.type));
            }
            return false;
          },
        });
        return f;
      },
      (f, flush) => fakes.push({ f, flush }),
    ));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const run = async (client: 'pure-ssh' | 'ssh') => {
    fakes.length = 0;
    const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=no', '-p', String(port), 'joe@127.0.0.1'];
    const proc = startCli(client, args, { env: cliEnv(home), killAfterMs: 15_000 });
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
    };
    if (c.when === 'after authentication') {
      await until(() => fakes[0]?.f.received.some((x) => x.payload[0] === MSG.USERAUTH_REQUEST) === true);
      const { f, flush } = fakes[0]!;
      if (c.rekey) {
        f.rekey();
        flush();
        await until(() => f.newKeysReceived === 2);
      }
      f.sendRaw(stray(c.type));
      f.sendRaw(new SshWriter().byte(MSG.DISCONNECT).uint32(11).string('bye').string('').toBytes());
      flush();
    }
    const r = await proc.done;
    // A closing DISCONNECT left out: pure-ssh sends one where ssh's fatal() does not.
    const sent = fakes[0]!.f.received.map((x) => (x.payload[0] === MSG.UNIMPLEMENTED ? `U${[...x.payload.subarray(1)].join('.')}` : String(x.payload[0])));
    if (sent.at(-1) === String(MSG.DISCONNECT)) sent.pop();
    return { ...r, sent: sent.join(' ') };
  };

  const added = () => `Warning: Permanently added '[127.0.0.1]:${port}' (ED25519) to the list of known hosts.`;
  const bye = () => [`Received disconnect from 127.0.0.1 port ${port}:11: bye`, `Disconnected from 127.0.0.1 port ${port}`];
  const bad = (type: number) => () => [added(), `input_userauth_error: bad message during authentication: type ${type}`];
  const CASES: Case[] = [
    { when: 'before SERVICE_ACCEPT', type: MSG.SERVICE_REQUEST, lines: bad(5), sent: '20 30 21 5' },
    { when: 'before SERVICE_ACCEPT', type: 15, lines: bad(15), sent: '20 30 21 5' },
    { when: 'before SERVICE_ACCEPT', type: MSG.USERAUTH_60, lines: bad(60), sent: '20 30 21 5' },
    { when: 'before SERVICE_ACCEPT', type: 130, lines: bad(130), sent: '20 30 21 5' },
    { when: 'during "none"', type: 15, lines: bad(15), sent: '20 30 21 5 50' },
    { when: 'during "none"', type: MSG.USERAUTH_60, lines: bad(60), sent: '20 30 21 5 50' },
    { when: 'during "none"', type: MSG.CHANNEL_OPEN, lines: bad(90), sent: '20 30 21 5 50' },
    // ssh 9.2 runs its SERVICE_ACCEPT handler again: a second "none" request, and on.
    { when: 'during "none"', type: MSG.SERVICE_ACCEPT, lines: () => [added(), 'unexpected SERVICE_ACCEPT'], sent: '20 30 21 5 50', differs: 'a second SERVICE_ACCEPT ends it (RFC 4253 §10: one answer per request)' },
    // ssh 9.2 ends at EXT_INFO after SERVICE_ACCEPT; OpenSSH 10 takes it there (RFC 8308 §2.4: just before USERAUTH_SUCCESS).
    { when: 'during "none"', type: MSG.EXT_INFO, lines: () => [added(), 'joe@127.0.0.1: Permission denied (publickey).'], sent: '20 30 21 5 50', differs: 'EXT_INFO is taken until USERAUTH_SUCCESS, as OpenSSH 10' },
    ...[MSG.SERVICE_REQUEST, MSG.SERVICE_ACCEPT, MSG.EXT_INFO, 15, MSG.USERAUTH_REQUEST, MSG.USERAUTH_SUCCESS, MSG.USERAUTH_60, 130].map(
      (type): Case => ({ when: 'after authentication', type, lines: () => [added(), `dispatch_protocol_error: type ${type} seq 2`, ...bye()], sent: '20 30 21 5 50 U0.0.0.2' }),
    ),
    { when: 'after authentication', type: 15, rekey: true, lines: () => [added(), 'kex_protocol_error: type 15 seq 0', ...bye()], sent: '20 30 21 5 50 20 30 21 U0.0.0.0' },
  ];

  for (const k of CASES) {
    it(`message ${k.type} ${k.when}${k.rekey ? ' and a rekey' : ''}: ${k.differs ?? "ssh's lines, exit 255, and what it sends"}`, async () => {
      c = k;
      const ours = await run('pure-ssh');
      expect(ours.stderr).toBe(k.lines().map((l) => `${l}\r\n`).join(''));
      expect(ours.code).toBe(255);
      expect(ours.sent).toBe(k.sent);
      if (sshClientAvailable() && !k.differs) {
        const theirs = await run('ssh');
        expect(theirs.code).toBe(255);
        expect(ours.stderr).toBe(theirs.stderr);
        // ssh's kex_protocol_error does not flush its UNIMPLEMENTED before the DISCONNECT ends it.
        if (!k.rekey) expect(ours.sent).toBe(theirs.sent);
      }
    }, 60_000);
  }
});
