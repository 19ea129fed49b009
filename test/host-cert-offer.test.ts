/**
 * The host key algorithms offered by default and their order by known_hosts, beside OpenSSH's
 * client of the same release: ssh 9.2 and 10 offer the `*-cert-v01@openssh.com` types first
 * (myproposal.h KEX_DEFAULT_PK_ALG), reorder them by what known_hosts holds for the host
 * (sshconnect2.c order_hostkeyalgs()), and check a certificate no CA line vouches for as its
 * plain key (sshconnect.c check_host_key(), "No matching CA found. Retry with plain key").
 * Against an sshd with an Ed25519 host certificate and an ECDSA host key, the CLI's -vvv lines
 * about the host key, its stderr, exit status and the known_hosts it leaves must be ssh's, with
 * one difference: pure-ssh cannot verify FIDO `sk-*` host keys and does not offer them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { connect as webConnect, HostKeyError } from '../src/web/index.js';
import { DEFAULT_HOST_KEY_ALGORITHMS } from '../src/keys/hostkey.js';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { describeInteropOpenssh10, openssh10Available, startSshd, type OpenSshRelease, type SshdHandle, publicKeyOf } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/dial-node.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI, runForStderr } from './harness/proc.js';

/** ssh -vvv lines about the host key offer and its check (the rest differs for other reasons). */
const HOST_KEY_LINE =
  /^(debug3: order_hostkeyalgs: |debug2: host key algorithms: |debug1: kex: host key algorithm: |debug1: Server host (key|certificate)|debug2: Server host certificate hostname: |debug1: (checking without port identifier|No matching CA found|Host '.*' is known and matches|Found (CA )?key in|found matching key w\/out port|using hostkeyalias: )|Warning: Permanently added|Certificate invalid|Host key verification failed|.*REVOKED|The .* host key for .* is marked as revoked)/;

/** The FIDO names ssh offers and pure-ssh does not (it cannot verify sk-* host keys). */
const withoutSk = (line: string) => line.replace(/,sk-[a-z0-9-]+(@openssh\.com)?/g, '');

function suite(release: OpenSshRelease, describeIt: typeof describeInteropWithHome): void {
  describeIt(`host key algorithms offered and checked as ssh ${release === '10' ? '10' : '9.2'} does`, () => {
    const home = suiteHome();
    let sshd: SshdHandle;
    let dir: string;
    const p = (n: string) => join(dir, n);
    const pub = (n: string) => publicKeyOf(p(n));
    let keys: Record<'ca' | 'otherCa' | 'host' | 'ecdsa', string>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pure-ssh-hostcert-offer-'));
      const keygen = (...args: string[]) => execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
      for (const n of ['host_ca', 'other_ca', 'host', 'stranger']) keygen('-t', 'ed25519', '-N', '', '-C', n, '-f', p(n));
      keygen('-t', 'ecdsa', '-N', '', '-C', 'host_ecdsa', '-f', p('host_ecdsa'));
      keygen('-s', p('host_ca'), '-I', 'test host', '-h', '-n', '127.0.0.1', '-V', '-5m:+1h', p('host.pub'));
      sshd = await startSshd({
        openssh: release,
        config: { HostKey: [p('host'), p('host_ecdsa')], HostCertificate: p('host-cert.pub') },
      });
      keys = { ca: await pub('host_ca'), otherCa: await pub('other_ca'), host: await pub('host'), ecdsa: await pub('host_ecdsa') };
    });
    afterAll(async () => {
      await sshd?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const run = (cmd: string[], args: string[]) => runForStderr(cmd, args, cliEnv(home));

    /**
     * Both clients with their own copy of a known_hosts file of `lines`, at -vvv with a key the
     * server refuses (so both stop after the host key check, exit 255): the host key lines of
     * each, the known_hosts each leaves, and ssh's lines.
     */
    async function sideBySide(lines: string[], extra: string[] = []): Promise<string[]> {
      const tag = Math.random().toString(36).slice(2);
      const text = lines.map((l) => `${l}\n`).join('');
      const out: { lines: string[]; code: number | null; knownHosts: string }[] = [];
      for (const [who, cmd] of [['ssh', [sshd.openssh.ssh]], ['pure', [process.execPath, CLI]]] as const) {
        const kh = p(`kh-${tag}-${who}`);
        await writeFile(kh, text);
        const { code, stderr } = await run([...cmd], ['-F', '/dev/null', '-vvv', '-p', String(sshd.port), '-i', p('stranger'),
          '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
          '-o', 'BatchMode=yes', ...extra, '-N', 'root@127.0.0.1']);
        const seen = new Set<string>();
        const picked = stderr.split(/\r?\n/)
          .filter((l) => HOST_KEY_LINE.test(l))
          .map((l) => withoutSk(l).replaceAll(kh, 'KNOWN_HOSTS'))
          // ssh 10 logs its proposal again after the first key exchange.
          .filter((l) => !l.startsWith('debug2: host key algorithms: ') || (!seen.has(l) && seen.add(l)));
        out.push({ lines: picked, code, knownHosts: await readFile(kh, 'utf8') });
      }
      const [theirs, ours] = out as [(typeof out)[0], (typeof out)[0]];
      expect(ours.lines).toEqual(theirs.lines);
      expect(ours.code).toBe(theirs.code);
      // The lines each appended (hashing off): host name and key type and key.
      expect(ours.knownHosts).toBe(theirs.knownHosts);
      return theirs.lines;
    }

    it("the default list is ssh's (ssh -G), certificates first, without the sk-* types", async () => {
      const theirs = execFileSync(sshd.openssh.ssh, ['-G', '-F', '/dev/null', 'x'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const line = theirs.split('\n').find((l) => l.startsWith('hostkeyalgorithms '))!;
      expect(DEFAULT_HOST_KEY_ALGORITHMS.join(',')).toBe(withoutSk(line.slice('hostkeyalgorithms '.length)));
      const ours = execFileSync(process.execPath, [CLI, '-G', '-F', '/dev/null', 'x'], { encoding: 'utf8', env: cliEnv(home) });
      expect(ours.split('\n')).toContain(withoutSk(line));
    });

    it('the plain key known: the list kept, the certificate negotiated, then checked as its plain key (the line twice on a port)', async () => {
      const theirs = await sideBySide([`[127.0.0.1]:${sshd.port} ${keys.host}`]);
      expect(theirs).toContain('debug1: kex: host key algorithm: ssh-ed25519-cert-v01@openssh.com');
      expect(theirs.filter((l) => l === 'debug1: No matching CA found. Retry with plain key')).toHaveLength(2);
      expect(theirs).toContain(`debug1: Host '[127.0.0.1]:${sshd.port}' is known and matches the ED25519 host key.`);
    });

    it('a @cert-authority line, with and without the plain key: certificates first, accepted through the CA', async () => {
      const theirs = await sideBySide([`@cert-authority * ${keys.ca}`]);
      expect(theirs[0]).toMatch(/^debug3: order_hostkeyalgs: prefer hostkeyalgs: ssh-ed25519-cert-v01@openssh.com,/);
      expect(theirs).toContain('debug1: Found CA key in KNOWN_HOSTS:1');
      await sideBySide([`@cert-authority * ${keys.ca}`, `[127.0.0.1]:${sshd.port} ${keys.host}`]);
    });

    it('an ECDSA key known: its algorithms first, the plain ECDSA key negotiated', async () => {
      const theirs = await sideBySide([`[127.0.0.1]:${sshd.port} ${keys.ecdsa}`]);
      expect(theirs[0]).toBe('debug3: order_hostkeyalgs: prefer hostkeyalgs: ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp256');
      expect(theirs).toContain('debug1: kex: host key algorithm: ecdsa-sha2-nistp256');
      // HostKeyAlgorithms=-LIST is still ordered; an exact list or ^LIST is not.
      await sideBySide([`[127.0.0.1]:${sshd.port} ${keys.ecdsa}`], ['-o', 'HostKeyAlgorithms=-ecdsa-sha2-nistp521*']);
      await sideBySide([`[127.0.0.1]:${sshd.port} ${keys.ecdsa}`], ['-o', 'HostKeyAlgorithms=^ecdsa-sha2-nistp256']);
    });

    it('nothing known: accept-new records the plain key; ask under BatchMode refuses; an untrusted CA is no better', async () => {
      const theirs = await sideBySide([], ['-o', 'StrictHostKeyChecking=accept-new']);
      expect(theirs[0]).toBe('debug3: order_hostkeyalgs: no algorithms matched; accept original');
      expect(theirs).toContain(`Warning: Permanently added '[127.0.0.1]:${sshd.port}' (ED25519) to the list of known hosts.`);
      await sideBySide([], ['-o', 'StrictHostKeyChecking=ask']);
      await sideBySide([`@cert-authority * ${keys.otherCa}`], ['-o', 'StrictHostKeyChecking=accept-new']);
    });

    it('port-less lines: the plain key or the CA found without the port', async () => {
      expect(await sideBySide([`127.0.0.1 ${keys.host}`])).toContain('debug1: found matching key w/out port');
      expect(await sideBySide([`@cert-authority 127.0.0.1 ${keys.ca}`])).toContain("debug1: Host '127.0.0.1' is known and matches the ED25519-CERT host certificate.");
    });

    it("HostKeyAlias: the alias's lines order the list; a CA for the alias and a certificate without it as principal", async () => {
      const alias = ['-o', 'HostKeyAlias=myalias'];
      expect(await sideBySide([`myalias ${keys.host}`], alias)).toContain("debug1: Host 'myalias' is known and matches the ED25519 host key.");
      expect(await sideBySide([`@cert-authority myalias ${keys.ca}`], alias)).toContain('Certificate invalid: name is not a listed principal');
      await sideBySide([], [...alias, '-o', 'StrictHostKeyChecking=accept-new']);
    });

    it('a @revoked plain key: the certificate of it is refused as ED25519-CERT', async () => {
      const theirs = await sideBySide([`@revoked * ${keys.host}`, `[127.0.0.1]:${sshd.port} ${keys.host}`]);
      expect(theirs).toContain(`The ED25519-CERT host key for [127.0.0.1]:${sshd.port} is marked as revoked.`);
    });

    it('the library: connect({ knownHosts }) negotiates the certificate and falls back to the known plain key', async () => {
      const kh = p('kh-library');
      await writeFile(kh, `[127.0.0.1]:${sshd.port} ${keys.host}\n`);
      const logs: string[] = [];
      const ssh = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: kh, debug: (m) => logs.push(m) });
      expect(ssh.info.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
      await ssh.close();
      expect(logs).toContain('order_hostkeyalgs: have matching best-preference key type ssh-ed25519-cert-v01@openssh.com, using HostkeyAlgorithms verbatim');
      expect(logs).toContain('No matching CA found. Retry with plain key');
      // An exact list is used as given.
      const exact = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: kh, algorithms: { hostKey: 'ssh-ed25519' } });
      expect(exact.info.negotiated?.hostKey).toBe('ssh-ed25519');
      await exact.close();
      // A verifyHostKey callback alone is shown the plain key it was written for; with knownHosts
      // as well (the CLI's way), the certificate.
      const seen: string[] = [];
      const verifyHostKey = (i: { keyType: string }) => void seen.push(i.keyType);
      await (await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, verifyHostKey })).close();
      await (await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, verifyHostKey, knownHosts: kh })).close();
      expect(seen).toEqual(['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com']);
    });

    it('pure-ssh/web: the same default offer; known_hosts text with the plain key, a CA, an untrusted CA, a @revoked key', async () => {
      const web = (knownHosts: string) =>
        webConnect({ transport: dialNodeWeb(sshd.port), host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts });
      const plain = `[127.0.0.1]:${sshd.port} ${keys.host}\n`;
      for (const text of [plain, `@cert-authority * ${keys.ca}\n`, `@cert-authority * ${keys.otherCa}\n${plain}`]) {
        const ssh = await web(text);
        expect(ssh.info.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
        await ssh.close();
      }
      const unknown = await web(`@cert-authority * ${keys.otherCa}\n`).catch((e: unknown) => e);
      expect((unknown as HostKeyError).code).toBe('ERR_HOST_KEY_UNKNOWN');
      const revoked = await web(`@revoked * ${keys.host}\n${plain}`).catch((e: unknown) => e);
      expect((revoked as HostKeyError).code).toBe('ERR_HOST_KEY_REVOKED');
      const seen: string[] = [];
      const alone = await webConnect({ transport: dialNodeWeb(sshd.port), host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, verifyHostKey: (i) => void seen.push(i.keyType) });
      await alone.close();
      expect(seen).toEqual(['ssh-ed25519']);
    });
  });
}

suite('system', describeInteropWithHome);
suite('10', openssh10Available() ? describeInteropWithHome : describeInteropOpenssh10);
