import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/errors.js';
import {
  MSG,
  decodeMessage,
  encodeChannelData,
  encodeChannelOpen,
  encodeChannelOpenFailure,
  encodeChannelSimple,
  encodeDisconnect,
  encodeGlobalRequest,
  encodeUnimplemented,
  encodeWindowAdjust,
} from '../src/protocol/messages.js';
import { SshReader, SshWriter, concatBytes, constantTimeEqual, mpintBody, readUint32, writeUint32 } from '../src/protocol/wire.js';
import { seededRandom } from './support/fake-server.js';
import { expectProtocolError } from './support/expect-protocol-error.js';

function expectMalformed(fn: () => unknown): ProtocolError {
  return expectProtocolError(fn, 'ERR_MALFORMED_PACKET');
}

const rnd = seededRandom(42);
const int = (n: number) => {
  const b = rnd(4);
  return readUint32(b, 0) % n;
};

describe('SshWriter / SshReader round trips (RFC 4251 §5)', () => {
  it('byte, boolean, uint32, uint64, string, name-list, mpint', () => {
    const w = new SshWriter(1)
      .byte(0xab)
      .boolean(true)
      .boolean(false)
      .uint32(0)
      .uint32(0xffffffff)
      .uint64(0x0123456789abcdefn)
      .uint64(0xffffffffffffffffn)
      .string('héllo')
      .string(new Uint8Array([0, 1, 2]))
      .nameList(['a', 'b-c@x.org'])
      .nameList([])
      .mpint(new Uint8Array([0, 0, 0x80, 1]))
      .mpint(new Uint8Array([0, 0x7f]))
      .mpint(new Uint8Array([0, 0]));
    const r = new SshReader(w.toBytes());
    expect(r.byte()).toBe(0xab);
    expect(r.boolean()).toBe(true);
    expect(r.boolean()).toBe(false);
    expect(r.uint32()).toBe(0);
    expect(r.uint32()).toBe(0xffffffff);
    expect(r.uint64()).toBe(0x0123456789abcdefn);
    expect(r.uint64()).toBe(0xffffffffffffffffn);
    expect(r.utf8()).toBe('héllo');
    expect([...r.string()]).toEqual([0, 1, 2]);
    expect(r.nameList()).toEqual(['a', 'b-c@x.org']);
    expect(r.nameList()).toEqual([]);
    expect([...r.mpint()]).toEqual([0, 0x80, 1]); // RFC 4251 §5: 0x00 prefix when the top bit is set
    expect([...r.mpint()]).toEqual([0x7f]);
    expect([...r.mpint()]).toEqual([]); // zero is the empty string
    r.end();
    expect(r.remaining).toBe(0);
  });

  it('mpintBody matches the RFC 4251 §5 examples', () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(hex(mpintBody(new Uint8Array([0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7])))).toBe('09a378f9b2e332a7');
    expect(hex(mpintBody(new Uint8Array([0x80])))).toBe('0080');
    expect(hex(mpintBody(new Uint8Array(0)))).toBe('');
  });

  it('property: random sequences of fields round-trip (seeded, 500 cases)', () => {
    for (let iter = 0; iter < 500; iter++) {
      const ops: { kind: number; v: unknown }[] = [];
      const w = new SshWriter(1 + int(8));
      const count = 1 + int(12);
      for (let i = 0; i < count; i++) {
        const kind = int(6);
        let v: unknown;
        switch (kind) {
          case 0:
            v = int(256);
            w.byte(v as number);
            break;
          case 1:
            v = readUint32(rnd(4), 0);
            w.uint32(v as number);
            break;
          case 2: {
            const b = rnd(8);
            v = (BigInt(readUint32(b, 0)) << 32n) | BigInt(readUint32(b, 4));
            w.uint64(v as bigint);
            break;
          }
          case 3:
            v = rnd(int(300));
            w.string(v as Uint8Array);
            break;
          case 4: {
            const n = int(5);
            v = Array.from({ length: n }, () => {
              const len = 1 + int(10);
              return String.fromCharCode(...Array.from(rnd(len), (c) => 0x21 + (c % 94)).map((c) => (c === 0x2c ? 0x2d : c)));
            });
            w.nameList(v as string[]);
            break;
          }
          default:
            v = Array.from(rnd(int(40)), (c) => String.fromCodePoint(c < 128 ? c : 0x100 + c * 37)).join('');
            w.string(v as string);
        }
        ops.push({ kind, v });
      }
      const r = new SshReader(w.toBytes());
      for (const { kind, v } of ops) {
        switch (kind) {
          case 0:
            expect(r.byte()).toBe(v);
            break;
          case 1:
            expect(r.uint32()).toBe(v);
            break;
          case 2:
            expect(r.uint64()).toBe(v);
            break;
          case 3:
            expect(r.string()).toEqual(v);
            break;
          case 4:
            expect(r.nameList()).toEqual(v);
            break;
          default:
            expect(r.utf8()).toBe(v);
        }
      }
      r.end();
    }
  });

  it('property: every strict prefix of an encoded message is rejected as truncated', () => {
    const full = new SshWriter().uint32(7).string('abc').nameList(['x', 'y']).uint64(5n).toBytes();
    for (let cut = 0; cut < full.length; cut++) {
      const r = new SshReader(full.subarray(0, cut));
      expectMalformed(() => {
        r.uint32();
        r.string();
        r.nameList();
        r.uint64();
      });
    }
  });
});

describe('malformed input → ProtocolError ERR_MALFORMED_PACKET', () => {
  it('truncated reads of each type', () => {
    expectMalformed(() => new SshReader(new Uint8Array(0)).byte());
    expectMalformed(() => new SshReader(new Uint8Array(0)).boolean());
    expectMalformed(() => new SshReader(new Uint8Array(3)).uint32());
    expectMalformed(() => new SshReader(new Uint8Array(7)).uint64());
    expectMalformed(() => new SshReader(new Uint8Array(2)).raw(3));
  });

  it('an oversized string length fails without reading past the buffer (or allocating)', () => {
    const e = expectMalformed(() => new SshReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2)).string());
    expect(e.message).toMatch(/4294967295 bytes, 2 left/);
    // A view over a larger buffer must not read beyond its end.
    const big = new Uint8Array(100);
    writeUint32(big, 10, 20);
    expectMalformed(() => new SshReader(big, 10, 20).string());
  });

  it('invalid name-lists: empty names, control characters, non-ASCII', () => {
    for (const bad of ['a,,b', ',a', 'a,', 'a b', 'a\u0000', 'caf\u00e9', 'a\tb']) {
      const w = new SshWriter().string(new Uint8Array(Buffer.from(bad, 'latin1')));
      expectMalformed(() => new SshReader(w.toBytes()).nameList());
    }
  });

  it('invalid UTF-8 in a text field', () => {
    for (const bad of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80] /* surrogate */, [0xc0, 0x80] /* overlong */]) {
      const w = new SshWriter().string(Uint8Array.from(bad));
      expectMalformed(() => new SshReader(w.toBytes()).utf8());
    }
  });

  it('end() rejects trailing bytes', () => {
    const r = new SshReader(Uint8Array.of(1, 2));
    r.byte();
    expect(expectMalformed(() => r.end('thing')).message).toMatch(/thing: 1 unexpected trailing bytes/);
  });
});

describe('message table: strict decode of known messages (russh ensure_end)', () => {
  const samples: [string, Uint8Array][] = [
    ['UNIMPLEMENTED', encodeUnimplemented(7)],
    ['CHANNEL_WINDOW_ADJUST', encodeWindowAdjust(1, 100)],
    ['CHANNEL_DATA', encodeChannelData(3, Uint8Array.of(1, 2, 3))],
    ['CHANNEL_EOF', encodeChannelSimple(MSG.CHANNEL_EOF, 2)],
    ['CHANNEL_CLOSE', encodeChannelSimple(MSG.CHANNEL_CLOSE, 2)],
    ['NEWKEYS', Uint8Array.of(MSG.NEWKEYS)],
    ['USERAUTH_SUCCESS', Uint8Array.of(MSG.USERAUTH_SUCCESS)],
    ['REQUEST_FAILURE', Uint8Array.of(MSG.REQUEST_FAILURE)],
    ['SERVICE_ACCEPT', new SshWriter().byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBytes()],
    ['USERAUTH_FAILURE', new SshWriter().byte(MSG.USERAUTH_FAILURE).nameList(['publickey']).boolean(false).toBytes()],
    [
      'KEX_ECDH_REPLY',
      new SshWriter().byte(MSG.KEX_ECDH_REPLY).string(rnd(51)).string(rnd(32)).string(rnd(83)).toBytes(),
    ],
    ['EXT_INFO', new SshWriter().byte(MSG.EXT_INFO).uint32(1).string('server-sig-algs').string('ssh-ed25519').toBytes()],
  ];

  for (const [name, payload] of samples) {
    it(`${name}: decodes, and one trailing byte is rejected`, () => {
      const m = decodeMessage(payload);
      expect(m?.type).toBe(payload[0]);
      expectMalformed(() => decodeMessage(concatBytes(payload, Uint8Array.of(0))));
    });
    it(`${name}: every truncation is rejected`, () => {
      for (let cut = 1; cut < payload.length; cut++) expectMalformed(() => decodeMessage(payload.subarray(0, cut)));
    });
  }

  it('fields decode to the values encoded', () => {
    expect(decodeMessage(encodeDisconnect(11, 'bye'))).toEqual({ type: 1, reason: 11, description: 'bye', language: '' });
    expect(decodeMessage(encodeChannelOpenFailure(4, 2, 'connect failed'))).toEqual({
      type: MSG.CHANNEL_OPEN_FAILURE,
      recipient: 4,
      reason: 2,
      description: 'connect failed',
      language: '',
    });
    const open = decodeMessage(encodeChannelOpen('direct-tcpip', 5, 1000, 200, Uint8Array.of(9, 9)));
    expect(open).toMatchObject({ type: MSG.CHANNEL_OPEN, channelType: 'direct-tcpip', sender: 5, initialWindow: 1000, maxPacket: 200 });
    const g = decodeMessage(encodeGlobalRequest('keepalive@openssh.com', true));
    expect(g).toMatchObject({ name: 'keepalive@openssh.com', wantReply: true });
    const d = decodeMessage(encodeChannelData(0xffffffff, Uint8Array.of(7)));
    expect(d).toMatchObject({ recipient: 0xffffffff });
  });

  it('EXT_INFO with a huge extension count is rejected before looping', () => {
    expectMalformed(() => decodeMessage(new SshWriter().byte(MSG.EXT_INFO).uint32(0xffffffff).toBytes()));
  });

  it('unknown message numbers are left to the caller', () => {
    expect(decodeMessage(Uint8Array.of(200))).toBeUndefined();
    expect(decodeMessage(Uint8Array.of(MSG.KEXINIT))).toBeUndefined();
  });
});

describe('helpers', () => {
  it('constantTimeEqual', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
  });
  it('writeUint32 / readUint32 at the extremes', () => {
    const b = new Uint8Array(6);
    for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      writeUint32(b, 1, v);
      expect(readUint32(b, 1)).toBe(v);
    }
  });
});
