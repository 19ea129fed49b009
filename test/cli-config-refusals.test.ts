/**
 * The built `pure-ssh` command refuses configuration it cannot honour before it opens any
 * connection: a bastion in the config must never turn into a direct connection. Needs
 * `npm run build` first (package.json's "test" script does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeWithHome } from './harness/home.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI, SSH_CLIENT_PATH } from './harness/proc.js';


function pureSsh(args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return run(process.execPath, [CLI, ...args], home);
}

function run(file: string, args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: cliEnv(home), timeout: 15_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

describeWithHome('pure-ssh refuses what it cannot honour, before connecting', () => {
  let home: string;
  let server: net.Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'pure-ssh-refusals-'));
    // Stands for the destination: any connection to it means the configuration was bypassed.
    server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(home, { recursive: true, force: true });
  });

  const config = async (text: string) => {
    const path = join(home, `cfg${Math.random().toString(36).slice(2)}`);
    await writeFile(path, text);
    return path;
  };

  it('BindAddress in a matching Host block: exit 255, file and line named, no connection made', async () => {
    const cfg = await config(`Host other\n  BindAddress 127.0.0.3\nHost target\n  HostName 127.0.0.1\n  Port ${port}\n  BindAddress 127.0.0.2\n`);
    const r = await pureSsh(['-F', cfg, '-N', 'target'], home);
    expect(r.code).toBe(255);
    expect(r.stderr).toBe(
      `${cfg} line 6: unsupported option "BindAddress": pure-ssh does not implement it yet ` +
        `(it sets the local address the connection leaves from)\r\n${cfg}: terminating, 1 bad configuration options\r\n`,
    );
    expect(connections).toBe(0);
  });

  it('KbdInteractiveDevices through Include, BindAddress after a true Match exec, -o BindAddress and -A: each refused by name', async () => {
    const inc = await config('KbdInteractiveDevices pam\n');
    const viaInclude = await config(`Host *\n  Include ${inc}\n`);
    const matchExec = await config(`Port ${port}\nMatch exec "test -e /"\n  BindAddress 127.0.0.2\n`);
    const runs = await Promise.all([
      pureSsh(['-F', viaInclude, '-N', '-p', String(port), '127.0.0.1'], home),
      pureSsh(['-F', matchExec, '-N', '127.0.0.1'], home),
      pureSsh(['-F', 'none', '-o', 'BindAddress=127.0.0.2', '-N', '-p', String(port), '127.0.0.1'], home),
      pureSsh(['-F', 'none', '-A', '-N', '-p', String(port), '127.0.0.1'], home),
    ]);
    expect(runs.map((r) => r.code)).toEqual([255, 255, 255, 255]);
    expect(runs[0]!.stderr).toMatch(new RegExp(`^${inc} line 1: unsupported option "KbdInteractiveDevices": `));
    expect(runs[1]!.stderr).toMatch(new RegExp(`^${matchExec} line 3: unsupported option "BindAddress": `));
    expect(runs[2]!.stderr).toMatch(/^command-line line 0: unsupported option "BindAddress": /);
    expect(runs[3]!.stderr).toBe('pure-ssh: option -A is not supported yet (agent forwarding)\r\n');
    expect(connections).toBe(0);
  });

  it('ProxyUseFdpass yes where a ProxyCommand is the route (file or -o): exit 255, file and line named, the command never run; without a ProxyCommand, or no, nothing (break20 F5)', async () => {
    const before = connections;
    const ran = join(home, 'proxy-ran');
    // netcat-openbsd's -F passes the connected socket back (SCM_RIGHTS), which Node cannot receive.
    const proxy = `touch ${ran}; nc -F 127.0.0.1 ${port}`;
    const cfg = await config(`Host fdp\n  ProxyCommand ${proxy}\n  BatchMode yes\nHost *\n  ProxyUseFdpass yes\n  ProxyUseFdpass no\n`);
    const reason = 'pure-ssh does not implement it yet (the ProxyCommand would pass back a connected socket, which Node cannot receive; without it pure-ssh speaks on its stdin and stdout)';
    const file = await pureSsh(['-F', cfg, '-N', 'fdp'], home);
    expect([file.code, file.stderr]).toEqual([255, `${cfg} line 5: unsupported option "ProxyUseFdpass": ${reason}\r\n`]);
    const opt = await pureSsh(['-F', 'none', '-o', 'ProxyUseFdpass=yes', '-o', `ProxyCommand=${proxy}`, '-N', 'fdp'], home);
    expect([opt.code, opt.stderr]).toEqual([255, `command-line line 0: unsupported option "ProxyUseFdpass": ${reason}\r\n`]);
    expect(existsSync(ran)).toBe(false);
    // Where ssh would not use it (a direct connection, -J, ProxyUseFdpass no first): it connects.
    const direct = await pureSsh(['-F', cfg, '-N', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1'], home);
    const no = await pureSsh(['-F', cfg, '-N', '-o', 'ProxyUseFdpass=no', '-o', `ProxyCommand=nc 127.0.0.1 ${port}`, 'fdp'], home);
    expect([direct.code, no.code]).toEqual([255, 255]);
    expect(direct.stderr + no.stderr).not.toMatch(/unsupported option/);
    expect(connections - before).toBe(2);
  });

  it('ProxyCommand - (ssh: the connection on its own stdin and stdout) where it is the route: refused by name, never run as a shell command (break35)', async () => {
    const before = connections;
    const cfg = await config(`Host other\n  ProxyCommand -\nHost *\n  ProxyCommand -\n  Port ${port}\n`);
    const reason = 'pure-ssh does not implement it yet (it carries the connection on standard input and output)';
    const file = await pureSsh(['-F', cfg, '-N', '127.0.0.1'], home);
    expect([file.code, file.stderr]).toEqual([255, `${cfg} line 4: unsupported option "ProxyCommand -": ${reason}\r\n${cfg}: terminating, 1 bad configuration options\r\n`]);
    const opt = await pureSsh(['-F', 'none', '-o', 'ProxyCommand= -', '-N', '127.0.0.1'], home);
    expect([opt.code, opt.stderr]).toEqual([255, `command-line line 0: unsupported option "ProxyCommand -": ${reason}\r\n`]);
    // Not the value obtained (ProxyCommand none first, or a block for another host): the run connects.
    const later = await pureSsh(['-F', cfg, '-o', 'ProxyCommand=none', '-o', 'BatchMode=yes', '-N', '127.0.0.1'], home);
    expect(later.code).toBe(255);
    expect(later.stderr).not.toMatch(/unsupported option|exec: -/);
    expect(connections - before).toBe(1);
  });

  it('-q: ProxyUseFdpass yes refused from -o is still said, as ssh 9.2 says a refused -o under -q; from a file, silent as ssh is for a file\'s bad line', async () => {
    const before = connections;
    const reason = 'pure-ssh does not implement it yet (the ProxyCommand would pass back a connected socket, which Node cannot receive; without it pure-ssh speaks on its stdin and stdout)';
    const proxy = `nc 127.0.0.1 ${port}`;
    const opt = await pureSsh(['-q', '-F', 'none', '-o', 'ProxyUseFdpass=yes', '-o', `ProxyCommand=${proxy}`, '-N', 'fdp'], home);
    expect([opt.code, opt.stderr]).toEqual([255, `command-line line 0: unsupported option "ProxyUseFdpass": ${reason}\r\n`]);
    const cfg = await config(`ProxyCommand ${proxy}\nProxyUseFdpass yes\n`);
    const file = await pureSsh(['-q', '-F', cfg, '-N', 'fdp'], home);
    expect([file.code, file.stderr]).toEqual([255, '']);
    expect(connections).toBe(before);
    if (!existsSync(SSH_CLIENT_PATH)) return;
    // ssh 9.2 under -q: a refused -o line said (log.c, "\r\n"), a file's bad line not.
    const sshOpt = await run(SSH_CLIENT_PATH, ['-q', '-F', 'none', '-o', 'ProxyUseFdpass=maybe', '-o', `ProxyCommand=${proxy}`, 'fdp', 'true'], home);
    expect([sshOpt.code, sshOpt.stderr]).toEqual([255, 'command-line line 0: unsupported option "maybe".\r\n']);
    const bad = await config(`ProxyCommand ${proxy}\nProxyUseFdpass maybe\n`);
    const sshFile = await run(SSH_CLIENT_PATH, ['-q', '-F', bad, 'fdp', 'true'], home);
    expect([sshFile.code, sshFile.stderr]).toEqual([255, '']);
    expect(connections).toBe(before);
  });

  it('harmless keywords in a file are -v lines, and the run goes on to connect', async () => {
    const before = connections;
    const cfg = await config(`Host *\n  SendEnv LANG LC_*\n  IPQoS lowdelay\n  Port ${port}\n  BatchMode yes\n`);
    const r = await pureSsh(['-F', cfg, '-N', '-v', '-o', 'StrictHostKeyChecking=yes', '127.0.0.1'], home);
    // The stand-in server hangs up at once: the run ends there, after connecting.
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`debug1: ${cfg} line 2: ignoring unsupported option "SendEnv": `);
    expect(r.stderr).toContain(`debug1: ${cfg} line 3: ignoring unsupported option "IPQoS": the type of service is left to the system`);
    expect(connections - before).toBe(1);
  });

  it('AddKeysToAgent, common in users\' configurations: a -v line with -o as in a file, and the run goes on to connect, as ssh accepts it', async () => {
    const before = connections;
    const cfg = await config(`Host *\n  AddKeysToAgent confirm 1h\n  Port ${port}\n  BatchMode yes\n`);
    const file = await pureSsh(['-F', cfg, '-N', '-v', '-o', 'StrictHostKeyChecking=yes', '127.0.0.1'], home);
    const opt = await pureSsh(['-F', 'none', '-N', '-v', '-o', 'AddKeysToAgent=yes', '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1'], home);
    expect([file.code, opt.code]).toEqual([255, 255]);
    expect(file.stderr).toContain(`debug1: ${cfg} line 2: ignoring unsupported option "AddKeysToAgent": `);
    expect(opt.stderr).toContain('debug1: command-line line 0: ignoring unsupported option "AddKeysToAgent": ');
    expect(opt.stderr).not.toContain('terminating');
    expect(connections - before).toBe(2);
    // A bad value is still refused at once, as readconf.c refuses it.
    const bad = await pureSsh(['-F', 'none', '-N', '-o', 'AddKeysToAgent=sometimes', '127.0.0.1'], home);
    expect(bad.code).toBe(255);
    expect(connections - before).toBe(2);
  });
});
