/**
 * identityFiles that cannot be loaded (tester tlib's finding 10h): ssh 9.2 with `-i missing -i
 * good` warns about the first and logs in with the next (ssh.c; sshconnect2.c
 * load_identity_file for keys it cannot load); connect() used to fail as a whole. Now each such file is reported
 * through `warn` (ssh's wording) and skipped; against sshd 9.2, with ssh 9.2 alongside.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { ConnectOptions } from '../src/index.js';
import { AuthenticationError, UsageError } from '../src/errors.js';
import { loadIdentityFile, unlockIdentityFile } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { suiteDir } from './harness/home.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

describeInterop('identityFiles: a key that cannot be loaded is skipped with a warning, as ssh does', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('id-skip-');
  let missing: string;
  let encrypted: string;
  let notAKey: string;
  beforeAll(async () => {
    missing = join(dir, 'missing');
    encrypted = join(dir, 'encrypted');
    copyFileSync(sshd.clientKeyPath, encrypted);
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'right-passphrase', '-f', encrypted]);
    notAKey = join(dir, 'not-a-key');
    writeFileSync(notAKey, 'hello\n', { mode: 0o600 });
  });

  it('loadIdentityFile / unlockIdentityFile: the caller\'s mistakes are UsageErrors (break36: a typo read as "a passphrase is needed", askPassphrase 5 as a failed callback); the right call logs in', async () => {
    const usage = async (p: Promise<unknown>, message: string) => {
      const err = await p.then(() => 'loaded', (e: unknown) => e);
      expect(err, message).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(message);
    };
    await usage(loadIdentityFile(encrypted, { passPhrase: 'right-passphrase' } as never), 'loadIdentityFile: unknown option passPhrase (did you mean passphrase?)');
    await usage(loadIdentityFile(5 as never), 'loadIdentityFile: the path must be a non-empty string, got 5');
    await usage(unlockIdentityFile(encrypted, { askPassphrase: 5 } as never), 'unlockIdentityFile: askPassphrase must be a function, got 5');
    await usage(unlockIdentityFile(encrypted, { askPassphrase: () => 'right-passphrase', attempts: -1 }), 'unlockIdentityFile: attempts must be a whole number >= 0, got -1');
    await usage(unlockIdentityFile(encrypted, { askPasphrase: () => 'right-passphrase' } as never), 'unlockIdentityFile: unknown option askPasphrase (did you mean askPassphrase?)');
    const key = await unlockIdentityFile(encrypted, { askPassphrase: () => 'right-passphrase', attempts: 1 });
    const ssh = await connectTo(sshd, { privateKey: key });
    await ssh.close();
  });

  it('ssh 9.2 itself: -i missing -i good logs in', () => {
    const r = spawnSync('ssh', [...sshd.clientArgs.filter((a) => a !== sshd.clientKeyPath && a !== '-i'), '-i', missing, '-i', sshd.clientKeyPath, sshd.target, 'true'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toContain(`Warning: Identity file ${missing} not accessible: No such file or directory.`);
    expect(r.status).toBe(0);
  });

  it('missing file, wrong passphrase, not a key: each warned about, then the good key logs in', async () => {
    const warnings: string[] = [];
    const ssh = await connectTo(sshd, {
      privateKey: undefined,
      identityFiles: [missing, encrypted, notAKey, sshd.clientKeyPath],
      passphrase: 'wrong-passphrase',
      warn: (m) => warnings.push(m),
    });
    await ssh.close();
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toBe(`Warning: Identity file ${missing} not accessible: No such file or directory.`);
    expect(warnings[1]).toMatch(new RegExp(`^Load key "${encrypted}": incorrect passphrase supplied to decrypt private key`));
    expect(warnings[2]).toMatch(new RegExp(`^Load key "${notAKey}": `));
  });

  it('no key left: the AuthenticationError, after the warning', async () => {
    const warnings: string[] = [];
    const err = await connectTo(sshd, { privateKey: undefined, identityFiles: [missing], warn: (m) => warnings.push(m) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(warnings).toEqual([`Warning: Identity file ${missing} not accessible: No such file or directory.`]);
  });

  // Tester tnew's F7: the refusal used to read "Permission denied for root (tried: none; ...)."
  // alone, a typo in a path or a wrong passphrase looking like the server's refusal.
  it('the AuthenticationError names the skipped files and why, as warn did (identitiesSkipped)', async () => {
    const cases: [Partial<ConnectOptions>, string][] = [
      [{ identityFiles: [missing] }, `Identity file ${missing} not accessible: No such file or directory`],
      [{ identityFiles: [encrypted] }, `Load key "${encrypted}": `],
      [{ identityFiles: [encrypted], passphrase: 'wrong-passphrase' }, `Load key "${encrypted}": incorrect passphrase supplied to decrypt private key`],
    ];
    for (const [opts, why] of cases) {
      const warnings: string[] = [];
      const err = (await connectTo(sshd, { privateKey: undefined, ...opts, warn: (m) => warnings.push(m) }).catch((e: unknown) => e)) as AuthenticationError;
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err.methodsTried).toEqual([]);
      expect(err.identitiesSkipped).toEqual(warnings);
      expect(err.message).toMatch(/^Permission denied for root \(tried: nothing; server allows: [^)]*\)\. Identity files skipped: /);
      expect(err.message).toContain(why);
    }
  });

  // break17: a wrong passphrase answered through askPassphrase (asked NumberOfPasswordPrompts
  // times, once the server accepted the key) ended in "signing failed ... incorrect passphrase"
  // with identitiesSkipped empty, where the `passphrase` option's wrong one is listed there.
  // Both now name the file and why; only `passphrase` warns (ssh prints nothing after its prompt).
  it('askPassphrase answering wrong (or nothing), the key offered with its public half or loaded at its turn: listed in identitiesSkipped as the passphrase option is', async () => {
    const pem = join(dir, 'pem');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-m', 'PEM', '-N', 'right-passphrase', '-f', pem]);
    rmSync(`${pem}.pub`);
    const incorrect = (f: string) => new RegExp(`^Load key "${f}": incorrect passphrase supplied to decrypt private key \\(`);
    const cases: [Partial<ConnectOptions>, RegExp, number][] = [
      [{ identityFiles: [encrypted], passphrase: 'wrong-passphrase' }, incorrect(encrypted), 0],
      [{ identityFiles: [encrypted], askPassphrase: () => 'wrong-passphrase' }, incorrect(encrypted), 3],
      [{ identityFiles: [pem], askPassphrase: () => 'wrong-passphrase' }, incorrect(pem), 3],
      [{ identityFiles: [encrypted], askPassphrase: () => null }, new RegExp(`^Load key "${encrypted}": no passphrase given$`), 1],
    ];
    for (const [opts, why, asks] of cases) {
      let asked = 0;
      const ask = opts.askPassphrase;
      const err = (await connectTo(sshd, {
        privateKey: undefined,
        ...opts,
        ...(ask && { askPassphrase: (p: string) => (asked++, ask(p)) }),
      }).catch((e: unknown) => e)) as AuthenticationError;
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(asked).toBe(asks);
      expect(err.identitiesSkipped).toHaveLength(1);
      expect(err.identitiesSkipped[0]).toMatch(why);
      // The `passphrase` option's key is never offered; askPassphrase's is, by its public half.
      expect(err.message).toMatch(/^Permission denied for root \(tried: (publickey|nothing); server allows: [^)]*\)\. Identity files skipped: Load key /);
      expect(err.message).not.toContain('signing failed');
    }
  });
});
