/** An agreed set of algorithms (transport/kexinit.ts Negotiated) for tests that drive one layer alone. */
import type { Negotiated } from '../../src/transport/kexinit.js';

/**
 * The same cipher and MAC (undefined: an AEAD cipher's own) both ways, no compression, an
 * ssh-ed25519 host key; `kex` curve25519-sha256 unless given.
 */
export function negotiatedFor({ cipher = 'aes128-gcm@openssh.com', mac, kex = 'curve25519-sha256' }: { cipher?: string; mac?: string; kex?: string } = {}): Negotiated {
  return {
    kex,
    hostKey: 'ssh-ed25519',
    cipherClientToServer: cipher,
    cipherServerToClient: cipher,
    macClientToServer: mac,
    macServerToClient: mac,
    compressionClientToServer: 'none',
    compressionServerToClient: 'none',
  };
}
