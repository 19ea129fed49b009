/**
 * setTimeout for delays of any length. Timers in Node and browsers hold a signed 32-bit count of
 * milliseconds: a longer delay (ConnectTimeout or ServerAliveInterval above 2147483 s, which
 * OpenSSH accepts up to INT_MAX seconds) fires after 1 ms instead, with a TimeoutOverflowWarning
 * in Node. This arms one timer of at most 2^31−1 ms at a time and re-arms until the delay is up.
 * Web APIs only (setTimeout/clearTimeout), so it serves the Node and the web adapters alike.
 */

/** The longest delay one setTimeout keeps, ms (2^31−1, about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A pending {@link setLongTimeout}. */
export interface LongTimeout {
  /** Cancel it; a no-op once it has fired. */
  clear(): void;
}

/**
 * Call `fn` once after `ms` milliseconds (any non-negative number; NaN or negative means 0).
 * `unref`: in Node, do not keep the process alive for it (ignored where timers have no unref).
 */
export function setLongTimeout(fn: () => void, ms: number, unref = false): LongTimeout {
  let remaining = ms > 0 ? ms : 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    const step = Math.min(remaining, MAX_TIMER_DELAY_MS);
    remaining -= step;
    timer = setTimeout(remaining > 0 ? arm : fire, step);
    if (unref) (timer as { unref?: () => void }).unref?.();
  };
  const fire = (): void => {
    timer = undefined;
    fn();
  };
  arm();
  return {
    clear() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
