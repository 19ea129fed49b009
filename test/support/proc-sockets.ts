/**
 * What a process holds, read from /proc: its open descriptors and its TCP sockets with their
 * states (the `ss -tanp` view, without needing ss). Linux only, like the rest of the harness.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Number of open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** TCP states as the kernel numbers them (include/net/tcp_states.h), named as ss prints them. */
const TCP_STATES: Record<number, string> = {
  1: 'ESTAB',
  2: 'SYN-SENT',
  3: 'SYN-RECV',
  4: 'FIN-WAIT-1',
  5: 'FIN-WAIT-2',
  6: 'TIME-WAIT',
  7: 'UNCONN',
  8: 'CLOSE-WAIT',
  9: 'LAST-ACK',
  10: 'LISTEN',
  11: 'CLOSING',
};

/** One TCP socket held by a process. */
export interface HeldSocket {
  /** The /proc/net table it is in: `tcp` (IPv4) or `tcp6`. */
  table: 'tcp' | 'tcp6';
  /** Its local address: dotted IPv4, `::` or `::1` (other IPv6 addresses as /proc's hex). */
  localAddress: string;
  state: string;
  localPort: number;
  remotePort: number;
  /** Bytes received and not yet read by the process. */
  unread: number;
}

/** The TCP sockets (IPv4 and IPv6) that `pid` has a descriptor for. */
export function tcpSocketsOf(pid: number): HeldSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  const out: HeldSocket[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const [, local, remote, st, queues] = f;
      const hex = local!.split(':')[0]!;
      out.push({
        table,
        localAddress: table === 'tcp' ? [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.') : /^0+$/.test(hex) ? '::' : /^0{24}01000000$/.test(hex) ? '::1' : hex,
        state: TCP_STATES[parseInt(st!, 16)] ?? st!,
        localPort: parseInt(local!.split(':')[1]!, 16),
        remotePort: parseInt(remote!.split(':')[1]!, 16),
        unread: parseInt(queues!.split(':')[1]!, 16),
      });
    }
  }
  return out;
}
