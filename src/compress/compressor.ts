/**
 * The compression interface the packet layer calls (RFC 4253 §6.2): one stream per direction,
 * synchronous, over Uint8Array, injected into the core like the crypto provider so the sans-IO
 * core never awaits. The default implementation is ./zlib.ts.
 */

/** Compresses outgoing payloads, one packet at a time, on one zlib stream. */
export interface PayloadDeflater {
  /**
   * The compressed form of `payload`, flushed so the peer can decompress the whole payload from
   * this packet's bytes alone; the dictionary carries over to the next call (RFC 4253 §6.2).
   */
  deflate(payload: Uint8Array): Uint8Array;
  /** zlib's z_stream total_in: payload bytes taken in so far (ssh -v's "compress outgoing: raw data"). */
  readonly totalIn?: number;
  /** zlib's z_stream total_out: compressed bytes given out so far. */
  readonly totalOut?: number;
}

/** Decompresses incoming payloads, one packet at a time, on one zlib stream. */
export interface PayloadInflater {
  /**
   * The decompressed payload of one packet. Throws ProtocolError when the data is not a valid
   * continuation of the stream, or when it would decompress to more than `maxLength` bytes
   * (a decompression bomb).
   */
  inflate(data: Uint8Array, maxLength: number): Uint8Array;
  /** zlib's z_stream total_in: compressed bytes taken in so far (ssh -v's "compress incoming: compressed"). */
  readonly totalIn?: number;
  /** zlib's z_stream total_out: payload bytes given out so far. */
  readonly totalOut?: number;
}

/** Makes fresh streams; a new one starts at each NEWKEYS that turns compression on (OpenSSH packet.c). */
export interface CompressionProvider {
  /** A zlib (RFC 1950) deflate stream at `level` 1..9. */
  deflater(level: number): PayloadDeflater;
  /** A zlib (RFC 1950) inflate stream. */
  inflater(): PayloadInflater;
}

/**
 * Byte totals of one direction's zlib stream (OpenSSH packet.c ssh_packet_close's -v lines):
 * `raw` payload bytes, `compressed` bytes on the wire side of the stream.
 */
export interface CompressionCount {
  raw: number;
  compressed: number;
}

/** Per direction, the zlib stream last started (undefined: compression never ran that way). */
export interface CompressionTotals {
  outgoing: CompressionCount | undefined;
  incoming: CompressionCount | undefined;
}
