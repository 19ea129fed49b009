/**
 * A keyboard-interactive request with several prompts (RFC 4256 §3.2–3.4): ssh 9.2's
 * sshconnect2.c input_userauth_info_req asks each prompt in turn with read_passphrase (RP_ECHO
 * when its echo flag is set), shown as "(user@host) PROMPT", and sends one answer per prompt, in
 * order, in one INFO_RESPONSE. pure-ssh used to ask once with the prompts joined by a space and
 * send that one answer for every prompt. The server is the project's FakeServer on TCP: sshd 9.2
 * with PAM sends one prompt per request, so a real server cannot send this case.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { connect as webConnect } from '../src/web/index.js';
import { MSG } from '../src/protocol/messages.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';
import { CLI } from './support/cli-run.js';
import { requireBuiltCli } from './harness/proc.js';
import { FakeServer, fakeOnTcp } from './support/fake-server.js';
import { dialNodeWeb } from './runtimes/dial-node.js';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

const PROMPTS = [
  { prompt: 'Password: ', echo: false },
  { prompt: 'Verification code: ', echo: true },
];

describeWithHome('keyboard-interactive: a request with two prompts, one echo-off and one echoed', () => {
  const home = suiteHome();
  let server: Server;
  let port = 0;
  /** The answers of each INFO_RESPONSE the server got, per connection. */
  let responses: string[][] = [];

  beforeAll(async () => {
    ({ server, port } = await fakeOnTcp(() =>
      new FakeServer({
        authMethods: ['keyboard-interactive'],
        // The server's INFO_REQUEST (fake-server.ts defaultAuth); its answer is read here.
        kbdPrompts: PROMPTS,
        onPacket(payload, _seq, s) {
          if (payload[0] !== MSG.USERAUTH_INFO_RESPONSE) return false;
          const rr = new SshReader(payload, 1);
          const n = rr.uint32();
          responses.push(Array.from({ length: n }, () => rr.utf8()));
          s.send(new SshWriter(64).byte(MSG.DISCONNECT).uint32(14).string('bye').string('').toBytes());
          s.closed = true;
          return true;
        },
      }),
    ));
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const answerOf = (prompt: string) => (prompt.endsWith('Password: ') ? 'pw' : '123456');

  // The Node and the web client take the same askPassword and make the same calls.
  const clients: [string, (askPassword: (prompt: string, context: object) => string) => Promise<unknown>][] = [
    ['connect()', (askPassword) => connect({ host: '127.0.0.1', port, username: 'u', verifyHostKey: () => true, askPassword })],
    ['pure-ssh/web connect()', (askPassword) => webConnect({ transport: dialNodeWeb(port), host: '127.0.0.1', port, username: 'u', verifyHostKey: () => true, askPassword })],
  ];
  for (const [name, open] of clients) {
    it(`${name}: askPassword once per prompt, with its echo flag and index/count; the answers in order`, async () => {
      responses = [];
      const asked: unknown[] = [];
      const err = await open((prompt, context) => {
        asked.push({ prompt, ...context });
        return answerOf(prompt);
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeDefined();
      expect(asked).toEqual([
        { prompt: 'Password: ', retry: false, method: 'keyboard-interactive', echo: false, index: 0, count: 2 },
        { prompt: 'Verification code: ', retry: false, method: 'keyboard-interactive', echo: true, index: 1, count: 2 },
      ]);
      expect(responses).toEqual([['pw', '123456']]);
    }, 30_000);
  }

  // NumberOfPasswordPrompts=1: ssh counts the request (attempt_kbdint), not its prompts.
  it('the CLI beside ssh 9.2: SSH_ASKPASS asked "(user@host) PROMPT" for each prompt in turn, the answers sent in order', async () => {
    requireBuiltCli();
    const askpass = join(home, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$1" >> "$PROMPT_FILE"\ncase "$1" in *Password*) echo pw ;; *) echo 123456 ;; esac\n', { mode: 0o755 });
    const runOne = async (client: 'ssh' | 'pure-ssh') => {
      responses = [];
      const file = join(home, `prompts-${client}`);
      writeFileSync(file, '');
      const env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', PROMPT_FILE: file, SSH_AUTH_SOCK: '' });
      const args = ['-N', '-F', 'none', '-l', 'u', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null', '-p', String(port), '127.0.0.1'];
      const child = client === 'ssh'
        ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'ignore'], env })
        : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'ignore'], env });
      await new Promise((r) => child.on('close', r));
      return { prompts: readFileSync(file, 'utf8').split('\n').filter(Boolean), responses };
    };
    const want = { prompts: ['(u@127.0.0.1) Password: ', '(u@127.0.0.1) Verification code: '], responses: [['pw', '123456']] };
    expect(await runOne('pure-ssh')).toEqual(want);
    if (sshClientAvailable()) expect(await runOne('ssh')).toEqual(want);
  }, 60_000);

  // read_passphrase(display_prompt, echo ? RP_ECHO : 0): on a terminal (script(1)'s pty) the
  // echoed prompt's answer shows as typed, the hidden one's does not. pure-ssh used to read the
  // joined prompt hidden.
  it('the CLI on a terminal beside ssh 9.2: the echo-off answer is not shown, the echoed one is', async () => {
    requireBuiltCli();
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const runOne = async (client: 'ssh' | 'pure-ssh') => {
      responses = [];
      const { DISPLAY: _d, WAYLAND_DISPLAY: _w, SSH_ASKPASS: _a, SSH_ASKPASS_REQUIRE: _r, ...env } = cliEnv(home, { SSH_AUTH_SOCK: '' });
      const args = ['-N', '-F', 'none', '-l', 'u', '-o', 'PubkeyAuthentication=no', '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-p', String(port), '127.0.0.1'];
      const argv = [...(client === 'ssh' ? [SSH_CLIENT_PATH] : [process.execPath, CLI]), ...args].map(quote).join(' ');
      const p = spawn('script', ['-qefc', argv, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      const typed = { password: false, code: false };
      const onData = (d: string) => {
        out += d;
        if (!typed.password && out.includes('Password: ')) {
          typed.password = true;
          p.stdin.write('pw\r');
        }
        if (!typed.code && out.includes('Verification code: ')) {
          typed.code = true;
          p.stdin.write('123456\r');
        }
      };
      p.stdout.setEncoding('utf8').on('data', onData);
      p.stderr.setEncoding('utf8').on('data', onData);
      const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
      await new Promise((r) => p.on('close', r));
      clearTimeout(timer);
      return { out: out.replace(/\r/g, ''), responses };
    };
    const ours = await runOne('pure-ssh');
    expect(ours.responses).toEqual([['pw', '123456']]);
    expect(ours.out).toContain('(u@127.0.0.1) Password: \n(u@127.0.0.1) Verification code: 123456\n');
    expect(ours.out).not.toContain('pw');
    if (sshClientAvailable()) expect(await runOne('ssh')).toEqual(ours);
  }, 60_000);
});
