/**
 * A CertificateFile that is missing or holds a plain public key: ssh 9.2 logs in with the key and
 * says nothing at the default level (ssh.c load_public_identity_files: check_load passes over a
 * missing file; a plain key is a debug line). pure-ssh printed `Load certificate "…": … (skipped)`.
 * Nor for one that does not load: authfile.c sshkey_load_public answers every failure as a missing
 * file (a certificate cut short, with a byte after it, whose CA signature fails, a directory).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

  it('a certificate that does not load (damaged, CA signature broken, a directory), named or KEY-cert.pub: `type -1` at -v, nothing at the default level', async () => {
    const run = promisify(execFile);
    const dir = join(home, 'damaged');
    await mkdir(join(dir, 'a-directory'), { recursive: true });
    const key = join(dir, 'k');
    await copyFile(sshd.clientKeyPath, key);
    await copyFile(`${sshd.clientKeyPath}.pub`, `${key}.pub`);
    await run('chmod', ['600', key]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', join(dir, 'ca')]);
    await run('ssh-keygen', ['-q', '-s', join(dir, 'ca'), '-I', 'id', '-n', 'root', `${key}.pub`]);
    const [type, b64] = (await readFile(`${key}-cert.pub`, 'utf8')).split(' ');
    const blob = Buffer.from(b64!, 'base64');
    const trailing = join(dir, 'trailing-cert.pub');
    await writeFile(trailing, `${type} ${Buffer.concat([blob, Buffer.alloc(1)]).toString('base64')} x\n`);
    // The last byte of the CA's signature flipped: KEY-cert.pub beside the key.
    blob[blob.length - 1]! ^= 1;
    await writeFile(`${key}-cert.pub`, `${type} ${blob.toString('base64')} x\n`);
    const common = ['-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'];
    const cases: [string[], string[]][] = [
      [['-i', key], [`debug1: identity file ${key}-cert type -1`]],
      [['-o', `CertificateFile=${trailing}`, '-o', `CertificateFile=${join(dir, 'a-directory')}`, '-i', key],
        [`debug1: certificate file ${trailing} type -1`, `debug1: certificate file ${join(dir, 'a-directory')} type -1`]],
    ];
    for (const [args, lines] of cases) {
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const quiet = await startCli(client, [...common, ...args, '-W', '127.0.0.1:1', sshd.host], { env: cliEnv(home) }).done;
        expect(quiet.stderr.replace(/\r/g, ''), client).toBe('channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed\n');
        const verbose = await startCli(client, [...common, ...args, '-v', '-W', '127.0.0.1:1', sshd.host], { env: cliEnv(home) }).done;
        const got = verbose.stderr.replace(/\r/g, '').split('\n').filter((l) => /^debug1: (identity|certificate) file \S*(-cert|trailing|directory)/.test(l));
        expect(got, client).toEqual(lines);
      }
    }
  }, 60_000);
});
