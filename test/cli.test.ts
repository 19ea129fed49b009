/**
 * The built `pure-ssh` command run as a user runs it (`node dist/node/cli.js ...`), against a
 * real sshd. Needs `npm run build` first (package.json's "test" script does it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicStream, dial, echoVia, freePort, hashStream, startEchoServer, startSourceServer, type TestServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome, describeWithHome, suiteHome } from './harness/home.js';
import { deliverSignal } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI, runCli as startCli, type CliRun } from './support/cli-run.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

type Run = CliRun;

/**
 * The built CLI with `env` added to this process's environment and `home` as its passwd home
 * (test/support/cli-run.ts, harness/home.ts cliEnv).
 */
function runCli(home: string, args: string[], env: Record<string, string> = {}, opts: { detached?: boolean } = {}): Run {
  return startCli(args, { env: cliEnv(home, env), detached: opts.detached });
}

/** Exit within `ms` or fail the test with what the CLI printed. */
async function exitOf(run: Run, ms = 15_000): Promise<number | null> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`pure-ssh did not exit within ${ms} ms; stderr:\n${run.stderr()}`)), ms).unref(),
  );
  return (await Promise.race([run.exited, timeout])).code;
}

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 50));
  }
}


describeWithHome('pure-ssh command line without a server', () => {
  const home = suiteHome();

  it('no arguments: usage on stderr, exit 255', async () => {
    const run = runCli(home, []);
    expect(await exitOf(run)).toBe(255);
    expect(run.stderr()).toMatch(/^usage: pure-ssh /);
  });

  it('-V prints the version, exit 0', async () => {
    const run = runCli(home, ['-V']);
    expect(await exitOf(run)).toBe(0);
    expect(run.stderr()).toMatch(/^pure-ssh_\d+\.\d+\.\d+/);
  });

  it('a bad -L and an unknown -o are ssh\'s messages, exit 255', async () => {
    const bad = runCli(home, ['-N', '-L', 'nope', 'h']);
    expect(await exitOf(bad)).toBe(255);
    expect(bad.stderr()).toBe("Bad local forwarding specification 'nope'\n");
    const unknown = runCli(home, ['-o', 'Frob=1', 'h']);
    expect(await exitOf(unknown)).toBe(255);
    expect(unknown.stderr()).toBe('command-line: line 0: Bad configuration option: frob\r\n');
  });

  it('a config file error names file and line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-cli-'));
    try {
      await writeFile(join(dir, 'cfg'), 'Host *\n  Port 22\n  NoSuchThing 1\n');
      const run = runCli(home, ['-F', join(dir, 'cfg'), '-N', 'h']);
      expect(await exitOf(run)).toBe(255);
      expect(run.stderr()).toBe(
        `${join(dir, 'cfg')}: line 3: Bad configuration option: nosuchthing\r\n${join(dir, 'cfg')}: terminating, 1 bad configuration options\r\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('-f without -N or a command: ssh\'s line and exit, before -G prints and before our refusal of a shell', async () => {
    for (const args of [['-f', 'h'], ['-G', '-f', 'h'], ['-o', 'ForkAfterAuthentication=yes', '-L', '1:a:2', 'h']]) {
      const ours = runCli(home, ['-F', 'none', ...args]);
      const theirs = spawn('/usr/bin/ssh', ['-F', 'none', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
      let stderr = '';
      theirs.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => theirs.on('exit', (c) => r(c)));
      expect(code, args.join(' ')).toBe(255);
      expect(await exitOf(ours)).toBe(255);
      expect(ours.stderr(), args.join(' ')).toBe(stderr);
    }
  });

  it('an algorithm pure-ssh does not implement names where it was asked for (file and line, -c, -o)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-cli-'));
    try {
      const cfg = join(dir, 'cfg');
      await writeFile(cfg, 'Host *\n  Ciphers 3des-cbc\n');
      const fromFile = runCli(home, ['-F', cfg, '-N', 'h']);
      expect(await exitOf(fromFile)).toBe(255);
      expect(fromFile.stderr()).toMatch(new RegExp(`^${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2: unsupported cipher algorithm\\(s\\): 3des-cbc \\(pure-ssh supports: chacha20-poly1305@openssh.com,`));
      const dump = runCli(home, ['-G', '-F', 'none', '-c', '3des-cbc', 'h']);
      expect(await exitOf(dump)).toBe(255);
      expect(dump.stderr()).toMatch(/^-c: unsupported cipher algorithm\(s\): 3des-cbc /);
      // An exact list naming only such names (a `+` one leaves them out: unimplemented-algorithms.test.ts).
      const option = runCli(home, ['-F', 'none', '-o', 'MACs=hmac-md5', '-N', 'h']);
      expect(await exitOf(option)).toBe(255);
      expect(option.stderr()).toMatch(/^command-line line 0: unsupported MAC algorithm\(s\): hmac-md5 /);
      const hostKey = runCli(home, ['-G', '-F', 'none', '-o', 'HostKeyAlgorithms=ssh-dss', 'h']);
      expect(await exitOf(hostKey)).toBe(255);
      expect(hostKey.stderr()).toMatch(/^command-line line 0: unsupported host key algorithm\(s\): ssh-dss /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a signal before the session (server silent) ends the process by that signal, as ssh', async () => {
    const silent = net.createServer(() => {}); // accepts, never sends its banner
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      // pure-ssh and ssh side by side (each its own connection to the silent server).
      const ends = await Promise.all([[process.execPath, CLI], ['/usr/bin/ssh']].map(async (cmd) => {
        const child = spawn(cmd[0]!, [...cmd.slice(1), '-F', 'none', '-N', '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1'], { stdio: 'ignore', env: cliEnv(home) });
        const exited = new Promise<string | null>((r) => child.on('exit', (code, signal) => r(signal ?? `exit ${code}`)));
        await new Promise((r) => setTimeout(r, 1500));
        child.kill('SIGTERM');
        return exited;
      }));
      expect(ends).toEqual(['SIGTERM', 'SIGTERM']);
    } finally {
      silent.close();
    }
  });

  it('connection refused: ssh\'s message, exit 255', async () => {
    const port = await freePort();
    const run = runCli(home, ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1']);
    expect(await exitOf(run)).toBe(255);
    expect(run.stderr()).toContain(`ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
    const quiet = runCli(home, ['-q', '-F', 'none', '-N', '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1']);
    expect(await exitOf(quiet)).toBe(255);
    expect(quiet.stderr()).toBe('');
  });
});

describeInteropWithHome('pure-ssh command line against sshd', () => {
  let sshd: SshdHandle;
  let home: string;
  let echo: TestServer;

  beforeAll(async () => {
    [sshd, echo] = await Promise.all([startSshd(), startEchoServer()]);
    home = await mkdtemp(join(tmpdir(), 'pure-ssh-cli-home-'));
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), echo?.close(), home && rm(home, { recursive: true, force: true })]);
  });

  /** Log in as root with the authorised key; the host key pinned; no machine config. */
  const base = (s: SshdHandle = sshd, extra: string[] = []) => [
    '-F', 'none',
    '-p', String(s.port),
    '-i', s.clientKeyPath,
    '-l', 'root',
    '-o', `UserKnownHostsFile=${s.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    ...extra,
  ];
  /** The CLI with `home` as its passwd home and $HOME (test/harness/home.ts), `env` added. */
  const cli = (args: string[], env: Record<string, string> = {}, opts: { detached?: boolean } = {}) =>
    startCli(args, { env: cliEnv(home, env), detached: opts.detached });

  it('-N -L carries a transfer intact (sha256); SIGTERM disconnects cleanly and exits 0 as ssh -N does', async () => {
    const source = await startSourceServer(8 * 1024 * 1024, 7);
    const lport = await freePort();
    const run = cli([...base(), '-N', '-v', '-L', `${lport}:127.0.0.1:${source.port}`, '127.0.0.1']);
    try {
      await run.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${lport}\\.`));
      expect(run.stderr()).toContain(`debug1: Local connections to LOCALHOST:${lport} forwarded to remote address 127.0.0.1:${source.port}`);
      const sock = await dial(lport);
      const digest = await hashStream(sock);
      expect(digest).toEqual({ bytes: source.bytes, sha256: source.sha256 });
      // Loopback means both families, like OpenSSH.
      expect(run.stderr()).toMatch(new RegExp(`Local forwarding listening on ::1 port ${lport}\\.`));
      expect(run.stderr()).not.toMatch(/BEGIN OPENSSH PRIVATE KEY|PRIVATE/);

      run.child.kill('SIGTERM');
      // clientloop.c: with no session (-N) SIGTERM is a deliberate end: exit 0, the totals.
      expect(await exitOf(run)).toBe(0);
      expect(run.stderr()).not.toContain('Killed by signal');
      expect(run.stderr()).toMatch(/\r\nTransferred: sent \d+, received \d+ bytes, in [\d.]+ seconds\r\n(Bytes per second: .*\r\n)?debug1: Exit status 0\r\n$/);
      await until(
        () => /Received disconnect from 127\.0\.0\.1 port \d+:11: disconnected by user/.test(sshd.logs()),
        5000,
        () => `sshd did not log a clean disconnect:\n${sshd.logs().slice(-2000)}`,
      );
    } finally {
      run.child.kill('SIGKILL');
      await source.close();
    }
  });

  it('signals under -N as ssh: SIGTERM exit 0 with the totals, SIGHUP "Killed by signal 1." and 255 without them; -v lines as ssh -v', async () => {
    const ends: Record<string, { code: number | null; tail: string }[]> = {};
    const seen: string[][] = [];
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
      for (const cmd of [[process.execPath, CLI], [sshd.openssh.ssh]]) {
        const lport = await freePort();
        const child = spawn(cmd[0]!, [...cmd.slice(1), ...base(), '-v', '-N', '-L', `${lport}:127.0.0.1:${echo.port}`, '127.0.0.1'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: cliEnv(home),
        });
        let err = '';
        child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        // sshd sends its key-options debug messages just after USERAUTH_SUCCESS: wait for them too.
        await until(() => /Entering interactive session/.test(err) && /debug1: Remote: .*key options/.test(err), 15_000, () => `not forwarding:\n${err}`);
        deliverSignal(child, sig);
        const code = await exited;
        // The lines after the last channel line: what each prints on its way out.
        const lines = err.replace(/\r/g, '').split('\n').filter((l) => /^(Killed by signal|Transferred:|Bytes per second:|debug1: Exit status)/.test(l));
        (ends[sig] ??= []).push({ code, tail: lines.map((l) => l.replace(/\d+(\.\d+)?/g, 'N')).join('\n') });
        // -v wording (sshconnect2.c, dispatch.c): the authentication line and the server's debug messages.
        seen.push(err.replace(/\r/g, '').split('\n').filter((l) => /^(Authenticated to |debug1: Remote: )/.test(l)));
      }
    }
    expect(seen[0]).toContain(`Authenticated to 127.0.0.1 ([127.0.0.1]:${sshd.port}) using "publickey".`);
    expect(seen[0]!.some((l) => /^debug1: Remote: .*authorized_keys:1: key options: /.test(l)), seen[0]!.join('\n')).toBe(true);
    expect(new Set(seen[0])).toEqual(new Set(seen[1]));
    expect(ends.SIGTERM![0]).toEqual(ends.SIGTERM![1]);
    expect(ends.SIGTERM![0]!.code).toBe(0);
    expect(ends.SIGHUP![0]).toEqual(ends.SIGHUP![1]);
    expect(ends.SIGHUP![0]).toEqual({ code: 255, tail: 'Killed by signal N.' });
  });

  it('-L without -N warns once and continues; several -L at once', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const run = cli([...base(), '-v', '-L', `${p1}:127.0.0.1:${echo.port}`, '-L', `127.0.0.1:${p2}:127.0.0.1:${echo.port}`, '127.0.0.1']);
    try {
      await run.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1 port ${p2}\\.`));
      expect(await echoVia(p1, 'one')).toBe('one');
      expect(await echoVia(p2, 'two')).toBe('two');
      const warnings = run.stderr().match(/remote commands and shells are not supported; continuing as with -N/g);
      expect(warnings).toHaveLength(1);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('identity files that are not there: -i warns while reading the options and is dropped (ssh.c); IdentityFile says "no such identity" (sshconnect2.c)', async () => {
    const missingI = join(home, 'no-such-key-i');
    const missingCfg = join(home, 'no-such-key-cfg');
    // The missing IdentityFile comes before the good key: ssh 9.2 reports it at its turn
    // (sshconnect2.c load_identity_file), which a key accepted before it would never reach.
    const run = cli(['-o', `IdentityFile=${missingCfg}`, ...base(), '-N', '-i', missingI, '127.0.0.1']);
    try {
      await run.waitFor(/no such identity: /);
      expect(run.stderr()).toContain(`Warning: Identity file ${missingI} not accessible: No such file or directory.\n`);
      expect(run.stderr()).toContain(`no such identity: ${missingCfg}: No such file or directory`);
      expect(run.stderr()).not.toContain(`no such identity: ${missingI}`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('ExitOnForwardFailure=yes and an occupied port: the bind error, "Could not request local forwarding.", 255', async () => {
    const busy = await startEchoServer();
    try {
      const run = cli([...base(), '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${busy.port}:127.0.0.1:${echo.port}`, '127.0.0.1']);
      expect(await exitOf(run)).toBe(255);
      expect(run.stderr()).toContain(`bind [127.0.0.1]:${busy.port}: Address already in use`);
      expect(run.stderr()).toContain('Could not request local forwarding.');
    } finally {
      await busy.close();
    }
  });

  it('without ExitOnForwardFailure: the failure is reported and the other forward keeps working', async () => {
    const busy = await startEchoServer();
    const good = await freePort();
    const run = cli([
      ...base(), '-N', '-v',
      '-L', `127.0.0.1:${busy.port}:127.0.0.1:${echo.port}`,
      '-L', `127.0.0.1:${good}:127.0.0.1:${echo.port}`,
      '127.0.0.1',
    ]);
    try {
      await run.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1 port ${good}\\.`));
      expect(run.stderr()).toContain(`bind [127.0.0.1]:${busy.port}: Address already in use`);
      expect(await echoVia(good, 'still here')).toBe('still here');
      expect(run.child.exitCode).toBeNull();
    } finally {
      run.child.kill('SIGKILL');
      await busy.close();
    }
  });

  it('a refused channel (PermitOpen) is reported as OpenSSH does, numbered as ssh numbers it (its listeners are channels), and the tunnel stays up', async () => {
    const strict = await startSshd({ config: { PermitOpen: '127.0.0.1:1' } });
    /** The first "channel N: open failed" line of pure-ssh or ssh with this -L listen part, after one connection. */
    const refusedLine = async (client: 'pure-ssh' | 'ssh', listen: (port: number) => string): Promise<string> => {
      const lport = await freePort();
      const args = [...base(strict), '-N', '-L', `${listen(lport)}:127.0.0.1:${echo.port}`, '127.0.0.1'];
      const child = client === 'ssh'
        ? spawn(strict.openssh.ssh, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) })
        : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      try {
        // Dial until the listener is up; the first connection that gets through is refused by sshd.
        const deadline = Date.now() + 10_000;
        while (!(await dial(lport).then((s) => (s.destroy(), true), () => false))) {
          if (Date.now() > deadline) throw new Error(err);
          await new Promise((r) => setTimeout(r, 100));
        }
        await until(() => /open failed/.test(err), 5000, () => err);
        return /^channel \d+: open failed: .*$/m.exec(err.replace(/\r\n/g, '\n'))?.[0] ?? err;
      } finally {
        child.kill('SIGKILL');
      }
    };
    try {
      // One listener (an explicit address): ssh's listener is channel 0, the connection channel 1.
      const one = (p: number) => `127.0.0.1:${p}`;
      expect(await refusedLine('pure-ssh', one)).toBe('channel 1: open failed: administratively prohibited: open failed');
      expect(await refusedLine('ssh', one)).toBe('channel 1: open failed: administratively prohibited: open failed');
      // localhost: a listener per loopback address (two where ::1 exists), as ssh.
      const both = (p: number) => String(p);
      expect(await refusedLine('pure-ssh', both)).toBe(await refusedLine('ssh', both));

      const lport = await freePort();
      const run = cli([...base(strict), '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, '127.0.0.1']);
      try {
        await waitListening(lport, run);
        const attempt = async () => {
          const s = await dial(lport);
          s.resume();
          await new Promise((r) => s.once('close', r));
        };
        await attempt();
        await run.waitFor(/channel 1: open failed: administratively prohibited: open failed/);
        expect(run.stderr()).toContain(`debug1: Connection to port ${lport} forwarding to 127.0.0.1 port ${echo.port} requested.\r\ndebug1: channel 1: new direct-tcpip [direct-tcpip] (inactive timeout: 0)\r\n`);
        await attempt();
        await until(
          () => (run.stderr().match(/open failed: administratively prohibited: open failed/g) ?? []).length >= 2,
          5000,
          () => run.stderr(),
        );
        expect(run.child.exitCode).toBeNull();
      } finally {
        run.child.kill('SIGKILL');
      }
    } finally {
      await strict.stop();
    }
  }, 45_000);

  it("the server's disconnect: ssh's two lines (packet.c), the second at INFO only, byte for byte with ssh, directly and through a ProxyCommand", async () => {
    // MaxAuthTries 1: the second key offered ends the connection with reason 2 and sshd's text.
    const strict = await startSshd({ config: { MaxAuthTries: '1' } });
    try {
      const keys = [1, 2].map((i) => join(home, `unauthorised_${i}`));
      for (const k of keys) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
      const args = (extra: string[]) => [
        '-F', 'none', '-p', String(strict.port), ...keys.flatMap((k) => ['-i', k]), '-l', 'root', '-o', 'IdentitiesOnly=yes',
        '-o', `UserKnownHostsFile=${strict.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', ...extra, '-N', '127.0.0.1',
      ];
      const run = (cmd: string[], a: string[]) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(cmd[0]!, [...cmd.slice(1), ...a], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
          child.on('exit', (code) => resolve({ code, stderr }));
        });
      const proxy = `ProxyCommand=${process.execPath} -e "const s=require('net').connect(${strict.port},'127.0.0.1');process.stdin.pipe(s);s.pipe(process.stdout)"`;
      const peer = `127.0.0.1 port ${strict.port}`;
      for (const [extra, expected] of [
        [[], `Received disconnect from ${peer}:2: Too many authentication failures\r\nDisconnected from ${peer}\r\n`],
        [['-o', 'LogLevel=ERROR'], `Received disconnect from ${peer}:2: Too many authentication failures\r\n`],
        [['-q'], ''],
        [['-o', proxy], 'Received disconnect from UNKNOWN port 65535:2: Too many authentication failures\r\nDisconnected from UNKNOWN port 65535\r\n'],
      ] as const) {
        const ours = await run([process.execPath, CLI], args([...extra]));
        const theirs = await run([strict.openssh.ssh], args([...extra]));
        expect(theirs).toEqual({ code: 255, stderr: expected });
        expect(ours).toEqual(theirs);
      }
    } finally {
      await strict.stop();
    }
  }, 60_000);

  it('a changed host key: exit 255, the warning names the known_hosts file and line', async () => {
    const kh = join(home, 'kh_changed');
    const other = (await readFile(join(FIXTURES, 'host_a.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    await writeFile(kh, `# first line\n[127.0.0.1]:${sshd.port} ${other}\n`);
    const run = cli(['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=no', '-o', 'BatchMode=yes', '-N', '127.0.0.1']);
    expect(await exitOf(run)).toBe(255);
    expect(run.stderr()).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(run.stderr()).toContain(`Offending ED25519 key in ${kh}:2`);
    expect(run.stderr()).toContain('Host key verification failed.');
  });

  it('an unknown host with StrictHostKeyChecking=yes: exit 255', async () => {
    const run = cli(['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-N', '127.0.0.1']);
    expect(await exitOf(run)).toBe(255);
    expect(run.stderr()).toContain(`No ED25519 host key is known for [127.0.0.1]:${sshd.port} and you have requested strict checking.`);
    expect(run.stderr()).toContain('Host key verification failed.');
  });

  it('an unknown host, ask, no terminal: "Host key verification failed.", 255', async () => {
    const run = cli(['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${join(home, 'kh_ask')}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-N', '127.0.0.1'],
      {}, { detached: true });
    const code = await exitOf(run, 20_000).catch(async (e) => {
      run.child.kill('SIGKILL');
      throw e;
    });
    expect(code).toBe(255);
    expect(run.stderr()).toContain('Host key verification failed.');
  });

  it('StrictHostKeyChecking=accept-new adds the key to UserKnownHostsFile', async () => {
    const kh = join(home, 'kh_new');
    const lport = await freePort();
    const run = cli(['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=accept-new',
      '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, '127.0.0.1']);
    try {
      await waitListening(lport, run);
      expect(run.stderr()).toContain(`Warning: Permanently added '[127.0.0.1]:${sshd.port}' (ED25519) to the list of known hosts.`);
      const text = await readFile(kh, 'utf8');
      expect(text).toBe(`${sshd.hostKeyLines[0]}\n`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('a -F config file: Host alias, HostName, Port, User, IdentityFile; unsupported keywords skipped', async () => {
    const cfg = join(home, 'alias_config');
    await writeFile(
      cfg,
      [
        'Host other',
        '  Port 1',
        'Host myalias',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        '  User root',
        `  IdentityFile ${sshd.clientKeyPath}`,
        `  UserKnownHostsFile ${sshd.knownHostsPath}`,
        '  StrictHostKeyChecking yes',
        '  ForwardAgent yes',
        '  ControlMaster auto',
        'Host *',
        '  BatchMode yes',
        '  GlobalKnownHostsFile /dev/null',
        '',
      ].join('\n'),
    );
    const lport = await freePort();
    const run = cli(['-F', cfg, '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, 'myalias']);
    try {
      await waitListening(lport, run);
      expect(await echoVia(lport, 'via alias')).toBe('via alias');
      expect(run.stderr()).toContain(`${cfg} line 10: ignoring unsupported option "ForwardAgent"`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('a key the server does not accept: exit 255, "Permission denied"', async () => {
    // A private copy (0600): git checks fixtures out readable by others, which ssh refuses.
    const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-cli-key-'));
    const key = join(dir, 'id_ed25519');
    await writeFile(key, await readFile(join(FIXTURES, 'id_ed25519')), { mode: 0o600 });
    try {
      const run = cli([...base().filter((a) => a !== sshd.clientKeyPath && a !== '-i'), '-i', key, '-v', '-N', '127.0.0.1']);
      expect(await exitOf(run)).toBe(255);
      expect(run.stderr()).toContain('Offering public key');
      expect(run.stderr()).toContain('root@127.0.0.1: Permission denied (publickey).');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sshd killed mid-transfer: exit 255 with a clear message, the local socket is closed', async () => {
    // 2 GiB, far more than goes through before the kill. Not startSourceServer, which hashes all
    // it will send up front (8 s of CPU for 2 GiB) for a digest this case does not use.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.resume();
      const stream = deterministicStream(2 * 1024 * 1024 * 1024, 3);
      stream.pipe(s);
      s.once('close', () => (sockets.delete(s), stream.destroy()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const source = {
      port: (server.address() as net.AddressInfo).port,
      bytes: 2 * 1024 * 1024 * 1024,
      close: () => new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
    };
    const lport = await freePort();
    const run = cli([...base(), '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${source.port}`, '127.0.0.1']);
    try {
      await waitListening(lport, run);
      const sock = await dial(lport);
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      sock.on('error', () => {});
      let got = 0;
      await new Promise<void>((r) =>
        sock.on('data', (d: Buffer) => {
          got += d.length;
          if (got > 1024 * 1024) r();
        }),
      );
      sshd.killConnections();
      expect(await exitOf(run)).toBe(255);
      expect(run.stderr()).toMatch(
        // A FIN, or a reset when our data was unread in the killed process's socket (then ssh's
        // DISCONNECT cannot be written: cli-reset-in-session.test.ts).
        /^(Connection to 127\.0\.0\.1 closed by remote host\.|client_loop: send disconnect: Broken pipe)$/m,
      );
      await Promise.race([
        closed,
        new Promise((_, reject) => setTimeout(() => reject(new Error('local socket still open')), 5000).unref()),
      ]);
      expect(got).toBeLessThan(source.bytes);
    } finally {
      run.child.kill('SIGKILL');
      await source.close();
    }
  });

  it('password through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force), with ssh\'s prompt', async () => {
    const pw = await startSshd({ password: true });
    const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-askpass-'));
    try {
      const script = join(dir, 'askpass.sh');
      const promptFile = join(dir, 'prompt');
      await writeFile(script, `#!/bin/sh\nprintf '%s' "$1" > '${promptFile}'\nprintf '%s\\n' "$PSSH_TEST_PW"\n`);
      await chmod(script, 0o755);
      const lport = await freePort();
      const args = ['-F', 'none', '-p', String(pw.port), '-l', pw.password!.user, '-o', 'PubkeyAuthentication=no',
        '-o', `UserKnownHostsFile=${pw.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
        '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, '127.0.0.1'];
      const env = { SSH_ASKPASS: script, SSH_ASKPASS_REQUIRE: 'force', PSSH_TEST_PW: pw.password!.password };
      const run = cli(args, env);
      try {
        await waitListening(lport, run);
        expect(await echoVia(lport, 'pw')).toBe('pw');
        expect(await readFile(promptFile, 'utf8')).toBe(`${pw.password!.user}@127.0.0.1's password: `);
        expect(run.stderr()).not.toContain(pw.password!.password);
      } finally {
        run.child.kill('SIGKILL');
      }
      const wrong = cli(['-o', 'NumberOfPasswordPrompts=1', ...args], { ...env, PSSH_TEST_PW: 'wrong' });
      expect(await exitOf(wrong, 30_000)).toBe(255);
      expect(wrong.stderr()).toMatch(/Permission denied \(.*password.*\)\./);
    } finally {
      await pw.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Resolves once the CLI (run with -v) reports the forward listening on 127.0.0.1:port. */
function waitListening(port: number, run: Run): Promise<void> {
  return run.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${port}\\.`));
}
