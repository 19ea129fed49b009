/**
 * Waiting for OpenSSH's ssh-agent started by a test (`ssh-agent -a SOCKET -D`): ready once a
 * connection to SOCKET is accepted. The socket file appears at bind(2), before listen(2): a
 * client that connects in between is refused (seen under load in CI), so existence is not enough.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

/** Resolves once `sock` accepts a connection; rejects after `timeoutMs`. */
export async function waitForAgentSocket(sock: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(sock);
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`ssh-agent did not accept connections on ${sock} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts `/usr/bin/ssh-agent -a SOCK -D` (in the foreground, output ignored) and resolves with it
 * once SOCK accepts connections ({@link waitForAgentSocket}); the caller kills it. `env`: the
 * agent's environment (default this process's), e.g. SSH_ASKPASS and SSH_ASKPASS_REQUIRE=force
 * for the program it runs to confirm each use of an `ssh-add -c` key.
 */
export async function startSshAgent(sock: string, env?: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn('/usr/bin/ssh-agent', ['-a', sock, '-D'], { stdio: 'ignore', env });
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(sock)) throw new Error(`ssh-agent did not create ${sock}`);
    await waitForAgentSocket(sock);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}
