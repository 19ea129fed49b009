/**
 * Host key verification against known_hosts files on disk, with OpenSSH's StrictHostKeyChecking
 * modes (ssh_config(5)) and its first-connection prompt. The decisions themselves are made by the
 * sans-IO `checkHostKey` in `src/keys/knownhosts.ts`.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HostKeyError, UsageError } from '../errors.js';
import { show } from '../option-check.js';
import {
  applyCaSignatureSpec,
  formatCertificateValidity as formatValidity,
  isCertificateType,
  parseCertificate,
  type Certificate,
} from '../keys/certificate.js';
import { fingerprintHashNamed, type FingerprintHashName } from '../keys/fingerprint-hashes.js';
import { keyFingerprint, publicKeyBits, randomArt, randomArtTitle, type FingerprintHash } from '../keys/fingerprint.js';
import { plainHostKey } from '../keys/hostkey.js';
import {
  checkHostCertificate,
  checkHostKey,
  formatKnownHostsLine,
  hostKeyOrderHints,
  knownHostsName,
  otherNamesForKey,
  parseKnownHosts,
  type HostKeyOrderHints,
  type KnownHostsEntry,
} from '../keys/knownhosts.js';
import type { HostKeyInfo } from '../keys/host-key-verdict.js';
import { expandHome } from './identity-file.js';
import { readTerminalLine } from './prompt.js';
import { strerror } from './strerror.js';

/** ssh_config(5) StrictHostKeyChecking. `'no'` here still refuses changed and revoked keys. */
export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

/** What the transport knows about the server's host key when it asks for a verdict. */
export type { HostKeyInfo };

/**
 * Decides on the server's host key: resolve (or return) to accept; throw, reject or return
 * `false` to refuse (any other return value accepts).
 */
export type HostKeyVerifier = (info: HostKeyInfo) => Promise<void | boolean> | void | boolean;

/** OpenSSH's short key type names (sshkey.c keytypes[]), used in its messages: `ED25519-CERT`. */
export function shortKeyType(keyType: string): string {
  const cert = keyType.includes('-cert-v01@openssh.com') ? '-CERT' : '';
  if (keyType.startsWith('sk-ssh-ed25519')) return `ED25519-SK${cert}`;
  if (keyType.startsWith('sk-ecdsa-')) return `ECDSA-SK${cert}`;
  if (keyType.startsWith('ssh-ed25519')) return `ED25519${cert}`;
  if (keyType.startsWith('ecdsa-sha2-')) return `ECDSA${cert}`;
  if (keyType.startsWith('ssh-rsa')) return `RSA${cert}`;
  if (keyType.startsWith('ssh-dss')) return `DSA${cert}`;
  return keyType;
}

/** One known_hosts file as read: `openError` when it could not be opened for another reason than its absence. */
interface ReadKnownHosts {
  path: string;
  entries: KnownHostsEntry[];
  text: string;
  openError?: NodeJS.ErrnoException;
}

async function readKnownHosts(file: string, log: (line: string) => void): Promise<ReadKnownHosts> {
  const path = expandHome(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // A directory reads as an empty file to ssh (fopen succeeds, getline reads nothing).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') return { path, entries: [], text: '' };
    // hostfile.c load_hostkeys: debug_f("fopen %s: %s", path, strerror(errno)), a missing file
    // too (read as an empty one).
    log(`load_hostkeys: fopen ${path}: ${strerror(err as NodeJS.ErrnoException)}`);
    if (code === 'ENOENT') return { path, entries: [], text: '' };
    return { path, entries: [], text: '', openError: err as NodeJS.ErrnoException };
  }
  const { entries, errors } = parseKnownHosts(text, path);
  for (const e of errors) log(`${path}:${e.line}: ignoring invalid known_hosts line: ${e.message}`);
  return { path, entries, text };
}

/**
 * sshconnect.c hostkeys_find_by_key, for the question about a new host key: the other names
 * `files` hold the key for. A file it cannot open (ENOTDIR, EACCES; not a missing one) ends the
 * search with hostkeys_find_by_key_hostfile's error_fr() line and no names at all.
 */
function otherNamesFor(read: readonly ReadKnownHosts[], info: HostKeyInfo, log: (line: string) => void): KnownHostsEntry[] {
  const failed = read.find((r) => r.openError !== undefined);
  if (failed) {
    log(`hostkeys_find_by_key_hostfile: hostkeys_foreach failed for ${failed.path}: ${strerror(failed.openError!)}`);
    return [];
  }
  return otherNamesForKey(
    read.flatMap((r) => r.entries),
    info.host,
    info.port,
    info.keyBlob,
  );
}

/**
 * A {@link HostKeyVerifier} backed by known_hosts files, with OpenSSH's semantics:
 * - known key → accepted; on a port other than 22, a key recorded for the plain host name (no
 *   `[host]:port` line) is accepted too, as ssh(1) does, and nothing is written;
 * - revoked key or changed key (same type, other bytes) → refused, in every mode;
 * - unknown key → `yes`: refused; `accept-new` / `no`: appended to `files[0]` (as `[host]:port`
 *   on a port other than 22) with OpenSSH's "Permanently added" warning; `ask`: OpenSSH's prompt
 *   (yes / no / the fingerprint).
 * - host certificate (OpenSSH PROTOCOL.certkeys) → accepted when a `@cert-authority` line for
 *   the host holds its CA and it is a host certificate naming the host, valid at `now()`, without
 *   critical options; refused when `@revoked` names its CA or its key; otherwise (unknown CA, or
 *   a certificate not good for this host, whose reason is logged: expired, another name, a CA
 *   signature algorithm outside `caSignatureAlgorithms`) its key is checked as a plain key, as
 *   ssh(1) does ("No matching CA found. Retry with plain key").
 *
 * Files are re-read on each verification, missing files count as empty, and bad lines are
 * skipped (reported through `log`).
 *
 * @example
 * const verify = knownHostsVerifier({ files: ['~/.ssh/known_hosts'], mode: 'accept-new', log: console.error });
 */
export function knownHostsVerifier(opts: {
  files: string[];
  mode?: StrictHostKeyChecking;
  hashKnownHosts?: boolean;
  /**
   * Asks `ask` mode's question and resolves with the answer, read as OpenSSH's confirm() reads it
   * (sshconnect.c): leading blanks skipped, up to the first blank; `yes` (any case) or the
   * fingerprint shown accepts, `no` or an empty answer refuses, anything else asks again ("Please
   * type 'yes', 'no' or the fingerprint: "). A rejection refuses too. Default
   * {@link terminalPrompt}; the CLI passes ssh's read_passphrase (terminal or SSH_ASKPASS).
   */
  prompt?: (question: string) => Promise<string>;
  log?: (line: string) => void;
  /** The clock host certificates are checked against, in ms since the epoch. Default Date.now. */
  now?: () => number;
  /**
   * ssh_config(5) HostKeyAlias: the name the key is looked up and recorded under, instead of
   * the host (and `[host]:port`); a host certificate must name it as a principal.
   */
  hostKeyAlias?: string;
  /**
   * ssh_config(5) BatchMode: with `mode: 'ask'`, never ask; an unknown key is refused as with
   * `'yes'`, after what ssh(1) does to word its question (sshconnect.c check_host_key builds it,
   * then confirm() answers no): the look-up of other names, whose error line a file that cannot
   * be opened gives.
   */
  batchMode?: boolean;
  /**
   * The user's `~/.ssh`, the one directory made (mode 0700) when missing to record a new key in
   * a file directly inside it (OpenSSH hostfile.c hostfile_create_user_ssh_dir); the directory
   * of any other file must exist, or the key is not recorded ("Failed to add the host ...").
   * Default: `.ssh` in os.homedir(). The CLI passes the passwd entry's, as ssh(1) takes it.
   */
  userSshDir?: string;
  /**
   * No file to record a new key in (ssh_config(5) `UserKnownHostsFile none`; `files` are then the
   * global ones, which are only read): an unknown key is refused in every mode, without asking
   * (sshconnect.c check_host_key: no user hostfiles → readonly; a new host goes to `fail`).
   */
  readonly?: boolean;
  /**
   * ssh_config(5) CASignatureAlgorithms: the algorithms a CA may have signed a host certificate
   * with, in OpenSSH's syntax (`'ssh-ed25519,ecdsa-sha2-nistp256'`, `'-rsa-sha2-*'`, `'+ssh-rsa'`;
   * an array is an exact list; see applyCaSignatureSpec). Default OpenSSH's: every one but SHA-1
   * `ssh-rsa`. A certificate signed otherwise is not accepted through its `@cert-authority` line
   * ("Certificate signed with disallowed algorithm", logged) and its key is checked as a plain
   * key, as ssh(1) does (sshconnect.c check_host_key). Names OpenSSH does not know throw a
   * UsageError here.
   */
  caSignatureAlgorithms?: string | readonly string[];
  /**
   * ssh_config(5) FingerprintHash: how fingerprints are written in the question, the log lines
   * and the HostKeyError (`'sha256'`, the default, or `'md5'`; `'sha1'`, `'sha384'`, `'sha512'`
   * as OpenSSH takes them). The key given is fingerprinted again in it (its `fingerprint` is not
   * read), so a pasted answer is compared with what the question showed.
   */
  fingerprintHash?: FingerprintHashName;
  /**
   * ssh_config(5) VisualHostKey: a known key is logged as `Host key fingerprint is FP` and its
   * "random art" (one log line of several lines, sshconnect.c check_host_key HOST_OK, logit), and
   * the question about a new key shows the art after the fingerprint.
   */
  visualHostKey?: boolean;
}): HostKeyVerifier {
  // A mode other than the four words fell through to accept-new: `mode: 'Yes'` or 'strict'
  // accepted and recorded any unknown host key. `files` as one string was read as a list of its
  // characters (a new key written to a file named by its first letter, in the working directory).
  // Both are mistakes, never a reason to trust a host (as connect() refuses them).
  if (typeof opts !== 'object' || opts === null) throw new UsageError(`knownHostsVerifier: the options must be an object, got ${show(opts)}`);
  if (!Array.isArray(opts.files) || !opts.files.every((f) => typeof f === 'string' && f !== '')) {
    throw new UsageError(`knownHostsVerifier: files must be an array of known_hosts file paths, got ${show(opts.files)}`);
  }
  if (opts.mode !== undefined && !['yes', 'accept-new', 'no', 'ask'].includes(opts.mode)) {
    throw new UsageError(`knownHostsVerifier: mode must be 'yes', 'accept-new', 'no' or 'ask', got ${show(opts.mode)}`);
  }
  const mode = opts.mode ?? 'yes';
  const log = opts.log ?? (() => {});
  const now = opts.now ?? Date.now;
  const caSignatureAlgorithms = applyCaSignatureSpec(opts.caSignatureAlgorithms);
  const hash = fingerprintHashNamed(opts.fingerprintHash ?? 'sha256');
  if (hash === undefined) throw new UsageError(`fingerprintHash must be 'sha256', 'md5', 'sha1', 'sha384' or 'sha512', got ${JSON.stringify(opts.fingerprintHash)}`);
  // sshconnect.c check_host_key, HOST_OK: logit("Host key fingerprint is %s\n%s", fp, ra).
  const showKnown = (key: HostKeyInfo): void => {
    if (opts.visualHostKey) log(`Host key fingerprint is ${key.fingerprint}\n${hostKeyArt(key, hash)}`);
  };
  if (opts.files.length === 0 && mode !== 'yes' && !opts.readonly) {
    throw new UsageError('knownHostsVerifier needs at least one known_hosts file to add new keys to');
  }
  const verifier = async (key: HostKeyInfo): Promise<void> => {
    // The fingerprint in our hash, whatever the transport computed (a certificate's: its key's).
    const given = { ...key, fingerprint: keyFingerprint(plainHostKey(key.keyBlob), hash) };
    let shown = given;
    if (opts.hostKeyAlias !== undefined) {
      // sshconnect.c get_hostfile_hostname_ipaddr(): the alias alone, without the port.
      log(`using hostkeyalias: ${opts.hostKeyAlias}`);
      shown = { ...given, host: opts.hostKeyAlias, port: 22 };
    }
    const read: ReadKnownHosts[] = [];
    for (const f of opts.files) read.push(await readKnownHosts(f, log));
    const all = read.flatMap((r) => r.entries);
    const firstText = read[0]?.text ?? '';
    const name = knownHostsName(shown.host, shown.port);
    let info = shown;
    // Why a host certificate did not settle it, for the error if the plain key does not either.
    let certNote: string | undefined;
    if (isCertificateType(shown.keyType)) {
      const outcome = checkCertificate(shown, all, now() / 1000, caSignatureAlgorithms, log, hash, () => showKnown(shown));
      if (outcome === 'accepted') return;
      certNote = outcome.note;
      const cert = outcome.cert;
      info = { ...shown, keyType: cert.keyType, keyBlob: cert.publicKeyBlob, fingerprint: keyFingerprint(cert.publicKeyBlob, hash) };
      // sshconnect.c check_host_key(): a certificate no CA vouches for is downgraded to its key and
      // checked again. On a port other than 22 the port-less look-up is a check of its own, with
      // its own downgrade: the plain key found there settles it; otherwise the outer check
      // downgrades too (hence ssh's line twice) and looks the plain key up under [host]:port.
      log('No matching CA found. Retry with plain key');
      if (outcome.triedWithoutPort) {
        const bare = checkHostKey(all, shown.host, 22, info.keyBlob);
        if (bare.status === 'match') {
          log(`Host '${bare.name}' is known and matches the ${shortKeyType(info.keyType)} host key.`);
          log(`Found key in ${bare.entry.file}:${bare.entry.line}`);
          showKnown(info);
          log('found matching key w/out port');
          return;
        }
        log('No matching CA found. Retry with plain key');
      }
    }
    const details = { host: name, keyType: info.keyType, fingerprint: info.fingerprint };
    const result = checkHostKey(all, info.host, info.port, info.keyBlob);
    // sshconnect.c check_host_key()'s debug lines, in its order.
    if (result.triedWithoutPort) log('checking without port identifier');
    switch (result.status) {
      case 'match':
        log(`Host '${result.name}' is known and matches the ${shortKeyType(info.keyType)} host key.`);
        log(`Found key in ${result.entry.file}:${result.entry.line}`);
        showKnown(info);
        // OpenSSH records nothing more: the port-less line keeps vouching for this port.
        if (result.triedWithoutPort) log('found matching key w/out port');
        return;
      case 'revoked':
        throw new HostKeyError('revoked', { ...details, file: result.entry.file, line: result.entry.line });
      case 'changed':
        // ssh_config(5): a changed key is refused even with StrictHostKeyChecking=no.
        throw new HostKeyError('changed', { ...details, file: result.entry.file, line: result.entry.line, entryKeyType: result.entry.keyType });
      case 'cert-authority-only':
        // hostfile.c check_hostkeys_by_key_or_type: a plain key is looked up among the lines
        // without a marker only, so ssh(1) finds this key new (HOST_NEW) and says nothing of the
        // @cert-authority line.
      case 'unknown':
        break;
    }

    if (opts.readonly) {
      // sshconnect.c check_host_key (HOST_NEW): `if (readonly || want_cert) goto fail;`, before
      // the mode is looked at: nothing is asked or written.
      throw new HostKeyError('unknown', { ...details, file: undefined, message: `${name}: no UserKnownHostsFile to record a new host key in; refused` });
    }
    if (mode === 'yes' || (mode === 'ask' && opts.batchMode)) {
      // sshconnect.c check_host_key: with BatchMode the question is worded, then not asked.
      if (mode === 'ask') otherNamesFor(read, info, log);
      const file = opts.files[0] && expandHome(opts.files[0]);
      const plain = new HostKeyError('unknown', { ...details, file });
      if (certNote === undefined) throw plain;
      throw new HostKeyError('unknown', { ...details, file, message: `The host certificate was not accepted: ${certNote}. ${plain.message}` });
    }
    if (mode === 'ask') {
      const others = otherNamesFor(read, info, log);
      // sshconnect.c get_hostfile_hostname_ipaddr(): the address with the port actually connected
      // to (not the alias's), or a placeholder through a proxy command (ssh 9.2 runs ProxyJump as
      // one too); shown whatever CheckHostIP says (check_host_key's HOST_NEW question).
      const ip = given.address ? knownHostsName(given.address, given.port) : '<no hostip for proxy command>';
      await askUser(info, name, ip, others, opts.prompt ?? terminalPrompt, opts.files[0], opts.visualHostKey ? hostKeyArt(info, hash) : undefined);
    }

    const salt = opts.hashKnownHosts ? new Uint8Array(randomBytes(20)) : undefined;
    const line = formatKnownHostsLine(info.host, info.port, info.keyBlob, { hashed: !!salt, salt });
    const file = expandHome(opts.files[0]!);
    await createUserSshDir(file, opts.userSshDir ?? join(homedir(), '.ssh'), log);
    try {
      // Do not glue our line onto a last line that lacks its newline.
      const sep = firstText !== '' && !firstText.endsWith('\n') ? '\n' : '';
      // hostfile.c add_host_to_hostfile: fopen(filename, "a"), so a new file is 0666 less the umask,
      // and ssh.c main first sets `umask(022 | umask(077))`: never group- or world-writable. Mode
      // 0644 less this process's umask is that same 0666 & ~(umask | 022).
      await appendFile(file, `${sep}${line}\n`, { mode: 0o644 });
    } catch {
      // sshconnect.c check_host_key (HOST_NEW): the key is already accepted by the policy
      // (accept-new, no, or the user's yes); a file that cannot be written (a read-only
      // directory, a directory in its place) is only logit()'s line, and the connection goes on.
      log(`Failed to add the host to the list of known hosts (${file}).`);
      return;
    }
    // ssh(1)'s wording, so users recognise it.
    log(`Warning: Permanently added '${name}' (${shortKeyType(info.keyType)}) to the list of known hosts.`);
  };
  verifierFiles.set(verifier, [...opts.files]);
  return verifier;
}

/**
 * OpenSSH hostfile.c hostfile_create_user_ssh_dir: before a new key is appended to `file`, its
 * directory is made (mode 0700, not its parents) only when it is `sshDir` (the user's ~/.ssh,
 * compared as written); its error() lines when that fails, and the append then fails too.
 */
async function createUserSshDir(file: string, sshDir: string, log: (line: string) => void): Promise<void> {
  const slash = file.lastIndexOf('/');
  if (slash < 0 || file.slice(0, slash) !== sshDir) return;
  try {
    await stat(sshDir);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      log(`Could not stat ${sshDir}: ${strerror(err as NodeJS.ErrnoException)}`);
      return;
    }
  }
  try {
    await mkdir(sshDir, { mode: 0o700 });
  } catch (err) {
    log(`Could not create directory '${sshDir.slice(0, 200)}' (${strerror(err as NodeJS.ErrnoException)}).`);
  }
}

/** The files each {@link knownHostsVerifier} checks, to know one when it comes back as `verifyHostKey`. */
const verifierFiles = new WeakMap<HostKeyVerifier, readonly string[]>();

/**
 * Whether `verifier` was made by {@link knownHostsVerifier} over every one of `files`: it then
 * refuses changed and revoked keys from those files itself (the CLI passes its verifier with
 * the same files as `knownHosts`), and checking them twice would only repeat its log lines.
 */
export function checksKnownHostsFiles(verifier: HostKeyVerifier, files: readonly string[]): boolean {
  const own = verifierFiles.get(verifier);
  return own !== undefined && files.every((f) => own.includes(f));
}

/**
 * The host certificate half of the verifier: 'accepted', a refusal (thrown), or why it did not
 * settle it, with the decoded certificate for the plain-key retry.
 */
function checkCertificate(
  info: HostKeyInfo,
  entries: readonly KnownHostsEntry[],
  nowSeconds: number,
  caSignatureAlgorithms: readonly string[],
  log: (line: string) => void,
  hash: FingerprintHash,
  accepted: () => void,
): 'accepted' | { note: string; cert: Certificate; triedWithoutPort: boolean } {
  const name = knownHostsName(info.host, info.port);
  let cert: Certificate;
  try {
    // Decoded (and its CA signature checked) once already by the key exchange; a SHA-1 CA
    // signature too, for CASignatureAlgorithms to judge below (sshkey_cert_check_host).
    cert = parseCertificate(info.keyBlob, { sha1Ca: true });
  } catch (cause) {
    throw new HostKeyError('rejected', {
      host: name,
      keyType: info.keyType,
      fingerprint: info.fingerprint,
      message: `Host key verification failed: the server's ${info.keyType} is unusable: ${(cause as Error).message}`,
    });
  }
  const type = shortKeyType(info.keyType);
  const verdict = checkHostCertificate(entries, info.host, info.port, cert, nowSeconds, caSignatureAlgorithms);
  if (verdict.status !== 'revoked' && verdict.triedWithoutPort) log('checking without port identifier');
  switch (verdict.status) {
    case 'match':
      // sshconnect.c check_host_key()'s debug lines.
      log(`Host '${verdict.name}' is known and matches the ${type} host certificate.`);
      log(`Found CA key in ${verdict.entry.file}:${verdict.entry.line}`);
      accepted();
      if (verdict.triedWithoutPort) log('found matching key w/out port');
      return 'accepted';
    case 'revoked': {
      const which = verdict.revokedKey === 'CA' ? cert.signatureKey : cert.publicKeyBlob;
      throw new HostKeyError('revoked', {
        host: name,
        keyType: info.keyType,
        fingerprint: keyFingerprint(cert.publicKeyBlob, hash),
        file: verdict.entry.file,
        line: verdict.entry.line,
        message:
          `The ${type} host certificate for ${name} ` +
          `${verdict.revokedKey === 'CA' ? 'is signed by a revoked certificate authority' : 'certifies a revoked host key'} ` +
          `(${keyFingerprint(which, hash)}, @revoked in ${verdict.entry.file}:${verdict.entry.line}). Host key verification failed.`,
      });
    }
    case 'invalid':
      // ssh(1) finds the CA first (its debug lines), then prints the reason as an error and
      // retries with the plain key.
      log(`Host '${verdict.name}' is known and matches the ${type} host certificate.`);
      log(`Found CA key in ${verdict.entry.file}:${verdict.entry.line}`);
      log(verdict.reason);
      return {
        cert,
        triedWithoutPort: verdict.triedWithoutPort,
        note:
          `${verdict.reason} (CA in ${verdict.entry.file}:${verdict.entry.line}; certificate ID "${cert.keyId}", ` +
          `principals ${cert.validPrincipals.join(',') || 'none'}, valid ${formatValidity(cert)})`,
      };
    case 'no-ca':
      return {
        cert,
        triedWithoutPort: verdict.triedWithoutPort,
        note: `no @cert-authority line for ${name} holds its CA key (${keyFingerprint(cert.signatureKey, hash)})`,
      };
  }
}

/**
 * ssh_config(5) VisualHostKey's picture of a host key (sshkey.c fingerprint_randomart): of the
 * plain key's digest, titled with the key's own type (`[ED25519-CERT]` for a certificate).
 */
function hostKeyArt(info: HostKeyInfo, hash: FingerprintHash): string {
  const plain = plainHostKey(info.keyBlob);
  return randomArt(hash.digest(plain), hash.name, randomArtTitle(shortKeyType(info.keyType), publicKeyBits(plain)));
}

/**
 * OpenSSH's first-connection question (with VisualHostKey, the key's `art` after its
 * fingerprint); resolves when accepted, throws when refused.
 */
async function askUser(
  info: HostKeyInfo,
  name: string,
  ip: string,
  others: KnownHostsEntry[],
  prompt: (question: string) => Promise<string>,
  file: string | undefined,
  art: string | undefined,
): Promise<void> {
  const details = { host: name, keyType: info.keyType, fingerprint: info.fingerprint };
  const known =
    others.length === 0
      ? 'This key is not known by any other names.\n'
      : 'This host key is known by the following other names/addresses:\n' +
        others
          .map((e) => `    ${e.file}:${e.line}: ${e.hosts.hashed ? '[hashed name]' : e.hosts.patterns!.join(',')}\n`)
          .join('');
  let question =
    `The authenticity of host '${name} (${ip})' can't be established.\n` +
    `${shortKeyType(info.keyType)} key fingerprint is ${info.fingerprint}.\n` +
    (art === undefined ? '' : `${art}\n`) +
    known +
    'Are you sure you want to continue connecting (yes/no/[fingerprint])? ';
  for (;;) {
    let answer: string;
    try {
      // confirm(): leading blanks skipped, the answer ends at the first blank or newline.
      answer = (await prompt(question)).replace(/^[ \t]+/, '').split(/[ \t\n]/)[0]!;
    } catch (cause) {
      // The prompt's own words when it found no terminal ("no terminal to ask"), said once.
      const why = (cause as Error)?.message ?? String(cause);
      const unanswered = why.startsWith('no terminal') ? why : `the question was not answered (${why})`;
      throw new HostKeyError('unknown', {
        ...details,
        file,
        message: `No matching host key for ${name} (${info.keyType} ${info.fingerprint}) and ${unanswered}. Host key verification failed.`,
      });
    }
    // OpenSSH sshconnect.c confirm(): yes case-insensitively, or the exact fingerprint pasted;
    // no, or nothing (an empty line, Ctrl-D, no terminal, an askpass that failed: read_passphrase
    // gives "" for each), refuses; anything else asks again.
    const lower = answer.toLowerCase();
    if (lower === 'yes' || answer === info.fingerprint) return;
    if (lower === 'no' || answer === '') {
      throw new HostKeyError('rejected', {
        ...details,
        message: `Host key verification failed: you refused the ${info.keyType} key ${info.fingerprint} for ${name}.`,
      });
    }
    question = "Please type 'yes', 'no' or the fingerprint: ";
  }
}

/**
 * Ask a question on the user's terminal as ssh(1)'s confirm() does (read_passphrase with
 * RP_ECHO): on the controlling terminal (/dev/tty) whatever stdin and stderr are, with what was
 * typed before the question discarded, as readpassphrase(3)'s TCSAFLUSH does, so that a line typed
 * ahead (or piped into the terminal) cannot answer a question it was not typed for. Resolves with
 * the line typed ('' for Ctrl-D on an empty line, which the host-key question takes as "no").
 * Rejects with a UsageError: "no terminal to ask" without a controlling terminal. Questions
 * asked while one is on the terminal wait for it to be answered.
 */
export function terminalPrompt(question: string): Promise<string> {
  // One question on the terminal at a time (two connections of one process may both ask): the
  // next is shown once the one before it is answered, as ssh, one connection a process, never asks two.
  const asked = terminalQueue.then(() => ask(question));
  terminalQueue = asked.then(
    () => undefined,
    () => undefined,
  );
  return asked;
}

/** The question on the terminal now, or the last one asked (see {@link terminalPrompt}). */
let terminalQueue: Promise<void> = Promise.resolve();

function ask(question: string): Promise<string> {
  return readTerminalLine(question, { echo: true }).catch((err: unknown) => {
    const message = (err as Error)?.message ?? String(err);
    // Ctrl-D on an empty line (the terminal's end of input): readpassphrase(3) returns the empty
    // line, which confirm() takes as "no".
    if (message === 'the terminal closed') return '';
    throw new UsageError(message.startsWith('no terminal') ? 'no terminal to ask' : message, { cause: err });
  });
}

/**
 * What ssh(1)'s order_hostkeyalgs() reads from these known_hosts files for `host:port` (user
 * files, then the global ones, as given): see {@link hostKeyOrderHints}. With HostKeyAlias,
 * pass the alias and port 22. `log` gets load_hostkeys' line for each file it cannot open.
 */
export async function hostKeyOrderHintsFor(files: readonly string[], host: string, port: number, log: (line: string) => void = () => {}): Promise<HostKeyOrderHints> {
  const all: KnownHostsEntry[] = [];
  for (const f of files) all.push(...(await readKnownHosts(f, log)).entries);
  return hostKeyOrderHints(all, host, port);
}
