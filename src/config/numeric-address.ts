/**
 * Numeric host addresses as ssh.c reads them before connecting: `is_addr()` (a name that can only
 * be an address) and the first step of `resolve_canonicalize()`, which runs whether or not
 * CanonicalizeHostname is on and rewrites an address into the form getnameinfo(3) prints with
 * NI_NUMERICHOST (`::0001` → `::1`, `0x7f.1` → `127.0.0.1`). Pure: no resolver, no node:*.
 *
 * IPv4 follows inet_aton(3) as getaddrinfo(3) with AI_NUMERICHOST accepts it (POSIX
 * inet_addr: one to four parts, each decimal, octal with a leading 0 or hex with 0x; the last
 * part fills the remaining bytes). IPv6 follows RFC 4291 §2.2 text forms, printed as glibc's
 * inet_ntop does (RFC 5952 §4: lowercase, no leading zeros, the longest run of two or more zero
 * groups as `::`, the first on a tie; `::ffff:a.b.c.d` and `::a.b.c.d` for embedded IPv4).
 */
import { formatIpv6 as formatIpv6Text } from '../protocol/ipv6-text.js';

/** Address families as AddressFamily / -4 / -6 name them. */
export type AddressFamilyOption = 'any' | 'inet' | 'inet6';

/** ssh.c is_addr_fast(): a name that can only be an address (a `%` or `:`, or digits and dots only). */
export function looksLikeAddress(name: string): boolean {
  return name.includes('%') || name.includes(':') || /^[0-9.]*$/.test(name);
}

/** inet_aton(3): the 32-bit value of an IPv4 text, or undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = parseInt(p, 10);
    else return undefined;
    if (!Number.isSafeInteger(v)) return undefined;
    values.push(v);
  }
  // Each leading part is one byte; the last fills the rest (a.b.c.d, a.b.c16, a.b24, a32).
  const lastBits = 8 * (5 - values.length);
  let out = 0;
  for (let i = 0; i < values.length - 1; i++) {
    if (values[i]! > 0xff) return undefined;
    out = out * 256 + values[i]!;
  }
  const last = values[values.length - 1]!;
  if (last >= 2 ** lastBits) return undefined;
  return out * 2 ** lastBits + last;
}

function formatIpv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
}

/** RFC 4291 §2.2: the eight 16-bit groups of an IPv6 text (without a `%scope`), or undefined. */
export function parseIpv6(text: string): number[] | undefined {
  let head = text;
  let tail: number[] = [];
  // §2.2 form 3: the last 32 bits as dotted decimal (four decimal parts only).
  // inet_pton(3) reads it strictly: decimal bytes without leading zeros.
  const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const parts = v4[2]!.split('.');
    if (parts.some((p) => Number(p) > 255 || (p.length > 1 && p.startsWith('0')))) return undefined;
    const bytes = parts.map(Number);
    tail = [bytes[0]! * 256 + bytes[1]!, bytes[2]! * 256 + bytes[3]!];
    head = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (!left || !right) return undefined;
  const given = left.length + right.length + tail.length;
  if (halves.length === 2) {
    if (given > 7) return undefined;
    return [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
  }
  return given === 8 ? [...left, ...tail] : undefined;
}

/** glibc inet_ntop(AF_INET6) (RFC 5952 §4), with its embedded-IPv4 forms. */
export function formatIpv6(words: readonly number[]): string {
  return formatIpv6Text(words);
}

/**
 * ssh.c resolve_addr(): `name` as getnameinfo(3) prints it when it is a numeric address of the
 * allowed family (AddressFamily), else undefined (a host name, or an address of the other family).
 * An IPv6 `%scope` is kept as written.
 */
export function canonicalAddress(name: string, family: AddressFamilyOption = 'any'): string | undefined {
  if (family !== 'inet6') {
    const v4 = parseIpv4(name);
    if (v4 !== undefined) return formatIpv4(v4);
  }
  if (family !== 'inet') {
    const pct = name.indexOf('%');
    const addr = pct === -1 ? name : name.slice(0, pct);
    if (pct !== -1 && pct === name.length - 1) return undefined;
    const words = parseIpv6(addr);
    if (words) return formatIpv6(words) + (pct === -1 ? '' : name.slice(pct));
  }
  return undefined;
}

/** ssh.c is_addr(): a name that is, or can only be, an address (not lowercased, not canonicalized as a name). */
export function isAddress(name: string, family: AddressFamilyOption = 'any'): boolean {
  return looksLikeAddress(name) || canonicalAddress(name, family) !== undefined;
}
