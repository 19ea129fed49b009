/**
 * The first-connection question on a terminal, side by side with ssh(1) 9.2: sshconnect.c
 * check_host_key (HOST_NEW) asks about '%s (%s)': the known_hosts name (HostKeyAlias, or
 * `[host]:port` off port 22) and the address connected to with its port, whatever CheckHostIP
 * says; through a ProxyCommand, get_hostfile_hostname_ipaddr's "<no hostip for proxy command>".
 * Each client runs under script(1) for a terminal and is answered "no".
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { sshClientAvailable, sshdSuite } from './harness/sshd.js';

/** Runs `argv` on a new terminal, types "no", returns what the terminal showed and the exit code. */
function onTerminal(argv: string[], env: NodeJS.ProcessEnv): Promise<{ out: string; code: number | null }> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const p = spawn('script', ['-qec', quoted, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  // Typed once the question shows: text typed ahead is discarded, by ssh's readpassphrase(3)
  // (TCSAFLUSH) and by ours.
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!p.stdin.writableEnded && /\(yes\/no\/\[fingerprint\]\)\? $/.test(out)) p.stdin.end('no\n');
  });
  return new Promise((resolve) => p.on('close', (code) => resolve({ out, code })));
}

describeInteropWithHome("CLI: the first-connection question names the host and its address, as ssh 9.2's", () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  const question = (out: string) => /The authenticity of host .*/.exec(out)?.[0].trim();
  const cases: [string, string, string[], (p: number) => string][] = [
    ['a name off port 22', 'localhost', [], (p) => `'[localhost]:${p} ([127.0.0.1]:${p})'`],
    ['an address as the host', '127.0.0.1', [], (p) => `'[127.0.0.1]:${p} ([127.0.0.1]:${p})'`],
    ['CheckHostIP=no', 'localhost', ['-o', 'CheckHostIP=no'], (p) => `'[localhost]:${p} ([127.0.0.1]:${p})'`],
    ['HostKeyAlias (the address keeps the port)', 'localhost', ['-o', 'HostKeyAlias=alias.example'], (p) => `'alias.example ([127.0.0.1]:${p})'`],
    ['a ProxyCommand (no address)', 'localhost', ['-o', 'ProxyCommand=nc 127.0.0.1 %p'], (p) => `'[localhost]:${p} (<no hostip for proxy command>)'`],
  ];
  for (const [what, host, extra, expected] of cases) {
    it(`${what}: ${expected(22).replace(/22/g, 'P')}`, async () => {
      const args = ['-N', '-F', 'none', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null', ...extra, '-p', String(sshd.port), host];
      const env = cliEnv(home);
      const ours = await onTerminal(['node', CLI, ...args], env);
      expect(question(ours.out)).toBe(`The authenticity of host ${expected(sshd.port)} can't be established.`);
      expect(ours.code).toBe(255);
      expect(ours.out).toContain('Host key verification failed.');
      if (sshClientAvailable()) {
        const theirs = await onTerminal(['/usr/bin/ssh', ...args], env);
        expect(question(theirs.out)).toBe(question(ours.out));
        expect(theirs.code).toBe(255);
      }
    }, 60_000);
  }
});
