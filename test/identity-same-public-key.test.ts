/**
 * Two identity files announcing the same public key: a stale FILE.pub beside another private key
 * (or a key copied under a new name without its .pub). ssh(1) offers each identity in turn and
 * signs with the one the server accepted (sshconnect2.c sign_and_send_pubkey / identity_sign):
 * the first fails with "private key ... contents do not match public" (identity_sign's error line,
 * no "signing failed" line after it), the second logs in.
 * The Node adapter used to pick the signer by public key blob alone, so the second offer was
 * signed by the first file's signer again and authentication failed. Real sshd, real key files,
 * the CLI (it offers key files by their public half, src/node/identity-file.ts).
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { startCli } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';
import { runCli } from './support/cli-run.js';

const execFileP = promisify(execFile);

describeInteropWithHome('identity files with the same public key (a stale FILE.pub)', () => {
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-same-pub-');
  let stale: string;
  let good: string;

  beforeAll(async () => {
    // `stale`: another private key, with the authorised key's public half as its .pub.
    stale = join(dir, 'stale');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stale]);
    good = join(dir, 'good');
    await copyFile(sshd.clientKeyPath, good);
    await chmod(good, 0o600);
    await execFileP('sh', ['-c', `ssh-keygen -y -f '${good}' > '${good}.pub' && cp '${good}.pub' '${stale}.pub'`]);
  });

  it('CLI: the stale file fails to sign, the next identity with the same public key signs for itself and logs in (as ssh does)', async () => {
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-i', stale, '-i', good,
      '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
    ];
    const run = runCli([...args, '-N', '-v', sshd.host], { env: cliEnv(dir) });
    try {
      await run.waitFor(/Authenticated to |Permission denied/);
      const err = run.stderr();
      expect(err).toContain(`identity_sign: private key ${stale} contents do not match public`);
      expect(err).not.toContain('signing failed');
      expect(err).toMatch(/Authenticated to .* using "publickey"/);
    } finally {
      await run.kill();
    }
    // OpenSSH's client with the same files logs in with the second one.
    const { stderr } = await execFileP('ssh', [...args, '-v', sshd.host, 'true'], { env: cliEnv(dir) });
    expect(stderr).toContain(`identity_sign: private key ${stale} contents do not match public`);
    expect(stderr).toMatch(/Authenticated to .* using "publickey"/);
  });

  // sshconnect2.c identity_sign: error_f("private key %s contents do not match public") and
  // SSH_ERR_KEY_NOT_FOUND, a soft failure: sign_and_send_pubkey says no "signing failed" line.
  // pure-ssh said `sign_and_send_pubkey: signing failed for ED25519 "STALE": STALE does not hold
  // the private half ...`.
  for (const verbose of [false, true]) {
    it(`CLI${verbose ? ' -v' : ''}: the publickey lines, identity_sign's error and no "signing failed", word for word as ssh 9.2`, async () => {
      const args = [
        '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-i', stale, '-i', good,
        '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
        ...(verbose ? ['-v'] : []), '-W', '127.0.0.1:1', sshd.host,
      ];
      // -W to a closed port: the run ends once logged in.
      const section = (stderr: string) => {
        const lines = stderr.replace(/\r/g, '').split('\n');
        const from = lines.indexOf('debug1: Next authentication method: publickey');
        const to = lines.findIndex((l) => l.startsWith('Authenticated to '));
        return verbose ? lines.slice(from, to + 1) : lines;
      };
      const theirs = section((await startCli('ssh', args, { env: cliEnv(dir) }).done).stderr);
      const ours = section((await startCli('pure-ssh', args, { env: cliEnv(dir) }).done).stderr);
      expect(theirs).toContain(`identity_sign: private key ${stale} contents do not match public`);
      expect(ours).toEqual(theirs);
    }, 60_000);
  }
});
