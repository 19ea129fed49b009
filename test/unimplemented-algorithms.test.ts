/**
 * Algorithm names OpenSSH knows and pure-ssh does not implement (ssh-dss, the FIDO `sk-*` key
 * types, 3des-cbc, hmac-md5...) in an ssh_config written for ssh 9.2: `HostKeyAlgorithms
 * +ssh-dss` for an old host made pure-ssh refuse to connect anywhere ("unsupported host key
 * algorithm(s)"), where ssh appends it. Now a `+` or `^` list leaves them out with a -v line
 * naming the file and line, an exact list keeps the names pure-ssh has (naming none of them
 * stays an error at that line), and a server that wants one of them gets ssh's "no matching host
 * key type" line and then which of its names pure-ssh lacks (openssh-names.ts
 * withoutUnimplemented, connect-host.ts offerableAlgorithms). Beside ssh 9.2's `-G` and a real
 * sshd 9.2 (ed25519, and DSA-only). Needs `npm run build` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unimplementedListMessage, withoutUnimplemented } from '../src/config/openssh-names.js';
import { supportedAlgorithms } from '../src/algorithms.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { inCI, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

const HOST_KEY = supportedAlgorithms().hostKey;

describe('withoutUnimplemented: what pure-ssh can offer of an OpenSSH list', () => {
  it('+ and ^ lists: the unimplemented names are left out, the defaults stand', () => {
    expect(withoutUnimplemented('hostKeyAlgorithms', '+ssh-dss', HOST_KEY)).toEqual({ spec: undefined, leftOut: ['ssh-dss'] });
    expect(withoutUnimplemented('hostKeyAlgorithms', '^ssh-dss', HOST_KEY)).toEqual({ spec: undefined, leftOut: ['ssh-dss'] });
    expect(withoutUnimplemented('hostKeyAlgorithms', '+ssh-dss,ssh-rsa', HOST_KEY)).toEqual({ spec: '+ssh-rsa', leftOut: ['ssh-dss'] });
    expect(withoutUnimplemented('hostKeyAlgorithms', '+sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', HOST_KEY)).toEqual({
      spec: undefined,
      leftOut: ['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com'],
    });
    // A pattern reaches every name OpenSSH knows (kex_assemble_names): those pure-ssh lacks are named.
    expect(withoutUnimplemented('hostKeyAlgorithms', '+ssh-dss*', HOST_KEY)).toEqual({ spec: undefined, leftOut: ['ssh-dss', 'ssh-dss-cert-v01@openssh.com'] });
    expect(withoutUnimplemented('hostKeyAlgorithms', '+ssh-rsa*', HOST_KEY)).toEqual({ spec: '+ssh-rsa*', leftOut: [] });
    expect(withoutUnimplemented('ciphers', '^3des-cbc,aes128-cbc', supportedAlgorithms().cipher)).toEqual({ spec: '^aes128-cbc', leftOut: ['3des-cbc'] });
  });

  it('an exact list keeps what pure-ssh implements; naming none of it, or removing, is left as written', () => {
    expect(withoutUnimplemented('hostKeyAlgorithms', 'ssh-dss,ssh-ed25519', HOST_KEY)).toEqual({ spec: 'ssh-ed25519', leftOut: ['ssh-dss'] });
    expect(withoutUnimplemented('hostKeyAlgorithms', 'ssh-dss', HOST_KEY)).toEqual({ spec: 'ssh-dss', leftOut: ['ssh-dss'], refused: true });
    expect(withoutUnimplemented('hostKeyAlgorithms', '-ssh-dss', HOST_KEY)).toEqual({ spec: '-ssh-dss', leftOut: [] });
    expect(withoutUnimplemented('macs', 'hmac-sha2-256', supportedAlgorithms().mac)).toEqual({ spec: 'hmac-sha2-256', leftOut: [] });
  });

  it('the config line refuses exactly the lists withoutUnimplemented refuses (one rule)', () => {
    const refusedAtLine = (spec: string) => unimplementedListMessage('hostKeyAlgorithms', 'host key', spec);
    // A pattern that reaches only names pure-ssh lacks names nothing else either.
    expect(refusedAtLine('ssh-dss*')).toMatch(/^unsupported host key algorithm\(s\): ssh-dss,ssh-dss-cert-v01@openssh.com \(pure-ssh supports: ssh-ed25519,/);
    expect(refusedAtLine('ssh-dss,sk-ssh-ed25519@openssh.com')).toMatch(/^unsupported host key algorithm\(s\): ssh-dss,sk-ssh-ed25519@openssh.com \(/);
    for (const spec of ['ssh-dss', 'ssh-dss*', 'ssh-*', 'ssh-dss,ssh-ed25519', '+ssh-dss', '^ssh-dss', '-ssh-dss', 'ssh-ed25519', 'ssh-dss,,foo']) {
      expect(refusedAtLine(spec) !== undefined, spec).toBe(withoutUnimplemented('hostKeyAlgorithms', spec, HOST_KEY).refused === true);
    }
    expect(unimplementedListMessage('ciphers', 'cipher', '3des-cbc')).toMatch(/^unsupported cipher algorithm\(s\): 3des-cbc \(pure-ssh supports: chacha20-poly1305@openssh.com,/);
    expect(unimplementedListMessage('macs', 'MAC', 'hmac-md5,hmac-sha1-96')).toMatch(/^unsupported MAC algorithm\(s\): hmac-md5,hmac-sha1-96 \(/);
    expect(unimplementedListMessage('macs', 'MAC', 'hmac-md5,hmac-sha1')).toBeUndefined();
  });
});

describeInteropWithHome('ssh_config lists naming what pure-ssh lacks, beside ssh 9.2 and sshd 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let dsa: SshdHandle;
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-unimplemented-'));
    // ssh-keygen 9.2 still makes DSA keys; sshd 9.2 serves one when HostKeyAlgorithms names ssh-dss.
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'dsa', '-N', '', '-f', join(dir, 'host_dsa')]);
    [sshd, dsa] = await Promise.all([startSshd(), startSshd({ config: { HostKey: join(dir, 'host_dsa'), HostKeyAlgorithms: 'ssh-dss' } })]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), dsa?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const CONFIG = [
    'Host *',
    '  HostKeyAlgorithms +ssh-dss',
    '  PubkeyAcceptedAlgorithms +sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com',
    '  Ciphers 3des-cbc,aes128-ctr',
    '  MACs hmac-md5,hmac-sha2-256',
    '',
  ].join('\n');

  function run(cmd: 'ssh' | 'pure-ssh', args: string[]): { status: number | null; stdout: string; stderr: string } {
    const [file, argv] = cmd === 'ssh' ? [SSH_CLIENT_PATH, args] : [process.execPath, [CLI, ...args]];
    const r = spawnSync(file, argv, { env: cliEnv(home), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('-G: each list is ssh 9.2\'s without the names pure-ssh lacks, and -v names them with their file and line', () => {
    const cfg = join(dir, 'legacy.conf');
    writeFileSync(cfg, CONFIG);
    const ours = run('pure-ssh', ['-F', cfg, '-v', '-G', 'old-host']);
    expect(ours.status, ours.stderr).toBe(0);
    const notes = ours.stderr.split(/\r?\n/).filter((l) => / left out$/.test(l));
    expect(notes).toEqual([
      `debug1: ${cfg} line 4: Ciphers 3des-cbc,aes128-ctr: pure-ssh does not implement 3des-cbc; left out`,
      `debug1: ${cfg} line 5: MACs hmac-md5,hmac-sha2-256: pure-ssh does not implement hmac-md5; left out`,
      `debug1: ${cfg} line 2: HostKeyAlgorithms +ssh-dss: pure-ssh does not implement ssh-dss; left out`,
      `debug1: ${cfg} line 3: PubkeyAcceptedAlgorithms +sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com: pure-ssh does not implement sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com; left out`,
    ]);
    const line = (out: string, kw: string) => out.split('\n').find((l) => l.startsWith(`${kw} `));
    expect(line(ours.stdout, 'ciphers')).toBe('ciphers aes128-ctr');
    expect(line(ours.stdout, 'macs')).toBe('macs hmac-sha2-256');
    expect(line(ours.stdout, 'hostkeyalgorithms')).not.toMatch(/ssh-dss|sk-/);
    if (!sshClientAvailable()) {
      if (inCI()) throw new Error(`${SSH_CLIENT_PATH} is missing`);
      return;
    }
    const theirs = run('ssh', ['-F', cfg, '-G', 'old-host']);
    expect(theirs.status, theirs.stderr).toBe(0);
    // ssh 9.2 offers them (and the sk-* types by default); pure-ssh the rest, in ssh's order.
    const lacking = /^(ssh-dss.*|sk-.*|webauthn-.*|3des-cbc|hmac-md5.*)$/;
    for (const kw of ['ciphers', 'macs', 'hostkeyalgorithms', 'pubkeyacceptedalgorithms']) {
      const expected = line(theirs.stdout, kw)!.split(' ')[1]!.split(',').filter((n) => !lacking.test(n));
      expect(line(ours.stdout, kw), kw).toBe(`${kw} ${expected.join(',')}`);
    }
    expect(line(theirs.stdout, 'hostkeyalgorithms')).toMatch(/,ssh-dss$/);
  }, 60_000);

  it('an ed25519 sshd 9.2: the config written for ssh connects (it refused to before)', () => {
    const cfg = join(dir, 'connect.conf');
    writeFileSync(cfg, CONFIG.replace(/ {2}(Ciphers|MACs) .*\n/g, ''));
    const args = [...sshd.clientArgs.slice(2), '-F', cfg, '-v', '-W', `127.0.0.1:${sshd.port}`, sshd.target];
    const ours = run('pure-ssh', args);
    expect(ours.stderr).toContain(`debug1: ${cfg} line 2: HostKeyAlgorithms +ssh-dss: pure-ssh does not implement ssh-dss; left out`);
    expect(ours.stderr).toContain('Authenticated to 127.0.0.1');
    expect(ours.stderr).toMatch(/debug1: kex: host key algorithm: ssh-ed25519/);
  }, 60_000);

  it('HostKeyAlgorithms naming only what pure-ssh lacks: an error at its line, exit 255, no connection', () => {
    const cfg = join(dir, 'only-dss.conf');
    writeFileSync(cfg, 'Host *\n  HostKeyAlgorithms ssh-dss\n');
    const ours = run('pure-ssh', [...sshd.clientArgs.slice(2), '-F', cfg, '-W', `127.0.0.1:${sshd.port}`, sshd.target]);
    expect(ours.status).toBe(255);
    expect(ours.stderr).toMatch(new RegExp(`^${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2: unsupported host key algorithm\\(s\\): ssh-dss \\(pure-ssh supports: `));
    expect(ours.stderr).not.toContain('Authenticated');
  }, 60_000);

  it('a DSA-only sshd 9.2: ssh\'s "no matching host key type" line, then that pure-ssh lacks ssh-dss and which line asked for it', () => {
    const cfg = join(dir, 'dss.conf');
    writeFileSync(cfg, 'Host *\n  HostKeyAlgorithms +ssh-dss\n');
    const base = [...dsa.clientArgs.slice(2), '-W', `127.0.0.1:${dsa.port}`, dsa.target];
    const unable = `Unable to negotiate with 127.0.0.1 port ${dsa.port}: no matching host key type found. Their offer: ssh-dss`;
    const asked = run('pure-ssh', ['-F', cfg, ...base]);
    expect(asked.status).toBe(255);
    expect(asked.stderr).toBe(`${unable}\r\npure-ssh does not support ssh-dss, which this server offers (HostKeyAlgorithms +ssh-dss at ${cfg} line 2 asks for it)\r\n`);
    const plain = run('pure-ssh', ['-F', '/dev/null', ...base]);
    expect(plain.status).toBe(255);
    expect(plain.stderr).toBe(`${unable}\r\npure-ssh does not support ssh-dss, which this server offers\r\n`);
    if (sshClientAvailable()) {
      // ssh 9.2's own line is the same without ssh-dss; with it, it gets as far as the host key check.
      expect(run('ssh', ['-F', '/dev/null', ...base]).stderr).toBe(`${unable}\r\n`);
      expect(run('ssh', ['-F', cfg, ...base]).stderr).not.toContain('Unable to negotiate');
    }
  }, 60_000);
});
