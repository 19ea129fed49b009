/**
 * Ctrl-C (and Ctrl-\) at a passphrase prompt ends the run at once, as ssh 9.2's: readpassphrase(3)
 * restores the terminal and sends itself the signal, so the shell sees 130 (131). pure-ssh reads
 * the prompt in raw mode, where Ctrl-C is a byte (src/node/prompt.ts). Two encrypted keys the
 * server accepts: the second prompt must never come. Each client runs under script(1).
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

/** Runs `argv` on a new terminal, types `key` at the first passphrase prompt; the terminal's text and script's exit code. */
function onTerminal(argv: string[], env: NodeJS.ProcessEnv, key: string): Promise<{ out: string; code: number | null }> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const p = spawn('script', ['-qefc', quoted, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let typed = false;
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!typed && /Enter passphrase for key/.test(out)) {
      typed = true;
      p.stdin.write(key);
    }
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    }),
  );
}

describeInteropWithHome('CLI: Ctrl-C at the passphrase prompt, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  const keys: string[] = [];
  beforeAll(async () => {
    sshd = await startSshd();
    for (const name of ['enc1', 'enc2']) {
      const path = join(sshd.dir, name);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret1', '-C', name, '-f', path]);
      appendFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(`${path}.pub`));
      keys.push(path);
    }
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  for (const [what, key, code] of [['Ctrl-C', '\x03', 130], ['Ctrl-\\', '\x1c', 131]] as const) {
    it(`${what}: one prompt, then the process ends by the signal (script says ${code})`, async () => {
      const args = [
        '-N', '-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
        '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
        ...keys.flatMap((k) => ['-i', k]), 'root@127.0.0.1',
      ];
      const env = cliEnv(home);
      const ssh = await onTerminal(['/usr/bin/ssh', ...args], env, key);
      const ours = await onTerminal(['node', CLI, ...args], env, key);
      const prompts = (out: string) => out.match(/Enter passphrase for key/g)?.length ?? 0;
      // ssh's reference: one prompt; its exit as script reports it (CI once saw script end without
      // a code under load, null). pure-ssh's is held exactly below.
      expect(prompts(ssh.out), ssh.out).toBe(1);
      expect([code, null], ssh.out).toContain(ssh.code);
      expect([ours.code, prompts(ours.out)], ours.out).toEqual([code, 1]);
      expect(ours.out).not.toMatch(/Permission denied/);
    }, 60_000);
  }
});
