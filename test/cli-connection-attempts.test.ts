/**
 * ssh_config(5) ConnectionAttempts beside ssh 9.2 (break20 F8): a server that comes up after the
 * client started (a VM booting) is reached on a later try, one second apart, with sshconnect.c
 * ssh_connect_direct's -v lines; when every try fails, the last one's error. pure-ssh used to
 * ignore the keyword (a -v line) and fail at once. The library's `connectionAttempts` likewise.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { connect, UsageError } from '../src/index.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { descendants, exited, own, signalAll, startCli, type CliClient } from './harness/proc.js';
import { clientArgsVia, SSHD_PATH, sshdSuite, type SshdHandle } from './harness/sshd.js';

/**
 * A second sshd with the suite's configuration and keys, listening on `port` (ssh's -p): the
 * server that comes up late. Stop it with the returned function.
 */
async function lateSshd(sshd: SshdHandle, port: number): Promise<() => Promise<void>> {
  const child = spawn(SSHD_PATH, ['-D', '-e', '-f', sshd.configPath, '-p', String(port), '-o', `PidFile=${sshd.dir}/late-${port}.pid`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ownership = own(child.pid!);
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  await expect.poll(() => log, { timeout: 10_000 }).toContain(`Server listening on ${sshd.host} port ${port}.`);
  return async () => {
    signalAll([child.pid!, ...descendants(child.pid!)], 'SIGKILL');
    await exited(child);
    ownership.release();
  };
}

/** The lines of ssh_connect_direct's loop and its outcome, in order. */
const attemptLines = (stderr: string) =>
  stderr.replace(/\r/g, '').split('\n').filter((l) => /^debug1: (connect to address |Trying again)|^ssh: connect to host |^Authenticated to /.test(l));

describeInteropWithHome('ConnectionAttempts, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });

  it('the server starts after the client: a later try connects and logs in, after ssh\'s lines for the refused ones', async () => {
    for (const client of ['ssh', 'pure-ssh'] as CliClient[]) {
      const port = await freePort();
      const run = startCli(client, ['-o', 'ConnectionAttempts=8', ...clientArgsVia(sshd, port), '-v', '-N', sshd.target], {
        env: cliEnv(home),
        until: /Authenticated to /,
        killAfterMs: 30_000,
      });
      // The client has been refused once: only now does the server start.
      await expect.poll(() => run.stderr, { timeout: 20_000 }).toContain(`connect to address 127.0.0.1 port ${port}: Connection refused`);
      const stop = await lateSshd(sshd, port);
      try {
        const r = await run.done;
        const lines = attemptLines(r.stderr);
        expect(lines.at(-1), client).toBe(`Authenticated to 127.0.0.1 ([127.0.0.1]:${port}) using "publickey".`);
        const tries = lines.slice(0, -1);
        expect(tries.length, `${client}: ${r.stderr}`).toBeGreaterThanOrEqual(2);
        // Each refused try, then (one second later) the next.
        tries.forEach((l, i) => expect(l, client).toBe(i % 2 === 0 ? `debug1: connect to address 127.0.0.1 port ${port}: Connection refused` : 'debug1: Trying again...'));
        expect(tries.length % 2, client).toBe(0);
      } finally {
        await stop();
      }
    }
  }, 90_000);

  it('every try refused: the same -v lines, then the last try\'s error, exit 255, a second between tries', async () => {
    const port = await freePort();
    const seen: Record<string, { code: number | null; lines: string[]; quiet: string }> = {};
    for (const client of ['ssh', 'pure-ssh'] as CliClient[]) {
      const args = ['-F', 'none', '-o', 'ConnectionAttempts=3', '-o', 'BatchMode=yes', '-p', String(port), '-N', '127.0.0.1'];
      const started = Date.now();
      const verbose = await startCli(client, [...args, '-v'], { env: cliEnv(home) }).done;
      // Three tries: two pauses of a second.
      expect(Date.now() - started, client).toBeGreaterThanOrEqual(2000);
      const quiet = await startCli(client, args, { env: cliEnv(home) }).done;
      seen[client] = { code: verbose.code, lines: attemptLines(verbose.stderr), quiet: `${quiet.code} ${quiet.stderr}` };
    }
    const refused = `debug1: connect to address 127.0.0.1 port ${port}: Connection refused`;
    expect(seen.ssh).toEqual({
      code: 255,
      lines: [refused, 'debug1: Trying again...', refused, 'debug1: Trying again...', refused, `ssh: connect to host 127.0.0.1 port ${port}: Connection refused`],
      quiet: `255 ssh: connect to host 127.0.0.1 port ${port}: Connection refused\r\n`,
    });
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);

  it('a name that does not resolve: no try at all, ssh\'s one line at once (ssh.c resolve_host comes before the tries)', async () => {
    const seen: Record<string, string> = {};
    for (const client of ['ssh', 'pure-ssh'] as CliClient[]) {
      const args = ['-F', 'none', '-o', 'ConnectionAttempts=3', '-N', 'no-such-host.invalid'];
      const quiet = await startCli(client, args, { env: cliEnv(home) }).done;
      const verbose = await startCli(client, [...args, '-v'], { env: cliEnv(home) }).done;
      expect(verbose.stderr, client).not.toContain('Trying again');
      seen[client] = `${quiet.code} ${quiet.stderr}`;
    }
    expect(seen.ssh).toBe('255 ssh: Could not resolve hostname no-such-host.invalid: Name or service not known\r\n');
    expect(seen['pure-ssh']).toBe(seen.ssh);
  }, 60_000);

  it('library: connectionAttempts reaches a server that starts late, with ssh\'s debug lines; 0 is a UsageError', async () => {
    await expect(connect({ host: '127.0.0.1', username: 'root', connectionAttempts: 0, knownHosts: sshd.knownHostsPath })).rejects.toThrow(UsageError);
    const port = await freePort();
    const debug: string[] = [];
    const connecting = connect({
      host: '127.0.0.1',
      port,
      username: sshd.user,
      privateKey: readFileSync(sshd.clientKeyPath, 'utf8'),
      verifyHostKey: () => true,
      connectionAttempts: 10,
      debug: (m) => debug.push(m),
    });
    await expect.poll(() => debug, { timeout: 10_000 }).toContain(`connect to address 127.0.0.1 port ${port}: Connection refused`);
    const stop = await lateSshd(sshd, port);
    try {
      const ssh = await connecting;
      expect(debug).toContain('Trying again...');
      await ssh.close();
    } finally {
      await stop();
    }
  }, 60_000);
});
