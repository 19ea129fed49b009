/**
 * FIDO key files for tests (no token here): an unencrypted OpenSSH private key file of a FIDO
 * type and its .pub line, written by hand.
 */
import { generateKeyPairSync } from 'node:crypto';

/** SSH wire string (RFC 4251 §5). */
function str(b: Uint8Array | string): Buffer {
  const bytes = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/**
 * An unencrypted OpenSSH private key file (PROTOCOL.key) of a FIDO type (PROTOCOL.u2f), written
 * by hand as no token is at hand, and its .pub line. sk-ssh-ed25519: string type, string key,
 * string application; sk-ecdsa-sha2-nistp256: string type, string curve, string Q (a real point:
 * ssh checks it), string application. The private part adds uint8 flags, string key handle,
 * string reserved.
 */
export function fidoKeyFiles(type: 'sk-ssh-ed25519@openssh.com' | 'sk-ecdsa-sha2-nistp256@openssh.com'): { key: string; pub: string } {
  let keyFields: Buffer;
  if (type === 'sk-ssh-ed25519@openssh.com') {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    keyFields = str(Buffer.from(jwk.x!, 'base64url'));
  } else {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
    keyFields = Buffer.concat([str('nistp256'), str(Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]))]);
  }
  const pub = Buffer.concat([str(type), keyFields, str('ssh:')]);
  const check = Buffer.from([1, 2, 3, 4, 1, 2, 3, 4]);
  let priv = Buffer.concat([check, str(type), keyFields, str('ssh:'), Buffer.from([1]), str(Buffer.alloc(64, 9)), str(''), str('fido')]);
  for (let i = 1; priv.length % 8 !== 0; i++) priv = Buffer.concat([priv, Buffer.from([i])]);
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  const blob = Buffer.concat([Buffer.from('openssh-key-v1\0'), str('none'), str('none'), str(''), one, str(pub), str(priv)]);
  const b64 = blob.toString('base64').replace(/.{70}/g, '$&\n');
  return { key: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`, pub: `${type} ${pub.toString('base64')} fido\n` };
}
