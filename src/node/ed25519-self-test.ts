/**
 * The start-up check's vector for the node:crypto provider's Ed25519 (crypto-provider.ts
 * ed25519Works). Internal: not part of the `pure-ssh/node-crypto` entry point.
 */

/**
 * RFC 8032 §7.1 TEST 2's signature with S replaced by S + L (L = 2^252 +
 * 27742317777372353535851937790883648493, RFC 8032 §5.1): a non-canonical S, which RFC 8032
 * §5.1.7 and OpenSSH refuse. Computed once from the vector (test/provider.test.ts checks it).
 */
export const ED25519_TEST2_MAULED_SIGNATURE =
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
  'f52db7415978abc61b2c2eb6aeebfca0387b2eaeb4302aeeb00d291612bb0c10';
