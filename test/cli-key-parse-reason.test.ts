/**
 * `Load key "PATH": REASON` for a key file ssh(1) cannot parse, beside ssh 9.2: "error in
 * libcrypto" where its last resort, OpenSSL's PEM reader, finds no key to decode (OpenSSH sshkey.c
 * sshkey_parse_private_pem_fileblob, translate_libcrypto_error's SSH_ERR_LIBCRYPTO_ERROR: no PEM
 * armour, an unknown label, a body that is no base64 or empty, an OpenSSH armour that
 * sshkey_parse_private2 refuses as a format error, damaged DER inside a PKCS#8 file's
 * ECPrivateKey: OpenSSL's EC decoder), "invalid format" where it decodes a PEM body
 * whose DER is damaged (OpenSSL's ASN.1 errors, SSH_ERR_INVALID_FORMAT). Keys made by ssh-keygen.
 */
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli } from './harness/proc.js';

const execFileP = promisify(execFile);

/** A PEM file's armour lines and its body's bytes. */
function pemParts(text: string): { head: string; foot: string; body: Buffer; lines: string[] } {
  const lines = text.trim().split('\n');
  return { head: lines[0]!, foot: lines[lines.length - 1]!, body: Buffer.from(lines.slice(1, -1).join(''), 'base64'), lines: lines.slice(1, -1) };
}

/** PKCS#8 ecPublicKey DER whose inner ECPrivateKey's `version 1, privateKey OCTET STRING (32)` has the string's tag turned NULL-ish (0x05). */
function mistagged(der: Buffer): Buffer {
  const at = der.indexOf(Buffer.from('0201010420', 'hex'), 20);
  if (at < 0) throw new Error('no ECPrivateKey version and privateKey in the PKCS#8 DER');
  const out = Buffer.from(der);
  out[at + 3] = 0x05;
  return out;
}

function pem(head: string, body: Buffer, foot: string): string {
  return `${head}\n${body.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n${foot}\n`;
}

describeInteropWithHome('CLI: Load key reasons for key files that do not parse, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();
  const expected = new Map<string, 'error in libcrypto' | 'invalid format'>();
  /** Both clients' arguments for one key file, `-i path` alone, against the suite's sshd (-W: no session). */
  const oneKeyArgs = (path: string) => [
    '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-i', path, '-W', '127.0.0.1:1', sshd.host,
  ];

  beforeAll(async () => {
    const make = async (name: string, ...opts: string[]) => {
      const path = join(home, name);
      await execFileP('ssh-keygen', ['-q', '-N', '', '-C', '', ...opts, '-f', path]);
      return readFile(path, 'utf8');
    };
    const rsaPem = pemParts(await make('rsa_pem', '-t', 'rsa', '-b', '2048', '-m', 'PEM'));
    const ecPkcs8 = pemParts(await make('ec_pkcs8', '-t', 'ecdsa', '-m', 'PKCS8'));
    const ed = pemParts(await make('ed_openssh', '-t', 'ed25519'));
    const files: [string, string, 'error in libcrypto' | 'invalid format'][] = [
      ['text', 'not a key\n', 'error in libcrypto'],
      ['empty', '', 'error in libcrypto'],
      ['pem-certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'error in libcrypto'],
      ['pem-unknown-label', '-----BEGIN FOO PRIVATE KEY-----\nAAAA\n-----END FOO PRIVATE KEY-----\n', 'error in libcrypto'],
      ['rsa-pem-bad-base64', [rsaPem.head, ...rsaPem.lines.map((l) => `!!!!${l.slice(4)}`), rsaPem.foot, ''].join('\n'), 'error in libcrypto'],
      ['rsa-pem-empty-body', `${rsaPem.head}\n${rsaPem.foot}\n`, 'error in libcrypto'],
      ['pkcs8-no-end-line', [ecPkcs8.head, ...ecPkcs8.lines, ''].join('\n'), 'error in libcrypto'],
      ['openssh-bad-base64', [ed.head, ...ed.lines.map((l) => `!!!!${l.slice(4)}`), ed.foot, ''].join('\n'), 'error in libcrypto'],
      ['openssh-bad-magic', pem(ed.head, Buffer.concat([Buffer.from('openssh-key-v0\0'), ed.body.subarray(15)]), ed.foot), 'error in libcrypto'],
      ['openssh-no-end-line', [ed.head, ...ed.lines, ''].join('\n'), 'error in libcrypto'],
      // The wrapped ECPrivateKey (RFC 5915 §3) with its privateKey OCTET STRING mistagged.
      ['pkcs8-ec-inner-damaged', pem(ecPkcs8.head, mistagged(ecPkcs8.body), ecPkcs8.foot), 'error in libcrypto'],
      ['rsa-pem-der-cut', pem(rsaPem.head, rsaPem.body.subarray(0, rsaPem.body.length - 20), rsaPem.foot), 'invalid format'],
      ['pkcs8-der-cut', pem(ecPkcs8.head, ecPkcs8.body.subarray(0, ecPkcs8.body.length - 20), ecPkcs8.foot), 'invalid format'],
      ['rsa-pem-half-body', [rsaPem.head, ...rsaPem.lines.slice(0, rsaPem.lines.length >> 1), rsaPem.foot, ''].join('\n'), 'invalid format'],
      ['rsa-pem-zero-der', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n', 'invalid format'],
    ];
    for (const [name, text, reason] of files) {
      const path = join(home, `bad-${name}`);
      await writeFile(path, text, { mode: 0o600 });
      expected.set(path, reason);
    }
  });

  it('each file: the same Load key line from ssh and pure-ssh', async () => {
    const paths = [...expected.keys()];
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      ...paths.flatMap((p) => ['-i', p]), '-W', '127.0.0.1:1', sshd.host,
    ];
    // In the files' order: each at its turn, a damaged OpenSSH armour too (ssh.c keeps it as
    // `type -1`; sshconnect2.c load_identity_file reports it when it is tried).
    const want = paths.map((p) => `Load key "${p}": ${expected.get(p)}`);
    for (const client of ['ssh', 'pure-ssh'] as const) {
      const { stderr } = await startCli(client, args, { env: cliEnv(home) }).done;
      const lines = stderr.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('Load key '));
      expect(lines, client).toEqual(want);
    }
  }, 60_000);

  it('a damaged private half whose FILE.pub the server accepted: load_identity_file\'s Load key line, no "signing failed"', async () => {
    // The authorized key's file cut before its END line (and mid-body), its .pub beside it: ssh
    // offers the .pub, the server accepts it, then sshconnect2.c sign_and_send_pubkey →
    // load_identity_file cannot parse the private half.
    const key = await readFile(sshd.clientKeyPath, 'utf8');
    // PROTOCOL.key §1 of an unencrypted key: magic, "none", "none", "", uint32 nkeys (offset
    // 35), the public key string, uint32 private section length, the section (padded 1, 2, 3...).
    const k = pemParts(key);
    const nkeysAt = 35;
    const lengthAt = nkeysAt + 4 + 4 + k.body.readUInt32BE(nkeysAt + 4);
    const edited = (edit: (b: Buffer) => Buffer) => pem(k.head, edit(Buffer.from(k.body)), k.foot);
    const paths: string[] = [];
    for (const [name, text] of [
      ['cut-before-end', key.slice(0, key.indexOf('-----END'))],
      ['cut-mid-body', key.slice(0, key.length >> 1)],
      // sshkey.c private2_decrypt / sshkey_parse_private2's SSH_ERR_INVALID_FORMAT: ssh(1) then
      // tries the PEM parser, and says its "error in libcrypto".
      ['two-keys', edited((b) => (b.writeUInt32BE(2, nkeysAt), b))],
      ['section-too-long', edited((b) => (b.writeUInt32BE(b.readUInt32BE(lengthAt) + 8, lengthAt), b))],
      ['trailing-bytes', edited((b) => Buffer.concat([b, Buffer.alloc(4)]))],
      ['bad-padding', edited((b) => (b[b.length - 1] = 0x09, b))],
    ] as const) {
      const path = join(home, `accepted-${name}`);
      await writeFile(path, text, { mode: 0o600 });
      await writeFile(`${path}.pub`, `${sshd.clientPublicKey}\n`);
      paths.push(path);
    }
    for (const path of paths) {
      const args = oneKeyArgs(path);
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const { stderr } = await startCli(client, args, { env: cliEnv(home) }).done;
        const lines = stderr.replace(/\r/g, '').split('\n').filter((l) => /^(Load key|sign_and_send_pubkey)/.test(l));
        expect(lines, `${client} ${path}`).toEqual([`Load key "${path}": error in libcrypto`]);
      }
    }
  }, 60_000);
  it('PEM label vs body as OpenSSL 3 reads it: a PKCS#8 key under its own type\'s label or ENCRYPTED PRIVATE KEY loads, under another type\'s label is "error in libcrypto"', async () => {
    // OpenSSL 3's decoder behind ssh 9.2's PEM_read_bio_PrivateKey takes a PrivateKeyInfo under
    // `RSA|EC|DSA PRIVATE KEY` when its algorithm is that type (else the decoder fails), and an
    // unencrypted PrivateKeyInfo under `ENCRYPTED PRIVATE KEY`.
    const make = async (name: string, type: string) => {
      const path = join(home, name);
      await execFileP('ssh-keygen', ['-q', '-N', '', '-C', '', '-t', type, '-m', 'PKCS8', '-f', path]);
      await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${path}.pub`, 'utf8'));
      return readFile(path, 'utf8');
    };
    const rsa = await make('label_rsa_p8', 'rsa');
    const ec = await make('label_ec_p8', 'ecdsa');
    const relabel = (text: string, label: string) => text.replace(/ PRIVATE KEY-----/g, ` ${label}PRIVATE KEY-----`);
    const cases: [string, string, string | undefined][] = [
      ['rsa-p8-rsa-label', relabel(rsa, 'RSA '), undefined],
      ['ec-p8-ec-label', relabel(ec, 'EC '), undefined],
      ['rsa-p8-encrypted-label', relabel(rsa, 'ENCRYPTED '), undefined],
      ['ec-p8-encrypted-label', relabel(ec, 'ENCRYPTED '), undefined],
      ['rsa-p8-ec-label', relabel(rsa, 'EC '), 'error in libcrypto'],
      ['rsa-p8-dsa-label', relabel(rsa, 'DSA '), 'error in libcrypto'],
      ['ec-p8-rsa-label', relabel(ec, 'RSA '), 'error in libcrypto'],
    ];
    for (const [name, text, reason] of cases) {
      const path = join(home, `label-${name}`);
      await writeFile(path, text, { mode: 0o600 });
      const args = oneKeyArgs(path);
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const { stderr, code } = await startCli(client, args, { env: cliEnv(home) }).done;
        const lines = stderr.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('Load key '));
        expect({ lines, authenticated: !/Permission denied/.test(stderr) }, `${client} ${name} (exit ${code})`).toEqual({
          lines: reason ? [`Load key "${path}": ${reason}`] : [],
          authenticated: reason === undefined,
        });
      }
    }
  }, 60_000);
  it('a public key blob is decoded strictly where ssh 9.2 does (sshkey_from_blob): a damaged FILE.pub falls back to the key file\'s own; a damaged clear part is `type -1`, then Load key with ssh\'s reason', async () => {
    const ecPath = join(home, 'strict_ec');
    await execFileP('ssh-keygen', ['-q', '-N', '', '-C', '', '-t', 'ecdsa', '-f', ecPath]);
    await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${ecPath}.pub`, 'utf8'));
    const edText = await readFile(sshd.clientKeyPath, 'utf8');
    const ecText = await readFile(ecPath, 'utf8');
    /** The SSH strings of a blob. */
    const strings = (b: Buffer) => {
      const out: Buffer[] = [];
      for (let o = 0; o < b.length; o += 4 + b.readUInt32BE(o)) out.push(b.subarray(o + 4, o + 4 + b.readUInt32BE(o)));
      return out;
    };
    const str = (...parts: Buffer[]) => Buffer.concat(parts.flatMap((p) => [Buffer.from([0, 0, 0, 0].map((_, i) => (p.length >>> (24 - 8 * i)) & 0xff)), p]));
    /** An OpenSSH key file (PROTOCOL.key §1) with its clear public key (after magic, 3 strings, nkeys) replaced. */
    const withPublic = (text: string, edit: (pub: Buffer) => Buffer) => {
      const k = pemParts(text);
      let at = 15;
      for (let i = 0; i < 3; i++) at += 4 + k.body.readUInt32BE(at);
      at += 4;
      const pub = k.body.subarray(at + 4, at + 4 + k.body.readUInt32BE(at));
      return pem(k.head, Buffer.concat([k.body.subarray(0, at), str(edit(pub)), k.body.subarray(at + 4 + pub.length)]), k.foot);
    };
    const raw = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64');
    const edPub = raw(sshd.clientPublicKey);
    const ecPub = raw(await readFile(`${ecPath}.pub`, 'utf8'));
    const fingerprint = async (pubLine: string) => {
      const tmp = join(home, 'fp.pub');
      await writeFile(tmp, `${pubLine}\n`);
      return (await execFileP('ssh-keygen', ['-l', '-f', tmp])).stdout.split(' ')[1]!;
    };
    const edFingerprint = await fingerprint(sshd.clientPublicKey);
    const ecFingerprint = await fingerprint((await readFile(`${ecPath}.pub`, 'utf8')).trim());
    const rsaPath = join(home, 'strict_rsa');
    await execFileP('ssh-keygen', ['-q', '-N', '', '-C', '', '-t', 'rsa', '-b', '2048', '-f', rsaPath]);
    await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${rsaPath}.pub`, 'utf8'));
    const rsaText = await readFile(rsaPath, 'utf8');
    const rsaPub = raw(await readFile(`${rsaPath}.pub`, 'utf8'));
    const rsaFingerprint = await fingerprint((await readFile(`${rsaPath}.pub`, 'utf8')).trim());
    /** The RSA blob with a leading 00 before field `i` (1: e, 2: n): a non-minimal mpint. */
    const rsaPadded = (pub: Buffer, i: number) => str(...strings(pub).map((s, j) => (j === i ? Buffer.concat([Buffer.alloc(1), s]) : s)));
    // [name, key file, FILE.pub or none, the lines both say (-v), authenticated]
    const cases: [string, string, string | undefined, (path: string) => string[], boolean][] = [
      // (a) a FILE.pub whose blob has a byte after the key: ssh reads the key file's own public half.
      ['pub-trailing-byte', edText, `ssh-ed25519 ${Buffer.concat([edPub, Buffer.alloc(1)]).toString('base64')} x`,
        (p) => [`debug1: identity file ${p} type 3`, `debug1: Offering public key: ${p} ED25519 ${edFingerprint} explicit`], true],
      ['pub-ecdsa-off-curve', ecText, `ecdsa-sha2-nistp256 ${str(...strings(ecPub).map((s, i) => (i === 2 ? Buffer.concat([s.subarray(0, -1), Buffer.from([s[s.length - 1]! ^ 1])]) : s))).toString('base64')} x`,
        (p) => [`debug1: identity file ${p} type 2`, `debug1: Offering public key: ${p} ECDSA ${ecFingerprint} explicit`], true],
      // (b) the clear Ed25519 key's length 31: sshkey_froms' SSH_ERR_INVALID_FORMAT ("error in libcrypto" after the PEM fallback).
      ['clear-ed25519-length-31', withPublic(edText, (pub) => Buffer.concat([pub.subarray(0, 15), Buffer.from([0, 0, 0, 31]), pub.subarray(19)])), undefined,
        (p) => [`debug1: identity file ${p} type -1`, `Load key "${p}": error in libcrypto`], false],
      // (c) an unknown key type: SSH_ERR_KEY_TYPE_UNKNOWN.
      ['clear-type-unknown', withPublic(edText, (pub) => Buffer.concat([str(Buffer.from('ssh-ed25518')), pub.subarray(15)])), undefined,
        (p) => [`debug1: identity file ${p} type -1`, `Load key "${p}": unknown or unsupported key type`], false],
      ['clear-ecdsa-other-curve', withPublic(ecText, (pub) => str(...strings(pub).map((s, i) => (i === 1 ? Buffer.from('nistp384') : s)))), undefined,
        (p) => [`debug1: identity file ${p} type -1`, `Load key "${p}": elliptic curve does not match`], false],
      ['clear-ecdsa-off-curve', withPublic(ecText, (pub) => str(...strings(pub).map((s, i) => (i === 2 ? Buffer.concat([s.subarray(0, -1), Buffer.from([s[s.length - 1]! ^ 1])]) : s)))), undefined,
        (p) => [`debug1: identity file ${p} type -1`, `Load key "${p}": error in libcrypto`], false],
      // An RSA mpint with a leading zero: sshbuf_get_bignum2 trims it, and ssh offers, fingerprints
      // and compares the re-encoded key (sshkey_to_blob, sshkey_equal_public), so it signs in.
      ['pub-rsa-e-leading-zero', rsaText, `ssh-rsa ${rsaPadded(rsaPub, 1).toString('base64')} x`,
        (p) => [`debug1: identity file ${p} type 0`, `debug1: Offering public key: ${p} RSA ${rsaFingerprint} explicit`], true],
      ['pub-rsa-n-leading-zero', rsaText, `ssh-rsa ${rsaPadded(rsaPub, 2).toString('base64')} x`,
        (p) => [`debug1: identity file ${p} type 0`, `debug1: Offering public key: ${p} RSA ${rsaFingerprint} explicit`], true],
      ['clear-rsa-e-leading-zero', withPublic(rsaText, (pub) => rsaPadded(pub, 1)), undefined,
        (p) => [`debug1: identity file ${p} type 0`, `debug1: Offering public key: ${p} RSA ${rsaFingerprint} explicit`], true],
    ];
    for (const [name, text, pub, want, authenticated] of cases) {
      const path = join(home, `strict-${name}`);
      await writeFile(path, text, { mode: 0o600 });
      if (pub) await writeFile(`${path}.pub`, `${pub}\n`);
      const args = ['-v', ...oneKeyArgs(path)];
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const { stderr } = await startCli(client, args, { env: cliEnv(home) }).done;
        const lines = stderr.replace(/\r/g, '').split('\n').filter((l) => l.startsWith(`debug1: identity file ${path} `) || /^(Load key|debug1: Offering)/.test(l));
        expect({ lines, authenticated: /Authenticated to /.test(stderr) }, `${client} ${name}`).toEqual({ lines: want(path), authenticated });
      }
    }
  }, 120_000);
  it('damaged OpenSSH key files (PROTOCOL.key): the reason ssh 9.2 gives in private2_decrypt\'s and sshkey_private_deserialize\'s order (break38 F9)', async () => {
    const keyOf = async (name: string, type: string) => {
      const path = join(home, name);
      await execFileP('ssh-keygen', ['-q', '-N', '', '-C', '', '-t', type, '-f', path]);
      await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${path}.pub`, 'utf8'));
      return readFile(path, 'utf8');
    };
    const [edText, ecText, rsaText] = [await readFile(sshd.clientKeyPath, 'utf8'), await keyOf('f9_ec', 'ecdsa'), await keyOf('f9_rsa', 'rsa')];
    // Encrypted, so that the passphrase needed comes before the damage found below it.
    const encPath = join(home, 'f9_enc');
    await execFileP('ssh-keygen', ['-q', '-N', 'secret', '-C', '', '-t', 'ed25519', '-f', encPath]);
    await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${encPath}.pub`, 'utf8'));
    const encText = await readFile(encPath, 'utf8');
    /**
     * Offsets in an unencrypted OpenSSH key's body (PROTOCOL.key §1, §3): magic (15 bytes),
     * string ciphername, kdfname, kdfoptions, uint32 nkeys, string publickey, uint32 section
     * length, then checkint ×2, string keytype and the key's fields.
     */
    const layout = (b: Buffer) => {
      let at = 15;
      const mark = () => {
        const o = at;
        at += 4 + b.readUInt32BE(at);
        return o;
      };
      const cipher = mark(), kdf = mark();
      mark();
      at += 4;
      const pub = mark(), section = at;
      at += 4 + 8;
      const type = mark(), fields = at;
      return { cipher, kdf, pub, section, type, fields };
    };
    const edit = (text: string, change: (b: Buffer, at: ReturnType<typeof layout>) => Buffer) => {
      const k = pemParts(text);
      const b = Buffer.from(k.body);
      return pem(k.head, change(b, layout(b)), k.foot);
    };
    const flip = (b: Buffer, at: number) => ((b[at]! ^= 1), b);
    const cases: [string, string, string | undefined][] = [
      // private2_decrypt: SSH_ERR_KEY_UNKNOWN_CIPHER for an unknown cipher or KDF.
      ['cipher-unknown', edit(edText, (b, at) => (b.write('nona', at.cipher + 4), b)), 'key encrypted using unsupported cipher'],
      ['kdf-unknown', edit(edText, (b, at) => (b.write('nona', at.kdf + 4), b)), 'key encrypted using unsupported cipher'],
      // sshbuf_get_cstring: a NUL inside is SSH_ERR_INVALID_FORMAT (then the PEM parser's error).
      ['cipher-nul-inside', edit(edText, (b, at) => (b[at.cipher + 6] = 0, b)), 'error in libcrypto'],
      // The magic's NUL gone: the cipher name's length is read one byte late, far too long.
      ['magic-without-nul', edit(edText, (b) => Buffer.concat([b.subarray(0, 14), b.subarray(15)])), 'incomplete message'],
      ['clear-public-length-huge', edit(edText, (b, at) => (b.writeUInt32BE(0xfffffff0, at.pub), b)), 'string is too large'],
      // sshkey_private_deserialize: a type ssh knows no sshkey_impl of is SSH_ERR_INTERNAL_ERROR.
      ['private-type-unknown', edit(edText, (b, at) => (b.write('8', at.type + 4 + 10), b)), 'unexpected internal error'],
      ['private-field-cut', edit(edText, (b, at) => (b.writeUInt32BE(0xfff0, at.fields), b)), 'incomplete message'],
      ['private-field-huge', edit(edText, (b, at) => (b.writeUInt32BE(0xfffffff0, at.fields), b)), 'string is too large'],
      // The public key in the private fields unlike the clear one: the envelope check's
      // SSH_ERR_INVALID_FORMAT, whichever check of pure-ssh's catches it first.
      ['ed25519-private-pk-flipped', edit(edText, (b, at) => flip(b, at.fields + 4 + 3)), 'error in libcrypto'],
      ['ecdsa-private-q-flipped', edit(ecText, (b, at) => flip(b, at.fields + 4 + b.readUInt32BE(at.fields) + 4 + 20)), 'error in libcrypto'],
      ['rsa-private-n-flipped', edit(rsaText, (b, at) => flip(b, at.fields + 4 + b.readUInt32BE(at.fields) - 3)), 'error in libcrypto'],
      ['rsa-private-e-flipped', edit(rsaText, (b, at) => flip(b, at.fields + 4 + b.readUInt32BE(at.fields) + 4 + 1)), 'error in libcrypto'],
      // ssh-ecdsa.c ssh_ecdsa_deserialize_public: SSH_ERR_EC_CURVE_MISMATCH.
      ['ecdsa-private-curve-other', edit(ecText, (b, at) => (b.write('nistp384', at.fields + 4), b)), 'elliptic curve does not match'],
      // private2_decrypt asks for the passphrase before it looks at the section (BatchMode: none, silent).
      ['encrypted-trailing-bytes', edit(encText, (b) => Buffer.concat([b, Buffer.alloc(4)])), undefined],
    ];
    for (const [name, text, reason] of cases) {
      const path = join(home, `f9-${name}`);
      await writeFile(path, text, { mode: 0o600 });
      const args = oneKeyArgs(path);
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const { stderr } = await startCli(client, args, { env: cliEnv(home) }).done;
        const lines = stderr.replace(/\r/g, '').split('\n').filter((l) => /^(Load key|sign_and_send_pubkey)/.test(l));
        expect(lines, `${client} ${name}`).toEqual(reason ? [`Load key "${path}": ${reason}`] : []);
      }
    }
  }, 90_000);
});
