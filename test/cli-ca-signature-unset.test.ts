/**
 * CASignatureAlgorithms lists a tester found pure-ssh handled otherwise than ssh:
 * - A list naming only certificate types (or a negated name) matches no signature algorithm:
 *   readconf.c fill_default_options' kex_assemble_names() fails, and ssh error()s
 *   `fill_default_options: ca_sign_algorithms: invalid argument` (no file nor line). ssh 9.2 then
 *   goes on (fill_default_options still returns 0) with ca_sign_algorithms unset, which checks no
 *   CA signature algorithm (sshkey_cert_check_host skips a NULL list): a host certificate from a
 *   SHA-1 `ssh-rsa` CA, refused by the default list, is accepted. OpenSSH 10.4 exits 255 there
 *   (upstream c87161382). pure-ssh says ssh's line and exits as 10.4 does (never less safe than
 *   OpenSSH); it used to add a made-up `command-line line 0:` prefix for -o.
 * - `-G` printed `casignaturealgorithms ` (empty) for `ssh-dss`: names pure-ssh does not verify
 *   are now listed as ssh lists them; a certificate from such a CA is still refused.
 * Side by side with ssh 9.2 against sshd 9.2. Needs `npm run build` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI, requireBuiltCli, runForStderr } from './harness/proc.js';
import { publicKeyOf, startSshd, type SshdHandle } from './harness/sshd.js';
import { expectedDump } from './support/ssh-dump.js';
import { applyCaSignatureSpec } from '../src/keys/certificate.js';
import { knownHostsVerifier } from '../src/node/known-hosts-file.js';

const keygen = (...args: string[]) => execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });

/** The host certificate each HostKeyAlgorithms value makes the server show. */
const SHA1_RSA_CA = 'rsa-sha2-512-cert-v01@openssh.com';
const ED25519_CA = 'ssh-ed25519-cert-v01@openssh.com';
const CERT_TYPES_ONLY = 'ssh-ed25519-cert-v01@openssh.com';
const INVALID = 'fill_default_options: ca_sign_algorithms: invalid argument';

describeInteropWithHome('CASignatureAlgorithms that ssh 9.2 leaves unset, and names pure-ssh does not verify', () => {
  const home = suiteHome();
  const dir = suiteDir('pure-ssh-casig-unset-');
  const p = (n: string) => join(dir, n);
  let sshd: SshdHandle;

  beforeAll(async () => {
    requireBuiltCli();
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-C', 'ca_rsa', '-f', p('ca_rsa'));
    keygen('-t', 'ed25519', '-N', '', '-C', 'ca_ed', '-f', p('ca_ed'));
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', p('host_rsa'));
    keygen('-t', 'ed25519', '-N', '', '-f', p('host_ed'));
    const principals = ['-h', '-n', '127.0.0.1', '-V', '-5m:+1h'];
    keygen('-s', p('ca_rsa'), '-t', 'ssh-rsa', '-I', 'by rsa ca with sha1', ...principals, p('host_rsa.pub'));
    keygen('-s', p('ca_ed'), '-I', 'by ed25519 ca', ...principals, p('host_ed.pub'));
    sshd = await startSshd({
      config: { HostKey: [p('host_rsa'), p('host_ed')], HostCertificate: [p('host_rsa-cert.pub'), p('host_ed-cert.pub')] },
    });
    writeFileSync(p('kh'), `@cert-authority * ${await publicKeyOf(p('ca_rsa'))}\n@cert-authority * ${await publicKeyOf(p('ca_ed'))}\n`);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  /** Both clients, the same arguments: [theirs, ours], exit status and stderr. */
  async function both(args: string[]) {
    const all = ['-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${p('kh')}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', ...args, '-W', `127.0.0.1:${sshd.port}`, 'root@127.0.0.1'];
    return Promise.all([runForStderr([sshd.openssh.ssh], all, cliEnv(home)), runForStderr([process.execPath, CLI], all, cliEnv(home))]);
  }

  it('certificate types only, with -o: ssh\'s line, then OpenSSH 10.4\'s exit, where 9.2 accepts the SHA-1 CA\'s host certificate', async () => {
    // The default list refuses that certificate (and the plain key is unknown): both fail.
    const [theirsDefault, oursDefault] = await both(['-F', 'none', '-o', `HostKeyAlgorithms=${SHA1_RSA_CA}`]);
    expect(theirsDefault.code).toBe(255);
    expect(oursDefault).toEqual(theirsDefault);
    const [theirs, ours] = await both(['-F', 'none', '-o', `CASignatureAlgorithms=${CERT_TYPES_ONLY}`, '-o', `HostKeyAlgorithms=${SHA1_RSA_CA}`]);
    // ssh 9.2: the line, then no CA check at all: logged in.
    expect(theirs).toEqual({ code: 0, stderr: `${INVALID}\r\n` });
    expect(ours).toEqual({ code: 255, stderr: theirs.stderr });
  }, 60_000);

  it('certificate types only, from a file, and a negated name: the same line, no file nor line number, exit 255', async () => {
    for (const value of [CERT_TYPES_ONLY, '!ssh-rsa', '*-cert-v01@openssh.com']) {
      const cfg = p(`cfg-${value.replace(/\W/g, '_')}`);
      writeFileSync(cfg, `Host *\n  CASignatureAlgorithms ${value}\n`);
      const [theirs, ours] = await both(['-F', cfg, '-o', `HostKeyAlgorithms=${SHA1_RSA_CA}`]);
      expect(theirs).toEqual({ code: 0, stderr: `${INVALID}\r\n` });
      expect(ours).toEqual({ code: 255, stderr: theirs.stderr });
    }
    // -q silences the line (error() under LogLevel QUIET), for both.
    const [theirsQ, oursQ] = await both(['-F', 'none', '-q', '-o', `CASignatureAlgorithms=${CERT_TYPES_ONLY}`, '-o', `HostKeyAlgorithms=${SHA1_RSA_CA}`]);
    expect(theirsQ).toEqual({ code: 0, stderr: '' });
    expect(oursQ).toEqual({ code: 255, stderr: '' });
  }, 60_000);

  it('ssh-dss (a name pure-ssh verifies no signature of): an ed25519 CA\'s certificate is refused, as by ssh', async () => {
    for (const list of ['ssh-dss', 'ssh-dss,ecdsa-sha2-nistp256']) {
      const [theirs, ours] = await both(['-F', 'none', '-o', `CASignatureAlgorithms=${list}`, '-o', `HostKeyAlgorithms=${ED25519_CA}`]);
      expect(theirs.code).toBe(255);
      expect(theirs.stderr).toMatch(/^Certificate signed with disallowed algorithm\r\n/);
      expect(ours).toEqual(theirs);
    }
    const [theirs, ours] = await both(['-F', 'none', '-o', 'CASignatureAlgorithms=ssh-dss,ssh-ed25519', '-o', `HostKeyAlgorithms=${ED25519_CA}`]);
    expect(theirs).toEqual({ code: 0, stderr: '' });
    expect(ours).toEqual(theirs);
  }, 60_000);

  it('a `-` list that removes every algorithm (`-*`, `-s*,e*,r*`) accepts no CA signature, as ssh: never the default', async () => {
    for (const list of ['-*', '-s*,e*,r*', '-ssh-ed25519,ecdsa*,rsa*,sk*,ssh-dss']) {
      const [theirs, ours] = await both(['-F', 'none', '-o', `CASignatureAlgorithms=${list}`, '-o', `HostKeyAlgorithms=${ED25519_CA}`]);
      expect(theirs.code).toBe(255);
      expect(theirs.stderr).toMatch(/^Certificate signed with disallowed algorithm\r\n/);
      expect(ours).toEqual(theirs);
    }
    // The library: an empty exact list is the same refusal, not the default list.
    const verify = knownHostsVerifier({ files: [p('kh')], mode: 'yes', caSignatureAlgorithms: [] });
    const blob = Buffer.from(readFileSync(p('host_ed-cert.pub'), 'utf8').split(' ')[1]!, 'base64');
    const info = { host: '127.0.0.1', port: sshd.port, algorithm: ED25519_CA, keyType: ED25519_CA, keyBlob: new Uint8Array(blob), fingerprint: '' };
    await expect(Promise.resolve().then(() => verify(info))).rejects.toThrow(/Host key verification failed/);
    // The same certificate with the default list: accepted through its CA.
    await expect(Promise.resolve().then(() => knownHostsVerifier({ files: [p('kh')], mode: 'yes' })(info))).resolves.not.toBe(false);
    expect(applyCaSignatureSpec([])).toEqual([]);
    expect(applyCaSignatureSpec(['ssh-ed25519', 'rsa-sha2-*'])).toEqual(['ssh-ed25519', 'rsa-sha2-256', 'rsa-sha2-512']);
  }, 60_000);

  /** `-G` of both: exit status, stdout lines, stderr. */
  function dump(args: string[]) {
    const run = (cmd: string[]) => {
      const r = spawnSync(cmd[0]!, [...cmd.slice(1), '-G', '-N', '-F', 'none', ...args, 'h'], { env: cliEnv(home), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
    };
    return [run(['/usr/bin/ssh']), run([process.execPath, CLI])] as const;
  }
  const casig = (lines: readonly string[]) => lines.filter((l) => l.startsWith('casignaturealgorithms'));

  it('-G: certificate types only is ssh\'s line and exit 255 (OpenSSH 10.4; 9.2 prints the rest without casignaturealgorithms)', () => {
    for (const args of [['-o', `CASignatureAlgorithms=${CERT_TYPES_ONLY}`], ['-o', 'CASignatureAlgorithms=!ssh-ed25519']]) {
      const [theirs, ours] = dump(args);
      expect(theirs).toMatchObject({ status: 0, stderr: `${INVALID}\r\n` });
      expect(casig(theirs.lines)).toEqual([]);
      expect(ours).toEqual({ status: 255, lines: [], stderr: theirs.stderr });
    }
    // A negated name must still match a known type (sshkey_names_valid2): refused at its line.
    const [theirs, ours] = dump(['-o', 'CASignatureAlgorithms=!nosuch']);
    expect(theirs).toMatchObject({ status: 255, stderr: "command-line line 0: Bad key types '!nosuch'.\r\n" });
    expect({ status: ours.status, stderr: ours.stderr }).toEqual({ status: theirs.status, stderr: theirs.stderr });
  });

  it('-G: names pure-ssh does not verify are printed as ssh lists them (ssh-dss, ssh-dss,ssh-ed25519, sk-*, the default)', () => {
    for (const args of [['-o', 'CASignatureAlgorithms=ssh-dss'], ['-o', 'CASignatureAlgorithms=ssh-dss,ssh-ed25519'], ['-o', 'CASignatureAlgorithms=sk-*'], ['-o', 'CASignatureAlgorithms=^webauthn*'], []]) {
      const [theirs, ours] = dump(args);
      expect(ours.status).toBe(0);
      expect(casig(ours.lines)).toEqual(casig(theirs.lines));
      expect(casig(ours.lines)).toHaveLength(1);
    }
    expect(casig(dump(['-o', 'CASignatureAlgorithms=ssh-dss'])[1].lines)).toEqual(['casignaturealgorithms ssh-dss']);
  });
});
