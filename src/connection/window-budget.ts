/**
 * A budget of receive window shared by connections: what auto-tuning (window-tuning.ts) may grant
 * beyond each channel's initial window, summed over every channel of every connection that
 * shares it.
 *
 * RFC 4254 §5.2 makes the window the receiver's bound on what it buffers: bytes received and not
 * yet read can never exceed the window granted. OpenSSH gives every channel a fixed window
 * (channels.h CHAN_TCP_WINDOW_DEFAULT, 2 MiB, re-granted by channels.c channel_check_window() as
 * the local side drains), so what a process may buffer is channels × 2 MiB and it has no budget
 * across channels or connections; Go's x/crypto/ssh (channelWindowSize) and russh (its
 * `window_size` option) do the same. Auto-tuning grows a window up to the connection's cap
 * (WindowAutoTuneOptions.max, 32 MiB by default) so that one download fills a long fat pipe; a
 * process with a hundred connections would then let each grow to that cap, and a hundred slow
 * readers could hold 3.2 GiB. The budget bounds the growth of them all together: a window grows
 * only with bytes taken from it and gives them back as it shrinks, as the bytes it let in are
 * read, and when its channel closes. What a process may buffer is then the initial windows
 * (channels × 2 MiB, as OpenSSH) plus the budget.
 *
 * A channel the server ended (its EOF or CLOSE: nothing more may come, RFC 4254 §5.3) gives back
 * at once what it borrowed for window it will no longer use, but keeps what covers the bytes it
 * received and that were not read yet: they are still memory of the process. Those go back as
 * they are read (so a caller who reads a channel to its end and never ends its own side, and so
 * never sees its CLOSE, leaves nothing lent), and all of it when the channel is gone (CLOSE both
 * ways, or the connection). Not counted: a stream's read-ahead (the Node ChannelStream counts
 * bytes below its 64 KiB highWaterMark as read), and what a channel closed both ways still holds
 * unread in its stream (the core has let the channel go; at most its last window).
 *
 * Sans-IO and synchronous: one budget may serve connections on any event loop turn.
 *
 * @example
 * ```ts
 * import { connect, WindowBudget } from 'pure-ssh';
 * // Two hundred downloads that together buffer at most 200 × 2 MiB + 128 MiB.
 * const budget = new WindowBudget(128 * 1024 * 1024);
 * const clients = await Promise.all(hosts.map((host) => connect({ host, username, privateKey, windowAutoTune: { budget } })));
 * ```
 */

import { UsageError } from '../errors.js';
import { show } from '../option-check.js';

/** Default limit of {@link sharedWindowBudget}: 64 MiB, two connections grown to the default 32 MiB cap. */
export const DEFAULT_WINDOW_BUDGET = 64 * 1024 * 1024;

/** Bytes of receive window lent beyond initial windows, shared by the connections given it. */
export class WindowBudget {
  /** Bytes currently lent to windows. */
  inUse = 0;
  /** The most ever lent at once, bytes (for tests and diagnostics). */
  peak = 0;

  /**
   * @param limit bytes that all windows sharing this budget may hold beyond their initial
   *   windows together (≥ 0; Infinity: no bound but the per-connection caps). It may be changed
   *   later; lowering it takes nothing back from windows already grown (a window granted cannot
   *   be withdrawn, RFC 4254 §5.2): it stops further growth until they shrink.
   */
  constructor(limit: number) {
    this.limit = limit;
  }

  private limitBytes = 0;

  /**
   * Bytes all windows sharing this budget may hold beyond their initial windows: a whole number
   * ≥ 0, or Infinity. Setting anything else throws a UsageError (a NaN would otherwise spread
   * into every connection of the process sharing it).
   */
  get limit(): number {
    return this.limitBytes;
  }

  set limit(bytes: number) {
    if (!(bytes === Infinity || (Number.isInteger(bytes) && bytes >= 0))) {
      throw new UsageError(`window budget limit must be a whole number of bytes >= 0 (or Infinity), got ${show(bytes)}`);
    }
    this.limitBytes = bytes;
  }

  /** Take up to `bytes`; returns how many were taken (0 when the budget is spent). */
  take(bytes: number): number {
    const n = Math.max(0, Math.min(Math.floor(bytes), this.limit - this.inUse));
    this.inUse += n;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return n;
  }

  /** Give back `bytes` taken earlier. */
  give(bytes: number): void {
    this.inUse = Math.max(0, this.inUse - bytes);
  }
}

/**
 * The budget of every connection not given its own (`windowAutoTune.budget`): one per JavaScript
 * realm (process, worker, page), {@link DEFAULT_WINDOW_BUDGET} bytes. Its `limit` may be changed.
 */
export const sharedWindowBudget = new WindowBudget(DEFAULT_WINDOW_BUDGET);
