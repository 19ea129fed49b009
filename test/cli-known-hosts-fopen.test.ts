/**
 * ssh 9.2's -v lines for known_hosts files that are missing, beside pure-ssh's, against sshd 9.2:
 * hostfile.c load_hostkeys debug_f("fopen %s: %s") for each file it cannot open, as
 * `debug1: load_hostkeys: fopen PATH: No such file or directory`, once from sshconnect2.c
 * order_hostkeyalgs and once from sshconnect.c check_host_key (user files, then global ones).
 * The defaults: UserKnownHostsFile ~/.ssh/known_hosts ~/.ssh/known_hosts2, GlobalKnownHostsFile
 * /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2. Needs `npm run build` first.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { requireBuiltCli, startCli, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

describeInteropWithHome('CLI: missing known_hosts files at -v, as ssh 9.2', () => {
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-kh-fopen-');
  const home = join(dir, 'home');
  beforeAll(async () => {
    requireBuiltCli();
    await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    await copyFile(sshd.knownHostsPath, join(home, '.ssh', 'known_hosts'));
  });

  async function run(client: CliClient, args: string[]): Promise<string[]> {
    const all = ['-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', ...args, '-W', '127.0.0.1:1', sshd.host];
    // -W to a closed port: the run ends once logged in.
    const { stderr } = await startCli(client, all, { env: cliEnv(home) }).done;
    expect(stderr).not.toMatch(/Permission denied|verification failed/);
    return stderr.replace(/\r/g, '').split('\n');
  }

  /**
   * The lines about known_hosts: load_hostkeys', the host key and where it was found (not ssh's
   * client_input_hostkeys lines of UpdateHostKeys, which pure-ssh does not implement).
   */
  const knownHostsLines = (lines: string[]) =>
    lines.filter((l) => /load_hostkeys|known_hosts|Server host key|^debug1: Host '/.test(l) && !l.startsWith('debug1: client_input_hostkeys: '));

  it('the default files: ~/.ssh/known_hosts2 and /etc/ssh/ssh_known_hosts{,2} missing, each said twice at -v', async () => {
    const theirs = knownHostsLines(await run('ssh', ['-v']));
    const ours = knownHostsLines(await run('pure-ssh', ['-v']));
    expect(theirs.filter((l) => l.startsWith('debug1: load_hostkeys: fopen ')).length).toBeGreaterThanOrEqual(2);
    expect(ours).toEqual(theirs);
  }, 60_000);

  it('a file under a regular file (ENOTDIR): "fopen PATH: Not a directory", as ssh', async () => {
    const known = join(home, '.ssh', 'known_hosts');
    const args = ['-o', `UserKnownHostsFile=${known} ${known}/sub`, '-o', `GlobalKnownHostsFile=${join(dir, 'none')}`, '-v'];
    const theirs = knownHostsLines(await run('ssh', args));
    const ours = knownHostsLines(await run('pure-ssh', args));
    expect(theirs).toContain(`debug1: load_hostkeys: fopen ${known}/sub: Not a directory`);
    expect(ours).toEqual(theirs);
  }, 60_000);

  it('at the default level, nothing of it', async () => {
    const theirs = knownHostsLines(await run('ssh', []));
    const ours = knownHostsLines(await run('pure-ssh', []));
    expect(ours).toEqual(theirs);
  }, 60_000);
});
