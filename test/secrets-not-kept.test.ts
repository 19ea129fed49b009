/**
 * The password and the key passphrase are not kept where util.inspect or JSON.stringify of the
 * client would show them (tester tlib's finding 9: `console.log(ssh)` printed both, and the
 * private key text). The core keeps the password in an ES private field and drops it once
 * authentication is over, as ssh(1) frees its copy (sshconnect2.c userauth_passwd). Node and
 * web clients against sshd 9.2, logged in by password.
 */
import { inspect } from 'node:util';
import { expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { connect as webConnect } from '../src/web/index.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/runners.js';

const PASSPHRASE = 'PASSPHRASE-not-to-be-shown';

/** Everything a careless log line could print of `client`. */
function views(client: object): string {
  let json: string;
  try {
    json = JSON.stringify(client);
  } catch (e) {
    json = `(JSON.stringify threw ${(e as Error).message})`;
  }
  return inspect(client, { depth: Infinity, showHidden: true, getters: true }) + '\n' + json;
}

describeInterop('secrets are not kept in view on the client', () => {
  const sshd = sshdSuite({ password: true });

  it('Node: password, passphrase and private key text are shown by neither util.inspect nor JSON.stringify', async () => {
    const { user, password } = sshd.password!;
    const ssh: SshClient = await connect({
      host: sshd.host,
      port: sshd.port,
      username: user,
      knownHosts: sshd.knownHostsPath,
      password,
      passphrase: PASSPHRASE,
      // A key the server does not take for this user's login is still read; the password logs in.
      privateKey: sshd.clientKey,
    });
    try {
      const shown = views(ssh);
      expect(shown).toContain(String(sshd.port));
      expect(shown).not.toContain(password);
      expect(shown).not.toContain(PASSPHRASE);
      expect(shown).not.toContain('BEGIN OPENSSH PRIVATE KEY');
    } finally {
      await ssh.close();
    }
  });

  it('web: the same for the web client', async () => {
    const { user, password } = sshd.password!;
    const ssh = await webConnect({
      transport: dialNodeWeb(sshd.port),
      host: sshd.host,
      port: sshd.port,
      username: user,
      knownHosts: sshd.hostKeyLines.join('\n'),
      password,
      passphrase: PASSPHRASE,
    });
    try {
      const shown = views(ssh);
      expect(shown).toContain(user);
      expect(shown).not.toContain(password);
      expect(shown).not.toContain(PASSPHRASE);
    } finally {
      await ssh.close();
    }
  });
});
