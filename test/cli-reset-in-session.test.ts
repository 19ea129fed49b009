/**
 * The server's TCP connection ends once the session is up (-N -L, listening), through a relay in
 * front of sshd, with the built CLI beside ssh(1) 9.2 at several log levels.
 *
 * clientloop.c (9.2 and 10.x alike): the loop's read notes its message with quit_message() (a
 * buffer printed at the end) and leaves; the client then sends SSH2_MSG_DISCONNECT. After a reset
 * that write fails (EPIPE) and `fatal_fr(r, "send disconnect")` exits 255 first: the only line
 * is "client_loop: send disconnect: Broken pipe" (FATAL: hidden by -q), no byte totals. After a
 * plain close (FIN) the write still goes out, so the noted "Connection to HOST closed by remote
 * host." is printed, then the VERBOSE totals; the loop writes that line to stderr itself (not a
 * log line: shown with -q, and not sent to the -E file).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort, listening, startRelay, type Relay } from './harness/net.js';
import { SSH_CLIENT_PATH, startSshd, type SshdHandle } from './harness/sshd.js';

const CLI = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));

describeInteropWithHome('CLI: the connection reset or closed during the session, as ssh(1) 9.2 reports it', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let relay: Relay;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd();
    relay = await startRelay(sshd.port, sshd.host);
  }, 30_000);
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
  });

  /** Logs in through the relay, waits for -L's listener, ends the connection, returns stderr. */
  const run = async (client: 'pure-ssh' | 'ssh', end: 'reset' | 'close' | 'stall', extra: string[]): Promise<{ code: number | null; err: string }> => {
    const port = await freePort();
    const args = [
      ...sshd.clientArgs.map((a) => (a === String(sshd.port) ? String(relay.port) : a)),
      '-o', `HostKeyAlias=[127.0.0.1]:${sshd.port}`,
      ...extra, '-N', '-L', `127.0.0.1:${port}:127.0.0.1:${sshd.port}`, sshd.target,
    ];
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => (clearTimeout(killer), resolve(code))));
    const deadline = Date.now() + 15_000;
    while (!(await listening(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // The listener probe's channel settles first: with packets still to write, ssh's write can
    // meet the reset first (packet.c sshpkt_fatal: "Connection reset by ADDR port N").
    await new Promise((r) => setTimeout(r, 300));
    expect(end === 'stall' ? relay.stallAll() : relay.endAll(end)).toBe(1);
    return { code: await closed, err };
  };
  /** The byte totals' figures replaced (they differ from run to run). */
  const norm = (err: string): string =>
    err.replace(/sent \d+, received \d+ bytes, in [\d.]+ seconds/, 'sent N, received M bytes, in S seconds').replace(/Bytes per second: .*\r\n/, 'Bytes per second: R\r\n');
  /** From "Authenticated to" on, without debug lines (-v: ssh's and ours differ before). */
  const tail = (err: string): string => {
    const lines = norm(err).split('\r\n');
    return lines.slice(Math.max(0, lines.findIndex((l) => l.startsWith('Authenticated to')))).filter((l) => !l.startsWith('debug')).join('\r\n');
  };

  const FAILED = 'client_loop: send disconnect: Broken pipe\r\n';
  const STALL = ['-o', 'ServerAliveInterval=1', '-o', 'ServerAliveCountMax=1'];
  const cases: ['reset' | 'close' | 'stall', string, string[], string][] = [
    ['reset', '', [], FAILED],
    ['reset', ' (-q)', ['-q'], ''],
    ['reset', ' (LogLevel VERBOSE: no totals)', ['-o', 'LogLevel=VERBOSE'], `Authenticated to 127.0.0.1 ([127.0.0.1]:RELAY) using "publickey".\r\n${FAILED}`],
    ['reset', ' (-v)', ['-v'], `Authenticated to 127.0.0.1 ([127.0.0.1]:RELAY) using "publickey".\r\n${FAILED}`],
    ['close', '', [], 'Connection to 127.0.0.1 closed by remote host.\r\n'],
    // clientloop.c quit_message: the line is written to stderr by the loop, not logged.
    ['close', ' (-q: still said)', ['-q'], 'Connection to 127.0.0.1 closed by remote host.\r\n'],
    ['close', ' (-E: still on stderr)', ['-E', '/dev/null'], 'Connection to 127.0.0.1 closed by remote host.\r\n'],
    ['close', ' (LogLevel VERBOSE: the totals)', ['-o', 'LogLevel=VERBOSE'],
      'Authenticated to 127.0.0.1 ([127.0.0.1]:RELAY) using "publickey".\r\nConnection to 127.0.0.1 closed by remote host.\r\nTransferred: sent N, received M bytes, in S seconds\r\nBytes per second: R\r\n'],
    // clientloop.c server_alive_check: logit() (INFO) the timeout, then cleanup_exit(255): no totals.
    ['stall', ' (ServerAliveInterval, LogLevel VERBOSE: no totals)', ['-o', 'LogLevel=VERBOSE', ...STALL],
      'Authenticated to 127.0.0.1 ([127.0.0.1]:RELAY) using "publickey".\r\nTimeout, server 127.0.0.1 not responding.\r\n'],
    ['stall', ' (ServerAliveInterval, LogLevel ERROR: nothing)', ['-o', 'LogLevel=ERROR', ...STALL], ''],
  ];
  for (const [end, how, extra, expected] of cases) {
    it(`the connection ${end === 'reset' ? 'is reset' : end === 'close' ? 'is closed' : 'stalls'} during the session${how}: ssh's lines, exit 255`, async () => {
      const want = expected.replace('RELAY', String(relay.port));
      const ours = await run('pure-ssh', end, extra);
      expect(ours.code).toBe(255);
      expect(extra.includes('-v') ? tail(ours.err) : norm(ours.err)).toBe(want);
      const theirs = await run('ssh', end, extra);
      expect(theirs.code).toBe(255);
      // ssh's other outcome of the same reset: its write met it first (see above).
      const writeMetIt = tail(theirs.err).replace(`Connection reset by 127.0.0.1 port ${relay.port}\r\n`, FAILED);
      expect(tail(ours.err)).toBe(end === 'reset' ? writeMetIt : tail(theirs.err));
    }, 60_000);
  }
});
