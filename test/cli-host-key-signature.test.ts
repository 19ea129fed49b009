/**
 * A server whose host key signature fails (a flipped bit, a signature of another RSA algorithm
 * than the one agreed) or whose RSA host key is under 1024 bits, through the built CLI beside
 * ssh(1) 9.2, the host key known (known_hosts): both exit 255 with the same line, packet.c
 * sshpkt_fatal's `ssh_dispatch_run_fatal: Connection to ADDR port P: ` and ssherr.c's text,
 * `incorrect signature` (SSH_ERR_SIGNATURE_INVALID: sshkey_verify in kex_gen.c
 * input_kex_gen_reply; ssh-rsa.c ssh_rsa_verify for an algorithm mismatch) or `Invalid key
 * length` (SSH_ERR_KEY_LENGTH: sshkey_fromb's sshkey_check_rsa_length). The library keeps its
 * own messages (ProtocolError ERR_HOST_KEY_SIGNATURE). Also a 768-bit RSA `-i` key (PEM, as
 * `openssl genrsa 768` writes it; ssh-keygen refuses to convert it): sshconnect2.c
 * load_identity_file's `Load key "PATH": Invalid key length` against the real sshd.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SshWriter } from '../src/protocol/wire.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { requireBuiltCli, startCli } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';
import { FakeServer, fakeOnTcp, type Ed25519Key } from './support/fake-server.js';

const b64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

/** An RSA host key for FakeServer: `ssh-rsa` blob (RFC 4253 §6.6), signing as `signAs` (RFC 8332 §3). */
function rsaHostKey(bits: number, signAs: 'rsa-sha2-512' | 'rsa-sha2-256'): Ed25519Key {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = (publicKey as KeyObject).export({ format: 'jwk' });
  const blob = new SshWriter(bits / 8 + 64).string('ssh-rsa').mpint(b64u(jwk.e!)).mpint(b64u(jwk.n!)).toBytes();
  const hash = signAs === 'rsa-sha2-512' ? 'sha512' : 'sha256';
  return {
    secret: new Uint8Array(0),
    blob,
    sign: (data) => new SshWriter(bits / 8 + 32).string(signAs).string(new Uint8Array(sign(hash, data, privateKey))).toBytes(),
  };
}

const CASES: { name: string; make: () => FakeServer; hostKey: () => Ed25519Key; sshErr: string }[] = [];
function fakeCase(name: string, hostKey: Ed25519Key, opts: { badSignature?: boolean; rsa?: boolean }, sshErr: string): void {
  CASES.push({
    name,
    hostKey: () => hostKey,
    make: () => new FakeServer({ hostKey, badSignature: opts.badSignature, ...(opts.rsa ? { lists: { hostKey: ['rsa-sha2-512'] } } : {}) }),
    sshErr,
  });
}

describeInteropWithHome("CLI: a host key signature that fails, or a too small RSA host key, in ssh(1) 9.2's words", () => {
  const home = suiteHome();
  const servers: Server[] = [];

  beforeAll(() => {
    requireBuiltCli();
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  fakeCase('an ed25519 signature with a bit flipped', undefined as unknown as Ed25519Key, { badSignature: true }, 'incorrect signature');
  fakeCase('rsa-sha2-512 agreed, the server signs rsa-sha2-256', rsaHostKey(2048, 'rsa-sha2-256'), { rsa: true }, 'incorrect signature');
  fakeCase('a 768-bit RSA host key', rsaHostKey(768, 'rsa-sha2-512'), { rsa: true }, 'Invalid key length');

  for (const c of CASES) {
    it(`${c.name}: exit 255 and ssh's line`, async () => {
      const { server, port } = await fakeOnTcp(c.make);
      servers.push(server);
      const hostKey = c.hostKey() ?? c.make().hostKey;
      const kh = join(home, `kh-${port}`);
      const type = Buffer.from(hostKey.blob.subarray(4, 4 + hostKey.blob[3]!)).toString();
      writeFileSync(kh, `[127.0.0.1]:${port} ${type} ${Buffer.from(hostKey.blob).toString('base64')}\n`);
      const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlgorithms=rsa-sha2-512,ssh-ed25519', '-p', String(port), 'joe@127.0.0.1'];
      const theirs = await startCli('ssh', args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
      const ours = await startCli('pure-ssh', args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
      expect(theirs.code).toBe(255);
      expect(theirs.stderr).toBe(`ssh_dispatch_run_fatal: Connection to 127.0.0.1 port ${port}: ${c.sshErr}\r\n`);
      expect(ours.code).toBe(255);
      expect(ours.stderr).toBe(theirs.stderr);
    }, 60_000);
  }

  describeInteropWithHome('a 768-bit RSA -i key against sshd 9.2', () => {
    const sshd = sshdSuite({ builtCli: true });
    it('`Load key "PATH": Invalid key length`, then the same end as ssh', async () => {
      const key = join(home, 'u768');
      execFileSync('openssl', ['genrsa', '-out', key, '768'], { stdio: 'ignore' });
      chmodSync(key, 0o600);
      const args = ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-i', key, '-p', String(sshd.port), 'root@127.0.0.1'];
      const theirs = await startCli('ssh', args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
      const ours = await startCli('pure-ssh', args, { env: cliEnv(home), killAfterMs: 15_000 }).done;
      expect(theirs.code).toBe(255);
      expect(theirs.stderr).toContain(`Load key "${key}": Invalid key length\r\n`);
      expect(ours.code).toBe(255);
      expect(ours.stderr).toBe(theirs.stderr);
    }, 60_000);
  });
});
