/**
 * Whether the CLI's own end of a connection sends SSH_MSG_DISCONNECT, as ssh(1) 9.2, seen from
 * sshd's log ("Received disconnect from ..." for a DISCONNECT, "Connection closed by ..." for a
 * TCP close without one). ssh sends it where client_loop ends the session (clientloop.c: the
 * session's end, a signal such as SIGTERM or SIGINT) and from packet.c ssh_packet_disconnect;
 * never when it leaves through fatal() or cleanup_exit(): -W's end (client_cleanup_stdio_fwd),
 * "stdio forwarding failed", ExitOnForwardFailure's "Could not request local forwarding." and
 * "Error: remote port forwarding failed ...". pure-ssh sent one in each case. Nor before the
 * session: "Host key verification failed." (sshconnect2.c verify_host_key_callback) and
 * "Permission denied (...)." (ssh_userauth2), where pure-ssh sent reasons 9 and 14.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { deliverSignal, startCli } from './harness/proc.js';
import { sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

describeInteropWithHome("CLI: SSH_MSG_DISCONNECT at the CLI's own exits, as ssh(1) 9.2 (sshd's log)", () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    sshd = await startSshd();
    server = net.createServer((s) => s.end('hello\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
    await new Promise((r) => server?.close(r));
  });

  /** `pre`: options before sshd.clientArgs (ssh_config: the first value obtained is kept). */
  /** `line`: sshd's line for that connection, for both clients. */
  type Case = { name: string; args: () => string[]; pre?: string[]; signal?: NodeJS.Signals; disconnect: boolean; line?: RegExp };
  const CASES: Case[] = [
    { name: "-W, the far end closes (stdio forwarding: done)", args: () => ['-W', `127.0.0.1:${port}`], disconnect: false },
    { name: '-W, the open refused (stdio forwarding failed)', args: () => ['-W', '127.0.0.1:1'], disconnect: false },
    // The -L listener's port is sshd's own: bind fails.
    { name: 'ExitOnForwardFailure, -L cannot listen', args: () => ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${sshd.port}:127.0.0.1:9`], disconnect: false },
    { name: 'ExitOnForwardFailure, -R refused', args: () => ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:${sshd.port}:127.0.0.1:9`], disconnect: false },
    // BatchMode and StrictHostKeyChecking yes (clientArgs): an unknown host key is refused at once.
    { name: 'Host key verification failed.', pre: ['-o', 'UserKnownHostsFile=/dev/null'], args: () => ['-N'], disconnect: false, line: /Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]/ },
    // BatchMode: no password is asked for, no method is left.
    { name: 'Permission denied (...).', pre: ['-o', 'PubkeyAuthentication=no'], args: () => ['-N'], disconnect: false, line: /Connection closed by authenticating user root 127\.0\.0\.1 port \d+ \[preauth\]/ },
    { name: '-N, SIGTERM', args: () => ['-N'], signal: 'SIGTERM', disconnect: true },
    { name: '-N, SIGINT', args: () => ['-N'], signal: 'SIGINT', disconnect: true },
  ];

  const run = async (client: 'ssh' | 'pure-ssh', k: Case) => {
    const before = sshd.logs().length;
    const proc = startCli(client, [...(k.pre ?? []), ...sshd.clientArgs, ...k.args(), sshd.target], { env: cliEnv(home), stdin: 'pipe', stdout: 'pipe', killAfterMs: 20_000 });
    if (k.signal) {
      // Logged in (sshd's line), then the signal.
      for (let i = 0; i < 200 && !/Accepted publickey/.test(sshd.logs().slice(before)); i++) await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, 300));
      deliverSignal(proc.child, k.signal);
    }
    await proc.done;
    proc.child.stdin?.destroy();
    let log = '';
    for (let i = 0; i < 100; i++) {
      log = sshd.logs().slice(before);
      if (/Received disconnect from|Connection closed by|Connection reset by|Broken pipe|do_cleanup/.test(log)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    // A close right after login may meet sshd writing (its post-login DEBUG lines): "Broken pipe".
    if (k.line) expect(log, client).toMatch(k.line);
    // (Any reason: 11 "disconnected by user" at the session's end; 9 and 14 were sent before it.)
    return /Received disconnect from 127\.0\.0\.1 port \d+:\d+: /.test(log) ? 'DISCONNECT' : /Connection closed by|Broken pipe|Connection reset by/.test(log) ? 'closed' : log;
  };

  for (const k of CASES) {
    it(`${k.name}: ${k.disconnect ? 'a DISCONNECT' : 'no DISCONNECT'}`, async () => {
      const want = k.disconnect ? 'DISCONNECT' : 'closed';
      expect(await run('pure-ssh', k)).toBe(want);
      if (sshClientAvailable()) expect(await run('ssh', k)).toBe(want);
    }, 60_000);
  }
});
