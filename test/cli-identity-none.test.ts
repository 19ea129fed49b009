/**
 * `IdentityFile none` and `CertificateFile none` once connected, beside ssh 9.2 (break20 L2):
 * ssh.c load_public_identity_files passes over an identity file named `none` (strcasecmp), and
 * keeps a certificate file `none` as a file name (missing: `certificate file none type -1`), which,
 * being a CertificateFile, stops the `KEY-cert` look-ups. pure-ssh used to say `no such identity:
 * none: No such file or directory` and to look for `KEY-cert` (-G: config-dump.test.ts).
 */
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

/** ssh.c's lines about the identity and certificate files, in order. */
const fileLines = (stderr: string) => stderr.replace(/\r/g, '').split('\n').filter((l) => /^debug1: (identity|certificate) file /.test(l));

describeInteropWithHome('IdentityFile none, CertificateFile none, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });

  it('logged in with the -i key; the same stderr and the same identity/certificate file lines', async () => {
    const seen: Record<string, string[]> = {};
    for (const client of ['ssh', 'pure-ssh'] as CliClient[]) {
      const out: string[] = [];
      for (const o of [['-o', 'IdentityFile=none'], ['-o', 'CertificateFile=none'], ['-o', 'IdentityFile=NONE', '-o', 'CertificateFile=none']]) {
        // -W to a closed port: the login happens, then the channel is refused (ssh's two lines).
        const args = [...o, ...sshd.clientArgs, '-W', '127.0.0.1:1', sshd.target];
        const quiet = await startCli(client, args, { env: cliEnv(home) }).done;
        const verbose = await startCli(client, ['-v', ...args], { env: cliEnv(home) }).done;
        out.push(`${quiet.code} ${quiet.stderr}`, ...fileLines(verbose.stderr), verbose.stderr.includes('Authenticated to ') ? 'authenticated' : 'not authenticated');
      }
      seen[client] = out;
    }
    const key = sshd.clientKeyPath;
    const refused = '255 channel 0: open failed: connect failed: Connection refused\r\nstdio forwarding failed\r\n';
    expect(seen.ssh).toEqual([
      refused, `debug1: identity file ${key} type 3`, `debug1: identity file ${key}-cert type -1`, 'authenticated',
      refused, `debug1: identity file ${key} type 3`, 'debug1: certificate file none type -1', 'authenticated',
      refused, `debug1: identity file ${key} type 3`, 'debug1: certificate file none type -1', 'authenticated',
    ]);
    expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
