/**
 * The wildcard patterns of ssh_config(5) PATTERNS and sshd(8) known_hosts: `*` matches any run of
 * characters, `?` exactly one. Iterative with one backtrack point, so a hostile pattern cannot
 * make it exponential (a RegExp built from the pattern could).
 */
export function globMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starT = t;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
