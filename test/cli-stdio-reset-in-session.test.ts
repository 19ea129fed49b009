/**
 * `pure-ssh -W` whose connection is reset or closed once the stdio channel is open, beside ssh(1)
 * 9.2, which exits 255 with clientloop.c's line ("client_loop: send disconnect: Broken pipe" after
 * a reset, "Connection to HOST closed by remote host." and the VERBOSE totals after a FIN).
 * pure-ssh exited 0 and said nothing (a fresh tester's find): the stdio channel's close resolved
 * stdioForward and cli.ts exited 0 before the connection's 'close' handler printed — with the
 * bundled bin every time. Both the unbundled CLI and the bin are run.
 */
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { clientArgsVia, relayedSshdSuite } from './harness/sshd.js';

describeInteropWithHome('CLI -W: the connection reset or closed once the channel is open', () => {
  const home = suiteHome();
  const suite = relayedSshdSuite();

  const run = async (client: CliClient, end: 'reset' | 'close'): Promise<{ code: number | null; err: string }> => {
    const { sshd, relay } = suite;
    const args = [...clientArgsVia(sshd, relay.port), '-o', 'LogLevel=VERBOSE', '-W', `127.0.0.1:${sshd.port}`, sshd.target];
    // stdin stays open (a pipe we never end): only the connection's loss can end the run.
    const cli = startCli(client, args, { env: cliEnv(home), stdin: 'pipe' });
    const deadline = Date.now() + 15_000;
    while (!cli.stderr.includes('Authenticated to') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect(relay.endAll(end)).toBe(1);
    const { code, stderr: err } = await cli.done;
    cli.child.stdin!.destroy();
    return { code, err };
  };

  for (const end of ['reset', 'close'] as const) {
    it(`-W, connection ${end === 'reset' ? 'reset' : 'closed (FIN)'}: exit 255 with ssh's line`, async () => {
      const theirs = await run('ssh', end);
      expect(theirs.code).toBe(255);
      const want = end === 'reset' ? /client_loop: send disconnect: Broken pipe|Connection reset by/ : /Connection to 127\.0\.0\.1 closed by remote host\./;
      expect(theirs.err).toMatch(want);
      for (const client of ['pure-ssh cli.js', 'pure-ssh bin'] as const) {
        const ours = await run(client, end);
        expect({ client, code: ours.code, err: ours.err }).toMatchObject({ code: 255, err: expect.stringMatching(want) });
      }
    }, 60_000);
  }
});
