/**
 * ssh(1)'s "@@@ WARNING" blocks, byte for byte: the built `pure-ssh` and OpenSSH's `ssh` run with
 * the same arguments against one sshd serving a host certificate, and their stderr and exit
 * status compared. Each block is error() calls in sshconnect.c (check_host_key, warn_changed_key)
 * or authfile.c (sshkey_perm_ok), so each line ends with log.c's "\r\n", except where one call
 * holds a newline (the changed key's fingerprint).
 */
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { PYTHON } from './harness/net.js';
import { startSshd, type SshdHandle, publicKeyOf } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI, runForStderr } from './harness/proc.js';

function keygen(...args: string[]): void {
  execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
}

/**
 * A ProxyCommand relay to 127.0.0.1:PORT that flips the last bit of the server's host key
 * signature (the last byte of the payload of its first SSH_MSG_KEX_ECDH_REPLY, 31; unencrypted
 * and without a MAC before NEWKEYS, RFC 4253 §6).
 */
const CORRUPT_SIGNATURE = `import socket, sys, os, threading
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
def up():
    while True:
        d = os.read(0, 65536)
        if not d: s.shutdown(socket.SHUT_WR); return
        s.sendall(d)
threading.Thread(target=up, daemon=True).start()
buf = b''; state = 'ident'
while True:
    d = s.recv(65536)
    if not d: break
    if state == 'pass': os.write(1, d); continue
    buf += d
    while True:
        if state == 'ident':
            i = buf.find(b'\\n')
            if i < 0: break
            line, buf = buf[:i+1], buf[i+1:]
            os.write(1, line)
            if line.startswith(b'SSH-'): state = 'pkt'
        elif state == 'pkt':
            if len(buf) < 6: break
            n = int.from_bytes(buf[:4], 'big')
            if len(buf) < 4 + n: break
            pkt = bytearray(buf[:4+n]); buf = buf[4+n:]
            if pkt[5] == 31:
                pad = pkt[4]; pkt[4 + n - pad - 1] ^= 1
                os.write(1, bytes(pkt)); os.write(1, buf); buf = b''; state = 'pass'; break
            os.write(1, bytes(pkt))
        else: break
os._exit(0)
`;

describeInteropWithHome('host key and key file warnings, side by side with ssh', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let dir: string;
  const p = (n: string) => join(dir, n);
  const pub = (n: string) => publicKeyOf(p(n));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-warnings-'));
    for (const n of ['host_ca', 'host', 'other']) keygen('-t', 'ed25519', '-N', '', '-C', n, '-f', p(n));
    keygen('-t', 'ecdsa', '-N', '', '-C', 'other_ecdsa', '-f', p('other_ecdsa'));
    keygen('-s', p('host_ca'), '-I', 'test host', '-h', '-n', '127.0.0.1', '-V', '-5m:+1h', p('host.pub'));
    sshd = await startSshd({ config: { HostKey: p('host'), HostCertificate: p('host-cert.pub') } });
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = (cmd: string[], args: string[]) => runForStderr(cmd, args, cliEnv(home));

  /** Both clients with a known_hosts file of `lines` (another key file, more options); ssh's stderr. */
  async function sideBySide(lines: string[], identity?: string, extra: string[] = []): Promise<string> {
    const kh = p(`kh-${Math.random().toString(36).slice(2)}`);
    await writeFile(kh, lines.map((l) => `${l}\n`).join(''));
    const args = ['-F', '/dev/null', '-p', String(sshd.port), '-i', identity ?? sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      ...extra, '-N', 'root@127.0.0.1'];
    const theirs = await run([sshd.openssh.ssh], args);
    const ours = await run([process.execPath, CLI], args);
    expect(theirs.code).toBe(255);
    expect(ours).toEqual(theirs);
    return theirs.stderr;
  }

  it("a host key signature that does not verify (a relay flips a bit of it): ssh's one line, the detail at -v with the plain key's fingerprint", async () => {
    // kex.c: sshkey_verify's SSH_ERR_SIGNATURE_INVALID ends in ssh_dispatch_run_fatal's logdie
    // (INFO: nothing with -q). pure-ssh printed its library message with the fingerprint of the
    // whole certificate. ssh checks the host key first, so the key is known here.
    const relay = p('corrupt.py');
    await writeFile(relay, CORRUPT_SIGNATURE);
    const proxy = ['-o', `ProxyCommand=${PYTHON} ${relay} ${sshd.port}`];
    const ca = `@cert-authority [127.0.0.1]:${sshd.port} ${await pub('host_ca')}`;
    const plain = `[127.0.0.1]:${sshd.port} ${await pub('host')}`;
    const line = 'ssh_dispatch_run_fatal: Connection to UNKNOWN port 65535: incorrect signature\r\n';
    expect(await sideBySide([ca], undefined, proxy)).toBe(line);
    expect(await sideBySide([plain], undefined, [...proxy, '-o', 'HostKeyAlgorithms=ssh-ed25519'])).toBe(line);
    expect(await sideBySide([ca], undefined, [...proxy, '-q'])).toBe('');
    const fp = execFileSync('/usr/bin/ssh-keygen', ['-lf', p('host.pub')], { encoding: 'utf8' }).split(' ')[1]!;
    const kh = p('kh-signature');
    await writeFile(kh, `${ca}\n`);
    const v = await run([process.execPath, CLI], ['-v', '-F', '/dev/null', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${kh}`, '-o', 'BatchMode=yes', ...proxy, '-N', 'root@127.0.0.1']);
    expect(v.stderr).toContain(`debug1: host key signature (ssh-ed25519-cert-v01@openssh.com) does not verify for key ${fp}: the server did not prove it holds the key\r\n${line}`);
  });

  it('a changed host key: the whole block, the fingerprint after a bare "\\n" (one error() call)', async () => {
    const theirs = await sideBySide([`[127.0.0.1]:${sshd.port} ${await pub('other')}`]);
    expect(theirs).toContain('@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n');
    expect(theirs).toMatch(/The fingerprint for the ED25519 key sent by the remote host is\nSHA256:\S+\.\r\n/);
  });

  it('a changed host key recorded as another type: "Offending ECDSA key", the type of the line, not of the key shown', async () => {
    // The host's certificate is shown (no ECDSA key there), no CA: its plain key is checked.
    const theirs = await sideBySide([`[127.0.0.1]:${sshd.port} ${await pub('other_ecdsa')}`]);
    expect(theirs).toMatch(/The fingerprint for the ED25519 key sent by the remote host is\n/);
    expect(theirs).toMatch(/Offending ECDSA key in \S+:1\r\n/);
  });

  it('a @revoked host key: the REVOKED HOST KEY block, for the plain key and for its certificate', async () => {
    const lines = [`@revoked * ${await pub('host')}`, `[127.0.0.1]:${sshd.port} ${await pub('host')}`];
    const theirs = await sideBySide(lines, undefined, ['-o', 'HostKeyAlgorithms=ssh-ed25519']);
    expect(theirs).toContain('@       WARNING: REVOKED HOST KEY DETECTED!               @\r\n');
    expect(theirs).toContain(`The ED25519 host key for [127.0.0.1]:${sshd.port} is marked as revoked.\r\n`);
    // By default both offer certificates first (myproposal.h), so the server shows its certificate.
    expect(await sideBySide(lines)).toContain(`The ED25519-CERT host key for [127.0.0.1]:${sshd.port} is marked as revoked.\r\n`);
  });

  it('a host certificate whose CA is @revoked: the same block, for ED25519-CERT', async () => {
    const theirs = await sideBySide([`@cert-authority * ${await pub('host_ca')}`, `@revoked * ${await pub('host_ca')}`]);
    expect(theirs).toContain(`The ED25519-CERT host key for [127.0.0.1]:${sshd.port} is marked as revoked.\r\n`);
  });

  it('a host certificate of a @revoked key: the same block', async () => {
    const theirs = await sideBySide([`@cert-authority * ${await pub('host_ca')}`, `@revoked * ${await pub('host')}`]);
    expect(theirs).toContain('was revoked and you have requested strict checking.\r\n');
  });

  it('StrictHostKeyChecking=no: the same blocks, and a last line that says pure-ssh refuses anyway (ssh would go on)', async () => {
    for (const [lines, extra, last] of [
      [[`[127.0.0.1]:${sshd.port} ${await pub('other')}`], [], `Host key for [127.0.0.1]:${sshd.port} has changed; pure-ssh refuses it even with StrictHostKeyChecking=no.`],
      [[`@revoked * ${await pub('host')}`, `[127.0.0.1]:${sshd.port} ${await pub('host')}`], ['-o', 'HostKeyAlgorithms=ssh-ed25519'], `ED25519 host key for [127.0.0.1]:${sshd.port} was revoked; pure-ssh refuses it even with StrictHostKeyChecking=no.`],
      [[`@revoked * ${await pub('host')}`, `[127.0.0.1]:${sshd.port} ${await pub('host')}`], [], `ED25519-CERT host key for [127.0.0.1]:${sshd.port} was revoked; pure-ssh refuses it even with StrictHostKeyChecking=no.`],
    ] as const) {
      const kh = p(`kh-${Math.random().toString(36).slice(2)}`);
      await writeFile(kh, lines.map((l) => `${l}\n`).join(''));
      const ours = await run([process.execPath, CLI], ['-F', '/dev/null', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes',
        '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', ...extra, '-N', 'root@127.0.0.1']);
      expect(ours.code).toBe(255);
      expect(ours.stderr).toContain('@@@@@@@@@@');
      expect(ours.stderr.endsWith(`${last}\r\nHost key verification failed.\r\n`)).toBe(true);
      expect(ours.stderr).not.toContain('requested strict checking');
    }
  });

  it('a CA that is not the certificate\'s, and a certificate for another name', async () => {
    expect(await sideBySide([`@cert-authority * ${await pub('other')}`])).toBe('Host key verification failed.\r\n');
    expect(await sideBySide([`@cert-authority otherhost ${await pub('host_ca')}`])).toBe('Host key verification failed.\r\n');
  });

  it('a private key readable by others: the UNPROTECTED PRIVATE KEY FILE block', async () => {
    const open = p('open_key');
    await copyFile(sshd.clientKeyPath, open);
    await chmod(open, 0o644);
    const theirs = await sideBySide([`[127.0.0.1]:${sshd.port} ${await pub('host')}`], open);
    expect(theirs).toContain('@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\r\n');
    expect(theirs).toContain(`Permissions 0644 for '${open}' are too open.\r\n`);
  });
});
