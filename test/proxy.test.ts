/**
 * ProxyCommand, -W, -f and -E with real peers: pure-ssh over OpenSSH's `ssh -W` as its
 * ProxyCommand, OpenSSH's ssh over `pure-ssh -W` as its ProxyCommand, a proxy that dies
 * early, and a tunnel sent to the background. A bastion sshd on 127.0.0.1, a target sshd on
 * 127.0.0.2. Needs `npm run build` first (dist/node/cli.js).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, pidsListeningOn, startEchoServer, type TestServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome, itWithHome, processHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';


interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its exit ('exit', not 'close': a -f background copy keeps stderr open). */
function run(file: string, args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(processHome()) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes deliver what was written before the exit.
      setTimeout(() => resolve({ code, stdout, stderr }), 50);
    });
  });
}

function pureSsh(args: string[], timeoutMs?: number): Promise<Run> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return run(process.execPath, [CLI, ...args], timeoutMs);
}

/** One round trip through a local port: what the echo server sent back. */
function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port });
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.write(text);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeInteropWithHome('ProxyCommand, -W, -f and -E against sshd', () => {
  let bastion: SshdHandle;
  let target: SshdHandle;
  let echo: TestServer;
  let dir: string;
  /** pure-ssh's view: a Host block per server, each with its own key and known_hosts. */
  let config: string;

  beforeAll(async () => {
    [bastion, target, echo] = await Promise.all([startSshd(), startSshd({ listen: '127.0.0.2' }), startEchoServer()]);
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-proxy-'));
    config = join(dir, 'ssh_config');
    const block = (name: string, s: SshdHandle) =>
      `Host ${name}\n  HostName ${s.host}\n  Port ${s.port}\n  User root\n  IdentityFile ${s.clientKeyPath}\n` +
      `  UserKnownHostsFile ${s.knownHostsPath}\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n  StrictHostKeyChecking yes\n`;
    await writeFile(config, block('bastion', bastion) + block('target', target));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([bastion?.stop(), target?.stop(), echo?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("pure-ssh over OpenSSH's `ssh -W %h:%p` as ProxyCommand, with %h %p %r %n %% expanded", async () => {
    const tokens = join(dir, 'tokens');
    const ssh = `${bastion.openssh.ssh} ${bastion.clientArgs.join(' ')}`;
    const cfg = join(dir, 'proxycommand');
    await writeFile(cfg, `Host target\n  ProxyCommand sh -c "echo '%h %p %r %n %%' > ${tokens}; exec ${ssh} -W %h:%p root@127.0.0.1"\n` + (await readFile(config, 'utf8')));
    const lp = await freePort();
    const child = spawn(process.execPath, [CLI, '-F', cfg, '-v', '-N', '-L', `${lp}:127.0.0.1:${echo.port}`, 'target'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: cliEnv(processHome()),
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    try {
      await expect.poll(() => stderr, { timeout: 15_000 }).toContain('Entering interactive session');
      expect(await echoThrough(lp, 'through ssh -W')).toBe('through ssh -W');
      expect((await readFile(tokens, 'utf8')).trim()).toBe(`127.0.0.2 ${target.port} root target %`);
      expect(stderr).toContain('debug1: Executing proxy command: exec sh -c');
      // The bastion carried it: its log names the forwarded connection to the target.
      expect(bastion.logs()).toMatch(new RegExp(`127\\.0\\.0\\.2.*${target.port}`));
    } finally {
      child.kill('SIGTERM');
    }
  });

  it("OpenSSH's ssh over `pure-ssh -W %h:%p bastion` as its ProxyCommand", async () => {
    const proxy = `${process.execPath} ${CLI} -F ${config} -W %h:%p bastion`;
    const r = await run(target.openssh.ssh, [...target.clientArgs, '-o', `ProxyCommand=${proxy}`, `root@${target.host}`, 'echo via-pure-ssh $SSH_CONNECTION']);
    // (sshd at LogLevel DEBUG1 sends a few debug lines of its own to the client's stderr.)
    expect(r.stderr).not.toMatch(/pure-ssh|stdio forwarding failed|kex_exchange_identification/);
    expect(r.code).toBe(0);
    // The target saw the connection come from the bastion's side (127.0.0.1), to 127.0.0.2.
    expect(r.stdout).toMatch(new RegExp(`^via-pure-ssh 127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.2 ${target.port}\\n$`));
  });

  it('-v: the byte totals at exit for ProxyCommand and ProxyJump routes too (what crossed the hop)', async () => {
    const ssh = `${bastion.openssh.ssh} ${bastion.clientArgs.join(' ')}`;
    const routes = [
      ['-o', `ProxyCommand=${ssh} -W %h:%p root@127.0.0.1`],
      ['-J', 'bastion'],
    ];
    const payload = 'x'.repeat(200_000);
    for (const route of routes) {
      const lp = await freePort();
      const child = spawn(process.execPath, [CLI, '-F', config, ...route, '-v', '-N', '-L', `${lp}:127.0.0.1:${echo.port}`, 'target'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: cliEnv(processHome()),
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      const exited = new Promise((r) => child.on('exit', r));
      try {
        // The hop says it too (its `ssh -W`'s client loop), before the destination's.
        const sessions = route[0] === '-J' ? 2 : 1;
        await expect.poll(() => stderr.split('Entering interactive session.').length - 1, { timeout: 15_000 }).toBe(sessions);
        expect(await echoThrough(lp, payload)).toBe(payload);
      } finally {
        child.kill('SIGTERM');
      }
      await exited;
      const m = /Transferred: sent (\d+), received (\d+) bytes, in (\d+\.\d) seconds\r\nBytes per second: sent (\d+\.\d), received (\d+\.\d)\r\n/.exec(stderr);
      expect(m, `${route.join(' ')}: ${stderr}`).not.toBeNull();
      // The payload went through the SSH transport each way, encrypted and framed.
      expect(Number(m![1])).toBeGreaterThan(payload.length);
      expect(Number(m![2])).toBeGreaterThan(payload.length);
    }
  });

  it("a jump host with an unknown host key (StrictHostKeyChecking yes): ssh's two lines, then what ssh's outer process says", async () => {
    const empty = join(dir, 'empty_known_hosts');
    await writeFile(empty, '');
    const cfg = join(dir, 'unknown-hop');
    // The hop is given by address, so its Host block is `Host 127.0.0.1`; its known_hosts is empty.
    await writeFile(
      cfg,
      `Host 127.0.0.1\n  Port ${bastion.port}\n  User root\n  IdentityFile ${bastion.clientKeyPath}\n  UserKnownHostsFile ${empty}\n` +
        '  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n  StrictHostKeyChecking yes\n' +
        (await readFile(config, 'utf8')),
    );
    const args = ['-F', cfg, '-N', '-J', '127.0.0.1', 'target'];
    const ours = await pureSsh(args);
    const theirs = await run(bastion.openssh.ssh, args);
    expect(ours.code).toBe(255);
    expect(theirs.code).toBe(255);
    const expected = `No ED25519 host key is known for [127.0.0.1]:${bastion.port} and you have requested strict checking.\r\nHost key verification failed.\r\n`;
    expect(theirs.stderr.startsWith(expected), theirs.stderr).toBe(true);
    // Then ssh's outer connection, whose ProxyCommand (ssh -W) closed before any banner.
    expect(ours.stderr).toBe(`${expected}kex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n`);
    expect(ours.stderr).toBe(theirs.stderr);
  });

  it('a failed -J hop: the same lines and exit as ssh (refused hop, hop that cannot reach the target, silent hop within ConnectTimeout, two hops)', async () => {
    const closed = await freePort();
    // (ssh's inner `ssh -W` to it outlives the outer one, waiting for a banner: the sockets are closed at the end.)
    const held: import('node:net').Socket[] = [];
    const silent = netServer((s) => void held.push(s.on('error', () => {})));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      const cases: string[][] = [
        // ssh: connect to host … refused; then the outer's two lines.
        ['-J', `127.0.0.1:${closed}`, 'target'],
        // The hop is up but its channel to the target is refused: "channel 0: open failed", "stdio forwarding failed", the two lines.
        ['-J', 'bastion', '-p', String(closed), 'target'],
        // The hop never speaks: the destination's ConnectTimeout covers it (banner exchange, no peer address).
        ['-o', 'ConnectTimeout=1', '-J', `127.0.0.1:${silentPort}`, 'target'],
        // Two hops, the first refused: the two lines once per ssh process above it.
        ['-J', `127.0.0.1:${closed},bastion`, 'target'],
      ];
      for (const c of cases) {
        const args = ['-F', config, '-N', ...c];
        const [ours, theirs] = await Promise.all([pureSsh(args), run(bastion.openssh.ssh, args)]);
        expect(theirs.code, theirs.stderr).toBe(255);
        expect(ours.code, ours.stderr).toBe(255);
        expect(ours.stderr, c.join(' ')).toBe(theirs.stderr);
        expect(ours.stderr).toMatch(/\r\nConnection (closed by|to) UNKNOWN port 65535( timed out)?\r\n$/);
      }
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  }, 60_000);

  it("-E: a log file that cannot be opened is ssh's message and exit 1 (log.c), before connecting; a new one is made mode 0600", async () => {
    for (const bad of [join(dir, 'no-such-dir', 'ssh.log'), dir]) {
      const args = ['-F', config, '-N', '-E', bad, 'bastion'];
      const [ours, theirs] = await Promise.all([pureSsh(args), run(bastion.openssh.ssh, args)]);
      expect(theirs.code, theirs.stderr).toBe(1);
      expect(ours.code, ours.stderr).toBe(1);
      expect(ours.stderr).toBe(theirs.stderr);
      expect(ours.stderr).toMatch(/^Couldn't open logfile .*: (No such file or directory|Is a directory)\n$/);
    }
    const closed = await freePort();
    for (const [client, file] of [['pure-ssh', join(dir, 'ours.log')], ['ssh', join(dir, 'theirs.log')]] as const) {
      const args = ['-F', 'none', '-N', '-E', file, '-p', String(closed), '127.0.0.1'];
      const r = client === 'ssh' ? await run(bastion.openssh.ssh, args) : await pureSsh(args);
      expect(r.code).toBe(255);
      expect(r.stderr).toBe('');
      expect((await stat(file)).mode & 0o777, client).toBe(0o600);
      expect(await readFile(file, 'utf8'), client).toBe(`ssh: connect to host 127.0.0.1 port ${closed}: Connection refused\r\n`);
    }
  });

  it('-W to a port nobody listens on: the refusal and "stdio forwarding failed", exit 255', async () => {
    const closed = await freePort();
    const r = await pureSsh(['-F', config, '-W', `127.0.0.1:${closed}`, 'bastion']);
    expect(r.code).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/open failed: connect failed: Connection refused\r\nstdio forwarding failed\r\n$/);
  });

  it('a ProxyCommand that dies before the server speaks: its stderr shown, OpenSSH\'s words, exit 255', async () => {
    const r = await pureSsh(['-F', 'none', '-N', '-o', 'ProxyCommand=echo proxy-gave-up >&2; exit 3', '-o', 'BatchMode=yes', 'somewhere']);
    expect(r.code).toBe(255);
    // ssh 9.2: kex.c's error, then packet.c's "Connection closed by" (INFO) with no socket's address.
    expect(r.stderr).toBe('proxy-gave-up\nkex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n');
  });

  it('ProxyCommand none and -J none connect directly', async () => {
    const lp = await freePort();
    const child = spawn(
      process.execPath,
      [CLI, '-F', config, '-J', 'none', '-o', 'ProxyCommand=none', '-v', '-N', '-L', `${lp}:127.0.0.1:${echo.port}`, 'target'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) },
    );
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    try {
      await expect.poll(() => stderr, { timeout: 15_000 }).toContain('Entering interactive session');
      expect(stderr).toContain(`debug1: Connecting to 127.0.0.2 [127.0.0.2] port ${target.port}.`);
      expect(stderr).not.toContain('jump host');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('-f: the command exits 0 once the forward listens, the tunnel keeps serving; -E gets the log, the jump host\'s stays on stderr', async () => {
    const lp = await freePort();
    const logFile = join(dir, 'pure-ssh.log');
    const r = await pureSsh(['-f', '-F', config, '-J', 'bastion', '-E', logFile, '-v', '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${lp}:127.0.0.1:${echo.port}`, 'target']);
    expect(r.code).toBe(0);
    // ssh.c gives its hop's `ssh -W` only -F and -v, never -E: the hop logs to stderr.
    expect(r.stderr).toMatch(/^debug1: pure-ssh_/);
    expect(r.stderr).toContain(`Authenticated to 127.0.0.1 ([127.0.0.1]:${bastion.port}) using "publickey".`);
    expect(r.stderr).not.toContain('via proxy');
    const log = await readFile(logFile, 'utf8');
    expect(log).not.toContain(`([127.0.0.1]:${bastion.port})`);
    // ssh.c's line, without a pid; the background copy is the one process listening on the port.
    expect(log).toMatch(/^debug1: forking to background\r?$/m);
    const listening = pidsListeningOn(lp);
    expect(listening).toHaveLength(1);
    const pid = listening[0]!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(`${lp}:127.0.0.1:${echo.port}`);
    try {
      expect(log).toContain('Authenticated to 127.0.0.2 (via proxy) using "publickey".');
      expect(log).toContain(`debug1: Local forwarding listening on 127.0.0.1 port ${lp}.`);
      expect(alive(pid)).toBe(true);
      expect(await echoThrough(lp, 'from the background')).toBe('from the background');
      expect(await echoThrough(lp, 'and again')).toBe('and again');
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGTERM');
    }
    await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
  });

  it('-f: the background copy\'s stdout and stderr are /dev/null (ssh.c fork_postauth), so the caller\'s pipes close at once; a warning before it is ready still reaches the caller', async () => {
    const lp = await freePort();
    const kh = join(dir, 'known_hosts_f');
    await writeFile(kh, '');
    const child = spawn(process.execPath, [CLI, '-f', '-F', config, '-N', '-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=accept-new', '-L', `${lp}:127.0.0.1:${echo.port}`, 'bastion'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnv(processHome()),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    // 'close' waits for every holder of the pipes: with the background copy holding them, it never came.
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the pipes stayed open; stderr so far: ${stderr}`)), 15_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(stdout).toBe('');
    // Written by the background copy before it was ready, relayed by the foreground copy.
    expect(stderr).toBe(`Warning: Permanently added '[127.0.0.1]:${bastion.port}' (ED25519) to the list of known hosts.\r\n`);
    const pid = Number(execFileSync('pgrep', ['-f', `${lp}:127.0.0.1:${echo.port}`], { encoding: 'utf8' }).trim().split('\n')[0]);
    expect(pid).toBeGreaterThan(0);
    try {
      expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe('/dev/null');
      expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe('/dev/null');
      expect(await echoThrough(lp, 'still serving')).toBe('still serving');
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGTERM');
    }
    await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
  });

  it('-f with a forward that cannot bind and ExitOnForwardFailure: exit 255 before detaching', async () => {
    const taken = echo.port;
    // -4: only the IPv4 loopback, the one that is taken (ssh counts a forward as set up when any address binds).
    const r = await pureSsh(['-f', '-4', '-F', config, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${taken}:127.0.0.1:1`, 'bastion']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`bind [127.0.0.1]:${taken}: Address already in use`);
    expect(r.stderr).toContain('Could not request local forwarding.');
  });
});

itWithHome('ProxyCommand runs under $SHELL (/bin/sh without it), as sshconnect.c ssh_proxy_connect', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-proxy-shell-'));
  try {
    const shell = join(dir, 'myshell');
    await writeFile(shell, '#!/bin/sh\necho "myshell $*" >&2\nexit 3\n', { mode: 0o755 });
    const r = await new Promise<Run>((resolve) => {
      execFile(process.execPath, [CLI, '-F', 'none', '-N', '-o', 'ProxyCommand=proxy-here %h', '-o', 'BatchMode=yes', 'somewhere'], { env: cliEnv(processHome(), { SHELL: shell }) }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(r.stderr).toBe('myshell -c exec proxy-here somewhere\nkex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n');
    expect(r.code).toBe(255);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
