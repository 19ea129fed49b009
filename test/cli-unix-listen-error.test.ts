/**
 * `-L PATH:host:port` whose listening socket cannot be made: pure-ssh prints misc.c
 * unix_listener's line as ssh does, with bind(2)'s own reason. libuv reports a missing directory
 * (bind's ENOENT) as EACCES, which read "Permission denied" where ssh says "No such file or
 * directory". Both clients run against the same sshd; needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, processHome, suiteDir } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

describeInteropWithHome('-L to a Unix socket path that cannot be bound: the same line as ssh', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-unix-listen-');

  /** Run one client with ExitOnForwardFailure (it exits once the listener failed); its stderr lines. */
  function run(cmd: string[], listen: string): Promise<{ code: number | null; lines: string[] }> {
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes',
      '-N', '-L', `${listen}:127.0.0.1:1`, '127.0.0.1',
    ];
    const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    return new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, lines: err.split(/\r?\n/).filter((l) => l.startsWith('unix_listener')) });
      }),
    );
  }

  it('a missing directory and a file in the path: "No such file or directory", "Not a directory"', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    for (const listen of [join(dir, 'no-such-dir', 'sock'), join(file, 'sock')]) {
      const [ours, theirs] = await Promise.all([run([process.execPath, CLI], listen), run([sshd.openssh.ssh], listen)]);
      expect(theirs.lines.length, listen).toBe(1);
      expect(ours.lines, listen).toEqual(theirs.lines);
      expect(ours.code, listen).toBe(theirs.code);
    }
  });

  it('a symbolic link loop in the path: strerror\'s "Too many levels of symbolic links", not Node\'s text', async () => {
    const loop = join(dir, 'loop');
    await symlink(loop, loop);
    const listen = join(loop, 'sock');
    const [ours, theirs] = await Promise.all([run([process.execPath, CLI], listen), run([sshd.openssh.ssh], listen)]);
    expect(theirs.lines, listen).toEqual([`unix_listener: cannot bind to path ${listen}: Too many levels of symbolic links`]);
    expect(ours.lines, listen).toEqual(theirs.lines);
    expect(ours.code, listen).toBe(theirs.code);
  });
});
