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
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { fromAuthenticated, startCli, waitForListen, withoutTotalsFigures } from './harness/proc.js';
import { clientArgsVia, relayedSshdSuite } from './harness/sshd.js';

describeInteropWithHome('CLI: the connection reset or closed during the session, as ssh(1) 9.2 reports it', () => {
  const home = suiteHome();
  const suite = relayedSshdSuite();

  /** Logs in through the relay, waits for -L's listener, ends the connection, returns stderr. */
  const run = async (client: 'pure-ssh' | 'ssh', end: 'reset' | 'close' | 'stall', extra: string[]): Promise<{ code: number | null; err: string }> => {
    const { sshd, relay } = suite;
    const port = await freePort();
    const args = [...clientArgsVia(sshd, relay.port), ...extra, '-N', '-L', `127.0.0.1:${port}:127.0.0.1:${sshd.port}`, sshd.target];
    const cli = startCli(client, args, { env: cliEnv(home) });
    await waitForListen(cli, port);
    // The listener probe's channel settles first: with packets still to write, ssh's write can
    // meet the reset first (packet.c sshpkt_fatal: "Connection reset by ADDR port N").
    await new Promise((r) => setTimeout(r, 300));
    expect(end === 'stall' ? relay.stallAll() : relay.endAll(end)).toBe(1);
    const { code, stderr: err } = await cli.done;
    return { code, err };
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
      const { relay } = suite;
      const want = expected.replace('RELAY', String(relay.port));
      const ours = await run('pure-ssh', end, extra);
      expect(ours.code).toBe(255);
      expect(extra.includes('-v') ? fromAuthenticated(ours.err) : withoutTotalsFigures(ours.err)).toBe(want);
      const theirs = await run('ssh', end, extra);
      expect(theirs.code).toBe(255);
      // ssh's other outcome of the same reset: its write met it first (see above).
      const writeMetIt = fromAuthenticated(theirs.err).replace(`Connection reset by 127.0.0.1 port ${relay.port}\r\n`, FAILED);
      expect(fromAuthenticated(ours.err)).toBe(end === 'reset' ? writeMetIt : fromAuthenticated(theirs.err));
    }, 60_000);
  }
});
