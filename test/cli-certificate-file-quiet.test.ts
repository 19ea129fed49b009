/**
 * A CertificateFile that is missing or holds a plain public key: ssh 9.2 logs in with the key and
 * says nothing at the default level (ssh.c load_public_identity_files: check_load passes over a
 * missing file; a plain key is a debug line). pure-ssh printed `Load certificate "…": … (skipped)`.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli } from './harness/proc.js';

describeInteropWithHome('CLI: a CertificateFile that is missing or not a certificate, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  it('silent at the default level, a debug line with -v; the key still logs in', async () => {
    const base = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', `CertificateFile=${join(sshd.dir, 'no-such-cert.pub')}`, '-o', `CertificateFile=${sshd.clientKeyPath}.pub`];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      // -W to a closed port: logged in, then the forward fails at once and the run ends.
      const quiet = await startCli(client, [...base, '-W', '127.0.0.1:1', sshd.target], { env: cliEnv(home) }).done;
      expect(quiet.stderr.replace(/\r/g, ''), client).toBe('channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed\n');
      const verbose = await startCli(client, [...base, '-v', '-W', '127.0.0.1:1', sshd.target], { env: cliEnv(home) }).done;
      expect(verbose.stderr.replace(/\r/g, ''), client).toContain(`debug1: load_public_identity_files: key ${sshd.clientKeyPath}.pub type ED25519 is not a certificate\n`);
    }
  }, 60_000);
});
