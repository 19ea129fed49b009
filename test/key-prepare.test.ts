/**
 * A key file offered by its public half is loaded early when it needs no passphrase: the Node
 * adapter calls the signer's prepare() while the server answers `none` (src/node/client.ts
 * ExternalSigner.prepare), so the signature after the server's PK_OK (RFC 4252 §7) does not pay
 * for the parse. The early key serves one signature and is then disposed; discard() drops an
 * unused one; an encrypted key is left to sign() and its passphrase prompt. Real key files from
 * ssh-keygen; the file is moved away after prepare() to see which path signed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { pureCryptoProvider } from '../src/crypto/pure.js';
import { prepareAuth, type ExternalSigner } from '../src/node/client.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { prepareIdentityFile } from '../src/node/identity-file.js';
import { ed25519SeedOffset, openSshKeyBytes, openSshKeyText } from './harness/key-file.js';

const execFileP = promisify(execFile);
const DATA = new TextEncoder().encode('session id and USERAUTH_REQUEST');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pure-ssh-key-prepare-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function keyFile(name: string, passphrase = ''): Promise<string> {
  const path = join(dir, name);
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', path]);
  return path;
}

async function signerFor(path: string, askPassphrase?: (p: string) => Promise<string | null>, crypto?: CryptoProvider): Promise<ExternalSigner> {
  const entry = await prepareIdentityFile(path);
  expect(entry.key).toBeUndefined();
  const auth = await prepareAuth({ host: '127.0.0.1', username: 'nobody', identityFiles: [entry], askPassphrase }, crypto);
  expect(auth.signers).toHaveLength(1);
  return auth.signers[0]!;
}

/** Runs `fn` with the key file moved away, then puts it back. */
async function withoutFile<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await rename(path, `${path}.away`);
  try {
    return await fn();
  } finally {
    await rename(`${path}.away`, path);
  }
}

describe('ExternalSigner.prepare for key files', () => {
  it('an unencrypted key loaded by prepare() signs once without the file, with the same signature as a fresh load', async () => {
    const path = await keyFile('plain');
    const signer = await signerFor(path);
    await signer.prepare!();
    const early = await withoutFile(path, async () => {
      const sig = await signer.sign(DATA, 'ssh-ed25519', 0);
      // Used once: the next signature loads the file again, which is away.
      await expect(signer.sign(DATA, 'ssh-ed25519', 0)).rejects.toThrow();
      return sig;
    });
    const fresh = await signer.sign(DATA, 'ssh-ed25519', 0);
    // Ed25519 is deterministic (RFC 8032 §5.1.6): the same key and data give the same blob.
    expect(Buffer.from(early).toString('hex')).toBe(Buffer.from(fresh).toString('hex'));
  });

  it('discard() drops the key prepare() loaded', async () => {
    const path = await keyFile('discarded');
    const signer = await signerFor(path);
    await signer.prepare!();
    signer.discard!();
    await withoutFile(path, () => expect(signer.sign(DATA, 'ssh-ed25519', 0)).rejects.toThrow());
  });

  it('an encrypted key is not loaded by prepare(): sign() asks for its passphrase as before', async () => {
    const path = await keyFile('encrypted', 'open sesame');
    const asked: string[] = [];
    const signer = await signerFor(path, async (p) => {
      asked.push(p);
      return 'open sesame';
    });
    await signer.prepare!();
    expect(asked).toEqual([]);
    const sig = await signer.sign(DATA, 'ssh-ed25519', 0);
    expect(asked).toEqual([path]);
    expect(sig.length).toBeGreaterThan(64);
  });
});

/** An unencrypted OpenSSH ssh-ed25519 key file with the first byte of its seed flipped (the public key fields left). */
function flipSeedByte(text: string): string {
  const raw = openSshKeyBytes(text);
  raw[ed25519SeedOffset(raw)]! ^= 1;
  return openSshKeyText(raw);
}

describe('ExternalSigner.prepare: the Ed25519 public half checked with the provider', () => {
  it("prepare() computes the key's public half with the provider's Ed25519 (node:crypto), once", async () => {
    const path = await keyFile('counted');
    let calls = 0;
    const ed = nodeCryptoProvider.ed25519!;
    const counting: CryptoProvider = Object.create(nodeCryptoProvider, {
      ed25519: { value: { ...ed, publicKey: (s: Uint8Array) => (calls++, ed.publicKey(s)) } },
    });
    const signer = await signerFor(path, undefined, counting);
    await signer.prepare!();
    expect(calls).toBe(1);
    expect((await signer.sign(DATA, 'ssh-ed25519', 0)).length).toBeGreaterThan(64);
    expect(calls).toBe(1);
  });

  for (const crypto of [nodeCryptoProvider, pureCryptoProvider]) {
    it(`a key file whose halves disagree (its .pub intact) is refused when it signs, as before (${crypto.name} provider)`, async () => {
      const path = await keyFile(`halves-${crypto.name}`);
      await writeFile(path, flipSeedByte(await readFile(path, 'utf8')), { mode: 0o600 });
      const signer = await signerFor(path, undefined, crypto);
      await signer.prepare!();
      await expect(signer.sign(DATA, 'ssh-ed25519', 0)).rejects.toMatchObject({
        code: 'ERR_KEY_FORMAT',
        source: path,
        message: 'ssh-ed25519 private and public halves do not match (corrupted key file)',
      });
    });
  }
});
