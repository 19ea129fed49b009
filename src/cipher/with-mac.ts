/**
 * A block or stream cipher with a separate MAC (Go's streamPacketCipher, OpenSSH packet.c's
 * non-AEAD path), in both placements:
 * - encrypt-then-MAC (`-etm@openssh.com`, OpenSSH PROTOCOL §1.5): packet_length in the clear, the
 *   rest encrypted, MAC over `seq || packet_length || ciphertext`; verified before decrypting.
 * - encrypt-and-MAC (RFC 4253 §6.4): the whole packet encrypted, MAC over `seq || plaintext`; the
 *   first block is decrypted to learn the length, and the MAC can only be checked on plaintext.
 */
import type { BlockStream } from '../crypto/provider.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import type { Mac } from '../mac/mac.js';
import { readUint32 } from '../protocol/wire.js';
import type { PacketCipher } from './cipher.js';
import { keysOutOfView } from './out-of-view.js';

/**
 * The error for a packet whose MAC or AEAD tag does not verify (ERR_MAC), worded as OpenSSH's
 * ssherr.c SSH_ERR_MAC_INVALID, "message authentication code incorrect". With a separate MAC
 * (`aead` false) packet.c also logs "Corrupted MAC on input." first; an AEAD cipher's failure
 * comes from cipher_crypt without that line. The CLI words it as ssh(1) does (describeFatal).
 */
export function macError(seq: number, aead = false): ProtocolError {
  const what = `message authentication code incorrect (packet ${seq})`;
  return new ProtocolError(aead ? what : `Corrupted MAC on input: ${what}`, {
    code: 'ERR_MAC',
    reason: DisconnectReason.MAC_ERROR,
  });
}

/** Constant-time comparison of `a[ai, ai + n)` and `b[bi, bi + n)`. */
export function rangesEqual(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a[ai + i]! ^ b[bi + i]!;
  return diff === 0;
}

/** A {@link PacketCipher} from a cipher stream per direction and a MAC. */
export class CipherWithMac implements PacketCipher {
  readonly name: string;
  readonly macLength: number;
  readonly excludesLength: boolean;
  readonly lengthBytes: number;
  readonly outOfPlace = false;
  readonly discardOnError: boolean;
  private readonly expected: Uint8Array;

  private readonly etm: boolean;

  constructor(
    cipherName: string,
    readonly blockSize: number,
    private readonly stream: BlockStream,
    private readonly mac: Mac,
    cbc = false,
  ) {
    this.name = `${cipherName}+${mac.name}`;
    this.etm = mac.etm;
    this.macLength = mac.length;
    this.excludesLength = mac.etm;
    this.lengthBytes = mac.etm ? 4 : blockSize;
    this.expected = new Uint8Array(mac.length);
    // OpenSSH packet.c ssh_packet_start_discard: discard mode for CBC without encrypt-then-MAC
    // only (with EtM the length and MAC are checked before any decryption: nothing to time).
    this.discardOnError = cbc && !mac.etm;
  }

  discardMac(seq: number, buf: Uint8Array, n: number): void {
    this.mac.compute(seq, buf, 0, n, this.expected, 0);
  }

  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void {
    const end = off + 4 + packetLength;
    if (this.etm) {
      // PROTOCOL §1.5: encrypt everything after the length, then MAC the length and ciphertext.
      this.stream.update(buf, off + 4, end);
      this.mac.compute(seq, buf, off, end, buf, end);
    } else {
      // RFC 4253 §6.4: mac = MAC(key, sequence_number || unencrypted_packet), then encrypt it all.
      this.mac.compute(seq, buf, off, end, buf, end);
      this.stream.update(buf, off, end);
    }
  }

  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    // PROTOCOL §1.5: the length is in the clear. RFC 4253 §6: otherwise it is in the first block.
    if (!this.etm) this.stream.update(buf, off, off + this.blockSize);
    return readUint32(buf, off);
  }

  open(seq: number, buf: Uint8Array, off: number, packetLength: number): undefined {
    const end = off + 4 + packetLength;
    const e = this.expected;
    if (this.etm) {
      // PROTOCOL §1.5: verify before decrypting anything.
      this.mac.compute(seq, buf, off, end, e, 0);
      if (!rangesEqual(e, 0, buf, end, e.length)) throw macError(seq);
      this.stream.update(buf, off + 4, end);
      return undefined;
    }
    // RFC 4253 §6.4: the first block was decrypted by decryptLength; the MAC covers the plaintext.
    this.stream.update(buf, off + this.blockSize, end);
    this.mac.compute(seq, buf, off, end, e, 0);
    if (!rangesEqual(e, 0, buf, end, e.length)) throw macError(seq);
    return undefined;
  }

  dispose(): void {
    this.stream.dispose();
    this.mac.dispose();
    this.expected.fill(0);
  }
}
keysOutOfView(CipherWithMac);
