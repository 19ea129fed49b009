/**
 * -v lines of the connect and of the configuration's reading, beside ssh 9.2 against the real
 * sshd: sshconnect.c ssh_connect_direct's `Connecting to HOST [ADDR] port P.` for each address
 * tried (pure-ssh said `Connecting to HOST port P.`); no `identity file` line for a refused
 * connect (ssh.c loads them only once ssh_connect succeeded); readconf.c's `Skipping Host block
 * because of negated match for X` and `Applying options for` naming the pattern that matched;
 * ssh_connect_direct's `Connection established.` (pure-ssh named the address and port there); and,
 * for a plain host key only a @cert-authority line names, ssh's HOST_NEW lines with nothing
 * about the CA line (pure-ssh said that the line `vouches for host certificates only`).
 */
import { execFile, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir, suiteHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { SSH_CLIENT_PATH, sshClientAvailable, sshdSuite } from './harness/sshd.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

const execFileP = promisify(execFile);

describeInteropWithHome('-v connect and configuration lines, as ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({ builtCli: true });
  const dir = suiteDir('pure-ssh-v-lines-');

  /** `client`'s stderr for `argv`, stdin and stdout /dev/null, lines split (the "\r" dropped). */
  async function stderrOf(client: 'ssh' | 'pure-ssh', argv: string[]): Promise<string[]> {
    const env = cliEnv(home);
    const child = client === 'ssh'
      ? spawn(SSH_CLIENT_PATH, argv, { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: dir })
      : spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: dir });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise((r) => child.once('close', r));
    return stderr.split(/\r?\n/).filter((l) => l !== '');
  }

  /** Both clients' lines that `keep` picks; ssh's only when it is installed. */
  async function sideBySide(argv: string[], keep: (l: string) => boolean): Promise<{ ours: string[]; theirs?: string[] }> {
    const ours = (await stderrOf('pure-ssh', argv)).filter(keep);
    return { ours, theirs: sshClientAvailable() ? (await stderrOf('ssh', argv)).filter(keep) : undefined };
  }

  it('a refused connect, ConnectionAttempts 2, by name and IPv6 literal: each try\'s "Connecting to HOST [ADDR] port P.", no identity file line', async () => {
    const closed = await freePort();
    // Everything but the version line, and pure-ssh's own note of its crypto provider.
    const keep = (l: string) => !/^(OpenSSH_|debug1: pure-ssh_|debug1: crypto provider: )/.test(l);
    for (const host of ['localhost', '::1']) {
      const { ours, theirs } = await sideBySide(['-F', '/dev/null', '-v', '-N', '-o', 'ConnectionAttempts=2', '-p', String(closed), host], keep);
      expect(ours, host).toEqual([
        'debug1: Reading configuration data /dev/null',
        `debug1: Connecting to ${host} [${host === '::1' ? '::1' : '127.0.0.1'}] port ${closed}.`,
        `debug1: connect to address ${host === '::1' ? '::1' : '127.0.0.1'} port ${closed}: Connection refused`,
        'debug1: Trying again...',
        `debug1: Connecting to ${host} [${host === '::1' ? '::1' : '127.0.0.1'}] port ${closed}.`,
        `debug1: connect to address ${host === '::1' ? '::1' : '127.0.0.1'} port ${closed}: Connection refused`,
        `ssh: connect to host ${host} port ${closed}: Connection refused`,
      ]);
      if (theirs) expect(ours, host).toEqual(theirs);
    }
  });

  it('Host lines: a negated match skips its block ("Skipping Host block because of negated match"), "Applying options for" names the pattern that matched; the connect as ssh says it', async () => {
    const cfg = join(dir, 'negated.conf');
    await writeFile(cfg, `Host * !127.0.0.1\n  Port 1\nHost other 127.0.0.*\n  BatchMode yes\nHost !nomatch\n  Port 2\n`);
    const argv = [
      '-F', cfg, '-v', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-i', sshd.clientKeyPath, '-W', `127.0.0.1:${sshd.port}`, sshd.target,
    ];
    const keep = (l: string) => /^(debug1: (\S+ line \d+: (Skipping|Applying)|Connecting to |Connection established)|Authenticated to )/.test(l);
    const { ours, theirs } = await sideBySide(argv, keep);
    // sshconnect.c ssh_connect_direct: "Connection established." without the address (pure-ssh
    // said `Connection established to ADDR port P.`).
    expect(ours.slice(0, 4)).toEqual([
      `debug1: ${cfg} line 1: Skipping Host block because of negated match for 127.0.0.1`,
      `debug1: ${cfg} line 3: Applying options for 127.0.0.*`,
      `debug1: Connecting to 127.0.0.1 [127.0.0.1] port ${sshd.port}.`,
      'debug1: Connection established.',
    ]);
    expect(ours.at(-1)).toMatch(/^Authenticated to 127\.0\.0\.1 /);
    if (theirs) expect(ours).toEqual(theirs);
  });

  it('the banner exchange and ssh_login: "Local version string", "Remote protocol version", then "Authenticating to HOST:PORT as \'USER\'" (break35)', async () => {
    const argv = [
      '-F', '/dev/null', '-v', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-i', sshd.clientKeyPath, '-l', sshd.user, '-W', `127.0.0.1:${sshd.port}`, sshd.host,
    ];
    // The software versions differ (pure_ssh against OpenSSH): their shape and order are compared.
    const keep = (l: string) => /^debug1: (Local version string |Remote protocol version |Authenticating to )/.test(l);
    const shape = (l: string) => l.replace(/^(debug1: Local version string SSH-2\.0-)\S.*$/, '$1…');
    const { ours, theirs } = await sideBySide(argv, keep);
    expect(ours.map(shape)).toEqual([
      'debug1: Local version string SSH-2.0-…',
      expect.stringMatching(/^debug1: Remote protocol version 2\.0, remote software version OpenSSH_/),
      `debug1: Authenticating to ${sshd.host}:${sshd.port} as '${sshd.user}'`,
    ]);
    expect(ours[0]).toMatch(/^debug1: Local version string SSH-2\.0-pure_ssh_/);
    if (theirs) expect(ours.map(shape)).toEqual(theirs.map(shape));
  });

  it('a plain host key only a @cert-authority line names: the host is new, strict checking refuses it, nothing said of the CA line', async () => {
    await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', join(dir, 'host_ca')]);
    const { readFile } = await import('node:fs/promises');
    const ca = (await readFile(join(dir, 'host_ca.pub'), 'utf8')).trim();
    const known = join(dir, 'known_ca_only');
    await writeFile(known, `@cert-authority [127.0.0.1]:${sshd.port} ${ca}\n`);
    const argv = [
      '-F', '/dev/null', '-v', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${known}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'BatchMode=yes', '-W', `127.0.0.1:${sshd.port}`, sshd.target,
    ];
    // From the server's key to the end.
    const { ours, theirs } = await sideBySide(argv, () => true);
    const tail = (lines: string[]) => lines.slice(lines.findIndex((l) => l.startsWith('debug1: Server host key: ')) + 1);
    expect(ours.join('\n')).not.toContain('cert-authority');
    expect(tail(ours)).toContain('No ED25519 host key is known for [127.0.0.1]:' + sshd.port + ' and you have requested strict checking.');
    if (theirs) expect(tail(ours)).toEqual(tail(theirs));
  });

  it('-W with -L and -D kept (ClearAllForwardings=no): the -W channel is 0, the listeners 1 and on, in ssh\'s channel lines', async () => {
    const [local, dynamic] = [await freePort(), await freePort()];
    const sock = join(dir, 'w-fwd.sock');
    const argv = [
      '-F', '/dev/null', '-v', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-i', sshd.clientKeyPath, '-o', 'ClearAllForwardings=no', '-L', `127.0.0.1:${local}:127.0.0.1:${sshd.port}`, '-L', `${sock}:127.0.0.1:${sshd.port}`,
      '-D', `127.0.0.1:${dynamic}`, '-W', `127.0.0.1:${sshd.port}`, sshd.target,
    ];
    const keep = (l: string) => /^debug1: channel \d+: new (port|unix)-listener /.test(l);
    // Each client's own socket (neither removes it at its end).
    const ours = (await stderrOf('pure-ssh', argv)).filter(keep);
    await rm(sock, { force: true });
    const theirs = sshClientAvailable() ? (await stderrOf('ssh', argv)).filter(keep) : undefined;
    expect(ours).toEqual([
      'debug1: channel 1: new port-listener [port listener] (inactive timeout: 0)',
      'debug1: channel 2: new unix-listener [unix listener] (inactive timeout: 0)',
      'debug1: channel 3: new port-listener [port listener] (inactive timeout: 0)',
    ]);
    if (theirs) expect(ours).toEqual(theirs);
  });
});
