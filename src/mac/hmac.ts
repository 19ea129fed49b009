/**
 * HMAC MACs (RFC 2104): hmac-sha2-256 and hmac-sha2-512 (RFC 6668), hmac-sha1 (RFC 4253 §6.4),
 * and their encrypt-then-MAC forms hmac-*-etm@openssh.com (OpenSSH PROTOCOL §1.5). The key length
 * equals the hash output length (RFC 6668 §2, RFC 4253 §6.4).
 */
import type { HashName } from '../crypto/provider.js';
import { HASH_LENGTH } from '../crypto/provider.js';
import type { Mac, MacAlgorithm } from './mac.js';
import { seqBytes } from './mac.js';

function hmacRow(name: string, hash: HashName, etm: boolean): MacAlgorithm {
  const length = HASH_LENGTH[hash];
  return {
    name,
    keyLength: length,
    length,
    etm,
    create(key, crypto): Mac {
      const h = crypto.hmac(hash, key);
      const seq = new Uint8Array(4);
      return {
        name,
        etm,
        length,
        compute: (s, buf, start, end, out, outOff) => h.compute(seqBytes(s, seq), buf, start, end, out, outOff),
        dispose: () => h.dispose(),
      };
    },
  };
}

/** The HMAC rows, encrypt-then-MAC first (OpenSSH's order). */
export const hmacAlgorithms: readonly MacAlgorithm[] = [
  hmacRow('hmac-sha2-256-etm@openssh.com', 'sha256', true),
  hmacRow('hmac-sha2-512-etm@openssh.com', 'sha512', true),
  hmacRow('hmac-sha1-etm@openssh.com', 'sha1', true),
  hmacRow('hmac-sha2-256', 'sha256', false),
  hmacRow('hmac-sha2-512', 'sha512', false),
  hmacRow('hmac-sha1', 'sha1', false),
];
