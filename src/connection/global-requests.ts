/**
 * Global requests the client sends (RFC 4254 §4, §7.1; OpenSSH PROTOCOL §2.4, §2.5) and the
 * request-specific data of their replies. The FIFO that pairs each reply with its request
 * lives in connection.ts (RFC 4254 §4: replies come in the order of the requests).
 */
import { ProtocolError } from '../errors.js';
import { SshReader, SshWriter } from '../protocol/wire.js';

/** RFC 4254 §7.1 request names and OpenSSH's extensions. */
export const GlobalRequestName = {
  TCPIP_FORWARD: 'tcpip-forward',
  CANCEL_TCPIP_FORWARD: 'cancel-tcpip-forward',
  STREAMLOCAL_FORWARD: 'streamlocal-forward@openssh.com',
  CANCEL_STREAMLOCAL_FORWARD: 'cancel-streamlocal-forward@openssh.com',
  KEEPALIVE: 'keepalive@openssh.com',
  NO_MORE_SESSIONS: 'no-more-sessions@openssh.com',
} as const;

/**
 * Whether ssh(1) sends no-more-sessions@openssh.com (OpenSSH PROTOCOL §2.2) to the server whose
 * identification line (RFC 4253 §4.2, the whole `SSH-2.0-…` line) is `serverVersion`: ssh.c
 * ssh_session2 sends it only to servers compat.c marks SSH_NEW_OPENSSH, whose software version
 * matches `OpenSSH*` (case-sensitive) and none of the patterns before that one in its table
 * (`OpenSSH_2*`, `OpenSSH_3*`, `OpenSSH_4*`: OpenSSH 5.0 and later).
 */
export function sendsNoMoreSessions(serverVersion: string | undefined): boolean {
  const software = /^SSH-(?:2\.0|1\.99)-(.*)$/.exec(serverVersion ?? '')?.[1];
  return software !== undefined && software.startsWith('OpenSSH') && !/^OpenSSH_[234]/.test(software);
}

/**
 * RFC 4254 §7.1 tcpip-forward / cancel-tcpip-forward data: string address to bind, uint32 port
 * to bind. `''` means all addresses, `'localhost'` loopback (OpenSSH's default); port 0 asks
 * the server to pick one (tcpip-forward only).
 */
export function encodeTcpipForward(address: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port ${port}`);
  return new SshWriter(32).string(address).uint32(port).toBytes();
}

/** OpenSSH PROTOCOL §2.4 streamlocal-forward@openssh.com / cancel-…: string socket path. */
export function encodeStreamlocalForward(socketPath: string): Uint8Array {
  return new SshWriter(32).string(socketPath).toBytes();
}

/**
 * RFC 4254 §7.1: REQUEST_SUCCESS to a tcpip-forward for port 0 carries `uint32 port that was
 * bound on the server`. Returns `requestedPort` when the request named a port (no data then).
 */
export function decodeTcpipForwardReply(data: Uint8Array, requestedPort: number): number {
  if (requestedPort !== 0) return requestedPort;
  const r = new SshReader(data);
  const port = r.uint32();
  r.end('tcpip-forward reply');
  if (port === 0 || port > 65535) throw new ProtocolError(`tcpip-forward reply: bound port ${port} out of range`, { code: 'ERR_MALFORMED_PACKET' });
  return port;
}
