/**
 * {@link parsePrivateKey} with every key-file protection this library reads: ./privatekey.ts's
 * parser given ./extra-key-decryption.ts (3DES, PKCS#12 PBE, scrypt, Argon2) by default. This is the
 * parsePrivateKey of `pure-ssh` and `pure-ssh/core` and what the Node adapter and the CLI use;
 * `pure-ssh/web` exports the plain one to keep that code out of browser bundles.
 */
import { extraKeyDecryption } from './extra-key-decryption.js';
import { ENCRYPTED_KEY_HINT_NODE } from './key-file.js';
import { parsePrivateKeyFor, type ParsePrivateKeyOptions, type PrivateKey } from './privatekey.js';

/**
 * Parse a private key file in any format and protection this library reads (see ./privatekey.ts
 * parsePrivateKey for the formats and errors); `extraKeyDecryption` defaults to the built-in one.
 *
 * @example
 * const key = parsePrivateKey(readFileSync('id_rsa.pem'), { passphrase: 'secret', source: 'id_rsa.pem' });
 */
export function parsePrivateKey(input: string | Uint8Array, options?: string | ParsePrivateKeyOptions): PrivateKey {
  const opts = typeof options === 'string' ? { source: options } : (options ?? {});
  return parsePrivateKeyFor(input, { ...opts, extraKeyDecryption: opts.extraKeyDecryption ?? extraKeyDecryption }, ENCRYPTED_KEY_HINT_NODE);
}
