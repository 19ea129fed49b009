/**
 * Host key decisions without a file system: a known_hosts text (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"), checked with OpenSSH's precedence by keys/knownhosts.ts.
 */
import { HostKeyError } from '../errors.js';
import { applyCaSignatureSpec, isCertificateType, parseCertificate } from '../keys/certificate.js';
import { fingerprintSha256 } from '../keys/hostkey.js';
import {
  checkHostCertificate,
  checkHostKey,
  hostKeyOrderHints,
  knownHostsName,
  parseKnownHosts,
  type HostKeyOrderHints,
  type KnownHostsEntry,
} from '../keys/knownhosts.js';

/** What a host key verifier is shown; `keyBlob` is RFC 4253 §6.6 encoded. */
export interface WebHostKeyInfo {
  host: string;
  port: number;
  algorithm: string;
  keyType: string;
  keyBlob: Uint8Array;
  /** `SHA256:...` as ssh-keygen -l prints it. */
  fingerprint: string;
}

/**
 * Accept by returning (or resolving); refuse by throwing (a {@link HostKeyError} is kept as is)
 * or by returning `false`.
 */
export type WebHostKeyVerifier = (info: WebHostKeyInfo) => void | boolean | Promise<void | boolean>;

/** Parsed known_hosts text plus the name used in messages. */
export interface KnownHostsText {
  entries: KnownHostsEntry[];
  name: string;
}

/** Parse known_hosts text; `name` stands for the file in messages (default "known_hosts"). */
export function knownHostsFromText(text: string, name = 'known_hosts'): KnownHostsText {
  return { entries: parseKnownHosts(text, name).entries, name };
}

/** What known_hosts says for the host that orders the host key algorithms (ssh(1) order_hostkeyalgs()). */
export function orderHints(known: KnownHostsText, host: string, port: number): HostKeyOrderHints {
  return hostKeyOrderHints(known.entries, host, port);
}

/**
 * A verifier that accepts only a key recorded for the host (StrictHostKeyChecking yes: there is
 * no file to add a new key to). Unknown, changed and revoked keys throw a HostKeyError naming the line.
 * A host certificate is accepted through a `@cert-authority` line for the host (checked at
 * `now()`, ms since the epoch); a certificate no CA line vouches for is checked as its plain key,
 * as ssh(1) does (sshconnect.c check_host_key()), and a `@revoked` CA or key refuses it.
 * `caSignatureAlgorithms`: ssh_config(5) CASignatureAlgorithms in OpenSSH's list syntax (default
 * OpenSSH's); a certificate whose CA signed with another algorithm is checked as its plain key.
 */
export function knownHostsTextVerifier(
  known: KnownHostsText,
  now: () => number = Date.now,
  caSignatureAlgorithms?: string | readonly string[],
): WebHostKeyVerifier {
  const allowed = applyCaSignatureSpec(caSignatureAlgorithms);
  return (given) => {
    let info = given;
    if (isCertificateType(given.keyType)) {
      // A SHA-1 CA signature decodes for `allowed` to judge (sshkey_cert_check_host).
      const cert = parseCertificate(given.keyBlob, { sha1Ca: true });
      const verdict = checkHostCertificate(known.entries, given.host, given.port, cert, now() / 1000, allowed);
      if (verdict.status === 'match') return;
      if (verdict.status === 'revoked') {
        const host = knownHostsName(given.host, given.port);
        throw new HostKeyError('revoked', { host, keyType: given.keyType, fingerprint: given.fingerprint, file: verdict.entry.file, line: verdict.entry.line });
      }
      info = { ...given, keyType: cert.keyType, keyBlob: cert.publicKeyBlob, fingerprint: fingerprintSha256(cert.publicKeyBlob) };
    }
    const check = checkHostKey(known.entries, info.host, info.port, info.keyBlob);
    const base = { host: check.name, keyType: info.keyType, fingerprint: info.fingerprint };
    switch (check.status) {
      case 'match':
        return;
      case 'changed':
        throw new HostKeyError('changed', { ...base, file: check.entry.file, line: check.entry.line, entryKeyType: check.entry.keyType });
      case 'revoked':
        throw new HostKeyError('revoked', { ...base, file: check.entry.file, line: check.entry.line });
      default:
        throw new HostKeyError('unknown', { ...base, file: known.name });
    }
  };
}
