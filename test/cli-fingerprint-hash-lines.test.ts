/**
 * FingerprintHash in every -v line that shows a key's fingerprint: ssh(1) 9.2 writes them all
 * with options.fingerprint_hash (sshconnect.c, sshconnect2.c format_identity). pure-ssh's own line
 * for a certificate it leaves out for want of its private key (`ignoring certificate ...: no
 * private key for ...`) was SHA256 whatever FingerprintHash said.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli } from './harness/proc.js';

describeInteropWithHome('CLI: FingerprintHash md5 in the -v fingerprint lines', () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  it('no SHA256 fingerprint anywhere, the certificate without its key included', async () => {
    // A user certificate for a key that is not among the identities.
    const other = join(sshd.dir, 'fp-other');
    const ca = join(sshd.dir, 'fp-ca');
    for (const k of [other, ca]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', k]);
    execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'id', '-n', 'root', `${other}.pub`]);
    const md5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', `${other}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    const args = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'FingerprintHash=md5',
      '-o', `CertificateFile=${other}-cert.pub`, '-v', '-W', '127.0.0.1:1', sshd.target];
    const { stderr } = await startCli('pure-ssh', args, { env: cliEnv(home) }).done;
    const lines = stderr.replace(/\r/g, '').split('\n');
    expect(lines).toContain(`debug1: ignoring certificate ${other}-cert.pub: no private key for ssh-ed25519 ${md5} among the identities`);
    expect(lines.filter((l) => l.includes('SHA256:'))).toEqual([]);
    expect(lines.filter((l) => l.includes('MD5:')).length).toBeGreaterThan(3);
  }, 60_000);
});
