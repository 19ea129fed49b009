/**
 * ChannelStream's direct data sink (the -L forwarder's server→client path): chunks go straight
 * to the sink only while nothing is queued in the Readable and it flows; otherwise they queue
 * and reach the sink through 'data', in order; window is granted for what the sink took and,
 * for queued chunks, as the Readable's buffer allows, exactly as with push().
 */
import { describe, expect, it } from 'vitest';
import { ChannelStream, type ChannelHost } from '../src/node/channel-stream.js';

const tick = () => new Promise((r) => setImmediate(r));

function stream() {
  let consumed = 0;
  const host: ChannelHost = {
    channelWrite: () => true,
    channelEnd: () => {},
    channelClose: () => {},
    channelConsumed: (_ch, n) => {
      consumed += n;
    },
  };
  const s = new ChannelStream(host, 0);
  s._opened();
  const got: string[] = [];
  let directCalls = 0;
  let inData = false;
  s.on('data', () => (inData = true));
  s._setDataSink((chunk) => {
    got.push(Buffer.from(chunk).toString());
    if (!inData) directCalls++;
    inData = false;
  });
  return { s, got, consumed: () => consumed, direct: () => directCalls };
}

const bytes = (t: string) => new Uint8Array(Buffer.from(t));

describe('ChannelStream direct sink', () => {
  it('delivers at once, without the Readable, while it flows with nothing queued; window granted per chunk', async () => {
    const { s, got, consumed, direct } = stream();
    await tick();
    s._data(bytes('one'));
    s._data(bytes('two'));
    expect(got).toEqual(['one', 'two']);
    expect(direct()).toBe(2);
    expect(consumed()).toBe(6);
    expect(s.readableLength).toBe(0);
  });

  it('queues behind what is buffered: a chunk arriving right after resume() does not overtake', async () => {
    const { s, got, consumed } = stream();
    await tick();
    s.pause();
    s._data(bytes('a'));
    s._data(bytes('b'));
    expect(got).toEqual([]);
    s.resume();
    // Flowing again, but 'a' and 'b' are still in the buffer: 'c' must wait behind them.
    s._data(bytes('c'));
    await tick();
    expect(got).toEqual(['a', 'b', 'c']);
    expect(consumed()).toBe(3);
    s._data(bytes('d'));
    expect(got).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a paused stream grants window only up to the Readable\'s high-water mark, the rest as it drains', async () => {
    const { s, got, consumed } = stream();
    await tick();
    s.pause();
    const chunk = new Uint8Array(16 * 1024);
    for (let i = 0; i < 8; i++) s._data(chunk);
    expect(got).toEqual([]);
    expect(consumed()).toBeLessThanOrEqual(64 * 1024);
    s.resume();
    await tick();
    await tick();
    expect(got).toHaveLength(8);
    expect(consumed()).toBe(8 * 16 * 1024);
  });

  it('the EOF comes after the last chunk, delivered directly or queued', async () => {
    for (const queued of [false, true]) {
      const { s, got } = stream();
      await tick();
      const order: string[] = [];
      s.on('end', () => order.push(`end after ${got.length}`));
      if (queued) s.pause();
      s._data(bytes('x'));
      s._data(bytes('y'));
      s._eof();
      if (queued) {
        await tick();
        expect(order).toEqual([]);
        s.resume();
      }
      await tick();
      await tick();
      expect(got).toEqual(['x', 'y']);
      expect(order).toEqual(['end after 2']);
    }
  });
});
