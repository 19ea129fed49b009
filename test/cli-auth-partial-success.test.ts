/**
 * A server that wants two keys (sshd AuthenticationMethods publickey,publickey): ssh 9.2's -v
 * lines from the publickey method to "Authenticated to", beside pure-ssh's. sshconnect2.c
 * input_userauth_failure says the first key's partial success with verbose(), unprefixed:
 * `Authenticated using "publickey" with partial success.` (pure-ssh said `debug1: Authenticated
 * with partial success using "publickey".`). Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

const execFileP = promisify(execFile);

describeInteropWithHome('CLI: partial success (AuthenticationMethods publickey,publickey), as ssh 9.2', () => {
  const sshd = sshdSuite({ builtCli: true, config: { AuthenticationMethods: 'publickey,publickey' } });
  const dir = suiteDir('pure-ssh-partial-');
  const home = join(dir, 'home');
  const second = join(dir, 'id_second');
  beforeAll(async () => {
    // A second authorised key: sshd reads its authorized_keys at each attempt.
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'second', '-f', second]);
    await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${second}.pub`, 'utf8'));
  });

  async function authLines(client: CliClient): Promise<string[]> {
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-i', sshd.clientKeyPath, '-i', second,
      '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-v', '-W', '127.0.0.1:1', sshd.host,
    ];
    // -W to a closed port: the run ends once logged in.
    const { stderr } = await startCli(client, args, { env: cliEnv(home) }).done;
    const lines = stderr.replace(/\r/g, '').split('\n');
    return lines.slice(lines.indexOf('debug1: Next authentication method: publickey'), lines.findIndex((l) => l.startsWith('Authenticated to ')) + 1);
  }

  it('"Authenticated using "publickey" with partial success." at verbose, then the second key', async () => {
    const theirs = await authLines('ssh');
    const ours = await authLines('pure-ssh');
    expect(theirs).toContain('Authenticated using "publickey" with partial success.');
    expect(ours).toEqual(theirs);
  }, 60_000);
});
