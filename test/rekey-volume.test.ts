/**
 * ssh_config(5) RekeyLimit's volume part below a packet's size (`RekeyLimit 16`): OpenSSH
 * packet.c ssh_packet_need_rekeying starts no rekey before authentication and lets at least one
 * packet through per key exchange, so the connection still makes progress, re-keying often.
 * pure-ssh used to send KEXINIT straight after the first NEWKEYS (before authenticating) and
 * hang. Real sshd, real CLI process, both directions, sha256 checked.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeInteropWithHome('RekeyLimit volume smaller than a packet', () => {
  const sshd = sshdSuite();
  let source: net.Server;
  let sink: net.Server;
  const payload = randomBytes(256 * 1024);

  beforeAll(async () => {
    source = net.createServer((s) => s.end(payload));
    // Reads to EOF, answers the sha256 of what came.
    sink = net.createServer((s) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d)).on('end', () => s.end(h.digest('hex')));
    });
    await Promise.all([source, sink].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
  });
  afterAll(async () => {
    await Promise.all([new Promise((r) => source?.close(r)), new Promise((r) => sink?.close(r))]);
  });

  const run = async (limit: string, server: net.Server, input?: Uint8Array): Promise<{ code: number | null; out: Buffer; err: string }> => {
    const port = (server.address() as net.AddressInfo).port;
    const child = spawn(process.execPath, [CLI, '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', `RekeyLimit ${limit}`, '-W', `127.0.0.1:${port}`, `${sshd.user}@${sshd.host}`],
    { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv(processHome()) });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.end(input);
    // The bug was a hang: give up well before the test's own timeout, with the log to show.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    clearTimeout(timer);
    return { code, out: Buffer.concat(chunks), err };
  };

  for (const limit of ['16', '256']) {
    it(`RekeyLimit ${limit}: authenticates, downloads and uploads intact, re-keying along the way`, async () => {
      const down = await run(limit, source);
      expect(down.code, down.err).toBe(0);
      expect(down.err).toMatch(/Authenticated to /);
      expect(down.out.length, down.err).toBe(payload.length);
      expect(sha(down.out)).toBe(sha(payload));
      // No rekey before authentication (the hang), at least one after.
      expect(down.err.indexOf('rekey done'), down.err).toBeGreaterThan(down.err.indexOf('Authenticated to '));
      const up = await run(limit, sink, payload);
      expect(up.code, up.err).toBe(0);
      expect(up.out.toString(), up.err).toBe(sha(payload));
      expect(up.err.match(/rekey done/g)?.length ?? 0, up.err).toBeGreaterThanOrEqual(2);
    }, 40_000);
  }
});
