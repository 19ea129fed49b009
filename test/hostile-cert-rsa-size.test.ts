/**
 * break32: ssh_config(5) RequiredRSASize against RSA host certificates (OpenSSH sshkey.c
 * sshkey_check_rsa_length counts KEY_RSA_CERT by its certified key's modulus, whatever the CA
 * signed it with; sshconnect2.c verify_host_key_callback applies it to the host key first).
 *
 * pure-ssh's rsaKeyTooShort (src/keys/certificate.ts) parsed the certificate without
 * `{ sha1Ca: true }`, so a host certificate whose CA signed it with SHA-1 "ssh-rsa" (still
 * accepted as a host key: the kex verifies it with sha1Ca, and known_hosts may fall back to the
 * plain key) failed to parse there, the catch returned false, and the size check was skipped: a
 * 2048-bit host key passed RequiredRSASize=3072 (break32 F3).
 * Fixtures: ssh-keygen -s ca -t ssh-rsa|rsa-sha2-512 -h over a 2048-bit RSA host key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rsaKeyTooShort } from '../src/keys/certificate.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { connect } from '../src/index.js';
import { HostKeyError } from '../src/errors.js';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { runForStderr } from './harness/proc.js';

const blobOf = (name: string) => new Uint8Array(Buffer.from(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8').split(' ')[1]!, 'base64'));

describe('RequiredRSASize and RSA host certificates', () => {
  it('control: rsa-sha2-512-signed certificate over a 2048-bit key is under 3072', () => {
    expect(rsaKeyTooShort(blobOf('break32_host_rsa2048_sha512ca-cert.pub'), 3072)).toBe(true);
  });
  it('a certificate the CA signed with ssh-rsa (SHA-1) over a 2048-bit key is under 3072 too', () => {
    expect(rsaKeyTooShort(blobOf('break32_host_rsa2048_sha1ca-cert.pub'), 3072)).toBe(true);
  });
});

// End to end against sshd 9.2 presenting that kind of certificate, known_hosts holding the plain
// key: ssh 9.2 with RequiredRSASize 3072 refuses ("Bad server host key: Invalid key length");
// the library's requiredRsaSize: 3072 should refuse it too (HostKeyError 'key-length').
describeInteropWithHome('RequiredRSASize 3072, sshd 9.2 with a 2048-bit RSA host certificate signed by an ssh-rsa CA', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-b32-');
  const p = (name: string) => join(dir, name);
  const keygen = (...args: string[]) => execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
  let sshd: SshdHandle;
  let knownHosts = '';
  beforeAll(async () => {
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', p('ca'));
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', p('host_rsa'));
    keygen('-s', p('ca'), '-t', 'ssh-rsa', '-h', '-I', 'h', '-n', '127.0.0.1', p('host_rsa.pub'));
    sshd = await startSshd({ config: { HostKey: [p('host_rsa')], HostCertificate: p('host_rsa-cert.pub') } });
    knownHosts = p('known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${readFileSync(p('host_rsa.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('ssh 9.2 refuses it (Invalid key length); connect() with requiredRsaSize 3072 must refuse it too', async () => {
    const cfg = p('cfg');
    writeFileSync(cfg, 'RequiredRSASize 3072\n');
    const theirs = await runForStderr([sshd.openssh.ssh], ['-F', cfg, '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes',
      '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes', '-o', 'HostKeyAlgorithms=rsa-sha2-512-cert-v01@openssh.com', '-W', `127.0.0.1:${sshd.port}`, 'root@127.0.0.1'], cliEnv(home));
    expect(theirs.code).toBe(255);
    expect(theirs.stderr).toContain('Bad server host key: Invalid key length');
    const base = {
      host: '127.0.0.1', port: sshd.port, username: 'root', identityFiles: [sshd.clientKeyPath], agent: false as const,
      knownHosts, algorithms: { hostKey: ['rsa-sha2-512-cert-v01@openssh.com'] },
    };
    const err = await connect({ ...base, requiredRsaSize: 3072 }).then(
      (c) => (void c.close(), undefined),
      (e: unknown) => e,
    );
    expect(err, 'connect() with requiredRsaSize 3072 succeeded').toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe('key-length');
  }, 60_000);
});
