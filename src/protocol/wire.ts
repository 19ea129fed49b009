/**
 * RFC 4251 §5 data type representations: byte, boolean, uint32, uint64, string, mpint, name-list.
 * Reads are bounds-checked and lengths are capped before anything is allocated; malformed input
 * only ever raises {@link ProtocolError} (code ERR_MALFORMED_PACKET).
 */
import { ProtocolError } from '../errors.js';
import { textForLog } from '../log-text.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encode (RFC 4251 §5 "string" holding ISO-10646 UTF-8 text). */
export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** UTF-8 decode, rejecting invalid sequences. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return textDecoder.decode(bytes);
  } catch (cause) {
    throw new ProtocolError('invalid UTF-8 in a string field', { code: 'ERR_MALFORMED_PACKET', cause });
  }
}

/** Concatenate byte arrays into a new one. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality of two byte arrays (length is not secret). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * RFC 4251 §5 mpint from an unsigned big-endian magnitude: strip leading zeros, prepend 0x00
 * when the top bit is set. Returns the mpint's bytes WITHOUT the uint32 length prefix.
 */
export function mpintBody(unsignedBigEndian: Uint8Array): Uint8Array {
  let i = 0;
  while (i < unsignedBigEndian.length && unsignedBigEndian[i] === 0) i++;
  const mag = unsignedBigEndian.subarray(i);
  if (mag.length > 0 && (mag[0]! & 0x80) !== 0) {
    const out = new Uint8Array(mag.length + 1);
    out.set(mag, 1);
    return out;
  }
  return mag.slice();
}

/** Bounds-checked reader over one message (RFC 4251 §5). */
export class SshReader {
  private pos: number;
  constructor(
    readonly buf: Uint8Array,
    offset = 0,
    private readonly end_ = buf.length,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end_ - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end_ - this.pos) {
      throw new ProtocolError(`truncated message: ${what} needs ${n} bytes, ${this.end_ - this.pos} left`, {
        code: 'ERR_MALFORMED_PACKET',
      });
    }
  }

  byte(): number {
    this.need(1, 'byte');
    return this.buf[this.pos++]!;
  }

  boolean(): boolean {
    return this.byte() !== 0;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  uint64(): bigint {
    const hi = this.uint32();
    const lo = this.uint32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A `string` as raw bytes: a view into the message, not a copy. */
  string(what = 'string'): Uint8Array {
    this.need(4, what);
    const len = this.uint32();
    this.need(len, what);
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** A `string` holding UTF-8 text. */
  utf8(what = 'string'): string {
    return fromUtf8(this.string(what));
  }

  /**
   * A `string` of text a person reads or a name only compared (a description, a banner, a
   * prompt, a request name), every byte kept whether UTF-8 or not ({@link textForLog}: a byte
   * that is not UTF-8 is a lone U+DC80..U+DCFF). OpenSSH takes these with sshpkt_get_string /
   * sshpkt_get_cstring, which check no encoding, and escapes them where it shows them, so a
   * server's Latin-1 text is shown, not a reason to fail the connection.
   */
  text(what = 'string'): string {
    return textForLog(this.string(what));
  }

  /**
   * A `name-list` (RFC 4251 §5): comma-separated US-ASCII names, no empty names. With
   * `onEmpty`, empty names (a trailing comma, as libssh 0.10 servers send) are skipped and
   * reported instead of refused, as OpenSSH tolerates them in a peer's KEXINIT.
   */
  nameList(what = 'name-list', onEmpty?: (list: string) => void): string[] {
    const raw = this.string(what);
    if (raw.length === 0) return [];
    for (const c of raw) {
      if (c < 0x21 || c > 0x7e) {
        throw new ProtocolError(`${what}: non-printable character in name-list`, { code: 'ERR_MALFORMED_PACKET' });
      }
    }
    const names = String.fromCharCode(...raw).split(',');
    if (names.some((n) => n.length === 0)) {
      if (onEmpty) {
        onEmpty(what);
        return names.filter((n) => n.length > 0);
      }
      throw new ProtocolError(`${what}: empty name in name-list`, { code: 'ERR_MALFORMED_PACKET' });
    }
    return names;
  }

  /** An `mpint`'s body (two's complement, big-endian), as a view. */
  mpint(what = 'mpint'): Uint8Array {
    return this.string(what);
  }

  raw(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** The rest of the message, as a view. */
  rest(): Uint8Array {
    const s = this.buf.subarray(this.pos, this.end_);
    this.pos = this.end_;
    return s;
  }

  /** Reject trailing bytes on a fully known message (russh's `ensure_end`). */
  end(what = 'message'): void {
    if (this.pos !== this.end_) {
      throw new ProtocolError(`${what}: ${this.end_ - this.pos} unexpected trailing bytes`, {
        code: 'ERR_MALFORMED_PACKET',
      });
    }
  }
}

/** Growable writer for building messages (RFC 4251 §5 encodings). */
export class SshWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  boolean(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  uint32(v: number): this {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
    return this;
  }

  uint64(v: bigint): this {
    this.uint32(Number((v >> 32n) & 0xffffffffn));
    return this.uint32(Number(v & 0xffffffffn));
  }

  /** A `string`: uint32 length then the bytes (text is UTF-8 encoded). */
  string(v: Uint8Array | string): this {
    const bytes = typeof v === 'string' ? utf8(v) : v;
    this.uint32(bytes.length);
    return this.raw(bytes);
  }

  nameList(names: readonly string[]): this {
    return this.string(names.join(','));
  }

  /** An `mpint` from an unsigned big-endian magnitude. */
  mpint(unsignedBigEndian: Uint8Array): this {
    return this.string(mpintBody(unsignedBigEndian));
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** The bytes written so far (a copy sized exactly). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Write a big-endian uint32 at `offset`. */
export function writeUint32(buf: Uint8Array, offset: number, v: number): void {
  buf[offset] = v >>> 24;
  buf[offset + 1] = v >>> 16;
  buf[offset + 2] = v >>> 8;
  buf[offset + 3] = v;
}

/** Read a big-endian uint32 at `offset` (caller checked bounds). */
export function readUint32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}
