/**
 * pure-ssh-check against real servers: OpenSSH 9.2 (Debian's sshd) and 10 (strict kex enforced:
 * every probe passes), and Dropbear 2022.83 (Debian's dropbear-bin), whose strict-kex backport
 * lets optional messages through after its own NEWKEYS. Runs the built command (`npm run build`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckReport } from '../src/check/report.js';
import { fingerprintSha256 } from '../src/keys/hostkey.js';
import { base64Decode } from '../src/protocol/base64.js';
import { freePort, LOOPBACK, waitForPort } from './harness/net.js';
import { exited, own, type Ownership } from './harness/proc.js';
import { cliEnv, describeInteropWithHome, nssWrapperAvailable, processHome, requireNssWrapper, suiteDir } from './harness/home.js';
import { describeIf, ensurePasswordUser, inCI, openssh10Available, requireOpenssh10, sshdSuite, type SshdHandle } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';
import { waitForAgentSocket } from './support/ssh-agent.js';

const execFileP = promisify(execFile);

/** {@link describeInteropOpenssh10} for suites that also need nss_wrapper (harness/home.ts). */
const describeOpenssh10WithHome = describeIf(
  () => openssh10Available() && nssWrapperAvailable(),
  () => {
    requireOpenssh10();
    requireNssWrapper();
  },
);

// The installed bin (package.json bin.pure-ssh-check): check-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url));

function runCheckCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  // No agent of the machine's: the keys offered are the ones a test names. A temporary passwd
  // home (harness/home.ts), never the real user's ~/.ssh.
  const base = cliEnv(processHome());
  delete base.SSH_AUTH_SOCK;
  return new Promise((resolve) => {
    execFile(process.execPath, [CHECK_CLI, ...args], { timeout: 180_000, env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** `--json` run; `login` adds the harness's client key and known_hosts and logs in as its user. */
async function checkJson(port: number, opts: { sshd?: SshdHandle; args?: string[] } = {}): Promise<{ code: number; report: CheckReport; stderr: string }> {
  const login = opts.sshd
    ? ['-F', 'none', '-i', opts.sshd.clientKeyPath, '-o', `UserKnownHostsFile=${opts.sshd.knownHostsPath}`, '-o', 'BatchMode=yes', `${opts.sshd.user}@${LOOPBACK}`]
    : [LOOPBACK];
  const { code, stdout, stderr } = await runCheckCli(['--json', ...(opts.args ?? []), '-p', String(port), ...login]);
  return { code, report: JSON.parse(stdout) as CheckReport, stderr };
}

/** The connection probes' verdicts, by id. */
const connectionVerdicts = (r: CheckReport) => Object.fromEntries(r.findings.filter((f) => f.group === 'connection').map((f) => [f.id, f.verdict]));

/** What every OpenSSH shows after login: every connection probe passes (ping: `ping` when it has it). */
function expectConnectionProbesPass(report: CheckReport, ping: 'pass' | 'info'): void {
  expect(report.login).toEqual({ user: 'root', method: 'publickey' });
  expect(connectionVerdicts(report)).toEqual({
    'connection.max-packet': 'pass',
    'connection.window': 'pass',
    'connection.window-adjust': 'pass',
    'connection.eof': 'pass',
    'connection.exit-status': 'pass',
    'connection.close-answered': 'pass',
    'connection.keepalive': 'pass',
    'connection.global-replies': 'pass',
    'connection.cancel-tcpip-forward': 'pass',
    'connection.ping': ping,
  });
  expect(byId(report, 'connection.window')?.detail).toMatch(/never exceeded; stopped at zero [1-9]/);
  expect(byId(report, 'connection.window-adjust')?.detail).toMatch(/^65536 bytes of output \(all of it\)/);
  expect(byId(report, 'connection.exit-status')?.detail).toMatch(/exit-status 0.*CLOSE$/);
}

const ids = (r: CheckReport, verdict: string) => r.findings.filter((f) => f.verdict === verdict).map((f) => f.id).sort();
const byId = (r: CheckReport, id: string) => r.findings.find((f) => f.id === id);

/** What every strict-kex OpenSSH must show. */
function expectConformantOpenssh(report: CheckReport, sshd: SshdHandle): void {
  const strict = report.findings.filter((f) => f.group === 'strict-kex');
  // 3 server-side checks, 4 messages x 4 steps, the client sequence-number reset.
  expect(strict).toHaveLength(20);
  expect(strict.filter((f) => f.verdict !== 'pass')).toEqual([]);
  for (const id of ['unimplemented', 'max-packet', 'oversize-packet', 'bad-mac', 'wrong-guess']) {
    expect(byId(report, `protocol.${id}`)?.verdict, id).toBe('pass');
  }
  // sshd resets its dispatch table for user authentication: a pre-auth rekey gets UNIMPLEMENTED.
  expect(byId(report, 'protocol.rekey')?.detail).toMatch(/UNIMPLEMENTED|second exchange done/);
  expect(byId(report, 'posture.terrapin')?.verdict).toBe('pass');
  expect(byId(report, 'posture.strict-kex')?.verdict).toBe('pass');
  // One handshake per host key type, fingerprints as ssh-keygen -l prints them.
  for (const k of sshd.hostKeys) {
    const [type, b64] = k.publicKey.split(' ');
    const f = byId(report, `inventory.host-key.${type}`);
    // An RSA key's size too (ssh-keygen's default, 3072 bits), judged by posture.rsa-host-key-size.
    expect(f?.detail, type).toBe(`${type} ${fingerprintSha256(base64Decode(b64!))}${type === 'ssh-rsa' ? ', 3072 bits' : ''}`);
  }
  if (sshd.hostKeys.some((k) => k.type === 'rsa')) expect(byId(report, 'posture.rsa-host-key-size')).toMatchObject({ verdict: 'pass', detail: '3072 bits' });
  expect(ids(report, 'fail').filter((id) => byId(report, id)!.requirement === 'must')).toEqual([]);
}

describeInteropWithHome('pure-ssh-check against OpenSSH 9.2', () => {
  const sshd = sshdSuite({ hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });

  it('passes every strict-kex, protocol and (logged in) connection probe, and exits 0', async () => {
    const { code, report } = await checkJson(sshd.port, { sshd });
    expect(report.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_9\.2/);
    expectConformantOpenssh(report, sshd);
    expectConnectionProbesPass(report, 'info');
    // 9.2 has sntrup761x25519 but no ML-KEM, and still offers SHA-1 MACs.
    expect(byId(report, 'posture.post-quantum-kex')?.detail).toMatch(/sntrup761x25519-sha512/);
    expect(byId(report, 'posture.weak-macs')?.detail).toMatch(/hmac-sha1 \(SHA-1\)/);
    expect(code).toBe(0);
  }, 120_000);

  it('logs in when known_hosts holds only the RSA key: the login connections offer that type first (order_hostkeyalgs)', async () => {
    const rsaOnly = join(sshd.dir, 'known_hosts_rsa');
    await writeFile(rsaOnly, sshd.hostKeyLines.filter((l) => l.includes(' ssh-rsa ')).join('\n') + '\n');
    const { code, report } = await checkJson(sshd.port, {
      args: ['-F', 'none', '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${rsaOnly}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-l', sshd.user],
    });
    expect(report.login).toEqual({ user: 'root', method: 'publickey' });
    expect(connectionVerdicts(report)['connection.window']).toBe('pass');
    expect(code).toBe(0);
  }, 120_000);

  it('--loop: the window probe reads its data through a remote forward and a direct-tcpip, no shell', async () => {
    const { code, report } = await checkJson(sshd.port, { sshd, args: ['--loop'] });
    const v = connectionVerdicts(report);
    expect(v).toMatchObject({ 'connection.max-packet': 'pass', 'connection.window': 'pass', 'connection.window-adjust': 'pass', 'connection.eof': 'pass' });
    // A direct-tcpip channel has no exit status (RFC 4254 §6.10 is for sessions).
    expect(v['connection.exit-status']).toBeUndefined();
    expect(byId(report, 'connection.window-adjust')?.detail).toMatch(/^65536 bytes looped through a remote forward \(all of it\)/);
    expect(byId(report, 'connection.eof')?.detail).toBe('data, EOF, CLOSE');
    expect(code).toBe(0);
  }, 120_000);

  it('prints a table with the summary, and --inventory-only makes no probe', async () => {
    const { code, stdout } = await runCheckCli(['--inventory-only', '-p', String(sshd.port), LOOPBACK]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[info\] host key \(ssh-ed25519\) +ssh-ed25519 SHA256:/m);
    expect(stdout).toMatch(/^\[PASS\] Terrapin \(CVE-2023-48795\) exposure +not exposed: strict kex offered$/m);
    expect(stdout).not.toMatch(/Protocol probes/);
    expect(stdout).toMatch(/^summary: \d+ pass, 0 MUST violated, 1 warnings$/m);
  }, 60_000);
});

// A server that offers no curve25519 is checked with what it has (RFC 4253 §7.1).
for (const kex of ['ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256']) {
  describeInteropWithHome(`pure-ssh-check against OpenSSH 9.2 offering only ${kex}`, () => {
    const sshd = sshdSuite({ hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'], config: { KexAlgorithms: kex } });

    it('runs inventory, every probe and the connection probes over it, and exits 0', async () => {
      const { code, report } = await checkJson(sshd.port, { sshd });
      expect(byId(report, 'inventory.kex')?.detail).toBe(kex);
      expect(byId(report, 'inventory.negotiated')?.detail).toMatch(new RegExp(`^${kex}, `));
      expectConformantOpenssh(report, sshd);
      expectConnectionProbesPass(report, 'info');
      expect(code).toBe(0);
    }, 180_000);

    it('--kex with a method the server lacks: the exchange fails, says which kex was offered, and no probe ran (exit 255)', async () => {
      const { code, report } = await checkJson(sshd.port, { args: ['--kex', 'curve25519-sha256'] });
      expect(byId(report, 'inventory.exchange')?.detail).toMatch(/with kex curve25519-sha256$/);
      expect(report.error).toMatch(/^key exchange with pure-ssh not possible .*: no probe run$/);
      expect(code).toBe(255);
    }, 60_000);

    it('--kex with a method the server lacks and a login asked for: login failed on stderr, exit 255', async () => {
      const { code, report, stderr } = await checkJson(sshd.port, { sshd, args: ['--kex', 'curve25519-sha256'] });
      expect(byId(report, 'inventory.exchange')?.detail).toMatch(/with kex curve25519-sha256$/);
      expect(report.login?.error).toMatch(/^key exchange failed: .*curve25519-sha256/);
      expect(stderr).toMatch(/login failed, connection probes not run: key exchange failed/);
      expect(code).toBe(255);
    }, 60_000);
  });
}

// strict kex (b) for the client's direction is seen only under a cipher that uses the sequence
// number (chacha20-poly1305 or any MAC): aes*-gcm@openssh.com does not (RFC 5647 §7.1), so a
// GCM-only server cannot be tested there; under CBC with a MAC over the plaintext OpenSSH reads on
// up to 256 KiB after a bad MAC before it closes (packet.c ssh_packet_start_discard). Neither is a
// MUST violated (break21 F11: both were reported as FAIL, exit 1).
const restricted: [string, Record<string, string>, RegExp][] = [
  ['only aes256-gcm@openssh.com', { Ciphers: 'aes256-gcm@openssh.com' }, /^not testable: none of the server's ciphers \(aes256-gcm@openssh\.com\) uses the sequence number/],
  ['only aes128-cbc with hmac-sha1', { Ciphers: 'aes128-cbc', MACs: 'hmac-sha1' }, /^inconclusive: not acted upon, but no answer under aes128-cbc \+ hmac-sha1 /],
];
for (const release of ['system', '10'] as const) {
  const describeRelease = release === '10' ? describeOpenssh10WithHome : describeInteropWithHome;
  for (const [name, config, detail] of restricted) {
    describeRelease(`pure-ssh-check against OpenSSH ${release === '10' ? '10' : '9.2'} allowing ${name}`, () => {
      const sshd = sshdSuite({ openssh: release, config });

      it('reports strict kex (b) for our packets as info, violates no MUST, and exits 0', async () => {
        const { code, report } = await checkJson(sshd.port, { args: ['-t', '2'] });
        expect(byId(report, 'inventory.ciphers')?.detail).toBe(config.Ciphers);
        expect(byId(report, 'strict-kex.client-seq-reset')).toMatchObject({ verdict: 'info', requirement: 'none', detail: expect.stringMatching(detail) });
        // Nothing failed but the posture (CBC, SHA-1): the bad-MAC probe's silence under CBC is info too.
        expect(ids(report, 'fail').filter((id) => !id.startsWith('posture.'))).toEqual([]);
        // The server's own reset is seen under CBC + HMAC, not under AES-GCM.
        expect(byId(report, 'strict-kex.server-seq-reset')?.verdict).toBe(config.MACs ? 'pass' : 'info');
        // The other strict-kex probes do not depend on the cipher.
        expect(report.findings.filter((f) => f.id.startsWith('strict-kex.') && f.id.split('.').length === 3).every((f) => f.verdict === 'pass')).toBe(true);
        expect(code).toBe(0);
      }, 180_000);
    });
  }
}

/**
 * Keyboard-interactive through SSH_ASKPASS as pure-ssh (and ssh 9.2's input_userauth_info_req)
 * asks it: the prompt shown as "(user@host) PROMPT". pure-ssh-check had its own prompter, which
 * showed the server's bare "Password: " and ignored each prompt's echo flag; it now uses pure-ssh's
 * (connect-host.ts passwordAsker). sshd 9.2 with PAM (pam_unix) asks "Password: " this way.
 */
describeInteropWithHome('pure-ssh-check answering keyboard-interactive (SSH_ASKPASS)', () => {
  const sshd = sshdSuite({
    password: true,
    config: { UsePAM: 'yes', KbdInteractiveAuthentication: 'yes', PasswordAuthentication: 'no' },
    pamService: { name: 'pure-ssh-check-kbdint', config: 'auth required pam_unix.so\naccount required pam_permit.so\nsession required pam_permit.so\n' },
  });
  const dir = suiteDir('pure-ssh-check-kbdint-');

  it('asks "(user@host) Password: " as pure-ssh and ssh do, and logs in with keyboard-interactive', async () => {
    const askpass = join(dir, 'askpass');
    const asked = join(dir, 'asked');
    // Records the prompt it was given (one line per call) and answers with the password.
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${asked}\nprintf '%s\\n' '${sshd.password!.password}'\n`, { mode: 0o700 });
    const { code, stdout, stderr } = await runCheckCli(
      ['-F', 'none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PubkeyAuthentication=no', '-p', String(sshd.port), `${sshd.password!.user}@${LOOPBACK}`],
      { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' },
    );
    expect(stderr).not.toMatch(/login failed/);
    expect(stdout).toMatch(new RegExp(`^login: ${sshd.password!.user} \\(keyboard-interactive\\)$`, 'm'));
    const prompts = (await readFile(asked, 'utf8')).split('\n').filter(Boolean);
    expect(prompts[0]).toBe(`(${sshd.password!.user}@${LOOPBACK}) Password: `);
    expect(code).toBe(0);
  }, 180_000);
});

describeInteropWithHome('pure-ssh-check logging in with a password (SSH_ASKPASS)', () => {
  const sshd = sshdSuite({ password: true });
  const dir = suiteDir('pure-ssh-check-askpass-');

  it('asks once through SSH_ASKPASS, reuses the password for the second connection, and passes', async () => {
    const askpass = join(dir, 'askpass');
    const count = join(dir, 'count');
    // Prints the password and counts how often it was asked.
    await writeFile(askpass, `#!/bin/sh\necho x >> ${count}\nprintf '%s\\n' '${sshd.password!.password}'\n`, { mode: 0o700 });
    const { code, stdout, stderr } = await runCheckCli(
      ['-F', 'none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PubkeyAuthentication=no', '-p', String(sshd.port), `${sshd.password!.user}@${LOOPBACK}`],
      { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' },
    );
    expect(stderr).not.toMatch(/login failed/);
    expect(stdout).toMatch(new RegExp(`^login: ${sshd.password!.user} \\(password\\)$`, 'm'));
    expect(stdout).toMatch(/^\[PASS\] data within the window we grant /m);
    expect((await readFile(count, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
    expect(code).toBe(0);
  }, 180_000);

  it('refuses an unknown host key with StrictHostKeyChecking=yes: exits 255, no connection probes', async () => {
    const { code, report, stderr } = await checkJson(sshd.port, {
      args: ['-F', 'none', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-l', 'root'],
    });
    expect(report.login?.error).toMatch(/[Hh]ost key/);
    expect(report.findings.some((f) => f.group === 'connection')).toBe(false);
    expect(stderr).toMatch(/login failed/);
    expect(code).toBe(255);
  }, 120_000);
  it('says what pure-ssh says for host keys it refuses (unknown with StrictHostKeyChecking=yes, BatchMode, changed) and keys it cannot load: its lines, then its own', async () => {
    const notKey = join(dir, 'not-a-key');
    await writeFile(notKey, 'not a key\n', { mode: 0o600 });
    const changed = join(dir, 'changed_known_hosts');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other_host')]);
    await writeFile(changed, `[${LOOPBACK}]:${sshd.port} ${(await readFile(join(dir, 'other_host.pub'), 'utf8')).split(' ').slice(0, 2).join(' ')}\n`);
    for (const opts of [
      ['-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes'],
      ['-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'],
      ['-o', `UserKnownHostsFile=${changed}`, '-o', 'BatchMode=yes'],
    ]) {
      const args = ['-F', 'none', ...opts, '-o', 'IdentitiesOnly=yes', '-i', notKey, '-p', String(sshd.port), `root@${LOOPBACK}`];
      const cli = await new Promise<{ code: number; stderr: string }>((resolve) => {
        const base = cliEnv(processHome());
        delete base.SSH_AUTH_SOCK;
        execFile(process.execPath, [CLI, '-N', ...args], { timeout: 60_000, env: base }, (err, _out, stderr) =>
          resolve({ code: err && typeof err.code === 'number' ? err.code : 0, stderr }),
        );
      });
      expect(cli.code).toBe(255);
      // A file with no public half to read is loaded at its turn in authentication, as ssh 9.2
      // does (sshconnect2.c load_identity_file): the host key is refused before that turn comes.
      expect(cli.stderr).not.toContain(`Load key "${notKey}"`);
      expect(cli.stderr).toMatch(/(^|\r\n)Host key verification failed\.\r\n$/);
      const { code, stderr } = await runCheckCli(args);
      expect(code).toBe(255);
      // pure-ssh's lines but its fatal one, which is the check's closing line.
      expect(stderr).toBe(`${cli.stderr.replace(/Host key verification failed\.\r\n$/, '')}pure-ssh-check: root@${LOOPBACK}: login failed, connection probes not run: Host key verification failed.\n`);
    }
  }, 180_000);
});

describeInteropWithHome('pure-ssh-check logging in through ssh-agent', () => {
  const sshd = sshdSuite();
  let agent: ChildProcess | undefined;
  let owned: Ownership | undefined;
  let sock: string;
  beforeAll(async () => {
    // An RSA key known only to the agent (its file removed), authorised on the server: the
    // agent signs with rsa-sha2-512 (draft-miller-ssh-agent §3.6.1 flags) for the login.
    const key = join(sshd.dir, 'agent_rsa');
    await new Promise<void>((resolve, reject) =>
      execFile('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', key], (err) => (err ? reject(err) : resolve())),
    );
    await writeFile(join(sshd.dir, 'authorized_keys'), `${sshd.clientPublicKey}\n${await readFile(`${key}.pub`, 'utf8')}`);
    sock = join(sshd.dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-a', sock, '-D'], { stdio: 'ignore' });
    owned = own(agent.pid!);
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    await waitForAgentSocket(sock);
    await new Promise<void>((resolve, reject) =>
      execFile('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: sock } }, (err) => (err ? reject(err) : resolve())),
    );
    await rm(key);
  });
  afterAll(async () => {
    agent?.kill('SIGKILL');
    if (agent) await exited(agent);
    owned?.release();
  });

  it('logs in with the key from SSH_AUTH_SOCK and runs the connection probes', async () => {
    const { code, stdout, stderr } = await runCheckCli(
      ['--json', '-v', '-F', 'none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-p', String(sshd.port), `root@${LOOPBACK}`],
      { SSH_AUTH_SOCK: sock },
    );
    const report = JSON.parse(stdout) as CheckReport;
    expect(report.login, stderr).toEqual({ user: 'root', method: 'publickey' });
    expect(stderr).toMatch(/^debug1: Server accepts key: \S+ RSA SHA256:\S+ agent\r$/m);
    expect(connectionVerdicts(report)['connection.window']).toBe('pass');
    expect(code).toBe(0);
  }, 120_000);
});

describeOpenssh10WithHome('pure-ssh-check against OpenSSH 10', () => {
  const sshd = sshdSuite({ openssh: '10', hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });

  it('passes every probe with --kex mlkem768x25519-sha256, answers ping after login, and exits 0', async () => {
    const { code, report } = await checkJson(sshd.port, { sshd, args: ['--kex', 'mlkem768x25519-sha256'] });
    expect(report.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_10\./);
    expect(byId(report, 'inventory.negotiated')?.detail).toMatch(/^mlkem768x25519-sha256, /);
    expectConformantOpenssh(report, sshd);
    expectConnectionProbesPass(report, 'pass');
    expect(byId(report, 'posture.post-quantum-kex')?.detail).toMatch(/mlkem768x25519-sha256/);
    expect(byId(report, 'inventory.ext-info')?.detail).toMatch(/ping@openssh\.com=0/);
    // OpenSSH answers PING only after user authentication.
    expect(byId(report, 'protocol.ping')).toMatchObject({ verdict: 'info' });
    expect(code).toBe(0);
  }, 120_000);
});

const DROPBEAR = '/usr/sbin/dropbear';
const DROPBEARKEY = '/usr/bin/dropbearkey';
const dropbearAvailable = () => existsSync(DROPBEAR) && existsSync(DROPBEARKEY);
const describeDropbear = describeIf(() => dropbearAvailable() && nssWrapperAvailable(), () => {
  requireNssWrapper();
  throw new Error(`dropbear is not installed: run \`apt-get install -y dropbear-bin\`${inCI() ? ' (CI=true: interop tests never skip)' : ''}`);
});

describeDropbear('pure-ssh-check against Dropbear', () => {
  let dir: string;
  let child: ChildProcess;
  let owned: Ownership;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-dropbear-'));
    const key = join(dir, 'host_ed25519');
    await new Promise<void>((resolve, reject) =>
      execFile(DROPBEARKEY, ['-t', 'ed25519', '-f', key], (err) => (err ? reject(err) : resolve())),
    );
    port = await freePort();
    child = spawn(DROPBEAR, ['-F', '-E', '-p', `${LOOPBACK}:${port}`, '-r', key], { stdio: 'ignore' });
    owned = own(child.pid!, dir);
    await waitForPort(LOOPBACK, port);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (child) await exited(child);
    owned?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds the optional messages it lets through after its NEWKEYS, and exits 1', async () => {
    // Logged in with the harness's password user, through SSH_ASKPASS.
    const { user, password } = await ensurePasswordUser();
    const askpass = join(dir, 'askpass');
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${password}'\n`, { mode: 0o700 });
    const { code, stdout } = await runCheckCli(
      ['--json', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-p', String(port), `${user}@${LOOPBACK}`],
      { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' },
    );
    const report = JSON.parse(stdout) as CheckReport;
    expect(report.login).toEqual({ user, method: 'password' });
    // After login Dropbear keeps every RFC 4254 rule probed, but 2022.83 refuses to cancel the
    // port-0 forward it opened (a SHOULD: reported, not fatal; the forward ends with the connection).
    expect(connectionVerdicts(report)).toEqual({
      'connection.max-packet': 'pass',
      'connection.window': 'pass',
      'connection.window-adjust': 'pass',
      'connection.eof': 'pass',
      'connection.exit-status': 'pass',
      'connection.close-answered': 'pass',
      'connection.keepalive': 'pass',
      'connection.global-replies': 'pass',
      'connection.cancel-tcpip-forward': 'fail',
      'connection.ping': 'info',
    });
    expect(byId(report, 'connection.cancel-tcpip-forward')).toMatchObject({ requirement: 'should', detail: expect.stringMatching(/^port \d+: FAILURE /) });
    expect(report.serverVersion).toMatch(/^SSH-2\.0-dropbear_/);
    const must = ids(report, 'fail').filter((id) => byId(report, id)!.requirement === 'must');
    expect(must).toEqual([
      'strict-kex.debug.before-newkeys',
      'strict-kex.ignore.before-newkeys',
      'strict-kex.unimplemented.before-newkeys',
      'strict-kex.unknown.before-newkeys',
    ]);
    for (const id of ['unimplemented', 'max-packet', 'bad-mac', 'wrong-guess', 'rekey']) {
      expect(byId(report, `protocol.${id}`)?.verdict, id).toBe('pass');
    }
    expect(byId(report, 'posture.weak-kex')?.detail).toBe('diffie-hellman-group14-sha1 (SHA-1)');
    expect(byId(report, 'posture.terrapin')?.verdict).toBe('pass');
    expect(code).toBe(1);
  }, 120_000);
});
