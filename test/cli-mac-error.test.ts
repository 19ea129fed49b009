/**
 * A packet whose MAC or AEAD tag does not verify, through the built CLI beside ssh(1) 9.2: a proxy
 * between the client and sshd flips one byte of the server's data once a forwarded download is
 * under way. Both clients end with exit 255 and the same words (packet.c: "Corrupted MAC on
 * input." at INFO for a separate MAC, then sshpkt_fatal's "ssh_dispatch_run_fatal: Connection to
 * ADDR port P: message authentication code incorrect"), and no byte of the bad packet reaches
 * the forwarded socket: what it received is a prefix of what the server sent.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

const CLI = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));
/** Server-to-client bytes passed unchanged before the flipped one: well past the key exchange. */
const FLIP_AT = 256 * 1024;
const DATA_BYTES = 4 * 1024 * 1024;

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >>> 8)) & 0xff;
  return b;
}

describeInteropWithHome('CLI: a corrupted packet as ssh(1) reports it', () => {
  let sshd: SshdHandle;
  let data: net.Server;
  let proxy: net.Server;
  const home = suiteHome();
  const sent = pattern(DATA_BYTES);
  let knownHosts: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd();
    // The forwarded service: sends DATA_BYTES at once.
    data = net.createServer((s) => {
      s.on('error', () => {});
      s.end(sent);
    });
    await new Promise<void>((r) => data.listen(0, '127.0.0.1', r));
    // Passes both ways; flips bit 0 of the server's byte number FLIP_AT on each connection.
    proxy = net.createServer((c) => {
      const up = net.connect(sshd.port, '127.0.0.1');
      let seen = 0;
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
      c.pipe(up);
      up.on('data', (d: Buffer) => {
        if (seen <= FLIP_AT && FLIP_AT < seen + d.length) {
          d = Buffer.from(d);
          d[FLIP_AT - seen]! ^= 1;
        }
        seen += d.length;
        c.write(d);
      });
      up.on('end', () => c.end());
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    // The clients know the server's keys under the proxy's address.
    const pport = (proxy.address() as net.AddressInfo).port;
    knownHosts = join(sshd.dir, 'known_hosts_proxy');
    await writeFile(knownHosts, sshd.hostKeys.map((k) => `[127.0.0.1]:${pport} ${k.publicKey}\n`).join(''));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([sshd?.stop(), new Promise((r) => data?.close(r)), new Promise((r) => proxy?.close(r))]);
  });

  /** The client with -N -L through the proxy; reads the forwarded download; its exit and stderr. */
  const run = async (client: 'pure-ssh' | 'ssh', algorithms: string[]): Promise<{ code: number | null; err: string; got: Buffer }> => {
    const lport = await freePort();
    const dport = (data.address() as net.AddressInfo).port;
    const pport = (proxy.address() as net.AddressInfo).port;
    const args = ['-N', '-F', 'none', '-p', String(pport), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ExitOnForwardFailure=yes', ...algorithms,
      '-L', `127.0.0.1:${lport}:127.0.0.1:${dport}`, `${sshd.user}@127.0.0.1`];
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const killer = setTimeout(() => child.kill('SIGTERM'), 30_000);
    // Poll until the listener is up, then read what comes through.
    let sock: net.Socket | undefined;
    for (let i = 0; i < 300 && !sock; i++) {
      sock = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect(lport, '127.0.0.1', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (!sock) await new Promise((r) => setTimeout(r, 50));
    }
    const chunks: Buffer[] = [];
    if (sock) {
      sock.on('data', (d: Buffer) => chunks.push(d));
      await new Promise<void>((r) => (sock!.on('close', () => r()), sock!.on('error', () => r())));
    }
    const code = await exited;
    clearTimeout(killer);
    return { code, err, got: Buffer.concat(chunks) };
  };

  const cases: [string, string[]][] = [
    ['chacha20-poly1305@openssh.com (AEAD)', ['-c', 'chacha20-poly1305@openssh.com']],
    ['aes128-gcm@openssh.com (AEAD)', ['-c', 'aes128-gcm@openssh.com']],
    ['aes128-ctr + hmac-sha2-256-etm@openssh.com (a separate MAC)', ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256-etm@openssh.com']],
  ];
  for (const [name, algorithms] of cases) {
    it(`${name}: exit 255, ssh's words, no byte of the bad packet forwarded`, async () => {
      const pport = (proxy.address() as net.AddressInfo).port;
      const ours = await run('pure-ssh', algorithms);
      const mac = `ssh_dispatch_run_fatal: Connection to 127.0.0.1 port ${pport}: message authentication code incorrect\r\n`;
      const expected = algorithms.includes('-m') ? `Corrupted MAC on input.\r\n${mac}` : mac;
      expect(ours.code).toBe(255);
      expect(ours.err).toBe(expected);
      expect(ours.got.length).toBeLessThan(DATA_BYTES);
      expect(ours.got.equals(sent.subarray(0, ours.got.length))).toBe(true);
      if (sshClientAvailable()) {
        const theirs = await run('ssh', algorithms);
        expect(theirs.code).toBe(255);
        expect(ours.err).toBe(theirs.err);
      }
    }, 90_000);
  }
});
