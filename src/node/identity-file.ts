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
 * Read and parse an OpenSSH private key file. Errors (`ERR_PRIVATE_KEY`,
 * `ERR_PRIVATE_KEY_ENCRYPTED`) name the file.
 *
 * @example
 * const key = await loadIdentityFile('~/.ssh/id_ed25519');
 */
export async function loadIdentityFile(path: string): Promise<PrivateKey> {
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
    return parsePrivateKey(bytes, full);
  } finally {
    bytes.fill(0);
  }
}
