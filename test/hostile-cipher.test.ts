/**
 * break32: a hostile server against the ciphers and MACs added after 0.1 (AES-GCM, AES-CTR, AES-CBC,
 * HMAC-SHA1/SHA2 in both placements, UMAC), on both providers (pure TypeScript and node:crypto),
 * sealed by one and opened by the other. For every cipher × MAC, one byte of the first packet is
 * flipped (length field, padding length, body, last MAC/tag byte): RFC 4253 §6.4 / RFC 5647 §7.3 /
 * OpenSSH PROTOCOL §1.5 require the receiver to refuse it, so the decoder must never hand out a
 * payload from the tampered stream, and must fail with a typed ProtocolError (never a
 * TypeError/RangeError/InternalError).
 */
import { describe, expect, it } from 'vitest';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import { pureTsCryptoProvider } from '../src/crypto/pure.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { InternalError, ProtocolError } from '../src/errors.js';
import { macAlgorithms } from '../src/mac/registry.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { newDirection, type ExchangeSecrets } from '../src/transport/keys.js';
import type { Negotiated } from '../src/transport/kexinit.js';
import { negotiatedFor } from './support/negotiated.js';
import { PacketDecoder, PacketEncoder } from '../src/transport/packet.js';
import { seededRandom } from './support/fake-server.js';

const secrets: ExchangeSecrets = {
  hash: 'sha256',
  sharedSecret: new Uint8Array([0, 0, 0, 4, 1, 2, 3, 4]),
  exchangeHash: new Uint8Array(32).fill(9),
  sessionId: new Uint8Array(32).fill(9),
};

const PROVIDERS: [string, CryptoProvider, string, CryptoProvider][] = [
  ['pure', pureTsCryptoProvider, 'node', nodeCryptoProvider],
  ['node', nodeCryptoProvider, 'pure', pureTsCryptoProvider],
];

function sealed(n: Negotiated, crypto: CryptoProvider, sizes: number[]): { bytes: Uint8Array; packetLen: number } {
  const enc = new PacketEncoder(seededRandom(3));
  enc.setCipher(newDirection('server-to-client', n, secrets, crypto, true));
  const parts: Uint8Array[] = [];
  let packetLen = -1;
  for (const size of sizes) {
    enc.writePayload(new Uint8Array(size).fill(94));
    const out = Buffer.concat(enc.take() ?? []);
    if (packetLen < 0) packetLen = out.length;
    parts.push(out);
  }
  return { bytes: Buffer.concat(parts), packetLen };
}

function opened(n: Negotiated, crypto: CryptoProvider, bytes: Uint8Array): { payloads: number; error?: unknown } {
  const dec = new PacketDecoder();
  dec.setCipher(newDirection('server-to-client', n, secrets, crypto, false));
  let payloads = 0;
  try {
    dec.push(bytes);
    // 300 KiB of filler lets a CBC decoder in discard mode reach its end (OpenSSH PACKET_MAX_SIZE).
    for (let i = 0; i < 3; i++) {
      while (dec.next() !== null) payloads++;
      dec.push(new Uint8Array(100_000));
    }
    while (dec.next() !== null) payloads++;
  } catch (error) {
    return { payloads, error };
  }
  return { payloads };
}

describe('tampered packets are refused, across providers', () => {
  for (const [cipherName, cipher] of cipherAlgorithms) {
    const macs = cipher.aead ? [undefined] : [...macAlgorithms.keys()];
    for (const mac of macs) {
      for (const [sealName, sealCrypto, openName, openCrypto] of PROVIDERS) {
        it(`${cipherName}${mac ? ' + ' + mac : ''}: sealed by ${sealName}, opened by ${openName}`, () => {
          const n = negotiatedFor({ cipher: cipherName, mac });
          const { bytes, packetLen } = sealed(n, sealCrypto, [40, 700, 40_000]);
          expect(opened(n, openCrypto, bytes).payloads).toBe(3);
          for (const at of [0, 3, 4, 5, packetLen - 17, packetLen - 1]) {
            const bad = bytes.slice();
            bad[at]! ^= 0x40;
            const r = opened(n, openCrypto, bad);
            const label = `${cipherName} ${mac} byte ${at} of ${packetLen}`;
            expect(r.payloads, label).toBe(0);
            if (r.error !== undefined) {
              expect(r.error, label).toBeInstanceOf(ProtocolError);
              expect(r.error, label).not.toBeInstanceOf(InternalError);
            }
          }
        });
      }
    }
  }
});

describe('well-sealed packets with bad padding (RFC 4253 §6: padding ≥ 4, payload ≥ 1)', () => {
  /** A packet sealed by the cipher itself: `packet_length || padding_length || body`, body filled with 0x5e. */
  function handSealed(n: Negotiated, crypto: CryptoProvider, packetLength: number, padding: number): Uint8Array {
    const c = newDirection('server-to-client', n, secrets, crypto, true);
    const buf = new Uint8Array(4 + packetLength + c.macLength);
    new DataView(buf.buffer).setUint32(0, packetLength);
    buf[4] = padding;
    buf.fill(0x5e, 5, 4 + packetLength);
    c.seal(0, buf, 0, packetLength);
    return buf;
  }
  const cases: [string, string | undefined][] = [
    ['aes128-gcm@openssh.com', undefined],
    ['aes256-ctr', 'hmac-sha2-256'],
    ['aes256-ctr', 'hmac-sha2-512-etm@openssh.com'],
    ['aes128-cbc', 'umac-64-etm@openssh.com'],
    ['aes192-ctr', 'umac-128@openssh.com'],
  ];
  for (const [cipherName, mac] of cases) {
    for (const [provider, crypto] of [['pure', pureTsCryptoProvider], ['node', nodeCryptoProvider]] as const) {
      it(`${cipherName}${mac ? ' + ' + mac : ''} (${provider})`, () => {
        const n = negotiatedFor({ cipher: cipherName, mac });
        const etmOrAead = !mac || mac.includes('etm');
        // The framed length must be a multiple of 16: packet_length itself (AEAD/EtM) or 4 + it.
        const len = etmOrAead ? 32 : 28;
        for (const padding of [3, 0, len - 1, len, 255]) {
          const r = opened(n, crypto, handSealed(n, crypto, len, padding));
          expect(r.payloads, `padding ${padding}`).toBe(0);
          expect(r.error, `padding ${padding}`).toBeInstanceOf(ProtocolError);
          expect((r.error as ProtocolError).code, `padding ${padding}`).toBe('ERR_MALFORMED_PACKET');
        }
        // Control: padding 4 opens.
        expect(opened(n, crypto, handSealed(n, crypto, len, 4)).payloads).toBe(1);
      });
    }
  }
});
