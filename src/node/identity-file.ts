/**
 * Loading a private key file (ssh(1) -i / IdentityFile) from disk.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SshError } from '../errors.js';
import { parsePrivateKey, type PrivateKey } from '../keys/privatekey.js';

/** Expand a leading `~/` (or a lone `~`) to the user's home directory, as ssh_config(5) does. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

/**
 * Read and parse a private key file (any format {@link parsePrivateKey} reads). An unreadable
 * file is an SshError `ERR_PRIVATE_KEY` (its `cause` has the errno code); a bad key, a missing
 * or wrong passphrase a KeyError (`ERR_KEY_FORMAT`, `ERR_KEY_ENCRYPTED`, `ERR_KEY_PASSPHRASE`).
 * Both name the file.
 *
 * @example
 * const key = await loadIdentityFile('~/.ssh/id_ed25519', { passphrase: 'correct horse' });
 */
export async function loadIdentityFile(path: string, options: { passphrase?: string | Uint8Array } = {}): Promise<PrivateKey> {
  const full = expandHome(path);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(full));
  } catch (cause) {
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
