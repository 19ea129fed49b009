import { describe, expect, it } from 'vitest';
import { NegotiationError, ProtocolError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import {
  decodeKexInit,
  encodeKexInit,
  guessWasWrong,
  isPseudoKex,
  kexInitProposalLines,
  negotiate,
  type AlgorithmLists,
  type KexInit,
} from '../src/transport/kexinit.js';
import { SshWriter, concatBytes } from '../src/protocol/wire.js';

const CHACHA = 'chacha20-poly1305@openssh.com';
const isAead = (c: string) => c === CHACHA || c.startsWith('aes256-gcm');

function lists(over: Partial<AlgorithmLists> = {}): AlgorithmLists {
  return {
    kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'],
    hostKey: ['ssh-ed25519', 'rsa-sha2-512'],
    cipherClientToServer: [CHACHA],
    cipherServerToClient: [CHACHA],
    macClientToServer: [],
    macServerToClient: [],
    compressionClientToServer: ['none'],
    compressionServerToClient: ['none'],
    languagesClientToServer: [],
    languagesServerToClient: [],
    ...over,
  };
}
const kexinit = (over: Partial<AlgorithmLists> = {}, follows = false): KexInit => ({
  cookie: new Uint8Array(16),
  firstKexPacketFollows: follows,
  emptyNamesIn: [],
  ...lists(over),
});

function negotiationError(fn: () => unknown): NegotiationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NegotiationError);
    return e as NegotiationError;
  }
  throw new Error('expected a NegotiationError');
}

describe('KEXINIT encode/decode (RFC 4253 §7.1)', () => {
  it('round-trips every list and the cookie, with first_kex_packet_follows false and reserved 0', () => {
    const cookie = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const l = lists({ languagesClientToServer: ['en'], macClientToServer: ['hmac-sha2-256', 'hmac-sha1'] });
    const p = encodeKexInit(cookie, l);
    expect(p[0]).toBe(MSG.KEXINIT);
    expect(p.subarray(1, 17)).toEqual(cookie);
    expect([...p.subarray(p.length - 5)]).toEqual([0, 0, 0, 0, 0]);
    const d = decodeKexInit(p);
    expect(d.cookie).toEqual(cookie);
    expect(d.firstKexPacketFollows).toBe(false);
    const { cookie: _c, firstKexPacketFollows: _f, emptyNamesIn, ...rest } = d;
    expect(rest).toEqual(l);
    expect(emptyNamesIn).toEqual([]);
  });

  it('decodes first_kex_packet_follows set by a peer', () => {
    const p = encodeKexInit(new Uint8Array(16), lists());
    p[p.length - 5] = 1;
    expect(decodeKexInit(p).firstKexPacketFollows).toBe(true);
  });

  it('rejects trailing bytes and every truncation', () => {
    const p = encodeKexInit(new Uint8Array(16), lists());
    expect(() => decodeKexInit(concatBytes(p, Uint8Array.of(0)))).toThrow(ProtocolError);
    for (let cut = 1; cut < p.length; cut++) {
      let err: unknown;
      try {
        decodeKexInit(p.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      expect((err as ProtocolError).code).toBe('ERR_MALFORMED_PACKET');
    }
  });

  // Issue 8 case 3: libssh 0.10 servers end lists with a comma; OpenSSH tolerates empty names.
  it('a peer name-list with empty names (libssh 0.10 trailing comma): skipped and reported, not fatal', () => {
    const w = new SshWriter().byte(MSG.KEXINIT).raw(new Uint8Array(16)).string('a,,b');
    w.string('ssh-ed25519').string('aes128-ctr,').string(',aes128-ctr');
    for (let i = 0; i < 6; i++) w.string('x');
    const d = decodeKexInit(w.boolean(false).uint32(0).toBytes());
    expect(d.kex).toEqual(['a', 'b']);
    expect(d.cipherClientToServer).toEqual(['aes128-ctr']);
    expect(d.cipherServerToClient).toEqual(['aes128-ctr']);
    expect(d.emptyNamesIn).toEqual(['kex', 'cipherClientToServer', 'cipherServerToClient']);
  });

  it("ssh -vv's proposal lines (kex.c kex_buf2prop): each list as sent, empty names kept; first_kex_follows and reserved with a blank at the end", () => {
    const w = new SshWriter().byte(MSG.KEXINIT).raw(new Uint8Array(16)).string('a,,b');
    w.string('ssh-ed25519').string('aes128-ctr,').string(',aes128-ctr');
    for (let i = 0; i < 4; i++) w.string('x');
    w.string('').string('');
    expect(kexInitProposalLines(w.boolean(true).uint32(7).toBytes())).toEqual([
      'KEX algorithms: a,,b',
      'host key algorithms: ssh-ed25519',
      'ciphers ctos: aes128-ctr,',
      'ciphers stoc: ,aes128-ctr',
      'MACs ctos: x',
      'MACs stoc: x',
      'compression ctos: x',
      'compression stoc: x',
      'languages ctos: ',
      'languages stoc: ',
      'first_kex_follows 1 ',
      'reserved 7 ',
    ]);
  });

  it('still rejects a name-list with a non-printable character', () => {
    const w = new SshWriter().byte(MSG.KEXINIT).raw(new Uint8Array(16)).string('a\tb');
    for (let i = 0; i < 9; i++) w.string('x');
    expect(() => decodeKexInit(w.boolean(false).uint32(0).toBytes())).toThrow(/non-printable/);
  });
});

describe('negotiate (RFC 4253 §7.1)', () => {
  it("picks the client's first algorithm the server also supports, not the server's first", () => {
    const c = kexinit({ hostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'], kex: ['curve25519-sha256@libssh.org', 'curve25519-sha256'] });
    const s = kexinit({ hostKey: ['rsa-sha2-256', 'rsa-sha2-512', 'ssh-ed25519'], kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'] });
    const n = negotiate(c, s, isAead);
    expect(n.hostKey).toBe('ssh-ed25519');
    expect(n.kex).toBe('curve25519-sha256@libssh.org');
    const n2 = negotiate(kexinit({ hostKey: ['rsa-sha2-256', 'ssh-ed25519'] }), kexinit({ hostKey: ['ssh-ed25519', 'rsa-sha2-256'] }), isAead);
    expect(n2.hostKey).toBe('rsa-sha2-256');
  });

  it('negotiates each direction separately', () => {
    const c = kexinit({ cipherClientToServer: ['aes256-gcm@openssh.com', CHACHA], cipherServerToClient: [CHACHA, 'aes256-gcm@openssh.com'] });
    const s = kexinit({ cipherClientToServer: [CHACHA, 'aes256-gcm@openssh.com'], cipherServerToClient: [CHACHA, 'aes256-gcm@openssh.com'] });
    const n = negotiate(c, s, isAead);
    expect(n.cipherClientToServer).toBe('aes256-gcm@openssh.com');
    expect(n.cipherServerToClient).toBe(CHACHA);
  });

  it('failure names the category and both lists', () => {
    const e = negotiationError(() =>
      negotiate(kexinit({ hostKey: ['ssh-ed25519'] }), kexinit({ hostKey: ['ssh-rsa', 'ssh-dss'] }), isAead),
    );
    expect(e.code).toBe('ERR_NEGOTIATION');
    expect(e.category).toBe('host key algorithm');
    expect(e.message).toBe(
      'Unable to negotiate host key algorithm: no matching algorithm. Client offers: ssh-ed25519. Server offers: ssh-rsa,ssh-dss.',
    );
    const e2 = negotiationError(() =>
      negotiate(kexinit({ cipherServerToClient: [CHACHA] }), kexinit({ cipherServerToClient: ['aes128-ctr'] }), isAead),
    );
    expect(e2.message).toMatch(/cipher \(server to client\).*Client offers: chacha20-poly1305@openssh.com\. Server offers: aes128-ctr\./);
    const e3 = negotiationError(() =>
      negotiate(kexinit({ compressionClientToServer: ['none'] }), kexinit({ compressionClientToServer: [] }), isAead),
    );
    expect(e3.message).toMatch(/compression \(client to server\).*Server offers: \(none\)/);
  });

  it('ext-info and kex-strict markers are never chosen as the key exchange', () => {
    const c = kexinit({ kex: ['ext-info-c', 'kex-strict-c-v00@openssh.com', 'curve25519-sha256'] });
    const s = kexinit({ kex: ['ext-info-c', 'kex-strict-c-v00@openssh.com', 'kex-strict-s-v00@openssh.com', 'curve25519-sha256'] });
    expect(negotiate(c, s, isAead).kex).toBe('curve25519-sha256');
    const e = negotiationError(() =>
      negotiate(kexinit({ kex: ['ext-info-c', 'curve25519-sha256'] }), kexinit({ kex: ['ext-info-c', 'diffie-hellman-group14-sha256'] }), isAead),
    );
    expect(e.category).toBe('key exchange method');
    expect(e.client).not.toContain('ext-info-c');
    expect(isPseudoKex('ext-info-s')).toBe(true);
    expect(isPseudoKex('kex-strict-s-v00@openssh.com')).toBe(true);
    expect(isPseudoKex('curve25519-sha256')).toBe(false);
  });

  it('AEAD ciphers skip MAC negotiation (empty MAC lists are fine)', () => {
    const n = negotiate(kexinit({ macClientToServer: [] }), kexinit({ macClientToServer: ['hmac-sha2-256'] }), isAead);
    expect(n.macClientToServer).toBeUndefined();
    expect(n.macServerToClient).toBeUndefined();
  });

  it('a non-AEAD cipher requires a MAC in common', () => {
    const c = kexinit({ cipherClientToServer: ['aes128-ctr'], macClientToServer: ['hmac-sha2-256'] });
    const s = kexinit({ cipherClientToServer: ['aes128-ctr'], macClientToServer: ['hmac-sha2-256', 'hmac-sha1'] });
    expect(negotiate(c, s, isAead).macClientToServer).toBe('hmac-sha2-256');
    const e = negotiationError(() => negotiate(c, kexinit({ cipherClientToServer: ['aes128-ctr'], macClientToServer: ['hmac-sha1'] }), isAead));
    expect(e.category).toBe('MAC (client to server)');
  });
});

describe('guessWasWrong (RFC 4253 §7.1)', () => {
  const c = kexinit({ kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'], hostKey: ['ssh-ed25519', 'rsa-sha2-512'] });
  it('false when the server did not guess', () => {
    expect(guessWasWrong(c, kexinit({ kex: ['x'] }, false))).toBe(false);
  });
  it('false when both first kex and first host key agree', () => {
    expect(guessWasWrong(c, kexinit({ kex: ['curve25519-sha256'], hostKey: ['ssh-ed25519'] }, true))).toBe(false);
  });
  it('true when the first kex differs', () => {
    expect(guessWasWrong(c, kexinit({ kex: ['curve25519-sha256@libssh.org', 'curve25519-sha256'], hostKey: ['ssh-ed25519'] }, true))).toBe(true);
  });
  it('true when the first host key algorithm differs', () => {
    expect(guessWasWrong(c, kexinit({ kex: ['curve25519-sha256'], hostKey: ['rsa-sha2-512', 'ssh-ed25519'] }, true))).toBe(true);
  });
});
