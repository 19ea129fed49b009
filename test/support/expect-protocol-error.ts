/**
 * The one assertion shape the unit tests share: `fn` must throw a ProtocolError with this code
 * (and, when given, this disconnect reason). Returns the error for further checks.
 */
import { expect } from 'vitest';
import { ProtocolError, type SshErrorCode } from '../../src/errors.js';

export function expectProtocolError(fn: () => unknown, code: SshErrorCode, reason?: number): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const err = caught as ProtocolError;
  expect(err.code).toBe(code);
  if (reason !== undefined) expect(err.reason).toBe(reason);
  return err;
}
