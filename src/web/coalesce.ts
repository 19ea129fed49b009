/**
 * Reads a byte stream in as few pieces as the stream allows, so the SSH core decrypts fewer,
 * larger batches. Two ways, chosen by what the stream is:
 * - a readable byte stream (WHATWG Streams "ReadableByteStreamController": Deno.connect's and
 *   cloudflare:sockets' `readable`) is read with a BYOB reader into one large buffer, so a read
 *   takes everything the socket has (workerd's default reads hand over 4 KiB pieces, one per
 *   I/O turn, which no amount of waiting merges);
 * - any other stream (a WebSocket's frames, Node's Duplex.toWeb) through {@link CoalescingReader}.
 */

/** Reads chunks; `read()` resolves null at the end of the stream. */
export interface ChunkReader {
  /**
   * The next bytes, or null at the end. The chunk is only valid until the next `read()` (the BYOB
   * reader reuses its buffer): the caller copies what it keeps, as ClientCore does without
   * `borrowInput`.
   */
  read(): Promise<Uint8Array | null>;
  /** Stop reading (the underlying stream is cancelled). */
  cancel(reason?: unknown): Promise<void>;
}

/** Bytes one BYOB read may fill: a few SSH packets of 32 KiB. */
const BYOB_SIZE = 256 * 1024;

/** The best reader `readable` allows (see the module comment). */
export function chunkReader(readable: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = readable.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream: TypeError, and the stream is still unlocked.
  }
  return byob ? new ByobChunkReader(byob) : new CoalescingReader(readable.getReader());
}

/** A BYOB reader over one buffer, handed back and forth with the stream (transferred each read). */
class ByobChunkReader implements ChunkReader {
  private buffer = new ArrayBuffer(BYOB_SIZE);

  constructor(private readonly reader: ReadableStreamBYOBReader) {}

  async read(): Promise<Uint8Array | null> {
    const { done, value } = await this.reader.read(new Uint8Array(this.buffer, 0, BYOB_SIZE));
    if (value) this.buffer = value.buffer as ArrayBuffer;
    if (done || !value) return null;
    return value;
  }

  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }
}

/** One read: a chunk, or the end of the stream. */
type ReadResult = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array };

/**
 * Chunks already queued in a (non-byte) stream are merged, up to `max` bytes, before the caller
 * sees them: WebSocket bridges hand over one frame per message.
 */
export class CoalescingReader implements ChunkReader {
  private pending: Promise<ReadResult> | undefined;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly max = 256 * 1024,
  ) {}

  /** The next bytes (one chunk or several merged), or null at the end of the stream. */
  async read(): Promise<Uint8Array | null> {
    const first = await this.take();
    if (first.done) return null;
    const parts: Uint8Array[] = [first.value];
    let size = first.value.length;
    while (size < this.max) {
      const next = this.reader.read();
      this.pending = next;
      // A chunk already queued settles the read within a microtask or two; otherwise keep the
      // read for later and hand over what we have.
      const settled = await Promise.race([next.then((r) => r), yieldTicks().then(() => undefined)]);
      if (settled === undefined) break;
      this.pending = undefined;
      if (settled.done) {
        this.pending = Promise.resolve(settled);
        break;
      }
      parts.push(settled.value);
      size += settled.value.length;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Stop reading (the underlying stream is cancelled). */
  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }

  private take(): Promise<ReadResult> {
    const p = this.pending ?? this.reader.read();
    this.pending = undefined;
    return p;
  }
}

async function yieldTicks(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}
