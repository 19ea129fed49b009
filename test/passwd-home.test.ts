/**
 * The CLI takes its home from the passwd entry, as ssh(1) does (ssh.c: getpwuid(getuid())->pw_dir;
 * src/node/connect-host.ts passwdHome()), never from $HOME. Run as a subprocess under
 * nss_wrapper (test/harness/home.ts cliEnv): the passwd entry of this uid names a home of the
 * test's own, and $HOME names another directory with a different ~/.ssh/config, which must be
 * ignored. OpenSSH's ssh -G, under the same environment, prints the same lines. This is also the
 * check that cliEnv isolates the CLI tests from the real user's ~/.ssh. Needs `npm run build`
 * first and libnss-wrapper (CI=true: a missing one fails).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeWithHome } from './harness/home.js';
import { inCI } from './harness/sshd.js';

/** The installed bin (`pure-ssh` in package.json): the CommonJS starter of the bundled CLI. */
const BIN = fileURLToPath(new URL('../dist/node/cli-bin.cjs', import.meta.url));
const SSH = '/usr/bin/ssh';

interface Out {
  status: number | null;
  stdout: string[];
  stderr: string[];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Out {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  if (r.error) throw r.error;
  return {
    status: r.status,
    stdout: r.stdout.split('\n').filter((l) => l !== ''),
    // ssh's notice about its stdin says nothing about the configuration.
    stderr: r.stderr.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('Pseudo-terminal will not be allocated')),
  };
}

const pureSsh = (args: string[], env: NodeJS.ProcessEnv) => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
  return run(process.execPath, [BIN, ...args], env);
};

/** The `keyword value` lines of ssh -G output for these keywords, in order. */
const pick = (o: Out, ...keywords: string[]) => o.stdout.filter((l) => keywords.includes(l.split(' ')[0]!));

/** A home with `~/.ssh/config` holding `config` (0600 in a 0700 ~/.ssh, as ssh wants them). */
function homeWith(path: string, config: string): string {
  mkdirSync(join(path, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(path, '.ssh', 'config'), config, { mode: 0o600 });
  return path;
}

describeWithHome('the CLI\'s home is the passwd entry\'s (nss_wrapper), not $HOME', () => {
  let dir: string;
  /** The home of the passwd entry the subprocess sees. */
  let passwdHome: string;
  /** What $HOME names: a home with a config of its own, which must never be read. */
  let envHome: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-passwd-home-'));
    passwdHome = homeWith(join(dir, 'passwd-home'), 'Host h\n  Port 2201\n  User from-passwd-home\n  UserKnownHostsFile ~/kh %d/kh2\n');
    envHome = homeWith(join(dir, 'env-home'), 'Host *\n  Port 2202\n  User from-env-home\n  UserKnownHostsFile /from-env-home\n');
    env = cliEnv(passwdHome, { HOME: envHome });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the subprocess sees the passwd entry of cliEnv and $HOME as given (the harness itself)', () => {
    const out = run(process.execPath, ['-e', 'const os = require("node:os"); console.log(os.userInfo().homedir); console.log(process.env.HOME)'], env);
    expect(out).toEqual({ status: 0, stdout: [passwdHome, envHome], stderr: [] });
  });

  it('pure-ssh -G h reads ~/.ssh/config of the passwd home, expands ~ and %d to it, and ignores $HOME\'s config', () => {
    const out = pureSsh(['-G', 'h'], env);
    expect(out.stderr).toEqual([]);
    expect(out.status).toBe(0);
    expect(pick(out, 'port', 'user', 'userknownhostsfile')).toEqual([
      'user from-passwd-home',
      'port 2201',
      `userknownhostsfile ${passwdHome}/kh ${passwdHome}/kh2`,
    ]);
    expect(out.stdout.join('\n')).not.toContain('from-env-home');
    expect(out.stdout.join('\n')).not.toContain(envHome);
  });

  it.skipIf(!existsSync(SSH) && !inCI())('OpenSSH\'s ssh -G under the same environment prints the same lines (it takes the passwd home too)', () => {
    const ours = pureSsh(['-G', 'h'], env);
    const theirs = run(SSH, ['-G', 'h'], env);
    expect(theirs.status).toBe(0);
    expect(pick(ours, 'port', 'user', 'userknownhostsfile')).toEqual(pick(theirs, 'port', 'user', 'userknownhostsfile'));
  });

  it.skipIf(!existsSync(SSH) && !inCI())('a ~/.ssh/config of the passwd home writable by others is refused, as ssh refuses it; $HOME\'s is not looked at', () => {
    const loose = homeWith(join(dir, 'loose-home'), 'Host *\n  Port 2203\n');
    const config = join(loose, '.ssh', 'config');
    chmodSync(config, 0o666);
    const looseEnv = cliEnv(loose, { HOME: envHome });
    const ours = pureSsh(['-G', 'h'], looseEnv);
    const theirs = run(SSH, ['-G', 'h'], looseEnv);
    expect(theirs).toMatchObject({ status: 255, stderr: [`Bad owner or permissions on ${config}`] });
    expect({ status: ours.status, stderr: ours.stderr }).toEqual({ status: theirs.status, stderr: theirs.stderr });
    // The same config kept private is read: the refusal was about its mode, not its place.
    chmodSync(config, 0o600);
    expect(pick(pureSsh(['-G', 'h'], looseEnv), 'port')).toEqual(['port 2203']);
  });
});
