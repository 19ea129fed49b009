/**
 * Two identity files announcing the same public key: a stale FILE.pub beside another private key
 * (or a key copied under a new name without its .pub). ssh(1) offers each identity in turn and
 * signs with the one the server accepted (sshconnect2.c sign_and_send_pubkey / identity_sign):
 * the first fails with "private key ... contents do not match public", the second logs in.
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
import { sshdSuite } from './harness/sshd.js';
import { runCli } from './support/cli-run.js';

const execFileP = promisify(execFile);

describeInteropWithHome('identity files with the same public key (a stale FILE.pub)', () => {
  const sshd = sshdSuite();
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
      expect(err).toContain(`signing failed for ED25519 "${stale}"`);
      expect(err).not.toContain(`signing failed for ED25519 "${good}"`);
      expect(err).toMatch(/Authenticated to .* using "publickey"/);
    } finally {
      await run.kill();
    }
    // OpenSSH's client with the same files logs in with the second one.
    const { stderr } = await execFileP('ssh', [...args, '-v', sshd.host, 'true'], { env: cliEnv(dir) });
    expect(stderr).toContain(`identity_sign: private key ${stale} contents do not match public`);
    expect(stderr).toMatch(/Authenticated to .* using "publickey"/);
  });
});
