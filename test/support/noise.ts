/**
 * Incompressible test bytes: an xorshift32 state stepped once per byte, its low byte kept. Not
 * cryptographic; the same `seed` always gives the same bytes (seed 0 counts as 1). Used where a
 * test needs data that zlib cannot shrink.
 */
export function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}
