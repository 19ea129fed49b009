/**
 * An ssh-ed25519 key file whose private and public halves disagree (a damaged file) is refused,
 * whether the public half is recomputed by the provider's Ed25519 (node:crypto, the default) or
 * by @noble/curves (PURE_SSH_CRYPTO=pure): the CLI says so and goes on with the next identity,
 * at the same point as before the provider did the check. An OpenSSH file is offered by the
 * public key in its header and fails when it signs; a PKCS#8 file without a .pub is loaded
 * before the offers and skipped with `Load key`. Real sshd, the CLI, files made by ssh-keygen.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { runCli } from './support/cli-run.js';
import { ed25519SeedOffset, openSshKeyBytes, openSshKeyText } from './harness/key-file.js';

const execFileP = promisify(execFile);
const HALVES = 'ssh-ed25519 private and public halves do not match (corrupted key file)';

/** The seed and public key of an unencrypted OpenSSH ssh-ed25519 file, and where the seed is. */
function ed25519Fields(text: string): { raw: Buffer; seedAt: number; seed: Buffer; pk: Buffer } {
  const raw = openSshKeyBytes(text);
  const seedAt = ed25519SeedOffset(raw);
  return { raw, seedAt, seed: raw.subarray(seedAt, seedAt + 32), pk: raw.subarray(seedAt + 32, seedAt + 64) };
}

describeInteropWithHome('an ssh-ed25519 key file whose halves disagree', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-halves-');
  let good: string;
  let badOpenSsh: string;
  let badPkcs8: string;

  beforeAll(async () => {
    good = join(dir, 'good');
    await copyFile(sshd.clientKeyPath, good);
    await chmod(good, 0o600);
    const { raw, seedAt, seed, pk } = ed25519Fields(await readFile(good, 'utf8'));
    expect(raw.readUInt32BE(seedAt - 4)).toBe(64);
    const otherSeed = Buffer.from(seed);
    otherSeed[0]! ^= 1;
    // The authorised key's file with one seed bit flipped: its public key fields are intact.
    const flipped = Buffer.from(raw);
    otherSeed.copy(flipped, seedAt);
    badOpenSsh = join(dir, 'bad_openssh');
    await writeFile(badOpenSsh, openSshKeyText(flipped), { mode: 0o600 });
    // PKCS#8 v2 (RFC 5958 §2, RFC 8410 §7) with the same flipped seed and the authorised public key.
    const der = Buffer.concat([Buffer.from('3051020101300506032b657004220420', 'hex'), otherSeed, Buffer.from('812100', 'hex'), pk]);
    badPkcs8 = join(dir, 'bad_pkcs8');
    await writeFile(badPkcs8, `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
  });

  for (const crypto of ['runtime', 'pure'] as const) {
    it(`CLI (PURE_SSH_CRYPTO=${crypto}): both damaged files are refused with the same message, the good key after them logs in`, async () => {
      const args = [
        '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-i', badPkcs8, '-i', badOpenSsh, '-i', good,
        '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
      ];
      const run = runCli([...args, '-N', '-v', sshd.host], { env: cliEnv(dir, { PURE_SSH_CRYPTO: crypto }) });
      try {
        await run.waitFor(/Authenticated to |Permission denied/);
        const err = run.stderr();
        // No .pub and no public key in the clear: loaded before the offers (ssh's load_identity_file).
        expect(err).toContain(`debug1: ${badPkcs8}: ${HALVES}\r\nLoad key "${badPkcs8}": invalid format\r\n`);
        // Offered by its header's public key, which sshd accepts; refused when it signs.
        expect(err).toContain(`signing failed for ED25519 "${badOpenSsh}"`);
        expect(err).toContain(`"${badOpenSsh}": ${HALVES}`);
        expect(err).toMatch(/Authenticated to .* using "publickey"/);
        expect(err).toContain(`Server accepts key: ${good}`);
      } finally {
        await run.kill();
      }
    });
  }
});
