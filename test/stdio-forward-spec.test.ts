/**
 * ssh(1) -W forms (ssh.c: readconf.c parse_forward with dynamicfwd): what is accepted and what is
 * "Bad stdio forwarding specification", and -W /path (OpenSSH 9.4+) through a
 * direct-streamlocal channel, against the real sshd, beside ssh. `-W 22` (a port and no host) is
 * valid and forwards nothing (ssh.c keeps no stdio_forward_host); `${VAR}` is expanded first.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStdioForwardSpec } from '../src/config/forward-spec.js';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { startUnixEchoServer } from './harness/net.js';
import { SSH_CLIENT_PATH, sshdSuite } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI, deliverSignal } from './harness/proc.js';


describe('parseStdioForwardSpec', () => {
  it('host:port, [v6]:port, an empty host, escapes and socket paths; refuses what ssh refuses', () => {
    expect(parseStdioForwardSpec('db.internal:5432')).toEqual({ host: 'db.internal', port: 5432 });
    expect(parseStdioForwardSpec('[::1]:22')).toEqual({ host: '::1', port: 22 });
    expect(parseStdioForwardSpec(':22')).toEqual({ host: '', port: 22 });
    expect(parseStdioForwardSpec('a\\:b:22')).toEqual({ host: 'a:b', port: 22 });
    expect(parseStdioForwardSpec('/run/app.sock')).toEqual({ path: '/run/app.sock' });
    expect(parseStdioForwardSpec('host/22')).toEqual({ path: 'host/22' });
    expect(parseStdioForwardSpec('/a:/b')).toEqual({ path: '/a' });
    // ssh: Bad stdio forwarding specification.
    for (const bad of ['', 'localhost', '127.0.0.1', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:70000', '::1:22', 'h:22:x', '[::1]', `/${'x'.repeat(120)}`]) {
      expect(parseStdioForwardSpec(bad), bad).toBeNull();
    }
    // A bare port (also before a path) names no host: ssh forwards nothing (a -N session).
    expect(parseStdioForwardSpec('22')).toBe('none');
    expect(parseStdioForwardSpec(' 22:/x')).toBe('none');
    for (const bad of ['0', 'x', '70000', '0:/x', 'x:/y', `22:/${'x'.repeat(120)}`]) {
      expect(parseStdioForwardSpec(bad), bad).toBeNull();
    }
  });
});

describeInteropWithHome('-W forms against sshd', () => {
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-w-');
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

  const run = (
    client: 'pure-ssh' | 'ssh',
    w: string,
    input: string,
    opts: { env?: NodeJS.ProcessEnv; extra?: string[]; killAfter?: RegExp } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> => {
    const args = ['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, ...(opts.extra ?? []), '-W', w, `${sshd.user}@127.0.0.1`];
    const env = { ...cliEnv(home), ...opts.env };
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['pipe', 'pipe', 'pipe'], env })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      // Still running a moment after this line: then it is stopped here, and `killed` says so.
      if (opts.killAfter?.test(stderr) && !killed) {
        killed = true;
        setTimeout(() => deliverSignal(child, 'SIGTERM'), 1_000);
      }
    });
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, killed });
      }),
    );
  };

  it('-W /path: a direct-streamlocal channel to the server\'s Unix socket carries the data both ways', async () => {
    const r = await run('pure-ssh', sockPath, 'through a unix socket\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('through a unix socket\n');
    expect(sshd.logs()).toMatch(/direct-streamlocal/);
  });

  it('-W 22 (a port, no host): no stdio forward, a -N session that stays up, as ssh 9.2', async () => {
    for (const w of ['22', '22:/x']) {
      const [ours, theirs] = await Promise.all([
        run('pure-ssh', w, 'nowhere\n', { extra: ['-v'], killAfter: /Authenticated to / }),
        run('ssh', w, 'nowhere\n', { extra: ['-v'], killAfter: /Authenticated to / }),
      ]);
      for (const [who, r] of [['ssh', theirs], ['pure-ssh', ours]] as const) {
        // Stopped by the test a second after authentication (SIGTERM): it had not exited itself.
        expect(r.killed, `${who} ${w}: ${r.stderr}`).toBe(true);
        expect(r.stdout, `${who} ${w}`).toBe('');
        expect(r.stderr, `${who} ${w}`).not.toMatch(/Bad stdio forwarding|channel 0: open/);
      }
    }
  }, 30_000);

  it('-W host:${VAR}: the environment variable expanded (readconf.c parse_forward), a missing one named as ssh names it', async () => {
    const env = { SSHD_PORT_FOR_W: String(sshd.port) };
    const ours = await run('pure-ssh', '127.0.0.1:${SSHD_PORT_FOR_W}', '', { env });
    // Forwarded to sshd's own port: its version line comes back on stdout.
    expect(ours.stdout, ours.stderr).toMatch(/^SSH-2\.0-OpenSSH/);
    for (const w of ['127.0.0.1:${PURE_SSH_NO_SUCH_VAR}', '${A_NO}:${B_NO}', '127.0.0.1:${UNCLOSED', '${}:22']) {
      const [o, t] = await Promise.all([run('pure-ssh', w, ''), run('ssh', w, '')]);
      expect(t.code, t.stderr).toBe(255);
      expect(o.code, o.stderr).toBe(255);
      expect(o.stderr, w).toBe(t.stderr);
    }
  }, 30_000);

  it('-W :port and a bad form: the same messages and exits as ssh 9.2', async () => {
    for (const w of [`:${sshd.port}`, 'localhost', `127.0.0.1:${sshd.port}:x`]) {
      const [ours, theirs] = await Promise.all([run('pure-ssh', w, ''), run('ssh', w, '')]);
      expect(theirs.code, theirs.stderr).toBe(255);
      expect(ours.code, ours.stderr).toBe(255);
      expect(ours.stderr, w).toBe(theirs.stderr);
    }
  }, 30_000);
});
