/**
 * Issue 8.13: `npm start` without a terminal (stdin /dev/null, output to pipes, as in CI or
 * `npm start < /dev/null | cat`) must print every line it promises, the last ones included,
 * and leave nothing running. Before, it quit while awaiting the exit of the sshd it had started
 * (an unref'd child), before its last line. Runs the real demo: sshd, HTTP service, pure-ssh.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { listening } from './harness/net.js';
import { describeInterop } from './harness/sshd.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describeInterop('npm start without a terminal (issue 8.13)', () => {
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'node', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    // npm test builds dist/ only; the demo is compiled apart (dist-tools/), so build it here.
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.scripts.json'], {
      cwd: ROOT,
    });
  }, 60_000);

  it('prints every line it promises, exits 0, and leaves no sshd, tunnel or service behind', async () => {
    const child = spawn('npm', ['start'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`npm start did not exit within 45 s:\n${out}`));
      }, 45_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const lines = out.split('\n').filter((l) => l.startsWith('[demo] '));
    const promised = [
      /^\[demo\] sshd \(OpenSSH\) listening on 127\.0\.0\.1:(\d+); an HTTP service on 127\.0\.0\.1:(\d+)$/,
      /^\[demo\] running: pure-ssh -N .* -i (\S+) .* -L (\d+):localhost:\d+ root@127\.0\.0\.1$/,
      /^\[demo\] GET http:\/\/localhost:\d+\/ through the tunnel answered: hello from the far side of the tunnel \(you asked for \/\)$/,
      /^\[demo\] tunnel works \(no terminal: stopping\)\. On a terminal the tunnel stays up until Ctrl-C\.$/,
      /^\[demo\] stopped: pure-ssh, sshd and the HTTP service are gone\.$/,
    ];
    expect(lines.length, out).toBe(promised.length);
    promised.forEach((re, i) => expect(lines[i], out).toMatch(re));
    expect(code, out).toBe(0);

    const [, sshdPort, servicePort] = promised[0]!.exec(lines[0]!)!;
    const [, keyPath, localPort] = promised[1]!.exec(lines[1]!)!;
    for (const port of [sshdPort, servicePort, localPort]) expect(await listening(Number(port))).toBe(false);
    expect(existsSync(dirname(keyPath!))).toBe(false); // sshd's temp dir was removed by its stop()
  }, 60_000);
});
