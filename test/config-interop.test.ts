/**
 * Configuration features against the real sshd, through the built CLI (`npm run build` first):
 * HostKeyAlias (known_hosts written and read under the alias, as OpenSSH's ssh writes it),
 * Match exec choosing the settings that connect, -q/-T/-n accepted, and the -v lines ssh
 * prints for each listener and, at exit, the byte totals.
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from './harness/net.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { runCli } from './support/cli-run.js';

const execFileP = promisify(execFile);

describeInteropWithHome('ssh_config features against sshd', () => {
  let sshd: SshdHandle;
  let key: string;
  beforeAll(async () => {
    sshd = await startSshd();
    key = join(sshd.dir, 'client_key');
    writeFileSync(key, sshd.clientKey);
    chmodSync(key, 0o600);
  });
  afterAll(() => sshd?.stop());

  const config = (name: string, text: string) => {
    const path = join(sshd.dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('HostKeyAlias: the key is recorded under the alias (as ssh records it), then found there; a wrong key under it is refused', async () => {
    const ours = join(sshd.dir, 'kh_ours');
    const theirs = join(sshd.dir, 'kh_theirs');
    const cfg = config(
      'alias.conf',
      `Host target\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${key}\n` +
        `  HostKeyAlias Build-Box\n  UserKnownHostsFile ${ours}\n  GlobalKnownHostsFile none\n  BatchMode yes\n`,
    );
    const first = runCli(['-F', cfg, '-o', 'StrictHostKeyChecking=accept-new', '-N', '-v', 'target']);
    await first.waitFor(/Authenticated to 127\.0\.0\.1/);
    await first.kill();
    expect(first.stderr()).toContain("Warning: Permanently added 'build-box' (ED25519) to the list of known hosts.");
    // OpenSSH's client, same alias: the same line.
    await execFileP('ssh', [
      ...['-F', 'none', '-p', String(sshd.port), '-i', key, '-o', 'BatchMode=yes', '-o', 'HostKeyAlias=Build-Box'],
      ...['-o', `UserKnownHostsFile=${theirs}`, '-o', 'GlobalKnownHostsFile=none', '-o', 'StrictHostKeyChecking=accept-new'],
      `${sshd.user}@127.0.0.1`,
      'true',
    ], { env: cliEnv(processHome()) });
    const line = readFileSync(ours, 'utf8');
    expect(line).toBe(readFileSync(theirs, 'utf8'));
    expect(line).toBe(`build-box ${sshd.hostKeys[0]!.publicKey}\n`);

    // Strict checking: only the alias line vouches for the server on its non-22 port.
    const second = runCli(['-F', cfg, '-o', 'StrictHostKeyChecking=yes', '-N', '-v', 'target']);
    await second.waitFor(/Authenticated to 127\.0\.0\.1/);
    await second.kill();
    expect(second.stderr()).toContain('using hostkeyalias: build-box');

    // The right key under another name does not count.
    writeFileSync(ours, `[127.0.0.1]:${sshd.port} ${sshd.hostKeys[0]!.publicKey}\n`);
    const third = runCli(['-F', cfg, '-o', 'StrictHostKeyChecking=yes', '-N', 'target']);
    expect((await third.exited).code).toBe(255);
    expect(third.stderr()).toContain('No ED25519 host key is known for build-box and you have requested strict checking.');
  });

  it('Match exec decides which block applies: the block whose command succeeds holds the right port', async () => {
    const cfg = config(
      'exec.conf',
      `Match exec "test %h = 127.0.0.1 -a %p = 22"\n  Port ${sshd.port}\n  IdentityFile ${key}\n` +
        `Match exec "false"\n  Port 1\nHost *\n  User ${sshd.user}\n  UserKnownHostsFile ${sshd.knownHostsPath}\n  BatchMode yes\n`,
    );
    const accepted = () => sshd.logs().split('Accepted publickey').length;
    const before = accepted();
    const run = runCli(['-F', cfg, '-N', '-q', '-T', '-n', '-o', 'StrictHostKeyChecking=yes', '127.0.0.1']);
    // -q: nothing on stderr; the server's log shows the login.
    for (let i = 0; i < 100 && accepted() === before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(accepted()).toBe(before + 1);
    expect(run.child.exitCode).toBeNull();
    await run.kill();
    expect(run.stderr()).toBe('');
  });

  it('-v: "Local forwarding listening on" per listener, and at exit the byte totals', async () => {
    const lport = await freePort();
    const run = runCli([
      ...['-F', 'none', '-i', key, '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`],
      ...['-o', 'StrictHostKeyChecking=yes', '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${sshd.port}`, `${sshd.user}@127.0.0.1`],
    ]);
    await run.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${lport}\\.`));
    run.child.kill('SIGTERM');
    await run.exited;
    const m = /Transferred: sent (\d+), received (\d+) bytes, in (\d+\.\d) seconds\r\nBytes per second: sent (\d+\.\d), received (\d+\.\d)\r\n/.exec(run.stderr());
    expect(m, run.stderr()).not.toBeNull();
    // The handshake alone is a few kilobytes each way.
    expect(Number(m![1])).toBeGreaterThan(1000);
    expect(Number(m![2])).toBeGreaterThan(1000);
  });

  it('options that need a shell are refused by name', async () => {
    for (const [flag, what] of [['-A', 'agent forwarding'], ['-X', 'X11 forwarding'], ['-t', 'pseudo-terminals']]) {
      const run = runCli(['-F', 'none', flag, '-N', '-p', String(sshd.port), '127.0.0.1']);
      expect((await run.exited).code).toBe(255);
      expect(run.stderr()).toBe(`pure-ssh: option ${flag} is not supported yet (${what})\r\n`);
    }
  });
});
