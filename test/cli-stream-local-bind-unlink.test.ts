/**
 * ssh_config(5) StreamLocalBindUnlink beside ssh 9.2 (break20 F7): a socket file left at a -L
 * path by an earlier run (killed with -9) is removed before the bind (misc.c unix_listener), so
 * the forward comes up; without the option both fail on it with unix_listener's line; a path
 * that cannot be unlinked (a directory) is said, then the bind fails as ssh's does. pure-ssh used
 * to ignore the keyword (a -v line) and fail on the stale socket.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { PYTHON } from './harness/net.js';
import { deliverSignal, startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

/** A socket file nobody listens on, as a process killed with -9 leaves it. */
function staleSocket(path: string): void {
  const r = spawnSync(PYTHON, ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)', path]);
  if (r.status !== 0) throw new Error(`python3: ${r.stderr}`);
  expect(statSync(path).isSocket()).toBe(true);
}

/** Sends `text` through the Unix socket at `path` and reads the whole reply. */
function echoVia(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path, () => s.end(text));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

describeInteropWithHome('StreamLocalBindUnlink, beside ssh 9.2', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-unlink-');
  const sshd = sshdSuite({ builtCli: true });
  let echo: net.Server;
  let echoPort = 0;
  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise((r) => echo.close(r)));

  const args = (path: string, unlink: boolean) => [
    ...(unlink ? ['-o', 'StreamLocalBindUnlink=yes'] : []), '-o', 'ExitOnForwardFailure=yes', ...sshd.clientArgs,
    '-N', '-L', `${path}:127.0.0.1:${echoPort}`, sshd.target,
  ];

  it('a stale socket at the -L path: unlinked, the forward listens and carries a connection', async () => {
    for (const client of ['ssh', 'pure-ssh'] as CliClient[]) {
      const path = join(dir, `stale-${client.replace(/\W/g, '')}.sock`);
      staleSocket(path);
      const run = startCli(client, [...args(path, true), '-v'], { env: cliEnv(home) });
      try {
        await expect.poll(() => run.stderr, { timeout: 15_000 }).toContain(`Local forwarding listening on path ${path}.`);
        expect(await echoVia(path, `through ${client}`)).toBe(`through ${client}`);
        expect(run.stderr, client).not.toMatch(/unlink\(|cannot bind/);
      } finally {
        deliverSignal(run.child, 'SIGTERM');
        await run.done;
      }
    }
  }, 60_000);

  it('without it the stale socket fails the forward, and a directory cannot be unlinked: ssh\'s lines, exit 255', async () => {
    const seen: Record<string, string[]> = {};
    for (const client of ['ssh', 'pure-ssh'] as CliClient[]) {
      const stale = join(dir, `kept-${client.replace(/\W/g, '')}.sock`);
      staleSocket(stale);
      const directory = join(dir, `dir-${client.replace(/\W/g, '')}`);
      mkdirSync(directory);
      const a = await startCli(client, args(stale, false), { env: cliEnv(home) }).done;
      const b = await startCli(client, args(directory, true), { env: cliEnv(home) }).done;
      seen[client] = [`${a.code}`, a.stderr.replaceAll(stale, 'STALE'), `${b.code}`, b.stderr.replaceAll(directory, 'DIR')];
    }
    expect(seen.ssh).toEqual([
      '255', 'unix_listener: cannot bind to path STALE: Address already in use\r\nCould not request local forwarding.\r\n',
      '255', 'unlink(DIR): Is a directory\r\nunix_listener: cannot bind to path DIR: Address already in use\r\nCould not request local forwarding.\r\n',
    ]);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
