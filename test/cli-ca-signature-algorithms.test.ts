/**
 * ssh_config(5) CASignatureAlgorithms on the host key check (break20 F6), side by side with
 * ssh 9.2: one sshd 9.2 serving three host certificates, an ed25519 key signed by an RSA CA
 * (rsa-sha2-512), an ECDSA key signed by an ed25519 CA, an RSA key signed by the RSA CA with
 * SHA-1 `ssh-rsa`; the client picks one with HostKeyAlgorithms. A certificate whose CA signed
 * with an algorithm not listed is refused ("Certificate signed with disallowed algorithm",
 * sshconnect.c check_host_key -> sshkey_cert_check_host) and its key checked as a plain key,
 * with each StrictHostKeyChecking mode's usual outcome. pure-ssh accepted it (the keyword was a
 * -v line). stderr and exit status compared at the default level, and the host key lines at -v.
 * Then the library's connect({ caSignatureAlgorithms }).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ConnectOptions } from '../src/index.js';
import { HostKeyError, UsageError } from '../src/errors.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle, publicKeyOf } from './harness/sshd.js';
import { CLI_BIN_PATH as CLI, runForStderr } from './harness/proc.js';
import { connect as webConnect } from '../src/web/index.js';
import { dialNodeWeb } from './runtimes/dial-node.js';

function keygen(...args: string[]): void {
  execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
}

/** The host certificate each HostKeyAlgorithms value makes the server show. */
const RSA_CA = 'ssh-ed25519-cert-v01@openssh.com';
const ED25519_CA = 'ecdsa-sha2-nistp256-cert-v01@openssh.com';
const SHA1_RSA_CA = 'rsa-sha2-512-cert-v01@openssh.com';

/** ssh -v's lines about the host key decision (sshconnect.c verify_host_key, check_host_key). */
const HOST_KEY_LINE =
  /Server host certificate|is known and matches|Found (CA )?key in|^Certificate |No matching CA|checking without port|found matching key|host key is known|Permanently added|Host key verification failed|requested strict checking|authenticity of host/;

describeInteropWithHome('CASignatureAlgorithms: host certificates by CA signature algorithm, side by side with ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let dir: string;
  const p = (n: string) => join(dir, n);
  const pub = (n: string) => publicKeyOf(p(n));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-casig-'));
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-C', 'ca_rsa', '-f', p('ca_rsa'));
    keygen('-t', 'ed25519', '-N', '', '-C', 'ca_ed', '-f', p('ca_ed'));
    keygen('-t', 'ed25519', '-N', '', '-f', p('host_ed'));
    keygen('-t', 'ecdsa', '-N', '', '-f', p('host_ecdsa'));
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', p('host_rsa'));
    const principals = ['-h', '-n', '127.0.0.1', '-V', '-5m:+1h'];
    keygen('-s', p('ca_rsa'), '-I', 'by rsa ca', ...principals, p('host_ed.pub'));
    keygen('-s', p('ca_ed'), '-I', 'by ed25519 ca', ...principals, p('host_ecdsa.pub'));
    keygen('-s', p('ca_rsa'), '-t', 'ssh-rsa', '-I', 'by rsa ca with sha1', ...principals, p('host_rsa.pub'));
    sshd = await startSshd({
      config: {
        HostKey: [p('host_ed'), p('host_ecdsa'), p('host_rsa')],
        HostCertificate: [p('host_ed-cert.pub'), p('host_ecdsa-cert.pub'), p('host_rsa-cert.pub')],
      },
    });
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = (cmd: string[], args: string[]) => runForStderr(cmd, args, cliEnv(home));

  interface Case {
    /** HostKeyAlgorithms: which certificate the server shows. */
    cert: string;
    /** known_hosts lines. */
    kh: string[];
    /** ssh_config lines (a -F file, as a user's ~/.ssh/config would hold them). */
    config?: string[];
    /** More options. */
    extra?: string[];
  }

  /**
   * Both clients with the same arguments (-W to the sshd itself: standard input at its end
   * closes the channel, the run ends), at the default level and at -v (its host key lines);
   * ssh's result, and each run's known_hosts after it.
   */
  let cases = 0;
  async function sideBySide(c: Case): Promise<{ code: number | null; stderr: string; verbose: string[]; kh: string[] }> {
    const results = [];
    const n = ++cases;
    for (const cmd of [[sshd.openssh.ssh], [process.execPath, CLI]]) {
      const out = { code: null as number | null, stderr: '', verbose: [] as string[], kh: [] as string[] };
      for (const level of [[], ['-v']]) {
        // The same file names for both clients (the -v lines name them), written afresh.
        const id = `${n}${level.length}`;
        const kh = p(`kh-${id}`);
        await writeFile(kh, c.kh.map((l) => `${l}\n`).join(''));
        const cfg = p(`cfg-${id}`);
        await writeFile(cfg, (c.config ?? []).map((l) => `${l}\n`).join(''));
        const args = ['-F', cfg, '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes',
          '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
          '-o', `HostKeyAlgorithms=${c.cert}`, ...(c.extra ?? []), ...level, '-W', `127.0.0.1:${sshd.port}`, 'root@127.0.0.1'];
        const r = await run(cmd, args);
        if (level.length === 0) {
          out.code = r.code;
          out.stderr = r.stderr;
          out.kh = (await readFile(kh, 'utf8')).split('\n').filter((l) => l !== '');
        } else {
          out.verbose = r.stderr.split('\r\n').filter((l) => HOST_KEY_LINE.test(l));
          expect(r.code, `-v exit status of ${cmd.at(-1)}`).toBe(out.code);
        }
      }
      results.push(out);
    }
    const [theirs, ours] = results;
    expect(ours).toEqual(theirs);
    return theirs!;
  }

  const DISALLOWED = 'Certificate signed with disallowed algorithm\r\n';
  const NO_RSA = ['Host *', '  CASignatureAlgorithms ssh-ed25519,ecdsa-sha2-nistp256'];

  it('RSA CA, the user\'s list without RSA (the break20 F6 case): refused, the plain key unknown; strict checking fails, 255', async () => {
    const kh = [`@cert-authority [127.0.0.1]:${sshd.port} ${await pub('ca_rsa')}`];
    const yes = await sideBySide({ cert: RSA_CA, kh, config: NO_RSA, extra: ['-o', 'StrictHostKeyChecking=yes'] });
    expect(yes.code).toBe(255);
    expect(yes.stderr).toBe(
      `${DISALLOWED}No ED25519 host key is known for [127.0.0.1]:${sshd.port} and you have requested strict checking.\r\nHost key verification failed.\r\n`,
    );
    expect(yes.verbose).toContain('debug1: No matching CA found. Retry with plain key');
    expect(yes.verbose).toContainEqual(expect.stringMatching(/^debug1: Found CA key in \S+:1$/));
    // ask (BatchMode: no question): the certificate's line, then the refusal.
    const ask = await sideBySide({ cert: RSA_CA, kh, config: NO_RSA, extra: ['-o', 'StrictHostKeyChecking=ask'] });
    expect(ask).toMatchObject({ code: 255, stderr: `${DISALLOWED}Host key verification failed.\r\n` });
  });

  it('accept-new and no: the certificate refused, its plain key recorded and the connection made, as ssh does', async () => {
    const kh = [`@cert-authority [127.0.0.1]:${sshd.port} ${await pub('ca_rsa')}`];
    for (const mode of ['accept-new', 'no']) {
      const r = await sideBySide({ cert: RSA_CA, kh, config: NO_RSA, extra: ['-o', `StrictHostKeyChecking=${mode}`] });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`${DISALLOWED}Warning: Permanently added '[127.0.0.1]:${sshd.port}' (ED25519) to the list of known hosts.\r\n`);
      expect(r.kh[1]).toBe(`[127.0.0.1]:${sshd.port} ${await pub('host_ed')}`);
    }
  });

  it('the plain key known beside the CA: refused as a certificate, accepted as its key (-o on the command line)', async () => {
    const kh = [`@cert-authority * ${await pub('ca_rsa')}`, `[127.0.0.1]:${sshd.port} ${await pub('host_ed')}`];
    const r = await sideBySide({ cert: RSA_CA, kh, extra: ['-o', 'CASignatureAlgorithms=-rsa-sha2-*', '-o', 'StrictHostKeyChecking=yes'] });
    expect(r).toMatchObject({ code: 0, stderr: DISALLOWED });
    expect(r.verbose.at(-1)).toMatch(/^debug1: Found key in \S+:2$/);
  });

  it('RSA CA with the default list, and an ed25519 CA with and without ssh-ed25519 listed', async () => {
    const rsa = [`@cert-authority * ${await pub('ca_rsa')}`];
    expect(await sideBySide({ cert: RSA_CA, kh: rsa, extra: ['-o', 'StrictHostKeyChecking=yes'] })).toMatchObject({ code: 0, stderr: '' });
    const ed = [`@cert-authority * ${await pub('ca_ed')}`];
    expect(await sideBySide({ cert: ED25519_CA, kh: ed, config: NO_RSA, extra: ['-o', 'StrictHostKeyChecking=yes'] })).toMatchObject({ code: 0, stderr: '' });
    const refused = await sideBySide({ cert: ED25519_CA, kh: ed, config: ['CASignatureAlgorithms rsa-sha2-512,ecdsa*'], extra: ['-o', 'StrictHostKeyChecking=yes'] });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toBe(
      `${DISALLOWED}No ECDSA host key is known for [127.0.0.1]:${sshd.port} and you have requested strict checking.\r\nHost key verification failed.\r\n`,
    );
  });

  it('an RSA CA that signed with SHA-1 ssh-rsa: refused by the default list (the plain key checked), accepted with +ssh-rsa', async () => {
    const kh = [`@cert-authority * ${await pub('ca_rsa')}`];
    const byDefault = await sideBySide({ cert: SHA1_RSA_CA, kh, extra: ['-o', 'StrictHostKeyChecking=yes'] });
    expect(byDefault.code).toBe(255);
    expect(byDefault.stderr).toBe(
      `${DISALLOWED}No RSA host key is known for [127.0.0.1]:${sshd.port} and you have requested strict checking.\r\nHost key verification failed.\r\n`,
    );
    expect(byDefault.verbose[0]).toMatch(/^debug1: Server host certificate: ssh-rsa-cert-v01@openssh\.com SHA256:\S+, serial 0 ID "by rsa ca with sha1" CA ssh-rsa /);
    expect(await sideBySide({ cert: SHA1_RSA_CA, kh, config: ['CASignatureAlgorithms +ssh-rsa'], extra: ['-o', 'StrictHostKeyChecking=yes'] })).toMatchObject({
      code: 0,
      stderr: '',
    });
  });

  describe('the library: connect({ knownHosts, caSignatureAlgorithms })', () => {
    const base = (): ConnectOptions => ({ host: sshd.host, port: sshd.port, username: sshd.user, identityFiles: [sshd.clientKeyPath], algorithms: { hostKey: RSA_CA } });

    it('a certificate by a CA whose algorithm is not listed: HostKeyError naming the reason; listed (or by default): accepted', async () => {
      const kh = p('lib-kh');
      await writeFile(kh, `@cert-authority * ${await pub('ca_rsa')}\n`);
      const logs: string[] = [];
      const err = await connect({ ...base(), knownHosts: kh, caSignatureAlgorithms: 'ssh-ed25519,ecdsa-sha2-nistp256', debug: (l) => logs.push(l) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyError);
      expect((err as HostKeyError).problem).toBe('unknown');
      expect((err as Error).message).toMatch(/^The host certificate was not accepted: Certificate signed with disallowed algorithm \(CA in \S+:1; certificate ID "by rsa ca"/);
      expect(logs).toContain('Certificate signed with disallowed algorithm');
      for (const caSignatureAlgorithms of [undefined, ['rsa-sha2-512'], '^rsa-sha2-512']) {
        const ssh = await connect({ ...base(), knownHosts: kh, caSignatureAlgorithms });
        await ssh.close();
      }
      // SHA-1: refused by default, accepted when named.
      await expect(connect({ ...base(), algorithms: { hostKey: SHA1_RSA_CA }, knownHosts: kh })).rejects.toThrow(/Certificate signed with disallowed algorithm/);
      const ssh = await connect({ ...base(), algorithms: { hostKey: SHA1_RSA_CA }, knownHosts: kh, caSignatureAlgorithms: '+ssh-rsa' });
      await ssh.close();
    });

    it('pure-ssh/web: the same option on its known_hosts text', async () => {
      const opts = {
        host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, algorithms: { hostKey: RSA_CA },
        knownHosts: `@cert-authority * ${await pub('ca_rsa')}\n`,
      };
      const err = await webConnect({ ...opts, transport: dialNodeWeb(sshd.port), caSignatureAlgorithms: '-rsa-sha2-*' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyError);
      expect((err as HostKeyError).problem).toBe('unknown');
      const ssh = await webConnect({ ...opts, transport: dialNodeWeb(sshd.port), caSignatureAlgorithms: ['rsa-sha2-512'] });
      await ssh.close();
      await expect(webConnect({ ...opts, knownHosts: undefined, verifyHostKey: () => true, transport: dialNodeWeb(sshd.port), caSignatureAlgorithms: 'ssh-ed25519' })).rejects.toThrow(
        /caSignatureAlgorithms needs knownHosts/,
      );
    });

    it('an unknown name, or the option without knownHosts: UsageError before connecting', async () => {
      await expect(connect({ ...base(), knownHosts: p('lib-kh'), caSignatureAlgorithms: 'ssh-ed25519,rsa-sha3' })).rejects.toThrow(UsageError);
      await expect(connect({ ...base(), verifyHostKey: () => true, caSignatureAlgorithms: 'ssh-ed25519' })).rejects.toThrow(/caSignatureAlgorithms applies to the knownHosts check/);
    });
  });
});
