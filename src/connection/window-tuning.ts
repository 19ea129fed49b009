/**
 * Receive-window auto-tuning for one channel: the window we grant grows with the measured
 * bandwidth-delay product while the local reader keeps up, and shrinks back when it does not.
 *
 * RFC 4254 §5.2 leaves the window size to the receiver. OpenSSH grants a fixed 2 MiB
 * (CHAN_TCP_WINDOW_DEFAULT), which caps a download at window / RTT (≈ 42 MB/s at 50 ms). HPN-SSH
 * and Linux's receive-buffer tuning (tcp_rcv_space_adjust, "dynamic right-sizing") grow the
 * window from what the application actually read per round trip; this follows the same idea:
 *
 * - RTT: the smallest turnaround seen on the connection ({@link RttEstimator}, shared by its
 *   channels: one TCP path). Samples: a CHANNEL_OPEN to its answer, a global request to its reply,
 *   and a WINDOW_ADJUST we send to the first byte that only that adjust allowed the peer to send
 *   (a byte past the right edge of the window at the time of the grant). By causality no sample
 *   is below the true RTT; queueing only inflates it. A busy channel's samples include every
 *   byte queued ahead of them (in the peer, the kernels, our reader): on loopback, with the
 *   client's CPU the bottleneck, that is window / rate ≈ 10–20 ms instead of 0.1 ms, and a window
 *   grown from it only grows the queue (sshd then spends its time moving a 20 MiB buffer). So
 *   the minimum is kept for the life of the connection, where BBR expires its min_rtt after 10 s
 *   and drains the queue to measure again: a receiver cannot drain the peer's queue without
 *   stalling it. A path whose RTT later grows keeps the older, smaller estimate: its window then
 *   grows less than it could, never more. The estimate can still be too large: the first opens
 *   run while our own process is busiest (loading code, the JIT), and on loopback they read
 *   5–6 ms where the path takes 0.1 ms. Hence the probe below.
 * - Delivery rate: bytes the local reader consumed over an interval of at least one RTT,
 *   scaled to one RTT (`perRtt`). Measured on consumption, not arrival, so a slow reader slows
 *   the estimate and never makes the window grow. The channel's first interval is the initial
 *   window arriving in one burst: it is not counted as a rate the window sustains.
 * - Growth: while `perRtt` is at least a third of the window (the window, not the path, is what
 *   limits) and little is waiting unread, the window grows by `perRtt` (doubling at best, like
 *   slow start). Each growth is a probe, judged {@link PROBE_INTERVALS} intervals later, as
 *   BBR's full-pipe test: kept if the best delivery rate at the new window beats the best at the
 *   old one by {@link PROBE_GAIN}. Otherwise the window settles where it carries that best rate
 *   with a quarter to spare ({@link SETTLE_HEADROOM}), between the old window and the new: the
 *   old window scaled by the rate's gain (it was window-limited; the RTT estimate is not used,
 *   as the time a window takes to come back also holds the bottleneck's queue). A growth that raised the rate by less than the gain but by {@link SETTLE_MIN_GAIN}
 *   at least (the path was window-limited, now something else is, e.g. the receiver's CPU) keeps
 *   the part that carries it; one that raised less goes back to the old window. On a long path a larger window raises the rate
 *   until the path is full; when the receiver's own CPU is the limit (loopback) it raises
 *   nothing and only queues more in the sender, so the window goes back (measured before the
 *   probe: sshd buffering a 20 MiB window spent a third of its CPU in memmove and the download
 *   ran at a third of OpenSSH's). After a probe that was not kept, no new one for a hold that
 *   doubles with each such probe in a row, from {@link HOLD_RTTS} RTTs (at least
 *   {@link MIN_HOLD_MS}) up to {@link FULL_PIPE_HOLD_MS}: on a shared CPU one probe can be
 *   judged in a bad moment, and a single 10 s hold then kept a 50 ms path at the initial window
 *   (measured: 27 MiB/s, under OpenSSH's 33, where the next probe reached 135).
 *   Shrink: when `perRtt` stays under an eighth of the window while
 *   a quarter of it or more waits unread, for {@link SHRINK_AFTER_INTERVALS} intervals in a row
 *   (one slow interval is often a GC pause or a busy CPU), halve, never below the initial
 *   window. A slow interval with nothing unread is the sender or the path, not the reader:
 *   shrinking then would only withhold grants, stall the sender and look slower still. The
 *   connection caps the sum of its windows (`max`), and growth beyond the initial windows is
 *   taken from a budget shared by the process's connections (window-budget.ts).
 *
 * Sans-IO: `now` comes from the caller, in milliseconds on any monotonic clock.
 */

import type { WindowBudget } from './window-budget.js';

/** Options of receive-window auto-tuning (see {@link WindowTuner}). */
export interface WindowAutoTuneOptions {
  /**
   * Upper bound, in bytes, on the sum of the receive windows of all channels of a connection
   * (so on what a connection buffers for slow readers). Default {@link DEFAULT_WINDOW_AUTOTUNE_MAX};
   * a whole number from 1 to 2^32 - 1 (RFC 4254 §5.2's uint32 window), anything else a
   * UsageError. Channels always get their initial window.
   */
  max?: number;
  /**
   * Where the growth beyond each channel's initial window comes from, shared with other
   * connections (window-budget.ts): a window grows only while the budget has bytes left and
   * gives them back as it shrinks, drains or closes. Default: {@link sharedWindowBudget}, one
   * per process (64 MiB). So a process buffers at most its channels' initial windows plus the
   * budget, however many connections it holds.
   */
  budget?: WindowBudget;
}

/** Default cap on a connection's total receive window with auto-tuning: 32 MiB. */
export const DEFAULT_WINDOW_AUTOTUNE_MAX = 32 * 1024 * 1024;

/** Samples below this are clock resolution, not a path: treat them as this. */
const RTT_FLOOR_MS = 0.05;
/** Consecutive slow intervals (each at least one RTT) before the window halves. */
export const SHRINK_AFTER_INTERVALS = 4;
/** Intervals (each at least one RTT) after a growth before it is judged. */
export const PROBE_INTERVALS = 3;
/** A growth is kept when it raised the best delivery rate by this factor (BBR's full-pipe test uses 1.25). */
export const PROBE_GAIN = 1.2;
/** Longest hold after probes that were not kept, ms (the path may change). */
export const FULL_PIPE_HOLD_MS = 10_000;
/** The first hold after a probe that was not kept, in RTTs; each one in a row doubles it. */
export const HOLD_RTTS = 16;
/** Shortest hold, ms: with a queue-inflated RTT on loopback, probes no more often than this. */
export const MIN_HOLD_MS = 250;
/** A probe not kept settles at the old window times the rate's gain times this (a quarter to spare). */
export const SETTLE_HEADROOM = 1.25;
/** ... if it raised the best rate by this factor at least; under it (noise), back to the old window. */
export const SETTLE_MIN_GAIN = 1.05;
/** Rate intervals last at least this long, ms: shorter ones measure timer and GC noise. */
const MIN_INTERVAL_MS = 2;

/** What the channel should do with its window after a consumption report. */
export type WindowDecision = { kind: 'keep' } | { kind: 'resize'; window: number; reason: string };

const KEEP: WindowDecision = { kind: 'keep' };

/**
 * A connection's round-trip time estimate: the smallest turnaround sample seen, in ms (see the
 * file comment for why it never expires). Every sample is an upper bound of the true RTT.
 */
export class RttEstimator {
  /** Smallest sample so far, ms (Infinity until the first one). */
  min = Infinity;

  /** Record a turnaround of `ms` milliseconds (negative or NaN samples are ignored). */
  sample(ms: number): void {
    if (!(ms >= 0)) return;
    const rtt = Math.max(RTT_FLOOR_MS, ms);
    if (rtt < this.min) this.min = rtt;
  }
}

/** Per-channel measurement state. All times in ms, all sizes in bytes. */
export class WindowTuner {
  /** Right edge of the window when the timed WINDOW_ADJUST was sent (-1: none in flight). */
  private sampleEdge = -1;
  private sampleSentAt = 0;
  private intervalStart = -1;
  private intervalConsumed = 0;
  private slowIntervals = 0;
  /** Best delivery rate, bytes per ms, over the intervals at the current window. */
  private bestRate = 0;
  /** Intervals measured at the current window. */
  private intervalsAtWindow = 0;
  /** The growth being judged: the window before it and the best rate there. */
  private probe: { from: number; rateBefore: number } | undefined;
  /** No growth before this time, ms (after a probe that was not kept). */
  private holdUntil = -Infinity;
  /** Probes not kept in a row (each doubles the hold). */
  private failedProbes = 0;
  /** The channel's first interval (the initial window's burst) is over. */
  private initialBurstSeen = false;
  /** Last delivery estimate, bytes per RTT (for diagnostics and tests). */
  perRtt = 0;

  /**
   * @param initialWindow the window the channel opened with: the floor of any shrink.
   * @param rtt the connection's estimate, shared with its other channels (one of its own when omitted).
   */
  constructor(
    readonly initialWindow: number,
    readonly rtt: RttEstimator = new RttEstimator(),
  ) {}

  /** The RTT estimate in use, ms (Infinity until the first sample). */
  get rttMin(): number {
    return this.rtt.min;
  }

  /**
   * We sent a WINDOW_ADJUST at `now`; `edge` is how many bytes the peer could have sent in
   * total before it (bytes received so far + window left before the grant). Times one adjust
   * at a time, like TCP's single timed segment.
   */
  granted(edge: number, now: number): void {
    if (this.sampleEdge >= 0) return;
    this.sampleEdge = edge;
    this.sampleSentAt = now;
  }

  /**
   * The reader consumed `n` bytes at `now`; `received` is the total of window bytes received
   * so far, `window` the current window size, `unread` the bytes delivered and not consumed.
   * Returns the window size the channel should move to.
   */
  consumed(n: number, now: number, received: number, window: number, unread: number): WindowDecision {
    if (this.sampleEdge >= 0 && received > this.sampleEdge) {
      this.rtt.sample(now - this.sampleSentAt);
      this.sampleEdge = -1;
    }
    const rttMin = this.rtt.min;
    if (rttMin === Infinity) return KEEP;
    if (this.intervalStart < 0) {
      this.intervalStart = now;
      this.intervalConsumed = 0;
      return KEEP;
    }
    this.intervalConsumed += n;
    const elapsed = now - this.intervalStart;
    if (elapsed < Math.max(rttMin, MIN_INTERVAL_MS)) return KEEP;
    const rate = this.intervalConsumed / elapsed;
    const perRtt = rate * rttMin;
    this.perRtt = perRtt;
    this.intervalStart = now;
    this.intervalConsumed = 0;
    // The channel's first interval carries the initial window, which the peer sends as fast as
    // the path allows before any adjust of ours reaches it: a burst, not the rate the window
    // sustains. Counted as the best rate, it made the first probe look like it raised nothing.
    if (this.initialBurstSeen) {
      if (rate > this.bestRate) this.bestRate = rate;
    } else this.initialBurstSeen = true;
    this.intervalsAtWindow++;
    this.slowIntervals = perRtt * 8 < window && unread >= window / 4 ? this.slowIntervals + 1 : 0;
    if (this.slowIntervals >= SHRINK_AFTER_INTERVALS && window > this.initialWindow) {
      this.slowIntervals = 0;
      this.probe = undefined;
      return this.resize(Math.max(this.initialWindow, Math.floor(window / 2)), 'the reader fell behind');
    }
    if (this.intervalsAtWindow < PROBE_INTERVALS) return KEEP;
    if (this.probe) {
      const { from, rateBefore } = this.probe;
      this.probe = undefined;
      if (this.bestRate >= rateBefore * PROBE_GAIN) {
        this.failedProbes = 0;
      } else {
        const hold = Math.max(MIN_HOLD_MS, HOLD_RTTS * rttMin) * 2 ** this.failedProbes;
        this.failedProbes++;
        this.holdUntil = now + Math.min(FULL_PIPE_HOLD_MS, hold);
        const raised = this.bestRate >= rateBefore * SETTLE_MIN_GAIN;
        // The old window was what limited (the probe's condition), so the rate scales with it:
        // the window for the best rate is the old one times the gain, then a quarter to spare.
        const settle = raised ? Math.min(window, Math.max(from, Math.ceil(from * (this.bestRate / rateBefore) * SETTLE_HEADROOM))) : from;
        if (settle === from && from < window) return this.resize(from, 'the larger window did not raise the delivery rate');
        if (settle < window) {
          const gain = rateBefore > 0 ? Math.round((this.bestRate / rateBefore - 1) * 100) : 0;
          return this.resize(settle, `the larger window raised the delivery rate by ${gain}%: kept what carries it`);
        }
      }
    }
    if (now >= this.holdUntil && perRtt * 3 >= window && unread <= window / 4) {
      this.probe = { from: window, rateBefore: this.bestRate };
      return this.resize(window + Math.ceil(perRtt), 'probe');
    }
    return KEEP;
  }

  /** A new window: its rate is measured afresh. */
  private resize(window: number, reason: string): WindowDecision {
    this.bestRate = 0;
    this.intervalsAtWindow = 0;
    return { kind: 'resize', window, reason };
  }
}
