/**
 * Where a new host key is recorded when the known_hosts file's directory is missing, beside
 * ssh 9.2 (OpenSSH hostfile.c add_host_to_hostfile → hostfile_create_user_ssh_dir): ssh makes
 * only the user's ~/.ssh (mode 0700, not its parents), and only for a file directly inside it;
 * any other missing directory makes the append fail: "Failed to add the host to the list of
 * known hosts (FILE).", the key accepted all the same (StrictHostKeyChecking=accept-new). A
 * ~/.ssh it cannot make is its error() line first: `Could not create directory '~/.ssh' (...)`
 * (no home directory), `Could not stat ~/.ssh: ...` (the home a regular file). pure-ssh made
 * every missing directory (mkdir -p). Both clients run with -L to a free port: the listener is
 * up only once the session is; then both are ended and their stderr and the files compared.
 * Needs `npm run build` first.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { freePort } from './harness/net.js';
import { requireBuiltCli, startCli, waitForListen, type CliClient } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

describeInteropWithHome('known_hosts in a missing directory: only ~/.ssh is made, as by ssh', () => {
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-kh-dir-');
  beforeAll(() => requireBuiltCli());

  /**
   * The environment of a CLI whose passwd home is `home`, which need not exist (nor be a
   * directory): cliEnv's nss_wrapper files, kept in `dir`/nss, with that home in the entry.
   */
  async function envWithHome(home: string): Promise<NodeJS.ProcessEnv> {
    const nss = join(dir, 'nss');
    const env = cliEnv(nss);
    const passwd = join(dir, 'passwd');
    const entry = await readFile(env.NSS_WRAPPER_PASSWD!, 'utf8');
    await writeFile(passwd, entry.replace(`:${nss}:`, `:${home}:`));
    return { ...env, NSS_WRAPPER_PASSWD: passwd, HOME: home };
  }

  /** `client`'s stderr: in session (its -L listener up), then ended. */
  async function connectWith(client: CliClient, env: NodeJS.ProcessEnv, knownHosts: string[]): Promise<string> {
    const port = await freePort();
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      ...knownHosts.flatMap((f) => ['-o', `UserKnownHostsFile=${f}`]), '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=accept-new', '-N', '-L', `127.0.0.1:${port}:127.0.0.1:${sshd.port}`, sshd.target,
    ];
    const run = startCli(client, args, { env });
    try {
      await waitForListen(run, port);
    } finally {
      run.child.kill('SIGKILL');
    }
    // waitForListen's probe connection is forwarded to port 1: whether the refusal's line comes
    // before the kill is a race (ssh printed it once in CI), so it is not compared.
    return (await run.done).stderr.replace(/^channel \d+: open failed: [^\n]*\n/gm, '');
  }

  const added = () => `Warning: Permanently added '[${sshd.host}]:${sshd.port}' (ED25519) to the list of known hosts.\r\n`;
  const failed = (file: string) => `Failed to add the host to the list of known hosts (${file}).\r\n`;

  it('~/.ssh/known_hosts with no ~/.ssh: ~/.ssh made 0700 and the key recorded', async () => {
    const home = join(dir, 'home-a');
    for (const client of ['ssh', 'pure-ssh'] as const) {
      await rm(home, { recursive: true, force: true });
      await mkdir(home);
      // UserKnownHostsFile's default, ~/.ssh/known_hosts (and ~/.ssh/known_hosts2, never written).
      expect(await connectWith(client, await envWithHome(home), []), client).toBe(added());
      expect(statSync(join(home, '.ssh')).mode & 0o777, client).toBe(0o700);
      expect(await readFile(join(home, '.ssh', 'known_hosts'), 'utf8'), client).toContain(sshd.hostKeys[0]!.publicKey);
    }
  });

  it('a new known_hosts file is 0666 less the umask (fopen "a") and 022 (ssh.c main), 0644 under 022/002/000 and 0640 under 027, as ssh makes it', async () => {
    const home = join(dir, 'home-mode');
    for (const umask of [0o022, 0o027, 0o002, 0o000]) {
      const modes: Record<string, number> = {};
      for (const client of ['ssh', 'pure-ssh'] as const) {
        await rm(home, { recursive: true, force: true });
        await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
        // The clients inherit this process's umask.
        const old = process.umask(umask);
        try {
          expect(await connectWith(client, await envWithHome(home), []), client).toBe(added());
        } finally {
          process.umask(old);
        }
        modes[client] = statSync(join(home, '.ssh', 'known_hosts')).mode & 0o777;
      }
      // ssh.c main: umask(022 | umask(077)) before anything is written.
      expect(modes, umask.toString(8)).toEqual({ ssh: 0o666 & ~(umask | 0o022), 'pure-ssh': 0o666 & ~(umask | 0o022) });
    }
  });

  it('a file below ~/.ssh/sub, or under other missing directories: nothing made, "Failed to add the host ...", in session', async () => {
    const home = join(dir, 'home-b');
    for (const [name, file] of [
      ['~/.ssh/sub/known_hosts', join(home, '.ssh', 'sub', 'known_hosts')],
      ['elsewhere', join(dir, 'missing', 'deeper', 'known_hosts')],
    ] as const) {
      const seen: string[] = [];
      for (const client of ['ssh', 'pure-ssh'] as const) {
        await rm(home, { recursive: true, force: true });
        await mkdir(home);
        seen.push(await connectWith(client, await envWithHome(home), [file]));
        expect(existsSync(join(home, '.ssh')), `${name} ${client}`).toBe(false);
        expect(existsSync(join(dir, 'missing')), `${name} ${client}`).toBe(false);
      }
      expect(seen[0], name).toBe(failed(file));
      expect(seen[1], name).toBe(seen[0]);
    }
  });

  it('~/.ssh cannot be made (no home directory; the home a regular file; a dangling link): ssh\'s error line, then "Failed to add the host ..."', async () => {
    const home = join(dir, 'home-c');
    const file = join(home, '.ssh', 'known_hosts');
    for (const [name, expected, setUp] of [
      ['no home', `Could not create directory '${join(home, '.ssh')}' (No such file or directory).\r\n`, async () => {}],
      ['home a file', `Could not stat ${join(home, '.ssh')}: Not a directory\r\n`, () => writeFile(home, '')],
      // stat(2) follows the dangling link (ENOENT), mkdir(2) then meets the link itself: strerror(EEXIST).
      ['~/.ssh a dangling symlink', `Could not create directory '${join(home, '.ssh')}' (File exists).\r\n`, async () => {
        await mkdir(home);
        await symlink(join(home, 'nowhere'), join(home, '.ssh'));
      }],
    ] as const) {
      const seen: string[] = [];
      for (const client of ['ssh', 'pure-ssh'] as const) {
        await rm(home, { recursive: true, force: true });
        await setUp();
        seen.push(await connectWith(client, await envWithHome(home), []));
      }
      expect(seen[0], name).toBe(`${expected}${failed(file)}`);
      expect(seen[1], name).toBe(seen[0]);
    }
  });
});
