/**
 * Issue 8 item 6 against the real sshd on a port other than 22: a known_hosts line written for
 * the plain host name (no `[host]:port`) vouches for the server as it does for OpenSSH's ssh
 * ("found matching key w/out port"), through the library and the built CLI, and both clients
 * leave the same known_hosts behind. The CLI part needs `npm run build` first.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectTo } from './harness/client.js';
import { echoVia, freePort, startEchoServer, type TestServer } from './harness/net.js';
import { cliEnv, itWithHome, suiteDir } from './harness/home.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Exit {
  code: number | null;
  stderr: string;
}

/** Run a command to its end (killed after `ms`) in `env`, collecting stderr. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, ms = 20_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: ms }, (err, _stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      if (err && typeof code !== 'number') reject(new Error(`${cmd} did not finish: ${err.message}\n${stderr}`));
      else resolve({ code, stderr });
    });
  });
}

/** Start the CLI with a forward, wait until it listens, send one line through, stop it. */
async function cliForward(args: string[], lport: number, home: string): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listener in time:\n${stderr}`)), 20_000);
      child.stderr.on('data', (d: string) => {
        stderr += d;
        if (stderr.includes(`Local forwarding listening on 127.0.0.1 port ${lport}.`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`pure-ssh exited (${code}):\n${stderr}`));
      });
    });
    expect(await echoVia(lport, 'through the tunnel')).toBe('through the tunnel');
    return stderr;
  } finally {
    child.kill('SIGKILL');
  }
}

describeInterop('known_hosts without a port, against sshd on a non-22 port', () => {
  const sshd = sshdSuite();
  let echo: TestServer;
  const dir = suiteDir('pure-ssh-kh-port-');
  /** `127.0.0.1 ssh-ed25519 AAAA...`: the server's key under the plain name. */
  let plainLine: string;
  /** The plain name with a key the server does not have. */
  let otherLine: string;

  beforeAll(async () => {
    echo = await startEchoServer();
    expect(sshd.port).not.toBe(22);
    plainLine = `127.0.0.1 ${sshd.hostKeys[0]!.publicKey}`;
    const other = (await readFile(join(FIXTURES, 'host_a.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    otherLine = `127.0.0.1 ${other}`;
  });
  afterAll(async () => {
    await echo?.close();
  });

  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('library: the port-less line is accepted with StrictHostKeyChecking yes, logged as OpenSSH does, the file untouched', async () => {
    const kh = await file('lib_plain', `${plainLine}\n`);
    const debug: string[] = [];
    const client = await connectTo(sshd, {
      host: '127.0.0.1',
      knownHosts: kh,
      strictHostKeyChecking: 'yes',
      debug: (m) => debug.push(m),
    });
    await client.close();
    expect(debug).toEqual(
      expect.arrayContaining([
        'checking without port identifier',
        "Host '127.0.0.1' is known and matches the ED25519 host key.",
        `Found key in ${kh}:1`,
        'found matching key w/out port',
      ]),
    );
    expect(await readFile(kh, 'utf8')).toBe(`${plainLine}\n`);
  });

  it('library: a different port-less key is "unknown" (not "changed"); accept-new records [host]:port', async () => {
    const kh = await file('lib_other', `${otherLine}\n`);
    const opts = { host: '127.0.0.1', knownHosts: kh };
    await expect(connectTo(sshd, { ...opts, strictHostKeyChecking: 'yes' })).rejects.toMatchObject({ code: 'ERR_HOST_KEY_UNKNOWN' });
    const client = await connectTo(sshd, { ...opts, strictHostKeyChecking: 'accept-new' });
    await client.close();
    expect(await readFile(kh, 'utf8')).toBe(`${otherLine}\n${sshd.hostKeyLines[0]}\n`);
  });

  itWithHome('CLI -v: connects and forwards through the port-less entry, with the debug lines, writing nothing', async () => {
    const kh = await file('cli_plain', `# plain name only\n${plainLine}\n`);
    const lport = await freePort();
    const stderr = await cliForward(
      ['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root', '-o', `UserKnownHostsFile=${kh}`,
        '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, '127.0.0.1'],
      lport,
      dir,
    );
    expect(stderr).toContain(
      [
        'debug1: checking without port identifier',
        "debug1: Host '127.0.0.1' is known and matches the ED25519 host key.",
        `debug1: Found key in ${kh}:2`,
        'debug1: found matching key w/out port',
      ].join('\r\n'),
    );
    expect(await readFile(kh, 'utf8')).toBe(`# plain name only\n${plainLine}\n`);
  });

  itWithHome('CLI: a different port-less key with strict checking is "No ED25519 host key is known for [127.0.0.1]:PORT", as OpenSSH says', async () => {
    const kh = await file('cli_other', `${otherLine}\n`);
    const args = ['-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root', '-o', `UserKnownHostsFile=${kh}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-N', '127.0.0.1'];
    const pure = await run(process.execPath, [CLI, ...args], cliEnv(dir));
    expect(pure.code).toBe(255);
    const expected = `No ED25519 host key is known for [127.0.0.1]:${sshd.port} and you have requested strict checking.`;
    expect(pure.stderr).toContain(expected);
    expect(pure.stderr).not.toContain('CHANGED');
    // OpenSSH's ssh takes the very same arguments.
    const openssh = await run('ssh', args, cliEnv(dir));
    expect(openssh.code).toBe(255);
    expect(openssh.stderr).toContain(expected);
  });

  itWithHome('CLI BatchMode, unknown host key: the same stderr and exit as ssh for StrictHostKeyChecking unset, ask, yes, accept-new, no', async () => {
    // sshconnect.c check_host_key: only "yes" says "No ... key is known ... strict checking."; with
    // ask, BatchMode's confirm() answers no and ssh says only "Host key verification failed.";
    // accept-new and no add the key and go on (here to a -W target that refuses).
    const closed = await freePort();
    for (const strict of [undefined, 'ask', 'yes', 'accept-new', 'no']) {
      const args = (kh: string) => [
        '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root', '-o', `UserKnownHostsFile=${kh}`,
        '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', ...(strict ? ['-o', `StrictHostKeyChecking=${strict}`] : []),
        '-W', `127.0.0.1:${closed}`, '127.0.0.1',
      ];
      const khPure = await file(`batch_pure_${strict}`, '');
      const khOssh = await file(`batch_ossh_${strict}`, '');
      const [pure, openssh] = await Promise.all([run(process.execPath, [CLI, ...args(khPure)], cliEnv(dir)), run('ssh', args(khOssh), cliEnv(dir))]);
      expect(openssh.code, `${strict}: ${openssh.stderr}`).toBe(255);
      expect(pure.code, `${strict}: ${pure.stderr}`).toBe(255);
      expect(pure.stderr, String(strict)).toBe(openssh.stderr);
      expect(await readFile(khPure, 'utf8')).toBe(await readFile(khOssh, 'utf8'));
    }
    const known = `No ED25519 host key is known for [127.0.0.1]:${sshd.port} and you have requested strict checking.\r\nHost key verification failed.\r\n`;
    const ask = await run(process.execPath, [CLI, '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${await file('batch_ask', '')}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-N', '127.0.0.1'], cliEnv(dir));
    expect(ask.stderr).toBe('Host key verification failed.\r\n');
    const yes = await run(process.execPath, [CLI, '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${await file('batch_yes', '')}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-N', '127.0.0.1'], cliEnv(dir));
    expect(yes.stderr).toBe(known);
  }, 60_000);

  itWithHome("OpenSSH's ssh, same files: accepts the port-less line, and accept-new leaves the same known_hosts as pure-ssh", async () => {
    const sshArgs = (kh: string, strict: string) => [
      '-F', '/dev/null', '-v', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', `StrictHostKeyChecking=${strict}`,
      'root@127.0.0.1', 'true',
    ];
    const plain = await file('ossh_plain', `${plainLine}\n`);
    const ok = await run('ssh', sshArgs(plain, 'yes'), cliEnv(dir));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('debug1: checking without port identifier');
    expect(ok.stderr).toContain('debug1: found matching key w/out port');
    expect(await readFile(plain, 'utf8')).toBe(`${plainLine}\n`);

    const forOpenssh = await file('ossh_other', `${otherLine}\n`);
    const forPure = join(dir, 'pure_other');
    await copyFile(forOpenssh, forPure);
    const added = await run('ssh', sshArgs(forOpenssh, 'accept-new'), cliEnv(dir));
    expect(added.code, added.stderr).toBe(0);
    const client = await connectTo(sshd, { host: '127.0.0.1', knownHosts: forPure, strictHostKeyChecking: 'accept-new' });
    await client.close();
    expect(await readFile(forPure, 'utf8')).toBe(await readFile(forOpenssh, 'utf8'));
  });
});
