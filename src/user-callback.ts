/**
 * Calling the application's secret prompts (connect()'s `askPassword`, `askPassphrase`) from
 * inside the IO loop: a callback may answer with a value or a promise of one, and may throw. A
 * throw in a socket's 'data' handler would be an uncaught exception (and the connection would
 * wait for an answer forever), so every prompt goes through {@link askUser}: one promise that
 * settles on the answer, or rejects with a typed error the adapter closes the connection with.
 * Runtime-neutral: no `node:*`.
 */
import { SshError, UsageError } from './errors.js';
import { show } from './option-check.js';

/**
 * The application cancelled the connection from one of its callbacks: it threw or rejected.
 * Code ERR_ABORTED (as an AbortSignal's abort); `cause` is what the callback threw.
 */
export function callbackFailed(name: string, err: unknown): SshError {
  return mark(new SshError('ERR_ABORTED', `the ${name} callback failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
}

/** The errors {@link askUser} made (not a key's own failure to load or sign). */
const failures = new WeakSet<SshError>();
function mark(err: SshError): SshError {
  failures.add(err);
  return err;
}

/**
 * Ask `name` (e.g. `askPassword`) through `call`: resolves with its answer (a string; null or
 * undefined: no answer, the method or key is given up), or rejects with {@link callbackFailed}'s
 * error when it throws or rejects, or a UsageError when it answers anything but a string, null or
 * nothing (a number, an object: no password is sent on a guess).
 */
export function askUser(name: string, call: () => unknown): Promise<string | null> {
  return new Promise<unknown>((resolve) => resolve(call())).then(
    (answer) => {
      if (answer === null || answer === undefined) return null;
      if (typeof answer === 'string') return answer;
      throw mark(new UsageError(`${name} must return (or resolve with) a string, or null to give up, got ${show(answer)}`));
    },
    (err: unknown) => {
      throw callbackFailed(name, err);
    },
  );
}

/** Whether `err` came from {@link askUser}: the connection is to end with it, not try on. */
export function isCallbackFailure(err: unknown): err is SshError {
  return err instanceof SshError && failures.has(err);
}

/**
 * The application's hooks among `options` (`debug`, `onBanner`, ...: `names`), each wrapped so
 * that a throw, which inside the IO loop would be an uncaught exception (or, inside a host key
 * check, taken for the verifier's refusal), or the rejection of a hook written async (else an
 * unhandled rejection), goes to `failed` as {@link callbackFailed}'s ERR_ABORTED error instead;
 * the adapter ends the connection with it.
 */
export function guardHooks<O extends object>(options: O, names: readonly string[], failed: (err: SshError) => void): O {
  const out = { ...options } as Record<string, unknown>;
  for (const name of names) {
    const fn = out[name];
    if (typeof fn === 'function') {
      const fail = (err: unknown) => failed(callbackFailed(name, err));
      out[name] = (...a: unknown[]) => {
        try {
          // A hook written async rejects rather than throws: the same (never an unhandled rejection).
          (fn(...a) as PromiseLike<unknown> | undefined)?.then?.(undefined, (err: unknown) => {
            try {
              fail(err);
            } catch {
              // connect() already failed, or is failing, with another error.
            }
          });
        } catch (err) {
          fail(err);
        }
      };
    }
  }
  return out as O;
}

/** ERR_ABORTED for an AbortSignal that fired, before or during connect(): its reason is the cause. */
export function abortedBySignal(signal: AbortSignal): SshError {
  return new SshError('ERR_ABORTED', 'the connection was aborted by its AbortSignal', { cause: signal.reason });
}

/**
 * `p`, or {@link abortedBySignal}'s rejection as soon as `signal` fires (connect() is not left
 * waiting on a step that never ends, e.g. a callback's promise or a WebSocket that never opens);
 * `late` then gets what `p` resolves with, to release it.
 */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, late?: (value: T) => void): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(abortedBySignal(signal));
      void p.then(late, () => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    // Settled first: the signal is no longer listened to (in the same step, so no late abort
    // can hand what was resolved to `late`).
    const settled =
      <A>(then: (a: A) => void) =>
      (a: A) => {
        signal.removeEventListener('abort', onAbort);
        then(a);
      };
    p.then(settled(resolve), settled(reject));
  });
}
