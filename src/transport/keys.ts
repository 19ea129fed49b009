/**
 * Per direction, the one place that derives keys and builds the packet protection (Go's
 * newPacketCipher): RFC 4253 §7.2 letters A/C/E for client→server and B/D/F for server→client,
 * lengths from the negotiated cipher and MAC registry rows.
 */
import type { PacketCipher } from '../cipher/cipher.js';
import { cipherAlgorithms } from '../cipher/registry.js';
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { deriveKey, type KdfLetter } from '../kex/kex.js';
import { macAlgorithms } from '../mac/registry.js';
import type { Negotiated } from './kexinit.js';

/** The outcome of a key exchange that the keys come from. */
export interface ExchangeSecrets {
  hash: HashName;
  /** K, encoded (mpint or string with its length prefix). */
  sharedSecret: Uint8Array;
  /** H of this exchange. */
  exchangeHash: Uint8Array;
  /** The first exchange's H (RFC 4253 §7.2). */
  sessionId: Uint8Array;
}

/** Which way the keys protect traffic. */
export type Direction = 'client-to-server' | 'server-to-client';

const LETTERS: Readonly<Record<Direction, { iv: KdfLetter; key: KdfLetter; mac: KdfLetter }>> = {
  'client-to-server': { iv: 'A', key: 'C', mac: 'E' },
  'server-to-client': { iv: 'B', key: 'D', mac: 'F' },
};

/**
 * Derive the keys of `direction` and build its {@link PacketCipher}. `sending` is true for the
 * side that seals with it (the client for client-to-server). Derived key material is wiped once
 * the cipher holds it.
 */
export function newDirection(
  direction: Direction,
  negotiated: Negotiated,
  secrets: ExchangeSecrets,
  crypto: CryptoProvider,
  sending: boolean,
): PacketCipher {
  const c2s = direction === 'client-to-server';
  const cipherName = c2s ? negotiated.cipherClientToServer : negotiated.cipherServerToClient;
  const macName = c2s ? negotiated.macClientToServer : negotiated.macServerToClient;
  const cipher = cipherAlgorithms.get(cipherName);
  if (!cipher) throw new Error(`negotiated an unknown cipher ${cipherName}`);
  const letters = LETTERS[direction];
  const hash = (d: Uint8Array) => crypto.hash(secrets.hash, d);
  const derive = (letter: KdfLetter, length: number) =>
    deriveKey(hash, secrets.sharedSecret, secrets.exchangeHash, letter, secrets.sessionId, length);
  const iv = derive(letters.iv, cipher.ivLength);
  const key = derive(letters.key, cipher.keyLength);
  let mac;
  if (!cipher.aead) {
    const macAlg = macName ? macAlgorithms.get(macName) : undefined;
    if (!macAlg) throw new Error(`negotiated an unknown MAC ${macName}`);
    const macKey = derive(letters.mac, macAlg.keyLength);
    mac = macAlg.create(macKey, crypto);
    macKey.fill(0);
  }
  try {
    return cipher.create(key, iv, mac, crypto, sending);
  } finally {
    key.fill(0);
    iv.fill(0);
  }
}
