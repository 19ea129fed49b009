/**
 * pure-ssh-check and ResolvedConfig.connectedError (cli-args.ts): a `~user` naming no user in
 * IdentityFile (CertificateFile, GlobalKnownHostsFile) is what pure-ssh and ssh(1) report once
 * connected ("tilde_expand: No such user X", exit 255). The check used to go on with the path
 * left as written; now a login is refused with that message, and a run without a login says it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI_BIN_PATH } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh-check): check-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url));
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;
const NO_USER = 'pure-ssh-no-such-user';

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = cliEnv(processHome());
  delete env.SSH_AUTH_SOCK;
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout: 60_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describeInteropWithHome('pure-ssh-check: an IdentityFile ~user naming no user', () => {
  beforeAll(() => {
    if (!existsSync(CHECK_CLI)) throw new Error(`${CHECK_CLI} is missing: run \`npm run build\` first`);
  });
  const sshd = sshdSuite();

  const args = (extra: string[]) => [
    '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', `IdentityFile=~${NO_USER}/id_ed25519`,
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', ...extra, `${sshd.user}@127.0.0.1`,
  ];

  it('with a login: the error pure-ssh gives (exit 255), no report', async () => {
    const r = await run(CHECK_CLI, ['--json', ...args([])]);
    expect(r.code, r.stderr).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`pure-ssh-check: tilde_expand: No such user ${NO_USER}\n`);
    // pure-ssh itself, for comparison: the same words once connected.
    const ours = await run(CLI, ['-N', ...args([])]);
    expect(ours.code).toBe(255);
    expect(ours.stderr).toBe(`tilde_expand: No such user ${NO_USER}\r\n`);
  }, 60_000);

  it('--inventory-only (no login, the files are not read): the report, and a warning naming the problem', async () => {
    const r = await run(CHECK_CLI, ['--json', '--inventory-only', ...args([])]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { serverVersion?: string }).serverVersion).toMatch(/^SSH-2\.0-OpenSSH/);
    expect(r.stderr).toContain(`pure-ssh-check: warning: tilde_expand: No such user ${NO_USER}`);
  }, 60_000);
});
