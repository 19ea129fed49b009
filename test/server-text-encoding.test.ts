/**
 * A server's text that is not UTF-8 (RFC 4251 §5 asks for UTF-8; OpenSSH checks no encoding:
 * sshpkt_get_string / sshpkt_get_cstring) is shown with its bytes escaped, as ssh 9.2 does, and
 * does not fail the connection as a malformed packet:
 * - packet.c: a DISCONNECT's description ("Received disconnect from ...: %.400s", strnvis) and a
 *   DEBUG message ("Remote: %.900s");
 * - sshconnect2.c input_userauth_banner: the banner through utf8.c fmprintf (control characters
 *   and bytes the locale cannot print as \ooo);
 * - channels.c / clientloop.c: open failure descriptions and request names, logged or compared;
 *   a ChannelOpenError's message has the description escaped as a DisconnectError's has.
 * The DISCONNECT comes from the project's scripted server over TCP (a malformed-input test), with
 * ssh 9.2 beside pure-ssh; the banner from a real sshd 9.2 whose Banner file holds such bytes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelOpenError, connect, DisconnectError } from '../src/index.js';
import { MSG, decodeMessage } from '../src/protocol/messages.js';
import { SshWriter } from '../src/protocol/wire.js';
import { terminalText } from '../src/log-text.js';
import { cutBytes, visLogText } from '../src/node/log-vis.js';
import { CLI } from './support/cli-run.js';
import { FakeServer, fakeOnTcp } from './support/fake-server.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

const latin1 = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

describe('messages with text that is not UTF-8 decode, every byte kept', () => {
  it('DISCONNECT, DEBUG, USERAUTH_BANNER, CHANNEL_OPEN_FAILURE, GLOBAL_REQUEST, CHANNEL_OPEN, CHANNEL_REQUEST', () => {
    const bad = latin1('caf\xe9 \xff');
    const want = 'caf\udce9 \udcff';
    const d = decodeMessage(new SshWriter(64).byte(MSG.DISCONNECT).uint32(2).string(bad).string(bad).toBytes());
    expect(d).toMatchObject({ description: want, language: want });
    expect(decodeMessage(new SshWriter(64).byte(MSG.DEBUG).boolean(true).string(bad).string('').toBytes())).toMatchObject({ message: want });
    expect(decodeMessage(new SshWriter(64).byte(MSG.USERAUTH_BANNER).string(bad).string(bad).toBytes())).toMatchObject({ message: want });
    expect(decodeMessage(new SshWriter(64).byte(MSG.CHANNEL_OPEN_FAILURE).uint32(0).uint32(1).string(bad).string('').toBytes())).toMatchObject({ description: want });
    expect(decodeMessage(new SshWriter(64).byte(MSG.GLOBAL_REQUEST).string(bad).boolean(true).toBytes())).toMatchObject({ name: want, wantReply: true });
    expect(decodeMessage(new SshWriter(64).byte(MSG.CHANNEL_OPEN).string(bad).uint32(1).uint32(2).uint32(3).toBytes())).toMatchObject({ channelType: want });
    expect(decodeMessage(new SshWriter(64).byte(MSG.CHANNEL_REQUEST).uint32(0).string(bad).boolean(false).toBytes())).toMatchObject({ request: want });
  });

  it('cutBytes cuts at bytes as %.Ns does, a split character kept as its bytes', () => {
    expect(visLogText(cutBytes('caf\u00e9!', 4))).toBe('caf\\303');
    expect(cutBytes('ab\udcffcd', 3)).toBe('ab\udcff');
    expect(cutBytes('x'.repeat(500), 400)).toBe('x'.repeat(400));
  });

  it('terminalText escapes as utf8.c under a UTF-8 locale and under C', () => {
    expect(terminalText('caf\u00e9 \udcff \u001b[1m \\ \t\r\n\u0085', true)).toBe('caf\u00e9 \\377 \\033[1m \\ \t\r\n\\302\\205');
    expect(terminalText('caf\u00e9 \udcff \u007f', false)).toBe('caf\\303\\251 \\377 \\177');
  });
});

/**
 * The scripted server on TCP: after the key exchange it answers the client's SERVICE_REQUEST
 * with a DEBUG and then a DISCONNECT whose texts hold bytes that are not UTF-8.
 */
async function disconnectingServer(description: Uint8Array): Promise<{ server: Server; port: number }> {
  return fakeOnTcp(() =>
    new FakeServer({
      onPacket(payload, _seq, s) {
        if (payload[0] !== MSG.SERVICE_REQUEST) return false;
        s.send(new SshWriter(64).byte(MSG.DEBUG).boolean(true).string(latin1('debug \xff\\')).string('').toBytes());
        s.send(new SshWriter(64 + description.length).byte(MSG.DISCONNECT).uint32(2).string(description).string('').toBytes());
        s.closed = true;
        return true;
      },
    }),
  );
}

/** Runs ssh or pure-ssh; stderr as bytes (latin1), so escapes and raw bytes both show. */
function run(client: 'ssh' | 'pure-ssh', args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; err: string }> {
  const child =
    client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(killer), resolve({ code, err }))));
}

describeInteropWithHome('a server text that is not UTF-8, shown escaped as ssh 9.2 shows it', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  const bannerBytes = 'caf\xc3\xa9 \xff\xe9 \x1b[1m \\ tab\there\r\n\x07bell \x7f\xc2\x85\n';
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd({ config: { Banner: join(home, 'banner') } });
    writeFileSync(join(home, 'banner'), Buffer.from(bannerBytes, 'latin1'));
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  it('a DISCONNECT with 0xff in its text after the key exchange: ssh\'s lines (-v: the DEBUG too), exit 255; the library\'s DisconnectError keeps the byte', async () => {
    const { server, port } = await disconnectingServer(latin1('bad \xff\\ text\nsecond line'));
    try {
      const args = ['-N', '-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-p', String(port), '127.0.0.1'];
      const want = `Received disconnect from 127.0.0.1 port ${port}:2: bad \\377\\\\ text\nsecond line\r\nDisconnected from 127.0.0.1 port ${port}\r\n`;
      // The host key line ssh and pure-ssh add to /dev/null first is not what this is about.
      const runs = async (client: 'ssh' | 'pure-ssh') => {
        const r = await run(client, args, cliEnv(home));
        return { code: r.code, err: r.err.replace(/^Warning: Permanently added .*\r\n/, '') };
      };
      const ours = await runs('pure-ssh');
      expect(ours).toEqual({ code: 255, err: want });
      const pick = (err: string) => err.split('\r\n').filter((l) => /^debug1: Remote: /.test(l));
      const oursV = pick((await run('pure-ssh', ['-v', ...args], cliEnv(home))).err);
      expect(oursV).toEqual(['debug1: Remote: debug \\377\\\\']);
      if (sshClientAvailable()) {
        expect(await runs('ssh')).toEqual({ code: 255, err: want });
        expect(pick((await run('ssh', ['-v', ...args], cliEnv(home))).err)).toEqual(oursV);
      }

      const err = await connect({ host: '127.0.0.1', port, username: 'u', verifyHostKey: () => true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DisconnectError);
      expect((err as DisconnectError).description).toBe('bad \udcff\\ text\nsecond line');
    } finally {
      server.close();
    }
  }, 60_000);

  it('a keyboard-interactive prompt with ESC and 0xff reaches SSH_ASKPASS escaped as ssh 9.2 escapes it, after the "(user@host) " ssh adds', async () => {
    const { server, port } = await fakeOnTcp(() =>
      new FakeServer({
        authMethods: ['keyboard-interactive'],
        // The server's INFO_REQUEST (fake-server.ts defaultAuth), its prompt's bytes as they are.
        kbdPrompts: [{ prompt: latin1('Pass \x1b[31m\xff: '), echo: false }],
        onPacket(payload, _seq, s) {
          if (payload[0] !== MSG.USERAUTH_INFO_RESPONSE) return false;
          s.send(new SshWriter(64).byte(MSG.DISCONNECT).uint32(14).string('bye').string('').toBytes());
          s.closed = true;
          return true;
        },
      }),
    );
    try {
      const askpass = join(home, 'askpass');
      writeFileSync(askpass, '#!/bin/sh\nprintf %s "$1" > "$PROMPT_FILE"\necho x\n', { mode: 0o755 });
      const promptOf = async (client: 'ssh' | 'pure-ssh') => {
        const file = join(home, `prompt-${client}`);
        const env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', PROMPT_FILE: file, LC_ALL: 'C.UTF-8' });
        const args = ['-N', '-F', 'none', '-l', 'u', '-o', 'PubkeyAuthentication=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-p', String(port), '127.0.0.1'];
        await run(client, args, env);
        return readFileSync(file, 'latin1');
      };
      const ours = await promptOf('pure-ssh');
      expect(ours).toBe('(u@127.0.0.1) Pass \\033[31m\\377: ');
      if (sshClientAvailable()) expect(await promptOf('ssh')).toBe(ours);
    } finally {
      server.close();
    }
  }, 60_000);

  it('a CHANNEL_OPEN_FAILURE text with ESC and BEL: the ChannelOpenError message escapes it (raw in description); -W prints ssh 9.2\'s line, escaped once (log.c strnvis VIS_SAFE: BEL kept)', async () => {
    const text = 'refused \x1b]0;pwned\x07 by \x1b[2Jpolicy';
    const { server, port } = await fakeOnTcp(() => new FakeServer({ authHook: () => ({ kind: 'success' }), openPolicy: () => ({ reason: 2, description: text }) }));
    try {
      const ssh = await connect({ host: '127.0.0.1', port, username: 'u', verifyHostKey: () => true });
      try {
        const err = await ssh.openDirectTcpip({ host: '127.0.0.1', port: 1 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ChannelOpenError);
        expect((err as ChannelOpenError).message).toBe('channel 0: open failed: connect failed: refused \\033]0;pwned\\007 by \\033[2Jpolicy');
        expect((err as ChannelOpenError).description).toBe(text);
      } finally {
        await ssh.close();
      }
      const args = ['-F', 'none', '-l', 'u', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-W', '127.0.0.1:1', '-p', String(port), '127.0.0.1'];
      const runs = async (client: 'ssh' | 'pure-ssh') => {
        const r = await run(client, args, cliEnv(home));
        return { code: r.code, err: r.err.replace(/^Warning: Permanently added .*\r\n/, '') };
      };
      const ours = await runs('pure-ssh');
      expect(ours).toEqual({ code: 255, err: 'channel 0: open failed: connect failed: refused \\033]0;pwned\x07 by \\033[2Jpolicy\r\nstdio forwarding failed\r\n' });
      if (sshClientAvailable()) expect(await runs('ssh')).toEqual(ours);
    } finally {
      server.close();
    }
  }, 60_000);

  for (const [locale, env] of [
    ['C.UTF-8', { LC_ALL: 'C.UTF-8' }],
    ['C', { LC_ALL: 'C', LANG: 'C' }],
  ] as const) {
    it(`sshd 9.2's Banner with bytes that are not UTF-8 and control characters, LC_ALL=${locale}: ssh's output`, async () => {
      const args = [...sshd.clientArgs, '-N', '-o', 'PubkeyAuthentication=no', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', sshd.target];
      const ours = await run('pure-ssh', args, cliEnv(home, env));
      expect(ours.code).toBe(255);
      const banner = locale === 'C' ? 'caf\\303\\251 \\377\\351 \\033[1m \\ tab\there\r\n\\007bell \\177\\302\\205\n' : 'caf\xc3\xa9 \\377\\351 \\033[1m \\ tab\there\r\n\\007bell \\177\\302\\205\n';
      expect(ours.err).toBe(`${banner}root@127.0.0.1: Permission denied (publickey).\r\n`);
      if (sshClientAvailable()) expect(await run('ssh', args, cliEnv(home, env))).toEqual(ours);
    }, 60_000);
  }
});
