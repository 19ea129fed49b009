/**
 * `-f -W host:port`, as ssh 9.2 takes it: ssh.c ssh_init_stdio_forwarding dups stdin and stdout
 * for the channel before fork_postauth, so the command returns 0 once authenticated and the
 * background process forwards the caller's stdin and stdout. pure-ssh refused the combination.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEchoServer, type TestServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

describeInteropWithHome('CLI: -f -W, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('returns 0 once logged in; the background process forwards the caller\'s stdin and stdout', async () => {
    for (const cmd of [[sshd.openssh.ssh], [process.execPath, CLI]]) {
      const out = join(sshd.dir, 'out');
      writeFileSync(out, '');
      const argv = [...cmd, '-F', 'none', ...sshd.clientArgs, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-f', '-W', `127.0.0.1:${echo.port}`, sshd.target];
      const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      // stdin: a line, then EOF 2 s later, long after the foreground process returned.
      const script = `(echo through the background; sleep 2) | ${quoted} > '${out}'; echo "rc=$?"`;
      const r = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
        execFile('/bin/sh', ['-c', script], { env: cliEnv(home), timeout: 20_000 }, (_e, stdout, stderr) => resolve({ stdout, stderr })),
      );
      expect(r.stdout, `${cmd[0]}: ${r.stderr}`).toBe('rc=0\n');
      const deadline = Date.now() + 10_000;
      while (readFileSync(out, 'utf8') !== 'through the background\n') {
        if (Date.now() > deadline) throw new Error(`${cmd[0]}: ${JSON.stringify(readFileSync(out, 'utf8'))} ${r.stderr}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }, 60_000);
});
