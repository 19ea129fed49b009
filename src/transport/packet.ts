/**
 * RFC 4253 §6 binary packet protocol: framing, padding, sequence numbers and the MAC/AEAD,
 * in both directions. Built for the bulk data path: packets are framed and encrypted in place
 * in large output chunks (one allocation per chunk, not per packet), and received packets are
 * decrypted in place in the chunks the socket hands us.
 */
import type { PacketCipher } from '../cipher/cipher.js';
import { NoneCipher } from '../cipher/cipher.js';
import type { PayloadDeflater, PayloadInflater } from '../compress/compressor.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { MSG } from '../protocol/messages.js';
import { writeUint32 } from '../protocol/wire.js';
import { slabBytes } from '../crypto/slab.js';
import { markIfExclusive } from './exclusive-payload.js';

/** OpenSSH's PACKET_MAX_SIZE (packet.c): larger lengths are rejected before allocating. */
export const MAX_PACKET_LENGTH = 256 * 1024;
/** Bytes of an output chunk: packets are framed and sealed into these. */
export const OUTPUT_CHUNK = 256 * 1024;
/**
 * Bytes of a connection's first output chunk; each chunk after it is twice the one before, up to
 * {@link OUTPUT_CHUNK}. The handshake and a quiet session fit in it: an idle connection holds
 * 16 KiB here instead of 256 (a process with 1,000 idle connections: 16 instead of 256 MiB),
 * while a transfer reaches full chunks within its first ~240 KiB sent.
 */
export const FIRST_OUTPUT_CHUNK = 16 * 1024;
/** Written chunks kept for reuse when the writer reports its writes (see {@link PacketEncoder.recycle}). */
export const OUTPUT_POOL_CHUNKS = 4;
const PADDING_POOL = 256;

/** An output chunk and the views of it not yet written (queued in the encoder or being written). */
interface OutputChunk {
  readonly bytes: Uint8Array;
  views: number;
  /** No more packets go into it (a newer chunk took over). */
  retired: boolean;
}

/** Counters used to decide when to rekey (RFC 4253 §9). */
export interface PacketCounters {
  /** Packets since the last key change. */
  packets: number;
  /** Bytes (packet_length + 4) since the last key change. */
  bytes: number;
}

/** Builds outgoing packets into large reusable chunks. */
export class PacketEncoder {
  private cipher: PacketCipher = new NoneCipher();
  /** RFC 4253 §6.4: uint32 sequence number, wraps. */
  seq = 0;
  /** Set when `seq` wrapped to 0 since the flag was last cleared (strict kex, OpenSSH PROTOCOL §1.9). */
  wrapped = false;
  readonly counters: PacketCounters = { packets: 0, bytes: 0 };
  private current: OutputChunk = { bytes: new Uint8Array(FIRST_OUTPUT_CHUNK), views: 0, retired: false };
  private chunk = this.current.bytes;
  /** Where the packet being written is built (see {@link begin}): the chunk, or the cipher's memory. */
  private dst = this.chunk;
  private dstAt = 0;
  private start = 0;
  private used = 0;
  /**
   * The view {@link queueCurrent} last made of a chunk's first bytes, and its chunk: made again
   * only when the chunk or the length changes. With {@link recycle} on, the current chunk starts
   * over once everything in it was written (see {@link written}), so a request/response
   * protocol's batches, mostly one packet of a length that repeats, each went out through a new
   * typed array (`subarray()`, which V8 does not inline) at an ever later offset.
   */
  private headView: Uint8Array = this.chunk.subarray(0, 0);
  private headViewOf: Uint8Array = this.chunk;
  // No queue here is emptied by `length = 0`: that is a V8 runtime call (~400 instructions, seen
  // per message in a callgrind profile of the -L echo path), which also frees the backing store
  // the next message grows again. `full` is handed out by take() (a new array per batch, made
  // with its first view); the others keep their arrays and count their slots.
  private full: Uint8Array[] | null = null;
  /** The chunk of each view in {@link full}, in the same order: slots 0..fullCount-1. */
  private readonly fullChunks: (OutputChunk | undefined)[] = [];
  private fullCount = 0;
  /** With {@link recycle} on: the chunk of each view handed out and not yet written, oldest first (slots writingHead..writingTail-1). */
  private readonly writing: (OutputChunk | undefined)[] = [];
  private writingHead = 0;
  private writingTail = 0;
  private recycling = false;
  /** Written chunks ready for reuse, at most {@link OUTPUT_POOL_CHUNKS}. */
  private readonly spare: Uint8Array[] = [];
  private readonly pad = new Uint8Array(PADDING_POOL);
  private padPos = 0;
  private deflater: PayloadDeflater | null = null;

  constructor(private readonly random: (n: number) => Uint8Array) {
    this.pad.set(random(PADDING_POOL));
  }

  /** Switch to new keys (after sending NEWKEYS, RFC 4253 §7.3). */
  setCipher(cipher: PacketCipher): void {
    this.cipher.dispose();
    this.cipher = cipher;
    this.counters.packets = 0;
    this.counters.bytes = 0;
    this.pad.set(this.random(PADDING_POOL));
  }

  get cipherName(): string {
    return this.cipher.name;
  }

  /** The block size of the cipher in force (the rekey limit follows it). */
  get blockSize(): number {
    return this.cipher.blockSize;
  }

  /** Compress every payload from the next packet on (null: stop). RFC 4253 §6.2. */
  setCompression(deflater: PayloadDeflater | null): void {
    this.deflater = deflater;
  }

  /** Whether payloads are being compressed. */
  get compressing(): boolean {
    return this.deflater !== null;
  }

  /** Frame and protect one payload. */
  writePayload(payload: Uint8Array): void {
    // RFC 4253 §6.2: the payload is compressed before padding, MAC and encryption.
    if (this.deflater) payload = this.deflater.deflate(payload);
    const off = this.begin(payload.length);
    this.dst.set(payload, this.dstAt + 5);
    this.finish(off, payload.length);
  }

  /**
   * Frame a payload given as a header and a range of the caller's bytes (e.g. CHANNEL_DATA's
   * fields and the data, RFC 4254 §5.2), so the data path copies each byte once, into the
   * packet, before it is encrypted in place.
   */
  writeParts(head: Uint8Array, data: Uint8Array, from: number, length: number): void {
    if (this.deflater) {
      const payload = new Uint8Array(head.length + length);
      payload.set(head);
      payload.set(data.subarray(from, from + length), head.length);
      return this.writePayload(payload);
    }
    const payloadLength = head.length + length;
    const off = this.begin(payloadLength);
    const c = this.dst;
    const p = this.dstAt + 5;
    c.set(head, p);
    c.set(data.subarray(from, from + length), p + head.length);
    this.finish(off, payloadLength);
  }

  /**
   * {@link writeParts} for SSH_MSG_CHANNEL_DATA (RFC 4254 §5.2: byte 94, uint32 recipient
   * channel, string data) with its fields written straight into the packet: no header array to
   * copy, and no view of `data` when all of it goes (a new typed array per message otherwise).
   */
  writeChannelData(recipient: number, data: Uint8Array, from: number, length: number): void {
    if (this.deflater) {
      const head = new Uint8Array(9);
      head[0] = MSG.CHANNEL_DATA;
      writeUint32(head, 1, recipient);
      writeUint32(head, 5, length);
      return this.writeParts(head, data, from, length);
    }
    const payloadLength = 9 + length;
    const off = this.begin(payloadLength);
    const c = this.dst;
    const p = this.dstAt + 5;
    c[p] = MSG.CHANNEL_DATA;
    writeUint32(c, p + 1, recipient);
    writeUint32(c, p + 5, length);
    c.set(from === 0 && length === data.length ? data : data.subarray(from, from + length), p + 9);
    this.finish(off, payloadLength);
  }

  /** OpenSSH PROTOCOL §1.9: strict kex resets the sequence number after each NEWKEYS. */
  resetSequence(): void {
    this.seq = 0;
    this.wrapped = false;
  }

  private paddingFor(payloadLength: number): number {
    const bs = this.cipher.blockSize;
    // RFC 4253 §6: (packet_length || padding_length || payload || padding) is a multiple of the
    // block size (the length field excluded for chacha20-poly1305, PROTOCOL.chacha20poly1305),
    // with at least 4 bytes of padding.
    const base = (this.cipher.excludesLength ? 0 : 4) + 1 + payloadLength;
    let padding = bs - (base % bs);
    if (padding < 4) padding += bs;
    return padding;
  }

  /**
   * Reserve room for a packet; returns its offset in the current chunk. The plaintext packet is
   * built in {@link dst} at {@link dstAt}: there, or in the cipher's own memory when it offers it
   * for this packet (PacketCipher.stage; {@link finish} then has the cipher copy the sealed packet
   * to the chunk).
   */
  private begin(payloadLength: number): number {
    const cipher = this.cipher;
    const packetLength = 1 + payloadLength + this.paddingFor(payloadLength);
    const total = 4 + packetLength + cipher.macLength;
    // With recycle on: nothing of the current chunk is queued or being written (the writer
    // reported it all), so this packet goes at its start again (see headView).
    if (this.used !== 0 && this.used === this.start && this.current.views === 0 && this.recycling) {
      this.start = 0;
      this.used = 0;
    }
    if (this.used + total > this.chunk.length) {
      this.queueCurrent();
      const old = this.current;
      old.retired = true;
      this.reuse(old);
      // Chunks grow from FIRST_OUTPUT_CHUNK by doubling; a packet larger than a full chunk gets
      // a buffer of its own; only full chunks are pooled (see reuse).
      const grown = Math.min(OUTPUT_CHUNK, old.bytes.length * 2);
      let bytes: Uint8Array;
      if (total > OUTPUT_CHUNK) bytes = new Uint8Array(total);
      else if (grown < OUTPUT_CHUNK && total <= grown) bytes = new Uint8Array(grown);
      else bytes = this.spare.pop() ?? new Uint8Array(OUTPUT_CHUNK);
      this.current = { bytes, views: 0, retired: false };
      this.chunk = bytes;
      this.start = 0;
      this.used = 0;
    }
    const off = this.used;
    const staged = cipher.stage?.(packetLength);
    if (staged === undefined) {
      this.dst = this.chunk;
      this.dstAt = off;
    } else {
      this.dst = staged;
      this.dstAt = cipher.stageAt!;
    }
    return off;
  }

  /** Move the current chunk's packets not yet queued into {@link full}. */
  private queueCurrent(): void {
    if (this.used <= this.start) return;
    let view: Uint8Array;
    if (this.start !== 0) view = this.chunk.subarray(this.start, this.used);
    else if (this.headView.length === this.used && this.headViewOf === this.chunk) view = this.headView;
    else {
      view = this.chunk.subarray(0, this.used);
      this.headView = view;
      this.headViewOf = this.chunk;
    }
    // An array literal holds its first view without growing (a push into [] is a runtime call).
    if (this.full === null) this.full = [view];
    else this.full.push(view);
    this.fullChunks[this.fullCount++] = this.current;
    this.current.views++;
    this.start = this.used;
  }

  /** A retired chunk none of whose views is queued or being written goes back to the pool. */
  private reuse(c: OutputChunk): void {
    if (!this.recycling || !c.retired || c.views > 0 || c.bytes.length !== OUTPUT_CHUNK) return;
    if (this.spare.length < OUTPUT_POOL_CHUNKS) this.spare.push(c.bytes);
  }

  private finish(off: number, payloadLength: number): void {
    const c = this.dst;
    const at = this.dstAt;
    const padding = this.paddingFor(payloadLength);
    const packetLength = 1 + payloadLength + padding;
    writeUint32(c, at, packetLength);
    c[at + 4] = padding;
    // RFC 4253 §6: random padding; a pool refreshed at each key change keeps this allocation-free.
    let p = at + 5 + payloadLength;
    const pad = this.pad;
    let pos = this.padPos;
    for (let i = 0; i < padding; i++) {
      c[p++] = pad[pos]!;
      pos = (pos + 1) & (PADDING_POOL - 1);
    }
    this.padPos = pos;
    const cipher = this.cipher;
    if (c === this.chunk) cipher.seal(this.seq, c, off, packetLength);
    else {
      cipher.sealStaged!(this.seq, packetLength, this.chunk, off);
      this.dst = this.chunk;
    }
    this.used = off + 4 + packetLength + cipher.macLength;
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.wrapped = true;
    this.counters.packets++;
    this.counters.bytes += packetLength + 4;
  }

  /**
   * Bytes ready for the socket, or null. The returned views stay valid for good, unless
   * {@link recycle} is on: then each stays valid until {@link written} reports it written.
   */
  take(): Uint8Array[] | null {
    this.queueCurrent();
    const out = this.full;
    if (out === null) return null;
    const chunks = this.fullChunks;
    const n = this.fullCount;
    if (this.recycling) {
      const writing = this.writing;
      for (let i = 0; i < n; i++) {
        writing[this.writingTail++] = chunks[i];
        chunks[i] = undefined;
      }
    } else {
      // Handed out for good: these chunks are never reused.
      for (let i = 0; i < n; i++) {
        chunks[i]!.views = Number.POSITIVE_INFINITY;
        chunks[i] = undefined;
      }
    }
    this.fullCount = 0;
    this.full = null;
    return out;
  }

  /**
   * Reuse output chunks once written: from now on the caller reports, in order, each view
   * {@link take} returns once the bytes are no longer needed (its socket write completed) with
   * {@link written}. Up to {@link OUTPUT_POOL_CHUNKS} chunks are then kept and refilled instead of
   * allocating a new one per 256 KiB of output.
   */
  recycle(): void {
    this.recycling = true;
  }

  /**
   * The oldest view handed out by {@link take} and not yet reported is written (`ok`), or its
   * write failed (`ok` false: nothing is reused from then on, since the writer may no longer
   * report in order). Its chunk may be overwritten afterwards.
   */
  written(ok = true): void {
    if (!this.recycling) return;
    if (!ok) {
      this.recycling = false;
      this.writing.length = 0;
      this.writingHead = 0;
      this.writingTail = 0;
      this.spare.length = 0;
      return;
    }
    if (this.writingHead === this.writingTail) return;
    const c = this.writing[this.writingHead]!;
    this.writing[this.writingHead++] = undefined;
    if (this.writingHead === this.writingTail) {
      this.writingHead = 0;
      this.writingTail = 0;
    } else if (this.writingHead >= 1024) {
      this.writing.splice(0, this.writingHead);
      this.writingTail -= this.writingHead;
      this.writingHead = 0;
    }
    c.views--;
    this.reuse(c);
  }

  /** Whether any bytes are waiting in {@link take}. */
  get pending(): boolean {
    return this.used > this.start || this.full !== null;
  }

  /** Chunks waiting in the pool (tests). */
  get spareChunks(): number {
    return this.spare.length;
  }

  dispose(): void {
    this.cipher.dispose();
    this.recycling = false;
    this.spare.length = 0;
    this.writing.length = 0;
    this.writingHead = 0;
    this.writingTail = 0;
  }
}

/**
 * A packet whose length fails OpenSSH's packet.c checks (RFC 4253 §6: at most
 * {@link MAX_PACKET_LENGTH}, at least 5, a multiple of the block size) where no discard mode
 * applies: the cause's code (ERR_PACKET_TOO_LARGE, ERR_MALFORMED_PACKET) and message, with what
 * OpenSSH says of it, for a client that words failures as ssh(1) does.
 */
export class PacketFramingError extends ProtocolError {
  /**
   * @param detected the line packet.c logs (logit, INFO): "Bad packet length N." or its
   * "padding error: ..." line
   * @param corrupt true where packet.c returns SSH_ERR_CONN_CORRUPT ("Connection corrupted": a
   * bad length read outside the encryption, AEAD or EtM), false where ssh_packet_start_discard
   * returns SSH_ERR_MAC_INVALID ("message authentication code incorrect": before the first
   * NEWKEYS, a non-CBC cipher, a padding error)
   * @param cause the check that failed
   */
  constructor(
    readonly detected: string,
    readonly corrupt: boolean,
    cause: ProtocolError,
  ) {
    super(cause.message, { code: cause.code, reason: cause.reason, cause });
  }
}

/**
 * The failure that ends discard mode (see {@link PacketDecoder}): code ERR_MAC, as OpenSSH's
 * packet.c ssh_packet_stop_discard returns SSH_ERR_MAC_INVALID whichever check failed.
 */
export class DiscardedPacketError extends ProtocolError {
  /**
   * @param detected the line packet.c logs (logit, INFO) when the packet fails, before its
   * "Finished discarding for ADDR port P" and the fatal line
   * @param seq the sequence number of the failed packet
   * @param cause the check that failed
   */
  /**
   * True when the bytes that completed the count arrived after the failure was detected: OpenSSH
   * then fails in its read (clientloop.c "Read from remote host HOST: ..."), otherwise while
   * processing the packets already read (ssh_dispatch_run_fatal's "Connection to ADDR port P: ...").
   */
  afterRead = false;
  constructor(
    readonly detected: string,
    seq: number,
    cause: ProtocolError,
  ) {
    super(`message authentication code incorrect (packet ${seq}: ${cause.message}; failed after discarding ${MAX_PACKET_LENGTH} bytes)`, {
      code: 'ERR_MAC',
      reason: DisconnectReason.MAC_ERROR,
      cause,
    });
  }
}

/**
 * Who owns the bytes given to {@link PacketDecoder.push}:
 * - `copy`: the decoder copies them at once; the caller may do anything with its buffer after.
 * - `borrow`: the decoder takes ownership and decrypts in place (zero copy); the caller never
 *   reuses or modifies a buffer it pushed, and payloads are views into it.
 * - `transient`: the caller's bytes stay valid and unmodified until {@link PacketDecoder.release},
 *   after which the caller reuses its buffer (one read buffer for every socket read). The decoder
 *   never writes into them: a cipher that decrypts into a new buffer reads straight from them,
 *   an in-place cipher gets a copy of its packet; the tail of an incomplete packet goes to the
 *   decoder's own reassembly buffer, and `release` copies anything else still unread.
 */
export type InputOwnership = 'copy' | 'borrow' | 'transient';

/**
 * Reassembles and opens incoming packets. Feed socket bytes with {@link push}, then call
 * {@link next} until it returns null. A payload returned by `next` is a view into memory
 * that is never reused, so it may be retained (e.g. pushed to a stream) without copying.
 */
export class PacketDecoder {
  private cipher: PacketCipher = new NoneCipher();
  /** RFC 4253 §6.4: sequence number of the next packet to be opened. */
  seq = 0;
  wrapped = false;
  /** Sequence number of the packet most recently returned by next() (for UNIMPLEMENTED). */
  lastSeq = 0;
  readonly counters: PacketCounters = { packets: 0, bytes: 0 };
  private readonly chunks: Uint8Array[] = [];
  private chunkOff = 0;
  /** The first bytes of a packet split across chunks (up to a cipher block). */
  private readonly head = new Uint8Array(16);
  private headFill = 0;
  private packetLength = -1;
  /** A packet that spans chunks, assembled here. */
  private partial: Uint8Array | null = null;
  private partialFill = 0;
  /**
   * Reassembly buffer reused from packet to packet when the cipher decrypts into a new buffer
   * (nothing then points into it once the packet is opened); grows to the largest packet seen.
   */
  private reassembly = new Uint8Array(0);
  private inflater: PayloadInflater | null = null;
  /**
   * Discard mode (see {@link enterDiscard}): bytes still to drop before failing, or -1 when not
   * discarding. At 0 the MAC has been computed and {@link discardError} is thrown from then on.
   */
  private discardLeft = -1;
  private discardError: DiscardedPacketError | null = null;
  /** The failed packet's decrypted bytes (what OpenSSH's discard MAC starts with). */
  private discardPlain: Uint8Array | null = null;
  /** Bytes the discard MAC covers. */
  private discardMacBytes = 0;

  /**
   * @param input who owns pushed bytes (see {@link InputOwnership}); `true`/`false` are the older
   * spelling of `borrow`/`copy`. Default `copy`, safe for any caller.
   */
  constructor(input: InputOwnership | boolean = 'copy') {
    this.input = input === true ? 'borrow' : input === false ? 'copy' : input;
  }

  private readonly input: InputOwnership;

  setCipher(cipher: PacketCipher): void {
    this.cipher.dispose();
    this.cipher = cipher;
    this.counters.packets = 0;
    this.counters.bytes = 0;
  }

  /** Decompress every payload from the next packet on (null: stop). RFC 4253 §6.2. */
  setCompression(inflater: PayloadInflater | null): void {
    this.inflater = inflater;
  }

  /** Whether payloads are being decompressed. */
  get decompressing(): boolean {
    return this.inflater !== null;
  }

  get cipherName(): string {
    return this.cipher.name;
  }

  /** The block size of the cipher in force (the rekey limit follows it). */
  get blockSize(): number {
    return this.cipher.blockSize;
  }

  /** OpenSSH PROTOCOL §1.9: strict kex resets the sequence number after each NEWKEYS. */
  resetSequence(): void {
    this.seq = 0;
    this.wrapped = false;
  }

  /**
   * Queue bytes from the peer: copied unless the decoder was made with `borrowInput`, in which
   * case it takes ownership and decrypts in place.
   */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    // A subclass (Node's Buffer) may give `slice()` view semantics: keep plain Uint8Arrays inside,
    // so a copy is a copy and a view a view. A plain one (a lent read) is kept as it is.
    if (this.input === 'copy') this.chunks.push(new Uint8Array(data));
    else this.chunks.push(data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /**
   * In `transient` mode, the end of the caller's lending: bytes pushed and not yet read (a caller
   * that stopped calling {@link next} early, e.g. while a host key verdict is awaited) are copied,
   * so the caller may reuse its buffer. A no-op in the other modes and when all was read.
   */
  release(): void {
    if (this.input !== 'transient') return;
    const chunks = this.chunks;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const from = i === 0 ? this.chunkOff : 0;
      chunks[i] = c.slice(from);
    }
    this.chunkOff = 0;
  }

  /** Bytes received but not yet returned as packets. */
  get buffered(): number {
    let n = this.headFill + this.partialFill;
    for (let i = 0; i < this.chunks.length; i++) n += this.chunks[i]!.length;
    return n - this.chunkOff;
  }

  /**
   * Where the payload is in the buffer {@link nextInPlace} returned last: `[payloadStart,
   * payloadEnd)`. (Numbers only: a buffer kept in a field would cost a write barrier per message.)
   */
  payloadStart = 0;
  payloadEnd = 0;

  /** The next complete, verified, decrypted payload, or null when more bytes are needed. */
  next(): Uint8Array | null {
    const buf = this.nextInPlace();
    if (buf === null) return null;
    const start = this.payloadStart;
    const end = this.payloadEnd;
    return start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  }

  /**
   * {@link next} without a view of the payload (a new typed array per message): the buffer that
   * holds the next payload at `[payloadStart, payloadEnd)` (memory that is never reused, as
   * {@link next}'s views), or null when more bytes are needed. For a caller that reads a message
   * in place (the transport's CHANNEL_DATA path).
   */
  nextInPlace(): Uint8Array | null {
    if (this.discardLeft >= 0) return this.discard(true);
    for (;;) {
      const chunk = this.chunks[0];
      if (chunk === undefined) return null;
      const avail = chunk.length - this.chunkOff;
      if (avail === 0) {
        this.chunks.shift();
        this.chunkOff = 0;
        continue;
      }
      if (this.packetLength < 0) {
        // RFC 4253 §6: the length is in the first 4 bytes, or in the first encrypted block.
        const need = this.cipher.lengthBytes;
        // An encrypt-and-MAC cipher (lengthBytes > 4) decrypts the first block where it lies:
        // never in bytes that are only lent to us.
        if (this.headFill === 0 && avail >= need && (need === 4 || this.input !== 'transient')) {
          const off = this.chunkOff;
          this.packetLength = this.checkLength(this.cipher.decryptLength(this.seq, chunk, off), chunk, off, 0);
          if (this.packetLength < 0) return this.discard(false);
        } else {
          const n = Math.min(need - this.headFill, avail);
          this.head.set(chunk.subarray(this.chunkOff, this.chunkOff + n), this.headFill);
          this.headFill += n;
          this.chunkOff += n;
          if (this.headFill < need) continue;
          this.packetLength = this.checkLength(this.cipher.decryptLength(this.seq, this.head, 0), this.head, 0, need);
          this.headFill = 0;
          if (this.packetLength < 0) return this.discard(false);
          this.partial = this.reassemblyBuffer(4 + this.packetLength + this.cipher.macLength);
          this.partial.set(this.head.subarray(0, need));
          this.partialFill = need;
          continue;
        }
      }
      const total = 4 + this.packetLength + this.cipher.macLength;
      if (this.partial === null) {
        if (avail >= total) {
          const off = this.chunkOff;
          this.chunkOff += total;
          // Lent bytes are only read: a cipher that decrypts in place gets its own copy (which
          // its payload is then a view into).
          if (this.input === 'transient' && !this.cipher.outOfPlace) return this.open(chunk.slice(off, off + total), 0, true);
          return this.open(chunk, off, false);
        }
        this.partial = this.reassemblyBuffer(total);
        this.partialFill = 0;
      }
      const n = Math.min(total - this.partialFill, chunk.length - this.chunkOff);
      this.partial.set(chunk.subarray(this.chunkOff, this.chunkOff + n), this.partialFill);
      this.partialFill += n;
      this.chunkOff += n;
      if (this.partialFill === total) {
        const buf = this.partial;
        this.partial = null;
        this.partialFill = 0;
        // An in-place cipher's reassembly buffer is fresh memory for this packet alone.
        return this.open(buf, 0, !this.cipher.outOfPlace);
      }
    }
  }

  /**
   * Where a packet spanning chunks is assembled: the reused buffer when the cipher decrypts into a
   * new one, else fresh memory (the payload will be a view into it). Only `n` bytes are used.
   */
  private reassemblyBuffer(n: number): Uint8Array {
    if (!this.cipher.outOfPlace) return new Uint8Array(n);
    if (this.reassembly.length < n) this.reassembly = new Uint8Array(Math.max(n, this.reassembly.length * 2));
    return this.reassembly;
  }

  /**
   * The packet length, or -1 when it is bad and the cipher discards (then {@link discard} is
   * next); otherwise a bad length throws. `buf[off..]` holds the bytes decrypted to learn it
   * ({@link PacketCipher.lengthBytes}), of which `consumed` were taken from the input already.
   */
  private checkLength(length: number, buf: Uint8Array, off: number, consumed: number): number {
    // OpenSSH packet.c: reject lengths < 5 or > PACKET_MAX_SIZE before allocating anything
    // (logit "Bad packet length %u.").
    if (length < 5 || length > MAX_PACKET_LENGTH) {
      const error = new ProtocolError(`bad packet length ${length} (allowed 5..${MAX_PACKET_LENGTH})`, {
        code: length > MAX_PACKET_LENGTH ? 'ERR_PACKET_TOO_LARGE' : 'ERR_MALFORMED_PACKET',
      });
      // packet.c: with the length outside the encryption (AEAD, EtM: its aadlen), this check
      // fails the connection as corrupt (SSH_ERR_CONN_CORRUPT); otherwise through
      // ssh_packet_start_discard (SSH_ERR_MAC_INVALID, or discard mode for CBC with E&M).
      return this.enterDiscard(error, `Bad packet length ${length}.`, buf, off, this.cipher.lengthBytes, 0, consumed, this.cipher.excludesLength);
    }
    // RFC 4253 §6: the framed packet is a multiple of the cipher block size; and no shorter than
    // what was already read to learn its length.
    const bs = this.cipher.blockSize;
    const framed = length + (this.cipher.excludesLength ? 0 : 4);
    if (framed % bs !== 0 || length + 4 < this.cipher.lengthBytes) {
      const error = new ProtocolError(`packet length ${length} is not a multiple of the block size ${bs}`, {
        code: 'ERR_MALFORMED_PACKET',
      });
      // packet.c words it by the bytes still to read after the first block, as a C int.
      const need = (this.cipher.excludesLength ? length : 4 + length - bs) >>> 0;
      return this.enterDiscard(error, `padding error: need ${need | 0} block ${bs} mod ${need % bs}`, buf, off, this.cipher.lengthBytes, 0, consumed);
    }
    return length;
  }

  /**
   * A packet failed (bad length, bad block multiple, MAC mismatch). Without
   * {@link PacketCipher.discardOnError} its error is thrown at once. With it (CBC and an
   * encrypt-and-MAC MAC), OpenSSH packet.c ssh_packet_start_discard's discard mode: the
   * connection fails only once PACKET_MAX_SIZE bytes counted from the start of the failed packet
   * have arrived (or it closes first), and a MAC is computed over PACKET_MAX_SIZE bytes less
   * those the failed check already MACed, so neither the time of the failure nor the MAC work
   * reveals the decrypted length field (Albrecht, Paterson, Watson 2009; RFC 4253 §6 leaves the
   * length encrypted in CBC mode). Nothing received meanwhile is decrypted or delivered.
   * `buf[off, off + n)` is the failed packet's decrypted bytes, `macAlready` how many of them the
   * MAC covered, `consumed` how many bytes of the packet were taken from the input. Returns -1.
   */
  private enterDiscard(error: ProtocolError, logged: string, buf: Uint8Array, off: number, n: number, macAlready: number, consumed: number, corrupt = false): -1 {
    if (!this.cipher.discardOnError) throw error.code === 'ERR_MAC' ? error : new PacketFramingError(logged, corrupt, error);
    this.discardError = new DiscardedPacketError(logged, this.seq, error);
    this.discardPlain = buf.slice(off, off + n);
    this.discardMacBytes = MAX_PACKET_LENGTH > macAlready ? MAX_PACKET_LENGTH - macAlready : MAX_PACKET_LENGTH;
    this.discardLeft = Math.max(0, MAX_PACKET_LENGTH - consumed);
    this.packetLength = -1;
    this.headFill = 0;
    this.partial = null;
    this.partialFill = 0;
    return -1;
  }

  /**
   * The line OpenSSH logged for the packet that failed, while its discard mode goes on (the
   * connection may end first: ssh(1) then says only that it closed); else null.
   */
  get discarding(): string | null {
    return this.discardLeft > 0 ? this.discardError!.detected : null;
  }

  /**
   * In discard mode: drop what was received; fail once the count is reached (else null).
   * `afterRead`: called for bytes pushed since the failure was detected.
   */
  private discard(afterRead: boolean): null {
    const chunks = this.chunks;
    while (this.discardLeft > 0 && chunks.length > 0) {
      const chunk = chunks[0]!;
      const n = Math.min(chunk.length - this.chunkOff, this.discardLeft);
      this.discardLeft -= n;
      this.chunkOff += n;
      if (this.chunkOff === chunk.length) {
        chunks.shift();
        this.chunkOff = 0;
      }
    }
    if (this.discardLeft > 0) return null;
    const plain = this.discardPlain;
    if (plain !== null) {
      // packet.c ssh_packet_stop_discard: the MAC over the failed packet's plaintext filled out
      // with 'a' bytes to the count; the result is dropped, the failure is the same either way.
      this.discardPlain = null;
      this.discardError!.afterRead = afterRead;
      const n = this.discardMacBytes;
      const buf = new Uint8Array(Math.max(n, plain.length)).fill(0x61);
      buf.set(plain);
      this.cipher.discardMac?.(this.seq, buf, n);
    }
    throw this.discardError!;
  }

  /**
   * Verify and decrypt the packet at `buf[off..]`: the buffer that holds its payload (see
   * {@link nextInPlace}), or null when a MAC failure entered discard mode. `own`: `buf` is the
   * decoder's own copy of this one packet (an in-place cipher's), so its payload may be marked
   * exclusive as an out-of-place cipher's result is (exclusive-payload.ts).
   */
  private open(buf: Uint8Array, off: number, own: boolean): Uint8Array | null {
    const packetLength = this.packetLength;
    this.packetLength = -1;
    // PROTOCOL.chacha20poly1305: verify the tag before decrypting anything (throws ERR_MAC).
    // The plaintext `padding_length || payload || padding` is in place at off + 4, at 0 of the
    // new buffer a cipher that decrypts out of place returns, or at the slab offset openInSlab
    // returns.
    let out: Uint8Array | undefined;
    const cipher = this.cipher;
    // A small packet opened into a slab carve (PacketCipher.openInSlab; never with discard mode):
    // the payload is read from the slab itself, so a received message costs only the view
    // handed out of it.
    const slabAt = cipher.openInSlab === undefined || cipher.discardOnError ? -1 : cipher.openInSlab(this.seq, buf, off, packetLength);
    if (slabAt >= 0) {
      // Many packets share a slab: never marked exclusive (exclusive-payload.ts).
      buf = slabBytes();
      off = slabAt - 4;
    } else if (cipher.discardOnError) {
      try {
        out = this.cipher.open(this.seq, buf, off, packetLength);
      } catch (e) {
        if ((e as ProtocolError | undefined)?.code !== 'ERR_MAC') throw e;
        // packet.c: logit("Corrupted MAC on input."), then discard mode, the MAC having covered
        // the whole decrypted packet, which (with its MAC) was taken from the input.
        const total = 4 + packetLength;
        this.enterDiscard(e as ProtocolError, 'Corrupted MAC on input.', buf, off, total, total, total + this.cipher.macLength);
        return this.discard(false);
      }
    } else {
      out = this.cipher.open(this.seq, buf, off, packetLength);
    }
    if (out !== undefined) {
      // A runtime cipher's output may be a subclass (Node's Buffer from OpenSSL, for big packets;
      // small ones come from slabs): hand the layers above plain Uint8Arrays only, as push()
      // does, so that their code sees one map (two deoptimized the data path once each).
      buf = out.constructor === Uint8Array ? out : new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      off = -4;
      // This packet's plaintext alone in memory the cipher gave us: see exclusive-payload.ts.
      if (this.inflater === null) markIfExclusive(buf);
    } else if (own && slabAt < 0 && this.inflater === null) markIfExclusive(buf);
    const padding = buf[off + 4]!;
    // RFC 4253 §6: at least 4 bytes of padding, and a non-empty payload.
    if (padding < 4 || padding > packetLength - 2) {
      throw new ProtocolError(`bad padding length ${padding} in a ${packetLength}-byte packet`, {
        code: 'ERR_MALFORMED_PACKET',
      });
    }
    this.lastSeq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.wrapped = true;
    this.counters.packets++;
    this.counters.bytes += packetLength + 4;
    const start = off + 5;
    const end = off + 4 + packetLength - padding;
    this.payloadStart = start;
    this.payloadEnd = end;
    if (this.inflater === null) return buf;
    // RFC 4253 §6.2: decompressed after decryption; OpenSSH PACKET_MAX_SIZE caps the result.
    const plain = this.inflater.inflate(buf.subarray(start, end), MAX_PACKET_LENGTH);
    if (plain.length === 0) {
      throw new ProtocolError('a compressed packet from the server holds no message', {
        code: 'ERR_MALFORMED_PACKET',
        reason: DisconnectReason.COMPRESSION_ERROR,
      });
    }
    this.payloadStart = 0;
    this.payloadEnd = plain.length;
    return plain;
  }

  dispose(): void {
    this.cipher.dispose();
    this.chunks.length = 0;
    this.partial = null;
    this.reassembly = new Uint8Array(0);
  }
}

