/**
 * UMAC MACs as OpenSSH uses them (RFC 4418; OpenSSH mac.c / umac.c): umac-64@openssh.com and
 * umac-128@openssh.com (encrypt-and-MAC) and their -etm@openssh.com forms. Unlike HMAC, the
 * sequence number is not part of the MAC input: it is the nonce, written as a 64-bit big-endian
 * integer (uint32 seq in the low half); the key is 16 bytes.
 */
import { Umac } from '../crypto/umac.js';
import type { Mac, MacAlgorithm } from './mac.js';

function umacRow(name: string, tagLength: 8 | 16, etm: boolean): MacAlgorithm {
  return {
    name,
    keyLength: 16,
    length: tagLength,
    etm,
    create(key): Mac {
      const umac = new Umac(key, tagLength);
      const nonce = new Uint8Array(8);
      return {
        name,
        etm,
        length: tagLength,
        compute(seq, buf, start, end, out, outOff) {
          // OpenSSH mac.c: the nonce is the sequence number, big-endian, in 8 bytes.
          nonce[4] = seq >>> 24;
          nonce[5] = seq >>> 16;
          nonce[6] = seq >>> 8;
          nonce[7] = seq;
          umac.mac(buf, start, end - start, nonce, out, outOff);
        },
        dispose: () => umac.dispose(),
      };
    },
  };
}

/** The UMAC rows, in OpenSSH's order. */
export const umacAlgorithms: readonly MacAlgorithm[] = [
  umacRow('umac-64-etm@openssh.com', 8, true),
  umacRow('umac-128-etm@openssh.com', 16, true),
  umacRow('umac-64@openssh.com', 8, false),
  umacRow('umac-128@openssh.com', 16, false),
];
