/**
 * ProxyJump across real network boundaries: three test hosts in network namespaces made here
 * (ip netns, veth pairs, addresses only inside them): the client's host reaches only the
 * bastion's, and only the bastion's host reaches the target's. `-J bastion` gets through to a
 * service on the target's loopback; a direct connection to the target fails with "Network is
 * unreachable", for pure-ssh as for OpenSSH's ssh. No packet leaves the namespaces: the client's
 * host has no route but the one to the bastion. Needs root, iproute2, sshd, ssh and
 * `npm run build` (CI=true: a missing one fails).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './support/cli-run.js';
import { cliEnv, describeWithHome } from './harness/home.js';

const SSHD = '/usr/sbin/sshd';
const SSH = '/usr/bin/ssh';
const tag = randomBytes(3).toString('hex');
const NS = { client: `pssh-c-${tag}`, bastion: `pssh-b-${tag}`, target: `pssh-t-${tag}` };
const ADDR = { client: '10.231.1.1', bastion: '10.231.1.2', bastionInner: '10.231.2.1', target: '10.231.2.2' };

function canMakeNamespaces(): boolean {
  if (process.getuid?.() !== 0 || !existsSync(SSHD) || !existsSync(SSH)) return false;
  const probe = `pssh-p-${tag}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe]);
  return true;
}
const ready = canMakeNamespaces();
if (!ready && process.env.CI === 'true') throw new Error('jump-netns.test.ts needs root, ip netns, sshd and ssh');

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const inNs = (ns: string, ...args: string[]) => ip('netns', 'exec', ns, 'ip', ...args);

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-netns-'));
// The passwd home of the client runs (harness/home.ts): never the real user's ~/.ssh.
const home = join(dir, 'home');
const children: ChildProcess[] = [];

/** sshd in `ns`, listening on `addr` port 22; resolves once it says so. */
function startSshd(ns: string, name: string, addr: string): Promise<void> {
  const d = join(dir, name);
  mkdirSync(d);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'host_ed25519')]);
  writeFileSync(
    join(d, 'sshd_config'),
    [
      'Port 22',
      `ListenAddress ${addr}`,
      `HostKey ${join(d, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'client_ed25519.pub')}`,
      `PidFile ${join(d, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  const child = spawn('ip', ['netns', 'exec', ns, SSHD, '-D', '-e', '-f', join(d, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd in ${ns} did not start:\n${log}`)), 15_000);
    child.stderr!.setEncoding('utf8').on('data', (t: string) => {
      log += t;
      if (/Server listening on /.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`sshd in ${ns} exited ${code}:\n${log}`)));
  });
}

function run(ns: string, cmd: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { input, encoding: 'utf8', env: cliEnv(home), timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

(ready ? describeWithHome : describe.skip)('-J through network namespaces: the target is reachable only from the bastion', () => {
  beforeAll(async () => {
    for (const ns of Object.values(NS)) ip('netns', 'add', ns);
    // client <-> bastion, bastion <-> target; no other links, no default routes.
    ip('link', 'add', `pc${tag}`, 'type', 'veth', 'peer', 'name', `pb${tag}`);
    ip('link', 'set', `pc${tag}`, 'netns', NS.client);
    ip('link', 'set', `pb${tag}`, 'netns', NS.bastion);
    ip('link', 'add', `qb${tag}`, 'type', 'veth', 'peer', 'name', `qt${tag}`);
    ip('link', 'set', `qb${tag}`, 'netns', NS.bastion);
    ip('link', 'set', `qt${tag}`, 'netns', NS.target);
    for (const [ns, dev, addr] of [
      [NS.client, `pc${tag}`, ADDR.client],
      [NS.bastion, `pb${tag}`, ADDR.bastion],
      [NS.bastion, `qb${tag}`, ADDR.bastionInner],
      [NS.target, `qt${tag}`, ADDR.target],
    ] as const) {
      inNs(ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      inNs(ns, 'link', 'set', dev, 'up');
    }
    for (const ns of Object.values(NS)) inNs(ns, 'link', 'set', 'lo', 'up');
    mkdirSync('/run/sshd', { recursive: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_ed25519')]);
    await Promise.all([startSshd(NS.bastion, 'bastion', ADDR.bastion), startSshd(NS.target, 'target', ADDR.target)]);
    // A service on the target's own loopback: an echo server.
    const echo = spawn('ip', ['netns', 'exec', NS.target, process.execPath, '-e',
      "require('net').createServer((s) => s.pipe(s)).listen(7007, '127.0.0.1', () => console.log('ready'))"], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(echo);
    await new Promise<void>((resolve) => echo.stdout!.once('data', () => resolve()));
    const pub = (name: string) => readFileSync(join(dir, name, 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(dir, 'known_hosts'), `${ADDR.bastion} ${pub('bastion')}\n${ADDR.target} ${pub('target')}\n`);
    const block = (name: string, addr: string) =>
      `Host ${name}\n  HostName ${addr}\n  User root\n  IdentityFile ${join(dir, 'client_ed25519')}\n` +
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n`;
    writeFileSync(join(dir, 'ssh_config'), block('bastion', ADDR.bastion) + block('target', ADDR.target));
  }, 60_000);

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const cfg = () => join(dir, 'ssh_config');

  it('-J bastion -W reaches the service on the target; so does OpenSSH with the same arguments', () => {
    const ours = run(NS.client, [process.execPath, CLI, '-F', cfg(), '-J', 'bastion', '-W', '127.0.0.1:7007', 'target'], 'through the bastion\n');
    expect(ours.stderr).toBe('');
    expect(ours.stdout).toBe('through the bastion\n');
    expect(ours.status).toBe(0);
    // ssh runs its ProxyJump as `ssh -W` and finds itself as /usr/bin/ssh.
    const theirs = run(NS.client, [SSH, '-F', cfg(), '-J', 'bastion', '-W', '127.0.0.1:7007', 'target'], 'through the bastion\n');
    expect(theirs.stdout).toBe('through the bastion\n');
  });

  it('a direct connection to the target fails: no route from the client host, as ssh says it', () => {
    const ours = run(NS.client, [process.execPath, CLI, '-F', cfg(), '-W', '127.0.0.1:7007', 'target']);
    const theirs = run(NS.client, [SSH, '-F', cfg(), '-W', '127.0.0.1:7007', 'target']);
    expect(theirs.status).toBe(255);
    expect(theirs.stderr).toBe(`ssh: connect to host ${ADDR.target} port 22: Network is unreachable\r\n`);
    expect(ours.status).toBe(255);
    expect(ours.stderr).toBe(theirs.stderr);
  });

  it('the bastion itself is reachable directly (the route is the only difference)', () => {
    const ours = run(NS.client, [process.execPath, CLI, '-F', cfg(), '-W', `${ADDR.bastion}:22`, 'bastion'], '');
    expect(ours.stderr).toBe('');
    expect(ours.stdout).toMatch(/^SSH-2\.0-OpenSSH/);
  });
});
