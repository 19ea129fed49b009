/**
 * Channel types as data (RFC 4254 §7, OpenSSH PROTOCOL §2.4): for each type its type-specific
 * CHANNEL_OPEN fields, with an encoder and a strict decoder. The connection layer stays generic:
 * it opens any type from encoded data and reports server-initiated opens with their fields decoded.
 */
import { ProtocolError } from '../errors.js';
import { SshReader, SshWriter } from '../protocol/wire.js';

/** RFC 4254 §7.2 direct-tcpip: what the server should connect to, and who asked. */
export interface DirectTcpipParams {
  host: string;
  port: number;
  /** The peer of the accepted local socket (RFC 4254 §7.2 originator). */
  originatorAddress?: string;
  originatorPort?: number;
}

/**
 * RFC 4254 §7.2 forwarded-tcpip: a connection arrived on a port the server listens on for us
 * (after a tcpip-forward request). `address`/`port` are the listening address as requested
 * and the bound port; `originatorAddress`/`originatorPort` the connecting peer.
 */
export interface ForwardedTcpipParams {
  address: string;
  port: number;
  originatorAddress: string;
  originatorPort: number;
}

/** OpenSSH PROTOCOL §2.4 forwarded-streamlocal@openssh.com: a connection on a forwarded Unix socket. */
export interface ForwardedStreamlocalParams {
  /** The socket path the server listens on (as requested in streamlocal-forward@openssh.com). */
  socketPath: string;
}

/** Decoded type-specific data of a server-initiated CHANNEL_OPEN, by channel type. */
export type ChannelOpenParams =
  | { channelType: 'forwarded-tcpip'; params: ForwardedTcpipParams }
  | { channelType: 'forwarded-streamlocal@openssh.com'; params: ForwardedStreamlocalParams };

function checkPort(port: number, what: string): number {
  // RFC 4254 §7.2: ports are uint32 on the wire but TCP ports are 16 bits.
  if (port > 65535) throw new ProtocolError(`${what}: port ${port} out of range`, { code: 'ERR_MALFORMED_PACKET' });
  return port;
}

/** RFC 4254 §7.2: string host to connect, uint32 port to connect, string originator IP, uint32 originator port. */
export function encodeDirectTcpip(p: DirectTcpipParams): Uint8Array {
  return new SshWriter(64)
    .string(p.host)
    .uint32(p.port)
    .string(p.originatorAddress ?? '127.0.0.1')
    .uint32(p.originatorPort ?? 0)
    .toBytes();
}

/** OpenSSH PROTOCOL §2.4 direct-streamlocal@openssh.com: string socket path, string reserved, uint32 reserved. */
export function encodeDirectStreamlocal(socketPath: string): Uint8Array {
  return new SshWriter(64).string(socketPath).string('').uint32(0).toBytes();
}

/** RFC 4254 §7.2 forwarded-tcpip: string address that was connected, uint32 port, string originator IP, uint32 originator port. */
export function encodeForwardedTcpip(p: ForwardedTcpipParams): Uint8Array {
  return new SshWriter(64).string(p.address).uint32(p.port).string(p.originatorAddress).uint32(p.originatorPort).toBytes();
}

/** OpenSSH PROTOCOL §2.4 forwarded-streamlocal@openssh.com: string socket path, string reserved. */
export function encodeForwardedStreamlocal(p: ForwardedStreamlocalParams): Uint8Array {
  return new SshWriter(64).string(p.socketPath).string('').toBytes();
}

/** Decoders of the server-initiated types we know; each rejects trailing bytes. */
const decoders: Record<string, (r: SshReader) => ChannelOpenParams> = {
  'forwarded-tcpip': (r) => {
    const params: ForwardedTcpipParams = {
      address: r.utf8('address that was connected'),
      port: checkPort(r.uint32(), 'forwarded-tcpip'),
      originatorAddress: r.utf8('originator IP address'),
      originatorPort: checkPort(r.uint32(), 'forwarded-tcpip originator'),
    };
    r.end('forwarded-tcpip channel data');
    return { channelType: 'forwarded-tcpip', params };
  },
  'forwarded-streamlocal@openssh.com': (r) => {
    const socketPath = r.utf8('socket path');
    // OpenSSH PROTOCOL §2.4: a reserved string follows (sshd sends it; older ones may not).
    if (r.remaining > 0) r.string('reserved');
    r.end('forwarded-streamlocal@openssh.com channel data');
    return { channelType: 'forwarded-streamlocal@openssh.com', params: { socketPath } };
  },
};

/**
 * Decode the type-specific data of a server-initiated open. Returns undefined for types this
 * table does not know (the adapter may still handle them from the raw bytes); throws a
 * ProtocolError when a known type's data is malformed.
 */
export function decodeChannelOpenParams(channelType: string, data: Uint8Array): ChannelOpenParams | undefined {
  const decode = Object.hasOwn(decoders, channelType) ? decoders[channelType] : undefined;
  return decode ? decode(new SshReader(data)) : undefined;
}
