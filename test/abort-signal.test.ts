/**
 * connect()'s AbortSignal, Node and pure-ssh/web, against sshd 9.2 (break17's library checks):
 * one wording whenever it fires, before or during connect(), `SshError` ERR_ABORTED "the
 * connection was aborted by its AbortSignal" with the signal's reason as `cause`. A pre-aborted
 * signal used to say "connect aborted" (Node) or throw the bare reason (web, throwIfAborted);
 * a signal that fired while connect() waited before the SSH connection existed (a key's
 * askPassphrase, a transport still opening) was not heard, and connect() never settled.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { SshError, UsageError } from '../src/errors.js';
import { tunnel } from '../src/index.js';
import { connect as webConnect, type ByteStreamPair, type WebConnectOptions } from '../src/web/index.js';
import { clientOptions, connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { dialNodeWeb } from './runtimes/dial-node.js';

const WORDS = 'the connection was aborted by its AbortSignal';

/** What `p` settled with within 5 s, or 'hang'. */
async function settle(p: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((r) => (timer = setTimeout(() => r('hang'), 5_000)));
  try {
    return await Promise.race([p.then(() => 'connected', (err: unknown) => err), hang]);
  } finally {
    clearTimeout(timer);
  }
}

function expectAborted(err: unknown, reason: unknown): void {
  expect(err).toBeInstanceOf(SshError);
  expect({ code: (err as SshError).code, message: (err as SshError).message }).toEqual({ code: 'ERR_ABORTED', message: WORDS });
  expect((err as SshError).cause).toBe(reason);
}

const never = () => new Promise<never>(() => {});

/** Abort 200 ms from now (called from a callback that never answers). */
function abortSoon(ac: AbortController, reason: unknown): void {
  setTimeout(() => ac.abort(reason), 200);
}

describeInterop('AbortSignal: one ERR_ABORTED wording before and during connect(), Node and web', () => {
  let sshd: SshdHandle;
  let dir: string;
  let certified: string;
  beforeAll(async () => {
    sshd = await startSshd({ password: true });
    dir = mkdtempSync(join(tmpdir(), 'abort-'));
    // An encrypted key with a user certificate beside it: its key is loaded (its passphrase
    // asked) before connecting, to pair them.
    certified = join(dir, 'id');
    copyFileSync(sshd.clientKeyPath, certified);
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'pp', '-f', certified]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
    execFileSync('sh', ['-c', `ssh-keygen -q -y -f '${sshd.clientKeyPath}' > '${certified}.pub'`]);
    execFileSync('ssh-keygen', ['-q', '-s', join(dir, 'ca'), '-I', 'abort-test', '-n', 'root', `${certified}.pub`]);
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Node: aborted before connect(), or while askPassword waits: the same error', async () => {
    const reason = new Error('user left');
    const pre = await settle(connectTo(sshd, { signal: AbortSignal.abort(reason) }));
    expectAborted(pre, reason);
    const ac = new AbortController();
    const during = await settle(connectTo(sshd, { username: sshd.password!.user, privateKey: undefined, askPassword: () => (abortSoon(ac, reason), never()), signal: ac.signal }));
    expectAborted(during, reason);
  });

  it('Node: a signal aborted already and a mistake in the options: the UsageError wins, a jump host\'s and tunnel()\'s too (they were ERR_ABORTED)', async () => {
    const reason = new Error('user left');
    const signal = AbortSignal.abort(reason);
    const cases: [string, Promise<unknown>, string][] = [
      ['own option', connectTo(sshd, { signal, keepaliveCountMax: -1 }), 'keepaliveCountMax must be a whole number >= 0, got -1'],
      ['jump host option', connectTo(sshd, { signal, jump: [{ host: sshd.host, port: 70000 }] }), `jump[0] (${sshd.host}): port must be a whole number from 1 to 65535, got 70000`],
      ['jump list', connectTo(sshd, { signal, jump: 'root@:x' }), 'jump: invalid ProxyJump list "root@:x" (expected [user@]host[:port][,...])'],
      ['jump and sock', connectTo(sshd, { signal, jump: sshd.host, sock: new PassThrough() }), 'connect(): give either jump or sock, not both'],
      [
        "tunnel()'s connect options, its reconnect signal aborted",
        tunnel(clientOptions(sshd, { jump: [{ host: sshd.host, port: 70000 }] }), { listen: { port: 0 }, to: { host: '127.0.0.1', port: 1 } }, { signal }),
        `jump[0] (${sshd.host}): port must be a whole number from 1 to 65535, got 70000`,
      ],
    ];
    for (const [what, p, message] of cases) {
      const err = await settle(p);
      expect(err, what).toBeInstanceOf(UsageError);
      expect((err as UsageError).message, what).toBe(message);
    }
    // Without a mistake, the signal still speaks first (no socket opened).
    expectAborted(await settle(connectTo(sshd, { signal, jump: [{ host: sshd.host, port: sshd.port }] })), reason);
  });

  it('Node: aborted while askPassphrase waits for a certified key before connecting: settles (it hung)', async () => {
    const reason = new Error('user left');
    const ac = new AbortController();
    let asked = 0;
    const err = await settle(
      connectTo(sshd, {
        privateKey: undefined,
        identityFiles: [certified],
        askPassphrase: () => (asked++, abortSoon(ac, reason), never()),
        signal: ac.signal,
      }),
    );
    expect(asked).toBe(1);
    expectAborted(err, reason);
  });

  const web = (transport: WebConnectOptions['transport'], more: Partial<WebConnectOptions>) =>
    webConnect({ transport, host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.hostKeyLines.join('\n'), ...more });

  it('web: aborted before connect(), while the transport is still opening, or while askPassword waits: the same error', async () => {
    const reason = new Error('tab closed');
    const pre = await settle(web(dialNodeWeb(sshd.port), { signal: AbortSignal.abort(reason) }));
    expectAborted(pre, reason);
    let ac = new AbortController();
    abortSoon(ac, reason);
    const opening = await settle(web(new Promise<ByteStreamPair>(() => {}), { signal: ac.signal }));
    expectAborted(opening, reason);
    ac = new AbortController();
    const during = await settle(web(dialNodeWeb(sshd.port), { username: sshd.password!.user, privateKey: undefined, askPassword: () => (abortSoon(ac, reason), never()), signal: ac.signal }));
    expectAborted(during, reason);
  });
});
