/**
 * Private key file formats against the tools that write them: bcrypt_pbkdf (OpenBSD's vectors),
 * then keys made here by `ssh-keygen` (OpenSSH format with every key-file cipher, PEM, PKCS#8),
 * `openssl` (what ssh-keygen does not write) and `puttygen` (PPK v2 and v3). Each key is parsed,
 * must give the public key `ssh-keygen -y` (or openssl) gives, and must sign what
 * `ssh-keygen -Y verify` accepts; one key of each format logs in to the real sshd.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bcryptPbkdf } from '../src/crypto/bcrypt-pbkdf.js';
import { KeyError } from '../src/errors.js';
import { fingerprintSha256 } from '../src/keys/hostkey.js';
import { extraKeyDecryption } from '../src/keys/extra-key-decryption.js';
import { parsePrivateKey } from '../src/keys/parse-private-key.js';
import { parsePrivateKey as parseWithout, parsePublicKeyFile, type PrivateKey } from '../src/keys/privatekey.js';
import { nodeCryptoProvider } from '../src/node/crypto-provider.js';
import { SshWriter } from '../src/protocol/wire.js';
import { connectTo } from './harness/client.js';
import { describeIf, executable, inCI, requireSshd, sshdAvailable, sshdSuite } from './harness/sshd.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

describe('bcrypt_pbkdf (OpenBSD regress vectors)', () => {
  for (const v of vectors('bcrypt-pbkdf.json').vectors as { name: string; rounds: number; password: string; salt: string; key: string }[]) {
    it(v.name, () => {
      expect(toHex(bcryptPbkdf(hex(v.password), hex(v.salt), v.rounds, v.key.length / 2))).toBe(v.key);
    });
  }

  it('writes exactly the requested length (OpenBSD regress "OVERWRITE" case: 88 bytes)', () => {
    const k88 = bcryptPbkdf(hex('70617373776f7264'), hex('73616c74'), 4, 88);
    expect(k88.length).toBe(88);
    // Stride 3: the first 32 bytes of a 96-byte derivation are not the 88-byte key's prefix.
    expect(toHex(bcryptPbkdf(hex('70617373776f7264'), hex('73616c74'), 4, 32))).not.toBe(toHex(k88.subarray(0, 32)));
  });

  it('refuses what bcrypt_pbkdf(3) refuses', () => {
    const p = hex('70');
    expect(() => bcryptPbkdf(new Uint8Array(), p, 4, 32)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, new Uint8Array(), 4, 32)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, p, 0, 32)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, p, 4, 0)).toThrow(RangeError);
    expect(() => bcryptPbkdf(p, p, 4, 1025)).toThrow(RangeError);
  });
});

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const PUTTYGEN = '/usr/bin/puttygen';
const OPENSSL = '/usr/bin/openssl';
const TOOLS = [SSH_KEYGEN, PUTTYGEN, OPENSSL];

function requireTools(): void {
  const missing = TOOLS.filter((t) => !executable(t));
  if (missing.length === 0) return;
  throw new Error(
    `missing ${missing.join(', ')}: apt-get install -y openssh-client putty-tools openssl` +
      (inCI() ? ' (CI=true: these tests never skip)' : ''),
  );
}

/** Key tools present, or (CI) a failing test saying which to install; never a silent skip in CI. */
const describeTools = describeIf(() => TOOLS.every(executable), requireTools);
/** The same, plus OpenSSH's sshd. */
const describeInteropTools = describeIf(
  () => sshdAvailable() && TOOLS.every(executable),
  () => {
    requireSshd();
    requireTools();
  },
);

const PASS = 'correct horse battery';
const WRONG = 'incorrect horse battery';

let dir: string;
let counter = 0;
const tmp = (name: string) => join(dir, `${counter++}-${name}`);

function keygen(args: string[]): void {
  execFileSync(SSH_KEYGEN, ['-q', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ssh-keygen -y`: "type base64" of a private key file OpenSSH can read. */
function opensshPublic(path: string, passphrase = ''): string {
  const out = execFileSync(SSH_KEYGEN, ['-y', '-P', passphrase, '-f', path], { encoding: 'utf8' });
  return out.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** A copy of `src` (mode 0600, as ssh-keygen wants) re-encoded by `ssh-keygen -p` with `args`. */
function recode(src: string, name: string, args: string[]): string {
  const path = tmp(name);
  writeFileSync(path, readFileSync(src), { mode: 0o600 });
  keygen(['-p', '-P', '', '-f', path, ...args]);
  return path;
}

/** A copy of an unencrypted key as a PuTTY file (`puttygen -O private`), passphrase from a file. */
function toPpk(src: string, name: string, params: string, passphrase?: string, comment?: string): string {
  const out = tmp(`${name}.ppk`);
  const pw = tmp('pw');
  writeFileSync(pw, passphrase ?? '');
  execFileSync(PUTTYGEN, [src, '-O', 'private', '-o', out, '--ppk-param', params, '--new-passphrase', pw, ...(comment ? ['-C', comment] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out;
}

function parseFile(path: string, passphrase?: string): PrivateKey {
  return parsePrivateKey(readFileSync(path), { passphrase, source: path });
}

function publicLine(key: PrivateKey): string {
  return `${key.keyType} ${b64(key.publicKeyBlob)}`;
}

/**
 * Sign a message the SSHSIG way (OpenSSH PROTOCOL.sshsig) with `key` and `algorithm`, and have
 * `ssh-keygen -Y verify` check it against the key's public half. Throws if ssh-keygen refuses.
 */
function sshsigVerify(key: PrivateKey, algorithm: string, tamper = false): void {
  const namespace = 'pure-ssh-keyformats';
  const message = randomBytes(48);
  const digest = createHash('sha512').update(message).digest();
  // PROTOCOL.sshsig: the signed data is MAGIC || namespace || reserved || hash_algorithm || H(message).
  const signed = new SshWriter().raw(Buffer.from('SSHSIG')).string(namespace).string('').string('sha512').string(digest).toBytes();
  const signature = key.sign(algorithm, signed);
  const blob = new SshWriter()
    .raw(Buffer.from('SSHSIG'))
    .uint32(1)
    .string(key.publicKeyBlob)
    .string(namespace)
    .string('')
    .string('sha512')
    .string(signature)
    .toBytes();
  const sigFile = tmp('msg.sig');
  const allowed = tmp('allowed_signers');
  writeFileSync(sigFile, `-----BEGIN SSH SIGNATURE-----\n${b64(blob).replace(/(.{70})/g, '$1\n')}\n-----END SSH SIGNATURE-----\n`);
  writeFileSync(allowed, `signer@test ${publicLine(key)}\n`);
  if (tamper) message[0]! ^= 1;
  execFileSync(SSH_KEYGEN, ['-Y', 'verify', '-f', allowed, '-I', 'signer@test', '-n', namespace, '-s', sigFile], {
    input: message,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** The key must be `expectedPublic`, of `format`, and every signature algorithm must pass ssh-keygen. */
function expectKey(key: PrivateKey, expectedPublic: string, format: PrivateKey['format']): void {
  expect(publicLine(key)).toBe(expectedPublic);
  expect(key.format).toBe(format);
  // PROTOCOL.sshsig refuses SHA-1 `ssh-rsa` signatures (ssh-keygen -Y: "unsupported RSA signature
  // algorithm"); an RSA key's ssh-rsa signature is checked by a real sshd in legacy-rsa.test.ts.
  for (const alg of key.signatureAlgorithms) if (alg !== 'ssh-rsa') sshsigVerify(key, alg);
}

function expectKeyError(fn: () => unknown, code: string, parts: (string | RegExp)[] = []): KeyError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a KeyError').toBeInstanceOf(KeyError);
  const e = err as KeyError;
  expect(e.code, e.message).toBe(code);
  for (const p of parts) expect(e.message).toMatch(p);
  return e;
}

interface KeyType {
  name: string;
  args: string[];
  /** ssh-keygen writes PEM / PKCS#8 for it (not for Ed25519: it writes the OpenSSH format). */
  pem: 'pkcs1' | 'sec1' | undefined;
}

const TYPES: KeyType[] = [
  { name: 'ed25519', args: ['-t', 'ed25519'], pem: undefined },
  { name: 'ecdsa-p256', args: ['-t', 'ecdsa', '-b', '256'], pem: 'sec1' },
  { name: 'ecdsa-p384', args: ['-t', 'ecdsa', '-b', '384'], pem: 'sec1' },
  { name: 'ecdsa-p521', args: ['-t', 'ecdsa', '-b', '521'], pem: 'sec1' },
  { name: 'rsa-2048', args: ['-t', 'rsa', '-b', '2048'], pem: 'pkcs1' },
];

/** Generated once per run: an unencrypted OpenSSH key of each type and its `ssh-keygen -y` line. */
const base = new Map<string, { path: string; pub: string }>();
function baseKey(t: KeyType): { path: string; pub: string } {
  let b = base.get(t.name);
  if (!b) {
    const path = tmp(t.name);
    keygen([...t.args, '-N', '', '-C', `${t.name}@keyformats`, '-f', path]);
    b = { path, pub: opensshPublic(path) };
    base.set(t.name, b);
  }
  return b;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pure-ssh-keyformats-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeTools('keys written by ssh-keygen, openssl and puttygen', () => {
  for (const t of TYPES) {
    describe(t.name, () => {
      it('OpenSSH, unencrypted and with -N -a 4 (aes256-ctr/bcrypt)', () => {
        const { path, pub } = baseKey(t);
        const plain = parseFile(path);
        expectKey(plain, pub, 'openssh');
        expect(plain.comment).toBe(`${t.name}@keyformats`);
        const enc = recode(path, 'enc', ['-N', PASS, '-a', '4']);
        expect(readFileSync(enc, 'utf8')).toContain('OPENSSH PRIVATE KEY');
        expectKey(parseFile(enc, PASS), pub, 'openssh');
        expectKeyError(() => parseFile(enc), 'ERR_KEY_ENCRYPTED', [enc, /is encrypted \(OpenSSH private key, aes256-ctr\/bcrypt\): a passphrase is needed/]);
        expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE', [enc, /incorrect passphrase supplied to decrypt private key/]);
      });

      if (t.pem) {
        it(`PEM (${t.pem === 'pkcs1' ? 'RSA' : 'EC'} PRIVATE KEY), plain and encrypted (Proc-Type, AES-128-CBC)`, () => {
          const { path, pub } = baseKey(t);
          const plain = recode(path, 'pem', ['-N', '', '-m', 'PEM']);
          expect(readFileSync(plain, 'utf8')).toMatch(t.pem === 'pkcs1' ? /BEGIN RSA PRIVATE KEY/ : /BEGIN EC PRIVATE KEY/);
          expectKey(parseFile(plain), pub, t.pem);
          const enc = recode(path, 'pem-enc', ['-N', PASS, '-m', 'PEM']);
          expect(readFileSync(enc, 'utf8')).toMatch(/DEK-Info: AES-128-CBC,/);
          expectKey(parseFile(enc, PASS), pub, t.pem);
          expectKeyError(() => parseFile(enc), 'ERR_KEY_ENCRYPTED', [/legacy PEM encryption AES-128-CBC/, /a passphrase is needed/]);
          expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE', [/incorrect passphrase/]);
        });

        it('PKCS#8 (PRIVATE KEY), plain and encrypted (PBES2: PBKDF2 HMAC-SHA-256, AES-128-CBC)', () => {
          const { path, pub } = baseKey(t);
          const plain = recode(path, 'p8', ['-N', '', '-m', 'PKCS8']);
          expect(readFileSync(plain, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
          expectKey(parseFile(plain), pub, 'pkcs8');
          const enc = recode(path, 'p8-enc', ['-N', PASS, '-m', 'PKCS8']);
          expect(readFileSync(enc, 'utf8')).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
          expectKey(parseFile(enc, PASS), pub, 'pkcs8');
          expectKeyError(() => parseFile(enc), 'ERR_KEY_ENCRYPTED', [/PKCS#8, PBES2, PBKDF2 HMAC-SHA-256 × 2048, AES-128-CBC/]);
          expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE', [/incorrect passphrase/]);
        });
      }

      it('PuTTY PPK v2 and v3 (Argon2id), plain and encrypted; v3 encrypted needs extraKeyDecryption in the web parser', () => {
        const { path, pub } = baseKey(t);
        for (const version of [2, 3]) {
          const params = `version=${version}${version === 3 ? ',passes=1' : ''}`;
          const plainFile = toPpk(path, `v${version}`, params);
          const plain = parseFile(plainFile);
          expectKey(plain, pub, 'ppk');
          expect(plain.comment).toBe(`${t.name}@keyformats`);
          const enc = toPpk(path, `v${version}-enc`, params, PASS);
          expect(readFileSync(enc, 'utf8')).toMatch(version === 3 ? /Key-Derivation: Argon2id/ : /Encryption: aes256-cbc/);
          expectKey(parseFile(enc, PASS), pub, 'ppk');
          expectKeyError(() => parseFile(enc), 'ERR_KEY_ENCRYPTED', [`PuTTY PPK v${version}`, /a passphrase is needed/]);
          expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE', [/the MAC does not verify/]);
          // The parser pure-ssh/web exports: Argon2 is in pure-ssh/key-decryption; v2 and plain v3 need nothing.
          expect(publicLine(parseWithout(readFileSync(plainFile), { source: plainFile }))).toBe(pub);
          expect(publicLine(parseWithout(readFileSync(enc), { passphrase: PASS, source: enc, extraKeyDecryption }))).toBe(pub);
          if (version === 2) {
            expect(publicLine(parseWithout(readFileSync(enc), { passphrase: PASS, source: enc }))).toBe(pub);
          } else {
            for (const p of [undefined, PASS]) {
              expectKeyError(() => parseWithout(readFileSync(enc), { passphrase: p, source: enc }), 'ERR_KEY_FORMAT', [
                enc,
                /PuTTY PPK v3 encryption aes256-cbc with Argon2id key derivation needs the extraKeyDecryption option \(from pure-ssh\/key-decryption\)/,
              ]);
            }
          }
        }
      });
    });
  }

  describe('OpenSSH key-file ciphers (ssh-keygen -Z) and bcrypt rounds (-a)', () => {
    const ciphers = [
      'aes128-ctr',
      'aes192-ctr',
      'aes256-ctr',
      'aes128-cbc',
      'aes192-cbc',
      'aes256-cbc',
      'aes128-gcm@openssh.com',
      'aes256-gcm@openssh.com',
      'chacha20-poly1305@openssh.com',
    ];
    for (const cipher of ciphers) {
      it(cipher, () => {
        const t = TYPES[1]!;
        const { path, pub } = baseKey(t);
        const enc = recode(path, cipher, ['-N', PASS, '-a', '2', '-Z', cipher]);
        expectKey(parseFile(enc, PASS), pub, 'openssh');
        // AEAD ciphers fail on their tag, the others on the check integers.
        expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE', [
          cipher,
          /gcm|chacha/.test(cipher) ? /authentication tag does not verify/ : /check integers differ/,
        ]);
      });
    }

    it('-a 1, 3 and the default 16 rounds', () => {
      const t = TYPES[0]!;
      const { path, pub } = baseKey(t);
      for (const rounds of [['-a', '1'], ['-a', '3'], []]) {
        const enc = recode(path, `rounds${rounds[1] ?? 16}`, ['-N', PASS, ...rounds]);
        expectKey(parseFile(enc, PASS), pub, 'openssh');
      }
    }, 30_000);

    it('3des-cbc (as ssh 9.2 reads it); without extraKeyDecryption ERR_KEY_FORMAT naming the option, before asking for a passphrase', () => {
      const { path, pub } = baseKey(TYPES[0]!);
      const enc = recode(path, '3des', ['-N', PASS, '-a', '2', '-Z', '3des-cbc']);
      expectKey(parseFile(enc, PASS), pub, 'openssh');
      expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE', ['3des-cbc', /check integers differ/]);
      expectKeyError(() => parseFile(enc), 'ERR_KEY_ENCRYPTED', ['3des-cbc/bcrypt']);
      for (const p of [undefined, PASS]) {
        expectKeyError(() => parseWithout(readFileSync(enc), { passphrase: p, source: enc }), 'ERR_KEY_FORMAT', [enc, '3des-cbc', 'extraKeyDecryption']);
      }
    });

    it('a passphrase given for an unencrypted key is ignored', () => {
      const { path, pub } = baseKey(TYPES[0]!);
      expectKey(parseFile(path, 'whatever'), pub, 'openssh');
    });
  });

  describe('made by openssl', () => {
    /** Ed25519 public key from openssl: the last 32 bytes of the DER SubjectPublicKeyInfo. */
    function opensslEd25519Public(path: string, passphrase?: string): string {
      const der = execFileSync(OPENSSL, ['pkey', '-in', path, '-pubout', '-outform', 'DER', ...(passphrase ? ['-passin', `pass:${passphrase}`] : [])]);
      const blob = new SshWriter().string('ssh-ed25519').string(new Uint8Array(der.subarray(der.length - 32))).toBytes();
      return `ssh-ed25519 ${b64(blob)}`;
    }

    it('Ed25519 PKCS#8 (RFC 8410), plain and PBES2 with HMAC-SHA-1 / AES-256-CBC and HMAC-SHA-512 / AES-192-CBC', () => {
      const plain = tmp('ossl-ed25519.pem');
      execFileSync(OPENSSL, ['genpkey', '-algorithm', 'ed25519', '-out', plain]);
      const pub = opensslEd25519Public(plain);
      expectKey(parseFile(plain), pub, 'pkcs8');
      for (const [prf, cipher] of [
        ['hmacWithSHA1', 'aes-256-cbc'],
        ['hmacWithSHA512', 'aes-192-cbc'],
      ] as const) {
        const enc = tmp(`ossl-ed25519-${prf}.pem`);
        execFileSync(OPENSSL, ['pkcs8', '-topk8', '-in', plain, '-out', enc, '-v2', cipher, '-v2prf', prf, '-passout', `pass:${PASS}`]);
        expectKey(parseFile(enc, PASS), pub, 'pkcs8');
        expectKeyError(() => parseFile(enc, WRONG), 'ERR_KEY_PASSPHRASE');
      }
    });

    it('RSA legacy PEM with AES-256-CBC; DES-CBC and PBES1 → ERR_KEY_FORMAT naming the cipher (ssh 9.2 cannot read them either)', () => {
      const { path, pub } = baseKey(TYPES[4]!);
      const pkcs1 = recode(path, 'rsa-pem', ['-N', '', '-m', 'PEM']);
      const aes256 = tmp('rsa-aes256.pem');
      execFileSync(OPENSSL, ['rsa', '-in', pkcs1, '-traditional', '-aes256', '-passout', `pass:${PASS}`, '-out', aes256], { stdio: 'pipe' });
      expect(readFileSync(aes256, 'utf8')).toMatch(/DEK-Info: AES-256-CBC,/);
      expectKey(parseFile(aes256, PASS), pub, 'pkcs1');
      expectKeyError(() => parseFile(aes256, WRONG), 'ERR_KEY_PASSPHRASE');

      // Single DES lives in OpenSSL 3's legacy provider: ssh 9.2 says "incorrect passphrase" for it.
      const des = tmp('rsa-des.pem');
      execFileSync(OPENSSL, ['rsa', '-in', pkcs1, '-traditional', '-des', '-provider', 'legacy', '-provider', 'default', '-passout', `pass:${PASS}`, '-out', des], { stdio: 'pipe' });
      expect(readFileSync(des, 'utf8')).toMatch(/DEK-Info: DES-CBC,/);
      expect(() => opensshPublic(des, PASS)).toThrow();
      for (const p of [undefined, PASS]) expectKeyError(() => parseFile(des, p), 'ERR_KEY_FORMAT', [des, 'DES-CBC', 'ssh-keygen -p']);
      const pbes1 = tmp('rsa-pbes1.pem');
      execFileSync(OPENSSL, ['pkcs8', '-topk8', '-in', pkcs1, '-v1', 'PBE-MD5-DES', '-provider', 'legacy', '-provider', 'default', '-passout', `pass:${PASS}`, '-out', pbes1], { stdio: 'pipe' });
      expectKeyError(() => parseFile(pbes1, PASS), 'ERR_KEY_FORMAT', ['pbeWithMD5AndDES-CBC', 'openssl pkcs8']);
    });

    it('SEC1 after an "EC PARAMETERS" block (openssl ecparam -genkey)', () => {
      const path = tmp('ossl-ec.pem');
      execFileSync(OPENSSL, ['ecparam', '-genkey', '-name', 'secp384r1', '-out', path]);
      writeFileSync(path, readFileSync(path), { mode: 0o600 });
      expect(readFileSync(path, 'utf8')).toMatch(/BEGIN EC PARAMETERS[\s\S]*BEGIN EC PRIVATE KEY/);
      expectKey(parseFile(path), opensshPublic(path), 'sec1');
    });
  });

  describe('3DES, PKCS#12 PBE-SHA1-3DES and scrypt (openssl genrsa -des3, -traditional -des3, pkcs8 -v1 / -scrypt)', () => {
    /** Each protection the tester's repro uses, made from a plain OpenSSL key of `kind`. */
    const FORMATS: { name: string; make: (plain: string, out: string, kind: 'rsa' | 'ec', pass: string) => string[][]; format: PrivateKey['format']; marker: RegExp; detail: RegExp }[] = [
      {
        name: 'PKCS#8 PBES2 DES-EDE3-CBC (genrsa -des3 / pkcs8 -v2 des3)',
        make: (plain, out, kind, pass) => [kind === 'rsa' ? ['genrsa', '-des3', '-passout', `pass:${pass}`, '-out', out, '2048'] : ['pkcs8', '-topk8', '-in', plain, '-v2', 'des3', '-passout', `pass:${pass}`, '-out', out]],
        format: 'pkcs8',
        marker: /BEGIN ENCRYPTED PRIVATE KEY/,
        detail: /PBES2, PBKDF2 HMAC-SHA-256 × 2048, DES-EDE3-CBC/,
      },
      {
        name: 'legacy PEM DEK-Info DES-EDE3-CBC (rsa/ec -traditional -des3)',
        make: (plain, out, kind, pass) => [[kind, '-in', plain, ...(kind === 'rsa' ? ['-traditional'] : []), '-des3', '-passout', `pass:${pass}`, '-out', out]],
        format: 'pkcs1',
        marker: /Proc-Type: 4,ENCRYPTED\s+DEK-Info: DES-EDE3-CBC,[0-9A-F]{16}/,
        detail: /legacy PEM encryption DES-EDE3-CBC/,
      },
      {
        name: 'PKCS#8 PKCS#12 PBE-SHA1-3DES (pkcs8 -v1 PBE-SHA1-3DES)',
        make: (plain, out, _kind, pass) => [['pkcs8', '-topk8', '-in', plain, '-v1', 'PBE-SHA1-3DES', '-passout', `pass:${pass}`, '-out', out]],
        format: 'pkcs8',
        marker: /BEGIN ENCRYPTED PRIVATE KEY/,
        detail: /PKCS#12 PBE, SHA-1 × 2048, DES-EDE3-CBC/,
      },
      {
        name: 'PKCS#8 PBES2 scrypt (pkcs8 -scrypt)',
        make: (plain, out, _kind, pass) => [['pkcs8', '-topk8', '-in', plain, '-scrypt', '-passout', `pass:${pass}`, '-out', out]],
        format: 'pkcs8',
        marker: /BEGIN ENCRYPTED PRIVATE KEY/,
        detail: /PBES2, scrypt N=16384 r=8 p=1, AES-256-CBC/,
      },
    ];
    const plainKeys = new Map<string, string>();
    function plainKey(kind: 'rsa' | 'ec'): string {
      let p = plainKeys.get(kind);
      if (!p) {
        p = tmp(`ossl-${kind}.pem`);
        execFileSync(OPENSSL, kind === 'rsa' ? ['genrsa', '-out', p, '2048'] : ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', p], { stdio: 'pipe' });
        plainKeys.set(kind, p);
      }
      return p;
    }
    function make(f: (typeof FORMATS)[number], kind: 'rsa' | 'ec', pass = PASS): string {
      const out = tmp(`ossl-${kind}-enc.pem`);
      for (const args of f.make(plainKey(kind), out, kind, pass)) execFileSync(OPENSSL, args, { stdio: 'pipe' });
      writeFileSync(out, readFileSync(out), { mode: 0o600 });
      return out;
    }

    for (const f of FORMATS) {
      for (const kind of ['rsa', 'ec'] as const) {
        it(`${kind}: ${f.name}: right, wrong and no passphrase; pure TypeScript and OpenSSL 3DES; what ssh-keygen -y derives`, () => {
          const file = make(f, kind);
          const text = readFileSync(file, 'utf8');
          expect(text).toMatch(f.marker);
          const pub = opensshPublic(file, PASS);
          const format = f.format === 'pkcs1' && kind === 'ec' ? 'sec1' : f.format;
          expectKey(parseFile(file, PASS), pub, format);
          expect(publicLine(parsePrivateKey(text, { passphrase: PASS, crypto: nodeCryptoProvider }))).toBe(pub);
          expectKeyError(() => parseFile(file, WRONG), 'ERR_KEY_PASSPHRASE', [file, /incorrect passphrase supplied to decrypt private key/]);
          expectKeyError(() => parseFile(file), 'ERR_KEY_ENCRYPTED', [f.detail, /a passphrase is needed/]);
          // The parser pure-ssh/web exports leaves this module out unless given it.
          expectKeyError(() => parseWithout(text, { passphrase: PASS }), 'ERR_KEY_FORMAT', [/needs the extraKeyDecryption option \(from pure-ssh\/key-decryption\)/]);
          expect(publicLine(parseWithout(text, { passphrase: PASS, extraKeyDecryption }))).toBe(pub);
        });
      }
    }

    it('a non-ASCII passphrase (UTF-8 → BMPString for PKCS#12; bytes for PBKDF2, scrypt and EVP_BytesToKey)', () => {
      const pass = 'clé ünïcode ✓';
      for (const f of FORMATS) {
        const file = make(f, 'ec', pass);
        expectKey(parseFile(file, pass), opensshPublic(file, pass), f.format === 'pkcs1' ? 'sec1' : f.format);
      }
    });

    it('scrypt parameters OpenSSL 3 refuses (its 32 MiB limit, N not a power of two) → ERR_KEY_FORMAT before any allocation, as ssh 9.2 refuses them', () => {
      const file = make(FORMATS[3]!, 'ec');
      const der = Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
      // scrypt-params after the salt: INTEGER 16384 (N), INTEGER 8 (r), INTEGER 1 (p).
      const at = der.indexOf(Buffer.from('020240000201080201', 'hex'));
      expect(at).toBeGreaterThan(0);
      const variants: [string, RegExp][] = [
        ['020240000201100201', /scrypt N=16384 r=16 p=1 refused: they need 33 MiB, over OpenSSL's limit of 32 MiB/],
        ['02027ffe0201080201', /N = 32766 is not a power of two/],
      ];
      for (const [bytes, message] of variants) {
        const bad = Buffer.from(der);
        Buffer.from(bytes, 'hex').copy(bad, at);
        const path = tmp('scrypt-bad.pem');
        writeFileSync(path, `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${bad.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`, { mode: 0o600 });
        expectKeyError(() => parseFile(path, PASS), 'ERR_KEY_FORMAT', [message]);
        expect(() => opensshPublic(path, PASS)).toThrow();
      }
    });
  });

  describe('made by puttygen', () => {
    it('Argon2i and Argon2d, and the default parameters (Argon2id, 8 MiB, time-calibrated passes)', () => {
      const { path, pub } = baseKey(TYPES[0]!);
      for (const params of ['version=3,kdf=argon2i,passes=2', 'version=3,kdf=argon2d,passes=2,memory=1024,parallelism=2', 'version=3']) {
        const enc = toPpk(path, 'kdf', params, PASS);
        expectKey(parseFile(enc, PASS), pub, 'ppk');
      }
    }, 30_000);

    it('a non-ASCII comment: the MAC covers its bytes, whether the file is given as bytes or text', () => {
      const { path, pub } = baseKey(TYPES[1]!);
      for (const version of [2, 3]) {
        const file = toPpk(path, 'utf8', `version=${version},passes=1`, PASS, 'clé ünïcode ✓');
        const fromBytes = parseFile(file, PASS);
        expectKey(fromBytes, pub, 'ppk');
        expect(fromBytes.comment).toBe('clé ünïcode ✓');
        expect(parsePrivateKey(readFileSync(file, 'utf8'), { passphrase: PASS }).comment).toBe('clé ünïcode ✓');
      }
    });

    it('Argon2 parameters a hostile file could use to exhaust memory → ERR_KEY_FORMAT before anything is allocated', () => {
      const { path } = baseKey(TYPES[0]!);
      const text = readFileSync(toPpk(path, 'argon2-limits', 'version=3,passes=1', PASS), 'utf8');
      const cases: [string, string, RegExp][] = [
        ['Argon2-Memory', '2000000', /Argon2-Memory 2000000 KiB is over pure-ssh's limit of 1048576 KiB/],
        ['Argon2-Memory', '4', /Argon2 parameters out of range \(memory 4 KiB/],
        ['Argon2-Passes', '0', /Argon2 parameters out of range .*passes 0/],
        ['Argon2-Parallelism', '0', /Argon2 parameters out of range .*parallelism 0/],
      ];
      for (const [field, value, message] of cases) {
        const edited = text.replace(new RegExp(`^${field}: .*$`, 'm'), `${field}: ${value}`);
        expectKeyError(() => parsePrivateKey(edited, { passphrase: PASS }), 'ERR_KEY_FORMAT', [message]);
      }
    });

    it('an edited comment in an unencrypted file → ERR_KEY_FORMAT (the MAC covers it)', () => {
      const { path } = baseKey(TYPES[0]!);
      const file = toPpk(path, 'edit', 'version=3');
      const edited = readFileSync(file, 'utf8').replace(/^Comment: .*$/m, 'Comment: mallory');
      expectKeyError(() => parsePrivateKey(edited, 'edited.ppk'), 'ERR_KEY_FORMAT', ['edited.ppk', /MAC does not verify/]);
    });
  });

  describe('public key files (parsePublicKeyFile)', () => {
    it('ssh-keygen .pub, RFC 4716 from ssh-keygen -e and from puttygen', () => {
      for (const t of [TYPES[0]!, TYPES[4]!]) {
        const { path, pub } = baseKey(t);
        const dotPub = parsePublicKeyFile(readFileSync(`${path}.pub`, 'utf8'));
        expect(`${dotPub.keyType} ${b64(dotPub.keyBlob)}`).toBe(pub);
        expect(dotPub.comment).toBe(`${t.name}@keyformats`);
        const rfc4716 = parsePublicKeyFile(execFileSync(SSH_KEYGEN, ['-e', '-f', `${path}.pub`], { encoding: 'utf8' }));
        expect(`${rfc4716.keyType} ${b64(rfc4716.keyBlob)}`).toBe(pub);
        const putty = tmp('putty.pub');
        execFileSync(PUTTYGEN, [path, '-O', 'public', '-o', putty, '-C', 'a "quoted" comment']);
        const fromPutty = parsePublicKeyFile(readFileSync(putty, 'utf8'));
        expect(`${fromPutty.keyType} ${b64(fromPutty.keyBlob)}`).toBe(pub);
        expect(fromPutty.comment).toBe('a "quoted" comment');
      }
      expectKeyError(() => parsePublicKeyFile('# nothing\n\n'), 'ERR_KEY_FORMAT');
      expectKeyError(() => parsePublicKeyFile('---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n'), 'ERR_KEY_FORMAT');
    });
  });

  describe('signatures', () => {
    it('ssh-keygen -Y verify refuses a signature over another message (the check can fail)', () => {
      const key = parseFile(baseKey(TYPES[0]!).path);
      expect(() => sshsigVerify(key, 'ssh-ed25519', true)).toThrow();
    });
  });
});

describeInteropTools('every key format logs in to sshd through connect({ privateKey, passphrase })', () => {
  const sshd = sshdSuite();

  /** Each format once, mixing key types; made on the fly from the base keys. */
  const logins: { name: string; make: () => string; passphrase?: string }[] = [
    { name: 'OpenSSH ed25519, chacha20-poly1305/bcrypt', make: () => recode(baseKey(TYPES[0]!).path, 'i-openssh', ['-N', PASS, '-a', '4', '-Z', 'chacha20-poly1305@openssh.com']), passphrase: PASS },
    { name: 'PKCS#1 PEM rsa, AES-128-CBC', make: () => recode(baseKey(TYPES[4]!).path, 'i-pkcs1', ['-N', PASS, '-m', 'PEM']), passphrase: PASS },
    { name: 'SEC1 PEM ecdsa-p384, unencrypted', make: () => recode(baseKey(TYPES[2]!).path, 'i-sec1', ['-N', '', '-m', 'PEM']) },
    { name: 'PKCS#8 ecdsa-p256, PBES2', make: () => recode(baseKey(TYPES[1]!).path, 'i-pkcs8', ['-N', PASS, '-m', 'PKCS8']), passphrase: PASS },
    { name: 'PuTTY PPK v2 ecdsa-p521, aes256-cbc', make: () => toPpk(baseKey(TYPES[3]!).path, 'i-ppk2', 'version=2', PASS), passphrase: PASS },
    { name: 'PuTTY PPK v3 rsa, Argon2id', make: () => toPpk(baseKey(TYPES[4]!).path, 'i-ppk3', 'version=3,passes=1', PASS), passphrase: PASS },
    { name: 'PKCS#8 rsa, PBES2 DES-EDE3-CBC (openssl genrsa -des3)', make: () => openssl('i-genrsa-des3', (out) => ['genrsa', '-des3', '-passout', `pass:${PASS}`, '-out', out, '2048']), passphrase: PASS },
    {
      name: 'SEC1 PEM ecdsa-p256, DEK-Info DES-EDE3-CBC (openssl ec -des3)',
      make: () => openssl('i-ec-des3', (out) => ['ec', '-in', recode(baseKey(TYPES[1]!).path, 'i-sec1-plain', ['-N', '', '-m', 'PEM']), '-des3', '-passout', `pass:${PASS}`, '-out', out]),
      passphrase: PASS,
    },
    {
      name: 'PKCS#8 rsa, PKCS#12 PBE-SHA1-3DES',
      make: () => openssl('i-pbe-sha1-3des', (out) => ['pkcs8', '-topk8', '-in', recode(baseKey(TYPES[4]!).path, 'i-rsa-plain', ['-N', '', '-m', 'PEM']), '-v1', 'PBE-SHA1-3DES', '-passout', `pass:${PASS}`, '-out', out]),
      passphrase: PASS,
    },
    {
      name: 'PKCS#8 ecdsa-p384, PBES2 scrypt',
      make: () => openssl('i-scrypt', (out) => ['pkcs8', '-topk8', '-in', recode(baseKey(TYPES[2]!).path, 'i-p384-plain', ['-N', '', '-m', 'PEM']), '-scrypt', '-passout', `pass:${PASS}`, '-out', out]),
      passphrase: PASS,
    },
  ];

  /** A file written by `openssl` with `args(out)`. */
  function openssl(name: string, args: (out: string) => string[]): string {
    const out = tmp(name);
    execFileSync(OPENSSL, args(out), { stdio: 'pipe' });
    return out;
  }

  for (const login of logins) {
    it(login.name, async () => {
      const file = login.make();
      const text = readFileSync(file, 'utf8');
      const parsed = parsePrivateKey(text, { passphrase: login.passphrase });
      const fingerprint = fingerprintSha256(parsed.publicKeyBlob);
      appendFileSync(join(sshd.dir, 'authorized_keys'), `${publicLine(parsed)}\n`);
      parsed.dispose();
      const ssh = await connectTo(sshd, { privateKey: text, passphrase: login.passphrase });
      await ssh.close();
      // sshd names the key that logged in by its fingerprint.
      await expect.poll(() => sshd.logs(), { timeout: 5000 }).toContain(`Accepted publickey for root from 127.0.0.1`);
      await expect.poll(() => sshd.logs(), { timeout: 5000 }).toContain(fingerprint);
    }, 30_000);
  }

  // As `ssh -i`: a file that cannot be decrypted is skipped with ssh's line through `warn`
  // (identity-files-skip.test.ts); with no other key the login then fails.
  it('a wrong passphrase → the file is skipped with ssh\'s line, and connect rejects with ERR_AUTH_FAILED', async () => {
    const file = recode(baseKey(TYPES[0]!).path, 'i-wrong', ['-N', PASS, '-a', '2']);
    const warnings: string[] = [];
    await expect(connectTo(sshd, { privateKey: undefined, identityFiles: [file], passphrase: WRONG, warn: (m: string) => warnings.push(m) })).rejects.toMatchObject({ code: 'ERR_AUTH_FAILED' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^Load key "${file}": incorrect passphrase supplied to decrypt private key`));
  }, 30_000);
});
