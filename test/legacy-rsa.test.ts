/**
 * SHA-1 `ssh-rsa` (RFC 4253 §6.6) for old servers: off by default as in OpenSSH 8.8+, on when the
 * user names it (ssh_config(5) HostKeyAlgorithms `+ssh-rsa`). Against an sshd 9.2 that signs only
 * with ssh-rsa (sshd_config `HostKeyAlgorithms ssh-rsa`, one RSA host key), pure-ssh's CLI and
 * library must do what ssh 9.2 does: refuse with ssh's "no matching host key type found" by
 * default, connect with `+ssh-rsa`, and `-G` prints the same hostkeyalgorithms line (apart from
 * the FIDO `sk-*`, `webauthn-*` and DSA names pure-ssh does not implement).
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { applyAlgorithmSpec, defaultAlgorithms } from '../src/algorithms.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { SSHD_PATH, sshdSuite } from './harness/sshd.js';
import { CLI_BIN_PATH as CLI, deliverSignal, runForStderr } from './harness/proc.js';
import { startSshAgent } from './support/ssh-agent.js';

/** ssh -vvv lines about the host key offer and check. */
const HOST_KEY_LINE =
  /^(debug2: host key algorithms: |debug1: kex: host key algorithm: |debug1: Server host key|debug1: Host '.*' is known and matches|Unable to negotiate|Warning: Permanently added)/;
/** Names ssh knows and pure-ssh does not implement. */
const withoutUnimplemented = (line: string) => line.replace(/,(sk-|webauthn-sk-|ssh-dss)[a-z0-9-]*(@openssh\.com)?/g, '');

it('ssh-rsa is never a default; named, it goes where the list syntax puts it', () => {
  const d = defaultAlgorithms().hostKey;
  expect(d.some((n) => n.startsWith('ssh-rsa'))).toBe(false);
  expect(applyAlgorithmSpec('hostKey', d, '+ssh-rsa')).toEqual([...d, 'ssh-rsa']);
  expect(applyAlgorithmSpec('hostKey', d, '^ssh-rsa')).toEqual(['ssh-rsa', ...d]);
  expect(applyAlgorithmSpec('hostKey', d, '+ssh-rsa*')).toEqual([...d, 'ssh-rsa', 'ssh-rsa-cert-v01@openssh.com']);
  expect(applyAlgorithmSpec('hostKey', d, '-ssh-rsa')).toEqual(d);
});

describeInteropWithHome('an sshd that signs only with ssh-rsa (SHA-1)', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ hostKeyTypes: ['rsa'], config: { HostKeyAlgorithms: 'ssh-rsa' } });

  const run = (cmd: string[], args: string[]) => runForStderr(cmd, args, cliEnv(home));

  /** Both clients at -vvv with a key the server does not know (both stop after the host key check). */
  async function sideBySide(extra: string[]): Promise<string[]> {
    const tag = Math.random().toString(36).slice(2);
    const out: { lines: string[]; code: number | null }[] = [];
    for (const [who, cmd] of [['ssh', [sshd.openssh.ssh]], ['pure', [process.execPath, CLI]]] as const) {
      const kh = join(sshd.dir, `kh-${tag}-${who}`);
      await writeFile(kh, sshd.hostKeyLines.map((l) => `${l}\n`).join(''));
      const { code, stderr } = await run([...cmd], ['-F', '/dev/null', '-vvv', '-p', String(sshd.port), '-i', '/dev/null',
        '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
        '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', ...extra, '-N', 'root@127.0.0.1']);
      const seen = new Set<string>();
      const lines = stderr.split(/\r?\n/).filter((l) => HOST_KEY_LINE.test(l)).map(withoutUnimplemented)
        .filter((l) => !l.startsWith('debug2: host key algorithms: ') || (!seen.has(l) && seen.add(l)));
      out.push({ lines, code });
    }
    const [theirs, ours] = out as [(typeof out)[0], (typeof out)[0]];
    expect(ours.lines).toEqual(theirs.lines);
    expect(ours.code).toBe(theirs.code);
    return theirs.lines;
  }

  it("by default both refuse with ssh's wording", async () => {
    const theirs = await sideBySide([]);
    expect(theirs).toContain(`Unable to negotiate with 127.0.0.1 port ${sshd.port}: no matching host key type found. Their offer: ssh-rsa`);
  });

  it('with HostKeyAlgorithms +ssh-rsa (or ^ssh-rsa, or +ssh-rsa*) both negotiate ssh-rsa and match the RSA known_hosts line', async () => {
    for (const spec of ['+ssh-rsa', '^ssh-rsa', '+ssh-rsa*']) {
      const theirs = await sideBySide(['-o', `HostKeyAlgorithms=${spec}`]);
      expect(theirs).toContain('debug1: kex: host key algorithm: ssh-rsa');
      expect(theirs).toContain(`debug1: Host '[127.0.0.1]:${sshd.port}' is known and matches the RSA host key.`);
    }
  });

  it('-G prints the hostkeyalgorithms line ssh prints', () => {
    for (const spec of ['+ssh-rsa', '^ssh-rsa', '+ssh-rsa*', '+ssh-rsa-cert-v01@openssh.com', '-ssh-rsa']) {
      const args = ['-G', '-F', '/dev/null', '-o', `HostKeyAlgorithms=${spec}`, 'x'];
      const line = (text: string) => text.split('\n').find((l) => l.startsWith('hostkeyalgorithms '))!;
      const theirs = line(execFileSync(sshd.openssh.ssh, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      const ours = line(execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: cliEnv(home) }));
      expect(ours, spec).toBe(withoutUnimplemented(theirs));
    }
  });

  it('the library: refused by default, authenticated with hostKey +ssh-rsa (SHA-1 signature verified)', async () => {
    const base = { host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath };
    await expect(connect(base)).rejects.toThrow(/Unable to negotiate host key algorithm.*Server offers: ssh-rsa/);
    const ssh = await connect({ ...base, algorithms: { hostKey: '+ssh-rsa' } });
    expect(ssh.info.negotiated?.hostKey).toBe('ssh-rsa');
    await ssh.close();
  });
});

/** ssh -v lines about which keys are offered and how it ends. */
const AUTH_LINE = /^(debug1: Skipping |debug1: Offering public key|debug1: Server accepts key|Authenticated to |\S+@\S+: Permission denied)/;

describeInteropWithHome('an sshd that accepts only ssh-rsa (SHA-1) user signatures', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ config: { PubkeyAcceptedAlgorithms: 'ssh-rsa' } });
  let rsaKey: string;
  let agentSock: string;
  let agentPid: number | undefined;

  beforeAll(async () => {
    rsaKey = join(sshd.dir, 'id_rsa');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'legacy', '-f', rsaKey]);
    const authorized = execFileSync(SSHD_PATH, ['-T', '-f', sshd.configPath], { encoding: 'utf8' })
      .split('\n').find((l) => l.startsWith('authorizedkeysfile '))!.split(' ')[1]!;
    const { appendFile, readFile } = await import('node:fs/promises');
    await appendFile(authorized, await readFile(`${rsaKey}.pub`, 'utf8'));
    agentSock = join(sshd.dir, 'agent.sock');
    agentPid = (await startSshAgent(agentSock)).pid;
    execFileSync('/usr/bin/ssh-add', ['-q', rsaKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
  });
  afterAll(async () => {
    if (agentPid !== undefined) process.kill(agentPid);
  });

  /** Both clients at -v with the RSA key then the Ed25519 one; stopped once authenticated. */
  async function sideBySide(spec: string | undefined): Promise<string[]> {
    const out: string[][] = [];
    for (const cmd of [[sshd.openssh.ssh], [process.execPath, CLI]]) {
      const args = ['-F', '/dev/null', '-v', '-p', String(sshd.port), '-i', rsaKey, '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', ...(spec ? ['-o', `PubkeyAcceptedAlgorithms=${spec}`] : []), '-N', 'root@127.0.0.1'];
      const stderr = await new Promise<string>((resolve) => {
        const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
        let text = '';
        child.stderr.on('data', (d: Buffer) => {
          const authenticated = text.includes('Authenticated to ');
          text += d.toString('latin1');
          if (!authenticated && text.includes('Authenticated to ')) deliverSignal(child, 'SIGTERM');
        });
        child.on('exit', () => resolve(text));
      });
      out.push(stderr.split(/\r?\n/).filter((l) => AUTH_LINE.test(l)).map((l) => l.replaceAll(sshd.dir, 'DIR')));
    }
    expect(out[1]).toEqual(out[0]);
    return out[0]!;
  }

  it('default and +ssh-rsa: the RSA key goes as rsa-sha2-512 (server-sig-algs lists it) and is refused; the Ed25519 key is next', async () => {
    for (const spec of [undefined, '+ssh-rsa']) {
      const theirs = await sideBySide(spec);
      expect(theirs.filter((l) => l.startsWith('debug1: Offering public key'))).toHaveLength(2);
      expect(theirs.some((l) => l.startsWith('Authenticated to'))).toBe(false);
    }
  });

  it('^ssh-rsa or exactly ssh-rsa: both log in with the RSA key signing SHA-1 ssh-rsa', async () => {
    for (const spec of ['^ssh-rsa', 'ssh-rsa']) {
      const theirs = await sideBySide(spec);
      expect(theirs.some((l) => l.startsWith('debug1: Server accepts key: DIR/id_rsa RSA '))).toBe(true);
      expect(theirs.some((l) => l.startsWith('Authenticated to'))).toBe(true);
    }
  });

  it("-rsa-sha2-*: the RSA key is skipped with ssh's line", async () => {
    const theirs = await sideBySide('-rsa-sha2-*');
    expect(theirs).toContain('debug1: Skipping ssh-rsa key DIR/id_rsa - corresponding algo not in PubkeyAcceptedAlgorithms');
  });

  it('the library: a key file and an agent key (flags 0) sign ssh-rsa only with pubkeyAcceptedAlgorithms ^ssh-rsa', async () => {
    const { readFile } = await import('node:fs/promises');
    const base = { host: sshd.host, port: sshd.port, username: sshd.user, knownHosts: sshd.knownHostsPath };
    const privateKey = await readFile(rsaKey, 'utf8');
    await expect(connect({ ...base, privateKey, agent: false })).rejects.toThrow(/Permission denied|publickey/);
    for (const auth of [{ privateKey, agent: false as const }, { agent: agentSock }]) {
      const ssh = await connect({ ...base, ...auth, pubkeyAcceptedAlgorithms: '^ssh-rsa' });
      await ssh.close();
    }
    await expect(connect({ ...base, agent: agentSock })).rejects.toThrow(/Permission denied|publickey/);
  });
});
