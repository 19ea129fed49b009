/**
 * A CertificateFile that is missing or holds a plain public key: ssh 9.2 logs in with the key and
 * says nothing at the default level (ssh.c load_public_identity_files: check_load passes over a
 * missing file; a plain key is a debug line). pure-ssh printed `Load certificate "…": … (skipped)`.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

function run(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd[0]!, cmd.slice(1), { env, timeout: 20_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr: stderr.replace(/\r/g, '') }),
    );
  });
}

describeInteropWithHome('CLI: a CertificateFile that is missing or not a certificate, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('silent at the default level, a debug line with -v; the key still logs in', async () => {
    const base = ['-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', `CertificateFile=${join(sshd.dir, 'no-such-cert.pub')}`, '-o', `CertificateFile=${sshd.clientKeyPath}.pub`];
    for (const cmd of [[sshd.openssh.ssh], [process.execPath, CLI]]) {
      // -W to a closed port: logged in, then the forward fails at once and the run ends.
      const quiet = await run([...cmd, ...base, '-W', '127.0.0.1:1', sshd.target], cliEnv(home));
      expect(quiet.stderr, cmd[0]).toBe('channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed\n');
      const verbose = await run([...cmd, ...base, '-v', '-W', '127.0.0.1:1', sshd.target], cliEnv(home));
      expect(verbose.stderr, cmd[0]).toContain(`debug1: load_public_identity_files: key ${sshd.clientKeyPath}.pub type ED25519 is not a certificate\n`);
    }
  }, 60_000);
});
