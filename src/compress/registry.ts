/**
 * The compression registry (RFC 4253 §6.2 compression_algorithms): one row per name.
 * Negotiation is per direction (RFC 4253 §7.2); the handshake reads the rows to know whether
 * and when a direction compresses.
 */

/** One compression method. */
export interface CompressionAlgorithm {
  readonly name: string;
  /** Whether payloads go through a zlib stream at all. */
  readonly zlib: boolean;
  /**
   * OpenSSH PROTOCOL §1.2 / draft-miller-secsh-compression-delayed-00: the stream starts only
   * after USERAUTH_SUCCESS (at its receipt, for the client; packet.c), not at NEWKEYS.
   */
  readonly delayed: boolean;
}

const ROWS: readonly CompressionAlgorithm[] = [
  // RFC 4253 §6.2: REQUIRED.
  { name: 'none', zlib: false, delayed: false },
  { name: 'zlib@openssh.com', zlib: true, delayed: true },
  // RFC 4253 §6.2: OPTIONAL, from NEWKEYS on (OpenSSH sshd has not offered it since 7.4; removed in 10.0).
  { name: 'zlib', zlib: true, delayed: false },
];

/** Compression methods by name. */
export const compressionAlgorithms: ReadonlyMap<string, CompressionAlgorithm> = new Map(ROWS.map((r) => [r.name, r]));

/**
 * ssh_config(5) `Compression yes` / `-C`: what we offer, in OpenSSH 9.2's order (cipher.c
 * compression_alg_list; OpenSSH 10 offers the same without `zlib`).
 */
export const COMPRESSION_YES: readonly string[] = ['zlib@openssh.com', 'zlib', 'none'];

/**
 * `Compression no` (the default): only `none`. (OpenSSH also lists the zlib methods after `none`,
 * which only matters with a server that does not offer `none`; we never compress unasked.)
 */
export const COMPRESSION_NO: readonly string[] = ['none'];

/** OpenSSH packet.c: the compression level it always uses. */
export const COMPRESSION_LEVEL = 6;
