/**
 * A packet whose MAC or AEAD tag does not verify, through the built CLI beside ssh(1) 9.2: a proxy
 * between the client and sshd flips one byte of the server's data once a forwarded download is
 * under way. Both clients end with exit 255 and the same words (packet.c: "Corrupted MAC on
 * input." at INFO for a separate MAC, then sshpkt_fatal's "ssh_dispatch_run_fatal: Connection to
 * ADDR port P: message authentication code incorrect"), and no byte of the bad packet reaches
 * the forwarded socket: what it received is a prefix of what the server sent.
 *
 * With CBC and an encrypt-and-MAC MAC, packet.c's discard mode (ssh_packet_start_discard) reads on
 * to PACKET_MAX_SIZE bytes before failing, so the time of the failure does not reveal the
 * decrypted length (Albrecht, Paterson, Watson 2009): ssh logs "Finished discarding for ADDR
 * port P" between those two lines, and nothing received meanwhile is forwarded.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

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
  /** When set: the proxy ends the client's connection after this many bytes past the flipped one. */
  let cutAfter: number | undefined;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    // CBC is not in sshd's default list (OpenSSH keeps it available, not offered).
    sshd = await startSshd({ config: { Ciphers: '+aes128-cbc' } });
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
      const cut = cutAfter;
      let cutDone = false;
      c.on('error', () => up.destroy());
      up.on('error', () => cutDone || c.destroy());
      c.pipe(up);
      up.on('data', (d: Buffer) => {
        if (seen <= FLIP_AT && FLIP_AT < seen + d.length) {
          d = Buffer.from(d);
          d[FLIP_AT - seen]! ^= 1;
        }
        if (cut !== undefined && seen + d.length > FLIP_AT + cut) {
          // The server's side goes quiet: only a FIN reaches the client.
          // A FIN after the bytes, never a reset (which would drop what the client has not read).
          cutDone = true;
          c.unpipe(up);
          c.resume();
          c.end(d.subarray(0, Math.max(0, FLIP_AT + cut - seen)));
          up.destroy();
          return;
        }
        seen += d.length;
        c.write(d);
      });
      up.on('end', () => c.end());
      c.on('close', () => up.destroy());
      up.on('close', () => cutDone || c.destroy());
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
    ['aes128-ctr + hmac-sha2-256 (encrypt-and-MAC, no discard mode)', ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256']],
    ['aes128-cbc + hmac-sha2-256 (encrypt-and-MAC: discard mode)', ['-c', 'aes128-cbc', '-m', 'hmac-sha2-256']],
    ['aes128-cbc + hmac-sha2-256-etm@openssh.com (EtM: no discard mode)', ['-c', 'aes128-cbc', '-m', 'hmac-sha2-256-etm@openssh.com']],
  ];
  for (const [name, algorithms] of cases) {
    it(`${name}: exit 255, ssh's words, no byte of the bad packet forwarded`, async () => {
      const pport = (proxy.address() as net.AddressInfo).port;
      const ours = await run('pure-ssh', algorithms);
      const mac = `ssh_dispatch_run_fatal: Connection to 127.0.0.1 port ${pport}: message authentication code incorrect\r\n`;
      const separate = algorithms.includes('-m') ? `Corrupted MAC on input.\r\n` : '';
      // packet.c ssh_packet_stop_discard: CBC without EtM only. Its count is usually completed by
      // a later read, which fails in clientloop.c's read (quit_message); by bytes already read,
      // in the dispatch loop as without discard mode.
      const discards = algorithms.includes('aes128-cbc') && algorithms.includes('hmac-sha2-256');
      const allowed = discards
        ? [`Finished discarding for 127.0.0.1 port ${pport}\r\n${mac}`, `Finished discarding for 127.0.0.1 port ${pport}\r\nRead from remote host 127.0.0.1: message authentication code incorrect\r\n`].map((l) => `${separate}${l}`)
        : [`${separate}${mac}`];
      expect(ours.code).toBe(255);
      expect(allowed).toContain(ours.err);
      expect(ours.got.length).toBeLessThan(DATA_BYTES);
      expect(ours.got.equals(sent.subarray(0, ours.got.length))).toBe(true);
      if (sshClientAvailable()) {
        const theirs = await run('ssh', algorithms);
        expect(theirs.code).toBe(255);
        expect(allowed).toContain(theirs.err);
        if (!discards) expect(ours.err).toBe(theirs.err);
      }
    }, 90_000);
  }

  it('aes128-cbc + hmac-sha2-256, the connection closed during the discard: the failed check, then the close', async () => {
    const algorithms = ['-c', 'aes128-cbc', '-m', 'hmac-sha2-256'];
    cutAfter = 64 * 1024;
    try {
      const ours = await run('pure-ssh', algorithms);
      // packet.c logged the failure at once; clientloop.c's read then meets the end of the stream.
      expect(ours.code).toBe(255);
      expect(ours.err).toBe('Corrupted MAC on input.\r\nConnection to 127.0.0.1 closed by remote host.\r\n');
      expect(ours.got.equals(sent.subarray(0, ours.got.length))).toBe(true);
      if (sshClientAvailable()) {
        const theirs = await run('ssh', algorithms);
        expect(theirs.code).toBe(255);
        expect(ours.err).toBe(theirs.err);
      }
    } finally {
      cutAfter = undefined;
    }
  }, 90_000);
});
