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

/** CBC mode (RFC 4253 §6.3 `*-cbc`, and rijndael-cbc@lysator.liu.se, OpenSSH's old alias of aes256-cbc). */
const isCbc = (name: string) => name.endsWith('-cbc') || name === 'rijndael-cbc@lysator.liu.se';

/**
 * Ciphers with known weaknesses, every one named: 64-bit blocks (3DES, Blowfish, CAST-128: a
 * birthday collision after about 2^32 blocks, Sweet32, CVE-2016-2183; RFC 4344 §3.2 rekeys such
 * ciphers every 2^(L/4) blocks), CBC modes (RFC 4344 §1), RC4 (RFC 8758).
 */
function weakCipher(name: string): string | undefined {
  const why: string[] = [];
  if (name.startsWith('3des') || name.startsWith('blowfish') || name.startsWith('cast128')) why.push('64-bit block');
  if (isCbc(name)) why.push('CBC mode');
  if (name.startsWith('arcfour')) why.push('RC4');
  if (name === 'none') why.push('no encryption');
  return why.length > 0 ? why.join(', ') : undefined;
}

/**
 * MACs built on SHA-1 or MD5, truncated to 96 bits (RFC 6668 §3 prefers SHA-2), or with a
 * 64-bit tag (umac-64@openssh.com, umac-64-etm@openssh.com: UMAC-64 of RFC 4418, a forgery
 * chance of about 2^-60 per try against 2^-120 for UMAC-128).
 */
function weakMac(name: string): string | undefined {
  if (/md5/.test(name)) return 'MD5';
  if (/-96/.test(name)) return 'truncated';
  if (/sha1/.test(name)) return 'SHA-1';
  if (name.startsWith('umac-64')) return '64-bit tag';
  if (name === 'none') return 'no integrity';
  return undefined;
}

/**
 * The smallest RSA host key the posture accepts: 2048 bits, 112-bit security (NIST SP 800-131A
 * Rev. 2 §3, Table 2: signature generation below 112 bits disallowed; SP 800-57 Part 1 Rev. 5
 * §5.6.1.1 Table 2: RSA 2048 = 112 bits). ssh(1) itself refuses only below 1024 (ssh_config(5)
 * RequiredRSASize, default SSH_RSA_MINIMUM_MODULUS_SIZE 1024 in OpenSSH 9.1+); ssh-keygen makes
 * 3072-bit keys.
 */
export const RSA_HOST_KEY_MIN_BITS = 2048;

/** The posture finding on an RSA host key of `bits` (RFC 4253 §6.6 `ssh-rsa` modulus). */
export function rsaHostKeyFinding(bits: number): Finding {
  const ok = bits >= RSA_HOST_KEY_MIN_BITS;
  return {
    id: 'posture.rsa-host-key-size',
    group: 'posture',
    title: 'RSA host key size',
    verdict: ok ? 'pass' : 'fail',
    requirement: 'should',
    spec: 'NIST SP 800-131A Rev. 2 §3; SP 800-57 Part 1 Rev. 5 Table 2',
    detail: ok ? `${bits} bits` : `${bits} bits: below ${RSA_HOST_KEY_MIN_BITS} (112-bit security)${bits < 1024 ? '; ssh 9.1+ refuses it (RequiredRSASize 1024)' : ''}`,
  };
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
  const cbc = ciphers.filter(isCbc);
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
  list('posture.weak-ciphers', 'weak ciphers', 'RFC 4344 §1, §3.2; RFC 8758; CVE-2016-2183', union(server.cipherClientToServer, server.cipherServerToClient), weakCipher);
  list('posture.weak-macs', 'weak MACs', 'RFC 6668 §3; RFC 4253 §6.4; RFC 4418', union(server.macClientToServer, server.macServerToClient), weakMac);
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
