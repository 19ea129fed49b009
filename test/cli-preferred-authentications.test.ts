/**
 * ssh_config(5) PreferredAuthentications beside ssh 9.2: the methods are tried in the order given
 * among those the server allows (sshconnect2.c authmethod_get), methods pure-ssh lacks skipped
 * with a -v line; `-G` prints it as ssh does. The server takes both the client key and a password
 * for the same user: which one logs in shows the order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';
import { startCli, type CliClient } from './harness/proc.js';

/** `client` until it exits, or until `until` matches its stderr (then SIGTERM); `err` without CRs. */
async function run(client: CliClient, args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<{ out: string; err: string; code: number | null }> {
  const { stdout, stderr, code } = await startCli(client, args, { env, stdout: 'pipe', until, untilSignal: 'SIGTERM' }).done;
  return { out: stdout, err: stderr.replace(/\r/g, ''), code };
}

describeInteropWithHome('CLI: PreferredAuthentications, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let env: NodeJS.ProcessEnv;
  let asked: string;
  beforeAll(async () => {
    sshd = await startSshd({ password: true });
    const askpass = join(sshd.dir, 'askpass');
    asked = join(sshd.dir, 'asked');
    writeFileSync(askpass, `#!/bin/sh\nprintf x >> '${asked}'\necho '${sshd.password!.password}'\n`, { mode: 0o700 });
    env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', SSH_AUTH_SOCK: '' });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const args = () => [
    '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-v', '-N',
  ];
  const used = (err: string) => /Authenticated to .* using "([^"]+)"\./.exec(err)?.[1];

  // root: the key logs in, a password never does (PermitRootLogin prohibit-password); the
  // askpass program counts the password prompts. The password user: its password logs in.
  for (const [user, list, method, prompts] of [
    ['root', 'gssapi-with-mic,password,publickey', 'publickey', 1],
    ['root', 'hostbased,publickey,password', 'publickey', 0],
    ['password', 'keyboard-interactive,password', 'password', 1],
  ] as const) {
    it(`${user}, ${list}: ${prompts} password prompt(s), then ${method}, as ssh`, async () => {
      const login = user === 'root' ? 'root' : sshd.password!.user;
      const a = [...args(), '-o', 'NumberOfPasswordPrompts=1', '-o', `PreferredAuthentications=${list}`, `${login}@127.0.0.1`];
      const results = [];
      for (const client of ['ssh', 'pure-ssh'] as const) {
        writeFileSync(asked, '');
        const r = await run(client, a, env, /Authenticated to /);
        results.push({ method: used(r.err), prompts: readFileSync(asked, 'utf8').length, offered: /Offering public key/.test(r.err), err: r.err });
      }
      const [ssh, ours] = results;
      expect([ssh!.method, ssh!.prompts, ssh!.offered], ssh!.err).toEqual([method, prompts, method === 'publickey']);
      expect([ours!.method, ours!.prompts, ours!.offered], ours!.err).toEqual([method, prompts, method === 'publickey']);
      const skipped = list.split(',')[0]!;
      if (skipped === 'gssapi-with-mic' || skipped === 'hostbased') {
        expect(ours!.err).toContain(`debug1: PreferredAuthentications: skipping ${skipped}, which pure-ssh does not implement\n`);
      }
    }, 60_000);
  }

  it('only methods the server refuses: Permission denied naming the server\'s list, 255, as ssh', async () => {
    const a = [...args(), '-o', 'PreferredAuthentications=hostbased', '-o', 'BatchMode=yes', `${sshd.password!.user}@127.0.0.1`];
    const ssh = await run('ssh', a, env);
    const ours = await run('pure-ssh', a, env);
    const denied = (err: string) => err.split('\n').find((l) => l.startsWith(`${sshd.password!.user}@127.0.0.1: Permission denied`));
    expect([ours.code, denied(ours.err)]).toEqual([ssh.code, denied(ssh.err)]);
    expect(ssh.code).toBe(255);
  }, 60_000);

  it('-G prints it as written, as ssh -G', async () => {
    const a = ['-G', '-F', 'none', '-o', 'PreferredAuthentications=password,gssapi-with-mic', 'h'];
    const line = (out: string) => out.split('\n').filter((l) => l.startsWith('preferredauthentications'));
    const ssh = await run('ssh', a, env);
    const ours = await run('pure-ssh', a, env);
    expect(line(ours.out)).toEqual(['preferredauthentications password,gssapi-with-mic']);
    expect(line(ours.out)).toEqual(line(ssh.out));
  });
});
