/**
 * connect()'s callbacks in every shape an application writes them (tester tnew's F6), against
 * sshd 9.2 with a password user: askPassword that throws used to escape from the socket's read
 * as an uncaught exception (killing the host process) while connect() never settled, and one
 * answering a plain string failed with "ask(...).then is not a function", the same way. Now each
 * callback goes through user-callback.ts: a value or a promise of one is an answer; null or
 * undefined gives the method (or key) up; a throw or a rejection ends connect() with an SshError
 * ERR_ABORTED whose `cause` is the callback's error; an answer of another type is a UsageError.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { AuthenticationError, SshError, UsageError } from '../src/errors.js';
import { parsePrivateKey } from '../src/keys/privatekey.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

/** connect() settled within 10 s (the old code never settled), or 'hang'. */
async function settle(p: Promise<SshClient>): Promise<{ ssh?: SshClient; err?: unknown; hang?: true }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<{ hang: true }>((r) => (timer = setTimeout(() => r({ hang: true }), 10_000)));
  try {
    return await Promise.race([p.then((ssh) => ({ ssh }), (err: unknown) => ({ err })), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describeInterop('connect() callbacks: sync, async, throwing, rejecting, odd answers', () => {
  let sshd: SshdHandle;
  let dir: string;
  let encrypted: string;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  beforeAll(async () => {
    sshd = await startSshd({ password: true });
    dir = mkdtempSync(join(tmpdir(), 'user-cb-'));
    encrypted = join(dir, 'encrypted');
    copyFileSync(sshd.clientKeyPath, encrypted);
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'right-passphrase', '-f', encrypted]);
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // An exception thrown out of a socket's 'data' handler: the host process would die of it.
  beforeEach(() => {
    uncaught.length = 0;
    process.prependListener('uncaughtException', onUncaught);
  });
  afterEach(() => {
    process.off('uncaughtException', onUncaught);
    expect(uncaught.map(String)).toEqual([]);
  });

  const asPasswordUser = (askPassword: unknown) =>
    connectTo(sshd, { username: sshd.password!.user, privateKey: undefined, askPassword: askPassword as () => Promise<string> });

  it('askPassword that throws: connect() rejects with ERR_ABORTED, its error as cause', async () => {
    const cancelled = new Error('user cancelled');
    const r = await settle(
      asPasswordUser(() => {
        throw cancelled;
      }),
    );
    expect(r.hang).toBeUndefined();
    expect(r.err).toBeInstanceOf(SshError);
    expect((r.err as SshError).code).toBe('ERR_ABORTED');
    expect((r.err as SshError).message).toBe('the askPassword callback failed: user cancelled');
    expect((r.err as SshError).cause).toBe(cancelled);
  });

  it('askPassword that rejects: the same, with the rejection as cause (it used to be dropped)', async () => {
    const cancelled = new Error('user cancelled async');
    const r = await settle(asPasswordUser(() => Promise.reject(cancelled)));
    expect((r.err as SshError)?.code).toBe('ERR_ABORTED');
    expect((r.err as SshError).cause).toBe(cancelled);
  });

  it('askPassword answering a plain string logs in, as a promise of it does', async () => {
    for (const ask of [() => sshd.password!.password, async () => sshd.password!.password]) {
      const r = await settle(asPasswordUser(ask));
      expect(r.err).toBeUndefined();
      expect(r.ssh).toBeDefined();
      await r.ssh!.close();
    }
  });

  it('askPassword answering null or undefined gives passwords up: the AuthenticationError', async () => {
    for (const ask of [() => null, () => undefined, async () => null]) {
      const r = await settle(asPasswordUser(ask));
      expect(r.err).toBeInstanceOf(AuthenticationError);
    }
  });

  it('askPassword answering a number: a UsageError, nothing sent on a guess', async () => {
    const r = await settle(asPasswordUser(() => 42));
    expect(r.err).toBeInstanceOf(UsageError);
    expect((r.err as Error).message).toBe('askPassword must return (or resolve with) a string, or null to give up, got 42');
  });

  it('askPassphrase: a plain string unlocks the key; a throw or rejection ends connect() with it as cause', async () => {
    const withKey = (askPassphrase: unknown) =>
      settle(connectTo(sshd, { privateKey: undefined, identityFiles: [encrypted], askPassphrase: askPassphrase as () => Promise<string> }));
    const ok = await withKey(() => 'right-passphrase');
    expect(ok.err).toBeUndefined();
    await ok.ssh!.close();
    const cancelled = new Error('pp cancelled');
    for (const ask of [
      () => {
        throw cancelled;
      },
      () => Promise.reject(cancelled),
    ]) {
      const r = await withKey(ask);
      expect((r.err as SshError)?.code).toBe('ERR_ABORTED');
      expect((r.err as SshError).message).toBe('the askPassphrase callback failed: pp cancelled');
      expect((r.err as SshError).cause).toBe(cancelled);
    }
    const gaveUp = await withKey(() => undefined);
    expect(gaveUp.err).toBeInstanceOf(AuthenticationError);
  });

  it('a signer that throws synchronously is skipped with its reason, as a rejecting one is', async () => {
    const key = parsePrivateKey(readFileSync(sshd.clientKeyPath, 'utf8'));
    const r = await settle(
      connectTo(sshd, {
        privateKey: undefined,
        signers: [
          {
            publicKeyBlob: key.publicKeyBlob,
            comment: 'kms',
            sign: () => {
              throw new Error('token unplugged');
            },
          },
        ],
      }),
    );
    expect(r.err).toBeInstanceOf(AuthenticationError);
    expect((r.err as Error).message).toContain('token unplugged');
  });

  it('a debug hook that throws inside the IO loop ends connect() with ERR_ABORTED, never uncaught', async () => {
    const boom = new Error('logger broke');
    let calls = 0;
    const r = await settle(
      connectTo(sshd, {
        debug: (m) => {
          // After connect()'s own lines: one from the socket's read (the server's version).
          if (m.startsWith('Remote protocol version') && calls++ === 0) throw boom;
        },
      }),
    );
    expect((r.err as SshError)?.code).toBe('ERR_ABORTED');
    expect((r.err as SshError).cause).toBe(boom);
  });
});
