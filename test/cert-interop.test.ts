/**
 * Certificates against the real sshd: a host certificate (sshd HostCertificate) checked through
 * known_hosts `@cert-authority` / `@revoked`, and user certificates (sshd TrustedUserCAKeys),
 * from the library and the built CLI. CAs and certificates are made by ssh-keygen.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type ConnectOptions } from '../src/index.js';
import { AuthenticationError, HostKeyError } from '../src/errors.js';
import { knownHostsVerifier } from '../src/node/known-hosts-file.js';
import { cliEnv, itWithHome, processHome } from './harness/home.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

const execFileP = promisify(execFile);

function keygen(...args: string[]): void {
  execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
}

describeInterop('certificates against sshd', () => {
  let sshd: SshdHandle;
  let dir: string;
  let caLine: string;
  let otherCaLine: string;
  let hostLine: string;
  let base: ConnectOptions;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-certs-'));
    const p = (n: string) => join(dir, n);
    for (const n of ['host_ca', 'other_ca', 'user_ca', 'host', 'user']) keygen('-t', 'ed25519', '-N', '', '-C', n, '-f', p(n));
    keygen('-s', p('host_ca'), '-I', 'test host', '-h', '-n', '127.0.0.1', '-V', '-5m:+1h', '-z', '42', p('host.pub'));
    // User certificates: the right principal, a wrong one, an expired one (ssh-keygen names
    // them after the key, so copy each aside).
    const userCert = async (name: string, args: string[]) => {
      keygen('-s', p('user_ca'), '-I', name, ...args, p('user.pub'));
      await writeFile(p(`${name}-cert.pub`), await readFile(p('user-cert.pub')));
    };
    await userCert('wrong', ['-n', 'alice', '-V', '-5m:+1h']);
    await userCert('expired', ['-n', 'root', '-V', '20200101:20200102']);
    await userCert('good', ['-n', 'root', '-V', '-5m:+1h']);
    const pub = async (n: string) => (await readFile(p(`${n}.pub`), 'utf8')).trim();
    caLine = await pub('host_ca');
    otherCaLine = await pub('other_ca');
    sshd = await startSshd({
      config: {
        HostKey: p('host'),
        HostCertificate: p('host-cert.pub'),
        TrustedUserCAKeys: p('user_ca.pub'),
      },
    });
    hostLine = `[127.0.0.1]:${sshd.port} ${await pub('host')}`;
    base = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      identityFiles: [p('user')],
      debug: (m) => logs.push(m),
    };
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function knownHosts(text: string): Promise<string> {
    const file = join(dir, `kh-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, text);
    return file;
  }

  it('accepts the host certificate through @cert-authority, with ssh -v lines; the user certificate beside the key logs in', async () => {
    logs.length = 0;
    const ssh = await connect({ ...base, knownHosts: await knownHosts(`@cert-authority * ${caLine}\n`) });
    expect(ssh.info.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
    await ssh.close();
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^Server host certificate: ssh-ed25519-cert-v01@openssh\.com SHA256:\S+, serial 42 ID "test host" CA ssh-ed25519 SHA256:\S+ valid from \S+ to \S+$/,
      ),
    );
    expect(logs).toContain(`Host '[127.0.0.1]:${sshd.port}' is known and matches the ED25519-CERT host certificate.`);
    // sshkey.c sshkey_fingerprint_raw (force_plain): a certificate's fingerprint is its key's, as
    // `ssh-keygen -l` prints it for both files (pure-ssh showed the hash of the whole certificate).
    const plain = execFileSync('/usr/bin/ssh-keygen', ['-lf', join(dir, 'host.pub')], { encoding: 'utf8' }).split(' ')[1]!;
    expect(execFileSync('/usr/bin/ssh-keygen', ['-lf', join(dir, 'host-cert.pub')], { encoding: 'utf8' }).split(' ')[1]).toBe(plain);
    expect(logs).toContainEqual(expect.stringMatching(new RegExp(`^Server host certificate: ssh-ed25519-cert-v01@openssh\\.com ${plain.replace(/[+/]/g, '\\$&')}, `)));
    expect(logs).toContain(`Host key for ${sshd.host} accepted (${plain})`);
    expect(logs).toContainEqual(expect.stringMatching(/^Offering public key: \S+\/user-cert\.pub ED25519-CERT SHA256:\S+ \(ssh-ed25519-cert-v01@openssh\.com\)$/));
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Accepted publickey for root from \S+ port \d+ ssh2: ED25519-CERT SHA256:\S+ ID good/);
  });

  it('wrong principal: "name is not a listed principal", then the plain key (unknown) is refused', async () => {
    const kh = await knownHosts(`@cert-authority * ${caLine}\n`);
    logs.length = 0;
    // The certificate names 127.0.0.1; "localhost" reaches the same server under another name.
    const err = await connect({ ...base, host: 'localhost', knownHosts: kh }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe('unknown');
    expect((err as Error).message).toMatch(/^The host certificate was not accepted: Certificate invalid: name is not a listed principal .*principals 127\.0\.0\.1/);
    expect(logs).toContain('No matching CA found. Retry with plain key');
  });

  it('expired and not yet valid, by the injected clock', async () => {
    const files = [await knownHosts(`@cert-authority * ${caLine}\n`)];
    for (const [shift, reason] of [
      [2 * 3600_000, 'Certificate invalid: expired'],
      [-3600_000, 'Certificate invalid: not yet valid'],
    ] as const) {
      const verifyHostKey = knownHostsVerifier({ files, now: () => Date.now() + shift });
      const err = await connect({ ...base, knownHosts: files, verifyHostKey }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyError);
      expect((err as Error).message).toContain(reason);
    }
  });

  it('unknown CA: falls back to the plain key, accepted when known_hosts has it', async () => {
    logs.length = 0;
    const kh = await knownHosts(`@cert-authority * ${otherCaLine}\n${hostLine}\n`);
    const ssh = await connect({ ...base, knownHosts: kh });
    expect(ssh.info.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
    await ssh.close();
    expect(logs).toContain('No matching CA found. Retry with plain key');
    expect(logs).toContain(`Host '[127.0.0.1]:${sshd.port}' is known and matches the ED25519 host key.`);
    // Without the plain line, the same certificate is refused, saying why.
    const err = await connect({ ...base, knownHosts: await knownHosts(`@cert-authority * ${otherCaLine}\n`) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toMatch(/no @cert-authority line for \[127\.0\.0\.1\]:\d+ holds its CA key/);
  });

  it('revoked CA: refused even with the plain key known', async () => {
    const kh = await knownHosts(`@cert-authority * ${caLine}\n@revoked * ${caLine}\n${hostLine}\n`);
    const err = await connect({ ...base, knownHosts: kh }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe('revoked');
    expect((err as Error).message).toMatch(/signed by a revoked certificate authority/);
  });

  it('revoked certified host key: refused, the message names the certified key, not a signer', async () => {
    const kh = await knownHosts(`@cert-authority * ${caLine}\n@revoked * ${hostLine.split(' ').slice(1).join(' ')}\n`);
    const err = await connect({ ...base, knownHosts: kh }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe('revoked');
    // It said "is signed by a revoked host key": the certificate's own key is the revoked one.
    expect((err as Error).message).toMatch(/host certificate for \[127\.0\.0\.1\]:\d+ certifies a revoked host key \(SHA256:/);
  });

  it('without a @cert-authority line, the certificate is still negotiated (as ssh does) and its plain key checked', async () => {
    logs.length = 0;
    const ssh = await connect({ ...base, knownHosts: await knownHosts(`${hostLine}\n`) });
    expect(ssh.info.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
    await ssh.close();
    expect(logs).toContain(`Host '[127.0.0.1]:${sshd.port}' is known and matches the ED25519 host key.`);
  });

  it('user certificate with a wrong principal or expired: refused, the error names the certificate and why', async () => {
    const kh = await knownHosts(`@cert-authority * ${caLine}\n`);
    const wrong = await connect({ ...base, knownHosts: kh, certificateFiles: [join(dir, 'wrong-cert.pub')] }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect((wrong as Error).message).toMatch(/server refused the certificate \S+wrong-cert\.pub \(ID "wrong", serial 0\) .*principals: alice; valid from/);
    const expired = await connect({ ...base, knownHosts: kh, certificateFiles: [join(dir, 'expired-cert.pub')] }).catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(AuthenticationError);
    expect((expired as Error).message).toMatch(/certificate \S+expired-cert\.pub \(ID "expired", serial 0\) was refused: Certificate invalid: expired/);
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toMatch(/Certificate invalid: name is not a listed principal|not listed as a principal|cert_check_authority/i);
  });

  it('the library certificates option (text of a -cert.pub) with privateKey', async () => {
    const kh = await knownHosts(`@cert-authority * ${caLine}\n`);
    const ssh = await connect({
      ...base,
      identityFiles: undefined,
      privateKey: await readFile(join(dir, 'user'), 'utf8'),
      certificates: await readFile(join(dir, 'good-cert.pub'), 'utf8'),
      knownHosts: kh,
    });
    await ssh.close();
  });

  itWithHome('CLI: -o CertificateFile, -v lines as ssh prints them, and exit 255 for an expired certificate', async () => {
    const kh = await knownHosts(`@cert-authority * ${caLine}\n`);
    const args = (cert: string) => [
      CLI, '-v', '-N', '-p', String(sshd.port), '-F', '/dev/null', '-i', join(dir, 'user'),
      '-o', `CertificateFile=${join(dir, cert)}`, '-o', `UserKnownHostsFile=${kh}`, '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5', 'root@127.0.0.1',
    ];
    const child = spawn(process.execPath, args('good-cert.pub'), { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await expect.poll(() => stderr, { timeout: 10_000 }).toContain('Authenticated to 127.0.0.1');
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toMatch(/debug1: Server host certificate: ssh-ed25519-cert-v01@openssh\.com SHA256:\S+, serial 42 ID "test host" CA ssh-ed25519/);
    expect(stderr).toContain(`debug1: Host '[127.0.0.1]:${sshd.port}' is known and matches the ED25519-CERT host certificate.`);
    expect(stderr).toMatch(/debug1: Offering public key: \S+good-cert\.pub ED25519-CERT SHA256:/);
    const failed = await execFileP(process.execPath, args('expired-cert.pub').filter((a) => a !== '-v'), { env: cliEnv(processHome()) }).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(255);
    expect((failed as { stderr: string }).stderr).toContain('root@127.0.0.1: Permission denied (publickey).');
  });
});
