/**
 * The server's identification line as ssh 9.2 reads it (kex.c kex_exchange_identification:
 * `sscanf(line, "SSH-%d.%d-%[^\n]\n", &major, &minor, version) != 3` is refused with
 * error("Bad remote protocol version identification: '%.100s'"), then sshconnect.c's
 * sshpkt_fatal(…, "banner exchange") logs SSH_ERR_INVALID_FORMAT at INFO; a major version other
 * than 2 (1.99 aside) is "Protocol major versions differ"). So `SSH-2.0-` (empty software
 * version) and `SSH-2.0` are refused, and `SSH-2.1-x`, `SSH- 2.0-x` (%d skips white space),
 * `SSH-2.00-x` are taken. A tiny Python server writes the line (a parse test, not interop); the
 * built CLI runs beside ssh 9.2 and the library's error is checked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, ConnectionLostError, ProtocolError } from '../src/index.js';
import { parseIdentification, VersionReader } from '../src/transport/version.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { PYTHON } from './harness/net.js';
import { SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';
import { CLI_BIN_PATH } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

describe('parseIdentification and VersionReader (kex.c sscanf)', () => {
  it('refuses an empty software version and a missing "-"; takes what %d takes', () => {
    for (const bad of ['SSH-2.0-', 'SSH-2.0', 'SSH-2-x', 'SSH-x.0-y', 'SSH-2.-x']) expect(parseIdentification(bad), bad).toBeUndefined();
    expect(parseIdentification('SSH-2.0- ')).toEqual({ major: 2, minor: 0, software: ' ' });
    expect(parseIdentification('SSH- 2.00-x y')).toEqual({ major: 2, minor: 0, software: 'x y' });
    expect(parseIdentification('SSH-+1.99-OpenSSH')).toEqual({ major: 1, minor: 99, software: 'OpenSSH' });
  });

  it('VersionReader: "SSH-2.0-" is a ProtocolError worded as ssh; "SSH-2.1-x" is taken', () => {
    const feed = (line: string) => new VersionReader(() => {}).feed(new TextEncoder().encode(line));
    expect(() => feed('SSH-2.0-\r\n')).toThrow(ProtocolError);
    expect(() => feed('SSH-2.0-\r\n')).toThrow("Bad remote protocol version identification: 'SSH-2.0-'");
    // '%.100s': the line is cut at 100 characters.
    expect(() => feed(`SSH-2.0${'x'.repeat(200)}\r\n`)).toThrow(`Bad remote protocol version identification: 'SSH-2.0${'x'.repeat(93)}'`);
    expect(() => feed('SSH-3.0-x\r\n')).toThrow(/^Protocol major versions differ/);
    const logs: string[] = [];
    const r = new VersionReader((m) => logs.push(m));
    expect(r.feed(new TextEncoder().encode('SSH-2.1-x y\r\nrest'))).toEqual(new TextEncoder().encode('rest'));
    expect(r.serverVersion).toBe('SSH-2.1-x y');
    expect(logs).toEqual(['Remote protocol version 2.1, remote software version x y']);
  });
});

/**
 * Accepts connections; to each, writes `line`, then reads until the client sent more than its own
 * identification line (its KEXINIT: it took ours) or closed, and closes.
 */
function lineServer(line: string): Promise<{ port: number; proc: ChildProcess }> {
  const py = `
import socket, sys, threading
line = bytes.fromhex(sys.argv[1])
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
print(s.getsockname()[1], flush=True)
def h(c):
    c.sendall(line)
    got = b''
    c.settimeout(10)
    try:
        while b'\\n' not in got or got.index(b'\\n') + 1 == len(got):
            d = c.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=h, args=(c,), daemon=True).start()
`;
  const proc = spawn(PYTHON, ['-I', '-S', '-c', py, Buffer.from(line, 'latin1').toString('hex')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.stdout!.setEncoding('utf8').once('data', (d: string) => resolve({ port: Number(d.trim()), proc }));
  });
}

/** The lines, and what ssh 9.2 says at the default LogLevel (`P`: the port). */
const cases: [string, (p: number) => string][] = [
  ['SSH-2.0-\r\n', (p) => `Bad remote protocol version identification: 'SSH-2.0-'\r\nbanner exchange: Connection to 127.0.0.1 port ${p}: invalid format\r\n`],
  ['SSH-2.0\r\n', (p) => `Bad remote protocol version identification: 'SSH-2.0'\r\nbanner exchange: Connection to 127.0.0.1 port ${p}: invalid format\r\n`],
  // Taken: the server then closes during the key exchange.
  ['SSH-2.1-x\r\n', (p) => `Connection closed by 127.0.0.1 port ${p}\r\n`],
  ['SSH- 2.0-x\r\n', (p) => `Connection closed by 127.0.0.1 port ${p}\r\n`],
  ['SSH-2.00-x\r\n', (p) => `Connection closed by 127.0.0.1 port ${p}\r\n`],
  ['SSH-+3.0-x\r\n', (p) => `Protocol major versions differ: 2 vs. 3\r\nbanner exchange: Connection to 127.0.0.1 port ${p}: could not read protocol version\r\n`],
];

describeInteropWithHome('the identification line as ssh 9.2 parses it: the CLI beside ssh, the library', () => {
  const home = suiteHome();
  const servers = new Map<string, { port: number; proc: ChildProcess }>();
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    for (const [line] of cases) servers.set(line, await lineServer(line));
  }, 30_000);
  afterAll(() => {
    for (const { proc } of servers.values()) proc.kill();
  });

  const run = (client: 'pure-ssh' | 'ssh', port: number, extra: string[] = []): Promise<{ code: number | null; err: string }> => {
    const args = ['-N', '-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', ...extra, '-p', String(port), '127.0.0.1'];
    const child =
      client === 'ssh'
        ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) })
        : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    return new Promise((resolve) => child.on('close', (code) => (clearTimeout(killer), resolve({ code, err }))));
  };

  for (const [line, expected] of cases) {
    it(`${JSON.stringify(line)}: ssh's lines, exit 255`, async () => {
      const { port } = servers.get(line)!;
      const ours = await run('pure-ssh', port);
      expect(ours).toEqual({ code: 255, err: expected(port) });
      if (sshClientAvailable()) {
        expect(await run('ssh', port)).toEqual({ code: 255, err: expected(port) });
      }
    }, 60_000);
  }

  it('LogLevel ERROR: kex.c\'s line alone, as ssh', async () => {
    const { port } = servers.get('SSH-2.0-\r\n')!;
    const want = { code: 255, err: "Bad remote protocol version identification: 'SSH-2.0-'\r\n" };
    expect(await run('pure-ssh', port, ['-o', 'LogLevel=ERROR'])).toEqual(want);
    if (sshClientAvailable()) expect(await run('ssh', port, ['-o', 'LogLevel=ERROR'])).toEqual(want);
  }, 60_000);

  it('-v: lines before the identification as kex.c logs them ("banner line N: ", bytes escaped as sent, UTF-8 or not), the software version too', async () => {
    // UTF-8 "café", and bytes that are not UTF-8 (0xff, a bare Latin-1 0xe9, a cut sequence),
    // before and in the identification.
    const server = await lineServer('hello\r\ncaf\xc3\xa9 \\ x\r\nbad \xff \xe9t\xc3\r\nSSH-2.0-caf\xc3\xa9\xff\r\n');
    try {
      const pick = (err: string) => err.split('\r\n').filter((l) => /banner line|remote software version/.test(l));
      const ours = pick((await run('pure-ssh', server.port, ['-v'])).err);
      expect(ours).toEqual([
        'debug1: kex_exchange_identification: banner line 0: hello',
        'debug1: kex_exchange_identification: banner line 1: caf\\303\\251 \\\\ x',
        'debug1: kex_exchange_identification: banner line 2: bad \\377 \\351t\\303',
        'debug1: Remote protocol version 2.0, remote software version caf\\303\\251\\377',
      ]);
      if (sshClientAvailable()) expect(ours).toEqual(pick((await run('ssh', server.port, ['-v'])).err));
    } finally {
      server.proc.kill();
    }
  }, 60_000);

  it('the library: connect() rejects with a ProtocolError worded as ssh', async () => {
    const { port } = servers.get('SSH-2.0-\r\n')!;
    const err = await connect({ host: '127.0.0.1', port, username: 'nobody', password: 'x', agent: false, verifyHostKey: () => true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'ERR_PROTOCOL', message: "Bad remote protocol version identification: 'SSH-2.0-'" });
  }, 30_000);

  it("the library: a close after the identification line and before login is packet.c's 'Connection closed by ADDR port N' (as the CLI and the web client say), before it kex.c's", async () => {
    const failure = (port: number, host = '127.0.0.1') =>
      connect({ host, port, username: 'nobody', password: 'x', agent: false, verifyHostKey: () => true }).then(
        () => undefined,
        (e: unknown) => e,
      );
    const { port } = servers.get('SSH-2.1-x\r\n')!;
    // The socket's peer address, not the name given, as ssh_remote_ipaddr says it.
    for (const host of ['127.0.0.1', 'localhost']) {
      const err = await failure(port, host);
      expect(err, host).toBeInstanceOf(ConnectionLostError);
      expect(err, host).toMatchObject({ code: 'ERR_CONNECTION_LOST', message: `Connection closed by 127.0.0.1 port ${port}` });
    }
    const early = await lineServer('hello\r\n');
    try {
      expect(await failure(early.port)).toMatchObject({ code: 'ERR_CONNECTION_LOST', message: 'kex_exchange_identification: Connection closed by remote host' });
    } finally {
      early.proc.kill();
    }
  }, 30_000);
});
