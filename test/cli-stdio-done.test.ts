/**
 * `-v -W`: the forwarded connection ending (the far server writes a line and closes) ends ssh 9.2
 * with clientloop.c client_cleanup_stdio_fwd's "stdio forwarding: done" and cleanup_exit(0):
 * that is its last line, with no byte totals after it, and the exit status is 0. Standard input
 * stays open: the server's EOF ends the channel's input too (channels.c channel_input_ieof,
 * force_drain: "channel 0: FORCE input drain").
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

describeInteropWithHome('CLI -v -W: the end of the forwarded connection, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let server: net.Server;
  let port: number;
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

  it('"debug1: stdio forwarding: done" last, exit 0, the data on stdout, as ssh', async () => {
    const args = [...sshd.clientArgs, '-v', '-W', `127.0.0.1:${port}`, sshd.target];
    const runs = [];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      // Standard input stays open: the far end's close ends the forward (ssh: FORCE input drain).
      const run = startCli(client, args, { env: cliEnv(home), stdin: 'pipe', stdout: 'pipe' });
      const { code, stdout, stderr } = await run.done;
      run.child.stdin?.destroy();
      const lines = stderr.replace(/\r/g, '').trimEnd().split('\n').filter((l) => !/^debug[23]: /.test(l));
      runs.push({ client, code, stdout, last: lines.slice(-1), drain: lines.filter((l) => /FORCE/.test(l)), totals: lines.filter((l) => /Transferred/.test(l)) });
    }
    const expected = { code: 0, stdout: 'hello\n', last: ['debug1: stdio forwarding: done'], drain: ['debug1: channel 0: FORCE input drain'], totals: [] };
    expect(runs).toEqual([{ client: 'ssh', ...expected }, { client: 'pure-ssh', ...expected }]);
  }, 60_000);

  it('standard input still sending when the far end closes: the same end, exit 0, no "write after end"', async () => {
    // The far end reads nothing and closes after 0.5 s while stdin keeps sending (a busy
    // ProxyCommand's shape): the bytes read after the FORCE input drain go nowhere, as ssh's do.
    const busy = net.createServer((s) => {
      s.on('error', () => {});
      s.write('bye\n');
      setTimeout(() => s.destroy(), 500);
    });
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      const args = [...sshd.clientArgs, '-W', `127.0.0.1:${busyPort}`, sshd.target];
      const runs = [];
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const run = startCli(client, args, { env: cliEnv(home), stdin: 'pipe', stdout: 'pipe' });
        const chunk = Buffer.alloc(16 * 1024, 0x79);
        const feed = setInterval(() => run.child.stdin?.write(chunk, () => {}), 5);
        run.child.stdin?.on('error', () => {});
        const { code, stdout, stderr } = await run.done;
        clearInterval(feed);
        run.child.stdin?.destroy();
        runs.push({ client, code, stdout, stderr: stderr.replace(/\r/g, '') });
      }
      const expected = { code: 0, stdout: 'bye\n', stderr: '' };
      expect(runs).toEqual([{ client: 'ssh', ...expected }, { client: 'pure-ssh', ...expected }]);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  }, 60_000);

  it("-v: the channel's lines (new, FORCE input drain, done; a refused open's error) as ssh's, no others", async () => {
    // channels.c channel_new names the -W channel "stdio-forward" (ssh.c channel_connect_stdio_fwd);
    // the confirmation and close have no debug1 line. pure-ssh said `new [direct-tcpip] to HOST:PORT`,
    // `open confirmed`, `closed`, and a refusal twice.
    const channelLines = (stderr: string) =>
      stderr.replace(/\r/g, '').split('\n').filter((l) => /channel|stdio/.test(l) && !/^debug[23]: /.test(l));
    for (const target of [`127.0.0.1:${port}`, '127.0.0.1:1']) {
      const args = [...sshd.clientArgs, '-v', '-W', target, sshd.target];
      const runs = [];
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const run = startCli(client, args, { env: cliEnv(home), stdin: 'pipe', stdout: 'pipe' });
        const { code, stderr } = await run.done;
        run.child.stdin?.destroy();
        runs.push({ code, lines: channelLines(stderr) });
      }
      const refused = target.endsWith(':1');
      const expected = {
        code: refused ? 255 : 0,
        lines: [
          `debug1: channel_connect_stdio_fwd: ${target}`,
          'debug1: channel 0: new stdio-forward [stdio-forward] (inactive timeout: 0)',
          ...(refused ? ['channel 0: open failed: connect failed: Connection refused', 'stdio forwarding failed'] : ['debug1: channel 0: FORCE input drain', 'debug1: stdio forwarding: done']),
        ],
      };
      expect(runs).toEqual([expected, expected]);
    }
  }, 60_000);
});
