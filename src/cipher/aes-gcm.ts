/**
 * aes128-gcm@openssh.com and aes256-gcm@openssh.com (RFC 5647 as OpenSSH PROTOCOL §1.6 changes
 * it): the negotiated MAC is ignored; packet_length is sent in the clear and authenticated as
 * AAD; `padding_length || payload || padding` is a multiple of 16; the 12-byte nonce is the
 * 4-byte fixed field and the 8-byte invocation counter from the derived IV (RFC 5647 §7.1), the
 * counter incremented after every packet; a 16-byte tag follows.
 */
import type { AesGcm } from '../crypto/provider.js';
import { UsageError } from '../errors.js';
import { readUint32 } from '../protocol/wire.js';
import type { CipherAlgorithm, PacketCipher } from './cipher.js';
import { keysOutOfView } from './out-of-view.js';
import { macError } from './with-mac.js';

class AesGcmCipher implements PacketCipher {
  readonly blockSize = 16;
  readonly macLength = 16;
  readonly excludesLength = true;
  readonly lengthBytes = 4;
  readonly outOfPlace: boolean;
  private readonly iv: Uint8Array;

  constructor(
    readonly name: string,
    private readonly gcm: AesGcm,
    iv: Uint8Array,
  ) {
    this.iv = iv.slice(0, 12);
    this.outOfPlace = gcm.openCopy !== undefined;
  }

  // RFC 5647 §7.1: the invocation counter is the IV's last 8 bytes, a 64-bit big-endian integer.
  private nextIv(): void {
    const iv = this.iv;
    for (let i = 11; i >= 4; i--) {
      iv[i] = (iv[i]! + 1) & 0xff;
      if (iv[i] !== 0) break;
    }
  }

  seal(_seq: number, buf: Uint8Array, off: number, packetLength: number): void {
    this.gcm.seal(this.iv, buf, off, off + 4, off + 4 + packetLength);
    this.nextIv();
  }

  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    // RFC 5647 §7.3: packet_length is not encrypted.
    return readUint32(buf, off);
  }

  open(seq: number, buf: Uint8Array, off: number, packetLength: number): Uint8Array | undefined {
    if (this.gcm.openCopy) {
      const plain = this.gcm.openCopy(this.iv, buf, off, off + 4, off + 4 + packetLength);
      if (plain === null) throw macError(seq, true);
      this.nextIv();
      return plain;
    }
    if (!this.gcm.open(this.iv, buf, off, off + 4, off + 4 + packetLength)) throw macError(seq, true);
    this.nextIv();
    return undefined;
  }

  dispose(): void {
    this.gcm.dispose();
    this.iv.fill(0);
  }
}

keysOutOfView(AesGcmCipher);

function gcmRow(bits: 128 | 256): CipherAlgorithm {
  const name = `aes${bits}-gcm@openssh.com`;
  return {
    name,
    keyLength: bits / 8,
    ivLength: 12,
    blockSize: 16,
    aead: true,
    legacy: false,
    create(key, iv, _mac, crypto) {
      if (key.length !== bits / 8 || iv.length !== 12) throw new UsageError(`${name} needs a ${bits / 8}-byte key and a 12-byte IV`);
      return new AesGcmCipher(name, crypto.aesGcm(key), iv);
    },
  };
}

/** The AES-GCM rows. */
export const aesGcmAlgorithms: readonly CipherAlgorithm[] = [gcmRow(128), gcmRow(256)];
