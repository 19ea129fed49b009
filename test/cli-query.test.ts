/**
 * `pure-ssh -Q` beside ssh 9.2's (ssh.c `case 'Q'`, Debian's kex-gss): the same queries, names
 * one per line on stdout, exit 0, `Unsupported query "NAME"` and 255 for anything else; each list
 * is ssh's in ssh's order less what pure-ssh does not implement (plus OpenSSH 10's post-quantum
 * key exchange), and every cipher, MAC, key exchange and host key algorithm it lists connects to
 * a real sshd pinned to it, with that name in the `-v` kex lines.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome, TEST_CODE_CACHE_HOME } from './harness/home.js';
import { describeInterop, openssh10Available, startSshd, type SshdHandle } from './harness/sshd.js';
import { requireBuiltCli, startCli, type CliClient, type CliResult } from './harness/proc.js';

// No home (no ~/.ssh to read); the bins' code cache where every test's is (harness/home.ts).
const env = { ...process.env, HOME: '/nonexistent', XDG_CACHE_HOME: TEST_CODE_CACHE_HOME };

function query(client: CliClient, args: string[]): Promise<CliResult> {
  return startCli(client, args, { env, stdout: 'pipe' }).done;
}
const lines = (s: string) => s.split('\n').slice(0, -1);

/** ssh 9.2's names pure-ssh does not implement, per query (README "-Q"). */
const NOT_IMPLEMENTED = [
  '3des-cbc', 'hmac-sha1-96', 'hmac-md5', 'hmac-md5-96', 'hmac-sha1-96-etm@openssh.com', 'hmac-md5-etm@openssh.com',
  'hmac-md5-96-etm@openssh.com', 'sk-ssh-ed25519@openssh.com', 'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com', 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'webauthn-sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-dss', 'ssh-dss-cert-v01@openssh.com',
];
/** Names pure-ssh lists that ssh 9.2 does not: OpenSSH 10's ML-KEM hybrid. */
const BEYOND_92 = ['mlkem768x25519-sha256'];

describeInterop('CLI -Q beside ssh 9.2', () => {
  beforeAll(() => requireBuiltCli());

  it('-Q help: the same queries', async () => {
    const [ssh, ours] = await Promise.all([query('ssh', ['-Q', 'help']), query('pure-ssh', ['-Q', 'help'])]);
    expect(ours).toMatchObject({ code: 0, stderr: '' });
    expect(ours.stdout).toBe(ssh.stdout);
  });

  const QUERIES = ['cipher', 'cipher-auth', 'compression', 'kex', 'kex-gss', 'key', 'key-cert', 'key-plain', 'key-sig', 'sig', 'mac',
    'protocol-version', 'Ciphers', 'MACs', 'KexAlgorithms', 'kexalgorithms', 'HostKeyAlgorithms', 'PubkeyAcceptedAlgorithms',
    'pubkeyacceptedkeytypes', 'HostbasedAcceptedAlgorithms', 'HostbasedKeyTypes', 'HostbasedAcceptedKeyTypes'];
  for (const q of QUERIES) {
    it(`-Q ${q}: ssh's list in ssh's order, less what pure-ssh does not implement`, async () => {
      const [ssh, ours] = await Promise.all([query('ssh', ['-Q', q]), query('pure-ssh', ['-Q', q])]);
      expect(ssh.code).toBe(0);
      expect(ours).toMatchObject({ code: 0, stderr: '' });
      const theirs = lines(ssh.stdout);
      const mine = lines(ours.stdout);
      if (q === 'kex-gss') {
        // No GSSAPI key exchange: nothing (ssh prints its gss-* prefixes).
        expect(ours.stdout).toBe('');
        return;
      }
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.filter((n) => !BEYOND_92.includes(n))).toEqual(theirs.filter((n) => !NOT_IMPLEMENTED.includes(n)));
      // OpenSSH 10's names come after 9.2's.
      expect(mine.slice(mine.length - mine.filter((n) => BEYOND_92.includes(n)).length).every((n) => BEYOND_92.includes(n))).toBe(true);
    });
  }

  for (const args of [['-Q', 'bogus'], ['-Q', 'KEX'], ['-Q', ''], ['-q', '-Q', 'nope'], ['-v', '-Q', 'GSSAPIKexAlgorithms'], ['-Q', 'nope', '-p', 'x'],
    ['-p', 'x', '-Q', 'cipher'], ['-Q', 'cipher', '-p', 'x', 'host'], ['-Q']]) {
    it(`${args.join(' ')}: ssh's stdout, stderr and exit status`, async () => {
      const [ssh, ours] = await Promise.all([query('ssh', args), query('pure-ssh', args)]);
      expect(ours.code).toBe(ssh.code);
      expect(ours.stderr.replace(/pure-ssh/g, 'ssh').split('\n')[0]).toBe(ssh.stderr.split('\n')[0]);
      expect(lines(ours.stdout)).toEqual(lines(ssh.stdout).filter((n) => !NOT_IMPLEMENTED.includes(n)));
    });
  }
});

/** Runs `ssh-keygen` with `args`. */
function keygen(args: string[]): void {
  execFileSync('ssh-keygen', ['-q', ...args], { stdio: 'ignore' });
}

describeInteropWithHome('CLI -Q: every name listed negotiates with sshd 9.2 (OpenSSH 10 for what 9.2 lacks)', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let sshd10: SshdHandle | undefined;
  let knownHosts: string;
  const listed: Record<string, string[]> = {};
  const ssh92: Record<string, string[]> = {};

  beforeAll(async () => {
    requireBuiltCli();
    for (const q of ['cipher', 'mac', 'kex', 'key-sig']) {
      listed[q] = lines((await query('pure-ssh', ['-Q', q])).stdout);
      ssh92[q] = lines((await query('ssh', ['-Q', q])).stdout);
    }
    // Host keys of every type pure-ssh lists, each with a host certificate from one CA.
    const dir = home;
    const keys = [['ed25519'], ['ecdsa', '-b', '256'], ['ecdsa', '-b', '384'], ['ecdsa', '-b', '521'], ['rsa', '-b', '2048']].map(([t, ...b]) => {
      const path = join(dir, `host_${t}${b[1] ?? ''}`);
      keygen(['-t', t!, ...b, '-N', '', '-f', path]);
      return path;
    });
    keygen(['-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
    for (const k of keys) keygen(['-s', join(dir, 'ca'), '-h', '-I', 'host', '-n', '127.0.0.1', `${k}.pub`]);
    const { readFile } = await import('node:fs/promises');
    const pub = async (p: string) => (await readFile(p, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    knownHosts = join(dir, 'known_hosts_q');
    await writeFile(knownHosts, [...(await Promise.all(keys.map((k) => pub(`${k}.pub`)))).map((l) => `* ${l}`), `@cert-authority * ${await pub(join(dir, 'ca.pub'))}`].join('\n') + '\n');
    sshd = await startSshd({
      config: {
        HostKey: keys, HostCertificate: keys.map((k) => `${k}-cert.pub`),
        Ciphers: ssh92.cipher!.join(','), MACs: ssh92.mac!.join(','), KexAlgorithms: ssh92.kex!.join(','), HostKeyAlgorithms: ssh92['key-sig']!.join(','),
      },
    });
    if (openssh10Available()) sshd10 = await startSshd({ openssh: '10' });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([sshd?.stop(), sshd10?.stop()]);
  });

  /** Logs in with `pin` and -v; the kex lines pure-ssh printed. */
  async function kexLines(pin: string[], server: SshdHandle, known = knownHosts): Promise<string[]> {
    const args = ['-F', '/dev/null', '-p', String(server.port), '-i', server.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${known}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-v', ...pin, '-N', server.target];
    const { stderr } = await startCli('pure-ssh', args, { env: cliEnv(home), until: /Authenticated to / }).done;
    expect(stderr, `${pin.join(' ')}\n${stderr}`).toMatch(/Authenticated to /);
    return stderr.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('debug1: kex: '));
  }

  /** `check` for each name, four at a time. */
  async function each(names: string[], check: (name: string) => Promise<void>): Promise<void> {
    for (let i = 0; i < names.length; i += 4) await Promise.all(names.slice(i, i + 4).map(check));
  }

  it('each -Q cipher entry, with -c NAME', async () => {
    expect(listed.cipher!.length).toBeGreaterThan(0);
    await each(listed.cipher!, async (c) => {
      const got = await kexLines(['-c', c], sshd);
      expect(got.some((l) => l.startsWith(`debug1: kex: server->client cipher: ${c} `)), `${c}: ${got.join('\n')}`).toBe(true);
    });
  }, 120_000);

  it('each -Q mac entry, with -c aes128-ctr -m NAME', async () => {
    await each(listed.mac!, async (m) => {
      const got = await kexLines(['-c', 'aes128-ctr', '-m', m], sshd);
      expect(got.some((l) => l.startsWith(`debug1: kex: server->client cipher: aes128-ctr MAC: ${m} `)), `${m}: ${got.join('\n')}`).toBe(true);
    });
  }, 120_000);

  it('each -Q kex entry, with -o KexAlgorithms=NAME', async () => {
    await each(listed.kex!, async (k) => {
      const on92 = ssh92.kex!.includes(k);
      if (!on92 && sshd10 === undefined) return; // OpenSSH 10's method, no OpenSSH 10 build here
      const server = on92 ? sshd : sshd10!;
      const got = await kexLines(['-o', `KexAlgorithms=${k}`], server, on92 ? knownHosts : server.knownHostsPath);
      expect(got, k).toContain(`debug1: kex: algorithm: ${k}`);
    });
  }, 120_000);

  it('each -Q key-sig entry, with -o HostKeyAlgorithms=NAME (plain keys and host certificates)', async () => {
    await each(listed['key-sig']!, async (a) => {
      const got = await kexLines(['-o', `HostKeyAlgorithms=${a}`], sshd);
      expect(got, a).toContain(`debug1: kex: host key algorithm: ${a}`);
    });
  }, 120_000);
});
