/**
 * ssh_config(5) RekeyLimit's time part (`RekeyLimit default 1`): the client starts a key
 * exchange when that much time has passed and a packet has gone either way under the current
 * keys (OpenSSH packet.c ssh_packet_need_rekeying: an idle connection is re-keyed once), from the
 * core's timer, against the real sshd and through the built CLI, beside ssh. Also `-G` prints it
 * as ssh does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { connectTo } from './harness/client.js';
import { cliEnv, itWithHome, suiteHome } from './harness/home.js';
import { describeInterop, SSH_CLIENT_PATH, sshClientAvailable, sshdSuite } from './harness/sshd.js';
import { CLI_BIN_PATH, deliverSignal } from './harness/proc.js';

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

describeInterop('RekeyLimit time', () => {
  const sshd = sshdSuite();
  // The passwd home of every pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
  const home = suiteHome();

  it('library: rekeyTime re-keys an idle connection once, then again only after traffic (packet.c ssh_packet_need_rekeying)', async () => {
    const ssh = await connectTo(sshd, { rekeyTime: 400 });
    // Authentication's packets went under the first keys: one rekey; nothing since, no other.
    await new Promise((r) => setTimeout(r, 1500));
    expect(ssh.info.kexCount).toBe(2);
    // A keepalive and its answer: the overdue rekey starts on the reply.
    ssh.ping();
    const deadline = Date.now() + 3000;
    while (ssh.info.kexCount < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ssh.info.kexCount).toBe(3);
    await ssh.close();
  });

  itWithHome('CLI: -o "RekeyLimit default 1": idle for 5 s, one or two rekeys like ssh -vvv (not one a second); with ServerAliveInterval 1 traffic, one about every second; -G prints the time part', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    // pure-ssh says "rekey done" per rekey; ssh -v "SSH2_MSG_KEXINIT sent" per key exchange, the first included.
    const run = async (extra: string[], waitAfterAuth: number, client: 'pure-ssh' | 'ssh' = 'pure-ssh'): Promise<{ rekeys: number; err: string }> => {
      const args = ['-v', '-N', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'RekeyLimit=default 1', ...extra, `${sshd.user}@127.0.0.1`];
      const child = client === 'ssh'
        ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) })
        : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      // Counted from the authentication line, not from process start (start-up time varies with load).
      const deadline = Date.now() + 15_000;
      let authenticatedAt: number | undefined;
      while (Date.now() < deadline && (authenticatedAt === undefined || Date.now() - authenticatedAt < waitAfterAuth)) {
        if (authenticatedAt === undefined && /Authenticated to /.test(err)) authenticatedAt = Date.now();
        await new Promise((r) => setTimeout(r, 50));
      }
      deliverSignal(child, 'SIGTERM');
      // 'close', not 'exit': the exit can come before the last of stderr has been read.
      await new Promise((r) => child.on('close', r));
      expect(authenticatedAt, err).toBeDefined();
      const rekeys = client === 'ssh' ? (err.match(/SSH2_MSG_KEXINIT sent/g)?.length ?? 0) - 1 : err.match(/rekey done/g)?.length ?? 0;
      return { rekeys, err };
    };
    // Idle for 5 s at a 1 s limit: the old rule (every interval) gave 5. One rekey is due after
    // the first second; a second one only when packets crossed after it (sshd's post-auth
    // hostkeys-00 and its reply can come after the first rekey on a loaded machine, as ssh's own
    // -vvv shows), then none.
    // The three runs (each its own connection, each timed from its own authentication) and -G
    // at once: the test takes as long as the longest.
    const g = spawn(process.execPath, [CLI, '-G', '-F', 'none', '-o', 'RekeyLimit=1G 1h', 'example.com'], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(home) });
    let out = '';
    g.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [idle, theirs, busy] = await Promise.all([
      run([], 5000),
      sshClientAvailable() ? run([], 5000, 'ssh') : undefined,
      run(['-o', 'ServerAliveInterval=1'], 6000),
      new Promise((r) => g.on('close', r)),
    ]);
    expect(idle.rekeys, idle.err).toBeGreaterThanOrEqual(1);
    expect(idle.rekeys, idle.err).toBeLessThanOrEqual(2);
    if (theirs) {
      expect(theirs.rekeys, theirs.err).toBeGreaterThanOrEqual(1);
      expect(theirs.rekeys, theirs.err).toBeLessThanOrEqual(2);
    }
    // With keepalive traffic every second the time limit keeps re-keying: over 6 s at least 3
    // started (counted by "RekeyLimit time reached": on a loaded machine one exchange can take
    // most of a second, so the last one may not be done when the client is stopped).
    expect(busy.err.match(/rekeying: RekeyLimit time reached/g)?.length ?? 0, busy.err).toBeGreaterThanOrEqual(3);
    expect(out).toMatch(/^rekeylimit 1073741824 3600$/m);
  }, 45_000);
});
