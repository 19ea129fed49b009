/**
 * Host key decisions without a file system: a known_hosts text (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"), checked with OpenSSH's precedence by keys/knownhosts.ts.
 */
import { HostKeyError } from '../errors.js';
import { checkHostKey, knownHostKeyTypes, parseKnownHosts, type KnownHostsEntry } from '../keys/knownhosts.js';

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

/** Key types already recorded for the host, for ssh(1)'s host key algorithm ordering. */
export function knownTypes(known: KnownHostsText, host: string, port: number): string[] {
  return knownHostKeyTypes(known.entries, host, port);
}

/**
 * A verifier that accepts only a key recorded for the host (StrictHostKeyChecking yes: there is
 * no file to add a new key to). Unknown, changed and revoked keys throw a HostKeyError naming the line.
 */
export function knownHostsTextVerifier(known: KnownHostsText): WebHostKeyVerifier {
  return (info) => {
    const check = checkHostKey(known.entries, info.host, info.port, info.keyBlob);
    const base = { host: check.name, keyType: info.keyType, fingerprint: info.fingerprint };
    switch (check.status) {
      case 'match':
        return;
      case 'changed':
        throw new HostKeyError('changed', { ...base, file: check.entry.file, line: check.entry.line });
      case 'revoked':
        throw new HostKeyError('revoked', { ...base, file: check.entry.file, line: check.entry.line });
      default:
        throw new HostKeyError('unknown', { ...base, file: known.name });
    }
  };
}
