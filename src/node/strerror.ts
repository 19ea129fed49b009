/**
 * strerror(3) as glibc words it, for the errno codes Node reports (`err.code`): OpenSSH prints
 * these texts (unix_listener's bind errors, connect_to's OPEN_FAILURE reason, the agent's socket,
 * the `-i` stat warning, read_passphrase's /dev/tty, ssh_askpass's exec), where Node's own
 * messages read `connect ECONNREFUSED 127.0.0.1:22`. One table for every such place in the Node adapter.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/** glibc's strerror(3) text by errno name. */
const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  ENXIO: 'No such device or address',
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EOVERFLOW: 'Value too large for defined data type',
  ENOTSOCK: 'Socket operation on non-socket',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
};

/**
 * strerror(3) of `err`'s errno code (`No such file or directory` for ENOENT); the error's own
 * message when its code is not a known errno (or it has none).
 */
export function strerror(err: { code?: string; message: string }): string {
  return (err.code !== undefined && STRERROR[err.code]) || err.message;
}

/** getaddrinfo(3) failures by Node's code, as gai_strerror(3) words what ssh(1) got for them. */
const GAI_STRERROR: Readonly<Record<string, string>> = {
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Name or service not known',
  EAI_ADDRFAMILY: 'Address family for hostname not supported',
};

/** gai_strerror(3)'s text for a resolver failure (Node's ENOTFOUND...), undefined for any other error. */
export function gaiStrerror(err: { code?: string } | undefined): string | undefined {
  return err?.code !== undefined ? GAI_STRERROR[err.code] : undefined;
}

/**
 * ssh.c's line for a name that does not resolve, `ssh: Could not resolve hostname HOST: Name or
 * service not known`, when `err` is a resolver failure; undefined for any other error.
 */
export function couldNotResolve(host: string, err: { code?: string } | undefined): string | undefined {
  const text = err?.code !== undefined ? GAI_STRERROR[err.code] : undefined;
  return text && `ssh: Could not resolve hostname ${host}: ${text}`;
}

/**
 * strerror(3) of a listener's failed bind(2): `path` for a Unix socket, whose missing directory
 * libuv reports as EACCES ("Permission denied") where bind(2) said ENOENT, as ssh(1) prints it
 * (misc.c unix_listener): the directory is looked at to put ENOENT / ENOTDIR back (the CLI's
 * describeUnixBindError does the same for its own lines).
 */
export function bindStrerror(err: { code?: string; message: string }, path?: string): string {
  if (path !== undefined && err.code === 'EACCES') {
    try {
      statSync(dirname(path));
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      if (c === 'ENOENT' || c === 'ENOTDIR') return strerror(e as NodeJS.ErrnoException);
    }
  }
  return strerror(err);
}
