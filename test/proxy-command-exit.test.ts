/**
 * A ProxyCommand that fails before the server spoke (it exits, or a signal ends it): the library
 * error says ssh(1)'s words and then how the command ended, its cause a ProxyCommandExit naming
 * the command and its exit status or signal; what the command wrote to its standard error goes
 * where `stderr` says, before the error. The CLI, beside ssh 9.2, prints ssh's lines only
 * (ssh does not report the command's exit): the command's own line, `kex_exchange_identification:
 * Connection closed by remote host`, `Connection closed by UNKNOWN port 65535`, exit 255.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { connect, ConnectionLostError, ProxyCommandExit, proxyCommandStream, UsageError } from '../src/index.js';
import { cliEnv, describeWithHome, suiteDir, suiteHome } from './harness/home.js';
import { requireBuiltCli, startCli } from './harness/proc.js';
import { sshClientAvailable } from './harness/sshd.js';

const FAILS = `sh -c 'echo no route >&2; exit 3'`;

/** connect() over the command's stream: the error it rejects with. */
async function failure(command: string, stderr?: 'ignore' | number): Promise<unknown> {
  const sock = proxyCommandStream(command, stderr === undefined ? {} : { stderr });
  return connect({ host: 'db', username: 'joe', sock, knownHosts: '/dev/null' }).then(
    () => undefined,
    (err: unknown) => err,
  );
}

const dir = suiteDir('pure-ssh-proxy-exit-');

it('library: a command that exits names its status, and the command, in a ProxyCommandExit cause', async () => {
  const err = await failure(FAILS, 'ignore');
  expect(err).toBeInstanceOf(ConnectionLostError);
  const lost = err as ConnectionLostError;
  expect(lost.code).toBe('ERR_CONNECTION_LOST');
  expect(lost.message).toBe('kex_exchange_identification: Connection closed by remote host: the proxy command exited with status 3');
  expect(lost.cause).toBeInstanceOf(ProxyCommandExit);
  const exit = lost.cause as ProxyCommandExit;
  expect({ command: exit.command, status: exit.status, signal: exit.signal }).toEqual({ command: FAILS, status: 3, signal: null });
  expect(exit.message).toBe(`the proxy command exited with status 3: ${FAILS}`);
}, 20_000);

it('library: a command a signal ends names the signal', async () => {
  const command = `sh -c 'kill -KILL $$'`;
  const err = (await failure(command, 'ignore')) as ConnectionLostError;
  expect(err.message).toBe('kex_exchange_identification: Connection closed by remote host: the proxy command was killed by SIGKILL');
  expect(err.cause).toMatchObject({ command, status: null, signal: 'SIGKILL' });
}, 20_000);

it("library: the command's standard error goes to the descriptor given, before the error", async () => {
  const file = join(dir, 'proxy-stderr');
  const fd = openSync(file, 'w');
  try {
    const err = (await failure(FAILS, fd)) as ConnectionLostError;
    expect(readFileSync(file, 'utf8')).toBe('no route\n');
    expect((err.cause as ProxyCommandExit).status).toBe(3);
  } finally {
    closeSync(fd);
  }
}, 20_000);

it('library: the caller\'s mistakes are UsageErrors before anything runs (break36: `exec 5` ran, `stdErr` and stderr "pipe" were taken)', () => {
  const usage = (f: () => unknown, message: string) => {
    let err: unknown;
    try {
      (f() as { destroy?: () => void })?.destroy?.();
    } catch (e) {
      err = e;
    }
    expect(err, message).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(message);
  };
  usage(() => proxyCommandStream(5 as never), 'proxyCommandStream: the command must be a non-empty string, got 5');
  usage(() => proxyCommandStream('  '), 'proxyCommandStream: the command must be a non-empty string, got "  "');
  usage(() => proxyCommandStream('true', { stdErr: 'ignore' } as never), 'proxyCommandStream: unknown option stdErr (did you mean stderr?)');
  // A pipe nobody reads: a command writing more than a pipe holds to its stderr would block.
  usage(() => proxyCommandStream('true', { stderr: 'pipe' } as never), `proxyCommandStream: stderr must be 'inherit', 'ignore' or a file descriptor, got "pipe"`);
  usage(() => proxyCommandStream('true', { debug: 'yes' } as never), 'proxyCommandStream: debug must be a function, got "yes"');
});

it("library: by default the command's standard error is the process's own, written before the error", async () => {
  // A Node process of its own (the built library): its stderr is a pipe read here.
  requireBuiltCli();
  const script = `
    import { connect, proxyCommandStream } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const sock = proxyCommandStream(process.argv[1]);
    connect({ host: 'db', username: 'joe', sock, knownHosts: '/dev/null' }).catch((err) => {
      process.stderr.write('error: ' + err.message + '\\n');
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, FAILS], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise((r) => child.on('close', r));
  expect(stderr).toBe('no route\nerror: kex_exchange_identification: Connection closed by remote host: the proxy command exited with status 3\n');
}, 30_000);

describeWithHome('CLI: a ProxyCommand that exits before the server spoke, beside ssh 9.2', () => {
  const home = suiteHome();
  it("ssh's lines after the command's own, exit 255", async () => {
    requireBuiltCli();
    const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', `ProxyCommand=${FAILS}`, 'joe@db'];
    const want = 'no route\nkex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n';
    const ours = await startCli('pure-ssh', args, { env: cliEnv(home) }).done;
    expect(ours).toMatchObject({ code: 255, stderr: want });
    if (sshClientAvailable()) {
      const theirs = await startCli('ssh', args, { env: cliEnv(home) }).done;
      expect(theirs).toMatchObject({ code: 255, stderr: want });
    }
  }, 30_000);
});
