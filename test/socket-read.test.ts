/**
 * src/node/socket-read.ts: a socket reading into one reused buffer must deliver every byte, in
 * order, whether the reader attaches before or after the first bytes arrive, and a plain 'data'
 * reader of such a socket must get what any socket gives it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectLendingReads, lendingReadsOf, READ_BUFFER_SIZE } from '../src/node/socket-read.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: Server | undefined;
afterEach(() => server?.close());

/** A server that sends `data` as soon as a client connects, then `later` after 300 ms, then closes. */
async function sender(data: Buffer, later?: Buffer): Promise<number> {
  server = createServer((s) => {
    if (!later) return s.end(data);
    s.write(data);
    setTimeout(() => s.end(later), 300);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('lent reads (socket-read.ts)', () => {
  const data = randomBytes(3 * READ_BUFFER_SIZE + 12345);

  it('a reader attaching late gets the early bytes (copied) then the rest, in order; the lent bytes are reused', async () => {
    const port = await sender(data.subarray(0, 1000), data.subarray(1000));
    const sock = connectLendingReads({ host: '127.0.0.1', port });
    const closed = new Promise((r) => sock.once('close', r));
    await new Promise((r) => setTimeout(r, 100)); // the first bytes arrive before anyone listens
    const parts: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    lendingReadsOf(sock)!.attach((bytes) => {
      parts.push(Buffer.from(bytes)); // valid only during the call: keep a copy
      buffers.add(bytes.buffer);
    });
    await closed;
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    // The early reads are private copies; every later read lands in the one shared buffer.
    expect(buffers.size).toBeLessThan(parts.length);
  });

  it("a plain 'data' reader gets every byte as its own Buffer, early bytes included", async () => {
    const port = await sender(data);
    const sock = connectLendingReads({ host: '127.0.0.1', port });
    const closed = new Promise((r) => sock.once('close', r));
    await new Promise((r) => setTimeout(r, 100));
    const parts: Buffer[] = [];
    sock.on('data', (d: Buffer) => parts.push(d));
    await closed;
    await new Promise((r) => setImmediate(r));
    expect(new Set(parts.map((p) => p.buffer)).size).toBe(parts.length);
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
  });

  it('any other stream has no lent reads', async () => {
    const { PassThrough } = await import('node:stream');
    expect(lendingReadsOf(new PassThrough())).toBeUndefined();
  });
});
