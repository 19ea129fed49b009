/**
 * The keys ssh 9.2 lists before user authentication and the method it takes up, beside the
 * built CLI against the real sshd and ssh-agent: sshconnect2.c pubkey_prepare's `Will attempt
 * key: FILE TYPE SHA256:... [explicit] [agent]` for every key it will try, in its order (the
 * CertificateFile certificates, the agent's keys that match an identity file, the agent's other
 * keys, the remaining files, a `FILE-cert.pub` found beside a key right after that key and named
 * by the key's path), and authmethod_get's `Next authentication method: publickey`.
 * pure-ssh printed neither line, and offered a certificate found beside its key before the key.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { SSH_CLIENT_PATH, sshClientAvailable, sshdSuite } from './harness/sshd.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { startSshAgent } from './support/ssh-agent.js';

const execFileP = promisify(execFile);

describeInteropWithHome('"Will attempt key" and "Next authentication method" at -v, as ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-will-attempt-');
  let agentSock: string;
  let stopAgent: () => void;
  beforeAll(async () => {
    const keygen = (name: string, type: string) => execFileP('/usr/bin/ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', join(dir, name)]);
    await Promise.all([keygen('refused_ecdsa', 'ecdsa'), keygen('agent_only', 'ed25519'), keygen('ca', 'ed25519')]);
    // The authorised key, with a user certificate beside it (the server trusts no CA: refused).
    await copyFile(sshd.clientKeyPath, join(dir, 'id_login'));
    await copyFile(`${sshd.clientKeyPath}.pub`, join(dir, 'id_login.pub'));
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-s', join(dir, 'ca'), '-I', 'login', '-n', 'root', '-V', '+1h', join(dir, 'id_login.pub')]);
    agentSock = join(dir, 'agent.sock');
    const agent = await startSshAgent(agentSock);
    stopAgent = () => agent.kill();
    for (const k of ['refused_ecdsa', 'agent_only']) await execFileP('/usr/bin/ssh-add', [join(dir, k)], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
  });
  afterAll(async () => {
    stopAgent?.();
  });

  /** `client`'s `Will attempt key` and `Next authentication method` lines (and those `also` matches), the directory written DIR. */
  async function linesOf(client: 'ssh' | 'pure-ssh', extra: string[], also?: RegExp): Promise<string[]> {
    const argv = [
      '-F', '/dev/null', '-v', '-p', String(sshd.port),
      '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      ...extra,
      // stdin is /dev/null: the forward ends at once, after authentication.
      '-W', `127.0.0.1:${sshd.port}`, sshd.target,
    ];
    const env = cliEnv(home, { SSH_AUTH_SOCK: agentSock });
    const child = client === 'ssh' ? spawn(SSH_CLIENT_PATH, argv, { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: dir }) : spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: dir });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise((r) => child.once('close', r));
    expect(stderr, client).toContain('Authenticated to');
    return stderr
      .split(/\r?\n/)
      .filter((l) => /^debug1: (Will attempt key|Next authentication method):/.test(l) || also?.test(l) === true)
      .map((l) => l.split(dir).join('DIR'));
  }

  const FP = /SHA256:[A-Za-z0-9+/]{43}/;
  const OFFERING = /^debug1: Offering public key: /;

  it('-i files, one also in the agent, an agent-only key, a FILE-cert.pub beside a key', async () => {
    const extra = ['-i', 'id_login', '-i', join(dir, 'refused_ecdsa')];
    const ours = await linesOf('pure-ssh', extra);
    // The agent's key that -i names first, then the agent's other key, then the file and its certificate.
    expect(ours.map((l) => l.replace(FP, 'FP'))).toEqual([
      'debug1: Will attempt key: DIR/refused_ecdsa ECDSA FP explicit agent',
      'debug1: Will attempt key: agent_only@test ED25519 FP agent',
      'debug1: Will attempt key: id_login ED25519 FP explicit',
      'debug1: Will attempt key: id_login ED25519-CERT FP explicit',
      'debug1: Next authentication method: publickey',
    ]);
    // The certificate's fingerprint is its key's, as ssh prints it.
    expect(ours[2]!.match(FP)![0]).toBe(ours[3]!.match(FP)![0]);
    if (sshClientAvailable()) expect(ours).toEqual(await linesOf('ssh', extra));
  }, 60_000);

  it('CertificateFile: its certificate first, named by its file, before the agent keys', async () => {
    const extra = ['-i', 'id_login', '-i', join(dir, 'refused_ecdsa'), '-o', 'CertificateFile=id_login-cert.pub'];
    const ours = await linesOf('pure-ssh', extra);
    expect(ours.map((l) => l.replace(FP, 'FP'))).toEqual([
      'debug1: Will attempt key: id_login-cert.pub ED25519-CERT FP explicit',
      'debug1: Will attempt key: DIR/refused_ecdsa ECDSA FP explicit agent',
      'debug1: Will attempt key: agent_only@test ED25519 FP agent',
      'debug1: Will attempt key: id_login ED25519 FP explicit',
      'debug1: Next authentication method: publickey',
    ]);
    if (sshClientAvailable()) expect(ours).toEqual(await linesOf('ssh', extra));
  }, 60_000);

  // sshconnect2.c get_agent_identities binds the agent to the session before it lists its keys,
  // and a bound ssh-agent hides a key whose destination constraints (`ssh-add -h`) leave this
  // host out: the identity file holding that key is then an ordinary file, in its place among the
  // files. pure-ssh listed the agent first (unbound), let the key stand for the file, then
  // withdrew it once bound: the file was never offered (with IdentitiesOnly, nothing was).
  it('a key the agent holds for another host only (ssh-add -h): its file is offered as a file, in the files\' order', async () => {
    const env = { ...process.env, SSH_AUTH_SOCK: agentSock };
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'elsewhere@test', '-f', join(dir, 'elsewhere')]);
    // The constraint's host key: any key will do, the host is not this one.
    await writeFile(join(dir, 'other_known_hosts'), `otherhost ${(await readFile(join(dir, 'ca.pub'), 'utf8')).split(' ').slice(0, 2).join(' ')}\n`);
    await execFileP('/usr/bin/ssh-add', ['-H', join(dir, 'other_known_hosts'), '-h', 'otherhost', join(dir, 'elsewhere')], { env });
    try {
      const cases: [string[], string[]][] = [
        [['-i', 'elsewhere', '-i', join(dir, 'refused_ecdsa'), '-i', 'id_login'], [
          'debug1: Will attempt key: DIR/refused_ecdsa ECDSA FP explicit agent',
          'debug1: Will attempt key: agent_only@test ED25519 FP agent',
          'debug1: Will attempt key: elsewhere ED25519 FP explicit',
          'debug1: Will attempt key: id_login ED25519 FP explicit',
          'debug1: Will attempt key: id_login ED25519-CERT FP explicit',
          'debug1: Next authentication method: publickey',
        ]],
        [['-o', 'IdentitiesOnly=yes', '-i', 'elsewhere', '-i', 'id_login'], [
          'debug1: Will attempt key: elsewhere ED25519 FP explicit',
          'debug1: Will attempt key: id_login ED25519 FP explicit',
          'debug1: Will attempt key: id_login ED25519-CERT FP explicit',
          'debug1: Next authentication method: publickey',
        ]],
      ];
      for (const [extra, expected] of cases) {
        const ours = await linesOf('pure-ssh', extra, OFFERING);
        const offered = ours.filter((l) => l.startsWith('debug1: Offering public key: elsewhere ED25519 '));
        expect(ours.filter((l) => !l.startsWith('debug1: Offering')).map((l) => l.replace(FP, 'FP')), extra.join(' ')).toEqual(expected);
        // Offered, from the file (not "agent"), before id_login.
        expect(offered.length, extra.join(' ')).toBe(1);
        expect(offered[0], extra.join(' ')).toMatch(/ explicit$/);
        if (sshClientAvailable()) expect(ours, extra.join(' ')).toEqual(await linesOf('ssh', extra, OFFERING));
      }
    } finally {
      await execFileP('/usr/bin/ssh-add', ['-d', join(dir, 'elsewhere')], { env });
    }
  }, 90_000);

  // sshconnect2.c pubkey_prepare ignores an agent key RequiredRSASize rules out as it reads the
  // agent's list, before matching files, IdentitiesOnly and PubkeyAcceptedAlgorithms: its line
  // comes first and is said with IdentitiesOnly too. pure-ssh said it only for a key it would
  // have offered, at its place among the "Skipping" lines.
  it('an agent RSA key under RequiredRSASize: its line first, with IdentitiesOnly too', async () => {
    const env = { ...process.env, SSH_AUTH_SOCK: agentSock };
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-C', 'short@test', '-f', join(dir, 'short_rsa')]);
    await execFileP('/usr/bin/ssh-add', [join(dir, 'short_rsa')], { env });
    try {
      const ignoring = 'debug1: pubkey_prepare: ignoring ssh-rsa agent key: Invalid key length';
      const cases: [string[], string[]][] = [
        [['-o', 'RequiredRSASize=2048', '-o', 'IdentitiesOnly=yes', '-i', 'id_login'], [
          ignoring,
          'debug1: Will attempt key: id_login ED25519 FP explicit',
          'debug1: Will attempt key: id_login ED25519-CERT FP explicit',
          'debug1: Next authentication method: publickey',
        ]],
        [['-o', 'RequiredRSASize=2048', '-o', 'PubkeyAcceptedAlgorithms=-ecdsa-sha2-nistp256', '-i', 'id_login'], [
          ignoring,
          'debug1: Skipping ecdsa-sha2-nistp256 key refused_ecdsa@test - corresponding algo not in PubkeyAcceptedAlgorithms',
          'debug1: Will attempt key: agent_only@test ED25519 FP agent',
          'debug1: Will attempt key: id_login ED25519 FP explicit',
          'debug1: Will attempt key: id_login ED25519-CERT FP explicit',
          'debug1: Next authentication method: publickey',
        ]],
      ];
      for (const [extra, expected] of cases) {
        const ours = await linesOf('pure-ssh', extra, /^debug1: (pubkey_prepare: ignoring|Skipping) /);
        expect(ours.map((l) => l.replace(FP, 'FP')), extra.join(' ')).toEqual(expected);
        if (sshClientAvailable()) expect(ours, extra.join(' ')).toEqual(await linesOf('ssh', extra, /^debug1: (pubkey_prepare: ignoring|Skipping) /));
      }
    } finally {
      await execFileP('/usr/bin/ssh-add', ['-d', join(dir, 'short_rsa')], { env });
    }
  }, 90_000);

  it('PubkeyAcceptedAlgorithms: the key it leaves out is skipped before the list, as ssh', async () => {
    const extra = ['-o', 'IdentitiesOnly=yes', '-i', 'id_login', '-i', join(dir, 'refused_ecdsa'), '-o', 'PubkeyAcceptedAlgorithms=-ecdsa-sha2-nistp256'];
    const ours = await linesOf('pure-ssh', extra);
    expect(ours.map((l) => l.replace(FP, 'FP'))).toEqual([
      'debug1: Will attempt key: id_login ED25519 FP explicit',
      'debug1: Will attempt key: id_login ED25519-CERT FP explicit',
      'debug1: Next authentication method: publickey',
    ]);
    if (sshClientAvailable()) expect(ours).toEqual(await linesOf('ssh', extra));
  }, 60_000);
});
