/**
 * Ctrl-D (the terminal's end of file) at the password prompt, beside ssh 9.2: readpassphrase(3)
 * reads a canonical terminal with ECHO off, so Ctrl-D on an empty line ends the answer ("" on an
 * empty prompt, readpassphrase.c returns its buffer at EOF); ssh sends that empty password and,
 * refused, says `Permission denied, please try again.` and asks again (sshconnect2.c
 * userauth_passwd). Ctrl-D after some characters hands them over and the line goes on. pure-ssh
 * reads the prompt in raw mode (src/node/prompt.ts). Each client runs under script(1).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

/**
 * Runs `argv` on a new terminal and types `answers[i]` at its i-th password prompt; stops it once
 * its output matches `until`. The terminal's text and script's exit code.
 */
function onTerminal(argv: string[], env: NodeJS.ProcessEnv, answers: string[], until?: RegExp): Promise<{ out: string; code: number | null }> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const p = spawn('script', ['-qefc', quoted, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let typed = 0;
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    const prompts = out.match(/password: /g)?.length ?? 0;
    while (typed < prompts && typed < answers.length) p.stdin.write(answers[typed++]!);
    if (until?.test(out)) p.kill('SIGTERM');
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out: out.replace(/\r/g, ''), code });
    }),
  );
}

describeInteropWithHome('CLI: Ctrl-D at the password prompt, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd({ password: true });
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  const args = () => [
    '-F', '/dev/null', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=2', '-N', `${sshd.password!.user}@127.0.0.1`,
  ];
  const count = (out: string, re: RegExp) => out.match(re)?.length ?? 0;
  // sshd's debug1 line for each password request (it logs an empty one refused as "Failed none").
  const requests = () => count(sshd.logs(), /userauth-request for user \S+ service ssh-connection method password/g);
  /** sshd's password requests since `from`, once there are `n` (its log may come after the client's exit), or after 5 s. */
  async function requestsSince(from: number, n: number): Promise<number> {
    for (let i = 0; i < 50 && requests() - from < n; i++) await new Promise((r) => setTimeout(r, 100));
    return requests() - from;
  }

  it('Ctrl-D on an empty prompt: an empty password sent, "Permission denied, please try again." and the prompt again', async () => {
    const env = cliEnv(home);
    let before = requests();
    const ssh = await onTerminal(['/usr/bin/ssh', ...args()], env, ['\x04', '\x04']);
    const sshRequests = await requestsSince(before, 2);
    before = requests();
    const ours = await onTerminal(['node', CLI, ...args()], env, ['\x04', '\x04']);
    const ourRequests = await requestsSince(before, 2);
    const shape = (r: { out: string; code: number | null }) => ({
      prompts: count(r.out, /password: /g),
      again: count(r.out, /^Permission denied, please try again\.$/gm),
      final: /Permission denied \(.*\)\.$/m.test(r.out),
      code: r.code,
    });
    expect(shape(ssh), ssh.out).toEqual({ prompts: 2, again: 1, final: true, code: 255 });
    expect(shape(ours), ours.out).toEqual(shape(ssh));
    // Both empty passwords reached sshd, as ssh's did.
    expect(sshRequests).toBe(2);
    expect(ourRequests).toBe(2);
  }, 90_000);

  it('Ctrl-D after some characters keeps them: the line goes on to the real password', async () => {
    const env = cliEnv(home);
    const pw = sshd.password!.password;
    const half = Math.floor(pw.length / 2);
    const typed = [`${pw.slice(0, half)}\x04${pw.slice(half)}\r`];
    const ssh = await onTerminal(['/usr/bin/ssh', '-v', ...args()], env, typed, /Authenticated to /);
    const ours = await onTerminal(['node', CLI, '-v', ...args()], env, typed, /Authenticated to /);
    expect(ssh.out, ssh.out).toMatch(/Authenticated to /);
    expect(ours.out, ours.out).toMatch(/Authenticated to /);
    expect(count(ours.out, /password: /g)).toBe(1);
  }, 90_000);
});
