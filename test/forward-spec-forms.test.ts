/**
 * Forwarding specifications as readconf.c parse_forward reads them for -L, -R, -D and the
 * *Forward keywords: `${VAR}` expanded first (misc.c dollar_expand; a variable that is not set is
 * named, then the specification is bad), and `-D port:/path`, which ssh turns into a local
 * forward to the server's Unix socket rather than a SOCKS listener. Against the real sshd, beside
 * ssh 9.2.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamicAsLocalForward, parseDynamicForwardSpec } from '../src/config/forward-spec.js';
import { dollarExpand } from '../src/config/tokens.js';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { echoVia, freePort, startUnixEchoServer, waitForPort } from './harness/net.js';
import { SSH_CLIENT_PATH, sshdSuite } from './harness/sshd.js';
import { CLI, runCli } from './support/cli-run.js';

describe('dollarExpand and dynamicAsLocalForward', () => {
  it('expands ${VAR}, names every unset one, fails an unclosed or empty one', () => {
    expect(dollarExpand('${A}:h:${B}', { A: '1', B: '2' })).toEqual({ value: '1:h:2', errors: [] });
    expect(dollarExpand('$A:${A}x', { A: '/p' })).toEqual({ value: '$A:/px', errors: [] });
    expect(dollarExpand('${X}:${Y}', {})).toEqual({
      value: undefined,
      errors: ['vdollar_percent_expand: env var ${X} has no value', 'vdollar_percent_expand: env var ${Y} has no value'],
    });
    expect(dollarExpand('a${B', {}).errors).toEqual(["vdollar_percent_expand: environment variable 'B' missing closing '}'"]);
    expect(dollarExpand('${}', {}).errors).toEqual(['vdollar_percent_expand: zero-length environment variable']);
  });

  it('-D port:/path and -D /path:/path are local forwards to a socket; other -D forms are not', () => {
    expect(dynamicAsLocalForward('1080:/run/a.sock')).toEqual({ listen: { port: 1080 }, to: { path: '/run/a.sock' } });
    expect(dynamicAsLocalForward('/tmp/in:/run/a.sock')).toEqual({ listen: { path: '/tmp/in' }, to: { path: '/run/a.sock' } });
    for (const other of ['1080', '/tmp/s', 'h:1080', 'h:/x', '0:/x', 'a:1:/x', `1:/${'x'.repeat(120)}`]) {
      expect(dynamicAsLocalForward(other), other).toBeNull();
    }
    expect(parseDynamicForwardSpec('1080:/x')).toBeNull();
  });
});

describeInteropWithHome('forwarding specifications against sshd, beside ssh', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-fwdforms-');
  let unixEcho: { close(): Promise<void> } | undefined;
  let sockPath: string;
  const home = suiteHome();

  beforeAll(async () => {
    sockPath = join(dir, 'echo.sock');
    unixEcho = await startUnixEchoServer(sockPath);
  });
  afterAll(async () => {
    await unixEcho?.close();
  });

  const base = (): string[] => ['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`];

  /** `ssh ARGS` (or pure-ssh): its exit code and stderr, for the specifications refused at once. */
  const refused = (client: 'pure-ssh' | 'ssh', args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> => {
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...cliEnv(home), ...env } })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...cliEnv(home), ...env } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    return new Promise((resolve) => child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }));
  };

  it('-D port:/path: a local forward to the server\'s Unix socket (direct-streamlocal), as ssh sets up', async () => {
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const port = await freePort();
      const args = [...base(), '-N', '-D', `${port}:${sockPath}`, `${sshd.user}@127.0.0.1`];
      const child = client === 'ssh'
        ? spawn(SSH_CLIENT_PATH, args, { stdio: 'ignore', env: cliEnv(home) })
        : runCli(args, { env: cliEnv(home) }).child;
      try {
        await waitForPort('127.0.0.1', port);
        // Plain bytes come back: no SOCKS handshake in between.
        expect(await echoVia(port, `${client} through -D port:/path\n`), client).toBe(`${client} through -D port:/path\n`);
      } finally {
        child.kill('SIGKILL');
      }
    }
    expect(sshd.logs()).toMatch(/direct-streamlocal/);
  }, 40_000);

  it('-L ${VAR}:${VAR}: expanded before the fields are read, so a variable holding a path makes a socket path', async () => {
    const port = await freePort();
    const env = { ...cliEnv(home), FWD_PORT: String(port), FWD_SOCK: sockPath };
    const run = runCli([...base(), '-N', '-L', '${FWD_PORT}:${FWD_SOCK}', `${sshd.user}@127.0.0.1`], { env });
    try {
      await waitForPort('127.0.0.1', port);
      expect(await echoVia(port, 'expanded\n')).toBe('expanded\n');
    } finally {
      await run.kill();
    }
  }, 30_000);

  it('a variable that is not set: the same lines and exit as ssh, for -L, -R, -D and the keywords', async () => {
    const cfg = join(dir, 'config');
    await writeFile(cfg, 'Host *\n  LocalForward ${NO_SUCH_A} h:1\n  DynamicForward ${NO_SUCH_B}\n  RemoteForward 1 ${NO_SUCH_C}:2\n');
    const cases = [
      ['-L', '${NO_SUCH_A}:h:${NO_SUCH_B}'],
      ['-R', '1:h:${NO_SUCH_C}'],
      ['-D', '${NO_SUCH_D}'],
      ['-D', '1:/${UNCLOSED'],
      ['-G', '-F', cfg],
    ];
    for (const c of cases) {
      const args = [...c, `${sshd.user}@127.0.0.1`];
      const [ours, theirs] = await Promise.all([refused('pure-ssh', args), refused('ssh', args)]);
      expect(theirs.code, theirs.stderr).toBe(255);
      expect(ours.code, ours.stderr).toBe(255);
      expect(ours.stderr, c.join(' ')).toBe(theirs.stderr);
    }
  }, 30_000);
});
