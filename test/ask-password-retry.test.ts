/**
 * askPassword's `context.retry` (break17 F6), against sshd 9.2 with PAM, which offers
 * keyboard-interactive and password: true whenever the server refused the same method's previous
 * answer. keyboard-interactive is asked again after a failure (sshconnect2.c userauth_kbdint), so
 * its 2nd and 3rd prompts are re-asks; they used to say retry: false, and an application could
 * not say "wrong password" on a PAM server's default method. The password method's first prompt
 * follows no refusal of its own: retry false there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect as webConnect } from '../src/web/index.js';
import { connectTo } from './harness/client.js';
import { dialNodeWeb } from './runtimes/dial-node.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

/** An askPassword that answers with `next()` and records each context it was given, in `asked`. */
function recording(next: () => string | null) {
  const asked: { retry: boolean; method: string }[] = [];
  const askPassword = (_prompt: string, context: { retry: boolean; method: string }) => {
    // (keyboard-interactive's echo, index and count are kbdint-prompts.test.ts's.)
    asked.push({ retry: context.retry, method: context.method });
    return next();
  };
  return { asked, askPassword };
}

describeInterop('askPassword context.retry on keyboard-interactive and password re-asks (sshd 9.2, PAM)', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd({ password: true, config: { UsePAM: 'yes', KbdInteractiveAuthentication: 'yes' } });
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  it('three wrong keyboard-interactive answers, a wrong password, the right one: retry false, true, true; false, true', async () => {
    const answers = ['bad1', 'bad2', 'bad3', 'bad4', sshd.password!.password];
    const { asked, askPassword } = recording(() => answers.shift() ?? null);
    const ssh = await connectTo(sshd, {
      username: sshd.password!.user,
      privateKey: undefined,
      passwordAttempts: 3,
      askPassword,
    });
    await ssh.close();
    expect(asked).toEqual([
      { retry: false, method: 'keyboard-interactive' },
      { retry: true, method: 'keyboard-interactive' },
      { retry: true, method: 'keyboard-interactive' },
      { retry: false, method: 'password' },
      { retry: true, method: 'password' },
    ]);
  }, 60_000);

  // The `password` option answers keyboard-interactive once, as the password method sends it once;
  // it used to answer every keyboard-interactive request again (three refusals of the same
  // password) and askPassword was asked only for the password method after them.
  it('a wrong `password` option with askPassword: the stored one once, then askPassword for keyboard-interactive (retry true)', async () => {
    const { asked, askPassword } = recording(() => sshd.password!.password);
    const ssh = await connectTo(sshd, {
      username: sshd.password!.user,
      privateKey: undefined,
      password: 'not-the-password',
      askPassword,
    });
    await ssh.close();
    expect(asked).toEqual([{ retry: true, method: 'keyboard-interactive' }]);
  }, 60_000);

  // pure-ssh/web's askPassword had no context at all (break18 lib's "noticed").
  it('pure-ssh/web: the same context, a wrong keyboard-interactive answer then the right one: retry false, true', async () => {
    const answers = ['bad1', sshd.password!.password];
    const { asked, askPassword } = recording(() => answers.shift() ?? null);
    const ssh = await webConnect({
      transport: dialNodeWeb(sshd.port),
      host: sshd.host,
      port: sshd.port,
      username: sshd.password!.user,
      knownHosts: sshd.hostKeyLines.join('\n'),
      askPassword,
    });
    await ssh.close();
    expect(asked).toEqual([
      { retry: false, method: 'keyboard-interactive' },
      { retry: true, method: 'keyboard-interactive' },
    ]);
  }, 60_000);

  it('the right keyboard-interactive answer at once: one prompt, retry false', async () => {
    const { asked, askPassword } = recording(() => sshd.password!.password);
    const ssh = await connectTo(sshd, {
      username: sshd.password!.user,
      privateKey: undefined,
      askPassword,
    });
    await ssh.close();
    expect(asked).toEqual([{ retry: false, method: 'keyboard-interactive' }]);
  }, 30_000);
});
