/**
 * The numeric connect options checked before any socket is opened: a value outside its range is
 * a UsageError naming the option and the value, never a default silently put in its place nor a
 * Node error from deep inside (ERR_SOCKET_BAD_PORT). Used by the Node `connect()` (before any
 * socket) and by {@link ClientCore} (every adapter).
 *
 * The ranges follow OpenSSH's equivalents (readconf.c and ssh.c; read for behaviour):
 * - `port`: 1 to 65535 (ssh.c refuses "Bad port" for 0 and anything a2port cannot read).
 * - `rekeyBytes`: 0 (the cipher's own limit, as RekeyLimit's `0`/`default`) or a whole number
 *   of bytes >= 16 (readconf.c oRekeyLimit: "RekeyLimit too small" below 16). It can only lower
 *   the cipher's own limit (cipher.ts rekeyLimitBytes), never raise it.
 * - `rekeyPackets`: 0 (the default, 2^31) or a whole number of packets >= 1.
 * - `connectTimeout`, `bannerTimeout`, `keepaliveInterval`, `rekeyTime`: milliseconds, a finite
 *   number >= 0, 0 = off (ConnectTimeout, ServerAliveInterval, RekeyLimit's time: 0 = none).
 * - `keepaliveCountMax`, `passwordAttempts`: whole numbers >= 0 (ServerAliveCountMax,
 *   NumberOfPasswordPrompts).
 */
import { UsageError } from './errors.js';

export interface NumericOptions {
  port?: number;
  rekeyBytes?: number;
  rekeyPackets?: number;
  connectTimeout?: number;
  bannerTimeout?: number;
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  rekeyTime?: number;
  passwordAttempts?: number;
}

/** RekeyLimit's smallest byte amount other than 0 (OpenSSH readconf.c oRekeyLimit). */
export const MIN_REKEY_BYTES = 16;

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const whole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Throws a UsageError for the first option of `o` outside its range (see the module comment). */
export function checkNumericOptions(o: NumericOptions): void {
  const { port, rekeyBytes, rekeyPackets } = o;
  if (port !== undefined && !(whole(port) && port >= 1 && port <= 65535)) {
    throw new UsageError(`port must be a whole number from 1 to 65535, got ${show(port)}`);
  }
  if (rekeyBytes !== undefined && !(whole(rekeyBytes) && (rekeyBytes === 0 || rekeyBytes >= MIN_REKEY_BYTES))) {
    throw new UsageError(`rekeyBytes must be 0 (the cipher's own limit) or a whole number of bytes >= ${MIN_REKEY_BYTES}, got ${show(rekeyBytes)}`);
  }
  if (rekeyPackets !== undefined && !(whole(rekeyPackets) && rekeyPackets >= 0)) {
    throw new UsageError(`rekeyPackets must be 0 (the default, 2^31) or a whole number of packets >= 1, got ${show(rekeyPackets)}`);
  }
  for (const name of ['connectTimeout', 'bannerTimeout', 'keepaliveInterval', 'rekeyTime'] as const) {
    const v = o[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw new UsageError(`${name} must be a number of milliseconds >= 0 (0 = off), got ${show(v)}`);
    }
  }
  for (const name of ['keepaliveCountMax', 'passwordAttempts'] as const) {
    const v = o[name];
    if (v !== undefined && !(whole(v) && v >= 0)) throw new UsageError(`${name} must be a whole number >= 0, got ${show(v)}`);
  }
}
