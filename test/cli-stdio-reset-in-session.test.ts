/**
 * `pure-ssh -W` whose connection is reset or closed once the stdio channel is open, beside ssh(1)
 * 9.2, which exits 255 with clientloop.c's line ("client_loop: send disconnect: Broken pipe" after
 * a reset, "Connection to HOST closed by remote host." and the VERBOSE totals after a FIN).
 * pure-ssh exited 0 and said nothing (a fresh tester's find): the stdio channel's close resolved
 * stdioForward and cli.ts exited 0 before the connection's 'close' handler printed — with the
 * bundled bin every time. Both the unbundled CLI and the bin are run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startRelay, type Relay } from './harness/net.js';
import { SSH_CLIENT_PATH, startSshd, type SshdHandle } from './harness/sshd.js';

const CLI = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/node/cli-bin.cjs', import.meta.url));

describeInteropWithHome('CLI -W: the connection reset or closed once the channel is open', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let relay: Relay;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd();
    relay = await startRelay(sshd.port, sshd.host);
  }, 30_000);
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
  });

  const run = async (client: 'pure-ssh' | 'pure-ssh bin' | 'ssh', end: 'reset' | 'close'): Promise<{ code: number | null; err: string }> => {
    const args = [
      ...sshd.clientArgs.map((a) => (a === String(sshd.port) ? String(relay.port) : a)),
      '-o', `HostKeyAlias=[127.0.0.1]:${sshd.port}`, '-o', 'LogLevel=VERBOSE',
      '-W', `127.0.0.1:${sshd.port}`, sshd.target,
    ];
    // stdin stays open (a pipe we never end): only the connection's loss can end the run.
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['pipe', 'ignore', 'pipe'], env: cliEnv(home) })
      : spawn(process.execPath, [client === 'pure-ssh' ? CLI : BIN, ...args], { stdio: ['pipe', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => (clearTimeout(killer), resolve(code))));
    const deadline = Date.now() + 15_000;
    while (!err.includes('Authenticated to') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect(relay.endAll(end)).toBe(1);
    const code = await closed;
    child.stdin!.destroy();
    return { code, err };
  };

  for (const end of ['reset', 'close'] as const) {
    it(`-W, connection ${end === 'reset' ? 'reset' : 'closed (FIN)'}: exit 255 with ssh's line`, async () => {
      const theirs = await run('ssh', end);
      expect(theirs.code).toBe(255);
      const want = end === 'reset' ? /client_loop: send disconnect: Broken pipe|Connection reset by/ : /Connection to 127\.0\.0\.1 closed by remote host\./;
      expect(theirs.err).toMatch(want);
      for (const client of ['pure-ssh', 'pure-ssh bin'] as const) {
        const ours = await run(client, end);
        expect({ client, code: ours.code, err: ours.err }).toMatchObject({ code: 255, err: expect.stringMatching(want) });
      }
    }, 60_000);
  }
});
