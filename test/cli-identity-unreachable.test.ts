/**
 * Identity files that cannot be reached by their path, beside ssh 9.2 (break35 F3):
 * sshconnect2.c load_identity_file's stat(2) says `no such identity: PATH: <strerror>` for any
 * failure (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG), at INFO for a file the user named and at debug3
 * for a default one, and ssh.c's look-up of `PATH-cert` is silent (sshkey_load_public answers
 * ENOENT for every failure). pure-ssh handled ENOENT only: `/dev/null/x` gave a `Load certificate
 * "/dev/null/x-cert.pub": ... ENOTDIR ... (skipped)` line and `Load key "/dev/null/x": Not a
 * directory`; and a default key whose .pub is there but not its private half said `no such
 * identity` at the default level, where ssh says nothing.
 */
import { symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshClientAvailable, sshdSuite } from './harness/sshd.js';

describeInteropWithHome('identity files not reachable by their path, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });
  const clients = (): CliClient[] => (sshClientAvailable() ? ['ssh', 'pure-ssh'] : ['pure-ssh']);

  const run = async (client: CliClient, config: string, env: NodeJS.ProcessEnv) => {
    const args = [
      '-F', config, '-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-W', '127.0.0.1:1', sshd.target,
    ];
    const r = await startCli(client, args, { env }).done;
    return { code: r.code, stderr: r.stderr };
  };

  it('IdentityFile under a file (ENOTDIR) or a symbolic link loop (ELOOP): `no such identity` only, as ssh', async () => {
    const loop = join(sshd.dir, 'loop-a');
    symlinkSync(join(sshd.dir, 'loop-b'), loop);
    symlinkSync(loop, join(sshd.dir, 'loop-b'));
    for (const [path, why] of [['/dev/null/x', 'Not a directory'], [loop, 'Too many levels of symbolic links']] as const) {
      const config = join(sshd.dir, `config-${why.length}`);
      writeFileSync(config, `IdentityFile ${path}\n`);
      const seen: Record<string, { code: number | null; stderr: string }> = {};
      for (const client of clients()) seen[client] = await run(client, config, cliEnv(home, { SSH_AUTH_SOCK: '' }));
      expect(seen['pure-ssh']!.code).toBe(255);
      expect(seen['pure-ssh']!.stderr).toMatch(new RegExp(`^no such identity: ${path}: ${why}\r\n${sshd.target}: Permission denied \\([^)]*\\)\\.\r\n$`));
      if (seen.ssh) expect(seen['pure-ssh']).toEqual(seen.ssh);
    }
  }, 60_000);

  it('a default key whose .pub is there but not its private half: nothing said before the refusal, as ssh', async () => {
    const pubOnlyHome = suiteDir('pure-ssh-pubonly-home-');
    mkdirSync(join(pubOnlyHome, '.ssh'), { mode: 0o700 });
    // The authorised key's public half: the server accepts it, then the private half is missing.
    writeFileSync(join(pubOnlyHome, '.ssh', 'id_ed25519.pub'), `${sshd.clientPublicKey}\n`);
    const config = join(sshd.dir, 'config-default');
    writeFileSync(config, '');
    const seen: Record<string, { code: number | null; stderr: string }> = {};
    for (const client of clients()) seen[client] = await run(client, config, cliEnv(pubOnlyHome, { SSH_AUTH_SOCK: '' }));
    expect(seen['pure-ssh']!.code).toBe(255);
    expect(seen['pure-ssh']!.stderr).toMatch(new RegExp(`^${sshd.target}: Permission denied \\([^)]*\\)\\.\r\n$`));
    if (seen.ssh) expect(seen['pure-ssh']).toEqual(seen.ssh);
  }, 60_000);
});
