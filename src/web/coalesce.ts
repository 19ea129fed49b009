/**
 * Reads a byte stream in as few pieces as the stream allows: chunks already queued in the stream
 * are merged (up to `max` bytes) before the caller sees them. workerd and WebSocket bridges hand
 * over 4 KiB pieces; the SSH core then decrypts fewer, larger batches.
 */
/** One read: a chunk, or the end of the stream. */
type ReadResult = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array };

export class CoalescingReader {
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
