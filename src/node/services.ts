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
 * Lines are `name port/protocol [aliases...]`, `#` starts a comment.
 */
export function parseServices(text: string): Map<string, number> {
  const ports = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash < 0 ? raw : raw.slice(0, hash)).split(/[ \t\r]+/).filter((f) => f !== '');
    if (fields.length < 2) continue;
    const m = /^(\d+)\/(\S+)$/.exec(fields[1]!);
    if (!m || m[2] !== 'tcp') continue;
    // s_port is a 16-bit field: htons() keeps the low bits, as glibc stores it.
    const port = Number(m[1]) % 65536;
    for (const name of [fields[0]!, ...fields.slice(2)]) if (!ports.has(name)) ports.set(name, port);
  }
  return ports;
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
