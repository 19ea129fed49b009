/**
 * src/node/socket-write.ts: writes straight to a socket's handle must keep every byte in order
 * with the socket's own write(), leave the Writable in charge whenever it holds anything, report
 * a write the kernel did not take whole once libuv has written it, and fail as write() fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { handleWriterFor, WRITE_DONE, WRITE_QUEUED, WRITE_REFUSED } from '../src/node/socket-write.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: Server | undefined;
afterEach(() => server?.close());

/** A connected pair: our client socket and the server's accepted one (paused). */
async function pair(): Promise<{ client: Socket; peer: Socket }> {
  let peer!: Socket;
  const accepted = new Promise<void>((r) => {
    server = createServer({ pauseOnConnect: true }, (s) => {
      peer = s;
      r();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const client = connect({ host: '127.0.0.1', port: (server!.address() as AddressInfo).port });
  await new Promise((r) => client.once('connect', r));
  await accepted;
  return { client, peer };
}

function collect(peer: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  peer.on('data', (d: Buffer) => parts.push(d));
  peer.resume();
  return new Promise((r) => peer.once('end', () => r(Buffer.concat(parts))));
}

describe('direct handle writes (socket-write.ts)', () => {
  it('small chunks are taken at once and keep their order with write() and cork()', async () => {
    const { client, peer } = await pair();
    const write = handleWriterFor(client)!;
    expect(write).toBeDefined();
    const got = collect(peer);
    const sent: Buffer[] = [];
    const results: number[] = [];
    const never = () => expect.unreachable('done is only for queued writes');
    for (let i = 0; i < 200; i++) {
      const a = randomBytes(1 + (i % 97));
      sent.push(a);
      results.push(write(a, never));
      if (i % 10 === 0) {
        // Through the Writable: the writer must refuse until that write has completed.
        const b = randomBytes(50);
        sent.push(b);
        client.cork();
        const c = randomBytes(7);
        expect(write(c, never)).toBe(WRITE_REFUSED);
        client.write(b);
        client.uncork();
        await new Promise((r) => setImmediate(r));
      }
    }
    expect(results.every((r) => r === WRITE_DONE)).toBe(true);
    client.end();
    expect(write(randomBytes(5), never)).toBe(WRITE_REFUSED);
    expect(sha(await got)).toBe(sha(Buffer.concat(sent)));
    expect(client.bytesWritten).toBe(Buffer.concat(sent).length);
  });

  it('a chunk the kernel does not take whole is queued, reported once written, and makes the writer refuse until then', async () => {
    const { client, peer } = await pair();
    const write = handleWriterFor(client)!;
    // The peer does not read: fill the kernel's buffers until a write is queued.
    const sent: Buffer[] = [];
    let doneCalls = 0;
    let doneErr: Error | null | undefined;
    const done = (err: Error | null) => {
      doneCalls++;
      doneErr = err;
    };
    let r: number = WRITE_DONE;
    while (r === WRITE_DONE) {
      const chunk = randomBytes(256 * 1024);
      sent.push(chunk);
      r = write(chunk, done);
    }
    expect(r).toBe(WRITE_QUEUED);
    expect(write(randomBytes(10), done)).toBe(WRITE_REFUSED);
    // write() goes behind it, in libuv's queue.
    const tail = randomBytes(1000);
    sent.push(tail);
    client.write(tail);
    client.end();
    await new Promise((r) => setTimeout(r, 50));
    expect(doneCalls).toBe(0);
    const got = collect(peer);
    expect(sha(await got)).toBe(sha(Buffer.concat(sent)));
    expect(doneCalls).toBe(1);
    expect(doneErr).toBeNull();
  });

  it('a write into a reset connection destroys the socket with the error write() gives', async () => {
    const { client, peer } = await pair();
    const write = handleWriterFor(client)!;
    const errored = new Promise<NodeJS.ErrnoException>((r) => client.once('error', r));
    peer.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 50));
    let doneErr: Error | null | undefined;
    let r: number = WRITE_DONE;
    for (let i = 0; i < 10 && r === WRITE_DONE && !client.destroyed; i++) {
      r = write(randomBytes(100), (e) => (doneErr = e));
      await new Promise((res) => setTimeout(res, 10));
    }
    const err = await errored;
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
    expect(client.destroyed).toBe(true);
    if (r === WRITE_QUEUED) {
      expect(doneErr).toBe(err);
      expect(err.syscall).toBe('write');
      expect(err.message).toBe(`write ${err.code}`);
    }
    expect(write(randomBytes(10), () => {})).toBe(WRITE_REFUSED);
  });

  it('reads the Writable state live: refuses while write() data is pending, after destroy(), and after end()', async () => {
    const { client, peer } = await pair();
    const write = handleWriterFor(client)!;
    const never = () => expect.unreachable('done is only for queued writes');
    expect(write(randomBytes(10), never)).toBe(WRITE_DONE);
    // More than the kernel takes at once while the peer reads nothing: write() keeps some queued.
    client.write(randomBytes(8 * 1024 * 1024));
    expect(client.writableLength).toBeGreaterThan(0);
    expect(write(randomBytes(10), never)).toBe(WRITE_REFUSED);
    client.destroy();
    expect(write(randomBytes(10), never)).toBe(WRITE_REFUSED);
    peer.destroy();
    server!.close();
    const second = await pair();
    const w2 = handleWriterFor(second.client)!;
    second.client.end();
    expect(w2(randomBytes(10), never)).toBe(WRITE_REFUSED);
    second.peer.destroy();
  });

  it('a writer made while connecting writes through the handle the connection ended on (Node tries each address of a lookup on a fresh handle)', async () => {
    const received = new Promise<Buffer>((resolve) => {
      server = createServer((s) => collect(s).then(resolve));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server!.address() as AddressInfo).port;
    // A name with two addresses, the first of which refuses (nothing listens on ::1 here): the
    // socket's first handle is closed and the connection is made on a second one.
    const lookup = (_h: string, _o: object, cb: (e: null, a: { address: string; family: number }[]) => void) =>
      cb(null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]);
    const client = connect({ host: 'dual.invalid', port, lookup: lookup as never, autoSelectFamily: true });
    const first = (client as unknown as { _handle: unknown })._handle;
    const write = handleWriterFor(client);
    expect(write).toBeDefined();
    await new Promise((r) => client.once('connect', r));
    expect((client as unknown as { _handle: unknown })._handle).not.toBe(first);
    const data = randomBytes(1000);
    const outcome = await new Promise<string>((resolve) => {
      const r = write!(data, (e) => resolve(e ? e.message : 'written'));
      if (r === WRITE_DONE) resolve('done');
      else if (r === WRITE_REFUSED) resolve('refused');
    });
    expect(outcome).toBe('done');
    client.end();
    expect(sha(await received)).toBe(sha(data));
  });

  it('refuses a connecting socket and one with an idle timeout', async () => {
    const { client } = await pair();
    client.setTimeout(10_000);
    expect(handleWriterFor(client)!(randomBytes(10), () => {})).toBe(WRITE_REFUSED);
    client.destroy();
    const port = (server!.address() as AddressInfo).port;
    const connecting = connect({ host: '127.0.0.1', port });
    const write = handleWriterFor(connecting);
    if (write) expect(write(randomBytes(10), () => {})).toBe(WRITE_REFUSED);
    connecting.destroy();
  });
});
