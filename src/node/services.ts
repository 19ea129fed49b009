/**
 * getservbyname(name, "tcp") for the CLI, which Node lacks: the port of a service name read
 * from services(5), as misc.c a2port falls back to when its argument is not a number
 * (`ssh -p ssh`, `-L 8080:host:http`). Names and aliases match case-sensitively, the first
 * tcp entry wins, as glibc's files backend reads the file. A missing or unreadable file
 * means numeric ports only.
 */
import { readFileSync } from 'node:fs';

/** Where services(5) lives. */
export const SERVICES_FILE = '/etc/services';

/**
 * The tcp services of a services(5) text: name and aliases → port.
 * Lines are `name port/protocol [aliases...]`, `#` starts a comment; a line whose port glibc
 * would not read is skipped (a later entry of the same name may then win).
 */
export function parseServices(text: string): Map<string, number> {
  const ports = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash < 0 ? raw : raw.slice(0, hash)).split(/[ \t\r]+/).filter((f) => f !== '');
    if (fields.length < 2) continue;
    const slash = fields[1]!.indexOf('/');
    if (slash < 0 || fields[1]!.slice(slash + 1) !== 'tcp') continue;
    const port = servicePortNumber(fields[1]!.slice(0, slash));
    if (port === undefined) continue;
    for (const name of [fields[0]!, ...fields.slice(2)]) if (!ports.has(name)) ports.set(name, port);
  }
  return ports;
}

/**
 * The port field as glibc 2.36's files backend reads it (observed with ssh -p NAME against
 * entries in /etc/services): strtoul(3) with base 0, so `010` is 8, `0x50` is 80 and `08` or
 * `0x` is no entry; a `+` sign is taken, a value beyond 32 bits (a `-` included, which strtoul
 * wraps) drops the entry; s_port is 16 bits, so the low 16 bits are kept (70000 → 4464).
 */
function servicePortNumber(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]!;
  const value = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (m[1] === '-' && value !== 0n) return undefined;
  if (value > 0xffffffffn) return undefined;
  return Number(value & 0xffffn);
}

let cache: { path: string; ports: Map<string, number> } | undefined;

/**
 * The tcp port of service `name` in `path` (read once per path), or undefined when it is not
 * there or the file cannot be read. `tcpServicePort('ssh')` → 22.
 */
export function tcpServicePort(name: string, path: string = SERVICES_FILE): number | undefined {
  if (cache?.path !== path) {
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      // No services(5): numeric ports only.
    }
    cache = { path, ports: parseServices(text) };
  }
  return cache.ports.get(name);
}
