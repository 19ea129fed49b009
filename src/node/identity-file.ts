/**
 * Loading identity files (ssh(1) -i / IdentityFile) from disk: their public half first (the
 * `.pub` beside it, or the clear part of an OpenSSH key), the private key (permissions checked
 * as ssh does, passphrase prompts) once the server has accepted it; and certificate files
 * (CertificateFile, `KEY-cert.pub`).
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { publicKeyOfPrivateKeyFile } from '../auth/identity.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { formatMode, KeyError, KeyPermissionsError, SshError, UsageError } from '../errors.js';
import { certifiedKey, parseCertificateFile, SSH2_CERT_TYPE_USER, type CertificateSource } from '../keys/certificate.js';
import { parsePrivateKey } from '../keys/parse-private-key.js';
import { parsePublicKeyFile, type PrivateKey } from '../keys/privatekey.js';
import { sshKeyParseReason } from '../keys/signing.js';
import { constantTimeEqual } from '../protocol/wire.js';
import { askUser } from '../user-callback.js';
import { checkCallKeys, checkOptionTypes, show } from '../option-check.js';
import { tildeParts } from '../config/tokens.js';
import { strerror } from './strerror.js';
import { userHome } from './user-home.js';

/**
 * Expand a leading `~/` (or a lone `~`) to the user's home directory (Node's os.homedir(), $HOME
 * first), and `~user/` (or a lone `~user`) to that user's, as ssh_config(5) does (getpwnam(3),
 * see ./user-home.ts). Any other path is returned as it is.
 *
 * @throws UsageError (`ERR_USAGE`) `PATH: tilde_expand: No such user USER` when `~user` names no
 *   user: the path is not used as written (a known_hosts file would be created under `./~user`).
 */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  const parts = tildeParts(path);
  if (parts === undefined) return path;
  const home = userHome(parts.user);
  if (home === undefined) throw new UsageError(`${path}: tilde_expand: No such user ${parts.user}`);
  return parts.rest === '' ? home : join(home, parts.rest.slice(1));
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
  /** Computes an Ed25519 key's public half when it has a runtime Ed25519 (see parsePrivateKey). */
  crypto?: CryptoProvider;
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
 * ssh(1)'s lines for a private key file others can read (authfile.c sshkey_perm_ok's block at
 * error level, then sshconnect2.c load_identity_file's `Load key "PATH": bad permissions`),
 * joined with `\n`.
 */
export function unprotectedKeyLines(err: KeyPermissionsError): string {
  const bar = '@'.repeat(59);
  return [
    bar,
    '@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @',
    bar,
    `Permissions ${formatMode(err.mode)} for '${err.path}' are too open.`,
    'It is required that your private key files are NOT accessible by others.',
    'This private key will be ignored.',
    `Load key "${err.path}": bad permissions`,
  ].join('\n');
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
/**
 * The caller's mistakes in {@link loadIdentityFile} / {@link unlockIdentityFile}'s arguments, as
 * connect()'s are checked (option-check.ts): a path that is no string was a TypeError, a misspelt
 * option (`passPhrase`) was ignored (the key then "needs a passphrase"), `askPassphrase: 5` read
 * as a callback that failed ("ask is not a function"), `attempts: -1` or `'2'` taken.
 */
function checkKeyFileCall(call: string, path: unknown, options: UnlockOptions, table: object): void {
  if (typeof path !== 'string' || path === '') throw new UsageError(`${call}: the path must be a non-empty string, got ${show(path)}`);
  checkCallKeys(call, options, table);
  checkOptionTypes(options ?? {}, { passphrase: 'p', askPassphrase: 'f', debug: 'f', allowUnprotectedKeyFiles: 'b' }, `${call}: `);
  const { attempts } = options ?? {};
  if (attempts !== undefined && !(Number.isSafeInteger(attempts) && attempts >= 0)) throw new UsageError(`${call}: attempts must be a whole number >= 0, got ${show(attempts)}`);
}

const LOAD_OPTIONS = { allowUnprotectedKeyFiles: 0, passphrase: 0, crypto: 0 } satisfies Record<keyof LoadIdentityOptions, 0>;

export async function loadIdentityFile(path: string, options: LoadIdentityOptions = {}): Promise<PrivateKey> {
  checkKeyFileCall('loadIdentityFile', path, options, LOAD_OPTIONS);
  const { full, bytes } = await readKeyBytes(path, options);
  try {
    return parsePrivateKey(bytes, { source: full, passphrase: options.passphrase, crypto: options.crypto });
  } finally {
    bytes.fill(0);
  }
}

/**
 * {@link loadIdentityFile} for a path that may also be a public key file (`key.pub`, the private
 * half in an agent): undefined when the file holds no private key ({@link holdsPrivateKey}'s
 * test) or cannot be opened or read at all, else the key, or loadIdentityFile's errors. The file
 * is opened once and each byte read once: its first bytes decide, then its permissions are
 * checked, then the rest is read (a key from a pipe, `<(pass show key)`, can be read only once).
 */
export async function loadIdentityFileIfPrivate(path: string, options: LoadIdentityOptions = {}): Promise<PrivateKey | undefined> {
  const read = await readKeyBytes(path, { ...options, privateOnly: true });
  if (!read) return undefined;
  const { full, bytes } = read;
  try {
    return parsePrivateKey(bytes, { source: full, passphrase: options.passphrase, crypto: options.crypto });
  } finally {
    bytes.fill(0);
  }
}

/** How many bytes {@link holdsPrivateKey} reads to tell a private key file from a public one. */
const HEAD_BYTES = 64;

/** The start of a private key file (PEM armour, OpenSSH or PuTTY format), not a public key's. */
function isPrivateKeyHead(head: Uint8Array): boolean {
  return /^\s*(-----BEGIN (?!(SSH2 |RSA |EC )?PUBLIC KEY)|PuTTY-User-Key-File-)/.test(new TextDecoder('latin1').decode(head));
}

/**
 * The first {@link HEAD_BYTES} bytes of `file` from its current position (fewer at its end), read
 * from the current position on, so that a following readFile() reads the rest (a pipe gives what
 * it has in each read).
 */
async function readHead(file: FileHandle): Promise<Uint8Array> {
  const head = new Uint8Array(HEAD_BYTES);
  let n = 0;
  while (n < HEAD_BYTES) {
    const { bytesRead } = await file.read(head, n, HEAD_BYTES - n, null);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return head.subarray(0, n);
}

/**
 * A private key file's bytes, its permissions checked as ssh(1) checks them (see
 * {@link loadIdentityFile}). With `privateOnly`: undefined when the file cannot be opened or its
 * first bytes cannot be read, or are not a private key's (see {@link loadIdentityFileIfPrivate}).
 */
async function readKeyBytes(path: string, options: { allowUnprotectedKeyFiles?: boolean; privateOnly?: false }): Promise<{ full: string; bytes: Uint8Array }>;
async function readKeyBytes(path: string, options: { allowUnprotectedKeyFiles?: boolean; privateOnly: true }): Promise<{ full: string; bytes: Uint8Array } | undefined>;
async function readKeyBytes(path: string, options: { allowUnprotectedKeyFiles?: boolean; privateOnly?: boolean }): Promise<{ full: string; bytes: Uint8Array } | undefined> {
  const full = expandHome(path);
  let head: Uint8Array | undefined;
  try {
    // The permissions are those of the file actually read: fstat of the open descriptor.
    let file: FileHandle;
    try {
      file = await open(full, 'r');
    } catch (err) {
      if (options.privateOnly) return undefined;
      throw err;
    }
    try {
      if (options.privateOnly) {
        try {
          head = await readHead(file);
        } catch {
          return undefined;
        }
        if (!isPrivateKeyHead(head)) {
          head.fill(0);
          return undefined;
        }
      }
      if (!options.allowUnprotectedKeyFiles) checkKeyFilePermissions(full, await file.stat());
      const buf = await file.readFile();
      const rest = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      if (!head) return { full, bytes: rest };
      const bytes = new Uint8Array(head.length + rest.length);
      bytes.set(head);
      bytes.set(rest, head.length);
      rest.fill(0);
      return { full, bytes };
    } finally {
      head?.fill(0);
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
}

/**
 * Read a certificate file (`ssh-keygen -s` output, e.g. `id_ed25519-cert.pub`; ssh_config(5)
 * CertificateFile). With `optional`, a missing file gives undefined. An unreadable file is an
 * SshError `ERR_PRIVATE_KEY`, a bad one a KeyError `ERR_KEY_FORMAT`; both name the file. With
 * `crypto`, its runtime Ed25519 (if any) verifies the CA signature instead of noble's (~30 ms of
 * CPU in a fresh process).
 *
 * @example
 * const cert = await loadCertificateFile('~/.ssh/id_ed25519-cert.pub');
 */
export async function loadCertificateFile(
  path: string,
  options: { optional?: boolean; crypto?: CryptoProvider } = {},
): Promise<CertificateSource | undefined> {
  const full = expandHome(path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (options.optional && isPathLookupFailure(code)) return undefined;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (cause as Error).message;
    throw new SshError('ERR_PRIVATE_KEY', `cannot read certificate file ${full}: ${why}`, { cause });
  }
  return { certificate: parseCertificateFile(text, full, { crypto: options.crypto }), source: full };
}

/**
 * An identity file ready to offer: its public key blob, and the parsed key when it had to be
 * read already (no public half was available without decrypting it); or a user certificate
 * (`certificate`) for such a file's key, or for an agent's.
 */
export interface IdentityFileEntry {
  /** The path, `~` expanded (a certificate's: its key's, or the CertificateFile's). */
  path: string;
  /**
   * The public key blob (RFC 4253 §6.6), a certificate's blob for a certificate.
   * Absent when it cannot be read without decrypting the key (a PEM, PKCS#8 or PuTTY key with
   * no `.pub`): the key is then loaded, its passphrase asked, at its turn in the publickey
   * order, and signed for at once (OpenSSH sshconnect2.c userauth_pubkey → load_identity_file).
   */
  publicKeyBlob?: Uint8Array;
  /** The private key, when already loaded; otherwise it is loaded once the server accepts the key (or at its turn, without a public half). */
  key?: PrivateKey;
  /** The user named this file (-i, IdentityFile): ssh(1) says `explicit` in its -v lines. */
  explicit?: boolean;
  /**
   * A certificate given by CertificateFile (its path) for this key: ssh(1) names the identity by
   * that file and tries it before the agent's keys (sshconnect2.c pubkey_prepare); a
   * `FILE-cert.pub` found beside the key goes by the key's path, right after the key.
   */
  certificateFile?: string;
  /**
   * This entry is a user certificate (OpenSSH PROTOCOL.certkeys): `publicKeyBlob` is its blob.
   * Without `key` it is offered by its blob first (RFC 4252 §7, no signature) and, once the
   * server accepts it, signed for by the first identity offered with the key it certifies (an
   * agent's key, an identity file, whose passphrase is asked then), or else by the key file of
   * its name (sshconnect2.c sign_and_send_pubkey). With `key` (a key file loaded before
   * connecting), `key` is the certified key and signs at once.
   */
  certificate?: CertificateSource;
}

/**
 * ssh(1)'s id_filename_matches (sshconnect2.c): whether the certificate named `certPath` goes with
 * the key file `keyPath`: the same name (a `FILE-cert.pub` goes by its key's path), or that name
 * and `.pub` or `-cert.pub`.
 */
export function certificateNameMatches(certPath: string, keyPath: string): boolean {
  return certPath === keyPath || certPath === `${keyPath}.pub` || certPath === `${keyPath}-cert.pub`;
}

/**
 * Identity files with the user certificates (OpenSSH PROTOCOL.certkeys) that certify them, in the
 * order ssh(1)'s pubkey_prepare() (sshconnect2.c) offers them: certificates the user gave
 * (`options.given`: CertificateFile, the library's certificates) first, each named by its file,
 * whether or not an identity file holds its key (an agent may: see {@link IdentityFileEntry}'s
 * `certificate`); a `FILE-cert.pub` found beside a key right after the key, named by the key's
 * path (ssh.c load_public_identity_files). Nothing is loaded nor decrypted here: a certificate is
 * offered by its blob, and its key loaded (its passphrase asked) only once the server accepts it,
 * unless an agent holds that key. A key file loaded already (`key`) is paired with its
 * certificate now. A host certificate is skipped with a line through `options.debug`; whether
 * anything can sign for the others is known once the agent's keys are (client.ts prepareAuth).
 */
export function certifyIdentityFiles(
  entries: readonly IdentityFileEntry[],
  certs: readonly CertificateSource[],
  options: { given: boolean; debug?: (message: string) => void },
): IdentityFileEntry[] {
  const { given } = options;
  const skipped = (message: string) => options.debug?.(message);
  const fromGiven: IdentityFileEntry[] = [];
  const ordered: IdentityFileEntry[] = [];
  const users = certs.filter(({ certificate, source }) => {
    if (certificate.type === SSH2_CERT_TYPE_USER) return true;
    // sshconnect2.c pubkey_prepare(): "ignoring certificate %s: not a user certificate".
    skipped(`ignoring certificate ${source}: not a user certificate`);
    return false;
  });
  const certified = (cert: CertificateSource, entry: IdentityFileEntry | undefined, path: string): IdentityFileEntry => {
    const loaded = entry?.key && constantTimeEqual(entry.key.publicKeyBlob, cert.certificate.publicKeyBlob) ? entry.key : undefined;
    return {
      path,
      publicKeyBlob: cert.certificate.blob,
      key: loaded && certifiedKey(loaded, cert.certificate, { source: cert.source, now: () => Date.now() / 1000 }),
      explicit: given || entry?.explicit,
      certificateFile: given ? cert.source : undefined,
      certificate: cert,
    };
  };
  if (given) {
    // A key file loaded already: the one holding the certificate's key.
    const loadedFor = (cert: CertificateSource) => entries.find((e) => e.key && constantTimeEqual(e.key.publicKeyBlob, cert.certificate.publicKeyBlob));
    for (const cert of users) fromGiven.push(certified(cert, loadedFor(cert), cert.source));
    return [...fromGiven, ...entries];
  }
  for (const entry of entries) {
    ordered.push(entry);
    // ssh.c load_public_identity_files: "FILE-cert.pub" right after FILE, named by FILE's path
    // (whichever key it certifies: an agent may hold it).
    for (const cert of users) if (cert.source === `${entry.path}-cert.pub`) ordered.push(certified(cert, entry, entry.path));
  }
  return ordered;
}

/** Options of {@link unlockIdentityFile} and {@link prepareIdentityFile}. */
export interface UnlockOptions {
  /** Tried first (none: the empty passphrase, as ssh(1) tries first). */
  passphrase?: string | Uint8Array;
  /**
   * Asked for the passphrase of `path` after a missing or wrong one (a string, or a promise of
   * one); null, undefined or '' skips the key. A throw or rejection ends with an SshError
   * ERR_ABORTED whose `cause` is what it threw; any other answer is a UsageError.
   */
  askPassphrase?: (path: string) => string | null | undefined | Promise<string | null | undefined>;
  /** How many times to ask (ssh_config NumberOfPasswordPrompts, default 3). */
  attempts?: number;
  /** -v lines: debug1 without a level, 2 or 3 for ssh's debug2 / debug3 (as connect()'s `debug`). */
  debug?: (message: string, level?: 2 | 3) => void;
  /** Use a key file even when others can read it (see {@link LoadIdentityOptions}). */
  allowUnprotectedKeyFiles?: boolean;
  /** Computes an Ed25519 key's public half when it has a runtime Ed25519 (see parsePrivateKey). */
  crypto?: CryptoProvider;
}

const UNLOCK_OPTIONS = { passphrase: 0, askPassphrase: 0, attempts: 0, debug: 0, allowUnprotectedKeyFiles: 0, crypto: 0 } satisfies Record<keyof UnlockOptions, 0>;

/**
 * The public half of an identity file without decrypting it, as ssh(1)'s sshkey_load_public
 * finds it: `PATH.pub`, else the public key an OpenSSH private key file stores in the clear;
 * PATH may also be a public key file itself (`IdentityFile ~/.ssh/key.pub` with the private
 * half in an agent). Undefined when none is there (a PEM or PuTTY key without its .pub).
 * Throws like {@link loadIdentityFile} when neither PATH nor PATH.pub can be read.
 */
export async function readIdentityPublicKey(path: string): Promise<Uint8Array | undefined> {
  const full = expandHome(path);
  let pub: string | undefined;
  try {
    pub = await readFile(`${full}.pub`, 'utf8');
  } catch {
    pub = undefined;
  }
  if (pub !== undefined) {
    try {
      return parsePublicKeyFile(pub).keyBlob;
    } catch {
      // An unreadable .pub: fall back to the key file, as ssh(1) does.
    }
  }
  const { bytes } = await readKeyBytes(path, { allowUnprotectedKeyFiles: true }); // only the public half is read here
  try {
    const text = new TextDecoder('latin1').decode(bytes);
    const inPrivate = publicKeyOfPrivateKeyFile(text);
    if (inPrivate) return inPrivate;
    try {
      return parsePublicKeyFile(text).keyBlob;
    } catch {
      return undefined;
    }
  } finally {
    bytes.fill(0);
  }
}

/**
 * Load a private key file, asking for its passphrase as ssh(1)'s load_identity_file does: the
 * given passphrase (or none) first, then up to `attempts` prompts; a wrong one asks again, an
 * empty answer gives up. Throws KeyError ERR_KEY_ENCRYPTED (nothing to try, or the user gave
 * up), ERR_KEY_PASSPHRASE (every passphrase was wrong) or ERR_KEY_FORMAT, or SshError
 * ERR_PRIVATE_KEY when the file cannot be read.
 */
export async function unlockIdentityFile(path: string, options: UnlockOptions = {}): Promise<PrivateKey> {
  checkKeyFileCall('unlockIdentityFile', path, options, UNLOCK_OPTIONS);
  const { full, bytes } = await readKeyBytes(path, options);
  try {
    let lastError: KeyError;
    try {
      return parsePrivateKey(bytes, { source: full, passphrase: options.passphrase, crypto: options.crypto });
    } catch (err) {
      if (!(err instanceof KeyError) || err.code === 'ERR_KEY_FORMAT' || !options.askPassphrase) throw err;
      lastError = err;
    }
    const attempts = options.attempts ?? 3;
    for (let i = 0; i < attempts; i++) {
      // A throw, a rejection or an answer that is no string ends connect() (user-callback.ts).
      const ask = options.askPassphrase;
      const answer = await askUser('askPassphrase', () => ask(full));
      if (answer === null || answer === '') {
        // sshconnect2.c load_identity_file: debug2, without the path.
        options.debug?.('no passphrase given, try next key', 2);
        throw new KeyError('ERR_KEY_ENCRYPTED', `${full}: no passphrase given`, { source: full });
      }
      try {
        return parsePrivateKey(bytes, { source: full, passphrase: answer, crypto: options.crypto });
      } catch (err) {
        if (!(err instanceof KeyError) || err.code !== 'ERR_KEY_PASSPHRASE') throw err;
        lastError = err;
        options.debug?.('bad passphrase given, try again...', 2);
      }
    }
    throw lastError;
  } finally {
    bytes.fill(0);
  }
}

/**
 * Whether `code` is a failure to reach the file by its path, as stat(2) fails (ENOENT, ENOTDIR,
 * ELOOP, ENAMETOOLONG), not to read a file that is there: sshconnect2.c load_identity_file's
 * stat(2) says `no such identity: PATH: <strerror>` for any of them (INFO for a file the user
 * named, debug3 for a default one), and ssh.c's look-ups of the public half and the `-cert`
 * file (sshkey_load_public) pass over them in silence.
 */
export function isPathLookupFailure(code: string | undefined): boolean {
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG';
}

/**
 * What ssh(1) prints when a key file it loads at its turn cannot be used (sshconnect2.c
 * load_identity_file): sshkey_perm_ok's block, `Load key "PATH": REASON`; undefined when it
 * stays silent (no passphrase given, or every one wrong: debug lines only).
 */
export function loadKeyErrorLine(path: string, err: unknown): string | undefined {
  if (err instanceof KeyPermissionsError) return unprotectedKeyLines(err);
  const e = err as SshError & { cause?: NodeJS.ErrnoException };
  if (e.code === 'ERR_KEY_ENCRYPTED' || e.code === 'ERR_KEY_PASSPHRASE') return undefined;
  // load_identity_file's stat(2): at INFO for a file the user named (the only ones kept missing).
  if (e.code === 'ERR_PRIVATE_KEY' && isPathLookupFailure(e.cause?.code)) return `no such identity: ${path}: ${strerror(e.cause!)}`;
  if (e.code === 'ERR_PRIVATE_KEY' && e.cause?.code !== undefined) return `Load key "${path}": ${strerror(e.cause)}`;
  // ssherr.c: the reason the parsers marked (sshKeyParseReason: SSH_ERR_LIBCRYPTO_ERROR, an RSA
  // key under 1024 bits' SSH_ERR_KEY_LENGTH, ...), else SSH_ERR_INVALID_FORMAT.
  if (e.code === 'ERR_KEY_FORMAT') return `Load key "${path}": ${sshKeyParseReason(e)}`;
  return `Load key "${path}": ${e.message ?? String(err)}`;
}

/**
 * Whether `path` (`~` expanded) holds a private key (PEM armour, OpenSSH or PuTTY format) rather
 * than a public key file (`IdentityFile ~/.ssh/key.pub` with the private half in an agent); false
 * when it cannot be read (the reads that follow report that).
 */
export async function holdsPrivateKey(path: string): Promise<boolean> {
  let head: Uint8Array;
  try {
    const file = await open(path, 'r');
    try {
      head = await readHead(file);
    } finally {
      await file.close();
    }
  } catch {
    return false;
  }
  try {
    return isPrivateKeyHead(head);
  } finally {
    head.fill(0);
  }
}

/**
 * An identity file as the client offers it, nothing decrypted: with its public half (see
 * {@link readIdentityPublicKey}) the private key is loaded once the server accepts the key;
 * without one, at the key's turn in the publickey order (ssh(1)'s `Trying private key: PATH`),
 * through {@link unlockIdentityFile}. No passphrase is asked here.
 */
export async function prepareIdentityFile(
  path: string,
  options: UnlockOptions & {
    explicit?: boolean;
    /**
     * ssh(1)'s order for a key file others can read: it is offered by its public half (`.pub`
     * or the clear part of an OpenSSH key, which ssh reads whatever the permissions) and
     * refused with {@link KeyPermissionsError} only when its private half is loaded, for a
     * signature once the server accepted it (sshconnect2.c sign_and_send_pubkey →
     * load_identity_file; the file is opened and judged, never read). Default false: refused
     * now, before anything is offered. True also leaves a directory, a file that cannot be
     * read, and an OpenSSH key file whose clear public part does not parse, to its turn (without
     * a public half, as ssh's `type -1`).
     */
    deferPermissionCheck?: boolean;
  } = {},
): Promise<IdentityFileEntry> {
  const full = expandHome(path);
  // ssh(1) judges whatever it opened (authfile.c sshkey_perm_ok on the descriptor) before
  // reading it, so a 0755 directory gets the warning, a 0700 one EISDIR.
  if (!options.allowUnprotectedKeyFiles && !options.deferPermissionCheck) {
    const st = await stat(full).catch(() => undefined);
    if (st && (st.isDirectory() || (await holdsPrivateKey(full)))) checkKeyFilePermissions(full, st);
  }
  let publicKeyBlob: Uint8Array | undefined;
  try {
    publicKeyBlob = await readIdentityPublicKey(path);
  } catch (err) {
    // ssh.c load_public_identity_files keeps a file whose public half it cannot read (a
    // directory, a file it may not read: `type -1`); sshconnect2.c load_identity_file judges it
    // at its turn (`Trying private key: PATH`, then the UNPROTECTED block or `Load key`), so
    // nothing is said about it before the host key is verified, nor at all if it is not.
    // An OpenSSH armour whose clear part does not parse is the same to ssh: sshkey_load_public
    // fails (`type -1`) and load_identity_file says `Load key` at the key's turn.
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    const unreadable = (err as SshError).code === 'ERR_PRIVATE_KEY' && cause?.code !== undefined && !isPathLookupFailure(cause.code);
    if (!options.deferPermissionCheck || !(unreadable || (err as SshError).code === 'ERR_KEY_FORMAT')) throw err;
  }
  if (publicKeyBlob) return { path: full, publicKeyBlob, explicit: options.explicit };
  // ssh.c load_public_identity_files keeps the file name alone (`type -1`); sshconnect2.c
  // userauth_pubkey loads the private key when its turn comes.
  return { path: full, explicit: options.explicit };
}
