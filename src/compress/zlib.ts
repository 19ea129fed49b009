/**
 * zlib streams for SSH compression (RFC 4253 §6.2; RFC 1950 zlib format, RFC 1951 deflate) on
 * pako, a port of zlib itself to JavaScript: synchronous, so it runs wherever the core runs,
 * with zlib's own flush modes.
 *
 * Per packet, as OpenSSH does (packet.c compress_buffer / uncompress_buffer): deflate at level 6
 * with Z_PARTIAL_FLUSH, so each packet's bytes decode on their own while the dictionary carries
 * over; inflate with Z_SYNC_FLUSH, which takes any flush the peer used.
 */
import { Deflate, Inflate, Z_OK, Z_PARTIAL_FLUSH, Z_SYNC_FLUSH } from 'pako';
import { DisconnectReason, ProtocolError } from '../errors.js';
import type { CompressionProvider, PayloadDeflater, PayloadInflater } from './compressor.js';

/** Output arrives in chunks of this size, so a bomb is stopped within one chunk of the cap. */
const CHUNK = 16 * 1024;
/** RFC 1950: the zlib wrapper with a 32 KiB window, as deflateInit/inflateInit use. */
const WINDOW_BITS = 15;

/** Thrown from onData to stop inflating once the cap is passed. */
class TooLarge extends Error {}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

class PakoDeflater implements PayloadDeflater {
  private readonly stream: Deflate;
  totalIn = 0;
  totalOut = 0;
  private out: Uint8Array[] = [];
  private outLength = 0;

  constructor(level: number) {
    this.stream = new Deflate({ level: level as 6, windowBits: WINDOW_BITS, chunkSize: CHUNK });
    this.stream.onData = (chunk) => {
      this.out.push(chunk);
      this.outLength += chunk.length;
    };
  }

  deflate(payload: Uint8Array): Uint8Array {
    if (!this.stream.push(payload, Z_PARTIAL_FLUSH) || this.stream.err !== Z_OK) {
      throw new Error(`zlib deflate failed: ${this.stream.msg || this.stream.err}`);
    }
    const result = concat(this.out, this.outLength);
    this.out = [];
    this.outLength = 0;
    // zlib's total_in/total_out: push takes the whole payload.
    this.totalIn += payload.length;
    this.totalOut += result.length;
    return result;
  }
}

class PakoInflater implements PayloadInflater {
  private readonly stream: Inflate;
  totalIn = 0;
  totalOut = 0;
  private out: Uint8Array[] = [];
  private outLength = 0;
  private maxLength = 0;

  constructor() {
    this.stream = new Inflate({ windowBits: WINDOW_BITS, chunkSize: CHUNK });
    this.stream.onData = (chunk) => {
      this.out.push(chunk);
      this.outLength += chunk.length;
      if (this.outLength > this.maxLength) throw new TooLarge();
    };
  }

  inflate(data: Uint8Array, maxLength: number): Uint8Array {
    this.out = [];
    this.outLength = 0;
    this.maxLength = maxLength;
    let ok: boolean;
    try {
      ok = this.stream.push(data, Z_SYNC_FLUSH);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
      // OpenSSH packet.c PACKET_MAX_SIZE: no packet is larger than this, compressed or not.
      throw new ProtocolError(`a compressed packet from the server expands beyond ${maxLength} bytes`, {
        code: 'ERR_PACKET_TOO_LARGE',
        reason: DisconnectReason.COMPRESSION_ERROR,
      });
    }
    // OpenSSH uncompress_buffer: anything but more data (a data error, the stream's end) is fatal.
    if (!ok || this.stream.err !== Z_OK || this.stream.ended) {
      // RFC 4253 §11.1: reason 6, compression error.
      throw new ProtocolError(
        `decompression failed: invalid zlib data from the server (${this.stream.msg || (this.stream.ended ? 'stream ended' : this.stream.err)})`,
        { code: 'ERR_MALFORMED_PACKET', reason: DisconnectReason.COMPRESSION_ERROR },
      );
    }
    const result = concat(this.out, this.outLength);
    this.out = [];
    this.outLength = 0;
    this.totalIn += data.length;
    this.totalOut += result.length;
    return result;
  }
}

/**
 * zlib for `zlib@openssh.com` and `zlib` on pako's streaming zlib: what the Node library and CLI
 * use for `-C`, and what `pure-ssh/web` users pass to turn compression on (the web adapter does
 * not import it, so bundles without compression leave pako out).
 *
 * @example
 * ```ts
 * import { connect } from 'pure-ssh/web';
 * import { zlibCompression } from 'pure-ssh/compress-zlib';
 * const ssh = await connect({ transport, host, username, privateKey, knownHosts, compression: zlibCompression });
 * ```
 */
export const zlibCompression: CompressionProvider = {
  deflater: (level) => new PakoDeflater(level),
  inflater: () => new PakoInflater(),
};

export type { CompressionProvider, PayloadDeflater, PayloadInflater } from './compressor.js';
