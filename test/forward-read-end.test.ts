/**
 * The -L forwarder gathers the server→client chunks of one SSH socket read and writes them to the
 * local socket once the read is handled (ChannelHost.deferToReadEnd, SshClient's end of a read),
 * or, where no read is being handled, at the end of the task: the bytes arrive whole and in order
 * either way, and none is written before its read has been handled.
 */
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelStream, type ChannelHost } from '../src/node/channel-stream.js';
import { pipeFromChannel } from '../src/node/forward.js';

const bytes = (t: string) => new Uint8Array(Buffer.from(t));
const tick = () => new Promise((r) => setImmediate(r));

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

/** A loopback TCP pair: `local` is what the forwarder writes to, `received()` what arrived. */
async function pair(): Promise<{ local: Socket; received: () => string }> {
  let got = '';
  const server = createServer((peer) => peer.on('data', (d: Buffer) => (got += d.toString())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const local = connect(port, '127.0.0.1');
  await new Promise((r) => local.once('connect', r));
  cleanup.push(() => {
    local.destroy();
    server.close();
  });
  return { local, received: () => got };
}

function channel(): { s: ChannelStream; reading: (on: boolean) => void; endRead: () => void } {
  let reading = false;
  let queue: (() => void)[] = [];
  const host: ChannelHost = {
    channelWrite: () => true,
    channelEnd: () => {},
    channelClose: () => {},
    channelConsumed: () => {},
    deferToReadEnd: (fn) => {
      if (!reading) return false;
      queue.push(fn);
      return true;
    },
  };
  const s = new ChannelStream(host, 0);
  s._opened();
  return {
    s,
    reading: (on) => (reading = on),
    endRead: () => {
      const q = queue;
      queue = [];
      for (const fn of q) fn();
    },
  };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
};

describe('pipeFromChannel: one write per SSH socket read', () => {
  it('holds a read\'s chunks until the read is handled, then writes them all, in order', async () => {
    const { local, received } = await pair();
    const { s, reading, endRead } = channel();
    const counters = { connections: 0, active: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
    pipeFromChannel(s, local, counters);
    await tick();
    reading(true);
    s._data(bytes('one,'));
    s._data(bytes('two,'));
    s._data(bytes('three;'));
    // The read is not over: nothing went to the kernel (the socket is corked with all three).
    expect(local.writableCorked).toBe(1);
    expect(local.writableLength).toBe(14);
    await new Promise((r) => setTimeout(r, 30));
    expect(received()).toBe('');
    reading(false);
    endRead();
    await until(() => received().length === 14);
    expect(received()).toBe('one,two,three;');
    expect(counters.bytesIn).toBe(14);
    // Outside a read (deferToReadEnd says no): the end of the task, as before.
    s._data(bytes('four,'));
    s._data(bytes('five.'));
    await until(() => received().length === 24);
    expect(received()).toBe('one,two,three;four,five.');
    // A later read again gathers, behind what went before.
    reading(true);
    s._data(bytes('six'));
    reading(false);
    endRead();
    await until(() => received().length === 27);
    expect(received()).toBe('one,two,three;four,five.six');
  });
});
