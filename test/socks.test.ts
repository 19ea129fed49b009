/**
 * The sans-IO SOCKS handshake (src/connection/socks.ts): SOCKS4, SOCKS4a, SOCKS5 (RFC 1928)
 * CONNECT, whole and byte at a time, and every refusal with its reply code.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv6, MAX_SOCKS_HANDSHAKE, Socks5Reply, socks5ReplyForOpenFailure, SocksHandshake } from '../src/connection/socks.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const cat = (...xs: Uint8Array[]) => Uint8Array.from(Buffer.concat(xs));

function feed(bytes: Uint8Array, oneByOne: boolean): { h: SocksHandshake; out: Uint8Array[] } {
  const h = new SocksHandshake();
  const out: Uint8Array[] = [];
  if (oneByOne) for (const b of bytes) {
    h.receive(Uint8Array.of(b));
    out.push(...h.takeOutput());
  }
  else {
    h.receive(bytes);
    out.push(...h.takeOutput());
  }
  return { h, out };
}

const socks4 = (port: number, ip: string, user = 'joe') => cat(hex(`0401${port.toString(16).padStart(4, '0')}`), Uint8Array.from(ip.split('.').map(Number)), ascii(user), Uint8Array.of(0));
const greeting = hex('05 02 00 02');
const socks5 = (atyp: number, addr: Uint8Array, port: number) => cat(Uint8Array.of(5, 1, 0, atyp), addr, Uint8Array.of(port >> 8, port & 255));

describe.each([false, true])('SOCKS requests (byte at a time: %s)', (oneByOne) => {
  it('SOCKS4 CONNECT to an IPv4 address; granted reply 90', () => {
    const { h, out } = feed(socks4(8080, '10.1.2.3'), oneByOne);
    expect(out).toEqual([]);
    expect(h.state).toEqual({ kind: 'request', request: { version: '4', addressType: 'ipv4', host: '10.1.2.3', port: 8080 }, rest: new Uint8Array(0) });
    expect([...h.success()]).toEqual([0, 90, 0, 0, 0, 0, 0, 0]);
  });

  it('SOCKS4a: 0.0.0.x then a host name resolved by the server; refused reply 91', () => {
    const bytes = cat(socks4(443, '0.0.0.1', ''), ascii('example.org'), Uint8Array.of(0));
    const { h } = feed(bytes, oneByOne);
    expect(h.state).toMatchObject({ kind: 'request', request: { version: '4a', addressType: 'domain', host: 'example.org', port: 443 } });
    expect([...h.failure(Socks5Reply.CONNECTION_REFUSED)]).toEqual([0, 91, 0, 0, 0, 0, 0, 0]);
  });

  it('SOCKS5 no-auth, CONNECT to IPv4, IPv6 and a domain name; bytes after the request kept', () => {
    for (const [atyp, addr, host, type] of [
      [1, Uint8Array.of(127, 0, 0, 1), '127.0.0.1', 'ipv4'],
      [4, hex('00000000000000000000000000000001'), '::1', 'ipv6'],
      [4, hex('20010db8000000000001000000000001'), '2001:db8::1:0:0:1', 'ipv6'],
      [3, cat(Uint8Array.of(9), ascii('localhost')), 'localhost', 'domain'],
    ] as const) {
      const { h, out } = feed(cat(greeting, socks5(atyp, addr, 22), ascii('GET /')), oneByOne);
      expect(out.map((o) => [...o])).toEqual([[5, 0]]);
      expect(h.state).toEqual({ kind: 'request', request: { version: '5', addressType: type, host, port: 22 }, rest: ascii('GET /') });
      expect([...h.success()]).toEqual([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    }
  });
});

describe('SOCKS refusals', () => {
  const failed = (h: SocksHandshake) => {
    expect(h.state.kind).toBe('failed');
    return h;
  };

  it('SOCKS5 without the no-auth method: X\'FF\'', () => {
    const { h, out } = feed(hex('05 01 02'), false);
    failed(h);
    expect(out.map((o) => [...o])).toEqual([[5, 0xff]]);
  });

  it('SOCKS5 BIND and UDP ASSOCIATE: 0x07 command not supported', () => {
    for (const cmd of [2, 3]) {
      const { h, out } = feed(cat(greeting, hex(`05 0${cmd} 00 01 7f000001 0016`)), false);
      failed(h);
      expect([...out[1]!]).toEqual([5, Socks5Reply.COMMAND_NOT_SUPPORTED, 0, 1, 0, 0, 0, 0, 0, 0]);
    }
  });

  it('SOCKS5 unknown address type: 0x08; empty or binary domain, port 0: 0x01', () => {
    const cases: [Uint8Array, number][] = [
      [hex('05 01 00 07 00'), Socks5Reply.ADDRESS_TYPE_NOT_SUPPORTED],
      [socks5(3, Uint8Array.of(0), 80), Socks5Reply.GENERAL_FAILURE],
      [socks5(3, cat(Uint8Array.of(3), hex('610062')), 80), Socks5Reply.GENERAL_FAILURE],
      [socks5(1, Uint8Array.of(127, 0, 0, 1), 0), Socks5Reply.GENERAL_FAILURE],
    ];
    for (const [req, code] of cases) {
      const { h, out } = feed(cat(greeting, req), false);
      failed(h);
      expect(out[1]![1]).toBe(code);
    }
  });

  it('SOCKS4 BIND, a user id without end, a host name without end: 91, bounded', () => {
    expect(feed(hex('0402 0050 7f000001 00'), false).out.map((o) => o[1])).toEqual([91]);
    const longUser = cat(hex('0401 0050 7f000001'), new Uint8Array(300).fill(0x61));
    expect(feed(longUser, false).h.state.kind).toBe('failed');
    const longName = cat(hex('0401 0050 00000001 00'), new Uint8Array(300).fill(0x61));
    expect(feed(longName, false).h.state.kind).toBe('failed');
  });

  it('not SOCKS at all (an HTTP request): failed, nothing written', () => {
    const { h, out } = feed(ascii('GET / HTTP/1.1\r\n'), false);
    expect(failed(h).state).toMatchObject({ message: /not a SOCKS4 or SOCKS5 request/ });
    expect(out).toEqual([]);
  });

  it('random garbage never throws and never buffers more than the cap', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    for (let i = 0; i < 2000; i++) {
      const h = new SocksHandshake();
      const n = rnd() * 8;
      const bytes = Uint8Array.from({ length: n }, rnd);
      bytes[0] = i % 2 ? 4 : 5;
      for (let o = 0; o < n; o += 1 + (rnd() % 64)) h.receive(bytes.subarray(o, o + 1 + (rnd() % 64)));
      h.takeOutput();
      expect(['reading', 'request', 'failed']).toContain(h.state.kind);
      if (h.state.kind === 'reading') expect(n).toBeLessThanOrEqual(MAX_SOCKS_HANDSHAKE + 64);
    }
  });

  it('channel refusal reasons map to SOCKS5 replies', () => {
    expect(socks5ReplyForOpenFailure(1)).toBe(0x02);
    expect(socks5ReplyForOpenFailure(2)).toBe(0x05);
    expect(socks5ReplyForOpenFailure(4)).toBe(0x01);
    expect(socks5ReplyForOpenFailure(undefined)).toBe(0x01);
  });

  it('RFC 5952 IPv6 text', () => {
    expect(formatIpv6(new Uint8Array(16))).toBe('::');
    expect(formatIpv6(hex('20010db8000100000001000100010001'))).toBe('2001:db8:1:0:1:1:1:1');
    expect(formatIpv6(hex('fe800000000000000000000000000001'))).toBe('fe80::1');
    // inet_ntop's dotted tails, as ssh's channel_decode_socks5() sends them (PermitOpen is text).
    expect(formatIpv6(hex('00000000000000000000ffff7f000001'))).toBe('::ffff:127.0.0.1');
    expect(formatIpv6(hex('0000000000000000000000000a000001'))).toBe('::10.0.0.1');
    expect(formatIpv6(hex('00000000000000000000000000000001'))).toBe('::1');
  });
});
