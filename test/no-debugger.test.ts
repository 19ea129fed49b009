/**
 * Issue 8.8: a running `pure-ssh` holds private keys, so no other process may turn it into a
 * debuggee. Node opens its inspector (127.0.0.1:9229 by default) on SIGUSR1, which any process
 * of the same user can send; the CLI's own SIGUSR1 listener must stop that on the Node running
 * the tests, the process must keep forwarding, and an inspector enabled by an inherited
 * NODE_OPTIONS or node's command line must be closed before keys are read. Each test uses
 * --inspect-port=P with a free P (9229 may be taken on a shared machine) and checks P.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoVia, freePort, listening, startEchoServer, type TestServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { runCli, type CliRun } from './support/cli-run.js';
import { tcpSocketsOf } from './support/proc-sockets.js';

/** The process has a LISTEN socket on `port`. */
function holdsListener(pid: number, port: number): boolean {
  return tcpSocketsOf(pid).some((s) => s.state === 'LISTEN' && s.localPort === port);
}

async function eventually(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SIGUSR1 on this Node (the control)', () => {
  it('a plain node process opens its inspector on SIGUSR1: the signal path this test relies on is real', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [`--inspect-port=127.0.0.1:${port}`, '-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await listening(port)).toBe(false);
      child.kill('SIGUSR1');
      expect(await eventually(() => listening(port), 3000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describeInteropWithHome('pure-ssh is not open to debuggers (issue 8.8)', () => {
  const sshd = sshdSuite();
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  async function tunnel(opts: { env?: NodeJS.ProcessEnv; execArgv?: string[] }): Promise<{ run: CliRun; lport: number }> {
    const lport = await freePort();
    const run = runCli(
      [
        '-F', 'none', '-N', '-v', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', sshd.user,
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, sshd.host,
      ],
      { env: cliEnv(sshd.dir, opts.env), execArgv: opts.execArgv },
    );
    await run.waitFor(/Entering interactive session/);
    return { run, lport };
  }

  it('SIGUSR1 opens no inspector; the tunnel keeps working', async () => {
    const port = await freePort();
    const { run, lport } = await tunnel({ execArgv: [`--inspect-port=127.0.0.1:${port}`] });
    try {
      for (let i = 0; i < 3; i++) {
        run.child.kill('SIGUSR1');
        await new Promise((r) => setTimeout(r, 300));
      }
      // The control above opens within ~100 ms; give it far longer here.
      expect(await eventually(() => listening(port) , 1000)).toBe(false);
      expect(holdsListener(run.pid, port)).toBe(false);
      expect(holdsListener(run.pid, 9229)).toBe(false);
      expect(run.child.exitCode).toBe(null);
      expect(run.child.signalCode).toBe(null);
      expect(await echoVia(lport, 'still here')).toBe('still here');
      expect(run.stderr()).not.toMatch(/Debugger listening/);
    } finally {
      await run.kill();
    }
  });

  it('--inspect inherited through NODE_OPTIONS is closed before keys are read, and said', async () => {
    const port = await freePort();
    const { run, lport } = await tunnel({ env: { NODE_OPTIONS: `--inspect=127.0.0.1:${port}` } });
    try {
      expect(run.stderr()).toContain(
        `pure-ssh: closed the Node.js inspector opened by --inspect=127.0.0.1:${port} in NODE_OPTIONS: a process holding private keys does not accept debuggers`,
      );
      // Closed before the first key was loaded (the -v line for the identity file comes later).
      const err = run.stderr();
      expect(err.indexOf('closed the Node.js inspector')).toBeLessThan(err.indexOf('identity file'));
      expect(await listening(port)).toBe(false);
      expect(holdsListener(run.pid, port)).toBe(false);
      run.child.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 500));
      expect(await listening(port)).toBe(false);
      expect(await echoVia(lport, 'ok')).toBe('ok');
    } finally {
      await run.kill();
    }
  });

  it('--inspect on node\'s own command line is closed too', async () => {
    const port = await freePort();
    const { run, lport } = await tunnel({ execArgv: [`--inspect=127.0.0.1:${port}`] });
    try {
      expect(run.stderr()).toContain(`closed the Node.js inspector opened by --inspect=127.0.0.1:${port}:`);
      expect(await listening(port)).toBe(false);
      expect(holdsListener(run.pid, port)).toBe(false);
      expect(await echoVia(lport, 'ok')).toBe('ok');
    } finally {
      await run.kill();
    }
  });
});
