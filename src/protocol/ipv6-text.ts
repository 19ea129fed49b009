/**
 * The text of an IPv6 address (RFC 5952 §4): lowercase hexadecimal groups without leading
 * zeros, the first longest run of two or more zero groups as `::` (§4.2.2: a single zero group
 * stays). Shared by the SOCKS server's ATYP 4 addresses and ssh_config's numeric destinations.
 */

/**
 * `words`: the eight 16-bit groups. The forms glibc's inet_ntop(AF_INET6) writes with a
 * dotted-decimal tail are used too: IPv4-compatible `::a.b.c.d` (but not `::1`) and IPv4-mapped
 * `::ffff:a.b.c.d` (RFC 4291 §2.5.5, RFC 5952 §5), as ssh prints and sends them.
 */
export function formatIpv6(words: readonly number[]): string {
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len) best = { base: i, len: j - i };
    i = j;
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  const embedded =
    best.base === 0 &&
    (best.len === 6 || (best.len === 7 && words[7] !== 0x0001) || (best.len === 5 && words[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && embedded) {
      out += `${words[6]! >>> 8}.${words[6]! & 0xff}.${words[7]! >>> 8}.${words[7]! & 0xff}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}
