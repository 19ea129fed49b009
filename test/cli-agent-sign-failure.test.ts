/**
 * An ssh-agent that lists a key and then fails to sign with it, worded as ssh 9.2 words it
 * (sshconnect2.c sign_and_send_pubkey: `error_fr(r, "signing failed for %s \"%s\"%s", ...)`,
 * ssherr.c's text for `r`), the same exit status, and no line of pure-ssh's own beside it at -v:
 * - the agent refuses (its SSH_AGENT_FAILURE, as for a key removed with `ssh-add -d` after the
 *   listing): `sign_and_send_pubkey: signing failed for ED25519 "COMMENT" from agent: agent
 *   refused operation`; pure-ssh said that, and at -v once more as the core's debug1 line;
 * - the agent dies mid-signature (authfd.c ssh_request_reply's SSH_ERR_AGENT_COMMUNICATION):
 *   `... from agent: communication with agent failed`; pure-ssh said `ssh-agent SOCKET: the
 *   agent closed the connection`.
 * Both come from a real ssh-agent holding an `ssh-add -c` key: the agent runs SSH_ASKPASS to
 * confirm each signature, a script that says no (exit 1) or kills the agent (its parent). Both
 * clients run side by side against one sshd. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { requireBuiltCli, startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';
import { startSshAgent } from './support/ssh-agent.js';

const execFileP = promisify(execFile);
const COMMENT = 'agent sign failure';

describeInteropWithHome('an agent that fails to sign: ssh 9.2\'s line, word for word', () => {
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-agent-sign-');
  const home = join(dir, 'home');
  const key = join(dir, 'id_ed25519');
  beforeAll(async () => {
    requireBuiltCli();
    // The authorised key under a comment of its own, which ssh names the agent's key by.
    await writeFile(key, sshd.clientKey, { mode: 0o600 });
    await execFileP('ssh-keygen', ['-q', '-c', '-C', COMMENT, '-f', key]);
    await writeFile(join(dir, 'refuse'), '#!/bin/sh\nexit 1\n');
    await writeFile(join(dir, 'kill-agent'), '#!/bin/sh\nkill -9 "$PPID"\nexit 1\n');
    await chmod(join(dir, 'refuse'), 0o755);
    await chmod(join(dir, 'kill-agent'), 0o755);
  });

  /** `client`'s exit and stderr, its agent holding the key with confirmation by `askpass`. */
  async function run(client: CliClient, askpass: string, verbose: boolean): Promise<{ code: number | null; stderr: string }> {
    const sock = join(dir, 'agent.sock');
    const { DISPLAY: _display, ...env } = process.env;
    const agent = await startSshAgent(sock, { ...env, SSH_ASKPASS: join(dir, askpass), SSH_ASKPASS_REQUIRE: 'force' });
    try {
      await execFileP('ssh-add', ['-c', key], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const args = [
        '-F', 'none', '-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
        ...(verbose ? ['-v'] : []), '-N', sshd.target,
      ];
      const { code, stderr } = await startCli(client, args, { env: cliEnv(home, { SSH_AUTH_SOCK: sock }) }).done;
      return { code, stderr };
    } finally {
      agent.kill('SIGKILL');
      await rm(sock, { force: true });
    }
  }

  /** The -v lines of the publickey method, from its start to the last line. */
  const publickeyLines = (stderr: string) => {
    const lines = stderr.split('\r\n');
    return lines.slice(lines.indexOf('debug1: Next authentication method: publickey'));
  };

  for (const [askpass, reason] of [
    ['refuse', 'agent refused operation'],
    ['kill-agent', 'communication with agent failed'],
  ] as const) {
    it(`${askpass}: "signing failed ... from agent: ${reason}", exit 255, at the default level and at -v`, async () => {
      const line = `sign_and_send_pubkey: signing failed for ED25519 "${COMMENT}" from agent: ${reason}`;
      const theirs = await run('ssh', askpass, false);
      const ours = await run('pure-ssh', askpass, false);
      expect(theirs).toEqual({ code: 255, stderr: `${line}\r\n${sshd.target}: Permission denied (publickey).\r\n` });
      expect(ours).toEqual(theirs);

      const theirsV = await run('ssh', askpass, true);
      const oursV = await run('pure-ssh', askpass, true);
      expect(theirsV.code).toBe(255);
      expect(oursV.code).toBe(255);
      expect(publickeyLines(theirsV.stderr)).toContain(line);
      expect(publickeyLines(oursV.stderr)).toEqual(publickeyLines(theirsV.stderr));
    }, 60_000);
  }
});
