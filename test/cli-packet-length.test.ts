/**
 * A bad packet length, through the built CLI beside ssh(1) 9.2: a proxy between the client and
 * sshd flips bit 0 of the first length byte of one of the server's packets, which adds 2^24 to
 * the length whatever the cipher (the length is in clear for AEAD and EtM, or XORed by a stream
 * cipher: CTR, chacha20). packet.c logs "Bad packet length N." (INFO), then sshpkt_fatal says
 * "Connection corrupted" where the length is read outside the encryption (AEAD, EtM:
 * SSH_ERR_CONN_CORRUPT) and "message authentication code incorrect" elsewhere (before the first
 * NEWKEYS, CTR with encrypt-and-MAC: ssh_packet_start_discard's SSH_ERR_MAC_INVALID). The library
 * keeps its typed codes (ERR_PACKET_TOO_LARGE); only the CLI words it as ssh does.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { requireBuiltCli, startCli } from './harness/proc.js';
import { sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';

/** Which of the server's packets gets its length corrupted. */
type Target = 'first' | 'after-newkeys';

describeInteropWithHome('CLI: a bad packet length as ssh(1) reports it', () => {
  let sshd: SshdHandle;
  let proxy: net.Server;
  const home = suiteHome();
  let knownHosts: string;
  let target: Target = 'first';

  beforeAll(async () => {
    requireBuiltCli();
    sshd = await startSshd({ config: { Ciphers: '+aes128-cbc' } });
    proxy = net.createServer((c) => {
      const up = net.connect(sshd.port, '127.0.0.1');
      const want = target;
      // The server's stream in clear up to its NEWKEYS: the identification line, then packets
      // of uint32 length, padding length, payload (RFC 4253 §4.2, §6), no MAC yet.
      let head = Buffer.alloc(0);
      let seen = 0;
      let flipAt = -1;
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
      c.pipe(up);
      up.on('data', (d: Buffer) => {
        if (flipAt < 0) {
          head = Buffer.concat([head, d]);
          let at = head.indexOf('\n') + 1;
          while (at > 0 && flipAt < 0) {
            if (want === 'first') flipAt = at;
            else if (head.length < at + 6) break;
            else {
              const type = head[at + 5];
              at += 4 + head.readUInt32BE(at);
              // SSH_MSG_NEWKEYS: the packet after it is the first one encrypted.
              if (type === 21) flipAt = at;
            }
          }
        }
        if (flipAt >= seen && flipAt < seen + d.length) {
          d = Buffer.from(d);
          d[flipAt - seen]! ^= 1;
        }
        seen += d.length;
        c.write(d);
      });
      up.on('end', () => c.end());
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const pport = (proxy.address() as net.AddressInfo).port;
    knownHosts = join(sshd.dir, 'known_hosts_length_proxy');
    await writeFile(knownHosts, sshd.hostKeys.map((k) => `[127.0.0.1]:${pport} ${k.publicKey}\n`).join(''));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([sshd?.stop(), new Promise((r) => proxy?.close(r))]);
  });

  const run = (client: 'pure-ssh' | 'ssh', algorithms: string[]): Promise<{ code: number | null; err: string }> => {
    const pport = (proxy.address() as net.AddressInfo).port;
    const args = ['-N', '-F', 'none', '-p', String(pport), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`, ...algorithms, `${sshd.user}@127.0.0.1`];
    return startCli(client, args, { env: cliEnv(home), killAfterMs: 30_000 }).done.then(({ code, stderr: err }) => ({ code, err }));
  };

  const cases: [string, Target, string[], 'Connection corrupted' | 'message authentication code incorrect'][] = [
    ['before the first NEWKEYS', 'first', [], 'message authentication code incorrect'],
    ['chacha20-poly1305@openssh.com (AEAD)', 'after-newkeys', ['-c', 'chacha20-poly1305@openssh.com'], 'Connection corrupted'],
    ['aes128-gcm@openssh.com (AEAD)', 'after-newkeys', ['-c', 'aes128-gcm@openssh.com'], 'Connection corrupted'],
    ['aes128-ctr + hmac-sha2-256-etm@openssh.com (EtM)', 'after-newkeys', ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256-etm@openssh.com'], 'Connection corrupted'],
    ['aes128-cbc + hmac-sha2-256-etm@openssh.com (EtM)', 'after-newkeys', ['-c', 'aes128-cbc', '-m', 'hmac-sha2-256-etm@openssh.com'], 'Connection corrupted'],
    ['aes128-ctr + hmac-sha2-256 (encrypt-and-MAC, not CBC)', 'after-newkeys', ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256'], 'message authentication code incorrect'],
  ];
  for (const [name, where, algorithms, fatal] of cases) {
    it(`${name}: "Bad packet length N." then "${fatal}", exit 255, as ssh`, async () => {
      target = where;
      const pport = (proxy.address() as net.AddressInfo).port;
      const ours = await run('pure-ssh', algorithms);
      expect(ours.code).toBe(255);
      expect(ours.err).toMatch(new RegExp(`^Bad packet length \\d{8}\\.\\r\\nssh_dispatch_run_fatal: Connection to 127\\.0\\.0\\.1 port ${pport}: ${fatal}\\r\\n$`));
      if (sshClientAvailable()) {
        const theirs = await run('ssh', algorithms);
        expect(theirs.code).toBe(255);
        expect(ours.err).toBe(theirs.err);
      }
    }, 90_000);
  }
});
