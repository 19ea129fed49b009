/**
 * OpenSSH certificates (PROTOCOL.certkeys) made by the real ssh-keygen: strict decoding, the CA
 * signature, validity checks with an injected clock, the known_hosts decisions for host
 * certificates, and pairing a user certificate with its private key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyError, UsageError } from '../src/errors.js';
import {
  CERTIFICATE_HOST_KEY_ALGORITHMS,
  DEFAULT_CA_SIGNATURE_ALGORITHMS,
  SSH2_CERT_TYPE_HOST,
  applyCaSignatureSpec,
  SSH2_CERT_TYPE_USER,
  VERIFIED_CERTIFICATES_KEPT,
  certifiedKey,
  checkCertificateAuthority,
  describeHostCertificate,
  isCertifiedKey,
  parseCertificate,
  parseCertificateFile,
  plainSignatureAlgorithm,
  withCertificates,
} from '../src/keys/certificate.js';
import { describeServerHostKey, hostKeyAlgorithms, verifyHostKeySignature } from '../src/keys/hostkey.js';
import { certAuthorityKnown, checkHostCertificate, parseKnownHosts } from '../src/keys/knownhosts.js';
import { parsePrivateKey } from '../src/keys/privatekey.js';
import { fingerprintHashNamed } from '../src/keys/fingerprint-hashes.js';
import { base64Decode } from '../src/protocol/base64.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';
import { ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import { knownHostsFromText, knownHostsTextVerifier } from '../src/web/host-key.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { loadCertificateFile } from '../src/node/identity-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(...args: string[]): void {
  execFileSync('/usr/bin/ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
}
function newKey(name: string, type: string, bits?: number): string {
  const path = join(dir, name);
  keygen('-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', name, '-f', path);
  return path;
}
function blobOf(pubFile: string): Uint8Array {
  return base64Decode(readFileSync(pubFile, 'utf8').trim().split(/\s+/)[1]!);
}
/** `ssh-keygen -s ca ... key.pub`, returning the -cert.pub text. */
function sign(ca: string, key: string, args: string[]): string {
  keygen('-s', ca, ...args, `${key}.pub`);
  return readFileSync(`${key}-cert.pub`, 'utf8');
}

const ca = newKey('ca', 'ed25519');
const rsaCa = newKey('rsa_ca', 'rsa', 2048);
const ecdsaCa = newKey('ecdsa_ca', 'ecdsa');
const now = Math.floor(Date.now() / 1000);

describe('certificate decoding', () => {
  it('a CA key of small order (the identity): a CA signature anyone can make is refused on both providers, before and after', () => {
    // Under A = the identity, R = [S]B verifies for any S and any data: OpenSSL said yes (noble
    // no), and the blob was then remembered as verified for every provider.
    const host = newKey('forge_host', 'ed25519');
    const blob = base64Decode(sign(ca, host, ['-I', 'forge', '-h', '-n', 'forge.example']).split(/\s+/)[1]!);
    const r = new SshReader(blob);
    for (const f of ['type', 'nonce', 'pk']) r.string(f);
    r.uint64();
    r.uint32();
    r.string('key id');
    r.string('principals');
    r.uint64();
    r.uint64();
    for (const f of ['critical', 'extensions', 'reserved']) r.string(f);
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const S = 777n;
    const sig = new Uint8Array(64);
    sig.set(nobleEd25519.Point.BASE.multiply(S).toBytes());
    sig.set(Buffer.from(S.toString(16).padStart(64, '0'), 'hex').reverse(), 32);
    const forged = new SshWriter()
      .raw(blob.subarray(0, r.offset))
      .string(new SshWriter().string('ssh-ed25519').string(identity).toBytes())
      .string(new SshWriter().string('ssh-ed25519').string(sig).toBytes())
      .toBytes();
    expect(() => parseCertificate(forged, { crypto: nodeCryptoProvider })).toThrow(/the CA signature does not verify/);
    expect(() => parseCertificate(forged)).toThrow(/the CA signature does not verify/);
  });

  it('reads every field of an ssh-keygen host certificate and verifies the CA signature', () => {
    const host = newKey('host', 'ed25519');
    const text = sign(ca, host, ['-I', 'web1 host key', '-h', '-n', '127.0.0.1,web1', '-V', '-5m:+1h', '-z', '7']);
    const cert = parseCertificateFile(text, 'host-cert.pub');
    expect(cert.certType).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(cert.keyType).toBe('ssh-ed25519');
    expect(cert.type).toBe(SSH2_CERT_TYPE_HOST);
    expect(cert.serial).toBe(7n);
    expect(cert.keyId).toBe('web1 host key');
    expect(cert.validPrincipals).toEqual(['127.0.0.1', 'web1']);
    expect(Number(cert.validBefore - cert.validAfter)).toBe(65 * 60);
    expect(cert.publicKeyBlob).toEqual(blobOf(`${host}.pub`));
    expect(cert.signatureKey).toEqual(blobOf(`${ca}.pub`));
    expect(cert.signatureAlgorithm).toBe('ssh-ed25519');
    expect(cert.criticalOptions).toEqual([]);
    const line = describeHostCertificate(cert);
    expect(line).toMatch(
      /^Server host certificate: ssh-ed25519-cert-v01@openssh\.com SHA256:\S+, serial 7 ID "web1 host key" CA ssh-ed25519 SHA256:\S+ valid from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d to /,
    );
    // ssh-keygen -L prints the same fingerprints.
    const listing = execFileSync('/usr/bin/ssh-keygen', ['-L', '-f', `${host}-cert.pub`], { encoding: 'utf8' });
    expect(listing).toContain(line.split(' ')[4]!.replace(/,$/, ''));
  });

  it.each([
    ['ecdsa', undefined, 'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp256'],
    ['ecdsa', 384, 'ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp384'],
    ['ecdsa', 521, 'ecdsa-sha2-nistp521-cert-v01@openssh.com', 'ecdsa-sha2-nistp521'],
    ['rsa', 2048, 'ssh-rsa-cert-v01@openssh.com', 'ssh-rsa'],
  ] as const)('decodes %s %s certificates, signed by RSA (SHA-512) and ECDSA CAs', (type, bits, certType, keyType) => {
    const key = newKey(`user_${type}${bits ?? ''}`, type, bits);
    for (const [signer, alg] of [
      [rsaCa, 'rsa-sha2-512'],
      [ecdsaCa, 'ecdsa-sha2-nistp256'],
    ] as const) {
      const cert = parseCertificateFile(sign(signer, key, ['-I', 'u', '-n', 'root,alice', ...(signer === rsaCa ? ['-t', alg] : [])]));
      expect(cert.certType).toBe(certType);
      expect(cert.keyType).toBe(keyType);
      expect(cert.type).toBe(SSH2_CERT_TYPE_USER);
      expect(cert.signatureAlgorithm).toBe(alg);
      // ssh-keygen's default user extensions, in lexical order.
      expect(cert.extensions.map((e) => e.name)).toContain('permit-port-forwarding');
      expect(cert.validBefore).toBe(0xffffffffffffffffn);
    }
  });

  it('names a plain key as such, and text that is no key at all as no certificate file (break35: "holds a not key")', () => {
    expect(() => parseCertificateFile('ssh-ed25519 AAAA user\n', 'F')).toThrow(/^certificate: F holds a ssh-ed25519 key, not a certificate$/);
    expect(() => parseCertificateFile('not a key\n', 'F')).toThrow(/^certificate: F is not a certificate file \(expected "TYPE BASE64 \[comment\]"\)$/);
  });

  it('refuses a CA signature made with ssh-rsa (SHA-1), as OpenSSH 8.2+ does', () => {
    const key = newKey('sha1_user', 'ed25519');
    const text = sign(rsaCa, key, ['-I', 'old', '-n', 'root', '-t', 'ssh-rsa']);
    expect(() => parseCertificateFile(text)).toThrow(/ssh-rsa \(RSA with SHA-1\).*OpenSSH 8\.2/);
  });

  it('refuses a tampered certificate (signature), trailing bytes, truncation and unknown types', () => {
    const key = newKey('tamper', 'ed25519');
    const blob = parseCertificateFile(sign(ca, key, ['-I', 'id', '-n', 'root'])).blob;
    // Flip a bit in the key id: the CA signature no longer verifies.
    const flipped = blob.slice();
    const idAt = Buffer.from(blob).indexOf('id');
    flipped[idAt]! ^= 1;
    expect(() => parseCertificate(flipped)).toThrow(/CA signature does not verify/);
    const longer = new Uint8Array(blob.length + 1);
    longer.set(blob);
    expect(() => parseCertificate(longer)).toThrow(KeyError);
    expect(() => parseCertificate(blob.subarray(0, blob.length - 10))).toThrow(KeyError);
    expect(() => parseCertificate(blobOf(`${key}.pub`))).toThrow(/unsupported certificate type "ssh-ed25519"/);
  });

  it("verifies the CA signature with the provider's Ed25519, once per blob: a changed byte or a blob pushed out of the remembered ones is verified again", () => {
    const runtime = nodeCryptoProvider.ed25519!;
    const checked: Uint8Array[] = [];
    const counting: CryptoProvider = {
      ...nodeCryptoProvider,
      ed25519: { ...runtime, verify: (pk, sig, msg) => (checked.push(sig), runtime.verify(pk, sig, msg)) },
    };
    const key = newKey('once', 'ed25519');
    const blobOfCert = (text: string) => base64Decode(text.trim().split(/\s+/)[1]!);
    const blob = blobOfCert(sign(ca, key, ['-I', 'once', '-h', '-n', 'web1']));
    // The key exchange's check, then the fingerprint, ssh -v's lines, known_hosts: one verification.
    for (let i = 0; i < 5; i++) expect(parseCertificate(blob, { sha1Ca: true, crypto: counting }).keyId).toBe('once');
    expect(parseCertificate(blob).keyId).toBe('once');
    expect(checked).toHaveLength(1);
    // The same certificate with its signature's last byte changed is other bytes: checked, refused, each time.
    const forged = blob.slice();
    forged[forged.length - 1]! ^= 1;
    for (let i = 0; i < 2; i++) expect(() => parseCertificate(forged, { crypto: counting })).toThrow(/CA signature does not verify/);
    expect(checked).toHaveLength(3);
    // After VERIFIED_CERTIFICATES_KEPT other certificates, the first is verified again.
    for (let i = 0; i < VERIFIED_CERTIFICATES_KEPT; i++) {
      parseCertificate(blobOfCert(sign(ca, key, ['-I', `other ${i}`, '-h', '-n', 'web1'])), { crypto: counting });
    }
    expect(checked).toHaveLength(3 + VERIFIED_CERTIFICATES_KEPT);
    parseCertificate(blob, { crypto: counting });
    expect(checked).toHaveLength(4 + VERIFIED_CERTIFICATES_KEPT);
  });

  it("a user certificate file is verified with the provider's Ed25519: parseCertificateFile, loadCertificateFile", async () => {
    const runtime = nodeCryptoProvider.ed25519!;
    let checked = 0;
    const counting: CryptoProvider = { ...nodeCryptoProvider, ed25519: { ...runtime, verify: (pk, sig, msg) => (checked++, runtime.verify(pk, sig, msg)) } };
    const key = newKey('file_user', 'ed25519');
    const text = sign(ca, key, ['-I', 'file one', '-n', 'root']);
    expect(parseCertificateFile(text, 'given', { crypto: counting }).keyId).toBe('file one');
    expect(checked).toBe(1);
    sign(ca, key, ['-I', 'file two', '-n', 'root']);
    expect((await loadCertificateFile(`${key}-cert.pub`, { crypto: counting }))!.certificate.keyId).toBe('file two');
    expect(checked).toBe(2);
  });

  it('checks type, validity and principals with the injected clock, in OpenSSH words', () => {
    const host = newKey('host2', 'ed25519');
    const cert = parseCertificateFile(sign(ca, host, ['-I', 'h', '-h', '-n', 'web1', '-V', '-5m:+1h']));
    expect(checkCertificateAuthority(cert, { wantHost: true, now, name: 'web1' })).toBeUndefined();
    expect(checkCertificateAuthority(cert, { wantHost: true, now, name: 'WEB1x' })).toBe('Certificate invalid: name is not a listed principal');
    expect(checkCertificateAuthority(cert, { wantHost: false, now })).toBe('Certificate invalid: not a user certificate');
    expect(checkCertificateAuthority(cert, { wantHost: true, now: now + 7200, name: 'web1' })).toBe('Certificate invalid: expired');
    expect(checkCertificateAuthority(cert, { wantHost: true, now: now - 3600, name: 'web1' })).toBe('Certificate invalid: not yet valid');
    const user = parseCertificateFile(sign(ca, host, ['-I', 'u', '-n', 'x', '-O', 'force-command=/bin/true']));
    expect(user.criticalOptions.map((o) => o.name)).toEqual(['force-command']);
  });

  it('registers the certificate host key algorithms and verifies signatures with the certified key', () => {
    for (const a of CERTIFICATE_HOST_KEY_ALGORITHMS) expect(hostKeyAlgorithms.has(a)).toBe(true);
    expect(plainSignatureAlgorithm('rsa-sha2-256-cert-v01@openssh.com')).toBe('rsa-sha2-256');
    const path = newKey('signer', 'ed25519');
    const text = sign(ca, path, ['-I', 'h', '-h', '-n', 'web1']);
    const cert = parseCertificateFile(text);
    const key = parsePrivateKey(readFileSync(path, 'utf8'));
    const data = new Uint8Array([1, 2, 3]);
    const sig = key.sign('ssh-ed25519', data);
    expect(() => verifyHostKeySignature('ssh-ed25519-cert-v01@openssh.com', cert.blob, sig, data)).not.toThrow();
    expect(() => verifyHostKeySignature('ssh-ed25519-cert-v01@openssh.com', cert.blob, sig, new Uint8Array([9]))).toThrow(
      /does not verify/,
    );
  });
});

describe('known_hosts and host certificates', () => {
  const host = newKey('kh_host', 'ed25519');
  const other = newKey('other_ca', 'ed25519');
  const cert = parseCertificateFile(sign(ca, host, ['-I', 'h', '-h', '-n', 'web1,127.0.0.1', '-V', '-5m:+1h']));
  const caPub = readFileSync(`${ca}.pub`, 'utf8').trim();
  const otherPub = readFileSync(`${other}.pub`, 'utf8').trim();
  const hostPub = readFileSync(`${host}.pub`, 'utf8').trim();
  const kh = (text: string) => parseKnownHosts(text, 'kh').entries;

  it('accepts a valid certificate from a CA whose patterns match the host', () => {
    const entries = kh(`@cert-authority *.example.com,web1 ${caPub}\n`);
    expect(checkHostCertificate(entries, 'web1', 22, cert, now)).toMatchObject({ status: 'match', name: 'web1' });
    expect(certAuthorityKnown(entries, 'web1', 22)).toBe(true);
    expect(certAuthorityKnown(entries, 'web2', 22)).toBe(false);
    // On another port: [web1]:2222 names no CA, the plain name does (OpenSSH's retry without port).
    expect(checkHostCertificate(entries, 'web1', 2222, cert, now)).toMatchObject({ status: 'match', triedWithoutPort: true });
  });

  it('wrong principal, expired, unknown CA, revoked CA or revoked key', () => {
    const entries = kh(`@cert-authority * ${caPub}\n`);
    expect(checkHostCertificate(entries, 'web2', 22, cert, now)).toMatchObject({
      status: 'invalid',
      reason: 'Certificate invalid: name is not a listed principal',
    });
    expect(checkHostCertificate(entries, 'web1', 22, cert, now + 7200)).toMatchObject({ status: 'invalid', reason: 'Certificate invalid: expired' });
    expect(checkHostCertificate(kh(`@cert-authority * ${otherPub}\n`), 'web1', 22, cert, now)).toMatchObject({ status: 'no-ca' });
    // A CA line for other hosts only does not vouch for this one.
    expect(checkHostCertificate(kh(`@cert-authority web2 ${caPub}\n`), 'web1', 22, cert, now)).toMatchObject({ status: 'no-ca' });
    expect(checkHostCertificate(kh(`@cert-authority * ${caPub}\n@revoked * ${caPub}\n`), 'web1', 22, cert, now)).toMatchObject({
      status: 'revoked',
      revokedKey: 'CA',
    });
    expect(checkHostCertificate(kh(`@cert-authority * ${caPub}\n@revoked * ${hostPub}\n`), 'web1', 22, cert, now)).toMatchObject({
      status: 'revoked',
      revokedKey: 'host',
    });
  });
});

describe('CASignatureAlgorithms (ssh_config(5); readconf.c kex_assemble_names, sshkey_cert_check_host)', () => {
  const SSH92_DEFAULT =
    'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256';
  const NO_RSA = 'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com';

  it("applies a list as ssh -G prints it (OpenSSH 9.2's values): default, +, -, ^, patterns, certificate types", () => {
    expect(applyCaSignatureSpec(undefined).join(',')).toBe(SSH92_DEFAULT);
    expect(DEFAULT_CA_SIGNATURE_ALGORITHMS.join(',')).toBe(SSH92_DEFAULT);
    expect(applyCaSignatureSpec('ssh-ed25519,ecdsa-sha2-nistp256')).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(applyCaSignatureSpec('+ssh-rsa').join(',')).toBe(`${SSH92_DEFAULT},ssh-rsa`);
    expect(applyCaSignatureSpec('-rsa-sha2-*').join(',')).toBe(NO_RSA);
    expect(applyCaSignatureSpec('^rsa-sha2-256').join(',')).toBe(`rsa-sha2-256,${NO_RSA},rsa-sha2-512`);
    // A pattern expands in OpenSSH's own order (sshkey_alg_list), not the default's.
    expect(applyCaSignatureSpec('rsa*')).toEqual(['rsa-sha2-256', 'rsa-sha2-512']);
    // A certificate type is no signature algorithm: it adds nothing.
    expect(applyCaSignatureSpec('ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp384')).toEqual(['ecdsa-sha2-nistp384']);
    // `-` may remove everything: no certificate is then accepted.
    expect(applyCaSignatureSpec('-*')).toEqual([]);
    expect(applyCaSignatureSpec(['ssh-ed25519'])).toEqual(['ssh-ed25519']);
    expect(() => applyCaSignatureSpec('ssh-ed25519,no-such-alg')).toThrow(UsageError);
    expect(() => applyCaSignatureSpec('ssh-ed25519-cert-v01@openssh.com')).toThrow(/no CA signature algorithm/);
    expect(() => applyCaSignatureSpec('!ssh-rsa')).toThrow(UsageError);
  });

  it('a host certificate whose CA signed with an algorithm not listed: "Certificate signed with disallowed algorithm", checked last', () => {
    const host = newKey('casig_host', 'ed25519');
    const byRsa = parseCertificateFile(sign(rsaCa, host, ['-I', 'h', '-h', '-n', 'web1', '-V', '-5m:+1h']));
    expect(byRsa.signatureAlgorithm).toBe('rsa-sha2-512');
    const noRsa = applyCaSignatureSpec('ssh-ed25519,ecdsa-sha2-nistp256');
    expect(checkCertificateAuthority(byRsa, { wantHost: true, now, name: 'web1' })).toBeUndefined();
    expect(checkCertificateAuthority(byRsa, { wantHost: true, now, name: 'web1', caSignatureAlgorithms: noRsa })).toBe(
      'Certificate signed with disallowed algorithm',
    );
    // sshkey_cert_check_host: validity and principals are checked first.
    expect(checkCertificateAuthority(byRsa, { wantHost: true, now: now + 7200, name: 'web1', caSignatureAlgorithms: noRsa })).toBe(
      'Certificate invalid: expired',
    );
    const rsaPub = readFileSync(`${rsaCa}.pub`, 'utf8').trim();
    const entries = parseKnownHosts(`@cert-authority * ${rsaPub}\n`, 'kh').entries;
    expect(checkHostCertificate(entries, 'web1', 22, byRsa, now)).toMatchObject({ status: 'match' });
    expect(checkHostCertificate(entries, 'web1', 22, byRsa, now, noRsa)).toMatchObject({
      status: 'invalid',
      reason: 'Certificate signed with disallowed algorithm',
    });
    expect(checkHostCertificate(entries, 'web1', 22, byRsa, now, applyCaSignatureSpec('-rsa-sha2-512'))).toMatchObject({ status: 'invalid' });
    expect(checkHostCertificate(entries, 'web1', 22, byRsa, now, applyCaSignatureSpec('-rsa-sha2-256'))).toMatchObject({ status: 'match' });
    const byEd = parseCertificateFile(sign(ca, host, ['-I', 'h', '-h', '-n', 'web1', '-V', '-5m:+1h']));
    expect(checkCertificateAuthority(byEd, { wantHost: true, now, name: 'web1', caSignatureAlgorithms: noRsa })).toBeUndefined();
    expect(checkCertificateAuthority(byEd, { wantHost: true, now, name: 'web1', caSignatureAlgorithms: applyCaSignatureSpec('-ssh-ed25519') })).toBe(
      'Certificate signed with disallowed algorithm',
    );
  });

  it('a host certificate signed with SHA-1 ssh-rsa decodes on the host key path, and only +ssh-rsa accepts it (ssh 9.2 does the same)', () => {
    const host = newKey('sha1_host', 'ed25519');
    const text = sign(rsaCa, host, ['-I', 'h', '-h', '-n', 'web1', '-V', '-5m:+1h', '-t', 'ssh-rsa']);
    const blob = base64Decode(text.split(' ')[1]!);
    expect(() => parseCertificate(blob)).toThrow(/ssh-rsa \(RSA with SHA-1\)/);
    const cert = parseCertificate(blob, { sha1Ca: true });
    expect(cert.signatureAlgorithm).toBe('ssh-rsa');
    // ssh -v's line is shown for it as for any certificate (it fell back to "Server host key" before).
    expect(describeServerHostKey('ssh-ed25519-cert-v01@openssh.com', blob)).toMatch(/^Server host certificate: .* CA ssh-rsa SHA256:/);
    const rsaPub = readFileSync(`${rsaCa}.pub`, 'utf8').trim();
    const entries = parseKnownHosts(`@cert-authority * ${rsaPub}\n`, 'kh').entries;
    expect(checkHostCertificate(entries, 'web1', 22, cert, now)).toMatchObject({ status: 'invalid', reason: 'Certificate signed with disallowed algorithm' });
    expect(checkHostCertificate(entries, 'web1', 22, cert, now, applyCaSignatureSpec('+ssh-rsa'))).toMatchObject({ status: 'match' });
    // A tampered SHA-1 signature still fails to verify.
    const flipped = blob.slice();
    flipped[Buffer.from(blob).indexOf('web1')]! ^= 1;
    expect(() => parseCertificate(flipped, { sha1Ca: true })).toThrow(/CA signature does not verify/);
  });

  it('pure-ssh/web: knownHostsTextVerifier takes the list; a refused certificate is checked as its plain key', async () => {
    const host = newKey('web_casig_host', 'ed25519');
    const cert = parseCertificateFile(sign(rsaCa, host, ['-I', 'h', '-h', '-n', 'web1', '-V', '-5m:+1h']));
    const rsaPub = readFileSync(`${rsaCa}.pub`, 'utf8').trim();
    const hostPub = readFileSync(`${host}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const given = { host: 'web1', port: 22, algorithm: cert.certType, keyType: cert.certType, keyBlob: cert.blob, fingerprint: 'SHA256:x' };
    const caOnly = knownHostsFromText(`@cert-authority * ${rsaPub}\n`);
    expect(await knownHostsTextVerifier(caOnly)(given)).toBeUndefined();
    await expect(async () => knownHostsTextVerifier(caOnly, Date.now, 'ssh-ed25519')(given)).rejects.toMatchObject({ problem: 'unknown' });
    const withPlain = knownHostsFromText(`@cert-authority * ${rsaPub}\nweb1 ${hostPub}\n`);
    expect(await knownHostsTextVerifier(withPlain, Date.now, '-rsa-sha2-*')(given)).toBeUndefined();
    expect(() => knownHostsTextVerifier(caOnly, Date.now, 'nope')).toThrow(UsageError);
  });
});

describe('user certificates', () => {
  it('pairs a certificate with its private key: cert algorithm names, plain signatures, offered first', () => {
    const path = newKey('rsa_user', 'rsa', 2048);
    const cert = parseCertificateFile(sign(ca, path, ['-I', 'alice', '-n', 'alice', '-V', '-5m:+1h']));
    const key = parsePrivateKey(readFileSync(path, 'utf8'));
    const [first, second] = withCertificates([key], [{ certificate: cert, source: `${path}-cert.pub` }], { now: () => now });
    expect(isCertifiedKey(first!)).toBe(true);
    expect(second).toBe(key);
    expect(first!.keyType).toBe('ssh-rsa-cert-v01@openssh.com');
    expect(first!.publicKeyBlob).toEqual(cert.blob);
    expect(first!.signatureAlgorithms).toEqual(['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com']);
    const data = new Uint8Array([4, 5, 6]);
    expect(first!.sign('rsa-sha2-256-cert-v01@openssh.com', data)).toEqual(key.sign('rsa-sha2-256', data));
  });

  it('explains a refusal: local expiry in OpenSSH words, else principals and validity', () => {
    const path = newKey('exp_user', 'ed25519');
    const cert = parseCertificateFile(sign(ca, path, ['-I', 'bob', '-n', 'bob', '-V', '20200101:20200102']));
    const key = parsePrivateKey(readFileSync(path, 'utf8'));
    const expired = certifiedKey(key, cert, { source: 'bob-cert.pub', now: () => now });
    expect(expired.refusalDetail()).toMatch(/certificate bob-cert\.pub \(ID "bob", serial 0\) was refused: Certificate invalid: expired \(principals: bob; valid from 2020-01-01T00:00:00 to 2020-01-02T00:00:00\)/);
    const good = certifiedKey(key, { ...cert, validAfter: 0n, validBefore: 0xffffffffffffffffn }, { source: 'bob-cert.pub', now: () => now });
    expect(good.refusalDetail()).toMatch(/server refused the certificate bob-cert\.pub .*principals: bob; valid forever/);
  });

  it('skips a certificate without its private key, and host certificates', () => {
    const a = newKey('a_user', 'ed25519');
    const b = newKey('b_user', 'ed25519');
    const cert = parseCertificateFile(sign(ca, a, ['-I', 'a', '-n', 'a']));
    const hostCert = parseCertificateFile(sign(ca, b, ['-I', 'b', '-h', '-n', 'b']));
    const keyB = parsePrivateKey(readFileSync(b, 'utf8'));
    const skipped: string[] = [];
    const keys = withCertificates([keyB], [{ certificate: cert, source: 'a' }, { certificate: hostCert, source: 'b' }], { skipped: (m) => skipped.push(m) });
    expect(keys).toEqual([keyB]);
    expect(skipped).toEqual([expect.stringMatching(/^ignoring certificate a: no private key/), 'ignoring certificate b: not a user certificate']);
    expect(() => certifiedKey(keyB, cert)).toThrow(/certifies key SHA256:/);
    // FingerprintHash (ssh's options.fingerprint_hash) in that line too.
    const md5: string[] = [];
    withCertificates([keyB], [{ certificate: cert, source: 'a' }], { skipped: (m) => md5.push(m), fingerprintHash: fingerprintHashNamed('md5') });
    expect(md5).toEqual([expect.stringMatching(/^ignoring certificate a: no private key for ssh-ed25519 MD5:([0-9a-f]{2}:){15}[0-9a-f]{2} among the identities$/)]);
  });
});
