/**
 * Test helpers for editing unencrypted OpenSSH private key files (PROTOCOL.key) in place.
 */

/** The bytes of an OpenSSH private key file (the base64 between its armour lines). */
export function openSshKeyBytes(text: string): Buffer {
  return Buffer.from(text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** `raw` armoured as an OpenSSH private key file. */
export function openSshKeyText(raw: Buffer): string {
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${raw.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/**
 * Where the 32-byte seed of an unencrypted ssh-ed25519 key starts in `raw`. PROTOCOL.key: magic,
 * string cipher, string kdf, string kdfoptions, uint32 N, string public key, uint32 section
 * length; then checkint×2, string type, string pk, string sk (seed k || ENC(A)).
 */
export function ed25519SeedOffset(raw: Buffer): number {
  let at = 'openssh-key-v1\0'.length;
  const skip = () => (at += 4 + raw.readUInt32BE(at));
  skip();
  skip();
  skip();
  at += 4;
  skip();
  at += 4 + 8;
  skip();
  skip();
  return at + 4;
}
