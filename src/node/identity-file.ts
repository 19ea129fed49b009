/**
 * Loading a private key file (ssh(1) -i / IdentityFile) and certificate files (CertificateFile,
 * `KEY-cert.pub`) from disk.
 */
import { open, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KeyPermissionsError, SshError } from '../errors.js';
import { parseCertificateFile, type CertificateSource } from '../keys/certificate.js';
import { parsePrivateKey, type PrivateKey } from '../keys/privatekey.js';

/** Expand a leading `~/` (or a lone `~`) to the user's home directory, as ssh_config(5) does. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

/** Options of {@link loadIdentityFile}. */
export interface LoadIdentityOptions {
  /**
   * Use a key file even when others can read it (default false: refused with
   * {@link KeyPermissionsError}, as ssh(1) refuses it).
   */
  allowUnprotectedKeyFiles?: boolean;
  /** Passphrase for an encrypted key (see parsePrivateKey). */
  passphrase?: string | Uint8Array;
}

/**
 * OpenSSH's rule for private key files (authfile.c sshkey_perm_ok): a file owned by the user
 * running us must have no group or other permission bits. A file owned by someone else is not
 * judged (ssh(1) does not either). `uid` is the real user id; without one (Windows) there is
 * nothing to check. Throws {@link KeyPermissionsError}.
 */
export function checkKeyFilePermissions(
  path: string,
  stat: { uid: number; mode: number },
  uid: number | undefined = process.getuid?.(),
): void {
  if (uid === undefined) return;
  if (stat.uid === uid && (stat.mode & 0o077) !== 0) throw new KeyPermissionsError(path, stat.mode);
}

/**
 * Read and parse a private key file (any format {@link parsePrivateKey} reads). An unreadable
 * file is an SshError `ERR_PRIVATE_KEY` (its `cause` has the errno code); a bad key, a missing
 * or wrong passphrase a KeyError (`ERR_KEY_FORMAT`, `ERR_KEY_ENCRYPTED`, `ERR_KEY_PASSPHRASE`);
 * a file others can read `ERR_KEY_PERMISSIONS` ({@link KeyPermissionsError}) unless
 * `allowUnprotectedKeyFiles`. All name the file.
 *
 * @example
 * const key = await loadIdentityFile('~/.ssh/id_ed25519', { passphrase: 'correct horse' });
 */
export async function loadIdentityFile(path: string, options: LoadIdentityOptions = {}): Promise<PrivateKey> {
  const full = expandHome(path);
  let bytes: Uint8Array;
  try {
    // The permissions are those of the file actually read: fstat of the open descriptor.
    const file = await open(full, 'r');
    try {
      if (!options.allowUnprotectedKeyFiles) checkKeyFilePermissions(full, await file.stat());
      const buf = await file.readFile();
      bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } finally {
      await file.close();
    }
  } catch (cause) {
    if (cause instanceof SshError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (cause as Error).message;
    throw new SshError('ERR_PRIVATE_KEY', `cannot read identity file ${full}: ${why}`, { cause });
  }
  try {
    return parsePrivateKey(bytes, { source: full, passphrase: options.passphrase });
  } finally {
    bytes.fill(0);
  }
}

/**
 * Read a certificate file (`ssh-keygen -s` output, e.g. `id_ed25519-cert.pub`; ssh_config(5)
 * CertificateFile). With `optional`, a missing file gives undefined. An unreadable file is an
 * SshError `ERR_PRIVATE_KEY`, a bad one a KeyError `ERR_KEY_FORMAT`; both name the file.
 *
 * @example
 * const cert = await loadCertificateFile('~/.ssh/id_ed25519-cert.pub');
 */
export async function loadCertificateFile(path: string, options: { optional?: boolean } = {}): Promise<CertificateSource | undefined> {
  const full = expandHome(path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (options.optional && code === 'ENOENT') return undefined;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (cause as Error).message;
    throw new SshError('ERR_PRIVATE_KEY', `cannot read certificate file ${full}: ${why}`, { cause });
  }
  return { certificate: parseCertificateFile(text, full), source: full };
}
