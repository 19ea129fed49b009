/**
 * A keyboard-interactive request's name and instruction beside ssh 9.2: sshconnect2.c
 * input_userauth_info_req logit()s each one that is not empty, so they are shown at the default
 * LogLevel, one log line each (newlines kept, "\r\n" after); and userauth_kbdint asks again after
 * a failure, NumberOfPasswordPrompts requests in all. sshd 9.2's PAM device sends the messages
 * PAM gave before failing as the instruction of a request with no prompts: here its own PAM
 * service says pam_echo's text and then fails (pam_deny).
 */
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { startCli } from './harness/proc.js';
import { sshdSuite } from './harness/sshd.js';

const TEXT = 'Welcome to the pure-ssh test';

describeInteropWithHome('CLI: keyboard-interactive name and instruction, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite({
    password: true,
    config: { UsePAM: 'yes', KbdInteractiveAuthentication: 'yes' },
    pamService: {
      name: 'pure-ssh-kbdint-info',
      config: `auth requisite pam_echo.so ${TEXT}\nauth requisite pam_deny.so\naccount required pam_permit.so\nsession required pam_permit.so\n`,
    },
  });

  const args = (...more: string[]) => [
    '-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PubkeyAuthentication=no', '-o', 'PasswordAuthentication=no', ...more, '-N', `${sshd.password!.user}@127.0.0.1`,
  ];
  const env = () => cliEnv(home, { SSH_AUTH_SOCK: '' });

  it('the instruction at the default LogLevel, once per request, three requests, then Permission denied: ssh\'s stderr', async () => {
    const runs = [];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const { code, stderr } = await startCli(client, args(), { env: env() }).done;
      runs.push({ client, code, stderr });
    }
    const shown = `${TEXT}\n\r\n`;
    const expected = `${shown.repeat(3)}${sshd.password!.user}@127.0.0.1: Permission denied (publickey,password,keyboard-interactive).\r\n`;
    expect(runs).toEqual([{ client: 'ssh', code: 255, stderr: expected }, { client: 'pure-ssh', code: 255, stderr: expected }]);
  }, 60_000);

  it('-v: one "Next authentication method: keyboard-interactive", the instruction between the failures, as ssh', async () => {
    const runs = [];
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const { stderr } = await startCli(client, args('-v'), { env: env() }).done;
      const lines = stderr.replace(/\r/g, '').split('\n');
      const kept = lines.filter((l) => l === TEXT || /^debug1: (Next authentication method|Authentications that can continue):/.test(l));
      runs.push({ client, kept });
    }
    const can = 'debug1: Authentications that can continue: publickey,password,keyboard-interactive';
    const expected = [can, 'debug1: Next authentication method: keyboard-interactive', TEXT, can, TEXT, can, TEXT, can];
    expect(runs).toEqual([{ client: 'ssh', kept: expected }, { client: 'pure-ssh', kept: expected }]);
  }, 60_000);
});
