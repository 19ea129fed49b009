/**
 * ssh_config(5) VisualHostKey and FingerprintHash, side by side with ssh 9.2: both clients run with
 * the same arguments against one sshd (Ed25519, ECDSA and RSA host keys, and a host certificate)
 * and what they print is compared byte for byte:
 * - a known host (sshconnect.c check_host_key, HOST_OK): `Host key fingerprint is FP` and the
 *   random art, one logit() call (the art's lines end in "\n", the call in "\r\n");
 * - the new-host question (HOST_NEW, on a terminal under script(1)): the art after the fingerprint;
 * - FingerprintHash md5 (`MD5:xx:…`) in the question, the changed-key block (warn_changed_key),
 *   the `-v` lines (verify_host_key's `Server host key:`, format_identity's identity lines) and
 *   the art's footer;
 * - `ssh -G`'s `visualhostkey` and `fingerprinthash` lines.
 * The login itself fails (a key sshd does not know, BatchMode), after the host key check.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI, requireBuiltCli, runForStderr } from './harness/proc.js';
import { publicKeyOf, startSshd, type SshdHandle } from './harness/sshd.js';

function keygen(...args: string[]): void {
  execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
}

/** Runs `argv` on a new terminal, types `answer`, returns what the terminal showed and the exit code. */
function onTerminal(argv: string[], env: NodeJS.ProcessEnv, answer: string): Promise<{ out: string; code: number | null }> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const p = spawn('script', ['-qec', quoted, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  // Typed once the question shows: text typed ahead is discarded, by ssh's readpassphrase(3)
  // (TCSAFLUSH) and by ours.
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!p.stdin.writableEnded && /\(yes\/no\/\[fingerprint\]\)\? $/.test(out)) p.stdin.end(`${answer}\n`);
  });
  return new Promise((resolve) => p.on('close', (code) => resolve({ out, code })));
}

describeInteropWithHome('VisualHostKey and FingerprintHash, side by side with ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let dir: string;
  const p = (n: string) => join(dir, n);
  const pub = (n: string) => publicKeyOf(p(n));

  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-visual-'));
    for (const [n, t] of [['host_ca', 'ed25519'], ['host_ed25519', 'ed25519'], ['other', 'ed25519'], ['stranger', 'ed25519']]) keygen('-t', t!, '-N', '', '-C', n!, '-f', p(n!));
    keygen('-t', 'ecdsa', '-b', '256', '-N', '', '-f', p('host_ecdsa'));
    keygen('-t', 'rsa', '-b', '3072', '-N', '', '-f', p('host_rsa'));
    keygen('-s', p('host_ca'), '-I', 'test host', '-h', '-n', '127.0.0.1', '-V', '-5m:+1h', p('host_ed25519.pub'));
    sshd = await startSshd({
      config: { HostKey: [p('host_ed25519'), p('host_ecdsa'), p('host_rsa')], HostCertificate: p('host_ed25519-cert.pub') },
    });
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const env = () => cliEnv(home);
  const run = (cmd: string[], args: string[]) => runForStderr(cmd, args, env());

  /** A known_hosts file of `lines`; both clients' {code, stderr} with it and `extra`, compared. */
  async function sideBySide(lines: string[], extra: string[]): Promise<string> {
    const kh = p(`kh-${Math.random().toString(36).slice(2)}`);
    await writeFile(kh, lines.map((l) => `${l}\n`).join(''));
    const args = ['-F', '/dev/null', '-p', String(sshd.port), '-i', p('stranger'), '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', ...extra, '-N', 'root@127.0.0.1'];
    const theirs = await run([sshd.openssh.ssh], args);
    const ours = await run([process.execPath, CLI], args);
    expect(theirs.code).toBe(255);
    expect(ours).toEqual(theirs);
    return theirs.stderr;
  }

  const known = async (key: string) => `[127.0.0.1]:${sshd.port} ${await pub(key)}`;
  const DENIED = 'root@127.0.0.1: Permission denied (publickey).\r\n';

  for (const [what, key, alg, title] of [
    ['Ed25519', 'host_ed25519', 'ssh-ed25519', '+--[ED25519 256]--+'],
    ['ECDSA', 'host_ecdsa', 'ecdsa-sha2-nistp256', '+---[ECDSA 256]---+'],
    ['RSA', 'host_rsa', 'rsa-sha2-512', '+---[RSA 3072]----+'],
  ] as const) {
    it(`a known ${what} host key with VisualHostKey yes: "Host key fingerprint is" and the art, one log call`, async () => {
      const theirs = await sideBySide([await known(key)], ['-o', `HostKeyAlgorithms=${alg}`, '-o', 'VisualHostKey=yes']);
      const esc = (t: string) => t.replace(/[[\]+().|]/g, '\\$&');
      expect(theirs).toMatch(new RegExp(`^Host key fingerprint is SHA256:\\S+\\n${esc(title)}\\n(\\|.{17}\\|\\n){9}\\+----\\[SHA256\\]-----\\+\\r\\n${esc(DENIED)}$`));
    }, 60_000);
  }

  it('a known host with FingerprintHash md5 too (in a config file): MD5:xx:… and [MD5] under the art', async () => {
    const cfg = p('visual.conf');
    await writeFile(cfg, 'Host *\n  VisualHostKey yes\n  FingerprintHash md5\n');
    const theirs = await sideBySide([await known('host_ed25519')], ['-F', cfg, '-o', 'HostKeyAlgorithms=ssh-ed25519']);
    expect(theirs).toMatch(/^Host key fingerprint is MD5:([0-9a-f]{2}:){15}[0-9a-f]{2}\n/);
    expect(theirs).toContain('\n+------[MD5]------+\r\n');
  }, 60_000);

  it('a host certificate accepted through its CA: the certified key\'s fingerprint, the art titled [ED25519-CERT]', async () => {
    const theirs = await sideBySide([`@cert-authority * ${await pub('host_ca')}`], ['-o', 'VisualHostKey=yes']);
    expect(theirs).toContain('\n+-[ED25519-CERT]--+\n');
    // Not yet accepted by its CA: its plain key, found in known_hosts, is what ssh shows.
    expect(await sideBySide([await known('host_ed25519')], ['-o', 'VisualHostKey=yes'])).toContain('\n+--[ED25519 256]--+\n');
  }, 60_000);

  it('VisualHostKey no, and LogLevel quiet: no art', async () => {
    expect(await sideBySide([await known('host_ed25519')], ['-o', 'VisualHostKey=no'])).toBe(DENIED);
    expect(await sideBySide([await known('host_ed25519')], ['-o', 'VisualHostKey=yes', '-q'])).toBe('');
  }, 60_000);

  it('a changed host key with FingerprintHash md5: the block with MD5:xx:… after its bare "\\n"', async () => {
    const theirs = await sideBySide([await known('other')], ['-o', 'FingerprintHash=md5', '-o', 'VisualHostKey=yes']);
    expect(theirs).toMatch(/The fingerprint for the ED25519 key sent by the remote host is\nMD5:([0-9a-f]{2}:){15}[0-9a-f]{2}\.\r\n/);
  }, 60_000);

  for (const [what, key, alg] of [['Ed25519', 'host_ed25519', 'ssh-ed25519'], ['RSA under rsa-sha2-512', 'host_rsa', 'rsa-sha2-512']] as const) {
    it(`-v with FingerprintHash md5, ${what}: \`Server host key:\` (the key's type) and the identity lines in MD5`, async () => {
      const kh = p(`kh-verbose-${key}`);
      await writeFile(kh, `${await known(key)}\n`);
      const lines = async (cmd: string[]) => {
        const { stderr } = await run(cmd, ['-v', '-F', '/dev/null', '-p', String(sshd.port), '-i', p('stranger'), '-o', 'IdentitiesOnly=yes',
          '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
          '-o', 'FingerprintHash=md5', '-o', `HostKeyAlgorithms=${alg}`, '-N', 'root@127.0.0.1']);
        return stderr.split('\r\n').filter((l) => /^debug1: (Server host key|Will attempt key|Offering public key):/.test(l));
      };
      const theirs = await lines([sshd.openssh.ssh]);
      expect(theirs).toHaveLength(3);
      for (const l of theirs) expect(l).toMatch(/ MD5:([0-9a-f]{2}:){15}[0-9a-f]{2}( |$)/);
      // kex's debug line names the key type (sshkey_ssh_name), not the signature algorithm.
      expect(theirs[0]).toMatch(key === 'host_rsa' ? /^debug1: Server host key: ssh-rsa MD5:/ : /^debug1: Server host key: ssh-ed25519 MD5:/);
      expect(await lines([process.execPath, CLI])).toEqual(theirs);
    }, 60_000);
  }

  /**
   * The question as the terminal showed it, from its first line to `(yes/no/[fingerprint])? `,
   * with the "\r" readpass.c read_passphrase writes before it.
   */
  const question = (out: string) => /\r?The authenticity of host [\s\S]*?\(yes\/no\/\[fingerprint\]\)\? /.exec(out)?.[0];

  for (const [what, extra, shows] of [
    ['VisualHostKey yes', ['-o', 'VisualHostKey=yes'], /\.\r\n\+--\[ED25519 256\]--\+\r\n/],
    ['FingerprintHash md5', ['-o', 'FingerprintHash=md5'], /ED25519 key fingerprint is MD5:([0-9a-f]{2}:){15}[0-9a-f]{2}\.\r\n/],
    ['both', ['-o', 'FingerprintHash=md5', '-o', 'VisualHostKey=yes'], /\+------\[MD5\]------\+\r\nThis key is not known/],
  ] as const) {
    it(`the new-host question with ${what}, as ssh asks it`, async () => {
      const args = ['-N', '-F', 'none', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'HostKeyAlgorithms=ssh-ed25519', ...extra, '-p', String(sshd.port), '127.0.0.1'];
      const theirs = await onTerminal([sshd.openssh.ssh, ...args], env(), 'no');
      const ours = await onTerminal([process.execPath, CLI, ...args], env(), 'no');
      expect(question(theirs.out)).toMatch(shows);
      expect(question(theirs.out)).toMatch(/^\rThe authenticity/);
      expect(question(ours.out)).toBe(question(theirs.out));
      expect(ours.code).toBe(255);
      expect(theirs.code).toBe(255);
    }, 60_000);
  }

  it('the pasted MD5 fingerprint answers the question, as ssh(1) confirm() compares it', async () => {
    const md5 = spawnSync('/usr/bin/ssh-keygen', ['-l', '-E', 'md5', '-f', p('host_ed25519.pub')], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    const kh = p('kh-pasted');
    await writeFile(kh, '');
    const args = ['-N', '-F', 'none', '-i', p('stranger'), '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'FingerprintHash=md5', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
      '-p', String(sshd.port), '127.0.0.1'];
    const ours = await onTerminal([process.execPath, CLI, ...args], env(), md5);
    expect(ours.out).toContain(`Warning: Permanently added '[127.0.0.1]:${sshd.port}' (ED25519) to the list of known hosts.`);
  }, 60_000);

  it('library: connect({ fingerprintHash: \'md5\' }) shows verifyHostKey and the debug lines MD5 fingerprints', async () => {
    const md5 = spawnSync('/usr/bin/ssh-keygen', ['-l', '-E', 'md5', '-f', p('host_ed25519.pub')], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    const lines: string[] = [];
    let seen: string | undefined;
    const err = await connect({
      host: '127.0.0.1',
      port: sshd.port,
      username: 'root',
      privateKey: await readFile(p('stranger'), 'utf8'),
      algorithms: { hostKey: ['ssh-ed25519'] },
      fingerprintHash: 'md5',
      debug: (m) => lines.push(m),
      verifyHostKey: (info) => {
        seen = info.fingerprint;
        return false;
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(seen).toBe(md5);
    expect(lines).toContain(`Server host key: ssh-ed25519 ${md5}`);
  }, 60_000);

  it('ssh -G: visualhostkey and fingerprinthash as ssh prints them, from -o and from a file', async () => {
    const cfg = p('g.conf');
    await writeFile(cfg, 'Host *\n  VisualHostKey yes\n  FingerprintHash Sha512\n');
    const pick = (out: string) => out.split('\n').filter((l) => /^(visualhostkey|fingerprinthash) /.test(l));
    for (const args of [[], ['-o', 'VisualHostKey=yes', '-o', 'FingerprintHash=md5'], ['-o', 'VisualHostKey=no', '-o', 'FingerprintHash=SHA1'], ['-F', cfg]]) {
      const all = ['-G', ...(args[0] === '-F' ? [] : ['-F', '/dev/null']), ...args, 'h'];
      const theirs = spawnSync(sshd.openssh.ssh, all, { encoding: 'utf8', env: env() });
      const ours = spawnSync(process.execPath, [CLI, ...all], { encoding: 'utf8', env: env() });
      expect(pick(theirs.stdout)).toHaveLength(2);
      expect(pick(ours.stdout), args.join(' ')).toEqual(pick(theirs.stdout));
      expect(ours.status).toBe(0);
    }
  }, 60_000);
});
