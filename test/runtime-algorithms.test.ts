/**
 * Every cipher, MAC and key exchange pure-ssh implements (and the ECDSA user keys), through the
 * default runtime crypto provider (node:crypto) under Node, Bun and Deno, against the real sshd
 * 9.2 with all of them enabled: the library (dist/index.js) connects with each one alone and
 * carries a transfer intact (sha256). Each runtime lacks some of OpenSSL's modes (Deno 2.9:
 * aes-192-cbc, aes-192-gcm and the P-521 curve; Bun: chacha20): the provider must fall back to
 * the pure implementation for what its runtime lacks, never negotiate a mode and then fail
 * ("Unknown cipher"). Also the CLI under Deno with `-c aes192-cbc`, as ssh 9.2 connects.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import { kexMethods } from '../src/kex/registry.js';
import { macAlgorithms } from '../src/mac/registry.js';
import { cliEnv, describeInteropWithHome, processHome, suiteDir } from './harness/home.js';
import { hashStream, startSourceServer, type SourceServer } from './harness/net.js';
import { sshdSuite } from './harness/sshd.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

const RUNTIMES: Record<string, { cmd: string; args: string[] }> = {
  Node: { cmd: process.execPath, args: [] },
  Bun: { cmd: bin('bun'), args: [] },
  Deno: { cmd: bin('deno'), args: ['run', '--no-prompt', '--allow-net', '--allow-read', '--allow-env', '--allow-sys'] },
};

/** What ssh 9.2 (the system's) implements, from `ssh -Q`. */
async function openssh(query: string): Promise<Set<string>> {
  return new Set((await run('/usr/bin/ssh', ['-Q', query])).stdout.split('\n').filter(Boolean));
}

interface Case {
  label: string;
  algorithms?: { cipher?: string; mac?: string; kex?: string };
  /** A fixture key file instead of the suite's ed25519 key. */
  key?: string;
}

/** The child: one connect per case, each a direct-tcpip transfer hashed; JSON on stdout. */
const SCRIPT = `
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'pure-ssh';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of p.cases) {
  try {
    const ssh = await connect({
      host: '127.0.0.1', port: p.port, username: 'root', knownHosts: p.knownHosts,
      privateKey: readFileSync(c.key ?? p.key, 'utf8'), algorithms: c.algorithms ?? {},
    });
    try {
      const stream = await ssh.openDirectTcpip({ host: '127.0.0.1', port: p.source });
      const h = createHash('sha256');
      let bytes = 0;
      for await (const chunk of stream) { h.update(chunk); bytes += chunk.length; }
      const n = ssh.info.negotiated;
      out.push({ label: c.label, bytes, sha256: h.digest('hex'), cipher: n.cipherServerToClient, mac: n.macServerToClient, kex: n.kex });
    } finally {
      ssh.close();
    }
  } catch (e) {
    out.push({ label: c.label, error: String(e?.name) + ' ' + String(e?.message) });
  }
}
console.log(JSON.stringify(out));
`;

describeInteropWithHome('every cipher, MAC and kex through the runtime crypto provider under Node, Bun and Deno', () => {
  const dir = suiteDir('pure-ssh-rtalg-');
  let ciphers: string[] = [];
  let macs: string[] = [];
  let kexes: string[] = [];
  const sshd = sshdSuite({
    builtCli: true,
    // All of ssh 9.2's, legacy ones included (set in beforeAll's lists below, written here in full).
    config: {
      Ciphers: 'aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc,aes192-cbc,aes256-cbc,chacha20-poly1305@openssh.com',
      MACs: [...'hmac-sha1 hmac-sha1-96 hmac-sha2-256 hmac-sha2-512 hmac-md5 hmac-md5-96 umac-64@openssh.com umac-128@openssh.com'.split(' '),
        ...'hmac-sha1-etm@openssh.com hmac-sha1-96-etm@openssh.com hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com'.split(' '),
        ...'hmac-md5-etm@openssh.com hmac-md5-96-etm@openssh.com umac-64-etm@openssh.com umac-128-etm@openssh.com'.split(' ')].join(','),
      KexAlgorithms: [...'diffie-hellman-group1-sha1 diffie-hellman-group14-sha1 diffie-hellman-group14-sha256 diffie-hellman-group16-sha512'.split(' '),
        ...'diffie-hellman-group18-sha512 diffie-hellman-group-exchange-sha1 diffie-hellman-group-exchange-sha256 ecdh-sha2-nistp256'.split(' '),
        ...'ecdh-sha2-nistp384 ecdh-sha2-nistp521 curve25519-sha256 curve25519-sha256@libssh.org sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com'.split(' ')].join(','),
      PubkeyAcceptedAlgorithms: '+ecdsa-sha2-nistp521,ecdsa-sha2-nistp384,ecdsa-sha2-nistp256',
    },
  });
  let source: SourceServer;
  beforeAll(async () => {
    // A consumer of the built package (as Deno resolves it: its package.json names the dependency).
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'pure-ssh'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', dependencies: { 'pure-ssh': '*' } }));
    writeFileSync(join(dir, 'main.mjs'), SCRIPT);
    // 300 KiB: packets up to the channel's maximum, above every small-packet path of the provider.
    source = await startSourceServer(300 * 1024, 21);
    const [c, m, k] = await Promise.all([openssh('cipher'), openssh('mac'), openssh('kex')]);
    ciphers = [...cipherAlgorithms.keys()].filter((n) => c.has(n));
    macs = [...macAlgorithms.keys()].filter((n) => m.has(n));
    kexes = [...kexMethods.keys()].filter((n) => k.has(n));
    // The ECDSA fixture keys too (Deno's node:crypto has no P-521).
    const keys = ['id_ecdsa256', 'id_ecdsa384', 'id_ecdsa521'].map((f) => readFileSync(fixture(`${f}.pub`), 'utf8').trim());
    writeFileSync(join(sshd.dir, 'authorized_keys'), `${sshd.clientPublicKey}\n${keys.join('\n')}\n`);
  });
  afterAll(() => source?.close());

  function cases(): Case[] {
    return [
      ...ciphers.map((cipher) => ({ label: `cipher ${cipher}`, algorithms: { cipher } })),
      // An AEAD cipher ignores the MAC: a CTR one carries each.
      ...macs.map((mac) => ({ label: `mac ${mac}`, algorithms: { cipher: 'aes192-ctr', mac } })),
      ...kexes.map((kex) => ({ label: `kex ${kex}`, algorithms: { kex } })),
      ...['id_ecdsa256', 'id_ecdsa384', 'id_ecdsa521'].map((f) => ({ label: `user key ${f}`, key: fixture(f) })),
    ];
  }

  for (const [name, rt] of Object.entries(RUNTIMES)) {
    it(`${name}: the library connects with each one alone and the transfer is intact`, async () => {
      const all = cases();
      expect(all.some((c) => c.algorithms?.cipher === 'aes192-cbc')).toBe(true);
      const params = join(dir, `${name}.json`);
      writeFileSync(params, JSON.stringify({ port: sshd.port, source: source.port, knownHosts: sshd.knownHostsPath, key: sshd.clientKeyPath, cases: all }));
      const { stdout } = await run(rt.cmd, [...rt.args, 'main.mjs', params], {
        cwd: dir,
        env: { ...process.env, PURE_SSH_CRYPTO: 'runtime', DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
        maxBuffer: 1 << 20,
      });
      const results = JSON.parse(stdout) as { label: string; error?: string; sha256?: string; bytes?: number; cipher?: string; mac?: string; kex?: string }[];
      const want = (c: Case) => ({ label: c.label, bytes: source.bytes, sha256: source.sha256 });
      expect(results.map((r) => ({ label: r.label, ...(r.error !== undefined ? { error: r.error } : { bytes: r.bytes, sha256: r.sha256 }) }))).toEqual(all.map(want));
      // Each case negotiated the algorithm it named.
      for (const [i, c] of all.entries()) {
        if (c.algorithms?.cipher) expect(results[i]!.cipher).toBe(c.algorithms.cipher);
        if (c.algorithms?.mac) expect(results[i]!.mac).toBe(c.algorithms.mac);
        if (c.algorithms?.kex) expect(results[i]!.kex).toBe(c.algorithms.kex);
      }
    }, 120_000);
  }

  it('Deno: the CLI with -c aes192-cbc carries -W intact, as ssh 9.2 does', async () => {
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-c', 'aes192-cbc', '-W', `127.0.0.1:${source.port}`, '127.0.0.1',
    ];
    const runOne = async (cmd: string, argv: string[]) => {
      const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv(processHome(), { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }) });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // stdin stays open until the server's side has ended (ssh -W would end the channel at stdin's EOF).
      const digest = await hashStream(child.stdout);
      child.stdin.end();
      return { digest, code: await exited, stderr };
    };
    const ssh = await runOne('/usr/bin/ssh', args);
    const deno = await runOne(RUNTIMES.Deno!.cmd, [...RUNTIMES.Deno!.args, CLI, ...args]);
    const want = { bytes: source.bytes, sha256: source.sha256 };
    expect(ssh.digest).toEqual(want);
    expect({ digest: deno.digest, code: deno.code, stderr: deno.stderr }).toEqual({ digest: want, code: ssh.code, stderr: ssh.stderr });
  }, 60_000);
});
