/**
 * keys/fingerprint.ts beside ssh-keygen 9.2: `ssh-keygen -l -v -E HASH -f KEY.pub` prints the
 * fingerprint (sshkey_fingerprint, SSH_FP_DEFAULT) and the random art (SSH_FP_RANDOMART) that ssh
 * shows with VisualHostKey; both must come out byte for byte, for each key type and size, each
 * digest FingerprintHash takes, and certificates (titled `[ED25519-CERT]`, the long form not
 * fitting in 17 columns; fingerprinted by their key).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintHashNamed } from '../src/keys/fingerprint-hashes.js';
import { keyFingerprint, publicKeyBits, randomArt, randomArtTitle } from '../src/keys/fingerprint.js';
import { plainHostKey } from '../src/keys/hostkey.js';
import { shortKeyType } from '../src/node/known-hosts-file.js';
import { base64Decode } from '../src/protocol/base64.js';
import { executable } from './harness/sshd.js';

const KEYGEN = '/usr/bin/ssh-keygen';
const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-randomart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(...args: string[]): string {
  return execFileSync(KEYGEN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A key's public line as pure-ssh reads it: its type and blob. */
function publicKey(path: string): { type: string; blob: Uint8Array } {
  const [type, b64] = readFileSync(path, 'utf8').trim().split(/\s+/);
  return { type: type!, blob: base64Decode(b64!) };
}

/** What ssh-keygen -lv prints after its first line: the art; and the fingerprint on the first line. */
function keygenView(path: string, hash: string): { fingerprint: string; art: string } {
  const out = keygen('-l', '-v', '-E', hash, '-f', path).replace(/\n$/, '');
  const [first, ...art] = out.split('\n');
  return { fingerprint: first!.split(' ')[1]!, art: art.join('\n') };
}

/** Ours: the plain key's digest, the key's own type in the title (a certificate's `-CERT` too). */
function ourView(path: string, hash: string): { fingerprint: string; art: string } {
  const { type, blob } = publicKey(path);
  const h = fingerprintHashNamed(hash)!;
  const plain = plainHostKey(blob);
  return { fingerprint: keyFingerprint(plain, h), art: randomArt(h.digest(plain), h.name, randomArtTitle(shortKeyType(type), publicKeyBits(plain))) };
}

describe.runIf(executable(KEYGEN))('random art and fingerprints, as ssh-keygen -lv prints them', () => {
  const keys: [string, string[]][] = [
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa256', ['-t', 'ecdsa', '-b', '256']],
    ['ecdsa384', ['-t', 'ecdsa', '-b', '384']],
    ['ecdsa521', ['-t', 'ecdsa', '-b', '521']],
    ['rsa1024', ['-t', 'rsa', '-b', '1024']],
    ['rsa3072', ['-t', 'rsa', '-b', '3072']],
    ['rsa4095', ['-t', 'rsa', '-b', '4095']],
  ];
  for (const [name, args] of keys) {
    it(`${name}: SHA256, MD5, SHA1, SHA384, SHA512`, () => {
      const path = join(dir, name);
      keygen('-q', ...args, '-N', '', '-C', name, '-f', path);
      for (const hash of ['sha256', 'md5', 'sha1', 'sha384', 'sha512']) {
        expect(ourView(`${path}.pub`, hash), `${name} ${hash}`).toEqual(keygenView(`${path}.pub`, hash));
      }
    });
  }

  it('certificates: `[ED25519-CERT]` (18 columns do not fit), `[ECDSA-CERT 256]`, `[RSA-CERT 3072]`; the certified key\'s fingerprint', () => {
    const ca = join(dir, 'ca');
    keygen('-q', '-t', 'ed25519', '-N', '', '-f', ca);
    for (const args of [['-t', 'ed25519'], ['-t', 'ecdsa', '-b', '256'], ['-t', 'rsa', '-b', '3072']]) {
      const path = join(dir, `host-${args[1]}`);
      keygen('-q', ...args, '-N', '', '-f', path);
      keygen('-q', '-s', ca, '-I', 'h', '-h', '-n', 'h', `${path}.pub`);
      for (const hash of ['sha256', 'md5']) expect(ourView(`${path}-cert.pub`, hash)).toEqual(keygenView(`${path}-cert.pub`, hash));
    }
    expect(ourView(join(dir, 'host-ed25519-cert.pub'), 'sha256').art.split('\n')[0]).toBe('+-[ED25519-CERT]--+');
  });

  it('the borders: the title centred with the extra dash after it, the hash name likewise', () => {
    const art = randomArt(new Uint8Array(32), 'SHA256', randomArtTitle('ED25519', 256)).split('\n');
    expect(art[0]).toBe('+--[ED25519 256]--+');
    expect(art.at(-1)).toBe('+----[SHA256]-----+');
    expect(randomArt(new Uint8Array(16), 'MD5', randomArtTitle('RSA', 3072)).split('\n').at(-1)).toBe('+------[MD5]------+');
    expect(randomArtTitle('RSA', 3072)).toBe('[RSA 3072]');
    // 17 characters: snprintf into title[17] keeps 16 of them.
    expect(randomArtTitle('ED25519-SK-CERT', 256)).toBe('[ED25519-SK-CERT');
    expect(art).toHaveLength(11);
  });
});
