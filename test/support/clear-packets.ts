/**
 * The server's packets before its first NEWKEYS travel in the clear (RFC 4253 §6: no MAC, the
 * none cipher's 8-byte blocks): tests of hostile servers rewrite them on the way to the client.
 */
import { SshReader, SshWriter } from '../../src/protocol/wire.js';
import type { Pair } from './pair.js';

/** RFC 4253 §6 framing without encryption: padding ≥ 4, total a multiple of 8. */
export function frameClear(payload: Uint8Array): Uint8Array {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  return new SshWriter(16 + payload.length).uint32(1 + payload.length + pad).byte(pad).raw(payload).raw(new Uint8Array(pad)).toBytes();
}

/**
 * Rewrites the first server packet of message number `type` (before the first NEWKEYS) with
 * `mutate(payload)`; everything else passes as it is.
 */
export function rewriteServerPacket(p: Pair, type: number, mutate: (payload: Uint8Array) => Uint8Array): void {
  let done = false;
  p.toClient = (chunk) => {
    if (done || (chunk[0] === 0x53 && chunk[1] === 0x53 && chunk[2] === 0x48)) return chunk; // "SSH-" line
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length && !done) {
      const len = new DataView(chunk.buffer, chunk.byteOffset + off).getUint32(0);
      const pad = chunk[off + 4]!;
      const payload = chunk.subarray(off + 5, off + 4 + len - pad);
      if (payload[0] === type) {
        out.push(frameClear(mutate(payload.slice())));
        done = true;
      } else out.push(chunk.subarray(off, off + 4 + len));
      off += 4 + len;
    }
    out.push(chunk.subarray(off));
    return Buffer.concat(out);
  };
}

/**
 * A rewrite for {@link rewriteServerPacket}: message 31 of the one-round exchanges (KEXDH_REPLY,
 * KEX_ECDH_REPLY, the hybrids' reply: string K_S, string Q_S / f, string signature) with the
 * server's value replaced by `f(value)`.
 */
export function withServerValue(f: (value: Uint8Array) => Uint8Array): (payload: Uint8Array) => Uint8Array {
  return (payload) => {
    const r = new SshReader(payload, 1);
    const hostKey = r.string();
    const value = r.string();
    const sig = r.string();
    return new SshWriter(64 + payload.length).byte(31).string(hostKey).string(f(value.slice())).string(sig).toBytes();
  };
}
