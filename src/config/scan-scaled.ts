/**
 * OpenSSH's scan_scaled (openbsd-compat/fmt_scaled.c, the same in OpenSSH 9.2 and 10.0): a byte
 * count with an optional fraction and one scale letter, as ssh_config(5) RekeyLimit reads it.
 * Pure; exact, on bigint, within C's `long long`.
 */

/** What scan_scaled leaves in errno on failure; strerror(3) gives ssh's wording. */
export type ScanScaledError = 'EINVAL' | 'ERANGE';

/** strerror(3) of {@link ScanScaledError} (glibc's wording, which ssh prints). */
export const SCAN_SCALED_STRERROR: Record<ScanScaledError, string> = {
  EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range',
};

const LLONG_MAX = 2n ** 63n - 1n;
const LLONG_MIN = -(2n ** 63n);
/** fmt_scaled.c scale_chars: B(ytes), K, M, G, T, P, E, each 1024 times the last. */
const SCALE_CHARS = 'BKMGTPE';
/** fmt_scaled.c MAX_DIGITS: three digits per scale letter. */
const MAX_DIGITS = SCALE_CHARS.length * 3;

const isSpace = (c: string | undefined) => c !== undefined && ' \t\n\v\f\r'.includes(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlnum = (c: string | undefined) => c !== undefined && /^[0-9A-Za-z]$/.test(c);

/**
 * `1.5M` → 1572864n, `64k` → 65536n, `" +7E"` → 7·2^60. Leading white space and one sign are
 * allowed; without a scale letter the fraction is dropped (`1.5` → 1n); a scale letter may be
 * followed by anything but a letter or digit (`1M-x` → 1048576n); no digits at all is 0 (`M`, `.`).
 * Returns the error scan_scaled sets instead: EINVAL for a malformed number or unknown scale
 * letter, ERANGE beyond `long long` (or 21 digits and more).
 */
export function scanScaled(s: string): bigint | ScanScaledError {
  let p = 0;
  while (isSpace(s[p])) p++;
  let sign = 0;
  while (s[p] === '-' || s[p] === '+') {
    if (sign !== 0) return 'EINVAL';
    sign = s[p] === '-' ? -1 : 1;
    p++;
  }
  let ndigits = 0;
  let fractDigits = 0;
  let whole = 0n;
  let fpart = 0n;
  for (; isDigit(s[p]) || s[p] === '.'; p++) {
    if (s[p] === '.') {
      if (fractDigits > 0) return 'EINVAL';
      fractDigits = 1;
      continue;
    }
    const d = BigInt(s.charCodeAt(p) - 48);
    if (fractDigits > 0) {
      // Fractional digits past the precision are ignored.
      if (fractDigits >= MAX_DIGITS - 1) continue;
      fractDigits++;
      if (fpart > LLONG_MAX / 10n || d > LLONG_MAX - fpart * 10n) return 'ERANGE';
      fpart = fpart * 10n + d;
    } else {
      if (++ndigits >= MAX_DIGITS) return 'ERANGE';
      if (whole > LLONG_MAX / 10n || d > LLONG_MAX - whole * 10n) return 'ERANGE';
      whole = whole * 10n + d;
    }
  }
  if (sign !== 0) whole *= BigInt(sign);
  if (p === s.length) return whole;

  const c = s[p]!;
  const i = Math.max(SCALE_CHARS.indexOf(c), SCALE_CHARS.toLowerCase().indexOf(c));
  if (i < 0) return 'EINVAL';
  if (isAlnum(s[p + 1])) return 'EINVAL';
  const scale = 1024n ** BigInt(i);
  // bigint division truncates toward zero, as C's does.
  if (whole > LLONG_MAX / scale || whole < LLONG_MIN / scale) return 'ERANGE';
  whole *= scale;
  // OpenSSH 10.0's fraction: drop digits until it cannot overflow, scale, then divide back.
  while (fpart >= LLONG_MAX / scale) {
    fpart /= 10n;
    fractDigits--;
  }
  fpart *= scale;
  for (let k = 0; k < fractDigits - 1; k++) fpart /= 10n;
  return sign === -1 ? whole - fpart : whole + fpart;
}
