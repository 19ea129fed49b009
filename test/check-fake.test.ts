/**
 * pure-ssh-check against the project's fake server (test/support/fake-server.ts) behind a small
 * TCP listener that adds what a conformant server does and the fake leaves out (strict-kex
 * enforcement, UNIMPLEMENTED, ignoring a wrong kex guess, closing on a broken packet). Each
 * injected fault must be found and named, and nothing else flagged. Runs the built command
 * (`npm run build` first).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postureFindings, rsaHostKeyFinding, terrapinExposure } from '../src/check/posture.js';
import type { CheckReport } from '../src/check/report.js';
import { DisconnectReason } from '../src/errors.js';
import { base64Decode } from '../src/protocol/base64.js';
import { MSG, encodeDisconnect, encodeUnimplemented } from '../src/protocol/messages.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';
import { MSG_PING, MSG_PONG } from '../src/check/connection-probes.js';
import { KEX_STRICT_CLIENT } from '../src/transport/handshake.js';
import { decodeKexInit, type KexInit } from '../src/transport/kexinit.js';
import { FakeServer, type FakeServerOptions } from './support/fake-server.js';
import { cliEnv, describeWithHome, processHome } from './harness/home.js';

// The installed bin (package.json bin.pure-ssh-check): check-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url));

/** A fault the listener injects. */
type Fault =
  | 'none'
  | 'terrapin'
  | 'accepts-ignore'
  | 'no-unimplemented'
  | 'no-seq-reset'
  // After login (RFC 4254):
  | 'window-overrun'
  | 'max-packet-overrun'
  | 'data-after-eof'
  | 'global-out-of-order'
  | 'no-close-answer'
  | 'corrupt-output'
  | 'pong-other-data';

/** The user and key the fake server lets in (publickey, RFC 4252 §7). */
const USER = 'tester';
let clientKeyPath = '';
let clientKeyBlob: Uint8Array = new Uint8Array(0);
let keyDir = '';
beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'pure-ssh-check-fake-'));
  clientKeyPath = join(keyDir, 'id_ed25519');
  await new Promise<void>((resolve, reject) =>
    execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKeyPath], (err) => (err ? reject(err) : resolve())),
  );
  clientKeyBlob = base64Decode((await readFile(`${clientKeyPath}.pub`, 'utf8')).split(' ')[1]!);
});
afterAll(async () => {
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

/** The bound port the fake's tcpip-forward reports (RFC 4254 §7.1). */
const FORWARD_PORT = 40000;

const SAFE_CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr'];
const SAFE_MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'];
// The post-quantum name is listed, never chosen: the client offers curve25519 only.
const KEX = ['mlkem768x25519-sha256', 'curve25519-sha256'];

/** Message numbers the fake server (plus this listener) implements. */
function known(type: number): boolean {
  return (type >= 1 && type <= 7) || type === 20 || type === 21 || (type >= 30 && type <= 49) || (type >= 50 && type <= 61) || (type >= 80 && type <= 100);
}

/** One connection: the fake server plus the conformance rules, with `fault` breaking one. */
function serve(socket: Socket, fault: Fault, ciphers: string[]): void {
  /** exec channels whose output is queued: EOF, exit-status and CLOSE follow once it is sent. */
  const running: number[] = [];
  let initialKex = true;
  let beforeKexInit = 0;
  let skipGuessed = false;
  let sawKexInit = false;
  let ended = false;
  const options: FakeServerOptions = {
    strict: fault !== 'terrapin',
    keepReceiveSequence: fault === 'no-seq-reset',
    extInfo: true,
    extInfoExtra: [['ping@openssh.com', '0']],
    authMethods: ['publickey'],
    authorizedKeys: [clientKeyBlob],
    authHook(req, s) {
      // RFC 4252 §7: a key offered without a signature gets PK_OK when it would be accepted.
      const mine = req.keyBlob && req.keyBlob.length === clientKeyBlob.length && req.keyBlob.every((b, i) => b === clientKeyBlob[i]);
      if (req.method !== 'publickey' || req.signatureValid !== undefined || !mine) return undefined;
      s.send(new SshWriter(128).byte(MSG.USERAUTH_60).string(req.algorithm!).string(req.keyBlob!).toBytes());
      return { kind: 'handled' };
    },
    autoClose: fault !== 'no-close-answer',
    globalPolicy(name, _data, s) {
      if (name === 'tcpip-forward') {
        // RFC 4254 §4 broken on purpose: this reply is held back and sent after the next one's.
        if (fault === 'global-out-of-order') return 'defer';
        return { success: true, data: new SshWriter(4).uint32(FORWARD_PORT).toBytes() };
      }
      if (name === 'cancel-tcpip-forward') return { success: true };
      if (fault === 'global-out-of-order' && s.deferredGlobals.length > 0) {
        s.replyGlobal(false);
        s.answerGlobal(true, new SshWriter(4).uint32(FORWARD_PORT).toBytes());
        return 'defer';
      }
      return undefined;
    },
    lists: { kex: KEX, cipherClientToServer: ciphers, cipherServerToClient: ciphers, macClientToServer: SAFE_MACS, macServerToClient: SAFE_MACS },
    onPacket(payload, seq, s) {
      const type = payload[0]!;
      if (type === MSG_PING && s.authenticated) {
        // OpenSSH PROTOCOL §1.9: PONG with the same data (as OpenSSH, only after login).
        const data = new SshReader(payload, 1).string();
        s.send(new SshWriter(64).byte(MSG_PONG).string(fault === 'pong-other-data' ? data.map((b) => b ^ 1) : data).toBytes());
        return true;
      }
      if (type === MSG.CHANNEL_REQUEST) {
        // RFC 4254 §6.5 exec of `head -c N /dev/zero`: N zero bytes, then (see flush) EOF, exit-status, CLOSE.
        const r = new SshReader(payload, 1);
        const ch = s.channels[r.uint32()]!;
        const name = r.utf8();
        const wantReply = r.boolean();
        const m = name === 'exec' ? /^head -c (\d+) \/dev\/zero$/.exec(r.utf8()) : null;
        if (wantReply) s.send(new SshWriter(8).byte(m ? MSG.CHANNEL_SUCCESS : MSG.CHANNEL_FAILURE).uint32(ch.clientId).toBytes());
        if (!m) return true;
        // The faults: the fake believes in a larger window or packet than the client granted.
        if (fault === 'window-overrun') ch.clientWindow += 4096;
        if (fault === 'max-packet-overrun') ch.clientMaxPacket *= 2;
        if (fault === 'data-after-eof') s.sendEof(ch.id);
        s.write(ch.id, new Uint8Array(Number(m[1])).fill(fault === 'corrupt-output' ? 0x41 : 0));
        running.push(ch.id);
        return true;
      }
      const kill = (why: string) => {
        s.sendRaw(encodeDisconnect(DisconnectReason.PROTOCOL_ERROR, why));
        ended = true;
        return true;
      };
      if (type === MSG.KEXINIT && initialKex) {
        sawKexInit = true;
        const theirs: KexInit = decodeKexInit(payload);
        // OpenSSH PROTOCOL, strict kex a: the first packet must be KEXINIT.
        if (theirs.kex.includes(KEX_STRICT_CLIENT) && fault !== 'terrapin' && beforeKexInit > 0) return kill('strict KEX violation: KEXINIT was not the first packet');
        // RFC 4253 §7.1: a wrong guess means the next kex packet is ignored.
        skipGuessed = theirs.firstKexPacketFollows && (theirs.kex[0] !== KEX[0] || theirs.hostKey[0] !== 'ssh-ed25519');
        return false;
      }
      if (!sawKexInit) {
        // Before the client's KEXINIT.
        if (!(fault === 'accepts-ignore' && type === MSG.IGNORE)) beforeKexInit++;
        return false;
      }
      if (skipGuessed && type >= 30 && type <= 49) {
        skipGuessed = false;
        return true;
      }
      if (type === MSG.NEWKEYS) initialKex = false;
      else if (initialKex && s.strict && type !== MSG.KEXINIT && !(type >= 30 && type <= 49) && type !== MSG.DISCONNECT) {
        if (!(fault === 'accepts-ignore' && type === MSG.IGNORE)) return kill(`strict KEX violation: unexpected packet type ${type}`);
      }
      if (!known(type)) {
        // RFC 4253 §11.4
        if (fault !== 'no-unimplemented') s.send(encodeUnimplemented(seq));
        return true;
      }
      return false;
    },
  };
  const server = new FakeServer(options);
  const flush = () => {
    for (const id of running.filter((i) => server.pendingFor(i) === 0)) {
      running.splice(running.indexOf(id), 1);
      const ch = server.channels[id]!;
      if (!ch.eofSent) server.sendEof(id);
      server.send(new SshWriter(32).byte(MSG.CHANNEL_REQUEST).uint32(ch.clientId).string('exit-status').boolean(false).uint32(0).toBytes());
      server.sendClose(id);
    }
    for (const b of server.takeOutput()) socket.write(b);
    if (ended || server.closed) socket.end();
  };
  server.start();
  flush();
  socket.on('data', (d: Buffer) => {
    if (ended) return;
    try {
      server.receive(new Uint8Array(d));
    } catch {
      // A bad MAC, a bad length: a conformant server closes.
      ended = true;
    }
    flush();
  });
  socket.on('error', () => {});
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(fault: Fault, ciphers: string[] = SAFE_CIPHERS): Promise<number> {
  const srv = createServer((socket) => serve(socket, fault, ciphers));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as { port: number }).port;
}

/** Options that log in to the fake server as {@link USER} with the generated key, no prompts. */
const loginArgs = () => ['-F', 'none', '-i', clientKeyPath, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];

/** Run the built pure-ssh-check; resolves with its exit code and parsed JSON. */
function runCheckCli(args: string[]): Promise<{ code: number; report: CheckReport; stderr: string }> {
  // A temporary passwd home (harness/home.ts), never the real user's ~/.ssh; no agent of the machine's.
  const env = cliEnv(processHome());
  delete env.SSH_AUTH_SOCK;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHECK_CLI, ...args], { timeout: 60_000, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      try {
        resolve({ code, report: JSON.parse(stdout) as CheckReport, stderr });
      } catch {
        reject(new Error(`pure-ssh-check exited ${code} without JSON: ${stderr}${stdout}`));
      }
    });
  });
}

const failed = (r: CheckReport) => r.findings.filter((f) => f.verdict === 'fail').map((f) => f.id).sort();

describeWithHome('pure-ssh-check against the fake server', () => {
  it('finds nothing on the conformant server, before and after login, and exits 0', async () => {
    const port = await listen('none');
    const { code, report } = await runCheckCli(['--json', '-t', '3', '-p', String(port), ...loginArgs(), `${USER}@127.0.0.1`]);
    expect(failed(report)).toEqual([]);
    expect(report.login).toEqual({ user: USER, method: 'publickey' });
    const connection = report.findings.filter((f) => f.group === 'connection');
    expect(connection.map((f) => [f.id, f.verdict])).toEqual([
      ['connection.max-packet', 'pass'],
      ['connection.window', 'pass'],
      ['connection.window-adjust', 'pass'],
      ['connection.eof', 'pass'],
      ['connection.exit-status', 'pass'],
      ['connection.close-answered', 'pass'],
      ['connection.keepalive', 'pass'],
      ['connection.global-replies', 'pass'],
      ['connection.cancel-tcpip-forward', 'pass'],
      ['connection.ping', 'pass'],
    ]);
    expect(connection.find((f) => f.id === 'connection.global-replies')?.detail).toMatch(`SUCCESS(port ${FORWARD_PORT})`);
    expect(code).toBe(0);
    const byId = new Map(report.findings.map((f) => [f.id, f]));
    expect(byId.get('strict-kex.ignore.before-newkeys')?.verdict).toBe('pass');
    expect(byId.get('protocol.wrong-guess')?.verdict).toBe('pass');
    expect(byId.get('protocol.rekey')?.verdict).toBe('pass');
    expect(byId.get('protocol.unimplemented')?.verdict).toBe('pass');
    expect(report.serverVersion).toBe('SSH-2.0-FakeSSH_1.0');
  });

  it('names Terrapin exposure when strict kex is missing and chacha20-poly1305 is offered', async () => {
    const port = await listen('terrapin');
    const { code, report } = await runCheckCli(['--json', '-t', '3', '-p', String(port), '127.0.0.1']);
    expect(failed(report)).toEqual(['posture.strict-kex', 'posture.terrapin']);
    expect(report.findings.find((f) => f.id === 'posture.terrapin')?.detail).toMatch(/chacha20-poly1305@openssh.com/);
    // Without strict kex the injected messages are reported, not judged.
    expect(report.findings.filter((f) => f.group === 'strict-kex').every((f) => f.verdict === 'info')).toBe(true);
    expect(code).toBe(0); // a SHOULD, not a MUST
  });

  it('names every step where a strict-kex server accepted IGNORE, and exits 1', async () => {
    const port = await listen('accepts-ignore');
    const { code, report } = await runCheckCli(['--json', '-t', '3', '-p', String(port), '127.0.0.1']);
    expect(failed(report)).toEqual([
      'strict-kex.ignore.after-kexinit',
      'strict-kex.ignore.before-kex-init-message',
      'strict-kex.ignore.before-kexinit',
      'strict-kex.ignore.before-newkeys',
    ]);
    expect(code).toBe(1);
  });

  it('names a server that does not answer UNIMPLEMENTED', async () => {
    const port = await listen('no-unimplemented');
    const { code, report } = await runCheckCli(['--json', '-t', '3', '-p', String(port), '127.0.0.1']);
    expect(failed(report)).toEqual(['protocol.unimplemented']);
    expect(code).toBe(1);
  });
});

describeWithHome('pure-ssh-check: strict kex (b) for our packets, by the ciphers the server has', () => {
  const seqReset = (r: CheckReport) => r.findings.find((f) => f.id === 'strict-kex.client-seq-reset');
  const GCM_ONLY = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'];
  const GCM_FIRST = ['aes128-gcm@openssh.com', 'aes128-ctr'];

  it('names a server that keeps its receiving sequence number across NEWKEYS, and exits 1', async () => {
    const port = await listen('no-seq-reset');
    const { code, report } = await runCheckCli(['--json', '-t', '3', '-p', String(port), '127.0.0.1']);
    // The probe takes a cipher whose length the server reads whatever the number (CTR + a MAC)
    // before chacha20-poly1305, under which a conformant server may only wait (asyncssh: break31 F4).
    expect(seqReset(report)).toMatchObject({ verdict: 'fail', requirement: 'must', detail: 'a packet under the unreset number was accepted (aes128-ctr + hmac-sha2-256-etm@openssh.com)' });
    expect(code).toBe(1);
    // With chacha20-poly1305 alone, under it (every other probe's packets, sent under sequence
    // number 0, fail there too).
    const only = await runCheckCli(['--json', '-t', '3', '-p', String(await listen('no-seq-reset', ['chacha20-poly1305@openssh.com'])), '127.0.0.1']);
    expect(seqReset(only.report)).toMatchObject({ verdict: 'fail', requirement: 'must', detail: 'a packet under the unreset number was accepted (chacha20-poly1305@openssh.com)' });
  });

  it('probes with a cipher that uses the sequence number when the server has one besides AES-GCM', async () => {
    // aes128-gcm would be chosen by the probes' own order; the sequence-number probe takes aes128-ctr.
    const bad = await runCheckCli(['--json', '-t', '3', '-p', String(await listen('no-seq-reset', GCM_FIRST)), '127.0.0.1']);
    // protocol.unimplemented (under aes128-gcm) shows it too: UNIMPLEMENTED names the unreset number.
    expect(failed(bad.report)).toEqual(['protocol.unimplemented', 'strict-kex.client-seq-reset']);
    expect(seqReset(bad.report)?.detail).toBe('a packet under the unreset number was accepted (aes128-ctr + hmac-sha2-256-etm@openssh.com)');
    expect(bad.code).toBe(1);
    const good = await runCheckCli(['--json', '-t', '3', '-p', String(await listen('none', GCM_FIRST)), '127.0.0.1']);
    expect(failed(good.report)).toEqual([]);
    expect(seqReset(good.report)).toMatchObject({ verdict: 'pass', detail: 'a packet under the unreset number was refused: connection closed (aes128-ctr + hmac-sha2-256-etm@openssh.com)' });
    expect(good.code).toBe(0);
  });

  it('AES-GCM only: not testable (info), conformant or not; exit 0 for the conformant one', async () => {
    for (const fault of ['none', 'no-seq-reset'] as const) {
      const { code, report } = await runCheckCli(['--json', '-t', '3', '-p', String(await listen(fault, GCM_ONLY)), '127.0.0.1']);
      // The one that does not reset is still found: its UNIMPLEMENTED names the unreset number (RFC 4253 §11.4).
      expect(failed(report), fault).toEqual(fault === 'none' ? [] : ['protocol.unimplemented']);
      expect(seqReset(report), fault).toMatchObject({ verdict: 'info', requirement: 'none', detail: expect.stringMatching(/^not testable: none of the server's ciphers \(aes128-gcm@openssh\.com,aes256-gcm@openssh\.com\) uses the sequence number/) });
      // The server's own reset is not seen under AES-GCM either.
      expect(report.findings.find((f) => f.id === 'strict-kex.server-seq-reset'), fault).toMatchObject({ verdict: 'info', detail: expect.stringMatching(/^not testable under aes128-gcm@openssh\.com/) });
      expect(code, fault).toBe(fault === 'none' ? 0 : 1);
    }
  });
});

describeWithHome('pure-ssh-check after login against the fake server with one fault', () => {
  // [fault, the finding that names it, its detail, exit status: 1 for a MUST, 0 for a SHOULD]
  const cases: [Fault, string, RegExp, number][] = [
    ['window-overrun', 'connection.window', /bytes sent with \d+ bytes of window left/, 1],
    ['max-packet-overrun', 'connection.max-packet', /above the max packet of 512 \(largest 1024 bytes\)/, 1],
    ['data-after-eof', 'connection.eof', /^65536 bytes of data after EOF: EOF, data, exit-status 0, CLOSE$/, 1],
    ['global-out-of-order', 'connection.global-replies', /FAILURE, FAILURE, FAILURE, SUCCESS\(port 40000\): the forward's reply is not the third/, 1],
    ['no-close-answer', 'connection.close-answered', /no CLOSE back/, 1],
    ['corrupt-output', 'connection.window-adjust', /^65536 bytes, not all of them the zeros sent$/, 0],
    ['pong-other-data', 'connection.ping', /^PONG with other data: /, 1],
  ];
  for (const [fault, id, detail, exit] of cases) {
    it(`names ${fault} as ${id}, nothing else, and exits ${exit}`, async () => {
      const port = await listen(fault);
      const { code, report } = await runCheckCli(['--json', '-t', '2', '-p', String(port), ...loginArgs(), `${USER}@127.0.0.1`]);
      expect(failed(report)).toEqual([id]);
      expect(report.findings.find((f) => f.id === id)?.detail).toMatch(detail);
      expect(code).toBe(exit);
    }, 60_000);
  }

  it('exits 255 and names the refusal when the login fails', async () => {
    const port = await listen('none');
    const { code, report, stderr } = await runCheckCli(['--json', '-t', '2', '-p', String(port), ...loginArgs(), 'nobody@127.0.0.1'].filter((a) => a !== clientKeyPath && a !== '-i'));
    expect(report.login?.error).toMatch(/Permission denied/);
    expect(report.findings.some((f) => f.group === 'connection')).toBe(false);
    expect(stderr).toMatch(/login failed, connection probes not run/);
    expect(code).toBe(255);
  }, 60_000);
});

describeWithHome('pure-ssh-check when it cannot run', () => {
  it('refuses what it cannot honour, naming it, with exit 255 and no connection', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [CHECK_CLI, ...args], { env: cliEnv(processHome()) }, (err, _stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr })),
      );
    // Port 1 on loopback: nothing listens, and nothing may be attempted anyway.
    for (const [args, message] of [
      [['--kex', 'curve25519-sha256,no-such-kex', '127.0.0.1'], /unknown kex method 'no-such-kex'/],
      [['--loop', '127.0.0.1'], /--loop needs a login/],
      [['--command', 'true', '127.0.0.1'], /--command needs a login/],
      [['--loop', '--command', 'true', 'u@127.0.0.1'], /--command and --loop exclude each other/],
      [['-F', 'none', '-o', 'ProxyJump=u@127.0.0.1:2', 'u@127.0.0.1'], /ProxyJump is not supported by pure-ssh-check/],
      [['-L', '1:a:2', '127.0.0.1'], /unknown option -- L/],
    ] as [string[], RegExp][]) {
      const { code, stderr } = await run(['-p', '1', ...args]);
      expect(stderr, args.join(' ')).toMatch(message);
      expect(code, args.join(' ')).toBe(255);
    }
  }, 60_000);

  it('exits 255 when the server closes before its identification', async () => {
    const srv = createServer((socket) => socket.destroy());
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const { code, report } = await runCheckCli(['--json', '-t', '2', '-p', String(port), '127.0.0.1']);
    expect(code).toBe(255);
    expect(report.serverVersion).toBeUndefined();
    // Not an SSH server: nothing was checked, so no MUST is violated (break26 MED-1).
    expect(report.findings.map((f) => [f.id, f.verdict, f.requirement])).toEqual([['inventory.kexinit', 'info', 'none']]);
    expect(report.error).toMatch(/^no SSH identification from 127\.0\.0\.1 port \d+: kex_exchange_identification: Connection closed by remote host$/);
    expect(report.findings[0]!.detail).toBe(`not run: ${report.error}`);
  });
});

describe('posture rules', () => {
  const kexinit = (over: Partial<KexInit>): KexInit => ({
    cookie: new Uint8Array(16),
    firstKexPacketFollows: false,
    emptyNamesIn: [],
    kex: ['curve25519-sha256'],
    hostKey: ['ssh-ed25519'],
    cipherClientToServer: ['aes128-ctr'],
    cipherServerToClient: ['aes128-ctr'],
    macClientToServer: ['hmac-sha2-256'],
    macServerToClient: ['hmac-sha2-256'],
    compressionClientToServer: ['none'],
    compressionServerToClient: ['none'],
    languagesClientToServer: [],
    languagesServerToClient: [],
    ...over,
  });

  it('Terrapin: CBC with an -etm MAC is exposed without strict kex, CBC alone or strict kex is not', () => {
    expect(terrapinExposure(kexinit({ cipherClientToServer: ['aes128-cbc'], macServerToClient: ['hmac-sha2-256-etm@openssh.com'] }))).toBe(
      'aes128-cbc with hmac-sha2-256-etm@openssh.com',
    );
    expect(terrapinExposure(kexinit({ cipherClientToServer: ['aes128-cbc'] }))).toBeUndefined();
    // OpenSSH's old name for aes256-cbc is CBC too (break26 LOW-6).
    expect(terrapinExposure(kexinit({ cipherClientToServer: ['rijndael-cbc@lysator.liu.se'], macServerToClient: ['hmac-sha2-256-etm@openssh.com'] }))).toBe(
      'rijndael-cbc@lysator.liu.se with hmac-sha2-256-etm@openssh.com',
    );
    expect(terrapinExposure(kexinit({ kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'], cipherClientToServer: ['chacha20-poly1305@openssh.com'] }))).toBeUndefined();
  });

  it('flags SHA-1 kex, 1024-bit groups, DSA, ssh-rsa and CBC', () => {
    const fs = postureFindings(
      kexinit({ kex: ['diffie-hellman-group1-sha1', 'curve25519-sha256'], hostKey: ['ssh-rsa', 'ssh-dss'], cipherServerToClient: ['aes256-cbc'] }),
    );
    const detail = (id: string) => fs.find((f) => f.id === id)!;
    expect(detail('posture.weak-kex')).toMatchObject({ verdict: 'fail', detail: 'diffie-hellman-group1-sha1 (SHA-1, 1024-bit group)' });
    expect(detail('posture.weak-host-keys').detail).toBe('ssh-rsa (RSA with SHA-1 signatures), ssh-dss (DSA)');
    expect(detail('posture.weak-ciphers').detail).toBe('aes256-cbc (CBC mode)');
    expect(detail('posture.post-quantum-kex').verdict).toBe('fail');
  });

  it('flags 64-bit blocks (3DES, Blowfish) besides CBC, and 64-bit UMAC tags (break26 LOW-6)', () => {
    const fs = postureFindings(
      kexinit({ cipherClientToServer: ['aes128-ctr', '3des-cbc', 'blowfish-cbc'], macClientToServer: ['hmac-sha2-256', 'umac-64-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com'] }),
    );
    const detail = (id: string) => fs.find((f) => f.id === id)!;
    expect(detail('posture.weak-ciphers').detail).toBe('3des-cbc (64-bit block, CBC mode), blowfish-cbc (64-bit block, CBC mode)');
    expect(detail('posture.weak-macs').detail).toBe('umac-64-etm@openssh.com (64-bit tag), umac-64@openssh.com (64-bit tag)');
  });

  it('RSA host keys below 2048 bits are flagged (NIST SP 800-131A), and below 1024 named as what ssh refuses', () => {
    expect(rsaHostKeyFinding(3072)).toMatchObject({ verdict: 'pass', requirement: 'should', detail: '3072 bits' });
    expect(rsaHostKeyFinding(2048)).toMatchObject({ verdict: 'pass' });
    expect(rsaHostKeyFinding(1024)).toMatchObject({ verdict: 'fail', requirement: 'should', detail: '1024 bits: below 2048 (112-bit security)' });
    expect(rsaHostKeyFinding(768).detail).toBe('768 bits: below 2048 (112-bit security); ssh 9.1+ refuses it (RequiredRSASize 1024)');
  });
});
