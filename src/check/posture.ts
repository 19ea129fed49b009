/**
 * Algorithm posture from the server's KEXINIT (ssh-audit's kind of report): post-quantum key
 * exchange, legacy and weak algorithms, strict kex, and Terrapin exposure as the Terrapin paper
 * defines it (Bäumer, Brinkmann, Schwenk, "Terrapin Attack: Breaking SSH Channel Integrity By
 * Sequence Number Manipulation", USENIX Security 2024; CVE-2023-48795). Pure functions.
 */
import type { KexInit } from '../transport/kexinit.js';
import { KEX_STRICT_SERVER } from '../transport/handshake.js';
import type { Finding } from './report.js';

/** Post-quantum hybrids (OpenSSH 9.0 sntrup761x25519, OpenSSH 9.9 mlkem768x25519). */
export const POST_QUANTUM_KEX = ['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'];

/** RFC 9142 §4: SHA-1 methods and groups below 2048 bits are SHOULD NOT / MUST NOT. */
const WEAK_KEX: Record<string, string> = {
  'diffie-hellman-group1-sha1': 'SHA-1, 1024-bit group',
  'diffie-hellman-group14-sha1': 'SHA-1',
  'diffie-hellman-group-exchange-sha1': 'SHA-1',
  'gss-group1-sha1-toWM5Slw5Ew8Mqkay+al2g==': 'SHA-1, 1024-bit group',
  'rsa1024-sha1': 'SHA-1, 1024-bit RSA',
};

/** Ciphers with known weaknesses: CBC modes (RFC 4344 §1), RC4 (RFC 8758), 64-bit blocks. */
function weakCipher(name: string): string | undefined {
  if (name.endsWith('-cbc') || name === 'rijndael-cbc@lysator.liu.se') return 'CBC mode';
  if (name.startsWith('arcfour')) return 'RC4';
  if (name === '3des-cbc' || name.startsWith('blowfish') || name.startsWith('cast128')) return '64-bit block';
  if (name === 'none') return 'no encryption';
  return undefined;
}

/** MACs built on SHA-1 or MD5, or truncated to 96 bits (RFC 6668 §3 prefers SHA-2). */
function weakMac(name: string): string | undefined {
  if (/md5/.test(name)) return 'MD5';
  if (/-96/.test(name)) return 'truncated';
  if (/sha1/.test(name)) return 'SHA-1';
  if (name === 'none') return 'no integrity';
  return undefined;
}

/** Host key algorithms with SHA-1 signatures or DSA (RFC 8332 §3; ssh-dss: FIPS 186-4 1024-bit). */
function weakHostKey(name: string): string | undefined {
  if (name === 'ssh-rsa' || name === 'ssh-rsa-cert-v01@openssh.com') return 'RSA with SHA-1 signatures';
  if (name.startsWith('ssh-dss')) return 'DSA';
  return undefined;
}

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])];

/**
 * Terrapin exposure (CVE-2023-48795): without strict kex, chacha20-poly1305@openssh.com, or any
 * CBC cipher together with an encrypt-then-MAC (-etm@openssh.com) MAC, lets an attacker drop
 * packets at the start of the secure channel. Returns the offending combination, or undefined.
 */
export function terrapinExposure(server: KexInit): string | undefined {
  if (server.kex.includes(KEX_STRICT_SERVER)) return undefined;
  const ciphers = union(server.cipherClientToServer, server.cipherServerToClient);
  const macs = union(server.macClientToServer, server.macServerToClient);
  if (ciphers.includes('chacha20-poly1305@openssh.com')) return 'chacha20-poly1305@openssh.com';
  const cbc = ciphers.filter((c) => c.endsWith('-cbc'));
  const etm = macs.filter((m) => m.endsWith('-etm@openssh.com'));
  if (cbc.length > 0 && etm.length > 0) return `${cbc[0]} with ${etm[0]}`;
  return undefined;
}

/** The posture findings of one server KEXINIT. */
export function postureFindings(server: KexInit): Finding[] {
  const out: Finding[] = [];
  const pq = server.kex.filter((k) => POST_QUANTUM_KEX.includes(k));
  out.push({
    id: 'posture.post-quantum-kex',
    group: 'posture',
    title: 'post-quantum key exchange offered',
    verdict: pq.length > 0 ? 'pass' : 'fail',
    requirement: 'should',
    spec: 'draft-ietf-sshm-mlkem-hybrid-kex; draft-josefsson-ntruprime-ssh',
    detail: pq.length > 0 ? pq.join(', ') : 'none: recorded sessions can be decrypted by a future quantum computer',
  });
  const list = (id: string, title: string, spec: string, names: string[], why: (n: string) => string | undefined) => {
    const bad = names.map((n) => [n, why(n)] as const).filter(([, w]) => w !== undefined);
    out.push({
      id,
      group: 'posture',
      title,
      verdict: bad.length > 0 ? 'fail' : 'pass',
      requirement: 'should',
      spec,
      detail: bad.length > 0 ? bad.map(([n, w]) => `${n} (${w})`).join(', ') : 'none offered',
    });
  };
  list('posture.weak-kex', 'weak key exchange methods', 'RFC 9142 §4', server.kex, (n) => WEAK_KEX[n]);
  list('posture.weak-ciphers', 'weak ciphers', 'RFC 4344 §1; RFC 8758', union(server.cipherClientToServer, server.cipherServerToClient), weakCipher);
  list('posture.weak-macs', 'weak MACs', 'RFC 6668 §3; RFC 4253 §6.4', union(server.macClientToServer, server.macServerToClient), weakMac);
  list('posture.weak-host-keys', 'weak host key algorithms', 'RFC 8332 §3; RFC 4253 §6.6', server.hostKey, weakHostKey);
  const strict = server.kex.includes(KEX_STRICT_SERVER);
  out.push({
    id: 'posture.strict-kex',
    group: 'posture',
    title: 'strict key exchange offered',
    verdict: strict ? 'pass' : 'fail',
    requirement: 'should',
    spec: 'OpenSSH PROTOCOL, strict key exchange extension',
    detail: strict ? KEX_STRICT_SERVER : `${KEX_STRICT_SERVER} missing from the server's KEXINIT`,
  });
  const terrapin = terrapinExposure(server);
  out.push({
    id: 'posture.terrapin',
    group: 'posture',
    title: 'Terrapin (CVE-2023-48795) exposure',
    verdict: terrapin ? 'fail' : 'pass',
    requirement: 'should',
    spec: 'CVE-2023-48795; Bäumer et al., USENIX Security 2024',
    detail: terrapin
      ? `exposed: no strict kex, and ${terrapin} offered`
      : strict
        ? 'not exposed: strict kex offered'
        : 'not exposed: neither chacha20-poly1305 nor CBC with an -etm MAC offered',
  });
  return out;
}
