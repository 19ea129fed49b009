/**
 * knownHostsVerifier()'s own options, as a JavaScript caller can get them wrong (break36), against
 * sshd 9.2. connect() refuses a `strictHostKeyChecking` other than ssh_config's four words, but the
 * exported verifier took any other `mode` as accept-new: `mode: 'Yes'` (meant strict) accepted an
 * unknown host key and recorded it. `files` given as one string was read as the list of its
 * characters: the new key went to a file named by its first letter, in the working directory.
 * Both are now UsageErrors when the verifier is made, before any connection.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { knownHostsVerifier, UsageError } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

describeInterop('knownHostsVerifier: a mode or files it does not take is a UsageError, never a trusted host (sshd 9.2)', () => {
  const sshd = sshdSuite();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kh-verifier-options-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** connect() with the verifier `make` returns, from a known_hosts file that does not list the server: how it ended. */
  async function attempt(make: (file: string) => ReturnType<typeof knownHostsVerifier>): Promise<{ outcome: unknown; recorded: string }> {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, '');
    const outcome = await (async () => connectTo(sshd, { knownHosts: undefined, verifyHostKey: make(file) }))().then(
      async (ssh) => (await ssh.close(), 'connected'),
      (err: unknown) => err,
    );
    return { outcome, recorded: readFileSync(file, 'utf8') };
  }

  it('a mode that is none of the four words: refused, nothing connected or recorded (it was accept-new)', async () => {
    for (const mode of ['Yes', 'strict', 'true']) {
      const { outcome, recorded } = await attempt((file) => knownHostsVerifier({ files: [file], mode: mode as never }));
      expect(outcome, mode).toBeInstanceOf(UsageError);
      expect((outcome as Error).message).toBe(`knownHostsVerifier: mode must be 'yes', 'accept-new', 'no' or 'ask', got "${mode}"`);
      expect(recorded, mode).toBe('');
    }
    // The words themselves still decide: 'yes' refuses the unknown key, 'accept-new' records it.
    expect((await attempt((file) => knownHostsVerifier({ files: [file], mode: 'yes' }))).outcome).toMatchObject({ code: 'ERR_HOST_KEY_UNKNOWN' });
    const added = await attempt((file) => knownHostsVerifier({ files: [file], mode: 'accept-new' }));
    expect(added.outcome).toBe('connected');
    expect(added.recorded).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
  });

  it('files as one string (it was read as a list of its characters): refused', async () => {
    const { outcome } = await attempt((file) => knownHostsVerifier({ files: file as never, mode: 'accept-new' }));
    expect(outcome).toBeInstanceOf(UsageError);
    expect((outcome as Error).message).toMatch(/^knownHostsVerifier: files must be an array of known_hosts file paths, got "\/.*known_hosts"$/);
  });
});
