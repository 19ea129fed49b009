/** Web Crypto randomness (W3C WebCryptoAPI §10.1.1: at most 65536 bytes per getRandomValues call). */
const MAX_PER_CALL = 65536;

/** `n` cryptographically secure random bytes from `crypto.getRandomValues`. */
export function webRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += MAX_PER_CALL) crypto.getRandomValues(out.subarray(i, Math.min(n, i + MAX_PER_CALL)));
  return out;
}
