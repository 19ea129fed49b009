/**
 * Finite-field Diffie-Hellman (RFC 4253 §8) over the fixed groups: diffie-hellman-group14-sha256,
 * -group16-sha512 and -group18-sha512 (RFC 8268 §3), and the legacy diffie-hellman-group14-sha1
 * and -group1-sha1 (RFC 4253 §8.1, §8.2), in the one-round exchange of ./kexgen.ts. e and f
 * travel as mpint bodies, so kexgen's `string` encoding of them is RFC 4253 §8's `mpint e ||
 * mpint f`; K = f^x mod p as an mpint.
 *
 * The DH primitives here (key generation with OpenSSH's exponent size, the public value check)
 * are shared with group exchange (./dh-gex.ts).
 */
import { bigIntToBytes, bitLength, bytesToBigInt, modPow } from '../crypto/bigint.js';
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { cipherAlgorithms } from '../cipher/registry.js';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { macAlgorithms } from '../mac/registry.js';
import { mpintBody } from '../protocol/wire.js';
import type { Negotiated } from '../transport/kexinit.js';
import { encodeSharedMpint, type KexMethod, type Random } from './kex.js';
import { kexgenMethod, type KeyAgreement } from './kexgen.js';
import { MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18, OAKLEY_GROUP_2, type ModpGroup } from './modp-groups.js';

function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, { reason: DisconnectReason.KEY_EXCHANGE_FAILED, cause });
}

/** What the negotiated algorithms need from the exchange, in bytes (OpenSSH kex.c `we_need`, `dh_need`). */
export interface KeyNeeds {
  /** The largest key, block, IV or MAC key length of either direction: sizes the DH exponent. */
  weNeed: number;
  /** The same with the cipher's security length: sizes the group exchange request. */
  dhNeed: number;
}

/**
 * OpenSSH kex.c kex_choose_conf: the maximum over both directions of the cipher's key length,
 * block size and IV length and the MAC's key length (no MAC with an AEAD cipher). Without the
 * negotiated algorithms, the largest of any registered cipher and MAC.
 */
export function keyNeeds(negotiated?: Negotiated): KeyNeeds {
  let need = 0;
  const add = (cipherName: string, macName: string | undefined) => {
    const c = cipherAlgorithms.get(cipherName);
    if (!c) return;
    need = Math.max(need, c.keyLength, c.blockSize, c.ivLength);
    const m = !c.aead && macName ? macAlgorithms.get(macName) : undefined;
    if (m) need = Math.max(need, m.keyLength);
  };
  if (negotiated) {
    add(negotiated.cipherClientToServer, negotiated.macClientToServer);
    add(negotiated.cipherServerToClient, negotiated.macServerToClient);
  } else {
    for (const c of cipherAlgorithms.keys()) for (const m of [undefined, ...macAlgorithms.keys()]) add(c, m);
  }
  // cipher.c cipher_seclen is the key length for every cipher but 3des-cbc, which we lack.
  return { weNeed: need, dhNeed: need };
}

/**
 * An ephemeral DH key: private exponent x and public value g^x mod p. x is a BigInt, which
 * cannot be wiped: it is dropped as soon as K is computed.
 */
export interface DhKeyPair {
  x: bigint;
  publicValue: bigint;
}

/**
 * RFC 4253 §8 / OpenSSH dh.c dh_pub_is_valid: a peer's public value must satisfy
 * 1 < y < p − 1, and, as OpenSSH also requires, have at least 4 bits set (g = 2 with one bit
 * set would make the discrete log trivial). Returns why not, or undefined when valid.
 */
export function dhPublicValueProblem(y: bigint, p: bigint): string | undefined {
  if (y <= 1n) return '<= 1';
  if (y >= p - 1n) return '>= p-1';
  let bits = 0;
  for (let v = y; v > 0n && bits < 4; v &= v - 1n) bits++;
  if (bits < 4) return 'fewer than 4 bits set';
  return undefined;
}

/**
 * A private exponent and public value for `group`, sized as OpenSSH's dh.c dh_gen_key does:
 * twice the bits the ciphers need (Pollard rho makes an n-bit exponent worth n/2 bits), at
 * least 512, at most |p| − 1; the top bit set (OpenSSL's DH_generate_key with a length).
 * Throws a KEY_EXCHANGE_FAILED ProtocolError when the group is too small for that, or when the
 * public value fails dh_pub_is_valid's checks (RFC 4253 §8: 1 < e < p − 1). `crypto`: for a
 * fixed group only, whose {@link CryptoProvider.fixedGroupDh} computes e.
 */
export function dhGenerateKey(group: { p: bigint; g: bigint }, weNeedBytes: number, random: Random, crypto?: CryptoProvider): DhKeyPair {
  const pbits = bitLength(group.p);
  const need = Math.max(weNeedBytes * 8, 256);
  if (2 * need > pbits) throw kexFailed(`DH group of ${pbits} bits is too small for keys of ${need} bits`);
  const length = Math.min(2 * need, pbits - 1);
  const bytes = random(Math.ceil(length / 8));
  const excess = bytes.length * 8 - length;
  bytes[0]! &= 0xff >>> excess;
  bytes[0]! |= 0x80 >>> excess;
  const x = bytesToBigInt(bytes);
  const publicValue = power(group.p, group.g, x, true, crypto, bytes);
  bytes.fill(0);
  // dh_gen_key checks its own value once and fails the exchange, without another try: with a
  // group of RFC 3526 a bad value is astronomically unlikely, and with one the server chose
  // (group exchange, RFC 4419 §3) it can be every value (p = q², g = q gives 0 for any x), where
  // retrying would spin for ever inside receive().
  const problem = dhPublicValueProblem(publicValue, group.p);
  if (problem !== undefined) throw kexFailed(`invalid public DH value (${problem}) for the group`);
  return { x, publicValue };
}

/**
 * g^x mod p (`forE`: base is g) or y^x mod p: the provider's {@link CryptoProvider.fixedGroupDh}
 * when given one (the fixed groups pass theirs; group exchange none) and it takes the group, else
 * BigInt arithmetic. `xBytes`: x as big-endian bytes when the caller has them (its to wipe);
 * otherwise made here for the provider only, and wiped.
 */
function power(p: bigint, base: bigint, x: bigint, forE: boolean, crypto: CryptoProvider | undefined, xBytes?: Uint8Array): bigint {
  const fixedGroupDh = forE && base !== 2n ? undefined : crypto?.fixedGroupDh;
  if (fixedGroupDh) {
    const bytes = xBytes ?? bigIntToBytes(x);
    try {
      const runtime = fixedGroupDh(bigIntToBytes(p), bytes, forE ? undefined : bigIntToBytes(base));
      if (runtime) return bytesToBigInt(runtime);
    } finally {
      if (bytes !== xBytes) bytes.fill(0);
    }
  }
  return modPow(base, x, p);
}

/**
 * An mpint body from the wire as a non-negative BigInt (RFC 4251 §5): negative values and
 * superfluous leading zero bytes are refused (the exchange hash must hash what OpenSSH hashes).
 */
export function parsePositiveMpint(body: Uint8Array, what: string): bigint {
  if (body.length > 0 && (body[0]! & 0x80) !== 0) throw kexFailed(`${what} is negative`);
  if (body.length > 1 && body[0] === 0 && (body[1]! & 0x80) === 0) throw kexFailed(`${what} is not a minimal mpint`);
  return bytesToBigInt(body);
}

/** The mpint body of a non-negative BigInt. */
export function mpintOf(n: bigint): Uint8Array {
  return mpintBody(bigIntToBytes(n));
}

/**
 * K = y^x mod p as an mpint with its length prefix (RFC 4253 §8), after checking the peer's
 * y ({@link dhPublicValueProblem}); `who` names the peer in the error. `crypto`: for a fixed
 * group only, as for {@link dhGenerateKey}.
 */
export function dhSharedSecret(p: bigint, x: bigint, y: bigint, who: string, crypto?: CryptoProvider): Uint8Array {
  const problem = dhPublicValueProblem(y, p);
  if (problem) throw kexFailed(`invalid public DH value from the ${who}: ${problem}`);
  const k = bigIntToBytes(power(p, y, x, false, crypto));
  const encoded = encodeSharedMpint(k);
  k.fill(0);
  return encoded;
}

function groupAgreement(name: string, group: ModpGroup): KeyAgreement {
  return {
    client(random, crypto, negotiated) {
      let kp: DhKeyPair | undefined = dhGenerateKey(group, keyNeeds(negotiated).weNeed, random, crypto);
      return {
        publicValue: mpintOf(kp.publicValue),
        finish(serverValue) {
          if (!kp) throw kexFailed(`${name}: the key exchange is over`);
          const f = parsePositiveMpint(serverValue, `${name}: the server's f`);
          return dhSharedSecret(group.p, kp.x, f, 'server', crypto);
        },
        dispose: () => (kp = undefined),
      };
    },
    server(clientValue, random, crypto, negotiated) {
      const e = parsePositiveMpint(clientValue, `${name}: the client's e`);
      const kp = dhGenerateKey(group, keyNeeds(negotiated).weNeed, random, crypto);
      return { publicValue: mpintOf(kp.publicValue), sharedSecret: dhSharedSecret(group.p, kp.x, e, 'client', crypto) };
    },
  };
}

function fixedGroup(name: string, hash: HashName, group: ModpGroup, legacy = false): KexMethod {
  return kexgenMethod({ name, hash, legacy, agreement: groupAgreement(name, group) });
}

/** RFC 8268 §3 / RFC 4253 §8.2: the fixed-group rows OpenSSH offers by default, in its order. */
export const dhGroupMethods: readonly KexMethod[] = [
  fixedGroup('diffie-hellman-group16-sha512', 'sha512', MODP_GROUP_16),
  fixedGroup('diffie-hellman-group18-sha512', 'sha512', MODP_GROUP_18),
  fixedGroup('diffie-hellman-group14-sha256', 'sha256', MODP_GROUP_14),
];

/** RFC 4253 §8.1, §8.2 (SHA-1; group 1 is 1024 bits): available with `+` only, as in OpenSSH. */
export const dhGroupLegacyMethods: readonly KexMethod[] = [
  fixedGroup('diffie-hellman-group14-sha1', 'sha1', MODP_GROUP_14, true),
  fixedGroup('diffie-hellman-group1-sha1', 'sha1', OAKLEY_GROUP_2, true),
];
