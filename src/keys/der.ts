/**
 * A small strict DER reader (ITU-T X.690 §8 BER, restricted by §10 DER) for the key structures of
 * PKCS#1, SEC1 and PKCS#8. Only what those need: single-byte tags, definite minimal lengths,
 * INTEGER, OCTET STRING, BIT STRING, OBJECT IDENTIFIER, NULL, SEQUENCE and context-specific tags.
 * Every read is bounds-checked; anything not DER raises KeyError ERR_KEY_FORMAT.
 */
import { KeyError } from '../errors.js';

/** X.690 §8.1.2 identifier octets used by key files. */
export const DerTag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  SEQUENCE: 0x30,
} as const;

/** X.690 §8.1.2.2: class "context-specific" (bits 8-7 = 10), constructed (bit 6) or not. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/**
 * Input that is not DER (ERR_KEY_FORMAT). Its own class because, read from freshly decrypted
 * bytes, it is the sign of a wrong passphrase (see `parseDecrypted` in key-file.ts).
 */
export class MalformedDerError extends KeyError {
  constructor(message: string) {
    super('ERR_KEY_FORMAT', message);
  }
}

function malformed(what: string, why: string): MalformedDerError {
  return new MalformedDerError(`malformed DER in ${what}: ${why}`);
}

/** Reads the elements of one DER value (a whole file, or the contents of a SEQUENCE) in order. */
export class DerReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what = 'key',
  ) {}

  /** The next element's tag, or undefined at the end. */
  peekTag(): number | undefined {
    return this.pos < this.buf.length ? this.buf[this.pos] : undefined;
  }

  /** The next element's contents, which must carry `tag` (X.690 §8.1). */
  read(tag: number, what: string): Uint8Array {
    const b = this.buf;
    if (this.pos >= b.length) throw malformed(this.what, `${what} missing`);
    const got = b[this.pos++]!;
    // X.690 §8.1.2.4: tag numbers ≥ 31 use more octets; no key structure has one.
    if ((got & 0x1f) === 0x1f) throw malformed(this.what, `multi-byte tag at ${what}`);
    if (got !== tag) throw malformed(this.what, `${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(got)}`);
    if (this.pos >= b.length) throw malformed(this.what, `${what} has no length`);
    let len = b[this.pos++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      // X.690 §10.1: definite form only (0x80 is BER's indefinite length); §8.1.3.5: n ≤ 4 here.
      if (n === 0 || n > 4) throw malformed(this.what, `${what}: unsupported length form`);
      if (this.pos + n > b.length) throw malformed(this.what, `${what}: truncated length`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[this.pos++]!;
      // X.690 §10.1: the minimum number of length octets.
      if (len < 0x80 || (n > 1 && b[this.pos - n] === 0)) throw malformed(this.what, `${what}: non-minimal length`);
    }
    if (len > b.length - this.pos) throw malformed(this.what, `${what}: length ${len} exceeds the data`);
    const value = b.subarray(this.pos, this.pos + len);
    this.pos += len;
    return value;
  }

  /** A SEQUENCE, as a reader over its elements. */
  sequence(what: string): DerReader {
    return new DerReader(this.read(DerTag.SEQUENCE, what), this.what);
  }

  /**
   * A non-negative INTEGER (X.690 §8.3) as its big-endian magnitude (a leading 0x00 that only
   * carries the sign is removed). Negative or non-minimal encodings are refused.
   */
  unsignedInteger(what: string): Uint8Array {
    const v = this.read(DerTag.INTEGER, what);
    if (v.length === 0) throw malformed(this.what, `${what}: empty INTEGER`);
    // X.690 §8.3.2: the first nine bits must not be all zeros or all ones.
    if (v.length > 1 && ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))) {
      throw malformed(this.what, `${what}: non-minimal INTEGER`);
    }
    if (v[0]! & 0x80) throw malformed(this.what, `${what} is negative`);
    return v[0] === 0 && v.length > 1 ? v.subarray(1) : v;
  }

  /** A small non-negative INTEGER (version numbers, iteration counts, lengths). */
  smallInteger(what: string): number {
    const v = this.unsignedInteger(what);
    if (v.length > 4) throw malformed(this.what, `${what} is too large`);
    let n = 0;
    for (const byte of v) n = n * 256 + byte;
    return n;
  }

  octetString(what: string): Uint8Array {
    return this.read(DerTag.OCTET_STRING, what);
  }

  /** A BIT STRING whose length is a whole number of octets (X.690 §8.6: "unused bits" 0). */
  bitString(what: string): Uint8Array {
    return bitStringOctets(this.read(DerTag.BIT_STRING, what), `${this.what} ${what}`);
  }

  /** An OBJECT IDENTIFIER (X.690 §8.19) in dotted form, e.g. "1.2.840.10045.2.1". */
  objectIdentifier(what: string): string {
    const v = this.read(DerTag.OBJECT_IDENTIFIER, what);
    if (v.length === 0) throw malformed(this.what, `${what}: empty OBJECT IDENTIFIER`);
    const arcs: number[] = [];
    let acc = 0;
    for (let i = 0; i < v.length; i++) {
      // X.690 §8.19.2: base-128 subidentifiers, no leading 0x80 octet.
      if (acc === 0 && v[i] === 0x80) throw malformed(this.what, `${what}: non-minimal subidentifier`);
      acc = acc * 128 + (v[i]! & 0x7f);
      if (acc > Number.MAX_SAFE_INTEGER / 128) throw malformed(this.what, `${what}: subidentifier too large`);
      if ((v[i]! & 0x80) === 0) {
        arcs.push(acc);
        acc = 0;
      } else if (i === v.length - 1) {
        throw malformed(this.what, `${what}: truncated OBJECT IDENTIFIER`);
      }
    }
    // X.690 §8.19.4: the first subidentifier packs the first two arcs as 40·X + Y.
    const first = arcs[0]!;
    const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
    return [...head, ...arcs.slice(1)].join('.');
  }

  null(what: string): void {
    if (this.read(DerTag.NULL, what).length !== 0) throw malformed(this.what, `${what}: NULL with contents`);
  }

  /**
   * An optional context-specific element `[n]`: its contents when the next tag is `tag`, else
   * undefined (nothing consumed).
   */
  optional(tag: number, what: string): Uint8Array | undefined {
    return this.peekTag() === tag ? this.read(tag, what) : undefined;
  }

  /** All elements were read (DER allows no trailing data in a structure). */
  end(what: string): void {
    if (this.pos !== this.buf.length) throw malformed(this.what, `${this.buf.length - this.pos} unexpected bytes after ${what}`);
  }
}

/** The octets of a BIT STRING's contents (X.690 §8.6.2: first octet = unused bits, must be 0 here). */
export function bitStringOctets(contents: Uint8Array, what: string): Uint8Array {
  if (contents.length === 0 || contents[0] !== 0) throw malformed(what, 'BIT STRING with unused bits');
  return contents.subarray(1);
}

/** An AlgorithmIdentifier (RFC 5280 §4.1.1.2): the OID and a reader over the parameters, if any. */
export function algorithmIdentifier(r: DerReader, what: string): { oid: string; params: DerReader } {
  const seq = r.sequence(what);
  const oid = seq.objectIdentifier(`${what} algorithm`);
  return { oid, params: seq };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
