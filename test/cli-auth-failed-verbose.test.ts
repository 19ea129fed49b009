/**
 * The -v lines of a failed login, beside ssh 9.2 against sshd 9.2, from the first method's
 * "Authentications that can continue" to the end: sshconnect2.c input_userauth_failure says
 * only "Authentications that can continue: LIST" after each refusal (no line naming the method
 * refused), and authmethod_get, with nothing left, "No more authentication methods to try."
 * before userauth()'s fatal "USER@HOST: Permission denied (LIST)." (no other line of the
 * refusal's own). Three cases: an identity file the server does not authorise, a password
 * user under BatchMode (the password method never asked), and a wrong password twice (SSH_ASKPASS
 * answering, NumberOfPasswordPrompts=2). Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { requireBuiltCli, startCli, type CliClient } from './harness/proc.js';
import { ensurePasswordUser, sshdSuite } from './harness/sshd.js';

const execFileP = promisify(execFile);

describeInteropWithHome('CLI: the -v lines of a failed login, as ssh 9.2', () => {
  const sshd = sshdSuite({ builtCli: true, password: true });
  const dir = suiteDir('pure-ssh-auth-failed-');
  const home = join(dir, 'home');
  const stranger = join(dir, 'id_stranger');
  const askpass = join(dir, 'askpass');
  beforeAll(async () => {
    requireBuiltCli();
    await ensurePasswordUser();
    // A key sshd does not authorise.
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', stranger]);
    await writeFile(askpass, '#!/bin/sh\necho wrong\n', { mode: 0o755 });
  });

  /** `client`'s exit status and its -v lines from the first "Authentications that can continue" on. */
  async function authLines(client: CliClient, args: string[]): Promise<{ code: number | null; lines: string[] }> {
    const all = [
      '-F', 'none', '-p', String(sshd.port), '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none',
      '-v', '-N', ...args,
    ];
    const env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' });
    const { code, stderr } = await startCli(client, all, { env, detached: true }).done;
    const lines = stderr.replace(/\r/g, '').split('\n');
    return { code, lines: lines.slice(lines.findIndex((l) => l.startsWith('debug1: Authentications that can continue: '))) };
  }

  const cases: [string, () => string[]][] = [
    ['an identity file the server refuses', () => ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', stranger, '-l', sshd.user, sshd.host]],
    ['a password user under BatchMode, no key', () => ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-l', sshd.password!.user, sshd.host]],
    ['a wrong password, twice', () => ['-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=2', '-l', sshd.password!.user, sshd.host]],
  ];
  for (const [name, args] of cases) {
    it(`${name}: the same lines, "No more authentication methods to try." last before "Permission denied (...)."`, async () => {
      const theirs = await authLines('ssh', args());
      const ours = await authLines('pure-ssh', args());
      expect(theirs.lines).toContain('debug1: No more authentication methods to try.');
      expect(theirs.lines.at(-2)).toMatch(/^\S+@\S+: Permission denied \(.*\)\.$/);
      expect(ours).toEqual(theirs);
    }, 60_000);
  }
});
