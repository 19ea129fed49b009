/**
 * The tester's repro (findings tcli item 4) against a real sshd 9.2: keys that `openssl` writes
 * under 3DES, PKCS#12 PBE-SHA1-3DES or scrypt, given with -i to the built CLI (cli-bin.cjs, so
 * `npm run build` first) and to ssh 9.2 side by side, the passphrase through SSH_ASKPASS: wrong
 * first (both ask again, "Enter passphrase for key"), then right; both log in with the key. And a
 * PuTTY PPK v3 key under a passphrase (Argon2), which the CLI reads as ssh 9.2 cannot.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';
import { cliEnv, itWithHome, suiteDir } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

const PASS = 'secret1';
const OPENSSL = '/usr/bin/openssl';

/** openssl commands writing `out`, from a plain key `plain` when they need one. */
const FORMATS: { name: string; kind: 'rsa' | 'ec'; args: (plain: string, out: string) => string[] }[] = [
  { name: 'genrsa -des3 (PKCS#8 PBES2 DES-EDE3-CBC)', kind: 'rsa', args: (_p, out) => ['genrsa', '-des3', '-passout', `pass:${PASS}`, '-out', out, '2048'] },
  { name: 'rsa -traditional -des3 (DEK-Info DES-EDE3-CBC)', kind: 'rsa', args: (p, out) => ['rsa', '-in', p, '-traditional', '-des3', '-passout', `pass:${PASS}`, '-out', out] },
  { name: 'ec -des3 (DEK-Info DES-EDE3-CBC)', kind: 'ec', args: (p, out) => ['ec', '-in', p, '-des3', '-passout', `pass:${PASS}`, '-out', out] },
  { name: 'pkcs8 -v1 PBE-SHA1-3DES', kind: 'rsa', args: (p, out) => ['pkcs8', '-topk8', '-in', p, '-v1', 'PBE-SHA1-3DES', '-passout', `pass:${PASS}`, '-out', out] },
  { name: 'pkcs8 -scrypt', kind: 'ec', args: (p, out) => ['pkcs8', '-topk8', '-in', p, '-scrypt', '-passout', `pass:${PASS}`, '-out', out] },
];

/** `client` with no terminal (setsid), until it exits or `until` matches stderr (then killed). */
const run = (client: CliClient, args: string[], env: NodeJS.ProcessEnv, until?: RegExp) =>
  startCli(client, args, { env, until, detached: true, killAfterMs: 30_000 }).done;

describeInterop('3DES / PKCS#12 / scrypt key files through the CLI and ssh 9.2', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-keydec-');
  const plain: Record<'rsa' | 'ec', string> = { rsa: '', ec: '' };

  beforeAll(async () => {
    plain.rsa = join(dir, 'plain-rsa.pem');
    plain.ec = join(dir, 'plain-ec.pem');
    execFileSync(OPENSSL, ['genrsa', '-out', plain.rsa, '2048'], { stdio: 'pipe' });
    execFileSync(OPENSSL, ['ecparam', '-genkey', '-name', 'secp384r1', '-noout', '-out', plain.ec], { stdio: 'pipe' });
  }, 60_000);

  FORMATS.forEach((f, i) => {
    itWithHome(`${f.kind}: ${f.name}: wrong then right passphrase, pure-ssh and ssh log in`, async () => {
      const key = join(dir, `key${i}`);
      execFileSync(OPENSSL, f.args(plain[f.kind], key), { stdio: 'pipe' });
      chmodSync(key, 0o600);
      const pub = execFileSync('/usr/bin/ssh-keygen', ['-y', '-P', PASS, '-f', key], { encoding: 'utf8' }).trim();
      appendFileSync(join(sshd.dir, 'authorized_keys'), `${pub}\n`);
      const fingerprint = execFileSync('/usr/bin/ssh-keygen', ['-l', '-f', '-'], { input: pub, encoding: 'utf8' }).split(' ')[1]!;
      const args = ['-F', 'none', '-p', String(sshd.port), '-l', 'root', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-v'];

      for (const client of ['pure-ssh', 'ssh'] as const) {
        const home = join(dir, `home-${client}-${i}`);
        const prompts = join(dir, `prompts-${client}-${i}`);
        const askpass = join(dir, `askpass-${client}-${i}.sh`);
        writeFileSync(prompts, '');
        // Wrong on the first prompt, right on the second.
        writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${prompts}\nif [ "$(wc -l < ${prompts})" -ge 2 ]; then echo ${PASS}; else echo wrong; fi\n`, { mode: 0o755 });
        const env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '', DISPLAY: ':0' });
        const r =
          client === 'pure-ssh'
            ? await run('pure-ssh bin', [...args, '-N', '127.0.0.1'], env, /Authenticated to /)
            : await run('ssh', [...args, '127.0.0.1', 'true'], env);
        expect(r.stderr, client).not.toMatch(/invalid format/);
        expect(r.stderr, client).toContain('Authenticated to 127.0.0.1');
        expect(readFileSync(prompts, 'utf8').split('\n').filter(Boolean), client).toEqual([`Enter passphrase for key '${key}': `, `Enter passphrase for key '${key}': `]);
        await expect.poll(() => sshd.logs(), { timeout: 5000 }).toContain(fingerprint);
      }
    }, 60_000);
  });

  // ssh 9.2 does not read PuTTY files, so pure-ssh alone; the key is what `ssh-keygen -y` gave puttygen.
  itWithHome('PuTTY PPK v3 under a passphrase (Argon2id, the opt-in pure-ssh/web leaves out): the CLI logs in', async () => {
    const plainKey = join(dir, 'plain-ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plainKey], { stdio: 'pipe' });
    const passFile = join(dir, 'ppk-pass');
    writeFileSync(passFile, PASS);
    const key = join(dir, 'key.ppk');
    execFileSync('/usr/bin/puttygen', [plainKey, '-O', 'private', '-o', key, '--ppk-param', 'version=3,passes=1', '--new-passphrase', passFile], { stdio: 'pipe' });
    expect(readFileSync(key, 'utf8')).toMatch(/Key-Derivation: Argon2id/);
    chmodSync(key, 0o600);
    const pub = readFileSync(`${plainKey}.pub`, 'utf8').trim();
    appendFileSync(join(sshd.dir, 'authorized_keys'), `${pub}\n`);
    const fingerprint = execFileSync('/usr/bin/ssh-keygen', ['-l', '-f', '-'], { input: pub, encoding: 'utf8' }).split(' ')[1]!;
    const askpass = join(dir, 'askpass-ppk.sh');
    writeFileSync(askpass, `#!/bin/sh\necho ${PASS}\n`, { mode: 0o755 });
    const env = cliEnv(join(dir, 'home-ppk'), { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '', DISPLAY: ':0' });
    const args = ['-F', 'none', '-p', String(sshd.port), '-l', 'root', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-v'];
    const r = await run('pure-ssh bin', [...args, '-N', '127.0.0.1'], env, /Authenticated to /);
    expect(r.stderr).not.toMatch(/extraKeyDecryption/);
    expect(r.stderr).toContain('Authenticated to 127.0.0.1');
    await expect.poll(() => sshd.logs(), { timeout: 5000 }).toContain(fingerprint);
  }, 60_000);
});
