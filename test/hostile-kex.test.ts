/**
 * break32: a hostile server against the key exchanges added after 0.1 (group exchange, fixed DH
 * groups, NIST ECDH, the KEM hybrids) and RFC 8308 EXT_INFO. Each case rewrites the fake server's
 * real message on the wire (the exchanges before the first NEWKEYS are in the clear) and states
 * what the spec requires of the client.
 */
import { describe, expect, it } from 'vitest';
import { bigIntToBytes } from '../src/crypto/bigint.js';
import { DisconnectReason, InternalError, ProtocolError, SshError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { mpintBody, SshReader, SshWriter } from '../src/protocol/wire.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import type { CryptoProvider, EcdsaCurveName } from '../src/crypto/provider.js';
import { seededRandom } from './support/fake-server.js';
import { frameClear, rewriteServerPacket, withServerValue } from './support/clear-packets.js';
import { Pair } from './support/pair.js';

const mpintOf = (n: bigint) => mpintBody(bigIntToBytes(n));

function expectKexFailed(p: Pair): ProtocolError {
  const err = p.closedError;
  expect(err).toBeInstanceOf(ProtocolError);
  expect(err).not.toBeInstanceOf(InternalError);
  expect((err as ProtocolError).reason).toBe(DisconnectReason.KEY_EXCHANGE_FAILED);
  return err as ProtocolError;
}

describe('diffie-hellman-group-exchange: a group whose every public value is invalid', () => {
  // p = q² (odd, 2049 bits: inside [2048, 8192]) and g = q (1 < g < p − 1): every g^x with x ≥ 2
  // is 0 mod p. RFC 4253 §8 / OpenSSH dh.c dh_gen_key: the client's own e must satisfy
  // 1 < e < p − 1; OpenSSH fails the exchange once (dh_gen_key → "dh_gen_key: ... invalid"), it
  // never retries. pure-ssh's dhGenerateKey (src/kex/dh.ts) retried `for (;;)` until the value was
  // valid, which here is never: the client spun inside receive() for ever (break32 F1).
  it('p = q², g = q: the client fails the exchange instead of looping for ever', () => {
    const q = (1n << 1024n) + 1n;
    let randomCalls = 0;
    let armed = false;
    const base = seededRandom(1);
    const random = (n: number) => {
      if (armed && ++randomCalls > 200) throw new Error('HANG: dhGenerateKey still drawing random bytes after 200 tries');
      return base(n);
    };
    const p = new Pair({
      client: { random, algorithms: { kex: ['diffie-hellman-group-exchange-sha256'], cipher: ['aes128-gcm@openssh.com'] } },
    });
    rewriteServerPacket(p, 31, () => {
      armed = true;
      return new SshWriter(600).byte(31).string(mpintOf(q * q)).string(mpintOf(q)).toBytes();
    });
    p.start();
    expect(p.client.isAuthenticated).toBe(false);
    // Without the guard in `random` the test itself would never end.
    expect(randomCalls, 'random() calls after the GEX group arrived').toBeLessThan(20);
    expectKexFailed(p);
  });
});

describe('RFC 8308 §2.4: EXT_INFO only after the first NEWKEYS', () => {
  // RFC 8308 §2.4: the server may send EXT_INFO "as the next packet following the server's first
  // SSH_MSG_NEWKEYS" or just before USERAUTH_SUCCESS; OpenSSH 9.2's client only has a handler for
  // it after the first exchange (kex.c kex_reset_dispatch: kex_protocol_error before). Before the
  // server's NEWKEYS it travels in the clear, with no MAC: anyone on the path could have written
  // it. Without strict kex pure-ssh acted on it (transport.ts route took `sessionId`, set when the
  // reply is verified, before NEWKEYS), so an injected server-sig-algs / publickey-hostbound /
  // ping@openssh.com was believed (break32 F2).
  it('a clear EXT_INFO between the kex reply and NEWKEYS (no strict kex) is not acted on', () => {
    const ext = new SshWriter(64).byte(MSG.EXT_INFO).uint32(2).string('server-sig-algs').string('ssh-rsa').string('ping@openssh.com').string('0').toBytes();
    const p = new Pair({ server: { strict: false, beforeNewKeys: [ext] } });
    p.start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.serverSigAlgs, 'server-sig-algs taken from an unauthenticated packet').toBeUndefined();
    expect(p.client.info.pingSupported).toBe(false);
  });

  it('strict kex: the same packet ends the connection (ERR_STRICT_KEX)', () => {
    const ext = new SshWriter(64).byte(MSG.EXT_INFO).uint32(1).string('server-sig-algs').string('ssh-rsa').toBytes();
    const p = new Pair({ server: { beforeNewKeys: [ext] } });
    p.start();
    expect(p.client.isAuthenticated).toBe(false);
    expect((p.closedError as SshError).code).toBe('ERR_STRICT_KEX');
  });
});

describe('EXT_INFO contents (OpenSSH 10.0 kex.c kex_input_ext_info / kex_ext_info_client_parse)', () => {
  const extInfo = (...pairs: [string, string][]) => {
    const w = new SshWriter(64).byte(MSG.EXT_INFO).uint32(pairs.length);
    for (const [n, v] of pairs) w.string(n).string(v);
    return w.toBytes();
  };
  /**
   * A started pair whose server sends `messages` when the first authentication request comes
   * (after its own EXT_INFO following NEWKEYS when `first`), before it answers.
   */
  const duringAuth = (first: boolean, ...messages: Uint8Array[]): Pair => {
    let sent = false;
    const p = new Pair({
      server: {
        extInfo: first,
        authHook: (_req, server) => {
          if (!sent) for (const m of messages) server.send(m);
          sent = true;
          return undefined;
        },
      },
    });
    return p.start();
  };

  // OpenSSH sets KEX_HAS_PING only for the value "0" (kex_ext_info_check_ver); pure-ssh took the
  // extension's presence alone, so it would send ping@openssh.com packets to a server announcing
  // some other version (break32 F5).
  it('ping@openssh.com with a version other than "0" does not enable pings', () => {
    const p = new Pair({ server: { extInfo: true, extInfoExtra: [['ping@openssh.com', '1']] } });
    p.start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.pingSupported).toBe(false);
  });

  // RFC 8308 §2.4 gives the server two opportunities: right after its first NEWKEYS, and just
  // before USERAUTH_SUCCESS. OpenSSH 10 counts them (max 2 for a client: "too many
  // SSH2_MSG_EXT_INFO messages sent by peer") and honours ping / publickey-hostbound only in the
  // first ("some messages are only accepted in the initial EXT_INFO"). pure-ssh took any number,
  // each one's ping / hostbound included (break32 F6).
  it('ping@openssh.com in a second EXT_INFO (before USERAUTH_SUCCESS) is not honoured', () => {
    const p = duringAuth(true, extInfo(['ping@openssh.com', '0']));
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.pingSupported).toBe(false);
  });

  it('a third EXT_INFO is not acted on', () => {
    const p = duringAuth(true, extInfo(['server-sig-algs', 'ssh-ed25519']), extInfo(['server-sig-algs', 'ssh-dss']));
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.serverSigAlgs).toEqual(['ssh-ed25519']);
  });

  // kex_ext_info_client_parse: "nul byte in server-sig-algs" → SSH_ERR_INVALID_FORMAT, fatal.
  it('a NUL byte in server-sig-algs ends the connection', () => {
    const p = duringAuth(false, extInfo(['server-sig-algs', 'ssh-ed25519\0rsa-sha2-512']));
    expect(p.client.isAuthenticated).toBe(false);
    expect(p.closedError).toBeInstanceOf(ProtocolError);
  });
});

describe('strict kex across the two rounds of group exchange', () => {
  /** Insert `extra` (framed in the clear) before the first server packet of `type`. */
  function insertBefore(p: Pair, type: number, extra: Uint8Array): void {
    rewriteServerPacket(p, type, (payload) => payload);
    const inner = p.toClient!;
    let done = false;
    p.toClient = (chunk) => {
      const out = inner(chunk);
      if (done || !out) return out;
      // Find the packet (the rewrite re-framed it, so walk the clear packets again).
      if (out[0] === 0x53 && out[1] === 0x53 && out[2] === 0x48) return out;
      const parts: Uint8Array[] = [];
      let off = 0;
      while (off + 5 <= out.length) {
        const len = new DataView(out.buffer, out.byteOffset + off).getUint32(0);
        if (!done && out[off + 5] === type) {
          parts.push(frameClear(extra));
          done = true;
        }
        parts.push(out.subarray(off, off + 4 + len));
        off += 4 + len;
      }
      parts.push(out.subarray(off));
      return Buffer.concat(parts);
    };
  }
  const GEX = { algorithms: { kex: ['diffie-hellman-group-exchange-sha256'], cipher: ['aes128-gcm@openssh.com'] } };
  const ignore = new SshWriter(16).byte(MSG.IGNORE).string('x').toBytes();

  it('strict: an IGNORE between KEX_DH_GEX_GROUP and KEX_DH_GEX_REPLY is fatal (OpenSSH PROTOCOL §1.9)', () => {
    const p = new Pair({ client: GEX });
    insertBefore(p, 33, ignore);
    p.start();
    expect(p.client.isAuthenticated).toBe(false);
    expect((p.closedError as SshError).code).toBe('ERR_STRICT_KEX');
  });

  it('not strict: the same IGNORE is harmless', () => {
    const p = new Pair({ client: GEX, server: { strict: false } });
    insertBefore(p, 33, ignore);
    p.start();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('strict: a second KEX_DH_GEX_GROUP instead of the reply is fatal', () => {
    const p = new Pair({ client: GEX });
    const group = { bytes: undefined as Uint8Array | undefined };
    rewriteServerPacket(p, 31, (payload) => (group.bytes = payload));
    p.start();
    // The group went through; replay it where the reply is due.
    const again = new Pair({ client: GEX });
    insertBefore(again, 33, group.bytes!);
    again.start();
    expect(again.client.isAuthenticated).toBe(false);
    expect((again.closedError as SshError).code).toBe('ERR_STRICT_KEX');
  });
});

describe('server values the checks must catch before H', () => {

  // SEC1 §2.3.4 / OpenSSL ec_GFp_simple_oct2point: a coordinate ≥ p is an invalid encoding. On
  // P-521 (p = 2^521 − 1, 66-byte coordinates) x + p still fits the encoding.
  // Both providers: noble's point decoding and OpenSSL's (the node provider's ECDH).
  for (const [provider, crypto] of [['pure', undefined], ['node', nodeCryptoProvider]] as const) {
    for (const [what, at] of [['x', 1], ['y', 67]] as const) {
      it(`ecdh-sha2-nistp521, ${provider}: Q_S with ${what} replaced by ${what} + p (non-canonical coordinate)`, () => {
        const P = (1n << 521n) - 1n;
        const p = new Pair({ client: { algorithms: { kex: ['ecdh-sha2-nistp521'], cipher: ['aes128-gcm@openssh.com'] }, ...(crypto ? { crypto } : {}) } });
        rewriteServerPacket(p, 31, withServerValue((v) => {
          const c = BigInt('0x' + Buffer.from(v.subarray(at, at + 66)).toString('hex')) + P;
          const out = v.slice();
          out.set(bigIntToBytes(c, 66), at);
          return out;
        }));
        p.start();
        const err = expectKexFailed(p);
        expect(err.code).not.toBe('ERR_HOST_KEY_SIGNATURE');
        expect(err.message).toMatch(/ecdh-sha2-nistp521: invalid peer public key/);
      });
    }
  }

  // The ephemeral ECDH key pair (the provider's: its private scalar in a Buffer) is disposed,
  // its scalar wiped, when the peer's point is refused, not only after a good one (it was left
  // unwiped: kexgen's receive and the server's agreement skipped dispose() on the throw).
  function countingEcdh(): { crypto: CryptoProvider; counts: { made: number; disposed: number } } {
    const counts = { made: 0, disposed: 0 };
    const base = nodeCryptoProvider;
    const crypto: CryptoProvider = {
      ...base,
      name: base.name,
      ecdh: (curve: EcdsaCurveName) => {
        const ops = base.ecdh!(curve)!;
        return {
          keyPair(seed: Uint8Array) {
            const kp = ops.keyPair(seed);
            counts.made++;
            return { publicKey: kp.publicKey, sharedX: (q: Uint8Array) => kp.sharedX(q), dispose: () => (counts.disposed++, kp.dispose()) };
          },
        };
      },
    };
    return { crypto, counts };
  }
  const offCurve = (v: Uint8Array) => {
    const out = v.slice();
    out[out.length - 1]! ^= 1;
    return out;
  };

  it('ecdh-sha2-nistp256, node: the client key pair is disposed when the server\'s point is off the curve', () => {
    const { crypto, counts } = countingEcdh();
    const p = new Pair({ client: { algorithms: { kex: ['ecdh-sha2-nistp256'], cipher: ['aes128-gcm@openssh.com'] }, crypto } });
    rewriteServerPacket(p, 31, withServerValue(offCurve));
    p.start();
    expect(expectKexFailed(p).message).toMatch(/ecdh-sha2-nistp256: invalid peer public key/);
    expect(counts).toEqual({ made: 1, disposed: 1 });
  });

  it('ecdh-sha2-nistp256, node: the server key pair is disposed when the client\'s point is off the curve', () => {
    const { crypto, counts } = countingEcdh();
    const p = new Pair({ client: { algorithms: { kex: ['ecdh-sha2-nistp256'], cipher: ['aes128-gcm@openssh.com'] } }, server: { crypto } });
    let done = false;
    p.toServer = (chunk) => {
      // KEX_ECDH_INIT (30): string Q_C, the client's first packet of that type, in the clear.
      if (done || (chunk[0] === 0x53 && chunk[1] === 0x53 && chunk[2] === 0x48)) return chunk;
      const len = new DataView(chunk.buffer, chunk.byteOffset).getUint32(0);
      const pad = chunk[4]!;
      const payload = chunk.subarray(5, 4 + len - pad);
      if (payload[0] !== 30) return chunk;
      done = true;
      const q = new SshReader(payload, 1).string();
      return Buffer.concat([frameClear(new SshWriter().byte(30).string(offCurve(q)).toBytes()), chunk.subarray(4 + len)]);
    };
    // The fake server lets the agreement's error through.
    expect(() => p.start()).toThrow(/ecdh-sha2-nistp256: invalid peer public key/);
    expect(done).toBe(true);
    expect(counts).toEqual({ made: 1, disposed: 1 });
  });

  // FIPS 203 §7.3 implicit rejection (and sntrup761's): a changed ciphertext decapsulates to an
  // unrelated secret; the exchange must then fail on the host key signature over H, never crash.
  for (const kex of ['mlkem768x25519-sha256', 'sntrup761x25519-sha512']) {
    it(`${kex}: one ciphertext byte changed fails on the signature over H`, () => {
      const p = new Pair({ client: { algorithms: { kex: [kex], cipher: ['aes128-gcm@openssh.com'] } } });
      rewriteServerPacket(p, 31, withServerValue((v) => {
        v[100]! ^= 1;
        return v;
      }));
      p.start();
      const err = expectKexFailed(p);
      expect(err.code).toBe('ERR_HOST_KEY_SIGNATURE');
    });
  }
});

describe('X25519 low-order points (RFC 7748 §6.1, RFC 8731 §3: abort on an all-zero secret), both providers', () => {
  // The canonical and non-canonical encodings of the points of order 1, 2, 4, 8 (libsodium's blocklist).
  const LOW_ORDER = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  for (const kex of ['curve25519-sha256', 'mlkem768x25519-sha256']) {
    for (const [provider, crypto] of [['pure', undefined], ['node', nodeCryptoProvider]] as const) {
      it(`${kex}, ${provider}`, () => {
        for (const point of LOW_ORDER) {
          const p = new Pair({ client: { algorithms: { kex: [kex], cipher: ['aes128-gcm@openssh.com'] }, ...(crypto ? { crypto } : {}) } });
          rewriteServerPacket(p, 31, withServerValue((v) => {
            v.set(point, v.length - 32);
            return v;
          }));
          p.start();
          const err = expectKexFailed(p);
          expect(err.code, Buffer.from(point).toString('hex')).not.toBe('ERR_HOST_KEY_SIGNATURE');
        }
      });
    }
  }
});
