/**
 * A server that breaks the transport protocol in its first packets (in clear, before any key
 * exchange), through the built CLI beside ssh(1) 9.2: both exit 255 with the same lines. ssh
 * words these through packet.c sshpkt_fatal(): `ssh_dispatch_run_fatal: Connection to ADDR port
 * P: ` and the ssh_err() text of the error code (INFO), after the error line of the function
 * that met it, if any (kex.c kex_input_kexinit's "discard cookie" / "discard proposal"); a
 * packet before the KEXINIT of a server offering strict key exchange is packet.c
 * ssh_packet_disconnect()'s `Disconnecting ADDR port P: ...` (INFO). The library keeps its own
 * messages (ProtocolError, ERR_MALFORMED_PACKET); only the CLI words them as ssh does.
 *
 * The server is a few lines of Node: its identification line, then the crafted packets
 * (uint32 length, padding length, payload, padding; RFC 4253 §6, no MAC before NEWKEYS).
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { requireBuiltCli, startCli } from './harness/proc.js';
import { sshClientAvailable } from './harness/sshd.js';
import { MSG } from '../src/protocol/messages.js';
import { FakeServer, fakeOnTcp } from './support/fake-server.js';

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const str = (s: string): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);

/** A packet in clear: `padding` bytes of padding (default: to a multiple of 8, at least 4), the length as they make it. */
function packet(payload: Buffer, padding?: number): Buffer {
  let pad = padding ?? 8 - ((5 + payload.length) % 8);
  if (padding === undefined && pad < 4) pad += 8;
  // With a padding length given, enough padding bytes follow to keep the packet a multiple of 8.
  const extra = (8 - ((5 + payload.length + pad) % 8)) % 8;
  return Buffer.concat([u32(1 + payload.length + pad + extra), Buffer.from([pad]), payload, Buffer.alloc(pad + extra)]);
}

/** A KEXINIT (RFC 4253 §7.1) offering what ssh 9.2 takes; with OpenSSH's strict-kex marker or not. */
function kexinit(strict = true): Buffer {
  const lists = [strict ? 'curve25519-sha256,kex-strict-s-v00@openssh.com' : 'curve25519-sha256', 'ssh-ed25519', 'aes128-ctr', 'aes128-ctr',
    'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none', '', ''];
  return Buffer.concat([Buffer.from([20]), Buffer.alloc(16, 7), ...lists.map(str), Buffer.from([0]), u32(0)]);
}

/** What the server sends after its identification line, and the last line both clients end with. */
const CASES: { name: string; bytes: () => Buffer; lines: (peer: string) => string[] }[] = [
  {
    name: 'a KEXINIT cut in its cookie',
    bytes: () => packet(kexinit().subarray(0, 9)),
    lines: (peer) => ['kex_input_kexinit: discard cookie: incomplete message', `ssh_dispatch_run_fatal: Connection to ${peer}: incomplete message`],
  },
  {
    name: 'a KEXINIT cut in its proposals',
    bytes: () => packet(kexinit().subarray(0, 30)),
    lines: (peer) => ['kex_input_kexinit: discard proposal: incomplete message', `ssh_dispatch_run_fatal: Connection to ${peer}: incomplete message`],
  },
  {
    name: 'a KEXINIT with bytes after its end',
    bytes: () => packet(Buffer.concat([kexinit(), Buffer.from([1, 2, 3])])),
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: unexpected bytes remain after decoding`],
  },
  {
    name: 'a DEBUG message cut short',
    bytes: () => Buffer.concat([packet(Buffer.from([4, 1, 0, 0, 0, 9, 65])), packet(kexinit())]),
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: incomplete message`],
  },
  {
    name: 'a DISCONNECT cut short',
    bytes: () => packet(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 9, 65])),
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: incomplete message`],
  },
  {
    name: 'padding length 3',
    bytes: () => packet(kexinit(), 3),
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: Connection corrupted`],
  },
  {
    name: 'a padding length beyond the packet',
    bytes: () => {
      const p = packet(kexinit());
      p[4] = 250;
      return p;
    },
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: incomplete message`],
  },
  {
    name: 'message number 0',
    bytes: () => packet(Buffer.from([0, 1, 2, 3])),
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: Protocol error`],
  },
  {
    name: 'message number 200 (a local extension)',
    bytes: () => packet(Buffer.from([200, 1, 2, 3])),
    lines: (peer) => [`ssh_dispatch_run_fatal: Connection to ${peer}: Protocol error`],
  },
  // kex.c kex_reset_dispatch: before the server's KEXINIT, 21–49 are kex_protocol_error's too
  // (strict kex is not known yet), and the KEXINIT then refuses them (OpenSSH PROTOCOL §1.9).
  {
    name: 'a NEWKEYS before the KEXINIT of a strict key exchange',
    bytes: () => Buffer.concat([packet(Buffer.from([21])), packet(kexinit())]),
    lines: (peer) => ['kex_protocol_error: type 21 seq 0', `Disconnecting ${peer}: strict KEX violation: KEXINIT was not the first packet`],
  },
  {
    name: 'a KEX_ECDH_REPLY before the KEXINIT of a strict key exchange',
    bytes: () => Buffer.concat([packet(Buffer.concat([Buffer.from([31]), str('a'), str('b'), str('c')])), packet(kexinit())]),
    lines: (peer) => ['kex_protocol_error: type 31 seq 0', `Disconnecting ${peer}: strict KEX violation: KEXINIT was not the first packet`],
  },
  {
    name: 'an IGNORE before the KEXINIT of a strict key exchange',
    bytes: () => Buffer.concat([packet(Buffer.from([2, 0, 0, 0, 0])), packet(kexinit())]),
    lines: (peer) => [`Disconnecting ${peer}: strict KEX violation: KEXINIT was not the first packet`],
  },
];

describeWithHome("CLI: a server's malformed packets as ssh(1) 9.2 reports them", () => {
  const home = suiteHome();
  let server: net.Server;
  let send: Buffer = Buffer.alloc(0);

  beforeAll(async () => {
    requireBuiltCli();
    server = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', () => {});
      s.write(Buffer.concat([Buffer.from('SSH-2.0-Hostile_1.0\r\n'), send]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const run = (client: 'pure-ssh' | 'ssh', level: string[]) => {
    const port = (server.address() as net.AddressInfo).port;
    const args = ['-F', 'none', ...level, '-N', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=no', '-p', String(port), 'joe@127.0.0.1'];
    return startCli(client, args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
  };

  for (const c of CASES) {
    it(`${c.name}: exit 255 and ssh's lines, at INFO and at ERROR`, async () => {
      send = c.bytes();
      const port = (server.address() as net.AddressInfo).port;
      const lines = c.lines(`127.0.0.1 port ${port}`);
      // At LogLevel ERROR, sshpkt_fatal's INFO line goes; an error_fr line stays.
      const atError = lines.slice(0, -1);
      for (const [level, want] of [[[], lines], [['-o', 'LogLevel=ERROR'], atError]] as const) {
        const ours = await run('pure-ssh', [...level]);
        expect(ours.code).toBe(255);
        expect(ours.stderr).toBe(want.map((l) => `${l}\r\n`).join(''));
        if (sshClientAvailable()) {
          const theirs = await run('ssh', [...level]);
          expect(theirs.code).toBe(255);
          expect(ours.stderr).toBe(theirs.stderr);
        }
      }
    }, 60_000);
  }
});

/**
 * The same message numbers after the key exchange, from a server that has done it (FakeServer):
 * packet.c refuses 0 and 192–255 at any time (ssh_packet_read_poll2), so ssh 9.2 ends as before
 * the exchange, where pure-ssh used to answer UNIMPLEMENTED and go on.
 */
describeWithHome("CLI: a message number no peer may send, after the key exchange, as ssh(1) 9.2 ends", () => {
  const home = suiteHome();
  let server: net.Server;
  let port = 0;
  let type = 0;

  beforeAll(async () => {
    requireBuiltCli();
    ({ server, port } = await fakeOnTcp(() =>
      new FakeServer({
        onPacket(payload, _seq, s) {
          if (payload[0] !== MSG.SERVICE_REQUEST) return false;
          s.send(new Uint8Array([type, 1, 2, 3]));
          return true;
        },
      }),
    ));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  for (const t of [0, 192, 255]) {
    it(`message number ${t} in place of SERVICE_ACCEPT: exit 255 and ssh's lines`, async () => {
      type = t;
      const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'StrictHostKeyChecking=no', '-p', String(port), 'joe@127.0.0.1'];
      const ours = await startCli('pure-ssh', args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
      const theirs = await startCli('ssh', args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
      expect(theirs.code).toBe(255);
      expect(theirs.stderr).toContain(`ssh_dispatch_run_fatal: Connection to 127.0.0.1 port ${port}: Protocol error\r\n`);
      expect(ours.code).toBe(255);
      expect(ours.stderr).toBe(theirs.stderr);
    }, 60_000);
  }
});
