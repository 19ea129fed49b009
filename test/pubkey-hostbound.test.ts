/**
 * publickey-hostbound-v00@openssh.com (OpenSSH PROTOCOL §"publickey-hostbound") against the real
 * peers: sshd 9.2 and 10 offer it in EXT_INFO (`publickey-hostbound@openssh.com=0`) and ssh(1)
 * signs its publickey requests with it unless PubkeyAuthentication is `unbound`
 * (sshconnect2.c sign_and_send_pubkey). sshd's DEBUG1 log names each request's method
 * ("userauth-request for user U service S method M"): pure-ssh's must be ssh's, through the
 * library, the CLI and ProxyJump hops, with key files and ssh-agent keys bound to their
 * destination (`ssh-add -h`). Needs `npm run build` first for the CLI cases.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type ConnectOptions } from '../src/index.js';
import { clientOptions } from './harness/client.js';
import { cliEnv, itWithHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI, runUntil } from './harness/proc.js';
import { describeInterop, describeInteropOpenssh10, sshdSuite, startSshd, type SshdHandle } from './harness/sshd.js';
import { startSshAgent } from './support/ssh-agent.js';

const execFileP = promisify(execFile);
// The installed bin (package.json bin.pure-ssh-check): check-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url));
const HOSTBOUND = 'publickey-hostbound-v00@openssh.com';
const children = new Set<ChildProcess>();

/** The methods of the user authentication requests sshd logged in `log` (auth2.c input_userauth_request). */
function methods(log: string): string[] {
  return [...log.matchAll(/userauth-request for user \S+ service \S+ method (\S+)/g)].map((m) => m[1]!);
}

/** The methods sshd logged while `body` ran. */
async function methodsDuring(sshd: SshdHandle, body: () => Promise<unknown>): Promise<string[]> {
  const before = sshd.logs().length;
  await body();
  // sshd logs the request before it answers; a short wait lets the pipe deliver the last lines.
  await new Promise((r) => setTimeout(r, 200));
  return methods(sshd.logs().slice(before));
}

/** Logs in through the library with `options`, collecting its debug lines; resolves with them. */
async function libraryLogin(options: ConnectOptions): Promise<string[]> {
  const lines: string[] = [];
  const ssh = await connect({ ...options, debug: (m, level) => lines.push(`debug${level ?? 1}: ${m}`) });
  await ssh.close();
  return lines;
}

/**
 * Run `bin` (pure-ssh's CLI or ssh 9.2) until it authenticates (then stop it) or exits; `proxied`:
 * until the destination reached through a ProxyJump hop says so (not the hop).
 */
function run(bin: string[], args: string[], env: NodeJS.ProcessEnv, proxied = false): Promise<{ code: number | null; stderr: string }> {
  return runUntil(bin, args, { env, until: proxied ? /Authenticated to \S+ \(via proxy\)/ : /Authenticated to /, children, timeoutMs: 30_000 });
}

/** The -vvv lines about the method: EXT_INFO's offer, each signature's method, the outcome. */
function hostboundLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .filter((l) => /kex_input_ext_info: publickey-hostbound|sign_and_send_pubkey: using|Authenticated to|Permission denied|bound agent to hostkey/.test(l))
    .map((l) => l.replace(/ \(via proxy\)| using "publickey"\.?/, '').replace(/ \(\[127\.0\.0\.1\]:\d+\)/, ''));
}

async function newKey(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', path]);
  return path;
}

/** `name KEY` for each known_hosts file line of `sshd` (ssh-add -H reads hosts under the names given to -h). */
async function hostsFileFor(path: string, names: [string, SshdHandle][]): Promise<string> {
  const lines: string[] = [];
  for (const [name, sshd] of names) {
    const key = (await readFile(sshd.knownHostsPath, 'utf8')).trim().split('\n')[0]!.split(' ').slice(1).join(' ');
    lines.push(`${name} ${key}`);
  }
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describeInterop('publickey-hostbound-v00@openssh.com against sshd 9.2', () => {
  let sshd: SshdHandle;
  let dir: string;
  let home: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    sshd = await startSshd({});
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-hostbound-'));
    home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('library: sshd offers it, a key file signs with it (sshd logs the method); pubkeyHostbound false signs plain publickey', async () => {
    let lines: string[] = [];
    const bound = await methodsDuring(sshd, async () => (lines = await libraryLogin(clientOptions(sshd))));
    expect(bound).toContain(HOSTBOUND);
    expect(bound.filter((m) => m !== 'none' && m !== 'publickey')).toEqual([HOSTBOUND]);
    // ssh(1)'s -v lines (kex.c kex_input_ext_info; sshconnect2.c sign_and_send_pubkey at debug3).
    expect(lines).toContain('debug1: kex_input_ext_info: publickey-hostbound@openssh.com=<0>');
    expect(lines.some((l) => l.startsWith(`debug3: sign_and_send_pubkey: using ${HOSTBOUND} with ED25519 SHA256:`))).toBe(true);

    const plain = await methodsDuring(sshd, async () => (lines = await libraryLogin(clientOptions(sshd, { pubkeyHostbound: false }))));
    expect(plain).not.toContain(HOSTBOUND);
    expect(plain).toContain('publickey');
    expect(lines.some((l) => l.startsWith('debug3: sign_and_send_pubkey: using publickey with ED25519 SHA256:'))).toBe(true);
  }, 30_000);

  it('library: an ssh-agent key signs the host-bound request, unconstrained and bound to this host (ssh-add -h)', async () => {
    const sock = join(dir, 'lib-agent.sock');
    children.add(await startSshAgent(sock));
    const env = { ...process.env, SSH_AUTH_SOCK: sock };
    const plainKey = await newKey(dir, 'lib_plain');
    const boundKey = await newKey(dir, 'lib_bound');
    await appendFile(join(sshd.dir, 'authorized_keys'), (await readFile(`${plainKey}.pub`, 'utf8')) + (await readFile(`${boundKey}.pub`, 'utf8')));
    const hosts = await hostsFileFor(join(dir, 'lib_hosts'), [['127.0.0.1', sshd]]);
    for (const [key, extra] of [
      [plainKey, []],
      [boundKey, ['-H', hosts, '-h', '127.0.0.1']],
    ] as const) {
      await execFileP('/usr/bin/ssh-add', ['-D'], { env });
      await execFileP('/usr/bin/ssh-add', [...extra, key], { env });
      const logged = await methodsDuring(sshd, () => libraryLogin({ ...clientOptions(sshd, { privateKey: undefined }), agent: sock }));
      // The agent's key is offered first (publickey, no signature), then signed host-bound.
      expect(logged.filter((m) => m !== 'none'), key).toEqual(['publickey', HOSTBOUND]);
    }
  }, 60_000);

  itWithHome('CLI: the method of each request, -vvv lines and outcome as ssh 9.2, for PubkeyAuthentication unset, yes, host-bound, unbound', async () => {
    const env = cliEnv(home, { SSH_AUTH_SOCK: '' });
    for (const value of [undefined, 'yes', 'host-bound', 'unbound']) {
      const args = ['-F', 'none', '-N', '-vvv', '-p', String(sshd.port), '-l', sshd.user, '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes'];
      if (value) args.push('-o', `PubkeyAuthentication=${value}`);
      args.push('127.0.0.1');
      let ours = { code: null as number | null, stderr: '' };
      let theirs = { code: null as number | null, stderr: '' };
      const ourMethods = await methodsDuring(sshd, async () => (ours = await run([process.execPath, CLI], args, env)));
      const theirMethods = await methodsDuring(sshd, async () => (theirs = await run(['/usr/bin/ssh'], args, env)));
      expect(ourMethods, String(value)).toEqual(theirMethods);
      expect(ourMethods.includes(HOSTBOUND), String(value)).toBe(value !== 'unbound');
      expect(hostboundLines(ours.stderr), String(value)).toEqual(hostboundLines(theirs.stderr));
      expect(ours.stderr).toContain('Authenticated to 127.0.0.1');
    }
  }, 120_000);

  itWithHome('pure-ssh-check: its login signs host-bound (reported as publickey, ssh\'s name); unbound does not', async () => {
    const env = cliEnv(home, { SSH_AUTH_SOCK: '' });
    for (const value of ['yes', 'unbound']) {
      const args = ['--json', '-F', 'none', '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-o', `PubkeyAuthentication=${value}`, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`];
      let out = '';
      const logged = await methodsDuring(sshd, async () => {
        const r = await execFileP(process.execPath, [CHECK_CLI, ...args], { env, timeout: 110_000 }).catch((e: { stdout: string }) => e);
        out = r.stdout;
      });
      expect((JSON.parse(out) as { login?: unknown }).login, value).toEqual({ user: sshd.user, method: 'publickey' });
      expect(logged.includes(HOSTBOUND), value).toBe(value === 'yes');
    }
  }, 240_000);
});

describeInterop('ProxyJump hops with destination-constrained ssh-agent keys (each hop binds), as ssh 9.2', () => {
  let bastion: SshdHandle;
  let target: SshdHandle;
  let dir: string;
  let home: string;
  let config: string;
  /** Agents holding one key each, added with the constraints named. */
  const agents: Record<'both' | 'chained' | 'targetOnly', string> = { both: '', chained: '', targetOnly: '' };

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    [bastion, target] = await Promise.all([startSshd({}), startSshd({})]);
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-hostbound-jump-'));
    home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    const hosts = await hostsFileFor(join(dir, 'hosts'), [
      ['bastion', bastion],
      ['target', target],
    ]);
    const constraints: Record<keyof typeof agents, string[]> = {
      // ssh-add(1): one -h per hop ssh authenticates to itself (ProxyJump: each hop is a connection of its own).
      both: ['-h', 'bastion', '-h', 'target'],
      // Only through an agent forwarded to the bastion: ProxyJump's hops never use it so.
      chained: ['-h', 'bastion', '-h', 'bastion>target'],
      targetOnly: ['-h', 'target'],
    };
    for (const name of Object.keys(agents) as (keyof typeof agents)[]) {
      const sock = join(dir, `${name}.sock`);
      children.add(await startSshAgent(sock));
      agents[name] = sock;
      const key = await newKey(dir, name);
      const pub = await readFile(`${key}.pub`, 'utf8');
      await appendFile(join(bastion.dir, 'authorized_keys'), pub);
      await appendFile(join(target.dir, 'authorized_keys'), pub);
      await execFileP('/usr/bin/ssh-add', ['-H', hosts, ...constraints[name], key], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    }
    config = join(dir, 'config');
    const block = (name: string, sshd: SshdHandle) =>
      [`Host ${name}`, `  HostName ${sshd.host}`, `  Port ${sshd.port}`, `  User ${sshd.user}`, `  UserKnownHostsFile ${sshd.knownHostsPath}`, '  GlobalKnownHostsFile /dev/null', '  BatchMode yes', ''].join('\n');
    await writeFile(config, `${block('bastion', bastion)}${block('target', target)}  ProxyJump bastion\n`);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([bastion?.stop(), target?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  itWithHome('CLI -J: each hop binds the agent and signs host-bound; the constraints allow or refuse as for ssh', async () => {
    for (const [name, ok] of [
      ['both', true],
      ['chained', false],
      ['targetOnly', false],
    ] as const) {
      const env = cliEnv(home, { SSH_AUTH_SOCK: agents[name] });
      const args = ['-F', config, '-N', '-vvv', 'target'];
      let ours = { code: null as number | null, stderr: '' };
      let theirs = { code: null as number | null, stderr: '' };
      const ourBastion = await methodsDuring(bastion, async () => (ours = await run([process.execPath, CLI], args, env, true)));
      const theirBastion = await methodsDuring(bastion, async () => (theirs = await run(['/usr/bin/ssh'], args, env, true)));
      expect(ourBastion, name).toEqual(theirBastion);
      const lines = hostboundLines(ours.stderr);
      // Each hop: the agent bound to its host key, EXT_INFO's offer, host-bound signatures, the outcome.
      expect(lines, name).toEqual(hostboundLines(theirs.stderr));
      if (ok) {
        // Both hops: bound, then host-bound signatures, at the bastion and the target.
        expect(ourBastion, name).toContain(HOSTBOUND);
        expect(lines.filter((l) => l.includes('bound agent to hostkey')).length, name).toBe(2);
        expect(ours.stderr, name).toMatch(/Authenticated to 127.0.0.1 \(via proxy\)/);
        expect(theirs.stderr, name).toMatch(/Authenticated to 127.0.0.1 \(via proxy\)/);
      } else {
        expect(ours.code, name).toBe(255);
        expect(theirs.code, name).toBe(255);
        expect(ours.stderr, name).toContain('Permission denied (publickey).');
        expect(theirs.stderr, name).toContain('Permission denied (publickey).');
      }
    }
  }, 180_000);

  it('library jump: the same key through the bastion signs host-bound at both hops; the chained constraint (bastion>target) is refused at the target', async () => {
    const base = (sshd: SshdHandle): ConnectOptions => ({ host: sshd.host, port: sshd.port, username: sshd.user, knownHosts: sshd.knownHostsPath });
    let targetMethods: string[] = [];
    const bastionMethods = await methodsDuring(bastion, async () => {
      targetMethods = await methodsDuring(target, () => libraryLogin({ ...base(target), agent: agents.both, jump: [{ ...base(bastion), agent: agents.both }] }));
    });
    expect(bastionMethods.filter((m) => m !== 'none')).toEqual(['publickey', HOSTBOUND]);
    expect(targetMethods.filter((m) => m !== 'none')).toEqual(['publickey', HOSTBOUND]);
    await expect(libraryLogin({ ...base(target), agent: agents.chained, jump: [{ ...base(bastion), agent: agents.chained }] })).rejects.toThrow();
  }, 60_000);
});

describeInteropOpenssh10('publickey-hostbound-v00@openssh.com against sshd 10', () => {
  const sshd = sshdSuite({ openssh: '10' });

  it('library: signs with it; unbound does not', async () => {
    const bound = await methodsDuring(sshd, () => libraryLogin(clientOptions(sshd)));
    expect(bound).toContain(HOSTBOUND);
    const plain = await methodsDuring(sshd, () => libraryLogin(clientOptions(sshd, { pubkeyHostbound: false })));
    expect(plain).not.toContain(HOSTBOUND);
  }, 30_000);
});
