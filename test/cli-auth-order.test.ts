/**
 * The default authentication order beside ssh 9.2: PreferredAuthentications unset is
 * sshconnect2.c authmethods[]'s order, gssapi-with-mic, hostbased, publickey,
 * keyboard-interactive, password, so a server offering both keyboard-interactive and password
 * (sshd with PAM) is answered through keyboard-interactive. Its prompt is the server's text,
 * shown as input_userauth_info_req's `(user@host) PROMPT` (here PAM's "Password: "). The
 * SSH_ASKPASS program records each prompt it is given and answers with the password.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

describeInteropWithHome('CLI: the default authentication order, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let env: NodeJS.ProcessEnv;
  let asked: string;
  beforeAll(async () => {
    sshd = await startSshd({ password: true, config: { UsePAM: 'yes', KbdInteractiveAuthentication: 'yes' } });
    const askpass = join(sshd.dir, 'askpass');
    asked = join(sshd.dir, 'asked');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${asked}'\necho '${sshd.password!.password}'\n`, { mode: 0o700 });
    env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', SSH_AUTH_SOCK: '' });
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  it('keyboard-interactive before password, its prompt as "(user@host) Password: ", as ssh', async () => {
    const user = sshd.password!.user;
    // No key: publickey has nothing that logs in. -W to a closed port ends the run once authenticated.
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-v', '-W', '127.0.0.1:1', `${user}@127.0.0.1`,
    ];
    const seen = [];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      writeFileSync(asked, '');
      const { stderr } = await startCli(client, args, { env }).done;
      const err = stderr.replace(/\r/g, '');
      seen.push({
        client,
        methods: err.split('\n').filter((l) => l.startsWith('debug1: Next authentication method: ')),
        used: /Authenticated to .* using "([^"]+)"\./.exec(err)?.[1] ?? err,
        prompts: readFileSync(asked, 'utf8').split('\n').filter(Boolean),
      });
    }
    const expected = {
      methods: ['debug1: Next authentication method: keyboard-interactive'],
      used: 'keyboard-interactive',
      prompts: [`(${user}@127.0.0.1) Password: `],
    };
    expect(seen).toEqual([{ client: 'ssh', ...expected }, { client: 'pure-ssh', ...expected }]);
  }, 60_000);

  it('NumberOfPasswordPrompts counts each method apart: three wrong keyboard-interactive answers, then the password method still asks, as ssh', async () => {
    const user = sshd.password!.user;
    // An askpass that answers wrong three times, then right.
    const askpass = join(sshd.dir, 'askpass-late');
    const count = join(sshd.dir, 'count');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${asked}'\nn=$(cat '${count}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${count}'\nif [ $n -le 3 ]; then echo wrong; else echo '${sshd.password!.password}'; fi\n`, { mode: 0o700 });
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-v', '-W', '127.0.0.1:1', `${user}@127.0.0.1`,
    ];
    const seen = [];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      writeFileSync(asked, '');
      writeFileSync(count, '0');
      const { stderr } = await startCli(client, args, { env: { ...env, SSH_ASKPASS: askpass } }).done;
      const err = stderr.replace(/\r/g, '');
      seen.push({
        client,
        used: /Authenticated to .* using "([^"]+)"\./.exec(err)?.[1] ?? err,
        prompts: readFileSync(asked, 'utf8').split('\n').filter(Boolean),
        // userauth_passwd's line; input_userauth_info_req prints none before a keyboard-interactive re-ask.
        denied: err.split('\n').filter((l) => l === 'Permission denied, please try again.').length,
      });
    }
    const kbd = `(${user}@127.0.0.1) Password: `;
    const expected = { used: 'password', prompts: [kbd, kbd, kbd, `${user}@127.0.0.1's password: `], denied: 0 };
    expect(seen).toEqual([{ client: 'ssh', ...expected }, { client: 'pure-ssh', ...expected }]);
  }, 90_000);
});
