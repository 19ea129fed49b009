/**
 * The application's hooks that throw (debug, warn, onBanner, onKeyboardInteractiveInfo, ...), in
 * the Node client and pure-ssh/web, against sshd 9.2 (with PAM, a banner and a
 * keyboard-interactive instruction): wherever one is called, before the SSH connection exists, in
 * the known_hosts check or inside the IO loop, connect() ends with SshError ERR_ABORTED "the NAME
 * callback failed: ..." whose `cause` is the hook's error, never an uncaught exception or an
 * unhandled rejection, never another error class. Before: the web client had no guard (a throw
 * became a ConnectionLostError, a raw error, or an unhandled rejection that left connect()
 * pending); the Node client's known_hosts check took a throwing debug for its refusal
 * (HostKeyError), onKeyboardInteractiveInfo was unguarded (uncaught), and a hook throwing while
 * keys were loaded or a jump hop began rejected connect() with the bare error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { SshError } from '../src/errors.js';
import type { ConnectOptions } from '../src/index.js';
import { connect as webConnect, type WebConnectOptions } from '../src/web/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/dial-node.js';

const INSTRUCTION = 'pure-ssh hook test';

/** What `p` settled with within 10 s, or 'hang'. */
async function settle(p: Promise<{ close(): Promise<void> }>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((r) => (timer = setTimeout(() => r('hang'), 10_000)));
  try {
    return await Promise.race([p.then(async (c) => (await c.close(), 'connected'), (err: unknown) => err), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** A hook that throws `boom` on the first call whose text matches `when`. */
function thrower(boom: Error, when: RegExp = /./) {
  let thrown = false;
  return (m: unknown) => {
    const text = typeof m === 'string' ? m : JSON.stringify(m);
    if (!thrown && when.test(text)) {
      thrown = true;
      throw boom;
    }
  };
}

function expectAborted(err: unknown, name: string, boom: Error): void {
  expect(err).toBeInstanceOf(SshError);
  expect({ code: (err as SshError).code, message: (err as SshError).message }).toEqual({ code: 'ERR_ABORTED', message: `the ${name} callback failed: ${boom.message}` });
  expect((err as SshError).cause).toBe(boom);
}

describeInterop('hooks that throw end connect() with ERR_ABORTED, Node and web', () => {
  let sshd: SshdHandle;
  let dir: string;
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hook-throws-'));
    const banner = join(dir, 'banner');
    writeFileSync(banner, 'hook test banner\n');
    sshd = await startSshd({
      password: true,
      config: { UsePAM: 'yes', KbdInteractiveAuthentication: 'yes', Banner: banner },
      pamService: {
        name: 'pure-ssh-hook-throws',
        config: `auth requisite pam_echo.so ${INSTRUCTION}\nauth requisite pam_deny.so\naccount required pam_permit.so\nsession required pam_permit.so\n`,
      },
    });
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    escaped.length = 0;
    process.prependListener('uncaughtException', onEscape);
    process.prependListener('unhandledRejection', onEscape);
  });
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 200));
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    expect(escaped.map(String)).toEqual([]);
  });

  const web = (more: Partial<WebConnectOptions>) =>
    webConnect({ transport: dialNodeWeb(sshd.port), host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.hostKeyLines.join('\n'), ...more });

  const webCases: [string, string, (boom: Error) => Partial<WebConnectOptions>][] = [
    ['debug before the connection (known_hosts ordering)', 'debug', (boom) => ({ debug: thrower(boom) })],
    ['debug in the IO loop (the server version)', 'debug', (boom) => ({ debug: thrower(boom, /^Remote protocol version /) })],
    ['debug in the host key check', 'debug', (boom) => ({ debug: thrower(boom, /^Host key for .* accepted/) })],
    ['onBanner', 'onBanner', (boom) => ({ onBanner: thrower(boom) })],
    // Written async: a rejection, which was an unhandled rejection (fatal in Node).
    ['onBanner written async', 'onBanner', (boom) => ({ onBanner: async (m: string) => thrower(boom)(m) })],
  ];
  for (const [what, name, opts] of webCases) {
    it(`web: ${what}`, async () => {
      const boom = new Error(`web ${name} broke`);
      expectAborted(await settle(web(opts(boom))), name, boom);
    });
  }

  const node = (more: Partial<ConnectOptions>) => connectTo(sshd, more);

  it('Node: debug in the known_hosts check is ERR_ABORTED, not a HostKeyError', async () => {
    const boom = new Error('logger broke');
    expectAborted(await settle(node({ debug: thrower(boom, /^Host '.*' is known and matches/) })), 'debug', boom);
  });

  it('Node: onKeyboardInteractiveInfo (PAM instruction) is guarded like the other hooks', async () => {
    const boom = new Error('ui broke');
    const err = await settle(node({ username: sshd.password!.user, privateKey: undefined, askPassword: () => null, onKeyboardInteractiveInfo: thrower(boom) }));
    expectAborted(err, 'onKeyboardInteractiveInfo', boom);
  });

  const missing = () => join(dir, 'missing');
  const nodeCases: [string, string, (boom: Error) => Partial<ConnectOptions>][] = [
    ['warn while keys load', 'warn', (boom) => ({ identityFiles: [missing()], warn: thrower(boom) })],
    ['debug while keys load', 'debug', (boom) => ({ identityFiles: [missing()], debug: thrower(boom, /not accessible/) })],
    [
      'debug as a jump hop begins',
      'debug',
      (boom) => ({ jump: [{ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath }], debug: thrower(boom, /^Connecting to jump host/) }),
    ],
  ];
  nodeCases.push(['debug written async (it rejects)', 'debug', (boom) => ({ debug: async (m: string) => thrower(boom, /^Remote protocol version /)(m) })]);
  for (const [what, name, opts] of nodeCases) {
    it(`Node: ${what}: ERR_ABORTED, not the bare error`, async () => {
      const boom = new Error(`node ${name} broke`);
      expectAborted(await settle(node(opts(boom))), name, boom);
    });
  }

  it("Node: a 'close' listener that throws: `closed` still settles (it never did)", async () => {
    const ssh = await node({});
    const boom = new Error('listener broke');
    ssh.on('close', () => {
      throw boom;
    });
    // EventEmitter's own rule: the throw goes to the emitter's caller, here close().
    await expect(ssh.close()).rejects.toBe(boom);
    expect(await settle(ssh.closed.then(() => ({ close: async () => {} })))).toBe('connected');
  });
});
