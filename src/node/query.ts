/**
 * `pure-ssh -Q QUERY` (ssh.c's `case 'Q'`, OpenSSH 9.2 with Debian's GSSAPI key exchange patch):
 * the algorithms pure-ssh itself implements, one per line, read from its registries (cipher/,
 * mac/, kex/, keys/, compress/), in the order OpenSSH's `ssh -Q` lists them (its tables, see
 * config/openssh-names.ts OPENSSH_NAMES); a name OpenSSH 9.2 does not know comes last
 * (mlkem768x25519-sha256, which OpenSSH 10 lists).
 *
 * Where the lists differ from ssh 9.2's, it is what pure-ssh does not implement: 3des-cbc, the
 * hmac-md5 and `-96` MACs, ssh-dss, the FIDO `sk-*` key types (no security key support) and the
 * GSSAPI key exchanges (`-Q kex-gss` prints nothing; ssh would print one empty line for an
 * empty list).
 */
import { supportedAlgorithms } from '../algorithms.js';
import { cipherAlgorithms } from '../cipher/registry.js';
import { compressionAlgorithms } from '../compress/registry.js';
import { QUERIES } from '../config/cli-args.js';
import { OPENSSH_NAMES, type AlgorithmListKind } from '../config/openssh-names.js';
import { hostKeyAlgorithms, legacyHostKeyAlgorithms } from '../keys/hostkey.js';

/** `names` in OpenSSH's `ssh -Q` order for `kind`; names it does not know last, as given. */
function inOpensshOrder(kind: AlgorithmListKind, names: Iterable<string>): string[] {
  const order = OPENSSH_NAMES[kind];
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  return [...new Set(names)].map((n, i) => ({ n, i })).sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((e) => e.n);
}

/**
 * The lines `-Q query` prints (`query` as cli-args.ts queryName gives it): sshkey.c sshkey_alg_list's
 * split for the key queries: key types (`key`; `key-plain` without certificates, `key-cert`
 * only them) and, with the signature-only algorithms (rsa-sha2-*), `key-sig` and `sig` (plain).
 *
 * @example
 * queryLines('cipher-auth'); // ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']
 */
export function queryLines(query: string): string[] {
  const supported = supportedAlgorithms();
  const hostKey = [...hostKeyAlgorithms.values(), ...legacyHostKeyAlgorithms.values()];
  const keyTypes = new Set(hostKey.map((a) => a.keyType));
  const isCert = (n: string) => n.endsWith('-cert-v01@openssh.com');
  const keys = (filter: (n: string) => boolean) => inOpensshOrder('hostKeyAlgorithms', [...keyTypes].filter(filter));
  const sigs = (filter: (n: string) => boolean) =>
    inOpensshOrder('hostKeyAlgorithms', [...keyTypes, ...hostKey.map((a) => a.name)].filter(filter));
  switch (query) {
    case 'cipher':
      return inOpensshOrder('ciphers', supported.cipher);
    case 'cipher-auth':
      // cipher.c cipher_alg_list(auth_only): the ciphers with their own integrity (AEAD).
      return inOpensshOrder('ciphers', [...cipherAlgorithms.values()].filter((c) => c.aead).map((c) => c.name));
    case 'compression':
      return [...compressionAlgorithms.keys()];
    case 'kex':
      return inOpensshOrder('kexAlgorithms', supported.kex);
    case 'kex-gss':
      return [];
    case 'key':
      return keys(() => true);
    case 'key-cert':
      return keys(isCert);
    case 'key-plain':
      return keys((n) => !isCert(n));
    case 'key-sig':
      return sigs(() => true);
    case 'sig':
      return sigs((n) => !isCert(n));
    case 'mac':
      return inOpensshOrder('macs', supported.mac);
    case 'protocol-version':
      return ['2'];
    case 'help':
      return [...QUERIES];
    default:
      throw new Error(`unknown query ${query}`);
  }
}
