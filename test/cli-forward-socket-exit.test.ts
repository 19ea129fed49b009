/**
 * What a forward leaves behind when the command ends, beside ssh 9.2 against sshd 9.2.
 *
 * Local socket files: ssh(1) never unlinks the socket of a `-L /path:...`, `-L /path:/remote` or
 * `-D /path` (channels.c channel_setup_fwd_listener_streamlocal binds it; channel_free and
 * cleanup_exit only close it), so the file stays after ssh exits, however it ends: SIGTERM,
 * SIGINT, SIGHUP, the connection lost, ExitOnForwardFailure's fatal(), the end of -W (its
 * forwards kept with ClearAllForwardings=no). pure-ssh removed them (Node's net.Server unlinks its
 * socket as it closes, and the listener unlinked it too), and set up no forward beside -W.
 *
 * Remote forwards: ssh(1) sends no cancel-tcpip-forward nor cancel-streamlocal-forward@openssh.com
 * at exit (clientloop.c client_loop: its DISCONNECT, then channel_free_all); sshd frees them with
 * the connection. pure-ssh cancelled each one first (seen in sshd's DEBUG3 log).
 *
 * The library keeps removing the file unless told `keepFile`.
 */
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectTo } from './harness/client.js';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { deliverSignal, startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

const CLIENTS: CliClient[] = ['ssh', 'pure-ssh'];

describeInteropWithHome('socket files and remote forwards at exit, beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-sockexit-');
  const sshd = sshdSuite({ builtCli: true, config: { LogLevel: 'DEBUG3' } });
  let echo: net.Server;
  let echoPort = 0;
  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise((r) => echo.close(r)));

  /** Whether each file is there, once all are sockets or the client exited. */
  const socketsOf = (paths: string[]) => paths.map((p) => existsSync(p) && statSync(p).isSocket());

  it('-L /path:host:port, -L /path:/remote, -D /path: the socket files stay at every end, as ssh leaves them', async () => {
    const endings = ['SIGTERM', 'SIGINT', 'SIGHUP', 'connection lost', 'ExitOnForwardFailure', '-W at its end'] as const;
    const seen: Record<string, Record<string, unknown>> = {};
    for (const client of CLIENTS) {
      seen[client] = {};
      for (const ending of endings) {
        const tag = `${client.replace(/\W/g, '')}-${ending.replace(/\W/g, '')}`;
        const paths = [join(dir, `${tag}-L.sock`), join(dir, `${tag}-Lr.sock`), join(dir, `${tag}-D.sock`)];
        const stdio = ending === '-W at its end';
        const args = [
          // -W clears the forwards unless ClearAllForwardings=no (readconf.c fill_default_options).
          ...sshd.clientArgs, ...(stdio ? ['-W', `127.0.0.1:${echoPort}`, '-o', 'ClearAllForwardings=no'] : ['-N']),
          '-L', `${paths[0]}:127.0.0.1:${echoPort}`, '-L', `${paths[1]}:${join(dir, 'remote.sock')}`, '-D', paths[2]!,
          // A second -L on a port in use: fatal("Could not request local forwarding.") once the others listen.
          ...(ending === 'ExitOnForwardFailure' ? ['-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${echoPort}:127.0.0.1:9`] : []),
          sshd.target,
        ];
        const run = startCli(client, args, { env: cliEnv(home), stdin: stdio ? 'pipe' : 'ignore' });
        if (ending !== 'ExitOnForwardFailure') {
          await expect.poll(() => socketsOf(paths), { timeout: 15_000, message: `${client}: ${run.stderr}` }).toEqual([true, true, true]);
          // The -L forward works (a listener that closed early would leave a file too).
          const through = await new Promise<string>((resolve, reject) => {
            const s = net.connect(paths[0]!, () => s.end('ping'));
            let got = '';
            s.setEncoding('utf8').on('data', (d: string) => (got += d)).on('end', () => resolve(got)).on('error', reject);
          });
          expect(through).toBe('ping');
          if (ending === 'connection lost') sshd.killConnections();
          else if (stdio) run.child.stdin!.end();
          else deliverSignal(run.child, ending);
        }
        const { code } = await run.done;
        seen[client][ending] = { code, files: socketsOf(paths) };
      }
    }
    // ssh 9.2: every file stays (255: a signal other than SIGTERM, the loss, the fatal()).
    expect(seen.ssh).toEqual({
      SIGTERM: { code: 0, files: [true, true, true] },
      SIGINT: { code: 255, files: [true, true, true] },
      SIGHUP: { code: 255, files: [true, true, true] },
      'connection lost': { code: 255, files: [true, true, true] },
      ExitOnForwardFailure: { code: 255, files: [true, true, true] },
      '-W at its end': { code: 0, files: [true, true, true] },
    });
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 120_000);

  it('-R /remote/path and -R port: no cancel-streamlocal-forward or cancel-tcpip-forward at exit (sshd\'s log), as ssh sends none', async () => {
    const seen: Record<string, unknown> = {};
    for (const client of CLIENTS) {
      const tag = client.replace(/\W/g, '');
      const remote = join(dir, `${tag}-R.sock`);
      const args = [...sshd.clientArgs, '-v', '-N', '-R', `${remote}:127.0.0.1:${echoPort}`, '-R', `127.0.0.1:0:127.0.0.1:${echoPort}`, sshd.target];
      const from = sshd.logs().length;
      const run = startCli(client, args, { env: cliEnv(home) });
      // Both granted (ssh.c ssh_confirm_remote_forward's lines).
      await expect.poll(() => run.stderr.match(/remote forward success for: /g)?.length ?? 0, { timeout: 15_000, message: run.stderr }).toBe(2);
      deliverSignal(run.child, 'SIGTERM');
      expect((await run.done).code).toBe(0);
      // The connection's sshd has read the DISCONNECT (and anything before it).
      await expect.poll(() => sshd.logs().slice(from), { timeout: 10_000 }).toMatch(/Received disconnect from/);
      const log = sshd.logs().slice(from);
      expect(log).toMatch(/server_input_global_request: rtype streamlocal-forward@openssh\.com want_reply 1/);
      expect(log).toMatch(/server_input_global_request: rtype tcpip-forward want_reply 1/);
      seen[client] = log.match(/server_input_global_request: rtype cancel-\S+/g) ?? [];
    }
    expect(seen).toEqual({ ssh: [], 'pure-ssh': [] });
  }, 60_000);

  it('library: a Unix socket forward\'s file is removed at close(), kept with keepFile; SshClient.close() cancels no remote forward', async () => {
    const ssh = await connectTo(sshd);
    const from = sshd.logs().length;
    try {
      const removed = join(dir, 'lib-removed.sock');
      const kept = join(dir, 'lib-kept.sock');
      const a = await ssh.forwardLocal({ listen: { path: removed }, to: { host: '127.0.0.1', port: echoPort } });
      const b = await ssh.forwardDynamic({ listen: { path: kept, keepFile: true } });
      await ssh.forwardRemote({ listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: echoPort } });
      expect(socketsOf([removed, kept])).toEqual([true, true]);
      await a.close();
      await b.close();
      expect(socketsOf([removed, kept])).toEqual([false, true]);
      // Nobody listens on the file left.
      await expect(new Promise((resolve, reject) => net.connect(kept, () => resolve('connected')).on('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(ssh.forwardLocal({ listen: { path: kept, keepFile: 'yes' } as never, to: { host: 'h', port: 1 } })).rejects.toThrow(
        'forwardLocal: listen.keepFile must be a boolean, got "yes"',
      );
    } finally {
      await ssh.close();
    }
    await expect.poll(() => sshd.logs().slice(from), { timeout: 10_000 }).toMatch(/Received disconnect from/);
    expect(sshd.logs().slice(from)).not.toMatch(/rtype cancel-tcpip-forward/);
  }, 30_000);
});
