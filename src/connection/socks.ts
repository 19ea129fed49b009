/**
 * The server half of a SOCKS handshake, as ssh -D speaks it (OpenSSH channels.c
 * channel_decode_socks4/5): SOCKS4 (no RFC; the NEC protocol document "SOCKS: A protocol for
 * TCP proxy across firewalls"), SOCKS4a (its extension "SOCKS 4A"), and SOCKS5 (RFC 1928)
 * with CONNECT only and no authentication. Sans-IO: bytes in, reply bytes and one connect
 * request out. Strict and bounded: the handshake may not exceed {@link MAX_SOCKS_HANDSHAKE}
 * bytes, names are printable ASCII, anything else fails with the reply the protocol defines.
 */
import { ChannelOpenFailureReason } from '../errors.js';
import { formatIpv6 as formatIpv6Text } from '../protocol/ipv6-text.js';

/** No valid handshake is longer (SOCKS4a: 8 + 255 user id + 1 + 255 host + 1). */
export const MAX_SOCKS_HANDSHAKE = 1024;
/** SOCKS4 user id and SOCKS4a host name caps (bytes, without the NUL). */
const MAX_SOCKS4_FIELD = 255;

/** RFC 1928 §6 reply codes (REP). */
export const Socks5Reply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED_BY_RULESET: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** SOCKS4 reply codes (CD): 90 granted, 91 rejected or failed. */
export const Socks4Reply = { GRANTED: 90, REJECTED: 91 } as const;

/** What the client asked to connect to. `host` is a dotted IPv4, an RFC 5952 IPv6 text, or a name. */
export interface SocksConnectRequest {
  version: '4' | '4a' | '5';
  addressType: 'ipv4' | 'ipv6' | 'domain';
  host: string;
  port: number;
}

/** channels.c channel_decode_socks4: a user id or SOCKS4A host name past 1,024 bytes. */
const SOCKS4_TOO_LONG = { text: 'decode socks4: too long', level: 1 } as const;

/** Where a handshake stands. */
export type SocksState =
  | { kind: 'reading' }
  /** Complete: open the connection, then send success() or failure(). `rest` came after the request. */
  | { kind: 'request'; request: SocksConnectRequest; rest: Uint8Array }
  /**
   * Refused; any reply is already in the output. Close the connection after writing it.
   * `sshLine`: OpenSSH's debug line for the same refusal (channels.c channel_decode_socks4/5,
   * after `channel N: `) and its level, where it has one.
   */
  | { kind: 'failed'; message: string; sshLine?: { text: string; level: 1 | 2 } };

/**
 * The debug line of a refused request for channel `id` and its level: OpenSSH's words where it
 * has them (channels.c channel_decode_socks4/5), else pure-ssh's at debug2.
 */
export function socksRefusalLine(id: number, st: Extract<SocksState, { kind: 'failed' }>): [string, 2 | undefined] {
  return [`channel ${id}: ${st.sshLine?.text ?? `channel_decode_socks: ${st.message}`}`, st.sshLine?.level === 1 ? undefined : 2];
}

/**
 * The SOCKS5 reply (RFC 1928 §6) for a channel the SSH server refused (RFC 4254 §5.1 reason):
 * administratively prohibited → 0x02 not allowed by ruleset, connect failed → 0x05 connection
 * refused, anything else → 0x01 general failure.
 */
export function socks5ReplyForOpenFailure(reason: number | undefined): number {
  if (reason === ChannelOpenFailureReason.ADMINISTRATIVELY_PROHIBITED) return Socks5Reply.NOT_ALLOWED_BY_RULESET;
  if (reason === ChannelOpenFailureReason.CONNECT_FAILED) return Socks5Reply.CONNECTION_REFUSED;
  return Socks5Reply.GENERAL_FAILURE;
}

/**
 * RFC 5952 §4 text of a 16-byte IPv6 address: lowercase, no leading zeros, longest zero run as
 * `::`, and IPv4-mapped / -compatible addresses with a dotted tail (`::ffff:127.0.0.1`): the
 * host ssh's channel_decode_socks5() writes with inet_ntop(3) into the direct-tcpip open, which
 * sshd's PermitOpen compares as text (a `[::ffff:127.0.0.1]:80` rule refused `::ffff:7f00:1`).
 */
export function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  return formatIpv6Text(words);
}

function printableName(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return undefined;
  for (const c of bytes) if (c < 0x21 || c > 0x7e) return undefined;
  return String.fromCharCode(...bytes);
}

/**
 * One SOCKS connection's handshake, server side.
 *
 * @example
 * ```ts
 * const h = new SocksHandshake();
 * sock.on('data', (d) => {
 *   h.receive(d);
 *   for (const out of h.takeOutput()) sock.write(out);
 *   if (h.state.kind === 'request') openChannel(h.state.request);   // then h.success() or h.failure(code)
 *   if (h.state.kind === 'failed') sock.end();
 * });
 * ```
 */
export class SocksHandshake {
  private buf: Uint8Array = new Uint8Array(0);
  private out: Uint8Array[] = [];
  private version: 4 | 5 | undefined;
  /** SOCKS5: the method selection was sent, the request comes next. */
  private greeted = false;
  private answered = false;
  state: SocksState = { kind: 'reading' };

  /** Feed bytes from the SOCKS client. Bytes after a complete request go to `state.rest`. */
  receive(data: Uint8Array): void {
    if (this.state.kind !== 'reading') {
      if (this.state.kind === 'request') this.state.rest = concat(this.state.rest, data);
      return;
    }
    this.buf = concat(this.buf, data);
    this.step();
    if (this.state.kind === 'reading' && this.buf.length > MAX_SOCKS_HANDSHAKE) {
      this.fail(`SOCKS handshake longer than ${MAX_SOCKS_HANDSHAKE} bytes`, Socks5Reply.GENERAL_FAILURE);
    }
  }

  /** Replies to write to the client, in order. */
  takeOutput(): Uint8Array[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** The reply granting the request (the connection is established). */
  success(): Uint8Array {
    return this.finalReply(true, Socks5Reply.SUCCEEDED);
  }

  /** The reply refusing the request: a {@link Socks5Reply} code (SOCKS4 only says "rejected"). */
  failure(code: number): Uint8Array {
    return this.finalReply(false, code);
  }

  private finalReply(ok: boolean, code: number): Uint8Array {
    if (this.state.kind !== 'request' || this.answered) throw new Error('SOCKS: no request awaiting a reply');
    this.answered = true;
    if (this.version === 4) {
      // SOCKS4: VN 0, CD, DSTPORT and DSTIP (ignored by clients).
      return Uint8Array.of(0, ok ? Socks4Reply.GRANTED : Socks4Reply.REJECTED, 0, 0, 0, 0, 0, 0);
    }
    // RFC 1928 §6: VER, REP, RSV, ATYP 1 and BND.ADDR 0.0.0.0, BND.PORT 0 (as OpenSSH answers).
    return Uint8Array.of(5, code, 0, 1, 0, 0, 0, 0, 0, 0);
  }

  private fail(message: string, socks5Code: number | undefined, sshLine?: { text: string; level: 1 | 2 }): void {
    if (this.version === 4) this.out.push(Uint8Array.of(0, Socks4Reply.REJECTED, 0, 0, 0, 0, 0, 0));
    else if (this.version === 5 && this.greeted && socks5Code !== undefined) this.out.push(Uint8Array.of(5, socks5Code, 0, 1, 0, 0, 0, 0, 0, 0));
    this.state = sshLine ? { kind: 'failed', message, sshLine } : { kind: 'failed', message };
    this.buf = new Uint8Array(0);
  }

  private step(): void {
    const b = this.buf;
    if (b.length === 0) return;
    if (this.version === undefined) {
      if (b[0] === 4) this.version = 4;
      else if (b[0] === 5) this.version = 5;
      else return this.fail(`not a SOCKS4 or SOCKS5 request (first byte ${b[0]})`, undefined);
    }
    if (this.version === 4) this.step4();
    else this.step5();
  }

  private step4(): void {
    const b = this.buf;
    if (b.length < 8) return;
    // VN 4, CD 1 = CONNECT (2 = BIND is not supported, as in OpenSSH).
    // (SOCKS4A when DSTIP is 0.0.0.x, x ≠ 0.)
    const socks4a = b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0;
    if (b[1] !== 1) return this.fail(`SOCKS4 command ${b[1]} not supported`, undefined, { text: `cannot handle: ${socks4a ? 'SOCKS4A' : 'SOCKS4'} cn ${b[1]}`, level: 1 });
    const port = (b[2]! << 8) | b[3]!;
    const userEnd = b.indexOf(0, 8);
    if (userEnd < 0) {
      if (b.length - 8 > MAX_SOCKS4_FIELD) this.fail('SOCKS4 user id too long', undefined, SOCKS4_TOO_LONG);
      return;
    }
    if (userEnd - 8 > MAX_SOCKS4_FIELD) return this.fail('SOCKS4 user id too long', undefined, SOCKS4_TOO_LONG);
    let host: string;
    let end = userEnd + 1;
    let version: '4' | '4a' = '4';
    let addressType: 'ipv4' | 'domain' = 'ipv4';
    if (b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0) {
      // SOCKS4a: DSTIP 0.0.0.x (x != 0) means a host name follows the user id.
      const nameEnd = b.indexOf(0, end);
      if (nameEnd < 0) {
        if (b.length - end > MAX_SOCKS4_FIELD) this.fail('SOCKS4a host name too long', undefined, SOCKS4_TOO_LONG);
        return;
      }
      if (nameEnd - end > MAX_SOCKS4_FIELD) return this.fail('SOCKS4a host name too long', undefined, SOCKS4_TOO_LONG);
      const name = printableName(b.subarray(end, nameEnd));
      if (name === undefined) return this.fail('SOCKS4a host name empty or not printable', undefined);
      host = name;
      end = nameEnd + 1;
      version = '4a';
      addressType = 'domain';
    } else {
      host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
    }
    if (port === 0) return this.fail('SOCKS4 request for port 0', undefined);
    this.complete({ version, addressType, host, port }, end);
  }

  private step5(): void {
    const b = this.buf;
    if (!this.greeted) {
      // RFC 1928 §3: VER, NMETHODS, METHODS.
      if (b.length < 2) return;
      const n = b[1]!;
      if (n === 0) return this.fail('SOCKS5 greeting without methods', undefined);
      if (b.length < 2 + n) return;
      const methods = b.subarray(2, 2 + n);
      if (!methods.includes(0)) {
        // RFC 1928 §3: X'FF' NO ACCEPTABLE METHODS; we offer no authentication only.
        this.out.push(Uint8Array.of(5, 0xff));
        return this.fail('SOCKS5 client offers no method without authentication', undefined, { text: 'method SSH_SOCKS5_NOAUTH not found', level: 1 });
      }
      this.out.push(Uint8Array.of(5, 0));
      this.greeted = true;
      this.buf = b.subarray(2 + n);
      return this.step5();
    }
    // RFC 1928 §4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
    if (b.length < 5) return;
    if (b[0] !== 5) return this.fail(`SOCKS5 request version ${b[0]}`, Socks5Reply.GENERAL_FAILURE);
    if (b[1] !== 1) return this.fail(`SOCKS5 command ${b[1]} not supported`, Socks5Reply.COMMAND_NOT_SUPPORTED, { text: 'only socks5 connect supported', level: 2 });
    if (b[2] !== 0) return this.fail('SOCKS5 reserved byte not zero', Socks5Reply.GENERAL_FAILURE);
    let addrLen: number;
    let addrStart = 4;
    const atyp = b[3];
    if (atyp === 1) addrLen = 4;
    else if (atyp === 4) addrLen = 16;
    else if (atyp === 3) {
      addrLen = b[4]!;
      addrStart = 5;
    } else return this.fail(`SOCKS5 address type ${atyp} not supported`, Socks5Reply.ADDRESS_TYPE_NOT_SUPPORTED, { text: `bad socks5 atyp ${atyp}`, level: 2 });
    const end = addrStart + addrLen + 2;
    if (b.length < end) return;
    const addr = b.subarray(addrStart, addrStart + addrLen);
    const port = (b[end - 2]! << 8) | b[end - 1]!;
    let host: string;
    let addressType: SocksConnectRequest['addressType'];
    if (atyp === 1) {
      host = addr.join('.');
      addressType = 'ipv4';
    } else if (atyp === 4) {
      host = formatIpv6(addr);
      addressType = 'ipv6';
    } else {
      const name = printableName(addr);
      if (name === undefined) return this.fail('SOCKS5 domain name empty or not printable', Socks5Reply.GENERAL_FAILURE);
      host = name;
      addressType = 'domain';
    }
    if (port === 0) return this.fail('SOCKS5 request for port 0', Socks5Reply.GENERAL_FAILURE);
    this.complete({ version: '5', addressType, host, port }, end);
  }

  private complete(request: SocksConnectRequest, end: number): void {
    this.state = { kind: 'request', request, rest: this.buf.slice(end) };
    this.buf = new Uint8Array(0);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}
