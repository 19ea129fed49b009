/**
 * `-v -C`: at an orderly exit (here -N ended by SIGTERM) ssh 9.2 closes its packet layer, and
 * packet.c ssh_packet_close says at debug1 what each direction's zlib stream did: "compress
 * outgoing: raw data N, compressed M, factor F" then "compress incoming: …", after "Exit status 0".
 * A forwarded connection carries 200 KiB of log text from a local server, so the incoming raw
 * figure is mostly those bytes; the compressed sizes are ours (zlib level 6 on pako), not ssh's.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { deliverSignal, startCli } from './harness/proc.js';
import { freePort } from './harness/net.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

const LINE = Buffer.from('2026-11-30T10:00:00Z INFO request served path=/api/v1/items status=200 bytes=5120\n');
const TEXT = Buffer.alloc(200 * 1024, LINE);

/** Runs `cmd` with -N -L, fetches TEXT through the forward, ends it with SIGTERM; its stderr. */
async function forwardThenTerm(cmd: string[], args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const port = await freePort();
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args, '-L', `127.0.0.1:${port}:127.0.0.1:${textPort}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!/Local forwarding listening on 127\.0\.0\.1 port/.test(stderr)) {
    if (Date.now() > deadline) throw new Error(`no listener:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const got = await new Promise<number>((resolve, reject) => {
    let n = 0;
    const s = net.connect(port, '127.0.0.1');
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => resolve(n));
    s.on('error', reject);
  });
  expect(got).toBe(TEXT.length);
  // Let the channel's close go both ways before the signal.
  await new Promise((r) => setTimeout(r, 500));
  deliverSignal(child, 'SIGTERM');
  expect(await exited).toBe(0);
  return stderr.replace(/\r/g, '');
}

let textServer: net.Server;
let textPort: number;

describeInteropWithHome('CLI -v -C: the compression totals at exit, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ config: { Compression: 'yes' } });
  beforeAll(async () => {
    textServer = net.createServer((s) => s.end(TEXT));
    await new Promise<void>((r) => textServer.listen(0, '127.0.0.1', r));
    textPort = (textServer.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => textServer?.close(r));
  });

  it('"compress outgoing" and "compress incoming" after "Exit status 0", in ssh\'s format', async () => {
    const args = [...sshd.clientArgs, '-v', '-C', '-N', sshd.target];
    const ssh = await forwardThenTerm([sshd.openssh.ssh], args, cliEnv(home));
    const ours = await forwardThenTerm([process.execPath, CLI], args, cliEnv(home));
    const totals = (stderr: string) => {
      const lines = stderr.trimEnd().split('\n');
      expect(lines.slice(-3, -2)).toEqual(['debug1: Exit status 0']);
      return lines.slice(-2).map((l) => {
        const m = /^debug1: compress (outgoing|incoming): raw data (\d+), compressed (\d+), factor (\d+\.\d\d)$/.exec(l);
        expect(m, l).not.toBeNull();
        return { way: m![1], raw: Number(m![2]), compressed: Number(m![3]), factor: m![4] };
      });
    };
    const [sshOut, sshIn] = totals(ssh);
    const [ourOut, ourIn] = totals(ours);
    expect([sshOut!.way, sshIn!.way, ourOut!.way, ourIn!.way]).toEqual(['outgoing', 'incoming', 'outgoing', 'incoming']);
    // The factor is compressed / raw with two decimals, as ssh's %.2f.
    for (const t of [ourOut!, ourIn!]) expect(t.factor).toBe((t.compressed / t.raw).toFixed(2));
    // Incoming: the server's payloads, the 200 KiB of text among them; the other messages differ
    // little between the two clients (channel and global requests), so the raw figures agree closely.
    expect(ourIn!.raw).toBeGreaterThan(TEXT.length);
    expect(Math.abs(ourIn!.raw - sshIn!.raw)).toBeLessThan(256);
    // The text compresses well on both; ours is zlib level 6 as ssh's.
    expect(ourIn!.compressed).toBeLessThan(ourIn!.raw / 20);
    expect(Math.abs(ourIn!.compressed - sshIn!.compressed)).toBeLessThan(sshIn!.compressed / 5 + 64);
    // Outgoing: our own messages after authentication (the channel open, window adjusts, close).
    expect(ourOut!.raw).toBeGreaterThan(0);
    expect(ourOut!.compressed).toBeGreaterThan(0);
  }, 90_000);

  it('the server closing the connection: after "Transferred", "Exit status -1" and the totals, as ssh', async () => {
    // clientloop.c: the loop ends on the server's EOF as on an orderly exit, so ssh.c main
    // still closes the packet layer (ssh_packet_close) and says the totals; ssh exits 255.
    const args = [...sshd.clientArgs, '-v', '-C', '-N', sshd.target];
    const tails = [];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const run = startCli(client, args, { env: cliEnv(home) });
      const deadline = Date.now() + 20_000;
      while (!/Authenticated to /.test(run.stderr)) {
        if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`${client} did not log in:\n${run.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Its session set up (the server's debug lines after authentication), then sshd's end goes.
      await new Promise((r) => setTimeout(r, 500));
      sshd.killConnections();
      const { code, stderr } = await run.done;
      const lines = stderr.replace(/\r/g, '').split('\n');
      const tail = lines.slice(lines.indexOf('Connection to 127.0.0.1 closed by remote host.')).filter((l) => !/^debug[23]: /.test(l));
      tails.push({ client, code, tail: tail.map((l, i) => (i === 0 ? l : l.replace(/\d+(\.\d+)?/g, 'N'))).join('\n') });
    }
    const expected = [
      'Connection to 127.0.0.1 closed by remote host.',
      'Transferred: sent N, received N bytes, in N seconds',
      'Bytes per second: sent N, received N',
      'debugN: Exit status -N',
      'debugN: compress outgoing: raw data N, compressed N, factor N',
      'debugN: compress incoming: raw data N, compressed N, factor N',
      '',
    ].join('\n');
    expect(tails).toEqual([{ client: 'ssh', code: 255, tail: expected }, { client: 'pure-ssh', code: 255, tail: expected }]);
  }, 60_000);
});
