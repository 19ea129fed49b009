/**
 * StrictHostKeyChecking=accept-new / no with a UserKnownHostsFile that cannot be written: ssh 9.2
 * accepts the new key by policy, says sshconnect.c check_host_key's logit() line "Failed to add
 * the host to the list of known hosts (FILE)." and connects. pure-ssh refused the key
 * ("Host key verification failed.", exit 255). Both clients run side by side against one sshd,
 * with -L to a free port: the listener is up only once the session is, then both are ended and
 * their stderr compared. The forward's target is sshd's own port, which accepts: the listener
 * check's connection opens a channel, and a refused target's "open failed" line would come or not
 * depending on whether the client was killed before the answer. Needs `npm run build` first.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { requireBuiltCli, startCli, waitForListen, type CliClient } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

describeInteropWithHome('a known_hosts file that cannot be written: a warning, and the connection goes on, as ssh', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let dir: string;
  beforeAll(async () => {
    requireBuiltCli();
    sshd = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-kh-unwritable-'));
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), dir && rm(dir, { recursive: true, force: true })]);
  });

  /** Runs `client` until its -L listener is up (it then is in session) and ends it; its stderr. */
  async function connectWith(client: CliClient, knownHosts: string, mode: string): Promise<string> {
    const port = await freePort();
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', `StrictHostKeyChecking=${mode}`,
      '-N', '-L', `127.0.0.1:${port}:127.0.0.1:${sshd.port}`, sshd.target,
    ];
    const run = startCli(client, args, { env: cliEnv(home) });
    try {
      await waitForListen(run, port);
    } finally {
      run.child.kill('SIGKILL');
    }
    return (await run.done).stderr;
  }

  it('a directory in its place, and a path under a regular file: "Failed to add the host ..." and in session', async () => {
    const khDir = join(dir, 'kh-dir');
    await mkdir(khDir);
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    for (const knownHosts of [khDir, join(file, 'known_hosts')]) {
      for (const mode of ['accept-new', 'no']) {
        const theirs = await connectWith('ssh', knownHosts, mode);
        const ours = await connectWith('pure-ssh', knownHosts, mode);
        expect(theirs, `${knownHosts} ${mode}`).toBe(`Failed to add the host to the list of known hosts (${knownHosts}).\r\n`);
        expect(ours, `${knownHosts} ${mode}`).toBe(theirs);
      }
    }
  });

  it('ask (with BatchMode, and without a terminal): a path under a regular file is hostkeys_find_by_key_hostfile\'s error line, then "Host key verification failed."', async () => {
    // sshconnect.c check_host_key words its question before confirm() answers: the look-up of
    // other names for the key (hostkeys_find_by_key) cannot open the file (ENOTDIR), error_fr().
    const file = join(dir, 'a-file-ask');
    await writeFile(file, '');
    const knownHosts = join(file, 'known_hosts');
    for (const batch of [['-o', 'BatchMode=yes'], []]) {
      const args = [
        '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', ...batch,
        '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=ask',
        '-N', sshd.target,
      ];
      // A session of its own: no terminal to ask on.
      const theirs = await startCli('ssh', args, { env: cliEnv(home), detached: true }).done;
      const ours = await startCli('pure-ssh', args, { env: cliEnv(home), detached: true }).done;
      expect(theirs.stderr, batch.join(' ')).toBe(
        `hostkeys_find_by_key_hostfile: hostkeys_foreach failed for ${knownHosts}: Not a directory\r\nHost key verification failed.\r\n`,
      );
      expect({ code: ours.code, stderr: ours.stderr }, batch.join(' ')).toEqual({ code: theirs.code, stderr: theirs.stderr });
      expect(theirs.code).toBe(255);
    }
  });
});
