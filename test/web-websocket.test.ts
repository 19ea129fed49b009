/**
 * webSocketStreams' writer (src/web/websocket.ts) against a stand-in WebSocket object: the
 * flow control a browser's WebSocket leaves to the page (bufferedAmount, no drain event).
 * The end-to-end path through websockify and sshd is test/runtime-browser.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError, webSocketStreams } from '../src/web/index.js';

/** The parts of a WebSocket webSocketStreams uses; `bufferedAmount` is set by the test. */
class StandInWebSocket {
  static readonly OPEN = 1;
  static last: StandInWebSocket | undefined;
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  readonly sent: Uint8Array[] = [];
  constructor() {
    StandInWebSocket.last = this;
    void Promise.resolve().then(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(data: Uint8Array): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  }
  close(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1000 });
  }
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

describe('webSocketStreams writer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a write waits while bufferedAmount is above highWaterMark, and a message from the server wakes it without the timer (a hidden tab throttles timers)', async () => {
    vi.useFakeTimers();
    const pair = await webSocketStreams('ws://bridge.invalid/', { WebSocket: StandInWebSocket as unknown as typeof WebSocket, highWaterMark: 10 });
    const ws = StandInWebSocket.last!;
    const writer = pair.writable.getWriter();
    const w = writer.write(new Uint8Array(20));
    expect(await settled(w)).toBe(false);
    expect(ws.sent).toHaveLength(1);
    // Sent on the wire meanwhile; a message arrives: the writer looks again at once.
    ws.bufferedAmount = 0;
    ws.onmessage!({ data: new ArrayBuffer(4) });
    expect(await settled(w)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('without messages the writer polls bufferedAmount every few ms; a message while still congested keeps it waiting', async () => {
    vi.useFakeTimers();
    const pair = await webSocketStreams('ws://bridge.invalid/', { WebSocket: StandInWebSocket as unknown as typeof WebSocket, highWaterMark: 10 });
    const ws = StandInWebSocket.last!;
    const w = pair.writable.getWriter().write(new Uint8Array(20));
    ws.onmessage!({ data: new ArrayBuffer(4) });
    expect(await settled(w)).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(await settled(w)).toBe(false);
    ws.bufferedAmount = 5;
    await vi.advanceTimersByTimeAsync(5);
    expect(await settled(w)).toBe(true);
  });
});

describe('webSocketStreams without a WebSocket', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('rejects with a UsageError that says what to pass (Node 20 has no global WebSocket), not "WS is not a constructor"', async () => {
    vi.stubGlobal('WebSocket', undefined);
    const err = await webSocketStreams('ws://bridge.invalid/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('pass options.WebSocket');
  });
});
