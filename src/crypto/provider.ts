/**
 * The crypto provider: the symmetric primitives the packet path and the key exchange need, behind
 * one synchronous interface injected into the core like the random source (STYLE.md "Crypto";
 * the review's move 2). Two implementations exist:
 * - {@link pureCryptoProvider} (./pure.ts): pure TypeScript (@noble/* and our own ChaCha20 and
 *   Poly1305), on every runtime;
 * - the runtime provider (src/node/crypto-provider.ts): `node:crypto` (OpenSSL) on Node, Bun and
 *   Deno, chosen automatically by the Node adapter.
 * Both run chacha20-poly1305@openssh.com through WebAssembly where it compiles
 * ({@link ChaChaPolyEngine}, ./chacha20-poly1305-wasm.ts), else through the TypeScript ChaCha20
 * and Poly1305; `withWasm` there makes a provider that never or always uses it.
 *
 * Everything here is synchronous on purpose: the sans-IO core never awaits, so WebCrypto (async
 * only) cannot sit on the per-packet path.
 *
 * All operations work in place on caller-owned buffers, `[start, end)` byte ranges.
 */

/** Hash functions the transport uses (RFC 4253 §7.2 KDF and exchange hash; HMAC, RFC 2104). */
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Output lengths in bytes. */
export const HASH_LENGTH: Readonly<Record<HashName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/**
 * The original ChaCha20 (64-bit nonce, 64-bit block counter) keyed with 32 bytes, as
 * chacha20-poly1305@openssh.com uses it (PROTOCOL.chacha20poly1305).
 */
export interface ChaCha20Stream {
  /** XOR the keystream for `nonce` (8 bytes) from block `counter` into `buf[start, end)`. */
  xor(nonce: Uint8Array, counter: number, buf: Uint8Array, start: number, end: number): void;
  /**
   * Optional: as {@link xor}, but `buf` is left untouched and the result is a new buffer of
   * `end - start` bytes that the caller owns. For primitives that write new memory anyway
   * (node:crypto), where an in-place {@link xor} costs an extra copy back.
   */
  xorCopy?(nonce: Uint8Array, counter: number, buf: Uint8Array, start: number, end: number): Uint8Array;
  /**
   * Set when this stream runs in the runtime's native code (OpenSSL) and beats a
   * {@link ChaChaPolyEngine}'s own ChaCha20 on ranges of at least this many bytes: the
   * chacha20-poly1305 cipher then encrypts such payloads here and leaves only Poly1305 to the engine.
   */
  readonly nativeFrom?: number;
  /** Wipe the key. */
  dispose(): void;
}

/**
 * An AES mode whose state runs on across calls, as SSH uses CTR (RFC 4344 §4: the counter
 * continues from packet to packet) and CBC (RFC 4253 §6.3: the chaining continues).
 * Every call processes a whole number of 16-byte blocks.
 */
export interface BlockStream {
  /** Encrypt or decrypt (fixed at creation) `buf[start, end)` in place; `end - start` is a multiple of 16. */
  update(buf: Uint8Array, start: number, end: number): void;
  dispose(): void;
}

/** AES-GCM (NIST SP 800-38D) with a 16-byte tag, for aes*-gcm@openssh.com (RFC 5647). */
export interface AesGcm {
  /**
   * Encrypt `buf[start, end)` in place with the 12-byte `iv`, authenticating `buf[aadStart, start)`
   * as AAD, and write the 16-byte tag at `buf[end, end + 16)`.
   */
  seal(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): void;
  /**
   * Verify the tag at `buf[end, end + 16)` over AAD `buf[aadStart, start)` and ciphertext
   * `buf[start, end)`; only if it verifies, decrypt in place and return true. Returns false (the
   * buffer untouched) when the tag does not match.
   */
  open(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): boolean;
  /**
   * Optional: as {@link open}, but `buf` is left untouched and the plaintext of `buf[start, end)`
   * is returned in a new buffer the caller owns; null when the tag does not match. For
   * primitives that write new memory anyway (node:crypto), saving the copy back.
   */
  openCopy?(iv: Uint8Array, buf: Uint8Array, aadStart: number, start: number, end: number): Uint8Array | null;
  dispose(): void;
}

/** A keyed HMAC (RFC 2104). */
export interface Hmac {
  /** Bytes of output. */
  readonly length: number;
  /**
   * HMAC over `a || b[start, end)` into `out[outOff, outOff + length)`. SSH MACs take the 4-byte
   * sequence number as `a` (RFC 4253 §6.4).
   */
  compute(a: Uint8Array, b: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void;
  dispose(): void;
}

/**
 * X25519 (RFC 7748 §5) over raw 32-byte little-endian strings. The private key is any 32 bytes
 * (the function clamps it, §5).
 */
export interface X25519 {
  /** X25519(privateKey, 9): the public key (RFC 7748 §6.1). */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /**
   * X25519(privateKey, peerPublic), 32 bytes. Throws when the runtime refuses `peerPublic` (a
   * low-order point: the result would be all zero, which RFC 7748 §6.1 says to reject); callers
   * check for zero as well.
   */
  sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array;
}

/** Ed25519 (RFC 8032 §5.1) over raw keys: 32-byte seed, 32-byte public key, 64-byte signature. */
export interface Ed25519 {
  /** The public key ENC(A) of a 32-byte seed (RFC 8032 §5.1.5). */
  publicKey(seed: Uint8Array): Uint8Array;
  /** The deterministic signature of `message` (RFC 8032 §5.1.6). */
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /**
   * RFC 8032 §5.1.7 verification, rejecting a non-canonical S, and a public key of small order
   * (under which anyone can make a signature that verifies) as @noble/curves' strict verification
   * does. False for a bad signature; may throw on a public key the runtime cannot decode.
   */
  verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean;
}

/** The NIST curves by their RFC 5656 §6.1 identifiers. */
export type EcdsaCurveName = 'nistp256' | 'nistp384' | 'nistp521';

/**
 * ECDSA on one NIST curve (RFC 5656) with raw keys: the private scalar d big-endian at the
 * curve's size (32, 48, 66 bytes).
 */
export interface EcdsaCurveOps {
  /** Q = d·G as an uncompressed SEC1 point (0x04 || X || Y, SEC1 §2.3.3); throws unless d is in [1, n−1] (SEC1 §3.2.1). */
  publicKey(d: Uint8Array): Uint8Array;
  /**
   * The signature of `data` hashed with the curve's SHA-2 (RFC 5656 §6.2.1: SHA-256, -384,
   * -512) as r || s, each at the curve's size, big-endian.
   */
  sign(d: Uint8Array, data: Uint8Array): Uint8Array;
}

/** ECDSA verification on one NIST curve (RFC 5656 §3.1.2, §6.2.1) with raw keys. */
export interface EcdsaVerifier {
  /**
   * Whether `rs` (r || s, each at the curve's size, big-endian) is a signature of `data` hashed
   * with the curve's SHA-2 under the uncompressed point `q`, with @noble/curves' verify semantics
   * (`{ prehash: true, lowS: false }`) and OpenSSH's (ssh-ecdsa.c through libcrypto's
   * ECDSA_do_verify): a high S is accepted, r or s outside [1, n−1] refused (SEC1 §4.1.4 step 1),
   * and a `q` not on the curve or either input of the wrong length gives false, never a throw.
   */
  verify(q: Uint8Array, data: Uint8Array, rs: Uint8Array): boolean;
}

/**
 * Ephemeral ECDH on one NIST curve (RFC 5656 §4, SEC1 §3.3.1) with raw keys, for the
 * ecdh-sha2-nistp* key exchanges.
 */
export interface EcdhCurveOps {
  /**
   * The key pair whose private scalar is d = (c mod (n − 1)) + 1, c being `seed` read big-endian
   * (FIPS 186-5 A.2.1, key pair generation using extra random bits; @noble/curves'
   * randomSecretKey): the same d from the same random bytes on every provider. `seed` must be at
   * least the curve's size plus 8 bytes (the ecdh-sha2 methods pass 1.5 times the size, as noble).
   */
  keyPair(seed: Uint8Array): EcdhKeyPair;
}

/** One ephemeral ECDH key pair ({@link EcdhCurveOps.keyPair}). */
export interface EcdhKeyPair {
  /** Q = d·G as an uncompressed SEC1 point (0x04 || X || Y, SEC1 §2.3.3). */
  readonly publicKey: Uint8Array;
  /**
   * The x-coordinate of d·`peer` at the curve's size (SEC1 §3.3.1), a new buffer the caller owns.
   * Throws unless `peer` is an uncompressed point of the curve's size that passes SEC1 §3.2.2's
   * check (coordinates in [0, p−1], on the curve; these curves have cofactor 1).
   */
  sharedX(peer: Uint8Array): Uint8Array;
  /** Drop the private key (the runtime's copy goes with its object). */
  dispose(): void;
}

/**
 * chacha20-poly1305@openssh.com's per-packet work for one direction, one call per packet
 * (PROTOCOL.chacha20poly1305; the key is 64 bytes, K_2 || K_1). Implemented in WebAssembly
 * (./chacha20-poly1305-wasm.ts); the cipher (src/cipher/chacha20-poly1305.ts) uses it when the
 * provider offers one.
 */
export interface ChaChaPolyEngine {
  /** K_1's keystream block 0 for `seq`, bytes 0–3 as a little-endian word (XORed over the length). */
  lengthKeystream(seq: number): number;
  /** Encrypt `buf[off, off + 4 + packetLength)` in place and write the 16-byte tag after it. */
  seal(seq: number, buf: Uint8Array, off: number, packetLength: number): void;
  /**
   * Verify the tag after `buf[off, off + 4 + packetLength)`, then decrypt `buf[off + 4, …)` into
   * the engine's own memory: {@link plaintext} until the next call. False (nothing decrypted)
   * when the tag does not match. `buf` is never changed.
   */
  open(seq: number, buf: Uint8Array, off: number, packetLength: number): boolean;
  /**
   * Memory to build a packet of `packetLength` in (plaintext, length field included) at
   * {@link stageAt}, with room for its tag, for {@link sealStaged} next with no other call
   * between (saves {@link seal}'s copy in). Valid for that packet only.
   */
  stage(packetLength: number): Uint8Array;
  /** Where {@link stage}'s memory holds the packet. */
  readonly stageAt: number;
  /** Seal the packet {@link stage}d and copy it with its tag to `out[outOff, outOff + 4 + packetLength + 16)`. */
  sealStaged(seq: number, packetLength: number, out: Uint8Array, outOff: number): void;
  /** The last {@link open}'s plaintext (`padding_length || payload || padding`), valid until the next call. */
  plaintext(packetLength: number): Uint8Array;
  /** The tag of `buf[off, off + n)` (encrypted length and payload) into `buf[off + n, + 16)`. */
  mac(seq: number, buf: Uint8Array, off: number, n: number): void;
  /** Whether the tag after `buf[off, off + n)` is right, constant time (for a caller that decrypts elsewhere). */
  verify(seq: number, buf: Uint8Array, off: number, n: number): boolean;
  /** Wipe the key and the packet bytes the engine holds; the engine refuses to run afterwards. */
  dispose(): void;
}

/**
 * An RSA private key's fields (RFC 8017 §3.2, the second representation with the first's n, e, d):
 * unsigned big-endian integers. `qi` is q^−1 mod p (OpenSSH's iqmp).
 */
export interface RsaPrivateKeyBytes {
  readonly n: Uint8Array;
  readonly e: Uint8Array;
  readonly d: Uint8Array;
  readonly p: Uint8Array;
  readonly q: Uint8Array;
  readonly dp: Uint8Array;
  readonly dq: Uint8Array;
  readonly qi: Uint8Array;
}

/** The primitives, synchronous, over Uint8Array. */
export interface CryptoProvider {
  /** `pure` or `node` (shown by `-v`). */
  readonly name: string;
  /** A one-shot hash of the concatenation of `parts`. */
  hash(name: HashName, ...parts: Uint8Array[]): Uint8Array;
  hmac(name: HashName, key: Uint8Array): Hmac;
  chacha20(key: Uint8Array): ChaCha20Stream;
  /** AES-CTR with a 16-, 24- or 32-byte key and the 16-byte initial counter block (big-endian). */
  aesCtr(key: Uint8Array, iv: Uint8Array): BlockStream;
  /** AES-CBC without padding; `encrypt` chooses the direction. */
  aesCbc(key: Uint8Array, iv: Uint8Array, encrypt: boolean): BlockStream;
  aesGcm(key: Uint8Array): AesGcm;
  /**
   * X25519 from the runtime, when it has one. Absent: callers compute it with @noble/curves.
   * Present in the Node adapter's provider: OpenSSL's is far cheaper on a cold process than
   * noble's first call, which builds its Ed25519 base-point tables (bench/README.md "Start-up").
   */
  readonly x25519?: X25519;
  /** Ed25519 from the runtime, when it has one (as {@link x25519}). */
  readonly ed25519?: Ed25519;
  /**
   * ECDSA signing keys on `curve` from the runtime, when it has them (as {@link x25519});
   * undefined: callers use @noble/curves, which spends ~100 ms of CPU on its first NIST-curve
   * multiplication in a fresh process.
   */
  ecdsa?(curve: EcdsaCurveName): EcdsaCurveOps | undefined;
  /**
   * ECDSA verification on `curve` from the runtime, when it has it (as {@link ecdsa}; checked
   * apart from signing, which a host key or CA signature check does not need); undefined:
   * callers verify with @noble/curves.
   */
  ecdsaVerifier?(curve: EcdsaCurveName): EcdsaVerifier | undefined;
  /**
   * ECDH on `curve` from the runtime, when it has it (as {@link ecdsa}); undefined: the
   * ecdh-sha2-nistp* key exchanges use @noble/curves.
   */
  ecdh?(curve: EcdsaCurveName): EcdhCurveOps | undefined;
  /**
   * DES-EDE3-CBC decryption without padding removal (24-byte key, 8-byte IV, whole blocks), from
   * the runtime, when it has one: only to decrypt OpenSSL-encrypted key files
   * (../keys/extra-key-decryption.ts). Absent, or undefined returned: the TypeScript ./des.ts.
   */
  desEde3CbcDecrypt?(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined;
  /**
   * RSASSA-PKCS1-v1_5 signing (RFC 8017 §8.2.1) from the runtime, when it has it: the signature
   * of `data` hashed with `hash`, as many bytes as the modulus. Absent, or undefined returned:
   * the TypeScript CRT path of ../keys/rsa.ts (~15 ms for a 3072-bit key, ~30 ms for 4096, in a
   * fresh process, against ~3 and ~6 here). The caller checks the signature (s^e mod n) before
   * it is used.
   */
  rsaSign?(key: RsaPrivateKeyBytes, hash: HashName, data: Uint8Array): Uint8Array | undefined;
  /**
   * Diffie-Hellman in one of the fixed groups (RFC 3526 groups 14, 16 and 18: prime `p`,
   * generator 2) from the runtime, when it has it: e = 2^x mod p (`y` absent) or
   * K = y^x mod p, unsigned big-endian bytes; undefined for any other prime or when the runtime
   * refuses, and the caller then computes it in BigInt arithmetic (../crypto/bigint.ts modPow:
   * ~12 ms for group 14's two, ~120 ms for group 18's, against ~1 and ~50 here). Not for group
   * exchange: OpenSSL tests a prime it does not know for primality, seconds for 4096 bits and
   * ~45 s for 8192. x is the secret exponent: OpenSSL exponentiates it in constant time, which
   * BigInt arithmetic does not. The caller has checked y (RFC 4253 §8: 1 < y < p − 1).
   */
  fixedGroupDh?(p: Uint8Array, x: Uint8Array, y?: Uint8Array): Uint8Array | undefined;
  /**
   * chacha20-poly1305@openssh.com's engine for a 64-byte key, when this provider has one that
   * works on this runtime; undefined: the cipher composes {@link chacha20} with the TypeScript
   * Poly1305.
   */
  chachaPoly?(key: Uint8Array): ChaChaPolyEngine | undefined;
  /**
   * What computes chacha20-poly1305@openssh.com, for `-v` (e.g. `WebAssembly SIMD`, or
   * `TypeScript (WebAssembly: <why not>)`); reading it may compile the WebAssembly module, so the
   * handshake logs it only once chacha20-poly1305 is negotiated. Absent: the TypeScript ChaCha20
   * and Poly1305.
   */
  readonly chachaPolyImpl?: string;
}
